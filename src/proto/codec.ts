/**
 * The imparse protobuf codec (API.md §3): decodes what clients upload, encodes what the server hands out, and
 * converts message bodies to and from their JSON form ("content").
 *
 * Untrusted bytes never reach protobufjs unchecked. protobufjs is lenient by design: it skips unknown fields and
 * fields of the wrong wire type, and its errors are bare RangeErrors. chatlog must refuse anything that is not
 * exactly an imparse message with -1012, so every decode first walks the wire format against the reflected
 * type (`checkWire`) and every failure becomes an AppError naming the field.
 *
 * The JSON Schemas of the bodies are generated from the same reflection, so the .proto stays the only place
 * where a field is declared.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import { AppError } from '../errors.js';
import { isStorableText, TEXT_PATTERN } from '../strings.js';
import { WIRE_MUTED_FOREVER, type MessageRecordFields } from '../contract/index.js';
import { MUTED_FOREVER, NOTICE_MSG_TYPE, type MessageContent, type MessageReference, type MessageSource, type OutgoingMessage, type StoredMessage, type StreamEvent } from '../domain.js';

const PROTO_FILE = fileURLToPath(new URL('./imparse.proto', import.meta.url));
const PACKAGE = 'imparse.proto';

/** EventType numbers the codec writes or tests itself; fixed by the contract (API.md §3). */
const EventType = { common: 0, commonAck: 1, Signal: 2 } as const;

/**
 * The signals of the stream, by stream-event kind: their SignalType and body message. The kind is also the key
 * of the decoded body in a SignalRecord.
 */
const SIGNALS = {
  received: { signalType: 0, message: 'SignalReceived' },
  revoke: { signalType: 1, message: 'SignalRevoke' },
  focus: { signalType: 13, message: 'SignalFocusMessage' },
  join: { signalType: 10, message: 'SignalSignInGroup' },
  leave: { signalType: 11, message: 'SignalSignOutGroup' },
  disband: { signalType: 12, message: 'SignalDeleteGroup' },
  role: { signalType: 23, message: 'SignalUpdateGroupMemberType' },
  muteTime: { signalType: 24, message: 'SignalUpdateGroupMemberMuteTime' },
  joinType: { signalType: 20, message: 'SignalUpdateGroupJoinType' },
  friendType: { signalType: 21, message: 'SignalUpdateGroupFriendType' },
  muteType: { signalType: 22, message: 'SignalUpdateGroupMuteType' },
  name: { signalType: 25, message: 'SignalUpdateGroupName' },
  avatar: { signalType: 26, message: 'SignalUpdateGroupAvatar' },
  endpointLogin: { signalType: 14, message: 'SignalEndpointLogin' },
} as const;


/** A mute deadline as dtalk writes it: MUTED_FOREVER becomes the largest int64, which no JSON number holds. */
export const wireMuteTime = (mutedUntil: number): number | bigint => (mutedUntil === MUTED_FOREVER ? WIRE_MUTED_FOREVER : mutedUntil);

/**
 * The group notices (msgType 7) the server writes, by NoticeMsgType: their body message. They are what the
 * desktop client shows of a group change (it ignores the signals).
 */
const NOTICES = {
  name: { type: 0, message: 'NoticeMsgUpdateGroupName' },
  signIn: { type: 1, message: 'NoticeMsgSignInGroup' },
  signOut: { type: 2, message: 'NoticeMsgSignOutGroup' },
  kickOut: { type: 3, message: 'NoticeMsgKickOutGroup' },
  delete: { type: 4, message: 'NoticeMsgDeleteGroup' },
  muteType: { type: 5, message: 'NoticeMsgUpdateGroupMuted' },
  memberMuted: { type: 6, message: 'NoticeMsgUpdateGroupMemberMutedTime' },
  owner: { type: 7, message: 'NoticeMsgUpdateGroupOwner' },
} as const;
export type NoticeKind = keyof typeof NOTICES;
const NOTICE_KINDS = Object.keys(NOTICES) as NoticeKind[];

type SignalKind = keyof typeof SIGNALS;
const SIGNAL_KINDS = Object.keys(SIGNALS) as SignalKind[];


/** What a dtalk client says of itself in the comet Auth `ext` (imparse `Login`). */
export interface DeviceLogin {
  device: number;
  username: string;
  connType: number;
  uuid: string;
  deviceName: string;
}

