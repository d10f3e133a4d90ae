/**
 * chatlog for a benchmark, over fresh databases of the engine DATABASE_URL and REDIS_URL select (the test suite's
 * own, test/helpers/engines.ts; dropped when the bench ends or is interrupted), so that a bench never writes into
 * a real database or ./data. Instances run in this process as the tests start them, or each in a process of its
 * own as `npm start` does, so that the load generator does not share their event loop.
 */
import WebSocket from 'ws';
import { signToken } from '../../src/auth/jwt.js';
import { ChatlogClient, type FetchLike } from '../../src/client/index.js';
import { SETTINGS, loadConfig, type DatabaseConfig } from '../../src/config.js';
import { releaseDatabases, selectedEngine } from '../../test/helpers/engines.js';
import { TEST_JWT_SECRET, startChatlog } from '../../test/helpers/server.js';
import { spawnChild, stopChildren, type Child } from './child.js';
import { progress } from './report.js';

export const engine = selectedEngine();

export function engineDescription(): string {
  const bus = engine.instances > 1 ? 'Redis bus, a key prefix per server set' : 'in-process bus';
  if (engine.name === 'SQLite') return `SQLite, a fresh temp file per server set; ${bus}`;
  return `PostgreSQL on ${new URL(process.env.DATABASE_URL!).host}, a fresh database per server set, dropped at the end; ${bus}`;
}

// Ctrl-C mid-run: no server may linger and no database stay behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the servers and dropping the bench databases`);
    void stopChildren()
      .then(() => releaseDatabases())
      .finally(() => process.exit(130));
  });
}

/** Settings that the bench decides itself, whatever the environment says. */
const BENCH_OWN = new Set(['DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'HOST', 'PORT', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'LOG_LEVEL']);

export interface ServerOptions {
  /** Chatlog settings on top of the environment's, e.g. { WRITE_BATCH_MAX: '1' }; '' restores a default. */
  settings?: Record<string, string>;
  instances?: number;
  /** In this process (createServer, as the tests do) rather than each in a process of its own. */
  inProcess?: boolean;
  nodeArgs?: string[];
  /** Runs over the fresh database before the first instance starts, e.g. to seed it. */
  prepare?: (database: DatabaseConfig) => Promise<void>;
}

export interface Servers {
  urls: string[];
  database: DatabaseConfig;
  /** The server processes; empty in-process. */
  children: Child[];
  writeBatchMax: number;
  token(uid: string): Promise<string>;
  /** A ChatlogClient acting as `uid` on instance `instance`, over the global fetch unless told otherwise. */
  client(uid: string, instance?: number, fetch?: FetchLike): Promise<ChatlogClient>;
  /** Stops the servers; rejects when a server process did not exit 0. */
  close(): Promise<void>;
}

/**
 * Starts chatlog over a fresh database with the environment's settings (logging quiet: a log line per request
 * would be measured too) and a token secret of the bench. Instances start one after the other: each migrates at
 * start, and two at once on an empty database would contend for the migration lock.
 */
export async function startServers(options: ServerOptions = {}): Promise<Servers> {
  const fromEnv = Object.fromEntries(SETTINGS.filter((name) => !BENCH_OWN.has(name) && process.env[name]).map((name) => [name, process.env[name]!]));
  const settings = { ...fromEnv, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', JWT_SECRET: TEST_JWT_SECRET, JWT_PUBLIC_KEY: '', ...options.settings };
  const instances = options.instances ?? 1;
  const config = loadConfig(settings);
  const token = (uid: string) => signToken(TEST_JWT_SECRET, uid, { issuer: config.jwt.issuer, audience: config.jwt.audience });
  const servers = (urls: string[], database: DatabaseConfig, started: Child[], stop: () => Promise<void>): Servers => ({
    urls,
    database,
    children: started,
    writeBatchMax: config.writeBatchMax,
    token,
    client: async (uid, instance = 0, fetch) => new ChatlogClient({ baseUrl: urls[instance]!, token: await token(uid), WebSocket, fetch }),
    close: stop,
  });
  if (options.inProcess) {
    const running = await startChatlog(engine, { ...settings, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent' }, instances);
    return servers(running.urls, running.config.database, [], () => running.close());
  }
  const database = await engine.freshDatabase();
  await options.prepare?.(database);
  const env = {
    ...process.env,
    ...settings,
    REDIS_URL: '',
    ...engine.settings(),
    DATABASE_URL: database.client === 'pg' ? database.connectionString : `sqlite:${database.filename}`,
  };
  const started: Child[] = [];
  const stop = async () => {
    const exits = await Promise.all(started.map((child) => child.stop()));
    const failed = exits.map((exit, i) => ({ exit, child: started[i]! })).filter(({ exit }) => exit.code !== 0);
    if (failed.length > 0)
      throw new Error(failed.map(({ exit, child }) => `server pid ${child.pid} exited with ${exit.code ?? exit.signal}:\n${child.tail()}`).join('\n'));
  };
  try {
    for (let i = 0; i < instances; i++) started.push(await spawnChild('src/main.ts', env, options.nodeArgs));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return servers(
    started.map((child) => child.url),
    database,
    started,
    stop,
  );
}

/** Runs a bench's main, drops its databases, and sets the exit status: main's, or 1 with the error on stderr. */
export function runMain(main: () => Promise<number>): void {
  main()
    .finally(() => releaseDatabases())
    .then(
      (code) => (process.exitCode = code),
      (err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      },
    );
}
