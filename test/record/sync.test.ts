import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { codec, decodeRecord } from '../helpers/client.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('sync-record', (engine) => {
  const chatlog = useChatlog(engine);

  async function pair() {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    return { alice, bob, a: await chatlog().client(alice), b: await chatlog().client(bob) };
  }

  it('returns each message as a Proto/Common with the fields that were sent', async () => {
    const { alice, bob, a, b } = await pair();
    const source = { channelType: 0, from: { id: 'x', name: 'Xavier' }, target: { id: 'y', name: 'Yvonne' } };
    const reference = { topic: 3, ref: 4 };
    const sent = await a.pushJson({
      channelType: 0,
      msgId: 'full',
      targetId: bob,
      msgType: 3,
      content: { mediaUrl: 'https://img/1.png', height: 10, width: 20 },
      source,
      reference,
    });
    const reply = await b.sync({ count: 10 });
    assert.equal(reply.status, 200);
    assert.equal(reply.data.record_count, 1);
    const record = decodeRecord(reply.data.records[0]!);
    assert.equal(record.eventType, 0);
    assert.deepEqual(
      { ...record.common!, msg: undefined },
      {
        channelType: 0,
        mid: sent.data.logId,
        seq: 'full',
        from: alice,
        target: bob,
        msgType: 3,
        msg: undefined,
        datetime: sent.data.datetime,
        source,
        reference,
      },
    );
    assert.deepEqual(codec.decodeContent(3, record.common!.msg), { mediaUrl: 'https://img/1.png', height: 10, width: 20 });
  });

  it('gives both parties the message in ascending id order, honouring count and start', async () => {
    const { bob, a, b } = await pair();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await a.sendText(bob, `m${i}`)).data.logId);
    const all = await b.sync({ count: 1000 });
    assert.deepEqual(
      all.data.records.map((r) => decodeRecord(r).common!.mid),
      ids,
    );
    const fromSender = await a.sync({ count: 1000, start: 0 });
    assert.equal(fromSender.data.record_count, 5);
    const page = await b.sync({ count: 2, start: ids[1] });
    assert.deepEqual(
      page.data.records.map((r) => decodeRecord(r).common!.mid),
      ids.slice(2, 4),
    );
    const asString = await b.sync({ count: 2, start: String(ids[1]) });
    assert.deepEqual(asString.data, page.data);
  });

  it('hands out next_start and has_more so that paging ends with every event once', async () => {
    const { bob, a, b } = await pair();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await a.sendText(bob, `m${i}`)).data.logId);
    const first = await b.sync({ count: 2 });
    assert.equal(first.data.next_start, ids[1]);
    assert.equal(first.data.has_more, true);
    const second = await b.sync({ count: 2, start: first.data.next_start });
    assert.equal(second.data.record_count, 1);
    assert.equal(second.data.next_start, ids[2]);
    assert.equal(second.data.has_more, false);
    const empty = await b.sync({ count: 2, start: second.data.next_start });
    assert.deepEqual(empty.data, { record_count: 0, records: [], next_start: ids[2], has_more: false });
  });

  it('starts from the beginning when start is left out', async () => {
    const { bob, a, b } = await pair();
    await a.sendText(bob, 'hi');
    assert.equal((await b.sync({ count: 1 })).data.record_count, 1);
  });

  it('shows a third party nothing of a private chat', async () => {
    const { bob, a } = await pair();
    await a.sendText(bob, 'private');
    const carol = await chatlog().client(uniqueUid('carol'));
    assert.deepEqual((await carol.sync({ count: 1000 })).data, { record_count: 0, records: [], next_start: 0, has_more: false });
  });

  it('leaves a revoked message out and shows its revoke event, a Signal whose sid is its position', async () => {
    const { alice, bob, a, b } = await pair();
    const kept = await a.sendText(bob, 'kept');
    const gone = await a.sendText(bob, 'gone');
    assert.equal((await a.revoke(gone.data.logId)).result, 0);
    for (const client of [a, b]) {
      const records = await client.syncAll();
      assert.equal(records.length, 2);
      assert.equal(records[0]!.common!.mid, kept.data.logId);
      const signal = records[1]!.signal!;
      assert.equal(records[1]!.eventType, 2);
      assert.equal(signal.type, 1);
      assert.equal(signal.reliable, true);
      assert.ok(signal.sid > gone.data.logId);
      assert.deepEqual(signal.revoke, { mid: gone.data.logId, operator: alice, self: true });
    }
    const [, revokeEvent] = await b.syncAll();
    const after = await b.sync({ count: 10, start: revokeEvent!.signal!.sid - 1 });
    assert.equal(decodeRecord(after.data.records[0]!).signal!.sid, revokeEvent!.signal!.sid);
  });

  it('shows a focus event to both parties as a Signal whose sid is its position', async () => {
    const { bob, a, b } = await pair();
    const sent = await a.sendText(bob, 'mark me');
    const focus = await b.focus(sent.data.logId);
    assert.equal(focus.data.currentNum, 1);
    for (const client of [a, b]) {
      const records = await client.syncAll();
      assert.equal(records.length, 2);
      const signal = records[1]!.signal!;
      assert.equal(signal.type, 13);
      assert.equal(signal.reliable, true);
      assert.equal(signal.sid, (await client.sync({ count: 10 })).data.next_start);
      assert.equal(signal.focus?.mid, sent.data.logId);
      assert.equal(signal.focus?.uid, bob);
      assert.equal(signal.focus?.currentNum, 1);
      assert.ok(signal.focus!.time >= sent.data.datetime);
    }
  });
});
