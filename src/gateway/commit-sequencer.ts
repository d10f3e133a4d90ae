import type { Logger } from 'pino';
import type { CommittedBatch, CommittedEvent } from '../domain.js';

export interface CommitSequencerOptions {
  /** How long a batch that starts past the watermark waits for the ones before it. */
  gapMs: number;
  /**
   * How often the database's last id is compared with the watermark (while `shouldProbe` says anyone listens):
   * a lost notification with no later one to reveal it is found this way.
   */
  probeMs: number;
  shouldProbe(): boolean;
  lastEventId(): Promise<number>;
  /** The events committed in (afterId, lastId], read back: undefined when there are too many to be worth it. */
  readCommitted(afterId: number, lastId: number): Promise<CommittedEvent[] | undefined>;
  /** Events to apply, in id order, each id once. */
  apply(events: CommittedEvent[]): void;
  /** Ids were not announced in time (counted); their events are read back in one go, or by everyone (`skipped`). */
  missed(): void;
  /** The watermark jumped over ids whose events were never applied: whatever they concerned must be read back. */
  skipped(): void;
  logger: Logger;
}

/**
 * Puts committed batches back in id order. They come from every instance through the bus, each with the id range
 * it took; ids are dense, so the watermark (every batch up to it applied) only moves through contiguous ranges,
 * and a batch that starts past it reveals a gap at once. It waits for the batches before it for `gapMs` at most;
 * then, or when the bus says notifications were lost, or when the database holds ids no batch announced, the
 * missing range is read back from the database once and applied as a batch of its own. Only when that fails, or
 * the range holds too many events, does the watermark jump and leave the range to every subscriber's own read.
 */
export class CommitSequencer {
  private watermark = 0;
  private started = false;
  /** Batches that arrived before those ahead of them, by the id they follow. */
  private readonly waiting = new Map<number, CommittedBatch>();
  private gapTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** The end of the range being read back, if one is. */
  private filling: number | undefined;

  constructor(private readonly options: CommitSequencerOptions) {}

  /** Starts from the database's last id: nobody here has seen anything before it. */
  async start(): Promise<void> {
    this.watermark = await this.options.lastEventId();
    this.started = true;
    this.rebase();
    this.drain();
    this.probeTimer = setInterval(() => void this.probe(), this.options.probeMs);
    this.probeTimer.unref();
  }

  stop(): void {
    clearInterval(this.probeTimer);
    clearTimeout(this.gapTimer);
  }

  receive(batch: CommittedBatch): void {
    if (this.started && batch.last <= this.watermark) return;
    // Its range is known, its events are not: nothing is gained by waiting for the batches before it.
    if (batch.incomplete) return this.skipTo(batch.last);
    this.waiting.set(batch.after, batch);
    this.rebase();
    this.drain();
  }

  /** Notifications may have been lost (the bus reconnected): whatever the database has beyond the watermark is read back. */
  lost(): void {
    this.options.lastEventId().then(
      (last) => this.skipTo(last),
      (err: unknown) => this.options.logger.warn({ err }, 'could not read the last event id after losing notifications; the next probe will'),
    );
  }

  private drain(): void {
    if (!this.started) return;
    const from = this.watermark;
    for (let next = this.waiting.get(this.watermark); next; next = this.waiting.get(this.watermark)) {
      this.waiting.delete(this.watermark);
      this.options.apply(next.events.filter((event) => event.id > this.watermark));
      this.watermark = next.last;
    }
    // A gap that moved (or closed) is a new wait, or none.
    if (this.waiting.size === 0 || this.watermark !== from) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
    if (this.waiting.size === 0) return;
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = undefined;
      // Only the missing range is skipped: the batches after it are applied as they are.
      this.skipTo(Math.min(...this.waiting.keys()));
    }, this.options.gapMs);
  }

  /** Reads back what is missing up to `id` and applies it as a batch; jumps there when it cannot. */
  private skipTo(id: number): void {
    if (!this.started || id <= this.watermark || (this.filling !== undefined && id <= this.filling)) return;
    const from = this.watermark;
    this.filling = id;
    this.options.missed();
    this.options.logger.info({ from, to: id }, 'events were not announced in time; reading them from the database');
    this.options.readCommitted(from, id).then(
      (events) => {
        this.filling = undefined;
        if (events) this.receive({ after: from, last: id, events });
        else this.jumpTo(id);
      },
      (err: unknown) => {
        this.filling = undefined;
        this.options.logger.warn({ err, from, to: id }, 'could not read back the events not announced; every subscriber reads its stream');
        this.jumpTo(id);
      },
    );
  }

  private jumpTo(id: number): void {
    if (id <= this.watermark) return;
    this.watermark = id;
    this.rebase();
    this.options.skipped();
    this.drain();
  }

  /** After a jump, batches the watermark reached are dropped, and one it cut keeps only what is past it. */
  private rebase(): void {
    for (const [after, batch] of [...this.waiting]) {
      if (after >= this.watermark) continue;
      this.waiting.delete(after);
      if (batch.last > this.watermark) this.waiting.set(this.watermark, batch);
    }
  }

  private async probe(): Promise<void> {
    if (this.probing || !this.options.shouldProbe()) return;
    this.probing = true;
    try {
      const last = await this.options.lastEventId();
      // Committed but not yet announced is normal for a moment: the batch gets the same grace as a gap.
      if (last > this.watermark) setTimeout(() => this.skipTo(last), this.options.gapMs).unref();
    } catch (err) {
      this.options.logger.debug({ err }, 'could not read the last event id; probing again later');
    } finally {
      this.probing = false;
    }
  }
}
