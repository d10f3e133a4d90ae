import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import protobuf from 'protobufjs';
import WebSocket from 'ws';
import { CometOp, decodeSocketFrame, encodeSocketFrame, type SocketFrame } from '../../src/gateway/comet-socket-frame.js';
import type { StreamRecord } from './wire.js';
import { codec } from './client.js';

/**
 * A comet client that behaves like one of the real dtalk clients, as read in their code (txchat/client-desktop,
 * txchat/ChatPro-Android), with their timings shortened:
 *
 * - both open /sub/, send Auth with an `ext` naming the device, acknowledge every op 9 after processing it,
 *   drop a message whose msgId they already have, and never sync after a reconnect (the phone never syncs);
 * - the desktop takes the first frame after Auth as success, and decodes an op 8 body directly as
 *   `CommonMsgAck{logId = 2, datetime = 8}` with protobufjs: the send failed only when that throws or the socket
 *   closes; there is no timeout;
 * - the phone repeats Auth until op 2 comes, takes any frame whose ack is its send's seq as the answer (parsed as
 *   Proto then SendMsgAck; an undecodable one leaves the message sending for ever), resends an unanswered op 7
 *   with the same seq, and fails it after four sends without an answer.
 */
export type DeviceKind = 'desktop' | 'phone';

export type SendOutcome = { state: 'sent'; logId: number } | { state: 'failed' } | { state: 'stuck' };

export interface DeviceOptions {
  kind: DeviceKind;
  /** Makes the token for each Auth: a FZM-SIGNATURE token (or a JWT). */
  token: () => string;
  uuid?: string;
  /** Phone: resend an unanswered op 7 this often (the app: 5 s), four sends in all. */
  resendMs?: number;
  /** Phone: repeat Auth this often until op 2 (the app: 5 s). */
  authRepeatMs?: number;
}

/**
 * `CommonMsgAck{int64 logId = 2; uint64 datetime = 8}` read the way protobufjs 6 static code (the desktop's
 * generated decoder) reads it: by field number, whatever the wire type; unknown fields skipped; malformed input
 * throws. So the Proto-wrapped ack dtalk sent reads as its mid, by the inner field 2 overwriting the outer one.
 */
function decodeMsgAck(bytes: Uint8Array): number {
  const reader = protobuf.Reader.create(bytes);
  let logId = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2) logId = Number(reader.int64());
    else if (tag >>> 3 === 8) reader.uint64();
    else reader.skipType(tag & 7);
  }
  return logId;
}

/** The phone's reading, protobuf-java: Proto{event = 1, body = 2}, then SendMsgAck from the body. */
const ApiProto = new protobuf.Type('Proto').add(new protobuf.Field('event', 1, 'int32')).add(new protobuf.Field('body', 2, 'bytes'));

export const DEVICE_TYPE: Record<DeviceKind, number> = { phone: 0, desktop: 4 };

export class DtalkDevice {
  /** What the device took from op 9 frames, in the order it processed them, repeats of a msgId left out. */
  readonly processed: StreamRecord[] = [];
  /** Every frame received. */
  readonly frames: SocketFrame[] = [];
  /** Set false to stop acknowledging (and processing), as a client stuck on one frame would. */
  acking = true;
  /**
   * Frames the device neither processes nor acknowledges, as the Android app does with a message it has no key
   * for (a CipherException).
   */
  skips: (record: StreamRecord) => boolean = () => false;
  readonly uuid: string;
  private ws!: WebSocket;
  private seq = 0;
  private readonly msgIds = new Set<string>();
  private waiters: Array<() => void> = [];
  closed!: Promise<{ code: number; reason: string }>;

  private constructor(
    private readonly baseUrl: string,
    private readonly options: DeviceOptions,
  ) {
    this.uuid = options.uuid ?? randomUUID();
  }

  static async connect(baseUrl: string, options: DeviceOptions): Promise<DtalkDevice> {
    const device = new DtalkDevice(baseUrl, options);
    await device.reconnect();
    return device;
  }

