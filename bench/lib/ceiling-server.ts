/**
 * The ceiling of a push on this machine: a bare Koa app whose POST /record/push reads the multipart upload with
 * chatlog's own busboy reader and limits (src/http/body.ts) and answers a small envelope without decoding,
 * checking or storing anything: the HTTP, Koa and upload work every push pays before chatlog's own starts.
 * Started by the bench like a server (bench/lib/servers.ts): PORT and HOST from the environment, GET /healthz,
 * exit 0 on SIGTERM.
 */
import { createServer } from 'node:http';
import Koa from 'koa';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { readMessagePart } from '../../src/http/body.js';

const config = loadConfig(process.env);
let logId = 0;
const app = new Koa().use(async (ctx) => {
  if (ctx.path === '/healthz') {
    ctx.body = { result: 0, message: 'OK', data: {} };
    return;
  }
  try {
    await readMessagePart(ctx, config.maxMessageBytes);
    ctx.body = { result: 0, message: 'OK', data: { logId: ++logId, datetime: Date.now() } };
  } catch (err) {
    ctx.status = err instanceof AppError ? err.status : 500;
    ctx.body = { result: err instanceof AppError ? err.code : -1000, message: String(err), data: null };
  }
});

const server = createServer(app.callback()).listen(config.port, config.host);
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
