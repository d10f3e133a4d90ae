import assert from 'node:assert/strict';
import { DtalkIdentity } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('errors for dtalk callers', (engine) => {
  const chatlog = useChatlog(engine, { AUTH_DTALK_SIGNATURE: 'true' });

  async function groupOf(ownerUid: string, memberIds: string[] = []): Promise<number> {
    const owner = await chatlog().client(ownerUid);
    return (await expectOk(owner.post<{ id: number }>('/group/app/create-group', { name: 'team', memberIds }))).id;
  }

  it('answers a signed caller with HTTP 200 and dtalk’s codes: -10015 not in the group, -10016 member not in the group, -10002 disbanded', async () => {
    const stranger = new DtalkIdentity().http(chatlog().urls[0]!);
    const ownerUid = uniqueUid('owner');
    const id = await groupOf(ownerUid);
    const notIn = await stranger.post('/group/app/group-info', { id });
    assert.deepEqual([notIn.status, notIn.result], [200, -10015]);

    const owner = new DtalkIdentity();
    const signedId = (await expectOk(owner.http(chatlog().urls[0]!).post<{ id: number }>('/group/app/create-group', { name: 'mine' }))).id;
    const noMember = await owner.http(chatlog().urls[0]!).post('/group/app/member/type', { id: signedId, memberId: uniqueUid('nobody'), memberType: 1 });
    assert.deepEqual([noMember.status, noMember.result], [200, -10016]);

    await expectOk(owner.http(chatlog().urls[0]!).post('/group/app/group-disband', { id: signedId }));
    const gone = await owner.http(chatlog().urls[0]!).post('/group/app/group-info', { id: signedId });
    assert.deepEqual([gone.status, gone.result], [200, -10002]);
  });

  it('answers every other refusal of a dtalk caller with HTTP 200 and chatlog’s code', async () => {
    const signed = new DtalkIdentity().http(chatlog().urls[0]!);
    const badJson = await signed.request('/app/record/sync-record', { body: '{"count":', contentType: 'application/json' });
    assert.deepEqual([badJson.status, badJson.result], [200, -1012]);
    const missing = await signed.post('/app/record/revoke', { logId: 999_999 });
    assert.deepEqual([missing.status, missing.result], [200, -1007]);
    const unknown = await signed.post('/app/record/nothing-here', {});
    assert.deepEqual([unknown.status, unknown.result], [200, -1007]);
  });

  it('treats a request with dtalk’s other FZM-* headers as a dtalk caller, even with a bearer token', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const withHeaders = alice.as(alice.token);
    const reply = await withHeaders.request('/group/app/group-info', {
      body: JSON.stringify({ id: await groupOf(uniqueUid('owner')) }),
      contentType: 'application/json',
      headers: { 'FZM-DEVICE': 'Android', 'FZM-VERSION': '1.0.0' },
    });
    assert.deepEqual([reply.status, reply.result], [200, -10015]);
  });

  it('keeps REST statuses and chatlog’s codes for JWT callers', async () => {
    const alice = await chatlog().client(uniqueUid('alice'));
    const ownerUid = uniqueUid('owner');
    const id = await groupOf(ownerUid);
    const notIn = await alice.post('/group/app/group-info', { id });
    assert.deepEqual([notIn.status, notIn.result], [403, -1019]);
    const owner = await chatlog().client(ownerUid);
    const noMember = await owner.post('/group/app/member/type', { id, memberId: uniqueUid('nobody'), memberType: 1 });
    assert.deepEqual([noMember.status, noMember.result], [404, -1007]);
    await expectOk(owner.post('/group/app/group-disband', { id }));
    const gone = await owner.post('/group/app/group-info', { id });
    assert.deepEqual([gone.status, gone.result], [404, -1007]);
    const bad = await alice.request('/app/record/sync-record', { body: '{"count":', contentType: 'application/json' });
    assert.deepEqual([bad.status, bad.result], [400, -1012]);
  });
});
