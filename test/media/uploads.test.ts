import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describeOnEngines } from '../helpers/engines.js';
import { OssClient, androidParts, desktopParts, download, multipart, startS3 } from '../helpers/media.js';
import { startChatlog, uniqueUid, useChatlog, type Settings } from '../helpers/server.js';

/** The two storages, each with limits that let a test cross them quickly (S3 parts are at least 5 MiB). */
const STORES = [
  { name: 'local disk', s3: false, maxBytes: 64 * 1024, partBytes: 16 * 1024 },
  { name: 'S3 (s3rver)', s3: true, maxBytes: 16 * 1024 * 1024, partBytes: 6 * 1024 * 1024 },
];

const key = (name: string) => `chatList/file/20261202/${uniqueUid(name)}.bin`;

for (const store of STORES) {
  describeOnEngines(`media uploads on ${store.name}`, (engine) => {
    const settings: Settings = { MAX_UPLOAD_BYTES: String(store.maxBytes), MAX_UPLOAD_PART_BYTES: String(store.partBytes) };
    let closeS3: (() => Promise<void>) | undefined;
    if (store.s3) {
      before(async () => {
        const s3 = await startS3();
        Object.assign(settings, s3.settings);
        closeS3 = s3.close;
      });
      after(() => closeS3?.());
    }
    const chatlog = useChatlog(engine, settings);
    const oss = async (name = 'alice') => new OssClient(await chatlog().client(uniqueUid(name)));

    it('stores a file sent whole and serves it back byte for byte, typed and sized, to a GET without credentials', async () => {
      const alice = await oss();
      const file = randomBytes(3000);
      const objectKey = key('photo').replace(/\.bin$/, '.png');
      const reply = await alice.upload(objectKey, file);
      assert.equal(reply.result, 0, reply.message);
      assert.equal(reply.data.uri, objectKey);
      assert.match(reply.data.url, /^http:\/\//);
      const fetched = await download(reply.data.url);
      assert.equal(fetched.status, 200);
      assert.deepEqual(fetched.bytes, file);
      assert.equal(fetched.headers.get('content-type'), 'image/png');
      assert.equal(fetched.headers.get('content-length'), '3000');
    });

    it('stores an empty file and one of exactly MAX_UPLOAD_BYTES, and refuses one byte more with -10202, storing nothing', async () => {
      const alice = await oss();
      const empty = await alice.upload(key('empty'), new Uint8Array(0));
      assert.equal(empty.result, 0, empty.message);
      assert.equal((await download(empty.data.url)).bytes.length, 0);

      const full = randomBytes(store.maxBytes);
      const atLimit = await alice.upload(key('full'), full);
      assert.equal(atLimit.result, 0, atLimit.message);
      assert.deepEqual((await download(atLimit.data.url)).bytes, full);

      const overKey = key('over');
      const over = await alice.upload(overKey, randomBytes(store.maxBytes + 1));
      assert.equal(over.result, -10202);
      assert.equal(over.status, 413);
      const url = atLimit.data.url.replace(/[^/]+$/, overKey.split('/').pop()!);
      assert.equal((await download(url)).status, 404);
    });

    it('keeps an encrypted file ($ENC$ in its key) as it came, with $ENC$ written plainly in its url', async () => {
      const alice = await oss();
      const objectKey = `chatList/picture/20261202/$ENC$_${uniqueUid('pic')}.jpg`;
      const ciphertext = randomBytes(1000);
      const reply = await alice.upload(objectKey, ciphertext, desktopParts);
      assert.equal(reply.result, 0, reply.message);
      assert.ok(reply.data.url.includes('$ENC$_'), reply.data.url);
      const fetched = await download(reply.data.url);
      assert.deepEqual(fetched.bytes, ciphertext);
      assert.equal(fetched.headers.get('content-type'), 'application/octet-stream');
    });

    it('joins a file larger than the part size from parts sent all at once, in the order listed', async () => {
      const alice = await oss();
      const file = randomBytes(store.partBytes * 2 + 123);
      const reply = await alice.uploadInParts(key('big'), file, store.partBytes);
      assert.equal(reply.result, 0, reply.message);
      assert.deepEqual((await download(reply.data.url)).bytes, file);
    });

    it('takes the Android spelling Etag when completing, and refuses a part never uploaded or with another ETag', async () => {
      const alice = await oss();
      const objectKey = key('android');
      const { data } = await alice.init(objectKey);
      const part = await alice.part(objectKey, data.uploadId, 1, randomBytes(100), androidParts);
      assert.equal(part.result, 0, part.message);
      assert.deepEqual([part.data.partNumber, part.data.uploadId, part.data.key], [1, data.uploadId, objectKey]);
      assert.equal((await alice.complete(objectKey, data.uploadId, [{ partNumber: 2, Etag: part.data.ETag }])).result, -1012);
      assert.equal((await alice.complete(objectKey, data.uploadId, [{ partNumber: 1, Etag: '"0000"' }])).result, -1012);
      assert.equal((await alice.complete(objectKey, data.uploadId, [{ partNumber: 1, Etag: part.data.ETag }])).result, 0);
    });

    it('refuses a part over MAX_UPLOAD_PART_BYTES with -10202', async () => {
      const alice = await oss();
      const objectKey = key('fat-part');
      const { data } = await alice.init(objectKey);
      const reply = await alice.part(objectKey, data.uploadId, 1, randomBytes(store.partBytes + 1));
      assert.equal(reply.result, -10202);
    });

    it('after an abort, answers -1007 to a part or a completion of that upload', async () => {
      const alice = await oss();
      const objectKey = key('aborted');
      const { data } = await alice.init(objectKey);
      const part = await alice.part(objectKey, data.uploadId, 1, randomBytes(10));
      assert.equal((await alice.abort(objectKey, data.uploadId)).result, 0);
      assert.equal((await alice.part(objectKey, data.uploadId, 2, randomBytes(10))).result, -1007);
      assert.equal((await alice.complete(objectKey, data.uploadId, [{ partNumber: 1, ETag: part.data.ETag }])).result, -1007);
    });

    it("refuses another user's key (whole or in parts) with -1019, and their upload too, leaving their file as it was", async () => {
      const [alice, mallory] = [await oss('alice'), await oss('mallory')];
      const objectKey = key('mine');
      const original = randomBytes(500);
      const stored = await alice.upload(objectKey, original);
      assert.equal((await mallory.upload(objectKey, randomBytes(500))).result, -1019);
      assert.equal((await mallory.init(objectKey)).result, -1019);

      const otherKey = key('in-progress');
      const { data } = await alice.init(otherKey);
      assert.equal((await mallory.part(otherKey, data.uploadId, 1, randomBytes(10))).result, -1019);
      assert.equal((await mallory.abort(otherKey, data.uploadId)).result, -1019);
      assert.deepEqual((await download(stored.data.url)).bytes, original);
    });

    it('answers the owner uploading a key again by replacing the file (a retried upload)', async () => {
      const alice = await oss();
      const objectKey = key('retry');
      await alice.upload(objectKey, randomBytes(100));
      const second = randomBytes(200);
      const reply = await alice.upload(objectKey, second);
      assert.equal(reply.result, 0);
      assert.deepEqual((await download(reply.data.url)).bytes, second);
    });

    it('serves one byte range with 206 and Content-Range, where a client asks for it', async () => {
      const alice = await oss();
      const file = randomBytes(1000);
      const { data } = await alice.upload(key('ranged'), file);
      const ranged = await download(data.url, { range: 'bytes=100-199' });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get('content-range'), 'bytes 100-199/1000');
      assert.deepEqual(ranged.bytes, file.subarray(100, 200));
      // On S3 the store itself answers ranges (after the redirect), and s3rver gets suffix ranges wrong.
      if (store.s3) return;
      const tail = await download(data.url, { range: 'bytes=-10' });
      assert.deepEqual(tail.bytes, file.subarray(990));
      assert.equal((await download(data.url, { range: 'bytes=5000-' })).status, 416);
    });
  });
}

