import type { Logger } from 'pino';
import type { EventBus, Notification } from '../bus/event-bus.js';
import type { StreamEvent } from '../domain.js';
import type { RecordService, StreamPage } from '../services/record-service.js';

/** One live connection of one user, whatever its wire protocol (JSON /ws, binary comet /sub). */
export interface Subscriber {
  readonly uid: string;
  /**
   * Writes one event; false when it was not written: the connection is gone (and has closed itself), or it
   * holds all it may for now and calls `StreamFanout.resume` once it can take more.
   */
  deliver(event: StreamEvent): boolean;
  isOpen(): boolean;
  /** The stream could not be read: close, so that the client resumes from where it was. */
  fail(): void;
}

/** Where a subscriber is in its user's stream. */
interface Cursor {
  subscriber: Subscriber;
  /** The id of the last event delivered (or the position the subscriber started from). */
  position: number;
  /** A catch-up from the database is running; wakes meanwhile only set `dirty`. */
  pumping: boolean;
  /** Something was committed since the running catch-up last read. */
  dirty: boolean;
  /** The subscriber refused the next event for now; nothing is read for it until it resumes. */
  blocked: boolean;
}

/**
 * Keeps every subscriber level with its user's stream. Every event comes from the database, read after the
 * subscriber's position, so events arrive in id order without gap or repeat whatever order notifications come
 * in; a notification only says "read again" to the subscribers it concerns, and a resync says it to all.
 */
export class StreamFanout {
  private readonly cursors = new Map<string, Map<Subscriber, Cursor>>();
  /** The groups of every user with a subscriber here, and the reverse: whom a group notification wakes. */
  private readonly groupsOfUid = new Map<string, Set<number>>();
  private readonly uidsOfGroup = new Map<number, Set<string>>();
  /** Counts notifications and resyncs; a read shared between subscribers must have started after their wake. */
  private generation = 0;
  /** Reads in flight, by generation, position and uid: a user's devices at one position share one query. */
  private readonly reads = new Map<string, Promise<StreamPage>>();

  constructor(
    private readonly records: RecordService,
    bus: EventBus,
    private readonly logger: Logger,
    private readonly options: {
      /** Events read from the database per query while a subscriber catches up. */
      readPage: number;
      /** Told of every event delivered, whatever the protocol, for metrics. */
      onDelivered?: () => void;
    },
  ) {
    bus.subscribe({
      onNotification: (notification) => this.onNotification(notification),
      onResync: () => {
        this.generation++;
        for (const cursors of this.cursors.values()) for (const cursor of cursors.values()) void this.pump(cursor);
      },
    });
  }

  /**
   * Starts a subscriber: with `since`, it first gets every event after it, then `onReady(position)`; without,
   * `onReady` comes first, with the end of the stream, and live events follow.
   */
  async attach(subscriber: Subscriber, since: number | undefined, onReady: (position: number) => void): Promise<void> {
    // Registered before anything is read, so that no commit from now on goes unnoticed; wakes during the start
    // only mark the cursor dirty, and the start ends by catching up on them.
    const cursor: Cursor = { subscriber, position: since ?? 0, pumping: true, dirty: false, blocked: false };
    const uid = subscriber.uid;
    let cursors = this.cursors.get(uid);
    if (!cursors) this.cursors.set(uid, (cursors = new Map()));
    cursors.set(subscriber, cursor);
    try {
      if (since === undefined) {
        cursor.position = await this.records.latestPosition(uid);
        onReady(cursor.position);
      }
      for (const groupId of await this.records.groupIdsOf(uid)) this.index(uid, groupId);
      // Read once the groups are indexed, with or without `since`: a group event committed after the position
      // was read, and announced before its group was indexed here, woke nobody; this read finds it.
      await this.catchUp(cursor);
      if (since !== undefined && subscriber.isOpen()) onReady(cursor.position);
    } catch (err) {
      this.fail(cursor, err);
      return;
    }
    cursor.pumping = false;
    if (cursor.dirty) void this.pump(cursor);
  }

  detach(subscriber: Subscriber): void {
    const cursors = this.cursors.get(subscriber.uid);
    cursors?.delete(subscriber);
    if (cursors?.size !== 0) return;
    this.cursors.delete(subscriber.uid);
    for (const groupId of this.groupsOfUid.get(subscriber.uid) ?? []) this.unindex(subscriber.uid, groupId);
    this.groupsOfUid.delete(subscriber.uid);
  }

