/**
 * Users' conversations (API.md §9): read positions and settings, and the conversation list. A private row keeps its
 * newest message and unread count, written in the same statement as each message (messages.ts), taken back by a
 * revoke and recounted from the messages at every read here, so a list of thousands is read in order from an index and its total
 * from the rows with something unread. A group's counts are counted from its messages, from each member's read
 * position on: a group send writes no member's row.
 */
import type { Knex } from 'knex';
import { ChannelType, type ConversationKey, type ConversationState } from '../domain.js';
import type { ConversationListing, ConversationQuery, MemberReadPosition, NewRead, ReadWrite } from './store.js';
import { isPostgres, namedRaw } from './pg-statements.js';
import { preparedStatements, type SqliteConnection } from './sqlite-statements.js';
import { counterUpdate, type WriteContext } from './stream.js';
import { MESSAGE_COLUMNS, groupConversation, privateConversation, toMessage, type MessageRow } from './rows.js';

interface StateRow {
  uid: string;
  channel_type: number;
  target_id: string;
  read_mid: number | string;
  changed_id: number | string;
  muted: boolean | number;
  pinned: boolean | number;
}

/** The newest visible message rides along with its conversation, its columns prefixed (they share names). */
const MESSAGE_NAMES = MESSAGE_COLUMNS.map((column) => column.replace(/^m\./, ''));
const LAST_MESSAGE_COLUMNS = MESSAGE_NAMES.map((name) => `lm.${name} as m_${name}`).join(', ');

interface SummaryRow extends StateRow {
  position: number | string;
  total_unread: number | string;
  activity: number | string;
  last_id: number | string;
  peer_read_mid: number | string | null;
  unread: number | string;
  mentions: number | string;
  m_mid: number | string | null;
  [column: `m_${string}`]: unknown;
}

const PREFIXED_NAMES = MESSAGE_NAMES.map((name) => [name, `m_${name}` as const] as const);

/** A loop rather than Object.fromEntries: a page maps 50 of these, and this is most of its row mapping's cost. */
function lastMessageRow(row: SummaryRow): MessageRow {
  const message: Record<string, unknown> = {};
  for (const [name, prefixed] of PREFIXED_NAMES) message[name] = row[prefixed];
  return message as unknown as MessageRow;
}

/** The messages.conversation key of a user's conversation. */
export function conversationOf({ uid, channelType, targetId }: ConversationKey): string {
  return channelType === ChannelType.ToGroup ? groupConversation(Number(targetId)) : privateConversation(uid, targetId);
}

const keyWhere = ({ uid, channelType, targetId }: ConversationKey) => ({ uid, channel_type: channelType, target_id: targetId });

export async function getConversationState(db: Knex, key: ConversationKey): Promise<ConversationState | undefined> {
  const row: StateRow | undefined = await db('conversation_states').where(keyWhere(key)).first();
  return row && toState(row, row.uid);
}

/** Keeps a conversation's settings, the stream id of their change with them; the rest of its row stays. */
export async function saveConversationSettings(
  db: Knex,
  key: ConversationKey,
  settings: Pick<ConversationState, 'muted' | 'pinned'>,
  changedId: number,
): Promise<void> {
  const row = { ...keyWhere(key), conversation: conversationOf(key), muted: settings.muted, pinned: settings.pinned, changed_id: changedId };
  await db('conversation_states').insert(row).onConflict(['uid', 'channel_type', 'target_id']).merge(['muted', 'pinned', 'changed_id']);
}

export async function touchConversations(db: Knex, keys: ConversationKey[], changedId: number): Promise<void> {
  for (const key of keys) {
    await db('conversation_states').where(keyWhere(key)).andWhere('changed_id', '<', changedId).update({ changed_id: changedId });
  }
}

/** A private message was revoked: one unread fewer for its receiver, had they not read it yet. */
export async function uncountRevoked(db: Knex, receiver: ConversationKey, mid: number): Promise<void> {
  await db('conversation_states').where(keyWhere(receiver)).andWhere('read_mid', '<', mid).decrement('unread', 1);
}

/** A queued read and the id it took for its event. */
export type IdentifiedRead = NewRead & { id: number };

