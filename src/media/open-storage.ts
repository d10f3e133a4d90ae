import { join } from 'node:path';
import type { MediaConfig } from '../config.js';
import { LocalMediaStorage } from './local-media-storage.js';
import type { MediaStorage } from './media-storage.js';

/**
 * The media storage the settings name: S3 when MEDIA_S3_BUCKET is set, else local disk under MEDIA_DIR. The AWS
 * SDK is loaded only for S3, so that the embedded default neither pays for it nor hears its warnings.
 */
export async function openMediaStorage(config: MediaConfig): Promise<MediaStorage> {
  if (!config.s3) return LocalMediaStorage.open(config.dir);
  const { S3MediaStorage } = await import('./s3-media-storage.js');
  return S3MediaStorage.open(config.s3, join(config.dir, 'tmp'));
}
