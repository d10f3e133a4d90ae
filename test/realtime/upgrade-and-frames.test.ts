import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { once } from 'node:events';
import { signToken } from '../../src/auth/jwt.js';
import { describeOnEngines } from '../helpers/engines.js';
import { TEST_JWT_SECRET, uniqueUid, useChatlog } from '../helpers/server.js';
import { HOSTILE_TARGETS, SocketClient, rawUpgrade, refusedUpgrade } from '../helpers/ws-client.js';

describeOnEngines('realtime: bad upgrades and client frames', (engine) => {
  const chatlog = useChatlog(engine, { WS_HEARTBEAT_INTERVAL: '200ms' });
  const url = (path: string) => `${chatlog().urls[0]}${path}`;

  it('answers an upgrade without a token with 401 and makes no socket', async () => {
    assert.equal(await refusedUpgrade(url('/ws')), 401);
  });

  it('answers a malformed token, a token signed with another secret and an expired token with 401', async () => {
    const tokens = ['garbage', await signToken('another-secret', 'alice'), await signToken(TEST_JWT_SECRET, 'alice', { ttlSeconds: -60 })];
    for (const token of tokens) {
      assert.equal(await refusedUpgrade(url('/ws'), { authorization: `Bearer ${token}` }), 401);
      assert.equal(await refusedUpgrade(url(`/ws?token=${encodeURIComponent(token)}`)), 401);
    }
  });

  it('answers an unknown path with 404 and a bad since with 400', async () => {
    const token = await signToken(TEST_JWT_SECRET, 'alice');
    assert.equal(await refusedUpgrade(url('/socket'), { authorization: `Bearer ${token}` }), 404);
    for (const since of ['-1', 'abc', '1.5', '99999999999999999']) {
      assert.equal(await refusedUpgrade(url(`/ws?since=${since}`), { authorization: `Bearer ${token}` }), 400);
    }
  });

  for (const target of HOSTILE_TARGETS) {
    it(`refuses an upgrade to ${target} with an HTTP error and keeps serving`, async () => {
      assert.match(await rawUpgrade(chatlog().urls[0]!, target), /^HTTP\/1\.1 (400|401|404) /);
      assert.equal((await fetch(url('/healthz'))).status, 200);
    });
  }

  it('survives garbage frames without closing that socket or any other', async () => {
    const token = await signToken(TEST_JWT_SECRET, uniqueUid('noisy'));
    const noisy = await SocketClient.connect(chatlog().urls[0]!, token);
    const bystanderUid = uniqueUid('bystander');
    const bystander = await SocketClient.connect(chatlog().urls[0]!, await signToken(TEST_JWT_SECRET, bystanderUid));
    await Promise.all([noisy.untilReady(), bystander.untilReady()]);

    noisy.send('{not json');
    noisy.send(Buffer.from([0, 1, 2, 255]));
    noisy.send(JSON.stringify({ type: 'subscribe', channel: 'everything' }));
    noisy.send(JSON.stringify([1, 2, 3]));
    noisy.send('null');
    await noisy.until((s) => s.frames.filter((frame) => frame.type === 'error').length === 5);
    noisy.send(JSON.stringify({ type: 'ping' }));
    await noisy.until((s) => s.frames.some((frame) => frame.type === 'pong'));

    const sent = await (await chatlog().client(uniqueUid('sender'))).sendText(bystanderUid, 'still here');
    await bystander.until((s) => s.eventIds.includes(sent.data.logId));
    assert.equal(noisy.ws.readyState, WebSocket.OPEN);
    await Promise.all([noisy.close(), bystander.close()]);
  });

  it('drops a socket that leaves pings unanswered for two periods (API.md §6: 30 s and 60 s), and keeps one that answers', async () => {
    const token = await signToken(TEST_JWT_SECRET, uniqueUid('quiet'));
    const deaf = new WebSocket(`${url('/ws').replace(/^http/, 'ws')}`, { headers: { authorization: `Bearer ${token}` }, autoPong: false });
    let pings = 0;
    deaf.on('ping', () => pings++);
    const deafClosed = once(deaf, 'close');
    const lively = await SocketClient.connect(chatlog().urls[0]!, token);
    const [code] = (await deafClosed) as [number];
    assert.equal(code, 1006, 'terminated without a close frame');
    assert.equal(pings, 2, 'pinged once a period until the first ping went a second period unanswered');
    assert.equal(lively.ws.readyState, WebSocket.OPEN);
    await lively.close();
  });
});
