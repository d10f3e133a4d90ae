/**
 * The wire contract (shared/API.md) as TypeScript types, for clients. Nothing here is imported from the server:
 * this folder is bundled for browsers, so it may depend on nothing but the platform (fetch, WebSocket).
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

export const MemberType = { Normal: 0, Admin: 1, Owner: 2 } as const;
export type MemberType = (typeof MemberType)[keyof typeof MemberType];

// Message bodies in their JSON form (API.md §3). Every field is optional because the JSON form omits a field at
// its zero value: a text message with an empty text arrives as `{}`. int64 fields are JSON numbers below 2^53.

export interface TextContent { content?: string; mention?: string[] }
export interface AudioContent { mediaUrl?: string; time?: number }
export interface ImageContent { mediaUrl?: string; height?: number; width?: number }
export interface VideoContent { mediaUrl?: string; time?: number; height?: number; width?: number }
export interface FileContent { mediaUrl?: string; name?: string; md5?: string; size?: number }
export interface CardContent { bank?: string; name?: string; account?: string }
/** `msg` is the serialized body of the forwarded message, base64. */
export interface ForwardItem { avatar?: string; name?: string; msgType?: number; msg?: string; datetime?: number }
export interface ForwardContent { items?: ForwardItem[] }
export interface TransferContent { txHash?: string; coinName?: string; chain?: string; platform?: string; coinType?: number }
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
export interface ContactCardContent { type?: number; id?: string; name?: string; avatar?: string; server?: string; inviter?: string }

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

export interface SourceUser { id?: string; name?: string }
export interface MessageSource { channelType?: ChannelType; from?: SourceUser; target?: SourceUser }
export interface MessageReference { topic?: number; ref?: number }

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

export interface PushResult { logId: number; datetime: number }

interface MessageRecordOf<T extends SendableMsgType> {
  /** A decimal string here, as in the original Record type. */
  logId: string;
  msgId: string;
  channelType: ChannelType;
  fromId: string;
  targetId: string;
  msgType: T;
  /** The JSON form of the body, or null when the server cannot read it (end-to-end encrypted): see `msg`. */
  content: ContentByMsgType[T] | null;
  /** The exact bytes of the body, standard base64, when `content` is null. */
  msg?: string;
  createTime: number;
  source?: MessageSource;
  reference?: MessageReference;
}

/** A stored message in its JSON form (API.md §3, "record"); narrow on `msgType` to type `content`. */
export type MessageRecord = { [T in SendableMsgType]: MessageRecordOf<T> }[SendableMsgType];

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

export interface FocusResult { currentNum: number }

// Groups (API.md §5).

/**
 * A member (API.md §5). `memberMuteTime`: muted until then (ms); 0 not muted; for ever is dtalk's
 * 9223372036854775807, which JSON.parse reads as 2^63 (compare with MUTED_FOREVER).
 */
export interface GroupMember { memberId: string; memberName: string; memberType: MemberType; memberMuteTime: number }

/** What `memberMuteTime` of a member muted for ever reads as after JSON.parse. */
export const MUTED_FOREVER = 2 ** 63;

export interface CreateGroupRequest { name?: string; avatar?: string; introduce?: string; memberIds?: string[] }

/** A group (API.md §5). `key` and `person` only for members. */
export interface GroupInfo {
  id: number;
  idStr: string;
  /** The short number people share. */
  markId: string;
  /** The name members see (dtalk clients encrypt it with `key`); `publicName` is what anyone sees. */
  name: string;
  publicName: string;
  avatar: string;
  introduce: string;
  owner: GroupMember;
  /** The caller, when a member. */
  person?: GroupMember;
  memberNum: number;
  maximum: number;
  /** 0 normal, 1 blocked, 2 disbanded. */
  status: number;
  createTime: number;
  /** 0 anyone may invite, 1 owner and admins, 2 owner and admins (others would need approval). */
  joinType: 0 | 1 | 2;
  /** 0 everyone posts, 1 owner and admins only. */
  muteType: 0 | 1;
  friendType: 0 | 1;
  muteNum: number;
  adminNum: number;
  /** The symmetric key members encrypt group messages with (32 hex digits); members only. */
  key?: string;
  groupType: number;
}

export interface GroupDetails extends GroupInfo { members: GroupMember[] }
export interface InviteResult { id: number; idStr: string; memberNum: number }
export interface RemoveResult { memberNum: number; memberIds: string[] }
export interface GroupList { groups: GroupInfo[] }
export interface GroupMembers { id: number; idStr: string; members: GroupMember[] }
export type GroupSettingChange =
  | { name?: string; publicName?: string }
  | { avatar: string }
  | { joinType: 0 | 1 | 2 }
  | { friendType: 0 | 1 }
  | { muteType: 0 | 1 };

// Realtime frames (API.md §6). Every event frame carries `id`, its position in the user's stream.

export interface MessageFrame { type: 'message'; id: number; record: MessageRecord }
export interface RevokeFrame { type: 'revoke'; id: number; logId: string; channelType: ChannelType; operator: string; self: boolean }
export interface FocusFrame { type: 'focus'; id: number; logId: string; channelType: ChannelType; uid: string; currentNum: number; time: number }
export interface GroupFrame {
  type: 'group';
  id: number;
  event: 'join' | 'leave' | 'disband' | 'role' | 'muteTime' | 'name' | 'avatar' | 'joinType' | 'friendType' | 'muteType';
  groupId: number;
  /** Those concerned: who joined, left, changed type or were muted; none for the group's own settings. */
  uids: string[];
  /** Set for `role`. */
  memberType?: MemberType;
  /** Set for `muteTime`, as GroupMember.memberMuteTime. */
  memberMuteTime?: number;
  /** The new value, under the name of the setting that changed: `name`, `avatar`, `joinType`, ... */
  name?: string;
  avatar?: string;
  joinType?: number;
  friendType?: number;
  muteType?: number;
}

/** Messages this user sent to `targetId` reached one of that user's devices: `logIds`, up to `logId`. */
export interface DeliveredFrame { type: 'delivered'; id: number; targetId: string; uid: string; logId: string; logIds: string[] }

export type ChatlogEvent = MessageFrame | DeliveredFrame | RevokeFrame | FocusFrame | GroupFrame;

/** Every frame the server may send, events and control frames alike. */
export type ServerFrame = ChatlogEvent | { type: 'ready'; id: number } | { type: 'pong' } | { type: 'error'; message: string };

/** The response envelope of every endpoint (API.md §1). */
export interface Envelope<T> {
  result: number;
  message: string;
  data: T | null;
}
