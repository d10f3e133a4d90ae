import assert from 'node:assert/strict';
import { ChatlogClient, type ChatlogEvent, type Subscription } from '../../src/client/index.js';
import { eventually, fakeFetch, fakeWebSocket, type FakeSocket } from './fakes.js';

const message = (id: number) => ({
  type: 'message',
  id,
  record: { logId: String(id), msgId: `m${id}`, channelType: 0, fromId: 'a', targetId: 'b', msgType: 1, content: { content: `#${id}` }, createTime: id },
});

/** A subscription over a fake WebSocket; `events` collects the ids delivered. */
function harness(
  options: {
    since?: number;
    token?: string | (() => string);
    pingIntervalMs?: number;
    fetchResult?: number;
    ackDelivered?: boolean;
    ackIntervalMs?: number;
  } = {},
) {
  const { WebSocket, sockets } = fakeWebSocket();
  const result = options.fetchResult ?? 0;
  const { fetch, requests } = fakeFetch(() =>
    result === 0
      ? { status: 200, body: { result: 0, message: 'OK', data: { record_count: 0, records: [], next_start: 0, has_more: false } } }
      : { status: 401, body: { result, message: 'the token is not valid', data: null } },
  );
  const client = new ChatlogClient({ baseUrl: 'http://chat.example:8080', token: options.token ?? 'tok', fetch, WebSocket });
  const events: ChatlogEvent[] = [];
  const ready: number[] = [];
  const errors: Array<{ error: unknown; fatal: boolean }> = [];
  const disconnects: number[] = [];
  const subscription: Subscription = client.subscribe({
    since: options.since,
    onEvent: (event) => events.push(event),
    onReady: (position) => ready.push(position),
    onError: (error, fatal) => errors.push({ error, fatal }),
    onDisconnect: ({ code }) => disconnects.push(code),
    minDelayMs: 10,
    maxDelayMs: 20,
    pingIntervalMs: options.pingIntervalMs,
    ackDelivered: options.ackDelivered,
    ackIntervalMs: options.ackIntervalMs,
  });
  return { sockets, events, ids: () => events.map((event) => event.id), ready, errors, disconnects, requests, subscription };
}