/** msgType → body message. These may be sent (API.md §3), but 7, the server's own notices; the others have none. */
const BODY_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'TextMsg'],
  [2, 'AudioMsg'],
  [3, 'ImageMsg'],
  [4, 'VideoMsg'],
  [5, 'FileMsg'],
  [6, 'CardMsg'],
  [NOTICE_MSG_TYPE, 'NoticeMsg'],
  [8, 'ForwardMsg'],
  [10, 'TransferMsg'],
  [12, 'RedPacketMsg'],
  [13, 'ContactCardMsg'],
]);

/** Fields of a pushed Common that the server assigns itself (API.md §4.1): never read, so never refused. */
const PUSH_IGNORED: ReadonlySet<string> = new Set(['from', 'mid', 'datetime']);

/**
 * Integer ranges of the JSON form. 64-bit values are limited to the safe integers because a JSON number (and a
 * JavaScript client) cannot hold more; such values are refused rather than silently rounded.
 */
const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** Standard base64 (RFC 4648 §4), padded or not, of a whole number of bytes. */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$';
const BASE64 = new RegExp(BASE64_PATTERN);


const WIRE_TYPE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'invalid', 'invalid'];

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export type JsonSchema = Record<string, unknown>;

/**
 * A `Proto{common, Common}` as /record/push receives it, reduced to what the server uses: an OutgoingMessage
 * before validation, so its channel type is any number yet.
 */
export type DecodedPush = Omit<OutgoingMessage, 'channelType'> & { eventType: number; channelType: number };

/** The fields of a push a client may set (`encodePush`); omitted ones are left at their zero value. */
export interface PushFields {
  channelType?: number;
  msgId?: string;
  targetId?: string;
  msgType?: number;
  msg?: Uint8Array;
  from?: string;
  mid?: number;
  datetime?: number;
  source?: MessageSource;
  reference?: MessageReference;
  eventType?: number;
}

export interface CometFrameFields {
  ver?: number;
  op?: number;
  seq?: number;
  ack?: number;
}


export interface CommonRecord {
  channelType: number;
  mid: number;
  seq: string;
  from: string;
  target: string;
  msgType: number;
  msg: Uint8Array;
  datetime: number;
  source?: MessageSource;
  reference?: MessageReference;
}

export interface SignalRecord {
  type: number;
  sid: number;
  reliable: boolean;
  received?: { logs: number[] };
  revoke?: { mid: number; operator: string; self: boolean };
  focus?: { mid: number; uid: string; currentNum: number; time: number };
  join?: { uid: string[]; group: number; time: number };
  leave?: { uid: string[]; group: number; time: number };
  disband?: { group: number; time: number };
  role?: { group: number; uid: string; type: number; time: number };
  /** muteTime is a bigint when it is dtalk's "for ever". */
  muteTime?: { group: number; uid: string[]; muteTime: number | bigint; time: number };
  joinType?: { group: number; type: number; time: number };
  friendType?: { group: number; type: number; time: number };
  muteType?: { group: number; type: number; time: number };
  name?: { group: number; name: string; time: number };
  avatar?: { group: number; avatar: string; time: number };
  endpointLogin?: { uuid: string; device: number; deviceName: string; datetime: number };
}

/**
 * A sync-record entry decoded back (for clients and tests), every scalar present. The absent branch is typed
 * `undefined` so that `record.common?.mid` reads naturally without narrowing on eventType first.
 */
export type StreamRecord =
  | { eventType: 0; common: CommonRecord; signal?: undefined }
  | { eventType: 2; signal: SignalRecord; common?: undefined };

