import type { StoredMessage, StreamEvent } from '../domain.js';
import type { Store } from '../store/store.js';
import { requireMembership } from './group-access.js';

export interface StreamPage {
  events: StreamEvent[];
  /** The position to pass as `start` next: the last event returned, or `start` when none was. */
  nextStart: number;
  hasMore: boolean;
}

/** Reading: the caller's event stream (sync) and conversation history. */
export class RecordService {
  constructor(private readonly store: Store) {}

  async sync(uid: string, start: number, count: number): Promise<StreamPage> {
    // One extra row answers has_more without a second query.
    const events = await this.store.readStream(uid, start, count + 1);
    const hasMore = events.length > count;
    const page = hasMore ? events.slice(0, count) : events;
    return { events: page, nextStart: page.at(-1)?.id ?? start, hasMore };
  }

  /** Where the user's stream ends now: a socket without `since` starts there. */
  latestPosition(uid: string): Promise<number> {
    return this.store.latestPosition(uid);
  }

  /** The ids of the groups the user belongs to now. */
  async groupIdsOf(uid: string): Promise<number[]> {
    return (await this.store.listGroupsOf(uid)).map((group) => group.id);
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
