/**
 * The comet socket's endpoint. Longer than most modules (about 370 lines) for a reason: Auth, frames, pushes,
 * acknowledgements and resends all act on one connection record and its order of events, and split apart they
 * would pass it around. What stands on its own is elsewhere: the frame format (comet-socket-frame.ts), the
 * acknowledgement window (comet-ack-window.ts), the device and its refusals (comet-device.ts), the fan-out.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Credentials } from '../auth/credentials.js';
import type { Caller } from '../auth/jwt.js';
import type { EventBus, LiveSignal } from '../bus/event-bus.js';
import { ChannelType, type StreamEvent } from '../domain.js';
import { AppError } from '../errors.js';
import type { Codec } from '../proto/codec.js';
import type { DeviceService } from '../services/device-service.js';
import type { Sending } from '../services/sending.js';
import { AckWindow } from './comet-ack-window.js';
import { deviceOf, refusalFor, type CometDevice } from './comet-device.js';
import { CometOp, FrameError, MAX_BODY_LENGTH, decodeSocketFrame, encodeSocketFrame, type SocketFrame } from './comet-socket-frame.js';
import type { OutgoingEvent } from './outgoing-event.js';
import type { StreamFanout, Subscriber } from './stream-fanout.js';
import { expireAt, type UserSockets } from './socket-policy.js';
import { closeAll, refuseUpgrade } from './upgrade.js';

export interface CometTimings {
  /** The Auth frame must come this soon after the socket opens. */
  authTimeoutMs: number;
  /** A socket with no Heartbeat frame for this long is closed. */
  heartbeatTimeoutMs: number;
  /** An unacknowledged ReceiveMsg frame is sent again this often while the client acknowledges nothing... */
  resendMs: number;
  /** ...this many times at most; then the socket is closed and the client resumes from its position. */
  maxResends: number;
}

export interface CometEndpointOptions {
  fanout: StreamFanout;
  bus: EventBus;
  codec: Codec;
  credentials: Credentials;
  /** Sends a message (the same use case as an HTTP push). */
  sending: Sending;
  devices: DeviceService;
  logger: Logger;
  timings: CometTimings;
  /** Unsent bytes past which a socket is closed with 4008, and unacknowledged bytes past which pushing waits. */
  maxBufferedBytes: number;
  /** Most stream frames waiting for an acknowledgement before pushing waits. */
  maxUnackedFrames: number;
  /** Most sockets open and not yet signed in. */
  maxPendingAuth: number;
  userSockets: UserSockets;
}

const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL = 1008;
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_SLOW_CONSUMER = 4008;

interface CometConnection {
  /** Unique across instances, so that a live signal about this socket can leave it out. */
  id: string;
  ws: WebSocket;
  uid?: string;
  device?: CometDevice;
  subscriber?: Subscriber;
  window?: AckWindow;
  /** Closes the socket when its JWT expires (a signature token is checked at Auth only, as in dtalk). */
  cancelExpiry?: () => void;
  /** Frames are handled one at a time, in order: a send right after Auth waits for it. */
  queue: Promise<void>;
  /** The msgIds of the last sends over this socket (op 7): their messages are not pushed back to it. */
  sentMsgIds: Set<string>;
  lastHeartbeat: number;
  authTimer: NodeJS.Timeout;
}

/**
 * GET /sub: the dtalk comet socket, so that dtalk clients work unchanged. Binary frames (comet-socket-frame.ts):
 * Auth first, heartbeats, sends answered with a commonAck, and every stream event pushed as ReceiveMsg until the
 * client acknowledges it. A socket whose Auth names its device (ext.uuid) starts from where that device
 * acknowledged last, on whatever instance, so a client that never syncs still gets every event; the others get
 * live events and catch up with sync-record.
 */
