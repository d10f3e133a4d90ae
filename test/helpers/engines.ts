import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import type { DatabaseConfig } from '../../src/config.js';

/**
 * A deployment the suite runs on: SQLite with the in-process bus (one instance), or PostgreSQL with Redis
 * (several instances). Each call of freshDatabase gives an empty database of its own.
 */
export interface Engine {
  name: 'SQLite' | 'PostgreSQL';
  freshDatabase(): Promise<DatabaseConfig>;
  /** Settings every server of this engine gets: REDIS_URL and a REDIS_PREFIX of its own, for PostgreSQL. */
  settings(): Record<string, string>;
  /** How many instances the realtime suites start: more than one only where a bus joins them. */
  instances: number;
}

const cleanups: Array<() => Promise<void>> = [];

const sqlite: Engine = {
  name: 'SQLite',
  async freshDatabase() {
    const dir = mkdtempSync(join(tmpdir(), 'chatlog-test-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { client: 'sqlite', filename: join(dir, 'chatlog.db') };
  },
  settings: () => ({}),
  instances: 1,
};

/**
 * PostgreSQL from DATABASE_URL, with Redis from REDIS_URL: every call creates a database beside the one named,
 * dropped when the run ends, and every server set gets its own Redis prefix. Without Redis (the benchmarks
 * allow it), one instance on the in-process bus.
 */
function postgres(url: string, redisUrl?: string): Engine {
  const admin = knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  cleanups.push(() => admin.destroy());
  let counter = 0;
  return {
    name: 'PostgreSQL',
    async freshDatabase() {
      const name = `chatlog_test_${process.pid}_${Date.now().toString(36)}_${++counter}`;
      await admin.raw(`create database ${name}`);
      // Dropped before the admin pool closes (cleanups run in reverse order).
      cleanups.push(async () => {
        await admin.raw(`drop database if exists ${name} with (force)`);
      });
      const target = new URL(url);
      target.pathname = `/${name}`;
      return { client: 'pg', connectionString: target.toString() };
    },
    settings: (): Record<string, string> => (redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_PREFIX: `chatlog-test-${process.pid}-${++counter}:` }),
    instances: redisUrl === undefined ? 1 : 2,
  };
}

const databaseUrl = process.env.DATABASE_URL;
const postgresUrl = databaseUrl !== undefined && /^postgres(ql)?:\/\//.test(databaseUrl) ? databaseUrl : undefined;
const redisUrl = process.env.REDIS_URL;

/** SQLite always; PostgreSQL + Redis when DATABASE_URL and REDIS_URL name them. */
export const engines: Engine[] = postgresUrl && redisUrl ? [sqlite, postgres(postgresUrl, redisUrl)] : [sqlite];

export const postgresEngine: Engine | undefined = engines.find((engine) => engine.name === 'PostgreSQL');

/**
 * The one engine the environment names, for a process that runs on a single engine (the benchmarks):
 * PostgreSQL whenever DATABASE_URL is postgres://, with Redis only when REDIS_URL is set; else SQLite.
 */
export function selectedEngine(): Engine {
  return postgresEngine ?? (postgresUrl === undefined ? sqlite : postgres(postgresUrl, redisUrl));
}

export async function releaseDatabases(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** Declares the suite once per engine: "push (SQLite)", "push (PostgreSQL)". */
export function describeOnEngines(title: string, body: (engine: Engine) => void): void {
  for (const engine of engines) describe(`${title} (${engine.name})`, () => body(engine));
}
