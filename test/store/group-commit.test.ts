import assert from 'node:assert/strict';
import type { OutgoingMessage } from '../../src/domain.js';
import { AppError } from '../../src/errors.js';
import { openDatabase } from '../../src/store/database.js';
import { KnexStore } from '../../src/store/knex-store.js';
import { describeOnEngines } from '../helpers/engines.js';

const text = (msgId: string): OutgoingMessage => ({ channelType: 0, msgId, targetId: 'bob', msgType: 1, msg: new Uint8Array([10, 1, 120]) });

describeOnEngines('group commit in the store', (engine) => {
  let store: KnexStore;
  beforeEach(async () => {
    store = new KnexStore(await openDatabase(await engine.freshDatabase()), { maxBatch: 64, onCommitted: () => undefined });
  });
  afterEach(() => store.close());

  it('commits concurrent writes in shared transactions, and a refused write undoes only its own changes', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        store.write(async (tx) => {
          const stored = await tx.insertMessage('alice', text(`m${i}`), Date.now(), ['alice', 'bob']);
          // Every fifth write is refused after it wrote: its message must not survive.
          if (i % 5 === 4) throw AppError.permissionDenied(`refused ${i}`);
          return stored!.mid;
        }),
      ),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 8);
    for (const outcome of refused) assert.equal((outcome as PromiseRejectedResult).reason.code, -1019);

    const stored = (await store.readStream('bob', 0, 100)).map((event) => (event.kind === 'message' ? event.message.msgId : ''));
    assert.deepEqual(
      stored,
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % 5 !== 4)
        .map((i) => `m${i}`),
    );
    const { batches, works, isolatedReruns } = store.writeStats;
    assert.equal(works, 40);
    assert.ok(batches < works, `40 concurrent writes took ${batches} transactions`);
    assert.ok(isolatedReruns > 0, 'a batch whose work failed after writing ran again with savepoints');
  });

  it('lets a work that refuses itself before writing share the batch without savepoints', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.write(async (tx) => {
          if (i % 4 === 3) throw AppError.permissionDenied(`refused ${i}`);
          return (await tx.insertMessage('alice', text(`r${i}`), Date.now(), ['alice', 'bob']))!.mid;
        }),
      ),
    );
    assert.equal(outcomes.filter((outcome) => outcome.status === 'rejected').length, 5);
    assert.equal((await store.readStream('bob', 0, 100)).length, 15);
    assert.equal(store.writeStats.isolatedReruns, 0);
  });

  it('answers a write alone in its transaction with its own error and keeps going', async () => {
    await assert.rejects(
      store.write(async () => Promise.reject(AppError.notFound('nothing here'))),
      { code: -1007 },
    );
    assert.equal(await store.write(async (tx) => (await tx.insertMessage('alice', text('after'), 1, ['alice']))!.msgId), 'after');
  });
});
