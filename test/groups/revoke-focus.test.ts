import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk, type GroupCast, type Role } from '../helpers/groups.js';
import { useChatlog } from '../helpers/server.js';

const GROUP = 1;

describeOnEngines('groups: revoke and focus', (engine) => {
  const chatlog = useChatlog(engine);
  let g: GroupCast;
  beforeEach(async () => {
    g = await castGroup(chatlog());
  });

  /** A message sent to the group by `role` while the former member was still in it. */
  async function messageBy(role: 'owner' | 'admin' | 'member'): Promise<number> {
    return (await g[role].sendGroupText(g.groupId, `by ${role}`)).data.logId;
  }

  const revokeAs = (role: Role, logId: number) => g[role].revoke(logId, GROUP);

  it('lets the sender revoke their own message within the window', async () => {
    assert.equal((await revokeAs('member', await messageBy('member'))).result, 0);
  });

  it('lets the owner revoke any message', async () => {
    for (const sender of ['admin', 'member'] as const) assert.equal((await revokeAs('owner', await messageBy(sender))).result, 0);
  });

  it('lets an admin revoke any message not sent by the owner', async () => {
    assert.equal((await revokeAs('admin', await messageBy('member'))).result, 0);
    const byOwner = await revokeAs('admin', await messageBy('owner'));
    assert.equal(byOwner.status, 403);
    assert.equal(byOwner.result, -1019);
  });

  it("refuses a normal member revoking another's message", async () => {
    assert.equal((await revokeAs('member', await messageBy('admin'))).result, -1019);
  });

  it('refuses a former member (-1019) and a stranger (-1007)', async () => {
    const logId = await messageBy('member');
    await expectOk(g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] }));
    assert.equal((await revokeAs('member', logId)).result, -1019);
    const reply = await revokeAs('stranger', logId);
    assert.equal(reply.status, 404);
    assert.equal(reply.result, -1007);
  });

  it('answers a group message revoked as a private one (type 0) as not found', async () => {
    assert.equal((await g.member.revoke(await messageBy('member'))).result, -1007);
  });

  it("puts the revoke event in every current member's stream, with self telling whether the sender revoked", async () => {
    const logId = await messageBy('member');
    await revokeAs('admin', logId);
    for (const client of [g.owner, g.admin, g.member]) {
      const records = await client.syncAll();
      assert.equal(
        records.some((record) => record.common?.mid === logId),
        false,
        'the revoked message is gone',
      );
      assert.deepEqual(records.at(-1)!.signal!.revoke, { mid: logId, operator: g.uids.admin, self: false });
    }
    const history = (await g.owner.groupHistory({ groupId: g.groupId, count: 100 })).data.records;
    assert.deepEqual(
      history.filter((record) => record.msgType !== 7),
      [],
      'only the group notices are left',
    );
  });

  it('lets any member but the sender focus a message, counting distinct users once', async () => {
    const logId = await messageBy('member');
    assert.deepEqual((await g.owner.focus(logId, GROUP)).data, { currentNum: 1 });
    assert.deepEqual((await g.admin.focus(logId, GROUP)).data, { currentNum: 2 });
    assert.deepEqual((await g.admin.focus(logId, GROUP)).data, { currentNum: 2 });
    assert.equal((await g.member.focus(logId, GROUP)).result, -1019);
    const focusEvents = (await g.member.syncAll()).filter((record) => record.signal?.focus);
    assert.deepEqual(
      focusEvents.map((record) => [record.signal!.focus!.uid, record.signal!.focus!.currentNum]),
      [
        [g.uids.owner, 1],
        [g.uids.admin, 2],
      ],
    );
  });

  it('refuses focus by a former member and a stranger (-1019), and on a revoked message (-1007)', async () => {
    const logId = await messageBy('admin');
    await expectOk(g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] }));
    assert.equal((await g.member.focus(logId, GROUP)).result, -1019);
    assert.equal((await g.stranger.focus(logId, GROUP)).result, -1019);
    await revokeAs('owner', logId);
    assert.equal((await g.owner.focus(logId, GROUP)).result, -1007);
  });

  it('answers a member who joined after the message as not found: they never saw it', async () => {
    const logId = await messageBy('admin');
    await expectOk(g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [g.uids.stranger] }));
    assert.equal((await g.stranger.focus(logId, GROUP)).result, -1007);
  });

  describe('with a short window', () => {
    const shortWindow = useChatlog(engine, { REVOKE_WINDOW: '300ms' });

    it('stops the sender after the window, but not the owner or an admin', async () => {
      const cast = await castGroup(shortWindow());
      const ids = await Promise.all([1, 2, 3].map(async (n) => (await cast.member.sendGroupText(cast.groupId, `m${n}`)).data.logId));
      await sleep(400);
      assert.equal((await cast.member.revoke(ids[0]!, GROUP)).result, -1019);
      assert.equal((await cast.admin.revoke(ids[1]!, GROUP)).result, 0);
      assert.equal((await cast.owner.revoke(ids[2]!, GROUP)).result, 0);
    });
  });
});
