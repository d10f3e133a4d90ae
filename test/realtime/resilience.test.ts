import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOnEngines, postgresEngine } from '../helpers/engines.js';
import { startChatlog, uniqueUid, useChatlog, type RunningChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';
import type { TestClient } from '../helpers/client.js';

/** The ids of the user's whole stream, as sync-record pages it. */
async function streamIds(client: TestClient, since = 0): Promise<number[]> {
  return (await client.syncAll(since)).map((record) => record.common?.mid ?? record.signal!.sid);
}

/** `senders` users each send `perSender` messages to `target`, alternating instances; resolves with the logIds. */
async function sendConcurrently(chatlog: RunningChatlog, target: string, senders: number, perSender: number, content = 'x'): Promise<number[]> {
  const ids: number[] = [];
  await Promise.all(
    Array.from({ length: senders }, async (_, s) => {
      const client = await chatlog.client(uniqueUid(`sender${s}`), s % chatlog.urls.length);
      for (let i = 0; i < perSender; i++) {
        const reply = await client.sendText(target, content);
        assert.equal(reply.result, 0, reply.message);
        ids.push(reply.data.logId);
      }
    }),
  );
  return ids;
}

describeOnEngines('realtime under trouble', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const sockets: SocketClient[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  });

  it('replays from since and goes live without gap or duplicate while others send', async () => {
    const reader = uniqueUid('reader');
    const client = await chatlog().client(reader);
    const early = await sendConcurrently(chatlog(), reader, 2, 5);
    const sending = sendConcurrently(chatlog(), reader, 4, 25);
    // Sockets join at different moments of the stream, with since at different positions.
    const since = [0, Math.min(...early), Math.max(...early)];
    for (const [i, position] of since.entries()) {
      const instance = i % chatlog().urls.length;
      sockets.push(await SocketClient.connect(chatlog().urls[instance]!, client.token!, { since: position }));
      await sleep(20);
    }
    await sending;
    const all = await streamIds(client);
    for (const [i, socket] of sockets.entries()) {
      const expected = all.filter((id) => id > since[i]!);
      await socket.until((s) => s.events.length >= expected.length, 15_000, `${expected.length} events on socket ${i}`);
      assert.deepEqual(socket.eventIds, expected, `socket ${i} (since ${since[i]})`);
      const ready = socket.frames.findIndex((frame) => frame.type === 'ready');
      assert.ok(ready >= 0, 'a ready frame');
    }
  });

  it('closes a socket that stops reading with 4008, and a reconnect with since recovers everything', async () => {
    const slow = await startChatlog(engine, { WS_MAX_BUFFERED_BYTES: '65536', MAX_MESSAGE_BYTES: '100000' });
    try {
      const reader = uniqueUid('reader');
      const client = await slow.client(reader);
      const socket = await SocketClient.connect(slow.urls[0]!, client.token!, { since: 0 });
      await socket.untilReady();
      socket.pause();
      // Enough to fill the kernel's socket buffers on both sides and then WS_MAX_BUFFERED_BYTES.
      const sender = await slow.client(uniqueUid('sender'));
      const big = 'x'.repeat(60_000);
      for (let i = 0; i < 120; i++) assert.equal((await sender.sendText(reader, big)).result, 0);
      socket.resume();
      const { code } = await socket.closed;
      assert.equal(code, 4008);
      const received = socket.eventIds;
      const resumed = await SocketClient.connect(slow.urls[0]!, client.token!, { since: received.at(-1) ?? 0 });
      const all = await streamIds(client);
      await resumed.until((s) => received.length + s.events.length >= all.length, 15_000, 'the rest of the stream');
      await resumed.close();
      assert.deepEqual([...received, ...resumed.eventIds], all);
    } finally {
      await slow.close();
    }
  });
});

(postgresEngine ? describe : describe.skip)('realtime when the Redis subscription drops (PostgreSQL + Redis)', () => {
  const chatlog = useChatlog(postgresEngine!, {}, 2);

  it('gives every client every event exactly once across a cut of every subscriber connection', async () => {
    const reader = uniqueUid('reader');
    const client = await chatlog().client(reader);
    const sockets = await Promise.all([0, 1, 0, 1].map((instance) => SocketClient.connect(chatlog().urls[instance]!, client.token!, { since: 0 })));
    await Promise.all(sockets.map((socket) => socket.untilReady()));

    await sendConcurrently(chatlog(), reader, 4, 20);
    // The last messages are announced while the subscribers are away: only the resync can bring them.
    const killed = await killSubscribers(chatlog().config.redisPrefix);
    assert.equal(killed, 2, 'one subscriber connection per instance');
    await sendConcurrently(chatlog(), reader, 8, 1);

    const all = await streamIds(client);
    assert.equal(all.length, 88);
    for (const socket of sockets) {
      await socket.until((s) => s.events.length >= all.length, 15_000, 'every event after the reconnect');
      assert.deepEqual(socket.eventIds, all);
    }
    await Promise.all(sockets.map((socket) => socket.close()));
  });
});

/** Kills the Redis subscriber connections of one deployment (by its prefix), as a Redis restart would. */
async function killSubscribers(prefix: string): Promise<number> {
  const admin = new Redis(process.env.REDIS_URL!);
  try {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=${prefix}subscriber `))
      .map((line) => /\bid=(\d+)/.exec(line)![1]!);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    admin.disconnect();
  }
}
