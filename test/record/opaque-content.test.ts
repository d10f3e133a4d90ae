import assert from 'node:assert/strict';
import { codec } from '../helpers/client.js';
import { CometClient, CometOp, DtalkIdentity, sealed } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

describeOnEngines('end-to-end encrypted message bodies', (engine) => {
  const chatlog = useChatlog(engine, { AUTH_DTALK_SIGNATURE: 'true' }, engine.instances);

  it('carries a body the server cannot read byte for byte through push, push2, JSON, sync-record, history, /ws and /sub', async () => {
    const aliceUid = uniqueUid('alice');
    const bob = new DtalkIdentity();
    const alice = await chatlog().client(aliceUid);
    const bobJwt = await chatlog().client(bob.uid, chatlog().urls.length - 1);
    const ws = await SocketClient.connect(chatlog().urls.at(-1)!, bobJwt.token!);
    await ws.untilReady();
    const comet = await CometClient.connect(chatlog().urls.at(-1)!);
    await comet.auth(bob.token());

    const bodies = [sealed('by multipart'), sealed('by push2'), sealed('by JSON')];
    const push = (msg: Buffer, msgId: string) => codec.encodePush({ msgId, targetId: bob.uid, msgType: 1, msg });
    const sent = [
      await expectOk(alice.upload('/record/push', push(bodies[0]!, 'e-1'), 'message')),
      await expectOk(alice.upload('/record/push2', codec.encodeCometFrame(push(bodies[1]!, 'e-2'), { ver: 1, op: 7 }), 'message')),
      await expectOk(alice.pushJson({ channelType: 0, msgId: 'e-3', targetId: bob.uid, msgType: 1, msg: bodies[2]!.toString('base64') })),
    ].map((receipt) => receipt.logId);

    const synced = (await bobJwt.syncAll()).map((record) => Buffer.from(record.common!.msg));
    assert.deepEqual(synced, bodies);

    const history = await expectOk(bobJwt.history({ targetId: aliceUid, count: 10 }));
    assert.deepEqual(
      history.records.map((record) => [record.logId, record.content, record.msg]),
      sent.map((logId, i) => [String(logId), null, bodies[i]!.toString('base64')]).reverse(),
    );

    await ws.until((client) => client.events.length === 3);
    assert.deepEqual(
      ws.events.map((frame) => [(frame.record as { content: unknown }).content, (frame.record as { msg: string }).msg]),
      bodies.map((body) => [null, body.toString('base64')]),
    );

    await comet.until((frames) => new Set(frames.filter((f) => f.op === CometOp.ReceiveMsg).map((f) => f.seq)).size === 3);
    const pushed = [...new Map(comet.received().map((f) => [f.seq, Buffer.from(codec.decodeStreamRecord(f.body).common!.msg)])).values()];
    assert.deepEqual(pushed, bodies);
    comet.close();
    await ws.close();
  });

  it('carries group messages the same way, and group history returns them as sent', async () => {
    const owner = await chatlog().client(uniqueUid('owner'));
    const { id } = await expectOk(owner.post<{ id: number }>('/group/app/create-group', { name: 'sealed' }));
    const body = sealed('to the group');
    await expectOk(owner.pushJson({ channelType: 1, msgId: 'g-sealed', targetId: String(id), msgType: 1, msg: body.toString('base64') }));
    const [record] = (await expectOk(owner.groupHistory({ groupId: id, count: 10 }))).records;
    assert.deepEqual([record!.content, record!.msg], [null, body.toString('base64')]);
  });

  it('still gives the JSON form of a body it can read, and no msg beside it', async () => {
    const aliceUid = uniqueUid('alice');
    const bobUid = uniqueUid('bob');
    const alice = await chatlog().client(aliceUid);
    await expectOk(
      alice.upload('/record/push', codec.encodePush({ msgId: 'plain', targetId: bobUid, msgType: 1, msg: codec.encodeContent(1, { content: 'in clear' }) })),
    );
    const [record] = (await expectOk((await chatlog().client(bobUid)).history({ targetId: aliceUid, count: 1 }))).records;
    assert.deepEqual(record!.content, { content: 'in clear' });
    assert.equal('msg' in record!, false);
  });
});
