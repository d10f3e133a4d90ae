/**
 * Committed batches as they travel between instances: JSON, with message bodies in base64. What is too large to
 * carry stays behind in the database, and receivers read it from there: a message body over MAX_CARRIED_BODY_BYTES
 * goes as its routing alone, and a batch still over MAX_BATCH_CHARS as its id range alone.
 */
import type { CommittedBatch, CommittedEvent } from '../domain.js';
import type { LiveSignal } from './event-bus.js';

/** A comet frame holds 16 KiB; bodies that large are rare, and reading them back costs one query per socket. */
export const MAX_CARRIED_BODY_BYTES = 8 * 1024;
/** Redis takes far more, but every instance parses every batch: beyond this, one read per instance is cheaper. */
export const MAX_BATCH_CHARS = 1024 * 1024;

export type BusMessage = { batch: CommittedBatch } | { live: LiveSignal };

export function encodeBusMessage(message: BusMessage): string {
  if (!('batch' in message)) return JSON.stringify(message);
  const { batch } = message;
  const text = JSON.stringify({ batch: { ...batch, events: batch.events.map(carriable) } }, bytesAsBase64);
  if (text.length <= MAX_BATCH_CHARS) return text;
  return JSON.stringify({ batch: { after: batch.after, last: batch.last, events: [], incomplete: true } });
}

/** Throws on text that is not JSON. */
export function decodeBusMessage(text: string): BusMessage {
  return JSON.parse(text, base64AsBytes) as BusMessage;
}

function carriable(committed: CommittedEvent): CommittedEvent {
  const { event, ...routing } = committed;
  return event?.kind === 'message' && (event.message.msg?.length ?? 0) > MAX_CARRIED_BODY_BYTES ? routing : committed;
}

/** Bytes as base64. A Buffer has turned itself into {type, data} by the time a replacer sees it: look at the raw value. */
function bytesAsBase64(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
}

function base64AsBytes(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('$bytes' in value)) return value;
  return new Uint8Array(Buffer.from((value as { $bytes: string }).$bytes, 'base64'));
}
