import assert from 'node:assert/strict';
import { uidOfPublicKey } from '../../src/auth/dtalk-signature.js';
import { codec } from '../helpers/client.js';
import { golden, goldenUpload } from '../helpers/golden.js';

/** The codec alone against what the official desktop client sent and reads, so a mapping wrong both ways fails. */
describe('imparse codec against the golden bytes of the dtalk desktop client', () => {
  const entries = golden.filter((entry) => entry.phase === 'workarounds');
  const aliceToken = (entries.find((entry) => entry.who === 'alice' && entry.kind === 'http') as { headers: Record<string, string> }).headers['FZM-SIGNATURE']!;
  const bobToken = (entries.find((entry) => entry.who === 'bob' && entry.kind === 'http') as { headers: Record<string, string> }).headers['FZM-SIGNATURE']!;
  const uidOf = (token: string) => uidOfPublicKey(Buffer.from(token.split('#')[2]!, 'hex'));

  it('reads the Auth frame: appId, the very token, and the ext naming the device', () => {
    const auth = entries.find((entry) => entry.kind === 'comet.send' && entry.op === 1 && entry.who === 'alice') as { body: string };
    const decoded = codec.decodeAuthMsg(Buffer.from(auth.body, 'base64'));
    assert.deepEqual([decoded.appId, decoded.token], ['dtalk', aliceToken]);
    const login = codec.decodeDeviceLogin(decoded.ext);
    assert.deepEqual([login.device, login.username, login.connType], [4, 'alice', 0]);
    assert.match(login.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.equal(login.deviceName, login.uuid);
  });

  it('reads each pushed Common field from its own tag: channelType, msgId, target and msgType as the client meant them', () => {
    const pushes = entries.filter((entry) => (entry.kind === 'comet.send' && entry.op === 7) || (entry.kind === 'http' && entry.path === '/record/push'));
    assert.equal(pushes.length, 5);
    for (const entry of pushes) {
      const bytes = entry.kind === 'comet.send' ? Buffer.from(entry.body!, 'base64') : goldenUpload(entry);
      const push = codec.decodePush(bytes);
      assert.deepEqual([push.eventType, push.channelType, push.msgType, push.targetId], [0, 0, 1, uidOf(bobToken)]);
      assert.match(push.msgId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const plain = pushes.map((entry) =>
      codec.readContent(1, codec.decodePush(entry.kind === 'comet.send' ? Buffer.from(entry.body!, 'base64') : goldenUpload(entry)).msg),
    );
    assert.deepEqual(plain, [null, null, { content: 'hello bob (plain)' }, { content: 'hello bob (plain, http)' }, { content: 'while you were away' }]);
  });

  it('answers a send with a CommonAck the desktop reads as the logId, and a record the client reads field by field', () => {
    // The desktop decodes op 8's body directly as CommonMsgAck{logId = 2, datetime = 8}, by field number.
    const ack = Buffer.from(codec.encodeCommonAck(300, 1796173658263));
    assert.deepEqual([...ack.subarray(0, 2)], [0x08, 0x01], 'Proto.eventType = commonAck');
    assert.ok(ack.includes(Buffer.from([0x10, 0xac, 0x02])), 'CommonAck.mid = 300 at tag 2');
    const record = Buffer.from(
      codec.encodeStreamEvent({
        id: 300,
        kind: 'message',
        message: {
          mid: 300,
          channelType: 0,
          msgId: 'm',
          senderId: 'a',
          targetId: 'b',
          msgType: 1,
          msg: new Uint8Array([1]),
          createdAt: 5,
          revokedBy: null,
          revokedAt: null,
        },
      }),
    );
    // Common: mid = 2, seq = 3, from = 4, target = 5, msgType = 6, msg = 7, datetime = 8 (imparse, and both clients).
    for (const bytes of [
      [0x10, 0xac, 0x02],
      [0x1a, 1, 0x6d],
      [0x22, 1, 0x61],
      [0x2a, 1, 0x62],
      [0x30, 1],
      [0x3a, 1, 1],
      [0x40, 5],
    ]) {
      assert.ok(record.includes(Buffer.from(bytes)), `the record holds ${Buffer.from(bytes).toString('hex')}`);
    }
  });
});
