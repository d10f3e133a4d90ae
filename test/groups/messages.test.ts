import assert from 'node:assert/strict';
import { codec } from '../helpers/client.js';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk, type GroupCast } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';
import type { TestClient } from '../helpers/client.js';

/**
 * The stream as a list of short labels: "msg:<content>", "notice:<NoticeMsgType>", "join:<uids>", "leave:<uids>",
 * "disband", "role:<uid>=<type>".
 */
async function streamOf(client: TestClient): Promise<string[]> {
  return (await client.syncAll()).map((record) => {
    if (record.common?.msgType === 7) return `notice:${(codec.decodeContent(7, record.common.msg) as { type?: number }).type ?? 0}`;
    if (record.common) return `msg:${(codec.decodeContent(record.common.msgType, record.common.msg) as { content: string }).content}`;
    const signal = record.signal!;
    if (signal.join) return `join:${signal.join.uid.join(',')}`;
    if (signal.leave) return `leave:${signal.leave.uid.join(',')}`;
    if (signal.disband) return 'disband';
    if (signal.role) return `role:${signal.role.uid}=${signal.role.type}`;
    if (signal.revoke) return `revoke:${signal.revoke.mid}`;
    if (signal.focus) return `focus:${signal.focus.mid}`;
    return `signal:${signal.type}`;
  });
}

