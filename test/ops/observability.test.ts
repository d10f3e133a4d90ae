import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import knex from 'knex';
import { pino } from 'pino';
import { describeOnEngines, engines, postgresEngine } from '../helpers/engines.js';
import { metricValue } from '../helpers/metrics.js';
import { startChatlog, uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient } from '../helpers/ws-client.js';

describeOnEngines('readiness and metrics', (engine) => {
  const chatlog = useChatlog(engine);

  it('answers GET /readyz with 200 and the state of each dependency', async () => {
    const response = await fetch(`${chatlog().urls[0]}/readyz`);
    assert.equal(response.status, 200);
    const expected = engine.name === 'PostgreSQL' ? { database: 'ok', redis: 'ok' } : { database: 'ok' };
    assert.deepEqual(await response.json(), { result: 0, message: 'OK', data: expected });
  });

  it('counts requests by route and result, messages sent and open sockets in GET /metrics', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    await alice.sendText(uniqueUid('bob'), 'counted');
    await alice.sync({ count: 0 });
    const socket = await SocketClient.connect(alice.baseUrl, alice.token!);
    await socket.untilReady();
    const response = await fetch(`${chatlog().urls[0]}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /chatlog_http_requests_total\{method="POST",route="\/record\/push",result="0"\} [1-9]/);
    assert.match(text, /chatlog_http_requests_total\{method="POST",route="\/app\/record\/sync-record",result="-1012"\} [1-9]/);
    assert.match(text, /chatlog_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/record\/push",result="0"\}/);
    assert.match(text, /chatlog_messages_sent_total\{channel="private"\} [1-9]/);
    assert.match(text, /chatlog_open_sockets 1\b/);
    assert.match(text, /chatlog_write_batches_total [1-9]/);
    assert.match(text, /chatlog_bus_reconnects_total 0/);
    await socket.close();
  });

  it('counts the database statements a push costs: on PostgreSQL four round trips (BEGIN, lock and counter, the message with the counter, COMMIT)', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    await alice.sendText(uniqueUid('bob'), 'warming up');
    const url = chatlog().urls[0]!;
    const before = await metricValue(url, 'chatlog_database_statements_total');
    await alice.sendText(uniqueUid('bob'), 'counted');
    const statements = (await metricValue(url, 'chatlog_database_statements_total')) - before;
    // SQLite: BEGIN and COMMIT; the counter and the rows go through the write path's own prepared statements.
    assert.equal(statements, engine.name === 'PostgreSQL' ? 4 : 2);
  });
});

describe('request logs', () => {
  it('log one line per request with its request id and route, and never message content or tokens', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const chatlog = await startChatlog(engines[0]!, {}, 1, { logger: pino({ level: 'info' }, sink) });
    try {
      const alice = await chatlog.client(uniqueUid('alice'));
      await alice.request('/record/push', {
        body: JSON.stringify({ channelType: 0, msgId: 'm', targetId: 'bob', msgType: 1, content: { content: 'the-secret-content' } }),
        contentType: 'application/json',
        headers: { 'x-request-id': 'trace-42' },
      });
      const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((entry) => entry.reqId === 'trace-42');
      assert.ok(line, 'a log line with the request id');
      assert.equal(line.route, '/record/push');
      assert.equal(line.result, 0);
      assert.equal(typeof line.ms, 'number');
      const all = lines.join('\n');
      assert.doesNotMatch(all, /the-secret-content/);
      assert.ok(!all.includes(alice.token!), 'no token in the logs');
    } finally {
      await chatlog.close();
    }
  });
});

(postgresEngine ? describe : describe.skip)('readiness when PostgreSQL stops answering', () => {
  it('answers GET /readyz with 503 and -1009 while the database refuses connections, and 200 once it is back', async () => {
    const chatlog = await startChatlog(postgresEngine!);
    const database = new URL((chatlog.config.database as { connectionString: string }).connectionString).pathname.slice(1);
    const admin = knex({ client: 'pg', connection: process.env.DATABASE_URL });
    try {
      await admin.raw(`alter database ${database} allow_connections false`);
      await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = ?', [database]);
      const down = await fetch(`${chatlog.urls[0]}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { result: -1009, message: 'not ready: database not answering', data: null });
      const push = await (await chatlog.client(uniqueUid('alice'))).sendText('bob', 'while down');
      assert.equal(push.status, 503);
      assert.equal(push.result, -1009);
    } finally {
      await admin.raw(`alter database ${database} allow_connections true`);
      await admin.destroy();
    }
    const up = await fetch(`${chatlog.urls[0]}/readyz`);
    assert.equal(up.status, 200);
    await chatlog.close();
  });
});
