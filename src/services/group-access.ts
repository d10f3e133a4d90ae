import { AppError } from '../errors.js';
import type { Group, Membership } from '../domain.js';

/** What membership checks read; both the store and a write transaction provide it. */
export interface GroupReader {
  /** The group, unless it does not exist or was disbanded, with the user's current membership if any. */
  getGroupMembership(groupId: number, uid: string): Promise<{ group: Group; membership?: Membership } | undefined>;
}

/** The group (-1007 when it does not exist or was disbanded) and the caller's membership (-1019 without one). */
export async function requireMembership(reader: GroupReader, groupId: number, uid: string): Promise<{ group: Group; membership: Membership }> {
  const found = await reader.getGroupMembership(groupId, uid);
  if (!found) throw AppError.notFound(`group ${groupId} does not exist`);
  if (!found.membership) throw AppError.permissionDenied(`you are not a member of group ${groupId}`);
  return { group: found.group, membership: found.membership };
}
