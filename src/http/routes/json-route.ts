import type { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Context, Middleware } from 'koa';
import type { ApiCatalog } from '../api-catalog.js';
import { respondOk } from '../envelope.js';
import { compileValidator } from '../../input/validation.js';

/** What every authenticated JSON endpoint is built from. */
export interface JsonRouteKit {
  router: Router;
  ajv: Ajv;
  catalog: ApiCatalog;
  auth: Middleware;
  json: Middleware;
  /** Holds each user to the configured write rate (RATE_LIMIT_SENDS). */
  limitWrites: Middleware;
}

export interface JsonRouteDef<T> {
  path: string;
  summary: string;
  tag: string;
  schema: object;
  /** A request that satisfies the schema, for the OpenAPI document (a test validates it). */
  example: T;
  /** An example of the answer's data. */
  response: object;
  /** The endpoint writes into other users' streams: it counts against the caller's rate limit. */
  writes?: boolean;
  /** `ctx` is there for what the answer takes from the request itself (its origin, say). */
  handle(uid: string, body: T, ctx: Context): Promise<object>;
}

/**
 * POST `path`: authenticate, parse, validate with `schema`, call the handler, wrap its result in the envelope.
 * The same schema goes into the OpenAPI document.
 */
export function jsonRoute<T>(kit: JsonRouteKit, def: JsonRouteDef<T>): void {
  const validate = compileValidator<T>(kit.ajv, def.schema);
  kit.catalog.add({
    method: 'post',
    path: def.path,
    summary: def.summary,
    tag: def.tag,
    auth: true,
    json: { schema: def.schema, example: def.example },
    response: { data: def.response },
  });
  const handle: Middleware = async (ctx) => respondOk(ctx, await def.handle(ctx.state.uid, validate(ctx.request.body), ctx));
  if (def.writes) kit.router.post(def.path, kit.auth, kit.limitWrites, kit.json, handle);
  else kit.router.post(def.path, kit.auth, kit.json, handle);
}
