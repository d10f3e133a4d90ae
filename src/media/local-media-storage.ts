/**
 * Media on local disk, under one directory: `objects/<xx>/<sha-256 of the key>` for finished files (named by
 * hash, so that no key can name a path, and "a/b" and "a/b/c" can both be objects), `uploads/<handle>/<part>` for
 * the parts of unfinished multipart uploads, `tmp/` for uploads being received. Files are written to tmp/ and
 * renamed into place, so a reader never sees half a file and a crash leaves only a temporary file behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';
import type { Download, MediaStorage, StoredPart } from './media-storage.js';
import type { SpooledFile } from './upload-reader.js';

/** Temporary files older than this are left over from a crash: removed at start. */
const STALE_TMP_MS = 24 * 3600 * 1000;

export class LocalMediaStorage implements MediaStorage {
  readonly tmpDir: string;
  private readonly objectsDir: string;
  private readonly uploadsDir: string;

  private constructor(root: string) {
    this.tmpDir = join(root, 'tmp');
    this.objectsDir = join(root, 'objects');
    this.uploadsDir = join(root, 'uploads');
  }

  static async open(root: string): Promise<LocalMediaStorage> {
    const storage = new LocalMediaStorage(root);
    await Promise.all([storage.tmpDir, storage.objectsDir, storage.uploadsDir].map((dir) => mkdir(dir, { recursive: true })));
    await storage.removeStaleTmp();
    return storage;
  }

  async put(key: string, file: SpooledFile): Promise<string> {
    await this.moveInto(file.path, this.objectPath(key));
    return `"${file.md5}"`;
  }

  async createMultipart(): Promise<string> {
    const handle = randomUUID();
    await mkdir(join(this.uploadsDir, handle), { recursive: true });
    return handle;
  }

  async putPart(_key: string, handle: string, partNumber: number, file: SpooledFile): Promise<string> {
    const dir = join(this.uploadsDir, handle);
    try {
      await rename(file.path, join(dir, String(partNumber)));
    } catch (err) {
      await file.discard();
      // The upload was aborted or expired while this part was arriving.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw AppError.notFound('this multipart upload is no longer open');
      throw err;
    }
    return `"${file.md5}"`;
  }

  async completeMultipart(key: string, handle: string, parts: StoredPart[]): Promise<string> {
    const joined = join(this.tmpDir, `complete-${randomUUID()}`);
    const hash = createHash('md5');
    try {
      const out = createWriteStream(joined, { flags: 'wx' });
      for (const part of parts) {
        const input = createReadStream(join(this.uploadsDir, handle, String(part.partNumber)));
        input.on('data', (chunk) => hash.update(chunk));
        await pipeline(input, out, { end: false });
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      await this.moveInto(joined, this.objectPath(key));
    } catch (err) {
      await rm(joined, { force: true });
      throw err;
    }
    await rm(join(this.uploadsDir, handle), { recursive: true, force: true });
    return `"${hash.digest('hex')}-${parts.length}"`;
  }

  async abortMultipart(_key: string, handle: string): Promise<void> {
    await rm(join(this.uploadsDir, handle), { recursive: true, force: true });
  }

  async download(key: string): Promise<Download> {
    return { kind: 'file', path: this.objectPath(key) };
  }

  private objectPath(key: string): string {
    const name = createHash('sha256').update(key).digest('hex');
    return join(this.objectsDir, name.slice(0, 2), name);
  }

  private async moveInto(from: string, to: string): Promise<void> {
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);
  }

  private async removeStaleTmp(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TMP_MS) await rm(path, { force: true });
    }
  }
}
