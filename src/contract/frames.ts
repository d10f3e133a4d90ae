/** The /ws frames (API.md §6): JSON text, one event each, every event frame with its stream position `id`. */
import type { ChannelType, MessageRecord } from './messages.js';
import type { MemberType } from './groups.js';

export interface MessageFrame<Record = MessageRecord> {
  type: 'message';
  id: number;
  record: Record;
}
export interface RevokeFrame {
  type: 'revoke';
  id: number;
  logId: string;
  channelType: ChannelType;
  operator: string;
  self: boolean;
}
export interface FocusFrame {
  type: 'focus';
  id: number;
  logId: string;
  channelType: ChannelType;
  uid: string;
  currentNum: number;
  time: number;
}
export interface GroupFrame<Int64 = number> {
  type: 'group';
  id: number;
  event: 'join' | 'leave' | 'disband' | 'role' | 'muteTime' | 'name' | 'avatar' | 'joinType' | 'friendType' | 'muteType';
  groupId: number;
  /** Those concerned: who joined, left, changed type or were muted; none for the group's own settings. */
  uids: string[];
  /** Set for `role`. */
  memberType?: MemberType;
  /** Set for `muteTime`, as GroupMember.memberMuteTime. */
  memberMuteTime?: Int64;
  /** The new value, under the name of the setting that changed: `name`, `avatar`, `joinType`, ... */
  name?: string;
  avatar?: string;
  joinType?: number;
  friendType?: number;
  muteType?: number;
}

/** Messages this user sent to `targetId` reached one of that user's devices: `logIds`, up to `logId`. */
export interface DeliveredFrame {
  type: 'delivered';
  id: number;
  targetId: string;
  uid: string;
  logId: string;
  logIds: string[];
}

/**
 * `uid` read up to `logId` in the conversation with `targetId` (their peer, or a group): on the reader's own
 * devices (`uid` is the caller) their read position moved; on a private peer's devices it is a read receipt.
 */
export interface ReadFrame {
  type: 'read';
  id: number;
  channelType: ChannelType;
  targetId: string;
  uid: string;
  logId: string;
}

/** The caller's settings of a conversation changed (on any of their devices): the state after the change. */
export interface ConversationFrame {
  type: 'conversation';
  id: number;
  channelType: ChannelType;
  targetId: string;
  muted: boolean;
  pinned: boolean;
}

/** An event frame; the server writes it with its own record type and bigints (`Record`, `Int64`). */
export type ChatlogEvent<Record = MessageRecord, Int64 = number> =
  MessageFrame<Record> | DeliveredFrame | RevokeFrame | FocusFrame | GroupFrame<Int64> | ReadFrame | ConversationFrame;

/** The `type` of every event frame: a frame of another type with an id comes from a newer server. */
export const EVENT_FRAME_TYPES: ReadonlySet<ChatlogEvent['type']> = new Set(['message', 'delivered', 'revoke', 'focus', 'group', 'read', 'conversation']);

/** The client frames /ws reads: a ping, and an acknowledgement of every event up to `id` (delivery receipts). */
export type ClientFrame = { type: 'ping' } | { type: 'ack'; id: number };

/** Every frame the server may send, events and control frames alike. */
export type ServerFrame = ChatlogEvent | { type: 'ready'; id: number } | { type: 'pong' } | { type: 'error'; message: string };
