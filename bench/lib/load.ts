/**
 * Closed-loop load with autocannon, every response checked: a benchmark that silently measures error answers is
 * worthless, so each failed answer (non-2xx, a non-zero envelope result, whatever the check refuses) and each
 * connection error is counted and labelled.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { fixed, formatTable, progress } from './report.js';

/** Why a response is a failure, or undefined for a success. */
export type ResponseCheck = (status: number, body: string) => string | undefined;

export interface LoadSpec {
  title: string;
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /** Requests a second across the connections (autocannon's overallRate); as fast as they are answered when absent. */
  rate?: number;
  headers?: Record<string, string>;
  /** Headers and body of request number n: every request may differ. */
  request: (n: number) => { headers?: Record<string, string>; body: string | Buffer };
  check?: ResponseCheck;
}

export interface LoadResult extends Omit<LatencySummary, 'count'> {
  title: string;
  responses: number;
  seconds: number;
  rps: number;
  /** Failed responses and connection errors: the figures mean something only at 0. */
  errors: number;
  failures: Map<string, number>;
}

/** HTTP 2xx with the chatlog envelope's `result: 0`. */
export const envelopeCheck: ResponseCheck = (status, body) => {
  let envelope: { result?: unknown; message?: unknown };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    return `HTTP ${status}, not JSON: ${body.slice(0, 80)}`;
  }
  return status >= 200 && status < 300 && envelope.result === 0 ? undefined : `HTTP ${status} result ${String(envelope.result)}: ${String(envelope.message)}`;
};

/**
 * A push must also be answered with a logId never seen before: every request has a msgId of its own, so a repeat
 * would mean an idempotent replay was measured instead of a write.
 */
export function freshPushCheck(): ResponseCheck {
  const seen = new Set<number>();
  return (status, body) => {
    const failure = envelopeCheck(status, body);
    if (failure !== undefined) return failure;
    const logId = (JSON.parse(body) as { data?: { logId?: unknown } }).data?.logId;
    if (typeof logId !== 'number' || seen.has(logId)) return 'no new numeric logId (a replay, not a write)';
    seen.add(logId);
    return undefined;
  };
}

export type LatencySummary = { count: number; mean: number; p50: number; p99: number; max: number };

/** Nearest-rank percentiles of latencies in ms; NaN figures when there are none. */
export function summarise(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/** Runs autocannon for spec.seconds; error responses are counted, never thrown. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const check = spec.check ?? envelopeCheck;
  const failures = new Map<string, number>();
  const fail = (label: string) => failures.set(label, (failures.get(label) ?? 0) + 1);
  // autocannon's own histogram keeps whole milliseconds; these are exact.
  const latencies: number[] = [];
  let n = 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ticker = setInterval(() => progress(`  ${spec.title}: ${((performance.now() - started) / 1000).toFixed(0)} s, ${latencies.length} responses`), 1000);
    const instance = autocannon(
      {
        url: spec.url + spec.path,
        connections: spec.connections,
        ...(spec.rate !== undefined && { overallRate: spec.rate }),
        duration: spec.seconds,
        method: 'POST',
        headers: spec.headers,
        requests: [
          {
            setupRequest: (request: autocannon.Request) => {
              const { headers, body } = spec.request(n++);
              return { ...request, headers: { ...request.headers, ...headers }, body };
            },
            onResponse: (status: number, body: string) => {
              const failure = check(status, body);
              if (failure !== undefined) fail(failure);
            },
          },
        ],
      },
      (err: Error | null, result: autocannon.Result) => {
        clearInterval(ticker);
        if (err) return reject(err);
        const seconds = (performance.now() - started) / 1000;
        const connectionErrors = [...failures].filter(([label]) => label.startsWith('connection')).reduce((a, [, c]) => a + c, 0);
        if (result.errors > connectionErrors) failures.set('connection errors (autocannon count)', result.errors - connectionErrors);
        const errors = [...failures.values()].reduce((a, b) => a + b, 0);
        resolve({ title: spec.title, responses: latencies.length, seconds, rps: latencies.length / seconds, ...summarise(latencies), errors, failures });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
    instance.on('reqError', (err: { code?: string; message?: string }) => fail(`connection error or timeout: ${err.code ?? err.message}`));
  });
}

/** The table of runs, and every kind of error of the runs that had any, so that none goes unseen. */
export function formatRuns(results: LoadResult[]): string[] {
  const table = formatTable(
    ['run', 'responses', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
    results.map((r) => [r.title, String(r.responses), fixed(r.rps, 0), fixed(r.mean, 2), fixed(r.p50, 2), fixed(r.p99, 2), fixed(r.max, 1), String(r.errors)]),
  );
  return [table, ...results.flatMap((r) => [...r.failures].map(([label, n]) => `  error in ${r.title}: ${n} x ${label}`))];
}

/** A good envelope, counting the pages and the records (`record_count`) they held. */
export function recordPagesCheck(pages: { pages: number; records: number }): ResponseCheck {
  return (status, body) => {
    const failure = envelopeCheck(status, body);
    if (failure === undefined) {
      pages.pages++;
      pages.records += (JSON.parse(body) as { data: { record_count: number } }).data.record_count;
    }
    return failure;
  };
}
