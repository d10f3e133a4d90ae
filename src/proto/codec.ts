/**
 * The imparse protobuf codec (API.md §3): decodes what clients upload (strictly, see wire-check.ts), encodes what
 * the server hands out, and converts message bodies to and from their JSON form ("content"). Encoders and
 * decoders only tests and benchmarks need live in test/helpers/wire.ts.
 */
import protobuf, { type Type } from 'protobufjs';
import { MsgType, type MessageRecordFields } from '../contract/index.js';
import { AppError } from '../errors.js';
import {
  NOTICE_MSG_TYPE,
  type MessageContent,
  type MessageReference,
  type MessageSource,
  type OutgoingMessage,
  type StoredMessage,
  type StreamEvent,
} from '../domain.js';
import {
  BODY_TYPES,
  EventType,
  NOTICES,
  NOTICE_KINDS,
  PUSH_IGNORED,
  SIGNALS,
  SIGNAL_KINDS,
  loadImparse,
  wireMuteTime,
  type DeviceLogin,
  type NoticeKind,
  type SignalKind,
} from './imparse.js';
import { schemaOf, type JsonSchema } from './json-schema.js';
import { encode, fromPlain, toPlain, withDefaults, type Plain } from './plain.js';
import { decodeStrict } from './wire-check.js';

export { BASE64_PATTERN } from './plain.js';
export { wireMuteTime, type DeviceLogin, type NoticeKind } from './imparse.js';
export type { JsonSchema } from './json-schema.js';

/**
 * A `Proto{common, Common}` as /record/push receives it, reduced to what the server uses: an OutgoingMessage
 * before validation, so its channel type is any number yet.
 */
export type DecodedPush = Omit<OutgoingMessage, 'channelType'> & { eventType: number; channelType: number };

/** TextMsg's `mention` (imparse.proto). */
const TEXT_MENTION_FIELD = 2;

export interface Codec {
  /** The `body` of a /record/push2 comet frame. */
  decodeCometFrame(bytes: Uint8Array): Uint8Array;
  /** The body of a comet socket Auth frame: the app and the token (a FZM-SIGNATURE token or a JWT). */
  decodeAuthMsg(bytes: Uint8Array): { appId: string; token: string; ext: Uint8Array };
  /** The `ext` of an Auth frame. Unknown fields are skipped: a newer client may say more of itself. */
  decodeDeviceLogin(bytes: Uint8Array): DeviceLogin;
  /** The body (msgType 7) of a group notice. */
  encodeNotice(kind: NoticeKind, fields: Record<string, unknown>): Uint8Array;
  /** `Proto{Signal}` of a signal that is not in any stream (sid 0, reliable false): EndpointLogin. */
  encodeEndpointLogin(fields: { uuid: string; device: number; deviceName: string; datetime: number }): Uint8Array;
  /** `Proto{eventType: commonAck, body: CommonAck{mid, datetime}}`, the answer to a send on the comet socket. */
  encodeCommonAck(mid: number, datetime: number): Uint8Array;
  /** A /record/push upload; `from`, `mid` and `datetime` are ignored. The body is not decoded (see decodeContent). */
  decodePush(bytes: Uint8Array): DecodedPush;
  /** The JSON form of a body; refuses unsupported msgTypes and bodies that are not exactly their message. */
  decodeContent(msgType: number, msg: Uint8Array): MessageContent;
  /** The JSON form of a body, or null when it does not decode strictly (an encrypted body, say). */
  readContent(msgType: number, msg: Uint8Array): MessageContent | null;
  /** Whom a text body's `mention` names, when it decodes; a body without the field is not decoded at all. */
  readMentions(msg: Uint8Array): unknown[] | undefined;
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
  /** Any stream event as a sync-record entry. */
  encodeStreamEvent(event: StreamEvent): Uint8Array;
  messageRecordJson(message: StoredMessage): MessageRecordFields;
}

/**
 * Loads imparse.proto and returns the codec. Loading is synchronous and takes a few milliseconds; create one
 * codec per process and share it.
 */
export function createCodec(): Codec {
  const { typeOf } = loadImparse();

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

  const encodeProto = (eventType: number, body: Uint8Array): Uint8Array => encode(proto, { eventType, body });

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

  /** Whether a TextMsg's top level has its field 2 (`mention`): a walk of its tags, cheaper than a decode. */
  const hasMentionField = (msg: Uint8Array): boolean => {
    const reader = protobuf.Reader.create(msg);
    try {
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        if (tag >>> 3 === TEXT_MENTION_FIELD) return true;
        reader.skipType(tag & 7);
      }
    } catch {
      // Not a message: readContent will say so.
    }
    return false;
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

    encodeNotice(kind, fields) {
      const type = noticeBodies[kind];
      const body = encode(type, fromPlain(type, fields, kind, 'raw'));
      return encode(bodies.get(NOTICE_MSG_TYPE)!, { type: NOTICES[kind].type, body });
    },

    encodeEndpointLogin(fields) {
      return encodeSignal(0, 'endpointLogin', fields);
    },

    encodeCommonAck(mid, datetime) {
      return encodeProto(EventType.commonAck, encode(commonAck, { mid, datetime }));
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

    readMentions(msg) {
      if (!hasMentionField(msg)) return undefined;
      const mention = readContent(MsgType.Text, msg)?.mention;
      return Array.isArray(mention) ? mention : undefined;
    },

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

    encodeStreamEvent(event) {
      switch (event.kind) {
        case 'message':
          return encodeMessageRecord(event.message);
        case 'received':
          return encodeSignal(event.id, 'received', { logs: event.data.mids });
        case 'read': {
          const { channelType, targetId, uid, logId, time } = event.data;
          return encodeSignal(event.id, 'read', { channelType, target: targetId, uid, mid: logId, time });
        }
        case 'conversation': {
          const { channelType, targetId, muted, pinned, time } = event.data;
          return encodeSignal(event.id, 'conversation', { channelType, target: targetId, muted, pinned, time });
        }
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
          return encodeSignal(event.id, 'muteTime', {
            group: event.groupId,
            uid: event.data.uids,
            muteTime: wireMuteTime(event.data.mutedUntil),
            time: event.data.time,
          });
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
  };
}
