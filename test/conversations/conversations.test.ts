import assert from 'node:assert/strict';
import {
  allConversations,
  conversationIn,
  conversationOf,
  conversationsPage,
  createGroup,
  exitGroup,
  expectError,
  invite,
  keyOf,
  listConversations,
  markRead,
  newestInGroup,
  people,
  person,
  removeFromGroup,
  say,
  sayInGroup,
  sendMention,
  setConversation,
  signalsOf,
  SIGNAL_READ,
  useSockets,
} from '../helpers/conversations.js';
import { encodeText } from '../helpers/client.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { useChatlog } from '../helpers/server.js';

describeOnEngines('conversations: the list', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);
  const last = () => chatlog().urls.length - 1;
  const subscribe = useSockets(chatlog);

  describe('contents', () => {
    it('lists a private conversation for both parties, its last message in the shape of the /ws record', async () => {
      const alice = await person(chatlog(), 'alice');
      const bob = await person(chatlog(), 'bob', last());
      const bobSocket = await subscribe(bob.uid, last());
      const sent = await expectOk(alice.client.pushJson({ channelType: 0, msgId: 'hello-1', targetId: bob.uid, msgType: 1, content: { content: 'hello' } }));
      await bobSocket.until((s) => s.events.length >= 1);
      const record = bobSocket.events[0]!.record;
      assert.deepEqual(record, {
        logId: String(sent.logId),
        msgId: 'hello-1',
        channelType: 0,
        fromId: alice.uid,
        targetId: bob.uid,
        msgType: 1,
        content: { content: 'hello' },
        createTime: sent.datetime,
      });

      const mine = await conversationsPage(alice.client);
      assert.deepEqual(mine, {
        conversations: [
          {
            type: 0,
            targetId: bob.uid,
            lastMessage: record,
            lastId: sent.logId,
            unread: 0,
            mentions: 0,
            readLogId: String(sent.logId),
            peerReadLogId: '0',
            muted: false,
            pinned: false,
          },
        ],
        totalUnread: 0,
        next_cursor: null,
        position: mine.position,
      });
      assert.ok(Number.isSafeInteger(mine.position) && mine.position >= sent.logId, `position ${mine.position} is as of the answer`);

      const theirs = await conversationsPage(bob.client);
      assert.deepEqual(theirs.conversations, [
        {
          type: 0,
          targetId: alice.uid,
          lastMessage: record,
          lastId: sent.logId,
          unread: 1,
          mentions: 0,
          readLogId: '0',
          peerReadLogId: String(sent.logId),
          muted: false,
          pinned: false,
        },
      ]);
      assert.equal(theirs.totalUnread, 1);
    });

    it('lists a group with type 1, the group id as a decimal string and no peerReadLogId', async () => {
      const owner = await person(chatlog(), 'owner');
      const bob = await person(chatlog(), 'bob', last());
      const groupId = await createGroup(owner.client, [bob.uid]);
      const logId = await sayInGroup(bob.client, groupId, 'hello team');
      const record = await newestInGroup(bob.client, groupId);
      assert.equal(record.logId, String(logId));

      const bobs = conversationIn(await conversationsPage(bob.client), 1, groupId);
      assert.deepEqual(bobs, {
        type: 1,
        targetId: String(groupId),
        lastMessage: record,
        lastId: logId,
        unread: 0,
        mentions: 0,
        readLogId: String(logId),
        muted: false,
        pinned: false,
      });
      const owners = await conversationsPage(owner.client);
      const group = conversationIn(owners, 1, groupId);
      assert.deepEqual(group.lastMessage, record);
      assert.equal(group.unread, 1, "bob's message; the owner's own notice of the creation does not count");
      assert.equal('peerReadLogId' in group, false);
      assert.equal(owners.totalUnread, 1);
    });

    it('lists nothing for a user without conversations', async () => {
      const nobody = await person(chatlog(), 'nobody');
      const page = await conversationsPage(nobody.client, { count: 10 });
      assert.deepEqual({ ...page, position: 0 }, { conversations: [], totalUnread: 0, next_cursor: null, position: 0 });
      assert.ok(Number.isSafeInteger(page.position) && page.position >= 0);
    });

    it('lists a private conversation whichever way its only message went', async () => {
      const [alice, bob, carol] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      await say(alice.client, bob.uid);
      await say(carol.client, alice.uid);
      assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`0:${carol.uid}`, `0:${bob.uid}`]);
      assert.deepEqual((await allConversations(bob.client)).conversations.map(keyOf), [`0:${alice.uid}`]);
    });
  });

  describe('order', () => {
    it('orders conversations by their newest message, newest first, private and group alike', async () => {
      const [alice, bob, carol, dave] = await people(chatlog(), 'alice', 'bob', 'carol', 'dave');
      await say(alice.client, bob.uid);
      await say(alice.client, carol.uid);
      await say(dave.client, alice.uid);
      await say(alice.client, bob.uid);
      assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`0:${bob.uid}`, `0:${dave.uid}`, `0:${carol.uid}`]);

      const groupId = await createGroup(carol.client, [alice.uid]);
      assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`1:${groupId}`, `0:${bob.uid}`, `0:${dave.uid}`, `0:${carol.uid}`]);
      await say(alice.client, carol.uid);
      await sayInGroup(carol.client, groupId);
      await say(dave.client, alice.uid);
      assert.deepEqual((await allConversations(alice.client)).conversations.map(keyOf), [`0:${dave.uid}`, `1:${groupId}`, `0:${carol.uid}`, `0:${bob.uid}`]);
    });

    it('keeps the place of a conversation whose newest message was revoked, and shows the newest one not revoked', async () => {
      const [alice, bob, carol] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      await say(alice.client, bob.uid, 'one');
      const two = await say(alice.client, carol.uid, 'two');
      const three = await say(alice.client, carol.uid, 'three');
      await expectOk(alice.client.revoke(three));
      let listing = await allConversations(alice.client);
      assert.deepEqual(listing.conversations.map(keyOf), [`0:${carol.uid}`, `0:${bob.uid}`]);
      assert.equal(conversationIn(listing, 0, carol.uid).lastMessage?.logId, String(two));
      assert.deepEqual(conversationIn(listing, 0, carol.uid).lastMessage?.content, { content: 'two' });

      await expectOk(alice.client.revoke(two));
      listing = await allConversations(alice.client);
      assert.deepEqual(listing.conversations.map(keyOf), [`0:${carol.uid}`, `0:${bob.uid}`], 'a recall does not reorder');
      assert.equal(conversationIn(listing, 0, carol.uid).lastMessage, null);
      const carols = await conversationOf(carol.client, 0, alice.uid);
      assert.equal(carols.lastMessage, null);
      assert.equal(carols.unread, 0);
    });

    it('places a group the caller just joined by their join, above older conversations', async () => {
      const [owner, bob, carol, dave] = await people(chatlog(), 'owner', 'bob', 'carol', 'dave');
      const groupId = await createGroup(owner.client, [bob.uid]);
      await sayInGroup(bob.client, groupId, 'old news');
      await say(carol.client, dave.uid);
      await invite(owner.client, groupId, [carol.uid]);
      assert.deepEqual((await allConversations(carol.client)).conversations.map(keyOf), [`1:${groupId}`, `0:${dave.uid}`]);
    });
  });

  describe('unread and mentions', () => {
    it('counts messages from others after the read position, and sums them in totalUnread', async () => {
      const [alice, bob, carol, dave] = await people(chatlog(), 'alice', 'bob', 'carol', 'dave');
      await say(bob.client, alice.uid);
      await say(bob.client, alice.uid);
      await say(carol.client, alice.uid);
      for (let i = 0; i < 3; i++) await say(alice.client, dave.uid);
      const listing = await allConversations(alice.client);
      assert.deepEqual(
        listing.conversations.map((c) => [keyOf(c), c.unread, c.mentions]),
        [
          [`0:${dave.uid}`, 0, 0],
          [`0:${carol.uid}`, 1, 0],
          [`0:${bob.uid}`, 2, 0],
        ],
      );
      assert.equal(listing.totalUnread, 3);
      assert.equal((await conversationOf(dave.client, 0, alice.uid)).unread, 3);
    });

    it('counts as mentions the unread text messages whose mention lists the caller', async () => {
      const [alice, bob, carol] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      const groupId = await createGroup(alice.client, [bob.uid, carol.uid]);
      await sendMention(bob.client, 1, groupId, '@alice look', [alice.uid]);
      await sendMention(bob.client, 1, groupId, '@carol look', [carol.uid]);
      await sendMention(bob.client, 1, groupId, '@both', [carol.uid, alice.uid]);
      await sayInGroup(bob.client, groupId, 'no one in particular');
      await expectOk(
        bob.client.pushJson({
          channelType: 1,
          msgId: 'img-1',
          targetId: String(groupId),
          msgType: 3,
          content: { mediaUrl: 'https://x/y.png', height: 1, width: 1 },
        }),
      );
      const group = await conversationOf(alice.client, 1, groupId);
      assert.deepEqual([group.unread, group.mentions], [5, 2]);
      assert.equal((await conversationOf(carol.client, 1, groupId)).mentions, 2);
      assert.equal((await conversationOf(bob.client, 1, groupId)).mentions, 0, 'never for the sender');

      await sendMention(bob.client, 0, alice.uid, '@alice in private', [alice.uid]);
      await sendMention(bob.client, 0, alice.uid, 'about carol', [carol.uid]);
      const chat = await conversationOf(alice.client, 0, bob.uid);
      assert.deepEqual([chat.unread, chat.mentions], [2, 1]);
    });

    it('reads the mentions of a body sent as bytes, as dtalk clients send it, and finds none in bytes it cannot read', async () => {
      const [alice, bob] = await people(chatlog(), 'alice', 'bob');
      const asBytes = (msgId: string, msg: Uint8Array) =>
        expectOk(bob.client.pushJson({ channelType: 0, msgId, targetId: alice.uid, msgType: 1, msg: Buffer.from(msg).toString('base64') }));
      await asBytes('b-1', encodeText('@alice', [alice.uid]));
      await asBytes('b-2', encodeText('no one'));
      await asBytes('b-3', new Uint8Array([0x12, 0xff, 0x01, 0x02]));
      const chat = await conversationOf(alice.client, 0, bob.uid);
      assert.deepEqual([chat.unread, chat.mentions], [3, 1]);
    });

    it("moves the sender's read position to the message sent: a reply reads everything before it", async () => {
      const [alice, bob] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob', last())];
      for (let i = 0; i < 3; i++) await say(bob.client, alice.uid);
      let chat = await conversationOf(alice.client, 0, bob.uid);
      assert.deepEqual([chat.unread, chat.readLogId], [3, '0']);
      const reply = await say(alice.client, bob.uid, 'got them');
      chat = await conversationOf(alice.client, 0, bob.uid);
      assert.deepEqual([chat.unread, chat.readLogId], [0, String(reply)]);
      assert.equal((await conversationOf(bob.client, 0, alice.uid)).peerReadLogId, String(reply));
      await say(bob.client, alice.uid);
      assert.equal((await conversationOf(alice.client, 0, bob.uid)).unread, 1);
    });

    it("moves a group sender's read position to their message", async () => {
      const [owner, bob] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob')];
      const groupId = await createGroup(owner.client, [bob.uid]);
      await sayInGroup(bob.client, groupId);
      await sayInGroup(bob.client, groupId);
      assert.equal((await conversationOf(owner.client, 1, groupId)).unread, 2);
      const mine = await sayInGroup(owner.client, groupId);
      const group = await conversationOf(owner.client, 1, groupId);
      assert.deepEqual([group.unread, group.readLogId], [0, String(mine)]);
    });

    it('counts a message pushed again under its msgId once, whether the repeats share its batch or come later', async () => {
      const [owner, bob, carol] = await people(chatlog(), 'owner', 'bob', 'carol');
      const groupId = await createGroup(owner.client, [bob.uid, carol.uid]);
      const push = (client: typeof bob.client, channelType: 0 | 1, targetId: string, msgId: string) =>
        expectOk(client.pushJson({ channelType, msgId, targetId, msgType: 1, content: { content: msgId } }));
      // Sent together, so that the repeats ride in the first one's write batch.
      await Promise.all([
        push(bob.client, 1, String(groupId), 'g-1'),
        push(bob.client, 1, String(groupId), 'g-1'),
        push(bob.client, 0, owner.uid, 'p-1'),
        push(bob.client, 0, owner.uid, 'p-1'),
        push(carol.client, 1, String(groupId), 'g-2'),
      ]);
      await push(bob.client, 1, String(groupId), 'g-1');
      await push(bob.client, 0, owner.uid, 'p-1');
      await push(carol.client, 1, String(groupId), 'g-3');
      assert.deepEqual([(await conversationOf(owner.client, 1, groupId)).unread, (await conversationOf(owner.client, 0, bob.uid)).unread], [3, 1]);
    });

    it('stops counting an unread message, and its mention, once it is revoked', async () => {
      const [alice, bob] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob', last())];
      const first = await sendMention(bob.client, 0, alice.uid, '@alice', [alice.uid]);
      const second = await say(bob.client, alice.uid, 'second');
      let listing = await allConversations(alice.client);
      assert.deepEqual([conversationIn(listing, 0, bob.uid).unread, conversationIn(listing, 0, bob.uid).mentions, listing.totalUnread], [2, 1, 2]);
      await expectOk(bob.client.revoke(first));
      listing = await allConversations(alice.client);
      assert.deepEqual([conversationIn(listing, 0, bob.uid).unread, conversationIn(listing, 0, bob.uid).mentions, listing.totalUnread], [1, 0, 1]);
      await expectOk(bob.client.revoke(second));
      listing = await allConversations(alice.client);
      assert.deepEqual([conversationIn(listing, 0, bob.uid).unread, listing.totalUnread], [0, 0]);
      assert.equal(conversationIn(listing, 0, bob.uid).lastMessage, null);
    });

    it('stops counting a revoked group message', async () => {
      const [owner, bob] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob')];
      const groupId = await createGroup(owner.client, [bob.uid]);
      const logId = await sendMention(bob.client, 1, groupId, '@owner', [owner.uid]);
      assert.deepEqual(await conversationOf(owner.client, 1, groupId).then((c) => [c.unread, c.mentions]), [1, 1]);
      await expectOk(bob.client.revoke(logId, 1));
      const group = await conversationOf(owner.client, 1, groupId);
      assert.deepEqual([group.unread, group.mentions], [0, 0]);
      assert.notEqual(group.lastMessage?.logId, String(logId));
    });
  });

  describe('membership window', () => {
    it('counts for a member who joined later only the messages of their stay, the notice of their join first', async () => {
      const [owner, bob, carol] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      const groupId = await createGroup(owner.client, [bob.uid]);
      for (let i = 0; i < 3; i++) await sayInGroup(bob.client, groupId, `before ${i}`);
      await invite(owner.client, groupId, [carol.uid]);
      const notice = await newestInGroup(carol.client, groupId);
      assert.equal(notice.msgType, 7);
      let group = await conversationOf(carol.client, 1, groupId);
      assert.deepEqual([group.unread, group.mentions, group.readLogId], [1, 0, '0']);
      assert.deepEqual(group.lastMessage, notice);
      await sendMention(bob.client, 1, groupId, 'welcome @carol', [carol.uid]);
      group = await conversationOf(carol.client, 1, groupId);
      assert.deepEqual([group.unread, group.mentions], [2, 1]);
      assert.equal((await allConversations(carol.client)).totalUnread, 2);
    });

    it('drops a group the caller left, or was removed from, with its unread', async () => {
      const [owner, bob, carol] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      const groupId = await createGroup(owner.client, [bob.uid, carol.uid]);
      await sayInGroup(owner.client, groupId);
      await say(owner.client, bob.uid);
      assert.equal((await allConversations(bob.client)).totalUnread, 3, 'the notice, the group message and the private one');
      await exitGroup(bob.client, groupId);
      let listing = await allConversations(bob.client);
      assert.deepEqual(listing.conversations.map(keyOf), [`0:${owner.uid}`]);
      assert.equal(listing.totalUnread, 1);

      await removeFromGroup(owner.client, groupId, [carol.uid]);
      listing = await allConversations(carol.client);
      assert.deepEqual(listing.conversations, []);
      assert.equal(listing.totalUnread, 0);
      await sayInGroup(owner.client, groupId, 'after they left');
      assert.deepEqual((await allConversations(carol.client)).conversations, []);
      assert.deepEqual((await allConversations(owner.client)).conversations.map(keyOf), [`1:${groupId}`, `0:${bob.uid}`]);
    });

    it('counts a rejoined member from their new join: nothing of the earlier stay or of the time away', async () => {
      const [owner, bob] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob')];
      const groupId = await createGroup(owner.client, [bob.uid]);
      await sayInGroup(owner.client, groupId, 'during the first stay');
      await exitGroup(bob.client, groupId);
      await sayInGroup(owner.client, groupId, 'while away');
      await invite(owner.client, groupId, [bob.uid]);
      const notice = await newestInGroup(bob.client, groupId);
      const group = await conversationOf(bob.client, 1, groupId);
      assert.equal(group.unread, 1, 'only the notice of the new join');
      assert.deepEqual(group.lastMessage, notice);
    });
  });

  describe('paging', () => {
    /** alice with six private conversations and a group, one of them pinned. */
    async function busyAlice() {
      const alice = await person(chatlog(), 'alice');
      const peers = [];
      for (let i = 0; i < 6; i++) {
        const peer = await person(chatlog(), `peer${i}`, i % chatlog().urls.length);
        await say(peer.client, alice.uid);
        peers.push(peer);
      }
      const groupId = await createGroup(peers[0]!.client, [alice.uid]);
      await expectOk(setConversation(alice.client, { type: 0, targetId: peers[2]!.uid, pinned: true }));
      return { alice, peers, groupId };
    }

    it('pages with a cursor through every conversation exactly once, in the order of a single page', async () => {
      const { alice } = await busyAlice();
      const whole = await conversationsPage(alice.client, { count: 200 });
      assert.equal(whole.conversations.length, 7);
      assert.equal(whole.next_cursor, null);
      for (const size of [1, 3, 7]) {
        const paged = await allConversations(alice.client, size);
        assert.deepEqual(
          paged.pages.map((page) => page.conversations.length),
          size === 1 ? [1, 1, 1, 1, 1, 1, 1] : size === 3 ? [3, 3, 1] : [7],
        );
        assert.deepEqual(paged.conversations, whole.conversations, `pages of ${size}`);
        for (const page of paged.pages) {
          assert.equal(page.position, paged.position, 'the pages of one listing share its position');
          assert.equal(page.totalUnread, whole.totalUnread, 'totalUnread is always the total');
        }
      }
    });

    it('takes a cursor of null, as next_cursor reads after the last page, for no cursor', async () => {
      const { alice } = await busyAlice();
      assert.deepEqual(await conversationsPage(alice.client, { count: 3, cursor: null }), await conversationsPage(alice.client, { count: 3 }));
    });

    it('pages without a duplicate while messages arrive, and since that position gives what moved', async () => {
      const { alice, peers } = await busyAlice();
      const all = (await allConversations(alice.client)).conversations.map(keyOf);
      const first = await conversationsPage(alice.client, { count: 2 });
      // One conversation already seen and one not yet seen get new messages.
      const seen = peers.find((peer) => first.conversations.some((c) => c.type === 0 && c.targetId === peer.uid))!;
      const unseen = peers[0]!;
      assert.ok(!first.conversations.some((c) => c.targetId === unseen.uid));
      await say(seen.client, alice.uid);
      await say(unseen.client, alice.uid);
      const pages = [first];
      while (pages.at(-1)!.next_cursor !== null) {
        pages.push(await conversationsPage(alice.client, { count: 2, cursor: pages.at(-1)!.next_cursor }));
      }
      const listed = pages.flatMap((page) => page.conversations.map(keyOf));
      assert.equal(new Set(listed).size, listed.length, `no duplicate in ${JSON.stringify(listed)}`);
      for (const page of pages) assert.equal(page.position, first.position);
      const changed = await allConversations(alice.client, 200, first.position);
      assert.ok(
        changed.conversations.some((c) => keyOf(c) === `0:${unseen.uid}`),
        'the conversation that moved is listed under since',
      );
      assert.deepEqual([...new Set([...listed, ...changed.conversations.map(keyOf)])].sort(), [...all].sort(), 'every conversation once');
    });
  });

  describe('since', () => {
    it('answers since with only the conversations changed after that position, in list order, and the total unread', async () => {
      const [alice, bob, carol, dave] = await people(chatlog(), 'alice', 'bob', 'carol', 'dave');
      await say(bob.client, alice.uid);
      await say(carol.client, alice.uid);
      await say(dave.client, alice.uid);
      const before = await conversationsPage(alice.client);
      assert.deepEqual((await conversationsPage(alice.client, { count: 200, since: before.position })).conversations, [], 'nothing changed yet');

      await say(bob.client, alice.uid);
      await expectOk(setConversation(alice.client, { type: 0, targetId: carol.uid, muted: true }));
      const changed = await conversationsPage(alice.client, { count: 200, since: before.position });
      const whole = await conversationsPage(alice.client);
      assert.deepEqual(
        changed.conversations,
        whole.conversations.filter((c) => c.targetId === bob.uid || c.targetId === carol.uid),
      );
      assert.ok(changed.conversations.every((c) => c.lastId > before.position));
      assert.equal(changed.totalUnread, whole.totalUnread);
      assert.equal(changed.totalUnread, 3, "4 unread, carol's muted");
      assert.deepEqual((await conversationsPage(alice.client, { count: 200, since: changed.position })).conversations, []);
    });

    it('lists under since a conversation changed by a read, a read receipt or a revoke, its lastId that event', async () => {
      const [alice, bob, dave] = [await person(chatlog(), 'alice'), await person(chatlog(), 'bob', last()), await person(chatlog(), 'dave')];
      const fromBob = await say(bob.client, alice.uid);
      const toDave = await say(alice.client, dave.uid);
      const aliceBefore = (await conversationsPage(alice.client)).position;
      const bobBefore = (await conversationsPage(bob.client)).position;
      const daveBefore = (await conversationsPage(dave.client)).position;

      await expectOk(markRead(alice.client, 0, bob.uid, fromBob));
      const aliceRead = (await signalsOf(alice.client, SIGNAL_READ)).at(-1)!.sid;
      const bobReceipt = (await signalsOf(bob.client, SIGNAL_READ)).at(-1)!.sid;
      let changed = await conversationsPage(alice.client, { count: 200, since: aliceBefore });
      assert.deepEqual(
        changed.conversations.map((c) => [keyOf(c), c.lastId]),
        [[`0:${bob.uid}`, aliceRead]],
      );
      changed = await conversationsPage(bob.client, { count: 200, since: bobBefore });
      assert.deepEqual(
        changed.conversations.map((c) => [keyOf(c), c.lastId, c.peerReadLogId]),
        [[`0:${alice.uid}`, bobReceipt, String(fromBob)]],
      );

      await expectOk(alice.client.revoke(toDave));
      const revokeId = (await dave.client.syncAll()).at(-1)!.signal!.sid;
      changed = await conversationsPage(dave.client, { count: 200, since: daveBefore });
      assert.deepEqual(
        changed.conversations.map((c) => [keyOf(c), c.lastId]),
        [[`0:${alice.uid}`, revokeId]],
      );
    });

    it("does not take for a change a revoke of a group message from before the caller's join, which is not in their stream", async () => {
      const [owner, bob, carol] = [await person(chatlog(), 'owner'), await person(chatlog(), 'bob'), await person(chatlog(), 'carol')];
      const groupId = await createGroup(owner.client, [bob.uid]);
      const early = await sayInGroup(bob.client, groupId, 'before carol');
      await invite(owner.client, groupId, [carol.uid]);
      const before = await conversationsPage(carol.client);
      const lastId = conversationIn(before, 1, groupId).lastId;
      await expectOk(bob.client.revoke(early, 1));
      assert.equal((await carol.client.syncAll()).at(-1)!.common?.mid, lastId, 'no event for carol');
      assert.equal((await conversationOf(carol.client, 1, groupId)).lastId, lastId);
      assert.deepEqual((await conversationsPage(carol.client, { count: 200, since: before.position })).conversations, []);
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, unknown]> = [
      ['no count', {}],
      ['count 0', { count: 0 }],
      ['count 201', { count: 201 }],
      ['count "10"', { count: '10' }],
      ['count 1.5', { count: 1.5 }],
      ['a cursor that is a number', { count: 10, cursor: 5 }],
      ['a garbage cursor', { count: 10, cursor: 'garbage' }],
      ['a cursor of base64 JSON the server never made', { count: 10, cursor: Buffer.from('{"a":1}').toString('base64url') }],
      ['a cursor of punctuation', { count: 10, cursor: '%%%' }],
      ['since -1', { count: 10, since: -1 }],
      ['since "five"', { count: 10, since: 'five' }],
      ['since true', { count: 10, since: true }],
      ['since 1.5', { count: 10, since: 1.5 }],
      ['since beyond 2^53', { count: 10, since: 2 ** 60 }],
    ];
    for (const [name, body] of cases) {
      it(`rejects ${name} with -1012`, async () => {
        const { client } = await person(chatlog(), 'alice');
        expectError(await listConversations(client, body as Record<string, unknown>), -1012, name);
      });
    }

    it('rejects a body that is not JSON with -1012', async () => {
      const { client } = await person(chatlog(), 'alice');
      expectError(await client.request('/app/record/conversations', { body: '{"count":', contentType: 'application/json' }), -1012);
    });

    it('rejects a caller without a valid token with -1010', async () => {
      const { client } = await person(chatlog(), 'alice');
      expectError(await listConversations(client.as(undefined), { count: 10 }), -1010, 'no token');
      expectError(await listConversations(client.as('not-a-jwt'), { count: 10 }), -1010, 'a bad token');
    });
  });
});
