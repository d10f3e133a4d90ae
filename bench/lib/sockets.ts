/** WebSocket subscribers for benchmarks: many sockets on GET /ws, each brought up to its `ready` frame. */
import WebSocket from 'ws';

/** How long one socket may take from the upgrade request to its `ready` frame. */
const READY_TIMEOUT_MS = 30_000;

export interface Subscriber {
  ws: WebSocket;
  /** The `id` of the ready frame: the user's stream position when the socket started. */
  position: number;
  /** Resolves with the close code, however the socket ends. */
  closed: Promise<number>;
}

/**
 * Opens /ws on the instance at `baseUrl` as the token's user (token in the Authorization header, no `since`) and
 * resolves once the `ready` frame is in. Every later text frame goes to `onFrame` as the raw string; the caller
 * parses what it needs. Rejects when the upgrade is refused, the socket fails or closes first, or time runs out.
 */
export function subscribe(baseUrl: string, token: string, onFrame?: (data: string) => void): Promise<Subscriber> {
  const ws = new WebSocket(new URL('/ws', baseUrl.replace(/^http/, 'ws')), {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`${baseUrl}/ws: ${why}`));
    };
    const timer = setTimeout(() => fail(`no ready frame within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    ws.on('unexpected-response', (_req, res) => fail(`upgrade refused with HTTP ${res.statusCode}`));
    // After the start, a socket error ends in `close`, which the caller sees through `closed`.
    ws.on('error', (err) => fail(err.message));
    ws.once('close', (code) => fail(`closed with ${code} before ready`));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (settled) {
        onFrame?.(text);
        return;
      }
      let frame: { type?: string; id?: number } | undefined;
      try {
        frame = JSON.parse(text) as typeof frame;
      } catch {
        frame = undefined;
      }
      if (frame?.type !== 'ready') return fail(`first frame was ${text.slice(0, 100)}, not ready`);
      settled = true;
      clearTimeout(timer);
      resolve({ ws, position: frame.id ?? 0, closed });
    });
  });
}

export interface SubscribeSpec {
  url: string;
  token: string;
  onFrame?: (data: string) => void;
}

/**
 * Opens every socket, `batch` upgrades at a time (each batch waits for all its `ready` frames), calling
 * `onBatch(opened)` after each batch for progress lines. On the first failure, the sockets already open are
 * terminated and the error is thrown.
 */
export async function subscribeAll(specs: SubscribeSpec[], batch: number, onBatch?: (opened: number) => void): Promise<Subscriber[]> {
  const opened: Subscriber[] = [];
  try {
    for (let i = 0; i < specs.length; i += batch) {
      const results = await Promise.allSettled(specs.slice(i, i + batch).map((spec) => subscribe(spec.url, spec.token, spec.onFrame)));
      for (const result of results) if (result.status === 'fulfilled') opened.push(result.value);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) {
        const count = results.filter((result) => result.status === 'rejected').length;
        throw new Error(`${count} of ${results.length} sockets of a batch failed, e.g. ${String((failed.reason as Error).message ?? failed.reason)}`);
      }
      onBatch?.(opened.length);
    }
    return opened;
  } catch (err) {
    for (const subscriber of opened) subscriber.ws.terminate();
    throw err;
  }
}

/** How many times each close code occurs. */
export function countCodes(codes: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return counts;
}
