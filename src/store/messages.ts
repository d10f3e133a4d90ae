/** Messages: storing, recalling, marking and delivering them, and the two histories. */
import type { Knex } from 'knex';
import { ChannelType, type OutgoingMessage, type StoredMessage } from '../domain.js';
import { MESSAGE_COLUMNS, chunks, groupConversation, privateConversation, toMessage, type MessageRow } from './rows.js';
import { namedRaw } from './pg-statements.js';
import { preparedStatements, type SqliteConnection } from './sqlite-statements.js';
import { counterUpdate, type WriteContext } from './stream.js';

export async function findMessageByMsgId(db: Knex, senderId: string, msgId: string): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where({ 'm.sender_id': senderId, 'm.msg_id': msgId }).first();
  return row && toMessage(row);
}

export async function getMessage(db: Knex, mid: number): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where('m.mid', mid).first();
  return row && toMessage(row);
}

export async function getMessages(db: Knex, mids: number[]): Promise<StoredMessage[]> {
  const found: StoredMessage[] = [];
  for (const part of chunks(mids)) {
    const rows: MessageRow[] = await db('messages as m').select(MESSAGE_COLUMNS).whereIn('m.mid', part);
    found.push(...rows.map(toMessage));
  }
  return found;
}

/** A new message to store under the id it took, as a work queued it. */
export interface NewMessage {
  mid: number;
  senderId: string;
  message: OutgoingMessage;
  createdAt: number;
  /** Whose inbox it goes to: both parties of a private message, nobody for a group message. */
  recipients: string[];
}

/** The message stored under a new message's sender and msgId: the new one itself, or an earlier one it repeats. */
export interface StoredUnderMsgId {
  mid: number;
  createdAt: number;
}

/**
 * Stores new messages with their events (and inbox rows, for private ones), each unless its sender already stored
 * one under its msgId (earlier, or earlier in `entries`): the unique key settles repeats, with no read before.
 * Returns, for each entry in order, the message now stored under its msgId. On PostgreSQL it is one statement
 * however many messages there are, which also writes `counter` (the id counter's new value) when given: inside the
 * serialised write transaction, round trips are what bound throughput.
 */
export async function insertMessages(w: WriteContext, entries: NewMessage[], counter?: number): Promise<StoredUnderMsgId[]> {
  if (entries.length === 0) return [];
  return w.isPostgres ? insertOnPostgres(w, entries, counter) : insertOnSqlite(w, entries);
}

/**
 * What new messages change in their conversations' rows, as part of the statement that stores them: the sender has
 * read up to their message (sending counts as reading), and a private one is the newest message of both parties'
 * rows and one more unread for its receiver, unless the receiver answered after it in the same batch. One row per
 * user and conversation even when the batch holds several messages of it (an upsert may not touch a row twice).
 * A group message writes only its sender's row: its members' counts come from the group's messages.
 */
const CONVERSATIONS_UPSERT = `parties as (
        select sender_id as uid, channel_type, target_id, conversation, mid, true as own from m
        union all
        select target_id, channel_type, sender_id, conversation, mid, false from m where channel_type = ${ChannelType.ToUser} and target_id <> sender_id),
      positioned as (select parties.*, coalesce(max(mid) filter (where own) over (partition by uid, channel_type, target_id), 0) as own_last from parties),
      touched as (select uid, channel_type, target_id, min(conversation) as conversation, max(mid) as last, max(own_last) as own_last,
          count(*) filter (where not own and mid > own_last) as unread
        from positioned group by uid, channel_type, target_id),
      s as (insert into conversation_states as cs (uid, channel_type, target_id, conversation, read_mid, last_mid, changed_id, unread)
        select uid, channel_type, target_id, conversation, own_last, case when channel_type = ${ChannelType.ToUser} then last else 0 end, last, unread
        from touched
        on conflict (uid, channel_type, target_id) do update set read_mid = greatest(cs.read_mid, excluded.read_mid),
          last_mid = greatest(cs.last_mid, excluded.last_mid), changed_id = greatest(cs.changed_id, excluded.changed_id),
          unread = case when excluded.read_mid > cs.read_mid then excluded.unread else cs.unread + excluded.unread end)`;

