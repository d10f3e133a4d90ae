import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import knex from 'knex';
import { signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { MAX_BODY_LENGTH } from '../../src/gateway/comet-socket-frame.js';
import { codec } from '../helpers/client.js';
import { CometClient, CometOp } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { castGroup, expectOk } from '../helpers/groups.js';
import { TEST_JWT_SECRET, uniqueUid, useChatlog } from '../helpers/server.js';
import { SocketClient, rawUpgrade, refusedUpgrade } from '../helpers/ws-client.js';

const NUL = '\u0000';

describeOnEngines('hardening: what no request can do', (engine) => {
  const chatlog = useChatlog(engine, { MAX_SOCKETS_PER_UID: '2', COMET_MAX_PENDING_AUTH: '3' });

  it('refuses U+0000 in a msgId, a group name, a member name and a source with -1012, storing nothing', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const bob = uniqueUid('bob');
    const refusals = [
      await alice.pushJson({ channelType: 0, msgId: `m${NUL}`, targetId: bob, msgType: 1, content: { content: 'x' } }),
      await alice.pushJson({ channelType: 0, msgId: 'm1', targetId: bob, msgType: 1, content: { content: 'x' }, source: { from: { id: `a${NUL}` } } }),
      await alice.post('/group/app/create-group', { name: `team${NUL}` }),
    ];
    const { id } = await expectOk(alice.post<{ id: number }>('/group/app/create-group', { name: 'ok' }));
    refusals.push(await alice.post('/group/app/member/name', { id, memberName: `me${NUL}` }));
    for (const reply of refusals) assert.deepEqual([reply.status, reply.result], [400, -1012], reply.message);
    assert.deepEqual(
      (await alice.syncAll()).filter((record) => record.common?.msgType === 1),
      [],
    );
  });

  it('refuses a lone surrogate in a group name rather than storing U+FFFD', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const reply = await alice.request('/group/app/create-group', { body: '{"name":"team\\ud800"}', contentType: 'application/json' });
    assert.deepEqual([reply.status, reply.result], [400, -1012]);
  });

  it('refuses uids with invisible format characters (U+200B, U+202E), in bodies and in tokens', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    assert.equal((await alice.sendText('bob\u200b', 'hi')).result, -1012);
    assert.equal((await alice.post('/group/app/create-group', { memberIds: ['\u202eevil'] })).result, -1012);
    const reply = await alice.as(await signToken(TEST_JWT_SECRET, 'mallory\u200b')).sync({ count: 1 });
    assert.deepEqual([reply.status, reply.result], [401, -1010]);
  });

  it('gives a member who joined later no revoke or focus events of messages from before their join', async () => {
    const g = await castGroup(chatlog());
    const early = await expectOk(g.member.sendGroupText(g.groupId, 'early'));
    const lateUid = uniqueUid('late');
    const lateClient = await chatlog().client(lateUid);
    await expectOk(g.owner.post('/group/app/invite-group-members', { id: g.groupId, newMemberIds: [lateUid] }));
    await expectOk(g.owner.focus(early.logId, 1));
    await expectOk(g.member.revoke(early.logId, 1));
    const signals = (await lateClient.syncAll()).filter((record) => record.signal).map((record) => record.signal!.type);
    assert.deepEqual(signals, [10], 'only their own join');
    const sockets = await SocketClient.connect(chatlog().urls[0]!, lateClient.token!, { since: 0 });
    await sockets.untilReady();
    assert.deepEqual(
      sockets.events.map((frame) => frame.type),
      ['group', 'message'],
    );
    await sockets.close();
  });

  it('keeps at most MAX_SOCKETS_PER_UID sockets for a user, closing the oldest with 4029', async () => {
    const token = (await chatlog().client(uniqueUid('many'))).token!;
    const first = await SocketClient.connect(chatlog().urls[0]!, token);
    const second = await SocketClient.connect(chatlog().urls[0]!, token);
    const third = await SocketClient.connect(chatlog().urls[0]!, token);
    assert.equal((await first.closed).code, 4029);
    await Promise.all([second.untilReady(), third.untilReady()]);
    await Promise.all([second.close(), third.close()]);
  });

  it('refuses comet sockets past COMET_MAX_PENDING_AUTH while others wait for their Auth', async () => {
    const waiting = await Promise.all([1, 2, 3].map(() => CometClient.connect(chatlog().urls[0]!)));
    assert.equal(await refusedUpgrade(`${chatlog().urls[0]}/sub`), 503);
    waiting.forEach((comet) => comet.close());
    await Promise.all(waiting.map((comet) => comet.closed));
    const later = await CometClient.connect(chatlog().urls[0]!);
    later.close();
    // Malformed handshakes open no socket, so they take no place.
    for (let i = 0; i < 5; i++) assert.match(await rawUpgrade(chatlog().urls[0]!, '/sub', { 'Sec-WebSocket-Key': 'not a key' }), /^HTTP\/1\.1 400 /);
    const still = await CometClient.connect(chatlog().urls[0]!);
    still.close();
  });

  it('stops reading a multipart body that has failed: it answers at once and closes the connection', async () => {
    const token = (await chatlog().client(uniqueUid('big'))).token!;
    const { hostname, port } = new URL(chatlog().urls[0]!);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    const boundary = 'chatlog-boundary';
    socket.write(
      `POST /record/push HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const part = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m"\r\n\r\n`), randomBytes(70_000)]);
    socket.write(`${part.length.toString(16)}\r\n`);
    socket.write(part);
    socket.write('\r\n');
    // The body never ends: the answer must come anyway, and the connection end after it.
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    await once(socket, 'end');
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"result":-10202/);
  });

  it('never sends a comet frame over 16 KiB: a larger message comes as its Common without the body', async () => {
    const bobUid = uniqueUid('bob');
    const bob = await chatlog().client(bobUid);
    const comet = await CometClient.connect(chatlog().urls[0]!);
    await comet.auth(bob.token!);
    const alice = await chatlog().client(uniqueUid('alice'));
    const big = await expectOk(alice.upload('/record/push', codec.encodePush({ msgId: 'big', targetId: bobUid, msgType: 1, msg: randomBytes(40_000) })));
    const frame = await comet.next((f) => f.op === CometOp.ReceiveMsg);
    assert.ok(frame.body.length <= MAX_BODY_LENGTH);
    const record = codec.decodeStreamRecord(frame.body);
    assert.deepEqual([record.common!.mid, record.common!.msg.length], [big.logId, 0]);
    const [synced] = await bob.syncAll();
    assert.equal(synced!.common!.msg.length, 40_000, 'sync-record still has the body');
    comet.close();
  });

  it('cuts a sync-record page by bytes as well as by count, with has_more', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const bobUid = uniqueUid('bob');
    for (let i = 0; i < 20; i++)
      await expectOk(alice.upload('/record/push', codec.encodePush({ msgId: `b${i}`, targetId: bobUid, msgType: 1, msg: randomBytes(60_000) })));
    const bob = await chatlog().client(bobUid);
    const first = await expectOk(bob.sync({ count: 1000 }));
    assert.ok(first.record_count < 20 && first.has_more, `a first page of ${first.record_count} records`);
    assert.equal((await bob.syncAll()).length, 20);
  });

  it('holds a comet socket that reads but never acknowledges to a window of frames, and goes on once it does', async () => {
    const bobUid = uniqueUid('bob');
    const bob = await chatlog().client(bobUid);
    const comet = await CometClient.connect(chatlog().urls[0]!);
    await comet.auth(bob.token!);
    const alice = await chatlog().client(uniqueUid('alice'));
    for (let i = 0; i < 300; i++) await expectOk(alice.sendText(bobUid, `n${i}`, `w${i}`));
    await comet.until((frames) => frames.filter((f) => f.op === CometOp.ReceiveMsg).length >= 256);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seqs = () => new Set(comet.received().map((f) => f.seq));
    assert.equal(seqs().size, 256, 'no more than the window waits unacknowledged');
    for (const seq of seqs()) comet.send(CometOp.ReceiveMsgReply, new Uint8Array(0), { ack: seq });
    await comet.until(() => seqs().size === 300);
    comet.close();
  });
});

