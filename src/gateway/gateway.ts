import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, WebSocket } from 'ws';
import type { Authenticator } from '../auth/jwt.js';
import type { EventBus, Notification } from '../bus/event-bus.js';
import { AppError } from '../errors.js';
import type { Codec } from '../proto/codec.js';
import type { RecordService } from '../services/record-service.js';
import { eventFrame } from './frames.js';

export interface GatewayOptions {
  records: RecordService;
  codec: Codec;
  bus: EventBus;
  authenticate: Authenticator;
  logger: Logger;
  /** A socket whose unsent data passes this is closed with 4008 (API.md §6). */
  maxBufferedBytes: number;
  /** The server pings this often and drops a socket that missed a whole period; 30 s by default. */
  heartbeatMs?: number;
  /** Told of every event frame written, for metrics. */
  onDelivered?: () => void;
}

/** Events read from the database per query while a socket catches up. */
const PAGE_SIZE = 500;

const CLOSE_GOING_AWAY = 1001;
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_SLOW_CONSUMER = 4008;

const POSITION_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** One socket of one user, and where it is in the user's stream. */
interface Connection {
  ws: WebSocket;
  uid: string;
  /** The id of the last event sent (or the position the socket started from). */
  cursor: number;
  /** A catch-up from the database is running; wakes meanwhile only set `dirty`. */
  pumping: boolean;
  /** Something was committed since the running catch-up last read. */
  dirty: boolean;
  alive: boolean;
}

/**
 * GET /ws: authenticates the upgrade, then keeps each socket level with its user's stream. Every frame comes from
 * the database, read after the socket's cursor, so frames are in id order without gap or repeat whatever order
 * notifications arrive in; a notification only says "read again" to the sockets it concerns.
 */
