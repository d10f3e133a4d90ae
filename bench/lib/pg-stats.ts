/**
 * The transactions of one PostgreSQL database as pg_stat_database counts them (xact_commit + xact_rollback), read
 * through a connection to the database DATABASE_URL names, so that the readings do not count themselves.
 *
 * The counters lag: a PostgreSQL 15 backend adds its counts to the shared ones at the end of a transaction at most
 * once a second, and one that went idle with counts left over does so 10 s later. So a reading counts everything
 * before it only once every connection has been quiet for STATS_FLUSH_MS: before the window that is the setting
 * up (the sockets connecting), after it the last deliveries. The start reading still misses up to a second of the
 * warm-up, which the window then counts: an overcount, never an undercount.
 */
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';

export const STATS_FLUSH_MS = 11_000;

export interface TransactionCounter {
  /** Transactions committed or rolled back in the database so far. */
  read(): Promise<number>;
  close(): Promise<void>;
}

/** A counter of `database`'s transactions; undefined unless it is a PostgreSQL database. */
export async function transactionCounter(database: DatabaseConfig): Promise<TransactionCounter | undefined> {
  if (database.client !== 'pg') return undefined;
  const name = decodeURIComponent(new URL(database.connectionString).pathname.slice(1));
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  return {
    async read() {
      // Past the snapshot of statistics this session may keep (stats_fetch_consistency).
      await client.query('select pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [name]);
      if (rows.length !== 1) throw new Error(`pg_stat_database has no row for ${name}`);
      return Number(rows[0]!.n);
    },
    close: () => client.end(),
  };
}
