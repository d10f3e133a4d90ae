/** Web Crypto as both Node 20 and browsers expose it on globalThis; no import of node:crypto (browser bundle). */
interface WebCrypto {
  randomUUID?: () => string;
  getRandomValues<T extends Uint8Array>(array: T): T;
}

/**
 * A fresh msgId for a push that did not bring one. The msgId is the idempotency key (API.md §4.1), so it must
 * be unique per sender: a random UUID. randomUUID exists only in secure contexts (https, localhost); a page served
 * over plain http from another host still has getRandomValues, which gives the same 122 random bits.
 */
export function randomMsgId(): string {
  const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  if (!crypto) throw new Error('no Web Crypto on this platform: pass msgId explicitly');
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
