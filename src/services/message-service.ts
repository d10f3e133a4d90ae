import { AppError } from '../errors.js';
import { Channel, type OutgoingMessage, type StoredMessage } from '../domain.js';
import type { Store } from '../store/store.js';

export interface PushReceipt {
  logId: number;
  datetime: number;
}

export interface MessageServiceOptions {
  revokeWindowMs: number;
  now?: () => number;
}

const receiptOf = (message: StoredMessage): PushReceipt => ({ logId: message.mid, datetime: message.createdAt });

/** A private message concerns its two parties, and nobody else may learn that it exists. */
const concerns = (message: StoredMessage, uid: string): boolean => message.senderId === uid || message.targetId === uid;

const privateParties = (message: StoredMessage): string[] => [message.senderId, message.targetId];

/** Sending, recalling and marking messages: the rules of API.md §4.1, §4.5 and §4.6. */
export class MessageService {
  private readonly revokeWindowMs: number;
  private readonly now: () => number;

  constructor(private readonly store: Store, options: MessageServiceOptions) {
    this.revokeWindowMs = options.revokeWindowMs;
    this.now = options.now ?? Date.now;
  }

  async push(senderId: string, message: OutgoingMessage): Promise<PushReceipt> {
    // The common repeat costs one indexed read and no write lock; the check inside the transaction settles races.
    const earlier = await this.store.findMessageByMsgId(senderId, message.msgId);
    if (earlier) return receiptOf(earlier);
    if (message.channelType === Channel.ToGroup) throw AppError.notFound(`group ${message.targetId} does not exist`);

    return this.store.write(async (tx) => {
      const raced = await tx.findMessageByMsgId(senderId, message.msgId);
      if (raced) return receiptOf(raced);
      const stored = await tx.insertMessage(senderId, message, this.now(), [senderId, message.targetId]);
      return receiptOf(stored);
    });
  }

  async revoke(uid: string, channelType: Channel, logId: number): Promise<void> {
    await this.store.write(async (tx) => {
      const message = await tx.getMessage(logId);
      if (!message || message.channelType !== channelType || !concerns(message, uid)) throw messageNotFound(logId);
      if (message.senderId !== uid) throw AppError.permissionDenied('only the sender may revoke a private message');
      if (message.revokedAt !== null) return;
      const now = this.now();
      if (now - message.createdAt > this.revokeWindowMs) {
        throw AppError.permissionDenied(`the revoke window of ${this.revokeWindowMs} ms after sending has passed`);
      }
      await tx.markRevoked(message.mid, uid, now);
      await tx.appendEvent(
        { kind: 'revoke', mid: message.mid, actor: uid, data: { operator: uid, self: uid === message.senderId }, createdAt: now },
        privateParties(message),
      );
    });
  }

  /** Returns the number of distinct users who marked the message. */
  async focus(uid: string, channelType: Channel, logId: number): Promise<number> {
    return this.store.write(async (tx) => {
      const message = await tx.getMessage(logId);
      if (!message || message.channelType !== channelType || !concerns(message, uid) || message.revokedAt !== null) {
        throw messageNotFound(logId);
      }
      if (message.senderId === uid) throw AppError.permissionDenied('only the receiver may focus a private message');
      const now = this.now();
      const marked = await tx.addFocusMark(message.mid, uid, now);
      const currentNum = await tx.countFocusMarks(message.mid);
      if (marked) {
        await tx.appendEvent(
          { kind: 'focus', mid: message.mid, actor: uid, data: { uid, currentNum, time: now }, createdAt: now },
          privateParties(message),
        );
      }
      return currentNum;
    });
  }
}

function messageNotFound(logId: number): AppError {
  return AppError.notFound(`message ${logId} not found`);
}