describeOnEngines('groups: messages and streams', (engine) => {
  const chatlog = useChatlog(engine);
  let g: GroupCast;
  beforeEach(async () => {
    g = await castGroup(chatlog());
  });

  it('takes the group id of a JSON push as a number as well as a decimal string', async () => {
    // JsonPushFields types targetId as the string most callers send.
    const sent = await g.member.pushJson({
      channelType: 1,
      msgId: 'as-number',
      targetId: g.groupId as unknown as string,
      msgType: 1,
      content: { content: 'by number' },
    });
    assert.equal(sent.result, 0, sent.message);
    assert.deepEqual(
      (await streamOf(g.owner)).filter((label) => label.startsWith('msg:')),
      ['msg:by number'],
    );
  });

  it("stores a member's group message once and gives it to every member, with its Common fields", async () => {
    const sent = await g.member.sendGroupText(g.groupId, 'hello team');
    assert.equal(sent.result, 0, sent.message);
    for (const client of [g.owner, g.admin, g.member]) {
      const records = await client.syncAll();
      const message = records.find((record) => record.common?.msgType === 1)!.common!;
      assert.equal(message.mid, sent.data.logId);
      assert.equal(message.channelType, 1);
      assert.equal(message.target, String(g.groupId));
      assert.equal(message.from, g.uids.member);
      assert.equal(message.datetime, sent.data.datetime);
    }
    assert.deepEqual(await g.stranger.syncAll(), []);
  });

  it('shows each member the membership events of their stay: the joiner their join, the leaver their leave', async () => {
    const { owner, admin, member, former } = g.uids;
    // Each change with its group notice (msgType 7): SignInGroup (1) after a join, SignOutGroup (2) before a leave.
    const stay = [`join:${owner},${admin},${member},${former}`, 'notice:1', `role:${admin}=1`, 'notice:2', `leave:${former}`];
    assert.deepEqual(await streamOf(g.owner), stay);
    assert.deepEqual(await streamOf(g.former), stay);
    const late = uniqueUid('late');
    await expectOk(g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [late] }));
    assert.deepEqual(await streamOf(await chatlog().client(late)), [`join:${late}`, 'notice:1']);
  });

  it('merges private and group events in one ascending id order in sync', async () => {
    await g.member.sendGroupText(g.groupId, 'g1');
    await g.owner.sendText(g.uids.member, 'p1');
    await g.admin.sendGroupText(g.groupId, 'g2');
    const stream = await streamOf(g.member);
    assert.deepEqual(stream.slice(-3), ['msg:g1', 'msg:p1', 'msg:g2']);
    const ids = (await g.member.syncAll()).map((record) => record.common?.mid ?? record.signal!.sid);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
  });

  it('does not show a late joiner earlier messages, in sync or history, and shows later ones', async () => {
    await g.member.sendGroupText(g.groupId, 'before');
    const late = uniqueUid('late');
    await expectOk(g.owner.post('/app/invite-group-members', { id: g.groupId, newMemberIds: [late] }));
    await g.member.sendGroupText(g.groupId, 'after');
    const lateClient = await chatlog().client(late);
    assert.deepEqual(await streamOf(lateClient), [`join:${late}`, 'notice:1', 'msg:after']);
    const history = await expectOk(lateClient.groupHistory({ groupId: g.groupId, count: 100 }));
    assert.deepEqual(
      history.records.map((record) => (record.msgType === 7 ? 'notice' : (record.content as { content: string }).content)),
      ['after', 'notice'],
    );
  });

  it('stops showing a removed member new messages and refuses their posts', async () => {
    await g.member.sendGroupText(g.groupId, 'while in');
    await expectOk(g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] }));
    await g.admin.sendGroupText(g.groupId, 'after removal');
    const stream = await streamOf(g.member);
    // The KickOutGroup notice (3) comes first, so that those removed see it.
    assert.deepEqual(stream.slice(-3), ['msg:while in', 'notice:3', `leave:${g.uids.member}`]);
    const post = await g.member.sendGroupText(g.groupId, 'let me in');
    assert.equal(post.status, 403);
    assert.equal(post.result, -1019);
    const history = await g.member.groupHistory({ groupId: g.groupId, count: 10 });
    assert.equal(history.result, -1019);
  });

  it('answers a retried group message with its first logId even after the sender was removed, and refuses a new one', async () => {
    const first = await g.member.sendGroupText(g.groupId, 'sent before removal', 'retried');
    assert.equal(first.result, 0, first.message);
    await expectOk(g.owner.post('/app/group-remove', { id: g.groupId, memberIds: [g.uids.member] }));
    // The answer to the first send was lost: the client sends the same message again.
    const again = await g.member.sendGroupText(g.groupId, 'sent before removal', 'retried');
    assert.equal(again.result, 0, again.message);
    assert.deepEqual(again.data, first.data);
    assert.equal((await g.member.sendGroupText(g.groupId, 'a new one', 'new')).result, -1019);
  });

  it('refuses posts from a stranger (-1019) and to an unknown group (-1007)', async () => {
    assert.equal((await g.stranger.sendGroupText(g.groupId, 'hi')).result, -1019);
    const unknown = await g.owner.sendGroupText(9_000_000_000, 'hi');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.result, -1007);
  });

  it('ends posting when the group is disbanded, after a DeleteGroup event every member sees', async () => {
    await g.member.sendGroupText(g.groupId, 'last words');
    await expectOk(g.owner.post('/app/group-disband', { id: g.groupId }));
    for (const client of [g.owner, g.admin, g.member]) {
      assert.deepEqual((await streamOf(client)).slice(-3), ['msg:last words', 'notice:4', 'disband']);
      assert.equal((await client.sendGroupText(g.groupId, 'anyone?')).result, -1007);
    }
    assert.equal((await streamOf(g.former)).includes('disband'), false);
  });

  it('serves group history to members, newest first, below logId, as JSON records', async () => {
    const ids: number[] = [];
    for (const text of ['one', 'two', 'three']) ids.push((await g.member.sendGroupText(g.groupId, text)).data.logId);
    const all = await expectOk(g.owner.groupHistory({ groupId: String(g.groupId), count: 100 }));
    const texts = all.records.filter((record) => record.msgType === 1);
    assert.deepEqual(
      texts.map((record) => record.logId),
      ids.map(String).reverse(),
    );
    assert.equal(texts[0]!.channelType, 1);
    assert.equal(texts[0]!.targetId, String(g.groupId));
    assert.deepEqual(texts[0]!.content, { content: 'three' });
    const page = await expectOk(g.owner.groupHistory({ groupId: g.groupId, count: 1, logId: ids[2] }));
    assert.deepEqual(
      page.records.map((record) => record.logId),
      [String(ids[1])],
    );
    for (const outsider of [g.stranger, g.former]) assert.equal((await outsider.groupHistory({ groupId: g.groupId, count: 10 })).result, -1019);
  });

  it('accepts a group message uploaded as protobuf', async () => {
    const reply = await g.member.upload(
      '/record/push',
      codec.encodePush({ channelType: 1, msgId: 'pb', targetId: String(g.groupId), msgType: 1, msg: codec.encodeContent(1, { content: 'pb' }) }),
    );
    assert.equal(reply.result, 0, reply.message);
    assert.deepEqual((await streamOf(g.owner)).at(-1), 'msg:pb');
  });
});
