/**
 * The conversation benchmark's data set, written into the fresh database before the server starts through the
 * store's own write path as lib/seed.ts writes its own (runBatch + queueMessage, thousands of messages to a
 * transaction), so that every conversation_states row is what the server's sends would have left: a private
 * message writes both parties' rows, a send moves its sender's read position to it.
 *
 * Shape, all in one stream of `messages` messages in a seeded random order:
 * - one reader with `peers` private conversations (each with at least one message) and `groups` groups of
 *   `groupSize` (the reader and peers); in each of the reader's conversations the reader sends the message just
 *   before the last `u` ones, which come from the others: u = 0 (read) but for a share `unreadShare`, where u is
 *   1 to 5. So the reader's read positions are where a client that answers what it reads would leave them, and the
 *   unread count of every conversation is known;
 * - `markReaders` pairs where only one side sends, `markReadMessages` in all, as many to each: the receiver's unread
 *   messages, to be read one by one, forward;
 * - the rest, background: `users` other users paired into conversations, and `backgroundGroups` groups of
 *   `backgroundGroupSize` of them, a quarter of the background messages in groups, as lib/seed.ts does.
 */
import { performance } from 'node:perf_hooks';
import type { DatabaseConfig } from '../../src/config.js';
import { ChannelType } from '../../src/domain.js';
import { openDatabase } from '../../src/store/database.js';
import type { NewMessage } from '../../src/store/messages.js';
import { count, progress } from './report.js';
import { generator, seedGroup, seedWriter, settleSeeded, shuffled, textBodies } from './seed.js';

export type ConversationsSpec = {
  messages: number;
  peers: number;
  groups: number;
  groupSize: number;
  /** The share of the reader's conversations left with unread messages at the end. */
  unreadShare: number;
  /** The shares of the messages in the reader's private conversations and in the reader's groups. */
  readerPrivateShare: number;
  readerGroupShare: number;
  markReaders: number;
  markReadMessages: number;
  users: number;
  backgroundGroups: number;
  backgroundGroupSize: number;
  seed: number;
};

/** One conversation of a reader of part 2: `sender` sent `mids` (ascending) to `reader`, who has read none. */
export type MarkReadConversation = { reader: string; sender: string; mids: number[] };

export type ConversationsDataset = {
  reader: string;
  peers: string[];
  groupIds: number[];
  /** The unread count of each of the reader's conversations, by `${type}:${targetId}`; 0 for the read ones. */
  unread: Map<string, number>;
  totalUnread: number;
  /** How many messages each of the reader's conversations holds, by the same key. */
  sizes: Map<string, number>;
  markRead: MarkReadConversation[];
  lastId: number;
  description: string;
};

export const conversationKey = (type: number, targetId: string): string => `${type}:${targetId}`;

const CHUNK_MESSAGES = 20_000;
const MAX_TRAILING_UNREAD = 5;

