/** The handle a batch gets on its transaction. */
export interface BatchTransaction<Tx> {
  tx: Tx;
  /** Runs one work so that its failure undoes only its own writes (a savepoint). */
  isolate<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface GroupCommitOptions<Tx> {
  /** Most works in one transaction; 1 turns group commit off. */
  maxBatch: number;
  /** Runs `body` in one write transaction and commits it (or rolls it back when body throws). */
  transaction(body: (batch: BatchTransaction<Tx>) => Promise<void>): Promise<void>;
  /** Errors that leave the transaction unusable, failing the whole batch (a lost connection, say). */
  isFatal(err: unknown): boolean;
}

interface Pending<Tx> {
  work: (tx: Tx) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit: write works that arrive while a transaction is committing wait, then share the next one, so one
 * commit (one fsync) serves many. Nobody waits on a timer: under light load each work is a transaction of its
 * own; under load batches grow by themselves up to maxBatch. Works run one after another inside the batch, each
 * in a savepoint when there are several, so one refused work does not undo the others. Every work learns its
 * outcome only after the commit: a caller is never told "done" about something that may still roll back.
 */
export class GroupCommit<Tx> {
  private readonly queue: Pending<Tx>[] = [];
  private draining = false;
  /** Transactions run and works carried, for metrics: works / batches is the mean batch size. */
  readonly stats = { batches: 0, works: 0 };

  constructor(private readonly options: GroupCommitOptions<Tx>) {}

  submit<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.stats.batches++;
      this.stats.works += batch.length;
      const outcomes: Outcome[] = [];
      try {
        await this.options.transaction(async ({ tx, isolate }) => {
          if (batch.length === 1) {
            // Alone, a work needs no savepoint: its failure rolls the transaction back and is its own.
            outcomes.push({ ok: true, value: await batch[0]!.work(tx) });
            return;
          }
          for (const pending of batch) {
            try {
              outcomes.push({ ok: true, value: await isolate(pending.work) });
            } catch (error) {
              if (this.options.isFatal(error)) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      batch.forEach((pending, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    }
    this.draining = false;
  }
}
