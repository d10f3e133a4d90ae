import assert from 'node:assert/strict';
import { ChatlogClient, ChatlogError, parseRetryAfter } from '../../src/client/index.js';
import { fakeFetch } from './fakes.js';

describe('typed client: requests and errors (fake fetch)', () => {
  it('posts JSON with the bearer token to the base URL, a trailing slash and a path prefix kept', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { result: 0, message: 'OK', data: { currentNum: 2 } } }));
    const client = new ChatlogClient({ baseUrl: 'https://chat.example/api/', token: 'tok', fetch });
    assert.deepEqual(await client.focus('42', 1), { currentNum: 2 });
    assert.equal(requests.length, 1);
    const [{ url, init }] = requests as [(typeof requests)[0]];
    assert.equal(url, 'https://chat.example/api/app/record/focus');
    assert.equal(init.method, 'POST');
    assert.deepEqual(init.headers, { authorization: 'Bearer tok', 'content-type': 'application/json' });
    assert.deepEqual(JSON.parse(init.body as string), { type: 1, logId: '42' });
  });

  it('sends pushProto as multipart with one file part, letting fetch set the boundary', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { result: 0, message: 'OK', data: { logId: 7, datetime: 1 } } }));
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', fetch });
    const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
    assert.deepEqual(await client.pushProto(bytes, { framed: true }), { logId: 7, datetime: 1 });
    const { url, init } = requests[0]!;
    assert.equal(url, 'http://h/record/push2');
    assert.deepEqual(init.headers, { authorization: 'Bearer tok' });
    const part = (init.body as FormData).get('file') as Blob;
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), new Uint8Array([2, 3]), 'only the bytes of the view');
  });

  it('throws ChatlogError with retryAfter in seconds when the server sets Retry-After', async () => {
    const { fetch } = fakeFetch(() => ({ status: 429, headers: { 'Retry-After': '7' }, body: { result: -1029, message: 'slow down', data: null } }));
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', fetch });
    const error = await client.sync({ count: 1 }).catch((err: unknown) => err);
    assert.ok(error instanceof ChatlogError);
    assert.deepEqual(
      { code: error.code, status: error.status, message: error.message, retryAfter: error.retryAfter },
      { code: -1029, status: 429, message: 'slow down', retryAfter: 7 },
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('turns a response that is not an envelope (a proxy error page) into ChatlogError -1000 with its status', async () => {
    const { fetch } = fakeFetch(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    const client = new ChatlogClient({ baseUrl: 'http://h', token: 'tok', fetch });
    const error = await client.groupList().catch((err: unknown) => err);
    assert.ok(error instanceof ChatlogError);
    assert.equal(error.code, -1000);
    assert.equal(error.status, 502);
    assert.match(error.message, /502/);
  });

  it('lets network failures through as they are', async () => {
    const client = new ChatlogClient({
      baseUrl: 'http://h',
      token: 'tok',
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await assert.rejects(client.groupList(), (err: unknown) => err instanceof TypeError && !(err instanceof ChatlogError));
  });
});
