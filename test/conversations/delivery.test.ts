import assert from 'node:assert/strict';
import { createGroup, framesOf, person, say, sayInGroup, settled, signalsOf, SIGNAL_RECEIVED, useSockets } from '../helpers/conversations.js';
import { describeOnEngines } from '../helpers/engines.js';
import { useChatlog } from '../helpers/server.js';
import type { SocketClient } from '../helpers/ws-client.js';

describeOnEngines('conversations: delivery receipts over /ws', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscribe = useSockets(chatlog);

  function ack(socket: SocketClient, id: unknown): void {
    socket.send(JSON.stringify({ type: 'ack', id }));
  }

  /** Waits for the socket to hold event `id`. */
  function received(socket: SocketClient, id: number): Promise<void> {
    return socket.until((s) => s.eventIds.includes(id), 10_000, `event ${id}`);
  }

  it("tells the sender's devices, on any instance, that a message reached a device of the receiver that acked it", async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob');
    const alicePhone = await subscribe(alice.uid, last());
    const aliceLaptop = await subscribe(alice.uid, 0);
    const bobSocket = await subscribe(bob.uid, 0);
    const logId = await say(alice.client, bob.uid, 'did you get it?');
    await received(bobSocket, logId);
    ack(bobSocket, logId);
    for (const socket of [alicePhone, aliceLaptop]) {
      await socket.until((s) => framesOf(s, 'delivered').length >= 1, 5_000, 'a delivered frame');
    }
    const [signal] = await signalsOf(alice.client, SIGNAL_RECEIVED);
    assert.ok(signal, 'a Received signal in the sender stream');
    assert.deepEqual(signal.received?.logs, [logId]);
    for (const socket of [alicePhone, aliceLaptop]) {
      assert.deepEqual(framesOf(socket, 'delivered'), [
        { type: 'delivered', id: signal.sid, targetId: bob.uid, uid: bob.uid, logId: String(logId), logIds: [String(logId)] },
      ]);
    }
    assert.deepEqual(framesOf(bobSocket, 'delivered'), [], 'the receiver gets no receipt');
  });

  it('gives one receipt per sender for an ack covering several messages', async () => {
    const [alice, carol, bob] = [await person(chatlog(), 'alice'), await person(chatlog(), 'carol', last()), await person(chatlog(), 'bob', last())];
    const aliceSocket = await subscribe(alice.uid, 0);
    const carolSocket = await subscribe(carol.uid, last());
    const bobSocket = await subscribe(bob.uid, last());
    const fromAlice = [await say(alice.client, bob.uid), await say(alice.client, bob.uid), await say(alice.client, bob.uid)];
    const fromCarol = [await say(carol.client, bob.uid), await say(carol.client, bob.uid)];
    const newest = Math.max(...fromAlice, ...fromCarol);
    await received(bobSocket, newest);
    ack(bobSocket, newest);
    await aliceSocket.until((s) => framesOf(s, 'delivered').length >= 1, 5_000, 'a delivered frame');
    await carolSocket.until((s) => framesOf(s, 'delivered').length >= 1, 5_000, 'a delivered frame');
    await settled(chatlog(), alice.uid, aliceSocket);
    await settled(chatlog(), carol.uid, carolSocket);
    for (const [socket, sent] of [
      [aliceSocket, fromAlice],
      [carolSocket, fromCarol],
    ] as const) {
      const frames = framesOf(socket, 'delivered');
      assert.equal(frames.length, 1, `one receipt: ${JSON.stringify(frames)}`);
      assert.deepEqual(
        { ...frames[0], id: 0 },
        { type: 'delivered', id: 0, targetId: bob.uid, uid: bob.uid, logId: String(Math.max(...sent)), logIds: sent.map(String) },
      );
    }
  });

  it('says nothing of an ack below the message, a repeat, or the ack of another device', async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob');
    const aliceSocket = await subscribe(alice.uid, last());
    const bobPhone = await subscribe(bob.uid, 0);
    const bobLaptop = await subscribe(bob.uid, last());
    const first = await say(alice.client, bob.uid, 'first');
    await received(bobPhone, first);
    await received(bobLaptop, first);
    ack(bobPhone, first - 1);
    ack(bobPhone, first);
    await aliceSocket.until((s) => framesOf(s, 'delivered').length >= 1, 5_000, 'a delivered frame');
    ack(bobPhone, first);
    ack(bobLaptop, first);
    const second = await say(alice.client, bob.uid, 'second');
    await received(bobLaptop, second);
    ack(bobLaptop, second);
    await aliceSocket.until((s) => framesOf(s, 'delivered').length >= 2, 5_000, 'a second delivered frame');
    await settled(chatlog(), alice.uid, aliceSocket);
    assert.deepEqual(
      framesOf(aliceSocket, 'delivered').map((frame) => frame.logIds),
      [[String(first)], [String(second)]],
    );
    assert.deepEqual(
      (await signalsOf(alice.client, SIGNAL_RECEIVED)).map((signal) => signal.received?.logs),
      [[first], [second]],
    );
  });

  it("gives no receipt for the receiver's own messages or for group messages", async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob');
    const aliceSocket = await subscribe(alice.uid, 0);
    const bobSocket = await subscribe(bob.uid, last());
    const groupId = await createGroup(alice.client, [bob.uid]);
    const own = await say(bob.client, alice.uid, 'mine');
    const inGroup = await sayInGroup(alice.client, groupId, 'to the group');
    await received(bobSocket, inGroup);
    assert.ok(bobSocket.eventIds.includes(own));
    ack(bobSocket, inGroup);
    const probe = await say(alice.client, bob.uid, 'private');
    await received(bobSocket, probe);
    ack(bobSocket, probe);
    await aliceSocket.until((s) => framesOf(s, 'delivered').length >= 1, 5_000, 'a delivered frame');
    await settled(chatlog(), alice.uid, aliceSocket);
    await settled(chatlog(), bob.uid, bobSocket);
    assert.deepEqual(
      framesOf(aliceSocket, 'delivered').map((frame) => frame.logIds),
      [[String(probe)]],
    );
    assert.deepEqual(framesOf(bobSocket, 'delivered'), []);
    assert.deepEqual(await signalsOf(bob.client, SIGNAL_RECEIVED), []);
  });

  it('answers an ack frame with nothing', async () => {
    const alice = await person(chatlog(), 'alice');
    const bob = await person(chatlog(), 'bob');
    const bobSocket = await subscribe(bob.uid, 0);
    const logId = await say(alice.client, bob.uid);
    await received(bobSocket, logId);
    const before = bobSocket.frames.length;
    ack(bobSocket, logId);
    ack(bobSocket, 0);
    bobSocket.send(JSON.stringify({ type: 'ping' }));
    await bobSocket.until((s) => s.frames.some((frame) => frame.type === 'pong'));
    assert.deepEqual(bobSocket.frames.slice(before), [{ type: 'pong' }]);
  });

  it('answers a bad ack with an error frame and keeps the socket open', async () => {
    const bob = await person(chatlog(), 'bob');
    const socket = await subscribe(bob.uid, last());
    const bad = [undefined, -1, '5', 1.5, null, 2 ** 60, { id: 1 }];
    for (const id of bad) ack(socket, id);
    socket.send(JSON.stringify({ type: 'ping' }));
    await socket.until((s) => s.frames.some((frame) => frame.type === 'pong'));
    const errors = socket.frames.filter((frame) => frame.type === 'error');
    assert.equal(errors.length, bad.length, JSON.stringify(socket.frames));
    for (const error of errors) assert.equal(typeof error.message, 'string');
    const alice = await person(chatlog(), 'alice');
    const logId = await say(alice.client, bob.uid, 'still there');
    await received(socket, logId);
  });
});
