/** Domain types shared by the services, the store and the codec. Ids are JavaScript numbers below 2^53. */

export const Channel = { ToUser: 0, ToGroup: 1 } as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** The JSON form of a message body (API.md §3): proto field names, zero values omitted. */
export type MessageContent = Record<string, unknown>;

export interface SourceUser {
  id?: string;
  name?: string;
}

export interface MessageSource {
  channelType?: number;
  from?: SourceUser;
  target?: SourceUser;
}

export interface MessageReference {
  topic?: number;
  ref?: number;
}

/** A message as a client submits it, after decoding and validation; `msg` is the serialized body. */
export interface OutgoingMessage {
  channelType: Channel;
  msgId: string;
  targetId: string;
  msgType: number;
  msg: Uint8Array;
  source?: MessageSource;
  reference?: MessageReference;
}

/** A stored message. A revoked one is a tombstone: `msg`, `source` and `reference` are erased. */
export interface StoredMessage {
  mid: number;
  channelType: Channel;
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

export interface FocusEventData {
  uid: string;
  currentNum: number;
  time: number;
}

/** Member types (API.md §5). */
export const MemberType = { Normal: 0, Admin: 1, Owner: 2 } as const;
export type MemberType = (typeof MemberType)[keyof typeof MemberType];

export interface Group {
  id: number;
  name: string;
  ownerId: string;
  memberNum: number;
  createdAt: number;
}

export interface GroupMember {
  memberId: string;
  memberType: MemberType;
}

/** A stay of a user in a group: they see the group's events with joinedId <= id <= leftId. */
export interface Membership {
  groupId: number;
  uid: string;
  memberType: MemberType;
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

export interface RoleEventData {
  uid: string;
  memberType: MemberType;
  time: number;
}

/** One entry of a user's stream, at position `id`. */
export type StreamEvent =
  | { id: number; kind: 'message'; message: StoredMessage }
  | { id: number; kind: 'received'; data: ReceivedEventData }
  | { id: number; kind: 'revoke'; mid: number; channelType: Channel; data: RevokeEventData }
  | { id: number; kind: 'focus'; mid: number; channelType: Channel; data: FocusEventData }
  | { id: number; kind: 'join' | 'leave'; groupId: number; data: MembershipEventData }
  | { id: number; kind: 'disband'; groupId: number; data: DisbandEventData }
  | { id: number; kind: 'role'; groupId: number; data: RoleEventData };

/** The message types a client may send (API.md §3); the others are the server's own or not carried. */
export const SENDABLE_MSG_TYPES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 13] as const;