export interface Codec {
  /** The `body` of a /record/push2 comet frame. */
  decodeCometFrame(bytes: Uint8Array): Uint8Array;
  /** The body of a comet socket Auth frame: the app and the token (a FZM-SIGNATURE token or a JWT). */
  decodeAuthMsg(bytes: Uint8Array): { appId: string; token: string; ext: Uint8Array };
  encodeAuthMsg(fields: { appId?: string; token?: string; ext?: Uint8Array }): Uint8Array;
  /** The `ext` of an Auth frame. Unknown fields are skipped: a newer client may say more of itself. */
  decodeDeviceLogin(bytes: Uint8Array): DeviceLogin;
  encodeDeviceLogin(fields: Partial<DeviceLogin>): Uint8Array;
  /** The body (msgType 7) of a group notice. */
  encodeNotice(kind: NoticeKind, fields: Record<string, unknown>): Uint8Array;
  /** `Proto{Signal}` of a signal that is not in any stream (sid 0, reliable false): EndpointLogin. */
  encodeEndpointLogin(fields: { uuid: string; device: number; deviceName: string; datetime: number }): Uint8Array;
  /** `Proto{eventType: commonAck, body: CommonAck{mid, datetime}}`, the answer to a send on the comet socket. */
  encodeCommonAck(mid: number, datetime: number): Uint8Array;
  /** A decoded commonAck (for clients and tests). */
  decodeCommonAck(bytes: Uint8Array): { mid: number; datetime: number };
  /** A /record/push upload; `from`, `mid` and `datetime` are ignored. The body is not decoded (see decodeContent). */
  decodePush(bytes: Uint8Array): DecodedPush;
  /** The JSON form of a body; refuses unsupported msgTypes and bodies that are not exactly their message. */
  decodeContent(msgType: number, msg: Uint8Array): MessageContent;
  /** The JSON form of a body, or null when it does not decode strictly (an encrypted body, say). */
  readContent(msgType: number, msg: Uint8Array): MessageContent | null;
  /** The serialized body of a content that validated against `contentSchema(msgType)`. */
  encodeContent(msgType: number, content: MessageContent): Uint8Array;
  /** The JSON Schema of a body's JSON form, or undefined when msgType may not be sent. */
  contentSchema(msgType: number): JsonSchema | undefined;
  sourceSchema(): JsonSchema;
  referenceSchema(): JsonSchema;
  /**
   * A validated `source` or `reference` as protobuf carries it: unknown keys and zero values left out, so that
   * the JSON and the protobuf forms of a stored message say the same.
   */
  canonical(kind: 'source' | 'reference', value: Record<string, unknown>): Record<string, unknown>;
  /** A stored message as a sync-record entry: `Proto{common, Common}`. */
  encodeMessageRecord(message: StoredMessage): Uint8Array;
  /** Any stream event as a sync-record entry. */
  encodeStreamEvent(event: StreamEvent): Uint8Array;
  messageRecordJson(message: StoredMessage): MessageRecordFields;
  encodePush(fields: PushFields): Uint8Array;
  encodeCometFrame(body: Uint8Array, fields?: CometFrameFields): Uint8Array;
  decodeStreamRecord(bytes: Uint8Array): StreamRecord;
}

type Plain = Record<string, unknown>;

/** How bytes fields appear in a plain object: raw for the domain, base64 for the JSON form. */
type BytesForm = 'raw' | 'base64';

/** 64-bit integers beyond 2^53: refused (what clients send), or kept exact as bigints (what the server wrote). */
type LongForm = 'safe' | 'bigint';

/** A wire-format violation, completed into an AppError sentence by `decodeStrict`. */
class WireError extends Error {}

/**
 * Loads imparse.proto and returns the codec. Loading is synchronous and takes a few milliseconds; create one
 * codec per process and share it.
 */
