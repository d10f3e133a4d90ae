import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import {
  ChannelType,
  JoinType,
  MemberType,
  MuteType,
  MUTED_FOREVER,
  NOTICE_MSG_TYPE,
  type Group,
  type GroupSettings,
  type Membership,
  type SettingEventData,
} from '../domain.js';
import type { Store, WriteTransaction } from '../store/store.js';
import { listsOfBoundedSize } from './member-lists.js';
import { checkMayInvite, checkMayRemove, requireMember, requireMembership } from './group-access.js';

/** The group notices (msgType 7) the service writes; the codec knows their bodies. */
export type NoticeKind = 'name' | 'signIn' | 'signOut' | 'kickOut' | 'delete' | 'muteType' | 'memberMuted' | 'owner';

/** The settings whose change is announced by a signal. */
const ANNOUNCED = ['name', 'avatar', 'joinType', 'friendType', 'muteType'] as const;

export interface GroupServiceOptions {
  maxGroupMembers: number;
  /** The body of a group notice. */
  encodeNotice: (kind: NoticeKind, fields: Record<string, unknown>) => Uint8Array;
  now?: () => number;
}

/** Longest a mute may last unless it is for ever, as in dtalk. */
export const MAX_MUTE_MS = 86_400_000;

/** The settings the owner and admins change; `name` also takes a new public name. */
export type SettingChange =
  { name?: string; publicName?: string } | { avatar: string } | { joinType: JoinType } | { friendType: GroupSettings['friendType'] } | { muteType: MuteType };

type Work<T> = (tx: WriteTransaction, now: number) => Promise<T>;

/**
 * Groups: the rules of API.md §5, as dtalk had them. Every change is an event in the members' streams (the
 * dtalk signal of its kind), and where the dtalk clients show a change as a line in the conversation, a group
 * notice (msgType 7) from the member who made it, as dtalk wrote them.
 */
