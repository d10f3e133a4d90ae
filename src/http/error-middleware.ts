import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { AppError, ErrorCode, Refusal } from '../errors.js';
import type { Envelope } from '../contract/envelope.js';

/** Errors raised by Koa itself (http-errors) carry only a status; give each the contract code it means. */
const codeOfStatus: Record<number, ErrorCode> = {
  400: ErrorCode.InvalidParams,
  401: ErrorCode.Unauthenticated,
  404: ErrorCode.NotFound,
  413: ErrorCode.TooLarge,
};

/**
 * Whether a request comes from a dtalk client: it signs with FZM-SIGNATURE or sends dtalk's other FZM-* headers
 * (FZM-DEVICE, FZM-UUID, FZM-VERSION, ...). dtalk answered every error with HTTP 200, and its Android client never
 * reads the body of another status: such callers get 200 and the code in `result`.
 */
export function isDtalkCaller(headers: Record<string, unknown>): boolean {
  return Object.keys(headers).some((name) => name.startsWith('fzm-'));
}

/**
 * Turns every thrown error into the envelope. An error that is not an AppError is a bug: it is logged with the
 * request id and the client gets -1000 without any detail.
 */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const error = toAppError(err);
      if (error.code === ErrorCode.ServerError || error.code === ErrorCode.StorageUnavailable) {
        logger.error({ err, reqId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'request failed');
      }
      const dtalk = isDtalkCaller(ctx.headers);
      ctx.status = dtalk ? 200 : error.status;
      ctx.set(error.headers);
      ctx.body = { result: (dtalk && error.dtalkCode) || error.code, message: error.message, data: null } satisfies Envelope<null>;
    }
  };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const { status, expose, message } = (err ?? {}) as { status?: number; expose?: boolean; message?: string };
  const code = status === undefined ? undefined : codeOfStatus[status];
  if (code !== undefined && expose && message) return new Refusal(code, message);
  return new AppError(ErrorCode.ServerError, 'unexpected server error; it has been logged', { cause: err });
}
