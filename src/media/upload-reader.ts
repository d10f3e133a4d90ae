/**
 * Reads a multipart media upload: its text fields and its one file part, streamed to a temporary file with a
 * byte limit, never held in memory. The file part may come before or after the fields (the desktop client
 * sends it first), which is why it goes to disk before any field is judged. Once an upload fails, nothing more
 * of it is read: the answer goes out at once and the connection closes after it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { AppError } from '../errors.js';

/** An uploaded file on disk; whoever takes it moves or removes it (`discard` is safe to call twice). */
export interface SpooledFile {
  path: string;
  size: number;
  /** The MD5 of the bytes, hex: the ETag of what was stored. */
  md5: string;
  /** The type the client declared for the part, if any. */
  contentType?: string;
  discard(): Promise<void>;
}

export interface MediaUpload {
  fields: Record<string, string>;
  file: SpooledFile;
}

/** Bytes a multipart envelope may add around the file part (boundaries, part headers, the text fields). */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export interface UploadLimits {
  maxFileBytes: number;
  /** Where the file is spooled: on the same file system as the media store, so that keeping it is a rename. */
  tmpDir: string;
}

/** Reads the upload; fails with -10202 past `maxFileBytes`, -1012 for a malformed body or no part named `file`. */
export async function readMediaUpload(req: IncomingMessage, { maxFileBytes, tmpDir }: UploadLimits, setConnectionClose: () => void): Promise<MediaUpload> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxFileBytes + MULTIPART_OVERHEAD_BYTES) {
    setConnectionClose();
    throw AppError.tooLarge(`the upload is larger than the ${maxFileBytes}-byte limit`);
  }
  let parser: busboy.Busboy;
  try {
    // busboy reports its limit on reaching it; one byte more tells a file at the limit from one past it.
    parser = busboy({ headers: req.headers, limits: { fileSize: maxFileBytes + 1, files: 1, fields: 16, fieldSize: 4096, parts: 17, headerPairs: 16 } });
  } catch (err) {
    throw AppError.invalidParams(`the body must be multipart/form-data: ${(err as Error).message}`);
  }

  const path = join(tmpDir, `upload-${randomUUID()}`);
  const discard = () => rm(path, { force: true });
  const fields: Record<string, string> = {};

  return new Promise<MediaUpload>((resolve, reject) => {
    let settled = false;
    let file: Promise<SpooledFile> | undefined;
    const fail = (error: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      setConnectionClose();
      void discard();
      reject(error);
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(AppError.invalidParams(`the field ${name.slice(0, 64)} is longer than 4096 bytes`));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // A body that ends inside the part fails the part's stream too, and an 'error' nobody hears ends the process.
      stream.on('error', (err: Error) => fail(AppError.invalidParams(`the multipart body is malformed: ${err.message}`)));
      if (name !== 'file') {
        stream.resume();
        return fail(AppError.invalidParams(`unexpected file part "${name.slice(0, 64)}": the file goes in a part named file`));
      }
      file = spool(stream, path, maxFileBytes, info.mimeType, discard);
      file.catch((err: unknown) => fail(err instanceof AppError ? err : AppError.invalidParams(`the upload could not be stored: ${(err as Error).message}`)));
    });
    parser.on('filesLimit', () => fail(AppError.invalidParams('the upload must hold exactly one file part, named file')));
    parser.on('fieldsLimit', () => fail(AppError.invalidParams('the upload has too many text fields')));
    parser.on('partsLimit', () => fail(AppError.invalidParams('the upload has too many parts')));
    parser.on('error', (err: Error) => fail(AppError.invalidParams(`the multipart body is malformed: ${err.message}`)));
    parser.on('close', () => {
      if (settled) return;
      if (!file) return fail(AppError.invalidParams('the upload has no file part named file'));
      file.then(
        (spooled) => {
          if (settled) return void spooled.discard();
          settled = true;
          resolve({ fields, file: spooled });
        },
        () => undefined,
      );
    });
    req.on('aborted', () => fail(AppError.invalidParams('the upload was aborted')));
    req.pipe(parser);
  });
}

function spool(
  stream: NodeJS.ReadableStream & { truncated?: boolean },
  path: string,
  maxBytes: number,
  mimeType: string,
  discard: () => Promise<void>,
): Promise<SpooledFile> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    let size = 0;
    let tooLarge = false;
    const out = createWriteStream(path, { flags: 'wx' });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
    });
    stream.on('limit', () => {
      tooLarge = true;
      out.destroy();
      reject(AppError.tooLarge(`the file is larger than ${maxBytes} bytes`));
    });
    out.on('error', (err) => reject(err));
    // The part ended early: what was spooled is not the file.
    stream.on('error', (err) => {
      out.destroy();
      reject(AppError.invalidParams(`the multipart body is malformed: ${err.message}`));
    });
    out.on('finish', () => {
      if (tooLarge) return;
      // A part typed as raw bytes says nothing of what the file is.
      const declared = mimeType && mimeType !== 'application/octet-stream' ? mimeType : undefined;
      resolve({ path, size, md5: hash.digest('hex'), contentType: declared, discard });
    });
    stream.pipe(out);
  });
}
