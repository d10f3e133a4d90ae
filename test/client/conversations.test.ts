import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ChatlogClient, ChatlogError, ResultCode, type ChatlogEvent, type PushResult, type Subscription } from '../../src/client/index.js';
import { signToken } from '../../src/auth/jwt.js';
import { describeOnEngines } from '../helpers/engines.js';
import { TEST_JWT_SECRET, uniqueUid, useChatlog } from '../helpers/server.js';
import { eventually, fakeFetch } from './fakes.js';

describe('typed client: conversations (fake fetch)', () => {
  it('posts each conversation call to its /app/record path with the request as the body', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { result: 0, message: 'OK', data: { unread: 0 } } }));
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', fetch });
    await client.conversations({ count: 20, cursor: 'c', since: 7 });
    assert.deepEqual(await client.markRead({ type: 0, targetId: 'bob', logId: '42' }), { unread: 0 });
    await client.readStatus({ type: 1, groupId: 3, logIds: [1, '2'], members: true });
    assert.equal(await client.conversationSettings({ type: 1, targetId: '3', muted: true }), undefined);
    assert.deepEqual(
      requests.map(({ url, init }) => [url, JSON.parse(init.body as string)]),
      [
        ['http://h/app/record/conversations', { count: 20, cursor: 'c', since: 7 }],
        ['http://h/app/record/read', { type: 0, targetId: 'bob', logId: '42' }],
        ['http://h/app/record/read-status', { type: 1, groupId: 3, logIds: [1, '2'], members: true }],
        ['http://h/app/record/conversation-settings', { type: 1, targetId: '3', muted: true }],
      ],
    );
  });
});

