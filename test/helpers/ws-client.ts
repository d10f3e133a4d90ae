import { once } from 'node:events';
import { connect } from 'node:net';
import WebSocket from 'ws';

export interface Frame {
  type: string;
  id?: number;
  [key: string]: unknown;
}

/** A WebSocket subscriber as a browser or app would hold one: it keeps every frame it got, in order. */
export class SocketClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }

  /** Opens /ws on the instance at `baseUrl`, the token in the Authorization header (or the query string). */
  static async connect(baseUrl: string, token: string, options: { since?: number; tokenInQuery?: boolean } = {}): Promise<SocketClient> {
    const url = new URL('/ws', baseUrl.replace(/^http/, 'ws'));
    if (options.since !== undefined) url.searchParams.set('since', String(options.since));
    if (options.tokenInQuery) url.searchParams.set('token', token);
    const ws = new WebSocket(url, options.tokenInQuery ? {} : { headers: { authorization: `Bearer ${token}` } });
    const client = new SocketClient(ws);
    await once(ws, 'open');
    return client;
  }

  /** The event frames (everything but ready, pong and error). */
  get events(): Frame[] {
    return this.frames.filter((frame) => !['ready', 'pong', 'error'].includes(frame.type));
  }

  get eventIds(): number[] {
    return this.events.map((frame) => frame.id!);
  }

  /** Resolves once `done` holds for the frames received, or fails after `timeoutMs`. */
  async until(done: (client: SocketClient) => boolean, timeoutMs = 10_000, what = 'the expected frames'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  untilReady(): Promise<void> {
    return this.until((client) => client.frames.some((frame) => frame.type === 'ready'), 10_000, 'ready');
  }

  /** Stops reading from the network, as a client that hangs would; data piles up in the server's buffers. */
  pause(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

/** Tries an upgrade that should be refused; resolves with the HTTP status it was answered with. */
export async function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error(`the upgrade of ${url} was accepted`));
    });
    ws.on('error', () => undefined);
  });
}

/**
 * Request targets Node's HTTP parser accepts but that are not a path a URL parser takes as one: every upgrade
 * listener must answer them without throwing.
 */
export const HOSTILE_TARGETS = ['//a:99999/ws', '//[/ws', '//a b/ws', '/ws?since=%', '//a:99999/sub', '*'];

/**
 * Sends an upgrade request with `target` verbatim over TCP; resolves with the HTTP status line of the answer.
 * `headers` replace the WebSocket handshake headers sent by default.
 */
export async function rawUpgrade(baseUrl: string, target: string, headers: Record<string, string> = {}): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const all = {
    Host: hostname,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  socket.write(
    `GET ${target} HTTP/1.1\r\n${Object.entries(all)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`,
  );
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk.toString()));
  await Promise.race([once(socket, 'close'), once(socket, 'end')]);
  socket.destroy();
  return answer.split('\r\n')[0] ?? '';
}