export function createCodec(): Codec {
  const root = new protobuf.Root().loadSync(PROTO_FILE, { keepCase: true });
  root.resolveAll();
  const typeOf = (name: string): Type => root.lookupType(`${PACKAGE}.${name}`);

  const proto = typeOf('Proto');
  const common = typeOf('Common');
  const signal = typeOf('Signal');
  const cometFrame = typeOf('CometFrame');
  const authMsg = typeOf('AuthMsg');
  const login = typeOf('Login');
  const commonAck = typeOf('CommonAck');
  const source = typeOf('Source');
  const reference = typeOf('Reference');
  const bodies = new Map([...BODY_TYPES].map(([msgType, name]) => [msgType, typeOf(name)]));
  const signalBodies = Object.fromEntries(SIGNAL_KINDS.map((kind) => [kind, typeOf(SIGNALS[kind].message)])) as Record<SignalKind, Type>;
  const noticeBodies = Object.fromEntries(NOTICE_KINDS.map((kind) => [kind, typeOf(NOTICES[kind].message)])) as Record<NoticeKind, Type>;

  // Generated once: Ajv caches compiled validators by schema identity.
  const contentSchemas = new Map([...bodies].filter(([msgType]) => msgType !== NOTICE_MSG_TYPE).map(([msgType, type]) => [msgType, schemaOf(type)]));
  const sourceJsonSchema = schemaOf(source);
  const referenceJsonSchema = schemaOf(reference);

  const bodyType = (msgType: number): Type => {
    const type = bodies.get(msgType);
    if (type === undefined) throw AppError.invalidParams(`msgType ${msgType} is not supported`);
    return type;
  };

  const encodeProto = (eventType: number, body: Uint8Array): Uint8Array =>
    encode(proto, { eventType, body });

  const encodeCommon = (fields: Plain): Uint8Array => encode(common, fromPlain(common, fields, '', 'raw'));

  const encodeMessageRecord = (message: StoredMessage): Uint8Array =>
    encodeProto(
      EventType.common,
      encodeCommon({
        channelType: message.channelType,
        mid: message.mid,
        seq: message.msgId,
        from: message.senderId,
        target: message.targetId,
        msgType: message.msgType,
        msg: message.msg,
        datetime: message.createdAt,
        source: message.source,
        reference: message.reference,
      }),
    );

  /** A signal of the stream has its position as sid and is reliable; a live one has neither. */
  const encodeSignal = (sid: number, kind: SignalKind, fields: Plain): Uint8Array => {
    const body = encode(signalBodies[kind], fromPlain(signalBodies[kind], fields, kind, 'raw'));
    return encodeProto(EventType.Signal, encode(signal, { type: SIGNALS[kind].signalType, body, sid, reliable: sid !== 0 }));
  };

  const decodeContent = (msgType: number, msg: Uint8Array): MessageContent => {
    const type = bodyType(msgType);
    const content = toPlain(type, decodeStrict(type, msg, 'msg', type.name), 'content', 'base64');
    if (msgType !== NOTICE_MSG_TYPE) return content;
    // A notice's body is the message of its type: its JSON form says what happened, not base64.
    const kind = NOTICE_KINDS.find((candidate) => NOTICES[candidate].type === (content.type ?? 0));
    if (kind === undefined) return content;
    const noticeType = noticeBodies[kind];
    const body = Buffer.from((content.body as string | undefined) ?? '', 'base64');
    return { ...content, body: toPlain(noticeType, decodeStrict(noticeType, body, 'msg.body', noticeType.name), 'content.body', 'base64') };
  };

  const readContent = (msgType: number, msg: Uint8Array): MessageContent | null => {
    if (!bodies.has(msgType)) return null;
    try {
      return decodeContent(msgType, msg);
    } catch (err) {
      if (err instanceof AppError) return null;
      throw err;
    }
  };

  return {
    decodeCometFrame(bytes) {
      const frame = toPlain(cometFrame, decodeStrict(cometFrame, bytes, 'message', 'comet frame'), '', 'raw');
      return (frame.body as Uint8Array | undefined) ?? new Uint8Array(0);
    },

    decodeAuthMsg(bytes) {
      const fields = withDefaults(authMsg, toPlain(authMsg, decodeStrict(authMsg, bytes, 'body', 'AuthMsg'), '', 'raw'));
      return { appId: fields.appId as string, token: fields.token as string, ext: fields.ext as Uint8Array };
    },

    decodeDeviceLogin(bytes) {
      let decoded: Plain;
      try {
        decoded = login.decode(bytes);
      } catch {
        throw AppError.invalidParams('ext is not a valid imparse Login');
      }
      const fields = withDefaults(login, toPlain(login, decoded, 'ext', 'raw'));
      return {
        device: fields.device as number,
        username: fields.username as string,
        connType: fields.connType as number,
        uuid: fields.uuid as string,
        deviceName: fields.deviceName as string,
      };
    },

    encodeDeviceLogin(fields) {
      return encode(login, fromPlain(login, fields, '', 'raw'));
    },

    encodeNotice(kind, fields) {
      const type = noticeBodies[kind];
      const body = encode(type, fromPlain(type, fields, kind, 'raw'));
      return encode(bodies.get(NOTICE_MSG_TYPE)!, { type: NOTICES[kind].type, body });
    },

    encodeEndpointLogin(fields) {
      return encodeSignal(0, 'endpointLogin', fields);
    },

    encodeAuthMsg(fields) {
      return encode(authMsg, fromPlain(authMsg, fields, '', 'raw'));
    },

    encodeCommonAck(mid, datetime) {
      return encodeProto(EventType.commonAck, encode(commonAck, { mid, datetime }));
    },

    decodeCommonAck(bytes) {
      const envelope = withDefaults(proto, toPlain(proto, decodeStrict(proto, bytes, 'message', 'imparse Proto'), '', 'raw'));
      if (envelope.eventType !== EventType.commonAck) throw AppError.invalidParams('eventType must be 1 (commonAck)');
      const ack = withDefaults(commonAck, toPlain(commonAck, decodeStrict(commonAck, envelope.body as Uint8Array, 'Proto.body', 'CommonAck'), '', 'raw'));
      return { mid: ack.mid as number, datetime: ack.datetime as number };
    },

    decodePush(bytes) {
      const envelope = withDefaults(proto, toPlain(proto, decodeStrict(proto, bytes, 'message', 'imparse Proto'), '', 'raw'));
      if (envelope.eventType !== EventType.common) throw AppError.invalidParams('eventType must be 0 (common) for a push');
      const body = decodeStrict(common, envelope.body as Uint8Array, 'Proto.body', 'Common');
      const fields = toPlain(common, body, '', 'raw', PUSH_IGNORED);
      // Scalars at their zero value; source and reference stay in the JSON form's shape, zero values omitted.
      const scalars = withDefaults(common, fields);
      const push: DecodedPush = {
        eventType: EventType.common,
        channelType: scalars.channelType as number,
        msgId: scalars.seq as string,
        targetId: scalars.target as string,
        msgType: scalars.msgType as number,
        msg: scalars.msg as Uint8Array,
      };
      if (fields.source !== undefined) push.source = fields.source as MessageSource;
      if (fields.reference !== undefined) push.reference = fields.reference as MessageReference;
      return push;
    },

    decodeContent,
    readContent,

    encodeContent(msgType, content) {
      const type = bodyType(msgType);
      return encode(type, fromPlain(type, content, 'content', 'base64'));
    },

    contentSchema: (msgType) => contentSchemas.get(msgType),
    sourceSchema: () => sourceJsonSchema,
    referenceSchema: () => referenceJsonSchema,

    canonical(kind, value) {
      const type = kind === 'source' ? source : reference;
      return toPlain(type, fromPlain(type, value, kind, 'raw'), kind, 'raw');
    },

    encodeMessageRecord,

    encodeStreamEvent(event) {
      switch (event.kind) {
        case 'message':
          return encodeMessageRecord(event.message);
        case 'received':
          return encodeSignal(event.id, 'received', { logs: event.data.mids });
        case 'revoke':
          return encodeSignal(event.id, 'revoke', { mid: event.mid, operator: event.data.operator, self: event.data.self });
        case 'focus':
          return encodeSignal(event.id, 'focus', {
            mid: event.mid,
            uid: event.data.uid,
            currentNum: event.data.currentNum,
            time: event.data.time,
          });
        case 'join':
        case 'leave':
          return encodeSignal(event.id, event.kind, { uid: event.data.uids, group: event.groupId, time: event.data.time });
        case 'disband':
          return encodeSignal(event.id, 'disband', { group: event.groupId, time: event.data.time });
        case 'role':
          return encodeSignal(event.id, 'role', { group: event.groupId, uid: event.data.uid, type: event.data.memberType, time: event.data.time });
        case 'muteTime':
          return encodeSignal(event.id, 'muteTime', { group: event.groupId, uid: event.data.uids, muteTime: wireMuteTime(event.data.mutedUntil), time: event.data.time });
        case 'setting': {
          const { field, value, time } = event.data;
          const key = field === 'name' || field === 'avatar' ? field : 'type';
          return encodeSignal(event.id, field, { group: event.groupId, [key]: value, time });
        }
      }
    },

    messageRecordJson(message) {
      // A revoked message has no body left; its record (seen only by those who fetched it before) is empty.
      const content = message.msg === null ? {} : readContent(message.msgType, message.msg);
      const record: MessageRecordFields = {
        logId: String(message.mid),
        msgId: message.msgId,
        channelType: message.channelType,
        fromId: message.senderId,
        targetId: message.targetId,
        msgType: message.msgType,
        content,
        ...(content === null && { msg: Buffer.from(message.msg!).toString('base64') }),
        createTime: message.createdAt,
      };
      if (message.source !== undefined && Object.keys(message.source).length > 0) record.source = message.source;
      if (message.reference !== undefined && Object.keys(message.reference).length > 0) record.reference = message.reference;
      return record;
    },

    encodePush(fields) {
      const body = encodeCommon({
        channelType: fields.channelType,
        mid: fields.mid,
        seq: fields.msgId,
        from: fields.from,
        target: fields.targetId,
        msgType: fields.msgType,
        msg: fields.msg,
        datetime: fields.datetime,
        source: fields.source,
        reference: fields.reference,
      });
      return encodeProto(fields.eventType ?? EventType.common, body);
    },

    encodeCometFrame(body, fields = {}) {
      return encode(cometFrame, fromPlain(cometFrame, { ...fields, body }, '', 'raw'));
    },

    decodeStreamRecord(bytes) {
      const envelope = withDefaults(proto, toPlain(proto, decodeStrict(proto, bytes, 'record', 'imparse Proto'), '', 'raw'));
      const body = envelope.body as Uint8Array;
      if (envelope.eventType === EventType.common) {
        const fields = toPlain(common, decodeStrict(common, body, 'Proto.body', 'Common'), 'common', 'raw');
        // The shape is that of Common in imparse.proto, with every scalar present.
        return { eventType: EventType.common, common: withDefaults(common, fields) as unknown as CommonRecord };
      }
      if (envelope.eventType === EventType.Signal) {
        const fields = withDefaults(signal, toPlain(signal, decodeStrict(signal, body, 'Proto.body', 'Signal'), 'signal', 'raw'));
        const record: SignalRecord = { type: fields.type as number, sid: fields.sid as number, reliable: fields.reliable as boolean };
        const kind = SIGNAL_KINDS.find((candidate) => SIGNALS[candidate].signalType === record.type);
        if (kind !== undefined) {
          const type = signalBodies[kind];
          const decoded = decodeStrict(type, fields.body as Uint8Array, 'Signal.body', type.name);
          Object.assign(record, { [kind]: withDefaults(type, toPlain(type, decoded, kind, 'raw', new Set(), 'bigint')) });
        }
        return { eventType: EventType.Signal, signal: record };
      }
      throw AppError.invalidParams(`eventType ${String(envelope.eventType)} is not a stream record`);
    },
  };
}

