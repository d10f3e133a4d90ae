/**
 * The write path: write transactions carrying batches of works (group commit, group-commit.ts), each holding the
 * write lock, taking ids from the counter, running the works of its batch, storing the messages they queued all at
 * once, and committing. A work writes through a WriteTransaction, which records the events it committed for
 * realtime; whether a work has written anything is known from the statements the transaction ran while it did.
 */
import type { Knex } from 'knex';
import {
  ChannelType,
  type ConversationKey,
  type ConversationState,
  type CommittedBatch,
  type CommittedEvent,
  type Group,
  type Membership,
  type OutgoingMessage,
  type StoredMessage,
  type StreamEvent,
} from '../domain.js';
import { AppError } from '../errors.js';
import type { BatchTransaction } from './group-commit.js';
import * as conversations from './conversations.js';
import * as groups from './groups.js';
import * as messages from './messages.js';
import { preparedStatements, type SqliteConnection } from './sqlite-statements.js';
import { committedEvent } from './committed-events.js';
import { appendEvent, type WriteContext } from './stream.js';
import type {
  GroupChanges,
  GroupMembership,
  MessageWrite,
  NewGroup,
  NewRead,
  NewGroupEvent,
  NewMessageEvent,
  NewUserEvent,
  QueuedMessage,
  QueuedRead,
  ReadWrite,
  WriteHints,
  WriteTransaction,
} from './store.js';

/** Any constant will do: it names the lock that serialises every write transaction on PostgreSQL. */
const WRITE_LOCK_KEY = 0x63686174; // "chat"

/** Statements that change something; the rest (SELECT, transaction control) do not. */
const WRITES = /^\s*(insert|update|delete|with)\b/i;

/** A queued message and the settling of its `written`. */
type Queued = messages.NewMessage & { settle(write: MessageWrite): void };

/**
 * Stores queued messages in one go and settles each: new ones join the batch's committed events, repeats are
 * answered with the message their sender stored first. `counter` goes along as in insertMessages.
 */
async function storeQueued(w: WriteContext, queued: Queued[], events: CommittedEvent[], counter?: number): Promise<void> {
  if (queued.length === 0) return;
  const stored = await messages.insertMessages(w, queued, counter);
  queued.forEach((entry, i) => {
    const { mid, createdAt } = stored[i]!;
    if (mid !== entry.mid) return entry.settle({ isNew: false, mid, createdAt });
    const { message, senderId, recipients } = entry;
    const storedMessage: StoredMessage = { ...message, mid, senderId, createdAt, revokedBy: null, revokedAt: null };
    events.push(committedEvent({ id: mid, kind: 'message', message: storedMessage }, recipients));
    entry.settle({ isNew: true, message: storedMessage });
  });
}

/** A queued read and the settling of its `written`. */
type QueuedReadEntry = conversations.IdentifiedRead & { settle(write: ReadWrite): void };

/**
 * Stores queued reads in one go and settles each; those that moved join the batch's committed events. `counter`
 * goes along as in insertMessages.
 */
async function storeQueuedReads(w: WriteContext, queued: QueuedReadEntry[], events: CommittedEvent[], counter?: number): Promise<void> {
  if (queued.length === 0) return;
  const outcomes = await conversations.storeReads(w, queued, counter);
  queued.forEach((entry, i) => {
    const outcome = outcomes[i]!;
    if (outcome.found && outcome.moved) {
      const { data, recipients } = conversations.readEvent(entry);
      events.push(committedEvent({ id: entry.id, kind: 'read', data }, recipients));
    }
    entry.settle(outcome);
  });
}

/** A work's view of the batch's transaction. */
export class KnexWriteTransaction implements WriteTransaction {
  /** The events this work appended, in id order: announced once the batch commits. */
  readonly committed: CommittedEvent[] = [];
  /** The messages it queued, stored when the batch flushes (or, isolated, when the work ends). */
  readonly queued: Queued[] = [];
  /** The reads it queued, stored after the messages. */
  readonly reads: QueuedReadEntry[] = [];

  constructor(
    private readonly w: WriteContext,
    /** Memberships the batch read ahead (prepare), by groups.membershipKey; emptied by any change to groups. */
    private readonly readAhead: Map<string, GroupMembership | undefined>,
  ) {}

