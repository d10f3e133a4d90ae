import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('revoke', (engine) => {
  const chatlog = useChatlog(engine);

  async function sent(text = 'oops') {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await chatlog().client(alice);
    const b = await chatlog().client(bob);
    const reply = await a.sendText(bob, text);
    return { alice, bob, a, b, logId: reply.data.logId };
  }

  it('lets the sender revoke within the window', async () => {
    const { a, logId } = await sent();
    const reply = await a.revoke(logId);
    assert.equal(reply.status, 200);
    assert.deepEqual({ result: reply.result, message: reply.message, data: reply.data }, { result: 0, message: 'OK', data: {} });
  });

  it('accepts the logId as a decimal string and type 0 explicitly', async () => {
    const { a, logId } = await sent();
    assert.equal((await a.revoke(String(logId), 0)).result, 0);
  });

  it('erases the content from history and sync', async () => {
    const { bob, a, b, logId } = await sent('secret');
    await a.revoke(logId);
    assert.equal((await a.history({ targetId: bob, count: 100 })).data.record_count, 0);
    const records = await b.syncAll();
    assert.equal(
      records.some((record) => record.common !== undefined),
      false,
    );
  });

  it('rejects a revoke by the receiver', async () => {
    const { b, logId } = await sent();
    const reply = await b.revoke(logId);
    assert.equal(reply.status, 403);
    assert.equal(reply.result, -1019);
    assert.equal(reply.data, null);
  });

  it('answers a message that does not exist, or does not concern the caller, as not found', async () => {
    const { logId } = await sent();
    const carol = await chatlog().client(uniqueUid('carol'));
    for (const reply of [await carol.revoke(logId), await carol.revoke(9_000_000_000)]) {
      assert.equal(reply.status, 404);
      assert.equal(reply.result, -1007);
    }
  });

  it('answers a private message revoked as a group message as not found', async () => {
    const { a, logId } = await sent();
    const reply = await a.revoke(logId, 1);
    assert.equal(reply.result, -1007);
  });

  it('succeeds on a second revoke and adds no event', async () => {
    const { a, b, logId } = await sent();
    await a.revoke(logId);
    const before = await b.syncAll();
    assert.equal((await a.revoke(logId)).result, 0);
    assert.deepEqual(await b.syncAll(), before);
  });

  describe('with a short window', () => {
    const shortWindow = useChatlog(engine, { REVOKE_WINDOW: '300ms' });

    it('rejects a revoke by the sender once the window has passed', async () => {
      const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
      const a = await shortWindow().client(alice);
      const { data } = await a.sendText(bob, 'too late');
      await sleep(400);
      const reply = await a.revoke(data.logId);
      assert.equal(reply.status, 403);
      assert.equal(reply.result, -1019);
      assert.match(reply.message, /window/);
      assert.equal((await a.history({ targetId: bob, count: 10 })).data.record_count, 1);
    });
  });
});
