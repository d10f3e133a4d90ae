/**
 * The deliveries of the realtime benches: message n carries `n <send time>` as its text, and each of its
 * `perMessage` deliveries has a slot (a socket, a device); every slot must be filled once, and only for sends
 * answered OK.
 */
import type { ChatlogEvent } from '../../src/client/index.js';
import { OK } from './open-loop.js';

/** The text message n carries, stamped `sentAt` (ms since the epoch). */
export const timedText = (n: number, sentAt: number) => `${n} ${sentAt.toFixed(3)}`;

export class Deliveries {
  private readonly slots: Uint8Array;
  received = 0;
  duplicates = 0;

  constructor(
    readonly total: number,
    readonly perMessage: number,
  ) {
    this.slots = new Uint8Array(total * perMessage);
  }

  /** The number and send time of the bench's message a frame carries; undefined for any other frame. */
  read(event: ChatlogEvent): { n: number; sentAt: number } | undefined {
    if (event.type !== 'message' || event.record.msgType !== 1 || !event.record.content) return undefined;
    const [n = -1, sentAt = NaN] = String(event.record.content.content).split(' ').map(Number);
    return Number.isInteger(n) && n >= 0 && n < this.total ? { n, sentAt } : undefined;
  }

  record(n: number, slot: number): void {
    this.received++;
    if (this.slots[n * this.perMessage + slot]!++ > 0) this.duplicates++;
  }

  /**
   * Against what became of each send (OpenLoop.state): slots empty of sends answered OK, and filled for sends that
   * were not; and from message `from` on, the slots of sends answered OK and how many of them were filled.
   */
  check(state: Uint8Array, from = 0): { missing: number; ofFailed: number; expected: number; filled: number } {
    const counts = { missing: 0, ofFailed: 0, expected: 0, filled: 0 };
    for (let n = 0; n < this.total; n++) {
      for (let slot = n * this.perMessage; slot < (n + 1) * this.perMessage; slot++) {
        const filled = this.slots[slot]! > 0;
        if (state[n] === OK && !filled) counts.missing++;
        if (state[n] !== OK && filled) counts.ofFailed++;
        if (n >= from && state[n] === OK) [counts.expected, counts.filled] = [counts.expected + 1, counts.filled + (filled ? 1 : 0)];
      }
    }
    return counts;
  }
}
