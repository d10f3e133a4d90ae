import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('focus', (engine) => {
  const chatlog = useChatlog(engine);

  async function sent() {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await chatlog().client(alice);
    const b = await chatlog().client(bob);
    const reply = await a.sendText(bob, 'important');
    return { a, b, logId: reply.data.logId };
  }

  it('lets the receiver mark a message, counting one mark', async () => {
    const { b, logId } = await sent();
    const reply = await b.focus(logId);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.data, { currentNum: 1 });
  });

  it('keeps one mark per user: a repeat answers 1 again and adds no event', async () => {
    const { a, b, logId } = await sent();
    await b.focus(logId);
    const before = await a.syncAll();
    assert.deepEqual((await b.focus(String(logId))).data, { currentNum: 1 });
    assert.deepEqual(await a.syncAll(), before);
  });

  it('rejects a mark by the sender', async () => {
    const { a, logId } = await sent();
    const reply = await a.focus(logId);
    assert.equal(reply.status, 403);
    assert.equal(reply.result, -1019);
  });

  it('answers a revoked message as not found', async () => {
    const { a, b, logId } = await sent();
    await a.revoke(logId);
    const reply = await b.focus(logId);
    assert.equal(reply.status, 404);
    assert.equal(reply.result, -1007);
  });

  it('rejects a mark by anyone but the two parties as forbidden, as API.md §4.6 has it', async () => {
    const { a, logId } = await sent();
    const carol = await chatlog().client(uniqueUid('carol'));
    const reply = await carol.focus(logId);
    assert.equal(reply.status, 403);
    assert.equal(reply.result, -1019);
    assert.equal((await a.syncAll()).filter((record) => record.signal?.focus).length, 0);
  });

  it('answers a group message named as private as not found', async () => {
    const { b, logId } = await sent();
    assert.equal((await b.focus(logId, 1)).result, -1007);
  });
});
