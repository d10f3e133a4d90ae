import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('send rate limit', (engine) => {
  // A slow refill, so that the test's own pace cannot give a token back before the sixth send.
  const chatlog = useChatlog(engine, { RATE_LIMIT_SENDS: '1/m burst 5' }, engine.instances);

  it('refuses the send past the burst with -1029, HTTP 429 and Retry-After, across instances, storing nothing', async () => {
    const alice = uniqueUid('alice');
    const bob = uniqueUid('bob');
    const replies = [];
    for (let i = 0; i < 6; i++) {
      const client = await chatlog().client(alice, i % chatlog().urls.length);
      replies.push(await client.sendText(bob, `m${i}`));
    }
    assert.deepEqual(
      replies.map((reply) => reply.result),
      [0, 0, 0, 0, 0, -1029],
    );
    const refused = replies[5]!;
    assert.equal(refused.status, 429);
    assert.equal(refused.data, null);
    assert.match(refused.message, /too many messages/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal((await (await chatlog().client(bob)).syncAll()).length, 5);
  });

  it('holds each user to their own budget, and leaves reads alone', async () => {
    const carol = await chatlog().client(uniqueUid('carol'));
    for (let i = 0; i < 5; i++) await carol.sendText(uniqueUid('x'), 'spent');
    assert.equal((await carol.sendText('x', 'over')).result, -1029);
    assert.equal((await carol.sync({ count: 10 })).result, 0);
    const dave = await chatlog().client(uniqueUid('dave'));
    assert.equal((await dave.sendText('x', 'fresh budget')).result, 0);
  });
});
