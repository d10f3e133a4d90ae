import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import type { ChannelType, FriendType, Group, GroupSettings, JoinType, MemberType, Membership, MuteType, OutgoingMessage, StoredMessage, StreamEvent } from '../domain.js';
import { GroupCommit, type BatchTransaction } from './group-commit.js';
import type {
  DevicePosition,
  GroupChanges,
  GroupFacts,
  GroupMembership,
  KnownDevice,
  NewGroup,
  NewGroupEvent,
  NewMessageEvent,
  NewUserEvent,
  Store,
  WriteTransaction,
} from './store.js';

/** Any constant will do: it names the lock that serialises every write transaction on PostgreSQL. */
const WRITE_LOCK_KEY = 0x63686174; // "chat"

interface MessageRow {
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

interface StreamRow extends MessageRow {
  id: number | string;
  kind: string;
  event_mid: number | string | null;
  group_id: number | string | null;
  data: string | null;
}

interface GroupRow {
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

interface MembershipRow {
  group_id: number | string;
  uid: string;
  role: number;
  member_name: string;
  muted_until: number | string;
  joined_id: number | string;
  left_id: number | string | null;
}

/** The columns of each group setting. */
const SETTING_COLUMNS: Record<keyof GroupSettings, string> = {
  name: 'name',
  publicName: 'public_name',
  avatar: 'avatar',
  introduce: 'introduce',
  joinType: 'join_type',
  muteType: 'mute_type',
  friendType: 'friend_type',
};


/** Private conversations are keyed by their two uids in sorted order; uids never contain a space. */
function privateConversation(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

function groupConversation(groupId: number): string {
  return `g:${groupId}`;
}

function toMessage(row: MessageRow): StoredMessage {
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

function toStreamEvent(row: StreamRow): StreamEvent {
  const id = Number(row.id);
  const data = row.data === null ? undefined : JSON.parse(row.data);
  switch (row.kind) {
    case 'message':
      return { id, kind: 'message', message: toMessage(row) };
    case 'received':
      return { id, kind: 'received', data };
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

function toGroup(row: GroupRow): Group {
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

function toMembership(row: MembershipRow): Membership {
  return {
    groupId: Number(row.group_id),
    uid: row.uid,
    memberType: row.role as MemberType,
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
const CHUNK = 400;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

const MESSAGE_COLUMNS = [
  'm.mid', 'm.channel_type', 'm.msg_id', 'm.sender_id', 'm.target_id', 'm.msg_type', 'm.msg', 'm.source',
  'm.reference', 'm.created_at', 'm.revoked_by', 'm.revoked_at',
];

/** Connection loss, a pool that cannot hand out a connection, a locked or full file: the client may retry. */
function isStorageUnavailable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '3D000'].includes(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)/.test(code)) return true;
  }
  return typeof message === 'string' && /Timeout acquiring a connection|Connection terminated|not currently accepting connections/.test(message);
}

async function guarded<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw isStorageUnavailable(err) ? AppError.storageUnavailable(err) : err;
  }
}

/** The event ids of one batch: the counter is read once when the batch starts and written once before commit. */
interface IdBlock {
  last: number;
}

class KnexWriteTransaction implements WriteTransaction {
  /** Whether this work has changed anything yet (see GroupCommit). */
  wrote = false;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly ids: IdBlock,
    private readonly isPostgres: boolean,
  ) {}

  async findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return findMessageByMsgId(this.trx, senderId, msgId);
  }

  async getMessage(mid: number): Promise<StoredMessage | undefined> {
    const row = await this.trx('messages as m').select(MESSAGE_COLUMNS).where('m.mid', mid).first();
    return row && toMessage(row);
  }

