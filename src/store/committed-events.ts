/** Committed events as the bus announces them: each with whom it concerns, from the write path or read back. */
import { ChannelType, type CommittedEvent, type StreamEvent } from '../domain.js';

/**
 * A committed event and whom it concerns, from the event itself: the parties of a private event (its inbox
 * rows), or the members of its group, plus the uids a membership change names. `groupId`: the group of a revoke
 * or a mark of a group message.
 */
export function committedEvent(event: StreamEvent, recipients: string[], groupId?: number): CommittedEvent {
  switch (event.kind) {
    case 'message':
      return event.message.channelType === ChannelType.ToGroup
        ? { id: event.id, groupId: Number(event.message.targetId), event }
        : { id: event.id, uids: recipients, event };
    case 'join':
    case 'leave':
      return { id: event.id, groupId: event.groupId, uids: event.data.uids, membership: { kind: event.kind, uids: event.data.uids }, event };
    case 'disband':
      return { id: event.id, groupId: event.groupId, membership: { kind: 'disband', uids: [] }, event };
    case 'role':
    case 'muteTime':
    case 'setting':
      return { id: event.id, groupId: event.groupId, event };
    default:
      return groupId === undefined ? { id: event.id, uids: recipients, event } : { id: event.id, uids: recipients, groupId, event };
  }
}
