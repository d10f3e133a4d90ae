import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Middleware } from 'koa';
import { MUTED_FOREVER, type MemberType } from '../../domain.js';
import { AppError } from '../../errors.js';
import { TEXT_PATTERN } from '../../strings.js';
import type { GroupQueries, GroupView } from '../../services/group-queries.js';
import { MAX_MUTE_MS, type GroupService, type SettingChange } from '../../services/group-service.js';
import { groupJson, infoExample, memberJson, membersExample } from './group-json.js';
import type { ApiCatalog } from '../api-catalog.js';
import { idSchema, toId, uidSchema } from '../../input/schemas.js';
import { jsonRoute, type JsonRouteDef } from './json-route.js';

export interface GroupRoutesDeps {
  ajv: Ajv;
  groups: GroupService;
  groupQueries: GroupQueries;
  catalog: ApiCatalog;
  auth: Middleware;
  json: Middleware;
  limitWrites: Middleware;
}

const uidListSchema = { type: 'array', items: uidSchema, errorHint: 'must be an array of uids (1 to 64 characters without whitespace)' } as const;
const textSchema = (maxLength: number) =>
  ({
    type: 'string',
    maxLength,
    pattern: TEXT_PATTERN,
    errorHint: `must be a string of at most ${maxLength} characters of valid Unicode text without U+0000`,
  }) as const;

/** Group names are long: dtalk clients encrypt them with the group key and send base64. */
const NAME_LENGTH = 1024;

