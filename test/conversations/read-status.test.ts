import assert from 'node:assert/strict';
import {
  createGroup,
  exitGroup,
  expectError,
  expectErrors,
  invite,
  markRead,
  person,
  readStatus,
  say,
  sayInGroup,
  type Person,
} from '../helpers/conversations.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import type { Reply } from '../helpers/client.js';
import { useChatlog } from '../helpers/server.js';
import type { ReadStatusItem } from '../../src/contract/index.js';

describeOnEngines('conversations: group read status', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;

  /** A group of owner, a, b and c; the owner sent m1. */
  async function team() {
    const owner = await person(chatlog(), 'owner');
    const [a, b, c] = [await person(chatlog(), 'a', last()), await person(chatlog(), 'b'), await person(chatlog(), 'c', last())];
    const groupId = await createGroup(owner.client, [a.uid, b.uid, c.uid]);
    const m1 = await sayInGroup(owner.client, groupId, 'm1');
    return { owner, a, b, c, groupId, m1 };
  }

  async function statusOf(caller: Person, groupId: number, logIds: Array<number | string>, members?: boolean): Promise<ReadStatusItem[]> {
    const { items } = await expectOk(readStatus(caller.client, { type: 1, groupId, logIds, ...(members !== undefined && { members }) }));
    return items.map((item) => (item.readers ? { ...item, readers: [...item.readers].sort() } : item));
  }

  it('counts the members other than the sender, and those of them who read up to the message or past it', async () => {
    const { owner, a, b, c, groupId, m1 } = await team();
    assert.deepEqual(await statusOf(owner, groupId, [m1]), [{ logId: String(m1), readCount: 0, memberCount: 3 }]);
    await expectOk(markRead(a.client, 1, groupId, m1));
    assert.deepEqual(await statusOf(b, groupId, [m1]), [{ logId: String(m1), readCount: 1, memberCount: 3 }]);
    // b's own message moves b's read position past m1.
    const m2 = await sayInGroup(b.client, groupId, 'm2');
    assert.deepEqual(await statusOf(c, groupId, [m1, m2], true), [
      { logId: String(m1), readCount: 2, memberCount: 3, readers: [a.uid, b.uid].sort() },
      { logId: String(m2), readCount: 0, memberCount: 3, readers: [] },
    ]);
    await expectOk(markRead(c.client, 1, groupId, m2));
    assert.deepEqual(await statusOf(owner, groupId, [m1, m2], true), [
      { logId: String(m1), readCount: 3, memberCount: 3, readers: [a.uid, b.uid, c.uid].sort() },
      { logId: String(m2), readCount: 1, memberCount: 3, readers: [c.uid] },
    ]);
  });

  it('answers in request order, logIds as numbers or decimal strings, groupId as a number or a string', async () => {
    const { owner, a, groupId, m1 } = await team();
    const m2 = await sayInGroup(a.client, groupId, 'm2');
    const { items } = await expectOk(readStatus(owner.client, { type: 1, groupId: String(groupId), logIds: [String(m2), m1] }));
    assert.deepEqual(
      items.map((item) => item.logId),
      [String(m2), String(m1)],
    );
    // a's own message m2 moved a's read position past m1.
    assert.deepEqual(
      items.map((item) => [item.readCount, item.memberCount]),
      [
        [0, 3],
        [1, 3],
      ],
    );
  });

  it('lists readers only when members is true', async () => {
    const { owner, a, groupId, m1 } = await team();
    await expectOk(markRead(a.client, 1, groupId, m1));
    for (const members of [undefined, false]) {
      const [item] = await statusOf(owner, groupId, [m1], members);
      assert.equal('readers' in item!, false, `members ${String(members)}`);
    }
    assert.deepEqual((await statusOf(owner, groupId, [m1], true))[0]!.readers, [a.uid]);
  });

  it('leaves out members who joined after the message, even once they read past it, and those who left', async () => {
    const { owner, a, b, groupId, m1 } = await team();
    const late = await person(chatlog(), 'late');
    await invite(owner.client, groupId, [late.uid]);
    const m3 = await sayInGroup(owner.client, groupId, 'm3');
    await expectOk(markRead(late.client, 1, groupId, m3));
    await expectOk(markRead(b.client, 1, groupId, m3));
    assert.deepEqual(await statusOf(owner, groupId, [m1], true), [{ logId: String(m1), readCount: 1, memberCount: 3, readers: [b.uid] }]);
    assert.deepEqual((await statusOf(owner, groupId, [m3]))[0], { logId: String(m3), readCount: 2, memberCount: 4 });

    await exitGroup(b.client, groupId);
    assert.deepEqual(await statusOf(owner, groupId, [m1]), [{ logId: String(m1), readCount: 0, memberCount: 2 }]);
    // Back again: the current stay began after m1.
    await invite(owner.client, groupId, [b.uid]);
    assert.deepEqual(await statusOf(owner, groupId, [m1]), [{ logId: String(m1), readCount: 0, memberCount: 2 }]);
    await expectOk(markRead(a.client, 1, groupId, m1));
    assert.deepEqual(await statusOf(owner, groupId, [m1], true), [{ logId: String(m1), readCount: 1, memberCount: 2, readers: [a.uid] }]);
  });

  it('refuses a caller not in the group with -1019, as group-chat-record does, and answers -1007 for a group that does not exist or a logId not of that group', async () => {
    const { owner, a, groupId, m1 } = await team();
    const stranger = await person(chatlog(), 'stranger');
    const outsiders: Array<[string, Reply<unknown>]> = [];
    outsiders.push(['a stranger', await readStatus(stranger.client, { type: 1, groupId, logIds: [m1] })]);
    const replies: Array<[string, Reply<unknown>]> = [];
    replies.push(['an unknown group', await readStatus(owner.client, { type: 1, groupId: 9_000_000_000, logIds: [m1] })]);
    const other = await createGroup(owner.client, [a.uid]);
    const elsewhere = await sayInGroup(owner.client, other, 'elsewhere');
    const privately = await say(owner.client, a.uid);
    for (const [name, logId] of [
      ['a message of another group', elsewhere],
      ['a private message', privately],
      ['a message that does not exist', 9_000_000_000],
    ] as const) {
      replies.push([name, await readStatus(owner.client, { type: 1, groupId, logIds: [m1, logId] })]);
    }
    await exitGroup(a.client, groupId);
    outsiders.push(['a former member', await readStatus(a.client, { type: 1, groupId, logIds: [m1] })]);
    expectErrors(-1007, replies);
    expectErrors(-1019, outsiders);
  });

  const invalid: Array<[string, (groupId: number, logId: number) => Record<string, unknown>]> = [
    ['type 0', (groupId, logId) => ({ type: 0, groupId, logIds: [logId] })],
    ['no type', (groupId, logId) => ({ groupId, logIds: [logId] })],
    ['no groupId', (_groupId, logId) => ({ type: 1, logIds: [logId] })],
    ['groupId "abc"', (_groupId, logId) => ({ type: 1, groupId: 'abc', logIds: [logId] })],
    ['no logIds', (groupId) => ({ type: 1, groupId })],
    ['empty logIds', (groupId) => ({ type: 1, groupId, logIds: [] })],
    ['101 logIds', (groupId, logId) => ({ type: 1, groupId, logIds: Array.from({ length: 101 }, () => logId) })],
    ['logIds that is not an array', (groupId, logId) => ({ type: 1, groupId, logIds: logId })],
    ['a logId -1', (groupId, logId) => ({ type: 1, groupId, logIds: [logId, -1] })],
    ['a logId "abc"', (groupId) => ({ type: 1, groupId, logIds: ['abc'] })],
    ['a logId null', (groupId) => ({ type: 1, groupId, logIds: [null] })],
    ['members "yes"', (groupId, logId) => ({ type: 1, groupId, logIds: [logId], members: 'yes' })],
  ];
  for (const [name, body] of invalid) {
    it(`rejects ${name} with -1012`, async () => {
      const { owner, groupId, m1 } = await team();
      expectError(await readStatus(owner.client, body(groupId, m1)), -1012, name);
    });
  }

  it('rejects a caller without a valid token with -1010', async () => {
    const { owner, groupId, m1 } = await team();
    expectError(await readStatus(owner.client.as(undefined), { type: 1, groupId, logIds: [m1] }), -1010);
  });
});
