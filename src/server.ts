import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createCredentials } from './auth/credentials.js';
import { createJwtAuthenticator } from './auth/jwt.js';
import { PushInput } from './input/push-input.js';
import { createAjv } from './input/validation.js';
import { InProcessBus, type EventBus } from './bus/event-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { RealtimeGateway, type GatewayOptions } from './gateway/gateway.js';
import { createApp } from './http/app.js';
import { Metrics } from './observability/metrics.js';
import { MemorySendLimiter, RedisSendLimiter, type SendLimiter } from './ratelimit/send-limiter.js';
import { createCodec } from './proto/codec.js';
import { GroupQueries } from './services/group-queries.js';
import { GroupService } from './services/group-service.js';
import { MessageService } from './services/message-service.js';
import { ConversationService } from './services/conversation-service.js';
import { DeviceService } from './services/device-service.js';
import { RecordService } from './services/record-service.js';
import { Sending } from './services/sending.js';
import { WriteBudget } from './services/write-budget.js';
import { openDatabase, startWalCheckpoints } from './store/database.js';
import { KnexStore } from './store/knex-store.js';
import { KnexMediaCatalog } from './store/media-catalog.js';
import { openMediaStorage } from './media/open-storage.js';
import { MediaService } from './services/media-service.js';

/** How often expired multipart uploads are looked for (sooner when MULTIPART_UPLOAD_TTL is shorter). */
const MEDIA_SWEEP_MS = 10 * 60 * 1000;

export interface ChatlogServer {
  /** Starts serving; port 0 picks a free port. Resolves with the address actually bound. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, lets requests in flight finish, closes sockets with 1001, then Redis and the database. */
  close(): Promise<void>;
  /** The HTTP routes served (method, path), for checking the OpenAPI document. */
  routes: ReadonlyArray<{ method: string; path: string }>;
}

export interface ServerOptions {
  logger?: Logger;
  /** The clock FZM-SIGNATURE tokens are checked against; tests replaying captured tokens set it back. */
  signatureClock?: () => number;
  /** Sees every notification this instance receives and passes it on, or not: tests lose and reorder them. */
  interceptNotifications?: GatewayOptions['intercept'];
}