describeOnEngines('hardening: rate limits on every write', (engine) => {
  const chatlog = useChatlog(engine, { RATE_LIMIT_SENDS: '3/m burst 3' });

  it('counts group operations, revokes and focus marks against the caller’s rate limit, and not reads', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const { id } = await expectOk(alice.post<{ id: number }>('/group/app/create-group', { name: 'g' }));
    await expectOk(alice.post('/group/app/invite-group-members', { id, newMemberIds: [uniqueUid('b')] }));
    await expectOk(alice.post('/group/app/avatar', { id, avatar: 'x' }));
    const limited = await alice.post('/group/app/name', { id, name: 'n' });
    assert.deepEqual([limited.status, limited.result], [429, -1029]);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await alice.revoke(1)).result, -1029);
    assert.equal((await alice.focus(1)).result, -1029);
    await expectOk(alice.post('/group/app/group-info', { id }));
    await expectOk(alice.sync({ count: 1 }));
  });
});

describe('hardening: settings', () => {
  it('refuses a JWT_SECRET shorter than 32 bytes outside development', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x' }), /at least 32 bytes/);
    assert.ok(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }));
    assert.ok(loadConfig({ JWT_SECRET: 'x' }), 'a short secret is fine in development');
  });

  it('treats any NODE_ENV but unset, development and test as production: no development secret, so no /dev/token', () => {
    for (const nodeEnv of ['prod', 'staging', 'Production']) {
      assert.throws(() => loadConfig({ NODE_ENV: nodeEnv }), /JWT_SECRET \(or JWT_PUBLIC_KEY\) is required outside development/);
    }
    for (const nodeEnv of [undefined, 'development', 'test']) {
      const config = loadConfig({ NODE_ENV: nodeEnv });
      assert.equal(config.jwt.usingDevelopmentSecret, true);
      assert.equal(config.development, true);
    }
  });
});

