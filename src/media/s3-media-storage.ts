/**
 * Media in an S3-compatible object store (AWS S3, MinIO, Ceph, R2...) through the official AWS SDK. Uploads are
 * spooled to disk first (upload-reader.ts) and sent with their length, so that no body is held in memory and
 * the store sees plain, unchunked requests, which every S3-compatible server understands.
 */
import { createReadStream } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mkdir } from 'node:fs/promises';
import type { S3Config } from '../config.js';
import { AppError } from '../errors.js';
import { keyToUrlPath } from './media-key.js';
import type { Download, MediaStorage, StoredPart } from './media-storage.js';
import type { SpooledFile } from './upload-reader.js';

export class S3MediaStorage implements MediaStorage {
  private readonly s3: S3Client;

  private constructor(
    private readonly config: S3Config,
    readonly tmpDir: string,
  ) {
    this.s3 = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
      // Checksums only where S3 requires them: the default (aws-chunked bodies with trailing checksums) is not
      // understood by every S3-compatible server, and some store the chunk framing as the object.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  static async open(config: S3Config, tmpDir: string): Promise<S3MediaStorage> {
    await mkdir(tmpDir, { recursive: true });
    return new S3MediaStorage(config, tmpDir);
  }

  async put(key: string, file: SpooledFile, contentType: string): Promise<string> {
    try {
      const result = await this.s3.send(
        new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: createReadStream(file.path), ContentLength: file.size, ContentType: contentType }),
      );
      return result.ETag ?? `"${file.md5}"`;
    } finally {
      await file.discard();
    }
  }

  async createMultipart(key: string, contentType: string): Promise<string> {
    const result = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.config.bucket, Key: key, ContentType: contentType }));
    return result.UploadId!;
  }

  async putPart(key: string, handle: string, partNumber: number, file: SpooledFile): Promise<string> {
    try {
      const result = await this.s3.send(
        new UploadPartCommand({
          Bucket: this.config.bucket,
          Key: key,
          UploadId: handle,
          PartNumber: partNumber,
          Body: createReadStream(file.path),
          ContentLength: file.size,
        }),
      );
      return result.ETag ?? `"${file.md5}"`;
    } finally {
      await file.discard();
    }
  }

  async completeMultipart(key: string, handle: string, parts: StoredPart[]): Promise<string> {
    try {
      const result = await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.config.bucket,
          Key: key,
          UploadId: handle,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
        }),
      );
      return result.ETag ?? '';
    } catch (err) {
      // S3 wants every part but the last to be at least 5 MiB: a client's rule to keep, so a refusal, not a fault.
      if ((err as { name?: string }).name === 'EntityTooSmall')
        throw AppError.invalidParams('every part but the last must be at least 5 MiB for this object store');
      throw err;
    }
  }

  async abortMultipart(key: string, handle: string): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: key, UploadId: handle }));
    } catch (err) {
      // Already gone, or a store without abort (its lifecycle rules then remove the parts): nothing to keep.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && status !== 405 && status !== 501) throw err;
    }
  }

  async download(key: string): Promise<Download> {
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.config.bucket, Key: key }), {
      expiresIn: Math.ceil(this.config.urlTtlMs / 1000),
    });
    return { kind: 'redirect', url };
  }

  get publicUrl(): ((key: string) => string) | undefined {
    const base = this.config.publicUrl;
    return base === undefined ? undefined : (key) => `${base.replace(/\/+$/, '')}/${keyToUrlPath(key)}`;
  }
}
