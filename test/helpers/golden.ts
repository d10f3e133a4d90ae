import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeSocketFrame } from '../../src/gateway/comet-socket-frame.js';
import type { Reply } from './client.js';

/** One line of test/fixtures/golden/dtalk-desktop-client.jsonl (see its README). */
export type GoldenEntry = { phase: 'unmodified' | 'workarounds'; who: string; t: number } & (
  | { kind: 'http'; method: string; path: string; headers: Record<string, string>; body: string | null | GoldenPart[] }
  | { kind: 'ws.open'; path: string }
  | { kind: 'comet.send'; op: number; seq: number; ack: number; ver: number; headerLen: number; packLen: number; body?: string }
);

export interface GoldenPart {
  part: string;
  filename: string;
  type: string;
  bytes: string;
}

export const golden: GoldenEntry[] = readFileSync(new URL('../fixtures/golden/dtalk-desktop-client.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as GoldenEntry);

/** Sends a captured request as the client sent it: method, path, headers and body (multipart parts byte for byte). */
export async function replayHttp<T = Record<string, unknown>>(baseUrl: string, entry: Extract<GoldenEntry, { kind: 'http' }>): Promise<Reply<T>> {
  let body: RequestInit['body'];
  if (Array.isArray(entry.body)) {
    const form = new FormData();
    for (const part of entry.body) form.append(part.part, new Blob([Buffer.from(part.bytes, 'base64')], { type: part.type }), part.filename);
    body = form;
  } else if (entry.body !== null) {
    body = entry.body;
  }
  const response = await fetch(baseUrl + entry.path, { method: entry.method, headers: entry.headers, body });
  const envelope = (await response.json()) as { result: number; message: string; data: T };
  return { status: response.status, headers: response.headers, ...envelope };
}

/** The bytes of a captured comet frame, checked against the header fields captured with it. */
export function goldenFrame(entry: Extract<GoldenEntry, { kind: 'comet.send' }>): Buffer {
  const frame = encodeSocketFrame({ ver: entry.ver, op: entry.op, seq: entry.seq, ack: entry.ack, body: Buffer.from(entry.body ?? '', 'base64') });
  assert.equal(frame.readInt32BE(0), entry.packLen);
  assert.equal(frame.readInt16BE(4), entry.headerLen);
  return frame;
}

/** The bytes of a captured multipart push's part. */
export function goldenUpload(entry: GoldenEntry): Buffer {
  assert.ok(entry.kind === 'http' && Array.isArray(entry.body));
  return Buffer.from(entry.body[0]!.bytes, 'base64');
}
