import type { Middleware } from 'koa';
import type { WriteBudget } from '../services/write-budget.js';

/** Refuses a write past the caller's budget with -1029 / 429 and Retry-After, before its body is even read. */
export function rateLimitMiddleware(budget: WriteBudget): Middleware {
  return async (ctx, next) => {
    await budget.take(ctx.state.uid);
    await next();
  };
}