/** The `read` event of a move: its data, and the streams it goes to (a private peer's too). */
export function readEvent({ key, mid, createdAt }: NewRead) {
  const data = { channelType: key.channelType, targetId: key.targetId, uid: key.uid, logId: mid, time: createdAt };
  const recipients = key.channelType === ChannelType.ToUser ? [...new Set([key.uid, key.targetId])] : [key.uid];
  return { data, recipients };
}

/**
 * Stores a batch's reads, each checked first to name a message of its conversation after its window's start (a
 * read of anything else is not stored: found false), and each a move only when past the position kept (the
 * newest of several of one conversation): the row (a private one recounted), the `read` event with its inbox
 * rows, and the private peer's row marked changed. Answers, for each in order, whether it was found, whether it
 * moved and the unread count after it. On PostgreSQL it is one statement however many reads there are, which also
 * writes `counter` (the id counter's new value) when given: inside the serialised write transaction, round trips
 * are what bound throughput.
 */
export async function storeReads(w: WriteContext, reads: IdentifiedRead[], counter?: number): Promise<ReadWrite[]> {
  if (reads.length === 0) return [];
  return w.isPostgres ? storeReadsOnPostgres(w, reads, counter) : storeReadsOnSqlite(w, reads);
}

const readInput = (reads: IdentifiedRead[]) =>
  reads.map((read, n) => ({
    n,
    uid: read.key.uid,
    channel_type: read.key.channelType,
    target_id: read.key.targetId,
    conversation: conversationOf(read.key),
    mid: read.mid,
    window_start: read.windowStart,
    id: read.id,
    data: JSON.stringify(readEvent(read).data),
    created_at: read.createdAt,
  }));

async function storeReadsOnPostgres(w: WriteContext, reads: IdentifiedRead[], counter: number | undefined): Promise<ReadWrite[]> {
  // The data-modifying parts see the rows as they were before the statement, as does the final count: a read's
  // unread is what follows the position it leaves, its own or the one already kept, whichever is further. A
  // private read that moved has just been counted for its row: that count is the answer; a read not found counts
  // nothing.
  const unreadAfter = (alias: string, from: string) => unreadSql(w.trx, { alias, from, uid: `${alias}.uid` });
  const counterWrite = counterUpdate(counter);
  // The position kept before the statement, looked up by key: a join would have the planner scan a small table whole.
  const keptReadMid =
    '(select kept.read_mid from conversation_states kept where kept.uid = input.uid and kept.channel_type = input.channel_type and kept.target_id = input.target_id)';
  const result = await namedRaw(
    w.trx,
    `with ${counterWrite.cte} input as (select * from json_to_recordset(?::json) as r(n int, uid text, channel_type smallint, target_id text,
        conversation text, mid bigint, window_start bigint, id bigint, data text, created_at bigint)),
      found as (select input.* from input join messages m on m.mid = input.mid and m.conversation = input.conversation
        where input.mid > input.window_start),
      newest as (select distinct on (uid, channel_type, target_id) * from found order by uid, channel_type, target_id, mid desc),
      up as (insert into conversation_states as cs (uid, channel_type, target_id, conversation, read_mid, changed_id, unread)
        select uid, channel_type, target_id, conversation, mid, id,
          case when channel_type = ${ChannelType.ToUser} then ${unreadAfter('newest', 'newest.mid')} else 0 end
        from newest
        on conflict (uid, channel_type, target_id) do update set read_mid = excluded.read_mid, changed_id = excluded.changed_id, unread = excluded.unread
        where cs.read_mid < excluded.read_mid
        returning uid, channel_type, target_id, unread),
      moved as (select newest.*, up.unread as row_unread from newest join up using (uid, channel_type, target_id)),
      e as (insert into events (id, kind, actor, data, created_at) select id, 'read', uid, data, created_at from moved),
      i as (insert into inbox (uid, id) select uid, id from moved union select target_id, id from moved where channel_type = ${ChannelType.ToUser}),
      t as (update conversation_states p set changed_id = moved.id from moved
        where moved.channel_type = ${ChannelType.ToUser} and p.uid = moved.target_id and p.channel_type = ${ChannelType.ToUser}
          and p.target_id = moved.uid and p.changed_id < moved.id)
    select found.n is not null as found, moved.id is not null as moved,
      case when found.n is null then 0 when moved.channel_type = ${ChannelType.ToUser} then moved.row_unread
        else ${unreadAfter('input', `greatest(input.mid, coalesce(${keptReadMid}, 0))`)} end as unread
    from input
      left join found on found.n = input.n
      left join moved on moved.id = input.id
    order by input.n`,
    [...counterWrite.bindings, JSON.stringify(readInput(reads))],
  );
  return (result as { rows: Array<{ found: boolean; moved: boolean; unread: string }> }).rows.map((row) =>
    row.found ? { found: true, moved: row.moved, unread: Number(row.unread) } : { found: false },
  );
}