// ---- strict decoding ------------------------------------------------------------------------------------

/** Checks `bytes` against `type` on the wire, then decodes it; any failure is an AppError naming `label`. */
function decodeStrict(type: Type, bytes: Uint8Array, label: string, typeLabel: string): Plain {
  try {
    checkWire(type, bytes, '');
    return type.decode(bytes);
  } catch (err) {
    // After checkWire nothing should fail; should protobufjs still disagree, the client still gets a -1012.
    const reason = err instanceof WireError ? err.message : 'it cannot be decoded';
    throw AppError.invalidParams(`${label} is not a valid ${typeLabel}: ${reason}`);
  }
}

/**
 * Walks the wire format of `bytes` as a `type`: every field must be declared, with its wire type, strings must
 * be UTF-8 and nested messages must pass the same check. `path` names the message in error sentences.
 */
function checkWire(type: Type, bytes: Uint8Array, path: string): void {
  const reader = protobuf.Reader.create(bytes);
  const where = path === '' ? '' : ` in ${path}`;
  const occurrences = new Map<number, number>();
  while (reader.pos < reader.len) {
    const tag = readWire(() => reader.tag(), `a field tag${where}`);
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new WireError(`field number 0${where} is invalid`);
    const field = type.fieldsById[id];
    if (field === undefined) throw new WireError(`unknown field ${id}${where}`);

    let at = join(path, field.name);
    if (field.repeated) {
      const index = occurrences.get(id) ?? 0;
      occurrences.set(id, index + 1);
      at = `${at}[${index}]`;
    }
    const expected = wireTypeOf(field);
    if (field.repeated && expected !== 2 && wireType === 2) {
      // A packed run of scalars: proto3's default encoding of repeated numbers, accepted beside the unpacked one.
      const packed = protobuf.Reader.create(readWire(() => reader.bytes(), at));
      while (packed.pos < packed.len) skipScalar(packed, expected, at);
      continue;
    }
    if (wireType !== expected) {
      throw new WireError(
        `${at} (field ${id}) has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType]}), expected ${expected} (${WIRE_TYPE_NAMES[expected]})`,
      );
    }
    if (expected !== 2) {
      skipScalar(reader, expected, at);
      continue;
    }
    const payload = readWire(() => reader.bytes(), at);
    if (field.resolvedType instanceof protobuf.Type) {
      checkWire(field.resolvedType, payload, at);
    } else if (field.type === 'string') {
      try {
        strictUtf8.decode(payload);
      } catch {
        throw new WireError(`${at} is not valid UTF-8`);
      }
    }
  }
}

