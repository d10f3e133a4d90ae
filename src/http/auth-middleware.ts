import type { Middleware } from 'koa';
import type { Authenticator } from '../auth/jwt.js';
import { AppError } from '../errors.js';

/** Sets ctx.state.uid from the bearer token; the body never names the caller. */
export function authMiddleware(authenticate: Authenticator): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (header === '') throw AppError.unauthenticated('missing credentials: send Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw AppError.unauthenticated('the Authorization header must be "Bearer <token>"');
    ctx.state.uid = await authenticate(match[1]!);
    await next();
  };
}
