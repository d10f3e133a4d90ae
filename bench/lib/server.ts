/**
 * A chatlog instance for a benchmark: started in this process with the settings the server itself would read,
 * over a database of its own (a temp SQLite file, or a PostgreSQL database created beside the one DATABASE_URL
 * names), and removed again at the end, so that a bench never writes into a real database or ./data.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import { signToken } from '../../src/auth/jwt.js';
import { loadConfig, type Config, type DatabaseConfig } from '../../src/config.js';
import { createServer, type ChatlogServer } from '../../src/server.js';

export type EngineName = 'SQLite' | 'PostgreSQL';

export interface BenchServer {
  engine: EngineName;
  /** Where the bench's data lives: the temp SQLite file, or the PostgreSQL database and host. */
  location: string;
  config: Config;
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** A bearer token for `uid`, signed with the bench's own secret. */
  token(uid: string): Promise<string>;
  /** Closes the server and its database connections, then deletes the bench database. Idempotent. */
  close(): Promise<void>;
}

export interface BenchServerOptions {
  /** Where settings come from, as for `npm start`; default process.env. */
  env?: Record<string, string | undefined>;
  /** Settings forced on top of env, e.g. { MAX_GROUP_MEMBERS: '10000' }. */
  settings?: Record<string, string>;
}

interface FreshDatabase {
  engine: EngineName;
  database: DatabaseConfig;
  location: string;
  drop(): Promise<void>;
}

/** An empty database of the engine the configuration selects; SQLite always gets a temp file, never the configured one. */
async function freshDatabase(configured: DatabaseConfig): Promise<FreshDatabase> {
  if (configured.client === 'pg') {
    const admin = knex({ client: 'pg', connection: configured.connectionString, pool: { min: 0, max: 1 } });
    const name = `chatlog_bench_${randomBytes(6).toString('hex')}`;
    try {
      await admin.raw(`create database ${name}`);
    } catch (err) {
      await admin.destroy();
      throw err;
    }
    const target = new URL(configured.connectionString);
    target.pathname = `/${name}`;
    return {
      engine: 'PostgreSQL',
      database: { client: 'pg', connectionString: target.toString() },
      location: `database ${name} on ${target.host}`,
      async drop() {
        try {
          // `with (force)` also ends connections still open, e.g. after an interrupt.
          await admin.raw(`drop database if exists ${name} with (force)`);
        } finally {
          await admin.destroy();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'chatlog-bench-'));
  const filename = join(dir, 'chatlog.db');
  return {
    engine: 'SQLite',
    database: { client: 'sqlite', filename },
    location: filename,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts one instance on 127.0.0.1 and a free port. Tokens use a secret made up for the run. Logging is silent
 * (a log line per request would be measured too) unless BENCH_LOG_LEVEL asks for more, e.g. to see what a
 * -1000 answer was.
 */
export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const secret = `chatlog-bench-${randomBytes(16).toString('hex')}`;
  const base = loadConfig({
    ...(options.env ?? process.env),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    JWT_SECRET: secret,
    JWT_PUBLIC_KEY: undefined,
    ...options.settings,
  });
  const fresh = await freshDatabase(base.database);
  const config: Config = { ...base, database: fresh.database, host: '127.0.0.1', port: 0 };

  let server: ChatlogServer | undefined;
  let closing: Promise<void> | undefined;

  // Ctrl-C in the middle of a run: the server may have requests in flight, so do not wait for it; just make
  // sure the database goes (PostgreSQL's `with (force)` cuts the server's connections).
  const interrupt = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: deleting the bench database (${fresh.location})\n`);
    // The server goes on serving until the exit and its driver logs (console.log) every connection the drop
    // cuts: expected, and not worth a screenful.
    const quiet = () => {};
    console.log = console.warn = console.error = quiet;
    fresh.drop().then(
      () => process.exit(130),
      (err: unknown) => {
        process.stderr.write(`could not delete it: ${String(err)}\n`);
        process.exit(130);
      },
    );
  };
  const removeSignalHandlers = () => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await server?.close();
      } finally {
        await fresh.drop();
        removeSignalHandlers();
      }
    })();
    return closing;
  };

  try {
    server = await createServer(config);
    const { url } = await server.listen(0, '127.0.0.1');
    return {
      engine: fresh.engine,
      location: fresh.location,
      config,
      url,
      token: (uid) => signToken(secret, uid, { issuer: config.jwt.issuer, audience: config.jwt.audience }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
