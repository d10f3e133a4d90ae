export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; wrote: boolean };

/** The handle a batch gets on its transaction. */
export interface BatchTransaction<Tx, Hints = never> {
  /** Reads ahead, in one go, what the batch's works said they will read (their hints), before any of them runs. */
  prepare?(hints: Hints[]): Promise<void>;
  /**
   * Runs one work in the transaction, inside a savepoint when `isolated`. A failed outcome says whether the work
   * had changed anything before it failed: outside a savepoint, only rolling back everything could undo that.
   */
  run(work: (tx: Tx) => Promise<unknown>, isolated: boolean): Promise<Outcome>;
  /** Writes what the works run so far queued to be written together (in an isolated batch, each work did its own). */
  flush(): Promise<void>;
}

export interface GroupCommitOptions<Tx, Hints = never> {
  /** Most works in one transaction; 1 turns group commit off. */
  maxBatch: number;
  /** Runs `body` in one write transaction and commits it, or rolls it back when body throws. */
  transaction(body: (batch: BatchTransaction<Tx, Hints>) => Promise<void>): Promise<void>;
  /** Errors that leave the transaction unusable and fail the whole batch (a lost connection, say). */
  isFatal(err: unknown): boolean;
  /** Errors by which a work refuses itself before writing anything (a broken rule): no need to undo. */
  isRefusal(err: unknown): boolean;
}

interface Pending<Tx, Hints> {
  work: (tx: Tx) => Promise<unknown>;
  hints?: Hints;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/** Thrown inside a batch to roll it back and run it again with a savepoint per work. */
const NEEDS_ISOLATION = Symbol('needs isolation');

/**
 * Group commit: write works that arrive while a transaction is committing wait, then share the next one, so one
 * commit (one fsync) serves many. Nobody waits on a timer, only for the event loop's turn: under light load each
 * work is a transaction of its own; under load batches grow by themselves up to maxBatch.
 *
 * Transactions overlap by one: as soon as a transaction has run its works and goes on to commit, the next one
 * opens and asks for the write lock, so that its BEGIN and its wait for the lock happen while the one before
 * commits. It takes its works only once it holds the lock, so that the works arriving meanwhile ride along.
 *
 * Works run one after another in the batch. They run without savepoints, which would cost two round trips each,
 * because a work that refuses itself does so before writing. Should a work fail after writing (a bug, or a
 * database error), the batch is rolled back and run again with a savepoint per work, so that one failure never
 * undoes or fails its neighbours. Works may queue writes to be made for the whole batch at once, after the last
 * of them (the messages of a batch of pushes, say, in one statement): a failure there, too, runs the batch again
 * isolated. Every work learns its outcome only after the commit: a caller is never told "done" about something
 * that may still roll back.
 */
export class GroupCommit<Tx, Hints = never> {
  private readonly queue: Pending<Tx, Hints>[] = [];
  /** A transaction is open that has not yet run its works: the next may open only once it has. */
  private opening = false;
  /**
   * Batches formed and the works they carried (works / batches is the mean batch size), and how many batches
   * had to run again with savepoints.
   */
  readonly stats = { batches: 0, works: 0, isolatedReruns: 0 };

  constructor(private readonly options: GroupCommitOptions<Tx, Hints>) {}

  submit<T>(work: (tx: Tx) => Promise<T>, hints?: Hints): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, hints, resolve: resolve as (value: unknown) => void, reject });
      this.openNext();
    });
  }

  private openNext(): void {
    if (this.opening || this.queue.length === 0) return;
    this.opening = true;
    // One turn of the event loop first, so that the works of requests that arrived together share the batch. On
    // SQLite it is what makes batches at all: its statements run synchronously, so no request is read while a
    // transaction runs, and without the turn each would find the queue holding only itself.
    setImmediate(() => void this.commitBatch());
  }

  /** One batch, from taking its works to answering them. */
  private async commitBatch(): Promise<void> {
    let batch: Pending<Tx, Hints>[] | undefined;
    const take = () => {
      batch ??= this.queue.splice(0, this.options.maxBatch);
      this.stats.batches++;
      this.stats.works += batch.length;
      return batch;
    };
    let ran = false;
    const worksRan = () => {
      if (ran) return;
      ran = true;
      this.opening = false;
      this.openNext();
    };
    try {
      let outcomes = await this.attempt(take, false, worksRan);
      if (!outcomes) {
        this.stats.isolatedReruns++;
        outcomes = (await this.attempt(() => batch!, true, worksRan))!;
      }
      batch!.forEach((pending, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    } catch (error) {
      // A transaction that could not even open fails the works it would have taken, as one that opened would.
      for (const pending of batch ?? take()) pending.reject(error);
    } finally {
      worksRan();
    }
  }

  /** Runs the batch in one transaction; undefined when it must be run again isolated. */
  private async attempt(take: () => Pending<Tx, Hints>[], isolated: boolean, worksRan: () => void): Promise<Outcome[] | undefined> {
    const outcomes: Outcome[] = [];
    try {
      await this.options.transaction(async (tx) => {
        const batch = take();
        await tx.prepare?.(batch.flatMap((pending) => (pending.hints === undefined ? [] : [pending.hints])));
        for (const pending of batch) {
          const outcome = await tx.run(pending.work, isolated && batch.length > 1);
          outcomes.push(outcome);
          if (outcome.ok || isolated) continue;
          if (this.options.isFatal(outcome.error)) throw outcome.error;
          if (outcome.wrote || !this.options.isRefusal(outcome.error)) {
            // Alone in its batch, a work's failure rolls back only its own writes.
            throw batch.length === 1 ? outcome.error : NEEDS_ISOLATION;
          }
        }
        try {
          await tx.flush();
        } catch (error) {
          if (this.options.isFatal(error) || batch.length === 1) throw error;
          throw NEEDS_ISOLATION;
        }
        worksRan();
      });
    } catch (error) {
      if (error === NEEDS_ISOLATION) return undefined;
      throw error;
    }
    return outcomes;
  }
}
