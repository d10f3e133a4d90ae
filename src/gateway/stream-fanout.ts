/**
 * The stream fan-out: which online subscriber gets which committed event, live or by a read. Longer than most
 * modules (about 340 lines) because a user's stays in groups, their cursors and the read-or-live decision change
 * together on every event and must be seen in one place to be seen correct.
 */
import type { Logger } from 'pino';
import type { EventBus, Notification } from '../bus/event-bus.js';
import type { CommittedEvent } from '../domain.js';
import type { RecordService } from '../services/record-service.js';
import { CommitSequencer } from './commit-sequencer.js';
import { OutgoingEvent } from './outgoing-event.js';

/** One live connection of one user, whatever its wire protocol (JSON /ws, binary comet /sub). */
export interface Subscriber {
  readonly uid: string;
  /**
   * Writes one event; false when it was not written: the connection is gone (and has closed itself), or it
   * holds all it may for now and calls `StreamFanout.resume` once it can take more.
   */
  deliver(event: OutgoingEvent): boolean;
  isOpen(): boolean;
  /** The stream could not be read: close, so that the client resumes from where it was. */
  fail(): void;
}

/** A user with subscribers here. */
interface OnlineUser {
  uid: string;
  cursors: Map<Subscriber, Cursor>;
  /** The user's current stays in groups: group id to the id the stay began at. */
  stays: Map<number, number>;
  /** Settles once the stays were read from the database; a cursor reads the stream only after that. */
  staysRead: Promise<void>;
  staysFailed: boolean;
  /** For each read of the stays in flight, the groups whose stay a live event changed meanwhile (the newer truth). */
  staysChanging: Set<Set<number>>;
}

/** Where a subscriber is in its user's stream. */
interface Cursor {
  subscriber: Subscriber;
  user: OnlineUser;
  /** The id of the last event delivered (or the position the subscriber started from). */
  position: number;
  /** Catching up from the database; live events meanwhile only set `dirty`. */
  pumping: boolean;
  /** Something concerning it was committed since the running catch-up last read. */
  dirty: boolean;
  /** The subscriber refused the next event for now; nothing is sent to it until it resumes. */
  blocked: boolean;
}

/** What the fan-out does, counted (metrics); every method may be left out. */
export interface FanoutObserver {
  /** An event was written to a socket, from a notification or from a database read. */
  delivered?(source: 'live' | 'database'): void;
  /** A page of a stream was read from the database. */
  streamRead?(): void;
  /** Events went unannounced too long: every socket here reads its stream. */
  gap?(): void;
}

export interface StreamFanoutOptions {
  /** Events read from the database per query while a subscriber catches up. */
  readPage: number;
  /** How long delivery waits for a missing notification before reading from the database. */
  gapMs: number;
  /** False: every event is read back from the database by each socket it concerns, as if none were carried. */
  live: boolean;
  /** Told of what the fan-out does, for metrics. */
  observer?: FanoutObserver;
  /** Sees every notification before it is applied and passes it on (or not): tests lose and reorder them. */
  intercept?: (notification: Notification, pass: (notification: Notification) => void) => void;
}

/**
 * Keeps every subscriber level with its user's stream. Committed events come with their notification, in id
 * order (CommitSequencer), and a subscriber that is up to date gets them from there: the event encoded once per
 * protocol for all its sockets, no database read. The database is read only to catch up: when a subscriber
 * starts, after it refused an event, for an event too large to carry, and for everyone after a gap. Live
 * delivery and catch-up never overlap for one subscriber, and both go by its position, so events arrive in id
 * order without gap or repeat whatever happens to notifications.
 */
export class StreamFanout {
  private readonly users = new Map<string, OnlineUser>();
  /** For each group, the online users with a current stay in it: whom its events may concern. */
  private readonly uidsOfGroup = new Map<number, Set<string>>();
  private readonly sequencer: CommitSequencer;
  /** Counts applied batches and resyncs; a read shared between subscribers must have started after their wake. */
  private generation = 0;
  /** Reads in flight, by generation, position and uid: a user's devices at one position share one query. */
  private readonly reads = new Map<string, Promise<{ events: OutgoingEvent[]; hasMore: boolean }>>();

