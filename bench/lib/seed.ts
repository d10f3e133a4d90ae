/**
 * The read benchmark's data set, written straight into a fresh database in bulk (not through the API, which would
 * take hours for a million messages), in exactly the rows chatlog itself writes (db/migrations): groups with their
 * creation event and memberships, then messages with their `events` row and, for private ones, an `inbox` row per
 * party; finally the `counters` row is set to the last id, so that the server's next ids follow.
 *
 * Shape (DESIGN.md "The event log", the schema measured there): `users` users; `groups` groups of `groupSize`
 * members (each user in groups * groupSize / users of them, from the start); users paired at random into
 * conversations (every user has one partner), and `messages` messages in id order, each a group message with
 * probability `groupShare` (from a random member of a random group) and otherwise a private one in a random
 * conversation, from either side. A seeded generator makes every run the same.
 *
 * Rows go in multi-row statements inside transactions of CHUNK_MESSAGES messages: on PostgreSQL one statement per
 * table per chunk reading the rows from a JSON parameter (json_to_recordset), then VACUUM ANALYZE (insert-driven
 * autovacuum would do the same on a live server); on SQLite multi-row VALUES of at most 400 rows, then a WAL
 * checkpoint.
 */
import type { Knex } from 'knex';
import { performance } from 'node:perf_hooks';
import type { DatabaseConfig } from '../../src/config.js';
import { createCodec } from '../../src/proto/codec.js';
import { openDatabase } from '../../src/store/database.js';

export interface DatasetSpec {
  messages: number;
  users: number;
  groups: number;
  groupSize: number;
  /** Share of messages sent to groups, 0..1. */
  groupShare: number;
  /** Seed of the generator. */
  seed: number;
}

export interface Dataset {
  spec: DatasetSpec;
  users: string[];
  /** Private conversations, as [uid, uid]. */
  conversations: Array<[string, string]>;
  /** The last event id written (the counter's value). */
  lastId: number;
  privateMessages: number;
  groupMessages: number;
  rows: { messages: number; events: number; inbox: number; memberships: number; groups: number };
  /** Mean events in a user's stream. */
  meanStream: number;
  /** Mean messages in a private conversation. */
  meanConversation: number;
  seconds: number;
  /** What ran after the inserts (VACUUM ANALYZE, checkpoint) and how long it took. */
  finish: string;
}

/** Messages per transaction. */
const CHUNK_MESSAGES = 20_000;
/** Rows per statement on SQLite: knex-style multi-row inserts stay below SQLite's compound-select limit of 500. */
const SQLITE_ROWS_PER_STATEMENT = 400;

/** mulberry32: a small, fast, seeded generator; uniform in [0, 1). */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type Row = Record<string, string | number | Buffer | null>;

interface Column {
  name: string;
  /** The PostgreSQL type the JSON value is read as. */
  pg: string;
}

const TABLES: Record<string, Column[]> = {
  groups: [
    { name: 'id', pg: 'bigint' },
    { name: 'name', pg: 'text' },
    { name: 'owner_id', pg: 'text' },
    { name: 'member_num', pg: 'integer' },
    { name: 'created_at', pg: 'bigint' },
  ],
  memberships: [
    { name: 'group_id', pg: 'bigint' },
    { name: 'uid', pg: 'text' },
    { name: 'role', pg: 'smallint' },
    { name: 'joined_id', pg: 'bigint' },
  ],
  messages: [
    { name: 'mid', pg: 'bigint' },
    { name: 'channel_type', pg: 'smallint' },
    { name: 'msg_id', pg: 'text' },
    { name: 'sender_id', pg: 'text' },
    { name: 'target_id', pg: 'text' },
    { name: 'conversation', pg: 'text' },
    { name: 'msg_type', pg: 'smallint' },
    { name: 'msg', pg: 'bytea' },
    { name: 'created_at', pg: 'bigint' },
  ],
  events: [
    { name: 'id', pg: 'bigint' },
    { name: 'kind', pg: 'text' },
    { name: 'mid', pg: 'bigint' },
    { name: 'group_id', pg: 'bigint' },
    { name: 'actor', pg: 'text' },
    { name: 'data', pg: 'text' },
    { name: 'created_at', pg: 'bigint' },
  ],
  inbox: [
    { name: 'uid', pg: 'text' },
    { name: 'id', pg: 'bigint' },
  ],
};

