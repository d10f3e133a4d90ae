/**
 * The dtalk group API, one behaviour per test, on both engines. Longer than most test files because every
 * endpoint of /group/app is here with its rights (owner, admin, member, outsider), sharing one cast of users.
 */
import assert from 'node:assert/strict';
import type { TestClient } from '../helpers/client.js';
import { codec } from '../helpers/client.js';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk, type GroupCast, type Role } from '../helpers/groups.js';
import { CometClient, CometOp } from '../helpers/dtalk.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

interface Member {
  memberId: string;
  memberName: string;
  memberType: number;
  memberMuteTime: number;
}

interface Info {
  id: number;
  idStr: string;
  name: string;
  publicName: string;
  key?: string;
  person?: Member;
  owner: Member;
  memberNum: number;
  muteNum: number;
  adminNum: number;
  joinType: number;
  muteType: number;
  friendType: number;
  avatar: string;
  status: number;
}

const FOREVER_JSON = '9223372036854775807';

/** Where the user's stream ends now. */
async function lastId(client: TestClient): Promise<number> {
  const last = (await client.syncAll()).at(-1);
  return last?.common?.mid ?? last?.signal?.sid ?? 0;
}

describeOnEngines('groups: the dtalk group API at /group/app', (engine) => {
  const chatlog = useChatlog(engine);
  let g: GroupCast;
  beforeEach(async () => {
    g = await castGroup(chatlog());
  });
  const roles: Role[] = ['owner', 'admin', 'member', 'former', 'stranger'];
  const as = (role: Role): TestClient => g[role];
  const post = <T = Record<string, unknown>>(role: Role, path: string, body: object) => as(role).post<T>(`/group/app/${path}`, { id: g.groupId, ...body });
  /** Which roles an endpoint answers 0 for (each on a fresh group, so that one's change does not hide another's). */
  async function allowed(path: string, body: (role: Role) => object): Promise<Role[]> {
    const ok: Role[] = [];
    for (const role of roles) {
      g = await castGroup(chatlog());
      if ((await post(role, path, body(role))).result === 0) ok.push(role);
    }
    return ok;
  }

  it('names the group by id or by idStr, idStr winning when both come', async () => {
    const other = await expectOk(g.owner.post<{ id: number }>('/group/app/create-group', { name: 'other' }));
    assert.equal((await expectOk(g.owner.post<Info>('/group/app/group-info', { idStr: String(g.groupId) }))).id, g.groupId);
    assert.equal((await expectOk(g.owner.post<Info>('/group/app/group-info', { id: other.id, idStr: String(g.groupId) }))).id, g.groupId);
    assert.equal((await expectOk(g.owner.post<Info>('/group/app/group-info', { id: String(other.id) }))).id, other.id);
  });

  it('gives the key to members only: group-info, group-list and create-group have it; group-pub-info never does', async () => {
    const created = await expectOk(g.owner.post<Info>('/group/app/create-group', { name: 'k', memberIds: [g.uids.member] }));
    assert.match(created.key!, /^[0-9a-f]{32}$/);
    const info = await expectOk(post<Info>('member', 'group-info', {}));
    const { groups } = await expectOk(g.member.post<{ groups: Info[] }>('/group/app/group-list', {}));
    assert.deepEqual(
      groups.map((group) => group.key),
      [info.key, created.key],
    );
    assert.notEqual(info.key, created.key);
    for (const role of ['owner', 'member', 'stranger', 'former'] as const) {
      const pub = await expectOk(post<Info>(role, 'group-pub-info', {}));
      assert.equal(pub.key, undefined, role);
    }
    for (const role of ['former', 'stranger'] as const) assert.equal((await post(role, 'group-info', {})).result, -1019, role);
  });

  it('shows anyone the public face of a group, with person only for a member', async () => {
    await expectOk(post('owner', 'name', { name: 'c2VjcmV0', publicName: 'Team' }));
    const pub = await expectOk(post<Info>('stranger', 'group-pub-info', {}));
    assert.deepEqual(
      [pub.publicName, pub.name, pub.memberNum, pub.status, pub.owner.memberId, pub.person],
      ['Team', 'c2VjcmV0', 3, 0, g.uids.owner, undefined],
    );
    assert.equal((await expectOk(post<Info>('member', 'group-pub-info', {}))).person?.memberId, g.uids.member);
    await expectOk(post('owner', 'group-disband', {}));
    assert.equal((await expectOk(post<Info>('stranger', 'group-pub-info', {}))).status, 2);
  });

  it('joins on a member’s invitation as joinType allows, and changes nothing on a second join', async () => {
    const joiner = await chatlog().client(uniqueUid('joiner'));
    const join = (inviterId: string) => joiner.post('/group/app/join-group', { idStr: String(g.groupId), inviterId });
    assert.deepEqual(await expectOk(join(g.uids.member)), { id: g.groupId, idStr: String(g.groupId) });
    const before = await joiner.syncAll();
    await expectOk(join(g.uids.member));
    assert.deepEqual(await joiner.syncAll(), before);
    assert.equal((await expectOk(post<Info>('owner', 'group-info', {}))).memberNum, 4);

    const other = await chatlog().client(uniqueUid('other'));
    await expectOk(post('owner', 'joinType', { joinType: 1 }));
    assert.equal((await other.post('/group/app/join-group', { id: g.groupId, inviterId: g.uids.member })).result, -1019);
    await expectOk(other.post('/group/app/join-group', { id: g.groupId, inviterId: g.uids.admin }));
    const third = await chatlog().client(uniqueUid('third'));
    assert.equal((await third.post('/group/app/join-group', { id: g.groupId, inviterId: g.uids.former })).result, -1007);
  });

  it('lets members invite under joinType 0, only the owner and admins under 1 and 2 (no approval flow)', async () => {
    const invite = (role: Role) => post(role, 'invite-group-members', { newMemberIds: [uniqueUid('new')] });
    assert.equal((await invite('member')).result, 0);
    for (const joinType of [1, 2]) {
      await expectOk(post('owner', 'joinType', { joinType }));
      const refused = await invite('member');
      assert.equal(refused.result, -1019);
      if (joinType === 2) assert.match(refused.message, /approval/);
      for (const role of ['owner', 'admin'] as const) assert.equal((await invite(role)).result, 0);
    }
    for (const role of ['former', 'stranger'] as const) assert.equal((await invite(role)).result, -1019);
  });

  it('mutes a normal member for a time, refusing their posts until then, and lists them; 0 lifts the mute', async () => {
    const before = Date.now();
    const { members } = await expectOk(post<{ members: Member[] }>('admin', 'member/muteTime', { memberIds: [g.uids.member], muteTime: 600_000 }));
    assert.deepEqual(
      members.map((m) => m.memberId),
      [g.uids.member],
    );
    assert.ok(members[0]!.memberMuteTime >= before + 600_000 && members[0]!.memberMuteTime <= Date.now() + 600_000);
    const refused = await g.member.sendGroupText(g.groupId, 'may I?');
    assert.deepEqual([refused.status, refused.result], [403, -1019]);
    assert.match(refused.message, /muted/);
    assert.deepEqual(
      (await expectOk(post<{ members: Member[] }>('member', 'mute-list', {}))).members.map((m) => m.memberId),
      [g.uids.member],
    );
    assert.equal((await expectOk(post<Info>('owner', 'group-info', {}))).muteNum, 1);
    await expectOk(post('owner', 'member/muteTime', { memberIds: [g.uids.member], muteTime: 0 }));
    assert.equal((await g.member.sendGroupText(g.groupId, 'thanks')).result, 0);
    assert.deepEqual((await expectOk(post<{ members: Member[] }>('member', 'mute-list', {}))).members, []);
  });

  it('mutes for ever with dtalk’s 9223372036854775807, written exactly in JSON', async () => {
    const response = await fetch(`${g.owner.baseUrl}/group/app/member/muteTime`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.owner.token}`, 'content-type': 'application/json' },
      body: `{"id":${g.groupId},"memberIds":["${g.uids.member}"],"muteTime":${FOREVER_JSON}}`,
    });
    const text = await response.text();
    assert.ok(text.includes(`"memberMuteTime":${FOREVER_JSON}`), text);
    const info = await fetch(`${g.member.baseUrl}/group/app/group-member-info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.member.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: g.groupId, memberId: g.uids.member }),
    });
    assert.ok((await info.text()).includes(`"memberMuteTime":${FOREVER_JSON}`));
    assert.match((await g.member.sendGroupText(g.groupId, 'ever?')).message, /for ever/);
    const [signal] = (await g.member.syncAll()).filter((record) => record.signal?.type === 24);
    assert.equal(signal!.signal!.muteTime!.muteTime, 9223372036854775807n);
  });

  it('lets only the owner and admins mute, never the owner or an admin, and only members', async () => {
    assert.deepEqual(await allowed('member/muteTime', () => ({ memberIds: [g.uids.member], muteTime: 60_000 })), ['owner', 'admin']);
    for (const target of ['owner', 'admin'] as const) {
      const reply = await post('owner', 'member/muteTime', { memberIds: [g.uids[target]], muteTime: 60_000 });
      assert.deepEqual([reply.status, reply.result], [403, -1019]);
    }
    const notMember = await post('owner', 'member/muteTime', { memberIds: [g.uids.former], muteTime: 60_000 });
    assert.deepEqual([notMember.status, notMember.result], [404, -1007]);
  });

  it('lifts a member’s mute when they become an admin or the owner', async () => {
    await expectOk(post('owner', 'member/muteTime', { memberIds: [g.uids.member], muteTime: 60_000 }));
    await expectOk(post('owner', 'member/type', { memberId: g.uids.member, memberType: 1 }));
    assert.equal((await expectOk(post<Member>('owner', 'group-member-info', { memberId: g.uids.member }))).memberMuteTime, 0);
    const signals = (await g.member.syncAll()).filter((record) => record.signal?.type === 24).map((record) => record.signal!.muteTime!.muteTime);
    assert.deepEqual(signals.at(-1), 0);
  });

  it('leaves posting to the owner and admins under muteType 1', async () => {
    await expectOk(post('admin', 'muteType', { muteType: 1 }));
    assert.equal((await g.member.sendGroupText(g.groupId, 'hello?')).result, -1019);
    for (const role of ['owner', 'admin'] as const) assert.equal((await as(role).sendGroupText(g.groupId, 'we may')).result, 0);
    await expectOk(post('owner', 'muteType', { muteType: 0 }));
    assert.equal((await g.member.sendGroupText(g.groupId, 'now I may')).result, 0);
  });

  it('lets each member set their own name in the group', async () => {
    await expectOk(post('member', 'member/name', { memberName: 'Mem' }));
    const { members } = await expectOk(post<{ members: Member[] }>('owner', 'group-member-list', {}));
    assert.equal(members.find((m) => m.memberId === g.uids.member)!.memberName, 'Mem');
    for (const role of ['former', 'stranger'] as const) assert.equal((await post(role, 'member/name', { memberName: 'x' })).result, -1019);
  });

  const settings: Array<[string, object, (info: Info) => unknown, unknown]> = [
    ['name', { name: 'bmV3', publicName: 'New' }, (info) => [info.name, info.publicName], ['bmV3', 'New']],
    ['avatar', { avatar: 'https://example.com/g.png' }, (info) => info.avatar, 'https://example.com/g.png'],
    ['joinType', { joinType: 1 }, (info) => info.joinType, 1],
    ['friendType', { friendType: 1 }, (info) => info.friendType, 1],
    ['muteType', { muteType: 1 }, (info) => info.muteType, 1],
  ];
  for (const [path, body, read, expected] of settings) {
    it(`lets the owner and admins change ${path}, and nobody else`, async () => {
      assert.deepEqual(await allowed(path, () => body), ['owner', 'admin']);
      await expectOk(post('admin', path, body));
      assert.deepEqual(read(await expectOk(post<Info>('member', 'group-info', {}))), expected);
    });
  }

  it('leaves the name as it is when a rename sends "" for it, and announces nothing for an unchanged setting', async () => {
    await expectOk(post('owner', 'name', { name: 'first', publicName: 'First' }));
    await expectOk(post('owner', 'name', { name: '', publicName: 'Public only' }));
    const info = await expectOk(post<Info>('owner', 'group-info', {}));
    assert.deepEqual([info.name, info.publicName], ['first', 'Public only']);
    const before = (await g.member.syncAll()).length;
    await expectOk(post('owner', 'joinType', { joinType: 0 }));
    assert.equal((await g.member.syncAll()).length, before);
  });

  it('answers group-member-info for members, and -1007 for a memberId not in the group', async () => {
    assert.deepEqual(await expectOk(post<Member>('member', 'group-member-info', { memberId: g.uids.admin })), {
      memberId: g.uids.admin,
      memberName: '',
      memberType: 1,
      memberMuteTime: 0,
    });
    assert.equal((await post('member', 'group-member-info', { memberId: g.uids.former })).result, -1007);
    for (const role of ['former', 'stranger'] as const) assert.equal((await post(role, 'group-member-info', { memberId: g.uids.owner })).result, -1019);
  });

  it('puts each change in the members’ streams as its dtalk signal, with dtalk’s numbers and bodies, and the former member sees none', async () => {
    const since = await lastId(g.member);
    const formerBefore = await g.former.syncAll();
    await expectOk(post('owner', 'joinType', { joinType: 1 }));
    await expectOk(post('owner', 'friendType', { friendType: 1 }));
    await expectOk(post('owner', 'muteType', { muteType: 1 }));
    await expectOk(post('owner', 'member/muteTime', { memberIds: [g.uids.member], muteTime: 0 }));
    await expectOk(post('owner', 'name', { name: 'renamed' }));
    await expectOk(post('owner', 'avatar', { avatar: 'https://a/x.png' }));
    const signals = (await g.member.syncAll(since)).filter((record) => record.signal).map((record) => record.signal!);
    const group = g.groupId;
    assert.deepEqual(
      signals.map((signal) => [signal.type, signal.joinType ?? signal.friendType ?? signal.muteType ?? signal.muteTime ?? signal.name ?? signal.avatar]),
      [
        [20, { group, type: 1, time: signals[0]!.joinType!.time }],
        [21, { group, type: 1, time: signals[1]!.friendType!.time }],
        [22, { group, type: 1, time: signals[2]!.muteType!.time }],
        [24, { group, uid: [g.uids.member], muteTime: 0, time: signals[3]!.muteTime!.time }],
        [25, { group, name: 'renamed', time: signals[4]!.name!.time }],
        [26, { group, avatar: 'https://a/x.png', time: signals[5]!.avatar!.time }],
      ],
    );
    assert.ok(signals.every((signal) => signal.reliable && signal.sid > since));
    assert.deepEqual(await g.former.syncAll(), formerBefore);
    assert.deepEqual(await g.stranger.syncAll(), []);
  });

  it('writes the group notices (msgType 7) dtalk wrote, from the member who made the change, in order', async () => {
    const since = await lastId(g.owner);
    const newcomer = uniqueUid('newcomer');
    await expectOk(post('admin', 'invite-group-members', { newMemberIds: [newcomer] }));
    await expectOk(post('owner', 'member/muteTime', { memberIds: [newcomer], muteTime: 60_000 }));
    await expectOk(post('owner', 'name', { name: 'nm' }));
    await expectOk(post('owner', 'muteType', { muteType: 1 }));
    await expectOk(post('owner', 'group-remove', { memberIds: [newcomer] }));
    await expectOk(post('member', 'group-exit', {}));
    await expectOk(post('owner', 'change-owner', { memberId: g.uids.admin }));
    await expectOk(post('admin', 'group-disband', {}));
    const notices = (await g.owner.syncAll(since))
      .filter((record) => record.common?.msgType === 7)
      .map((record) => ({ from: record.common!.from, ...(codec.decodeContent(7, record.common!.msg) as { type?: number; body: Record<string, unknown> }) }));
    const group = g.groupId;
    const { owner, admin, member } = g.uids;
    assert.deepEqual(notices, [
      { from: admin, type: 1, body: { group, inviter: admin, members: [newcomer] } },
      { from: owner, type: 6, body: { group, operator: owner, members: [newcomer] } },
      { from: owner, body: { group, operator: owner, name: 'nm' } },
      { from: owner, type: 5, body: { group, operator: owner, type: 1 } },
      { from: owner, type: 3, body: { group, operator: owner, members: [newcomer] } },
      { from: member, type: 2, body: { group, operator: member } },
      { from: owner, type: 7, body: { group, newOwner: admin } },
      { from: admin, type: 4, body: { group, operator: admin } },
    ]);
  });

  it('shows a late joiner nothing from before their join, on any path', async () => {
    await g.member.sendGroupText(g.groupId, 'before');
    await expectOk(post('owner', 'avatar', { avatar: 'https://a/before.png' }));
    const late = await chatlog().client(uniqueUid('late'));
    await expectOk(late.post('/group/app/join-group', { id: g.groupId, inviterId: g.uids.member }));
    const records = await late.syncAll();
    assert.deepEqual(
      records.map((record) => record.signal?.type ?? record.common?.msgType),
      [10, 7],
    );
    assert.deepEqual(
      (await expectOk(late.groupHistory({ groupId: g.groupId, count: 100 }))).records.map((record) => record.msgType),
      [7],
    );
  });
});

