/**
 * Open-loop sending: message n is due n / rate seconds after the start, whatever became of the earlier ones, so that
 * servers falling behind show as latency rather than as a lower rate. Past `maxInFlight` sends in flight they have
 * fallen behind for good: further sends are dropped (counted), not queued.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** What became of message n: NOT_SENT (dropped, or not due yet), IN_FLIGHT, OK or FAILED. */
export const [NOT_SENT, IN_FLIGHT, OK, FAILED] = [0, 1, 2, 3];

export class OpenLoop {
  readonly state: Uint8Array;
  readonly failures = new Map<string, number>();
  sent = 0;
  ok = 0;
  failed = 0;
  dropped = 0;
  inFlight = 0;

  constructor(
    readonly total: number,
    readonly rate: number,
    readonly maxInFlight = 1000,
  ) {
    this.state = new Uint8Array(total);
  }

  /** Sends messages 0 to total - 1 on time; `due(n)` runs just before message n is sent or dropped. */
  async run(send: (n: number) => Promise<unknown>, due?: (n: number) => void): Promise<void> {
    const startedAt = performance.now();
    for (let next = 0; next < this.total;) {
      const until = Math.min(this.total, Math.floor(((performance.now() - startedAt) * this.rate) / 1000) + 1);
      for (; next < until; next++) {
        due?.(next);
        if (this.inFlight < this.maxInFlight) this.send(next, send);
        else this.dropped++;
      }
      await sleep(Math.max(0, startedAt + (next * 1000) / this.rate - performance.now()));
    }
  }

  private send(n: number, send: (n: number) => Promise<unknown>): void {
    [this.state[n], this.sent, this.inFlight] = [IN_FLIGHT, this.sent + 1, this.inFlight + 1];
    void send(n)
      .then(
        () => ((this.state[n] = OK), this.ok++),
        (err: Error) => ((this.state[n] = FAILED), this.failed++, this.failures.set(err.message, (this.failures.get(err.message) ?? 0) + 1)),
      )
      .finally(() => this.inFlight--);
  }

  /** Waits for the sends in flight to be answered, at most `maxMs`. */
  async settle(maxMs = 11_000): Promise<void> {
    for (const deadline = performance.now() + maxMs; this.inFlight > 0 && performance.now() < deadline;) await sleep(20);
  }

  status(): string {
    return `${this.sent} sent, ${this.ok} ok, ${this.failed} failed, ${this.dropped} dropped, ${this.inFlight} in flight`;
  }
}

/** Waits until `done()`, or until `progress()` has not changed for `quietMs`, or `maxMs` in all. */
export async function untilDoneOrQuiet(done: () => boolean, progress: () => number, quietMs: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  for (let [last, quietSince] = [progress(), performance.now()]; !done() && performance.now() - quietSince < quietMs && performance.now() < deadline;) {
    if (progress() !== last) [last, quietSince] = [progress(), performance.now()];
    await sleep(20);
  }
}
