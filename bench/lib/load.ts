/**
 * Load, every response checked: a benchmark that silently measures error answers is worthless, so each failed
 * answer (non-2xx, a non-zero envelope result, whatever the check refuses) and each connection error is counted and
 * labelled. Closed loop with autocannon (each connection sends its next request once answered), or open loop at a
 * rate (requests evenly spaced, whatever became of the earlier ones).
 */
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { OpenLoop } from './open-loop.js';
import { fixed, formatTable, progress } from './report.js';

/** Why a response is a failure, or undefined for a success. */
export type ResponseCheck = (status: number, body: string) => string | undefined;

export interface LoadSpec {
  title: string;
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /**
   * Requests a second, evenly spaced, over at most `connections` keep-alive connections (open loop: latency at an
   * offered load); when absent, each connection sends as soon as it is answered. Not autocannon's overallRate, which
   * sends each second's budget in a burst and so measures a closed loop again.
   */
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

/** Runs the load for spec.seconds; error responses are counted, never thrown. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return spec.rate === undefined ? runClosedLoad(spec) : runOpenLoad({ ...spec, rate: spec.rate });
}

function runClosedLoad(spec: LoadSpec): Promise<LoadResult> {
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

/** Latency from when each request was due, so that a server falling behind shows as latency, not as a lower rate. */
async function runOpenLoad(spec: LoadSpec & { rate: number }): Promise<LoadResult> {
  const check = spec.check ?? envelopeCheck;
  const target = new URL(spec.url + spec.path);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const maxInFlight = Math.max(spec.connections * 50, 100);
  const loop = new OpenLoop(Math.round(spec.seconds * spec.rate), spec.rate, maxInFlight);
  const latencies: number[] = [];
  const send = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const { headers, body } = spec.request(n);
      const started = performance.now();
      const outgoing = httpRequest(target, { method: 'POST', agent, headers: { ...spec.headers, ...headers } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          latencies.push(performance.now() - started);
          const failure = check(response.statusCode ?? 0, Buffer.concat(chunks).toString());
          return failure === undefined ? resolve() : reject(new Error(failure));
        });
        response.on('error', reject);
      });
      outgoing.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`connection error or timeout: ${err.code ?? err.message}`)));
      outgoing.end(body);
    });
  const started = performance.now();
  const ticker = setInterval(() => progress(`  ${spec.title}: ${((performance.now() - started) / 1000).toFixed(0)} s, ${latencies.length} responses`), 1000);
  try {
    await loop.run(send);
    await loop.settle();
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const failures = new Map(loop.failures);
  if (loop.dropped > 0) failures.set(`not sent: ${maxInFlight} already in flight (the server fell behind the rate)`, loop.dropped);
  if (loop.inFlight > 0) failures.set('unanswered at the end', loop.inFlight);
  const errors = [...failures.values()].reduce((a, b) => a + b, 0);
  return { title: spec.title, responses: latencies.length, seconds, rps: latencies.length / seconds, ...summarise(latencies), errors, failures };
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