  /** Opens a new socket (after a drop, say) and signs in again with the same device. */
  async reconnect(baseUrl = this.baseUrl): Promise<void> {
    this.ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/sub/`);
    this.seq = 0;
    const ws = this.ws;
    ws.on('message', (data) => this.onFrame(ws, decodeSocketFrame(data as Buffer)));
    ws.on('error', () => undefined);
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
    await once(ws, 'open');
    const since = this.frames.length;
    const auth = () => this.send(CometOp.Auth, codec.encodeAuthMsg({ appId: 'dtalk', token: this.options.token(), ext: this.ext() }));
    auth();
    const repeat = this.options.kind === 'phone' ? setInterval(auth, this.options.authRepeatMs ?? 200) : undefined;
    try {
      await this.until(
        () => this.frames.length > since && (this.options.kind === 'desktop' || this.frames.slice(since).some((f) => f.op === CometOp.AuthReply)),
        'the Auth reply',
      );
    } finally {
      clearInterval(repeat);
    }
  }

  /** Sends a message over the socket and tells how the app would show it. */
  async sendMessage(proto: Uint8Array): Promise<SendOutcome> {
    const seq = this.send(CometOp.SendMsg, proto);
    const answered = (frame: SocketFrame) => frame.ack === seq && (this.options.kind === 'phone' || frame.op === CometOp.SendMsgReply);
    const ws = this.ws;
    if (this.options.kind === 'desktop') {
      const frame = await Promise.race([this.next(answered), this.closed.then(() => undefined)]);
      if (!frame) return { state: 'failed' };
      try {
        return { state: 'sent', logId: decodeMsgAck(frame.body) };
      } catch {
        return { state: 'failed' };
      }
    }
    for (let sends = 1; ; sends++) {
      const frame = await this.next(answered, this.options.resendMs ?? 300).catch(() => undefined);
      if (frame) {
        try {
          const body = (ApiProto.decode(frame.body) as unknown as { body?: Uint8Array }).body ?? new Uint8Array(0);
          return { state: 'sent', logId: decodeMsgAck(body) };
        } catch {
          return { state: 'stuck' };
        }
      }
      if (sends === 4) return { state: 'failed' };
      if (ws.readyState !== WebSocket.OPEN) return { state: 'stuck' };
      this.ws.send(encodeSocketFrame({ ver: 1, op: CometOp.SendMsg, seq, ack: 0, body: proto }));
    }
  }

  /** The stream ids of what was processed: a message's mid, a signal's sid (live signals, in no stream, left out). */
  get processedIds(): number[] {
    return this.processed.map((record) => (record.common ? record.common.mid : record.signal.sid)).filter((id) => id !== 0);
  }

  heartbeat(): number {
    return this.send(CometOp.Heartbeat);
  }

  send(op: number, body: Uint8Array = new Uint8Array(0), ack = 0): number {
    const seq = op === CometOp.Auth ? 0 : ++this.seq;
    this.ws.send(encodeSocketFrame({ ver: 1, op, seq, ack, body }));
    return seq;
  }

  /** The desktop says goodbye (op 5) before it closes. */
  async disconnect(): Promise<void> {
    this.send(CometOp.Disconnect);
    await this.closed;
  }

  /** The network goes away without a goodbye. */
  drop(): void {
    this.ws.terminate();
  }

  async next(match: (frame: SocketFrame) => boolean, timeoutMs = 10_000): Promise<SocketFrame> {
    let found: SocketFrame | undefined;
    await this.until(() => (found = this.frames.find(match)) !== undefined, 'a frame', timeoutMs);
    return found!;
  }

  async until(done: () => boolean, what = 'the expected frames', timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; processed ${JSON.stringify(this.processedIds)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private ext(): Uint8Array {
    const { kind } = this.options;
    return codec.encodeDeviceLogin({
      device: DEVICE_TYPE[kind],
      username: kind,
      connType: 1,
      uuid: this.uuid,
      deviceName: kind === 'phone' ? 'Pixel 7' : this.uuid,
    });
  }

  private onFrame(ws: WebSocket, frame: SocketFrame): void {
    this.frames.push(frame);
    if (frame.op === CometOp.ReceiveMsg && this.acking) {
      const record = codec.decodeStreamRecord(frame.body);
      if (this.skips(record)) {
        for (const wake of this.waiters.splice(0)) wake();
        return;
      }
      const msgId = record.common?.seq;
      if (msgId === undefined || !this.msgIds.has(msgId)) {
        if (msgId !== undefined) this.msgIds.add(msgId);
        this.processed.push(record);
      }
      if (ws.readyState === WebSocket.OPEN)
        ws.send(encodeSocketFrame({ ver: 1, op: CometOp.ReceiveMsgReply, seq: ++this.seq, ack: frame.seq, body: new Uint8Array(0) }));
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
