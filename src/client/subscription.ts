/**
 * The realtime stream (API.md §6) as a callback that sees every event exactly once, in order, across any number
 * of reconnections.
 *
 * How: the subscription remembers the id of the last event it delivered. Every (re)connection asks for
 * `since = that id`, so the server replays what was missed and then goes live with no gap; any frame whose id is
 * not above the last delivered one is dropped, so even a server or proxy that repeated itself could not cause a
 * duplicate. Without a starting `since`, the first `ready` frame supplies the position to resume from.
 *
 * With `ackDelivered`, it also tells the server which events reached this device (`{"type":"ack","id":N}`),
 * which is what gives the senders of private messages their `delivered` receipts (API.md §9). The server counts
 * an ack for what the same socket sent, so a reconnection then starts from the last event acknowledged rather
 * than the last delivered: the few events a dropped socket had not acknowledged come again, are dropped as
 * repeats, and are acknowledged on the new socket.
 */
import { EVENT_FRAME_TYPES, type ChatlogEvent, type ClientFrame, type ServerFrame } from '../contract/index.js';

/**
 * An event handler property. Declared through a method so that its parameter is checked bivariantly: the browser's
 * and the `ws` package's WebSocket declare richer event types (MessageEvent, CloseEvent) than the fields read here,
 * and with a plain function type neither class would be accepted.
 */
type Handler<E> = { bivariant(event: E): void }['bivariant'] | null;

/** The part of the WebSocket API used here; both the browser's WebSocket and the `ws` package provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<{ code: number; reason: string }>;
  onerror: Handler<unknown>;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

export interface DisconnectInfo {
  /** The close code: 1001 server shutdown, 4008 slow consumer, 1011 temporary failure, 1006 network, ... */
  code: number;
  reason: string;
  /** When the next attempt starts. */
  retryInMs: number;
}

export interface SubscribeOptions {
  /** Replay every event with id > since first (0: the whole stream). Absent: only events from now on. */
  since?: number;
  /** Called once per event, in id order, never twice for one id. */
  onEvent: (event: ChatlogEvent) => void;
  /** The socket is live: the replay (if any) is done. Called after every (re)connection, with the stream position. */
  onReady?: (position: number) => void;
  /** The socket closed; a new attempt is scheduled. */
  onDisconnect?: (info: DisconnectInfo) => void;
  /**
   * Something went wrong that the subscription cannot fix by itself: an onEvent that threw, an error frame, or
   * credentials the server refuses. With a fixed token the last one also ends the subscription (`fatal`).
   */
  onError?: (error: unknown, fatal: boolean) => void;
  /** Reconnection backoff: the first retry waits about minDelayMs, doubling up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** How often to send {"type":"ping"}: idle proxies drop silent sockets. */
  pingIntervalMs?: number;
  /**
   * Acknowledge the events to the server once `onEvent` has returned (or thrown) for them: a
   * `{"type":"ack","id":N}` frame with the highest id the socket brought, at most one every `ackIntervalMs`, so a
   * burst or a replay costs one frame. The server takes N to mean "this socket received every event up to N" and
   * tells the senders of the private messages among them (the `delivered` event). close() sends the ack that is
   * due before closing; after a drop, the reconnection resumes from the last acknowledged event (see above), so
   * none goes unacknowledged. Default false: a subscriber that is not a user's device (a bot, a mirror, a test)
   * should not tick messages as delivered.
   */
  ackDelivered?: boolean;
  /** The most one ack frame waits for more events to cover (default 200). */
  ackIntervalMs?: number;
}

export interface Subscription {
  /** Stops for good: closes the socket and cancels any pending reconnection. */
  close(): void;
  /**
   * The id of the last event delivered (or the position from `ready`): the `since` of the next connection, or
   * with `ackDelivered` the id of the last event acknowledged when that is older.
   */
  readonly lastId: number | undefined;
}

