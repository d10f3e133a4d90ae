import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import { build } from 'esbuild';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { signToken } from '../../auth/jwt.js';
import type { JwtConfig } from '../../config.js';
import { AppError } from '../../errors.js';
import { jsonBody } from '../body.js';
import { respondOk } from '../envelope.js';
import { uidSchema } from '../../input/schemas.js';
import { compileValidator } from '../../input/validation.js';

export interface DemoRoutesDeps {
  ajv: Ajv;
  /** POST /dev/token exists only while `usingDevelopmentSecret`: that secret is public, so minting adds no risk. */
  jwt: JwtConfig;
  logger: Logger;
}

/** src/web: the page, its stylesheet and its script (which imports src/client). */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const DEV_TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * The page loads nothing but its own script and stylesheet and talks only to its own origin (fetch and /ws), so
 * the policy can forbid everything else; with no inline script, injected markup could not run either.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Rebuilt at every start; revalidating costs nothing next to a stale script after an upgrade.
  'Cache-Control': 'no-cache',
};

/**
 * One build per process, shared by every instance a process starts (tests start many): esbuild bundles the page
 * script with the typed client for browsers in some tens of milliseconds, so `npm start` needs no build step.
 */
let scriptBuild: Promise<string> | undefined;

function pageScript(): Promise<string> {
  scriptBuild ??= build({
    entryPoints: [join(WEB_DIR, 'app.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  }).then((result) => result.outputFiles[0]!.text);
  return scriptBuild;
}

const staticFiles = new Map<string, Promise<string>>();

function webFile(name: string): Promise<string> {
  let file = staticFiles.get(name);
  if (!file) staticFiles.set(name, (file = readFile(join(WEB_DIR, name), 'utf8')));
  return file;
}

/** GET / (the demo page) and its assets; POST /dev/token while the development secret is in use. */
export function demoRoutes({ ajv, jwt, logger }: DemoRoutesDeps): Router {
  const router = new Router();
  // A compiled deployment (dist/) has no src/web unless the build copies it; the API works without the page.
  const available = existsSync(join(WEB_DIR, 'index.html'));
  const devTokens = jwt.usingDevelopmentSecret;

  if (available) {
    // Started now rather than at the first visit; a failure is logged here and answered -1000 on each visit.
    pageScript().catch((err: unknown) => logger.error({ err }, 'bundling the demo page script failed'));
  }

  const serve = async (ctx: Context, type: string, body: Promise<string>) => {
    if (!available) throw AppError.notFound('the demo page is not part of this build (src/web is missing)');
    const text = await body;
    ctx.set(PAGE_HEADERS);
    ctx.type = type;
    ctx.body = text;
  };

  router.get('/', (ctx) =>
    serve(ctx, 'text/html; charset=utf-8', webFile('index.html').then((html) => html.replace('__DEV_TOKENS__', devTokens ? 'on' : 'off'))),
  );
  router.get('/demo/app.js', (ctx) => serve(ctx, 'text/javascript; charset=utf-8', pageScript()));
  router.get('/demo/style.css', (ctx) => serve(ctx, 'text/css; charset=utf-8', webFile('style.css')));
  router.get('/demo/favicon.svg', (ctx) => serve(ctx, 'image/svg+xml', webFile('favicon.svg')));

  if (devTokens) {
    const secret = jwt.secret!;
    const validate = compileValidator<{ uid: string }>(ajv, { type: 'object', required: ['uid'], properties: { uid: uidSchema } });
    router.post('/dev/token', jsonBody(4096), async (ctx) => {
      const { uid } = validate(ctx.request.body);
      // With the issuer and audience the authenticator enforces, or the token would be refused.
      respondOk(ctx, { token: await signToken(secret, uid, { ttlSeconds: DEV_TOKEN_TTL_SECONDS, issuer: jwt.issuer, audience: jwt.audience }) });
    });
  }
  return router;
}
