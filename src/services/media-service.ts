/**
 * Media uploads, the rules of the dtalk /oss API: a key belongs to the first user who uploads to it, so nobody
 * overwrites someone else's file; a multipart upload belongs to the user who began it, and expires unfinished;
 * sizes, parts and part numbers stay within limits. Bytes go to the media storage, ownership to the catalog.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { checkKey, contentTypeOf, keyToUrlPath } from '../media/media-key.js';
import type { Download, MediaStorage, StoredPart } from '../media/media-storage.js';
import type { SpooledFile } from '../media/upload-reader.js';
import type { MediaCatalog, MediaObject, MediaUpload } from '../store/store.js';

export interface MediaLimits {
  /** Most bytes of one object, sent whole or in parts. */
  maxObjectBytes: number;
  /** Most bytes of one part of a multipart upload. */
  maxPartBytes: number;
  /** Most parts of a multipart upload; part numbers run from 1 to this. */
  maxParts: number;
  /** An unfinished multipart upload is dropped this long after it began. */
  uploadTtlMs: number;
}

export interface MediaServiceOptions {
  limits: MediaLimits;
  /** Told of every stored upload and part, for metrics. */
  onStored?: (kind: 'whole' | 'part' | 'multipart', bytes: number) => void;
  now?: () => number;
}

/** A part as a client lists it to complete an upload: the Android client spells the field `Etag`. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** How many expired uploads one sweep drops, so that a sweep stays short. */
const SWEEP_BATCH = 100;

const unquoted = (etag: string) => etag.replace(/^"|"$/g, '');

export class MediaService {
  readonly limits: MediaLimits;
  private readonly onStored: NonNullable<MediaServiceOptions['onStored']>;
  private readonly now: () => number;

  constructor(
    private readonly catalog: MediaCatalog,
    private readonly storage: MediaStorage,
    options: MediaServiceOptions,
  ) {
    this.limits = options.limits;
    this.onStored = options.onStored ?? (() => undefined);
    this.now = options.now ?? Date.now;
  }

  /** Where uploads are spooled while they arrive. */
  get tmpDir(): string {
    return this.storage.tmpDir;
  }

  /** The URL a client downloads `key` from: the storage's own when it serves files publicly, else chatlog's. */
  urlOf(key: string, origin: string): string {
    return this.storage.publicUrl?.(key) ?? `${origin}/media/${keyToUrlPath(key)}`;
  }

  /** /oss/upload: the whole file in one request. */
  async upload(uid: string, key: unknown, file: SpooledFile): Promise<string> {
    try {
      const checked = checkKey(key);
      await this.claim(checked, uid);
      const contentType = contentTypeOf(checked, file.contentType);
      const etag = await this.storage.put(checked, file, contentType);
      await this.catalog.finishObject(checked, uid, { size: file.size, etag, contentType }, this.now());
      this.onStored('whole', file.size);
      return checked;
    } finally {
      await file.discard();
    }
  }

  async initMultipart(uid: string, key: unknown): Promise<{ uploadId: string; key: string }> {
    const checked = checkKey(key);
    await this.claim(checked, uid);
    const contentType = contentTypeOf(checked, undefined);
    const handle = await this.storage.createMultipart(checked, contentType);
    const now = this.now();
    const uploadId = randomBytes(16).toString('hex');
    await this.catalog.createUpload({ uploadId, key: checked, ownerId: uid, handle, contentType, createdAt: now, expiresAt: now + this.limits.uploadTtlMs });
    return { uploadId, key: checked };
  }

  async uploadPart(uid: string, uploadId: unknown, key: unknown, partNumber: unknown, file: SpooledFile): Promise<string> {
    try {
      const upload = await this.openUpload(uid, uploadId, key);
      const number = this.checkPartNumber(partNumber);
      const others = (await this.catalog.listParts(upload.uploadId)).filter((part) => part.partNumber !== number);
      const total = others.reduce((sum, part) => sum + part.size, 0) + file.size;
      if (total > this.limits.maxObjectBytes) throw AppError.tooLarge(`the parts of this upload would make more than ${this.limits.maxObjectBytes} bytes`);
      const etag = await this.storage.putPart(upload.key, upload.handle, number, file);
      await this.catalog.savePart(upload.uploadId, { partNumber: number, etag, size: file.size });
      this.onStored('part', file.size);
      return etag;
    } finally {
      await file.discard();
    }
  }

