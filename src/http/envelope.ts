import type { Context } from 'koa';

/** The response envelope of API.md §1. */
export interface Envelope<T> {
  result: number;
  message: string;
  data: T | null;
}

export function respondOk<T extends object>(ctx: Context, data: T): void {
  ctx.status = 200;
  ctx.body = { result: 0, message: 'OK', data } satisfies Envelope<T>;
}
