/**
 * One autocannon run against a running server, with every response checked: a benchmark that silently
 * measures error answers is worthless, so each failed answer (non-2xx, a non-zero envelope result, or whatever
 * the caller's check refuses) and each connection error or timeout is counted and labelled.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/** Says why a response is a failure, or undefined when it is a success. */
export type ResponseCheck = (status: number, body: string) => string | undefined;

export interface LoadSpec {
  title: string;
  /** Base URL of the server. */
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** The body of request number n (0, 1, 2, ... within this run), so that every request may differ. */
  body?: (n: number) => string | Buffer;
  /** Headers of request number n on top of `headers` (e.g. each request as another user); called before `body`. */
  headersFor?: (n: number) => Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Default: `envelopeCheck`, HTTP 2xx with `result: 0`. */
  check?: ResponseCheck;
  /** Called about once a second with the seconds elapsed, the responses in that second, and the errors so far. */
  onSecond?: (elapsed: number, responses: number, errors: number) => void;
}

export interface LoadResult {
  title: string;
  /** Responses received (successes and failures). */
  responses: number;
  /** Wall time of the run. */
  seconds: number;
  /** Responses per second. */
  rps: number;
  /** Latency in milliseconds, over every response received. */
  mean: number;
  p50: number;
  p99: number;
  max: number;
  /** Failed responses plus connection errors and timeouts; 0 for a run whose figures mean something. */
  errors: number;
  /** What the errors were, most frequent first, e.g. ["HTTP 404 result -1007: group not found", 12]. */
  failures: Array<[string, number]>;
  /** CPU cores this process kept busy (server and load generator together, since both run here). */
  cpuCores: number;
  /** Event-loop utilisation of the main thread, 0..1; near 1 means the single JS thread was the bottleneck. */
  eventLoop: number;
}

/** The chatlog envelope: HTTP 2xx and `result: 0`. */
export const envelopeCheck: ResponseCheck = (status, body) => {
  let envelope: { result?: unknown; message?: unknown };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    return `HTTP ${status}, not JSON: ${body.slice(0, 80)}`;
  }
  if (status >= 200 && status < 300 && envelope.result === 0) return undefined;
  return `HTTP ${status} result ${String(envelope.result)}: ${String(envelope.message)}`;
};

/** The q-quantile (0..1) of sorted values, nearest rank; NaN when there are none. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Count, mean, p50, p90, p99 and max of latencies in milliseconds (NaN figures when there are none). */
export function summariseLatencies(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

/** Runs autocannon for spec.durationSeconds and summarises it; never rejects because of error responses. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const check = spec.check ?? envelopeCheck;
  const failures = new Map<string, number>();
  const fail = (label: string) => failures.set(label, (failures.get(label) ?? 0) + 1);
  // autocannon's own histogram keeps whole milliseconds; these are exact.
  const latencies: number[] = [];
  let n = 0;

  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();

  return new Promise((resolve, reject) => {
    let ticker: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: spec.url + spec.path,
        connections: spec.connections,
        duration: spec.durationSeconds,
        method: spec.method ?? 'POST',
        headers: spec.headers,
        requests: [
          {
            ...((spec.body || spec.headersFor) && {
              setupRequest: (request: autocannon.Request) => {
                const i = n++;
                return {
                  ...request,
                  ...(spec.headersFor && { headers: { ...request.headers, ...spec.headersFor(i) } }),
                  ...(spec.body && { body: spec.body(i) }),
                };
              },
            }),
            onResponse: (status: number, body: string) => {
              const failure = check(status, body);
              if (failure !== undefined) fail(failure);
            },
          },
        ],
      },
      (err: Error | null, result: autocannon.Result) => {
        clearInterval(ticker);
        if (err) {
          reject(err);
          return;
        }
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const latency = summariseLatencies(latencies);
        // Connection errors and timeouts arrive as reqError events; autocannon's own count is the cross-check.
        const counted = [...failures.entries()].filter(([label]) => label.startsWith('connection')).reduce((a, [, c]) => a + c, 0);
        if (result.errors > counted) failures.set('connection errors (autocannon count)', result.errors - counted);
        resolve({
          title: spec.title,
          responses: latencies.length,
          seconds,
          rps: latencies.length / seconds,
          mean: latency.mean,
          p50: latency.p50,
          p99: latency.p99,
          max: latency.max,
          errors: [...failures.values()].reduce((a, b) => a + b, 0),
          failures: [...failures.entries()].sort((a, b) => b[1] - a[1]),
          cpuCores: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
          eventLoop: performance.eventLoopUtilization(eluBefore).utilization,
        });
      },
    );
    if (spec.onSecond) {
      let seen = 0;
      ticker = setInterval(() => {
        const errors = [...failures.values()].reduce((a, b) => a + b, 0);
        spec.onSecond!((performance.now() - started) / 1000, latencies.length - seen, errors);
        seen = latencies.length;
      }, 1000);
    }
    instance.on('response', (_client: autocannon.Client, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
    instance.on('reqError', (err: { code?: string; message?: string }) => {
      fail(`connection error or timeout: ${err.code ?? err.message ?? String(err)}`);
    });
  });
}