describeOnEngines('hardening: sockets outlive no credentials', (engine) => {
  const chatlog = useChatlog(engine);

  it('closes a /ws socket with 4001 "token expired" when its JWT expires', async () => {
    const token = await signToken(TEST_JWT_SECRET, uniqueUid('brief'), { ttlSeconds: 2 });
    const socket = await SocketClient.connect(chatlog().urls[0]!, token);
    await socket.untilReady();
    assert.deepEqual(await socket.closed, { code: 4001, reason: 'token expired' });
  });
});

if (process.env.DATABASE_URL?.startsWith('postgres')) {
  describeOnEngines('hardening: a commit whose outcome is unknown', (engine) => {
    if (engine.name !== 'PostgreSQL') return;
    const chatlog = useChatlog(engine);

    it('is answered -1000 saying the change may have been saved, never -1009 "nothing was written"', async () => {
      // A deferred constraint trigger fails the COMMIT itself, as a connection lost while committing would.
      const database = chatlog().config.database;
      assert.ok(database.client === 'pg');
      const admin = knex({ client: 'pg', connection: database.connectionString });
      try {
        await admin.raw(`create function fail_at_commit() returns trigger language plpgsql as $$ begin raise exception 'failing the commit'; end $$`);
        await admin.raw(
          `create constraint trigger fail_at_commit after insert on messages deferrable initially deferred for each row when (new.msg_id = 'commit-fails') execute function fail_at_commit()`,
        );
      } finally {
        await admin.destroy();
      }
      const alice = await chatlog().client(uniqueUid('alice'));
      const reply = await alice.sendText(uniqueUid('bob'), 'x', 'commit-fails');
      assert.deepEqual([reply.status, reply.result], [500, -1000]);
      assert.match(reply.message, /may have been saved/);
      assert.equal((await alice.sendText(uniqueUid('bob'), 'fine')).result, 0);
    });
  });
}
