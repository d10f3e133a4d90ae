import { Router } from '@koa/router';
import type { Metrics } from '../../observability/metrics.js';
import type { ApiCatalog } from '../api-catalog.js';
import { respondOk } from '../envelope.js';

/** A dependency readiness waits for: the database, and Redis when one is configured. */
export interface ReadinessCheck {
  name: string;
  ping(): Promise<void>;
}

/**
 * GET /healthz (the process runs), GET /readyz (its dependencies answer), GET /metrics (Prometheus) and
 * GET /openapi.json; none needs credentials.
 */
export function healthRoutes(deps: { checks: ReadinessCheck[]; timeoutMs: number; metrics: Metrics; catalog: ApiCatalog }): Router {
  const router = new Router();
  const { catalog } = deps;
  const get = (path: string, summary: string, response: { data: unknown } | { mediaType: string }) =>
    catalog.add({ method: 'get', path, summary, tag: 'operations', auth: false, response });

  // dtalk clients probe GET /ping of each chat server for its "online" dot.
  for (const path of ['/healthz', '/ping']) {
    get(path, 'The process runs', { data: { status: 'ok' } });
    router.get(path, (ctx) => respondOk(ctx, { status: 'ok' }));
  }

  get('/readyz', 'The database (and Redis, when configured) answer; else 503 with -1009', { data: { database: 'ok', redis: 'ok' } });
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(deps.checks.map(async (check) => [check.name, await probe(check, deps.timeoutMs)] as const));
    const down = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    if (down.length === 0) return respondOk(ctx, Object.fromEntries(results));
    ctx.status = 503;
    ctx.body = { result: -1009, message: `not ready: ${down.join(' and ')} not answering`, data: null };
  });

  get('/metrics', 'Prometheus metrics', { mediaType: 'text/plain' });
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  get('/openapi.json', 'This document', { mediaType: 'application/json' });
  router.get('/openapi.json', (ctx) => {
    ctx.body = catalog.document();
  });
  return router;
}

/** A dependency that does not answer within `timeoutMs` counts as down. */
async function probe(check: ReadinessCheck, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), timeoutMs)));
  try {
    return await Promise.race([check.ping().then(() => 'ok' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
