import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk, type GroupCast } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

interface Member {
  memberId: string;
  memberType: number;
}

describeOnEngines('groups: membership and roles', (engine) => {
  const chatlog = useChatlog(engine, { MAX_GROUP_MEMBERS: '5' });
  let g: GroupCast;
  beforeEach(async () => {
    g = await castGroup(chatlog());
  });

  const members = async (client = g.owner) =>
    new Map((await expectOk(client.post<{ members: Member[] }>('/app/group-member-list', { id: g.groupId }))).members.map((m) => [m.memberId, m.memberType]));

  it("creates a group whose creator is the owner, answering dtalk's GroupInfo with its members", async () => {
    const [owner, bob] = [uniqueUid('owner'), uniqueUid('bob')];
    const client = await chatlog().client(owner);
    const reply = await client.post('/group/app/create-group', { name: 'friends', avatar: 'https://a/b.png', introduce: 'hi', memberIds: [bob, bob, owner] });
    assert.equal(reply.status, 200);
    const data = reply.data as { id: number; markId: string; key: string; createTime: number };
    assert.ok(Number.isSafeInteger(data.id) && data.id > 0);
    assert.match(data.markId, /^[1-9][0-9]{7}$/);
    assert.match(data.key, /^[0-9a-f]{32}$/);
    const ownerMember = { memberId: owner, memberName: '', memberType: 2, memberMuteTime: 0 };
    assert.deepEqual(reply.data, {
      id: data.id,
      idStr: String(data.id),
      markId: data.markId,
      name: 'friends',
      publicName: 'friends',
      avatar: 'https://a/b.png',
      introduce: 'hi',
      owner: ownerMember,
      person: ownerMember,
      memberNum: 2,
      maximum: 5,
      status: 0,
      createTime: data.createTime,
      joinType: 0,
      muteType: 0,
      friendType: 0,
      muteNum: 0,
      adminNum: 0,
      key: data.key,
      groupType: 0,
      members: [ownerMember, { memberId: bob, memberName: '', memberType: 0, memberMuteTime: 0 }],
    });
  });

  describe('at full size', () => {
    const large = useChatlog(engine);

    it('creates a group of 10,000 members in one call and invites past 500 at once', async () => {
      const owner = await large().client(uniqueUid('owner'));
      const memberIds = Array.from({ length: 9_000 }, (_, i) => `member-${i}`);
      const created = await expectOk(owner.post<{ id: number; memberNum: number }>('/app/create-group', { memberIds }));
      assert.equal(created.memberNum, 9_001);
      const invited = await owner.post('/app/invite-group-members', { id: created.id, newMemberIds: Array.from({ length: 999 }, (_, i) => `late-${i}`) });
      assert.equal(invited.data?.memberNum, 10_000);
      const { members } = await expectOk(owner.post<{ members: unknown[] }>('/app/group-member-list', { id: created.id }));
      assert.equal(members.length, 10_000);
    });
  });

  it('creates a group with only its owner when memberIds is left out', async () => {
    const data = await expectOk((await chatlog().client(uniqueUid('solo'))).post<{ memberNum: number; name: string }>('/app/create-group', {}));
    assert.equal(data.memberNum, 1);
    assert.equal(data.name, '');
  });

  it('shows group-info and group-member-list to members, -1019 to a former member and a stranger', async () => {
    const info = await expectOk(
      g.member.post<{ owner: { memberId: string }; person: { memberId: string }; memberNum: number }>('/app/group-info', { id: String(g.groupId) }),
    );
    assert.deepEqual(Object.keys(info).sort(), [
      'adminNum',
      'avatar',
      'createTime',
      'friendType',
      'groupType',
      'id',
      'idStr',
      'introduce',
      'joinType',
      'key',
      'markId',
      'maximum',
      'memberNum',
      'members',
      'muteNum',
      'muteType',
      'name',
      'owner',
      'person',
      'publicName',
      'status',
    ]);
    assert.equal(info.owner.memberId, g.uids.owner);
    assert.equal(info.person.memberId, g.uids.member);
    assert.equal(info.memberNum, 3);
    assert.deepEqual(
      await members(g.member),
      new Map([
        [g.uids.owner, 2],
        [g.uids.admin, 1],
        [g.uids.member, 0],
      ]),
    );
    for (const outsider of [g.former, g.stranger]) {
      for (const path of ['/app/group-info', '/app/group-member-list']) {
        const reply = await outsider.post(path, { id: g.groupId });
        assert.equal(reply.status, 403);
        assert.equal(reply.result, -1019);
      }
    }
  });

  it("lists a user's groups with group-list", async () => {
    const second = await expectOk(g.member.post<{ id: number }>('/app/create-group', { name: 'second' }));
    const { groups } = await expectOk(g.member.post<{ groups: Array<{ id: number; name: string }> }>('/app/group-list', {}));
    assert.deepEqual(
      groups.map((group) => group.id),
      [g.groupId, second.id],
    );
    assert.deepEqual((await expectOk(g.stranger.post<{ groups: unknown[] }>('/app/group-list', {}))).groups, []);
    assert.deepEqual((await expectOk(g.former.post<{ groups: unknown[] }>('/app/group-list', {}))).groups, []);
  });

  it('lets members invite, counting members already in once, and refuses former members and strangers', async () => {
    const [x, y] = [uniqueUid('x'), uniqueUid('y')];
    const reply = await g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [x, x, g.uids.member] });
    assert.deepEqual(reply.data, { id: g.groupId, idStr: String(g.groupId), memberNum: 4 });
    assert.equal((await g.member.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [y] })).data?.memberNum, 5);
    for (const client of [g.former, g.stranger]) {
      assert.equal((await client.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [uniqueUid('z')] })).result, -1019);
    }
  });

  it('refuses an invitation past MAX_GROUP_MEMBERS with -1012 naming the cap, adding nobody', async () => {
    const reply = await g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [uniqueUid('a'), uniqueUid('b'), uniqueUid('c')] });
    assert.equal(reply.status, 400);
    assert.equal(reply.result, -1012);
    assert.match(reply.message, /at most 5 members/);
    assert.equal((await members()).size, 3);
    const tooBig = await g.owner.post('/app/create-group', { memberIds: [1, 2, 3, 4, 5].map(String) });
    assert.equal(tooBig.result, -1012);
    assert.match(tooBig.message, /at most 5 members/);
  });

  it('lets the owner remove anyone but themselves', async () => {
    const reply = await g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.admin, g.uids.member, g.uids.stranger] });
    assert.deepEqual(reply.data, { memberNum: 1, memberIds: [g.uids.admin, g.uids.member] });
    assert.equal((await g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.owner] })).result, -1019);
  });

  it('lets an admin remove normal members only, and nobody else remove anyone', async () => {
    assert.deepEqual((await g.admin.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] })).data, {
      memberNum: 2,
      memberIds: [g.uids.member],
    });
    assert.equal((await g.admin.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.owner] })).result, -1019);
    await expectOk(g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [g.uids.member] }));
    for (const client of [g.member, g.former, g.stranger]) {
      assert.equal((await client.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.admin] })).result, -1019);
    }
    assert.equal((await members()).size, 3);
  });

  it('lets any member but the owner exit', async () => {
    await expectOk(g.admin.post('/app/group-exit', { id: g.groupId }));
    await expectOk(g.member.post('/app/group-exit', { id: g.groupId }));
    const owner = await g.owner.post('/app/group-exit', { id: g.groupId });
    assert.equal(owner.result, -1019);
    assert.match(owner.message, /change-owner/);
    assert.equal((await g.stranger.post('/app/group-exit', { id: g.groupId })).result, -1019);
    assert.deepEqual(await members(), new Map([[g.uids.owner, 2]]));
  });

  it('lets the owner exit once ownership has moved', async () => {
    await expectOk(g.owner.post('/app/change-owner', { id: g.groupId, memberId: g.uids.member }));
    assert.deepEqual(
      await members(g.member),
      new Map([
        [g.uids.owner, 0],
        [g.uids.admin, 1],
        [g.uids.member, 2],
      ]),
    );
    await expectOk(g.owner.post('/app/group-exit', { id: g.groupId }));
    assert.equal((await expectOk(g.member.post<{ owner: { memberId: string } }>('/app/group-info', { id: g.groupId }))).owner.memberId, g.uids.member);
  });

  it('lets only the owner hand over the group, to a member', async () => {
    assert.equal((await g.admin.post('/app/change-owner', { id: g.groupId, memberId: g.uids.admin })).result, -1019);
    const toStranger = await g.owner.post('/app/change-owner', { id: g.groupId, memberId: g.uids.stranger });
    assert.equal(toStranger.status, 404);
    assert.equal(toStranger.result, -1007);
  });

  it('lets only the owner change member types, of members, never their own', async () => {
    await expectOk(g.owner.post('/app/member/type', { id: g.groupId, memberId: g.uids.member, memberType: 1 }));
    await expectOk(g.owner.post('/app/member/type', { id: g.groupId, memberId: g.uids.admin, memberType: 0 }));
    assert.deepEqual(
      await members(),
      new Map([
        [g.uids.owner, 2],
        [g.uids.admin, 0],
        [g.uids.member, 1],
      ]),
    );
    assert.equal((await g.member.post('/app/member/type', { id: g.groupId, memberId: g.uids.admin, memberType: 1 })).result, -1019);
    assert.equal((await g.owner.post('/app/member/type', { id: g.groupId, memberId: g.uids.owner, memberType: 0 })).result, -1019);
    assert.equal((await g.owner.post('/app/member/type', { id: g.groupId, memberId: g.uids.former, memberType: 1 })).result, -1007);
    assert.equal((await g.owner.post('/app/member/type', { id: g.groupId, memberId: g.uids.member, memberType: 2 })).result, -1012);
  });

  it('lets only the owner disband; afterwards the group is gone for everyone', async () => {
    for (const client of [g.admin, g.member, g.former, g.stranger]) {
      assert.equal((await client.post('/app/group-disband', { id: g.groupId })).result, -1019);
    }
    await expectOk(g.owner.post('/app/group-disband', { id: g.groupId }));
    for (const client of [g.owner, g.member]) {
      const reply = await client.post('/app/group-info', { id: g.groupId });
      assert.equal(reply.status, 404);
      assert.equal(reply.result, -1007);
      assert.deepEqual((await expectOk(client.post<{ groups: unknown[] }>('/app/group-list', {}))).groups, []);
    }
  });

  it('answers an unknown group with -1007 on every endpoint', async () => {
    const id = 9_000_000_000;
    const calls: Array<[string, object]> = [
      ['/app/invite-group-members', { id, newMemberIds: ['a'] }],
      ['/app/group-remove', { id, memberIds: ['a'] }],
      ['/app/group-exit', { id }],
      ['/app/group-disband', { id }],
      ['/app/member/type', { id, memberId: 'a', memberType: 1 }],
      ['/app/change-owner', { id, memberId: 'a' }],
      ['/app/group-info', { id }],
      ['/app/group-member-list', { id }],
      ['/app/record/group-chat-record', { groupId: id, count: 10 }],
    ];
    for (const [path, body] of calls) {
      const reply = await g.owner.post(path, body);
      assert.equal(reply.result, -1007, `${path}: ${reply.message}`);
      assert.equal(reply.status, 404);
    }
  });
});
