import type { Context } from 'koa';
import type { Envelope } from '../contract/envelope.js';
import { stringify } from '../json.js';

/** Answers with the success envelope of API.md §1. */
export function respondOk<T extends object>(ctx: Context, data: T): void {
  ctx.status = 200;
  // Written here rather than by Koa, so that bigints (dtalk's "for ever") come out exact; the logs read it here.
  ctx.state.result = 0;
  ctx.type = 'application/json';
  ctx.body = stringify({ result: 0, message: 'OK', data } satisfies Envelope<T>);
}
