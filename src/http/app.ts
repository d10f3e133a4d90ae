import Koa from 'koa';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Ajv } from 'ajv';
import type { Credentials } from '../auth/credentials.js';
import type { JwtConfig } from '../config.js';
import { demoRoutes } from './routes/demo-routes.js';
import type { Codec } from '../proto/codec.js';
import type { GroupQueries } from '../services/group-queries.js';
import type { MediaService } from '../services/media-service.js';
import type { GroupService } from '../services/group-service.js';
import type { MessageService } from '../services/message-service.js';
import type { ConversationService } from '../services/conversation-service.js';
import type { RecordService } from '../services/record-service.js';
import type { Metrics } from '../observability/metrics.js';
import { authMiddleware } from './auth-middleware.js';
import { jsonBody } from './body.js';
import { errorMiddleware } from './error-middleware.js';
import { observeMiddleware, requestIdMiddleware } from './request-middleware.js';
import { rateLimitMiddleware } from './rate-limit-middleware.js';
import type { Sending } from '../services/sending.js';
import type { WriteBudget } from '../services/write-budget.js';
import { conversationRoutes } from './routes/conversation-routes.js';
import { groupRoutes } from './routes/group-routes.js';
import { healthRoutes, type ReadinessCheck } from './routes/health-routes.js';
import { mediaRoutes } from './routes/media-routes.js';
import { recordRoutes } from './routes/record-routes.js';
import { ApiCatalog } from './api-catalog.js';

export interface AppDeps {
  logger: Logger;
  ajv: Ajv;
  credentials: Credentials;
  codec: Codec;
  messages: MessageService;
  records: RecordService;
  conversations: ConversationService;
  groups: GroupService;
  groupQueries: GroupQueries;
  media: MediaService;
  /** The base of media URLs; the request's origin when unset. */
  publicUrl?: string;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  /** How long readiness waits for a dependency. */
  readinessTimeoutMs: number;
  /** Every write into other users' streams takes from it. */
  writeBudget: WriteBudget;
  /** Sends a pushed message (the same use case as a comet send). */
  sending: Sending;
  /** The demo page's POST /dev/token exists only while the development secret is in use. */
  jwt: JwtConfig;
  maxMessageBytes: number;
  /** Largest JSON body of the non-push endpoints. */
  maxJsonBodyBytes: number;
}

export interface ChatlogApp {
  app: Koa;
  /** Every method and path the routers answer, to check the OpenAPI document against. */
  routes: Array<{ method: string; path: string }>;
}

export function createApp(deps: AppDeps): ChatlogApp {
  const app = new Koa();
  // Koa would print errors it sees itself; every error is already answered and logged by errorMiddleware.
  app.silent = true;
  app.use(requestIdMiddleware());
  app.use(observeMiddleware(deps.logger, deps.metrics));
  app.use(errorMiddleware(deps.logger));

  const { ajv } = deps;
  const catalog = new ApiCatalog();
  const auth = authMiddleware(deps.credentials);
  const json = jsonBody(deps.maxJsonBodyBytes);
  // Every write into other users' streams (sends, recalls, marks, group changes) takes from the same budget.
  const limitWrites = rateLimitMiddleware(deps.writeBudget);
  const routers = [
    healthRoutes({ checks: deps.readiness, timeoutMs: deps.readinessTimeoutMs, metrics: deps.metrics, catalog }),
    recordRoutes({
      ajv,
      codec: deps.codec,
      sending: deps.sending,
      messages: deps.messages,
      records: deps.records,
      maxMessageBytes: deps.maxMessageBytes,
      auth,
      limitWrites,
      json,
      catalog,
    }),
    conversationRoutes({ ajv, codec: deps.codec, conversations: deps.conversations, catalog, auth, json, limitWrites }),
    groupRoutes({ ajv, groups: deps.groups, groupQueries: deps.groupQueries, catalog, auth, json, limitWrites }),
    mediaRoutes({ ajv, media: deps.media, catalog, auth, json, limitWrites, publicUrl: deps.publicUrl }),
  ];
  for (const router of routers) app.use(router.routes());
  // The demo page (GET /) is not part of the API: it stays out of `routes`, and so out of the OpenAPI document.
  app.use(demoRoutes({ ajv, jwt: deps.jwt }).routes());

  app.use((ctx) => {
    throw AppError.notFound(`there is no endpoint ${ctx.method} ${ctx.path}`);
  });
  const routes = routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      layer.methods.filter((method) => method !== 'HEAD').map((method) => ({ method, path: documentedPath(String(layer.path)) })),
    ),
  );
  return { app, routes };
}

/** A router path as the OpenAPI document writes it: `/media/*key` is `/media/{key}`. */
function documentedPath(path: string): string {
  return path.replace(/[:*](\w+)/g, '{$1}');
}