async function insertOnPostgres(w: WriteContext, entries: NewMessage[], counter: number | undefined): Promise<StoredUnderMsgId[]> {
  const rows = entries.map(messageRow);
  const inbox = entries.flatMap(({ mid, recipients }) => [...new Set(recipients)].map((uid) => ({ uid, id: mid })));
  const columns = Object.keys(rows[0]!).join(', ');
  // The rows travel as one JSON parameter: a parameter per value would cost the driver and the parser far more.
  // Repeats are left out before the new messages are numbered, so that none takes an ordinal: a repeat inside the
  // batch loses to the entry before it, and `stored` (by the unique key; the write lock keeps anyone from adding
  // one meanwhile) finds a repeat of an earlier message. Each lookup is a lateral one: a join would have the
  // planner scan a small table whole, once per batch. `x` sees only rows from before the statement, `k` those it
  // inserted.
  const counterWrite = counterUpdate(counter);
  const result = await namedRaw(
    w.trx,
    `with ${counterWrite.cte} input as (select * from json_populate_recordset(null::messages, ?::json)),
      firsts as (select * from (select input.*, row_number() over (partition by sender_id, msg_id order by mid) as nth from input) numbered
        where nth = 1),
      fresh as (select firsts.* from firsts
        left join lateral (select 1 as found from messages x where x.sender_id = firsts.sender_id and x.msg_id = firsts.msg_id limit 1) stored on true
        where stored.found is null),
      m as (insert into messages (${columns}, seq)
        select ${columns}, coalesce(last.seq, 0) + row_number() over (partition by fresh.conversation order by fresh.mid) from fresh
          left join lateral (select x.seq from messages x where x.conversation = fresh.conversation order by x.mid desc limit 1) last on true
        order by mid
        on conflict (sender_id, msg_id) do nothing returning mid, channel_type, target_id, sender_id, msg_id, created_at, conversation),
      e as (insert into events (id, kind, mid, group_id, actor, created_at)
        select mid, 'message', mid, case when channel_type = ? then cast(target_id as bigint) end, sender_id, created_at from m),
      i as (insert into inbox (uid, id) select r.uid, r.id from json_to_recordset(?::json) as r(uid text, id bigint) join m on m.mid = r.id),
      ${CONVERSATIONS_UPSERT}
    select coalesce(k.mid, x.mid) as mid, coalesce(k.created_at, x.created_at) as created_at
    from input
      left join m k on k.sender_id = input.sender_id and k.msg_id = input.msg_id
      left join lateral (select x.mid, x.created_at from messages x
        where k.mid is null and x.sender_id = input.sender_id and x.msg_id = input.msg_id limit 1) x on true
    order by input.mid`,
    [...counterWrite.bindings, rowsJson(rows), ChannelType.ToGroup, JSON.stringify(inbox)],
  );
  return (result as { rows: Array<{ mid: string; created_at: string }> }).rows.map((row) => ({ mid: Number(row.mid), createdAt: Number(row.created_at) }));
}

const MESSAGE_ROW_COLUMNS = [
  'mid',
  'channel_type',
  'msg_id',
  'sender_id',
  'target_id',
  'conversation',
  'msg_type',
  'msg',
  'source',
  'reference',
  'created_at',
  'mentions',
];

function prepareInserts(connection: SqliteConnection) {
  return {
    // Numbered after the conversation's last message; a repeat inserts nothing and so takes no ordinal.
    message: connection.prepare(
      `insert into messages (${MESSAGE_ROW_COLUMNS.join(', ')}, seq)
       values (${MESSAGE_ROW_COLUMNS.map((column) => `@${column}`).join(', ')},
         coalesce((select seq from messages where conversation = @conversation order by mid desc limit 1), 0) + 1)
       on conflict (sender_id, msg_id) do nothing returning mid`,
    ),
    event: connection.prepare("insert into events (id, kind, mid, group_id, actor, created_at) values (?, 'message', ?, ?, ?, ?)"),
    inbox: connection.prepare('insert into inbox (uid, id) values (?, ?)'),
    first: connection.prepare('select mid, created_at from messages where sender_id = ? and msg_id = ?'),
    // As CONVERSATIONS_UPSERT, a message at a time: the sender has read everything before their message...
    sent: connection.prepare(
      `insert into conversation_states (uid, channel_type, target_id, conversation, read_mid, last_mid, changed_id) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (uid, channel_type, target_id) do update set read_mid = excluded.read_mid,
         last_mid = max(last_mid, excluded.last_mid), changed_id = excluded.changed_id, unread = 0`,
    ),
    // ...and a private receiver has one more unread.
    received: connection.prepare(
      `insert into conversation_states (uid, channel_type, target_id, conversation, last_mid, changed_id, unread) values (?, ?, ?, ?, ?, ?, 1)
       on conflict (uid, channel_type, target_id) do update set last_mid = excluded.last_mid, changed_id = excluded.changed_id, unread = unread + 1`,
    ),
  };
}

/**
 * SQLite runs in-process and synchronously, so there are no round trips to save, only the work per statement:
 * a row at a time through statements prepared once, past knex's building and preparing of each.
 */
