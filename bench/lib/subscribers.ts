/** The realtime bench's clients: subscribers through ChatlogClient, and a light transport for the senders. */
import { Agent, request } from 'node:http';
import type { ChatlogClient, ChatlogEvent, FetchLike, Subscription } from '../../src/client/index.js';

export const SOCKET_BATCH = 250;

/** Why a send failed when the server did not answer in time: the servers fell behind. */
export const NO_ANSWER = 'no answer within 10 s';

/**
 * The senders' transport: node:http with keep-alive connections. The senders are the load generator, on the
 * servers' machine, and the global fetch costs about twice the CPU per request.
 */
export function httpFetch(): FetchLike {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return (url, init) =>
    new Promise((resolve, reject) => {
      const body = init.body as string;
      const headers = { ...init.headers, 'content-length': String(Buffer.byteLength(body)) };
      const req = request(url, { method: init.method, headers, agent, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: { get: (name) => [res.headers[name.toLowerCase()]].flat()[0] ?? null },
            text: async () => Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('timeout', () => req.destroy(new Error(NO_ANSWER)));
      req.on('error', reject).end(body);
    });
}

export interface Socket {
  subscription: Subscription;
  /** The close code, once the server ended the socket; the subscription then stops (a drop is a finding, not retried). */
  closed: Promise<number>;
}

/** Subscribes without `since` and resolves at `ready`; rejects if the socket ends first or takes over 30 s. */
export function subscribe(client: ChatlogClient, onEvent: (event: ChatlogEvent) => void = () => undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let closedWith: (code: number) => void = () => undefined;
    const closed = new Promise<number>((done) => (closedWith = done));
    const timer = setTimeout(() => (subscription.close(), reject(new Error('no ready frame within 30 s'))), 30_000);
    const subscription = client.subscribe({
      onEvent,
      // Idle means idle: no pings in the measured windows.
      pingIntervalMs: 3_600_000,
      onReady: () => (clearTimeout(timer), resolve({ subscription, closed })),
      onDisconnect: ({ code, reason }) => {
        subscription.close();
        closedWith(code);
        clearTimeout(timer);
        reject(new Error(`closed with ${code} ${reason} before ready`));
      },
      onError: (err, fatal) => fatal && reject(err),
    });
  });
}

/** Opens the sockets SOCKET_BATCH at a time, each batch waiting for its `ready` frames. */
export async function subscribeAll(
  clients: Array<() => Promise<ChatlogClient>>,
  onEvent?: (i: number) => (event: ChatlogEvent) => void,
  onBatch?: (opened: number) => void,
): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < clients.length; i += SOCKET_BATCH) {
    sockets.push(...(await Promise.all(clients.slice(i, i + SOCKET_BATCH).map(async (client, j) => subscribe(await client(), onEvent?.(i + j))))));
    onBatch?.(sockets.length);
  }
  return sockets;
}
