import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Credentials } from '../auth/credentials.js';
import { AppError } from '../errors.js';
import type { PushInput } from '../http/push-input.js';
import type { Codec } from '../proto/codec.js';
import type { SendLimiter } from '../ratelimit/send-limiter.js';
import type { MessageService } from '../services/message-service.js';
import { CometOp, FrameError, decodeSocketFrame, encodeSocketFrame, type SocketFrame } from './comet-socket-frame.js';
import type { StreamFanout, Subscriber } from './stream-fanout.js';
import { closeAll } from './upgrade.js';

export interface CometTimings {
  /** The Auth frame must come this soon after the socket opens. */
  authTimeoutMs: number;
  /** A socket with no Heartbeat frame for this long is closed. */
  heartbeatTimeoutMs: number;
  /** An unacknowledged ReceiveMsg frame is sent again this often... */
  resendMs: number;
  /** ...this many times at most; then the socket is closed and the client resumes with sync-record. */
  maxResends: number;
}

export interface CometEndpointOptions {
  fanout: StreamFanout;
  codec: Codec;
  credentials: Credentials;
  pushInput: PushInput;
  messages: MessageService;
  sendLimiter?: SendLimiter;
  logger: Logger;
  timings: CometTimings;
  /** Unsent bytes, or unacknowledged frames times 1 KiB, past which a socket is closed with 4008. */
  maxBufferedBytes: number;
}

const CLOSE_PROTOCOL = 1008;
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_SLOW_CONSUMER = 4008;

/** A frame sent to the client and not yet acknowledged with ReceiveMsgReply. */
interface Unacked {
  frame: Buffer;
  sentAt: number;
  resends: number;
}

interface CometConnection {
  ws: WebSocket;
  uid?: string;
  subscriber?: Subscriber;
  /** Per-connection sequence of ReceiveMsg frames. */
  seq: number;
  unacked: Map<number, Unacked>;
  lastHeartbeat: number;
  authTimer: NodeJS.Timeout;
}

/**
 * GET /sub: the dtalk comet socket, so that existing dtalk clients work unchanged. Binary frames (see
 * comet-socket-frame.ts): Auth first, then heartbeats, sends answered with a commonAck, and every stream event
 * pushed as ReceiveMsg until the client acknowledges it. The events are those of the user's stream, read from
 * the database like every other subscriber's, so /sub and /ws sockets of a user receive the same events.
 */
