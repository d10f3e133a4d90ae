/** The JSON of groups and members (API.md §5) the group routes answer with, and the examples of the OpenAPI document. */
import type { GroupInfo, GroupMember } from '../../contract/index.js';
import type { Membership } from '../../domain.js';
import { wireMuteTime } from '../../proto/codec.js';
import type { GroupView } from '../../services/group-queries.js';

/** GroupMember (API.md §5). */
export const memberJson = (member: Membership): GroupMember<number | bigint> => ({
  memberId: member.uid,
  memberName: member.memberName,
  memberType: member.memberType,
  memberMuteTime: wireMuteTime(member.mutedUntil),
});

/** GroupInfo (API.md §5): the key only for members, and `person` only when the caller is one. */
export function groupJson({ group, facts, disbanded }: GroupView, maximum: number, { withKey }: { withKey: boolean }): GroupInfo<number | bigint> {
  return {
    id: group.id,
    idStr: String(group.id),
    markId: group.markId,
    name: group.name,
    publicName: group.publicName,
    avatar: group.avatar,
    introduce: group.introduce,
    owner: memberJson(facts.owner),
    ...(facts.person && { person: memberJson(facts.person) }),
    memberNum: group.memberNum,
    maximum,
    status: disbanded ? 2 : 0,
    createTime: group.createdAt,
    joinType: group.joinType,
    muteType: group.muteType,
    friendType: group.friendType,
    muteNum: facts.muteNum,
    adminNum: facts.adminNum,
    ...(withKey && { key: group.key }),
    groupType: group.groupType,
  };
}

export const memberExample = { memberId: 'alice', memberName: '', memberType: 2, memberMuteTime: 0 };
export const membersExample = [memberExample, { memberId: 'bob', memberName: 'Bob', memberType: 0, memberMuteTime: 0 }];
export const infoExample = {
  id: 7,
  idStr: '7',
  markId: '48213307',
  name: 'team',
  publicName: 'team',
  avatar: '',
  introduce: '',
  owner: memberExample,
  person: memberExample,
  memberNum: 2,
  maximum: 10000,
  status: 0,
  createTime: 1764100000000,
  joinType: 0,
  muteType: 0,
  friendType: 0,
  muteNum: 0,
  adminNum: 0,
  key: '3f0c8e1a9b7d4c2e5f6a1b0c9d8e7f6a',
  groupType: 0,
};
