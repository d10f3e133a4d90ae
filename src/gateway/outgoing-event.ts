import type { StreamEvent } from '../domain.js';

/**
 * A stream event on its way to sockets. Each protocol encodes it once (with the same encoder function), and the
 * same bytes go to every socket that gets it, however many there are.
 */
export class OutgoingEvent {
  private readonly encodings = new Map<(event: StreamEvent) => unknown, unknown>();

  constructor(readonly event: StreamEvent) {}

  get id(): number {
    return this.event.id;
  }

  encoded<T>(encode: (event: StreamEvent) => T): T {
    if (!this.encodings.has(encode)) this.encodings.set(encode, encode(this.event));
    return this.encodings.get(encode) as T;
  }
}
