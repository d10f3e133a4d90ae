import { AppError } from '../errors.js';
import type { Group, Membership } from '../domain.js';
import type { GroupMembership } from '../store/store.js';

/** What membership checks read; both the store and a write transaction provide it. */
export interface GroupReader {
  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined>;
}

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
