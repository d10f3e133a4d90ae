import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('pri-chat-record', (engine) => {
  const chatlog = useChatlog(engine);

  /** alice and bob exchange five messages, alternating; returns their ids oldest first. */
  async function conversation() {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await chatlog().client(alice);
    const b = await chatlog().client(bob);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = i % 2 === 0 ? await a.sendText(bob, `m${i}`) : await b.sendText(alice, `m${i}`);
      ids.push(reply.data.logId);
    }
    return { alice, bob, a, b, ids };
  }

  it('returns the messages of both directions, newest first, as JSON records', async () => {
    const { alice, bob, a, ids } = await conversation();
    const reply = await a.history({ targetId: bob, count: 100 });
    assert.equal(reply.status, 200);
    assert.equal(reply.data.record_count, 5);
    assert.deepEqual(
      reply.data.records.map((r) => r.logId),
      ids.map(String).reverse(),
    );
    const newest = reply.data.records[0]!;
    assert.deepEqual(Object.keys(newest).sort(), ['channelType', 'content', 'createTime', 'fromId', 'logId', 'msgId', 'msgType', 'targetId']);
    assert.equal(newest.fromId, alice);
    assert.equal(newest.targetId, bob);
    assert.equal(newest.channelType, 0);
    assert.equal(newest.msgType, 1);
    assert.deepEqual(newest.content, { content: 'm4' });
    assert.equal(typeof newest.createTime, 'number');
    assert.equal(reply.data.records[1]!.fromId, bob);
  });

  it('is the same conversation seen from the other side', async () => {
    const { alice, a, b, bob } = await conversation();
    assert.deepEqual((await b.history({ targetId: alice, count: 100 })).data, (await a.history({ targetId: bob, count: 100 })).data);
  });

  it('returns only messages below logId, at most count', async () => {
    const { bob, a, ids } = await conversation();
    const reply = await a.history({ targetId: bob, count: 2, logId: String(ids[3]) });
    assert.deepEqual(
      reply.data.records.map((r) => r.logId),
      [String(ids[2]), String(ids[1])],
    );
    const asNumber = await a.history({ targetId: bob, count: 2, logId: ids[3] });
    assert.deepEqual(asNumber.data, reply.data);
  });

  it('reads an absent, empty or "0" logId as "from the newest"', async () => {
    const { bob, a, ids } = await conversation();
    for (const logId of [undefined, '', '0', 0]) {
      const reply = await a.history({ targetId: bob, count: 1, ...(logId !== undefined && { logId }) });
      assert.equal(reply.result, 0, `logId ${JSON.stringify(logId)}: ${reply.message}`);
      assert.deepEqual(
        reply.data.records.map((r) => r.logId),
        [String(ids[4])],
      );
    }
  });

  it('accepts count from 1 to 100 and refuses 0 and 101', async () => {
    const { bob, a } = await conversation();
    assert.equal((await a.history({ targetId: bob, count: 100 })).result, 0);
    for (const count of [0, 101]) {
      const reply = await a.history({ targetId: bob, count });
      assert.equal(reply.status, 400);
      assert.equal(reply.result, -1012);
      assert.equal(reply.message, 'count must be an integer between 1 and 100');
    }
  });

  it("shows nothing of other users' chats", async () => {
    const { alice, bob } = await conversation();
    const carol = await chatlog().client(uniqueUid('carol'));
    assert.equal((await carol.history({ targetId: bob, count: 100 })).data.record_count, 0);
    assert.equal((await carol.history({ targetId: alice, count: 100 })).data.record_count, 0);
  });

  it('leaves revoked messages out', async () => {
    const { bob, a, ids } = await conversation();
    await a.revoke(ids[4]!);
    const reply = await a.history({ targetId: bob, count: 100 });
    assert.deepEqual(
      reply.data.records.map((r) => r.logId),
      ids.slice(0, 4).map(String).reverse(),
    );
  });

  it('carries source and reference when they were set, as protobuf carries them: zero values and unknown keys left out', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await chatlog().client(alice);
    const reference = { topic: 1, ref: 2 };
    const source = { channelType: 1, from: { id: 'x', name: 'X' } };
    await a.pushJson({
      channelType: 0,
      msgId: 'r',
      targetId: bob,
      msgType: 1,
      content: { content: 'quote' },
      source: { ...source, extra: 'dropped', target: { id: '' } },
      reference,
    });
    const [record] = (await a.history({ targetId: bob, count: 1 })).data.records;
    assert.deepEqual(record?.reference, reference);
    assert.deepEqual(record?.source, source);
    const [synced] = await (await chatlog().client(bob)).syncAll();
    assert.deepEqual(synced!.common!.source, { channelType: 1, from: { id: 'x', name: 'X' } });
  });
});