describeOnEngines('media uploads: keys, bodies and credentials', (engine) => {
  const chatlog = useChatlog(engine, { MAX_UPLOAD_BYTES: '4096' });
  const oss = async () => new OssClient(await chatlog().client(uniqueUid('alice')));

  it('refuses a key that climbs out, is absolute, or has empty or dot segments, with -1012', async () => {
    const alice = await oss();
    for (const bad of ['../etc/passwd', 'a/../../b', '/abs/path', 'a//b', 'a/./b', 'a/b/', '..', 'a\\b', 'a/\u0000b', 'x'.repeat(1025)]) {
      const reply = await alice.upload(bad, randomBytes(4));
      assert.equal(reply.result, -1012, `${JSON.stringify(bad)}: ${reply.message}`);
      assert.equal((await alice.init(bad)).result, -1012, JSON.stringify(bad));
    }
  });

  it('refuses an upload without a file part, with two, with another part name, or as JSON, with -1012', async () => {
    const http = (await oss()).http;
    const send = (parts: Parameters<typeof multipart>[0]) => {
      const { body, contentType } = multipart(parts);
      return http.request('/oss/upload', { body, contentType });
    };
    assert.equal((await send([{ name: 'key', value: 'a/b.bin' }])).result, -1012);
    assert.equal(
      (
        await send([
          { name: 'key', value: 'a/c.bin' },
          { name: 'file', value: 'x', filename: 'f' },
          { name: 'file', value: 'y', filename: 'g' },
        ])
      ).result,
      -1012,
    );
    assert.equal(
      (
        await send([
          { name: 'key', value: 'a/d.bin' },
          { name: 'photo', value: 'x', filename: 'f' },
        ])
      ).result,
      -1012,
    );
    assert.equal((await http.post('/oss/upload', { key: 'a/e.bin' })).result, -1012);
    assert.equal((await http.request('/oss/upload', { body: 'garbage', contentType: 'multipart/form-data; boundary=zzz' })).result, -1012);
  });

  it('refuses uploads without credentials with -1010, and serves nothing for a key never uploaded (-1007)', async () => {
    const alice = await oss();
    const anonymous = new OssClient(alice.http.as(undefined));
    assert.equal((await anonymous.upload('a/x.bin', randomBytes(4))).result, -1010);
    assert.equal((await anonymous.init('a/x.bin')).result, -1010);
    assert.equal((await download(`${chatlog().urls[0]}/media/never/uploaded.bin`)).status, 404);
  });

  it('refuses a partNumber outside 1 to MAX_UPLOAD_PARTS and an uploadId it never gave, with -1012', async () => {
    const alice = await oss();
    const { data } = await alice.init('n/parts.bin');
    assert.equal((await alice.part('n/parts.bin', data.uploadId, 0, randomBytes(4))).result, -1012);
    assert.equal((await alice.part('n/parts.bin', data.uploadId, 10_001, randomBytes(4))).result, -1012);
    assert.equal((await alice.part('n/parts.bin', 'not-an-id', 1, randomBytes(4))).result, -1012);
    assert.equal((await alice.part('n/other.bin', data.uploadId, 1, randomBytes(4))).result, -1012, 'key of another upload');
  });

  it('answers 304 to a download revalidated with its ETag', async () => {
    const alice = await oss();
    const { data } = await alice.upload('etag/a.bin', randomBytes(64));
    const first = await download(data.url);
    const etag = first.headers.get('etag')!;
    assert.equal((await download(data.url, { 'if-none-match': etag })).status, 304);
  });
});