export class CometEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly connections = new Set<CometConnection>();
  private readonly byUid = new Map<string, Set<CometConnection>>();
  private readonly timer: NodeJS.Timeout;
  private readonly instance = randomUUID();
  private counter = 0;
  /** Sockets open and not yet signed in. */
  private pendingAuth = 0;

  constructor(private readonly options: CometEndpointOptions) {
    this.timer = setInterval(() => this.tick(), Math.min(options.timings.resendMs, 1000));
    this.timer.unref();
    options.bus.subscribe({ onLiveSignal: (signal) => this.onLiveSignal(signal) });
  }

  /**
   * Authentication comes in the first frame, as dtalk clients send it; the socket closes if it does not. Sockets
   * waiting for their Auth are few and short-lived; past the cap, new ones are refused until some sign in.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.pendingAuth >= this.options.maxPendingAuth) {
      return refuseUpgrade(socket, 503, -1009, 'too many connections waiting to sign in; try again shortly');
    }
    // Counted once the socket exists: ws answers a malformed handshake itself, and no socket ever opens then.
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
    this.pendingAuth++;
    const connection: CometConnection = {
      id: `${this.instance}:${++this.counter}`,
      ws,
      queue: Promise.resolve(),
      sentMsgIds: new Set(),
      lastHeartbeat: Date.now(),
      authTimer: setTimeout(() => ws.close(CLOSE_PROTOCOL, 'no Auth frame in time'), this.options.timings.authTimeoutMs),
    };
    this.connections.add(connection);
    ws.on('error', (err) => this.options.logger.debug({ err: err.message }, 'comet socket error'));
    ws.on('message', (data, isBinary) => {
      connection.queue = connection.queue
        .then(() => this.onFrame(connection, data, isBinary))
        .catch((err: unknown) => {
          this.options.logger.error({ err }, 'a comet frame could not be handled');
          ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure');
        });
    });
    ws.on('close', () => this.closed(connection));
  }

  private closed(connection: CometConnection): void {
    clearTimeout(connection.authTimer);
    connection.cancelExpiry?.();
    this.connections.delete(connection);
    if (connection.uid === undefined) this.pendingAuth--;
    else {
      this.options.userSockets.remove(connection.uid, connection.ws);
      const sockets = this.byUid.get(connection.uid);
      sockets?.delete(connection);
      if (sockets?.size === 0) this.byUid.delete(connection.uid);
    }
    if (connection.subscriber) this.options.fanout.detach(connection.subscriber);
    // Its next connection may be on another instance: write down how far it got now.
    if (connection.device) void this.options.devices.flush();
  }

  private async onFrame(connection: CometConnection, data: RawData, isBinary: boolean): Promise<void> {
    const { ws } = connection;
    if (ws.readyState !== WebSocket.OPEN) return;
    let frame: SocketFrame;
    try {
      if (!isBinary) throw new FrameError('frames are binary');
      frame = decodeSocketFrame(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
    } catch (err) {
      // A client that cannot frame cannot be trusted with the rest of the stream: only its own socket closes.
      ws.close(CLOSE_PROTOCOL, (err as Error).message.slice(0, 120));
      return;
    }
    if (frame.op === CometOp.Auth) return this.authenticate(connection, frame);
    if (connection.uid === undefined) return ws.close(CLOSE_PROTOCOL, 'the first frame must be Auth (op 1)');
    switch (frame.op) {
      case CometOp.Heartbeat:
        connection.lastHeartbeat = Date.now();
        return this.send(connection, { ...frame, op: CometOp.HeartbeatReply, body: Buffer.alloc(4) });
      case CometOp.SendMsg:
        return this.sendMessage(connection, frame);
      case CometOp.ReceiveMsgReply:
        return this.acknowledge(connection, frame.ack);
      case CometOp.Disconnect:
        // The desktop client says goodbye before it closes: a normal end, not a protocol error.
        return ws.close(CLOSE_NORMAL, 'disconnect');
      default:
        ws.close(CLOSE_PROTOCOL, `op ${frame.op} is not a client operation`);
    }
  }

  /**
   * Auth (op 1), answered by an empty op 2. The Android client sends Auth again every 5 s until op 2 arrives, so
   * a repeat for the same user is answered again; another identity on the same socket is refused.
   */
  private async authenticate(connection: CometConnection, frame: SocketFrame): Promise<void> {
    const { ws } = connection;
    const { codec, credentials } = this.options;
    let caller: Caller;
    let device: CometDevice | undefined;
    try {
      const auth = codec.decodeAuthMsg(frame.body);
      caller = await credentials.fromToken(auth.token);
      device = auth.ext.length > 0 ? deviceOf(codec.decodeDeviceLogin(auth.ext)) : undefined;
    } catch (err) {
      // dtalk clients retry a closed socket with a fresh token; an op 2 with a body would read as success.
      ws.close(CLOSE_PROTOCOL, err instanceof AppError ? `authentication failed: ${err.message}`.slice(0, 120) : 'authentication failed');
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    const { uid } = caller;
    const reply = () => this.send(connection, { ...frame, op: CometOp.AuthReply, body: new Uint8Array(0) });
    if (connection.uid !== undefined) {
      if (uid !== connection.uid || device?.uuid !== connection.device?.uuid) {
        return ws.close(CLOSE_PROTOCOL, 'a socket serves one identity: Auth again with the first one only');
      }
      return reply();
    }
    clearTimeout(connection.authTimer);
    this.pendingAuth--;
    connection.uid = uid;
    connection.device = device;
    connection.lastHeartbeat = Date.now();
    connection.cancelExpiry = expireAt(caller.expiresAt, () => ws.close(CLOSE_PROTOCOL, 'token expired'));
    this.options.userSockets.add(uid, ws);
    let sockets = this.byUid.get(uid);
    if (!sockets) this.byUid.set(uid, (sockets = new Set()));
    sockets.add(connection);

    let since: number | undefined;
    if (device) {
      try {
        since = await this.options.devices.open(uid, { uuid: device.uuid, type: device.login.device, name: device.login.deviceName });
      } catch (err) {
        this.options.logger.warn({ err, uid }, 'could not read a device position; closing the comet socket');
        return ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: connect again');
      }
      if (ws.readyState !== WebSocket.OPEN) return;
    }
    reply();
    connection.window = new AckWindow({ maxFrames: this.options.maxUnackedFrames, maxBytes: this.options.maxBufferedBytes }, since ?? 0, Date.now());
    if (device) {
      const { login } = device;
      this.options.bus.publishLive({
        uid,
        origin: connection.id,
        endpointLogin: { uuid: device.uuid, device: login.device, deviceName: login.deviceName, datetime: Date.now() },
      });
    }
    const subscriber: Subscriber = {
      uid,
      deliver: (event) => this.pushEvent(connection, event),
      isOpen: () => ws.readyState === WebSocket.OPEN,
      fail: () => ws.close(CLOSE_INTERNAL_ERROR, 'temporary failure: connect again'),
    };
    connection.subscriber = subscriber;
    void this.options.fanout.attach(subscriber, since, () => undefined);
  }

  /** SendMsg goes the way of /record/push; op 8 carries the message's id and datetime (the first ones for a repeat). */
  private async sendMessage(connection: CometConnection, frame: SocketFrame): Promise<void> {
    const uid = connection.uid!;
    const reply = (body: Uint8Array) => this.send(connection, { ver: frame.ver, op: CometOp.SendMsgReply, seq: frame.seq, ack: frame.seq, body });
    // Remembered before it is stored, as the fan-out may push it before the send is answered; forgotten if refused.
    let sent: string | undefined;
    try {
      const receipt = await this.options.sending.send(
        uid,
        () => ({ proto: frame.body }),
        ({ msgId }) => rememberSent(connection.sentMsgIds, (sent = msgId)),
      );
      reply(this.options.codec.encodeCommonAck(receipt.mid, receipt.createdAt));
    } catch (err) {
      if (sent !== undefined) connection.sentMsgIds.delete(sent);
      if (!(err instanceof AppError)) this.options.logger.error({ err, uid }, 'a comet send failed');
      const refusal = refusalFor(connection.device, err);
      if (refusal) reply(refusal);
    }
  }

  /** op 10: the client has the frame `ack`. */
  private acknowledge(connection: CometConnection, seq: number): void {
    const { window, subscriber } = connection;
    const acknowledged = window?.ack(seq, Date.now());
    if (!acknowledged) return;
    this.recordProgress(connection, acknowledged.position, acknowledged.deliveredMid === undefined ? [] : [acknowledged.deliveredMid]);
    if (subscriber && window!.hasRoom) this.options.fanout.resume(subscriber);
  }

  private recordProgress(connection: CometConnection, position: number | undefined, deliveredMids: number[]): void {
    if (position === undefined && deliveredMids.length === 0) return;
    // A socket without a device has no position to keep, but its acknowledgements are delivery receipts all the same.
    const device = connection.device && { uuid: connection.device.uuid, position: connection.window!.position };
    this.options.devices.acknowledge(connection.uid!, device, deliveredMids);
  }

  /** ReceiveMsg for a stream event; false (the fan-out waits) when the window is full or the socket is gone. */
  private pushEvent(connection: CometConnection, outgoing: OutgoingEvent): boolean {
    const { ws, window } = connection;
    if (ws.readyState !== WebSocket.OPEN || !window?.hasRoom) return false;
    if (ws.bufferedAmount > this.options.maxBufferedBytes) {
      // Not reading at all: holding more for it would only grow memory. It resumes from its position.
      ws.close(CLOSE_SLOW_CONSUMER, 'slow consumer: connect again');
      return false;
    }
    const { event } = outgoing;
    // dtalk has no signal for a read or a setting (API.md §9): a dtalk client would not know what to do with one.
    // A message goes to the sender's other connections (§4.1): this one has it, and its op 8.
    const noFrame =
      event.kind === 'read' ||
      event.kind === 'conversation' ||
      (event.kind === 'message' && event.message.senderId === connection.uid && connection.sentMsgIds.has(event.message.msgId));
    if (noFrame) {
      const position = window.pass(event.id);
      if (position !== undefined && connection.device) this.recordProgress(connection, position, []);
      return true;
    }
    const body = outgoing.encoded(this.frameBody);
    const deliveredMid =
      event.kind === 'message' && event.message.channelType === ChannelType.ToUser && event.message.senderId !== connection.uid ? event.message.mid : undefined;
    this.push(connection, body, event.id, deliveredMid);
    return true;
  }

  /**
   * The Proto of an event, within the protocol's 16 KiB. Only a message can be larger (a JSON client may push up to
   * MAX_MESSAGE_BYTES): it goes without its body, source and reference, so that the client still learns that a
   * message is there (its logId, sender and time); its body stays in sync-record and history. One function for
   * every socket, so that an event is encoded once for all of them (OutgoingEvent).
   */
  private readonly frameBody = (event: StreamEvent): Uint8Array => {
    const { codec } = this.options;
    const body = codec.encodeStreamEvent(event);
    if (body.length <= MAX_BODY_LENGTH || event.kind !== 'message') return body;
    return codec.encodeStreamEvent({ ...event, message: { ...event.message, msg: new Uint8Array(0), source: undefined, reference: undefined } });
  };

  private push(connection: CometConnection, body: Uint8Array, eventId?: number, deliveredMid?: number): void {
    const window = connection.window!;
    const seq = window.nextSeq();
    const frame = encodeSocketFrame({ ver: 1, op: CometOp.ReceiveMsg, seq, ack: 0, body });
    const now = Date.now();
    window.add({ seq, frame, firstSentAt: now, sentAt: now, resends: 0, eventId, deliveredMid, acked: false });
    connection.ws.send(frame);
  }

  /** EndpointLogin to the user's other sockets here: dtalk's mobile clients sign out when another phone signs in. */
  private onLiveSignal(signal: LiveSignal): void {
    for (const connection of this.byUid.get(signal.uid) ?? []) {
      if (connection.id === signal.origin || !connection.window || connection.ws.readyState !== WebSocket.OPEN) continue;
      this.push(connection, this.options.codec.encodeEndpointLogin(signal.endpointLogin));
    }
  }

  private send(connection: CometConnection, frame: SocketFrame): void {
    if (connection.ws.readyState === WebSocket.OPEN) connection.ws.send(encodeSocketFrame(frame));
  }

  /**
   * Resends what waits while the client acknowledges nothing, closes sockets that stopped acknowledging or
   * heartbeating, and gives up on frames a live client keeps skipping.
   */
  private tick(): void {
    const now = Date.now();
    const { resendMs, maxResends, heartbeatTimeoutMs } = this.options.timings;
    for (const connection of this.connections) {
      const { ws, window } = connection;
      if (connection.uid !== undefined && now - connection.lastHeartbeat > heartbeatTimeoutMs) {
        ws.close(CLOSE_PROTOCOL, 'no heartbeat');
        continue;
      }
      if (!window || window.waiting === 0) continue;
      const refused = window.skipRefused((maxResends + 1) * resendMs, now);
      if (refused.skipped > 0) {
        this.options.logger.warn(
          { uid: connection.uid, skipped: refused.skipped },
          'a comet client left frames unacknowledged while acknowledging later ones; moving past them',
        );
        this.recordProgress(connection, refused.position, []);
        if (connection.subscriber && window.hasRoom) this.options.fanout.resume(connection.subscriber);
      }
      if (now - window.lastProgressAt < resendMs) continue;
      for (const sent of window.olderThan(resendMs, now)) {
        if (sent.resends >= maxResends) {
          ws.close(CLOSE_PROTOCOL, 'frames left unacknowledged: connect again');
          break;
        }
        sent.resends++;
        sent.sentAt = now;
        if (ws.readyState === WebSocket.OPEN) ws.send(sent.frame);
      }
    }
  }
}

/** As many sends as a client could have waiting for their fan-out; older ones were pushed long ago. */
const MAX_SENT_MSG_IDS = 64;

function rememberSent(sent: Set<string>, msgId: string): void {
  sent.delete(msgId);
  sent.add(msgId);
  if (sent.size > MAX_SENT_MSG_IDS) sent.delete(sent.values().next().value!);
}
