/** Messages: storing, recalling, marking and delivering them, and the two histories. */
import type { Knex } from 'knex';
import { ChannelType, type OutgoingMessage, type StoredMessage } from '../domain.js';
import { MESSAGE_COLUMNS, chunks, groupConversation, privateConversation, toMessage, type MessageRow } from './rows.js';
import { insertEventRows, type EventRow, type WriteContext } from './stream.js';

export async function findMessageByMsgId(db: Knex, senderId: string, msgId: string): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where({ 'm.sender_id': senderId, 'm.msg_id': msgId }).first();
  return row && toMessage(row);
}

export async function getMessage(db: Knex, mid: number): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where('m.mid', mid).first();
  return row && toMessage(row);
}

/**
 * Stores a message under a new id with its event (and, for a private message, its inbox rows), unless the sender
 * already stored one under its msgId: undefined then.
 */
export async function insertMessage(
  w: WriteContext,
  senderId: string,
  message: OutgoingMessage,
  createdAt: number,
  recipients: string[],
): Promise<StoredMessage | undefined> {
  const { trx } = w;
  const mid = w.ids.take();
  const group = message.channelType === ChannelType.ToGroup;
  const row = messageRow(mid, senderId, message, createdAt);
  const groupId = group ? Number(message.targetId) : null;
  const insertRow = trx('messages').insert(row).onConflict(['sender_id', 'msg_id']).ignore().returning('mid');
  const uids = [...new Set(recipients)];
  if (w.isPostgres) {
    // One statement, one round trip: the event and inbox rows follow only when the message row went in.
    const first = insertRow.toSQL();
    const inbox =
      uids.length === 0
        ? ''
        : `, i as (insert into inbox (uid, id) select r.uid, m.mid from m cross join (values ${uids.map(() => '(cast(? as varchar))').join(', ')}) as r(uid))`;
    const result = await trx.raw(
      `with m as (${first.sql}), e as (insert into events (id, kind, mid, group_id, actor, created_at) select mid, 'message', mid, ?, ?, ? from m)${inbox} select mid from m`,
      [...first.bindings, groupId, senderId, createdAt, ...uids],
    );
    if ((result as { rows: unknown[] }).rows.length === 0) return undefined;
  } else {
    if ((await insertRow).length === 0) return undefined;
    await insertEventRows(w, { id: mid, kind: 'message', mid, group_id: groupId, actor: senderId, data: null, created_at: createdAt }, uids);
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

/** A message for insertMessagesInBulk: as insertMessage takes it. */
export interface BulkMessage {
  senderId: string;
  message: OutgoingMessage;
  createdAt: number;
  /** Whose inbox it goes to: both parties of a private message, nobody for a group message. */
  recipients: string[];
}

/**
 * Stores many new messages, each under the next id, with their events and inbox rows, in multi-row statements:
 * for loading a data set (the benchmarks seed a million messages this way), where one statement per message would
 * take minutes. Unlike insertMessage it does not skip a msgId the sender used already: that fails the statement.
 * Returns the messages' ids, in order.
 */
export async function insertMessagesInBulk(w: WriteContext, entries: BulkMessage[]): Promise<number[]> {
  const mids: number[] = [];
  const messages: Array<ReturnType<typeof messageRow>> = [];
  const events: EventRow[] = [];
  const inbox: Array<{ uid: string; id: number }> = [];
  for (const { senderId, message, createdAt, recipients } of entries) {
    const mid = w.ids.take();
    mids.push(mid);
    messages.push(messageRow(mid, senderId, message, createdAt));
    const groupId = message.channelType === ChannelType.ToGroup ? Number(message.targetId) : null;
    events.push({ id: mid, kind: 'message', mid, group_id: groupId, actor: senderId, data: null, created_at: createdAt });
    for (const uid of new Set(recipients)) inbox.push({ uid, id: mid });
  }
  for (const [table, rows] of [
    ['messages', messages],
    ['events', events],
    ['inbox', inbox],
  ] as const) {
    if (rows.length === 0) continue;
    if (!w.isPostgres) {
      for (const part of chunks<object>(rows)) await w.trx(table).insert(part);
      continue;
    }
    // One parameter for all the rows, which PostgreSQL reads as JSON: a parameter per value would cost the driver
    // and the parser far more. Bytes go as bytea's hex text.
    const columns = Object.keys(rows[0]!).join(', ');
    const json = JSON.stringify(rows, function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key];
      return Buffer.isBuffer(raw) ? `\\x${raw.toString('hex')}` : value;
    });
    await w.trx.raw(`insert into ${table} (${columns}) select ${columns} from json_populate_recordset(null::${table}, ?::json)`, [json]);
  }
  return mids;
}

/** The messages row of a new message, as both inserts write it. */
function messageRow(mid: number, senderId: string, message: OutgoingMessage, createdAt: number) {
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
