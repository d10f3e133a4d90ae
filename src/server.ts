import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createJwtAuthenticator } from './auth/jwt.js';
import { createApp } from './http/app.js';
import { createCodec } from './proto/codec.js';
import { GroupService } from './services/group-service.js';
import { MessageService } from './services/message-service.js';
import { RecordService } from './services/record-service.js';
import { openDatabase } from './store/database.js';
import { KnexStore } from './store/knex-store.js';

export interface ChatlogServer {
  /** Starts serving; port 0 picks a free port. Resolves with the address actually bound. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

/**
 * The composition root of one instance: everything is built here from the config and handed down, so tests
 * can run several instances side by side in one process.
 */
export async function createServer(config: Config, options: { logger?: Logger } = {}): Promise<ChatlogServer> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const db = await openDatabase(config.database);
  const store = new KnexStore(db);
  const codec = createCodec();
  const app = createApp({
    logger,
    authenticate: createJwtAuthenticator(config.jwt),
    codec,
    messages: new MessageService(store, { revokeWindowMs: config.revokeWindowMs }),
    records: new RecordService(store),
    groups: new GroupService(store, { maxGroupMembers: config.maxGroupMembers }),
    maxMessageBytes: config.maxMessageBytes,
  });
  const http: Server = createHttpServer(app.callback());

  return {
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const address = http.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? (address.address === '::' ? 'localhost' : `[${address.address}]`) : address.address === '0.0.0.0' ? 'localhost' : address.address;
          resolve({ port: address.port, url: `http://${shownHost}:${address.port}` });
        });
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await store.close();
    },
  };
}