  async insertMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): Promise<StoredMessage | undefined> {
    this.wrote = true;
    const mid = this.takeId();
    const conversation = message.channelType === 0 ? privateConversation(senderId, message.targetId) : groupConversation(Number(message.targetId));
    const row = {
      mid,
      channel_type: message.channelType,
      msg_id: message.msgId,
      sender_id: senderId,
      target_id: message.targetId,
      conversation,
      msg_type: message.msgType,
      msg: Buffer.from(message.msg),
      source: message.source ? JSON.stringify(message.source) : null,
      reference: message.reference ? JSON.stringify(message.reference) : null,
      created_at: createdAt,
    };
    const groupId = message.channelType === 1 ? Number(message.targetId) : null;
    const insertRow = this.trx('messages').insert(row).onConflict(['sender_id', 'msg_id']).ignore().returning('mid');
    const uids = [...new Set(recipients)];
    if (this.isPostgres) {
      // One statement, one round trip: the event and inbox rows follow only when the message row went in.
      const first = insertRow.toSQL();
      const inbox = uids.length === 0 ? '' : `, i as (insert into inbox (uid, id) select r.uid, m.mid from m cross join (values ${uids.map(() => '(cast(? as varchar))').join(', ')}) as r(uid))`;
      const result = await this.trx.raw(
        `with m as (${first.sql}), e as (insert into events (id, kind, mid, group_id, actor, created_at) select mid, 'message', mid, ?, ?, ? from m)${inbox} select mid from m`,
        [...first.bindings, groupId, senderId, createdAt, ...uids],
      );
      if ((result as { rows: unknown[] }).rows.length === 0) return undefined;
    } else {
      if ((await insertRow).length === 0) return undefined;
      await this.trx('events').insert({ id: mid, kind: 'message', mid, group_id: groupId, actor: senderId, data: null, created_at: createdAt });
      if (uids.length > 0) await this.trx('inbox').insert(inboxRows(mid, uids));
    }
    return {
      mid,
      channelType: message.channelType,
      msgId: message.msgId,
      senderId,
      targetId: message.targetId,
      msgType: message.msgType,
      msg: message.msg,
      ...(message.source && { source: message.source }),
      ...(message.reference && { reference: message.reference }),
      createdAt,
      revokedBy: null,
      revokedAt: null,
    };
  }

  async markRevoked(mid: number, operator: string, at: number): Promise<void> {
    this.wrote = true;
    await this.trx('messages').where({ mid }).update({ msg: null, source: null, reference: null, revoked_by: operator, revoked_at: at });
  }

  async addFocusMark(mid: number, uid: string, at: number): Promise<boolean> {
    this.wrote = true;
    const inserted = await this.trx('focus_marks').insert({ mid, uid, created_at: at }).onConflict(['mid', 'uid']).ignore().returning('uid');
    return inserted.length > 0;
  }

