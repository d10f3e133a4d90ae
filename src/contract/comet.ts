/**
 * The dtalk comet socket (GET /sub): binary WebSocket messages, one frame each, big-endian
 * packLen int32 (= 20 + body length), headerLen int16 (= 20), ver int16, op int32, seq int32, ack int32, body.
 */
export const CometOp = {
  Auth: 1,
  AuthReply: 2,
  Heartbeat: 3,
  HeartbeatReply: 4,
  Disconnect: 5,
  SendMsg: 7,
  SendMsgReply: 8,
  ReceiveMsg: 9,
  ReceiveMsgReply: 10,
} as const;

export const HEADER_LENGTH = 20;
export const MAX_BODY_LENGTH = 16384;

/** The device types of the Auth `ext` (imparse auth.proto). */
export const Device = { Android: 0, IOS: 1, Windows: 2, Linux: 3, MacOS: 4, Web: 5 } as const;

/**
 * The first byte of a refused send's op 8 body, followed by the JSON envelope of the error: a protobuf tag with
 * the invalid wire type 7, so that no client decodes the answer as a CommonAck (a phone gets no op 8 instead).
 */
export const REFUSAL_MARK = 0x0f;