function prepareReads(connection: SqliteConnection) {
  return {
    found: connection.prepare('select 1 from messages where mid = ? and conversation = ?'),
    kept: connection.prepare('select read_mid from conversation_states where uid = ? and channel_type = ? and target_id = ?'),
    // unreadSql's rule, with the conversation, the position and the reader as parameters.
    unread: connection.prepare(
      `select coalesce((select seq from messages where conversation = @conversation order by mid desc limit 1), 0)
         - coalesce((select seq from messages where conversation = @conversation and mid <= @from order by mid desc limit 1), 0)
         - (select count(*) from messages where conversation = @conversation and mid > @from and revoked_at is not null and sender_id <> @uid) as n`,
    ),
    save: connection.prepare(
      `insert into conversation_states (uid, channel_type, target_id, conversation, read_mid, changed_id, unread) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (uid, channel_type, target_id) do update set read_mid = excluded.read_mid, changed_id = excluded.changed_id, unread = excluded.unread`,
    ),
    event: connection.prepare("insert into events (id, kind, actor, data, created_at) values (?, 'read', ?, ?, ?)"),
    inbox: connection.prepare('insert into inbox (uid, id) values (?, ?)'),
    touch: connection.prepare(
      `update conversation_states set changed_id = ? where uid = ? and channel_type = ${ChannelType.ToUser} and target_id = ? and changed_id < ?`,
    ),
  };
}

/**
 * SQLite runs in-process: a read at a time, each seeing the one before, through statements prepared once (as
 * the write path's messages are): there preparing is most of what a small statement costs.
 */
async function storeReadsOnSqlite(w: WriteContext, reads: IdentifiedRead[]): Promise<ReadWrite[]> {
  const statements = await preparedStatements(w.trx, prepareReads);
  return readInput(reads).map((row, n): ReadWrite => {
    const read = reads[n]!;
    if (read.mid <= read.windowStart || statements.found.get(read.mid, row.conversation) === undefined) return { found: false };
    const isPrivate = row.channel_type === ChannelType.ToUser;
    const kept = statements.kept.get(row.uid, row.channel_type, row.target_id) as { read_mid: number } | undefined;
    const keptMid = Number(kept?.read_mid ?? 0);
    const moved = read.mid > keptMid;
    // Counted once: what follows the position the read leaves, its own or the one kept, whichever is further.
    const unread = Number((statements.unread.get({ conversation: row.conversation, from: Math.max(read.mid, keptMid), uid: row.uid }) as { n: number }).n);
    if (moved) {
      statements.save.run(row.uid, row.channel_type, row.target_id, row.conversation, read.mid, read.id, isPrivate ? unread : 0);
      statements.event.run(read.id, row.uid, row.data, read.createdAt);
      for (const uid of readEvent(read).recipients) statements.inbox.run(uid, read.id);
      if (isPrivate) statements.touch.run(read.id, row.target_id, row.uid, read.id);
    }
    return { found: true, moved, unread };
  });
}

export async function groupReadPositions(db: Knex, groupId: number): Promise<MemberReadPosition[]> {
  const rows: Array<{ uid: string; joined_id: number | string; read_mid: number | string | null }> = await db('memberships as ms')
    .leftJoin('conversation_states as cs', (on) =>
      on.on('cs.uid', 'ms.uid').andOnVal('cs.channel_type', ChannelType.ToGroup).andOnVal('cs.target_id', String(groupId)),
    )
    .select('ms.uid', 'ms.joined_id', 'cs.read_mid')
    .where('ms.group_id', groupId)
    .whereNull('ms.left_id');
  return rows.map((row) => ({ uid: row.uid, joinedId: Number(row.joined_id), readMid: Number(row.read_mid ?? 0) }));
}