  async countFocusMarks(mid: number): Promise<number> {
    const row = await this.trx('focus_marks').where({ mid }).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  appendMessageEvent(event: NewMessageEvent, recipients: string[]): Promise<number> {
    return this.insertEvent(event.kind, event.actor, event.data, event.createdAt, event.mid, event.groupId, recipients);
  }

  async markDelivered(receiverId: string, mids: number[], at: number): Promise<Array<{ mid: number; senderId: string }>> {
    this.wrote = true;
    const delivered: Array<{ mid: number; senderId: string }> = [];
    for (const part of chunks(mids)) {
      const rows: Array<{ mid: number | string; sender_id: string }> = await this.trx('messages')
        .whereIn('mid', part)
        .andWhere({ channel_type: 0, target_id: receiverId })
        .andWhereNot('sender_id', receiverId)
        .whereNull('delivered_at')
        .whereNull('revoked_at')
        .update({ delivered_at: at })
        .returning(['mid', 'sender_id']);
      delivered.push(...rows.map((row) => ({ mid: Number(row.mid), senderId: row.sender_id })));
    }
    return delivered;
  }

  appendUserEvent(event: NewUserEvent, recipients: string[]): Promise<number> {
    return this.insertEvent(event.kind, event.actor, event.data, event.createdAt, undefined, undefined, recipients);
  }

  appendGroupEvent(event: NewGroupEvent): Promise<number> {
    return this.insertEvent(event.kind, event.actor, event.data, event.createdAt, undefined, event.groupId, []);
  }

  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined> {
    return findGroupMembership(this.trx, groupId, uid);
  }

  getMembership(groupId: number, uid: string): Promise<Membership | undefined> {
    return findMembership(this.trx, groupId, uid);
  }

  async wasMemberAt(groupId: number, uid: string, id: number): Promise<boolean> {
    const row = await this.trx('memberships')
      .where({ group_id: groupId, uid })
      .andWhere('joined_id', '<=', id)
      .andWhere((q) => q.whereNull('left_id').orWhere('left_id', '>=', id))
      .first('uid');
    return row !== undefined;
  }

  currentMembers(groupId: number, uids: string[]): Promise<Membership[]> {
    return currentMembers(this.trx, groupId, uids);
  }

  async createGroup(group: NewGroup, memberIds: string[]): Promise<Group> {
    const { ownerId, createdAt } = group;
    const uids = [ownerId, ...memberIds.filter((uid) => uid !== ownerId)];
    const id = this.takeId();
    this.wrote = true;
    await this.trx('events').insert({ id, kind: 'join', group_id: id, actor: ownerId, data: JSON.stringify({ uids, time: createdAt }), created_at: createdAt });
    const settings = Object.fromEntries(Object.entries(SETTING_COLUMNS).map(([field, column]) => [column, group[field as keyof GroupSettings]]));
    await this.trx('groups').insert({
      id,
      ...settings,
      mark_id: group.markId,
      owner_id: ownerId,
      member_num: uids.length,
      created_at: createdAt,
      group_type: group.groupType,
      aes_key: group.key,
    });
    await this.addMembers(id, [ownerId], 2, id);
    await this.addMembers(id, uids.slice(1), 0, id);
    return { ...group, id, memberNum: uids.length };
  }

  async isMarkIdTaken(markId: string): Promise<boolean> {
    return (await this.trx('groups').where({ mark_id: markId }).first('id')) !== undefined;
  }

  async setMutedUntil(groupId: number, uids: string[], mutedUntil: number): Promise<void> {
    this.wrote = true;
    for (const part of chunks(uids)) {
      await this.trx('memberships').where({ group_id: groupId }).whereNull('left_id').whereIn('uid', part).update({ muted_until: mutedUntil });
    }
  }

  async setMemberName(groupId: number, uid: string, memberName: string): Promise<void> {
    this.wrote = true;
    await this.trx('memberships').where({ group_id: groupId, uid }).whereNull('left_id').update({ member_name: memberName });
  }

  async addMembers(groupId: number, uids: string[], memberType: MemberType, joinedId: number): Promise<void> {
    this.wrote = true;
    for (const part of chunks(uids)) {
      await this.trx('memberships').insert(part.map((uid) => ({ group_id: groupId, uid, role: memberType, joined_id: joinedId })));
    }
  }

  async closeMemberships(groupId: number, leftId: number, uids?: string[]): Promise<void> {
    this.wrote = true;
    const current = () => this.trx('memberships').where({ group_id: groupId }).whereNull('left_id');
    if (uids === undefined) {
      await current().update({ left_id: leftId });
      return;
    }
    for (const part of chunks(uids)) await current().whereIn('uid', part).update({ left_id: leftId });
  }

  async setMemberType(groupId: number, uid: string, memberType: MemberType): Promise<void> {
    this.wrote = true;
    await this.trx('memberships').where({ group_id: groupId, uid }).whereNull('left_id').update({ role: memberType });
  }

  async updateGroup(groupId: number, changes: GroupChanges): Promise<void> {
    const update: Record<string, unknown> = {};
    for (const [field, column] of Object.entries(SETTING_COLUMNS)) {
      const value = changes[field as keyof GroupSettings];
      if (value !== undefined) update[column] = value;
    }
    if (changes.ownerId !== undefined) update.owner_id = changes.ownerId;
    if (changes.memberNumDelta !== undefined) update.member_num = this.trx.raw('member_num + ?', [changes.memberNumDelta]);
    if (changes.disbandedId !== undefined) update.disbanded_id = changes.disbandedId;
    this.wrote = true;
    if (Object.keys(update).length > 0) await this.trx('groups').where({ id: groupId }).update(update);
  }

  private async insertEvent(
    kind: string,
    actor: string,
    data: unknown,
    createdAt: number,
    mid: number | undefined,
    groupId: number | undefined,
    recipients: string[],
  ): Promise<number> {
    const id = this.takeId();
    const event = { id, kind, mid: mid ?? null, group_id: groupId ?? null, actor, data: JSON.stringify(data), created_at: createdAt };
    await this.insertTogether([
      ['events', [event]],
      ['inbox', inboxRows(id, recipients)],
    ]);
    return id;
  }

  /**
   * Inserts rows into several tables. PostgreSQL runs them as one statement (data-modifying CTEs), one round trip
   * instead of one per table: on the write path, round trips inside the serialised transaction are what bound
   * throughput. SQLite runs in-process, so separate statements cost nothing there.
   */
  private async insertTogether(inserts: Array<[table: string, rows: object[]]>): Promise<void> {
    this.wrote = true;
    const statements = inserts.filter(([, rows]) => rows.length > 0).map(([table, rows]) => this.trx(table).insert(rows));
    if (!this.isPostgres || statements.length === 1) {
      for (const statement of statements) await statement;
      return;
    }
    const parts = statements.map((statement) => statement.toSQL());
    const ctes = parts.slice(0, -1).map((part, i) => `w${i} as (${part.sql})`);
    await this.trx.raw(`with ${ctes.join(', ')} ${parts.at(-1)!.sql}`, parts.flatMap((part) => part.bindings));
  }

  /** Under the write lock, ids are handed out in commit order; the batch writes the counter back before commit. */
  private takeId(): number {
    return ++this.ids.last;
  }
}

function inboxRows(id: number, recipients: string[]): object[] {
  return [...new Set(recipients)].map((uid) => ({ uid, id }));
}

/** One query for the check every group operation starts with. */
async function findGroupMembership(db: Knex, groupId: number, uid: string): Promise<GroupMembership | undefined> {
  const row: (GroupRow & Partial<MembershipRow> & { disbanded_id: number | string | null }) | undefined = await db('groups as g')
    .leftJoin('memberships as ms', (on) => on.on('ms.group_id', 'g.id').andOnVal('ms.uid', uid).andOnNull('ms.left_id'))
    .select('g.*', 'ms.group_id', 'ms.uid', 'ms.role', 'ms.member_name', 'ms.muted_until', 'ms.joined_id', 'ms.left_id')
    .where('g.id', groupId)
    .first();
  if (!row) return undefined;
  return { group: toGroup(row), disbanded: row.disbanded_id !== null, ...(row.uid != null && { membership: toMembership(row as MembershipRow) }) };
}

async function currentMembers(db: Knex, groupId: number, uids: string[]): Promise<Membership[]> {
  const found: Membership[] = [];
  for (const part of chunks(uids)) {
    const rows: MembershipRow[] = await db('memberships').where({ group_id: groupId }).whereNull('left_id').whereIn('uid', part);
    found.push(...rows.map(toMembership));
  }
  return found;
}

async function findMembership(db: Knex, groupId: number, uid: string): Promise<Membership | undefined> {
  const row: MembershipRow | undefined = await db('memberships').where({ group_id: groupId, uid }).whereNull('left_id').first();
  return row && toMembership(row);
}

async function findMessageByMsgId(db: Knex, senderId: string, msgId: string): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where({ 'm.sender_id': senderId, 'm.msg_id': msgId }).first();
  return row && toMessage(row);
}

