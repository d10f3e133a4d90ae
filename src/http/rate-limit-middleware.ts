import type { Middleware } from 'koa';
import { AppError } from '../errors.js';
import type { SendLimiter } from '../ratelimit/send-limiter.js';

/** Refuses a send past the caller's rate with -1029 / 429 and Retry-After, before its body is even read. */
export function rateLimitMiddleware(limiter: SendLimiter): Middleware {
  return async (ctx, next) => {
    const decision = await limiter.take(ctx.state.uid);
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw AppError.rateLimited(`too many messages: at most the configured rate per user; retry in ${seconds} s`, seconds);
    }
    await next();
  };
}