/** What a subscription needs from its client, kept narrow so it can be tested with fakes. */
export interface SubscriptionDeps {
  /** The /ws URL without query. */
  url: string;
  token: () => Promise<string>;
  WebSocket: WebSocketConstructor;
  /**
   * Checks the credentials over HTTP after a connection failed before opening: a browser cannot see the upgrade's
   * HTTP 401, so without this an expired token would look like a network problem forever. Rejects with the error.
   */
  probeCredentials: () => Promise<void>;
  /** Whether a credentials error can go away by itself (the token is a function that may refresh it). */
  tokenRefreshes: boolean;
}

const DEFAULTS = { minDelayMs: 500, maxDelayMs: 30_000, pingIntervalMs: 25_000, ackIntervalMs: 200 };

/** The server answers pings within a period; a socket silent for this many periods is taken as dead. */
const SILENT_PERIODS = 2.5;

/** A socket that has not opened after this long is abandoned and retried. */
const CONNECT_TIMEOUT_MS = 20_000;

export function subscribe(deps: SubscriptionDeps, options: SubscribeOptions): Subscription {
  const minDelay = options.minDelayMs ?? DEFAULTS.minDelayMs;
  const maxDelay = Math.max(minDelay, options.maxDelayMs ?? DEFAULTS.maxDelayMs);
  const pingInterval = options.pingIntervalMs ?? DEFAULTS.pingIntervalMs;
  const ackInterval = options.ackIntervalMs ?? DEFAULTS.ackIntervalMs;

  let lastId = options.since;
  let stopped = false;
  /** Failed attempts since the last socket that reached ready; drives the backoff. */
  let failures = 0;
  let socket: WebSocketLike | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** With ackDelivered: the highest event id the current socket brought and has not acknowledged yet. */
  let ackDue: number | undefined;
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** With ackDelivered: every event up to this id was acknowledged (or was before the subscription began). */
  let ackedThrough = options.since;

  const report = (error: unknown, fatal = false) => {
    try {
      options.onError?.(error, fatal);
    } catch {
      // A failing error handler must not take the subscription down with it.
    }
  };

  /** Ends a socket's timers; an ack it still owed is dropped, the next socket gets those events again. */
  const stopTimers = () => {
    clearInterval(pingTimer);
    clearTimeout(connectTimer);
    clearTimeout(ackTimer);
    pingTimer = connectTimer = ackTimer = undefined;
    ackDue = undefined;
  };

  /** Sends the current socket the ack that is due. */
  const flushAck = () => {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    if (ackDue === undefined || socket?.readyState !== OPEN) return;
    const frame: ClientFrame = { type: 'ack', id: ackDue };
    socket.send(JSON.stringify(frame));
    if (ackedThrough === undefined || ackDue > ackedThrough) ackedThrough = ackDue;
    ackDue = undefined;
  };

  /** The current socket brought event `id` (new or a repeat): it is to be acknowledged, on this socket. */
  const received = (id: number) => {
    if (!options.ackDelivered) return;
    if (ackDue === undefined || id > ackDue) ackDue = id;
    ackTimer ??= setTimeout(flushAck, ackInterval);
  };

  const connect = async () => {
    retryTimer = undefined;
    let token: string;
    try {
      token = await deps.token();
    } catch (err) {
      report(err);
      return scheduleRetry(0, 'the token could not be obtained', false);
    }
    if (stopped) return;
    const url = new URL(deps.url);
    // Browsers cannot set headers on a WebSocket, so the token travels in the query (API.md §6) everywhere.
    url.searchParams.set('token', token);
    const since = options.ackDelivered && ackedThrough !== undefined && lastId !== undefined ? Math.min(ackedThrough, lastId) : lastId;
    if (since !== undefined) url.searchParams.set('since', String(since));

    let ws: WebSocketLike;
    try {
      ws = new deps.WebSocket(url.toString());
    } catch (err) {
      // Only a malformed URL throws here; retrying cannot fix it, so it ends the subscription.
      report(err, true);
      return handle.close();
    }
    socket = ws;
    let opened = false;
    let lastFrameAt = Date.now();

    connectTimer = setTimeout(() => abandon(ws, 'the connection did not open in time'), CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      opened = true;
      clearTimeout(connectTimer);
      lastFrameAt = Date.now();
      pingTimer = setInterval(() => {
        // Browsers hide protocol-level pings, so liveness is judged by frames: the server answers every ping.
        if (Date.now() - lastFrameAt > pingInterval * SILENT_PERIODS) return abandon(ws, 'the server stopped answering pings');
        if (ws.readyState === OPEN) ws.send('{"type":"ping"}');
      }, pingInterval);
    };

    ws.onmessage = (event) => {
      lastFrameAt = Date.now();
      if (typeof event.data !== 'string') return; // the server only sends text frames
      let frame: unknown;
      try {
        frame = JSON.parse(event.data);
      } catch {
        frame = undefined;
      }
      if (typeof frame !== 'object' || frame === null) return report(new Error('the server sent a frame that is not a JSON object'));
      onFrame(frame as ServerFrame);
    };

    ws.onerror = () => {
      // Always followed by a close event, which decides what happens next.
    };

    ws.onclose = (event) => {
      if (socket !== ws) return; // already abandoned
      socket = undefined;
      stopTimers();
      scheduleRetry(event.code, event.reason, !opened);
    };
  };

  const onFrame = (frame: ServerFrame) => {
    if (frame.type === 'ready') {
      failures = 0;
      // Without since, ready is the position live events start after. With since, it is at most lastId.
      if (lastId === undefined || frame.id > lastId) lastId = frame.id;
      // Without since, nothing before the first position is this subscription's to acknowledge.
      ackedThrough ??= frame.id;
      try {
        options.onReady?.(frame.id);
      } catch (err) {
        report(err);
      }
      return;
    }
    if (frame.type === 'pong') return;
    if (frame.type === 'error') return report(new Error(`the server refused a frame: ${frame.message}`));
    const id = (frame as { id?: unknown }).id;
    if (typeof id !== 'number') return;
    if (lastId !== undefined && id <= lastId) return received(id); // already delivered: acknowledged all the same
    lastId = id;
    // Anything else with an id is from a newer server and is skipped.
    if (EVENT_FRAME_TYPES.has(frame.type as ChatlogEvent['type'])) {
      try {
        options.onEvent(frame);
      } catch (err) {
        report(err);
      }
    }
    // Handed over (or skipped) either way: it will not be delivered again, so it counts as received.
    received(id);
  };

  /** Gives up on a socket that is stuck (not opening, or silent) without waiting for a close event that may never come. */
  const abandon = (ws: WebSocketLike, reason: string) => {
    if (socket !== ws) return;
    socket = undefined;
    stopTimers();
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close(4000, reason);
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is dropped either way.
    }
    scheduleRetry(1006, reason, false);
  };

  const scheduleRetry = (code: number, reason: string, failedToOpen: boolean) => {
    if (stopped) return;
    // Exponential backoff with jitter, so that clients cut off together (a restart) do not return together.
    const base = Math.min(maxDelay, minDelay * 2 ** Math.min(failures, 20));
    const retryInMs = Math.round(base / 2 + (Math.random() * base) / 2);
    failures++;
    try {
      options.onDisconnect?.({ code, reason, retryInMs });
    } catch (err) {
      report(err);
    }
    if (failedToOpen) {
      // Runs beside the wait; only a credentials error stops the subscription, and only if it cannot change.
      deps.probeCredentials().catch((err: unknown) => {
        if (stopped || !isAuthError(err)) return;
        const fatal = !deps.tokenRefreshes;
        report(err, fatal);
        if (fatal) handle.close();
      });
    }
    retryTimer = setTimeout(() => void connect(), retryInMs);
  };

  const handle: Subscription = {
    close() {
      if (stopped) return;
      stopped = true;
      clearTimeout(retryTimer);
      flushAck();
      stopTimers();
      const ws = socket;
      socket = undefined;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = null;
        ws.close(1000, 'client closed');
      }
    },
    get lastId() {
      return lastId;
    },
  };

  void connect();
  return handle;
}

function isAuthError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { isAuthError?: unknown }).isAuthError === true;
}
