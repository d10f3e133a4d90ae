/**
 * Named statements on PostgreSQL, for the statements whose planning costs about as much as running them: the
 * statements of a write batch and the conversation list (a milliseconds-long plan of a few CTEs and subqueries, on
 * every call). PostgreSQL parses and plans a named statement once per connection and, after a few runs, keeps a
 * generic plan when that is no worse than planning anew. Values must travel as bindings, never in the text: the
 * name is the text's hash, so one text is one statement on every connection, and the set of texts stays small.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

const names = new Map<string, string>();

function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) names.set(sql, (name = `chatlog_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`));
  return name;
}

export const isPostgres = (db: Knex): boolean => db.client.config.client === 'pg';

/** `db.raw(sql, bindings)`, sent on PostgreSQL as a named statement (elsewhere, as it is). */
export function namedRaw(db: Knex, sql: string, bindings: readonly unknown[] | Record<string, unknown>): Knex.Raw {
  const raw = db.raw(sql, bindings as Knex.RawBinding[]);
  return isPostgres(db) ? raw.options({ name: statementName(sql) }) : raw;
}
