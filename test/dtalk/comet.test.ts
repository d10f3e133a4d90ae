import assert from 'node:assert/strict';
import { codec, encodeText } from '../helpers/client.js';
import { CometClient, CometOp, DtalkIdentity } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

describeOnEngines('the dtalk comet socket at GET /sub', (engine) => {
  const chatlog = useChatlog(
    engine,
    { AUTH_DTALK_SIGNATURE: 'true', COMET_RESEND_INTERVAL: '300ms', COMET_MAX_RESENDS: '3', COMET_AUTH_TIMEOUT: '1s' },
    engine.instances,
  );
  const clients: CometClient[] = [];
  afterEach(() => clients.splice(0).forEach((client) => client.close()));

  async function connected(identity = new DtalkIdentity(), instance = 0): Promise<{ identity: DtalkIdentity; comet: CometClient }> {
    const comet = await CometClient.connect(chatlog().urls[instance]!);
    clients.push(comet);
    const reply = await comet.auth(identity.token());
    assert.equal(reply.body.length, 0, 'AuthReply has an empty body');
    return { identity, comet };
  }

  it('authenticates with a signature token (op 1 → op 2) and with a JWT', async () => {
    await connected();
    const comet = await CometClient.connect(chatlog().urls[0]!);
    clients.push(comet);
    const reply = await comet.auth((await chatlog().client(uniqueUid('jwt-user'))).token!);
    assert.equal(reply.op, CometOp.AuthReply);
  });

  it('answers a heartbeat (op 3) with op 4 and a 4-byte int32 0 body', async () => {
    const { comet } = await connected();
    const seq = comet.send(CometOp.Heartbeat);
    const reply = await comet.next((frame) => frame.op === CometOp.HeartbeatReply);
    assert.equal(reply.seq, seq);
    assert.deepEqual([...reply.body], [0, 0, 0, 0]);
  });

  it('takes a message on op 7 and acknowledges it on op 8 with seq, ack = seq and a commonAck; a repeat gets the same ack', async () => {
    const { identity, comet } = await connected();
    const bob = uniqueUid('bob');
    const proto = codec.encodePush({ msgId: 'comet-1', targetId: bob, msgType: 1, msg: encodeText('over the socket') });
    const seq = comet.send(CometOp.SendMsg, proto, { seq: 41 });
    const reply = await comet.next((frame) => frame.op === CometOp.SendMsgReply && frame.seq === seq);
    assert.equal(reply.ack, 41);
    const ack = codec.decodeCommonAck(reply.body);
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.equal(record!.common!.mid, ack.mid);
    assert.equal(record!.common!.datetime, ack.datetime);
    assert.equal(record!.common!.from, identity.uid);

    comet.send(CometOp.SendMsg, proto, { seq: 42 });
    const again = await comet.next((frame) => frame.op === CometOp.SendMsgReply && frame.seq === 42);
    assert.deepEqual(codec.decodeCommonAck(again.body), ack);
  });

  it("pushes a message sent on op 7 to the sender's other sockets, not back to the one that sent it (API.md §4.1)", async () => {
    const { identity, comet: sender } = await connected();
    const { comet: other } = await connected(identity, chatlog().urls.length - 1);
    const bobUid = uniqueUid('bob');
    const bob = await chatlog().client(bobUid);
    const midsOf = (comet: CometClient) => comet.received().map((frame) => codec.decodeStreamRecord(frame.body).common?.mid);
    const reachBoth = (logId: number) => Promise.all([sender, other].map((comet) => comet.until(() => midsOf(comet).includes(logId))));
    // These sockets name no device, so they get live events only: once this one reaches both, both are live.
    const before = (await bob.sendText(identity.uid, 'hello')).data.logId;
    await reachBoth(before);
    sender.send(CometOp.SendMsg, codec.encodePush({ msgId: 'own-1', targetId: bobUid, msgType: 1, msg: encodeText('mine') }), { seq: 5 });
    const { mid } = codec.decodeCommonAck((await sender.next((frame) => frame.op === CometOp.SendMsgReply && frame.seq === 5)).body);
    // A later event in the sender's stream: once it is there, its own message would have been before it.
    const later = (await bob.sendText(identity.uid, 'reply')).data.logId;
    await reachBoth(later);
    assert.deepEqual(midsOf(sender), [before, later]);
    assert.deepEqual(midsOf(other), [before, mid, later]);
  });

  it('answers a refused message from a socket without a mobile device with op 8: 0x0F and the error envelope, storing nothing', async () => {
    const { identity, comet } = await connected();
    comet.send(CometOp.SendMsg, Buffer.from('not a protobuf at all'), { seq: 7 });
    const reply = await comet.next((frame) => frame.op === CometOp.SendMsgReply && frame.seq === 7);
    assert.equal(reply.ack, 7);
    assert.equal(reply.body[0], 0x0f);
    const envelope = JSON.parse(Buffer.from(reply.body.subarray(1)).toString()) as { result: number; message: string };
    assert.equal(envelope.result, -1012);
    assert.match(envelope.message, /not a valid/);
    assert.deepEqual(await (await chatlog().client(identity.uid)).syncAll(), []);
  });

  it('pushes a message sent over HTTP as op 9 carrying Proto{common}, and stops resending once acknowledged', async () => {
    const { identity, comet } = await connected(undefined, chatlog().urls.length - 1);
    const sent = await (await chatlog().client(uniqueUid('alice'))).sendText(identity.uid, 'to the phone');
    const frame = await comet.next((f) => f.op === CometOp.ReceiveMsg);
    const record = codec.decodeStreamRecord(frame.body);
    assert.equal(record.common?.mid, sent.data.logId);
    comet.send(CometOp.ReceiveMsgReply, new Uint8Array(0), { ack: frame.seq });
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(comet.received().filter((f) => f.seq === frame.seq).length, 1, 'an acknowledged frame is not resent');
  });

  it('resends an unacknowledged op 9 frame, then closes the socket once the resends are spent', async () => {
    const { identity, comet } = await connected();
    await (await chatlog().client(uniqueUid('alice'))).sendText(identity.uid, 'ack me');
    await comet.until((frames) => frames.filter((f) => f.op === CometOp.ReceiveMsg).length >= 2);
    const [first, second] = comet.received();
    assert.equal(second!.seq, first!.seq);
    assert.deepEqual(second!.body, first!.body);
    const { code } = await comet.closed;
    assert.equal(code, 1008);
  });

  it('delivers a revoke as a Signal, with per-connection seqs that increase', async () => {
    const { identity, comet } = await connected();
    const aliceUid = uniqueUid('alice');
    const alice = await chatlog().client(aliceUid);
    const sent = await alice.sendText(identity.uid, 'oops');
    await alice.revoke(sent.data.logId);
    await comet.until((frames) => new Set(frames.filter((f) => f.op === CometOp.ReceiveMsg).map((f) => f.seq)).size >= 2);
    const frames = comet.received();
    const revoke = frames.map((f) => codec.decodeStreamRecord(f.body)).find((r) => r.signal);
    assert.deepEqual(revoke?.signal?.revoke, { mid: sent.data.logId, operator: aliceUid, self: true });
    assert.equal(revoke!.signal!.type, 1);
    const seqs = [...new Set(frames.map((f) => f.seq))];
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
  });

  it('gives /sub and /ws sockets of the same user the same events', async () => {
    const { identity, comet } = await connected();
    const token = (await chatlog().client(identity.uid)).token!;
    const ws = await SocketClient.connect(chatlog().urls.at(-1)!, token);
    await ws.untilReady();
    const alice = await chatlog().client(uniqueUid('alice'));
    const ids = [(await alice.sendText(identity.uid, 'one')).data.logId, (await alice.sendText(identity.uid, 'two')).data.logId];
    await ws.until((s) => s.events.length >= 2);
    await comet.until((frames) => new Set(frames.filter((f) => f.op === CometOp.ReceiveMsg).map((f) => f.seq)).size >= 2);
    const cometIds = [...new Map(comet.received().map((f) => [f.seq, codec.decodeStreamRecord(f.body).common!.mid])).values()];
    assert.deepEqual(cometIds, ids);
    assert.deepEqual(ws.eventIds, ids);
    await ws.close();
  });

  const badFrames: Array<[string, (comet: CometClient) => void]> = [
    ['a frame shorter than its header', (comet) => comet.sendRaw(Buffer.alloc(10))],
    ['headerLen other than 20', (comet) => comet.sendRaw(Buffer.from([0, 0, 0, 20, 0, 16, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0]))],
    ['a packLen that does not match', (comet) => comet.sendRaw(Buffer.from([0, 0, 0, 99, 0, 20, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0]))],
    ['a body over 16384 bytes', (comet) => comet.send(CometOp.Heartbeat, new Uint8Array(16385))],
    ['a text frame', (comet) => comet.sendRaw('{"op":3}')],
  ];
  for (const [name, sendBad] of badFrames) {
    it(`closes only the socket that sent ${name}`, async () => {
      const { comet } = await connected();
      const { comet: bystander } = await connected();
      sendBad(comet);
      assert.equal((await comet.closed).code, 1008);
      bystander.send(CometOp.Heartbeat);
      await bystander.next((frame) => frame.op === CometOp.HeartbeatReply);
    });
  }

  it('closes a socket that sends op 7 before authenticating, or no Auth in time, or a bad token', async () => {
    const early = await CometClient.connect(chatlog().urls[0]!);
    early.send(CometOp.SendMsg, codec.encodePush({ msgId: 'x', targetId: 'bob', msgType: 1, msg: encodeText('x') }));
    assert.equal((await early.closed).code, 1008);
    const silent = await CometClient.connect(chatlog().urls[0]!);
    assert.equal((await silent.closed).code, 1008);
    const forged = await CometClient.connect(chatlog().urls[0]!);
    forged.send(CometOp.Auth, codec.encodeAuthMsg({ appId: 'dtalk', token: new DtalkIdentity().token({ publicKeyHex: new DtalkIdentity().publicKeyHex }) }));
    assert.equal((await forged.closed).code, 1008);
    assert.equal(forged.frames.length, 0);
  });
});