const greatestOf = (db: Knex) => (isPostgres(db) ? 'greatest' : 'max');

/**
 * The user's current stays in groups as conversations: the group's newest message and event (index probes; a
 * revoke or mark of a message from before their stay is not theirs, as their stream leaves it out), and the row
 * they may have for it. `read_from` is where unread messages start: the read position, at least the join.
 */
function groupHeadsSql(db: Knex): string {
  const greatest = greatestOf(db);
  return `
    select ${ChannelType.ToGroup} as channel_type, g.target_id, g.conversation,
      ${greatest}(g.joined_id, coalesce((select max(m.mid) from messages m where m.conversation = g.conversation), 0)) as activity,
      ${greatest}(g.joined_id, coalesce(gs.read_mid, 0)) as read_from,
      coalesce(gs.read_mid, 0) as read_mid,
      coalesce(gs.changed_id, 0) as changed_id,
      ${greatest}(coalesce(gs.changed_id, 0), coalesce((select max(e.id) from events e
        where e.group_id = g.group_id and (e.mid is null or e.mid > g.joined_id)), 0)) as last_id,
      coalesce(gs.muted, :no) as muted, coalesce(gs.pinned, :no) as pinned, g.joined_id as window_from, 0 as kept_unread
    from (
      select ms.group_id, ms.joined_id, cast(ms.group_id as text) as target_id, 'g:' || cast(ms.group_id as text) as conversation
      from memberships ms where ms.uid = :uid and ms.left_id is null
    ) g
    left join conversation_states gs on gs.uid = :uid and gs.channel_type = ${ChannelType.ToGroup} and gs.target_id = g.target_id`;
}

const PRIVATE_HEAD_COLUMNS = `cs.channel_type, cs.target_id, cs.conversation, cs.last_mid as activity, cs.read_mid as read_from, cs.read_mid,
  cs.changed_id, cs.changed_id as last_id, cs.muted, cs.pinned, 0 as window_from, cs.unread as kept_unread`;

/**
 * The unread rule in SQL: messages of the conversation of row `alias` after `from` (its read_from unless said),
 * from others than `uid` (the caller, unless said), not revoked; with `mentions`, those that mention the caller.
 * Counted from the ordinals (migration 008): the conversation's last `seq` less the `seq` at `from`, less what was
 * revoked after it; one's own messages are never after one's read position. Mentions are counted one by one, from
 * their own index: they are few.
 */
function unreadSql(
  db: Knex,
  { alias, from = `${alias}.read_from`, uid = ':uid', mentions = false }: { alias: string; from?: string; uid?: string; mentions?: boolean },
): string {
  const ofConversation = `m.conversation = ${alias}.conversation`;
  if (mentions) {
    const position = isPostgres(db) ? 'strpos' : 'instr';
    return `(select count(*) from messages m where ${ofConversation} and m.mid > ${from} and m.mentions is not null
      and m.sender_id <> ${uid} and m.revoked_at is null and ${position}(m.mentions, :mention) > 0)`;
  }
  const seqUpTo = (bound: string) => `coalesce((select m.seq from messages m where ${ofConversation}${bound} order by m.mid desc limit 1), 0)`;
  return `(${seqUpTo('')} - ${seqUpTo(` and m.mid <= ${from}`)}
    - (select count(*) from messages m where ${ofConversation} and m.mid > ${from} and m.revoked_at is not null and m.sender_id <> ${uid}))`;
}

/**
 * The list's order: pinned first, then newest activity, ties broken by type and target, every key descending so
 * that a page boundary is one row comparison, which the private rows' index (conversation_states_order) answers
 * by reading only the page.
 */
const ORDER = (alias: string) => `${alias}.pinned desc, ${alias}.activity desc, ${alias}.channel_type desc, ${alias}.target_id desc`;

/**
 * A page of the user's conversations, the total unread of all of them (muted ones left out: the private rows' kept
 * counts, only rows with some being indexed, and each group's counted) and the stream position, all in one
 * statement, its one snapshot, with the user's stays in groups worked out once for both the page and the total.
 */
