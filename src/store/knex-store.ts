import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import type { Channel, OutgoingMessage, StoredMessage, StreamEvent } from '../domain.js';
import type { NewStreamEvent, Store, WriteTransaction } from './store.js';

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
  data: string | null;
}

/** Private conversations are keyed by their two uids in sorted order; uids never contain a space. */
export function privateConversation(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    mid: Number(row.mid),
    channelType: row.channel_type as Channel,
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
  switch (row.kind) {
    case 'message':
      return { id, kind: 'message', message: toMessage(row) };
    case 'revoke':
    case 'focus':
      return { id, kind: row.kind, mid: Number(row.mid), channelType: row.channel_type as Channel, data: JSON.parse(row.data!) };
    default:
      throw new Error(`unknown event kind ${row.kind} at id ${id}`);
  }
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
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)/.test(code)) return true;
  }
  return typeof message === 'string' && /Timeout acquiring a connection|Connection terminated/.test(message);
}

async function guarded<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw isStorageUnavailable(err) ? AppError.storageUnavailable(err) : err;
  }
}

class KnexWriteTransaction implements WriteTransaction {
  constructor(private readonly trx: Knex.Transaction) {}

  async findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return findMessageByMsgId(this.trx, senderId, msgId);
  }

  async getMessage(mid: number): Promise<StoredMessage | undefined> {
    const row = await this.trx('messages as m').select(MESSAGE_COLUMNS).where('m.mid', mid).first();
    return row && toMessage(row);
  }

  async insertMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): Promise<StoredMessage> {
    const mid = await this.takeId();
    const conversation = message.channelType === 0 ? privateConversation(senderId, message.targetId) : `g:${message.targetId}`;
    await this.trx('messages').insert({
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
    });
    await this.trx('events').insert({ id: mid, kind: 'message', mid, actor: senderId, data: null, created_at: createdAt });
    await this.deliver(mid, recipients);
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
    await this.trx('messages').where({ mid }).update({ msg: null, source: null, reference: null, revoked_by: operator, revoked_at: at });
  }

  async addFocusMark(mid: number, uid: string, at: number): Promise<boolean> {
    const inserted = await this.trx('focus_marks').insert({ mid, uid, created_at: at }).onConflict(['mid', 'uid']).ignore().returning('uid');
    return inserted.length > 0;
  }

  async countFocusMarks(mid: number): Promise<number> {
    const row = await this.trx('focus_marks').where({ mid }).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  async appendEvent(event: NewStreamEvent, recipients: string[]): Promise<number> {
    const id = await this.takeId();
    await this.trx('events').insert({
      id,
      kind: event.kind,
      mid: event.mid,
      actor: event.actor,
      data: JSON.stringify(event.data),
      created_at: event.createdAt,
    });
    await this.deliver(id, recipients);
    return id;
  }

  private async deliver(id: number, recipients: string[]): Promise<void> {
    const uids = [...new Set(recipients)];
    if (uids.length > 0) await this.trx('inbox').insert(uids.map((uid) => ({ uid, id })));
  }

  /** The write lock is held, so the counter hands out ids in commit order. */
  private async takeId(): Promise<number> {
    const [row] = await this.trx('counters').where({ name: 'event' }).increment('value', 1).returning('value');
    return Number((row as { value: number | string }).value);
  }
}

async function findMessageByMsgId(db: Knex, senderId: string, msgId: string): Promise<StoredMessage | undefined> {
  const row = await db('messages as m').select(MESSAGE_COLUMNS).where({ 'm.sender_id': senderId, 'm.msg_id': msgId }).first();
  return row && toMessage(row);
}

export class KnexStore implements Store {
  private readonly isPostgres: boolean;

  constructor(private readonly db: Knex) {
    this.isPostgres = db.client.config.client === 'pg';
  }

  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined> {
    return guarded(findMessageByMsgId(this.db, senderId, msgId));
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return guarded(
      this.db.transaction(async (trx) => {
        // One writer at a time: ids are taken in commit order (no later id can become visible before an earlier
        // one, which a reader past it would never see), and what a service checks inside holds until commit.
        // SQLite has a single connection and so a single writer already.
        if (this.isPostgres) await trx.raw('select pg_advisory_xact_lock(?)', [WRITE_LOCK_KEY]);
        return work(new KnexWriteTransaction(trx));
      }),
    );
  }

  readStream(uid: string, afterId: number, limit: number): Promise<StreamEvent[]> {
    const query = this.db('inbox as i')
      .join('events as e', 'e.id', 'i.id')
      .join('messages as m', 'm.mid', 'e.mid')
      .select('i.id', 'e.kind', 'e.data', ...MESSAGE_COLUMNS)
      .where('i.uid', uid)
      .andWhere('i.id', '>', afterId)
      .andWhere((q) => q.whereNot('e.kind', 'message').orWhereNull('m.revoked_at'))
      .orderBy('i.id')
      .limit(limit);
    return guarded(query.then((rows: StreamRow[]) => rows.map(toStreamEvent)));
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

  async ping(): Promise<void> {
    await guarded(this.db.raw('select 1'));
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
