import { AppError } from '../errors.js';
import { MemberType, type Group, type GroupMember, type Membership } from '../domain.js';
import type { Notification } from '../bus/event-bus.js';
import type { Store, WriteTransaction } from '../store/store.js';
import { requireMembership } from './group-access.js';

export interface GroupServiceOptions {
  maxGroupMembers: number;
  /** Announces committed events to every instance. */
  notify: (notification: Notification) => void;
  now?: () => number;
}

/** Group membership and roles: the rules of API.md §5. Every change is an event in the members' streams. */
export class GroupService {
  private readonly maxGroupMembers: number;
  private readonly notify: (notification: Notification) => void;
  private readonly now: () => number;

  constructor(private readonly store: Store, options: GroupServiceOptions) {
    this.maxGroupMembers = options.maxGroupMembers;
    this.notify = options.notify;
    this.now = options.now ?? Date.now;
  }

  /**
   * Runs a change in one write transaction and announces what it committed. The change returns its result and
   * the notifications of its events, in id order (none when it changed nothing).
   */
  private async change<T>(work: (tx: WriteTransaction) => Promise<[T, Notification[]]>): Promise<T> {
    const [result, notifications] = await this.store.write(work);
    for (const notification of notifications) this.notify(notification);
    return result;
  }

  /** Anyone may create a group and becomes its owner; the others join as normal members. */
  async create(ownerId: string, name: string, memberIds: string[]): Promise<{ group: Group; members: GroupMember[] }> {
    const others = distinct(memberIds).filter((uid) => uid !== ownerId);
    this.checkCap(1 + others.length);
    const group = await this.change(async (tx) => {
      const created = await tx.createGroup(name, ownerId, others, this.now());
      const uids = [ownerId, ...others];
      return [created, [{ id: created.id, groupId: created.id, uids, membership: { kind: 'join', uids } }]];
    });
    return {
      group,
      members: [{ memberId: ownerId, memberType: MemberType.Owner }, ...others.map((memberId) => ({ memberId, memberType: MemberType.Normal }))],
    };
  }

  /** The owner and admins invite; uids that are members already are left as they are. */
  async invite(uid: string, groupId: number, newMemberIds: string[]): Promise<Group> {
    return this.change(async (tx) => {
      const { group, membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Normal) throw AppError.permissionDenied('only the owner or an admin may invite members');
      const candidates = distinct(newMemberIds);
      const present = new Set((await tx.currentMembers(groupId, candidates)).map((member) => member.uid));
      const newcomers = candidates.filter((candidate) => !present.has(candidate));
      if (newcomers.length === 0) return [group, []];
      this.checkCap(group.memberNum + newcomers.length);
      const time = this.now();
      const joinedId = await tx.appendGroupEvent({ kind: 'join', groupId, actor: uid, data: { uids: newcomers, time }, createdAt: time });
      await tx.addMembers(groupId, newcomers, MemberType.Normal, joinedId);
      await tx.updateGroup(groupId, { memberNumDelta: newcomers.length });
      return [{ ...group, memberNum: group.memberNum + newcomers.length }, [{ id: joinedId, groupId, uids: newcomers, membership: { kind: 'join', uids: newcomers } }]];
    });
  }

  /** The owner removes anyone but themselves; an admin removes normal members. Non-members are skipped. */
  async remove(uid: string, groupId: number, memberIds: string[]): Promise<{ memberNum: number; removed: string[] }> {
    return this.change(async (tx) => {
      const { group, membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Normal) throw AppError.permissionDenied('only the owner or an admin may remove members');
      const targets = await tx.currentMembers(groupId, distinct(memberIds));
      for (const target of targets) checkMayRemove(membership, target);
      const removed = targets.map((target) => target.uid);
      const notifications = removed.length > 0 ? [await this.leave(tx, groupId, uid, removed)] : [];
      return [{ memberNum: group.memberNum - removed.length, removed }, notifications];
    });
  }

