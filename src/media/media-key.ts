/**
 * Object keys as dtalk clients make them (`chatList/picture/20261202/$ENC$_20261202093000123_<address>_ab1cd.jpg`)
 * and the URL path that serves them. A key is a relative path of plain segments: it can neither climb out of
 * the media root nor name a directory, whatever the storage behind it.
 */
import { AppError } from '../errors.js';

/** In bytes of UTF-8: what the catalog's key column holds. */
export const MAX_KEY_BYTES = 1024;

/** Segments of letters, digits and `$ . _ - + = @ , ( ) ! ~`: what keys hold, nothing a path or a shell reads. */
const SEGMENT = /^[\p{L}\p{N}$._\-+=@,()!~ ]+$/u;

/** The key if it is a safe relative path, else -1012 naming the rule it breaks. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw AppError.invalidParams(`key must be a path of 1 to ${MAX_KEY_BYTES} bytes`);
  }
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw AppError.invalidParams('key must be a relative path without empty, "." or ".." segments (no leading or doubled "/")');
    }
    if (!SEGMENT.test(segment) || segment.startsWith(' ') || segment.endsWith(' ')) {
      throw AppError.invalidParams(`key segment "${segment.slice(0, 64)}" may hold only letters, digits, spaces inside, and $._-+=@,()!~`);
    }
  }
  return key;
}

/**
 * The key as a URL path, each segment percent-encoded except the characters a path may carry as they are
 * (RFC 3986 pchar): the Android client finds `$ENC$` in a media URL to know that the file is encrypted, and
 * does not decode `%24ENC%24`.
 */
export function keyToUrlPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%(24|2B|3D|40|2C|28|29|21)/g, (escape) => decodeURIComponent(escape)))
    .join('/');
}

/** A content type for a download: the uploader's, unless it is one a browser would run, else from the extension. */
export function contentTypeOf(key: string, declared: string | undefined): string {
  // An encrypted file is bytes to every reader but its client.
  if (key.includes('$ENC$')) return 'application/octet-stream';
  if (declared && SAFE_TYPES.has(declared)) return declared;
  const extension = /\.([a-z0-9]{1,8})$/i.exec(key)?.[1]?.toLowerCase();
  return (extension && TYPE_OF_EXTENSION[extension]) ?? 'application/octet-stream';
}

/** Types served inline. Nothing a browser executes or renders as a document (HTML, SVG, XML, JavaScript). */
const TYPE_OF_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  bmp: 'image/bmp',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  amr: 'audio/amr',
  aac: 'audio/aac',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  zip: 'application/zip',
};

const SAFE_TYPES = new Set(Object.values(TYPE_OF_EXTENSION));