/**
 * The composition root of one instance: everything is built here from the config and handed down, so tests
 * can run several instances side by side in one process.
 */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<ChatlogServer> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const db = await openDatabase(config.database);
  // Every committed event is announced on the bus, once, by the write path: services never build notifications.
  const store = new KnexStore(db, {
    maxBatch: config.writeBatchMax,
    onCommitted: (batch) => bus.publish(batch),
    walCheckpoints: startWalCheckpoints(config.database, (message) =>
      logger.warn({ message }, 'the WAL checkpoint worker failed; the writer still checkpoints at 64 MiB'),
    ),
  });
  let bus: EventBus;
  let redisBus: RedisBus | undefined;
  if (config.redisUrl) {
    redisBus = new RedisBus(config.redisUrl, config.redisPrefix, logger);
    try {
      await redisBus.connect();
    } catch (err) {
      await Promise.all([redisBus.close(), store.close()]);
      throw err;
    }
    bus = redisBus;
  } else {
    bus = new InProcessBus();
  }
  const metrics = new Metrics({
    // Read at scrape time, once the gateway below exists.
    openSockets: () => gateway.socketCount,
    busReconnects: () => redisBus?.reconnects ?? 0,
    writeBatches: () => store.writeStats,
  });
  db.on('query', () => metrics.databaseStatements.inc());
  let sendLimiter: SendLimiter | undefined;
  if (config.rateLimitSends) {
    sendLimiter = config.redisUrl
      ? new RedisSendLimiter(config.redisUrl, config.redisPrefix, config.rateLimitSends, logger)
      : new MemorySendLimiter(config.rateLimitSends);
  }
  const codec = createCodec();
  const ajv = createAjv();
  const pushInput = new PushInput(ajv, codec);
  const credentials = createCredentials(createJwtAuthenticator(config.jwt, config.jwtCacheSize), {
    dtalkSignature: config.dtalkSignature,
    maxClockSkewMs: config.dtalkMaxClockSkewMs,
    now: options.signatureClock,
  });
  const records = new RecordService(store, { maxPageBytes: config.syncMaxPageBytes });
  const messages = new MessageService(store, {
    revokeWindowMs: config.revokeWindowMs,
    onStored: (message) => metrics.messagesSent.inc({ channel: message.channelType === 1 ? 'group' : 'private' }),
  });
  const devices = new DeviceService(store, messages, { flushDelayMs: config.ackFlushDelayMs, logger });
  const media = new MediaService(new KnexMediaCatalog(db), await openMediaStorage(config.media), {
    limits: config.media,
    onStored: (kind, bytes) => {
      metrics.mediaUploads.inc({ kind });
      if (kind !== 'multipart') metrics.mediaBytes.inc(bytes);
    },
  });
  // Unfinished multipart uploads past their time are dropped, parts and all.
  const sweeper = setInterval(
    () => {
      media.sweep().catch((err: unknown) => logger.warn({ err }, 'dropping expired uploads failed; retrying later'));
    },
    Math.min(config.media.uploadTtlMs, MEDIA_SWEEP_MS),
  );
  sweeper.unref();
  const writeBudget = new WriteBudget(sendLimiter);
  const sending = new Sending(pushInput, messages, writeBudget);
  const { app, routes } = createApp({
    logger,
    ajv,
    credentials,
    codec,
    messages,
    records,
    conversations: new ConversationService(store),
    groups: new GroupService(store, { maxGroupMembers: config.maxGroupMembers, encodeNotice: codec.encodeNotice }),
    groupQueries: new GroupQueries(store, { maxGroupMembers: config.maxGroupMembers }),
    media,
    publicUrl: config.media.publicUrl,
    writeBudget,
    sending,
    metrics,
    jwt: config.jwt,
    readiness: [{ name: 'database', ping: () => store.ping() }, ...(redisBus ? [{ name: 'redis', ping: () => bus.ping() }] : [])],
    readinessTimeoutMs: config.readinessTimeoutMs,
    maxMessageBytes: config.maxMessageBytes,
    maxJsonBodyBytes: config.maxJsonBodyBytes,
  });
  const gateway = new RealtimeGateway({
    records,
    bus,
    logger,
    observer: {
      delivered: (source) => metrics.eventsDelivered.inc({ source }),
      streamRead: () => metrics.streamReads.inc(),
      gap: () => metrics.notificationGaps.inc(),
    },
    readPage: config.realtimeReadPage,
    gapMs: config.realtimeGapMs,
    live: config.realtimeDelivery === 'live',
    intercept: options.interceptNotifications,
    maxSocketsPerUid: config.maxSocketsPerUid,
    ws: {
      codec,
      credentials,
      devices,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      heartbeatMs: config.wsHeartbeatMs,
    },
    comet: {
      bus,
      codec,
      credentials,
      sending,
      devices,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      maxUnackedFrames: config.cometMaxUnacked,
      maxPendingAuth: config.cometMaxPendingAuth,
      timings: {
        authTimeoutMs: config.cometAuthTimeoutMs,
        heartbeatTimeoutMs: config.cometHeartbeatTimeoutMs,
        resendMs: config.cometResendMs,
        maxResends: config.cometMaxResends,
      },
    },
  });
  try {
    await gateway.start();
  } catch (err) {
    await Promise.all([gateway.close(), bus.close(), sendLimiter?.close()]);
    await store.close();
    throw err;
  }
  const http = createHttpServer(app.callback());
  http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));

  return {
    routes,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const address = http.address() as AddressInfo;
          resolve({ port: address.port, url: `http://${displayHost(address)}:${address.port}` });
        });
      });
    },
    async close() {
      clearInterval(sweeper);
      const requestsDone = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      await Promise.all([requestsDone, gateway.close()]);
      await devices.close();
      await Promise.all([bus.close(), sendLimiter?.close()]);
      await store.close();
    },
  };
}

function displayHost(address: AddressInfo): string {
  if (address.address === '::' || address.address === '0.0.0.0') return 'localhost';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}
