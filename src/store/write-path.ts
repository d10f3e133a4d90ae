/**
 * The write path: one write transaction at a time per instance (group commit, group-commit.ts), holding the
 * write lock, taking ids from the counter, running the works of its batch, and committing. A work writes
 * through a WriteTransaction, which records what it committed for realtime and knows whether it has written
 * anything from the statements the transaction itself ran.
 */
import type { Knex } from 'knex';
import type { CommittedEvent, Group, Membership, OutgoingMessage, StoredMessage } from '../domain.js';
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
    if (stored) this.committed.push(stored.channelType === 1 ? { id: stored.mid, groupId: Number(stored.targetId) } : { id: stored.mid, uids: recipients });
    return stored;
  }

  /** Many new messages at once, for loading a data set: see messages.insertMessagesInBulk. */
  async insertMessagesInBulk(entries: messages.BulkMessage[]): Promise<number[]> {
    const mids = await messages.insertMessagesInBulk(this.w, entries);
    entries.forEach(({ message, recipients }, i) =>
      this.committed.push(message.channelType === 1 ? { id: mids[i]!, groupId: Number(message.targetId) } : { id: mids[i]!, uids: recipients }),
    );
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
    this.committed.push(event.groupId === undefined ? { id, uids: recipients } : { id, groupId: event.groupId });
    return id;
  }

  async appendUserEvent(event: NewUserEvent, recipients: string[]): Promise<number> {
    const id = await appendEvent(this.w, event, recipients);
    this.committed.push({ id, uids: recipients });
    return id;
  }

  async appendGroupEvent(event: NewGroupEvent): Promise<number> {
    const id = await appendEvent(this.w, event, []);
    const { groupId } = event;
    if (event.kind === 'join' || event.kind === 'leave') {
      this.committed.push({ id, groupId, uids: event.data.uids, membership: { kind: event.kind, uids: event.data.uids } });
    } else if (event.kind === 'disband') {
      this.committed.push({ id, groupId, membership: { kind: 'disband', uids: [] } });
    } else {
      this.committed.push({ id, groupId });
    }
    return id;
  }

  async createGroup(group: NewGroup, memberIds: string[]): Promise<Group> {
    const created = await groups.createGroup(this.w, group, memberIds);
    const uids = [group.ownerId, ...memberIds.filter((uid) => uid !== group.ownerId)];
    this.committed.push({ id: created.id, groupId: created.id, uids, membership: { kind: 'join', uids } });
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
export async function runBatch(db: Knex, isPostgres: boolean, body: (batch: BatchTransaction<KnexWriteTransaction>) => Promise<void>): Promise<void> {
  const trx = await db.transaction();
  let writes = 0;
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
    const ids = { take: () => ++last };
    await body({
      run: async (work, isolated) => {
        const before = writes;
        try {
          const value = isolated
            ? await trx.transaction((savepoint) => work(new KnexWriteTransaction({ trx: savepoint, ids, isPostgres })))
            : await work(new KnexWriteTransaction({ trx, ids, isPostgres }));
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error, wrote: writes > before };
        }
      },
    });
    if (last !== first) await trx('counters').where({ name: 'event' }).update({ value: last });
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
}
