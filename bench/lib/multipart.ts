/**
 * Multipart pushes as a dtalk client sends them: one file part `file` holding a serialized imparse
 * `Proto{common, Common}` made by the server's own codec. Every request gets a msgId of its own without encoding
 * anything per request: the bodies are built once per target with a fixed-width placeholder where the msgId's
 * number goes, and each request copies its template and writes its number in place (protobuf length prefixes do
 * not change, since the width does not).
 */
import { randomBytes } from 'node:crypto';
import { codec } from '../../test/helpers/client.js';

/** Digits of the request number in a msgId: room for 10^10 requests per run. */
const NUMBER_WIDTH = 10;
const PLACEHOLDER = '#'.repeat(NUMBER_WIDTH);

export interface MultipartPushes {
  /** The Content-Type header, with the boundary. */
  contentType: string;
  /** Bytes of one body. */
  bodyBytes: number;
  /** Bytes of the Proto in the part. */
  protoBytes: number;
  /** The body of request n: a private text message to target n % targets, msgId `<prefix>-<n>`. */
  body(n: number): Buffer;
  /** The target of request n. */
  target(n: number): string;
}

/** A multipart/form-data body with one file part named `file`. */
export function multipartBody(boundary: string, part: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="message.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1'),
    part,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
}

/**
 * Private text pushes (`channelType` 0, `msgType` 1) to `targets`, in turn; `msgIdPrefix` should be unique to the
 * run and the phase, so that no two requests of a bench share a msgId (a repeat would be answered from the
 * idempotency key, not written).
 */
export function multipartPushes(targets: string[], msgIdPrefix: string, content = 'a benchmark message of a typical length, about sixty bytes'): MultipartPushes {
  if (targets.length === 0) throw new Error('multipartPushes needs at least one target');
  const boundary = `----chatlogbench${randomBytes(8).toString('hex')}`;
  const msg = codec.encodeContent(1, { content });
  const marker = Buffer.from(`${msgIdPrefix}-${PLACEHOLDER}`, 'latin1');
  const templates = targets.map((targetId) => {
    const proto = codec.encodePush({ channelType: 0, msgId: `${msgIdPrefix}-${PLACEHOLDER}`, targetId, msgType: 1, msg });
    const body = multipartBody(boundary, proto);
    const at = body.indexOf(marker);
    if (at < 0 || body.indexOf(marker, at + 1) >= 0) throw new Error('the msgId placeholder is not found exactly once in the body');
    return { body, offset: at + marker.length - NUMBER_WIDTH, protoBytes: proto.length };
  });
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    bodyBytes: templates[0]!.body.length,
    protoBytes: templates[0]!.protoBytes,
    body(n) {
      const template = templates[n % templates.length]!;
      const body = Buffer.from(template.body);
      body.write(String(n).padStart(NUMBER_WIDTH, '0'), template.offset, NUMBER_WIDTH, 'latin1');
      return body;
    },
    target: (n) => targets[n % targets.length]!,
  };
}
