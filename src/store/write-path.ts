/**
 * The write path: one write transaction at a time per instance (group commit, group-commit.ts), holding the
 * write lock, taking ids from the counter, running the works of its batch, and committing. A work writes
 * through a WriteTransaction, which records the events it committed for realtime and knows whether it has written
 * anything from the statements the transaction itself ran.
 */
import type { Knex } from 'knex';
import {
  ChannelType,
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
import * as groups from './groups.js';
import * as messages from './messages.js';
import { appendEvent, type WriteContext } from './stream.js';
import type { GroupChanges, GroupMembership, NewGroup, NewGroupEvent, NewMessageEvent, NewUserEvent, WriteTransaction } from './store.js';

/** Any constant will do: it names the lock that serialises every write transaction on PostgreSQL. */
const WRITE_LOCK_KEY = 0x63686174; // "chat"

/** Statements that change something; the rest (SELECT, transaction control) do not. */
const WRITES = /^\s*(insert|update|delete|with)\b/i;

/**
 * A committed event and whom it concerns, from the event itself: the parties of a private event (its inbox
 * rows), or the members of its group, plus the uids a membership change names.
 */
function committedEvent(event: StreamEvent, recipients: string[]): CommittedEvent {
  switch (event.kind) {
    case 'message':
      return event.message.channelType === ChannelType.ToGroup
        ? { id: event.id, groupId: Number(event.message.targetId), event }
        : { id: event.id, uids: recipients, event };
    case 'join':
    case 'leave':
      return { id: event.id, groupId: event.groupId, uids: event.data.uids, membership: { kind: event.kind, uids: event.data.uids }, event };
    case 'disband':
      return { id: event.id, groupId: event.groupId, membership: { kind: 'disband', uids: [] }, event };
    case 'role':
    case 'muteTime':
    case 'setting':
      return { id: event.id, groupId: event.groupId, event };
    default:
      return { id: event.id, uids: recipients, event };
  }
}

/** A work's view of the batch's transaction. */
export class KnexWriteTransaction implements WriteTransaction {
  /** The events this work appended, in id order: announced once the batch commits. */
  readonly committed: CommittedEvent[] = [];

  constructor(private readonly w: WriteContext) {}

  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return messages.findMessageByMsgId(this.w.trx, senderId, msgId);
  }

  getMessage(mid: number): Promise<StoredMessage | undefined> {
    return messages.getMessage(this.w.trx, mid);
  }

  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined> {
    return groups.getGroupMembership(this.w.trx, groupId, uid);
  }

  currentMembers(groupId: number, uids: string[]): Promise<Membership[]> {
    return groups.currentMembers(this.w.trx, groupId, uids);
  }

  wasMemberAt(groupId: number, uid: string, id: number): Promise<boolean> {
    return groups.wasMemberAt(this.w.trx, groupId, uid, id);
  }

  async insertMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): Promise<StoredMessage | undefined> {
    const stored = await messages.insertMessage(this.w, senderId, message, createdAt, recipients);
    if (stored) this.committed.push(committedEvent({ id: stored.mid, kind: 'message', message: stored }, recipients));
    return stored;
  }

  /** Many new messages at once, for loading a data set: see messages.insertMessagesInBulk. */
  async insertMessagesInBulk(entries: messages.BulkMessage[]): Promise<number[]> {
    const mids = await messages.insertMessagesInBulk(this.w, entries);
    entries.forEach(({ senderId, message, createdAt, recipients }, i) => {
      const mid = mids[i]!;
      const stored: StoredMessage = { ...message, mid, senderId, createdAt, revokedBy: null, revokedAt: null };
      this.committed.push(committedEvent({ id: mid, kind: 'message', message: stored }, recipients));
    });
    return mids;
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

  markDelivered(receiverId: string, mids: number[], at: number): Promise<Array<{ mid: number; senderId: string }>> {
    return messages.markDelivered(this.w.trx, receiverId, mids, at);
  }

  async appendMessageEvent(event: NewMessageEvent, recipients: string[]): Promise<number> {
    const id = await appendEvent(this.w, event, recipients);
    const { kind, mid, groupId, data } = event;
    const channelType = groupId === undefined ? ChannelType.ToUser : ChannelType.ToGroup;
    this.committed.push({ ...committedEvent({ id, kind, mid, channelType, data } as StreamEvent, recipients), ...(groupId !== undefined && { groupId }) });
    return id;
  }

  async appendUserEvent(event: NewUserEvent, recipients: string[]): Promise<number> {
    const id = await appendEvent(this.w, event, recipients);
    this.committed.push(committedEvent({ id, kind: event.kind, data: event.data }, recipients));
    return id;
  }

  async appendGroupEvent(event: NewGroupEvent): Promise<number> {
    const id = await appendEvent(this.w, event, []);
    const { kind, groupId, data } = event;
    this.committed.push(committedEvent({ id, kind, groupId, data } as StreamEvent, []));
    return id;
  }

  async createGroup(group: NewGroup, memberIds: string[]): Promise<Group> {
    const created = await groups.createGroup(this.w, group, memberIds);
    const uids = [group.ownerId, ...memberIds.filter((uid) => uid !== group.ownerId)];
    this.committed.push(committedEvent({ id: created.id, kind: 'join', groupId: created.id, data: { uids, time: created.createdAt } }, []));
    return created;
  }

  isMarkIdTaken(markId: string): Promise<boolean> {
    return groups.isMarkIdTaken(this.w.trx, markId);
  }

  addMembers(groupId: number, uids: string[], memberType: Membership['memberType'], joinedId: number): Promise<void> {
    return groups.addMembers(this.w.trx, groupId, uids, memberType, joinedId);
  }

  closeMemberships(groupId: number, leftId: number, uids?: string[]): Promise<void> {
    return groups.closeMemberships(this.w.trx, groupId, leftId, uids);
  }

  updateMembers(groupId: number, uids: string[], changes: Partial<Pick<Membership, 'memberType' | 'mutedUntil' | 'memberName'>>): Promise<void> {
    return groups.updateMembers(this.w.trx, groupId, uids, changes);
  }

  updateGroup(groupId: number, changes: GroupChanges): Promise<void> {
    return groups.updateGroup(this.w.trx, groupId, changes);
  }
}

