import { Router } from '@koa/router';
import { respondOk } from '../envelope.js';

/** GET /healthz: the process is up and serving. Readiness (database, Redis) is a separate question. */
export function healthRoutes(): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => respondOk(ctx, { status: 'ok' }));
  return router;
}
