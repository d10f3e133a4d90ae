/**
 * The Store on knex, over SQLite or PostgreSQL: reads go straight to the aggregate modules (messages, groups,
 * stream, devices), writes through group commit (write-path.ts). Once a batch commits, the events it committed
 * are announced, so realtime hears of exactly what was written and services never build notifications.
 */
import type { Knex } from 'knex';
import type { CommittedBatch, CommittedEvent, Group, Membership, StoredMessage, StreamEvent } from '../domain.js';
import { Refusal } from '../errors.js';
import * as conversations from './conversations.js';
import * as devices from './devices.js';
import { GroupCommit } from './group-commit.js';
import * as groups from './groups.js';
import * as messages from './messages.js';
import { isPostgres } from './pg-statements.js';
import { guarded, isStorageUnavailable } from './storage-errors.js';
import * as stream from './stream.js';
import type {
  ConversationListing,
  ConversationQuery,
  DevicePosition,
  GroupFacts,
  GroupMembership,
  KnownDevice,
  MemberReadPosition,
  Store,
  WriteHints,
  WriteTransaction,
} from './store.js';
import type { Checkpointer } from './sqlite-checkpointer.js';
import { runBatch, type KnexWriteTransaction } from './write-path.js';

export interface KnexStoreOptions {
  /** Most writes committed together (group commit); 1 gives each write its own transaction. */
  maxBatch: number;
  /** Told of what each batch committed, after the commit and before its writers are answered. */
  onCommitted: (batch: CommittedBatch) => void;
  /** SQLite's checkpoint worker, closed with the store. */
  walCheckpoints?: Checkpointer;
}

export class KnexStore implements Store {
  private readonly groupCommit: GroupCommit<KnexWriteTransaction, WriteHints>;

  constructor(
    private readonly db: Knex,
    private readonly options: KnexStoreOptions,
  ) {
    this.groupCommit = new GroupCommit({
      maxBatch: options.maxBatch,
      transaction: (body) => runBatch(db, isPostgres(db), body, options.onCommitted),
      isFatal: isStorageUnavailable,
      isRefusal: (err) => err instanceof Refusal,
    });
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>, hints?: WriteHints): Promise<T> {
    return guarded(this.groupCommit.submit(work, hints));
  }

  /** Write batches formed, the writes they carried, and the batches run again with savepoints. */
  get writeStats(): { batches: number; works: number; isolatedReruns: number } {
    return { ...this.groupCommit.stats };
  }

  getMessage(mid: number): Promise<StoredMessage | undefined> {
    return guarded(messages.getMessage(this.db, mid));
  }

  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined> {
    return guarded(groups.getGroupMembership(this.db, groupId, uid));
  }

  currentMembers(groupId: number, uids: string[]): Promise<Membership[]> {
    return guarded(groups.currentMembers(this.db, groupId, uids));
  }

  wasMemberAt(groupId: number, uid: string, id: number): Promise<boolean> {
    return guarded(groups.wasMemberAt(this.db, groupId, uid, id));
  }

  readStream(uid: string, afterId: number, limit: number): Promise<StreamEvent[]> {
    return guarded(stream.readStream(this.db, uid, afterId, limit));
  }

  latestPosition(uid: string): Promise<number> {
    return guarded(stream.latestPosition(this.db, uid));
  }

  lastEventId(): Promise<number> {
    return guarded(stream.lastEventId(this.db));
  }

  readCommitted(afterId: number, lastId: number, limit: number): Promise<CommittedEvent[] | undefined> {
    return guarded(stream.readCommitted(this.db, afterId, lastId, limit));
  }

  privateHistory(uidA: string, uidB: string, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
    return guarded(messages.privateHistory(this.db, uidA, uidB, beforeId, limit));
  }

  groupHistory(groupId: number, fromId: number, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
    return guarded(messages.groupHistory(this.db, groupId, fromId, beforeId, limit));
  }

  getMessages(mids: number[]): Promise<StoredMessage[]> {
    return guarded(messages.getMessages(this.db, mids));
  }

  listConversations(uid: string, query: ConversationQuery): Promise<ConversationListing> {
    return guarded(conversations.listConversations(this.db, uid, query));
  }

  groupReadPositions(groupId: number): Promise<MemberReadPosition[]> {
    return guarded(conversations.groupReadPositions(this.db, groupId));
  }

  listMembers(groupId: number): Promise<Membership[]> {
    return guarded(groups.listMembers(this.db, groupId));
  }

  describeGroups(groupIds: number[], uid: string, now: number): Promise<Map<number, GroupFacts>> {
    return guarded(groups.describeGroups(this.db, groupIds, uid, now));
  }

  listGroupsOf(uid: string): Promise<Group[]> {
    return guarded(groups.listGroupsOf(this.db, uid));
  }

  currentStaysOf(uid: string): Promise<Map<number, number>> {
    return guarded(groups.currentStaysOf(this.db, uid));
  }

  openDevice(uid: string, device: KnownDevice, at: number): Promise<number> {
    return guarded(devices.openDevice(this.db, uid, device, at));
  }

  saveDevicePositions(positions: DevicePosition[]): Promise<void> {
    return guarded(devices.saveDevicePositions(this.db, positions));
  }

  async ping(): Promise<void> {
    await guarded(this.db.raw('select 1'));
  }

  async close(): Promise<void> {
    await this.options.walCheckpoints?.close();
    await this.db.destroy();
  }
}
