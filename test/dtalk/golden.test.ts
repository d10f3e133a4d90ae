import assert from 'node:assert/strict';
import { codec, TestClient } from '../helpers/client.js';
import { CometClient, CometOp } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { golden, goldenFrame, goldenUpload, replayHttp, type GoldenEntry } from '../helpers/golden.js';
import { useChatlog } from '../helpers/server.js';

type Http = Extract<GoldenEntry, { kind: 'http' }>;
type CometSend = Extract<GoldenEntry, { kind: 'comet.send' }>;

/** The body bytes (Common.msg) of a captured push, whether uploaded or sent on the socket. */
function bodyOf(entry: GoldenEntry): Buffer {
  const bytes = entry.kind === 'comet.send' ? Buffer.from(entry.body!, 'base64') : goldenUpload(entry);
  return Buffer.from(codec.decodePush(bytes).msg);
}

describeOnEngines('golden wire data of the dtalk desktop client', (engine) => {
  // Signature tokens live 120 s: the server's signature clock follows the capture.
  let now = 0;
  const settings = { AUTH_DTALK_SIGNATURE: 'true' };

  describe('the client as shipped', () => {
    const chatlog = useChatlog(engine, settings, 1, { signatureClock: () => now });

    it('signs in with its "<ts>*" token (empty appId), pushes its end-to-end encrypted message, and opens /sub/', async () => {
      const entries = golden.filter((entry) => entry.phase === 'unmodified');
      const push = entries.find((entry): entry is Http => entry.kind === 'http' && entry.path === '/record/push')!;
      for (const entry of entries) {
        now = entry.t;
        if (entry.kind === 'http') {
          const reply = await replayHttp<{ logId?: number }>(chatlog().urls[0]!, entry);
          assert.equal(reply.status, 200, entry.path);
          assert.equal(reply.result, 0, `${entry.path}: ${reply.message}`);
        } else if (entry.kind === 'ws.open') {
          const comet = await CometClient.connect(chatlog().urls[0]!, entry.path);
          comet.close();
        }
      }
      // The probe wrote to itself: its stream holds the ciphertext exactly as it was sent.
      now = push.t;
      const [record] = await new TestClient(chatlog().urls[0]!, undefined, { 'FZM-SIGNATURE': push.headers['FZM-SIGNATURE']! }).syncAll();
      assert.deepEqual(Buffer.from(record!.common!.msg), bodyOf(push));
    });
  });

  describe('the client talking through the socket', () => {
    const chatlog = useChatlog(engine, settings, engine.instances, { signatureClock: () => now });
    const sockets = new Map<string, CometClient>();
    const closed: CometClient[] = [];
    after(() => [...sockets.values(), ...closed].forEach((comet) => comet.close()));

    it('answers every captured request and frame as the client expects, and carries the ciphertext byte for byte', async function () {
      this.timeout(60_000);
      // alice on the first instance, bob on the last.
      const urlOf = (who: string) => (who === 'alice' ? chatlog().urls[0]! : chatlog().urls.at(-1)!);
      const replies = new Map<GoldenEntry, Awaited<ReturnType<typeof replayHttp>>>();
      const acks = new Map<CometSend, number>();
      const entries = golden.filter((entry) => entry.phase === 'workarounds');
      for (const entry of entries) {
        now = entry.t;
        const what = `${entry.who} ${entry.kind === 'comet.send' ? `op ${entry.op} seq ${entry.seq}` : entry.path}`;
        if (entry.kind === 'http') {
          const reply = await replayHttp(urlOf(entry.who), entry);
          assert.equal(reply.status, 200, what);
          assert.equal(reply.result, 0, `${what}: ${reply.message}`);
          replies.set(entry, reply);
          continue;
        }
        if (entry.kind === 'ws.open') {
          const previous = sockets.get(entry.who);
          if (previous) closed.push(previous);
          sockets.set(entry.who, await CometClient.connect(urlOf(entry.who), entry.path));
          continue;
        }
        const comet = sockets.get(entry.who)!;
        const frame = goldenFrame(entry);
        switch (entry.op) {
          case CometOp.Auth: {
            comet.sendRaw(frame);
            const reply = await comet.next((f) => f.op === CometOp.AuthReply, 5000);
            assert.equal(comet.frames[0], reply, `${what}: op 2 comes first (the client takes the first frame as the answer)`);
            assert.deepEqual([reply.seq, reply.body.length], [entry.seq, 0], what);
            break;
          }
          case CometOp.Heartbeat: {
            comet.sendRaw(frame);
            const reply = await comet.next((f) => f.op === CometOp.HeartbeatReply && f.seq === entry.seq, 5000);
            assert.deepEqual([...reply.body], [0, 0, 0, 0], what);
            break;
          }
          case CometOp.SendMsg: {
            comet.sendRaw(frame);
            const reply = await comet.next((f) => f.op === CometOp.SendMsgReply && f.ack === entry.seq, 5000);
            acks.set(entry, codec.decodeCommonAck(reply.body).mid);
            break;
          }
          case CometOp.ReceiveMsgReply:
            // The capture acknowledges the server's op 9 frames by seq: wait for the one it names.
            await comet.next((f) => f.op === CometOp.ReceiveMsg && f.seq === entry.ack, 5000);
            comet.sendRaw(frame);
            break;
          case CometOp.Disconnect:
            comet.sendRaw(frame);
            assert.equal((await comet.closed).code, 1000, what);
            break;
          default:
            assert.fail(`the capture holds op ${entry.op}, which this test does not know`);
        }
      }

      const sends = entries.filter((entry): entry is CometSend => entry.kind === 'comet.send' && entry.op === CometOp.SendMsg);
      assert.ok(
        [...acks.values()].every((mid) => mid > 0),
        'every socket send was answered with its logId',
      );
      const uploads = entries.filter((entry): entry is Http => entry.kind === 'http' && entry.path === '/record/push');
      const [encryptedSend, plainSend, awaySend] = sends;
      const [encryptedUpload] = uploads;

      // Bob's history (the capture asks for it) gives the ciphertexts back exactly, as content null and msg.
      const history = [...replies].find(([entry]) => entry.kind === 'http' && entry.path === '/app/record/pri-chat-record')![1];
      const records = (history.data as { records: Array<{ logId: string; content: unknown; msg?: string }> }).records;
      const byLogId = new Map(records.map((record) => [Number(record.logId), record]));
      // (The encrypted socket send is message 1, which alice recalled before bob asked: it is no longer there.)
      assert.equal(byLogId.has(acks.get(encryptedSend!)!), false);
      const uploaded = byLogId.get((replies.get(encryptedUpload!)!.data as { logId: number }).logId);
      assert.equal(uploaded?.content, null, 'the server cannot read the encrypted upload');
      assert.deepEqual(Buffer.from(uploaded!.msg!, 'base64'), bodyOf(encryptedUpload!));
      assert.deepEqual(byLogId.get(acks.get(plainSend!)!)?.content, { content: 'hello bob (plain)' });

      // "while you were away" was sent while bob's socket was closed; his next socket got it without a sync.
      const bobSocket = sockets.get('bob')!;
      const pushed = bobSocket.received().map((f) => codec.decodeStreamRecord(f.body));
      assert.ok(
        pushed.some((record) => record.common?.mid === acks.get(awaySend!)),
        'the message sent while bob was away reached his next socket',
      );
      // So did alice's recall of her first message, as the Revoke signal.
      assert.ok(pushed.some((record) => record.signal?.revoke?.mid === 1));
      // And the ciphertext reached his first socket byte for byte.
      const firstBobSocket = closed.find((comet) => comet !== sockets.get('alice'))!;
      const live = firstBobSocket
        .received()
        .map((f) => codec.decodeStreamRecord(f.body))
        .find((record) => record.common?.mid === acks.get(encryptedSend!));
      assert.deepEqual(Buffer.from(live!.common!.msg), bodyOf(encryptedSend!));
    });
  });
});