/** Bytes as hex for JSON (Buffer.toJSON would give {type, data: [...]}). */
function hexBytes(rows: Row[]): Row[] {
  return rows.map((row) => {
    const out: Row = {};
    for (const [key, value] of Object.entries(row)) out[key] = Buffer.isBuffer(value) ? value.toString('hex') : value;
    return out;
  });
}

/** Inserts rows of one table in as few statements as the engine allows. */
async function insertRows(trx: Knex.Transaction, isPostgres: boolean, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = TABLES[table]!;
  const names = columns.map((c) => c.name).join(', ');
  if (isPostgres) {
    // One statement and one parameter per table and chunk: PostgreSQL reads the rows out of a JSON array. Bytes
    // travel as hex.
    const json = JSON.stringify(columns.some((c) => c.pg === 'bytea') ? hexBytes(rows) : rows);
    const select = columns.map((c) => (c.pg === 'bytea' ? `decode(r.${c.name}, 'hex')` : `r.${c.name}`)).join(', ');
    const types = columns.map((c) => `${c.name} ${c.pg === 'bytea' ? 'text' : c.pg}`).join(', ');
    await trx.raw(`insert into ${table} (${names}) select ${select} from json_to_recordset(?::json) as r(${types})`, [json]);
    return;
  }
  for (let i = 0; i < rows.length; i += SQLITE_ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + SQLITE_ROWS_PER_STATEMENT);
    const placeholders = `(${columns.map(() => '?').join(', ')})`;
    const bindings = part.flatMap((row) => columns.map((c) => row[c.name] ?? null));
    await trx.raw(`insert into ${table} (${names}) values ${part.map(() => placeholders).join(', ')}`, bindings);
  }
}

/**
 * Migrates the fresh database and writes the data set into it; `onProgress` gets a line now and then. The
 * database must be empty: ids start at 1.
 */
