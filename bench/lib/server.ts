/**
 * chatlog for a benchmark: one or more instances over a database of their own (a temp SQLite file, or a
 * PostgreSQL database created beside the one DATABASE_URL names), removed again at the end, so that a bench never
 * writes into a real database or ./data. Instances run in this process (createServer, as the tests do) or each in
 * a process of its own (`node --import tsx src/main.ts`, as `npm start` does), with the settings the server itself
 * would read. Several instances share the database and talk through Redis (REDIS_URL) under a prefix of their own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import { signToken } from '../../src/auth/jwt.js';
import { loadConfig, type Config, type DatabaseConfig } from '../../src/config.js';
import { createServer, type ChatlogServer } from '../../src/server.js';
import { spawnChatlog, type ChildChatlog } from './child.js';
import { onInterrupt } from './interrupt.js';

export type EngineName = 'SQLite' | 'PostgreSQL';

/** How long an interrupted bench waits for its child servers to exit before it kills them. */
const INTERRUPT_GRACE_MS = 3000;

/** Where the instances run: in this process, or each in a child process of its own. */
export type ServerMode = 'in-process' | 'child-process';

export interface BenchServer {
  engine: EngineName;
  /** Where the bench's data lives: the temp SQLite file, or the PostgreSQL database and host. */
  location: string;
  /** The SQLite file, or the name of the PostgreSQL database (which its backends show in their process titles). */
  databaseName: string;
  config: Config;
  mode: ServerMode;
  /** How the instances hear of each other's commits: "Redis (prefix ...)" or "in-process". */
  bus: string;
  /** Base URL of the first instance, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Base URL of every instance, in start order; they share the database (and the Redis prefix). */
  urls: string[];
  /** The processes of the instances, in the order of `urls`; empty in-process. */
  children: ChildChatlog[];
  /** A bearer token for `uid`, signed with the bench's own secret. */
  token(uid: string): Promise<string>;
  /**
   * Closes the servers (child processes: SIGTERM, and each must exit 0) and their database connections, then
   * deletes the bench database. Idempotent. Rejects, after cleaning up, when a child did not exit cleanly.
   */
  close(): Promise<void>;
}

export interface BenchServerOptions {
  /** Where settings come from, as for `npm start`; default process.env. */
  env?: Record<string, string | undefined>;
  /** Settings forced on top of env, e.g. { MAX_GROUP_MEMBERS: '10000' }. */
  settings?: Record<string, string>;
  /** Instances sharing the database; default 1. More than one needs REDIS_URL, or they would not hear each other. */
  instances?: number;
  /** Default 'in-process'. */
  mode?: ServerMode;
  /** child-process: extra node flags of the servers, e.g. ['--cpu-prof', '--cpu-prof-dir=prof']. */
  nodeArgs?: string[];
  /**
   * Runs over the fresh database before the first instance starts, e.g. to seed it (the schema is not there yet:
   * open it with openDatabase, which migrates). The database is dropped at close, or on failure, all the same.
   */
  prepare?: (database: DatabaseConfig, engine: EngineName) => Promise<void>;
}

