import assert from 'node:assert/strict';
import type { TestClient } from './client.js';
import { uniqueUid, type RunningChatlog } from './server.js';

/** One client per role a user can have towards a group. */
export interface GroupCast {
  groupId: number;
  uids: Record<Role, string>;
  owner: TestClient;
  admin: TestClient;
  member: TestClient;
  former: TestClient;
  stranger: TestClient;
}

export type Role = 'owner' | 'admin' | 'member' | 'former' | 'stranger';

/** A group with an owner, an admin, a normal member and a former member (who joined and left); and a stranger. */
export async function castGroup(chatlog: RunningChatlog): Promise<GroupCast> {
  const uids = {
    owner: uniqueUid('owner'),
    admin: uniqueUid('admin'),
    member: uniqueUid('member'),
    former: uniqueUid('former'),
    stranger: uniqueUid('stranger'),
  };
  const clients = Object.fromEntries(await Promise.all(Object.entries(uids).map(async ([role, uid]) => [role, await chatlog.client(uid)]))) as Record<
    Role,
    TestClient
  >;
  const created = await clients.owner.post<{ id: number }>('/app/create-group', { name: 'team', memberIds: [uids.admin, uids.member, uids.former] });
  assert.equal(created.result, 0, created.message);
  const groupId = created.data.id;
  await expectOk(clients.owner.post('/app/member/type', { id: groupId, memberId: uids.admin, memberType: 1 }));
  await expectOk(clients.former.post('/app/group-exit', { id: groupId }));
  return { groupId, uids, ...clients };
}

export async function expectOk<T>(reply: Promise<{ result: number; message: string; data: T }>): Promise<T> {
  const { result, message, data } = await reply;
  assert.equal(result, 0, message);
  return data;
}
