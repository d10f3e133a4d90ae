import type { CommittedBatch } from '../domain.js';

/**
 * A notification that a batch was committed, with its events. Instances apply batches in id order and read from
 * the database whatever they find missing, so a lost or late notification costs latency, never data.
 */
export type Notification = CommittedBatch;

/**
 * Something for a user's open connections that is in no stream and is not worth keeping: a device signed in
 * (dtalk's EndpointLogin). Lost with the connection that would have carried it, by design.
 */
export interface LiveSignal {
  uid: string;
  /** The connection it is about, which does not get it. */
  origin: string;
  endpointLogin: { uuid: string; device: number; deviceName: string; datetime: number };
}

export interface BusListener {
  onNotification?(notification: Notification): void;
  /** Some notifications may have been lost (a subscription came back). */
  onResync?(): void;
  onLiveSignal?(signal: LiveSignal): void;
}

export interface EventBus {
  /** Sends the notification to every instance, this one included. Never throws: a lost notification is survivable. */
  publish(notification: Notification): void;
  publishLive(signal: LiveSignal): void;
  subscribe(listener: BusListener): void;
  /** Resolves when the bus can deliver (Redis answers). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The embedded default: one instance, so notifications never leave the process and cannot be lost. */
export class InProcessBus implements EventBus {
  private readonly listeners: BusListener[] = [];

  publish(notification: Notification): void {
    // Delivered on a later tick, as from Redis, so a publisher's response never waits for fan-out.
    setImmediate(() => {
      for (const listener of this.listeners) listener.onNotification?.(notification);
    });
  }

  publishLive(signal: LiveSignal): void {
    setImmediate(() => {
      for (const listener of this.listeners) listener.onLiveSignal?.(signal);
    });
  }

  subscribe(listener: BusListener): void {
    this.listeners.push(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}
