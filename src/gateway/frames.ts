import type { StreamEvent } from '../domain.js';
import type { ChatlogEvent, GroupFrame, MessageRecordFields } from '../contract/index.js';
import { wireMuteTime, type Codec } from '../proto/codec.js';

/** The JSON frame of a stream event (API.md §6); every one carries its stream position `id`. */
export function eventFrame(event: StreamEvent, codec: Codec): ChatlogEvent<MessageRecordFields, number | bigint> {
  const { id } = event;
  switch (event.kind) {
    case 'message':
      return { type: 'message', id, record: codec.messageRecordJson(event.message) };
    case 'received': {
      // API.md §9: the peer's devices have everything of this conversation up to logId; logIds lists them.
      const { peer, mids } = event.data;
      return { type: 'delivered', id, targetId: peer, uid: peer, logId: String(Math.max(...mids)), logIds: mids.map(String) };
    }
    case 'read': {
      const { channelType, targetId, uid, logId } = event.data;
      return { type: 'read', id, channelType, targetId, uid, logId: String(logId) };
    }
    case 'conversation': {
      const { channelType, targetId, muted, pinned } = event.data;
      return { type: 'conversation', id, channelType, targetId, muted, pinned };
    }
    case 'revoke':
      return { type: 'revoke', id, logId: String(event.mid), channelType: event.channelType, operator: event.data.operator, self: event.data.self };
    case 'focus':
      return {
        type: 'focus',
        id,
        logId: String(event.mid),
        channelType: event.channelType,
        uid: event.data.uid,
        currentNum: event.data.currentNum,
        time: event.data.time,
      };
    case 'join':
    case 'leave':
      return { type: 'group', id, event: event.kind, groupId: event.groupId, uids: event.data.uids };
    case 'disband':
      return { type: 'group', id, event: 'disband', groupId: event.groupId, uids: [] };
    case 'role':
      return { type: 'group', id, event: 'role', groupId: event.groupId, uids: [event.data.uid], memberType: event.data.memberType };
    case 'muteTime':
      return { type: 'group', id, event: 'muteTime', groupId: event.groupId, uids: event.data.uids, memberMuteTime: wireMuteTime(event.data.mutedUntil) };
    case 'setting':
      return { type: 'group', id, event: event.data.field, groupId: event.groupId, uids: [], [event.data.field]: event.data.value } as GroupFrame<
        number | bigint
      >;
  }
}
