import { Router } from '@koa/router';
import type { Metrics } from '../../observability/metrics.js';
import { respondOk } from '../envelope.js';

/** A dependency readiness waits for: the database, and Redis when one is configured. */
export interface ReadinessCheck {
  name: string;
  ping(): Promise<void>;
}

/** How long a dependency may take to answer a readiness probe before it counts as down. */
const PROBE_TIMEOUT_MS = 2000;

/** GET /healthz (the process runs), GET /readyz (its dependencies answer) and GET /metrics (Prometheus). */
export function healthRoutes(deps: { checks: ReadinessCheck[]; metrics: Metrics }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => respondOk(ctx, { status: 'ok' }));

  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(deps.checks.map(async (check) => [check.name, await probe(check)] as const));
    const down = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    if (down.length === 0) return respondOk(ctx, Object.fromEntries(results));
    ctx.status = 503;
    ctx.body = { result: -1009, message: `not ready: ${down.join(' and ')} not answering`, data: null };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  return router;
}

async function probe(check: ReadinessCheck): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), PROBE_TIMEOUT_MS)));
  try {
    return await Promise.race([check.ping().then(() => 'ok' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
