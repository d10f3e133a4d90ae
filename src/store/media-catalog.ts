/** The MediaCatalog on knex: media keys, their owners, and open multipart uploads with their parts. */
import type { Knex } from 'knex';
import { guarded } from './storage-errors.js';
import type { MediaCatalog, MediaObject, MediaPart, MediaUpload } from './store.js';

interface ObjectRow {
  key: string;
  owner_id: string;
  size: number | string | null;
  etag: string | null;
  content_type: string | null;
  updated_at: number | string;
}

interface UploadRow {
  upload_id: string;
  key: string;
  owner_id: string;
  handle: string;
  content_type: string;
  created_at: number | string;
  expires_at: number | string;
}

const toObject = (row: ObjectRow): MediaObject => ({
  key: row.key,
  ownerId: row.owner_id,
  size: row.size === null ? null : Number(row.size),
  etag: row.etag,
  contentType: row.content_type,
  updatedAt: Number(row.updated_at),
});

const toUpload = (row: UploadRow): MediaUpload => ({
  uploadId: row.upload_id,
  key: row.key,
  ownerId: row.owner_id,
  handle: row.handle,
  contentType: row.content_type,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

export class KnexMediaCatalog implements MediaCatalog {
  constructor(private readonly db: Knex) {}

  async getObject(key: string): Promise<MediaObject | undefined> {
    const row: ObjectRow | undefined = await guarded(this.db('media_objects').where({ key }).first());
    return row && toObject(row);
  }

  async claimObject(key: string, ownerId: string, now: number): Promise<string> {
    await guarded(this.db('media_objects').insert({ key, owner_id: ownerId, created_at: now, updated_at: now }).onConflict('key').ignore());
    const row: { owner_id: string } = await guarded(this.db('media_objects').select('owner_id').where({ key }).first());
    return row.owner_id;
  }

  async finishObject(key: string, ownerId: string, stored: { size: number; etag: string; contentType: string }, now: number): Promise<void> {
    await guarded(
      this.db('media_objects')
        .where({ key, owner_id: ownerId })
        .update({ size: stored.size, etag: stored.etag, content_type: stored.contentType, updated_at: now }),
    );
  }

  async createUpload(upload: MediaUpload): Promise<void> {
    await guarded(
      this.db('media_uploads').insert({
        upload_id: upload.uploadId,
        key: upload.key,
        owner_id: upload.ownerId,
        handle: upload.handle,
        content_type: upload.contentType,
        created_at: upload.createdAt,
        expires_at: upload.expiresAt,
      }),
    );
  }

  async getUpload(uploadId: string): Promise<MediaUpload | undefined> {
    const row: UploadRow | undefined = await guarded(this.db('media_uploads').where({ upload_id: uploadId }).first());
    return row && toUpload(row);
  }

  async savePart(uploadId: string, part: MediaPart): Promise<void> {
    await guarded(
      this.db('media_parts')
        .insert({ upload_id: uploadId, part_number: part.partNumber, etag: part.etag, size: part.size })
        .onConflict(['upload_id', 'part_number'])
        .merge(['etag', 'size']),
    );
  }

  async listParts(uploadId: string): Promise<MediaPart[]> {
    const rows: Array<{ part_number: number; etag: string; size: number | string }> = await guarded(
      this.db('media_parts').select('part_number', 'etag', 'size').where({ upload_id: uploadId }).orderBy('part_number'),
    );
    return rows.map((row) => ({ partNumber: Number(row.part_number), etag: row.etag, size: Number(row.size) }));
  }

  async deleteUpload(uploadId: string): Promise<boolean> {
    return guarded(
      this.db.transaction(async (trx) => {
        await trx('media_parts').where({ upload_id: uploadId }).delete();
        return (await trx('media_uploads').where({ upload_id: uploadId }).delete()) > 0;
      }),
    );
  }

  async expiredUploads(now: number, limit: number): Promise<MediaUpload[]> {
    const rows: UploadRow[] = await guarded(this.db('media_uploads').where('expires_at', '<', now).orderBy('expires_at').limit(limit));
    return rows.map(toUpload);
  }
}
