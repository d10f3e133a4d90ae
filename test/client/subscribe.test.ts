import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ChatlogClient, ChatlogError, type ChatlogEvent, type DisconnectInfo, type Subscription } from '../../src/client/index.js';
import { signToken } from '../../src/auth/jwt.js';
import { describeOnEngines, type Engine } from '../helpers/engines.js';
import type { TestClient } from '../helpers/client.js';
import { TEST_JWT_SECRET, startChatlog, uniqueUid, useChatlog, type RunningChatlog } from '../helpers/server.js';
import { CometClient, CometOp } from '../helpers/dtalk.js';
import { eventually } from './fakes.js';

/** The `ws` WebSocket, remembering every socket it made so a test can cut or stall them. */
function trackedWebSocket() {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked, sockets };
}

/** The positions of the user's whole stream, as sync-record pages it: what a subscriber must see, in order. */
async function streamIds(client: TestClient): Promise<number[]> {
  return (await client.syncAll()).map((record) => record.common?.mid ?? record.signal!.sid);
}

/** A gate a token function can wait on, so a test decides when a reconnection may proceed. */
function gate() {
  let open: () => void = () => undefined;
  let promise = Promise.resolve();
  return {
    close() {
      promise = new Promise<void>((resolve) => (open = resolve));
    },
    open: () => open(),
    wait: () => promise,
  };
}

/** Subscribes `uid` on `baseUrl` with the real ws, collecting everything it is told. */
function subscriber(baseUrl: string, token: () => Promise<string>, since?: number) {
  const tracked = trackedWebSocket();
  const events: ChatlogEvent[] = [];
  const ready: number[] = [];
  const disconnects: DisconnectInfo[] = [];
  const errors: Array<{ error: unknown; fatal: boolean }> = [];
  const client = new ChatlogClient({ baseUrl, token, WebSocket: tracked.WebSocket });
  const subscription = client.subscribe({
    since,
    onEvent: (event) => events.push(event),
    onReady: (position) => ready.push(position),
    onDisconnect: (info) => disconnects.push(info),
    onError: (error, fatal) => errors.push({ error, fatal }),
    minDelayMs: 50,
    maxDelayMs: 200,
  });
  return { sockets: tracked.sockets, events, ids: () => events.map((event) => event.id), ready, disconnects, errors, subscription };
}

async function sendTexts(from: TestClient, to: string, count: number, content = 'x'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await from.sendText(to, content);
    assert.equal(reply.result, 0, reply.message);
    ids.push(reply.data.logId);
  }
  return ids;
}

