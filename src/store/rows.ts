/**
 * The tables' rows and their mapping to domain objects: the one place that knows column names, and where
 * 64-bit integers (strings from pg, numbers from SQLite) become numbers.
 */
import {
  MemberType,
  type ChannelType,
  type FriendType,
  type Group,
  type GroupSettings,
  type JoinType,
  type Membership,
  type MuteType,
  type StoredMessage,
  type StreamEvent,
} from '../domain.js';

export interface MessageRow {
  mid: number | string;
  channel_type: number;
  msg_id: string;
  sender_id: string;
  target_id: string;
  msg_type: number;
  msg: Buffer | null;
  source: string | null;
  reference: string | null;
  created_at: number | string;
  revoked_by: string | null;
  revoked_at: number | string | null;
}

export interface StreamRow extends MessageRow {
  id: number | string;
  kind: string;
  event_mid: number | string | null;
  group_id: number | string | null;
  data: string | null;
}

export interface GroupRow {
  id: number | string;
  mark_id: string;
  name: string;
  public_name: string;
  avatar: string;
  introduce: string;
  owner_id: string;
  member_num: number | string;
  created_at: number | string;
  join_type: number;
  mute_type: number;
  friend_type: number;
  group_type: number;
  aes_key: string;
}

export interface MembershipRow {
  group_id: number | string;
  uid: string;
  member_type: number;
  member_name: string;
  muted_until: number | string;
  joined_id: number | string;
  left_id: number | string | null;
}

/** The columns of each group setting. */
export const SETTING_COLUMNS: Record<keyof GroupSettings, string> = {
  name: 'name',
  publicName: 'public_name',
  avatar: 'avatar',
  introduce: 'introduce',
  joinType: 'join_type',
  muteType: 'mute_type',
  friendType: 'friend_type',
};

/** Private conversations are keyed by their two uids in sorted order; uids never contain a space. */
export function privateConversation(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

export function groupConversation(groupId: number): string {
  return `g:${groupId}`;
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    mid: Number(row.mid),
    channelType: row.channel_type as ChannelType,
    msgId: row.msg_id,
    senderId: row.sender_id,
    targetId: row.target_id,
    msgType: row.msg_type,
    msg: row.msg === null ? null : new Uint8Array(row.msg),
    ...(row.source !== null && { source: JSON.parse(row.source) }),
    ...(row.reference !== null && { reference: JSON.parse(row.reference) }),
    createdAt: Number(row.created_at),
    revokedBy: row.revoked_by,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export function toStreamEvent(row: StreamRow): StreamEvent {
  const id = Number(row.id);
  const data = row.data === null ? undefined : JSON.parse(row.data);
  switch (row.kind) {
    case 'message':
      return { id, kind: 'message', message: toMessage(row) };
    case 'received':
    case 'read':
    case 'conversation':
      return { id, kind: row.kind, data } as StreamEvent;
    case 'revoke':
    case 'focus':
      return { id, kind: row.kind, mid: Number(row.event_mid), channelType: row.channel_type as ChannelType, data };
    case 'join':
    case 'leave':
    case 'disband':
    case 'role':
    case 'muteTime':
    case 'setting':
      return { id, kind: row.kind, groupId: Number(row.group_id), data } as StreamEvent;
    default:
      throw new Error(`unknown event kind ${row.kind} at id ${id}`);
  }
}

export function toGroup(row: GroupRow): Group {
  return {
    id: Number(row.id),
    markId: row.mark_id,
    name: row.name,
    publicName: row.public_name,
    avatar: row.avatar,
    introduce: row.introduce,
    ownerId: row.owner_id,
    memberNum: Number(row.member_num),
    createdAt: Number(row.created_at),
    joinType: row.join_type as JoinType,
    muteType: row.mute_type as MuteType,
    friendType: row.friend_type as FriendType,
    groupType: row.group_type,
    key: row.aes_key,
  };
}

export function toMembership(row: MembershipRow): Membership {
  return {
    groupId: Number(row.group_id),
    uid: row.uid,
    memberType: row.member_type as MemberType,
    memberName: row.member_name,
    mutedUntil: Number(row.muted_until),
    joinedId: Number(row.joined_id),
    leftId: row.left_id === null ? null : Number(row.left_id),
  };
}

/**
 * Group operations may name 10,000 uids, and statements have limits: SQLite takes 32766 placeholders, and
 * knex writes a multi-row insert on SQLite as a compound SELECT of at most 500 terms.
 */
export const CHUNK = 400;

export function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export const MESSAGE_COLUMNS = [
  'm.mid',
  'm.channel_type',
  'm.msg_id',
  'm.sender_id',
  'm.target_id',
  'm.msg_type',
  'm.msg',
  'm.source',
  'm.reference',
  'm.created_at',
  'm.revoked_by',
  'm.revoked_at',
];
