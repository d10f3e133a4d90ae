import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeBusMessage, encodeBusMessage, type BusMessage } from './batch-wire.js';
import type { BusListener, EventBus, LiveSignal, Notification } from './event-bus.js';

/**
 * Notifications through Redis pub/sub, so that every instance sharing the database hears of every commit.
 * Publishing and subscribing use separate connections (a subscribed connection can do nothing else). When the
 * subscription drops, notifications published meanwhile are gone: once it is back, listeners are told to
 * resync from the database. This instance's own batches go to its listeners directly, with no trip through Redis
 * and no decoding: each message carries its origin, and the echo of our own is dropped unread.
 */
export class RedisBus implements EventBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channel: string;
  /** Starts every message this instance publishes. */
  private readonly origin = `${randomUUID()}\n`;
  private readonly listeners: BusListener[] = [];
  private subscribedOnce = false;
  /** Counts subscriptions re-established after a loss (exposed for metrics and tests). */
  reconnects = 0;

  constructor(
    url: string,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}events`;
    // Named, so that an operator (or a test) can tell the connections apart in CLIENT LIST.
    const options = { lazyConnect: true, maxRetriesPerRequest: null, autoResubscribe: false } as const;
    this.publisher = new Redis(url, { ...options, connectionName: `${prefix}publisher` });
    this.subscriber = new Redis(url, { ...options, connectionName: `${prefix}subscriber` });
    for (const [name, connection] of [
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
    ] as const) {
      connection.on('error', (err: Error) => this.logger.warn({ err: err.message, connection: name }, 'redis connection error'));
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel && !message.startsWith(this.origin)) this.deliver(message);
    });
    // After a reconnect, subscribe again ourselves and only then resync: a resync that read the database before
    // the subscription was back could miss a commit announced in between.
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) void this.resubscribe();
    });
  }

  async connect(): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(this.channel);
    this.subscribedOnce = true;
  }

  publish(notification: Notification): void {
    this.send(
      { batch: notification },
      (listener) => listener.onNotification?.(notification),
      'a notification; instances will find the gap and read it from the database',
    );
  }

  publishLive(signal: LiveSignal): void {
    this.send({ live: signal }, (listener) => listener.onLiveSignal?.(signal), 'a live signal');
  }

  subscribe(listener: BusListener): void {
    this.listeners.push(listener);
  }

  async ping(): Promise<void> {
    await Promise.all([this.publisher.ping(), this.subscriber.ping()]);
  }

  async close(): Promise<void> {
    this.listeners.length = 0;
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not subscribe to redis; retrying on the next reconnect');
      return;
    }
    this.reconnects++;
    this.logger.info({ reconnects: this.reconnects }, 'redis subscription restored; reading from the database whatever was committed meanwhile');
    for (const listener of this.listeners) listener.onResync?.();
  }

  /** To our own listeners on a later tick, as from Redis (a publisher's response never waits for fan-out), and to the others. */
  private send(message: BusMessage, toListener: (listener: BusListener) => void, what: string): void {
    setImmediate(() => this.listeners.forEach(toListener));
    // The offline queue keeps it while Redis is away and sends it on reconnect.
    this.publisher.publish(this.channel, this.origin + encodeBusMessage(message)).catch((err: Error) => {
      this.logger.warn({ err: err.message }, `could not publish ${what}`);
    });
  }

  private deliver(message: string): void {
    let parsed: BusMessage;
    try {
      // Past the origin line of the instance that published it.
      parsed = decodeBusMessage(message.slice(message.indexOf('\n') + 1));
    } catch {
      this.logger.warn('ignored a malformed notification on the redis channel');
      return;
    }
    for (const listener of this.listeners) {
      if ('live' in parsed) listener.onLiveSignal?.(parsed.live);
      else listener.onNotification?.(parsed.batch);
    }
  }
}