const uids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(String(n - 1).length, '0')}`);

export async function seedConversations(database: DatabaseConfig, spec: ConversationsSpec): Promise<ConversationsDataset> {
  const started = performance.now();
  const random = generator(spec.seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const reader = 'reader';
  const peers = uids('peer', spec.peers);
  const users = uids('user', spec.users);
  const markSenders = uids('mark-sender', spec.markReaders);
  const markReaders = uids('mark-reader', spec.markReaders);

  // Conversations by index: the reader's private ones, the reader's groups, the mark-read pairs, the background
  // pairs, the background groups.
  const order = shuffled(users, random);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < order.length; i += 2) pairs.push([order[i]!, order[i + 1]!]);
  const peerOrder = shuffled(peers, random);
  const readerGroupMembers = Array.from({ length: spec.groups }, (_, g) => [
    peerOrder[(g * (spec.groupSize - 1)) % peers.length]!,
    reader,
    ...Array.from({ length: spec.groupSize - 2 }, (_, j) => peerOrder[(g * (spec.groupSize - 1) + j + 1) % peers.length]!),
  ]);
  const readerGroupOthers = readerGroupMembers.map((members) => members.filter((uid) => uid !== reader));
  const memberOrder = shuffled(users, random);
  const backgroundMembers = Array.from({ length: spec.backgroundGroups }, (_, g) =>
    Array.from({ length: spec.backgroundGroupSize }, (_, j) => memberOrder[(g * spec.backgroundGroupSize + j) % users.length]!),
  );
  const first = { readerGroup: spec.peers, mark: spec.peers + spec.groups, pair: 0, backgroundGroup: 0 };
  first.pair = first.mark + spec.markReaders;
  first.backgroundGroup = first.pair + pairs.length;
  const conversations = first.backgroundGroup + spec.backgroundGroups;

  // How many messages each kind gets; every conversation of the reader and every mark-read pair at least one.
  const readerPrivate = Math.max(spec.peers, Math.round(spec.messages * spec.readerPrivateShare));
  const readerGroup = Math.max(spec.groups, Math.round(spec.messages * spec.readerGroupShare));
  const mark = Math.max(spec.markReaders, spec.markReadMessages);
  const background = spec.messages - readerPrivate - readerGroup - mark;
  if (background < pairs.length + spec.backgroundGroups)
    throw new Error(`${count(spec.messages)} messages are too few for ${count(spec.peers)} conversations of the reader and ${count(mark)} to mark read`);
  const backgroundGroup = Math.round(background * 0.25);
  const sequence = new Int32Array(spec.messages);
  let filled = 0;
  // Each conversation once, then the rest at random, or `evenly`: as many to each (give or take one).
  const fill = (firstIndex: number, size: number, total: number, evenly = false) => {
    for (let i = 0; i < total; i++) sequence[filled++] = firstIndex + (i < size || evenly ? i % size : Math.floor(random() * size));
  };
  fill(0, spec.peers, readerPrivate);
  fill(first.readerGroup, spec.groups, readerGroup);
  // Mark-read goes round the pairs, a message of each in turn: each pair as many.
  fill(first.mark, spec.markReaders, mark, true);
  fill(first.pair, pairs.length, background - backgroundGroup);
  fill(first.backgroundGroup, spec.backgroundGroups, backgroundGroup);
  for (let i = sequence.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sequence[i], sequence[j]] = [sequence[j]!, sequence[i]!];
  }
  const total = new Int32Array(conversations);
  for (const c of sequence) total[c]!++;
  // The reader's conversations: how many of their last messages come from the others.
  const readerConversations = first.mark;
  const trailing = new Int32Array(readerConversations);
  for (let c = 0; c < readerConversations; c++) if (random() < spec.unreadShare) trailing[c] = 1 + Math.floor(random() * MAX_TRAILING_UNREAD);

  const bodies = textBodies();
  const baseTime = Date.now() - (spec.groups + spec.backgroundGroups + spec.messages) * 10;
  const db = await openDatabase(database);
  const write = seedWriter(db);
  const groupIds: number[] = [];
  const backgroundGroupIds: number[] = [];
  const markRead: MarkReadConversation[] = markReaders.map((uid, i) => ({ reader: uid, sender: markSenders[i]!, mids: [] }));
  const seen = new Int32Array(conversations);
  let lastId = 0;
  try {
    await write(async (tx) => {
      for (const [g, [ownerId, ...members]] of readerGroupMembers.entries())
        groupIds.push((await tx.createGroup(seedGroup(`reader group ${g}`, ownerId!, `seed-r${g}`, baseTime), members)).id);
      for (const [g, [ownerId, ...members]] of backgroundMembers.entries())
        backgroundGroupIds.push((await tx.createGroup(seedGroup(`group ${g}`, ownerId!, `seed-b${g}`, baseTime), members)).id);
    });
    let lastLine = performance.now();
    for (let start = 0; start < spec.messages; start += CHUNK_MESSAGES) {
      const entries: Array<Omit<NewMessage, 'mid'> & { mark?: MarkReadConversation }> = [];
      for (let n = start; n < Math.min(spec.messages, start + CHUNK_MESSAGES); n++) {
        const c = sequence[n]!;
        const k = seen[c]!++;
        const common = { msgId: `seed-${n}`, msgType: 1, msg: bodies[n % bodies.length]! };
        const createdAt = baseTime + (spec.groups + spec.backgroundGroups + n) * 10;
        const privately = (senderId: string, targetId: string) => ({
          senderId,
          message: { ...common, channelType: ChannelType.ToUser, targetId },
          createdAt,
          recipients: [senderId, targetId],
        });
        const inGroup = (senderId: string, groupId: number) => ({
          senderId,
          message: { ...common, channelType: ChannelType.ToGroup, targetId: String(groupId) },
          createdAt,
          recipients: [],
        });
        if (c < readerConversations) {
          // The reader sends the message before the last `trailing` ones; the others send those; the rest at random.
          const fromOthers = total[c]! - trailing[c]!;
          const byReader = k === fromOthers - 1 ? true : k >= fromOthers ? false : random() < 0.5;
          if (c < first.readerGroup) {
            const peer = peers[c]!;
            entries.push(byReader ? privately(reader, peer) : privately(peer, reader));
          } else {
            const g = c - first.readerGroup;
            entries.push(inGroup(byReader ? reader : pick(readerGroupOthers[g]!), groupIds[g]!));
          }
        } else if (c < first.pair) {
          const conversation = markRead[c - first.mark]!;
          entries.push({ ...privately(conversation.sender, conversation.reader), mark: conversation });
        } else if (c < first.backgroundGroup) {
          const pair = pairs[c - first.pair]!;
          entries.push(random() < 0.5 ? privately(pair[0], pair[1]) : privately(pair[1], pair[0]));
        } else {
          const g = c - first.backgroundGroup;
          entries.push(inGroup(pick(backgroundMembers[g]!), backgroundGroupIds[g]!));
        }
      }
      await write(async (tx) => {
        for (const { senderId, message, createdAt, recipients, mark } of entries) {
          lastId = tx.queueMessage(senderId, message, createdAt, recipients).mid;
          mark?.mids.push(lastId);
        }
      });
      const done = Math.min(spec.messages, start + CHUNK_MESSAGES);
      if (performance.now() - lastLine >= 2000 || done === spec.messages) {
        lastLine = performance.now();
        progress(`seeding: ${count(done)} / ${count(spec.messages)} messages, ${count(done / ((lastLine - started) / 1000))}/s`);
      }
    }
    const seeded = (performance.now() - started) / 1000;
    const settled = await settleSeeded(db);
    const keyOf = (c: number) =>
      c < first.readerGroup ? conversationKey(ChannelType.ToUser, peers[c]!) : conversationKey(ChannelType.ToGroup, String(groupIds[c - first.readerGroup]));
    const unread = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (let c = 0; c < readerConversations; c++) {
      unread.set(keyOf(c), Math.min(trailing[c]!, total[c]!));
      sizes.set(keyOf(c), total[c]!);
    }
    const totalUnread = [...unread.values()].reduce((a, b) => a + b, 0);
    const unreadConversations = [...unread.values()].filter((n) => n > 0).length;
    const description =
      `${count(spec.messages)} messages; the reader: ${count(spec.peers)} private conversations (${count(readerPrivate)} messages) and ` +
      `${spec.groups} groups of ${spec.groupSize} (${count(readerGroup)} messages), ${count(unreadConversations)} of them ` +
      `(${fixedShare(unreadConversations / readerConversations)}) with ${count(totalUnread)} unread; ${spec.markReaders} one-way pairs for mark-read ` +
      `(${count(mark)} messages); background: ${count(users.length)} users in ${count(pairs.length)} pairs and ${spec.backgroundGroups} groups of ` +
      `${spec.backgroundGroupSize} (${count(background)} messages); written in ${seeded.toFixed(1)} s (${count(spec.messages / seeded)}/s), then ` +
      `${settled} in ${((performance.now() - started) / 1000 - seeded).toFixed(1)} s`;
    return { reader, peers, groupIds, unread, totalUnread, sizes, markRead, lastId, description };
  } finally {
    await db.destroy();
  }
}

const fixedShare = (share: number) => `${(share * 100).toFixed(1)}%`;