/** Every request names the group by `id` or `idStr`; idStr wins (API.md §5). */
const withId = (properties: Record<string, object> = {}, required: string[] = []) =>
  ({
    type: 'object',
    required,
    properties: { id: idSchema, idStr: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', errorHint: 'must be a group id as a decimal string' }, ...properties },
  }) as const;

type WithId = { id?: number | string; idStr?: string };

function groupIdOf(body: WithId): number {
  if (body.idStr !== undefined) return toId(body.idStr, 'idStr');
  if (body.id !== undefined) return toId(body.id, 'id');
  throw AppError.invalidParams('id or idStr is required');
}

/** dtalk's "for ever" arrives as 9223372036854775807, which JSON.parse reads as 2^63. */
const MUTE_FOREVER_AS_PARSED = 2 ** 63;

/** member/muteTime takes a duration in ms: 0 lifts a mute, 9223372036854775807 is for ever, else at most 24 h. */
function muteDuration(muteTime: number): number {
  if (muteTime === MUTE_FOREVER_AS_PARSED) return MUTED_FOREVER;
  if (muteTime >= 0 && muteTime <= MAX_MUTE_MS) return muteTime;
  throw AppError.invalidParams(`muteTime must be 0 (lift), a duration of at most ${MAX_MUTE_MS} ms, or 9223372036854775807 (for ever)`);
}

/** The group API of API.md §5 at /group/app/<name>, with the earlier /app/<name> paths as aliases. */
export function groupRoutes({ ajv, groups, groupQueries, catalog, auth, json, limitWrites }: GroupRoutesDeps): Router {
  const router = new Router();
  const kit = { router, ajv, catalog, auth, json, limitWrites };
  const tag = 'groups';
  const route = <T>(def: Omit<JsonRouteDef<T>, 'tag'>) => {
    jsonRoute(kit, { ...def, tag, path: `/group${def.path}` });
    jsonRoute(kit, { ...def, tag, summary: `${def.summary} (alias of /group${def.path})` });
  };
  const info = (view: GroupView, withKey = true) => groupJson(view, groupQueries.maximum, { withKey });
  /** The change endpoints answer {} (the clients read only `result`). */
  const change = <T extends WithId>(
    path: string,
    summary: string,
    schema: object,
    example: T,
    apply: (uid: string, groupId: number, body: T) => Promise<unknown>,
  ) =>
    route<T>({
      path,
      summary,
      schema,
      example,
      writes: true,
      response: {},
      handle: async (uid, body) => {
        await apply(uid, groupIdOf(body), body);
        return {};
      },
    });

  route<{ name?: string; avatar?: string; introduce?: string; memberIds?: string[] }>({
    path: '/app/create-group',
    writes: true,
    summary: 'Create a group; the caller becomes its owner, the others normal members',
    schema: { type: 'object', properties: { name: textSchema(NAME_LENGTH), avatar: textSchema(2048), introduce: textSchema(2048), memberIds: uidListSchema } },
    example: { name: 'team', memberIds: ['bob'] },
    response: { ...infoExample, members: membersExample },
    handle: async (uid, body) => {
      const group = await groups.create(uid, { name: body.name ?? '', avatar: body.avatar ?? '', introduce: body.introduce ?? '' }, body.memberIds ?? []);
      const created = await groupQueries.viewWithMembers(group, uid);
      return { ...info(created), members: created.members.map(memberJson) };
    },
  });

  route<WithId & { newMemberIds: string[] }>({
    path: '/app/invite-group-members',
    writes: true,
    summary: 'Add members: anyone (joinType 0) or the owner and admins; members already in are left as they are',
    schema: withId({ newMemberIds: uidListSchema }, ['newMemberIds']),
    example: { id: 7, newMemberIds: ['carol'] },
    response: { id: 7, idStr: '7', memberNum: 3 },
    handle: async (uid, body) => {
      const group = await groups.invite(uid, groupIdOf(body), body.newMemberIds);
      return { id: group.id, idStr: String(group.id), memberNum: group.memberNum };
    },
  });

  route<WithId & { inviterId: string }>({
    path: '/app/join-group',
    writes: true,
    summary: "Join on a member's invitation (the inviter's role must allow it under joinType); joining again changes nothing",
    schema: withId({ inviterId: uidSchema }, ['inviterId']),
    example: { id: 7, inviterId: 'alice' },
    response: { id: 7, idStr: '7' },
    handle: async (uid, body) => {
      const id = groupIdOf(body);
      await groups.join(uid, id, body.inviterId);
      return { id, idStr: String(id) };
    },
  });

  route<WithId & { memberIds: string[] }>({
    path: '/app/group-remove',
    writes: true,
    summary: 'Remove members: the owner anyone but themselves, admins normal members',
    schema: withId({ memberIds: uidListSchema }, ['memberIds']),
    example: { idStr: '7', memberIds: ['carol'] },
    response: { memberNum: 2, memberIds: ['carol'] },
    handle: async (uid, body) => {
      const { memberNum, removed } = await groups.remove(uid, groupIdOf(body), body.memberIds);
      return { memberNum, memberIds: removed };
    },
  });

  change('/app/group-exit', 'Leave a group (not the owner)', withId(), { id: 7 }, (uid, id) => groups.exit(uid, id));
  change('/app/group-disband', 'Disband a group (owner)', withId(), { id: 7 }, (uid, id) => groups.disband(uid, id));
  change<WithId & { memberId: string }>(
    '/app/change-owner',
    'Hand the group to another member (owner); the old owner becomes a normal member',
    withId({ memberId: uidSchema }, ['memberId']),
    { id: 7, memberId: 'bob' },
    (uid, id, body) => groups.changeOwner(uid, id, body.memberId),
  );
  change<WithId & { memberId: string; memberType: 0 | 1 }>(
    '/app/member/type',
    'Make a member an admin (1) or a normal member (0) (owner)',
    withId({ memberId: uidSchema, memberType: { type: 'integer', enum: [0, 1], errorHint: 'must be 0 (normal) or 1 (admin)' } }, ['memberId', 'memberType']),
    { id: 7, memberId: 'bob', memberType: 1 },
    (uid, id, body) => groups.setMemberType(uid, id, body.memberId, body.memberType as MemberType),
  );
  change<WithId & { memberName: string }>(
    '/app/member/name',
    "Set one's own name in the group",
    withId({ memberName: textSchema(256) }, ['memberName']),
    { id: 7, memberName: 'Bob' },
    (uid, id, body) => groups.setMemberName(uid, id, body.memberName),
  );

  route<WithId & { memberIds: string[]; muteTime: number }>({
    path: '/app/member/muteTime',
    writes: true,
    summary: 'Mute normal members for muteTime ms (at most 24 h; 9223372036854775807 for ever; 0 lifts) (owner, admins)',
    schema: withId({ memberIds: { ...uidListSchema, minItems: 1 }, muteTime: { type: 'integer', minimum: 0, errorHint: 'must be a duration in ms' } }, [
      'memberIds',
      'muteTime',
    ]),
    example: { id: 7, memberIds: ['bob'], muteTime: 600000 },
    response: { members: [{ ...membersExample[1], memberMuteTime: 1764100600000 }] },
    handle: async (uid, body) => ({ members: (await groups.setMuteTime(uid, groupIdOf(body), body.memberIds, muteDuration(body.muteTime))).map(memberJson) }),
  });

  const settings: Array<[string, string, Record<string, object>, SettingChange & WithId]> = [
    [
      'name',
      'Rename the group: name (members see; clients encrypt it), publicName (anyone sees); "" leaves one as it is',
      { name: textSchema(NAME_LENGTH), publicName: textSchema(NAME_LENGTH) },
      { id: 7, name: 'team', publicName: 'team' },
    ],
    ['avatar', "Set the group's avatar (a URL)", { avatar: textSchema(2048) }, { id: 7, avatar: 'https://example.com/a.png' }],
    [
      'joinType',
      'Who may add members: 0 anyone, 1 the owner and admins, 2 the owner and admins (others would need approval)',
      { joinType: { type: 'integer', enum: [0, 1, 2] } },
      { id: 7, joinType: 1 },
    ],
    ['friendType', 'Whether members may add each other as friends: 0 yes, 1 no', { friendType: { type: 'integer', enum: [0, 1] } }, { id: 7, friendType: 1 }],
    ['muteType', 'Who may post: 0 everyone, 1 only the owner and admins', { muteType: { type: 'integer', enum: [0, 1] } }, { id: 7, muteType: 1 }],
  ];
  for (const [field, summary, properties, example] of settings) {
    const required = field === 'name' ? [] : [field];
    change(`/app/${field}`, `${summary} (owner, admins)`, withId(properties, required), example, (uid, id, { id: _id, idStr: _idStr, ...setting }) =>
      groups.updateSetting(uid, id, setting as SettingChange),
    );
  }

  route<WithId>({
    path: '/app/group-info',
    summary: 'The group, its key and its members (members)',
    schema: withId(),
    example: { idStr: '7' },
    response: { ...infoExample, members: membersExample },
    handle: async (uid, body) => {
      const view = await groupQueries.info(uid, groupIdOf(body));
      return { ...info(view), members: view.members.map(memberJson) };
    },
  });

  route<WithId>({
    path: '/app/group-pub-info',
    summary: 'What anyone may see of a group: never its key; person only for a member',
    schema: withId(),
    example: { id: 7 },
    response: (({ key: _key, person: _person, ...rest }) => rest)(infoExample),
    handle: async (uid, body) => info(await groupQueries.publicInfo(uid, groupIdOf(body)), false),
  });

  route<Record<string, never>>({
    path: '/app/group-list',
    summary: "The caller's groups, with their keys",
    schema: { type: 'object' },
    example: {},
    response: { groups: [infoExample] },
    handle: async (uid) => ({ groups: (await groupQueries.list(uid)).map((view) => info(view)) }),
  });

  route<WithId>({
    path: '/app/group-member-list',
    summary: 'The members of a group (members)',
    schema: withId(),
    example: { id: 7 },
    response: { id: 7, idStr: '7', members: membersExample },
    handle: async (uid, body) => {
      const id = groupIdOf(body);
      return { id, idStr: String(id), members: (await groupQueries.members(uid, id)).map(memberJson) };
    },
  });

  route<WithId & { memberId: string }>({
    path: '/app/group-member-info',
    summary: 'One member of a group (members)',
    schema: withId({ memberId: uidSchema }, ['memberId']),
    example: { id: 7, memberId: 'bob' },
    response: membersExample[1]!,
    handle: async (uid, body) => memberJson(await groupQueries.member(uid, groupIdOf(body), body.memberId)),
  });

  route<WithId>({
    path: '/app/mute-list',
    summary: 'The members muted now (members)',
    schema: withId(),
    example: { id: 7 },
    response: { members: [{ ...membersExample[1], memberMuteTime: 1764100600000 }] },
    handle: async (uid, body) => ({ members: (await groupQueries.muted(uid, groupIdOf(body))).map(memberJson) }),
  });

  return router;
}
