import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import type { DatabaseConfig } from '../../src/config.js';

/** A storage engine the suite runs on; each call of freshDatabase gives an empty database of its own. */
export interface Engine {
  name: 'SQLite' | 'PostgreSQL';
  freshDatabase(): Promise<DatabaseConfig>;
}

const cleanups: Array<() => Promise<void>> = [];

const sqlite: Engine = {
  name: 'SQLite',
  async freshDatabase() {
    const dir = mkdtempSync(join(tmpdir(), 'chatlog-test-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { client: 'sqlite', filename: join(dir, 'chatlog.db') };
  },
};

/** PostgreSQL from DATABASE_URL: every call creates a database beside it, dropped when the run ends. */
function postgres(url: string): Engine {
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
  };
}

const databaseUrl = process.env.DATABASE_URL;
const postgresUrl = databaseUrl !== undefined && /^postgres(ql)?:\/\//.test(databaseUrl) ? databaseUrl : undefined;

/** SQLite always; PostgreSQL when DATABASE_URL names one. */
export const engines: Engine[] = postgresUrl ? [sqlite, postgres(postgresUrl)] : [sqlite];

export const postgresEngine: Engine | undefined = engines.find((engine) => engine.name === 'PostgreSQL');

export async function releaseDatabases(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** Declares the suite once per engine: "push (SQLite)", "push (PostgreSQL)". */
export function describeOnEngines(title: string, body: (engine: Engine) => void): void {
  for (const engine of engines) describe(`${title} (${engine.name})`, () => body(engine));
}
