import { AppError } from '../errors.js';
import { ChannelType, MemberType, MuteType, MUTED_FOREVER, type Group, type Membership, type OutgoingMessage, type StoredMessage } from '../domain.js';
import type { Store, WriteTransaction } from '../store/store.js';
import { requireMembership } from './group-access.js';

/** What a sender learns of a stored message: its id and the time the server gave it. */
export interface PushReceipt {
  mid: number;
  createdAt: number;
}

export interface MessageServiceOptions {
  revokeWindowMs: number;
  /** Told of every message stored (not of repeats), for metrics. */
  onStored?: (message: StoredMessage) => void;
  now?: () => number;
}

/** Who may revoke a message: at any time, only within the window after sending, or not at all (thrown). */
type RevokeRight = 'always' | 'within-window';

/** Where a message's events go: the two parties of a private message, the group's timeline for a group one. */
interface Audience {
  recipients: string[];
  groupId?: number;
}

/** The most messages one delivery receipt lists (about 10 bytes each in protobuf). */
const MAX_RECEIPT_MIDS = 1000;

const receiptOf = (message: StoredMessage): PushReceipt => ({ mid: message.mid, createdAt: message.createdAt });

const groupIdOf = (message: StoredMessage): number => Number(message.targetId);

const audienceOf = (message: StoredMessage): Audience =>
  message.channelType === ChannelType.ToGroup ? { recipients: [], groupId: groupIdOf(message) } : { recipients: [message.senderId, message.targetId] };

