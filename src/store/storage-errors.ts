import { AppError } from '../errors.js';

/** Connection loss, a pool that cannot hand out a connection, a locked or full file: the client may retry. */
export function isStorageUnavailable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '3D000'].includes(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)/.test(code)) return true;
  }
  return typeof message === 'string' && /Timeout acquiring a connection|Connection terminated|not currently accepting connections/.test(message);
}

/** Runs a read; a failure that means the storage is away becomes -1009. */
export async function guarded<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw isStorageUnavailable(err) ? AppError.storageUnavailable(err) : err;
  }
}