function skipScalar(reader: protobuf.Reader, wireType: number, at: string): void {
  // uint64 reads a whole varint and refuses one longer than 10 bytes, as the decoder does.
  if (wireType === 0) readWire(() => reader.uint64(), at);
  else readWire(() => reader.skip(wireType === 1 ? 8 : 4), at);
}

/** Runs a protobufjs read, turning its RangeError ("index out of range") and varint errors into WireErrors. */
function readWire<T>(read: () => T, at: string): T {
  try {
    return read();
  } catch (err) {
    throw new WireError(err instanceof RangeError ? `${at} is truncated` : `${at} is malformed`);
  }
}

function wireTypeOf(field: Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  const wireType = (protobuf.types.basic as Readonly<Record<string, number | undefined>>)[field.type];
  if (wireType === undefined) throw new Error(`imparse.proto field ${field.fullName} has the unsupported type ${field.type}`);
  return wireType;
}

// ---- plain objects ----------------------------------------------------------------------------------------

/**
 * A decoded message as a plain object in the JSON form's conventions: zero values and empty nested messages
 * omitted, 64-bit integers as safe numbers (else an AppError naming `path`.field), bytes per `bytes`.
 * Elements of repeated messages are kept even when empty, so that indexes keep their meaning.
 */
function toPlain(type: Type, message: Plain, path: string, bytes: BytesForm, ignored: ReadonlySet<string> = new Set(), longs: LongForm = 'safe'): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    if (ignored.has(field.name)) continue;
    const value = message[field.name];
    const at = join(path, field.name);
    if (field.repeated) {
      if (Array.isArray(value) && value.length > 0) {
        out[field.name] = value.map((element: unknown, index) => valueToPlain(field, element, `${at}[${index}]`, bytes, longs));
      }
    } else if (value !== undefined && value !== null) {
      const plain = valueToPlain(field, value, at, bytes, longs);
      if (!isZero(plain)) out[field.name] = plain;
    }
  }
  return out;
}

