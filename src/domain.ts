/**
 * Domain types shared by the services, the store and the codec. Ids are JavaScript numbers below 2^53. The
 * enums and the shapes that are the same on the wire come from the contract.
 */
import type { ChannelType, MemberType, JoinType, MuteType, FriendType, MessageReference, MessageSource } from './contract/index.js';

export {
  ChannelType,
  FriendType,
  JoinType,
  MemberType,
  MuteType,
  NOTICE_MSG_TYPE,
  SENDABLE_MSG_TYPES,
  type MessageReference,
  type MessageSource,
} from './contract/index.js';

/** The JSON form of a message body (API.md §3): proto field names, zero values omitted. */
export type MessageContent = Record<string, unknown>;

/** A message as a client submits it, after decoding and validation; `msg` is the serialized body. */
export interface OutgoingMessage {
  channelType: ChannelType;
  msgId: string;
  targetId: string;
  msgType: number;
  msg: Uint8Array;
  source?: MessageSource;
  reference?: MessageReference;
  /** The uids a text message mentions (its content's `mention`), when the server can read it. */
  mentions?: string[];
}

/** A stored message. A revoked one is a tombstone: `msg`, `source` and `reference` are erased. */
export interface StoredMessage {
  mid: number;
  channelType: ChannelType;
  msgId: string;
  senderId: string;
  targetId: string;
  msgType: number;
  msg: Uint8Array | null;
  source?: MessageSource;
  reference?: MessageReference;
  createdAt: number;
  revokedBy: string | null;
  revokedAt: number | null;
}

export interface RevokeEventData {
  operator: string;
  self: boolean;
}

/** Private messages `mids` (all sent by the stream's owner to `peer`) reached one of peer's devices. */
export interface ReceivedEventData {
  peer: string;
  mids: number[];
  time: number;
}

/** `uid` read up to message `logId` in their conversation with `targetId` (their peer, or a group). */
export interface ReadEventData {
  channelType: ChannelType;
  targetId: string;
  uid: string;
  logId: number;
  time: number;
}

/** The settings of a conversation of the stream's owner, after a change. */
export interface ConversationEventData {
  channelType: ChannelType;
  targetId: string;
  muted: boolean;
  pinned: boolean;
  time: number;
}

/** A conversation of a user: a private peer (their uid) or a group (its id in decimal). */
export interface ConversationKey {
  uid: string;
  channelType: ChannelType;
  targetId: string;
}

/** What chatlog keeps of a user's conversation beyond the messages: read position and settings. */
export interface ConversationState extends ConversationKey {
  readMid: number;
  /** The stream id of the last change of the conversation as the user's list shows it. */
  changedId: number;
  muted: boolean;
  pinned: boolean;
}

export interface FocusEventData {
  uid: string;
  currentNum: number;
  time: number;
}

/** A mute deadline beyond any real time: muted for ever (dtalk writes it as 9223372036854775807). */
export const MUTED_FOREVER = Number.MAX_SAFE_INTEGER;

/** What a group's owner and admins may change, and what creating it may set. */
export interface GroupSettings {
  /** The name members see; dtalk clients encrypt it with the group key. */
  name: string;
  /** The name anyone sees, in clear. */
  publicName: string;
  avatar: string;
  introduce: string;
  joinType: JoinType;
  muteType: MuteType;
  friendType: FriendType;
}

export interface Group extends GroupSettings {
  id: number;
  /** The short number people pass around to find the group (8 digits), as dtalk made it. */
  markId: string;
  ownerId: string;
  memberNum: number;
  createdAt: number;
  /** 0 normal, 1 enterprise, 2 department; chatlog makes normal groups. */
  groupType: number;
  /** The symmetric key members' clients encrypt group messages with: 32 hex digits. Members only. */
  key: string;
}

/** A stay of a user in a group: they see the group's events with joinedId <= id <= leftId. */
export interface Membership {
  groupId: number;
  uid: string;
  memberType: MemberType;
  /** The member's name in this group ("" for none). */
  memberName: string;
  /** Muted until this time (ms), MUTED_FOREVER, or 0 for not muted. */
  mutedUntil: number;
  joinedId: number;
  leftId: number | null;
}

/** Someone joined (or, for `leave`, left): the uids concerned. */
export interface MembershipEventData {
  uids: string[];
  time: number;
}

export interface DisbandEventData {
  time: number;
}

/** A `role` event (as /ws names it) gives a member another memberType. */
export interface RoleEventData {
  uid: string;
  memberType: MemberType;
  time: number;
}

/** Members muted until `mutedUntil` (0: the mute lifted). */
export interface MuteTimeEventData {
  uids: string[];
  mutedUntil: number;
  time: number;
}

/** One of the group's settings changed; its dtalk signal depends on which. */
export type SettingEventData = { time: number } & (
  { field: 'name'; value: string } | { field: 'avatar'; value: string } | { field: 'joinType' | 'muteType' | 'friendType'; value: number }
);

/**
 * One committed event as realtime carries it: the event itself, ready to encode, and whose streams it is in, so
 * that every instance can hand it to the sockets concerned without reading it back.
 */
export interface CommittedEvent {
  id: number;
  /** Users concerned directly: the parties of a private event, the uids a membership event names. */
  uids?: string[];
  /** A group whose members (those whose stay covers the event) it concerns. */
  groupId?: number;
  /** A membership change, so that instances keep their group index without reading it back. */
  membership?: { kind: 'join' | 'leave' | 'disband'; uids: string[] };
  /**
   * The event as the streams hold it. Absent when it was too large to carry across instances: the sockets it
   * concerns then read it from the database.
   */
  event?: StreamEvent;
}

/**
 * What one write transaction committed. Ids are dense: the batch took every id in (after, last], so an instance
 * that has applied every batch up to `after` knows at once whether it has missed one. An id of the range that no
 * event has was taken by a write that left nothing behind (a repeated msgId, a work that failed).
 */
export interface CommittedBatch {
  after: number;
  last: number;
  events: CommittedEvent[];
  /** The events were too many to carry across instances: receivers must read what the range holds themselves. */
  incomplete?: true;
}

/** One entry of a user's stream, at position `id`. */
export type StreamEvent =
  | { id: number; kind: 'message'; message: StoredMessage }
  | { id: number; kind: 'received'; data: ReceivedEventData }
  | { id: number; kind: 'read'; data: ReadEventData }
  | { id: number; kind: 'conversation'; data: ConversationEventData }
  | { id: number; kind: 'revoke'; mid: number; channelType: ChannelType; data: RevokeEventData }
  | { id: number; kind: 'focus'; mid: number; channelType: ChannelType; data: FocusEventData }
  | { id: number; kind: 'join' | 'leave'; groupId: number; data: MembershipEventData }
  | { id: number; kind: 'disband'; groupId: number; data: DisbandEventData }
  | { id: number; kind: 'role'; groupId: number; data: RoleEventData }
  | { id: number; kind: 'muteTime'; groupId: number; data: MuteTimeEventData }
  | { id: number; kind: 'setting'; groupId: number; data: SettingEventData };
