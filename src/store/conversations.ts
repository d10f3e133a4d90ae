/**
 * Users' conversations (API.md §9): read positions and settings, and the conversation list, whose unread counts
 * are counted from the messages at each read, never kept as numbers of their own that could drift from them.
 * Counting stays cheap because it starts at the read position and is skipped where the newest message is not
 * past it: a user with thousands of conversations that are read costs one index scan of their rows.
 */
import type { Knex } from 'knex';
import { ChannelType, type ConversationKey, type ConversationState } from '../domain.js';
import type { ConversationQuery, ConversationSummary, MemberReadPosition } from './store.js';
import { getMessages } from './messages.js';
import { groupConversation, privateConversation } from './rows.js';

interface StateRow {
  uid: string;
  channel_type: number;
  target_id: string;
  read_mid: number | string;
  changed_id: number | string;
  muted: boolean | number;
  pinned: boolean | number;
}

interface SummaryRow extends StateRow {
  activity: number | string;
  last_id: number | string;
  peer_read_mid: number | string | null;
  unread: number | string;
  mentions: number | string;
  last_visible: number | string | null;
}

/** The messages.conversation key of a user's conversation. */
export function conversationOf({ uid, channelType, targetId }: ConversationKey): string {
  return channelType === ChannelType.ToGroup ? groupConversation(Number(targetId)) : privateConversation(uid, targetId);
}

const isPostgres = (db: Knex): boolean => db.client.config.client === 'pg';

const keyWhere = ({ uid, channelType, targetId }: ConversationKey) => ({ uid, channel_type: channelType, target_id: targetId });

export async function getConversationState(db: Knex, key: ConversationKey): Promise<ConversationState | undefined> {
  const row: StateRow | undefined = await db('conversation_states').where(keyWhere(key)).first();
  return row && toState(row);
}

export async function saveConversationState(db: Knex, state: ConversationState): Promise<void> {
  const row = {
    ...keyWhere(state),
    conversation: conversationOf(state),
    read_mid: state.readMid,
    changed_id: state.changedId,
    muted: state.muted,
    pinned: state.pinned,
  };
  await db('conversation_states').insert(row).onConflict(['uid', 'channel_type', 'target_id']).merge(['read_mid', 'changed_id', 'muted', 'pinned']);
}

export async function touchConversations(db: Knex, keys: ConversationKey[], changedId: number): Promise<void> {
  for (const key of keys) {
    await db('conversation_states').where(keyWhere(key)).andWhere('changed_id', '<', changedId).update({ changed_id: changedId });
  }
}

