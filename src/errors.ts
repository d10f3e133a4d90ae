import { DtalkCode, ErrorCode, HTTP_STATUS_OF } from './contract/codes.js';

export { DtalkCode, ErrorCode };

/**
 * The one error type of chatlog. Every failure a client can see is an AppError carrying a contract code
 * (API.md §1); the error middleware turns it into the envelope. Anything else that escapes is a bug and
 * becomes -1000.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers the error implies (Retry-After for -1029). */
  readonly headers: Record<string, string>;
  /** The code a dtalk client expects for this refusal, where it differs from `code`. */
  readonly dtalkCode?: DtalkCode;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string>; dtalkCode?: DtalkCode } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = HTTP_STATUS_OF[code];
    this.headers = options.headers ?? {};
    this.dtalkCode = options.dtalkCode;
  }

  static notInGroup(groupId: number): AppError {
    return new Refusal(ErrorCode.PermissionDenied, `you are not a member of group ${groupId}`, { dtalkCode: DtalkCode.NotInGroup });
  }

  static groupDisbanded(groupId: number): AppError {
    return new Refusal(ErrorCode.NotFound, `group ${groupId} was disbanded`, { dtalkCode: DtalkCode.GroupDisbanded });
  }

  static memberNotInGroup(uid: string, groupId: number): AppError {
    return new Refusal(ErrorCode.NotFound, `${uid} is not a member of group ${groupId}`, { dtalkCode: DtalkCode.MemberNotInGroup });
  }

  static notFound(message: string): AppError {
    return new Refusal(ErrorCode.NotFound, message);
  }

  static storageUnavailable(cause: unknown): AppError {
    return new AppError(ErrorCode.StorageUnavailable, 'storage is unavailable; nothing was written, retry later', { cause });
  }

  /** Storage failed while committing: the write may or may not be there. Not -1009, which promises it is not. */
  static outcomeUnknown(cause: unknown): AppError {
    return new AppError(
      ErrorCode.ServerError,
      'storage failed while committing, so the change may have been saved: a push may be sent again with the same msgId; check other changes before repeating them',
      { cause },
    );
  }

  static unauthenticated(message: string): AppError {
    return new Refusal(ErrorCode.Unauthenticated, message);
  }

  static credentialsExpired(message: string): AppError {
    return new Refusal(ErrorCode.CredentialsExpired, message);
  }

  static invalidParams(message: string): AppError {
    return new Refusal(ErrorCode.InvalidParams, message);
  }

  static permissionDenied(message: string): AppError {
    return new Refusal(ErrorCode.PermissionDenied, message);
  }

  static rateLimited(message: string, retryAfterSeconds: number): AppError {
    return new Refusal(ErrorCode.RateLimited, message, { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }

  static tooLarge(message: string): AppError {
    return new Refusal(ErrorCode.TooLarge, message);
  }
}

/**
 * A request the rules refuse: not found, not allowed, invalid, too large, unauthenticated, too many. Services
 * refuse before they write anything, which lets group commit run its works without savepoints; an AppError that
 * is not a Refusal (storage failures) says something went wrong instead.
 */
export class Refusal extends AppError {
  override readonly name = 'Refusal';
}