export async function listConversations(db: Knex, uid: string, query: ConversationQuery): Promise<ConversationListing> {
  const bindings: Record<string, unknown> = { uid, no: false, mention: ` ${uid} `, limit: query.limit };
  const privateFilters: string[] = [];
  const groupFilters: string[] = [];
  if (query.since !== undefined) {
    privateFilters.push('cs.changed_id > :since');
    groupFilters.push('h.last_id > :since');
    bindings.since = query.since;
  }
  if (query.after) {
    const { pinned, activity, channelType, targetId } = query.after;
    Object.assign(bindings, { cp: pinned, ca: activity, ct: channelType, cid: targetId });
    // Private rows are type 0, below any group at the same pinned and activity.
    privateFilters.push(
      channelType === ChannelType.ToUser ? '(cs.pinned, cs.last_mid, cs.target_id) < (:cp, :ca, :cid)' : '(cs.pinned, cs.last_mid) <= (:cp, :ca)',
    );
    groupFilters.push('(h.pinned, h.activity, h.channel_type, h.target_id) < (:cp, :ca, :ct, :cid)');
  }
  const and = (filters: string[]) => filters.map((filter) => ` and ${filter}`).join('');
  const where = (filters: string[]) => (filters.length === 0 ? '' : `where ${filters.join(' and ')}`);
  const result: unknown = await namedRaw(
    db,
    `with stays as materialized (${groupHeadsSql(db)}),
    page as (
      select * from (
        select * from (select ${PRIVATE_HEAD_COLUMNS} from conversation_states cs
          where cs.uid = :uid and cs.channel_type = ${ChannelType.ToUser}${and(privateFilters)}
          order by cs.pinned desc, cs.last_mid desc, cs.target_id desc limit :limit) p
        union all
        select * from stays h ${where(groupFilters)}
      ) h order by ${ORDER('h')} limit :limit),
    total as (select
      (select coalesce(sum(cs.unread), 0) from conversation_states cs where cs.uid = :uid and cs.unread > 0 and cs.muted = :no)
      + (select coalesce(sum(${unreadSql(db, { alias: 'h' })}), 0) from stays h where h.muted = :no and h.activity > h.read_from) as total_unread),
    counted as (select p.*,
      case when p.activity <= p.read_from then 0 when p.channel_type = ${ChannelType.ToUser} then p.kept_unread else ${unreadSql(db, { alias: 'p' })} end as unread,
      case when p.activity <= p.read_from then 0 else ${unreadSql(db, { alias: 'p', mentions: true })} end as mentions,
      (select max(m.mid) from messages m where m.conversation = p.conversation and m.mid > p.window_from and m.revoked_at is null) as last_visible,
      peer.read_mid as peer_read_mid
    from page p
    left join conversation_states peer
      on p.channel_type = ${ChannelType.ToUser} and peer.uid = p.target_id and peer.channel_type = ${ChannelType.ToUser} and peer.target_id = :uid)
    select pos.value as position, t.total_unread, c.*, ${LAST_MESSAGE_COLUMNS}
    from counters pos
      cross join total t
      left join counted c on 1 = 1
      left join messages lm on lm.mid = c.last_visible
    where pos.name = 'event'
    order by ${ORDER('c')}`,
    bindings,
  );
  const rows = (isPostgres(db) ? (result as { rows: SummaryRow[] }).rows : result) as SummaryRow[];
  // One row even for an empty page, for the position.
  const conversations = rows
    .filter((row) => row.target_id !== null)
    .map((row) => ({
      ...toState(row, uid),
      activity: Number(row.activity),
      lastId: Number(row.last_id),
      ...(row.channel_type === ChannelType.ToUser && { peerReadMid: Number(row.peer_read_mid ?? 0) }),
      unread: Number(row.unread),
      mentions: Number(row.mentions),
      ...(row.m_mid !== null && { lastMessage: toMessage(lastMessageRow(row)) }),
    }));
  return { conversations, totalUnread: Number(rows[0]?.total_unread ?? 0), position: Number(rows[0]?.position ?? 0) };
}

function toState(row: Omit<StateRow, 'uid'>, uid: string): ConversationState {
  return {
    uid,
    channelType: row.channel_type as ChannelType,
    targetId: row.target_id,
    readMid: Number(row.read_mid),
    changedId: Number(row.changed_id),
    muted: Boolean(row.muted),
    pinned: Boolean(row.pinned),
  };
}
