/**
 * The event log and users' streams: appending events (an id from the one counter; inbox rows for the private
 * ones) and reading a user's stream, their inbox merged with the events of each of their stays in groups.
 */
import type { Knex } from 'knex';
import { ChannelType, type CommittedEvent, type StreamEvent } from '../domain.js';
import { committedEvent } from './committed-events.js';
import { MESSAGE_COLUMNS, chunks, toStreamEvent, type StreamRow } from './rows.js';

/** The batch's ids: taken in order under the write lock, written back to the counter before commit. */
export interface Ids {
  take(): number;
}

/** What a write needs: its transaction, the batch's ids, and whether PostgreSQL can take statements together. */
export interface WriteContext {
  trx: Knex.Transaction;
  ids: Ids;
  isPostgres: boolean;
}

/**
 * The part of a batch statement on PostgreSQL that writes the id counter's new value, when given: a data-modifying
 * CTE to put first in its `with`, and its binding, to put first in its bindings.
 */
export function counterUpdate(counter: number | undefined): { cte: string; bindings: number[] } {
  return counter === undefined ? { cte: '', bindings: [] } : { cte: "c as (update counters set value = ? where name = 'event'),", bindings: [counter] };
}

export interface EventRow {
  id: number;
  kind: string;
  mid: number | null;
  group_id: number | null;
  actor: string;
  data: string | null;
  created_at: number;
}

/** Appends an event under a new id; `recipients` get it in their inbox (private events). */
export async function appendEvent(
  w: WriteContext,
  event: { kind: string; actor: string; data: unknown; createdAt: number; mid?: number; groupId?: number },
  recipients: string[],
): Promise<number> {
  const id = w.ids.take();
  const row: EventRow = {
    id,
    kind: event.kind,
    mid: event.mid ?? null,
    group_id: event.groupId ?? null,
    actor: event.actor,
    data: JSON.stringify(event.data),
    created_at: event.createdAt,
  };
  await insertEventRows(w, row, [...new Set(recipients)]);
  return id;
}

/**
 * The event row and its inbox rows. PostgreSQL runs them as one statement (a data-modifying CTE), one round trip
 * instead of two: on the write path, round trips inside the serialised transaction are what bound throughput.
 * SQLite runs in-process, so separate statements cost nothing there.
 */
export async function insertEventRows(w: WriteContext, row: EventRow, recipients: string[]): Promise<void> {
  const { trx } = w;
  const inbox = recipients.map((uid) => ({ uid, id: row.id }));
  if (inbox.length === 0) {
    await trx('events').insert(row);
  } else if (!w.isPostgres) {
    await trx('events').insert(row);
    await trx('inbox').insert(inbox);
  } else {
    const events = trx('events').insert(row).toSQL();
    const rows = trx('inbox').insert(inbox).toSQL();
    await trx.raw(`with e as (${events.sql}) ${rows.sql}`, [...events.bindings, ...rows.bindings]);
  }
}

/**
 * The user's private events (inbox) merged with the events of each group inside each of their stays in it, in
 * one id order, after `afterId`, at most `limit`; revoked messages left out.
 */
export async function readStream(db: Knex, uid: string, afterId: number, limit: number): Promise<StreamEvent[]> {
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
  const rows: StreamRow[] = await db
    .from(positions.as('s'))
    .join('events as e', 'e.id', 's.id')
    .leftJoin('messages as m', 'm.mid', 'e.mid')
    .select('s.id', 'e.kind', 'e.mid as event_mid', 'e.group_id', 'e.data', ...MESSAGE_COLUMNS)
    .where((q) => q.whereNot('e.kind', 'message').orWhereNull('m.revoked_at'))
    .orderBy('s.id')
    .limit(limit);
  return rows.map(toStreamEvent);
}

/** The id of the last event of the user's stream, 0 when it is empty. */
export async function latestPosition(db: Knex, uid: string): Promise<number> {
  const lastPrivate = db('inbox').max({ id: 'id' }).where('uid', uid);
  const lastOfGroups = db('memberships as ms')
    .join('events as ge', (on) => on.on('ge.group_id', 'ms.group_id').andOn('ge.id', '>=', 'ms.joined_id'))
    .max({ id: 'ge.id' })
    .where('ms.uid', uid)
    .andWhere((q) => q.whereNull('ms.left_id').orWhere('ge.id', '<=', db.ref('ms.left_id')))
    .andWhere((q) => q.whereNull('ge.mid').orWhere('ge.mid', '>=', db.ref('ms.joined_id')));
  const row: { id: number | string | null } | undefined = await db.from(lastPrivate.unionAll(lastOfGroups).as('last')).max({ id: 'id' }).first();
  return Number(row?.id ?? 0);
}

/** The counter's value: the last id a committed write took. */
export async function lastEventId(db: Knex): Promise<number> {
  const row: { value: number | string } | undefined = await db('counters').where({ name: 'event' }).first('value');
  return Number(row?.value ?? 0);
}

/**
 * The events committed with ids in (afterId, lastId], each with whom it concerns, as their batches announced them:
 * for an instance that missed their notifications. Messages revoked since are left out, as a stream read leaves
 * them out. Undefined when there are more than `limit`: reading every stream is cheaper then.
 *
 * The parties of a private event are those its inbox rows name, found from the event itself (inbox is keyed by
 * user, not by event): both parties of a private message, or of the message a revoke or mark is about, and for a
 * delivery receipt the sender of the messages it lists, for a read its reader and a private peer, for a
 * conversation's settings their owner. A test compares this with what the write path announced.
 */
export async function readCommitted(db: Knex, afterId: number, lastId: number, limit: number): Promise<CommittedEvent[] | undefined> {
  const rows: Array<StreamRow & { actor: string }> = await db('events as e')
    .leftJoin('messages as m', 'm.mid', 'e.mid')
    .select('e.id', 'e.kind', 'e.mid as event_mid', 'e.group_id', 'e.data', 'e.actor', ...MESSAGE_COLUMNS)
    .where('e.id', '>', afterId)
    .andWhere('e.id', '<=', lastId)
    .orderBy('e.id')
    .limit(limit + 1);
  if (rows.length > limit) return undefined;
  const events = rows.filter((row) => row.kind !== 'message' || row.revoked_at === null).map((row) => ({ row, event: toStreamEvent(row) }));
  const receipts = events.flatMap(({ event }) => (event.kind === 'received' ? [event.data.mids[0]!] : []));
  const senders = new Map<number, string>();
  for (const part of chunks(receipts)) {
    const found: Array<{ mid: number | string; sender_id: string }> = await db('messages').select('mid', 'sender_id').whereIn('mid', part);
    for (const { mid, sender_id } of found) senders.set(Number(mid), sender_id);
  }
  return events.map(({ row, event }) => {
    const isPrivate = row.group_id === null;
    const parties = partiesOf(event, row, senders);
    // The group of a group message's revoke or mark; a group message and group events route by their own.
    const groupId = isPrivate || event.kind === 'message' ? undefined : Number(row.group_id);
    return committedEvent(event, [...new Set(parties)], groupId);
  });
}

/** The users a private event's inbox rows name (see readCommitted). */
function partiesOf(event: StreamEvent, row: StreamRow & { actor: string }, senders: Map<number, string>): string[] {
  switch (event.kind) {
    case 'received':
      return [senders.get(event.data.mids[0]!)!];
    case 'read':
      return event.data.channelType === ChannelType.ToUser ? [row.actor, event.data.targetId] : [row.actor];
    case 'conversation':
      return [row.actor];
    default:
      return row.group_id === null && row.sender_id ? [row.sender_id, row.target_id] : [];
  }
}
