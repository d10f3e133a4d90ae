/** Groups on the wire (API.md §5): the group API's shapes, as dtalk's group.api has them. */

export const MemberType = { Normal: 0, Admin: 1, Owner: 2 } as const;
export type MemberType = (typeof MemberType)[keyof typeof MemberType];

/** Who may add members: anyone, only the owner and admins, or (for others) with approval. */
export const JoinType = { Anyone: 0, AdminsOnly: 1, Approval: 2 } as const;
export type JoinType = (typeof JoinType)[keyof typeof JoinType];

/** Who may post: everyone, or only the owner and admins. */
export const MuteType = { Everyone: 0, AdminsOnly: 1 } as const;
export type MuteType = (typeof MuteType)[keyof typeof MuteType];

/** Whether members may add each other as friends. */
export const FriendType = { Allowed: 0, Denied: 1 } as const;
export type FriendType = (typeof FriendType)[keyof typeof FriendType];

/**
 * A member (API.md §5). `memberMuteTime`: muted until then (ms); 0 not muted; for ever is dtalk's
 * 9223372036854775807, which JSON.parse reads as 2^63 (compare with MUTED_FOREVER).
 */
export interface GroupMember<Int64 = number> {
  memberId: string;
  memberName: string;
  memberType: MemberType;
  memberMuteTime: Int64;
}

/**
 * dtalk's "for ever" as the server writes it: the largest int64, which no JavaScript number holds (the server
 * writes it as a bigint, exactly).
 */
export const WIRE_MUTED_FOREVER = 9223372036854775807n;

/** What `memberMuteTime` of a member muted for ever reads as after JSON.parse. */
export const MUTED_FOREVER = 2 ** 63;

export interface CreateGroupRequest {
  name?: string;
  avatar?: string;
  introduce?: string;
  memberIds?: string[];
}

/** A group (API.md §5). `key` and `person` only for members. */
export interface GroupInfo<Int64 = number> {
  id: number;
  idStr: string;
  /** The short number people share. */
  markId: string;
  /** The name members see (dtalk clients encrypt it with `key`); `publicName` is what anyone sees. */
  name: string;
  publicName: string;
  avatar: string;
  introduce: string;
  owner: GroupMember<Int64>;
  /** The caller, when a member. */
  person?: GroupMember<Int64>;
  memberNum: number;
  maximum: number;
  /** 0 normal, 1 blocked, 2 disbanded. */
  status: number;
  createTime: number;
  /** 0 anyone may invite, 1 owner and admins, 2 owner and admins (others would need approval). */
  joinType: JoinType;
  /** 0 everyone posts, 1 owner and admins only. */
  muteType: MuteType;
  friendType: FriendType;
  muteNum: number;
  adminNum: number;
  /** The symmetric key members encrypt group messages with (32 hex digits); members only. */
  key?: string;
  groupType: number;
}

export interface GroupDetails<Int64 = number> extends GroupInfo<Int64> {
  members: Array<GroupMember<Int64>>;
}
export interface InviteResult {
  id: number;
  idStr: string;
  memberNum: number;
}
export interface RemoveResult {
  memberNum: number;
  memberIds: string[];
}
export interface GroupList {
  groups: GroupInfo[];
}
export interface GroupMembers {
  id: number;
  idStr: string;
  members: GroupMember[];
}
export type GroupSettingChange =
  { name?: string; publicName?: string } | { avatar: string } | { joinType: 0 | 1 | 2 } | { friendType: 0 | 1 } | { muteType: 0 | 1 };
