/**
 * The one error type of chatlog. Every failure a client can see is an AppError carrying a contract code
 * (API.md §1); the error middleware turns it into the envelope. Anything else that escapes is a bug and
 * becomes -1000.
 */
export const ErrorCode = {
  ServerError: -1000,
  NotFound: -1007,
  StorageUnavailable: -1009,
  Unauthenticated: -1010,
  CredentialsExpired: -1011,
  InvalidParams: -1012,
  PermissionDenied: -1019,
  RateLimited: -1029,
  TooLarge: -10202,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const httpStatusOf: Record<ErrorCode, number> = {
  [ErrorCode.ServerError]: 500,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.StorageUnavailable]: 503,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.CredentialsExpired]: 401,
  [ErrorCode.InvalidParams]: 400,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.TooLarge]: 413,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers the error implies (Retry-After for -1029). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = httpStatusOf[code];
    this.headers = options.headers ?? {};
  }

  static notFound(message: string): AppError {
    return new AppError(ErrorCode.NotFound, message);
  }

  static storageUnavailable(cause: unknown): AppError {
    return new AppError(ErrorCode.StorageUnavailable, 'storage is unavailable; nothing was written, retry later', { cause });
  }

  static unauthenticated(message: string): AppError {
    return new AppError(ErrorCode.Unauthenticated, message);
  }

  static credentialsExpired(message: string): AppError {
    return new AppError(ErrorCode.CredentialsExpired, message);
  }

  static invalidParams(message: string): AppError {
    return new AppError(ErrorCode.InvalidParams, message);
  }

  static permissionDenied(message: string): AppError {
    return new AppError(ErrorCode.PermissionDenied, message);
  }

  static tooLarge(message: string): AppError {
    return new AppError(ErrorCode.TooLarge, message);
  }
}
