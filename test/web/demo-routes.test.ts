import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { temporaryDir } from '../helpers/temp-dirs.js';
import { createServer, type ChatlogServer } from '../../src/server.js';
import { engines } from '../helpers/engines.js';
import { useChatlog } from '../helpers/server.js';

async function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, ...((await response.json()) as { result: number; message: string; data: { token?: string } | null }) };
}

describe('demo routes', () => {
  describe('with the development secret', () => {
    let server: ChatlogServer;
    let baseUrl: string;
    before(async () => {
      server = await createServer({ ...loadConfig({ LOG_LEVEL: 'silent', MEDIA_DIR: temporaryDir('media') }), database: await engines[0]!.freshDatabase() });
      baseUrl = (await server.listen(0, '127.0.0.1')).url;
    });
    after(() => server?.close());

    it('serves the page with a content security policy, its stylesheet and the bundled script', async () => {
      const page = await fetch(`${baseUrl}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type')!, /^text\/html/);
      assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
      const html = await page.text();
      assert.match(html, /data-dev-tokens="on"/);
      assert.match(html, /<script type="module" src="\/demo\/app.js">/);

      const script = await fetch(`${baseUrl}/demo/app.js`);
      assert.equal(script.status, 200);
      assert.match(script.headers.get('content-type')!, /^text\/javascript/);
      const code = await script.text();
      assert.match(code, /ChatlogClient = class/, 'the typed client is bundled in');
      assert.doesNotMatch(code, /^\s*import\s/m, 'one self-contained module');

      const css = await fetch(`${baseUrl}/demo/style.css`);
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type')!, /^text\/css/);
    });

    it('hands out a token for a uid on POST /dev/token, which the API accepts', async () => {
      const reply = await post(`${baseUrl}/dev/token`, '{"uid":"dora"}');
      assert.equal(reply.result, 0, reply.message);
      const groups = await post(`${baseUrl}/app/group-list`, '{}', { 'content-type': 'application/json', authorization: `Bearer ${reply.data!.token}` });
      assert.deepEqual(groups, { status: 200, result: 0, message: 'OK', data: { groups: [] } });
    });

    it('refuses a missing or invalid uid with -1012', async () => {
      for (const body of ['{}', '{"uid":"has space"}', '{"uid":""}', 'not json']) {
        const reply = await post(`${baseUrl}/dev/token`, body);
        assert.equal(reply.status, 400, body);
        assert.equal(reply.result, -1012, body);
      }
    });
  });

  describe('with JWT_SECRET set', () => {
    const chatlog = useChatlog(engines[0]!);

    it('has no POST /dev/token, and the page asks for a pasted token', async () => {
      const reply = await post(`${chatlog().urls[0]}/dev/token`, '{"uid":"eve"}');
      assert.equal(reply.status, 404);
      assert.equal(reply.result, -1007);
      const html = await (await fetch(`${chatlog().urls[0]}/`)).text();
      assert.match(html, /data-dev-tokens="off"/);
    });
  });
});
