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
    ['id "abc"', '/group/app/group-info', () => ({ id: 'abc' }), /^id must be a positive integer/],
    ['id 0', '/group/app/group-member-list', () => ({ id: 0 }), /^id /],
    ['a missing id', '/group/app/group-exit', () => ({}), /^id or idStr is required$/],
    ['an idStr beyond 2^53', '/group/app/group-info', () => ({ idStr: '9007199254740993' }), /^idStr must be below 2\^53$/],
    ['an idStr of 20 digits', '/group/app/group-info', () => ({ idStr: '92233720368547758070' }), /^idStr must be a group id/],
    ['an id beyond 2^53', '/group/app/group-info', () => ({ id: 2 ** 60 }), /^id must be a positive integer/],
    ['an idStr that is a number', '/group/app/group-info', (id) => ({ idStr: id }), /^idStr must be a group id as a decimal string$/],
    ['a muteTime over 24 h', '/group/app/member/muteTime', (id) => ({ id, memberIds: ['x'], muteTime: 86_400_001 }), /^muteTime must be 0/],
    ['a negative muteTime', '/group/app/member/muteTime', (id) => ({ id, memberIds: ['x'], muteTime: -1 }), /^muteTime /],
    ['no memberIds to mute', '/group/app/member/muteTime', (id) => ({ id, memberIds: [], muteTime: 0 }), /^memberIds /],
    ['joinType 3', '/group/app/joinType', (id) => ({ id, joinType: 3 }), /^joinType /],
    ['muteType "1"', '/group/app/muteType', (id) => ({ id, muteType: '1' }), /^muteType /],
    [
      'a name of 1025 characters',
      '/group/app/name',
      (id) => ({ id, name: 'x'.repeat(1025) }),
      /^name must be a string of at most 1024 characters of valid Unicode text without U\+0000$/,
    ],
    ['a missing inviterId', '/group/app/join-group', (id) => ({ id }), /^inviterId is required$/],
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