describeOnEngines('media uploads across restarts and expiry', (engine) => {
  it('completes a multipart upload begun before the server restarted', async () => {
    const first = await startChatlog(engine, { MAX_UPLOAD_PART_BYTES: '1024' });
    const alice = new OssClient(await first.client('restart-alice'));
    const file = randomBytes(2500);
    const { data } = await alice.init('restart/file.bin');
    const parts = [await alice.part('restart/file.bin', data.uploadId, 1, file.subarray(0, 1024))];
    await first.close();

    const settings = { MAX_UPLOAD_PART_BYTES: '1024', MEDIA_DIR: first.config.media.dir };
    const second = await startChatlog({ ...engine, freshDatabase: async () => first.config.database }, settings);
    try {
      const again = new OssClient(await second.client('restart-alice'));
      parts.push(await again.part('restart/file.bin', data.uploadId, 2, file.subarray(1024, 2048)));
      parts.push(await again.part('restart/file.bin', data.uploadId, 3, file.subarray(2048)));
      const done = await again.complete(
        'restart/file.bin',
        data.uploadId,
        parts.map((part) => ({ partNumber: part.data.partNumber, ETag: part.data.ETag })),
      );
      assert.equal(done.result, 0, done.message);
      assert.deepEqual((await download(done.data.url)).bytes, file);
    } finally {
      await second.close();
    }
  });

  it('forgets a multipart upload left unfinished past MULTIPART_UPLOAD_TTL (-1007 afterwards)', async () => {
    const running = await startChatlog(engine, { MULTIPART_UPLOAD_TTL: '300ms' });
    try {
      const alice = new OssClient(await running.client(uniqueUid('slow')));
      const { data } = await alice.init('slow/file.bin');
      assert.equal((await alice.part('slow/file.bin', data.uploadId, 1, randomBytes(10))).result, 0);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal((await alice.part('slow/file.bin', data.uploadId, 2, randomBytes(10))).result, -1007);
    } finally {
      await running.close();
    }
  });
});

describeOnEngines('media uploads: rate limit and metrics', (engine) => {
  const chatlog = useChatlog(engine, { RATE_LIMIT_SENDS: '2/m burst 2' });

  it('counts uploads against the write rate limit (-1029 past it) and in the metrics', async () => {
    const alice = new OssClient(await chatlog().client(uniqueUid('alice')));
    assert.equal((await alice.upload('limit/a.bin', randomBytes(10))).result, 0);
    assert.equal((await alice.upload('limit/b.bin', randomBytes(20))).result, 0);
    const third = await alice.upload('limit/c.bin', randomBytes(10));
    assert.equal(third.result, -1029);
    assert.ok(third.status === 429);
    const metrics = await (await fetch(`${chatlog().urls[0]}/metrics`)).text();
    assert.match(metrics, /^chatlog_media_uploads_total\{kind="whole"\} 2$/m);
    assert.match(metrics, /^chatlog_media_uploaded_bytes_total 30$/m);
  });
});