  async completeMultipart(uid: string, uploadId: unknown, key: unknown, listed: CompletedPart[]): Promise<string> {
    const upload = await this.openUpload(uid, uploadId, key);
    if (listed.length === 0) throw AppError.invalidParams('parts must list at least one part');
    const stored = new Map((await this.catalog.listParts(upload.uploadId)).map((part) => [part.partNumber, part]));
    const parts: StoredPart[] = [];
    let size = 0;
    for (const [i, { partNumber, etag }] of listed.entries()) {
      if (i > 0 && partNumber <= listed[i - 1]!.partNumber) throw AppError.invalidParams('parts must be listed once each, in ascending partNumber');
      const part = stored.get(partNumber);
      if (!part) throw AppError.invalidParams(`part ${partNumber} was not uploaded`);
      if (unquoted(part.etag) !== unquoted(etag)) throw AppError.invalidParams(`the ETag of part ${partNumber} does not match the part uploaded`);
      parts.push({ partNumber, etag: part.etag });
      size += part.size;
    }
    const etag = await this.storage.completeMultipart(upload.key, upload.handle, parts);
    await this.catalog.finishObject(upload.key, uid, { size, etag, contentType: upload.contentType }, this.now());
    await this.catalog.deleteUpload(upload.uploadId);
    this.onStored('multipart', size);
    return upload.key;
  }

  async abortMultipart(uid: string, uploadId: unknown, key: unknown): Promise<void> {
    const upload = await this.openUpload(uid, uploadId, key);
    await this.drop(upload);
  }

  /** A finished object and where its bytes are served from; -1007 for a key never (or not yet fully) uploaded. */
  async download(key: string): Promise<{ object: MediaObject & { size: number }; download: Download }> {
    const object = await this.catalog.getObject(checkKey(key));
    if (!object || object.size === null) throw AppError.notFound(`there is no file ${key}`);
    return { object: { ...object, size: object.size }, download: await this.storage.download(object.key) };
  }

  /** Drops expired multipart uploads and their parts; returns how many. */
  async sweep(): Promise<number> {
    const expired = await this.catalog.expiredUploads(this.now(), SWEEP_BATCH);
    for (const upload of expired) await this.drop(upload);
    return expired.length;
  }

  private async drop(upload: MediaUpload): Promise<void> {
    await this.storage.abortMultipart(upload.key, upload.handle);
    await this.catalog.deleteUpload(upload.uploadId);
  }

  private async claim(key: string, uid: string): Promise<void> {
    const owner = await this.catalog.claimObject(key, uid, this.now());
    if (owner !== uid) throw AppError.permissionDenied(`the key ${key} belongs to another user's file: choose another key`);
  }

  private async openUpload(uid: string, uploadId: unknown, key: unknown): Promise<MediaUpload> {
    if (typeof uploadId !== 'string' || !/^[0-9a-f]{32}$/.test(uploadId))
      throw AppError.invalidParams('uploadId must be the uploadId init-multipart-upload returned');
    const upload = await this.catalog.getUpload(uploadId);
    if (!upload || upload.expiresAt <= this.now())
      throw AppError.notFound(`upload ${uploadId} does not exist or has expired: begin again with init-multipart-upload`);
    if (upload.ownerId !== uid) throw AppError.permissionDenied(`upload ${uploadId} belongs to another user`);
    if (checkKey(key) !== upload.key) throw AppError.invalidParams(`key does not match the key of upload ${uploadId}`);
    return upload;
  }

  private checkPartNumber(value: unknown): number {
    const number = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > this.limits.maxParts) {
      throw AppError.invalidParams(`partNumber must be an integer from 1 to ${this.limits.maxParts}`);
    }
    return number;
  }
}
