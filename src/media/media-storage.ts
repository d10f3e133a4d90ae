/**
 * Where media bytes live. Two implementations: a directory on local disk (the embedded default) and an
 * S3-compatible object store. Metadata (who owns a key, unfinished uploads and their parts) is the
 * database's (store/media-store.ts); a storage only keeps bytes under keys.
 */
import type { SpooledFile } from './upload-reader.js';

export interface StoredPart {
  partNumber: number;
  /** As the storage gave it when the part was stored. */
  etag: string;
}

/** How a download is answered: bytes from a local file, or a redirect to where the storage serves them. */
export type Download = { kind: 'file'; path: string } | { kind: 'redirect'; url: string };

export interface MediaStorage {
  /** Keeps the spooled file as `key` (it is moved or removed by the call); returns its ETag. */
  put(key: string, file: SpooledFile, contentType: string): Promise<string>;
  /** Begins a multipart upload; returns the storage's handle for it. */
  createMultipart(key: string, contentType: string): Promise<string>;
  /** Keeps one part (the spooled file is moved or removed); returns its ETag. Storing a part again replaces it. */
  putPart(key: string, handle: string, partNumber: number, file: SpooledFile): Promise<string>;
  /** Joins the parts, in the order given, into the object `key`; returns its ETag. */
  completeMultipart(key: string, handle: string, parts: StoredPart[]): Promise<string>;
  /** Drops an unfinished upload's parts. */
  abortMultipart(key: string, handle: string): Promise<void>;
  /** Where a download of `key` is served from. */
  download(key: string): Promise<Download>;
  /** Where new uploads are spooled: on the file system the storage keeps files on, when it keeps any. */
  readonly tmpDir: string;
  /** The URL clients get for `key` when the storage serves it itself (a public bucket); else chatlog serves it. */
  publicUrl?(key: string): string;
}