export class KnexStore implements Store {
  private readonly isPostgres: boolean;
  private readonly groupCommit: GroupCommit<WriteTransaction>;

  /** `maxBatch`: most writes committed together (group commit); 1 gives each write its own transaction. */
  constructor(private readonly db: Knex, options: { maxBatch: number }) {
    this.isPostgres = db.client.config.client === 'pg';
    this.groupCommit = new GroupCommit({
      maxBatch: options.maxBatch,
      transaction: (body) => this.runBatch(body),
      isFatal: isStorageUnavailable,
      isRefusal: (err) => err instanceof AppError,
    });
  }

  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return guarded(findMessageByMsgId(this.db, senderId, msgId));
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return guarded(this.groupCommit.submit(work));
  }

  /** Write batches formed, the writes they carried, and the batches run again with savepoints. */
  get writeStats(): { batches: number; works: number; isolatedReruns: number } {
    return { ...this.groupCommit.stats };
  }

  /** One write transaction at a time per instance, carrying a batch of works (see GroupCommit). */
  private async runBatch(body: (batch: BatchTransaction<WriteTransaction>) => Promise<void>): Promise<void> {
    const trx = await this.db.transaction();
    try {
      // One writer at a time across instances: ids are taken in commit order (no later id can become visible
      // before an earlier one, which a reader past it would never see), and what a service checks inside holds
      // until commit. SQLite has a single connection and so a single writer already.
      if (this.isPostgres) await trx.raw('select pg_advisory_xact_lock(?)', [WRITE_LOCK_KEY]);
      const counter = await trx('counters').where({ name: 'event' }).first('value');
      const ids: IdBlock = { last: Number(counter.value) };
      const first = ids.last;
      await body({
        run: async (work, isolated) => {
          let tx: KnexWriteTransaction | undefined;
          try {
            const value = isolated
              ? await trx.transaction((savepoint) => work((tx = new KnexWriteTransaction(savepoint, ids, this.isPostgres))))
              : await work((tx = new KnexWriteTransaction(trx, ids, this.isPostgres)));
            return { ok: true, value };
          } catch (error) {
            return { ok: false, error, wrote: tx?.wrote ?? false };
          }
        },
      });
      if (ids.last !== first) await trx('counters').where({ name: 'event' }).update({ value: ids.last });
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

  /**
   * The user's private events (inbox) merged with the events of each group inside each of their stays in it,
   * in one id order.
   */
  readStream(uid: string, afterId: number, limit: number): Promise<StreamEvent[]> {
    const db = this.db;
    const positions = db('inbox')
      .select('id')
      .where('uid', uid)
      .andWhere('id', '>', afterId)
      .unionAll((union) =>
        union
          .select('ge.id')
          .from('memberships as ms')
          .join('events as ge', (on) => on.on('ge.group_id', 'ms.group_id').andOn('ge.id', '>=', 'ms.joined_id'))
          .where('ms.uid', uid)
          .andWhere('ge.id', '>', afterId)
          .andWhere((q) => q.whereNull('ms.left_id').orWhere('ge.id', '<=', db.ref('ms.left_id')))
          // A revoke or focus of a message from before the stay is not the member's business.
          .andWhere((q) => q.whereNull('ge.mid').orWhere('ge.mid', '>=', db.ref('ms.joined_id'))),
      );
    const query = db
      .from(positions.as('s'))
      .join('events as e', 'e.id', 's.id')
      .leftJoin('messages as m', 'm.mid', 'e.mid')
      .select('s.id', 'e.kind', 'e.mid as event_mid', 'e.group_id', 'e.data', ...MESSAGE_COLUMNS)
      .where((q) => q.whereNot('e.kind', 'message').orWhereNull('m.revoked_at'))
      .orderBy('s.id')
      .limit(limit);
    return guarded(query.then((rows: StreamRow[]) => rows.map(toStreamEvent)));
  }

  latestPosition(uid: string): Promise<number> {
    const db = this.db;
    const lastPrivate = db('inbox').max({ id: 'id' }).where('uid', uid);
    const lastOfGroups = db('memberships as ms')
      .join('events as ge', (on) => on.on('ge.group_id', 'ms.group_id').andOn('ge.id', '>=', 'ms.joined_id'))
      .max({ id: 'ge.id' })
      .where('ms.uid', uid)
      .andWhere((q) => q.whereNull('ms.left_id').orWhere('ge.id', '<=', db.ref('ms.left_id')))
      .andWhere((q) => q.whereNull('ge.mid').orWhere('ge.mid', '>=', db.ref('ms.joined_id')));
    const query = db.from(lastPrivate.unionAll(lastOfGroups).as('last')).max({ id: 'id' }).first();
    return guarded(query.then((row: { id: number | string | null } | undefined) => Number(row?.id ?? 0)));
  }

  privateHistory(uidA: string, uidB: string, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
    const query = this.db('messages as m')
      .select(MESSAGE_COLUMNS)
      .where('m.conversation', privateConversation(uidA, uidB))
      .whereNull('m.revoked_at')
      .orderBy('m.mid', 'desc')
      .limit(limit);
    if (beforeId !== undefined) query.andWhere('m.mid', '<', beforeId);
    return guarded(query.then((rows: MessageRow[]) => rows.map(toMessage)));
  }

  groupHistory(groupId: number, fromId: number, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
    const query = this.db('messages as m')
      .select(MESSAGE_COLUMNS)
      .where('m.conversation', groupConversation(groupId))
      .andWhere('m.mid', '>=', fromId)
      .whereNull('m.revoked_at')
      .orderBy('m.mid', 'desc')
      .limit(limit);
    if (beforeId !== undefined) query.andWhere('m.mid', '<', beforeId);
    return guarded(query.then((rows: MessageRow[]) => rows.map(toMessage)));
  }

  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined> {
    return guarded(findGroupMembership(this.db, groupId, uid));
  }

  listMembers(groupId: number): Promise<Membership[]> {
    const query = this.db('memberships').where({ group_id: groupId }).whereNull('left_id').orderBy([{ column: 'role', order: 'desc' }, 'joined_id', 'uid']);
    return guarded(query.then((rows: MembershipRow[]) => rows.map(toMembership)));
  }

  findMembers(groupId: number, uids: string[]): Promise<Membership[]> {
    return guarded(currentMembers(this.db, groupId, uids));
  }

  async describeGroups(groupIds: number[], uid: string, now: number): Promise<Map<number, GroupFacts>> {
    const facts = new Map<number, GroupFacts>();
    for (const part of chunks(groupIds)) {
      // The owners and the user's own memberships, then the counts: two queries for any number of groups.
      const rows: MembershipRow[] = await guarded(
        this.db('memberships').whereIn('group_id', part).whereNull('left_id').andWhere((q) => q.where('role', 2).orWhere('uid', uid)),
      );
      const counts: Array<{ group_id: number | string; admins: number | string | null; muted: number | string | null }> = await guarded(
        this.db('memberships')
          .whereIn('group_id', part)
          .whereNull('left_id')
          .groupBy('group_id')
          .select('group_id', this.db.raw('sum(case when role = 1 then 1 else 0 end) as admins'), this.db.raw('sum(case when muted_until > ? then 1 else 0 end) as muted', [now])),
      );
      const byGroup = new Map<number, { owner?: Membership; person?: Membership }>();
      for (const membership of rows.map(toMembership)) {
        const entry = byGroup.get(membership.groupId) ?? {};
        if (membership.memberType === 2) entry.owner = membership;
        if (membership.uid === uid) entry.person = membership;
        byGroup.set(membership.groupId, entry);
      }
      for (const count of counts) {
        const groupId = Number(count.group_id);
        const entry = byGroup.get(groupId);
        if (!entry?.owner) continue;
        facts.set(groupId, { owner: entry.owner, ...(entry.person && { person: entry.person }), adminNum: Number(count.admins ?? 0), muteNum: Number(count.muted ?? 0) });
      }
    }
    return facts;
  }

  listGroupsOf(uid: string): Promise<Group[]> {
    const query = this.db('memberships as ms')
      .join('groups as g', 'g.id', 'ms.group_id')
      .select('g.*')
      .where('ms.uid', uid)
      .whereNull('ms.left_id')
      .whereNull('g.disbanded_id')
      .orderBy('g.id');
    return guarded(query.then((rows: GroupRow[]) => rows.map(toGroup)));
  }

  openDevice(uid: string, device: KnownDevice, at: number): Promise<number> {
    const query = this.db('devices')
      .insert({ uid, uuid: device.uuid, device_type: device.type, device_name: device.name, acked_id: 0, seen_at: at })
      .onConflict(['uid', 'uuid'])
      .merge(['device_type', 'device_name', 'seen_at'])
      .returning('acked_id');
    return guarded(query.then((rows: Array<{ acked_id: number | string }>) => Number(rows[0]!.acked_id)));
  }

  saveDevicePositions(positions: DevicePosition[]): Promise<void> {
    // Never backwards: a late write from a socket that closed must not undo what a newer one acknowledged.
    const query = this.db.transaction(async (trx) => {
      for (const { uid, uuid, position } of positions) {
        await trx('devices').where({ uid, uuid }).andWhere('acked_id', '<', position).update({ acked_id: position });
      }
    });
    return guarded(query);
  }

  async ping(): Promise<void> {
    await guarded(this.db.raw('select 1'));
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
