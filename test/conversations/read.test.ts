import assert from 'node:assert/strict';
import {
  conversationOf,
  createGroup,
  exitGroup,
  expectError,
  expectErrors,
  framesOf,
  invite,
  markRead,
  person,
  say,
  sayInGroup,
  sendMention,
  settled,
  signalsOf,
  SIGNAL_READ,
  useSockets,
} from '../helpers/conversations.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { codec, type Reply } from '../helpers/client.js';
import { CometClient } from '../helpers/dtalk.js';
import { useChatlog } from '../helpers/server.js';

describeOnEngines('conversations: read positions', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscribe = useSockets(chatlog);

  /** bob sent alice three messages. */
  async function threeUnread() {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob', last());
    const logIds = [await say(bob.client, alice.uid, 'one'), await say(bob.client, alice.uid, 'two'), await say(bob.client, alice.uid, 'three')];
    return { alice, bob, logIds };
  }

  it('moves the read position forward and answers the unread count after the move', async () => {
    const { alice, bob, logIds } = await threeUnread();
    const reply = await markRead(alice.client, 0, bob.uid, logIds[1]!);
    assert.equal(reply.status, 200);
    assert.deepEqual({ result: reply.result, message: reply.message, data: reply.data }, { result: 0, message: 'OK', data: { unread: 1 } });
    const chat = await conversationOf(alice.client, 0, bob.uid);
    assert.deepEqual([chat.readLogId, chat.unread], [String(logIds[1]), 1]);
    assert.deepEqual((await markRead(alice.client, 0, bob.uid, logIds[2]!)).data, { unread: 0 });
  });

  it('accepts the logId as a decimal string', async () => {
    const { alice, bob, logIds } = await threeUnread();
    assert.deepEqual(await expectOk(markRead(alice.client, 0, bob.uid, String(logIds[0]))), { unread: 2 });
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).readLogId, String(logIds[0]));
  });

  it("shows the reader's position to the peer as peerReadLogId", async () => {
    const { alice, bob, logIds } = await threeUnread();
    assert.equal((await conversationOf(bob.client, 0, alice.uid)).peerReadLogId, '0');
    await expectOk(markRead(alice.client, 0, bob.uid, logIds[1]!));
    const chat = await conversationOf(bob.client, 0, alice.uid);
    assert.equal(chat.peerReadLogId, String(logIds[1]));
    assert.equal(chat.readLogId, String(logIds[2]), "bob's own position: his newest message");
  });

  it('accepts a revoked message as the read position', async () => {
    const { alice, bob, logIds } = await threeUnread();
    await expectOk(bob.client.revoke(logIds[1]!));
    assert.deepEqual(await expectOk(markRead(alice.client, 0, bob.uid, logIds[1]!)), { unread: 1 });
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).readLogId, String(logIds[1]));
  });

  it('clears the mentions it reads past', async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob');
    const mention = await sendMention(bob.client, 0, alice.uid, '@alice', [alice.uid]);
    const later = await sendMention(bob.client, 0, alice.uid, '@alice again', [alice.uid]);
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).mentions, 2);
    await expectOk(markRead(alice.client, 0, bob.uid, mention));
    assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.unread, c.mentions]), [1, 1]);
    await expectOk(markRead(alice.client, 0, bob.uid, later));
    assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.unread, c.mentions]), [0, 0]);
  });

  it('never moves back: an older or the same logId changes nothing, emits nothing, and still answers', async () => {
    const { alice, bob, logIds } = await threeUnread();
    const aliceSocket = await subscribe(alice.uid);
    const bobSocket = await subscribe(bob.uid, last());
    await expectOk(markRead(alice.client, 0, bob.uid, logIds[1]!));
    const aliceStream = await alice.client.syncAll();
    const bobStream = await bob.client.syncAll();
    for (const logId of [logIds[0]!, logIds[1]!, String(logIds[1])]) {
      const reply = await markRead(alice.client, 0, bob.uid, logId);
      assert.deepEqual({ result: reply.result, data: reply.data }, { result: 0, data: { unread: 1 } }, `read ${logId} again`);
    }
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).readLogId, String(logIds[1]));
    assert.deepEqual(await alice.client.syncAll(), aliceStream);
    assert.deepEqual(await bob.client.syncAll(), bobStream);
    await settled(chatlog(), alice.uid, aliceSocket);
    assert.equal(framesOf(aliceSocket, 'read').length, 1, 'one read event: the first move');
    await settled(chatlog(), bob.uid, bobSocket);
    assert.equal(framesOf(bobSocket, 'read').length, 1, 'one read receipt: the first move');
  });

  it('sends a read event to every device of the reader and of the private peer, and records it as Signal 100 in both streams', async () => {
    const { alice, bob, logIds } = await threeUnread();
    const alicePhone = await subscribe(alice.uid, 0);
    const aliceLaptop = await subscribe(alice.uid, last());
    const bobPhone = await subscribe(bob.uid, last());
    const bobLaptop = await subscribe(bob.uid, 0);
    await expectOk(markRead(alice.client, 0, bob.uid, logIds[1]!));
    const aliceSignal = (await signalsOf(alice.client, SIGNAL_READ))[0];
    const bobSignal = (await signalsOf(bob.client, SIGNAL_READ))[0];
    assert.ok(aliceSignal && bobSignal, 'a ConversationRead signal in both streams');
    assert.equal((await signalsOf(alice.client, SIGNAL_READ)).length, 1);
    for (const signal of [aliceSignal, bobSignal]) {
      assert.deepEqual({ ...signal.read, time: 0 }, { channelType: 0, target: bob.uid, uid: alice.uid, mid: logIds[1], time: 0 });
    }
    for (const [socket, id] of [
      [alicePhone, aliceSignal.sid],
      [aliceLaptop, aliceSignal.sid],
      [bobPhone, bobSignal.sid],
      [bobLaptop, bobSignal.sid],
    ] as const) {
      await socket.until((s) => framesOf(s, 'read').length >= 1);
      // The same frame on both sides: alice (uid) read her conversation with bob (targetId) up to logId.
      assert.deepEqual(framesOf(socket, 'read'), [{ type: 'read', id, channelType: 0, targetId: bob.uid, uid: alice.uid, logId: String(logIds[1]) }]);
    }
    const replay = await subscribe(bob.uid, 0, logIds[2]);
    await replay.until((s) => framesOf(s, 'read').length >= 1);
    assert.deepEqual(framesOf(replay, 'read'), framesOf(bobPhone, 'read'), 'replayed from since like any event');
  });

  it('moves the lastId of the conversation to the read event, for the reader and the peer', async () => {
    const { alice, bob, logIds } = await threeUnread();
    await expectOk(markRead(alice.client, 0, bob.uid, logIds[0]!));
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).lastId, (await signalsOf(alice.client, SIGNAL_READ)).at(-1)!.sid);
    assert.equal((await conversationOf(bob.client, 0, alice.uid)).lastId, (await signalsOf(bob.client, SIGNAL_READ)).at(-1)!.sid);
  });

  it("sends a group read to the reader's own devices only", async () => {
    const owner = await person(chatlog(), 'owner');
    const bob = await person(chatlog(), 'bob', last());
    const carol = await person(chatlog(), 'carol');
    const groupId = await createGroup(owner.client, [bob.uid, carol.uid]);
    const logId = await sayInGroup(owner.client, groupId, 'read me');
    await sayInGroup(carol.client, groupId, 'me too');
    const bobPhone = await subscribe(bob.uid, 0);
    const bobLaptop = await subscribe(bob.uid, last());
    const ownerSocket = await subscribe(owner.uid, last());
    const carolSocket = await subscribe(carol.uid, 0);
    const ownerStream = await owner.client.syncAll();
    const carolStream = await carol.client.syncAll();

    assert.deepEqual(await expectOk(markRead(bob.client, 1, groupId, logId)), { unread: 1 });
    const signal = (await signalsOf(bob.client, SIGNAL_READ))[0];
    assert.ok(signal, 'a ConversationRead signal in the reader stream');
    assert.deepEqual({ ...signal.read, time: 0 }, { channelType: 1, target: String(groupId), uid: bob.uid, mid: logId, time: 0 });
    for (const socket of [bobPhone, bobLaptop]) {
      await socket.until((s) => framesOf(s, 'read').length >= 1);
      assert.deepEqual(framesOf(socket, 'read'), [
        { type: 'read', id: signal.sid, channelType: 1, targetId: String(groupId), uid: bob.uid, logId: String(logId) },
      ]);
    }
    const group = await conversationOf(bob.client, 1, groupId);
    assert.deepEqual([group.readLogId, group.unread, group.lastId], [String(logId), 1, signal.sid]);

    assert.deepEqual(await owner.client.syncAll(), ownerStream, 'nothing in the other members streams');
    assert.deepEqual(await carol.client.syncAll(), carolStream);
    await settled(chatlog(), owner.uid, ownerSocket);
    await settled(chatlog(), carol.uid, carolSocket);
    assert.deepEqual(framesOf(ownerSocket, 'read'), []);
    assert.deepEqual(framesOf(carolSocket, 'read'), []);
  });

  it('sends comet (/sub) clients neither read events nor setting changes: dtalk has no signal for them', async () => {
    const { alice, bob, logIds } = await threeUnread();
    const comet = await CometClient.connect(chatlog().urls[last()]!);
    try {
      await comet.auth(bob.client.token!);
      await expectOk(markRead(alice.client, 0, bob.uid, logIds[2]!));
      await expectOk(bob.client.post('/app/record/conversation-settings', { type: 0, targetId: alice.uid, muted: true }));
      const probe = await say(alice.client, bob.uid, 'probe');
      const pushed = () => comet.received().map((frame) => codec.decodeStreamRecord(frame.body));
      await comet.until(() => pushed().some((record) => record.common?.mid === probe));
      assert.deepEqual(
        pushed().map((record) => record.common?.mid ?? `signal ${record.signal!.type}`),
        [probe],
      );
    } finally {
      comet.close();
    }
  });

  describe('refusals', () => {
    it('answers -1007 for a logId that is not a message of that conversation', async () => {
      const { alice, bob, logIds } = await threeUnread();
      const carol = await person(chatlog(), 'carol');
      const elsewhere = await say(carol.client, bob.uid, 'not for alice');
      const groupId = await createGroup(bob.client, [alice.uid]);
      const inGroup = await sayInGroup(bob.client, groupId);
      const cases: Array<[string, number, string | number, number]> = [
        ['a message between two others', 0, bob.uid, elsewhere],
        ['a message of the conversation with another peer', 0, carol.uid, logIds[0]!],
        ['a message that does not exist', 0, bob.uid, 9_000_000_000],
        ['a group message read as private', 0, bob.uid, inGroup],
        ['a private message read as a group one', 1, groupId, logIds[0]!],
      ];
      const replies: Array<[string, Reply<unknown>]> = [];
      for (const [name, type, targetId, logId] of cases) replies.push([name, await markRead(alice.client, type, targetId, logId)]);
      expectErrors(-1007, replies);
      assert.equal((await conversationOf(alice.client, 0, bob.uid)).readLogId, '0');
    });

    it('refuses a bad read sent together with good ones alone: the good ones move, the bad one leaves no event', async () => {
      const { alice, bob, logIds } = await threeUnread();
      const carol = await person(chatlog(), 'carol');
      const fromCarol = await say(carol.client, alice.uid, 'from carol');
      const elsewhere = await say(carol.client, bob.uid, 'not for alice');
      const before = await signalsOf(alice.client, SIGNAL_READ);
      // Sent at once, so that they share write batches.
      const [good, bad, other] = await Promise.all([
        expectOk(markRead(alice.client, 0, bob.uid, logIds[1]!)),
        markRead(alice.client, 0, bob.uid, elsewhere),
        expectOk(markRead(alice.client, 0, carol.uid, fromCarol)),
      ]);
      assert.deepEqual([good, other], [{ unread: 1 }, { unread: 0 }]);
      expectError(bad, -1007, 'a message between two others');
      const reads = (await signalsOf(alice.client, SIGNAL_READ)).slice(before.length);
      assert.deepEqual(reads.map((signal) => [signal.read!.target, signal.read!.mid]).sort(), [
        [bob.uid, logIds[1]],
        [carol.uid, fromCarol],
      ]);
      assert.equal((await conversationOf(alice.client, 0, bob.uid)).readLogId, String(logIds[1]));
    });

    it('refuses a group the caller is not in or has left with -1019, as group-chat-record does, and answers -1007 for one that does not exist and a message from before their join', async () => {
      const owner = await person(chatlog(), 'owner');
      const bob = await person(chatlog(), 'bob');
      const stranger = await person(chatlog(), 'stranger');
      const groupId = await createGroup(owner.client, [bob.uid]);
      const early = await sayInGroup(owner.client, groupId, 'early');
      const outsiders: Array<[string, Reply<unknown>]> = [];
      outsiders.push(['a stranger', await markRead(stranger.client, 1, groupId, early)]);
      const replies: Array<[string, Reply<unknown>]> = [];
      replies.push(['an unknown group', await markRead(owner.client, 1, 9_000_000_000, early)]);
      await exitGroup(bob.client, groupId);
      outsiders.push(['a former member', await markRead(bob.client, 1, groupId, early)]);
      expectErrors(-1019, outsiders);
      const late = await person(chatlog(), 'late');
      await invite(owner.client, groupId, [late.uid]);
      replies.push(['a message before the join', await markRead(late.client, 1, groupId, early)]);
      expectErrors(-1007, replies);
      const after = await sayInGroup(owner.client, groupId, 'after');
      assert.deepEqual(await expectOk(markRead(late.client, 1, groupId, after)), { unread: 0 });
    });

    const invalid: Array<[string, (peer: string, logId: number) => Record<string, unknown>]> = [
      ['an empty body', () => ({})],
      ['no type', (peer, logId) => ({ targetId: peer, logId })],
      ['type 2', (peer, logId) => ({ type: 2, targetId: peer, logId })],
      ['type "0"', (peer, logId) => ({ type: '0', targetId: peer, logId })],
      ['no targetId', (_peer, logId) => ({ type: 0, logId })],
      ['a targetId that is a number', (_peer, logId) => ({ type: 0, targetId: 12, logId })],
      ['an empty targetId', (_peer, logId) => ({ type: 0, targetId: '', logId })],
      ['a targetId with a space', (_peer, logId) => ({ type: 0, targetId: 'a b', logId })],
      ['a group targetId that is not a decimal id', (_peer, logId) => ({ type: 1, targetId: 'team', logId })],
      ['no logId', (peer) => ({ type: 0, targetId: peer })],
      ['logId -1', (peer) => ({ type: 0, targetId: peer, logId: -1 })],
      ['logId 0', (peer) => ({ type: 0, targetId: peer, logId: 0 })],
      ['logId 1.5', (peer) => ({ type: 0, targetId: peer, logId: 1.5 })],
      ['logId "abc"', (peer) => ({ type: 0, targetId: peer, logId: 'abc' })],
      ['logId true', (peer) => ({ type: 0, targetId: peer, logId: true })],
      ['a logId beyond 2^53', (peer) => ({ type: 0, targetId: peer, logId: 2 ** 60 })],
    ];
    for (const [name, body] of invalid) {
      it(`rejects ${name} with -1012 and moves nothing`, async () => {
        const { alice, bob, logIds } = await threeUnread();
        expectError(await alice.client.post('/app/record/read', body(bob.uid, logIds[2]!)), -1012, name);
        const chat = await conversationOf(alice.client, 0, bob.uid);
        assert.deepEqual([chat.readLogId, chat.unread], ['0', 3]);
      });
    }

    it('names the field that is wrong', async () => {
      const { alice, bob, logIds } = await threeUnread();
      const bodies = [
        { targetId: bob.uid, logId: logIds[0] },
        { type: 1, targetId: 'team', logId: logIds[0] },
        { type: 0, targetId: bob.uid },
      ];
      const messages = await Promise.all(bodies.map((body) => alice.client.post('/app/record/read', body).then((reply) => reply.message)));
      assert.deepEqual(messages, ['type is required', 'targetId must be a group id (a decimal string) for type 1', 'logId is required']);
    });

    it('rejects a caller without a valid token with -1010', async () => {
      const { alice, bob, logIds } = await threeUnread();
      expectError(await markRead(alice.client.as(undefined), 0, bob.uid, logIds[0]!), -1010);
      expectError(await markRead(alice.client.as('nope'), 0, bob.uid, logIds[0]!), -1010);
    });
  });
});