export async function seedDataset(database: DatabaseConfig, spec: DatasetSpec, onProgress: (line: string) => void): Promise<Dataset> {
  if (spec.users < spec.groupSize || spec.users < 2) throw new Error(`${spec.users} users cannot fill groups of ${spec.groupSize}`);
  const started = performance.now();
  const random = generator(spec.seed);
  const codec = createCodec();
  const width = String(spec.users - 1).length;
  const users = Array.from({ length: spec.users }, (_, i) => `user${String(i).padStart(width, '0')}`);

  // Conversations: a random perfect matching (with an odd count, the last user also talks to the first one's partner).
  const order = shuffled(users, random);
  const conversations: Array<[string, string]> = [];
  for (let i = 0; i + 1 < order.length; i += 2) conversations.push([order[i]!, order[i + 1]!]);
  if (order.length % 2 === 1) conversations.push([order.at(-1)!, order[0]!]);
  // Groups: consecutive runs of another shuffle, so that every user is in about as many groups as the next.
  const memberOrder = shuffled(users, random);
  const groupMembers = Array.from({ length: spec.groups }, (_, g) => Array.from({ length: spec.groupSize }, (_, j) => memberOrder[(g * spec.groupSize + j) % users.length]!));
  // A few hundred distinct bodies: TextMsg as a client sends it (codec.encodeContent), of varying length.
  const bodies = Array.from({ length: 256 }, (_, i) => Buffer.from(codec.encodeContent(1, { content: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`.trim() })));

  const db = await openDatabase(database);
  const isPostgres = db.client.config.client === 'pg';
  const rows = { messages: 0, events: 0, inbox: 0, memberships: 0, groups: 0 };
  const total = spec.groups + spec.messages;
  const baseTime = Date.now() - total * 10;
  const timeOf = (id: number) => baseTime + id * 10;
  let privateMessages = 0;
  let groupMessages = 0;
  let finish: string;
  try {
    // Groups first: ids 1..groups are their creation events, every member joined then.
    await db.transaction(async (trx) => {
      const groups: Row[] = [];
      const events: Row[] = [];
      const memberships: Row[] = [];
      groupMembers.forEach((members, g) => {
        const id = g + 1;
        const createdAt = timeOf(id);
        groups.push({ id, name: `group ${id}`, owner_id: members[0]!, member_num: members.length, created_at: createdAt });
        events.push({ id, kind: 'join', mid: null, group_id: id, actor: members[0]!, data: JSON.stringify({ uids: members, time: createdAt }), created_at: createdAt });
        members.forEach((uid, j) => memberships.push({ group_id: id, uid, role: j === 0 ? 2 : 0, joined_id: id }));
      });
      await insertRows(trx, isPostgres, 'groups', groups);
      await insertRows(trx, isPostgres, 'events', events);
      for (let i = 0; i < memberships.length; i += CHUNK_MESSAGES) await insertRows(trx, isPostgres, 'memberships', memberships.slice(i, i + CHUNK_MESSAGES));
      rows.groups += groups.length;
      rows.events += events.length;
      rows.memberships += memberships.length;
    });

    let lastLine = performance.now();
    for (let first = spec.groups + 1; first <= total; first += CHUNK_MESSAGES) {
      const last = Math.min(total, first + CHUNK_MESSAGES - 1);
      const messages: Row[] = [];
      const events: Row[] = [];
      const inbox: Row[] = [];
      for (let id = first; id <= last; id++) {
        const createdAt = timeOf(id);
        const msg = bodies[id % bodies.length]!;
        if (random() < spec.groupShare) {
          const g = Math.floor(random() * spec.groups);
          const groupId = g + 1;
          const sender = groupMembers[g]![Math.floor(random() * spec.groupSize)]!;
          messages.push({ mid: id, channel_type: 1, msg_id: `seed-${id}`, sender_id: sender, target_id: String(groupId), conversation: `g:${groupId}`, msg_type: 1, msg, created_at: createdAt });
          events.push({ id, kind: 'message', mid: id, group_id: groupId, actor: sender, data: null, created_at: createdAt });
          groupMessages++;
        } else {
          const pair = conversations[Math.floor(random() * conversations.length)]!;
          const [sender, target] = random() < 0.5 ? pair : [pair[1], pair[0]];
          const conversation = sender < target ? `${sender} ${target}` : `${target} ${sender}`;
          messages.push({ mid: id, channel_type: 0, msg_id: `seed-${id}`, sender_id: sender, target_id: target, conversation, msg_type: 1, msg, created_at: createdAt });
          events.push({ id, kind: 'message', mid: id, group_id: null, actor: sender, data: null, created_at: createdAt });
          inbox.push({ uid: sender, id }, { uid: target, id });
          privateMessages++;
        }
      }
      await db.transaction(async (trx) => {
        // A bench database: a crash loses nothing worth keeping, so commits need not wait for the disk.
        if (isPostgres) await trx.raw('set local synchronous_commit = off');
        await insertRows(trx, isPostgres, 'messages', messages);
        await insertRows(trx, isPostgres, 'events', events);
        await insertRows(trx, isPostgres, 'inbox', inbox);
      });
      rows.messages += messages.length;
      rows.events += events.length;
      rows.inbox += inbox.length;
      const now = performance.now();
      if (now - lastLine >= 2000 || last === total) {
        lastLine = now;
        const done = last - spec.groups;
        const rate = done / ((now - started) / 1000);
        onProgress(`seeding: ${done.toLocaleString('en-US')} / ${spec.messages.toLocaleString('en-US')} messages (${((done / spec.messages) * 100).toFixed(0)}%), ${Math.round(rate).toLocaleString('en-US')} messages/s, about ${Math.ceil((spec.messages - done) / rate)} s left`);
      }
    }
    await db('counters').where({ name: 'event' }).update({ value: total });

    const finishStarted = performance.now();
    if (isPostgres) {
      onProgress('seeding: VACUUM ANALYZE (statistics for the planner, visibility map for index-only scans)');
      await db.raw('vacuum analyze');
      finish = 'VACUUM ANALYZE';
    } else {
      onProgress('seeding: WAL checkpoint');
      await db.raw('pragma wal_checkpoint(TRUNCATE)');
      finish = 'WAL checkpoint';
    }
    finish += ` in ${((performance.now() - finishStarted) / 1000).toFixed(1)} s`;
  } finally {
    await db.destroy();
  }
  return {
    spec,
    users,
    conversations,
    lastId: total,
    privateMessages,
    groupMessages,
    rows,
    meanStream: (privateMessages * 2 + groupMessages * spec.groupSize + spec.groups * spec.groupSize) / spec.users,
    meanConversation: privateMessages / conversations.length,
    seconds: (performance.now() - started) / 1000,
    finish,
  };
}
