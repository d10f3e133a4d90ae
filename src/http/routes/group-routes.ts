import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Middleware } from 'koa';
import type { Group, MemberType } from '../../domain.js';
import type { GroupService } from '../../services/group-service.js';
import { respondOk } from '../envelope.js';
import { idSchema, toId, uidSchema } from '../schemas.js';
import { compileValidator } from '../validation.js';

export interface GroupRoutesDeps {
  ajv: Ajv;
  groups: GroupService;
  auth: Middleware;
  json: Middleware;
}

const uidListSchema = { type: 'array', items: uidSchema, errorHint: 'must be an array of uids (1 to 64 characters without whitespace)' } as const;

const object = (properties: Record<string, object>, required: string[] = []) => ({ type: 'object', required, properties }) as const;

const withId = (properties: Record<string, object> = {}, required: string[] = []) => object({ id: idSchema, ...properties }, ['id', ...required]);

/** Group ids are numbers in responses, with `idStr` beside them (API.md §5). */
const groupInfo = (group: Group) => ({
  id: group.id,
  idStr: String(group.id),
  name: group.name,
  owner: group.ownerId,
  memberNum: group.memberNum,
  createTime: group.createdAt,
});

/** The group endpoints of API.md §5, under /app. */
export function groupRoutes({ ajv, groups, auth, json }: GroupRoutesDeps): Router {
  const router = new Router({ prefix: '/app' });
  const route = <T>(path: string, schema: object, handle: (uid: string, body: T) => Promise<object>) => {
    const validate = compileValidator<T>(ajv, schema);
    router.post(path, auth, json, async (ctx) => respondOk(ctx, await handle(ctx.state.uid, validate(ctx.request.body))));
  };

  route<{ name?: string; memberIds?: string[] }>(
    '/create-group',
    object({ name: { type: 'string', maxLength: 128 }, memberIds: uidListSchema }),
    async (uid, body) => {
      const { group, members } = await groups.create(uid, body.name ?? '', body.memberIds ?? []);
      return { id: group.id, idStr: String(group.id), name: group.name, memberNum: group.memberNum, members };
    },
  );

  route<{ id: number | string; newMemberIds: string[] }>('/invite-group-members', withId({ newMemberIds: uidListSchema }, ['newMemberIds']), async (uid, body) => {
    const group = await groups.invite(uid, toId(body.id, 'id'), body.newMemberIds);
    return { id: group.id, idStr: String(group.id), memberNum: group.memberNum };
  });

  route<{ id: number | string; memberIds: string[] }>('/group-remove', withId({ memberIds: uidListSchema }, ['memberIds']), async (uid, body) => {
    const { memberNum, removed } = await groups.remove(uid, toId(body.id, 'id'), body.memberIds);
    return { memberNum, memberIds: removed };
  });

  route<{ id: number | string }>('/group-exit', withId(), async (uid, body) => {
    await groups.exit(uid, toId(body.id, 'id'));
    return {};
  });

  route<{ id: number | string }>('/group-disband', withId(), async (uid, body) => {
    await groups.disband(uid, toId(body.id, 'id'));
    return {};
  });

  route<{ id: number | string; memberId: string; memberType: 0 | 1 }>(
    '/member/type',
    withId({ memberId: uidSchema, memberType: { type: 'integer', enum: [0, 1], errorHint: 'must be 0 (normal) or 1 (admin)' } }, ['memberId', 'memberType']),
    async (uid, body) => {
      await groups.setMemberType(uid, toId(body.id, 'id'), body.memberId, body.memberType as MemberType);
      return {};
    },
  );

  route<{ id: number | string; memberId: string }>('/change-owner', withId({ memberId: uidSchema }, ['memberId']), async (uid, body) => {
    await groups.changeOwner(uid, toId(body.id, 'id'), body.memberId);
    return {};
  });

  route<{ id: number | string }>('/group-info', withId(), async (uid, body) => groupInfo(await groups.info(uid, toId(body.id, 'id'))));

  route<Record<string, never>>('/group-list', object({}), async (uid) => ({ groups: (await groups.list(uid)).map(groupInfo) }));

  route<{ id: number | string }>('/group-member-list', withId(), async (uid, body) => {
    const id = toId(body.id, 'id');
    return { id, idStr: String(id), members: await groups.members(uid, id) };
  });

  return router;
}
