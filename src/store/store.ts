import type { OutgoingMessage, StoredMessage, StreamEvent, RevokeEventData, FocusEventData } from '../domain.js';

/** What the services need from storage. The knex implementation is the only place with SQL. */
export interface Store {
  /** The message a sender already stored under msgId, if any (idempotency). */
  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined>;
  /**
   * Runs `work` in one write transaction. Write transactions are serialised, so ids taken inside become
   * visible in id order, and reads inside see every earlier write.
   */
  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T>;
  /** The user's stream after `afterId`, ascending, at most `limit` events; revoked messages left out. */
  readStream(uid: string, afterId: number, limit: number): Promise<StreamEvent[]>;
  /** Messages between two users with mid < beforeId (or the newest), newest first; revoked ones left out. */
  privateHistory(uidA: string, uidB: string, beforeId: number | undefined, limit: number): Promise<StoredMessage[]>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface NewEvent<K extends string, D> {
  kind: K;
  mid: number;
  actor: string;
  data: D;
  createdAt: number;
}

export type NewStreamEvent = NewEvent<'revoke', RevokeEventData> | NewEvent<'focus', FocusEventData>;

export interface WriteTransaction {
  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined>;
  getMessage(mid: number): Promise<StoredMessage | undefined>;
  /** Stores a message under a new id and puts it in the streams of `recipients`. */
  insertMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): Promise<StoredMessage>;
  /** Erases the content, keeping the row as a tombstone of who revoked it and when. */
  markRevoked(mid: number, operator: string, at: number): Promise<void>;
  /** Records one mark; false when this user had marked the message already. */
  addFocusMark(mid: number, uid: string, at: number): Promise<boolean>;
  countFocusMarks(mid: number): Promise<number>;
  /** Appends an event under a new id to the streams of `recipients`; returns its id. */
  appendEvent(event: NewStreamEvent, recipients: string[]): Promise<number>;
}
