import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { JoinType, MuteType, type CommittedBatch, type OutgoingMessage } from '../../src/domain.js';
import { AppError } from '../../src/errors.js';
import { openDatabase } from '../../src/store/database.js';
import { KnexStore } from '../../src/store/knex-store.js';
import type { MessageWrite, WriteTransaction } from '../../src/store/store.js';
import { describeOnEngines } from '../helpers/engines.js';

const text = (msgId: string): OutgoingMessage => ({ channelType: 0, msgId, targetId: 'bob', msgType: 1, msg: new Uint8Array([10, 1, 120]) });

/** A push as the message service makes it: the message queued, what became of it read once the write is answered. */
const push = (tx: WriteTransaction, msgId: string) => tx.queueMessage('alice', text(msgId), Date.now(), ['alice', 'bob']);

async function written(write: Promise<{ written: Promise<MessageWrite> }>): Promise<MessageWrite> {
  return (await write).written;
}

const msgIdsOf = async (store: KnexStore, uid: string) =>
  (await store.readStream(uid, 0, 1000)).map((event) => (event.kind === 'message' ? event.message.msgId : event.kind));

describeOnEngines('group commit in the store', (engine) => {
  let store: KnexStore;
  let db: Knex;
  let batches: CommittedBatch[];
  beforeEach(async () => {
    batches = [];
    db = await openDatabase(await engine.freshDatabase());
    store = new KnexStore(db, { maxBatch: 64, onCommitted: (batch) => batches.push(batch) });
  });
  afterEach(() => store.close());

  it('commits concurrent writes in shared transactions, and a write that fails after writing undoes only its own changes', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        store.write(async (tx) => {
          const queued = push(tx, `m${i}`);
          // Every fifth write fails after it wrote something: neither that nor its message may survive.
          if (i % 5 === 4) {
            await tx.appendUserEvent({ kind: 'received', actor: 'bob', data: { peer: 'bob', mids: [1], time: 1 }, createdAt: 1 }, ['alice']);
            throw AppError.permissionDenied(`refused ${i}`);
          }
          return queued;
        }),
      ),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 8);
    for (const outcome of refused) assert.equal((outcome as PromiseRejectedResult).reason.code, -1019);

    const kept = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 5 !== 4);
    assert.deepEqual(
      await msgIdsOf(store, 'bob'),
      kept.map((i) => `m${i}`),
    );
    assert.deepEqual(
      await msgIdsOf(store, 'alice'),
      kept.map((i) => `m${i}`),
    );
    const { batches: transactions, works, isolatedReruns } = store.writeStats;
    assert.equal(works, 40);
    assert.ok(transactions < works, `40 concurrent writes took ${transactions} transactions`);
    assert.ok(isolatedReruns > 0, 'a batch whose work failed after writing ran again with savepoints');
  });

  it('drops the queued message of a write that refuses itself, without savepoints', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.write(async (tx) => {
          const queued = push(tx, `r${i}`);
          if (i % 4 === 3) throw AppError.permissionDenied(`refused ${i}`);
          return queued;
        }),
      ),
    );
    assert.equal(outcomes.filter((outcome) => outcome.status === 'rejected').length, 5);
    assert.equal((await store.readStream('bob', 0, 100)).length, 15);
    assert.equal(store.writeStats.isolatedReruns, 0);
  });

  it('answers a repeated msgId, in the same batch or a later one, with the first message, and stores it once', async () => {
    const first = await Promise.all(Array.from({ length: 10 }, () => written(store.write(async (tx) => push(tx, 'same')))));
    const again = await written(store.write(async (tx) => push(tx, 'same')));
    const writes = [...first, again];
    assert.equal(writes.filter((write) => write.isNew).length, 1);
    const stored = writes.find((write) => write.isNew)!;
    assert.ok(stored.isNew);
    for (const write of writes) {
      const { mid, createdAt } = write.isNew ? write.message : write;
      assert.deepEqual({ mid, createdAt }, { mid: stored.message.mid, createdAt: stored.message.createdAt });
    }
    assert.deepEqual(await msgIdsOf(store, 'bob'), ['same']);
    // Only the stored one was announced.
    assert.deepEqual(
      batches.flatMap((batch) => batch.events.map((event) => event.id)),
      [stored.message.mid],
    );
  });

  it('stores the messages of a batch in one go, announced in id order', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => written(store.write(async (tx) => push(tx, `o${i}`)))));
    assert.ok(batches.length < 30, `30 concurrent pushes took ${batches.length} transactions`);
    const announced = batches.flatMap((batch) => batch.events.map((event) => event.id));
    assert.deepEqual(
      announced,
      [...announced].sort((a, b) => a - b),
    );
    for (const batch of batches) assert.ok(batch.events.every((event) => event.id > batch.after && event.id <= batch.last));
    assert.equal((await msgIdsOf(store, 'bob')).length, 30);
  });

  it('fails only the message the database refuses, when the batch stores its messages together', async () => {
    const broken: OutgoingMessage = { ...text('broken'), msgType: null as unknown as number };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        written(store.write(async (tx) => (i === 5 ? tx.queueMessage('alice', broken, Date.now(), ['alice', 'bob']) : push(tx, `f${i}`)))),
      ),
    );
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      Array.from({ length: 12 }, (_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
    );
    assert.equal((await msgIdsOf(store, 'bob')).length, 11);
  });

  it('reads the memberships its writes said they would check in one query, and forgets them once one of them changes the group', async () => {
    const settings = { name: 'g', publicName: 'g', avatar: '', introduce: '', joinType: JoinType.Anyone, muteType: MuteType.Everyone, friendType: 0 as const };
    const group = { ...settings, ownerId: 'alice', markId: 'm', groupType: 0, key: '0'.repeat(32), createdAt: 1 };
    const groupId = (await store.write((tx) => tx.createGroup(group, ['bob', 'carol']))).id;
    let membershipReads = 0;
    db.on('query', ({ sql }: { sql: string }) => {
      if (/memberships/.test(sql) && !/^\s*(insert|update|delete)/i.test(sql)) membershipReads++;
    });
    const checks = (uid: string) => ({ memberships: [{ groupId, uid }] });
    // Submitted together, so one batch: bob is checked, carol removed, then carol checked.
    const [bob, , carol] = await Promise.all([
      store.write((tx) => tx.getGroupMembership(groupId, 'bob'), checks('bob')),
      store.write(async (tx) => {
        const leftId = await tx.appendGroupEvent({ kind: 'leave', groupId, actor: 'alice', data: { uids: ['carol'], time: 2 }, createdAt: 2 });
        await tx.closeMemberships(groupId, leftId, ['carol']);
      }),
      store.write((tx) => tx.getGroupMembership(groupId, 'carol'), checks('carol')),
    ]);
    assert.equal(store.writeStats.batches, 2, 'the three writes shared one batch');
    assert.equal(bob?.membership?.uid, 'bob');
    assert.equal(carol?.membership, undefined, 'carol was removed earlier in the batch');
    // One query read both ahead; carol's was read again after the removal.
    assert.equal(membershipReads, 2);
  });

  it('answers a write alone in its transaction with its own error and keeps going', async () => {
    await assert.rejects(
      store.write(async () => Promise.reject(AppError.notFound('nothing here'))),
      { code: -1007 },
    );
    const write = await written(store.write(async (tx) => push(tx, 'after')));
    assert.ok(write.isNew && write.message.msgId === 'after');
  });
});
