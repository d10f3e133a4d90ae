import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { signToken } from '../../src/auth/jwt.js';
import { codec, encodeText, type Reply, type TestClient } from '../helpers/client.js';
import { describeOnEngines } from '../helpers/engines.js';
import { TEST_JWT_SECRET, uniqueUid, useChatlog } from '../helpers/server.js';

interface BadInput {
  name: string;
  send(alice: TestClient, bob: string): Promise<Reply>;
  result: number;
  status: number;
  message?: RegExp;
}

const text = (bob: string, fields: Record<string, unknown> = {}) => ({
  channelType: 0,
  msgId: 'm1',
  targetId: bob,
  msgType: 1,
  content: { content: 'hi' },
  ...fields,
});
const withoutField = (bob: string, field: string) => Object.fromEntries(Object.entries(text(bob)).filter(([key]) => key !== field));

const badInputs: BadInput[] = [
  { name: 'no token', send: (a, bob) => a.as(undefined).pushJson(text(bob)), result: -1010, status: 401, message: /missing credentials/ },
  {
    name: 'an Authorization header that is not Bearer',
    send: (a, bob) =>
      a
        .as(undefined)
        .request('/record/push', { body: JSON.stringify(text(bob)), contentType: 'application/json', headers: { authorization: 'Basic YWxpY2U6eA==' } }),
    result: -1010,
    status: 401,
  },
  { name: 'a malformed token', send: (a, bob) => a.as('not.a.jwt').pushJson(text(bob)), result: -1010, status: 401 },
  {
    name: 'a token signed with another secret',
    send: async (a, bob) => a.as(await signToken('another-secret', 'alice')).pushJson(text(bob)),
    result: -1010,
    status: 401,
  },
  {
    name: 'an expired token',
    send: async (a, bob) => a.as(await signToken(TEST_JWT_SECRET, 'alice', { ttlSeconds: -60 })).pushJson(text(bob)),
    result: -1011,
    status: 401,
    message: /expired/,
  },
  {
    name: 'a token without exp',
    send: async (a, bob) =>
      a.as(await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(new TextEncoder().encode(TEST_JWT_SECRET))).pushJson(text(bob)),
    result: -1010,
    status: 401,
  },
  {
    name: 'a token whose subject is a number',
    send: async (a, bob) =>
      a
        .as(
          await new SignJWT({ sub: 12345 } as unknown as Record<string, unknown>)
            .setProtectedHeader({ alg: 'HS256' })
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
        )
        .pushJson(text(bob)),
    result: -1010,
    status: 401,
    message: /subject/,
  },
  ...['/record/push', '/record/push2', '/oss/upload'].map((path) => ({
    name: `a multipart body on ${path} that ends inside its part`,
    send: (a: TestClient) =>
      a.request(path, {
        body: '--xx\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\nabc',
        contentType: 'multipart/form-data; boundary=xx',
      }),
    result: -1012,
    status: 400,
    message: /malformed/,
  })),
  {
    name: 'malformed JSON',
    send: (a) => a.request('/app/record/sync-record', { body: '{"count": 1', contentType: 'application/json' }),
    result: -1012,
    status: 400,
    message: /not valid JSON/,
  },
  {
    name: 'malformed JSON on push',
    send: (a) => a.request('/record/push', { body: '{"channelType":', contentType: 'application/json' }),
    result: -1012,
    status: 400,
  },
  {
    name: 'a body that is not JSON',
    send: (a) => a.request('/app/record/sync-record', { body: 'count=1', contentType: 'application/x-www-form-urlencoded' }),
    result: -1012,
    status: 400,
  },
  { name: 'a JSON array for a body', send: (a) => a.post('/app/record/sync-record', [1]), result: -1012, status: 400 },
  { name: 'count 0', send: (a) => a.sync({ count: 0 }), result: -1012, status: 400, message: /^count must be an integer between 1 and 1000$/ },
  { name: 'count 1001', send: (a) => a.sync({ count: 1001 }), result: -1012, status: 400, message: /^count must be an integer between 1 and 1000$/ },
  { name: 'count "ten"', send: (a) => a.sync({ count: 'ten' }), result: -1012, status: 400, message: /^count / },
  { name: 'a missing count', send: (a) => a.sync({}), result: -1012, status: 400, message: /^count is required$/ },
  { name: 'start -1', send: (a) => a.sync({ count: 1, start: -1 }), result: -1012, status: 400, message: /^start / },
  { name: 'start past 2^53', send: (a) => a.sync({ count: 1, start: '9999999999999999' }), result: -1012, status: 400, message: /^start / },
  {
    name: 'revoke type 2',
    send: (a) => a.post('/app/record/revoke', { type: 2, logId: 1 }),
    result: -1012,
    status: 400,
    message: /^type must be 0 \(private\) or 1 \(group\)$/,
  },
  { name: 'focus type 2', send: (a) => a.post('/app/record/focus', { type: 2, logId: 1 }), result: -1012, status: 400 },
  { name: 'revoke logId "abc"', send: (a) => a.revoke('abc'), result: -1012, status: 400, message: /^logId / },
  { name: 'focus logId 0', send: (a) => a.focus(0), result: -1012, status: 400, message: /^logId / },
  { name: 'history logId "abc"', send: (a, bob) => a.history({ targetId: bob, count: 1, logId: 'abc' }), result: -1012, status: 400, message: /^logId / },
  { name: 'history without targetId', send: (a) => a.history({ count: 1 }), result: -1012, status: 400, message: /^targetId is required$/ },
  { name: 'a missing msgId', send: (a, bob) => a.pushJson(withoutField(bob, 'msgId')), result: -1012, status: 400, message: /^msgId is required$/ },
  {
    name: 'a 65-character msgId',
    send: (a, bob) => a.pushJson(text(bob, { msgId: 'x'.repeat(65) })),
    result: -1012,
    status: 400,
    message: /^msgId must be 1 to 64 characters/,
  },
  { name: 'a msgId with a lone surrogate', send: (a, bob) => a.pushJson(text(bob, { msgId: 'id\ud800' })), result: -1012, status: 400, message: /^msgId / },
  { name: 'a targetId with a lone surrogate', send: (a) => a.pushJson(text('bob\udc00')), result: -1012, status: 400, message: /^targetId / },
  { name: 'msgType 0', send: (a, bob) => a.pushJson(text(bob, { msgType: 0 })), result: -1012, status: 400, message: /^msgType / },
  { name: 'msgType 99', send: (a, bob) => a.pushJson(text(bob, { msgType: 99 })), result: -1012, status: 400, message: /^msgType / },
  { name: 'a missing targetId', send: (a, bob) => a.pushJson(withoutField(bob, 'targetId')), result: -1012, status: 400, message: /^targetId is required$/ },
  { name: 'a targetId with whitespace', send: (a) => a.pushJson(text('bob smith')), result: -1012, status: 400, message: /^targetId / },
  { name: 'channelType 2', send: (a, bob) => a.pushJson(text(bob, { channelType: 2 })), result: -1012, status: 400, message: /^channelType / },
  {
    name: 'content of the wrong shape',
    send: (a, bob) => a.pushJson(text(bob, { content: { content: 5 } })),
    result: -1012,
    status: 400,
    message: /^content\.content /,
  },
  {
    name: 'a protobuf upload without msgId',
    send: (a, bob) => a.upload('/record/push', codec.encodePush({ targetId: bob, msgType: 1, msg: encodeText('x') })),
    result: -1012,
    status: 400,
    message: /^msgId is required$/,
  },
  {
    name: 'a protobuf upload without target',
    send: (a) => a.upload('/record/push', codec.encodePush({ msgId: 'm', msgType: 1, msg: encodeText('x') })),
    result: -1012,
    status: 400,
    message: /^targetId is required$/,
  },
  {
    name: 'a protobuf upload with msgType 0',
    send: (a, bob) => a.upload('/record/push', codec.encodePush({ msgId: 'm', targetId: bob, msgType: 0, msg: encodeText('x') })),
    result: -1012,
    status: 400,
  },
  {
    name: 'a JSON push with both content and msg',
    send: (a, bob) => a.pushJson({ ...text(bob), msg: 'AAEC' }),
    result: -1012,
    status: 400,
    message: /exactly one of content/,
  },
  {
    name: 'a JSON push with neither content nor msg',
    send: (a, bob) => a.pushJson({ channelType: 0, msgId: 'm', targetId: bob, msgType: 1 }),
    result: -1012,
    status: 400,
    message: /exactly one of content/,
  },
  {
    name: 'a JSON push whose msg is not base64',
    send: (a, bob) => a.pushJson({ channelType: 0, msgId: 'm', targetId: bob, msgType: 1, msg: 'not base64!' }),
    result: -1012,
    status: 400,
    message: /^msg must be/,
  },
  {
    name: 'protobuf garbage',
    send: (a) => a.upload('/record/push', Buffer.from('this is not a protobuf at all \x00\xff\x07', 'latin1')),
    result: -1012,
    status: 400,
  },
  {
    name: 'protobuf garbage in a comet frame',
    send: (a) => a.upload('/record/push2', Buffer.from([0x2a, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff])),
    result: -1012,
    status: 400,
  },
  {
    name: 'an upload with no file part',
    send: (a) => {
      const form = new FormData();
      form.append('file', 'just text');
      return a.request('/record/push', { body: form });
    },
    result: -1012,
    status: 400,
    message: /no file part/,
  },
  {
    name: 'a push that is neither multipart nor JSON',
    send: (a) => a.request('/record/push', { body: 'hello', contentType: 'text/plain' }),
    result: -1012,
    status: 400,
  },
  {
    name: 'a part over MAX_MESSAGE_BYTES',
    send: (a, bob) => a.upload('/record/push', codec.encodePush({ msgId: 'big', targetId: bob, msgType: 1, msg: encodeText('x'.repeat(70_000)) })),
    result: -10202,
    status: 413,
  },
  {
    name: 'a JSON push over MAX_MESSAGE_BYTES',
    send: (a, bob) => a.pushJson(text(bob, { content: { content: 'x'.repeat(70_000) } })),
    result: -10202,
    status: 413,
  },
  { name: 'a 10 MB multipart body', send: (a) => a.upload('/record/push', new Uint8Array(10 * 1024 * 1024)), result: -10202, status: 413 },
  {
    name: 'a 10 MB JSON body',
    send: (a) => a.request('/app/record/sync-record', { body: `{"count":1,"pad":"${'x'.repeat(10 * 1024 * 1024)}"}`, contentType: 'application/json' }),
    result: -10202,
    status: 413,
  },
  {
    name: 'a JSON push with bytes that are not UTF-8',
    send: (a, bob) => {
      const [head, tail] = JSON.stringify(text(bob)).split('"hi"') as [string, string];
      const body = Buffer.concat([Buffer.from(`${head}"h`), Buffer.from([0xff, 0xfe]), Buffer.from(`"${tail}`)]);
      return a.request('/record/push', { body, contentType: 'application/json' });
    },
    result: -1012,
    status: 400,
    message: /not valid UTF-8/,
  },
  { name: 'an unknown endpoint', send: (a) => a.post('/app/record/nothing-here', {}), result: -1007, status: 404 },
  { name: 'GET on a POST endpoint', send: (a) => a.request('/app/record/sync-record', { method: 'GET' }), result: -1007, status: 404 },
];

describeOnEngines('bad input', (engine) => {
  const chatlog = useChatlog(engine);

  for (const bad of badInputs) {
    it(`answers ${bad.name} with ${bad.result} / HTTP ${bad.status}, stores nothing and keeps serving`, async () => {
      const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
      const client = await chatlog().client(alice);
      const reply = await bad.send(client, bob);
      assert.equal(reply.status, bad.status, reply.message);
      assert.equal(reply.result, bad.result, reply.message);
      assert.equal(reply.data, null);
      assert.equal(typeof reply.message, 'string');
      assert.doesNotMatch(reply.message, /\bat .*\.(ts|js):\d+/, 'no stack trace');
      if (bad.message) assert.match(reply.message, bad.message);

      assert.deepEqual(await client.syncAll(), [], 'nothing stored for the sender');
      assert.deepEqual(await (await chatlog().client(bob)).syncAll(), [], 'nothing stored for the target');
      assert.equal((await client.sendText(bob, 'still serving')).result, 0);
    });
  }
});