describeOnEngines('typed client: conversations', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscriptions: Subscription[] = [];
  afterEach(() => subscriptions.splice(0).forEach((subscription) => subscription.close()));

  async function clientOf(uid: string, instance = 0): Promise<ChatlogClient> {
    return new ChatlogClient({ baseUrl: chatlog().urls[instance]!, token: await signToken(TEST_JWT_SECRET, uid), WebSocket });
  }

  /** `uid`'s live events from now on (on the last instance), once the socket is ready. */
  async function eventsOf(uid: string, options: { ackDelivered?: boolean } = {}): Promise<ChatlogEvent[]> {
    const events: ChatlogEvent[] = [];
    let ready = false;
    const subscription = (await clientOf(uid, last())).subscribe({
      ...options,
      onEvent: (event) => events.push(event),
      onReady: () => (ready = true),
      ackIntervalMs: 20,
    });
    subscriptions.push(subscription);
    await eventually(() => ready, `${uid}'s socket`);
    return events;
  }

  async function chatlogError(promise: Promise<unknown>, code: number, status: number): Promise<ChatlogError> {
    const error = await promise.then(
      () => assert.fail(`expected ChatlogError ${code}`),
      (err: unknown) => err,
    );
    assert.ok(error instanceof ChatlogError, `a ChatlogError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return error;
  }

  const text = (client: ChatlogClient, targetId: string, content: string, mention?: string[]): Promise<PushResult> =>
    client.push({ channelType: 0, targetId, msgType: 1, content: { content, ...(mention && { mention }) } });

  it('lists conversations newest first with unread, mention and read positions, and pages them with a cursor', async () => {
    const [alice, bob, carol] = [uniqueUid('alice'), uniqueUid('bob'), uniqueUid('carol')];
    const [a, b, c] = [await clientOf(alice), await clientOf(bob), await clientOf(carol)];
    await text(b, alice, 'hi');
    const b2 = await text(b, alice, 'hey alice', [alice]);
    await text(c, alice, 'yo');

    const page = await a.conversations({ count: 10 });
    assert.deepEqual(
      page.conversations.map((conversation) => [conversation.type, conversation.targetId, conversation.unread, conversation.mentions]),
      [
        [0, carol, 1, 0],
        [0, bob, 2, 1],
      ],
    );
    const [, withBob] = page.conversations;
    assert.deepEqual(withBob!.lastMessage, (await a.history({ targetId: bob, count: 1 })).records[0]);
    assert.deepEqual([withBob!.readLogId, withBob!.peerReadLogId], ['0', String(b2.logId)], "sending moved bob's read position");
    assert.deepEqual([withBob!.muted, withBob!.pinned], [false, false]);
    assert.ok(Number.isSafeInteger(withBob!.lastId) && withBob!.lastId > 0);
    assert.deepEqual([page.totalUnread, page.next_cursor], [3, null]);
    assert.ok(page.position >= Math.max(...page.conversations.map((conversation) => conversation.lastId)));

    const first = await a.conversations({ count: 1 });
    assert.deepEqual(
      first.conversations.map((conversation) => conversation.targetId),
      [carol],
    );
    assert.equal(typeof first.next_cursor, 'string');
    const second = await a.conversations({ count: 1, cursor: first.next_cursor! });
    assert.deepEqual(
      second.conversations.map((conversation) => conversation.targetId),
      [bob],
    );
    assert.deepEqual([second.next_cursor, second.position, second.totalUnread], [null, first.position, 3]);

    // The sender's own side: one's own messages are never unread.
    assert.deepEqual(
      (await b.conversations({ count: 10 })).conversations.map((conversation) => [conversation.targetId, conversation.unread, conversation.readLogId]),
      [[alice, 0, String(b2.logId)]],
    );
    await chatlogError(a.conversations({ count: 0 }), ResultCode.InvalidParams, 400);
  });

  it('moves the read position forward only, answering the unread left, with a read event for both sides', async () => {
    const [alice, bob, carol] = [uniqueUid('alice'), uniqueUid('bob'), uniqueUid('carol')];
    const [a, b, c] = [await clientOf(alice), await clientOf(bob), await clientOf(carol)];
    const b1 = await text(b, alice, 'one');
    const b2 = await text(b, alice, 'two');
    const c1 = await text(c, alice, 'other');
    const before = await a.conversations({ count: 10 });
    const aliceEvents = await eventsOf(alice);
    const bobEvents = await eventsOf(bob);

    assert.deepEqual(await a.markRead({ type: 0, targetId: bob, logId: b1.logId }), { unread: 1 });
    assert.deepEqual(await a.markRead({ type: 0, targetId: bob, logId: String(b2.logId) }), { unread: 0 });
    assert.deepEqual(await a.markRead({ type: 0, targetId: bob, logId: b1.logId }), { unread: 0 }, 'never back');
    assert.deepEqual(await a.markRead({ type: 0, targetId: bob, logId: b2.logId }), { unread: 0 }, 'a repeat changes nothing');

    const reads = (events: ChatlogEvent[]) => events.filter((event) => event.type === 'read');
    await eventually(() => reads(aliceEvents).length >= 2 && reads(bobEvents).length >= 2, 'the read events');
    const expected = [b1, b2].map((sent) => ({ type: 'read', channelType: 0, targetId: bob, uid: alice, logId: String(sent.logId) }));
    for (const events of [aliceEvents, bobEvents]) {
      assert.deepEqual(
        reads(events).map(({ id: _id, ...rest }) => rest),
        expected,
      );
    }

    const after = await a.conversations({ count: 10 });
    assert.equal(after.totalUnread, 1);
    const withBob = after.conversations.find((conversation) => conversation.targetId === bob);
    assert.deepEqual([withBob?.unread, withBob?.readLogId], [0, String(b2.logId)]);
    const changed = await a.conversations({ count: 10, since: before.position });
    assert.deepEqual(
      changed.conversations.map((conversation) => conversation.targetId),
      [bob],
      'only what changed after the first listing',
    );
    assert.equal(changed.totalUnread, 1, 'always the total');
    assert.equal(
      (await b.conversations({ count: 10 })).conversations.find((conversation) => conversation.targetId === alice)?.peerReadLogId,
      String(b2.logId),
      'the receipt, for bob',
    );

    await chatlogError(a.markRead({ type: 0, targetId: bob, logId: c1.logId }), ResultCode.NotFound, 404);
    await chatlogError(a.markRead({ type: 0, targetId: bob, logId: 'x' }), ResultCode.InvalidParams, 400);
  });

  it("counts group unread and mentions, and says who of the group's members read each message", async () => {
    const [owner, ann, ben, dee] = [uniqueUid('owner'), uniqueUid('ann'), uniqueUid('ben'), uniqueUid('dee')];
    const [o, a, b] = [await clientOf(owner), await clientOf(ann), await clientOf(ben)];
    const group = await o.createGroup({ name: 'readers', memberIds: [ann, ben] });
    const groupId = String(group.id);
    const g1 = await o.push({ channelType: 1, targetId: groupId, msgType: 1, content: { content: 'first', mention: [ben] } });
    const g2 = await a.push({ channelType: 1, targetId: groupId, msgType: 1, content: { content: 'second' } });
    // By ann: its notice (a group message from her) moves no read position that the assertions below look at.
    await a.inviteMembers(group.id, [dee]);

    // Everything from others counts, the group notices (msgType 7) of the creation and the invitation included.
    const fromOthers = (await b.groupHistory({ groupId: group.id, count: 20 })).records.filter((record) => record.fromId !== ben);
    assert.deepEqual(
      fromOthers.map((record) => record.msgType),
      [7, 1, 1, 7],
    );
    const forBen = (await b.conversations({ count: 10 })).conversations.find((conversation) => conversation.type === 1);
    assert.deepEqual([forBen?.targetId, forBen?.unread, forBen?.mentions], [groupId, 4, 1]);
    assert.deepEqual(forBen?.lastMessage, fromOthers[0], 'the newest message');

    const status = () => o.readStatus({ type: 1, groupId: group.id, logIds: [g1.logId, String(g2.logId)], members: true });
    // Sending moved ann's read position to g2, the owner's to g1; dee joined after both, so is not counted.
    assert.deepEqual(await status(), {
      items: [
        { logId: String(g1.logId), readCount: 1, memberCount: 2, readers: [ann] },
        { logId: String(g2.logId), readCount: 0, memberCount: 2, readers: [] },
      ],
    });
    assert.deepEqual(await b.markRead({ type: 1, targetId: groupId, logId: g2.logId }), { unread: 1 }, "ann's invitation came after g2");
    const { items } = await status();
    assert.deepEqual(
      items.map((item) => [item.readCount, item.memberCount, [...item.readers!].sort()]),
      [
        [2, 2, [ann, ben].sort()],
        [1, 2, [ben]],
      ],
    );
    const [plain] = (await o.readStatus({ type: 1, groupId, logIds: [g2.logId] })).items;
    assert.deepEqual(plain, { logId: String(g2.logId), readCount: 1, memberCount: 2 }, 'readers only when asked');

    const outsider = await clientOf(uniqueUid('outsider'));
    // As group-chat-record answers someone who is not a member.
    await chatlogError(outsider.markRead({ type: 1, targetId: groupId, logId: g1.logId }), ResultCode.PermissionDenied, 403);
    await chatlogError(outsider.readStatus({ type: 1, groupId, logIds: [g1.logId] }), ResultCode.PermissionDenied, 403);
  });

  it('mutes and pins a conversation: pinned first, muted left out of totalUnread, the state sent to the caller', async () => {
    const [alice, bob, carol] = [uniqueUid('alice'), uniqueUid('bob'), uniqueUid('carol')];
    const a = await clientOf(alice);
    await text(await clientOf(carol), alice, 'older');
    await text(await clientOf(bob), alice, 'newer');
    const events = await eventsOf(alice);

    await a.conversationSettings({ type: 0, targetId: carol, pinned: true });
    await a.conversationSettings({ type: 0, targetId: bob, muted: true });
    const page = await a.conversations({ count: 10 });
    assert.deepEqual(
      page.conversations.map((conversation) => [conversation.targetId, conversation.unread, conversation.muted, conversation.pinned]),
      [
        [carol, 1, false, true],
        [bob, 1, true, false],
      ],
    );
    assert.equal(page.totalUnread, 1, "bob's message still counts in its conversation, not in the total");

    await eventually(() => events.filter((event) => event.type === 'conversation').length === 2, 'the conversation events');
    assert.deepEqual(
      events.filter((event) => event.type === 'conversation').map(({ id: _id, ...rest }) => rest),
      [
        { type: 'conversation', channelType: 0, targetId: carol, muted: false, pinned: true },
        { type: 'conversation', channelType: 0, targetId: bob, muted: true, pinned: false },
      ],
    );
    await chatlogError(a.conversationSettings({ type: 0, targetId: bob }), ResultCode.InvalidParams, 400);
    await chatlogError(a.conversationSettings({ type: 1, targetId: '999999999', muted: true }), ResultCode.NotFound, 404);
  });

  it("with ackDelivered, the receiver's subscription acknowledges and the sender gets a delivered event", async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const aliceEvents = await eventsOf(alice);
    const bobEvents = await eventsOf(bob, { ackDelivered: true });
    const sent = await text(await clientOf(alice), bob, 'did it arrive?');
    await eventually(() => bobEvents.some((event) => event.type === 'message'), "bob's message");
    await eventually(() => aliceEvents.some((event) => event.type === 'delivered'), 'the delivered event');
    const delivered = aliceEvents.find((event) => event.type === 'delivered');
    assert.deepEqual(delivered, { type: 'delivered', id: delivered!.id, targetId: bob, uid: bob, logId: String(sent.logId), logIds: [String(sent.logId)] });
  });

  it('acknowledges on the new socket what a dropped one had not, so the sender is still told it was delivered', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const aliceEvents = await eventsOf(alice);
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    }
    const bobEvents: ChatlogEvent[] = [];
    const ready: number[] = [];
    const client = new ChatlogClient({ baseUrl: chatlog().urls[last()]!, token: await signToken(TEST_JWT_SECRET, bob), WebSocket: Tracked });
    subscriptions.push(
      client.subscribe({
        ackDelivered: true,
        ackIntervalMs: 1000,
        minDelayMs: 20,
        maxDelayMs: 50,
        onEvent: (event) => bobEvents.push(event),
        onReady: (position) => ready.push(position),
      }),
    );
    await eventually(() => ready.length === 1, "bob's socket");
    const sent = await text(await clientOf(alice), bob, 'through a flaky network');
    await eventually(() => bobEvents.length === 1, "bob's message");
    sockets[0]!.terminate(); // well before its ack was due
    await eventually(() => ready.length === 2, 'the reconnection');
    assert.equal(new URL(sockets[1]!.url).searchParams.get('since'), String(ready[0]), 'from before the unacknowledged message');
    await eventually(() => aliceEvents.some((event) => event.type === 'delivered'), 'the delivered event');
    const delivered = aliceEvents.filter((event) => event.type === 'delivered');
    assert.deepEqual(
      delivered.map((event) => event.logIds),
      [[String(sent.logId)]],
    );
    assert.deepEqual(
      bobEvents.map((event) => event.id),
      [bobEvents[0]!.id],
      'no duplicate for bob',
    );
  });
});