interface FreshDatabase {
  engine: EngineName;
  database: DatabaseConfig;
  location: string;
  name: string;
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
      name,
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
    name: filename,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The database as DATABASE_URL would name it, for a child process. */
function databaseUrl(database: DatabaseConfig): string {
  return database.client === 'pg' ? database.connectionString : `sqlite:${database.filename}`;
}

/**
 * Starts the instances on 127.0.0.1 and free ports, one after the other (each runs the migrations at start, and
 * two at once on an empty PostgreSQL database would contend for the migration lock). Tokens use a secret made up
 * for the run; with REDIS_URL set, the instances get a REDIS_PREFIX made up for the run too, so that neither
 * another deployment nor an earlier bench on the same Redis is heard. Logging is quiet, since a log line per
 * request would be measured too: silent in this process, warn in a child (whose output is kept to explain a
 * failure); BENCH_LOG_LEVEL asks for more, e.g. to see what a -1000 answer was.
 */
export async function startBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const instances = options.instances ?? 1;
  const mode = options.mode ?? 'in-process';
  const env = options.env ?? process.env;
  const run = randomBytes(4).toString('hex');
  const secret = `chatlog-bench-${randomBytes(16).toString('hex')}`;
  // Quiet unless asked: a log line per request (at info) would be measured too.
  const logLevel = process.env.BENCH_LOG_LEVEL ?? (mode === 'in-process' ? 'silent' : 'warn');
  const settings: Record<string, string> = {
    LOG_LEVEL: logLevel,
    JWT_SECRET: secret,
    JWT_PUBLIC_KEY: '',
    ...(env.REDIS_URL?.trim() && { REDIS_PREFIX: `chatlog-bench-${run}:` }),
    ...options.settings,
  };
  const base = loadConfig({ ...env, ...settings });
  if (instances > 1 && base.redisUrl === undefined) {
    throw new Error(`${instances} instances need REDIS_URL: without a bus between them, none hears of the others' commits`);
  }
  const fresh = await freshDatabase(base.database);
  const config: Config = { ...base, database: fresh.database, host: '127.0.0.1', port: 0 };
  const bus = config.redisUrl === undefined ? 'in-process' : `Redis (prefix ${config.redisPrefix})`;

  const servers: ChatlogServer[] = [];
  const children: ChildChatlog[] = [];
  let closing: Promise<void> | undefined;

  // Ctrl-C in the middle of a run: the servers may have requests in flight, so do not wait for them long; just
  // make sure no child lingers (SIGKILL after a short grace) and the database goes (PostgreSQL's `with (force)`
  // cuts the connections of the servers in this process).
  // (The interrupt handler exits with 130 once this and every other registered cleanup are done.)
  const removeSignalHandlers = onInterrupt(async (signal) => {
    process.stderr.write(`\n${signal}: stopping the servers and deleting the bench database (${fresh.location})\n`);
    // The server goes on serving until the exit and its driver logs (console.log) every connection the drop
    // cuts: expected, and not worth a screenful.
    const quiet = () => {};
    console.log = console.warn = console.error = quiet;
    await Promise.all(
      children.map(async (child) => {
        const exit = await child.stop(INTERRUPT_GRACE_MS);
        if (exit.signal === 'SIGKILL') process.stderr.write(`server pid ${child.pid} did not exit within ${INTERRUPT_GRACE_MS / 1000} s of SIGTERM: killed\n`);
      }),
    );
    try {
      await fresh.drop();
    } catch (err) {
      process.stderr.write(`could not delete it: ${String(err)}\n`);
    }
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const failures: string[] = [];
      try {
        await Promise.all(servers.map((server) => server.close()));
        const exits = await Promise.all(children.map((child) => child.stop()));
        exits.forEach((exit, i) => {
          if (exit.code !== 0) failures.push(`instance ${i + 1} (pid ${children[i]!.pid}) exited with code ${exit.code}, signal ${exit.signal}:\n${children[i]!.tail()}`);
        });
      } finally {
        await fresh.drop();
        removeSignalHandlers();
      }
      if (failures.length > 0) throw new Error(failures.join('\n'));
    })();
    return closing;
  };

  try {
    await options.prepare?.(fresh.database, fresh.engine);
    const urls: string[] = [];
    for (let i = 0; i < instances; i++) {
      if (mode === 'in-process') {
        const server = await createServer(config);
        servers.push(server);
        urls.push((await server.listen(0, '127.0.0.1')).url);
      } else {
        const child = await spawnChatlog({
          env: { ...env, ...settings, DATABASE_URL: databaseUrl(fresh.database) },
          nodeArgs: options.nodeArgs,
        });
        children.push(child);
        urls.push(child.url);
      }
    }
    return {
      engine: fresh.engine,
      location: fresh.location,
      databaseName: fresh.name,
      config,
      mode,
      bus,
      url: urls[0]!,
      urls,
      children,
      token: (uid) => signToken(secret, uid, { issuer: config.jwt.issuer, audience: config.jwt.audience }),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
