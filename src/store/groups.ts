/** Groups and memberships: the group rows, each stay of a member ([joined_id, left_id]), and their changes. */
import type { Knex } from 'knex';
import { MemberType, type Group, type GroupSettings, type Membership } from '../domain.js';
import { SETTING_COLUMNS, chunks, toGroup, toMembership, type GroupRow, type MembershipRow } from './rows.js';
import { insertEventRows, type WriteContext } from './stream.js';
import type { GroupChanges, GroupFacts, GroupMembership, NewGroup } from './store.js';

/** The columns of a current stay, joined to its group as `ms`. */
const STAY_COLUMNS = ['ms.group_id', 'ms.uid', 'ms.member_type', 'ms.member_name', 'ms.muted_until', 'ms.joined_id', 'ms.left_id'];

/** One query for the check every group operation starts with: the group (disbanded too) and the user's stay. */
export async function getGroupMembership(db: Knex, groupId: number, uid: string): Promise<GroupMembership | undefined> {
  const row: GroupMembershipRow | undefined = await db('groups as g')
    .leftJoin('memberships as ms', (on) => on.on('ms.group_id', 'g.id').andOnVal('ms.uid', uid).andOnNull('ms.left_id'))
    .select('g.*', ...STAY_COLUMNS)
    .where('g.id', groupId)
    .first();
  return row && toGroupMembership(row);
}

/** getGroupMembership for many (group, uid) pairs in one query, keyed by membershipKey; absent groups are undefined. */
export async function getGroupMemberships(db: Knex, pairs: Array<{ groupId: number; uid: string }>): Promise<Map<string, GroupMembership | undefined>> {
  const found = new Map<string, GroupMembership | undefined>(pairs.map(({ groupId, uid }) => [membershipKey(groupId, uid), undefined]));
  for (const part of chunks(pairs)) {
    const rows: Array<GroupMembershipRow & { asked_uid: string }> = await db
      .with(
        'asked',
        ['group_id', 'uid'],
        db.raw(
          `values ${part.map(() => '(cast(? as bigint), cast(? as varchar(255)))').join(', ')}`,
          part.flatMap(({ groupId, uid }) => [groupId, uid]),
        ),
      )
      .from('asked')
      .join('groups as g', 'g.id', 'asked.group_id')
      .leftJoin('memberships as ms', (on) => on.on('ms.group_id', 'g.id').andOn('ms.uid', 'asked.uid').andOnNull('ms.left_id'))
      .select('g.*', 'asked.uid as asked_uid', ...STAY_COLUMNS);
    for (const row of rows) found.set(membershipKey(Number(row.id), row.asked_uid), toGroupMembership(row));
  }
  return found;
}

export const membershipKey = (groupId: number, uid: string) => `${groupId} ${uid}`;

type GroupMembershipRow = GroupRow & Partial<MembershipRow> & { disbanded_id: number | string | null };

function toGroupMembership(row: GroupMembershipRow): GroupMembership {
  return { group: toGroup(row), disbanded: row.disbanded_id !== null, ...(row.uid != null && { membership: toMembership(row as MembershipRow) }) };
}

/** Of `uids`, the current members of the group. */
export async function currentMembers(db: Knex, groupId: number, uids: string[]): Promise<Membership[]> {
  const found: Membership[] = [];
  for (const part of chunks(uids)) {
    const rows: MembershipRow[] = await db('memberships').where({ group_id: groupId }).whereNull('left_id').whereIn('uid', part);
    found.push(...rows.map(toMembership));
  }
  return found;
}

/** Every current member: the owner first, then admins, then by join. */
export async function listMembers(db: Knex, groupId: number): Promise<Membership[]> {
  const rows: MembershipRow[] = await db('memberships')
    .where({ group_id: groupId })
    .whereNull('left_id')
    .orderBy([{ column: 'member_type', order: 'desc' }, 'joined_id', 'uid']);
  return rows.map(toMembership);
}

/** Whether any stay of the user in the group covered event `id`. */
export async function wasMemberAt(db: Knex, groupId: number, uid: string, id: number): Promise<boolean> {
  const row = await db('memberships')
    .where({ group_id: groupId, uid })
    .andWhere('joined_id', '<=', id)
    .andWhere((q) => q.whereNull('left_id').orWhere('left_id', '>=', id))
    .first('uid');
  return row !== undefined;
}

/** The groups the user belongs to now, oldest first. */
export async function listGroupsOf(db: Knex, uid: string): Promise<Group[]> {
  const rows: GroupRow[] = await db('memberships as ms')
    .join('groups as g', 'g.id', 'ms.group_id')
    .select('g.*')
    .where('ms.uid', uid)
    .whereNull('ms.left_id')
    .whereNull('g.disbanded_id')
    .orderBy('g.id');
  return rows.map(toGroup);
}

/** The user's current stays, as group id to joined id; groups disbanded are no stay (their memberships closed). */
export async function currentStaysOf(db: Knex, uid: string): Promise<Map<number, number>> {
  const rows: Array<Pick<MembershipRow, 'group_id' | 'joined_id'>> = await db('memberships')
    .select('group_id', 'joined_id')
    .where('uid', uid)
    .whereNull('left_id');
  return new Map(rows.map((row) => [Number(row.group_id), Number(row.joined_id)]));
}

