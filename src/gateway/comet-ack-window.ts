/**
 * The frames a comet socket has pushed (op 9) and the client has not yet acknowledged (op 10), and how far the
 * device has acknowledged its stream: the position every event up to which it has confirmed. Stream frames are
 * pushed in stream order, so the position is that of the last frame of the acknowledged prefix; a client that
 * acknowledges out of order moves it only once the gap before is filled.
 */

export interface SentFrame {
  seq: number;
  frame: Buffer;
  firstSentAt: number;
  /** When it was last sent (first sent, or resent). */
  sentAt: number;
  resends: number;
  /** The stream position of the event it carries; absent for a live signal, which is in no stream. */
  eventId?: number;
  /** A private message to this socket's user: acknowledging it is a delivery receipt. */
  deliveredMid?: number;
  acked: boolean;
}

export interface AckWindowLimits {
  /** Most stream frames waiting for an acknowledgement... */
  maxFrames: number;
  /** ...and most bytes in them; past either, nothing more is pushed until acknowledgements free room. */
  maxBytes: number;
}

/** What one acknowledgement changed. */
export interface Acknowledged {
  /** The new position, when it moved. */
  position?: number;
  deliveredMid?: number;
}

const MAX_SEQ = 0x7fffffff;

export class AckWindow {
  private readonly bySeq = new Map<number, SentFrame>();
  /** Stream frames not yet passed by the position, oldest first. */
  private readonly stream: SentFrame[] = [];
  private bytes = 0;
  private seq = 0;
  /** When the client last acknowledged anything: a client that acknowledges nothing for long is stuck. */
  lastProgressAt: number;

  constructor(
    private readonly limits: AckWindowLimits,
    /** The position the device started from. */
    public position: number,
    now: number,
  ) {
    this.lastProgressAt = now;
  }

  /** The seq of the next frame: per connection, never 0 (dtalk clients take an ack of 0 for "none"). */
  nextSeq(): number {
    this.seq = this.seq >= MAX_SEQ ? 1 : this.seq + 1;
    return this.seq;
  }

  get hasRoom(): boolean {
    return this.stream.length < this.limits.maxFrames && this.bytes < this.limits.maxBytes;
  }

  get waiting(): number {
    return this.bySeq.size;
  }

  add(sent: SentFrame): void {
    this.bySeq.set(sent.seq, sent);
    this.bytes += sent.frame.length;
    if (sent.eventId !== undefined) this.stream.push(sent);
  }

  /**
   * A stream event this socket gets no frame for (what dtalk has no signal for, the socket's own sends): with
   * nothing waiting, the position moves to it at once (returned); otherwise the next acknowledgement passes it.
   */
  pass(eventId: number): number | undefined {
    if (this.stream.length > 0 || eventId <= this.position) return undefined;
    this.position = eventId;
    return eventId;
  }

  /** Undefined for a seq that is not waiting (a repeat, or one never sent). */
  ack(seq: number, now: number): Acknowledged | undefined {
    const sent = this.bySeq.get(seq);
    if (!sent) return undefined;
    this.forget(sent);
    this.lastProgressAt = now;
    return { position: this.advance(), deliveredMid: sent.deliveredMid };
  }

  /** Frames waiting longer than `ms` since they were last sent. */
  olderThan(ms: number, now: number): SentFrame[] {
    return [...this.bySeq.values()].filter((sent) => now - sent.sentAt >= ms);
  }

  /**
   * Gives up on stream frames the client keeps skipping: unacknowledged for `ms` while frames sent after them
   * were acknowledged. Real clients do that with what they cannot process (a dtalk phone with no key for a
   * message); waiting for them would hold the position back for ever. Returns how many, and the new position.
   */
  skipRefused(ms: number, now: number): { skipped: number; position?: number } {
    let skipped = 0;
    const lastAcknowledged = this.stream.findLastIndex((sent) => sent.acked);
    for (const sent of this.stream.slice(0, Math.max(0, lastAcknowledged))) {
      if (sent.acked) continue;
      if (now - sent.firstSentAt < ms) break;
      this.forget(sent);
      skipped++;
    }
    return { skipped, position: skipped > 0 ? this.advance() : undefined };
  }

  private forget(sent: SentFrame): void {
    sent.acked = true;
    this.bySeq.delete(sent.seq);
    this.bytes -= sent.frame.length;
  }

  private advance(): number | undefined {
    let moved = false;
    while (this.stream[0]?.acked) {
      this.position = this.stream.shift()!.eventId!;
      moved = true;
    }
    return moved ? this.position : undefined;
  }
}
