/** Encoding and decoding of the dtalk comet socket frame (GET /sub); its layout is in contract/comet.ts. */
import { HEADER_LENGTH, MAX_BODY_LENGTH } from '../contract/comet.js';

export { CometOp, HEADER_LENGTH, MAX_BODY_LENGTH } from '../contract/comet.js';

export interface SocketFrame {
  ver: number;
  op: number;
  seq: number;
  ack: number;
  body: Uint8Array;
}

export class FrameError extends Error {}

export function encodeSocketFrame({ ver, op, seq, ack, body }: SocketFrame): Buffer {
  const frame = Buffer.alloc(HEADER_LENGTH + body.length);
  frame.writeInt32BE(HEADER_LENGTH + body.length, 0);
  frame.writeInt16BE(HEADER_LENGTH, 4);
  frame.writeInt16BE(ver, 6);
  frame.writeInt32BE(op, 8);
  frame.writeInt32BE(seq, 12);
  frame.writeInt32BE(ack, 16);
  frame.set(body, HEADER_LENGTH);
  return frame;
}

/** Refuses anything but exactly one well-formed frame: the socket that sent it is then closed. */
export function decodeSocketFrame(bytes: Buffer): SocketFrame {
  if (bytes.length < HEADER_LENGTH) throw new FrameError(`a frame has a ${HEADER_LENGTH}-byte header; got ${bytes.length} bytes`);
  const packLength = bytes.readInt32BE(0);
  const headerLength = bytes.readInt16BE(4);
  if (headerLength !== HEADER_LENGTH) throw new FrameError(`headerLen must be ${HEADER_LENGTH}, got ${headerLength}`);
  if (packLength !== bytes.length) throw new FrameError(`packLen ${packLength} does not match the ${bytes.length} bytes received`);
  if (packLength - HEADER_LENGTH > MAX_BODY_LENGTH) throw new FrameError(`the body may hold at most ${MAX_BODY_LENGTH} bytes`);
  return {
    ver: bytes.readInt16BE(6),
    op: bytes.readInt32BE(8),
    seq: bytes.readInt32BE(12),
    ack: bytes.readInt32BE(16),
    body: bytes.subarray(HEADER_LENGTH),
  };
}
