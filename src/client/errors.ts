/**
 * The error a ChatlogClient call throws when the server answered with a non-zero `result` (API.md §1). Network
 * failures are not ChatlogErrors: they come out of fetch as they are, because the server never answered.
 */

import { ErrorCode } from '../contract/codes.js';

/** The contract's result codes, so callers can compare without magic numbers: the server's own table. */
export const ResultCode = ErrorCode;

export class ChatlogError extends Error {
  /** The envelope's `result` (-1000 when the response was not an envelope at all, e.g. a proxy's 502 page). */
  readonly code: number;
  /** The HTTP status. */
  readonly status: number;
  /** Seconds to wait before retrying, when the server sent Retry-After (rate limits, -1029). */
  readonly retryAfter?: number;

  constructor(code: number, status: number, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ChatlogError';
    this.code = code;
    this.status = status;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }

  /** -1010 / -1011: the token is wrong or expired; retrying with the same token cannot help. */
  get isAuthError(): boolean {
    return this.code === ResultCode.Unauthenticated || this.code === ResultCode.CredentialsExpired;
  }
}

/**
 * Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3); both become whole seconds from now.
 * Anything unreadable is ignored rather than guessed at.
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
