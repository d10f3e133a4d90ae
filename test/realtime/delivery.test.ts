import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

describeOnEngines('realtime delivery', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const sockets: SocketClient[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  });

  /** A ready socket of `uid` on instance `instance`. */
  async function subscribe(uid: string, instance = 0, since?: number): Promise<SocketClient> {
    const client = await chatlog().client(uid, instance);
    const socket = await SocketClient.connect(client.baseUrl, client.token!, { since });
    sockets.push(socket);
    await socket.untilReady();
    return socket;
  }

  it('sends ready first, with the latest stream position, when there is no since', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const sent = await (await chatlog().client(alice)).sendText(bob, 'earlier');
    const socket = await subscribe(bob);
    assert.deepEqual(socket.frames, [{ type: 'ready', id: sent.data.logId }]);
    const fresh = await subscribe(uniqueUid('nobody'));
    assert.deepEqual(fresh.frames, [{ type: 'ready', id: 0 }]);
  });

  it("delivers a private message to the recipient's sockets on the other instance and the sender's other socket, once", async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const bobPhone = await subscribe(bob, last());
    const bobLaptop = await subscribe(bob, 0);
    const aliceTablet = await subscribe(alice, last());
    const sent = await (await chatlog().client(alice, 0)).sendText(bob, 'hello', 'hello-1');
    for (const socket of [bobPhone, bobLaptop, aliceTablet]) {
      await socket.until((s) => s.events.length >= 1);
    }
    await (await chatlog().client(alice, 0)).sendText(bob, 'marker');
    for (const socket of [bobPhone, bobLaptop, aliceTablet]) {
      await socket.until((s) => s.events.length >= 2);
      const [first] = socket.events;
      assert.deepEqual(first, {
        type: 'message',
        id: sent.data.logId,
        record: {
          logId: String(sent.data.logId),
          msgId: 'hello-1',
          channelType: 0,
          fromId: alice,
          targetId: bob,
          msgType: 1,
          content: { content: 'hello' },
          createTime: sent.data.datetime,
        },
      });
      assert.equal(new Set(socket.eventIds).size, socket.eventIds.length, 'each event once');
    }
  });

  it('delivers revoke and focus events to both parties', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const aliceSocket = await subscribe(alice, 0);
    const bobSocket = await subscribe(bob, last());
    const a = await chatlog().client(alice);
    const b = await chatlog().client(bob, last());
    const first = await a.sendText(bob, 'mark me');
    const second = await a.sendText(bob, 'take me back');
    await expectOk(b.focus(first.data.logId));
    await expectOk(a.revoke(second.data.logId));
    for (const socket of [aliceSocket, bobSocket]) {
      await socket.until((s) => s.events.length >= 4);
      const [, , focus, revoke] = socket.events;
      assert.deepEqual(
        { ...focus, time: undefined },
        { type: 'focus', id: focus!.id, logId: String(first.data.logId), channelType: 0, uid: bob, currentNum: 1, time: undefined },
      );
      assert.deepEqual(revoke, { type: 'revoke', id: revoke!.id, logId: String(second.data.logId), channelType: 0, operator: alice, self: true });
    }
  });

  it('delivers a group message to every connected member and to no former member', async () => {
    const g = await castGroup(chatlog());
    const owner = await subscribe(g.uids.owner, 0);
    const member = await subscribe(g.uids.member, last());
    const former = await subscribe(g.uids.former, last());
    const stranger = await subscribe(g.uids.stranger, 0);
    const sent = await g.admin.sendGroupText(g.groupId, 'all hands');
    for (const socket of [owner, member]) {
      await socket.until((s) => s.events.some((frame) => frame.id === sent.data.logId));
    }
    // A private message to the former member and the stranger proves their sockets are live and in order.
    for (const [uid, socket] of [
      [g.uids.former, former],
      [g.uids.stranger, stranger],
    ] as const) {
      const probe = await g.owner.sendText(uid, 'probe');
      await socket.until((s) => s.events.some((frame) => frame.id === probe.data.logId));
      assert.deepEqual(socket.eventIds, [probe.data.logId]);
    }
  });

  it('delivers membership events: the joiner sees their join, the removed member their leave and nothing after', async () => {
    const g = await castGroup(chatlog());
    const newcomer = uniqueUid('newcomer');
    const newcomerSocket = await subscribe(newcomer, last());
    const memberSocket = await subscribe(g.uids.member, 0);
    await expectOk(g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [newcomer] }));
    await newcomerSocket.until((s) => s.events.length >= 1);
    assert.deepEqual(newcomerSocket.events[0], { type: 'group', id: newcomerSocket.events[0]!.id, event: 'join', groupId: g.groupId, uids: [newcomer] });
    const welcome = await g.owner.sendGroupText(g.groupId, 'welcome');
    await newcomerSocket.until((s) => s.events.some((frame) => frame.id === welcome.data.logId));

    await expectOk(g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] }));
    const after = await g.owner.sendGroupText(g.groupId, 'after removal');
    await newcomerSocket.until((s) => s.events.some((frame) => frame.id === after.data.logId));
    const probe = await g.owner.sendText(g.uids.member, 'probe');
    await memberSocket.until((s) => s.events.some((frame) => frame.id === probe.data.logId));
    const kinds = memberSocket.events.map((frame) => {
      if (frame.type === 'group') return `group:${frame.event as string}`;
      return (frame.record as { msgType?: number } | undefined)?.msgType === 7 ? 'notice' : frame.type;
    });
    // The newcomer's SignInGroup notice, the welcome, the KickOutGroup notice before the leave, then only private.
    assert.deepEqual(kinds, ['group:join', 'notice', 'message', 'notice', 'group:leave', 'message']);
    assert.equal(
      memberSocket.events.some((frame) => frame.id === after.data.logId),
      false,
    );
  });

  it('accepts the token in the query string, for browsers', async () => {
    const client = await chatlog().client(uniqueUid('browser'));
    const socket = await SocketClient.connect(client.baseUrl, client.token!, { tokenInQuery: true });
    sockets.push(socket);
    await socket.untilReady();
  });

  it('answers a ping frame with a pong', async () => {
    const socket = await subscribe(uniqueUid('pinger'));
    socket.send(JSON.stringify({ type: 'ping' }));
    await socket.until((s) => s.frames.some((frame) => frame.type === 'pong'));
  });
});