function valueToPlain(field: Field, value: unknown, at: string, bytes: BytesForm, longs: LongForm): unknown {
  if (field.resolvedType instanceof protobuf.Type) return toPlain(field.resolvedType, value as Plain, at, bytes, new Set(), longs);
  if (field.long) return safeInteger(value, at, longs);
  if (field.type === 'bytes') {
    // A copy, so that a decoded body does not pin the whole upload it was sliced from.
    const copy = new Uint8Array(value as Uint8Array);
    return bytes === 'raw' ? copy : Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).toString('base64');
  }
  return value;
}

/**
 * protobufjs hands out 64-bit integers as Long objects (or numbers); the JSON form needs exact numbers. Beyond
 * 2^53 a value is refused, or, where the server itself wrote it (dtalk's "for ever"), given as a bigint.
 */
function safeInteger(value: unknown, at: string, longs: LongForm): number | bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  const exact = BigInt(String(value));
  if (exact >= -BigInt(Number.MAX_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(exact);
  if (longs === 'bigint') return exact;
  throw AppError.invalidParams(`${at} is out of range`);
}

function isZero(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0;
  return value === 0 || value === '' || value === false;
}

/**
 * Adds the zero value of every absent scalar and repeated field, also inside the nested messages present, for
 * fully populated decoded records. Absent nested messages stay absent: proto3 tells them apart.
 */
function withDefaults(type: Type, plain: Plain): Plain {
  const out: Plain = { ...plain };
  for (const field of type.fieldsArray) {
    const value = out[field.name];
    if (field.resolvedType instanceof protobuf.Type) {
      const nested = field.resolvedType;
      if (Array.isArray(value)) out[field.name] = value.map((element) => withDefaults(nested, element as Plain));
      else if (value !== undefined) out[field.name] = withDefaults(nested, value as Plain);
      continue;
    }
    if (value !== undefined) continue;
    if (field.repeated) out[field.name] = [];
    else if (field.type === 'string') out[field.name] = '';
    else if (field.type === 'bool') out[field.name] = false;
    else if (field.type === 'bytes') out[field.name] = new Uint8Array(0);
    else out[field.name] = 0;
  }
  return out;
}

/**
 * The object protobufjs encodes for a plain value: a JSON form (bytes as base64) or a domain object (raw
 * bytes). Undefined and null fields are absent; unknown keys are ignored (API.md §1). A value of the wrong type
 * is an AppError naming `path`.field, so nothing protobufjs would mangle silently reaches the wire.
 */
function fromPlain(type: Type, value: unknown, path: string, bytes: BytesForm): Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AppError.invalidParams(`${path === '' ? 'the message' : path} must be an object`);
  }
  const object = value as Plain;
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const fieldValue = object[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    const at = join(path, field.name);
    if (field.repeated) {
      if (!Array.isArray(fieldValue)) throw AppError.invalidParams(`${at} must be an array`);
      out[field.name] = fieldValue.map((element: unknown, index) => valueFromPlain(field, element, `${at}[${index}]`, bytes));
    } else {
      out[field.name] = valueFromPlain(field, fieldValue, at, bytes);
    }
  }
  return out;
}

