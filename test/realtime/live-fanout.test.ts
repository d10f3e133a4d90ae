import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Notification } from '../../src/bus/event-bus.js';
import type { TestClient } from '../helpers/client.js';
import { describeOnEngines, postgresEngine } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { metricValue } from '../helpers/metrics.js';
import { PrivateRedis } from '../helpers/redis-server.js';
import { startChatlog, uniqueUid, type RunningChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

/** The ids of the user's whole stream, as sync-record pages it. */
async function streamIds(client: TestClient): Promise<number[]> {
  return (await client.syncAll(0)).map((record) => record.common?.mid ?? record.signal!.sid);
}

/** Opens `count` sockets of the user, alternating instances, and waits until each is live. */
async function openSockets(chatlog: RunningChatlog, client: TestClient, count: number): Promise<SocketClient[]> {
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) => SocketClient.connect(chatlog.urls[i % chatlog.urls.length]!, client.token!, { since: 0 })),
  );
  await Promise.all(sockets.map((socket) => socket.untilReady()));
  return sockets;
}

/** Every socket ends with the user's whole stream, each event once, in order. */
async function assertWholeStream(client: TestClient, sockets: SocketClient[], expectedLength: number): Promise<void> {
  const all = await streamIds(client);
  assert.equal(all.length, expectedLength);
  for (const [i, socket] of sockets.entries()) {
    await socket.until((s) => s.events.length >= all.length, 15_000, `the whole stream on socket ${i}`);
    await sleep(100);
    assert.deepEqual(socket.eventIds, all, `socket ${i}`);
  }
}

function sentBy(notification: Notification, uid: string): boolean {
  return notification.events.some(({ event }) => event?.kind === 'message' && event.message.senderId === uid);
}

async function sumOverInstances(chatlog: RunningChatlog, name: string, labels = ''): Promise<number> {
  return (await Promise.all(chatlog.urls.map((url) => metricValue(url, name, labels)))).reduce((a, b) => a + b, 0);
}

