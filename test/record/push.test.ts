import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { codec, encodeText } from '../helpers/client.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

describeOnEngines('push', (engine) => {
  const chatlog = useChatlog(engine);

  it('stores a multipart Proto on /record/push and answers its logId and datetime', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const client = await chatlog().client(alice);
    const before = Date.now();
    const reply = await client.upload('/record/push', codec.encodePush({ msgId: 'm1', targetId: bob, msgType: 1, msg: encodeText('hi') }));
    assert.equal(reply.status, 200);
    assert.equal(reply.result, 0);
    assert.equal(reply.message, 'OK');
    assert.ok(Number.isSafeInteger(reply.data.logId) && reply.data.logId > 0);
    assert.ok(reply.data.datetime >= before && reply.data.datetime <= Date.now());
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.equal(record?.common?.mid, reply.data.logId);
    assert.equal(record?.common?.datetime, reply.data.datetime);
  });

  it('accepts the part named message as well as file', async () => {
    const client = await chatlog().client(uniqueUid('alice'));
    const reply = await client.upload(
      '/record/push',
      codec.encodePush({ msgId: 'm1', targetId: uniqueUid('bob'), msgType: 1, msg: encodeText('hi') }),
      'message',
    );
    assert.equal(reply.result, 0, reply.message);
  });

  it('ignores a text field named file beside the message part', async () => {
    const client = await chatlog().client(uniqueUid('alice'));
    const form = new FormData();
    form.append('file', 'ignored text');
    form.append('message', new Blob([codec.encodePush({ msgId: 'm1', targetId: uniqueUid('bob'), msgType: 1, msg: encodeText('hi') })]), 'm.bin');
    const reply = await client.request('/record/push', { body: form });
    assert.equal(reply.result, 0, reply.message);
  });

  it('stores the Proto inside a comet frame on /record/push2', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const client = await chatlog().client(alice);
    const frame = codec.encodeCometFrame(codec.encodePush({ msgId: 'm1', targetId: bob, msgType: 1, msg: encodeText('framed') }), {
      ver: 1,
      op: 7,
      seq: 3,
      ack: 0,
    });
    const reply = await client.upload('/record/push2', frame);
    assert.equal(reply.result, 0, reply.message);
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.deepEqual(codec.decodeContent(1, record!.common!.msg), { content: 'framed' });
  });

  for (const path of ['/record/push', '/record/push2']) {
    it(`stores the JSON form on ${path}`, async () => {
      const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
      const client = await chatlog().client(alice);
      const reply = await client.pushJson({ channelType: 0, msgId: 'j1', targetId: bob, msgType: 1, content: { content: 'hello', mention: [bob] } }, path);
      assert.equal(reply.result, 0, reply.message);
      const [record] = await (await chatlog().client(bob)).syncAll();
      assert.equal(record?.common?.mid, reply.data.logId);
      assert.deepEqual(codec.decodeContent(1, record!.common!.msg), { content: 'hello', mention: [bob] });
    });
  }

  it('stores text beyond ASCII in a JSON push exactly as sent, in every plane', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const content = 'héllo 你好 🎉 \ufffd';
    const reply = await (await chatlog().client(alice)).pushJson({ channelType: 0, msgId: 'utf8', targetId: bob, msgType: 1, content: { content } });
    assert.equal(reply.result, 0, reply.message);
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.deepEqual(codec.decodeContent(1, record!.common!.msg), { content });
  });

  it('answers a repeated msgId with the first logId and datetime and stores nothing new', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const client = await chatlog().client(alice);
    const first = await client.pushJson({ channelType: 0, msgId: 'same', targetId: bob, msgType: 1, content: { content: 'first' } });
    const again = await client.pushJson({ channelType: 0, msgId: 'same', targetId: uniqueUid('carol'), msgType: 1, content: { content: 'second' } });
    const viaUpload = await client.upload('/record/push', codec.encodePush({ msgId: 'same', targetId: bob, msgType: 1, msg: encodeText('third') }));
    assert.deepEqual(again.data, first.data);
    assert.deepEqual(viaUpload.data, first.data);
    const records = await client.syncAll();
    assert.equal(records.length, 1);
    assert.deepEqual(codec.decodeContent(1, records[0]!.common!.msg), { content: 'first' });
  });

  it('answers concurrent repeats of one msgId with one logId', async () => {
    const client = await chatlog().client(uniqueUid('alice'));
    const bob = uniqueUid('bob');
    const replies = await Promise.all(Array.from({ length: 8 }, () => client.sendText(bob, 'once', 'racing')));
    assert.equal(new Set(replies.map((reply) => reply.data.logId)).size, 1);
    assert.equal((await client.syncAll()).length, 1);
  });

  it('lets another sender reuse a msgId', async () => {
    const bob = uniqueUid('bob');
    const a = await (await chatlog().client(uniqueUid('alice'))).sendText(bob, 'from alice', 'shared-id');
    const c = await (await chatlog().client(uniqueUid('carol'))).sendText(bob, 'from carol', 'shared-id');
    assert.equal(c.result, 0);
    assert.notEqual(c.data.logId, a.data.logId);
    assert.equal((await (await chatlog().client(bob)).syncAll()).length, 2);
  });

  it('takes the sender from the token and ignores Common.from, mid and datetime', async () => {
    const [alice, bob] = [uniqueUid('alice'), uniqueUid('bob')];
    const client = await chatlog().client(alice);
    const reply = await client.upload(
      '/record/push',
      codec.encodePush({ msgId: 'm', targetId: bob, msgType: 1, msg: encodeText('x'), from: 'mallory', mid: 7, datetime: 1 }),
    );
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.equal(record?.common?.from, alice);
    assert.equal(record?.common?.mid, reply.data.logId);
    assert.equal(record?.common?.datetime, reply.data.datetime);
  });

  it('lets a user send to themselves, once in their stream', async () => {
    const alice = uniqueUid('alice');
    const client = await chatlog().client(alice);
    assert.equal((await client.sendText(alice, 'note to self')).result, 0);
    assert.equal((await client.syncAll()).length, 1);
  });
});
