import type { CommittedEvent, StoredMessage, StreamEvent } from '../domain.js';
import type { Store } from '../store/store.js';
import { requireMembership } from './group-access.js';

export interface StreamPage {
  events: StreamEvent[];
  /** The position to pass as `start` next: the last event returned, or `start` when none was. */
  nextStart: number;
  hasMore: boolean;
}

/** About what an event weighs as a record: its body and strings, or its data, and the envelope. */
function encodedSize(event: StreamEvent): number {
  if (event.kind !== 'message') return JSON.stringify(event.data).length + 48;
  const { message } = event;
  return (
    (message.msg?.length ?? 0) + message.msgId.length + message.senderId.length + message.targetId.length + JSON.stringify(message.source ?? {}).length + 64
  );
}

/** Reading: the caller's event stream (sync) and conversation history. */
export class RecordService {
  /** `maxPageBytes`: the most a sync page holds, in bytes of its records (before base64). */
  constructor(
    private readonly store: Store,
    private readonly options: { maxPageBytes: number },
  ) {}

  /**
   * At most `count` events, and at most about `maxPageBytes` of them: a page is cut early (has_more) rather
   * than grow without bound, but always holds at least one event, so that paging moves on.
   */
  async sync(uid: string, start: number, count: number): Promise<StreamPage> {
    // One extra row answers has_more without a second query.
    const events = await this.store.readStream(uid, start, count + 1);
    let end = Math.min(events.length, count);
    let bytes = 0;
    for (let i = 0; i < end; i++) {
      bytes += encodedSize(events[i]!);
      if (bytes > this.options.maxPageBytes && i > 0) end = i;
    }
    const page = events.slice(0, end);
    return { events: page, nextStart: page.at(-1)?.id ?? start, hasMore: events.length > end };
  }

  /** Where the user's stream ends now: a socket without `since` starts there. */
  latestPosition(uid: string): Promise<number> {
    return this.store.latestPosition(uid);
  }

  /** Where the event log of everyone ends: every event up to it is committed and visible. */
  lastEventId(): Promise<number> {
    return this.store.lastEventId();
  }

  /** Events committed in (afterId, lastId] with whom they concern, for an instance that missed them; undefined past `limit`. */
  readCommitted(afterId: number, lastId: number, limit: number): Promise<CommittedEvent[] | undefined> {
    return this.store.readCommitted(afterId, lastId, limit);
  }

  /** The user's current stays in groups: group id to the id of the event the stay began with. */
  currentStaysOf(uid: string): Promise<Map<number, number>> {
    return this.store.currentStaysOf(uid);
  }

  privateHistory(uid: string, peerId: string, beforeId: number | undefined, count: number): Promise<StoredMessage[]> {
    return this.store.privateHistory(uid, peerId, beforeId, count);
  }

  /** Members only, and only what was sent since they joined. */
  async groupHistory(uid: string, groupId: number, beforeId: number | undefined, count: number): Promise<StoredMessage[]> {
    const { membership } = await requireMembership(this.store, groupId, uid);
    return this.store.groupHistory(groupId, membership.joinedId, beforeId, count);
  }
}
