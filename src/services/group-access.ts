import { AppError } from '../errors.js';
import { JoinType, MemberType, type Group, type Membership } from '../domain.js';
import type { GroupMembership } from '../store/store.js';

/** What membership checks read; both the store and a write transaction provide it. */
export interface GroupReader {
  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined>;
  currentMembers(groupId: number, uids: string[]): Promise<Membership[]>;
}

/** Who may do what in a group: the membership checks and the permission rules of API.md §5, as dtalk had them. */

/**
 * The group and the caller's membership: -1007 when it does not exist or was disbanded (dtalk callers: -10002
 * for disbanded), -1019 without a membership (dtalk callers: -10015).
 */
export async function requireMembership(reader: GroupReader, groupId: number, uid: string): Promise<{ group: Group; membership: Membership }> {
  const found = await reader.getGroupMembership(groupId, uid);
  if (!found) throw AppError.notFound(`group ${groupId} does not exist`);
  if (found.disbanded) throw AppError.groupDisbanded(groupId);
  if (!found.membership) throw AppError.notInGroup(groupId);
  return { group: found.group, membership: found.membership };
}

/** Someone else's membership: -1019 (dtalk callers: -10016) when they are not in the group. */
export async function requireMember(reader: GroupReader, groupId: number, uid: string): Promise<Membership> {
  const [member] = await reader.currentMembers(groupId, [uid]);
  if (!member) throw AppError.memberNotInGroup(uid, groupId);
  return member;
}

/** joinType 0: any member invites; 1: the owner and admins; 2: the owner and admins, others would need approval. */
export function checkMayInvite(group: Group, inviter: Membership): void {
  if (inviter.memberType !== MemberType.Normal || group.joinType === JoinType.Anyone) return;
  if (group.joinType === JoinType.AdminsOnly) throw AppError.permissionDenied('in this group only the owner or an admin may invite members');
  throw AppError.permissionDenied('this group takes new members on approval, which chatlog does not offer: ask the owner or an admin to add them');
}

/** The remover is the owner or an admin. */
export function checkMayRemove(remover: Membership, target: Membership): void {
  if (remover.memberType === MemberType.Owner) {
    if (target.uid === remover.uid) throw AppError.permissionDenied('the owner cannot remove themselves: use change-owner, or disband the group');
  } else if (target.memberType !== MemberType.Normal) {
    throw AppError.permissionDenied(`an admin may remove only normal members, and ${target.uid} is not one`);
  }
}
