/**
 * Test support for media: multipart bodies built by hand (so that part order and part headers can be those of
 * each real client), the /oss calls as the clients make them, and a real S3-compatible server (s3rver) to run
 * the S3 storage against.
 */
import { randomBytes } from 'node:crypto';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { TestClient } from './client.js';
import { temporaryDir } from './temp-dirs.js';

export interface Part {
  name: string;
  value: string | Uint8Array;
  /** Makes the part a file part. */
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body with the parts in the order given. */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----chatlog${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : [])];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface OssReply<T> {
  status: number;
  result: number;
  message: string;
  data: T;
}

/** The file part as the desktop client sends it (a Blob: filename "blob"), first, then the fields. */
export function desktopParts(fields: Record<string, string>, file: Uint8Array): Part[] {
  return [
    { name: 'file', value: file, filename: 'blob', contentType: 'application/octet-stream' },
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
  ];
}

/** The parts as the Android client sends them: text parts typed multipart/form-data, the file last, named "file". */
export function androidParts(fields: Record<string, string>, file: Uint8Array): Part[] {
  return [
    ...Object.entries(fields).map(([name, value]) => ({ name, value, contentType: 'multipart/form-data; charset=utf-8' })),
    { name: 'file', value: file, filename: 'file' },
  ];
}

/** The /oss calls of a client, on top of its TestClient (bearer token or FZM-SIGNATURE). */
export class OssClient {
  constructor(readonly http: TestClient) {}

  upload(key: string, file: Uint8Array, parts: (fields: Record<string, string>, file: Uint8Array) => Part[] = androidParts) {
    return this.multipart<{ url: string; uri: string }>('/oss/upload', parts({ appId: 'dtalk', key }, file));
  }

  init(key: string) {
    return this.http.post<{ uploadId: string; key: string }>('/oss/init-multipart-upload', { appId: 'dtalk', key });
  }

  part(key: string, uploadId: string, partNumber: number, file: Uint8Array, parts = desktopParts) {
    return this.multipart<{ ETag: string; partNumber: number; uploadId: string; key: string }>(
      '/oss/upload-part',
      parts({ appId: 'dtalk', key, uploadId, partNumber: String(partNumber) }, file),
    );
  }

  complete(key: string, uploadId: string, parts: Array<{ partNumber: number; ETag?: string; Etag?: string }>) {
    return this.http.post<{ url: string; uri: string }>('/oss/complete-multipart-upload', { appId: 'dtalk', key, uploadId, parts });
  }

  abort(key: string, uploadId: string) {
    return this.http.post('/oss/abort-multipart-upload', { appId: 'dtalk', key, uploadId });
  }

  /** Uploads in parts of `partBytes`, all at once (as both clients do), and completes. */
  async uploadInParts(key: string, file: Uint8Array, partBytes: number) {
    const { data } = await this.init(key);
    const slices = Array.from({ length: Math.ceil(file.length / partBytes) }, (_, i) => file.subarray(i * partBytes, (i + 1) * partBytes));
    const answers = await Promise.all(slices.map((slice, i) => this.part(key, data.uploadId, i + 1, slice)));
    return this.complete(
      key,
      data.uploadId,
      answers.map((answer) => ({ partNumber: answer.data.partNumber, ETag: answer.data.ETag })),
    );
  }

  private multipart<T>(path: string, parts: Part[]): Promise<OssReply<T>> {
    const { body, contentType } = multipart(parts);
    return this.http.request<T>(path, { body, contentType });
  }
}

/** Downloads a media URL as the clients do: a plain GET without any header of theirs. */
export async function download(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** An S3-compatible server on a free port with one bucket, and the settings that point chatlog at it. */
export async function startS3(): Promise<{ settings: Record<string, string>; close(): Promise<void> }> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: temporaryDir('s3') });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: 'chatlog-media' }));
  s3.destroy();
  return {
    settings: {
      MEDIA_S3_BUCKET: 'chatlog-media',
      MEDIA_S3_ENDPOINT: endpoint,
      MEDIA_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      MEDIA_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    close: () => server.close(),
  };
}
