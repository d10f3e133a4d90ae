import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.js';
import { createServer, type ChatlogServer, type ServerOptions } from '../../src/server.js';
import { signToken } from '../../src/auth/jwt.js';
import type { Engine } from './engines.js';
import { TestClient } from './client.js';
import { temporaryDir } from './temp-dirs.js';

export const TEST_JWT_SECRET = 'chatlog-test-secret';

/** Settings as a deployment would write them; the database comes from the engine. */
export type Settings = Record<string, string>;

export interface RunningChatlog {
  config: Config;
  /** Base URL of each instance; all instances share one database. */
  urls: string[];
  servers: ChatlogServer[];
  /** A client acting as `uid`, talking to instance `instance`. */
  client(uid: string, instance?: number): Promise<TestClient>;
  close(): Promise<void>;
}

/** Starts `instances` servers on port 0 over a fresh database of the engine, sharing a fresh media directory. */
export async function startChatlog(engine: Engine, settings: Settings = {}, instances = 1, options: ServerOptions = {}): Promise<RunningChatlog> {
  const config: Config = {
    ...loadConfig({
      LOG_LEVEL: 'silent',
      MEDIA_DIR: temporaryDir('media'),
      ...(settings.JWT_PUBLIC_KEY === undefined && { JWT_SECRET: TEST_JWT_SECRET }),
      ...engine.settings(),
      ...settings,
    }),
    database: await engine.freshDatabase(),
  };
  const servers: ChatlogServer[] = [];
  const urls: string[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const server = await createServer(config, options);
      servers.push(server);
      urls.push((await server.listen(0, '127.0.0.1')).url);
    }
  } catch (err) {
    await Promise.all(servers.map((server) => server.close()));
    throw err;
  }
  return {
    config,
    urls,
    servers,
    async client(uid, instance = 0) {
      return new TestClient(urls[instance]!, await signToken(TEST_JWT_SECRET, uid));
    },
    async close() {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** A uid no other test uses, so suites sharing a database never see each other's events. */
export function uniqueUid(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** Starts chatlog before the suite's tests and stops it after them; call the result inside a test. */
export function useChatlog(engine: Engine, settings: Settings = {}, instances = 1, options: ServerOptions = {}): () => RunningChatlog {
  let running: RunningChatlog | undefined;
  before(async () => {
    running = await startChatlog(engine, settings, instances, options);
  });
  after(async () => {
    await running?.close();
  });
  return () => {
    if (!running) throw new Error('chatlog is not running: useChatlog must be called in a describe block');
    return running;
  };
}
