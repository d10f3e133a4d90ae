import assert from 'node:assert/strict';
import {
  allConversations,
  conversationIn,
  conversationOf,
  conversationsPage,
  createGroup,
  exitGroup,
  expectError,
  expectErrors,
  framesOf,
  keyOf,
  people,
  person,
  say,
  sayInGroup,
  setConversation,
  settled,
  signalsOf,
  SIGNAL_CONVERSATION,
  useSockets,
} from '../helpers/conversations.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import type { Reply } from '../helpers/client.js';
import { useChatlog } from '../helpers/server.js';

describeOnEngines('conversations: settings', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscribe = useSockets(chatlog);

  /** alice with unread messages from bob (2), carol (1) and a group (1, from its owner dave). */
  async function aliceWithUnread() {
    const [alice, bob, carol, dave] = await people(chatlog(), 'alice', 'bob', 'carol', 'dave');
    const groupId = await createGroup(dave.client, [alice.uid]);
    // alice's own message reads the notice of the creation.
    await sayInGroup(alice.client, groupId);
    await sayInGroup(dave.client, groupId);
    await say(carol.client, alice.uid);
    await say(bob.client, alice.uid);
    await say(bob.client, alice.uid);
    return { alice, bob, carol, dave, groupId };
  }

  it('answers {} and mutes a conversation: its unread stays, totalUnread leaves it out', async () => {
    const { alice, bob, groupId } = await aliceWithUnread();
    assert.equal((await allConversations(alice.client)).totalUnread, 4);
    const reply = await setConversation(alice.client, { type: 0, targetId: bob.uid, muted: true });
    assert.equal(reply.status, 200);
    assert.deepEqual({ result: reply.result, message: reply.message, data: reply.data }, { result: 0, message: 'OK', data: {} });
    let listing = await allConversations(alice.client);
    assert.deepEqual([conversationIn(listing, 0, bob.uid).muted, conversationIn(listing, 0, bob.uid).unread, listing.totalUnread], [true, 2, 2]);

    await expectOk(setConversation(alice.client, { type: 1, targetId: String(groupId), muted: true }));
    listing = await allConversations(alice.client);
    assert.deepEqual([conversationIn(listing, 1, groupId).muted, conversationIn(listing, 1, groupId).unread, listing.totalUnread], [true, 1, 1]);
    assert.equal((await conversationsPage(alice.client, { count: 1 })).totalUnread, 1, 'on every page');

    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: false }));
    listing = await allConversations(alice.client);
    assert.deepEqual([conversationIn(listing, 0, bob.uid).muted, listing.totalUnread], [false, 3]);
  });

  it('keeps a muted conversation in its place and counting new messages', async () => {
    const { alice, bob, carol } = await aliceWithUnread();
    await expectOk(setConversation(alice.client, { type: 0, targetId: carol.uid, muted: true }));
    await say(carol.client, alice.uid);
    const listing = await allConversations(alice.client);
    assert.equal(keyOf(listing.conversations[0]!), `0:${carol.uid}`);
    assert.equal(conversationIn(listing, 0, carol.uid).unread, 2);
    assert.equal(listing.totalUnread, conversationIn(listing, 0, bob.uid).unread + 1);
  });

  it('lists pinned conversations first, each part by activity, and unpinning puts it back', async () => {
    const { alice, bob, carol, groupId } = await aliceWithUnread();
    const byActivity = [`0:${bob.uid}`, `0:${carol.uid}`, `1:${groupId}`];
    assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), byActivity);
    await expectOk(setConversation(alice.client, { type: 1, targetId: String(groupId), pinned: true }));
    assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`1:${groupId}`, `0:${bob.uid}`, `0:${carol.uid}`]);
    await expectOk(setConversation(alice.client, { type: 0, targetId: carol.uid, pinned: true }));
    assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`0:${carol.uid}`, `1:${groupId}`, `0:${bob.uid}`]);
    const pinned = await allConversations(alice.client);
    assert.deepEqual(
      pinned.conversations.map((c) => c.pinned),
      [true, true, false],
    );
    await expectOk(setConversation(alice.client, { type: 0, targetId: carol.uid, pinned: false }));
    await expectOk(setConversation(alice.client, { type: 1, targetId: String(groupId), pinned: false }));
    assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), byActivity);
  });

  it('changes only the setting given', async () => {
    const { alice, bob } = await aliceWithUnread();
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: true }));
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, pinned: true }));
    assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.muted, c.pinned]), [true, true]);
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: false }));
    assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.muted, c.pinned]), [false, true]);
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: true, pinned: false }));
    assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.muted, c.pinned]), [true, false]);
  });

  it("keeps one user's settings to themselves", async () => {
    const { alice, bob } = await aliceWithUnread();
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: true, pinned: true }));
    assert.deepEqual(await conversationOf(bob.client, 0, alice.uid).then((c) => [c.muted, c.pinned]), [false, false]);
  });

  it("sends the full state to the caller's devices only, and records it as Signal 101", async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob', last());
    await say(bob.client, alice.uid);
    const phone = await subscribe(alice.uid, 0);
    const laptop = await subscribe(alice.uid, last());
    const bobSocket = await subscribe(bob.uid, last());
    const bobStream = await bob.client.syncAll();
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, pinned: true }));
    await expectOk(setConversation(alice.client, { type: 0, targetId: bob.uid, muted: true }));
    const signals = await signalsOf(alice.client, SIGNAL_CONVERSATION);
    assert.equal(signals.length, 2, 'a conversation signal for each change');
    assert.deepEqual(
      signals.map((signal) => ({ ...signal.conversation, time: 0 })),
      [
        { channelType: 0, target: bob.uid, muted: false, pinned: true, time: 0 },
        { channelType: 0, target: bob.uid, muted: true, pinned: true, time: 0 },
      ],
    );
    for (const socket of [phone, laptop]) {
      await socket.until((s) => framesOf(s, 'conversation').length >= 2);
      assert.deepEqual(framesOf(socket, 'conversation'), [
        { type: 'conversation', id: signals[0]!.sid, channelType: 0, targetId: bob.uid, muted: false, pinned: true },
        { type: 'conversation', id: signals[1]!.sid, channelType: 0, targetId: bob.uid, muted: true, pinned: true },
      ]);
    }
    assert.equal((await conversationOf(alice.client, 0, bob.uid)).lastId, signals[1]!.sid);
    assert.deepEqual(await bob.client.syncAll(), bobStream, 'nothing in the peer stream');
    await settled(chatlog(), bob.uid, bobSocket);
    assert.deepEqual(framesOf(bobSocket, 'conversation'), []);
  });

  it('sends a group setting with channelType 1 and the group id', async () => {
    const { alice, groupId } = await aliceWithUnread();
    const socket = await subscribe(alice.uid, last());
    await expectOk(setConversation(alice.client, { type: 1, targetId: String(groupId), muted: true }));
    await socket.until((s) => framesOf(s, 'conversation').length >= 1);
    const [frame] = framesOf(socket, 'conversation');
    assert.deepEqual(frame, { type: 'conversation', id: frame!.id, channelType: 1, targetId: String(groupId), muted: true, pinned: false });
    assert.equal((await signalsOf(alice.client, SIGNAL_CONVERSATION)).at(-1)?.sid, frame!.id);
  });

  it('lists a private conversation without messages once the caller sets a setting for it', async () => {
    const alice = await person(chatlog(), 'alice');
    const stranger = await person(chatlog(), 'stranger');
    await expectOk(setConversation(alice.client, { type: 0, targetId: stranger.uid, pinned: true }));
    const chat = await conversationOf(alice.client, 0, stranger.uid);
    assert.deepEqual(
      { ...chat, lastId: 0 },
      { type: 0, targetId: stranger.uid, lastMessage: null, lastId: 0, unread: 0, mentions: 0, readLogId: '0', peerReadLogId: '0', muted: false, pinned: true },
    );
    assert.deepEqual((await allConversations(stranger.client)).conversations, [], 'not for the other side');
  });

  it('lists under since the conversation whose setting changed', async () => {
    const { alice, carol } = await aliceWithUnread();
    const before = await conversationsPage(alice.client);
    await expectOk(setConversation(alice.client, { type: 0, targetId: carol.uid, pinned: true }));
    const changed = await conversationsPage(alice.client, { count: 200, since: before.position });
    assert.deepEqual(changed.conversations.map(keyOf), [`0:${carol.uid}`]);
    assert.equal(changed.conversations[0]!.pinned, true);
  });

  it('refuses a group the caller is not in or has left with -1019, as group-chat-record does, and answers -1007 for one that does not exist', async () => {
    const { alice, dave, groupId } = await aliceWithUnread();
    const stranger = await person(chatlog(), 'stranger');
    const outsiders: Array<[string, Reply<unknown>]> = [];
    outsiders.push(['a stranger', await setConversation(stranger.client, { type: 1, targetId: String(groupId), muted: true })]);
    expectErrors(-1007, [['an unknown group', await setConversation(dave.client, { type: 1, targetId: '9000000000', muted: true })]]);
    await exitGroup(alice.client, groupId);
    outsiders.push(['a former member', await setConversation(alice.client, { type: 1, targetId: String(groupId), pinned: true })]);
    expectErrors(-1019, outsiders);
    assert.equal((await signalsOf(stranger.client, SIGNAL_CONVERSATION)).length, 0);
  });

  const invalid: Array<[string, (peer: string) => Record<string, unknown>]> = [
    ['neither muted nor pinned', (peer) => ({ type: 0, targetId: peer })],
    ['muted "yes"', (peer) => ({ type: 0, targetId: peer, muted: 'yes' })],
    ['pinned 1', (peer) => ({ type: 0, targetId: peer, pinned: 1 })],
    ['muted null', (peer) => ({ type: 0, targetId: peer, muted: null })],
    ['type 2', (peer) => ({ type: 2, targetId: peer, muted: true })],
    ['no type', (peer) => ({ targetId: peer, muted: true })],
    ['no targetId', () => ({ type: 0, muted: true })],
    ['a targetId that is a number', () => ({ type: 0, targetId: 7, muted: true })],
    ['an empty targetId', () => ({ type: 0, targetId: '', muted: true })],
    ['a targetId of 65 characters', () => ({ type: 0, targetId: 'x'.repeat(65), muted: true })],
    ['a targetId with a space', () => ({ type: 0, targetId: 'a b', muted: true })],
    ['a group targetId that is not a decimal id', () => ({ type: 1, targetId: 'team', muted: true })],
  ];
  for (const [name, body] of invalid) {
    it(`rejects ${name} with -1012 and changes nothing`, async () => {
      const alice = await person(chatlog(), 'alice');
      const bob = await person(chatlog(), 'bob');
      await say(bob.client, alice.uid);
      const stream = await alice.client.syncAll();
      expectError(await setConversation(alice.client, body(bob.uid)), -1012, name);
      assert.deepEqual(await conversationOf(alice.client, 0, bob.uid).then((c) => [c.muted, c.pinned]), [false, false]);
      assert.deepEqual(await alice.client.syncAll(), stream);
    });
  }

  it('names the rule that was broken', async () => {
    const alice = await person(chatlog(), 'alice');
    const messages = await Promise.all(
      [{ type: 0, targetId: 'bob' }, { targetId: 'bob', muted: true }, { type: 0, targetId: 'bob', muted: 'yes' }, [{ muted: true }]].map((body) =>
        setConversation(alice.client, body as Record<string, unknown>).then((reply) => reply.message),
      ),
    );
    assert.deepEqual(messages, [
      'the request body must set muted or pinned',
      'type is required',
      'muted must be a boolean',
      'the request body must be an object',
    ]);
  });

  it('rejects a caller without a valid token with -1010', async () => {
    const alice = await person(chatlog(), 'alice');
    expectError(await setConversation(alice.client.as(undefined), { type: 0, targetId: 'bob', muted: true }), -1010);
  });
});
