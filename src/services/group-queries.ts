import { AppError } from '../errors.js';
import { MemberType, type Group, type Membership } from '../domain.js';
import type { GroupFacts, Store } from '../store/store.js';
import { requireMember, requireMembership } from './group-access.js';

/** A group as its description shows it: the group, its owner, the caller's membership and its counts. */
export interface GroupView {
  group: Group;
  facts: GroupFacts;
  disbanded: boolean;
}

/** What members and others may read of groups (API.md §5); changes are GroupService's. */
export class GroupQueries {
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly options: { maxGroupMembers: number; now?: () => number },
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The most members a group may have, which group descriptions show. */
  get maximum(): number {
    return this.options.maxGroupMembers;
  }

  /** The group, its key and its members, for members. */
  async info(uid: string, groupId: number): Promise<GroupView & { members: Membership[] }> {
    const { group } = await requireMembership(this.store, groupId, uid);
    return this.viewWithMembers(group, uid);
  }

  /** What anyone may see of a group (never its key); `facts.person` only when the caller is a member. */
  async publicInfo(uid: string, groupId: number): Promise<GroupView> {
    const found = await this.store.getGroupMembership(groupId, uid);
    if (!found) throw AppError.notFound(`group ${groupId} does not exist`);
    const facts = (await this.store.describeGroups([groupId], uid, this.now())).get(groupId);
    // A disbanded group has no members left: it shows its last owner, and itself as disbanded.
    const owner = facts?.owner ?? {
      groupId,
      uid: found.group.ownerId,
      memberType: MemberType.Owner,
      memberName: '',
      mutedUntil: 0,
      joinedId: groupId,
      leftId: null,
    };
    return { group: found.group, facts: facts ?? { owner, adminNum: 0, muteNum: 0 }, disbanded: found.disbanded };
  }

  async list(uid: string): Promise<GroupView[]> {
    const groups = await this.store.listGroupsOf(uid);
    const facts = await this.store.describeGroups(
      groups.map((group) => group.id),
      uid,
      this.now(),
    );
    return groups.flatMap((group) => {
      const known = facts.get(group.id);
      return known ? [{ group, facts: known, disbanded: false }] : [];
    });
  }

  async members(uid: string, groupId: number): Promise<Membership[]> {
    await requireMembership(this.store, groupId, uid);
    return this.store.listMembers(groupId);
  }

  async member(uid: string, groupId: number, memberId: string): Promise<Membership> {
    await requireMembership(this.store, groupId, uid);
    return requireMember(this.store, groupId, memberId);
  }

  /** The members muted now. */
  async muted(uid: string, groupId: number): Promise<Membership[]> {
    const now = this.now();
    return (await this.members(uid, groupId)).filter((member) => member.mutedUntil > now);
  }

  /** The group's description and its members, as `uid` sees them. */
  async viewWithMembers(group: Group, uid: string): Promise<GroupView & { members: Membership[] }> {
    const [facts, members] = await Promise.all([this.store.describeGroups([group.id], uid, this.now()), this.store.listMembers(group.id)]);
    return { group, facts: facts.get(group.id)!, disbanded: false, members };
  }
}
