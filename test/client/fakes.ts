import type { FetchLike, RequestInitLike, ResponseLike, WebSocketConstructor, WebSocketLike } from '../../src/client/index.js';

/** A WebSocket the test drives by hand: it opens, receives frames and drops only when told to. */
export interface FakeSocket extends WebSocketLike {
  readonly url: URL;
  readonly sent: string[];
  closedWith?: { code?: number; reason?: string };
  open(): void;
  receive(frame: object | string): void;
  drop(code?: number, reason?: string): void;
}

/** A WebSocket class whose instances are collected in `sockets`, newest last. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Fake implements FakeSocket {
    readonly url: URL;
    readonly sent: string[] = [];
    readyState = 0;
    closedWith?: { code?: number; reason?: string };
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;

    constructor(url: string) {
      this.url = new URL(url);
      sockets.push(this);
    }

    send(data: string): void {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open');
      this.sent.push(data);
    }

    close(code?: number, reason?: string): void {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }

    open(): void {
      this.readyState = 1;
      this.onopen?.({});
    }

    receive(frame: object | string): void {
      this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
    }

    drop(code = 1006, reason = ''): void {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
  }
  return { WebSocket: Fake, sockets };
}

export interface FakeResponse {
  status: number;
  body: string | object;
  headers?: Record<string, string>;
}

/** A fetch that records its requests and answers each with `answer(url, init)`. */
export function fakeFetch(answer: (url: string, init: RequestInitLike) => FakeResponse): {
  fetch: FetchLike;
  requests: Array<{ url: string; init: RequestInitLike }>;
} {
  const requests: Array<{ url: string; init: RequestInitLike }> = [];
  const fetch: FetchLike = async (url, init) => {
    requests.push({ url, init });
    const { status, body, headers = {} } = answer(url, init);
    const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const response: ResponseLike = {
      status,
      headers: { get: (name) => lower.get(name.toLowerCase()) ?? null },
      text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
    };
    return response;
  };
  return { fetch, requests };
}

/** Waits until `done()` holds, checking every few milliseconds; fails with `what` after `timeoutMs`. */
export async function eventually(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