  /** A change to a group or its members: what was read ahead may no longer hold. */
  private changesGroups(): void {
    this.readAhead.clear();
  }

  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return messages.findMessageByMsgId(this.w.trx, senderId, msgId);
  }

  getMessage(mid: number): Promise<StoredMessage | undefined> {
    return messages.getMessage(this.w.trx, mid);
  }

  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined> {
    const key = groups.membershipKey(groupId, uid);
    if (this.readAhead.has(key)) return Promise.resolve(this.readAhead.get(key));
    return groups.getGroupMembership(this.w.trx, groupId, uid);
  }

  currentMembers(groupId: number, uids: string[]): Promise<Membership[]> {
    return groups.currentMembers(this.w.trx, groupId, uids);
  }

  wasMemberAt(groupId: number, uid: string, id: number): Promise<boolean> {
    return groups.wasMemberAt(this.w.trx, groupId, uid, id);
  }

  queueMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): QueuedMessage {
    const mid = this.w.ids.take();
    let settle!: (write: MessageWrite) => void;
    const written = new Promise<MessageWrite>((resolve) => (settle = resolve));
    this.queued.push({ mid, senderId, message, createdAt, recipients, settle });
    return { mid, written };
  }

  queueRead(read: NewRead): QueuedRead {
    const id = this.w.ids.take();
    let settle!: (write: ReadWrite) => void;
    const written = new Promise<ReadWrite>((resolve) => (settle = resolve));
    this.reads.push({ ...read, id, settle });
    return { written };
  }

  markRevoked(mid: number, operator: string, at: number): Promise<void> {
    return messages.markRevoked(this.w.trx, mid, operator, at);
  }

  addFocusMark(mid: number, uid: string, at: number): Promise<boolean> {
    return messages.addFocusMark(this.w.trx, mid, uid, at);
  }

  countFocusMarks(mid: number): Promise<number> {
    return messages.countFocusMarks(this.w.trx, mid);
  }

  getConversationState(key: ConversationKey): Promise<ConversationState | undefined> {
    return conversations.getConversationState(this.w.trx, key);
  }

  saveConversationSettings(key: ConversationKey, settings: Pick<ConversationState, 'muted' | 'pinned'>, changedId: number): Promise<void> {
    return conversations.saveConversationSettings(this.w.trx, key, settings, changedId);
  }

  uncountRevoked(receiver: ConversationKey, mid: number): Promise<void> {
    return conversations.uncountRevoked(this.w.trx, receiver, mid);
  }

  touchConversations(keys: ConversationKey[], changedId: number): Promise<void> {
    return conversations.touchConversations(this.w.trx, keys, changedId);
  }

  markDelivered(receiverId: string, mids: number[], at: number): Promise<Array<{ mid: number; senderId: string }>> {
    return messages.markDelivered(this.w.trx, receiverId, mids, at);
  }

  async appendMessageEvent(event: NewMessageEvent, recipients: string[]): Promise<number> {
    const id = await appendEvent(this.w, event, recipients);
    const { kind, mid, groupId, data } = event;
    const channelType = groupId === undefined ? ChannelType.ToUser : ChannelType.ToGroup;
    this.committed.push(committedEvent({ id, kind, mid, channelType, data } as StreamEvent, recipients, groupId));
    return id;
  }

  async appendUserEvent(event: NewUserEvent, recipients: string[]): Promise<number> {
    const id = await appendEvent(this.w, event, recipients);
    this.committed.push(committedEvent({ id, kind: event.kind, data: event.data } as StreamEvent, recipients));
    return id;
  }

  async appendGroupEvent(event: NewGroupEvent): Promise<number> {
    const id = await appendEvent(this.w, event, []);
    const { kind, groupId, data } = event;
    this.committed.push(committedEvent({ id, kind, groupId, data } as StreamEvent, []));
    return id;
  }

  async createGroup(group: NewGroup, memberIds: string[]): Promise<Group> {
    this.changesGroups();
    const created = await groups.createGroup(this.w, group, memberIds);
    const uids = [group.ownerId, ...memberIds.filter((uid) => uid !== group.ownerId)];
    this.committed.push(committedEvent({ id: created.id, kind: 'join', groupId: created.id, data: { uids, time: created.createdAt } }, []));
    return created;
  }

  isMarkIdTaken(markId: string): Promise<boolean> {
    return groups.isMarkIdTaken(this.w.trx, markId);
  }

  addMembers(groupId: number, uids: string[], memberType: Membership['memberType'], joinedId: number): Promise<void> {
    this.changesGroups();
    return groups.addMembers(this.w.trx, groupId, uids, memberType, joinedId);
  }

  closeMemberships(groupId: number, leftId: number, uids?: string[]): Promise<void> {
    this.changesGroups();
    return groups.closeMemberships(this.w.trx, groupId, leftId, uids);
  }

  updateMembers(groupId: number, uids: string[], changes: Partial<Pick<Membership, 'memberType' | 'mutedUntil' | 'memberName'>>): Promise<void> {
    this.changesGroups();
    return groups.updateMembers(this.w.trx, groupId, uids, changes);
  }

  updateGroup(groupId: number, changes: GroupChanges): Promise<void> {
    this.changesGroups();
    return groups.updateGroup(this.w.trx, groupId, changes);
  }
}

const sqliteCounter = (connection: SqliteConnection) => ({
  read: connection.prepare("select value from counters where name = 'event'"),
  write: connection.prepare("update counters set value = ? where name = 'event'"),
});