/** The ack frames a socket was sent, as their ids. */
const acks = (socket: FakeSocket) =>
  socket.sent.map((data) => JSON.parse(data) as { type: string; id?: number }).flatMap((frame) => (frame.type === 'ack' ? [frame.id] : []));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('typed client: subscribe (fake WebSocket)', () => {
  const open: Subscription[] = [];
  afterEach(() => open.splice(0).forEach((subscription) => subscription.close()));

  it('connects to /ws with the token in the query; without since it resumes from the ready position', async () => {
    const h = harness();
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    const first = h.sockets[0]!;
    assert.equal(first.url.origin, 'ws://chat.example:8080');
    assert.equal(first.url.pathname, '/ws');
    assert.equal(first.url.searchParams.get('token'), 'tok');
    assert.equal(first.url.searchParams.has('since'), false);
    first.open();
    first.receive({ type: 'ready', id: 10 });
    assert.deepEqual(h.ready, [10]);
    assert.equal(h.subscription.lastId, 10);
    first.drop(1001, 'server shutting down');
    await eventually(() => h.sockets.length === 2, 'a reconnection');
    assert.deepEqual(h.disconnects, [1001]);
    assert.equal(h.sockets[1]!.url.searchParams.get('since'), '10');
  });

  it('delivers each event once in id order across reconnections, dropping repeats and older ids', async () => {
    const h = harness({ since: 0 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    const first = h.sockets[0]!;
    assert.equal(first.url.searchParams.get('since'), '0');
    first.open();
    first.receive(message(3));
    first.receive({ type: 'revoke', id: 5, logId: '3', channelType: 0, operator: 'a', self: true });
    first.receive({ type: 'pong' });
    first.receive(message(5)); // a repeat on the same socket
    first.drop(4008, 'slow consumer: reconnect with since');

    await eventually(() => h.sockets.length === 2, 'a reconnection');
    const second = h.sockets[1]!;
    assert.equal(second.url.searchParams.get('since'), '5');
    second.open();
    // A server (or proxy) that repeated itself still cannot cause a duplicate.
    second.receive(message(3));
    second.receive(message(5));
    second.receive({ type: 'ready', id: 5 });
    second.receive({ type: 'focus', id: 8, logId: '7', channelType: 0, uid: 'b', currentNum: 1, time: 1 });
    second.receive({ type: 'future-kind', id: 9 }); // unknown kinds are skipped but move the position
    second.receive({ type: 'group', id: 12, event: 'join', groupId: 4, uids: ['a'] });
    second.receive('not json');
    second.receive('null');
    second.drop(1011);

    await eventually(() => h.sockets.length === 3, 'a second reconnection');
    assert.equal(h.sockets[2]!.url.searchParams.get('since'), '12');
    assert.deepEqual(h.ids(), [3, 5, 8, 12]);
    assert.deepEqual(
      h.events.map((event) => event.type),
      ['message', 'revoke', 'focus', 'group'],
    );
    assert.deepEqual(h.disconnects, [4008, 1011]);
    assert.equal(h.errors.length, 2, 'the frames that were not JSON objects are reported');
  });

  it('keeps going when onEvent throws, reporting the error', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', WebSocket, fetch: fakeFetch(() => ({ status: 500, body: '' })).fetch });
    const seen: number[] = [];
    const errors: unknown[] = [];
    const subscription = client.subscribe({
      since: 0,
      onEvent: (event) => {
        seen.push(event.id);
        if (event.id === 1) throw new Error('bug in the app');
      },
      onError: (error) => errors.push(error),
    });
    open.push(subscription);
    await eventually(() => sockets.length === 1, 'a socket');
    sockets[0]!.open();
    sockets[0]!.receive(message(1));
    sockets[0]!.receive(message(2));
    assert.deepEqual(seen, [1, 2]);
    assert.equal((errors[0] as Error).message, 'bug in the app');
  });

  it('pings the server and abandons a socket that stays silent', async () => {
    const h = harness({ since: 0, pingIntervalMs: 5 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    const first = h.sockets[0]!;
    first.open();
    await eventually(() => first.sent.length > 0, 'a ping');
    assert.deepEqual(JSON.parse(first.sent[0]!), { type: 'ping' });
    await eventually(() => h.sockets.length === 2, 'a new socket after the silence');
    assert.equal(first.closedWith?.code, 4000);
  });

  it('stops with a fatal error when a fixed token is refused (the upgrade failed and the probe says -1010)', async () => {
    const h = harness({ fetchResult: -1010 });
    await eventually(() => h.sockets.length === 1, 'a socket');
    h.sockets[0]!.drop(1006); // a browser sees a refused upgrade only as this
    await eventually(() => h.errors.length === 1, 'the credentials error');
    assert.equal(h.errors[0]!.fatal, true);
    assert.equal((h.errors[0]!.error as { code: number }).code, -1010);
    assert.match(h.requests[0]!.url, /\/app\/record\/sync-record$/);
    // The retry scheduled before the probe answered was cancelled with the subscription.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(h.sockets.length, 1);
  });

  it('keeps retrying when the token is a function, which may yet return a valid one', async () => {
    const h = harness({ fetchResult: -1011, token: () => 'maybe-refreshed' });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    h.sockets[0]!.drop(1006);
    await eventually(() => h.errors.length === 1 && h.sockets.length === 2, 'the error and a new attempt');
    assert.equal(h.errors[0]!.fatal, false);
  });

  it('close() closes the socket with 1000 and cancels a pending reconnection', async () => {
    const h = harness({ since: 0 });
    await eventually(() => h.sockets.length === 1, 'a socket');
    h.sockets[0]!.open();
    h.subscription.close();
    assert.equal(h.sockets[0]!.closedWith?.code, 1000);

    const g = harness({ since: 0 });
    await eventually(() => g.sockets.length === 1, 'a socket');
    g.sockets[0]!.drop(1006);
    g.subscription.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(g.sockets.length, 1);
  });

  it('sends no ack frame unless asked to (ackDelivered)', async () => {
    const h = harness({ since: 0, ackIntervalMs: 5 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    h.sockets[0]!.open();
    h.sockets[0]!.receive(message(1));
    await sleep(30);
    h.subscription.close();
    assert.deepEqual(h.ids(), [1]);
    assert.deepEqual(h.sockets[0]!.sent, []);
  });

  it('with ackDelivered, acks after onEvent the highest id delivered, one frame per interval for a burst', async () => {
    const h = harness({ since: 0, ackDelivered: true, ackIntervalMs: 40 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    const socket = h.sockets[0]!;
    socket.open();
    for (const id of [1, 2, 3]) socket.receive(message(id));
    socket.receive({ type: 'read', id: 4, channelType: 0, targetId: 'b', uid: 'b', logId: '3' });
    socket.receive({ type: 'ready', id: 4 });
    assert.deepEqual(acks(socket), [], 'not yet: the burst is coalesced');
    await eventually(() => acks(socket).length === 1, 'the ack of the burst');
    assert.deepEqual(acks(socket), [4]);
    assert.deepEqual(JSON.parse(socket.sent[0]!), { type: 'ack', id: 4 });

    socket.receive({ type: 'pong' });
    await sleep(60);
    assert.deepEqual(acks(socket), [4], 'control frames are not acked, and nothing new means no frame');
    socket.receive(message(6));
    await eventually(() => acks(socket).length === 2, 'the next ack');
    assert.deepEqual(acks(socket), [4, 6]);
  });

  it('acks an event onEvent threw on: it was handed over and is not delivered again', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', WebSocket, fetch: fakeFetch(() => ({ status: 500, body: '' })).fetch });
    const subscription = client.subscribe({
      since: 0,
      ackDelivered: true,
      ackIntervalMs: 5,
      onEvent: () => {
        throw new Error('bug in the app');
      },
      onError: () => undefined,
    });
    open.push(subscription);
    await eventually(() => sockets.length === 1, 'a socket');
    sockets[0]!.open();
    sockets[0]!.receive(message(7));
    await eventually(() => acks(sockets[0]!).length === 1, 'the ack');
    assert.deepEqual(acks(sockets[0]!), [7]);
  });

  it('with ackDelivered, reconnects from the last acknowledged event, acking on the new socket what the old one had not', async () => {
    const h = harness({ since: 0, ackDelivered: true, ackIntervalMs: 20 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    const first = h.sockets[0]!;
    first.open();
    first.receive(message(3));
    await eventually(() => acks(first).length === 1, 'the first ack');
    first.receive(message(5));
    first.receive(message(6));
    first.drop(1006); // before 5 and 6 were acknowledged
    await eventually(() => h.sockets.length === 2, 'a reconnection');
    const second = h.sockets[1]!;
    assert.equal(second.url.searchParams.get('since'), '3', 'from the acknowledged position, not the delivered one');
    assert.equal(h.subscription.lastId, 6);
    second.open();
    // The server sends again what the old socket had not acknowledged: no duplicate, but an ack on this socket.
    second.receive(message(5));
    second.receive(message(6));
    second.receive({ type: 'ready', id: 6 });
    second.receive(message(7));
    await eventually(() => acks(second).length === 1, 'the ack on the new socket');
    assert.deepEqual(acks(first), [3]);
    assert.deepEqual(acks(second), [7]);
    assert.deepEqual(h.ids(), [3, 5, 6, 7]);

    second.drop(1006);
    await eventually(() => h.sockets.length === 3, 'another reconnection');
    assert.equal(h.sockets[2]!.url.searchParams.get('since'), '7', 'all acknowledged: from the last delivered');
  });

  it('without ackDelivered, reconnects from the last delivered event whatever was acknowledged', async () => {
    const h = harness({ since: 0 });
    open.push(h.subscription);
    await eventually(() => h.sockets.length === 1, 'a socket');
    h.sockets[0]!.open();
    h.sockets[0]!.receive(message(4));
    h.sockets[0]!.drop(1006);
    await eventually(() => h.sockets.length === 2, 'a reconnection');
    assert.equal(h.sockets[1]!.url.searchParams.get('since'), '4');
  });

  it('close() sends the ack that is due before closing the socket', async () => {
    const h = harness({ since: 0, ackDelivered: true, ackIntervalMs: 10_000 });
    await eventually(() => h.sockets.length === 1, 'a socket');
    const socket = h.sockets[0]!;
    socket.open();
    socket.receive(message(9));
    h.subscription.close();
    assert.deepEqual(acks(socket), [9]);
    assert.equal(socket.closedWith?.code, 1000);
  });
});
