/**
 * Builds the demo page into dist/web: its script bundled with the typed client (src/client) for browsers, its
 * page, stylesheet and icon copied beside it. The server only serves these files, so it needs no bundler at run
 * time; `npm start` and `npm test` run this first, and `npm run build` with the rest of the build.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const source = fileURLToPath(new URL('../src/web/', import.meta.url));
const target = fileURLToPath(new URL('../dist/web/', import.meta.url));

await mkdir(target, { recursive: true });
await build({
  entryPoints: [`${source}app.js`],
  outfile: `${target}app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  logLevel: 'warning',
  legalComments: 'none',
});
await Promise.all(['index.html', 'style.css', 'favicon.svg'].map((name) => copyFile(`${source}${name}`, `${target}${name}`)));
