import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Context } from 'koa';
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
}

/**
 * dist/web under the package root, whether the server runs from src (tsx) or from dist: the page, its
 * stylesheet and its script bundled with src/client, built by scripts/build-web.ts.
 */
function webDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'web');
}

const DEV_TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * The page loads nothing but its own script and stylesheet and talks only to its own origin (fetch and /ws), so
 * the policy can forbid everything else; with no inline script, injected markup could not run either.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Rebuilt by every build; revalidating costs nothing next to a stale script after an upgrade.
  'Cache-Control': 'no-cache',
};

/** GET / (the demo page) and its assets; POST /dev/token while the development secret is in use. */
export function demoRoutes({ ajv, jwt }: DemoRoutesDeps): Router {
  const router = new Router();
  const dir = webDir();
  // Without a built page (npm run build:web) the API works all the same.
  const available = existsSync(join(dir, 'index.html'));
  const devTokens = jwt.usingDevelopmentSecret;
  // Read once per instance; the files change only with a new build.
  const files = new Map<string, Promise<string>>();
  const webFile = (name: string): Promise<string> => {
    let file = files.get(name);
    if (!file) files.set(name, (file = readFile(join(dir, name), 'utf8')));
    return file;
  };

  const serve = async (ctx: Context, type: string, body: () => Promise<string>) => {
    if (!available) throw AppError.notFound('the demo page is not part of this build (run npm run build:web)');
    const text = await body();
    ctx.set(PAGE_HEADERS);
    ctx.type = type;
    ctx.body = text;
  };

  router.get('/', (ctx) =>
    serve(ctx, 'text/html; charset=utf-8', () => webFile('index.html').then((html) => html.replace('__DEV_TOKENS__', devTokens ? 'on' : 'off'))),
  );
  router.get('/demo/app.js', (ctx) => serve(ctx, 'text/javascript; charset=utf-8', () => webFile('app.js')));
  router.get('/demo/style.css', (ctx) => serve(ctx, 'text/css; charset=utf-8', () => webFile('style.css')));
  router.get('/demo/favicon.svg', (ctx) => serve(ctx, 'image/svg+xml', () => webFile('favicon.svg')));

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
