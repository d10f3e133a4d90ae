import assert from 'node:assert/strict';
import knex, { type Knex } from 'knex';
import { ChannelType, type OutgoingMessage } from '../../src/domain.js';
import { knexConfig } from '../../src/store/database.js';
import { KnexStore } from '../../src/store/knex-store.js';
import { describeOnEngines } from '../helpers/engines.js';

/** A messages row as the schema of migration 007 has it. */
const storedBefore = (mid: number, conversation: string, senderId: string) => ({
  mid,
  channel_type: conversation.startsWith('g:') ? ChannelType.ToGroup : ChannelType.ToUser,
  msg_id: `m-${mid}`,
  sender_id: senderId,
  target_id: conversation.startsWith('g:') ? conversation.slice(2) : 'bob',
  conversation,
  msg_type: 1,
  msg: Buffer.from([10, 1, 120]),
  created_at: mid,
});

const text = (msgId: string, targetId: string, channelType: ChannelType): OutgoingMessage => ({
  channelType,
  msgId,
  targetId,
  msgType: 1,
  msg: new Uint8Array([10, 1, 120]),
});

/** Runs the migrations one at a time up to and including `name`. */
async function migrateThrough(db: Knex, name: string): Promise<void> {
  const done = async () => ((await db.migrate.list()) as [Array<{ name: string }>, unknown[]])[0].some((migration) => migration.name === name);
  while (!(await done())) await db.migrate.up();
}

describeOnEngines('migrations: message ordinals (008)', (engine) => {
  let db: Knex;
  beforeEach(async () => {
    db = knex(knexConfig(await engine.freshDatabase()));
  });
  afterEach(() => db.destroy());

  it('numbers the messages stored before it in each conversation, in id order, and new ones after them', async () => {
    await migrateThrough(db, '20261203_007_conversations');
    await db('messages').insert([
      storedBefore(3, 'g:7', 'alice'),
      storedBefore(5, 'alice bob', 'alice'),
      storedBefore(8, 'g:7', 'bob'),
      storedBefore(9, 'g:7', 'alice'),
      storedBefore(12, 'alice bob', 'bob'),
    ]);
    await db('counters').where({ name: 'event' }).update({ value: 12 });
    await db.migrate.latest();
    const numbered = await db('messages').select('mid', 'seq').orderBy('mid');
    assert.deepEqual(
      numbered.map((row: { mid: number | string; seq: number | string }) => [Number(row.mid), Number(row.seq)]),
      [
        [3, 1],
        [5, 1],
        [8, 2],
        [9, 3],
        [12, 2],
      ],
    );

    const store = new KnexStore(db, { maxBatch: 64, onCommitted: () => undefined });
    const group = await store.write(async (tx) => tx.queueMessage('bob', text('new-g', '7', ChannelType.ToGroup), 13, []));
    const chat = await store.write(async (tx) => tx.queueMessage('alice', text('new-p', 'bob', ChannelType.ToUser), 13, ['alice', 'bob']));
    const seqOf = async (mid: number) => Number((await db('messages').where({ mid }).first('seq')).seq);
    assert.deepEqual([await seqOf(group.mid), await seqOf(chat.mid)], [4, 3]);
  });
});