  /** Any member but the owner, who must hand the group over (change-owner) or disband it. */
  async exit(uid: string, groupId: number): Promise<void> {
    await this.change(async (tx) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Owner) {
        throw AppError.permissionDenied('the owner cannot exit the group: hand it over with change-owner first, or disband it');
      }
      return [undefined, [await this.leave(tx, groupId, uid, [uid])]];
    });
  }

  async disband(uid: string, groupId: number): Promise<void> {
    await this.change(async (tx) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may disband the group');
      const time = this.now();
      const id = await tx.appendGroupEvent({ kind: 'disband', groupId, actor: uid, data: { time }, createdAt: time });
      await tx.closeMemberships(groupId, id);
      await tx.updateGroup(groupId, { disbandedId: id });
      return [undefined, [{ id, groupId, membership: { kind: 'disband', uids: [] } }]];
    });
  }

  /** The owner makes a member an admin (1) or a normal member (0). */
  async setMemberType(uid: string, groupId: number, memberId: string, memberType: MemberType): Promise<void> {
    await this.change(async (tx) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may change member types');
      const target = await requireMember(tx, groupId, memberId);
      if (target.memberType === MemberType.Owner) throw AppError.permissionDenied("the owner's type changes only with change-owner");
      if (target.memberType === memberType) return [undefined, []];
      return [undefined, [await this.changeRole(tx, groupId, uid, memberId, memberType)]];
    });
  }

  /** The owner hands the group to another member and becomes a normal member. */
  async changeOwner(uid: string, groupId: number, memberId: string): Promise<void> {
    await this.change(async (tx) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may hand over the group');
      await requireMember(tx, groupId, memberId);
      if (memberId === uid) return [undefined, []];
      const promoted = await this.changeRole(tx, groupId, uid, memberId, MemberType.Owner);
      const demoted = await this.changeRole(tx, groupId, uid, uid, MemberType.Normal);
      await tx.updateGroup(groupId, { ownerId: memberId });
      return [undefined, [promoted, demoted]];
    });
  }

  async info(uid: string, groupId: number): Promise<Group> {
    return (await requireMembership(this.store, groupId, uid)).group;
  }

  list(uid: string): Promise<Group[]> {
    return this.store.listGroupsOf(uid);
  }

  async members(uid: string, groupId: number): Promise<GroupMember[]> {
    await requireMembership(this.store, groupId, uid);
    return this.store.listMembers(groupId);
  }

  /** The leave event comes first, so that those who leave see it as the last event of their stay. */
  private async leave(tx: WriteTransaction, groupId: number, actor: string, uids: string[]): Promise<Notification> {
    const time = this.now();
    const leftId = await tx.appendGroupEvent({ kind: 'leave', groupId, actor, data: { uids, time }, createdAt: time });
    await tx.closeMemberships(groupId, leftId, uids);
    await tx.updateGroup(groupId, { memberNumDelta: -uids.length });
    return { id: leftId, groupId, uids, membership: { kind: 'leave', uids } };
  }

  private async changeRole(tx: WriteTransaction, groupId: number, actor: string, uid: string, memberType: MemberType): Promise<Notification> {
    const time = this.now();
    await tx.setMemberType(groupId, uid, memberType);
    const id = await tx.appendGroupEvent({ kind: 'role', groupId, actor, data: { uid, memberType, time }, createdAt: time });
    return { id, groupId };
  }

  private checkCap(memberNum: number): void {
    if (memberNum > this.maxGroupMembers) {
      throw AppError.invalidParams(`a group holds at most ${this.maxGroupMembers} members (this would make ${memberNum})`);
    }
  }
}

function distinct(uids: string[]): string[] {
  return [...new Set(uids)];
}

async function requireMember(tx: WriteTransaction, groupId: number, uid: string): Promise<Membership> {
  const member = await tx.getMembership(groupId, uid);
  if (!member) throw AppError.memberNotInGroup(uid, groupId);
  return member;
}

/** The remover is the owner or an admin. */
function checkMayRemove(remover: Membership, target: Membership): void {
  if (remover.memberType === MemberType.Owner) {
    if (target.uid === remover.uid) throw AppError.permissionDenied('the owner cannot remove themselves: use change-owner, or disband the group');
  } else if (target.memberType !== MemberType.Normal) {
    throw AppError.permissionDenied(`an admin may remove only normal members, and ${target.uid} is not one`);
  }
}
