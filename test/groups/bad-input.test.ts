import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, type GroupCast } from '../helpers/groups.js';
import { useChatlog } from '../helpers/server.js';

describeOnEngines('groups: bad input', (engine) => {
  const chatlog = useChatlog(engine);
  let g: GroupCast;
  before(async () => {
    g = await castGroup(chatlog());
  });

  const cases: Array<[string, string, (id: number) => object, RegExp]> = [
    ['id "abc"', '/app/group-info', () => ({ id: 'abc' }), /^id must be a positive integer/],
    ['id 0', '/app/group-member-list', () => ({ id: 0 }), /^id /],
    ['a missing id', '/app/group-exit', () => ({}), /^id is required$/],
    ['memberIds that is not an array', '/app/group-remove', (id) => ({ id, memberIds: 'bob' }), /^memberIds must be an array of uids/],
    ['memberIds with an empty id', '/app/group-remove', (id) => ({ id, memberIds: ['ok', ''] }), /^memberIds\.1 must be a uid/],
    ['newMemberIds that is not an array', '/app/invite-group-members', (id) => ({ id, newMemberIds: { uid: 'x' } }), /^newMemberIds /],
    ['newMemberIds with an empty id', '/app/invite-group-members', (id) => ({ id, newMemberIds: [''] }), /^newMemberIds\.0 /],
    ['a missing newMemberIds', '/app/invite-group-members', (id) => ({ id }), /^newMemberIds is required$/],
    ['memberIds on create that is not an array', '/app/create-group', () => ({ memberIds: 5 }), /^memberIds /],
    ['a name that is not a string', '/app/create-group', () => ({ name: 7 }), /^name /],
    ['memberType 2', '/app/member/type', (id) => ({ id, memberId: 'x', memberType: 2 }), /^memberType must be 0 \(normal\) or 1 \(admin\)$/],
    ['groupId "abc" for history', '/app/record/group-chat-record', () => ({ groupId: 'abc', count: 1 }), /^groupId /],
    ['count 101 for group history', '/app/record/group-chat-record', (id) => ({ groupId: id, count: 101 }), /^count must be an integer between 1 and 100$/],
  ];

  for (const [name, path, body, message] of cases) {
    it(`answers ${name} on ${path} with -1012 / HTTP 400 and changes nothing`, async () => {
      const before = await g.owner.syncAll();
      const reply = await g.owner.post(path, body(g.groupId));
      assert.equal(reply.status, 400, reply.message);
      assert.equal(reply.result, -1012);
      assert.equal(reply.data, null);
      assert.match(reply.message, message);
      assert.deepEqual(await g.owner.syncAll(), before);
    });
  }

  it('refuses a group message whose target is not a group id', async () => {
    const reply = await g.owner.pushJson({ channelType: 1, msgId: 'x', targetId: 'team', msgType: 1, content: { content: 'hi' } });
    assert.equal(reply.result, -1012);
    assert.match(reply.message, /^targetId must be a group id/);
  });
});
