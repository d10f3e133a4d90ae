import assert from 'node:assert/strict';
import { createAjv } from '../../src/input/validation.js';
import { engines } from '../helpers/engines.js';
import { useChatlog } from '../helpers/server.js';

interface Operation {
  requestBody?: { content: Record<string, { schema?: object; example?: unknown }> };
  responses: Record<string, unknown>;
  security?: unknown[];
}

describe('GET /openapi.json', () => {
  const chatlog = useChatlog(engines[0]!);
  let document: { openapi: string; paths: Record<string, Record<string, Operation>> };
  before(async () => {
    const response = await fetch(`${chatlog().urls[0]}/openapi.json`);
    assert.equal(response.status, 200);
    document = (await response.json()) as typeof document;
  });

  it('is an OpenAPI 3.1 document listing every route the server answers', () => {
    assert.equal(document.openapi, '3.1.0');
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)),
    );
    const served = chatlog().servers[0]!.routes.map(({ method, path }) => `${method} ${path}`);
    assert.ok(served.length >= 20, `${served.length} routes`);
    assert.deepEqual(
      served.filter((route) => !documented.has(route)),
      [],
      'routes missing from the document',
    );
    assert.deepEqual(
      [...documented].filter((route) => !served.includes(route)),
      [],
      'documented routes the server does not answer',
    );
  });

  it('has an example for every JSON request body, and each example satisfies the schema the route validates with', () => {
    const ajv = createAjv();
    let checked = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const json = operation.requestBody?.content['application/json'];
        if (!json) continue;
        assert.ok(json.example !== undefined, `${method} ${path} has an example`);
        // The document writes our errorHint keyword as a description; both validate alike.
        const validate = ajv.compile(json.schema!);
        assert.ok(validate(json.example), `${method} ${path}: ${JSON.stringify(validate.errors)}`);
        checked++;
      }
    }
    assert.ok(checked >= 17, `${checked} examples checked`);
  });

  it('marks the endpoints that need a bearer token', () => {
    assert.ok(document.paths['/app/record/sync-record']!.post!.security);
    assert.equal(document.paths['/healthz']!.get!.security, undefined);
  });
});
