import assert from 'node:assert/strict';
import { decodeRecord } from '../helpers/client.js';
import { postgresEngine } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

/**
 * The MUST of API.md §4.2: a reader paging with next_start while others send through several instances sees
 * every event exactly once, in id order. Only a database shared by two instances can break it, so it runs on
 * PostgreSQL.
 */
(postgresEngine ? describe : describe.skip)('the sync cursor under concurrent senders on two instances (PostgreSQL)', () => {
  const chatlog = useChatlog(postgresEngine!, {}, 2);

  it('gives a reader paging with next_start every message exactly once, in id order', async () => {
    const reader = uniqueUid('reader');
    const senders = 6;
    const perSender = 40;
    const readerClient = await chatlog().client(reader, 0);

    const sent: number[] = [];
    let sendersDone = false;
    const sending = Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        const client = await chatlog().client(uniqueUid(`sender${s}`), s % 2);
        for (let i = 0; i < perSender; i++) {
          const reply = await client.sendText(reader, `s${s}-${i}`);
          assert.equal(reply.result, 0, reply.message);
          sent.push(reply.data.logId);
        }
      }),
    ).finally(() => (sendersDone = true));

    // Page with a small count while the senders run; stop after a pass that began once they were all done.
    const seen: number[] = [];
    let start = 0;
    for (let finalPass = false; ;) {
      const reply = await readerClient.sync({ start, count: 7 });
      assert.equal(reply.result, 0, reply.message);
      seen.push(...reply.data.records.map((record) => decodeRecord(record).common!.mid));
      start = reply.data.next_start;
      if (reply.data.has_more) continue;
      if (finalPass) break;
      if (sendersDone) finalPass = true;
    }
    await sending;

    assert.equal(seen.length, senders * perSender);
    assert.deepEqual(
      seen,
      [...sent].sort((x, y) => x - y),
    );
  });
});
