import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { codec } from '../helpers/client.js';
import { DtalkIdentity } from '../helpers/dtalk.js';
import type { DtalkDevice } from '../helpers/dtalk-device.js';
import { describeOnEngines } from '../helpers/engines.js';
import { OssClient, desktopParts, download } from '../helpers/media.js';
import { useChatlog } from '../helpers/server.js';

/** Media as the real clients move it: upload to /oss with FZM-SIGNATURE, send the url in a message, download it. */
describeOnEngines('media messages between dtalk clients', (engine) => {
  const chatlog = useChatlog(engine, { AUTH_DTALK_SIGNATURE: 'true', MAX_UPLOAD_PART_BYTES: '8192' }, engine.instances);
  const devices: DtalkDevice[] = [];
  afterEach(() => devices.splice(0).forEach((device) => device.drop()));

  const mediaMessage = (targetId: string, msgType: number, content: Record<string, unknown>) =>
    codec.encodePush({ msgId: `media-${randomBytes(6).toString('hex')}`, targetId, msgType, msg: codec.encodeContent(msgType, content) });

  /** The content of the first message of `msgType` the device processed. */
  async function received(device: DtalkDevice, msgType: number): Promise<Record<string, unknown>> {
    const has = () => device.processed.find((record) => record.common?.msgType === msgType);
    await device.until(() => has() !== undefined, `a message of type ${msgType}`);
    return codec.readContent(msgType, has()!.common!.msg)!;
  }

  it('a phone sends an encrypted image and a desktop downloads it; the desktop sends a file in parts and the phone downloads it', async () => {
    const [alice, bob] = [new DtalkIdentity(), new DtalkIdentity()];
    const urls = chatlog().urls;
    const phone = await alice.device(urls[0]!, 'phone');
    const desktop = await bob.device(urls.at(-1)!, 'desktop');
    devices.push(phone, desktop);

    // The Android client: one /oss/upload (fields first, the file last), then an ImageMsg over the comet socket.
    const image = randomBytes(5000);
    const imageKey = `chatList/picture/20261202/$ENC$_20261202093000123_${alice.uid}_ab1cd.jpg`;
    const uploaded = await new OssClient(alice.http(urls[0]!)).upload(imageKey, image);
    assert.equal(uploaded.result, 0, uploaded.message);
    const sent = await phone.sendMessage(mediaMessage(bob.uid, 3, { mediaUrl: uploaded.data.url, height: 480, width: 640 }));
    assert.equal(sent.state, 'sent');
    const imageMsg = await received(desktop, 3);
    assert.deepEqual((await download(imageMsg.mediaUrl as string)).bytes, image);

    // The desktop client: init, the parts at once (file part first), complete, then a FileMsg.
    const file = randomBytes(20_000);
    const fileKey = `chat33pro-browser/file/20261202/$ENC$_${randomBytes(16).toString('hex')}.pdf`;
    const desktopOss = new OssClient(bob.http(urls.at(-1)!));
    const { data } = await desktopOss.init(fileKey);
    const parts = await Promise.all(
      [0, 1, 2].map((i) => desktopOss.part(fileKey, data.uploadId, i + 1, file.subarray(i * 8192, (i + 1) * 8192), desktopParts)),
    );
    const completed = await desktopOss.complete(
      fileKey,
      data.uploadId,
      parts.map((part) => ({ ETag: part.data.ETag, partNumber: part.data.partNumber })),
    );
    assert.equal(completed.result, 0, completed.message);
    const md5 = createHash('md5').update(file).digest('hex');
    assert.equal(
      (await desktop.sendMessage(mediaMessage(alice.uid, 5, { mediaUrl: completed.data.url, name: 'report.pdf', md5, size: file.length }))).state,
      'sent',
    );
    const fileMsg = await received(phone, 5);
    const fetched = await download(fileMsg.mediaUrl as string);
    assert.equal(createHash('md5').update(fetched.bytes).digest('hex'), fileMsg.md5);
  });
});
