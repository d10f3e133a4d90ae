import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Credentials } from '../auth/credentials.js';
import type { Caller } from '../auth/jwt.js';
import { ChannelType, type StreamEvent } from '../domain.js';
import type { DeviceService } from '../services/device-service.js';
import { AppError } from '../errors.js';
import type { Codec } from '../proto/codec.js';
import { stringify } from '../json.js';
import { eventFrame } from './frames.js';
import type { StreamFanout, Subscriber } from './stream-fanout.js';
import { expireAt, type UserSockets } from './socket-policy.js';
import { closeAll, refuseUpgrade } from './upgrade.js';

export interface WsEndpointOptions {
  fanout: StreamFanout;
  codec: Codec;
  credentials: Credentials;
  logger: Logger;
  userSockets: UserSockets;
  /** A socket whose unsent data passes this is closed with 4008 (API.md §6). */
  maxBufferedBytes: number;
  /** The server pings this often and drops a socket whose ping went two periods unanswered. */
  heartbeatMs: number;
  /** Told what a socket acknowledged: the private messages it received, for delivery receipts. */
  devices: Pick<DeviceService, 'acknowledge'>;
}

const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_TOKEN_EXPIRED = 4001;
const CLOSE_SLOW_CONSUMER = 4008;

const POSITION_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Most private messages a socket keeps waiting for its client's ack: past it the oldest go unreceipted (the
 * client is acking nothing, or far behind), rather than memory growing with every message.
 */
const MAX_AWAITING_ACK = 4096;

/** Private messages from others pushed to one socket and not yet acknowledged: [stream id, mid], in id order. */
type AwaitingAck = Array<[number, number]>;

/** GET /ws (API.md §6): JSON frames, `?since` replay, ping/pong, a heartbeat, and 4008 for slow consumers. */
export class WsEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  /** Pings sent since the socket last showed life (a pong or a frame). */
  private readonly unanswered = new WeakMap<WebSocket, number>();
  private readonly heartbeat: NodeJS.Timeout;
  /** One encoder for every socket, so that an event is encoded once for all of them (OutgoingEvent). */
  private readonly encodeFrame = (event: StreamEvent): Buffer => Buffer.from(stringify(eventFrame(event, this.options.codec)));

  constructor(private readonly options: WsEndpointOptions) {
    this.heartbeat = setInterval(() => this.checkHeartbeats(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** A socket exists only once the caller is authenticated: Bearer header, or `?token=` for browsers. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const since = url.searchParams.get('since');
    if (since !== null && !(POSITION_PATTERN.test(since) && Number.isSafeInteger(Number(since)))) {
      return refuseUpgrade(socket, 400, -1012, 'since must be an integer >= 0');
    }
    const token = url.searchParams.get('token');
    const caller = token === null ? this.options.credentials.fromHeaders(req.headers) : this.options.credentials.fromToken(token);
    caller
      .then(
        (caller) => this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, caller, since === null ? undefined : Number(since))),
        (err: unknown) => {
          if (err instanceof AppError) return refuseUpgrade(socket, 401, err.code, err.message);
          this.options.logger.error({ err }, 'authenticating an upgrade failed');
          refuseUpgrade(socket, 500, -1000, 'unexpected server error');
        },
      )
      .catch((err: unknown) => {
        // Nothing that goes wrong with one upgrade may become an unhandled rejection, which ends the process.
        this.options.logger.error({ err }, 'an upgrade could not be completed');
        socket.destroy();
      });
  }

  get socketCount(): number {
    return this.wss.clients.size;
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await closeAll(this.wss.clients);
    this.wss.close();
  }

  private open(ws: WebSocket, { uid, expiresAt }: Caller, since: number | undefined): void {
    const awaitingAck: AwaitingAck = [];
    const subscriber: Subscriber = {
      uid,
      deliver: (outgoing) => {
        const { event } = outgoing;
        if (!this.send(ws, outgoing.encoded(this.encodeFrame))) return false;
        if (event.kind === 'message' && event.message.channelType === ChannelType.ToUser && event.message.senderId !== uid) {
          if (awaitingAck.push([event.id, event.message.mid]) > MAX_AWAITING_ACK) awaitingAck.shift();
        }
        return true;
      },
      isOpen: () => ws.readyState === WebSocket.OPEN,
      fail: () => ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: reconnect with since'),
    };
    this.unanswered.set(ws, 0);
    ws.on('error', (err) => this.options.logger.debug({ err: err.message, uid }, 'socket error'));
    ws.on('pong', () => this.unanswered.set(ws, 0));
    ws.on('message', (data, isBinary) => {
      try {
        this.onClientFrame(ws, uid, awaitingAck, data, isBinary);
      } catch (err) {
        this.options.logger.error({ err, uid }, 'a client frame could not be handled');
        ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: reconnect with since');
      }
    });
    this.options.userSockets.add(uid, ws);
    // The client reconnects with a fresh token and `since`, and loses nothing.
    const cancelExpiry = expireAt(expiresAt, () => ws.close(CLOSE_TOKEN_EXPIRED, 'token expired'));
    ws.on('close', () => {
      cancelExpiry();
      this.options.userSockets.remove(uid, ws);
      this.options.fanout.detach(subscriber);
    });
    void this.options.fanout.attach(subscriber, since, (position) => this.send(ws, { type: 'ready', id: position }));
  }

  /** False when the socket is gone or has just been closed as a slow consumer. */
  private send(ws: WebSocket, frame: object | Buffer): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > this.options.maxBufferedBytes) {
      // The client reconnects with `since` and loses nothing; holding more for it would only grow memory.
      ws.close(CLOSE_SLOW_CONSUMER, 'slow consumer: reconnect with since');
      return false;
    }
    // Text frames either way: an encoded event is its JSON's bytes.
    if (Buffer.isBuffer(frame)) ws.send(frame, { binary: false });
    else ws.send(stringify(frame));
    return true;
  }

  private onClientFrame(ws: WebSocket, uid: string, awaitingAck: AwaitingAck, data: RawData, isBinary: boolean): void {
    this.unanswered.set(ws, 0);
    let frame: { type?: unknown; id?: unknown } | undefined;
    if (!isBinary) {
      try {
        frame = JSON.parse(data.toString()) as { type?: unknown; id?: unknown };
      } catch {
        frame = undefined;
      }
    }
    if (frame?.type === 'ping') {
      this.send(ws, { type: 'pong' });
    } else if (frame?.type === 'ack' && Number.isSafeInteger(frame.id) && (frame.id as number) >= 0) {
      // The client has every event up to id: the private messages among them are delivered (API.md §9).
      let acked = 0;
      while (acked < awaitingAck.length && awaitingAck[acked]![0] <= (frame.id as number)) acked++;
      const mids = awaitingAck.splice(0, acked).map(([, mid]) => mid);
      if (mids.length > 0) this.options.devices.acknowledge(uid, undefined, mids);
    } else {
      // Garbage never closes a socket: the client is told and the socket goes on.
      this.send(ws, { type: 'error', message: 'frames are JSON text: {"type":"ping"}, or {"type":"ack","id":N} with N the id of an event received' });
    }
  }

  /** API.md §6: a ping every period; a socket is dropped once its first unanswered ping is two periods old (60 s). */
  private checkHeartbeats(): void {
    for (const ws of this.wss.clients) {
      const unanswered = this.unanswered.get(ws) ?? 0;
      if (unanswered >= 2) {
        ws.terminate();
        continue;
      }
      this.unanswered.set(ws, unanswered + 1);
      ws.ping();
    }
  }
}
