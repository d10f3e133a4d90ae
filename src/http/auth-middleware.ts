import type { Middleware } from 'koa';
import type { Credentials } from '../auth/credentials.js';

/** Sets ctx.state.uid from the request's credentials; the body never names the caller. */
export function authMiddleware(credentials: Credentials): Middleware {
  return async (ctx, next) => {
    ctx.state.uid = (await credentials.fromHeaders(ctx.req.headers)).uid;
    await next();
  };
}
