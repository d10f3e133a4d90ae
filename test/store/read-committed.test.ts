import assert from 'node:assert/strict';
import { ChannelType, JoinType, MuteType, type CommittedBatch, type CommittedEvent, type OutgoingMessage } from '../../src/domain.js';
import { openDatabase } from '../../src/store/database.js';
import { KnexStore } from '../../src/store/knex-store.js';
import { describeOnEngines } from '../helpers/engines.js';

const body = new Uint8Array([10, 1, 120]);
const privateText = (msgId: string, targetId: string): OutgoingMessage => ({ channelType: ChannelType.ToUser, msgId, targetId, msgType: 1, msg: body });
const groupText = (msgId: string, groupId: number): OutgoingMessage => ({
  channelType: ChannelType.ToGroup,
  msgId,
  targetId: String(groupId),
  msgType: 1,
  msg: body,
});

/** What routing an instance takes from a committed event: its id, kind, whom and which group it concerns. */
const routing = ({ id, uids, groupId, membership, event }: CommittedEvent) => ({
  id,
  kind: event?.kind,
  uids: [...(uids ?? [])].sort(),
  groupId,
  membership,
});

describeOnEngines('reading committed events back (an instance that missed their notifications)', (engine) => {
  let store: KnexStore;
  let batches: CommittedBatch[];
  beforeEach(async () => {
    batches = [];
    store = new KnexStore(await openDatabase(await engine.freshDatabase()), { maxBatch: 64, onCommitted: (batch) => batches.push(batch) });
  });
  afterEach(() => store.close());

  it('gives every event with exactly the routing its batch announced, less messages revoked since', async () => {
    const now = 1_000;
    const first = await store.write(async (tx) => tx.queueMessage('alice', privateText('p1', 'bob'), now, ['alice', 'bob']));
    const kept = await store.write(async (tx) => tx.queueMessage('bob', privateText('p2', 'alice'), now, ['bob', 'alice']));
    const settings = { name: 'g', publicName: 'g', avatar: '', introduce: '', joinType: JoinType.Anyone, muteType: MuteType.Everyone, friendType: 0 as const };
    const group = await store.write((tx) =>
      tx.createGroup({ ...settings, ownerId: 'alice', markId: 'm', groupType: 0, key: '0'.repeat(32), createdAt: now }, ['bob', 'carol']),
    );
    const inGroup = await store.write(async (tx) => tx.queueMessage('bob', groupText('g1', group.id), now, []));
    await store.write(async (tx) => {
      await tx.markRevoked(first.mid, 'alice', now);
      await tx.appendMessageEvent({ kind: 'revoke', mid: first.mid, actor: 'alice', data: { operator: 'alice', self: true }, createdAt: now }, [
        'alice',
        'bob',
      ]);
      await tx.appendMessageEvent(
        { kind: 'focus', mid: inGroup.mid, groupId: group.id, actor: 'carol', data: { uid: 'carol', currentNum: 1, time: now }, createdAt: now },
        [],
      );
      await tx.appendUserEvent({ kind: 'received', actor: 'alice', data: { peer: 'alice', mids: [kept.mid], time: now }, createdAt: now }, ['bob']);
      const privateRead = { channelType: ChannelType.ToUser, targetId: 'bob', uid: 'alice', logId: kept.mid, time: now };
      await tx.appendUserEvent({ kind: 'read', actor: 'alice', data: privateRead, createdAt: now }, ['alice', 'bob']);
      const groupRead = { channelType: ChannelType.ToGroup, targetId: String(group.id), uid: 'carol', logId: inGroup.mid, time: now };
      await tx.appendUserEvent({ kind: 'read', actor: 'carol', data: groupRead, createdAt: now }, ['carol']);
      const muted = { channelType: ChannelType.ToGroup, targetId: String(group.id), muted: true, pinned: false, time: now };
      await tx.appendUserEvent({ kind: 'conversation', actor: 'bob', data: muted, createdAt: now }, ['bob']);
      const leftId = await tx.appendGroupEvent({ kind: 'leave', groupId: group.id, actor: 'alice', data: { uids: ['carol'], time: now }, createdAt: now });
      await tx.closeMemberships(group.id, leftId, ['carol']);
    });
    const announced = batches.flatMap((batch) => batch.events).filter((event) => event.id !== first.mid);
    const last = batches.at(-1)!.last;

    const readBack = await store.readCommitted(0, last, 100);
    assert.deepEqual(readBack?.map(routing), announced.map(routing));
    assert.deepEqual(
      readBack?.map((event) => event.event?.kind),
      ['message', 'join', 'message', 'revoke', 'focus', 'received', 'read', 'read', 'conversation', 'leave'],
    );
  });

  it('reads nothing back past its limit: the caller then has every subscriber read its own stream', async () => {
    for (let i = 0; i < 3; i++) await store.write(async (tx) => tx.queueMessage('alice', privateText(`l${i}`, 'bob'), 1, ['alice', 'bob']));
    const last = batches.at(-1)!.last;
    assert.equal(await store.readCommitted(0, last, 2), undefined);
    assert.equal((await store.readCommitted(0, last, 3))?.length, 3);
  });
});