async function insertOnSqlite(w: WriteContext, entries: NewMessage[]): Promise<StoredUnderMsgId[]> {
  const statements = await preparedStatements(w.trx, prepareInserts);
  return entries.map((entry) => {
    const { mid, senderId, message, createdAt, recipients } = entry;
    if (statements.message.get(messageRow(entry)) === undefined) {
      const first = statements.first.get(senderId, message.msgId) as { mid: number; created_at: number };
      return { mid: Number(first.mid), createdAt: Number(first.created_at) };
    }
    const group = message.channelType === ChannelType.ToGroup;
    statements.event.run(mid, mid, group ? Number(message.targetId) : null, senderId, createdAt);
    for (const uid of new Set(recipients)) statements.inbox.run(uid, mid);
    const conversation = group ? groupConversation(Number(message.targetId)) : privateConversation(senderId, message.targetId);
    statements.sent.run(senderId, message.channelType, message.targetId, conversation, mid, group ? 0 : mid, mid);
    if (!group && message.targetId !== senderId) statements.received.run(message.targetId, message.channelType, senderId, conversation, mid, mid);
    return { mid, createdAt };
  });
}

/** Rows as one JSON text that PostgreSQL reads back into their table's row type; bytes go as bytea's hex text. */
function rowsJson(rows: object[]): string {
  return JSON.stringify(rows, function (this: Record<string, unknown>, key, value: unknown) {
    // The raw value: by the time the replacer sees it, a Buffer has become its toJSON() form.
    const raw = this[key];
    return Buffer.isBuffer(raw) ? `\\x${raw.toString('hex')}` : value;
  });
}

/** The messages row of a new message. */
function messageRow({ mid, senderId, message, createdAt }: NewMessage) {
  const group = message.channelType === ChannelType.ToGroup;
  return {
    mid,
    channel_type: message.channelType,
    msg_id: message.msgId,
    sender_id: senderId,
    target_id: message.targetId,
    conversation: group ? groupConversation(Number(message.targetId)) : privateConversation(senderId, message.targetId),
    msg_type: message.msgType,
    msg: Buffer.from(message.msg),
    source: message.source ? JSON.stringify(message.source) : null,
    reference: message.reference ? JSON.stringify(message.reference) : null,
    created_at: createdAt,
    // " a b ", so that one uid is found with a plain substring search for " a ".
    mentions: message.mentions?.length ? ` ${message.mentions.join(' ')} ` : null,
  };
}

/** Erases the content, keeping the row as a tombstone of who revoked it and when. */
export async function markRevoked(trx: Knex, mid: number, operator: string, at: number): Promise<void> {
  await trx('messages').where({ mid }).update({ msg: null, source: null, reference: null, revoked_by: operator, revoked_at: at });
}

/** Records one mark; false when this user had marked the message already. */
export async function addFocusMark(trx: Knex, mid: number, uid: string, at: number): Promise<boolean> {
  const inserted = await trx('focus_marks').insert({ mid, uid, created_at: at }).onConflict(['mid', 'uid']).ignore().returning('uid');
  return inserted.length > 0;
}

export async function countFocusMarks(db: Knex, mid: number): Promise<number> {
  const row = await db('focus_marks').where({ mid }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Marks private messages to `receiverId` delivered, unless they were already (or were revoked); returns those marked. */
export async function markDelivered(trx: Knex, receiverId: string, mids: number[], at: number): Promise<Array<{ mid: number; senderId: string }>> {
  const delivered: Array<{ mid: number; senderId: string }> = [];
  for (const part of chunks(mids)) {
    const rows: Array<{ mid: number | string; sender_id: string }> = await trx('messages')
      .whereIn('mid', part)
      .andWhere({ channel_type: ChannelType.ToUser, target_id: receiverId })
      .andWhereNot('sender_id', receiverId)
      .whereNull('delivered_at')
      .whereNull('revoked_at')
      .update({ delivered_at: at })
      .returning(['mid', 'sender_id']);
    delivered.push(...rows.map((row) => ({ mid: Number(row.mid), senderId: row.sender_id })));
  }
  return delivered;
}

export async function privateHistory(db: Knex, uidA: string, uidB: string, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
  return history(db, privateConversation(uidA, uidB), 0, beforeId, limit);
}

export async function groupHistory(db: Knex, groupId: number, fromId: number, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
  return history(db, groupConversation(groupId), fromId, beforeId, limit);
}

/** A conversation's messages with fromId <= mid < beforeId (or the newest), newest first; revoked ones left out. */
async function history(db: Knex, conversation: string, fromId: number, beforeId: number | undefined, limit: number): Promise<StoredMessage[]> {
  const query = db('messages as m')
    .select(MESSAGE_COLUMNS)
    .where('m.conversation', conversation)
    .whereNull('m.revoked_at')
    .orderBy('m.mid', 'desc')
    .limit(limit);
  if (fromId > 0) query.andWhere('m.mid', '>=', fromId);
  if (beforeId !== undefined) query.andWhere('m.mid', '<', beforeId);
  return ((await query) as MessageRow[]).map(toMessage);
}