/**
 * One write transaction carrying a batch of works: the lock, the counter read once and written back once, each
 * work run (in a savepoint when `isolated`), then the commit.
 */
export async function runBatch(
  db: Knex,
  isPostgres: boolean,
  body: (batch: BatchTransaction<KnexWriteTransaction>) => Promise<void>,
  onCommitted: (batch: CommittedBatch) => void,
): Promise<void> {
  const trx = await db.transaction();
  let writes = 0;
  let batch: CommittedBatch = { after: 0, last: 0, events: [] };
  trx.on('query', (query: { sql?: string }) => {
    if (WRITES.test(query.sql ?? '')) writes++;
  });
  try {
    // One writer at a time across instances: ids are taken in commit order (no later id can become visible
    // before an earlier one, which a reader past it would never see), and what a service checks inside holds
    // until commit. SQLite has a single connection and so a single writer already.
    if (isPostgres) await trx.raw('select pg_advisory_xact_lock(?)', [WRITE_LOCK_KEY]);
    const counter = await trx('counters').where({ name: 'event' }).first('value');
    const first = Number(counter.value);
    let last = first;
    batch = { after: first, last: first, events: [] };
    const ids = { take: () => ++last };
    await body({
      run: async (work, isolated) => {
        const before = writes;
        try {
          const tx = (on: Knex.Transaction) => (current = new KnexWriteTransaction({ trx: on, ids, isPostgres }));
          let current: KnexWriteTransaction | undefined;
          const value = isolated ? await trx.transaction((savepoint) => work(tx(savepoint))) : await work(tx(trx));
          // Only what succeeded stays: a failed work's events went with its savepoint.
          batch.events.push(...current!.committed);
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error, wrote: writes > before };
        }
      },
    });
    if (last !== first) await trx('counters').where({ name: 'event' }).update({ value: last });
    batch.last = last;
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
  // Announced before anyone is answered, and in commit order: batches commit one at a time.
  if (batch.last !== batch.after) onCommitted(batch);
}