async function writeCounter(trx: Knex.Transaction, isPostgres: boolean, value: number): Promise<void> {
  if (isPostgres) await trx('counters').where({ name: 'event' }).update({ value });
  else (await preparedStatements(trx, sqliteCounter)).write.run(value);
}

/**
 * Takes the write lock and reads the counter. On PostgreSQL both go in one round trip: statements without
 * parameters travel together as one simple query.
 */
async function lockAndReadCounter(trx: Knex.Transaction, isPostgres: boolean): Promise<number> {
  if (!isPostgres) return Number(((await preparedStatements(trx, sqliteCounter)).read.get() as { value: number }).value);
  const [, counter] = (await trx.raw(`select pg_advisory_xact_lock(${WRITE_LOCK_KEY}); select value from counters where name = 'event'`)) as Array<{
    rows: Array<{ value: string }>;
  }>;
  return Number(counter!.rows[0]!.value);
}

/**
 * One write transaction carrying a batch of works: the lock, the counter read once and written back once, each
 * work run (in a savepoint when `isolated`), the messages they queued stored together, then the commit.
 */
export async function runBatch(
  db: Knex,
  isPostgres: boolean,
  body: (batch: BatchTransaction<KnexWriteTransaction, WriteHints>) => Promise<void>,
  onCommitted: (batch: CommittedBatch) => void,
): Promise<void> {
  const trx = await db.transaction();
  let writes = 0;
  const batch: CommittedBatch = { after: 0, last: 0, events: [] };
  trx.on('query', (query: { sql?: string }) => {
    if (WRITES.test(query.sql ?? '')) writes++;
  });
  try {
    // One writer at a time across instances: ids are taken in commit order (no later id can become visible
    // before an earlier one, which a reader past it would never see), and what a service checks inside holds
    // until commit. SQLite has a single connection and so a single writer already.
    const first = await lockAndReadCounter(trx, isPostgres);
    let last = first;
    /** The value the counter holds in this transaction. */
    let counter = first;
    batch.after = first;
    const ids = { take: () => ++last };
    const queued: Queued[] = [];
    const queuedReads: QueuedReadEntry[] = [];
    const readAhead = new Map<string, GroupMembership | undefined>();
    await body({
      prepare: async (hints) => {
        const pairs = hints.flatMap((hint) => hint.memberships ?? []);
        if (pairs.length > 0) for (const [key, found] of await groups.getGroupMemberships(trx, pairs)) readAhead.set(key, found);
      },
      run: async (work, isolated) => {
        const before = writes;
        let current: KnexWriteTransaction | undefined;
        const tx = (on: Knex.Transaction) => (current = new KnexWriteTransaction({ trx: on, ids, isPostgres }, readAhead));
        try {
          const value = isolated
            ? await trx.transaction(async (savepoint) => {
                const value = await work(tx(savepoint));
                await storeQueued({ trx: savepoint, ids, isPostgres }, current!.queued, current!.committed);
                await storeQueuedReads({ trx: savepoint, ids, isPostgres }, current!.reads, current!.committed);
                return value;
              })
            : await work(tx(trx));
          // Only what succeeded stays: a failed work's events went with its savepoint, its queue with it.
          batch.events.push(...current!.committed);
          if (!isolated) {
            queued.push(...current!.queued);
            queuedReads.push(...current!.reads);
          }
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error, wrote: writes > before };
        }
      },
      // Last in the batch, so that on PostgreSQL its last statement writes the counter too: one round trip fewer.
      flush: async () => {
        const w = { trx, ids, isPostgres };
        const value = last;
        const counterWith = (isLast: boolean) => (isPostgres && isLast ? value : undefined);
        const [messagesToStore, readsToStore] = [queued.splice(0), queuedReads.splice(0)];
        await storeQueued(w, messagesToStore, batch.events, counterWith(readsToStore.length === 0));
        // After the messages, so that a read counts what the batch stored before it and may read one of them.
        await storeQueuedReads(w, readsToStore, batch.events, counterWith(true));
        if (isPostgres && messagesToStore.length + readsToStore.length > 0) counter = value;
      },
    });
    if (last !== counter) await writeCounter(trx, isPostgres, last);
    batch.last = last;
    // Queued messages joined the events as they were stored, after the works' other events.
    batch.events.sort((a, b) => a.id - b.id);
  } catch (err) {
    await trx.rollback().catch(() => undefined);
    throw err;
  }
  try {
    // knex's commit() resolves even when COMMIT fails; the failure reaches only the execution promise.
    await trx.commit();
    await trx.executionPromise;
  } catch (err) {
    // The database may have committed before the connection failed: nobody can say "nothing was written".
    throw AppError.outcomeUnknown(err);
  }
  // Announced before anyone is answered. Batches commit one after another (the lock), so in id order; the
  // realtime side puts announcements back in that order should the bus reorder them.
  if (batch.last !== batch.after) onCommitted(batch);
}