/** For each group: its owner, the user's membership (if a member), and how many admins and muted members it has. */
export async function describeGroups(db: Knex, groupIds: number[], uid: string, now: number): Promise<Map<number, GroupFacts>> {
  const facts = new Map<number, GroupFacts>();
  for (const part of chunks(groupIds)) {
    // The owners and the user's own memberships, then the counts: two queries for any number of groups.
    const rows: MembershipRow[] = await db('memberships')
      .whereIn('group_id', part)
      .whereNull('left_id')
      .andWhere((q) => q.where('member_type', MemberType.Owner).orWhere('uid', uid));
    const counts: Array<{ group_id: number | string; admins: number | string | null; muted: number | string | null }> = await db('memberships')
      .whereIn('group_id', part)
      .whereNull('left_id')
      .groupBy('group_id')
      .select(
        'group_id',
        db.raw('sum(case when member_type = ? then 1 else 0 end) as admins', [MemberType.Admin]),
        db.raw('sum(case when muted_until > ? then 1 else 0 end) as muted', [now]),
      );
    const byGroup = new Map<number, { owner?: Membership; person?: Membership }>();
    for (const membership of rows.map(toMembership)) {
      const entry = byGroup.get(membership.groupId) ?? {};
      if (membership.memberType === MemberType.Owner) entry.owner = membership;
      if (membership.uid === uid) entry.person = membership;
      byGroup.set(membership.groupId, entry);
    }
    for (const count of counts) {
      const groupId = Number(count.group_id);
      const entry = byGroup.get(groupId);
      if (!entry?.owner) continue;
      facts.set(groupId, {
        owner: entry.owner,
        ...(entry.person && { person: entry.person }),
        adminNum: Number(count.admins ?? 0),
        muteNum: Number(count.muted ?? 0),
      });
    }
  }
  return facts;
}

/** Whether a group (even a disbanded one) has this markId. */
export async function isMarkIdTaken(db: Knex, markId: string): Promise<boolean> {
  return (await db('groups').where({ mark_id: markId }).first('id')) !== undefined;
}

/**
 * Creates a group whose first event is the SignInGroup of its members (the owner first); the group's id is that
 * event's id, so groups need no second id sequence.
 */
export async function createGroup(w: WriteContext, group: NewGroup, memberIds: string[]): Promise<Group> {
  const { ownerId, createdAt } = group;
  const uids = [ownerId, ...memberIds.filter((uid) => uid !== ownerId)];
  const id = w.ids.take();
  await insertEventRows(
    w,
    { id, kind: 'join', mid: null, group_id: id, actor: ownerId, data: JSON.stringify({ uids, time: createdAt }), created_at: createdAt },
    [],
  );
  const settings = Object.fromEntries(Object.entries(SETTING_COLUMNS).map(([field, column]) => [column, group[field as keyof GroupSettings]]));
  await w.trx('groups').insert({
    id,
    ...settings,
    mark_id: group.markId,
    owner_id: ownerId,
    member_num: uids.length,
    created_at: createdAt,
    group_type: group.groupType,
    aes_key: group.key,
  });
  await addMembers(w.trx, id, [ownerId], MemberType.Owner, id);
  await addMembers(w.trx, id, uids.slice(1), MemberType.Normal, id);
  return { ...group, id, memberNum: uids.length };
}

/** Opens memberships starting at event `joinedId`. */
export async function addMembers(trx: Knex, groupId: number, uids: string[], memberType: MemberType, joinedId: number): Promise<void> {
  for (const part of chunks(uids)) {
    await trx('memberships').insert(part.map((uid) => ({ group_id: groupId, uid, member_type: memberType, joined_id: joinedId })));
  }
}

/** Closes the current memberships of `uids` (every member when undefined) at event `leftId`. */
export async function closeMemberships(trx: Knex, groupId: number, leftId: number, uids?: string[]): Promise<void> {
  const current = () => trx('memberships').where({ group_id: groupId }).whereNull('left_id');
  if (uids === undefined) {
    await current().update({ left_id: leftId });
    return;
  }
  for (const part of chunks(uids)) await current().whereIn('uid', part).update({ left_id: leftId });
}

/** Updates the current memberships of `uids`: their type, mute deadline or name. */
export async function updateMembers(
  trx: Knex,
  groupId: number,
  uids: string[],
  changes: Partial<Pick<Membership, 'memberType' | 'mutedUntil' | 'memberName'>>,
): Promise<void> {
  const update = {
    ...(changes.memberType !== undefined && { member_type: changes.memberType }),
    ...(changes.mutedUntil !== undefined && { muted_until: changes.mutedUntil }),
    ...(changes.memberName !== undefined && { member_name: changes.memberName }),
  };
  for (const part of chunks(uids)) await trx('memberships').where({ group_id: groupId }).whereNull('left_id').whereIn('uid', part).update(update);
}

export async function updateGroup(trx: Knex, groupId: number, changes: GroupChanges): Promise<void> {
  const update: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(SETTING_COLUMNS)) {
    const value = changes[field as keyof GroupSettings];
    if (value !== undefined) update[column] = value;
  }
  if (changes.ownerId !== undefined) update.owner_id = changes.ownerId;
  if (changes.memberNumDelta !== undefined) update.member_num = trx.raw('member_num + ?', [changes.memberNumDelta]);
  if (changes.disbandedId !== undefined) update.disbanded_id = changes.disbandedId;
  if (Object.keys(update).length > 0) await trx('groups').where({ id: groupId }).update(update);
}