describeOnEngines('typed client: subscribe', (engine: Engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscriptions: Subscription[] = [];
  afterEach(() => subscriptions.splice(0).forEach((subscription) => subscription.close()));

  const tokenOf = (uid: string) => () => signToken(TEST_JWT_SECRET, uid);

  it('receives message, revoke, focus and group events live, in stream order', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const s = subscriber(chatlog().urls[last()]!, tokenOf(bob));
    subscriptions.push(s.subscription);
    await eventually(() => s.ready.length === 1, 'ready');
    assert.equal(s.ready[0], 0, 'a new user starts at position 0');

    const a = await chatlog().client(alice, 0);
    const b = await chatlog().client(bob, 0);
    const [first, second] = await sendTexts(a, bob, 2, 'hello bob');
    // Delivered before it is revoked: a revoked message is left out of the stream from then on.
    await eventually(() => s.events.length >= 2, 'both messages');
    assert.equal((await a.revoke(first!)).result, 0);
    assert.equal((await b.focus(second!)).result, 0);
    const group = await new ChatlogClient({ baseUrl: chatlog().urls[0]!, token: await tokenOf(alice)() }).createGroup({ name: 'g', memberIds: [bob] });

    const expected = [first!, ...(await streamIds(b))];
    assert.equal(expected.length, 6);
    await eventually(() => s.events.length >= expected.length, 'six events');
    assert.deepEqual(s.ids(), expected);
    // The group's creation is its join, then the group notice (msgType 7) dtalk clients show.
    assert.deepEqual(
      s.events.map((event) => event.type),
      ['message', 'message', 'revoke', 'focus', 'group', 'message'],
    );
    const [m, , revoke, focus, join] = s.events as [ChatlogEvent, ChatlogEvent, ChatlogEvent, ChatlogEvent, ChatlogEvent];
    assert.ok(m.type === 'message' && m.record.msgType === 1);
    assert.equal(m.record.content?.content, 'hello bob');
    assert.deepEqual(revoke, { type: 'revoke', id: revoke.id, logId: String(first), channelType: 0, operator: alice, self: true });
    assert.ok(focus.type === 'focus' && focus.logId === String(second) && focus.uid === bob && focus.currentNum === 1);
    assert.ok(join.type === 'group' && join.event === 'join' && join.groupId === group.id);
    assert.equal(s.subscription.lastId, expected.at(-1));
  });

  it('receives a delivered event once a device of the receiver acknowledges the message', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const s = subscriber(chatlog().urls[last()]!, tokenOf(alice));
    subscriptions.push(s.subscription);
    await eventually(() => s.ready.length === 1, 'ready');
    const phone = await CometClient.connect(chatlog().urls[0]!);
    await phone.auth(await tokenOf(bob)());
    const [logId] = await sendTexts(await chatlog().client(alice, 0), bob, 1, 'ticked');
    const pushed = await phone.next((frame) => frame.op === CometOp.ReceiveMsg);
    phone.send(CometOp.ReceiveMsgReply, new Uint8Array(0), { ack: pushed.seq });
    await eventually(() => s.events.some((event) => event.type === 'delivered'), 'the delivered event');
    const delivered = s.events.find((event) => event.type === 'delivered');
    assert.deepEqual(delivered, { type: 'delivered', id: delivered!.id, targetId: bob, uid: bob, logId: String(logId), logIds: [String(logId)] });
    phone.close();
  });

  it('reconnects with since after the socket is cut, and yields every event exactly once in id order', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await chatlog().client(alice, 0);
    const b = await chatlog().client(bob);
    const before = await sendTexts(a, bob, 2);
    const reconnect = gate();
    const s = subscriber(
      chatlog().urls[last()]!,
      async () => {
        await reconnect.wait();
        return tokenOf(bob)();
      },
      0,
    );
    subscriptions.push(s.subscription);
    await eventually(() => s.ready.length === 1, 'ready after the replay');
    assert.deepEqual(s.ids(), before, 'the replay from since 0');

    // Hold the next connection until messages were sent into the gap, then cut the socket as a network would.
    reconnect.close();
    s.sockets[0]!.terminate();
    await eventually(() => s.disconnects.length === 1, 'the disconnect');
    const gap = await sendTexts(a, bob, 3);
    reconnect.open();
    await eventually(() => s.ready.length === 2, 'ready after the reconnection');
    const after = await sendTexts(a, bob, 2);

    const expected = await streamIds(b);
    assert.deepEqual(expected, [...before, ...gap, ...after]);
    await eventually(() => s.events.length >= expected.length, 'every event');
    assert.deepEqual(s.ids(), expected);
    assert.equal(s.sockets.length, 2);
    assert.equal(new URL(s.sockets[1]!.url).searchParams.get('since'), String(before.at(-1)));
    assert.deepEqual(s.errors, []);
  });

  it('ends with a fatal ChatlogError -1010 when a fixed token is refused at the upgrade', async () => {
    const tracked = trackedWebSocket();
    const errors: Array<{ error: unknown; fatal: boolean }> = [];
    const client = new ChatlogClient({ baseUrl: chatlog().urls[0]!, token: 'not-a-jwt', WebSocket: tracked.WebSocket });
    const subscription = client.subscribe({
      onEvent: () => assert.fail('no events'),
      onError: (error, fatal) => errors.push({ error, fatal }),
      minDelayMs: 50,
    });
    subscriptions.push(subscription);
    await eventually(() => errors.length === 1, 'the credentials error');
    assert.ok(errors[0]!.error instanceof ChatlogError);
    assert.equal(errors[0]!.error.code, -1010);
    assert.equal(errors[0]!.fatal, true);
  });

  describe('with a slow consumer', () => {
    let slow: RunningChatlog;
    before(async () => {
      slow = await startChatlog(engine, { WS_MAX_BUFFERED_BYTES: '65536', MAX_MESSAGE_BYTES: '100000' });
    });
    after(async () => {
      await slow?.close();
    });

    it('is closed with 4008 when it stops reading, then catches up with since, losing and repeating nothing', async () => {
      const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
      const s = subscriber(slow.urls[0]!, tokenOf(bob), 0);
      subscriptions.push(s.subscription);
      await eventually(() => s.ready.length === 1, 'ready');
      // Stop reading, as a hung client would: the server's buffer for this socket fills up.
      const raw = (s.sockets[0] as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      raw.pause();
      const a = await slow.client(alice);
      await sendTexts(a, bob, 120, 'x'.repeat(60_000));
      raw.resume();

      const expected = await streamIds(await slow.client(bob));
      assert.equal(expected.length, 120);
      await eventually(() => s.events.length >= expected.length, 'all 120 events', 30_000);
      assert.deepEqual(s.ids(), expected);
      assert.equal(s.disconnects[0]?.code, 4008);
      assert.ok(s.sockets.length >= 2);
    });
  });
});
