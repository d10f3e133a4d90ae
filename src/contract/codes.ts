/** The result codes of the envelope (API.md §1) and the HTTP status each is answered with. */

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

export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
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

/**
 * dtalk's own codes for the refusals its clients act on (the Android client drops a group it is no longer in, or
 * a member who left, only on these). dtalk callers get them instead of chatlog's code, always with HTTP 200.
 */
export const DtalkCode = {
  GroupDisbanded: -10002,
  NotInGroup: -10015,
  MemberNotInGroup: -10016,
} as const;

export type DtalkCode = (typeof DtalkCode)[keyof typeof DtalkCode];
