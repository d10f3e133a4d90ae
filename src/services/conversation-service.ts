import { AppError } from '../errors.js';
import { ChannelType, type ConversationKey } from '../domain.js';
import type { ConversationCursor, ConversationSummary, Reads, Store } from '../store/store.js';
import { requireMembership } from './group-access.js';

export interface ConversationPage {
  conversations: ConversationSummary[];
  totalUnread: number;
  /** Where the next page starts, absent on the last. */
  nextCursor?: string;
  /** The stream position the listing is as of. */
  position: number;
}

export interface ReadStatus {
  mid: number;
  readCount: number;
  memberCount: number;
  readers: string[];
}

export interface ConversationSettings {
  muted?: boolean;
  pinned?: boolean;
}

/** A cursor: the position of the listing's first page and where this page ended. Opaque to clients. */
interface CursorData extends ConversationCursor {
  position: number;
}

/**
 * Conversations, read positions, read receipts and settings (API.md §9). Every change is an event in the streams
 * it concerns, written in the same transaction as the position it moves, so a device that catches up by any
 * means ends where the others are. Counts are the store's: written with the messages that change them, or
 * counted from the messages, never kept anywhere else.
 */
export class ConversationService {
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async list(uid: string, request: { count: number; cursor?: string; since?: number }): Promise<ConversationPage> {
    const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    const page = await this.store.listConversations(uid, { since: request.since, after: cursor, limit: request.count + 1 });
    // Every page of a listing is as of its first: what changed while they were read comes again after it.
    const position = cursor?.position ?? page.position;
    const conversations = page.conversations.slice(0, request.count);
    const last = conversations.at(-1);
    const nextCursor = page.conversations.length > request.count && last ? encodeCursor({ ...cursorOf(last), position }) : undefined;
    return { conversations, totalUnread: page.totalUnread, nextCursor, position };
  }

  /**
   * Moves the caller's read position forward to `mid` (never back) and answers the unread count after it. A move
   * is a `read` event for the caller's devices and, in a private conversation, the peer's (the read receipt);
   * in a group only the caller's: the group's members ask read-status when they want to know. Everything is
   * checked inside the write, with no read before it: the membership with the batch's (read ahead for all its
   * writes at once), the message by the statement that stores the batch's reads.
   */
  async markRead(uid: string, key: Omit<ConversationKey, 'uid'>, mid: number): Promise<number> {
    const conversation = { uid, ...key };
    const hints = key.channelType === ChannelType.ToGroup ? { memberships: [{ groupId: Number(key.targetId), uid }] } : undefined;
    const { written } = await this.store.write(async (tx) => {
      const windowStart = await this.visibleWindowStart(tx, conversation);
      return tx.queueRead({ key: conversation, mid, windowStart, createdAt: this.now() });
    }, hints);
    const outcome = await written;
    if (!outcome.found) throw AppError.notFound(`message ${mid} not found in this conversation`);
    return outcome.unread;
  }

  /** For each message of the group: how many of the members who could read it have, and who. Members only. */
  async readStatus(uid: string, groupId: number, mids: number[]): Promise<ReadStatus[]> {
    const { membership } = await requireMembership(this.store, groupId, uid);
    const found = new Map((await this.store.getMessages(mids)).map((message) => [message.mid, message]));
    const members = await this.store.groupReadPositions(groupId);
    return mids.map((mid) => {
      const message = found.get(mid);
      const inGroup = message?.channelType === ChannelType.ToGroup && message.targetId === String(groupId);
      if (!message || !inGroup || mid <= membership.joinedId) throw AppError.notFound(`message ${mid} not found in group ${groupId}`);
      // Those who were members when it was sent and still are, the sender left out.
      const audience = members.filter((member) => member.uid !== message.senderId && member.joinedId < mid);
      const readers = audience.filter((member) => member.readMid >= mid).map((member) => member.uid);
      return { mid, readCount: readers.length, memberCount: audience.length, readers };
    });
  }

  /** Mutes or pins a conversation: an event for the caller's devices; a change to nothing changes nothing. */
  async updateSettings(uid: string, key: Omit<ConversationKey, 'uid'>, settings: ConversationSettings): Promise<void> {
    const conversation = { uid, ...key };
    await this.store.write(async (tx) => {
      await this.visibleWindowStart(tx, conversation);
      const kept = await tx.getConversationState(conversation);
      const [wasMuted, wasPinned] = [kept?.muted ?? false, kept?.pinned ?? false];
      const muted = settings.muted ?? wasMuted;
      const pinned = settings.pinned ?? wasPinned;
      if (muted === wasMuted && pinned === wasPinned) return;
      const time = this.now();
      const data = { channelType: key.channelType, targetId: key.targetId, muted, pinned, time };
      const id = await tx.appendUserEvent({ kind: 'conversation', actor: uid, data, createdAt: time }, [uid]);
      await tx.saveConversationSettings(conversation, { muted, pinned }, id);
    });
  }

  /**
   * Where what the caller may see of the conversation starts: 0 for a private one, the current stay's join for a
   * group, which the caller must be in (-1007 otherwise, as for any group they cannot read).
   */
  private async visibleWindowStart(reads: Reads, key: ConversationKey): Promise<number> {
    if (key.channelType === ChannelType.ToUser) return 0;
    const { membership } = await requireMembership(reads, Number(key.targetId), key.uid);
    return membership.joinedId;
  }
}

const cursorOf = (summary: ConversationSummary): ConversationCursor => ({
  pinned: summary.pinned,
  activity: summary.activity,
  channelType: summary.channelType,
  targetId: summary.targetId,
});

function encodeCursor(cursor: CursorData): string {
  return Buffer.from(JSON.stringify([cursor.position, cursor.pinned ? 1 : 0, cursor.activity, cursor.channelType, cursor.targetId])).toString('base64url');
}

function decodeCursor(text: string): CursorData {
  try {
    const [position, pinned, activity, channelType, targetId] = JSON.parse(Buffer.from(text, 'base64url').toString()) as unknown[];
    const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
    if (isId(position) && (pinned === 0 || pinned === 1) && isId(activity) && (channelType === 0 || channelType === 1) && typeof targetId === 'string') {
      return { position, pinned: pinned === 1, activity, channelType, targetId };
    }
  } catch {
    // Answered below, as for any cursor this server did not give.
  }
  throw AppError.invalidParams('cursor must be a next_cursor this server gave');
}
