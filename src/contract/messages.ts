/**
 * Messages on the wire (API.md §3, §4): the JSON form of bodies, pushes and records, and the record endpoints'
 * requests and answers. The protobuf form is src/proto/imparse.proto.
 */

/** Request ids: a JSON number or a decimal string (API.md §1). Responses say which one they use. */
export type Id = number | string;

export const ChannelType = { ToUser: 0, ToGroup: 1 } as const;
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType];

export const MsgType = {
  System: 0,
  Text: 1,
  Audio: 2,
  Image: 3,
  Video: 4,
  File: 5,
  Card: 6,
  Notice: 7,
  Forward: 8,
  RTCCall: 9,
  Transfer: 10,
  Collect: 11,
  RedPacket: 12,
  ContactCard: 13,
} as const;

// Message bodies in their JSON form (API.md §3). Every field is optional because the JSON form omits a field at
// its zero value: a text message with an empty text arrives as `{}`. int64 fields are JSON numbers below 2^53.

export interface TextContent {
  content?: string;
  mention?: string[];
}
export interface AudioContent {
  mediaUrl?: string;
  time?: number;
}
export interface ImageContent {
  mediaUrl?: string;
  height?: number;
  width?: number;
}
export interface VideoContent {
  mediaUrl?: string;
  time?: number;
  height?: number;
  width?: number;
}
export interface FileContent {
  mediaUrl?: string;
  name?: string;
  md5?: string;
  size?: number;
}
export interface CardContent {
  bank?: string;
  name?: string;
  account?: string;
}
/** `msg` is the serialized body of the forwarded message, base64. */
export interface ForwardItem {
  avatar?: string;
  name?: string;
  msgType?: number;
  msg?: string;
  datetime?: number;
}
export interface ForwardContent {
  items?: ForwardItem[];
}
export interface TransferContent {
  txHash?: string;
  coinName?: string;
  chain?: string;
  platform?: string;
  coinType?: number;
}
export interface RedPacketContent {
  txHash?: string;
  coinName?: string;
  exec?: string;
  packetType?: number;
  privateKey?: string;
  remark?: string;
  expire?: number;
  coinType?: number;
}
export interface ContactCardContent {
  type?: number;
  id?: string;
  name?: string;
  avatar?: string;
  server?: string;
  inviter?: string;
}

/** The body of each msgType a client may send; the others are refused by the server (-1012). */
export interface ContentByMsgType {
  1: TextContent;
  2: AudioContent;
  3: ImageContent;
  4: VideoContent;
  5: FileContent;
  6: CardContent;
  8: ForwardContent;
  10: TransferContent;
  12: RedPacketContent;
  13: ContactCardContent;
}
export type SendableMsgType = keyof ContentByMsgType;

/** The msgTypes a client may send, as a list. */
export const SENDABLE_MSG_TYPES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 13] as const satisfies readonly SendableMsgType[];

/** msgType of the group notices the server writes; clients may not send it. */
export const NOTICE_MSG_TYPE = 7;

/**
 * A group notice (msgType 7): what changed, as dtalk's NoticeMsg. `type` is the NoticeMsgType (0 new name, 1
 * joined, 2 left, 3 removed, 4 disbanded, 5 muteType, 6 members muted, 7 new owner), `body` its fields.
 */
export interface NoticeContent {
  type?: number;
  body?: Record<string, unknown>;
}

/** The body of each msgType a record may hold: what clients send, and the server's notices. */
export interface RecordContentByMsgType extends ContentByMsgType {
  7: NoticeContent;
}

export interface SourceUser {
  id?: string;
  name?: string;
}
export interface MessageSource {
  channelType?: ChannelType;
  from?: SourceUser;
  target?: SourceUser;
}
export interface MessageReference {
  topic?: number;
  ref?: number;
}

interface PushMessageOf<T extends SendableMsgType> {
  channelType: ChannelType;
  /** The idempotency key: pushing the same msgId again returns the first push's result. Generated when absent. */
  msgId?: string;
  /** A uid for channelType 0, a group id (decimal string) for channelType 1. */
  targetId: string;
  msgType: T;
  source?: MessageSource;
  reference?: MessageReference;
}

/**
 * The body, one of two ways: `content`, its JSON form, which the server encodes; or `msg`, the bytes as the
 * client made them (an end-to-end encrypted body, say), standard base64, which the server stores as they are.
 */
type PushBody<T extends SendableMsgType> = { content: ContentByMsgType[T]; msg?: never } | { msg: string; content?: never };

/** The JSON form of a push (API.md §4.1); `msgType` decides the type of `content`. */
export type PushMessage = { [T in SendableMsgType]: PushMessageOf<T> & PushBody<T> }[SendableMsgType];

/** A push as the server reads it before it knows the msgType: the same fields, the body untyped. */
export type PushRequestFields = Omit<PushMessageOf<SendableMsgType>, 'msgId' | 'msgType'> & {
  msgId: string;
  msgType: number;
  content?: Record<string, unknown>;
  msg?: string;
};

export interface PushResult {
  logId: number;
  datetime: number;
}

interface MessageRecordOf<T extends keyof RecordContentByMsgType> {
  /** A decimal string here, as in the original Record type. */
  logId: string;
  msgId: string;
  channelType: ChannelType;
  fromId: string;
  targetId: string;
  msgType: T;
  /** The JSON form of the body, or null when the server cannot read it (end-to-end encrypted): see `msg`. */
  content: RecordContentByMsgType[T] | null;
  /** The exact bytes of the body, standard base64, when `content` is null. */
  msg?: string;
  createTime: number;
  source?: MessageSource;
  reference?: MessageReference;
}

/** A stored message in its JSON form (API.md §3, "record"); narrow on `msgType` to type `content`. */
export type MessageRecord = { [T in keyof RecordContentByMsgType]: MessageRecordOf<T> }[keyof RecordContentByMsgType];

/** A record as the server writes it: the same fields, the body as a plain JSON form whatever its msgType. */
export type MessageRecordFields = Omit<MessageRecordOf<1>, 'msgType' | 'content'> & { msgType: number; content: Record<string, unknown> | null };

export interface SyncRequest {
  /** Events with id > start; 0 (the default) is the beginning of the stream. */
  start?: Id;
  /** 1 to 1000. */
  count: number;
}

export interface SyncPage {
  record_count: number;
  /** Standard base64 of serialized imparse `Proto`s; decoding them is the caller's (this client has no protobuf). */
  records: string[];
  next_start: number;
  has_more: boolean;
}

export interface HistoryRequest {
  targetId: string;
  /** 1 to 100. */
  count: number;
  /** Exclusive upper bound; absent, "" or 0 means from the newest. */
  logId?: Id;
}

export interface GroupHistoryRequest {
  groupId: Id;
  count: number;
  logId?: Id;
}

export interface HistoryPage {
  record_count: number;
  /** Newest first; revoked messages are left out. */
  records: MessageRecord[];
}

export interface FocusResult {
  currentNum: number;
}