  constructor(
    private readonly records: RecordService,
    bus: EventBus,
    private readonly logger: Logger,
    private readonly options: StreamFanoutOptions,
  ) {
    this.sequencer = new CommitSequencer({
      gapMs: options.gapMs,
      // Seldom enough to cost nothing, often enough that an unannounced event is late by seconds, not for ever.
      probeMs: Math.max(5 * options.gapMs, 1000),
      shouldProbe: () => this.users.size > 0,
      lastEventId: () => records.lastEventId(),
      // No more than a page of each subscriber's own read: past that, reading every stream is cheaper.
      readCommitted: (afterId, lastId) => records.readCommitted(afterId, lastId, options.readPage),
      apply: (events) => this.apply(events),
      missed: () => options.observer?.gap?.(),
      skipped: () => this.resync(),
      logger,
    });
    const receive = (notification: Notification) => this.sequencer.receive(notification);
    bus.subscribe({
      onNotification: (notification) => (options.intercept ? options.intercept(notification, receive) : receive(notification)),
      onResync: () => this.sequencer.lost(),
    });
  }

  /** Learns where the event log ends; subscribers attach after this. */
  start(): Promise<void> {
    return this.sequencer.start();
  }

  stop(): void {
    this.sequencer.stop();
  }

  /**
   * Starts a subscriber: with `since`, it first gets every event after it, then `onReady(position)`; without,
   * `onReady` comes first, with the end of the stream, and live events follow.
   */
  async attach(subscriber: Subscriber, since: number | undefined, onReady: (position: number) => void): Promise<void> {
    const user = this.users.get(subscriber.uid) ?? this.addUser(subscriber.uid);
    if (user.staysFailed) this.readStays(user);
    // Registered before anything is read, so that no commit from now on goes unnoticed; live events during the
    // start only mark the cursor dirty, and the start ends by catching up on them.
    const cursor: Cursor = { subscriber, user, position: since ?? 0, pumping: true, dirty: false, blocked: false };
    user.cursors.set(subscriber, cursor);
    try {
      if (since === undefined) {
        cursor.position = await this.records.latestPosition(user.uid);
        onReady(cursor.position);
      }
      // Read once the stays are known: an event of a group not yet among them reached nobody; this read finds it.
      await user.staysRead;
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
    const user = this.users.get(subscriber.uid);
    if (!user?.cursors.delete(subscriber) || user.cursors.size > 0) return;
    this.users.delete(user.uid);
    for (const groupId of [...user.stays.keys()]) this.removeStay(user, groupId);
  }

  /** A subscriber that refused an event can take more: it gets what it refused and what came since. */
  resume(subscriber: Subscriber): void {
    const cursor = this.users.get(subscriber.uid)?.cursors.get(subscriber);
    if (!cursor?.blocked) return;
    cursor.blocked = false;
    void this.pump(cursor);
  }

  /** Committed events, in id order, each once: to the sockets they concern that are up to date. */
  private apply(events: CommittedEvent[]): void {
    this.generation++;
    for (const committed of events) {
      const outgoing = this.options.live && committed.event ? new OutgoingEvent(committed.event) : undefined;
      for (const user of this.audience(committed)) {
        for (const cursor of user.cursors.values()) this.offer(cursor, committed.id, outgoing);
      }
      this.applyMembership(committed);
    }
  }

  /** The online users whose stream holds the event: its parties, and members whose current stay covers it. */
  private audience({ id, uids, groupId, event }: CommittedEvent): Set<OnlineUser> {
    const audience = new Set<OnlineUser>();
    for (const uid of uids ?? []) {
      const user = this.users.get(uid);
      if (user) audience.add(user);
    }
    if (groupId === undefined) return audience;
    // A revoke or focus of a message from before the stay is not the member's business (as stream.readStream).
    const mid = event?.kind === 'revoke' || event?.kind === 'focus' ? event.mid : undefined;
    for (const uid of this.uidsOfGroup.get(groupId) ?? []) {
      const user = this.users.get(uid)!;
      const joinedId = user.stays.get(groupId)!;
      if (joinedId <= id && (mid === undefined || mid >= joinedId)) audience.add(user);
    }
    return audience;
  }

  private offer(cursor: Cursor, id: number, outgoing: OutgoingEvent | undefined): void {
    if (cursor.position >= id) return;
    // Not carried, or the cursor is reading or waiting: the database has it, after the cursor's position.
    if (!outgoing || cursor.pumping || cursor.blocked) return void this.pump(cursor);
    let delivered: boolean;
    try {
      delivered = cursor.subscriber.deliver(outgoing);
    } catch (err) {
      // One socket's trouble stays with it: the others get the event, this one resumes from its position.
      cursor.blocked = true;
      return this.fail(cursor, err);
    }
    if (!delivered) {
      cursor.blocked = true;
      return;
    }
    cursor.position = id;
    this.options.observer?.delivered?.('live');
  }

  /** Keeps the stays of online users in step, in id order, so that the audience of every later event is exact. */
  private applyMembership({ id, groupId, membership }: CommittedEvent): void {
    if (groupId === undefined || membership === undefined) return;
    const uids = membership.kind === 'disband' ? [...(this.uidsOfGroup.get(groupId) ?? [])] : membership.uids;
    for (const uid of uids) {
      const user = this.users.get(uid);
      if (!user) continue;
      for (const changing of user.staysChanging) changing.add(groupId);
      if (membership.kind === 'join') this.setStay(user, groupId, id);
      else this.removeStay(user, groupId);
    }
  }

  /** Something may have been missed by everyone here: every user's stays and stream are read again. */
  private resync(): void {
    this.generation++;
    for (const user of this.users.values()) {
      this.readStays(user);
      for (const cursor of user.cursors.values()) void this.pump(cursor);
    }
  }

  private addUser(uid: string): OnlineUser {
    const user: OnlineUser = { uid, cursors: new Map(), stays: new Map(), staysRead: Promise.resolve(), staysFailed: false, staysChanging: new Set() };
    this.users.set(uid, user);
    this.readStays(user);
    return user;
  }

  /**
   * Reads the user's stays. Live membership changes keep applying meanwhile; for a group one of them touched,
   * it is newer than what the read saw, and wins.
   */
  private readStays(user: OnlineUser): void {
    const changed = new Set<number>();
    user.staysChanging.add(changed);
    user.staysFailed = false;
    user.staysRead = this.records
      .currentStaysOf(user.uid)
      .then((stays) => {
        if (this.users.get(user.uid) !== user) return;
        for (const [groupId, joinedId] of stays) if (!changed.has(groupId)) this.setStay(user, groupId, joinedId);
        for (const groupId of [...user.stays.keys()]) if (!stays.has(groupId) && !changed.has(groupId)) this.removeStay(user, groupId);
      })
      .finally(() => user.staysChanging.delete(changed));
    // Whoever waits for it sees the failure; a later attach reads again.
    user.staysRead.catch(() => (user.staysFailed = true));
  }

  private setStay(user: OnlineUser, groupId: number, joinedId: number): void {
    user.stays.set(groupId, joinedId);
    let uids = this.uidsOfGroup.get(groupId);
    if (!uids) this.uidsOfGroup.set(groupId, (uids = new Set()));
    uids.add(user.uid);
  }

  private removeStay(user: OnlineUser, groupId: number): void {
    user.stays.delete(groupId);
    const uids = this.uidsOfGroup.get(groupId);
    uids?.delete(user.uid);
    if (uids?.size === 0) this.uidsOfGroup.delete(groupId);
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
        await cursor.user.staysRead;
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
        this.options.observer?.delivered?.('database');
        cursor.position = event.id;
      }
      if (!page.hasMore) return;
    }
  }

  /**
   * The stream after `position`. Subscribers of one user woken together ask for the same page: one query serves
   * them all. Only a read started in the current generation is shared, so that it includes what woke them.
   */
  private read(uid: string, position: number): Promise<{ events: OutgoingEvent[]; hasMore: boolean }> {
    const key = `${this.generation} ${position} ${uid}`;
    let page = this.reads.get(key);
    if (!page) {
      this.options.observer?.streamRead?.();
      page = this.records
        .sync(uid, position, this.options.readPage)
        .then(({ events, hasMore }) => ({ events: events.map((event) => new OutgoingEvent(event)), hasMore }))
        .finally(() => this.reads.delete(key));
      this.reads.set(key, page);
    }
    return page;
  }

  private fail(cursor: Cursor, err: unknown): void {
    // Usually the database went away; the client resumes where it was.
    this.logger.warn({ err, uid: cursor.subscriber.uid }, 'closing a connection that could not be brought up to date');
    if (cursor.subscriber.isOpen()) cursor.subscriber.fail();
  }
}
