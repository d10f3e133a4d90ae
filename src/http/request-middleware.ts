import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/** Names the request: a sane X-Request-Id from the client is kept, else a new one; it is returned either way. */
export function requestIdMiddleware(): Middleware {
  return async (ctx, next) => {
    const offered = ctx.get('x-request-id');
    ctx.state.requestId = REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}

/**
 * One log line and the metrics of every request, once its answer is final. Only the route pattern, never the
 * path with ids, and never a body or a header: message content and tokens stay out of the logs.
 */
export function observeMiddleware(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const result = String(ctx.state.result ?? (ctx.body as { result?: unknown } | undefined)?.result ?? ctx.status);
      const labels = { method: ctx.method, route, result };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      logger.info(
        {
          reqId: ctx.state.requestId,
          method: ctx.method,
          route,
          status: ctx.status,
          result: Number(result),
          uid: ctx.state.uid,
          ms: Math.round(seconds * 1e4) / 10,
        },
        'request',
      );
    }
  };
}