function valueFromPlain(field: Field, value: unknown, at: string, bytes: BytesForm): unknown {
  if (field.resolvedType instanceof protobuf.Type) return fromPlain(field.resolvedType, value, at, bytes);
  const kind = field.resolvedType instanceof protobuf.Enum ? 'int32' : field.type;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw AppError.invalidParams(`${at} must be a string`);
      if (!isStorableText(value)) throw AppError.invalidParams(`${at} must be valid Unicode text without U+0000`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw AppError.invalidParams(`${at} must be a boolean`);
      return value;
    case 'bytes':
      if (bytes === 'raw') {
        if (!(value instanceof Uint8Array)) throw AppError.invalidParams(`${at} must be bytes`);
        return value;
      }
      if (typeof value !== 'string' || !BASE64.test(value)) throw AppError.invalidParams(`${at} must be a standard base64 string`);
      return Buffer.from(value, 'base64');
    default: {
      // The server's own 64-bit values beyond 2^53 (dtalk's "for ever") come as bigints; clients' never do.
      if (typeof value === 'bigint' && field.long) return value.toString();
      const [min, max] = integerRange(kind, field);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw AppError.invalidParams(`${at} must be an integer between ${min} and ${max}`);
      }
      return value;
    }
  }
}

function integerRange(kind: string, field: Field): readonly [number, number] {
  const range = INTEGER_RANGES[kind];
  if (range === undefined) throw new Error(`imparse.proto field ${field.fullName} has the unsupported type ${kind}`);
  return range;
}

function encode(type: Type, object: Plain): Uint8Array {
  const buffer = type.encode(object).finish();
  // Plain Uint8Array rather than protobufjs's Buffer, so that every byte value the codec returns has one type.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

// ---- JSON Schema ------------------------------------------------------------------------------------------

/** The JSON Schema of a message's JSON form; unknown properties stay allowed (API.md §1). */
function schemaOf(type: Type): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const field of type.fieldsArray) {
    const value = valueSchema(field);
    properties[field.name] = field.repeated ? { type: 'array', items: value } : value;
  }
  return { type: 'object', properties };
}

function valueSchema(field: Field): JsonSchema {
  if (field.resolvedType instanceof protobuf.Type) return schemaOf(field.resolvedType);
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = [...new Set(Object.values(field.resolvedType.values))].sort((a, b) => a - b);
    return { type: 'integer', enum: values };
  }
  switch (field.type) {
    case 'string':
      return { type: 'string', pattern: TEXT_PATTERN, errorHint: 'must be valid Unicode text without U+0000' };
    case 'bool':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'string', pattern: BASE64_PATTERN };
    default: {
      const [minimum, maximum] = integerRange(field.type, field);
      return { type: 'integer', minimum, maximum };
    }
  }
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
