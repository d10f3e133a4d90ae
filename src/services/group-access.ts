import { AppError } from '../errors.js';
import type { Group, Membership } from '../domain.js';

/** What membership checks read; both the store and a write transaction provide it. */
export interface GroupReader {
  getGroup(groupId: number): Promise<Group | undefined>;
  getMembership(groupId: number, uid: string): Promise<Membership | undefined>;
}

/** The group (-1007 when it does not exist or was disbanded) and the caller's membership (-1019 without one). */
export async function requireMembership(reader: GroupReader, groupId: number, uid: string): Promise<{ group: Group; membership: Membership }> {
  const group = await reader.getGroup(groupId);
  if (!group) throw AppError.notFound(`group ${groupId} does not exist`);
  const membership = await reader.getMembership(groupId, uid);
  if (!membership) throw AppError.permissionDenied(`you are not a member of group ${groupId}`);
  return { group, membership };
}
