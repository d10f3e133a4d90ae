import assert from 'node:assert/strict';
import { codec } from '../helpers/client.js';
import { CometClient, CometOp, DtalkIdentity, openGroupText, sealed, sealedForGroup } from '../helpers/dtalk.js';
import type { DtalkDevice } from '../helpers/dtalk-device.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

const privateMessage = (targetId: string, text: string) =>
  codec.encodePush({ msgId: `m-${Math.random().toString(36).slice(2)}`, targetId, msgType: 1, msg: sealed(text) });

describeOnEngines('dtalk clients on the comet socket', (engine) => {
  const chatlog = useChatlog(
    engine,
    { AUTH_DTALK_SIGNATURE: 'true', COMET_RESEND_INTERVAL: '300ms', COMET_MAX_RESENDS: '3', COMET_AUTH_TIMEOUT: '2s' },
    engine.instances,
  );
  const devices: DtalkDevice[] = [];
  afterEach(() => devices.splice(0).forEach((device) => device.drop()));
  const first = () => chatlog().urls[0]!;
  const last = () => chatlog().urls.at(-1)!;

  async function device(identity: DtalkIdentity, kind: 'desktop' | 'phone', url = first(), uuid?: string): Promise<DtalkDevice> {
    const connected = await identity.device(url, kind, { uuid });
    devices.push(connected);
    return connected;
  }

  /** Every event of the user's stream, by id, as sync-record has it. */
  async function streamIds(uid: string): Promise<number[]> {
    const records = await (await chatlog().client(uid)).syncAll();
    return records.map((record) => (record.common ? record.common.mid : record.signal.sid));
  }

  for (const kind of ['phone', 'desktop'] as const) {
    it(`brings a ${kind} that only acknowledges pushes level after it was offline: private and group messages, revokes and focus marks, once each, in order`, async () => {
      const bob = new DtalkIdentity();
      const aliceUid = uniqueUid('alice');
      const alice = await chatlog().client(aliceUid);
      const bobDevice = await device(bob, kind);
      const before = await alice.pushJson({ channelType: 0, msgId: 'before', targetId: bob.uid, msgType: 1, msg: sealed('hello').toString('base64') });
      await bobDevice.until(() => bobDevice.processedIds.length === 1, 'the live message');
      const fromBob = await bob.http(first()).upload('/record/push', privateMessage(aliceUid, 'mine'));
      await bobDevice.until(() => bobDevice.processedIds.length === 2, 'the echo of its own message');
      bobDevice.drop();

      // While it is away: a private message and its revoke, a group with messages, a focus on bob's message.
      const away = await alice.sendText(bob.uid, 'while you were away');
      await expectOk(alice.revoke(before.data.logId));
      const group = await expectOk(alice.post<{ id: number }>('/app/create-group', { name: 'team', memberIds: [bob.uid] }));
      await expectOk(alice.sendGroupText(group.id, 'to the group'));
      await expectOk(alice.focus(fromBob.data.logId));
      assert.equal(away.result, 0);

      await bobDevice.reconnect(last());
      // The stream no longer holds the revoked message; the device had it before it went away.
      const expected = [before.data.logId, ...(await streamIds(bob.uid))];
      await bobDevice.until(() => bobDevice.processedIds.length >= expected.length, 'the events it missed');
      assert.deepEqual(bobDevice.processedIds, expected);
    });
  }

  it('brings a phone level again after the server closed it for frames it left unacknowledged', async () => {
    const bob = new DtalkIdentity();
    const alice = await chatlog().client(uniqueUid('alice'));
    const phone = await device(bob, 'phone');
    phone.acking = false;
    await alice.sendText(bob.uid, 'one');
    await alice.sendText(bob.uid, 'two');
    assert.equal((await phone.closed).code, 1008);
    phone.acking = true;
    await phone.reconnect(last());
    const expected = await streamIds(bob.uid);
    await phone.until(() => phone.processedIds.length >= 2, 'both messages');
    assert.deepEqual(phone.processedIds, expected);
  });

  it('moves a phone past a frame it keeps leaving unacknowledged while it acknowledges the next ones, without closing it', async () => {
    const bob = new DtalkIdentity();
    const alice = await chatlog().client(uniqueUid('alice'));
    const phone = await device(bob, 'phone');
    const unreadable = await alice.sendText(bob.uid, 'no key for this one', 'unreadable');
    phone.skips = (record) => record.common?.mid === unreadable.data.logId;
    const after = [(await alice.sendText(bob.uid, 'one')).data.logId, (await alice.sendText(bob.uid, 'two')).data.logId];
    await phone.until(() => phone.processedIds.length === 2);
    // Six resend intervals later the server gives up on it, and the device's position passes it.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const stillOpen = await Promise.race([phone.closed.then(() => false), Promise.resolve(true)]);
    assert.ok(stillOpen, 'a client that acknowledges is not closed');
    phone.drop();
    phone.skips = () => false;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await phone.reconnect(last());
    const later = await alice.sendText(bob.uid, 'three');
    await phone.until(() => phone.processedIds.includes(later.data.logId));
    assert.deepEqual(phone.processedIds, [...after, later.data.logId], 'nothing before its position came again');
  });

  it('starts a device it has never seen from the beginning of its stream', async () => {
    const bob = new DtalkIdentity();
    const aliceUid = uniqueUid('alice');
    const sent = await (await chatlog().client(aliceUid)).sendText(bob.uid, 'before the app was installed');
    const phone = await device(bob, 'phone', last());
    await phone.until(() => phone.processedIds.length === 1, 'the earlier message');
    assert.equal(phone.processed.find((r) => r.common)!.common!.mid, sent.data.logId);
    assert.equal(phone.processed.find((r) => r.common)!.common!.from, aliceUid);
  });

  it('keeps each device its own position: a second device of the user still gets everything', async () => {
    const bob = new DtalkIdentity();
    const alice = await chatlog().client(uniqueUid('alice'));
    const phone = await device(bob, 'phone');
    for (const text of ['a', 'b', 'c']) await alice.sendText(bob.uid, text);
    await phone.until(() => phone.processedIds.length === 3);
    const desktop = await device(bob, 'desktop', last());
    await desktop.until(() => desktop.processedIds.length === 3, 'the three messages');
    assert.deepEqual(desktop.processedIds, phone.processedIds);
  });

  it('shows a sent message as sent with its logId on both kinds of client', async () => {
    for (const kind of ['phone', 'desktop'] as const) {
      const alice = new DtalkIdentity();
      const sender = await device(alice, kind);
      const outcome = await sender.sendMessage(privateMessage(uniqueUid('bob'), 'hi'));
      assert.equal(outcome.state, 'sent', kind);
      const [record] = (await (await chatlog().client(alice.uid)).syncAll()).filter((r) => r.common);
      assert.equal(outcome.state === 'sent' && outcome.logId, record!.common!.mid, kind);
    }
  });

  it('never gives a device back the message it sent itself, even once it comes back after going offline', async () => {
    const alice = new DtalkIdentity();
    const bob = uniqueUid('bob');
    const phone = await device(alice, 'phone');
    const outcome = await phone.sendMessage(privateMessage(bob, 'mine'));
    assert.equal(outcome.state, 'sent');
    await phone.disconnect();
    // The same instance: it knows the position the closed socket reached (another learns it once it is written).
    await phone.reconnect(first());
    const reply = (await (await chatlog().client(bob)).sendText(alice.uid, 'answer')).data.logId;
    await phone.until(() => phone.processedIds.includes(reply), 'the answer');
    assert.deepEqual(phone.processedIds, [reply]);
  });

  it('makes a refused send end as a failure on both kinds of client, storing nothing', async () => {
    for (const kind of ['phone', 'desktop'] as const) {
      const alice = new DtalkIdentity();
      const sender = await device(alice, kind);
      // A group that does not exist: refused with -1007.
      const toNowhere = codec.encodePush({ channelType: 1, msgId: `g-${kind}`, targetId: '999999999', msgType: 1, msg: sealed('x') });
      assert.deepEqual(await sender.sendMessage(toNowhere), { state: 'failed' }, kind);
      assert.deepEqual(await streamIds(alice.uid), [], kind);
      // The socket is still good.
      assert.equal((await sender.sendMessage(privateMessage(uniqueUid('bob'), 'fine'))).state, 'sent', kind);
    }
  });

  it('gives the sender the dtalk Signal Received once a device of the receiver acknowledges, coalescing a burst', async () => {
    const alice = new DtalkIdentity();
    const bob = new DtalkIdentity();
    const alicePhone = await device(alice, 'phone');
    const bobPhone = await device(bob, 'phone', last());
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await alicePhone.sendMessage(privateMessage(bob.uid, `n${i}`));
      assert.equal(outcome.state, 'sent');
      if (outcome.state === 'sent') sent.push(outcome.logId);
    }
    await bobPhone.until(() => bobPhone.processedIds.length === 5);
    const receipts = () => alicePhone.processed.filter((record) => record.signal?.type === 0);
    await alicePhone.until(() => receipts().flatMap((r) => r.signal!.received!.logs).length === 5, 'receipts for all five');
    assert.deepEqual(
      receipts()
        .flatMap((r) => r.signal!.received!.logs)
        .sort((a, b) => a - b),
      sent,
    );
    assert.ok(receipts().length < 5, `a burst of acknowledgements gave ${receipts().length} receipts`);
    // Acknowledged again on another device: nothing new.
    const bobDesktop = await device(bob, 'desktop');
    await bobDesktop.until(() => bobDesktop.processedIds.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(receipts().flatMap((r) => r.signal!.received!.logs).length, 5);
    // The receipt is in alice's stream as well, as a reliable Signal with its position.
    const synced = (await (await chatlog().client(alice.uid)).syncAll()).filter((record) => record.signal?.type === 0);
    assert.equal(synced.length, receipts().length);
    assert.ok(synced.every((record) => record.signal!.reliable && record.signal!.sid > 0));
  });

  it('tells the user’s other devices of a sign-in with EndpointLogin (type 14), live only', async () => {
    const alice = new DtalkIdentity();
    const desktop = await device(alice, 'desktop');
    const phone = await device(alice, 'phone', last());
    const login = await desktop.next((frame) => frame.op === CometOp.ReceiveMsg && codec.decodeStreamRecord(frame.body).signal?.type === 14);
    const signal = codec.decodeStreamRecord(login.body).signal!;
    assert.deepEqual(signal.endpointLogin, { uuid: phone.uuid, device: 0, deviceName: 'Pixel 7', datetime: signal.endpointLogin!.datetime });
    assert.equal(signal.reliable, false);
    assert.equal(phone.frames.filter((f) => f.op === CometOp.ReceiveMsg && codec.decodeStreamRecord(f.body).signal?.type === 14).length, 0);
    assert.deepEqual(await streamIds(alice.uid), []);
  });

  it('lets a desktop and a phone share a group: they get its key, and exchange messages sealed with it over the socket and HTTP', async () => {
    const alice = new DtalkIdentity();
    const bob = new DtalkIdentity();
    const bobPhone = await device(bob, 'phone', last());
    const created = await expectOk(alice.http(first()).post<{ id: number; key: string }>('/group/app/create-group', { name: 'team', memberIds: [bob.uid] }));
    const { groups } = await expectOk(bob.http(last()).post<{ groups: Array<{ idStr: string; key: string }> }>('/group/app/group-list', {}));
    assert.deepEqual(
      groups.map((group) => [group.idStr, group.key]),
      [[String(created.id), created.key]],
    );

    const aliceDesktop = await device(alice, 'desktop');
    const groupMessage = (text: string) =>
      codec.encodePush({ channelType: 1, msgId: `g-${text}`, targetId: String(created.id), msgType: 1, msg: sealedForGroup(text, created.key) });
    assert.equal((await aliceDesktop.sendMessage(groupMessage('over the socket'))).state, 'sent');
    await expectOk(alice.http(first()).upload('/record/push', groupMessage('over HTTP'), 'message'));

    // The phone got the join (SignInGroup, 10), the notice of it (msgType 7), then both messages, which it opens.
    await bobPhone.until(() => bobPhone.processed.filter((record) => record.common?.msgType === 1).length === 2, 'both group messages');
    assert.deepEqual(
      bobPhone.processed.map((record) => record.signal?.type ?? record.common!.msgType),
      [10, 7, 1, 1],
    );
    const texts = bobPhone.processed.filter((record) => record.common?.msgType === 1).map((record) => openGroupText(record.common!.msg, created.key));
    assert.deepEqual(texts, ['over the socket', 'over HTTP']);

    // Muted, a member's sends end as failures on both kinds of client.
    await expectOk(alice.http(first()).post('/group/app/member/muteTime', { id: created.id, memberIds: [bob.uid], muteTime: 60_000 }));
    assert.deepEqual(await bobPhone.sendMessage(groupMessage('muted phone')), { state: 'failed' });
    const bobDesktop = await device(bob, 'desktop');
    assert.deepEqual(await bobDesktop.sendMessage(groupMessage('muted desktop')), { state: 'failed' });
    const refusal = bobDesktop.frames.find((frame) => frame.op === CometOp.SendMsgReply)!;
    assert.equal((JSON.parse(Buffer.from(refusal.body.subarray(1)).toString()) as { result: number }).result, -1019);
  });

  it('closes normally (1000) on Disconnect (op 5)', async () => {
    const desktop = await device(new DtalkIdentity(), 'desktop');
    await desktop.disconnect();
    assert.equal((await desktop.closed).code, 1000);
  });

  it('answers every Auth of the same identity, and refuses another identity on the same socket', async () => {
    const alice = new DtalkIdentity();
    const comet = await CometClient.connect(first());
    try {
      await comet.auth(alice.token());
      await comet.auth(alice.token());
      assert.equal(comet.frames.filter((frame) => frame.op === CometOp.AuthReply).length, 2);
      comet.send(CometOp.Auth, codec.encodeAuthMsg({ appId: 'dtalk', token: new DtalkIdentity().token() }));
      assert.equal((await comet.closed).code, 1008);
    } finally {
      comet.close();
    }
  });

  it('takes a send that follows Auth before its answer, as the Android client sends it', async () => {
    const alice = new DtalkIdentity();
    const comet = await CometClient.connect(first());
    try {
      comet.send(CometOp.Auth, codec.encodeAuthMsg({ appId: 'dtalk', token: alice.token() }));
      const seq = comet.send(CometOp.SendMsg, privateMessage(uniqueUid('bob'), 'eager'));
      const reply = await comet.next((frame) => frame.op === CometOp.SendMsgReply && frame.ack === seq);
      assert.ok(comet.frames.findIndex((frame) => frame.op === CometOp.AuthReply) < comet.frames.indexOf(reply));
      assert.ok(codec.decodeCommonAck(reply.body).mid > 0);
    } finally {
      comet.close();
    }
  });

  it('serves /sub/ and /ws/ with a trailing slash and a query string', async () => {
    const alice = new DtalkIdentity();
    const url = first().replace(/^http/, 'ws');
    for (const path of ['/sub', '/sub/', '/sub/?v=2']) {
      const comet = await CometClient.connect(first(), path);
      await comet.auth(alice.token());
      comet.close();
    }
    const { default: WebSocket } = await import('ws');
    const token = (await chatlog().client(uniqueUid('ws'))).token!;
    const ws = new WebSocket(`${url}/ws/?x=1`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
    ws.close();
  });
});