describeOnEngines('realtime fan-out from notifications', (engine) => {
  const closing: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((item) => item.close()));
  });

  it('delivers live events from their notifications, without reading them back from the database', async () => {
    const chatlog = await startChatlog(engine, {}, engine.instances);
    closing.push(chatlog);
    const readerUid = uniqueUid('reader');
    const reader = await chatlog.client(readerUid);
    const sockets = await openSockets(chatlog, reader, 4);
    closing.push(...sockets);
    const readsBefore = await sumOverInstances(chatlog, 'chatlog_stream_reads_total');
    const sender = await chatlog.client(uniqueUid('sender'), chatlog.urls.length - 1);
    for (let i = 0; i < 30; i++) assert.equal((await sender.sendText(readerUid, `live ${i}`)).result, 0);
    await assertWholeStream(reader, sockets, 30);
    assert.equal(await sumOverInstances(chatlog, 'chatlog_stream_reads_total'), readsBefore, 'no stream read for live events');
    assert.equal(await sumOverInstances(chatlog, 'chatlog_events_delivered_total', 'source="live"'), 4 * 30);
  });

  /**
   * Servers on which every instance loses every notification of `unlucky`'s messages, as if Redis had dropped them,
   * and a reader with `count` sockets open; `readsBefore`: the stream reads so far.
   */
  async function losingNotificationsOf(unlucky: string, settings: Record<string, string>, count: number) {
    const chatlog = await startChatlog(engine, settings, engine.instances, {
      interceptNotifications: (notification, pass) => {
        if (!sentBy(notification, unlucky)) pass(notification);
      },
    });
    closing.push(chatlog);
    const readerUid = uniqueUid('reader');
    const reader = await chatlog.client(readerUid);
    const sockets = await openSockets(chatlog, reader, count);
    closing.push(...sockets);
    return { chatlog, readerUid, reader, sockets, readsBefore: await sumOverInstances(chatlog, 'chatlog_stream_reads_total') };
  }

  it('recovers notifications lost on purpose from the database, with no gap or repeat, even the last one, reading each gap once for every socket', async () => {
    const unlucky = uniqueUid('unlucky');
    const { chatlog, readerUid, reader, sockets, readsBefore } = await losingNotificationsOf(unlucky, { REALTIME_GAP_WAIT: '50ms' }, 3);
    const lucky = await chatlog.client(uniqueUid('lucky'));
    const loser = await chatlog.client(unlucky, chatlog.urls.length - 1);
    for (let i = 0; i < 10; i++) {
      assert.equal((await lucky.sendText(readerUid, `lucky ${i}`)).result, 0);
      if (i % 3 === 1) assert.equal((await loser.sendText(readerUid, `lost ${i}`)).result, 0);
    }
    // The last notification is lost too: no later one reveals the gap, the comparison with the database does.
    assert.equal((await loser.sendText(readerUid, 'lost at the end')).result, 0);
    await assertWholeStream(reader, sockets, 14);
    assert.ok((await sumOverInstances(chatlog, 'chatlog_notification_gaps_total')) >= chatlog.urls.length, 'each instance found a gap');
    // The missing events were read back once per gap and delivered from there, not by each socket reading its stream.
    assert.equal(await sumOverInstances(chatlog, 'chatlog_stream_reads_total'), readsBefore);
  });

  it('falls back to every socket reading its stream when a gap holds more events than a page, still with no gap or repeat', async () => {
    const unlucky = uniqueUid('unlucky');
    const { chatlog, readerUid, reader, sockets, readsBefore } = await losingNotificationsOf(
      unlucky,
      { REALTIME_GAP_WAIT: '100ms', REALTIME_READ_PAGE: '2' },
      2,
    );
    const loser = await chatlog.client(unlucky);
    for (let i = 0; i < 5; i++) assert.equal((await loser.sendText(readerUid, `lost ${i}`)).result, 0);
    // One announced message reveals the gap of five, past the page of two.
    assert.equal((await (await chatlog.client(uniqueUid('lucky'))).sendText(readerUid, 'revealing')).result, 0);
    await assertWholeStream(reader, sockets, 6);
    assert.ok((await sumOverInstances(chatlog, 'chatlog_stream_reads_total')) > readsBefore, 'the sockets read their streams');
  });

  it('applies notifications that arrive out of order in id order, without falling back to the database', async () => {
    // Each instance holds every other notification back until the next one has gone through.
    const chatlog = await startChatlog(engine, { REALTIME_GAP_WAIT: '10s' }, engine.instances, {
      interceptNotifications: (() => {
        const held = new Map<(n: Notification) => void, Notification>();
        return (notification, pass) => {
          const earlier = held.get(pass);
          if (earlier) {
            held.delete(pass);
            pass(notification);
            pass(earlier);
          } else {
            held.set(pass, notification);
            setTimeout(() => held.get(pass) === notification && (held.delete(pass), pass(notification)), 300);
          }
        };
      })(),
    });
    closing.push(chatlog);
    const readerUid = uniqueUid('reader');
    const reader = await chatlog.client(readerUid);
    const sockets = await openSockets(chatlog, reader, 2);
    closing.push(...sockets);
    const readsBefore = await sumOverInstances(chatlog, 'chatlog_stream_reads_total');
    const senders = await Promise.all([0, 1, 2, 3].map((i) => chatlog.client(uniqueUid(`sender${i}`), i % chatlog.urls.length)));
    await Promise.all(
      senders.map(async (sender) => {
        for (let i = 0; i < 10; i++) assert.equal((await sender.sendText(readerUid, `m ${i}`)).result, 0);
      }),
    );
    await assertWholeStream(reader, sockets, 40);
    assert.equal(await sumOverInstances(chatlog, 'chatlog_notification_gaps_total'), 0);
    assert.equal(await sumOverInstances(chatlog, 'chatlog_stream_reads_total'), readsBefore);
  });

  it('gives a member who is removed and invited again, live, exactly the stream sync-record gives', async () => {
    // Notifications reach each instance late and in bursts, so that membership changes and messages interleave.
    const chatlog = await startChatlog(engine, {}, engine.instances, {
      interceptNotifications: (notification, pass) => void setTimeout(() => pass(notification), Math.random() * 30),
    });
    closing.push(chatlog);
    const [ownerUid, talkerUid, roverUid] = [uniqueUid('owner'), uniqueUid('talker'), uniqueUid('rover')];
    const owner = await chatlog.client(ownerUid);
    const talker = await chatlog.client(talkerUid, chatlog.urls.length - 1);
    const rover = await chatlog.client(roverUid);
    const groupId = (await expectOk(owner.post<{ id: number }>('/app/create-group', { name: 'churn', memberIds: [talkerUid, roverUid] }))).id;
    const sockets = await openSockets(chatlog, rover, 2);
    closing.push(...sockets);
    const logIds: number[] = [];
    const revoked = new Set<number>();
    const talking = (async () => {
      for (let i = 0; i < 30; i++) {
        const reply = await talker.sendGroupText(groupId, `talk ${i}`);
        assert.equal(reply.result, 0, reply.message);
        logIds.push(reply.data.logId);
        // Marks and recalls of messages from before and after the rover's stays.
        if (i % 5 === 4) await expectOk(owner.focus(logIds[i - 3]!, 1));
        if (i % 7 === 6) {
          await expectOk(talker.revoke(logIds[i - 5]!, 1));
          revoked.add(logIds[i - 5]!);
        }
      }
    })();
    for (let round = 0; round < 4; round++) {
      await sleep(15);
      await expectOk(owner.post('/app/group-remove', { id: groupId, memberIds: [roverUid] }));
      await sleep(15);
      await expectOk(owner.post('/app/invite-group-members', { id: groupId, newMemberIds: [roverUid] }));
    }
    await talking;
    // Sync leaves out what was revoked since; a socket got those messages while they stood.
    const all = await streamIds(rover);
    const standing = (socket: SocketClient) => socket.events.filter((frame) => !(frame.type === 'message' && revoked.has(frame.id!))).map((frame) => frame.id);
    for (const [i, socket] of sockets.entries()) {
      await socket.until((s) => standing(s).length >= all.length, 15_000, `the whole stream on socket ${i}`);
      await sleep(200);
      assert.deepEqual(standing(socket), all, `socket ${i}`);
      assert.deepEqual(
        socket.eventIds,
        [...new Set(socket.eventIds)].sort((a, b) => a - b),
        `socket ${i} in order, once`,
      );
    }
  });

  it('delivers messages too large to carry on the bus by reading them, in order with the rest', async () => {
    const chatlog = await startChatlog(engine, { MAX_MESSAGE_BYTES: '100000' }, engine.instances);
    closing.push(chatlog);
    const readerUid = uniqueUid('reader');
    const reader = await chatlog.client(readerUid);
    const sockets = await openSockets(chatlog, reader, 2);
    closing.push(...sockets);
    const sender = await chatlog.client(uniqueUid('sender'), chatlog.urls.length - 1);
    for (let i = 0; i < 12; i++) assert.equal((await sender.sendText(readerUid, i % 4 === 0 ? 'x'.repeat(20_000) : `small ${i}`)).result, 0);
    await assertWholeStream(reader, sockets, 12);
    const bodies = sockets[0]!.events.map((frame) => (frame.record as { content: { content: string } }).content.content.length);
    assert.deepEqual(bodies.filter((length) => length === 20_000).length, 3);
  });
});

