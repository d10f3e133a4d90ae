import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import WebSocket from 'ws';
import { uidOfPublicKey } from '../../src/auth/dtalk-signature.js';
import { CometOp, decodeSocketFrame, encodeSocketFrame, type SocketFrame } from '../../src/gateway/comet-socket-frame.js';
import { codec, encodeText, TestClient } from './client.js';
import { DtalkDevice, type DeviceKind, type DeviceOptions } from './dtalk-device.js';

/** A dtalk identity: a random secp256k1 key and the uid (address) it stands for. */
export class DtalkIdentity {
  readonly secretKey = secp256k1.utils.randomSecretKey();
  readonly publicKeyHex = Buffer.from(secp256k1.getPublicKey(this.secretKey, true)).toString('hex');
  readonly uid = uidOfPublicKey(Buffer.from(this.publicKeyHex, 'hex'));

  /** r ‖ s ‖ recid over SHA-256 of `<ts>*<appId>`, as dtalk clients sign. */
  signature(ts: number, appId = 'dtalk'): Buffer {
    const digest = sha256(new TextEncoder().encode(`${ts}*${appId}`));
    const signature = secp256k1.Signature.fromBytes(secp256k1.sign(digest, this.secretKey, { prehash: false, format: 'recovered' }), 'recovered');
    return Buffer.from([...signature.toBytes('compact'), signature.recovery!]);
  }

  /** An HTTP client signing as this identity, as dtalk clients do. */
  http(baseUrl: string): TestClient {
    return new TestClient(baseUrl, undefined, { 'FZM-SIGNATURE': this.token() });
  }

  /** A comet client of this identity behaving like the real dtalk app of that kind. */
  device(baseUrl: string, kind: DeviceKind, options: Partial<DeviceOptions> = {}): Promise<DtalkDevice> {
    return DtalkDevice.connect(baseUrl, { kind, token: () => this.token(), ...options });
  }

  /** A FZM-SIGNATURE token; `mangle` edits the signature bytes before they are encoded. */
  token(options: { ts?: number; appId?: string; mangle?: (signature: Buffer) => Buffer; publicKeyHex?: string } = {}): string {
    const ts = options.ts ?? Date.now();
    const appId = options.appId ?? 'dtalk';
    const signature = (options.mangle ?? ((s) => s))(this.signature(ts, appId));
    return `${signature.toString('base64')}#${ts}*${appId}#${options.publicKeyHex ?? this.publicKeyHex}`;
  }
}

/** A client of the comet socket at GET /sub, speaking its binary frames. */
export class CometClient {
  readonly frames: SocketFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private seq = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(decodeSocketFrame(data as Buffer));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }

  static async connect(baseUrl: string, path = '/sub'): Promise<CometClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`);
    const client = new CometClient(ws);
    await once(ws, 'open');
    return client;
  }

  send(op: number, body: Uint8Array = new Uint8Array(0), fields: { seq?: number; ack?: number } = {}): number {
    const seq = fields.seq ?? ++this.seq;
    this.ws.send(encodeSocketFrame({ ver: 1, op, seq, ack: fields.ack ?? 0, body }));
    return seq;
  }

  sendRaw(bytes: Buffer | string): void {
    this.ws.send(bytes);
  }

  async auth(token: string): Promise<SocketFrame> {
    const seq = this.send(CometOp.Auth, codec.encodeAuthMsg({ appId: 'dtalk', token }));
    return this.next((frame) => frame.op === CometOp.AuthReply && frame.seq === seq);
  }

  /** The first frame received (now or later) that matches. */
  async next(match: (frame: SocketFrame) => boolean, timeoutMs = 10_000): Promise<SocketFrame> {
    await this.until((frames) => frames.some(match), timeoutMs);
    return this.frames.find(match)!;
  }

  async until(done: (frames: SocketFrame[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out; frames: ${JSON.stringify(this.frames.map((f) => ({ op: f.op, seq: f.seq, ack: f.ack, len: f.body.length })))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  received(): SocketFrame[] {
    return this.frames.filter((frame) => frame.op === CometOp.ReceiveMsg);
  }

  close(): void {
    this.ws.close();
  }
}

export { CometOp };

/**
 * A text body sealed as the dtalk clients seal private messages: AES-256-GCM, ciphertext ‖ tag ‖ 12-byte IV. Made
 * again in the rare case the bytes happen to decode as a TextMsg, so that tests know the server cannot read it.
 */
export function sealed(text: string): Buffer {
  for (;;) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', randomBytes(32), iv);
    const bytes = Buffer.concat([cipher.update(encodeText(text)), cipher.final(), cipher.getAuthTag(), iv]);
    if (codec.readContent(1, bytes) === null) return bytes;
  }
}

/** A group body as the dtalk clients seal it: AES-CBC (PKCS#7) with the group's hex key, IV ‖ ciphertext. */
export function sealedForGroup(text: string, keyHex: string): Buffer {
  const key = Buffer.from(keyHex, 'hex');
  const iv = randomBytes(16);
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  return Buffer.concat([iv, cipher.update(encodeText(text)), cipher.final()]);
}

/** The text of a group body sealed with `keyHex`, as a member's client opens it. */
export function openGroupText(bytes: Uint8Array, keyHex: string): string {
  const key = Buffer.from(keyHex, 'hex');
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, key, bytes.subarray(0, 16));
  const plain = Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()]);
  return (codec.decodeContent(1, plain) as { content: string }).content;
}