/** Sending, recalling and marking messages: the rules of API.md §4.1, §4.5 and §4.6. */
export class MessageService {
  private readonly revokeWindowMs: number;
  private readonly onStored: (message: StoredMessage) => void;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: MessageServiceOptions,
  ) {
    this.revokeWindowMs = options.revokeWindowMs;
    this.onStored = options.onStored ?? (() => undefined);
    this.now = options.now ?? Date.now;
  }

  async push(senderId: string, message: OutgoingMessage): Promise<PushReceipt> {
    const group = message.channelType === ChannelType.ToGroup;
    // A repeat goes through the write path like a new message: no read before, the unique key settles it there.
    const { written } = await this.store.write(
      async (tx) => {
        // Checked inside the transaction, so that a member removed or muted a moment ago cannot still post.
        if (group) await this.checkMayPostOrRepeat(tx, senderId, message);
        return tx.queueMessage(senderId, message, this.now(), group ? [] : [senderId, message.targetId]);
      },
      // The batch reads the memberships of all its group sends in one query.
      group ? { memberships: [{ groupId: Number(message.targetId), uid: senderId }] } : undefined,
    );
    const write = await written;
    if (!write.isNew) return { mid: write.mid, createdAt: write.createdAt };
    this.onStored(write.message);
    return receiptOf(write.message);
  }

  /**
   * A group message may be posted by a member who is not muted; a repeat of one stored before the sender lost
   * that right is still the message stored, and answered as stored, by the queue, like any repeat.
   */
  private async checkMayPostOrRepeat(tx: WriteTransaction, senderId: string, message: OutgoingMessage): Promise<void> {
    try {
      checkMayPost(await requireMembership(tx, Number(message.targetId), senderId), this.now());
    } catch (err) {
      if (!(await tx.findMessageByMsgId(senderId, message.msgId))) throw err;
    }
  }

  async revoke(uid: string, channelType: ChannelType, mid: number): Promise<void> {
    await this.store.write(async (tx) => {
      const message = await this.messageConcerning(tx, uid, channelType, mid);
      const right = message.channelType === ChannelType.ToGroup ? await this.groupRevokeRight(tx, message, uid) : privateRevokeRight(message, uid);
      if (message.revokedAt !== null) return;
      const now = this.now();
      if (right === 'within-window' && now - message.createdAt > this.revokeWindowMs) {
        throw AppError.permissionDenied(`the revoke window of ${this.revokeWindowMs} ms after sending has passed`);
      }
      await tx.markRevoked(message.mid, uid, now);
      const audience = audienceOf(message);
      const id = await tx.appendMessageEvent(
        { kind: 'revoke', mid: message.mid, groupId: audience.groupId, actor: uid, data: { operator: uid, self: uid === message.senderId }, createdAt: now },
        audience.recipients,
      );
      // Both parties' lists change (the last message, the receiver's unread count); a group's do by its own events.
      if (audience.groupId === undefined) {
        await tx.uncountRevoked({ uid: message.targetId, channelType: ChannelType.ToUser, targetId: message.senderId }, message.mid);
        await tx.touchConversations(privateConversationsOf(message), id);
      }
    });
  }

  /**
   * Private messages reached a device of `receiverId` (its comet client acknowledged them). Each sender whose
   * messages were delivered for the first time gets one `received` event listing them: the dtalk Signal
   * Received, the "delivered" tick. Repeats, group messages and one's own messages change nothing.
   */
  async markDelivered(receiverId: string, mids: number[]): Promise<void> {
    if (mids.length === 0) return;
    await this.store.write(async (tx) => {
      const now = this.now();
      const bySender = new Map<string, number[]>();
      for (const { mid, senderId } of await tx.markDelivered(receiverId, mids, now)) {
        bySender.set(senderId, [...(bySender.get(senderId) ?? []), mid]);
      }
      for (const [senderId, delivered] of bySender) {
        delivered.sort((a, b) => a - b);
        // A few thousand at most per event, so that a receipt always fits a comet frame.
        for (let i = 0; i < delivered.length; i += MAX_RECEIPT_MIDS) {
          const data = { peer: receiverId, mids: delivered.slice(i, i + MAX_RECEIPT_MIDS), time: now };
          await tx.appendUserEvent({ kind: 'received', actor: receiverId, data, createdAt: now }, [senderId]);
        }
      }
    });
  }

  /**
   * Returns the number of distinct users who marked the message. API.md §4.6 answers everyone but the receiver
   * (private) or a current member (group) with -1019, not the -1007 of a revoke by a stranger; a member who joined
   * after the message never saw it, so for them it is not found.
   */
  async focus(uid: string, channelType: ChannelType, mid: number): Promise<number> {
    return this.store.write(async (tx) => {
      const message = await tx.getMessage(mid);
      if (!message || message.channelType !== channelType || message.revokedAt !== null) throw messageNotFound(mid);
      if (message.senderId === uid) throw AppError.permissionDenied('the sender cannot focus their own message');
      if (message.channelType === ChannelType.ToGroup) {
        await requireMembership(tx, groupIdOf(message), uid);
        if (!(await tx.wasMemberAt(groupIdOf(message), uid, message.mid))) throw messageNotFound(mid);
      } else if (message.targetId !== uid) {
        throw AppError.permissionDenied('only the receiver may focus a private message');
      }
      const now = this.now();
      const marked = await tx.addFocusMark(message.mid, uid, now);
      const currentNum = await tx.countFocusMarks(message.mid);
      if (!marked) return currentNum;
      const audience = audienceOf(message);
      await tx.appendMessageEvent(
        { kind: 'focus', mid: message.mid, groupId: audience.groupId, actor: uid, data: { uid, currentNum, time: now }, createdAt: now },
        audience.recipients,
      );
      return currentNum;
    });
  }

  /**
   * The message, if it exists in that channel and the caller could ever see it: a party of a private message,
   * or a member of the group when it was sent. Anyone else gets -1007 and learns nothing.
   */
  private async messageConcerning(tx: WriteTransaction, uid: string, channelType: ChannelType, mid: number): Promise<StoredMessage> {
    const message = await tx.getMessage(mid);
    if (!message || message.channelType !== channelType) throw messageNotFound(mid);
    const concerns =
      message.channelType === ChannelType.ToGroup
        ? await tx.wasMemberAt(groupIdOf(message), uid, message.mid)
        : message.senderId === uid || message.targetId === uid;
    if (!concerns) throw messageNotFound(mid);
    return message;
  }

  /** The owner any message at any time; an admin any message not sent by the owner; the sender within the window. */
  private async groupRevokeRight(tx: WriteTransaction, message: StoredMessage, uid: string): Promise<RevokeRight> {
    const { group, membership } = await requireMembership(tx, groupIdOf(message), uid);
    if (membership.memberType === MemberType.Owner) return 'always';
    if (membership.memberType === MemberType.Admin && message.senderId !== group.ownerId) return 'always';
    if (message.senderId === uid) return 'within-window';
    throw AppError.permissionDenied('only the sender, the group owner or an admin may revoke this message');
  }
}

/** muteType 1 leaves posting to the owner and admins; a muted member waits for the mute to end. */
function checkMayPost({ group, membership }: { group: Group; membership: Membership }, now: number): void {
  if (membership.memberType !== MemberType.Normal) return;
  if (group.muteType === MuteType.AdminsOnly) throw AppError.permissionDenied(`only the owner and admins may post in group ${group.id}`);
  if (membership.mutedUntil > now) {
    const until = membership.mutedUntil === MUTED_FOREVER ? 'for ever' : `until ${new Date(membership.mutedUntil).toISOString()}`;
    throw AppError.permissionDenied(`you are muted in group ${group.id} ${until}`);
  }
}

const privateConversationsOf = ({ senderId, targetId }: StoredMessage) => [
  { uid: senderId, channelType: ChannelType.ToUser, targetId },
  { uid: targetId, channelType: ChannelType.ToUser, targetId: senderId },
];

function privateRevokeRight(message: StoredMessage, uid: string): RevokeRight {
  if (message.senderId !== uid) throw AppError.permissionDenied('only the sender may revoke a private message');
  return 'within-window';
}

function messageNotFound(mid: number): AppError {
  return AppError.notFound(`message ${mid} not found`);
}
