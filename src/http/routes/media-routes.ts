/**
 * The dtalk upload API (/oss/*) and the downloads of what it stored (GET /media/<key>). Uploads are signed like
 * every other call; downloads are not, because the clients fetch media URLs with no headers at all: a media URL
 * is a capability, as it was with dtalk's object store.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { AppError } from '../../errors.js';
import { readMediaUpload } from '../../media/upload-reader.js';
import type { MediaService } from '../../services/media-service.js';
import type { ApiCatalog } from '../api-catalog.js';
import { respondOk } from '../envelope.js';
import { jsonRoute, type JsonRouteKit } from './json-route.js';
import type { Ajv } from 'ajv';

export interface MediaRoutesDeps {
  ajv: Ajv;
  media: MediaService;
  catalog: ApiCatalog;
  auth: Middleware;
  json: Middleware;
  limitWrites: Middleware;
  /** The base of the media URLs handed out; the request's own origin when unset. */
  publicUrl?: string;
}

/** Every request may name the app and the object store type; chatlog has one store and ignores both. */
const ossBase = { appId: { type: 'string', maxLength: 64 }, ossType: { type: 'string', maxLength: 64 } } as const;
const keySchema = { type: 'string', minLength: 1, maxLength: 1024, errorHint: 'must be the object key, a relative path' } as const;
const uploadIdSchema = { type: 'string', pattern: '^[0-9a-f]{32}$', errorHint: 'must be the uploadId init-multipart-upload returned' } as const;

/** A part as complete-multipart-upload lists it: ETag as upload-part answered it, or Etag (the Android client). */
const partSchema = {
  type: 'object',
  required: ['partNumber'],
  properties: { partNumber: { type: 'integer', minimum: 1 }, ETag: { type: 'string', maxLength: 256 }, Etag: { type: 'string', maxLength: 256 } },
} as const;

interface UploadRef {
  key: string;
  uploadId: string;
}
interface CompleteBody extends UploadRef {
  parts: Array<{ partNumber: number; ETag?: string; Etag?: string }>;
}

/** Downloads are the same bytes for everyone and change only when their owner uploads the key again. */
const DOWNLOAD_HEADERS = {
  'Cache-Control': 'public, max-age=86400',
  'X-Content-Type-Options': 'nosniff',
  // Served from the API's origin: nothing in an upload may run as a page of it.
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Access-Control-Allow-Origin': '*',
  'Accept-Ranges': 'bytes',
};

