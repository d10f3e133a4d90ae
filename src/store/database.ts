import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';
import { migrationSource } from '../../db/migrations/index.js';
import { BACKSTOP_CHECKPOINT_PAGES, BACKSTOP_WAL_BYTES, startCheckpointer, type Checkpointer } from './sqlite-checkpointer.js';

/** The knex settings for either engine; knexfile.ts uses the same function for the knex CLI. */
export function knexConfig(database: DatabaseConfig): Knex.Config {
  const common = { migrations: { migrationSource }, acquireConnectionTimeout: 10_000 };
  if (database.client === 'pg') {
    // No JIT: it compiles for statements its cost model finds large (a count per conversation, say) and takes
    // hundreds of milliseconds to, for queries that run in a few.
    const connection = { connectionString: database.connectionString, options: '-c jit=off' };
    return { ...common, client: 'pg', connection, pool: { min: 0, max: 10 } };
  }
  return {
    ...common,
    client: 'better-sqlite3',
    connection: { filename: database.filename },
    useNullAsDefault: true,
    pool: {
      // WAL lets readers go on while the single writer commits; FULL keeps a commit durable before we answer.
      afterCreate(connection: { pragma(sql: string): unknown }, done: (err: Error | null, connection: unknown) => void) {
        connection.pragma('journal_mode = WAL');
        connection.pragma('synchronous = FULL');
        connection.pragma('busy_timeout = 5000');
        // 64 MiB of pages kept in-process instead of SQLite's 2 MiB: beyond it every page read is a system call.
        connection.pragma('cache_size = -65536');
        // Checkpoints are the worker's (startWalCheckpoints); this one only if it falls far behind. After a peak
        // the WAL file is cut back to that size when it starts over.
        connection.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
        connection.pragma(`journal_size_limit = ${BACKSTOP_WAL_BYTES}`);
        done(null, connection);
      },
    },
  };
}

/** Opens the database (creating the SQLite file's folder on first start) and brings the schema up to date. */
export async function openDatabase(database: DatabaseConfig): Promise<Knex> {
  if (database.client === 'sqlite' && database.filename !== ':memory:') {
    mkdirSync(dirname(database.filename), { recursive: true });
  }
  const db = knex(knexConfig(database));
  try {
    await db.migrate.latest();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** A SQLite file's WAL checkpoints, off the event loop; PostgreSQL and an in-memory database have none. */
export function startWalCheckpoints(database: DatabaseConfig, onError: (message: string) => void): Checkpointer | undefined {
  if (database.client !== 'sqlite' || database.filename === ':memory:') return undefined;
  return startCheckpointer(database.filename, onError);
}
