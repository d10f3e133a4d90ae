/**
 * Statements prepared once per better-sqlite3 connection, for the write path's hot statements on SQLite: there
 * preparing is most of what a small statement costs, and knex prepares every statement anew.
 */
import type { Knex } from 'knex';

/** The few calls of better-sqlite3 the write path makes, on a transaction's own connection. */
export interface SqliteStatement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}

export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/**
 * `prepare`'s statements on the connection of `trx`, prepared at its first use there and kept with the
 * connection. `prepare` must be one function for the life of the process: it is the key.
 */
export async function preparedStatements<T>(trx: Knex.Transaction, prepare: (connection: SqliteConnection) => T): Promise<T> {
  const connection = (await trx.client.acquireConnection()) as SqliteConnection;
  let byConnection = cache.get(prepare) as WeakMap<SqliteConnection, T> | undefined;
  if (!byConnection) cache.set(prepare, (byConnection = new WeakMap()));
  let statements = byConnection.get(connection);
  if (!statements) byConnection.set(connection, (statements = prepare(connection)));
  return statements;
}

const cache = new Map<unknown, WeakMap<SqliteConnection, unknown>>();
