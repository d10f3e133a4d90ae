import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Middleware } from 'koa';
import type { Group, MemberType } from '../../domain.js';
import type { GroupService } from '../../services/group-service.js';
import type { ApiCatalog } from '../api-catalog.js';
import { idSchema, toId, uidSchema } from '../schemas.js';
import { jsonRoute, type JsonRouteDef } from './json-route.js';

export interface GroupRoutesDeps {
  ajv: Ajv;
  groups: GroupService;
  catalog: ApiCatalog;
  auth: Middleware;
  json: Middleware;
}

const uidListSchema = { type: 'array', items: uidSchema, errorHint: 'must be an array of uids (1 to 64 characters without whitespace)' } as const;

const withId = (properties: Record<string, object> = {}, required: string[] = []) =>
  ({ type: 'object', required: ['id', ...required], properties: { id: idSchema, ...properties } }) as const;

/** Group ids are numbers in responses, with `idStr` beside them (API.md §5). */
const groupInfo = (group: Group) => ({
  id: group.id,
  idStr: String(group.id),
  name: group.name,
  owner: group.ownerId,
  memberNum: group.memberNum,
  createTime: group.createdAt,
});

const infoExample = { id: 7, idStr: '7', name: 'team', owner: 'alice', memberNum: 3, createTime: 1764100000000 };
const membersExample = [
  { memberId: 'alice', memberType: 2 },
  { memberId: 'bob', memberType: 0 },
];

type WithId = { id: number | string };

/** The group endpoints of API.md §5. */
export function groupRoutes({ ajv, groups, catalog, auth, json }: GroupRoutesDeps): Router {
  const router = new Router();
  const kit = { router, ajv, catalog, auth, json };
  const tag = 'groups';
  // dtalk's paths are /group/app/<name>; chatlog's first ones, /app/<name>, stay as aliases.
  const groupRoute = <T>(def: JsonRouteDef<T>) => {
    jsonRoute(kit, { ...def, path: `/group${def.path}` });
    jsonRoute(kit, { ...def, summary: `${def.summary} (alias of /group${def.path})` });
  };

  groupRoute<{ name?: string; memberIds?: string[] }>({
    path: '/app/create-group',
    summary: 'Create a group; the caller becomes its owner',
    tag,
    schema: { type: 'object', properties: { name: { type: 'string', maxLength: 128 }, memberIds: uidListSchema } },
    example: { name: 'team', memberIds: ['bob'] },
    response: { id: 7, idStr: '7', name: 'team', memberNum: 2, members: membersExample },
    handle: async (uid, body) => {
      const { group, members } = await groups.create(uid, body.name ?? '', body.memberIds ?? []);
      return { id: group.id, idStr: String(group.id), name: group.name, memberNum: group.memberNum, members };
    },
  });

  groupRoute<WithId & { newMemberIds: string[] }>({
    path: '/app/invite-group-members',
    summary: 'Add members (owner, admins); members already in are left as they are',
    tag,
    schema: withId({ newMemberIds: uidListSchema }, ['newMemberIds']),
    example: { id: 7, newMemberIds: ['carol'] },
    response: { id: 7, idStr: '7', memberNum: 3 },
    handle: async (uid, body) => {
      const group = await groups.invite(uid, toId(body.id, 'id'), body.newMemberIds);
      return { id: group.id, idStr: String(group.id), memberNum: group.memberNum };
    },
  });

  groupRoute<WithId & { memberIds: string[] }>({
    path: '/app/group-remove',
    summary: 'Remove members: the owner anyone but themselves, admins normal members',
    tag,
    schema: withId({ memberIds: uidListSchema }, ['memberIds']),
    example: { id: '7', memberIds: ['carol'] },
    response: { memberNum: 2, memberIds: ['carol'] },
    handle: async (uid, body) => {
      const { memberNum, removed } = await groups.remove(uid, toId(body.id, 'id'), body.memberIds);
      return { memberNum, memberIds: removed };
    },
  });

  groupRoute<WithId>({
    path: '/app/group-exit',
    summary: 'Leave a group (not the owner)',
    tag,
    schema: withId(),
    example: { id: 7 },
    response: {},
    handle: async (uid, body) => {
      await groups.exit(uid, toId(body.id, 'id'));
      return {};
    },
  });

  groupRoute<WithId>({
    path: '/app/group-disband',
    summary: 'Disband a group (owner)',
    tag,
    schema: withId(),
    example: { id: 7 },
    response: {},
    handle: async (uid, body) => {
      await groups.disband(uid, toId(body.id, 'id'));
      return {};
    },
  });

  groupRoute<WithId & { memberId: string; memberType: 0 | 1 }>({
    path: '/app/member/type',
    summary: 'Make a member an admin (1) or a normal member (0) (owner)',
    tag,
    schema: withId({ memberId: uidSchema, memberType: { type: 'integer', enum: [0, 1], errorHint: 'must be 0 (normal) or 1 (admin)' } }, ['memberId', 'memberType']),
    example: { id: 7, memberId: 'bob', memberType: 1 },
    response: {},
    handle: async (uid, body) => {
      await groups.setMemberType(uid, toId(body.id, 'id'), body.memberId, body.memberType as MemberType);
      return {};
    },
  });

  groupRoute<WithId & { memberId: string }>({
    path: '/app/change-owner',
    summary: 'Hand the group to another member (owner); the old owner becomes a normal member',
    tag,
    schema: withId({ memberId: uidSchema }, ['memberId']),
    example: { id: 7, memberId: 'bob' },
    response: {},
    handle: async (uid, body) => {
      await groups.changeOwner(uid, toId(body.id, 'id'), body.memberId);
      return {};
    },
  });

  groupRoute<WithId>({
    path: '/app/group-info',
    summary: 'A group (members)',
    tag,
    schema: withId(),
    example: { id: 7 },
    response: infoExample,
    handle: async (uid, body) => groupInfo(await groups.info(uid, toId(body.id, 'id'))),
  });

  groupRoute<Record<string, never>>({
    path: '/app/group-list',
    summary: "The caller's groups",
    tag,
    schema: { type: 'object' },
    example: {},
    response: { groups: [infoExample] },
    handle: async (uid) => ({ groups: (await groups.list(uid)).map(groupInfo) }),
  });

  groupRoute<WithId>({
    path: '/app/group-member-list',
    summary: 'The members of a group and their types (members)',
    tag,
    schema: withId(),
    example: { id: 7 },
    response: { id: 7, idStr: '7', members: membersExample },
    handle: async (uid, body) => {
      const id = toId(body.id, 'id');
      return { id, idStr: String(id), members: await groups.members(uid, id) };
    },
  });

  return router;
}
