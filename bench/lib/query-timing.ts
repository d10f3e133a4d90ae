/**
 * The store's share of a read: the same store calls the server makes (KnexStore.readStream, privateHistory),
 * timed from the bench process over the bench database while the server is idle, so that an HTTP latency can be
 * split into the database with its driver, and the rest (HTTP, validation, encoding). On PostgreSQL, also the
 * plan of one stream query (EXPLAIN ANALYZE): its execution time inside the database and its parallel workers.
 */
import { performance } from 'node:perf_hooks';
import type { DatabaseConfig } from '../../src/config.js';
import { openDatabase } from '../../src/store/database.js';
import { KnexStore } from '../../src/store/knex-store.js';
import { summariseLatencies, type LatencySummary } from './load.js';

export interface StoreTiming {
  /** readStream(uid, start, count + 1), as sync-record calls it. */
  stream: LatencySummary;
  /** privateHistory(a, b, undefined, count). */
  history: LatencySummary;
  /** PostgreSQL: EXPLAIN ANALYZE of one stream query, run PLAN_RUNS times; the median run. */
  plan?: { executionMs: number; planningMs: number; workers: number; rows: number };
}

/** EXPLAIN ANALYZE runs of the stream query; one alone is at the mercy of a busy moment. */
const PLAN_RUNS = 5;

interface Query {
  sql: string;
  bindings: unknown[];
}

async function timed(calls: number, call: (i: number) => Promise<unknown>): Promise<LatencySummary> {
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await call(i);
    ms.push(performance.now() - started);
  }
  return summariseLatencies(ms);
}

/** Times `calls` stream reads and history pages, after as many again to warm up. */
export async function timeStore(
  database: DatabaseConfig,
  streams: Array<{ uid: string; start: number }>,
  conversations: Array<[string, string]>,
  counts: { stream: number; history: number },
): Promise<StoreTiming> {
  const db = await openDatabase(database);
  const store = new KnexStore(db, { maxBatch: 1, onCommitted: () => undefined });
  try {
    const stream = (i: number) => store.readStream(streams[i % streams.length]!.uid, streams[i % streams.length]!.start, counts.stream + 1);
    const history = (i: number) => store.privateHistory(conversations[i % conversations.length]![0], conversations[i % conversations.length]![1], undefined, counts.history);
    const half = Math.floor(streams.length / 2);
    await timed(half, (i) => stream(i + half));
    const streamTiming = await timed(half, stream);
    await timed(conversations.length, history);
    const historyTiming = await timed(conversations.length, history);

    let plan: StoreTiming['plan'];
    if (db.client.config.client === 'pg') {
      let captured: Query | undefined;
      const listener = (query: Query) => (captured ??= query);
      db.on('query', listener);
      await stream(0);
      db.off('query', listener);
      // knex reports the SQL with PostgreSQL's $1, $2, ... placeholders, in binding order; raw takes ?.
      const sql = captured!.sql.replace(/\$\d+/g, '?');
      const runs: NonNullable<StoreTiming['plan']>[] = [];
      for (let i = 0; i < PLAN_RUNS; i++) {
        const result = (await db.raw(`explain (analyze, format json) ${sql}`, captured!.bindings as never[])) as { rows: Array<{ 'QUERY PLAN': unknown }> };
        const [root] = result.rows[0]!['QUERY PLAN'] as Array<{ 'Execution Time': number; 'Planning Time': number; Plan: PlanNode }>;
        runs.push({ executionMs: root!['Execution Time'], planningMs: root!['Planning Time'], workers: workersLaunched(root!.Plan), rows: root!.Plan['Actual Rows'] ?? 0 });
      }
      plan = runs.sort((a, b) => a.executionMs - b.executionMs)[Math.floor(PLAN_RUNS / 2)];
    }
    return { stream: streamTiming, history: historyTiming, plan };
  } finally {
    await db.destroy();
  }
}

interface PlanNode {
  'Workers Launched'?: number;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

function workersLaunched(node: PlanNode): number {
  return (node['Workers Launched'] ?? 0) + (node.Plans ?? []).reduce((sum, child) => sum + workersLaunched(child), 0);
}