describeOnEngines('groups: group events on every path', (engine) => {
  const chatlog = useChatlog(engine, { AUTH_DTALK_SIGNATURE: 'true' }, engine.instances);

  it('gives a member the same group events, in the same order, on /ws, on /sub and in sync-record', async () => {
    const g = await castGroup(chatlog());
    const token = g.member.token!;
    const ws = await SocketClient.connect(chatlog().urls.at(-1)!, token);
    await ws.untilReady();
    const comet = await CometClient.connect(chatlog().urls.at(-1)!);
    await comet.auth(token);
    const since = (await g.member.syncAll()).length;
    const post = (path: string, body: object) => expectOk(g.owner.post(`/group/app/${path}`, { id: g.groupId, ...body }));
    await post('name', { name: 'n' });
    await post('member/muteTime', { memberIds: [g.uids.member], muteTime: 1000 });
    await post('joinType', { joinType: 1 });
    await post('member/type', { memberId: g.uids.member, memberType: 1 });
    await post('invite-group-members', { newMemberIds: [uniqueUid('x')] });
    const synced = (await g.member.syncAll()).slice(since).map((record) => record.common?.mid ?? record.signal!.sid);
    assert.equal(synced.length, 9, 'name: signal + notice, mute: signal + notice, joinType, role and lifted mute, invite: join + notice');
    await ws.until((client) => client.events.length >= synced.length);
    assert.deepEqual(ws.eventIds, synced);
    await comet.until((frames) => new Set(frames.filter((f) => f.op === CometOp.ReceiveMsg).map((f) => f.seq)).size >= synced.length);
    const pushed = [...new Map(comet.received().map((f) => [f.seq, codec.decodeStreamRecord(f.body)])).values()].map(
      (record) => record.common?.mid ?? record.signal!.sid,
    );
    assert.deepEqual(pushed, synced);
    assert.deepEqual(
      ws.events.filter((frame) => frame.type === 'group').map((frame) => frame.event),
      ['name', 'muteTime', 'joinType', 'role', 'muteTime', 'join'],
    );
    comet.close();
    await ws.close();
  });
});