export class RealtimeGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly connections = new Map<string, Set<Connection>>();
  /** The groups of every user with a socket here, and the reverse: whom a group notification wakes. */
  private readonly groupsOfUid = new Map<string, Set<number>>();
  private readonly uidsOfGroup = new Map<number, Set<string>>();
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly options: GatewayOptions) {
    options.bus.subscribe({
      onNotification: (notification) => this.onNotification(notification),
      onResync: () => this.forEachConnection((connection) => void this.pump(connection)),
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  /** The http server's `upgrade` handler: a socket exists only once the caller is authenticated. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.options.logger.debug({ err: err.message }, 'upgrade socket error'));
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.closing) return reject(socket, 503, -1009, 'the server is shutting down');
    if (url.pathname !== '/ws') return reject(socket, 404, -1007, `there is no WebSocket endpoint ${url.pathname}`);
    const since = url.searchParams.get('since');
    if (since !== null && !(POSITION_PATTERN.test(since) && Number.isSafeInteger(Number(since)))) {
      return reject(socket, 400, -1012, 'since must be an integer >= 0');
    }
    const token = bearerToken(req.headers.authorization) ?? url.searchParams.get('token');
    if (!token) return reject(socket, 401, -1010, 'missing credentials: send Authorization: Bearer <token> or ?token=');

    this.options.authenticate(token).then(
      (uid) => this.wss.handleUpgrade(req, socket, head, (ws) => void this.open(ws, uid, since === null ? undefined : Number(since))),
      (err: unknown) => {
        if (err instanceof AppError) return reject(socket, 401, err.code, err.message);
        this.options.logger.error({ err }, 'authenticating an upgrade failed');
        reject(socket, 500, -1000, 'unexpected server error');
      },
    );
  }

  /** Closes every socket with 1001 (going away) and stops taking new ones. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    const closed = [...this.wss.clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(CLOSE_GOING_AWAY, 'server shutting down');
          // A client that does not answer the close handshake is not waited for.
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 1000).unref();
        }),
    );
    await Promise.all(closed);
    this.wss.close();
  }

  private async open(ws: WebSocket, uid: string, since: number | undefined): Promise<void> {
    // Registered before anything is read, so that no commit from now on can go unnoticed; wakes during the
    // start only mark the connection dirty, and the start ends by catching up on them.
    const connection: Connection = { ws, uid, cursor: since ?? 0, pumping: true, dirty: false, alive: true };
    this.register(connection);
    ws.on('error', (err) => this.options.logger.debug({ err: err.message, uid }, 'socket error'));
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data, isBinary) => this.onClientFrame(connection, data, isBinary));
    ws.on('close', () => this.unregister(connection));
    try {
      // The position is read before the groups: a join committed in between is then either in the group list or
      // after the cursor, where the catch-up sees it (see catchUp).
      if (since === undefined) connection.cursor = await this.options.records.latestPosition(uid);
      for (const groupId of await this.options.records.groupIdsOf(uid)) this.index(uid, groupId);
      if (since !== undefined) await this.catchUp(connection);
      this.send(connection, { type: 'ready', id: connection.cursor });
    } catch (err) {
      this.fail(connection, err);
      return;
    }
    connection.pumping = false;
    if (connection.dirty) void this.pump(connection);
  }

  /** Reads the stream after the cursor and sends it, until nothing new is left. One pump per socket at a time. */
  private async pump(connection: Connection): Promise<void> {
    if (connection.pumping) {
      connection.dirty = true;
      return;
    }
    connection.pumping = true;
    try {
      do {
        connection.dirty = false;
        await this.catchUp(connection);
      } while (connection.dirty && isOpen(connection));
    } catch (err) {
      this.fail(connection, err);
    } finally {
      connection.pumping = false;
    }
  }

  private async catchUp(connection: Connection): Promise<void> {
    for (;;) {
      const page = await this.options.records.sync(connection.uid, connection.cursor, PAGE_SIZE);
      for (const event of page.events) {
        if (!this.send(connection, eventFrame(event, this.options.codec))) return;
        this.options.onDelivered?.();
        connection.cursor = event.id;
        // The stream itself says when the user joined a group, whatever became of the join's notification.
        if (event.kind === 'join' && event.data.uids.includes(connection.uid)) this.index(connection.uid, event.groupId);
      }
      if (!page.hasMore) return;
    }
  }

  /** False when the socket is gone or has just been closed as a slow consumer. */
  private send(connection: Connection, frame: object): boolean {
    if (!isOpen(connection)) return false;
    if (connection.ws.bufferedAmount > this.options.maxBufferedBytes) {
      // The client reconnects with `since` and loses nothing; holding more for it would only grow memory.
      connection.ws.close(CLOSE_SLOW_CONSUMER, 'slow consumer: reconnect with since');
      return false;
    }
    connection.ws.send(JSON.stringify(frame));
    return true;
  }

  private onNotification(notification: Notification): void {
    const woken = new Set<string>(notification.uids ?? []);
    if (notification.groupId !== undefined) {
      for (const uid of this.uidsOfGroup.get(notification.groupId) ?? []) woken.add(uid);
    }
    this.applyMembership(notification);
    for (const uid of woken) {
      for (const connection of this.connections.get(uid) ?? []) {
        if (connection.cursor < notification.id) void this.pump(connection);
      }
    }
  }

  /** Keeps the group index in step; a stale entry only wakes a socket that then reads nothing new. */
  private applyMembership({ groupId, membership }: Notification): void {
    if (groupId === undefined || membership === undefined) return;
    const uids = membership.kind === 'disband' ? [...(this.uidsOfGroup.get(groupId) ?? [])] : membership.uids;
    for (const uid of uids) {
      if (membership.kind === 'join') this.index(uid, groupId);
      else this.unindex(uid, groupId);
    }
  }

  /** Notes that a user with sockets here is in a group. */
  private index(uid: string, groupId: number): void {
    if (!this.connections.has(uid)) return;
    let groups = this.groupsOfUid.get(uid);
    if (!groups) this.groupsOfUid.set(uid, (groups = new Set()));
    groups.add(groupId);
    let uids = this.uidsOfGroup.get(groupId);
    if (!uids) this.uidsOfGroup.set(groupId, (uids = new Set()));
    uids.add(uid);
  }

  private unindex(uid: string, groupId: number): void {
    this.groupsOfUid.get(uid)?.delete(groupId);
    const uids = this.uidsOfGroup.get(groupId);
    uids?.delete(uid);
    if (uids?.size === 0) this.uidsOfGroup.delete(groupId);
  }

  private onClientFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.alive = true;
    let frame: { type?: unknown } | undefined;
    if (!isBinary) {
      try {
        frame = JSON.parse(data.toString()) as { type?: unknown };
      } catch {
        frame = undefined;
      }
    }
    if (frame?.type === 'ping') {
      this.send(connection, { type: 'pong' });
    } else {
      // Garbage never closes a socket: the client is told and the socket goes on.
      this.send(connection, { type: 'error', message: 'frames are JSON text; the only client frame is {"type":"ping"}' });
    }
  }

  private checkHeartbeats(): void {
    this.forEachConnection((connection) => {
      if (!connection.alive) {
        connection.ws.terminate();
        return;
      }
      connection.alive = false;
      connection.ws.ping();
    });
  }

  private fail(connection: Connection, err: unknown): void {
    // Usually the database went away; the client reconnects with `since` and resumes where it was.
    this.options.logger.warn({ err, uid: connection.uid }, 'closing a socket that could not be brought up to date');
    if (isOpen(connection)) connection.ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: reconnect with since');
  }

  private register(connection: Connection): void {
    let set = this.connections.get(connection.uid);
    if (!set) this.connections.set(connection.uid, (set = new Set()));
    set.add(connection);
  }

  private unregister(connection: Connection): void {
    const set = this.connections.get(connection.uid);
    set?.delete(connection);
    if (set?.size !== 0) return;
    this.connections.delete(connection.uid);
    for (const groupId of this.groupsOfUid.get(connection.uid) ?? []) this.unindex(connection.uid, groupId);
    this.groupsOfUid.delete(connection.uid);
  }

  private forEachConnection(visit: (connection: Connection) => void): void {
    for (const set of this.connections.values()) for (const connection of set) visit(connection);
  }

  /** Open sockets, for metrics and tests. */
  get socketCount(): number {
    return this.wss.clients.size;
  }
}

function isOpen(connection: Connection): boolean {
  return connection.ws.readyState === WebSocket.OPEN;
}

function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** Answers a refused upgrade with a plain HTTP response carrying the envelope; no socket is made. */
function reject(socket: Duplex, status: number, result: number, message: string): void {
  const body = JSON.stringify({ result, message, data: null });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
