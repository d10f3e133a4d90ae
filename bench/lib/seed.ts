/**
 * The read benchmark's data set, written into the fresh database before the server starts, through the store's
 * own write path (runBatch: the lock, the id counter, the commit) and row functions: groups with createGroup,
 * messages queued thousands to a transaction (one statement on PostgreSQL), since through the API a million
 * messages would take hours.
 *
 * Shape (DESIGN.md "The event log"): `users` users; `groups` groups of `groupSize` members (each user in about as
 * many as the next); users paired at random into conversations; `messages` messages, each a group message with
 * probability `groupShare` (from a random member of a random group), else a private one in a random
 * conversation, from either side. A seeded generator makes every run the same.
 */
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type { DatabaseConfig } from '../../src/config.js';
import { ChannelType, JoinType, MuteType } from '../../src/domain.js';
import { openDatabase } from '../../src/store/database.js';
import type { NewMessage } from '../../src/store/messages.js';
import { isPostgres } from '../../src/store/pg-statements.js';
import type { NewGroup } from '../../src/store/store.js';
import { runBatch, type KnexWriteTransaction } from '../../src/store/write-path.js';
import { encodeText } from '../../test/helpers/client.js';
import { count, progress } from './report.js';

export type DatasetSpec = { messages: number; users: number; groups: number; groupSize: number; groupShare: number; seed: number };

/** The users, the private conversations as [uid, uid], the last event id written, and a line for the report. */
export type Dataset = { users: string[]; conversations: Array<[string, string]>; lastId: number; description: string };

const CHUNK_MESSAGES = 20_000;

/** mulberry32: a small, fast, seeded generator, uniform in [0, 1). */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A few hundred distinct text bodies of varying length, as a client encodes them. */
export function textBodies(): Uint8Array[] {
  return Array.from({ length: 256 }, (_, i) => encodeText(`message ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`.trim()));
}

/** One write transaction of the store carrying one work; no server runs yet, so nobody hears of the commits. */
export function seedWriter(db: Knex): (work: (tx: KnexWriteTransaction) => Promise<unknown>) => Promise<void> {
  return (work) =>
    runBatch(
      db,
      isPostgres(db),
      async (batch) => {
        const outcome = await batch.run(work, false);
        if (!outcome.ok) throw outcome.error;
        await batch.flush();
      },
      () => undefined,
    );
}

/**
 * After seeding, what a live server would have had time for: planner statistics and the visibility map
 * (index-only scans), as autovacuum would make them, and the seeded pages written out (a checkpoint), so that
 * the kernel's writeback of a freshly seeded database does not take a core from the first measured runs.
 * Answers what it did, for the report.
 */
export async function settleSeeded(db: Knex): Promise<string> {
  if (!isPostgres(db)) {
    await db.raw('pragma wal_checkpoint(TRUNCATE)');
    return 'a WAL checkpoint';
  }
  await db.raw('vacuum analyze');
  await db.raw('checkpoint');
  return 'VACUUM ANALYZE and a CHECKPOINT';
}

/** A new group as the seed creates it: anyone may join, everyone may speak. */
export function seedGroup(name: string, ownerId: string, markId: string, createdAt: number): NewGroup {
  const settings = { name, publicName: name, avatar: '', introduce: '', joinType: JoinType.Anyone, muteType: MuteType.Everyone, friendType: 0 as const };
  return { ...settings, ownerId, markId, groupType: 0, key: '0'.repeat(32), createdAt };
}

export async function seedDataset(database: DatabaseConfig, spec: DatasetSpec): Promise<Dataset> {
  const started = performance.now();
  const random = generator(spec.seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const width = String(spec.users - 1).length;
  const users = Array.from({ length: spec.users }, (_, i) => `user${String(i).padStart(width, '0')}`);
  // A random perfect matching (with an odd count, the last user also talks to the first one's partner).
  const order = shuffled(users, random);
  const conversations: Array<[string, string]> = [];
  for (let i = 0; i + 1 < order.length; i += 2) conversations.push([order[i]!, order[i + 1]!]);
  if (order.length % 2 === 1) conversations.push([order.at(-1)!, order[0]!]);
  // Consecutive runs of another shuffle, so that every user is in about as many groups as the next.
  const memberOrder = shuffled(users, random);
  const groupMembers = Array.from({ length: spec.groups }, (_, g) =>
    Array.from({ length: spec.groupSize }, (_, j) => memberOrder[(g * spec.groupSize + j) % users.length]!),
  );
  const bodies = textBodies();
  const baseTime = Date.now() - (spec.groups + spec.messages) * 10;

  const db = await openDatabase(database);
  const write = seedWriter(db);
  const groupIds: number[] = [];
  let lastId = 0;
  let groupMessages = 0;
  try {
    await write(async (tx) => {
      for (const [g, [ownerId, ...members]] of groupMembers.entries()) {
        groupIds.push((await tx.createGroup(seedGroup(`group ${g}`, ownerId!, `seed${g}`, baseTime), members)).id);
      }
    });
    let lastLine = performance.now();
    for (let first = 0; first < spec.messages; first += CHUNK_MESSAGES) {
      const entries: Array<Omit<NewMessage, 'mid'>> = [];
      for (let n = first; n < Math.min(spec.messages, first + CHUNK_MESSAGES); n++) {
        const common = { msgId: `seed-${n}`, msgType: 1, msg: bodies[n % bodies.length]! };
        const createdAt = baseTime + (spec.groups + n) * 10;
        if (random() < spec.groupShare) {
          const g = Math.floor(random() * spec.groups);
          const message = { ...common, channelType: ChannelType.ToGroup, targetId: String(groupIds[g]) };
          entries.push({ senderId: pick(groupMembers[g]!), message, createdAt, recipients: [] });
          groupMessages++;
        } else {
          const pair = pick(conversations);
          const [senderId, targetId] = random() < 0.5 ? pair : [pair[1], pair[0]];
          entries.push({ senderId, message: { ...common, channelType: ChannelType.ToUser, targetId }, createdAt, recipients: [senderId, targetId] });
        }
      }
      await write(async (tx) => {
        for (const { senderId, message, createdAt, recipients } of entries) lastId = tx.queueMessage(senderId, message, createdAt, recipients).mid;
      });
      const done = Math.min(spec.messages, first + CHUNK_MESSAGES);
      if (performance.now() - lastLine >= 2000 || done === spec.messages) {
        lastLine = performance.now();
        progress(`seeding: ${count(done)} / ${count(spec.messages)} messages, ${count(done / ((lastLine - started) / 1000))}/s`);
      }
    }
    const seeded = (performance.now() - started) / 1000;
    const settled = await settleSeeded(db);
    const privateMessages = spec.messages - groupMessages;
    const meanStream = (privateMessages * 2 + (groupMessages + spec.groups) * spec.groupSize) / spec.users;
    const description =
      `${count(spec.messages)} messages (${count(privateMessages)} private, ${count(groupMessages)} group) across ${count(spec.users)} users; ` +
      `${spec.groups} groups of ${spec.groupSize}; ${count(conversations.length)} conversations, mean ${count(privateMessages / conversations.length)} messages; ` +
      `mean stream ${count(meanStream)} events; written in ${seeded.toFixed(1)} s (${count(spec.messages / seeded)}/s), then ${settled} in ${((performance.now() - started) / 1000 - seeded).toFixed(1)} s`;
    return { users, conversations, lastId, description };
  } finally {
    await db.destroy();
  }
}