export function mediaRoutes({ ajv, media, catalog, auth, json, limitWrites, publicUrl }: MediaRoutesDeps): Router {
  const router = new Router();
  const kit: JsonRouteKit = { router, ajv, catalog, auth, json, limitWrites };
  const origin = (ctx: Context) => publicUrl ?? `${ctx.protocol}://${ctx.host}`;
  const upload = (ctx: Context, maxFileBytes: number) => readMediaUpload(ctx.req, { maxFileBytes, tmpDir: media.tmpDir }, () => ctx.set('Connection', 'close'));

  catalog.add({
    method: 'post',
    path: '/oss/upload',
    summary: 'Upload a file whole (multipart: key, file; appId and ossType ignored); answers its url',
    tag: 'media',
    auth: true,
    upload: 'the file, as the client made it (encrypted or not); text fields key, appId, ossType',
    response: { data: { url: 'http://localhost:8080/media/chatList/picture/20261202/a.jpg', uri: 'chatList/picture/20261202/a.jpg' } },
  });
  router.post('/oss/upload', auth, limitWrites, async (ctx) => {
    const { fields, file } = await upload(ctx, media.limits.maxObjectBytes);
    const key = await media.upload(ctx.state.uid, fields.key, file);
    respondOk(ctx, { url: media.urlOf(key, origin(ctx)), uri: key });
  });

  jsonRoute<{ key: string }>(kit, {
    path: '/oss/init-multipart-upload',
    summary: 'Begin a multipart upload of key; answers its uploadId',
    tag: 'media',
    schema: { type: 'object', required: ['key'], properties: { ...ossBase, key: keySchema } },
    example: { key: 'chatList/file/20261202/report.pdf' },
    response: { uploadId: '9f86d081884c7d659a2feaa0c55ad015', key: 'chatList/file/20261202/report.pdf' },
    writes: true,
    handle: (uid, body) => media.initMultipart(uid, body.key),
  });

  catalog.add({
    method: 'post',
    path: '/oss/upload-part',
    summary: 'Upload one part of a multipart upload (multipart: key, uploadId, partNumber 1.., file)',
    tag: 'media',
    auth: true,
    upload: 'the part; text fields key, uploadId, partNumber, appId, ossType',
    response: {
      data: {
        ETag: '"5d41402abc4b2a76b9719d911017c592"',
        partNumber: 1,
        uploadId: '9f86d081884c7d659a2feaa0c55ad015',
        key: 'chatList/file/20261202/report.pdf',
      },
    },
  });
  router.post('/oss/upload-part', auth, limitWrites, async (ctx) => {
    const { fields, file } = await upload(ctx, media.limits.maxPartBytes);
    const etag = await media.uploadPart(ctx.state.uid, fields.uploadId, fields.key, fields.partNumber, file);
    respondOk(ctx, { ETag: etag, partNumber: Number(fields.partNumber), uploadId: fields.uploadId, key: fields.key });
  });

  jsonRoute<CompleteBody>(kit, {
    path: '/oss/complete-multipart-upload',
    summary: 'Join the uploaded parts into the file; answers its url',
    tag: 'media',
    schema: {
      type: 'object',
      required: ['key', 'uploadId', 'parts'],
      properties: { ...ossBase, key: keySchema, uploadId: uploadIdSchema, parts: { type: 'array', maxItems: 10_000, items: partSchema } },
    },
    example: {
      key: 'chatList/file/20261202/report.pdf',
      uploadId: '9f86d081884c7d659a2feaa0c55ad015',
      parts: [{ partNumber: 1, ETag: '"5d41402abc4b2a76b9719d911017c592"' }],
    },
    response: { url: 'http://localhost:8080/media/chatList/file/20261202/report.pdf', uri: 'chatList/file/20261202/report.pdf' },
    writes: true,
    handle: async (uid, body, ctx) => {
      const parts = body.parts.map((part) => ({ partNumber: part.partNumber, etag: part.ETag ?? part.Etag ?? '' }));
      const key = await media.completeMultipart(uid, body.uploadId, body.key, parts);
      return { url: media.urlOf(key, origin(ctx)), uri: key };
    },
  });

  jsonRoute<UploadRef>(kit, {
    path: '/oss/abort-multipart-upload',
    summary: 'Drop an unfinished multipart upload and its parts',
    tag: 'media',
    schema: { type: 'object', required: ['key', 'uploadId'], properties: { ...ossBase, key: keySchema, uploadId: uploadIdSchema } },
    example: { key: 'chatList/file/20261202/report.pdf', uploadId: '9f86d081884c7d659a2feaa0c55ad015' },
    response: {},
    handle: async (uid, body) => {
      await media.abortMultipart(uid, body.uploadId, body.key);
      return {};
    },
  });

  catalog.add({
    method: 'get',
    path: '/media/{key}',
    summary: 'Download an uploaded file (no credentials: the URL is the capability); Range requests, ETag revalidation',
    tag: 'media',
    auth: false,
    response: { mediaType: 'application/octet-stream' },
  });
  router.get('/media/*key', async (ctx) => {
    const key = decodeKeyPath(ctx.path.slice('/media/'.length));
    const { object, download } = await media.download(key);
    if (download.kind === 'redirect') {
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(download.url);
      return;
    }
    await serveFile(ctx, download.path, object);
  });

  return router;
}

function decodeKeyPath(path: string): string {
  try {
    return path.split('/').map(decodeURIComponent).join('/');
  } catch {
    throw AppError.invalidParams('the media path is not valid percent-encoding');
  }
}

/** 200 with the file, 206 with one range of it, 304 when the client has it, 416 for a range outside it. */
async function serveFile(
  ctx: Context,
  path: string,
  object: { size: number; etag: string | null; contentType: string | null; updatedAt: number },
): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw AppError.notFound('the file is missing from the media storage');
  ctx.set(DOWNLOAD_HEADERS);
  if (object.etag) ctx.set('ETag', object.etag);
  ctx.set('Last-Modified', new Date(object.updatedAt).toUTCString());
  ctx.type = object.contentType ?? 'application/octet-stream';
  if (
    object.etag &&
    ctx
      .get('if-none-match')
      .split(/\s*,\s*/)
      .includes(object.etag)
  ) {
    ctx.status = 304;
    return;
  }
  const size = info.size;
  const range = parseRange(ctx.get('range'), size);
  if (range === 'unsatisfiable') {
    ctx.set('Content-Range', `bytes */${size}`);
    ctx.status = 416;
    ctx.body = '';
    return;
  }
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    ctx.length = range.end - range.start + 1;
    ctx.body = ctx.method === 'HEAD' ? null : createReadStream(path, range);
    return;
  }
  ctx.status = 200;
  ctx.length = size;
  ctx.body = ctx.method === 'HEAD' ? null : createReadStream(path);
}

/** One `bytes=` range (RFC 9110 §14.1); several ranges, or a header that is not one, get the whole file. */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