export class CometEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly connections = new Set<CometConnection>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: CometEndpointOptions) {
    this.timer = setInterval(() => this.tick(), Math.min(options.timings.resendMs, 1000));
    this.timer.unref();
  }

  /** Authentication comes in the first frame, as dtalk clients send it; the socket closes if it does not. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws));
  }

  get socketCount(): number {
    return this.wss.clients.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await closeAll(this.wss.clients);
    this.wss.close();
  }

  private open(ws: WebSocket): void {
    const connection: CometConnection = {
      ws,
      seq: 0,
      unacked: new Map(),
      lastHeartbeat: Date.now(),
      authTimer: setTimeout(() => ws.close(CLOSE_PROTOCOL, 'no Auth frame in time'), this.options.timings.authTimeoutMs),
    };
    this.connections.add(connection);
    ws.on('error', (err) => this.options.logger.debug({ err: err.message }, 'comet socket error'));
    ws.on('message', (data, isBinary) => void this.onFrame(connection, data, isBinary));
    ws.on('close', () => {
      clearTimeout(connection.authTimer);
      this.connections.delete(connection);
      if (connection.subscriber) this.options.fanout.detach(connection.subscriber);
    });
  }

  private async onFrame(connection: CometConnection, data: RawData, isBinary: boolean): Promise<void> {
    const { ws } = connection;
    let frame: SocketFrame;
    try {
      if (!isBinary) throw new FrameError('frames are binary');
      frame = decodeSocketFrame(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
    } catch (err) {
      // A client that cannot frame cannot be trusted with the rest of the stream: only its own socket closes.
      ws.close(CLOSE_PROTOCOL, (err as Error).message.slice(0, 120));
      return;
    }
    if (connection.uid === undefined) {
      if (frame.op !== CometOp.Auth) return ws.close(CLOSE_PROTOCOL, 'the first frame must be Auth (op 1)');
      return this.authenticate(connection, frame);
    }
    switch (frame.op) {
      case CometOp.Heartbeat:
        connection.lastHeartbeat = Date.now();
        return this.send(connection, { ...frame, op: CometOp.HeartbeatReply, body: Buffer.alloc(4) });
      case CometOp.SendMsg:
        return this.sendMessage(connection, frame);
      case CometOp.ReceiveMsgReply:
        connection.unacked.delete(frame.ack);
        return;
      default:
        ws.close(CLOSE_PROTOCOL, `op ${frame.op} is not a client operation`);
    }
  }

  private async authenticate(connection: CometConnection, frame: SocketFrame): Promise<void> {
    const { ws } = connection;
    let uid: string;
    try {
      uid = await this.options.credentials.fromToken(this.options.codec.decodeAuthMsg(frame.body).token);
    } catch (err) {
      ws.close(CLOSE_PROTOCOL, err instanceof AppError ? `authentication failed: ${err.message}`.slice(0, 120) : 'authentication failed');
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    clearTimeout(connection.authTimer);
    connection.uid = uid;
    connection.lastHeartbeat = Date.now();
    this.send(connection, { ...frame, op: CometOp.AuthReply, body: new Uint8Array(0) });
    const subscriber: Subscriber = {
      uid,
      deliver: (event) => this.push(connection, this.options.codec.encodeStreamEvent(event)),
      isOpen: () => ws.readyState === WebSocket.OPEN,
      fail: () => ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: resume with sync-record'),
    };
    connection.subscriber = subscriber;
    // Live from now on: a dtalk client catches up with sync-record, as it always has.
    void this.options.fanout.attach(subscriber, undefined, () => undefined);
  }

  /**
   * SendMsg goes the way of /record/push. The answer is a commonAck with the message's id and datetime (the
   * first ones, for a repeated msgId); a refused message gets an empty body, as the original gateway sent.
   */
  private async sendMessage(connection: CometConnection, frame: SocketFrame): Promise<void> {
    const uid = connection.uid!;
    let body: Uint8Array = new Uint8Array(0);
    try {
      const decision = (await this.options.sendLimiter?.take(uid)) ?? { allowed: true };
      if (decision.allowed) {
        const receipt = await this.options.messages.push(uid, this.options.pushInput.fromProto(frame.body));
        body = this.options.codec.encodeCommonAck(receipt.logId, receipt.datetime);
      }
    } catch (err) {
      if (!(err instanceof AppError)) this.options.logger.error({ err, uid }, 'a comet send failed');
    }
    this.send(connection, { ver: frame.ver, op: CometOp.SendMsgReply, seq: frame.seq, ack: frame.seq, body });
  }

  /** ReceiveMsg: kept until acknowledged; false (and the socket closed) when the client has fallen behind. */
  private push(connection: CometConnection, body: Uint8Array): boolean {
    const { ws, unacked } = connection;
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount + unacked.size * 1024 > this.options.maxBufferedBytes) {
      ws.close(CLOSE_SLOW_CONSUMER, 'slow consumer: resume with sync-record');
      return false;
    }
    const seq = ++connection.seq;
    const frame = encodeSocketFrame({ ver: 1, op: CometOp.ReceiveMsg, seq, ack: 0, body });
    unacked.set(seq, { frame, sentAt: Date.now(), resends: 0 });
    ws.send(frame);
    return true;
  }

  private send(connection: CometConnection, frame: SocketFrame): void {
    if (connection.ws.readyState === WebSocket.OPEN) connection.ws.send(encodeSocketFrame(frame));
  }

  /** Resends what is still unacknowledged, and closes sockets that stopped acknowledging or heartbeating. */
  private tick(): void {
    const now = Date.now();
    const { resendMs, maxResends, heartbeatTimeoutMs } = this.options.timings;
    for (const connection of this.connections) {
      const { ws } = connection;
      if (connection.uid !== undefined && now - connection.lastHeartbeat > heartbeatTimeoutMs) {
        ws.close(CLOSE_PROTOCOL, 'no heartbeat');
        continue;
      }
      for (const pending of connection.unacked.values()) {
        if (now - pending.sentAt < resendMs) continue;
        if (pending.resends >= maxResends) {
          ws.close(CLOSE_PROTOCOL, 'frames left unacknowledged: resume with sync-record');
          break;
        }
        pending.resends++;
        pending.sentAt = now;
        if (ws.readyState === WebSocket.OPEN) ws.send(pending.frame);
      }
    }
  }
}