export async function countUnread(db: Knex, key: ConversationKey, afterMid: number): Promise<number> {
  const row = await db('messages')
    .where('conversation', conversationOf(key))
    .andWhere('mid', '>', afterMid)
    .andWhereNot('sender_id', key.uid)
    .whereNull('revoked_at')
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
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

/**
 * Every conversation of the user as a row to order and count by: their private rows, and their current stays in
 * groups with the group's newest message and event (index probes; a revoke or mark of a message from before
 * their stay is not theirs, as their stream leaves it out) and the row they may have for it. `read_from`
 * is where unread messages start: the read position, in a group at least the join; `window_from` where what
 * they may see starts.
 */
function headsSql(db: Knex): string {
  const greatest = isPostgres(db) ? 'greatest' : 'max';
  return `
    select cs.channel_type, cs.target_id, cs.conversation, cs.last_mid as activity, cs.read_mid as read_from, cs.read_mid,
      cs.changed_id, cs.changed_id as last_id, cs.muted, cs.pinned, 0 as window_from
    from conversation_states cs
    where cs.uid = :uid and cs.channel_type = ${ChannelType.ToUser}
    union all
    select ${ChannelType.ToGroup}, g.target_id, g.conversation,
      ${greatest}(g.joined_id, coalesce((select max(m.mid) from messages m where m.conversation = g.conversation), 0)),
      ${greatest}(g.joined_id, coalesce(gs.read_mid, 0)),
      coalesce(gs.read_mid, 0),
      coalesce(gs.changed_id, 0),
      ${greatest}(coalesce(gs.changed_id, 0), coalesce((select max(e.id) from events e
        where e.group_id = g.group_id and (e.mid is null or e.mid > g.joined_id)), 0)),
      coalesce(gs.muted, :no), coalesce(gs.pinned, :no), g.joined_id
    from (
      select ms.group_id, ms.joined_id, cast(ms.group_id as text) as target_id, 'g:' || cast(ms.group_id as text) as conversation
      from memberships ms where ms.uid = :uid and ms.left_id is null
    ) g
    left join conversation_states gs on gs.uid = :uid and gs.channel_type = ${ChannelType.ToGroup} and gs.target_id = g.target_id`;
}

/** Messages of the head `h` from others after its read position, not revoked: counted only where any is newer. */
function unreadSql(db: Knex, alias: string, mentionsOnly: boolean): string {
  const position = isPostgres(db) ? 'strpos' : 'instr';
  const mentions = mentionsOnly ? ` and m.mentions is not null and ${position}(m.mentions, :mention) > 0` : '';
  return `case when ${alias}.activity > ${alias}.read_from then (select count(*) from messages m
    where m.conversation = ${alias}.conversation and m.mid > ${alias}.read_from and m.sender_id <> :uid and m.revoked_at is null${mentions}) else 0 end`;
}

const ORDER = (alias: string) => `${alias}.pinned desc, ${alias}.activity desc, ${alias}.channel_type, ${alias}.target_id`;

export async function listConversations(db: Knex, uid: string, query: ConversationQuery): Promise<ConversationSummary[]> {
  const bindings: Record<string, unknown> = { uid, no: false, mention: ` ${uid} `, limit: query.limit };
  const filters: string[] = [];
  if (query.since !== undefined) {
    filters.push('h.last_id > :since');
    bindings.since = query.since;
  }
  if (query.after) {
    const { pinned, activity, channelType, targetId } = query.after;
    filters.push(`(h.pinned < :cp or (h.pinned = :cp and (h.activity < :ca or (h.activity = :ca and
      (h.channel_type > :ct or (h.channel_type = :ct and h.target_id > :cid))))))`);
    Object.assign(bindings, { cp: pinned, ca: activity, ct: channelType, cid: targetId });
  }
  const where = filters.length === 0 ? '' : `where ${filters.join(' and ')}`;
  const result: unknown = await db.raw(
    `with heads as (${headsSql(db)})
    select p.*, ${unreadSql(db, 'p', false)} as unread, ${unreadSql(db, 'p', true)} as mentions,
      (select max(m.mid) from messages m where m.conversation = p.conversation and m.mid > p.window_from and m.revoked_at is null) as last_visible,
      peer.read_mid as peer_read_mid
    from (select * from heads h ${where} order by ${ORDER('h')} limit :limit) p
    left join conversation_states peer
      on p.channel_type = ${ChannelType.ToUser} and peer.uid = p.target_id and peer.channel_type = ${ChannelType.ToUser} and peer.target_id = :uid
    order by ${ORDER('p')}`,
    bindings,
  );
  const rows = (isPostgres(db) ? (result as { rows: SummaryRow[] }).rows : result) as SummaryRow[];
  const lastMessages = new Map(
    (
      await getMessages(
        db,
        rows.flatMap((row) => (row.last_visible === null ? [] : [Number(row.last_visible)])),
      )
    ).map((m) => [m.mid, m]),
  );
  return rows.map((row) => {
    const lastMessage = row.last_visible === null ? undefined : lastMessages.get(Number(row.last_visible));
    return {
      ...toState({ ...row, uid }),
      activity: Number(row.activity),
      lastId: Number(row.last_id),
      ...(row.channel_type === ChannelType.ToUser && { peerReadMid: Number(row.peer_read_mid ?? 0) }),
      unread: Number(row.unread),
      mentions: Number(row.mentions),
      ...(lastMessage && { lastMessage }),
    };
  });
}

export async function totalUnread(db: Knex, uid: string): Promise<number> {
  const result: unknown = await db.raw(
    `with heads as (${headsSql(db)}) select coalesce(sum(${unreadSql(db, 'h', false)}), 0) as total from heads h where h.muted = :no`,
    { uid, no: false },
  );
  const rows = (isPostgres(db) ? (result as { rows: Array<{ total: string }> }).rows : result) as Array<{ total: number | string }>;
  return Number(rows[0]?.total ?? 0);
}

function toState(row: StateRow): ConversationState {
  return {
    uid: row.uid,
    channelType: row.channel_type as ChannelType,
    targetId: row.target_id,
    readMid: Number(row.read_mid),
    changedId: Number(row.changed_id),
    muted: Boolean(row.muted),
    pinned: Boolean(row.pinned),
  };
}
