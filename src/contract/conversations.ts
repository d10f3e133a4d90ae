/** Conversations, unread counts and receipts (API.md §9). */
import type { ChannelType, Id, MessageRecord } from './messages.js';

export interface ConversationsRequest {
  /** 1 to 200. */
  count: number;
  /** The `next_cursor` of the previous page of the same listing. */
  cursor?: string;
  /** Only the conversations changed after this stream position (a `position` an earlier answer gave). */
  since?: number;
}

export interface Conversation<Record = MessageRecord> {
  /** 0 private (`targetId` is the peer's uid), 1 group (`targetId` is the group id). */
  type: ChannelType;
  targetId: string;
  /** The newest message the caller can see that is not revoked. */
  lastMessage: Record | null;
  /** The stream id of the last change of this conversation for the caller. */
  lastId: number;
  /** Messages from others after `readLogId`, not revoked, sent while the caller was a member. */
  unread: number;
  /** Of them, those whose text mentions the caller. */
  mentions: number;
  /** The caller's read position, a logId ("0" for none). */
  readLogId: string;
  /** Private only: the peer's read position. */
  peerReadLogId?: string;
  muted: boolean;
  pinned: boolean;
}

export interface ConversationsPage<Record = MessageRecord> {
  /** Pinned first, then by last activity, newest first. */
  conversations: Array<Conversation<Record>>;
  /** Unread over all the caller's conversations, muted ones left out. */
  totalUnread: number;
  next_cursor: string | null;
  /** The stream position this listing is as of: pass it as `since` to get only what changed after. */
  position: number;
}

export interface ReadRequest {
  type: ChannelType;
  targetId: string;
  /** A message of the conversation: the caller has read up to it. */
  logId: Id;
}

export interface ReadResult {
  /** The conversation's unread count after the move. */
  unread: number;
}

export interface ReadStatusRequest {
  type: 1;
  groupId: Id;
  /** 1 to 100 messages of the group. */
  logIds: Id[];
  /** Also list who read each. */
  members?: boolean;
}

export interface ReadStatusItem {
  logId: string;
  /** Members (the sender left out) who have read the message... */
  readCount: number;
  /** ...of the members (the sender left out) who were in the group when it was sent and still are. */
  memberCount: number;
  readers?: string[];
}

export interface ReadStatusResult {
  items: ReadStatusItem[];
}

export interface ConversationSettingsRequest {
  type: ChannelType;
  targetId: string;
  /** Muted: still counted, but left out of `totalUnread`. */
  muted?: boolean;
  /** Pinned conversations come first in the list. */
  pinned?: boolean;
}