(postgresEngine ? describe : describe.skip)('realtime across a Redis restart (PostgreSQL + Redis)', () => {
  it('loses nothing when Redis is killed and restarted in the middle of a burst', async () => {
    const redis = await PrivateRedis.start();
    const chatlog = await startChatlog(postgresEngine!, { REDIS_URL: redis.url }, 2);
    try {
      const readerUid = uniqueUid('reader');
      const reader = await chatlog.client(readerUid);
      const sockets = await openSockets(chatlog, reader, 4);
      const senders = await Promise.all([0, 1, 2, 3].map((i) => chatlog.client(uniqueUid(`sender${i}`), i % 2)));
      let sent = 0;
      const burst = Promise.all(
        senders.map(async (sender) => {
          for (let i = 0; i < 40; i++) {
            assert.equal((await sender.sendText(readerUid, `burst ${i}`)).result, 0);
            sent++;
            await sleep(5);
          }
        }),
      );
      while (sent < 40) await sleep(5);
      await redis.stop();
      await sleep(300);
      await redis.start();
      await burst;
      await assertWholeStream(reader, sockets, 160);
      await Promise.all(sockets.map((socket) => socket.close()));
    } finally {
      await chatlog.close();
      await redis.stop();
    }
  });

  it("delivers an instance's own commits to its sockets live while Redis is down, and the other instance's once it is back", async () => {
    const redis = await PrivateRedis.start();
    const chatlog = await startChatlog(postgresEngine!, { REDIS_URL: redis.url, REALTIME_GAP_WAIT: '30s' }, 2);
    try {
      const readerUid = uniqueUid('reader');
      const reader = await chatlog.client(readerUid);
      const [here, there] = await openSockets(chatlog, reader, 2);
      const sender = await chatlog.client(uniqueUid('sender'));
      const live = () => metricValue(chatlog.urls[0]!, 'chatlog_events_delivered_total', 'source="live"');
      const liveBefore = await live();
      await redis.stop();
      for (let i = 0; i < 3; i++) assert.equal((await sender.sendText(readerUid, `while Redis is down ${i}`)).result, 0);
      // Instance 1 stored them: its socket has them at once, from the commits themselves.
      await here!.until((s) => s.events.length >= 3, 5000, 'the messages on the socket of the instance that stored them');
      assert.equal((await live()) - liveBefore, 3, 'delivered from the commits, not read back');
      assert.equal(there!.events.length, 0);
      // The other instance heard nothing: once the subscription is back, it reads what it missed.
      await redis.start();
      await assertWholeStream(reader, [here!, there!], 3);
      await Promise.all([here!.close(), there!.close()]);
    } finally {
      await chatlog.close();
      await redis.stop();
    }
  });
});
