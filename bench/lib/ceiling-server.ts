/**
 * The ceiling of a push on this machine: a bare Koa app whose `POST /record/push` reads the multipart upload in
 * memory with chatlog's own busboy reader (src/http/body.ts, with the same MAX_MESSAGE_BYTES limit from the same
 * settings) and answers a small envelope `{result: 0, data: {logId, datetime}}` without decoding, checking or
 * storing anything: HTTP, Koa and the upload parse, which every push pays before chatlog's own work starts.
 *
 * Started by the bench as a process of its own, like the server (bench/lib/child.ts): PORT and HOST from the
 * environment, GET /healthz for readiness, exit 0 on SIGTERM or SIGINT.
 */
import 'dotenv/config';
import { createServer } from 'node:http';
import Koa from 'koa';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { readMessagePart } from '../../src/http/body.js';

const config = loadConfig(process.env);
const app = new Koa();
let logId = 0;

app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/healthz') {
    ctx.body = { result: 0, message: 'OK', data: {} };
    return;
  }
  if (ctx.method !== 'POST' || ctx.path !== '/record/push') {
    ctx.status = 404;
    ctx.body = { result: -1007, message: 'not found', data: null };
    return;
  }
  try {
    await readMessagePart(ctx, config.maxMessageBytes);
    ctx.body = { result: 0, message: 'OK', data: { logId: ++logId, datetime: Date.now() } };
  } catch (err) {
    const status = err instanceof AppError ? err.status : 500;
    ctx.status = status;
    ctx.body = { result: err instanceof AppError ? err.code : -1000, message: err instanceof Error ? err.message : String(err), data: null };
  }
});

const server = createServer(app.callback());
server.listen(config.port, config.host);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
