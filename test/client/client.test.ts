import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ChatlogClient, ChatlogError, ResultCode, type GroupInfo } from '../../src/client/index.js';
import { signToken } from '../../src/auth/jwt.js';
import { describeOnEngines } from '../helpers/engines.js';
import { codec, decodeRecord, encodeText } from '../helpers/client.js';
import { TEST_JWT_SECRET, uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('typed client: HTTP', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);

  /** A ChatlogClient acting as `uid` against instance `instance`. */
  async function clientOf(uid: string, instance = 0): Promise<ChatlogClient> {
    return new ChatlogClient({ baseUrl: chatlog().urls[instance]!, token: await signToken(TEST_JWT_SECRET, uid), WebSocket });
  }

  /** Rejects unless `promise` fails with a ChatlogError of that code and status; resolves with the error. */
  async function chatlogError(promise: Promise<unknown>, code: number, status: number): Promise<ChatlogError> {
    const error = await promise.then(
      () => assert.fail(`expected ChatlogError ${code}`),
      (err: unknown) => err,
    );
    assert.ok(error instanceof ChatlogError, `a ChatlogError, got ${String(error)}`);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    assert.equal(error.retryAfter, undefined);
    return error;
  }

  it('pushes a body as bytes (msg) and reads it back as content null with the same bytes', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const sealedBody = Buffer.from([0x0f, 0xde, 0xad, 0xbe, 0xef]).toString('base64');
    await (await clientOf(alice)).push({ channelType: 0, targetId: bob, msgType: 1, msg: sealedBody });
    const [record] = (await (await clientOf(bob)).history({ targetId: alice, count: 1 })).records;
    assert.deepEqual([record!.content, record!.msg], [null, sealedBody]);
  });

  it('pushes JSON, generating a msgId when absent and honouring a given one idempotently', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await clientOf(alice);
    const first = await a.push({ channelType: 0, targetId: bob, msgType: 1, content: { content: 'one' } });
    const second = await a.push({ channelType: 0, targetId: bob, msgType: 1, content: { content: 'two' } });
    assert.ok(Number.isSafeInteger(first.logId) && second.logId > first.logId, 'two generated msgIds are two messages');
    assert.equal(typeof first.datetime, 'number');
    const fixed = await a.push({ channelType: 0, msgId: 'fixed-1', targetId: bob, msgType: 1, content: { content: 'three' } });
    assert.deepEqual(await a.push({ channelType: 0, msgId: 'fixed-1', targetId: bob, msgType: 1, content: { content: 'again' } }), fixed);

    const { records } = await (await clientOf(bob)).history({ targetId: alice, count: 10 });
    assert.deepEqual(
      records.map((record) => (record.msgType === 1 ? record.content?.content : undefined)),
      ['three', 'two', 'one'],
    );
    assert.equal(records[0]!.msgId, 'fixed-1');
    assert.match(records[1]!.msgId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('pushes serialized protobuf to /record/push and comet frames to /record/push2', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await clientOf(alice);
    const proto = codec.encodePush({ channelType: 0, msgId: 'p-1', targetId: bob, msgType: 1, msg: encodeText('plain proto') });
    const plain = await a.pushProto(proto);
    const framed = await a.pushProto(
      codec.encodeCometFrame(codec.encodePush({ channelType: 0, msgId: 'p-2', targetId: bob, msgType: 1, msg: encodeText('framed') })),
      { framed: true },
    );
    assert.ok(framed.logId > plain.logId);
    // The same bytes are a repeat of p-1, whatever path they take.
    assert.deepEqual(await a.pushProto(proto), plain);

    const page = await (await clientOf(bob, chatlog().urls.length - 1)).sync({ count: 10 });
    assert.equal(page.record_count, 2);
    const common = page.records.map((record) => decodeRecord(record).common!);
    assert.deepEqual(
      common.map((c) => [c.mid, c.seq, c.from, codec.decodeContent(c.msgType, c.msg)]),
      [
        [plain.logId, 'p-1', alice, { content: 'plain proto' }],
        [framed.logId, 'p-2', alice, { content: 'framed' }],
      ],
    );
    // Undecodable bytes are the server's -1012, not a client-side failure.
    await chatlogError(a.pushProto(new Uint8Array([0xff, 0xff, 0xff])), ResultCode.InvalidParams, 400);
  });

  it('syncs page by page with next_start', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const a = await clientOf(alice);
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) sent.push((await a.push({ channelType: 0, targetId: bob, msgType: 1, content: { content: `m${i}` } })).logId);
    const b = await clientOf(bob);
    const seen: number[] = [];
    let start = 0;
    for (;;) {
      const page = await b.sync({ start, count: 2 });
      assert.ok(page.record_count <= 2);
      seen.push(...page.records.map((record) => decodeRecord(record).common!.mid));
      start = page.next_start;
      if (!page.has_more) break;
    }
    assert.deepEqual(seen, sent);
    assert.deepEqual(await b.sync({ start: String(start), count: 10 }), { record_count: 0, records: [], next_start: start, has_more: false });
  });

  it('reads private history below a logId, and revokes and focuses with the contract rules', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const [a, b] = [await clientOf(alice), await clientOf(bob)];
    const one = await a.push({ channelType: 0, targetId: bob, msgType: 1, content: { content: 'one', mention: [bob] } });
    const two = await b.push({ channelType: 0, targetId: alice, msgType: 3, content: { mediaUrl: 'https://img.example/1.png', width: 10, height: 20 } });
    const older = await a.history({ targetId: bob, count: 10, logId: two.logId });
    assert.deepEqual(older, {
      record_count: 1,
      records: [
        {
          logId: String(one.logId),
          msgId: older.records[0]!.msgId,
          channelType: 0,
          fromId: alice,
          targetId: bob,
          msgType: 1,
          content: { content: 'one', mention: [bob] },
          createTime: one.datetime,
        },
      ],
    });

    assert.deepEqual(await b.focus(one.logId), { currentNum: 1 });
    assert.deepEqual(await b.focus(String(one.logId), 0), { currentNum: 1 }, 'a repeated mark changes nothing');
    await chatlogError(a.focus(one.logId), ResultCode.PermissionDenied, 403);
    await chatlogError(b.revoke(one.logId), ResultCode.PermissionDenied, 403);
    await a.revoke(one.logId);
    await a.revoke(one.logId); // already revoked: succeeds
    await chatlogError(b.focus(one.logId), ResultCode.NotFound, 404);
    assert.deepEqual(
      (await b.history({ targetId: alice, count: 10 })).records.map((record) => record.logId),
      [String(two.logId)],
    );
  });

  it('runs the group endpoints: create, invite, roles, mute, settings, info, list, members, history, remove, owner, exit, disband', async () => {
    const [owner, ann, ben, cid, dee] = [uniqueUid('owner'), uniqueUid('ann'), uniqueUid('ben'), uniqueUid('cid'), uniqueUid('dee')];
    const member = (memberId: string, memberType: number, memberMuteTime = 0) => ({ memberId, memberName: '', memberType, memberMuteTime });
    const o = await clientOf(owner);
    const created = await o.createGroup({ name: 'team', memberIds: [ann] });
    assert.deepEqual(created.members, [member(owner, 2), member(ann, 0)]);
    assert.deepEqual([created.name, created.memberNum, created.owner, created.person], ['team', 2, member(owner, 2), member(owner, 2)]);
    const id = created.id;
    assert.deepEqual(await o.inviteMembers(id, [ben, cid]), { id, idStr: String(id), memberNum: 4 });
    await o.setMemberType(String(id), ann, 1);
    const a = await clientOf(ann, chatlog().urls.length - 1);
    const info: GroupInfo = await a.groupInfo(id);
    assert.deepEqual([info.key, info.person, info.adminNum], [created.key, member(ann, 1), 1]);
    assert.deepEqual(
      (await a.groupList()).map((group) => group.id),
      [id],
    );
    assert.deepEqual((await a.groupMembers(id)).members, [member(owner, 2), member(ann, 1), member(ben, 0), member(cid, 0)]);
    const [muted] = await a.muteMembers(id, [cid], 60_000);
    assert.ok(muted!.memberMuteTime > Date.now());
    assert.deepEqual(
      (await a.mutedMembers(id)).map((m) => m.memberId),
      [cid],
    );
    await a.updateGroup(id, { muteType: 1 });
    await o.setMemberName(id, 'boss');
    assert.equal((await o.groupMember(id, owner)).memberName, 'boss');
    const outsider = await clientOf(dee);
    const pub = await outsider.groupPublicInfo(id);
    assert.deepEqual([pub.key, pub.person, pub.muteType], [undefined, undefined, 1]);
    await outsider.joinGroup(id, owner);

    const sent = await a.push({ channelType: 1, targetId: String(id), msgType: 1, content: { content: 'hi team' } });
    const b = await clientOf(ben);
    const history = await b.groupHistory({ groupId: id, count: 10 });
    assert.deepEqual(
      history.records.filter((record) => record.msgType === 1).map((record) => [record.logId, record.channelType, record.targetId]),
      [[String(sent.logId), 1, String(id)]],
    );
    assert.deepEqual(await b.focus(sent.logId, 1), { currentNum: 1 });
    await o.revoke(sent.logId, 1); // the owner may revoke anyone's message

    assert.deepEqual(await a.removeMembers(id, [cid]), { memberNum: 4, memberIds: [cid] });
    await chatlogError((await clientOf(cid)).groupInfo(id), ResultCode.PermissionDenied, 403);
    await b.exitGroup(id);
    await o.changeOwner(id, ann);
    await chatlogError(o.disbandGroup(id), ResultCode.PermissionDenied, 403);
    await a.disbandGroup(id);
    assert.deepEqual(await a.groupList(), []);
  });

  it('throws ChatlogError with the result code and HTTP status for each kind of failure', async () => {
    const a = await clientOf(uniqueUid('alice'));
    const invalid = await chatlogError(a.sync({ count: 0 }), ResultCode.InvalidParams, 400);
    assert.match(invalid.message, /count/);
    await chatlogError(a.groupInfo(Number.MAX_SAFE_INTEGER), ResultCode.NotFound, 404);
    await chatlogError(a.push({ channelType: 1, targetId: '999999999', msgType: 1, content: { content: 'x' } }), ResultCode.NotFound, 404);
    await chatlogError(a.call('/no/such/endpoint'), ResultCode.NotFound, 404);

    const stranger = new ChatlogClient({ baseUrl: chatlog().urls[0]!, token: 'not-a-jwt' });
    const unauthenticated = await chatlogError(stranger.sync({ count: 1 }), ResultCode.Unauthenticated, 401);
    assert.equal(unauthenticated.isAuthError, true);
    const expired = new ChatlogClient({ baseUrl: chatlog().urls[0]!, token: await signToken(TEST_JWT_SECRET, 'late', { ttlSeconds: -60 }) });
    await chatlogError(expired.history({ targetId: 'bob', count: 1 }), ResultCode.CredentialsExpired, 401);

    const big = 'x'.repeat(70_000);
    await chatlogError(a.push({ channelType: 0, targetId: 'bob', msgType: 1, content: { content: big } }), ResultCode.TooLarge, 413);
  });

  it('asks a token function before each request', async () => {
    const uid = uniqueUid('rotating');
    let asked = 0;
    const client = new ChatlogClient({
      baseUrl: chatlog().urls[0]!,
      token: async () => {
        asked++;
        return signToken(TEST_JWT_SECRET, uid);
      },
    });
    await client.groupList();
    await client.sync({ count: 1 });
    assert.equal(asked, 2);
  });
});

describeOnEngines('typed client: rate limits', (engine) => {
  const chatlog = useChatlog(engine, { RATE_LIMIT_SENDS: '1/h' });

  it('throws ChatlogError -1029 / 429 with retryAfter from the Retry-After header', async () => {
    const client = new ChatlogClient({ baseUrl: chatlog().urls[0]!, token: await signToken(TEST_JWT_SECRET, uniqueUid('chatty')) });
    await client.push({ channelType: 0, targetId: 'bob', msgType: 1, content: { content: 'first' } });
    const error = await client.push({ channelType: 0, targetId: 'bob', msgType: 1, content: { content: 'second' } }).catch((err: unknown) => err);
    assert.ok(error instanceof ChatlogError);
    assert.equal(error.code, ResultCode.RateLimited);
    assert.equal(error.status, 429);
    assert.ok(typeof error.retryAfter === 'number' && error.retryAfter > 0, `retryAfter ${error.retryAfter}`);
  });
});
