/**
 * A measured run: a warm-up, then the run with the CPU of every process read over it, and group commit's counters
 * from the server's metrics.
 */
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import { count, fixed, progress } from './report.js';
import type { Child } from './child.js';
import { measureUsage, type Usage } from './usage.js';
import { metricIn } from '../../test/helpers/metrics.js';

/** Write transactions formed by group commit, the writes they carried, and the statements sent to the database. */
export type WriteBatches = { batches: number; works: number; statements: number };

const metricsText = async (url: string) => (await fetch(`${url}/metrics`)).text();

/** A metric by name, and optionally the labels its series must have (as metricIn takes them). */
export type MetricSeries = [name: string, labels?: string];

/** Each metric summed over the servers' /metrics; a series not written yet (a label never counted) is 0. */
export async function sumMetrics(urls: string[], series: MetricSeries[]): Promise<number[]> {
  const texts = await Promise.all(urls.map(metricsText));
  return series.map(([name, labels]) => texts.reduce((sum, text) => sum + metricIn(text, name, labels), 0));
}

async function writeBatches(url: string): Promise<WriteBatches> {
  const text = await metricsText(url);
  return {
    batches: metricIn(text, 'chatlog_write_batches_total'),
    works: metricIn(text, 'chatlog_write_batch_works_total'),
    statements: metricIn(text, 'chatlog_database_statements_total'),
  };
}

/**
 * Write transactions take the write lock one after another, so while writes queue the time between two is about
 * the part of a transaction that holds it. Statements per write: on PostgreSQL, round trips per push.
 */
export function describeWritePath({ batches, works, statements }: WriteBatches, seconds: number): string {
  const perSecond = batches / seconds;
  return (
    `write transactions: ${count(perSecond)}/s x ${fixed(works / batches, 1)} writes, one every ${fixed(1000 / perSecond, 1)} ms; ` +
    `${fixed(statements / works, 2)} database statements per write (${fixed(statements / batches, 1)} per transaction)`
  );
}

/** The runs, the CPU over the measured one, and its write batches when a chatlog server's metrics were named. */
export type Measured = { warm?: LoadResult; result: LoadResult; usage: Usage; batches?: WriteBatches };

/** `children`: the server processes whose CPU and event loop are read over the measured run. */
export type MeasureOptions = { warmup: number; seconds: number; children: Child[]; selfIsServer?: boolean; metricsUrl?: string };

/** A warm-up and a measured run; request numbers go on across both, so that every request differs. */
export async function warmAndMeasure(spec: Omit<LoadSpec, 'seconds'>, options: MeasureOptions): Promise<Measured> {
  let next = 0;
  const load = (title: string, seconds: number) => runLoad({ ...spec, title, seconds, request: () => spec.request(next++) });
  progress(`${spec.title}: ${options.warmup} s warm-up + ${options.seconds} s, ${spec.connections} connections`);
  const warm = options.warmup > 0 ? await load(`${spec.title} (warm-up)`, options.warmup) : undefined;
  const warmFailures = [...(warm?.failures ?? [])].map(([label, n]) => [`in the warm-up: ${label}`, n] as const);
  const before = options.metricsUrl && (await writeBatches(options.metricsUrl));
  const { value: result, usage } = await measureUsage(options.children, () => load(spec.title, options.seconds), options.selfIsServer);
  // Shown with the run's own, so that none goes unseen; counted by errorsOf.
  for (const [label, n] of warmFailures) result.failures.set(label, n);
  const after = options.metricsUrl && (await writeBatches(options.metricsUrl));
  progress(`${spec.title}: ${count(result.rps)} req/s, p50 ${fixed(result.p50, 2)} ms, p99 ${fixed(result.p99, 2)} ms, ${result.errors} errors`);
  // Lets the requests autocannon abandoned at the end of the run finish before the next starts.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const batches =
    before && after
      ? { batches: after.batches - before.batches, works: after.works - before.works, statements: after.statements - before.statements }
      : undefined;
  return { warm, result, usage, batches };
}

export const errorsOf = (runs: Measured[]): number => runs.reduce((sum, m) => sum + m.result.errors + (m.warm?.errors ?? 0), 0);