  /** A subscriber that refused an event can take more: it gets what it refused and what came since. */
  resume(subscriber: Subscriber): void {
    const cursor = this.cursors.get(subscriber.uid)?.get(subscriber);
    if (!cursor?.blocked) return;
    cursor.blocked = false;
    void this.pump(cursor);
  }

  /** Reads the stream after the position and delivers it, until nothing new is left. One pump per subscriber. */
  private async pump(cursor: Cursor): Promise<void> {
    if (cursor.pumping || cursor.blocked) {
      cursor.dirty = true;
      return;
    }
    cursor.pumping = true;
    try {
      do {
        cursor.dirty = false;
        await this.catchUp(cursor);
      } while (cursor.dirty && !cursor.blocked && cursor.subscriber.isOpen());
    } catch (err) {
      this.fail(cursor, err);
    } finally {
      cursor.pumping = false;
    }
  }

  private async catchUp(cursor: Cursor): Promise<void> {
    const { subscriber } = cursor;
    for (;;) {
      const page = await this.read(subscriber.uid, cursor.position);
      for (const event of page.events) {
        if (!subscriber.deliver(event)) {
          cursor.blocked = true;
          return;
        }
        this.options.onDelivered?.();
        cursor.position = event.id;
        // The stream itself says when the user joined a group, whatever became of the join's notification.
        if (event.kind === 'join' && event.data.uids.includes(subscriber.uid)) this.index(subscriber.uid, event.groupId);
      }
      if (!page.hasMore) return;
    }
  }

  /**
   * The stream after `position`. Subscribers of one user woken together ask for the same page: one query serves
   * them all. Only a read started in the current generation is shared, so that it includes what woke them.
   */
  private read(uid: string, position: number): Promise<StreamPage> {
    const key = `${this.generation} ${position} ${uid}`;
    let page = this.reads.get(key);
    if (!page) {
      page = this.records.sync(uid, position, this.options.readPage).finally(() => this.reads.delete(key));
      this.reads.set(key, page);
    }
    return page;
  }

  private onNotification(notification: Notification): void {
    this.generation++;
    const woken = new Set<string>(notification.uids ?? []);
    if (notification.groupId !== undefined) {
      for (const uid of this.uidsOfGroup.get(notification.groupId) ?? []) woken.add(uid);
    }
    this.applyMembership(notification);
    for (const uid of woken) {
      for (const cursor of this.cursors.get(uid)?.values() ?? []) {
        if (cursor.position < notification.id) void this.pump(cursor);
      }
    }
  }

  /** Keeps the group index in step; a stale entry only wakes a subscriber that then reads nothing new. */
  private applyMembership({ groupId, membership }: Notification): void {
    if (groupId === undefined || membership === undefined) return;
    const uids = membership.kind === 'disband' ? [...(this.uidsOfGroup.get(groupId) ?? [])] : membership.uids;
    for (const uid of uids) {
      if (membership.kind === 'join') this.index(uid, groupId);
      else this.unindex(uid, groupId);
    }
  }

  /** Notes that a user with subscribers here is in a group. */
  private index(uid: string, groupId: number): void {
    if (!this.cursors.has(uid)) return;
    let groups = this.groupsOfUid.get(uid);
    if (!groups) this.groupsOfUid.set(uid, (groups = new Set()));
    groups.add(groupId);
    let uids = this.uidsOfGroup.get(groupId);
    if (!uids) this.uidsOfGroup.set(groupId, (uids = new Set()));
    uids.add(uid);
  }

  private unindex(uid: string, groupId: number): void {
    this.groupsOfUid.get(uid)?.delete(groupId);
    const uids = this.uidsOfGroup.get(groupId);
    uids?.delete(uid);
    if (uids?.size === 0) this.uidsOfGroup.delete(groupId);
  }

  private fail(cursor: Cursor, err: unknown): void {
    // Usually the database went away; the client resumes where it was.
    this.logger.warn({ err, uid: cursor.subscriber.uid }, 'closing a connection that could not be brought up to date');
    if (cursor.subscriber.isOpen()) cursor.subscriber.fail();
  }
}