export class GroupService {
  private readonly maxGroupMembers: number;
  private readonly encodeNotice: GroupServiceOptions['encodeNotice'];
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: GroupServiceOptions,
  ) {
    this.maxGroupMembers = options.maxGroupMembers;
    this.encodeNotice = options.encodeNotice;
    this.now = options.now ?? Date.now;
  }

  /** Anyone may create a group and becomes its owner; the others join as normal members. */
  async create(ownerId: string, settings: { name: string; avatar: string; introduce: string }, memberIds: string[]): Promise<Group> {
    const others = distinct(memberIds).filter((uid) => uid !== ownerId);
    this.checkCap(1 + others.length);
    const [first, ...rest] = listsOfBoundedSize([ownerId, ...others]);
    return this.change(async (tx, now) => {
      const created = await tx.createGroup(
        {
          ...settings,
          publicName: settings.name,
          joinType: JoinType.Anyone,
          muteType: MuteType.Everyone,
          friendType: 0,
          groupType: 0,
          markId: await freeMarkId(tx),
          key: randomBytes(16).toString('hex'),
          ownerId,
          createdAt: now,
        },
        first!.slice(1),
      );
      this.notice(tx, created.id, ownerId, 'signIn', { inviter: ownerId, members: first!.slice(1) }, now);
      // The members past the first list join in further events of the same transaction.
      for (const uids of rest) await this.joinEvent(tx, created.id, ownerId, uids, now);
      if (rest.length > 0) await tx.updateGroup(created.id, { memberNumDelta: rest.flat().length });
      return { ...created, memberNum: created.memberNum + rest.flat().length };
    });
  }

  /** Adds members as the caller's invitation (joinType decides who may); members already in are left as they are. */
  async invite(uid: string, groupId: number, newMemberIds: string[]): Promise<Group> {
    return this.change(async (tx, now) => {
      const { group, membership } = await requireMembership(tx, groupId, uid);
      checkMayInvite(group, membership);
      const added = await this.addMembers(tx, group, uid, distinct(newMemberIds), now);
      return { ...group, memberNum: group.memberNum + added.length };
    });
  }

  /** The caller joins on a member's invitation (a shared QR code, say); joining again changes nothing. */
  async join(uid: string, groupId: number, inviterId: string): Promise<void> {
    await this.change(async (tx, now) => {
      const found = await tx.getGroupMembership(groupId, uid);
      if (!found) throw AppError.notFound(`group ${groupId} does not exist`);
      if (found.disbanded) throw AppError.groupDisbanded(groupId);
      if (found.membership) return;
      const [inviter] = await tx.currentMembers(groupId, [inviterId]);
      if (!inviter) throw AppError.memberNotInGroup(inviterId, groupId);
      checkMayInvite(found.group, inviter);
      await this.addMembers(tx, found.group, inviterId, [uid], now);
    });
  }

  /** The owner removes anyone but themselves; an admin removes normal members. Non-members are skipped. */
  async remove(uid: string, groupId: number, memberIds: string[]): Promise<{ memberNum: number; removed: string[] }> {
    return this.change(async (tx, now) => {
      const { group, membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Normal) throw AppError.permissionDenied('only the owner or an admin may remove members');
      const targets = await tx.currentMembers(groupId, distinct(memberIds));
      for (const target of targets) checkMayRemove(membership, target);
      const removed = targets.map((target) => target.uid);
      for (const uids of listsOfBoundedSize(removed)) {
        // The notice first, so that those removed still see it.
        this.notice(tx, groupId, uid, 'kickOut', { operator: uid, members: uids }, now);
        await this.leave(tx, groupId, uid, uids, now);
      }
      return { memberNum: group.memberNum - removed.length, removed };
    });
  }

  /** Any member but the owner, who must hand the group over (change-owner) or disband it. */
  async exit(uid: string, groupId: number): Promise<void> {
    await this.change(async (tx, now) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Owner) {
        throw AppError.permissionDenied('the owner cannot exit the group: hand it over with change-owner first, or disband it');
      }
      this.notice(tx, groupId, uid, 'signOut', { operator: uid }, now);
      await this.leave(tx, groupId, uid, [uid], now);
    });
  }

  async disband(uid: string, groupId: number): Promise<void> {
    await this.change(async (tx, now) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may disband the group');
      this.notice(tx, groupId, uid, 'delete', { operator: uid }, now);
      const id = await tx.appendGroupEvent({ kind: 'disband', groupId, actor: uid, data: { time: now }, createdAt: now });
      await tx.closeMemberships(groupId, id);
      await tx.updateGroup(groupId, { disbandedId: id });
    });
  }

  /** The owner makes a member an admin (1) or a normal member (0); an admin's mute is lifted, as admins cannot be muted. */
  async setMemberType(uid: string, groupId: number, memberId: string, memberType: MemberType): Promise<void> {
    await this.change(async (tx, now) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may change member types');
      const target = await requireMember(tx, groupId, memberId);
      if (target.memberType === MemberType.Owner) throw AppError.permissionDenied("the owner's type changes only with change-owner");
      if (target.memberType === memberType) return;
      await this.changeRole(tx, groupId, uid, memberId, memberType, now);
      if (memberType === MemberType.Admin) await this.unmute(tx, groupId, uid, target, now);
    });
  }

  /** The owner hands the group to another member and becomes a normal member. */
  async changeOwner(uid: string, groupId: number, memberId: string): Promise<void> {
    await this.change(async (tx, now) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType !== MemberType.Owner) throw AppError.permissionDenied('only the owner may hand over the group');
      const target = await requireMember(tx, groupId, memberId);
      if (memberId === uid) return;
      await this.changeRole(tx, groupId, uid, memberId, MemberType.Owner, now);
      await this.changeRole(tx, groupId, uid, uid, MemberType.Normal, now);
      await tx.updateGroup(groupId, { ownerId: memberId });
      await this.unmute(tx, groupId, uid, target, now);
      this.notice(tx, groupId, uid, 'owner', { newOwner: memberId }, now);
    });
  }

  /**
   * The owner or an admin mutes normal members for `durationMs` (at most 24 h), for ever (MUTED_FOREVER), or
   * lifts their mute (0). Returns the members as they are now.
   */
  async setMuteTime(uid: string, groupId: number, memberIds: string[], durationMs: number): Promise<Membership[]> {
    return this.change(async (tx, now) => {
      const { membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Normal) throw AppError.permissionDenied('only the owner or an admin may mute members');
      const uids = distinct(memberIds);
      const targets = await tx.currentMembers(groupId, uids);
      const missing = uids.find((memberId) => !targets.some((target) => target.uid === memberId));
      if (missing !== undefined) throw AppError.memberNotInGroup(missing, groupId);
      const privileged = targets.find((target) => target.memberType !== MemberType.Normal);
      if (privileged) throw AppError.permissionDenied(`the owner and admins cannot be muted, and ${privileged.uid} is one`);
      const mutedUntil = durationMs === 0 || durationMs === MUTED_FOREVER ? durationMs : now + durationMs;
      await tx.updateMembers(groupId, uids, { mutedUntil });
      for (const list of listsOfBoundedSize(uids)) {
        await tx.appendGroupEvent({ kind: 'muteTime', groupId, actor: uid, data: { uids: list, mutedUntil, time: now }, createdAt: now });
        if (mutedUntil !== 0) this.notice(tx, groupId, uid, 'memberMuted', { operator: uid, members: list }, now);
      }
      return targets.map((target) => ({ ...target, mutedUntil }));
    });
  }

  /** A member's own name in the group; no one else is told (dtalk sent no signal). */
  async setMemberName(uid: string, groupId: number, memberName: string): Promise<void> {
    await this.change(async (tx) => {
      await requireMembership(tx, groupId, uid);
      await tx.updateMembers(groupId, [uid], { memberName });
    });
  }

  /**
   * The owner or an admin changes a setting. An empty name or public name leaves it as it is (the dtalk clients
   * send the one they change); a setting set to what it is changes nothing and tells no one.
   */
  async updateSetting(uid: string, groupId: number, change: SettingChange): Promise<void> {
    await this.change(async (tx, now) => {
      const { group, membership } = await requireMembership(tx, groupId, uid);
      if (membership.memberType === MemberType.Normal) throw AppError.permissionDenied('only the owner or an admin may change the group');
      const changes: Record<string, string | number> = {};
      for (const [field, value] of Object.entries(change) as Array<[keyof GroupSettings, string | number | undefined]>) {
        const blankName = (field === 'name' || field === 'publicName') && value === '';
        if (value !== undefined && !blankName && group[field] !== value) changes[field] = value;
      }
      if (Object.keys(changes).length === 0) return;
      await tx.updateGroup(groupId, changes);
      for (const field of ANNOUNCED) {
        if (changes[field] === undefined) continue;
        await tx.appendGroupEvent({ kind: 'setting', groupId, actor: uid, data: settingEvent(field, changes[field], now), createdAt: now });
      }
      if (changes.name !== undefined) this.notice(tx, groupId, uid, 'name', { operator: uid, name: changes.name }, now);
      if (changes.muteType !== undefined) this.notice(tx, groupId, uid, 'muteType', { operator: uid, type: changes.muteType }, now);
    });
  }

  /** Runs a change in one write transaction; the store announces what it committed. */
  private change<T>(work: Work<T>): Promise<T> {
    return this.store.write((tx) => work(tx, this.now()));
  }

  /** New members (those not in yet), their join events and the notices of them, by `inviter`; returns them. */
  private async addMembers(tx: WriteTransaction, group: Group, inviter: string, candidates: string[], now: number): Promise<string[]> {
    const present = new Set((await tx.currentMembers(group.id, candidates)).map((member) => member.uid));
    const uids = candidates.filter((candidate) => !present.has(candidate));
    if (uids.length === 0) return uids;
    this.checkCap(group.memberNum + uids.length);
    for (const list of listsOfBoundedSize(uids)) await this.joinEvent(tx, group.id, inviter, list, now);
    await tx.updateGroup(group.id, { memberNumDelta: uids.length });
    return uids;
  }

  /** One join event (the members' stays start at it) and the notice of it; memberNum is the caller's. */
  private async joinEvent(tx: WriteTransaction, groupId: number, inviter: string, uids: string[], now: number): Promise<void> {
    const joinedId = await tx.appendGroupEvent({ kind: 'join', groupId, actor: inviter, data: { uids, time: now }, createdAt: now });
    await tx.addMembers(groupId, uids, MemberType.Normal, joinedId);
    this.notice(tx, groupId, inviter, 'signIn', { inviter, members: uids }, now);
  }

  /** The leave event comes first, so that those who leave see it as the last event of their stay. */
  private async leave(tx: WriteTransaction, groupId: number, actor: string, uids: string[], now: number): Promise<void> {
    const leftId = await tx.appendGroupEvent({ kind: 'leave', groupId, actor, data: { uids, time: now }, createdAt: now });
    await tx.closeMemberships(groupId, leftId, uids);
    await tx.updateGroup(groupId, { memberNumDelta: -uids.length });
  }

  private async changeRole(tx: WriteTransaction, groupId: number, actor: string, uid: string, memberType: MemberType, now: number): Promise<void> {
    await tx.updateMembers(groupId, [uid], { memberType });
    await tx.appendGroupEvent({ kind: 'role', groupId, actor, data: { uid, memberType, time: now }, createdAt: now });
  }

  /** Lifts a member's mute (one who became an admin or the owner), when there was one. */
  private async unmute(tx: WriteTransaction, groupId: number, actor: string, member: Membership, now: number): Promise<void> {
    if (member.mutedUntil === 0) return;
    await tx.updateMembers(groupId, [member.uid], { mutedUntil: 0 });
    await tx.appendGroupEvent({ kind: 'muteTime', groupId, actor, data: { uids: [member.uid], mutedUntil: 0, time: now }, createdAt: now });
  }

  /** A group notice: a group message (msgType 7) from the member who made the change, as dtalk wrote it. */
  private notice(tx: WriteTransaction, groupId: number, from: string, kind: NoticeKind, fields: Record<string, unknown>, now: number): void {
    const msg = this.encodeNotice(kind, { group: groupId, ...fields });
    tx.queueMessage(
      from,
      { channelType: ChannelType.ToGroup, msgId: `notice-${randomUUID()}`, targetId: String(groupId), msgType: NOTICE_MSG_TYPE, msg },
      now,
      [],
    );
  }

  private checkCap(memberNum: number): void {
    if (memberNum > this.maxGroupMembers) {
      throw AppError.invalidParams(`a group holds at most ${this.maxGroupMembers} members (this would make ${memberNum})`);
    }
  }
}

function settingEvent(field: (typeof ANNOUNCED)[number], value: string | number, time: number): SettingEventData {
  return field === 'name' || field === 'avatar' ? { field, value: String(value), time } : { field, value: Number(value), time };
}

function distinct(uids: string[]): string[] {
  return [...new Set(uids)];
}

/** A short number for people to pass around: 8 digits, as dtalk made it, free among all groups ever made. */
async function freeMarkId(tx: WriteTransaction): Promise<string> {
  for (;;) {
    const markId = String(randomInt(10_000_000, 100_000_000));
    if (!(await tx.isMarkIdTaken(markId))) return markId;
  }
}
