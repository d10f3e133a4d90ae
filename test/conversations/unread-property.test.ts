import assert from 'node:assert/strict';
import type { MessageRecordFields } from '../../src/contract/index.js';
import type { TestClient } from '../helpers/client.js';
import type { StreamRecord } from '../helpers/wire.js';
import {
  allConversations,
  expectError,
  markRead,
  readStatus,
  setConversation,
  SIGNAL_RECEIVED,
  type Listed,
  type StreamSignal,
} from '../helpers/conversations.js';
import { describeOnEngines } from '../helpers/engines.js';
import { expectOk } from '../helpers/groups.js';
import { uniqueUid, useChatlog, type RunningChatlog } from '../helpers/server.js';
import { SocketClient, type Frame } from '../helpers/ws-client.js';

/**
 * A randomized run against a model: users send private and group messages, revoke, read (older positions too),
 * join and leave groups, change settings, acknowledge and reconnect their /ws sockets, through every instance.
 * At checkpoints every user's conversations are compared with a recount from the log the test kept and from
 * what the user can read (history), and every device's stream with sync-record and with the events the model
 * expects. CONVERSATION_SEEDS=1,2,3 and CONVERSATION_STEPS=200 replay or lengthen a run (receipts come
 * asynchronously, so ids may differ between replays); CONVERSATION_LOG=1 prints every step of a failing run.
 */
const SEEDS = (process.env.CONVERSATION_SEEDS ?? '11,23,37').split(',').map(Number);
const STEPS = Number(process.env.CONVERSATION_STEPS ?? 60);
const CHECK_EVERY = 20;
const USERS = 5;
/** Devices per user: users 0 and 2 have two. */
const DEVICES = [2, 1, 2, 1, 1];

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed from its seed. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)]!, chance: (p: number): boolean => next() < p };
}

interface Msg {
  mid: number;
  channel: 0 | 1;
  from: string;
  /** The receiver's uid, or the group id in decimal. */
  target: string;
  msgType: number;
  mentions: string[];
  /** Sent by the test (not a group notice the server wrote). */
  pushed: boolean;
  revoked: boolean;
  /** A socket of the receiver that was sent it acknowledged it (private only). */
  acked: boolean;
  /**
   * A socket of the receiver acknowledged an id at or past it that had not been sent it (an earlier socket of
   * the device had): whether that counts as delivered is left open.
   */
  mayBeAcked?: boolean;
}

interface Group {
  id: number;
  owner: string;
  /** Current members: uid to the first id of their stay's window (the notice of their join). */
  members: Map<string, number>;
  /** Earlier stays: [first id, leave notice id]. */
  past: Map<string, Array<[number, number]>>;
}

interface Settings {
  muted: boolean;
  pinned: boolean;
}

/**
 * One reading of what the spec leaves open; the run keeps the readings the server has matched so far. Only one
 * point is open: whether the notice a membership change writes in the name of the member who made it moves
 * that member's read position the way a message they send does.
 */
interface World {
  name: string;
  noticeMovesRead: boolean;
  /** Each user's expected stream, as labels (no delivery receipts: they come asynchronously). */
  streams: Map<string, string[]>;
}

interface Device {
  uid: string;
  name: string;
  socket: SocketClient;
  /** The events of the device's earlier sockets. */
  earlier: Frame[];
}

const keyOfConversation = (channel: 0 | 1, target: string): string => `${channel}:${target}`;

/** A frame as a label the model can predict; null for a delivery receipt. */
function labelOf(frame: Frame): string | null {
  switch (frame.type) {
    case 'message':
      return `msg:${(frame.record as { logId: string }).logId}`;
    case 'revoke':
      return `revoke:${frame.logId as string}`;
    case 'read':
      return `read:${frame.channelType as number}:${frame.targetId as string}:${frame.uid as string}:${frame.logId as string}`;
    case 'conversation':
      return `conv:${frame.channelType as number}:${frame.targetId as string}:${String(frame.muted)}:${String(frame.pinned)}`;
    case 'group':
      return `group:${frame.event as string}:${frame.groupId as number}:${(frame.uids as string[]).join(',')}`;
    case 'delivered':
      return null;
    default:
      return `unexpected:${frame.type}`;
  }
}

/** A sync-record entry as the label of its /ws frame; null for a delivery receipt. */
function labelOfRecord(record: StreamRecord): string | null {
  if (record.common) return `msg:${record.common.mid}`;
  const signal = record.signal as StreamSignal & StreamRecord['signal'] & object;
  if (signal.revoke) return `revoke:${signal.revoke.mid}`;
  if (signal.read) return `read:${signal.read.channelType}:${signal.read.target}:${signal.read.uid}:${signal.read.mid}`;
  if (signal.conversation)
    return `conv:${signal.conversation.channelType}:${signal.conversation.target}:${signal.conversation.muted}:${signal.conversation.pinned}`;
  if (signal.join) return `group:join:${signal.join.group}:${signal.join.uid.join(',')}`;
  if (signal.leave) return `group:leave:${signal.leave.group}:${signal.leave.uid.join(',')}`;
  if (signal.type === SIGNAL_RECEIVED) return null;
  return `unexpected signal ${signal.type}`;
}

/** The frame type a sync-record entry stands for. */
function typeOfRecord(record: { common?: unknown; signal?: { type: number } }): string {
  if (record.common) return 'message';
  const types: Record<number, string> = {
    0: 'delivered',
    1: 'revoke',
    10: 'group',
    11: 'group',
    12: 'group',
    13: 'focus',
    23: 'group',
    100: 'read',
    101: 'conversation',
  };
  return types[record.signal!.type] ?? `signal ${record.signal!.type}`;
}

class Run {
  readonly rng: ReturnType<typeof prng>;
  readonly uids: string[];
  readonly msgs: Msg[] = [];
  readonly byMid = new Map<number, Msg>();
  readonly groups: Group[] = [];
  readonly settings = new Map<string, Settings>();
  /** The highest logId each user's read of each conversation was accepted with. */
  readonly reads = new Map<string, number>();
  worlds: World[];
  readonly devices: Device[] = [];
  private clients = new Map<string, TestClient[]>();
  /** Each user's listing position at the last checkpoint. */
  private positions = new Map<string, number>();
  readonly log: string[] = [];
  /** Which readings of the spec the server was seen not to follow, and why. */
  readonly notes: string[] = [];
  /** What the check that failed was about. */
  failing: string | undefined;
  /** Messages revoked after their ack whose possible receipt the run has waited for once. */
  private readonly waitedFor = new Set<number>();

  constructor(
    readonly chatlog: RunningChatlog,
    readonly seed: number,
  ) {
    this.rng = prng(seed);
    const tag = uniqueUid(`s${seed}`);
    this.uids = Array.from({ length: USERS }, (_, i) => `${tag}-u${i}`);
    this.worlds = [false, true].map((noticeMovesRead) => ({
      name: noticeMovesRead ? 'a member’s own notices move their read position' : 'only messages sent move the read position',
      noticeMovesRead,
      streams: new Map(this.uids.map((uid) => [uid, []])),
    }));
  }

  async start(): Promise<void> {
    for (const uid of this.uids) {
      const clients = [];
      for (let i = 0; i < this.chatlog.urls.length; i++) clients.push(await this.chatlog.client(uid, i));
      this.clients.set(uid, clients);
    }
    for (const [i, uid] of this.uids.entries()) {
      for (let d = 0; d < DEVICES[i]!; d++) {
        this.devices.push({ uid, name: `${uid}#${d}`, socket: await this.connect(uid, 0), earlier: [] });
      }
    }
    const [u0, u1, u2, u3, u4] = this.uids as [string, string, string, string, string];
    await this.createGroup(u0, [u1, u2]);
    await this.createGroup(u1, [u2, u3, u4]);
  }

  /** A client of `uid` on a random instance. */
  client(uid: string): TestClient {
    const clients = this.clients.get(uid)!;
    return clients[this.rng.int(clients.length)]!;
  }

  async connect(uid: string, since: number): Promise<SocketClient> {
    const instance = this.rng.int(this.chatlog.urls.length);
    const socket = await SocketClient.connect(this.chatlog.urls[instance]!, this.clients.get(uid)![0]!.token!, { since });
    await socket.untilReady();
    return socket;
  }

  emit(uids: Iterable<string>, label: string | ((world: World) => string | null), worlds = this.worlds): void {
    for (const world of worlds) {
      const text = typeof label === 'string' ? label : label(world);
      if (text === null) continue;
      for (const uid of uids) world.streams.get(uid)!.push(text);
    }
  }

  // The model.

  conversationOf(msg: Msg, uid: string): string {
    if (msg.channel === 1) return keyOfConversation(1, msg.target);
    return keyOfConversation(0, msg.from === uid ? msg.target : msg.from);
  }

  /** The messages of the conversation `key` of `uid`, in id order; for a group, those of the current stay. */
  messagesOf(uid: string, key: string): Msg[] {
    const [channel, target] = [Number(key[0]), key.slice(2)];
    if (channel === 0) {
      return this.msgs.filter((m) => m.channel === 0 && ((m.from === uid && m.target === target) || (m.from === target && m.target === uid)));
    }
    const start = this.groupById(Number(target)).members.get(uid);
    if (start === undefined) return [];
    return this.msgs.filter((m) => m.channel === 1 && m.target === target && m.mid >= start);
  }

  groupById(id: number): Group {
    return this.groups.find((group) => group.id === id)!;
  }

  readPosition(world: World, uid: string, key: string): number {
    let position = this.reads.get(`${uid}|${key}`) ?? 0;
    const [channel, target] = [Number(key[0]), key.slice(2)];
    for (const m of this.msgs) {
      if (m.from !== uid || m.channel !== channel) continue;
      if (this.conversationOf(m, uid) !== keyOfConversation(channel as 0 | 1, target)) continue;
      if (m.pushed || world.noticeMovesRead) position = Math.max(position, m.mid);
    }
    return position;
  }

  unread(world: World, uid: string, key: string): { unread: number; mentions: number } {
    const position = this.readPosition(world, uid, key);
    const counted = this.messagesOf(uid, key).filter((m) => m.from !== uid && !m.revoked && m.mid > position);
    return { unread: counted.length, mentions: counted.filter((m) => m.msgType === 1 && m.mentions.includes(uid)).length };
  }

  settingsOf(uid: string, key: string): Settings {
    return this.settings.get(`${uid}|${key}`) ?? { muted: false, pinned: false };
  }

  /** The keys of the conversations `uid` has: peers they exchanged a message with or set a setting for, groups they are in. */
  keysOf(uid: string): string[] {
    const keys = new Set<string>();
    for (const m of this.msgs) if (m.channel === 0 && (m.from === uid || m.target === uid)) keys.add(this.conversationOf(m, uid));
    for (const key of this.settings.keys()) if (key.startsWith(`${uid}|0:`)) keys.add(key.slice(uid.length + 1));
    for (const group of this.groups) if (group.members.has(uid)) keys.add(keyOfConversation(1, String(group.id)));
    return [...keys];
  }

  /** The listing the model expects, in order, with lastMessage as its logId. */
  expectedListing(world: World, uid: string) {
    const rows = this.keysOf(uid).map((key) => {
      const messages = this.messagesOf(uid, key);
      const newest = messages.filter((m) => !m.revoked).at(-1);
      const activity = messages.at(-1)?.mid ?? 0;
      const channel = Number(key[0]) as 0 | 1;
      const target = key.slice(2);
      const { muted, pinned } = this.settingsOf(uid, key);
      return {
        activity,
        row: {
          type: channel,
          targetId: target,
          lastMessage: newest === undefined ? null : `${newest.mid} from ${newest.from}`,
          ...this.unread(world, uid, key),
          readLogId: String(this.readPosition(world, uid, key)),
          ...(channel === 0 && { peerReadLogId: String(this.readPosition(world, target, keyOfConversation(0, uid))) }),
          muted,
          pinned,
        },
      };
    });
    rows.sort((a, b) => Number(b.row.pinned) - Number(a.row.pinned) || b.activity - a.activity);
    const conversations = rows.map(({ row }) => row);
    return { conversations, totalUnread: conversations.filter((c) => !c.muted).reduce((sum, c) => sum + c.unread, 0) };
  }

  /** Keeps the worlds in which `check` holds; when none is left, fails with the first world's assertion. */
  async keepWorlds(what: string, check: (world: World) => void | Promise<void>): Promise<void> {
    const kept: World[] = [];
    let firstError: unknown;
    for (const world of this.worlds) {
      try {
        await check(world);
        kept.push(world);
      } catch (err) {
        firstError ??= err;
      }
    }
    for (const world of this.worlds) {
      if (!kept.includes(world)) this.notes.push(`after step ${this.log.length}, ${what} rule out "${world.name}"`);
    }
    if (kept.length === 0) {
      const err = firstError instanceof Error ? firstError : new Error(String(firstError));
      err.message = `${what}: ${err.message}`;
      this.failing = `${what} [${this.worlds.map((w) => w.name).join(' / ')}]`;
      throw err;
    }
    this.worlds = kept;
  }

  // The steps.

  async createGroup(owner: string, members: string[]): Promise<void> {
    const created = await expectOk(this.client(owner).post<{ id: number }>('/group/app/create-group', { name: 'team', memberIds: members }));
    const group: Group = { id: created.id, owner, members: new Map(), past: new Map() };
    this.groups.push(group);
    const all = [owner, ...members];
    this.emit(all, `group:join:${group.id}:${all.join(',')}`);
    const notice = await this.noticeOf(group, owner);
    for (const uid of all) group.members.set(uid, notice.mid);
    this.emit(all, `msg:${notice.mid}`);
  }

  /** The notice a membership change just wrote, read from the owner's history, added to the log. */
  async noticeOf(group: Group, from: string): Promise<Msg> {
    const { records } = await expectOk(
      this.client(group.owner).post<{ records: MessageRecordFields[] }>('/app/record/group-chat-record', { groupId: group.id, count: 1 }),
    );
    const record = records[0]!;
    assert.equal(record.msgType, 7, 'the newest group message after a membership change is its notice');
    assert.equal(record.fromId, from, 'a notice is in the name of the member who made the change');
    const notice: Msg = {
      mid: Number(record.logId),
      channel: 1,
      from,
      target: String(group.id),
      msgType: 7,
      mentions: [],
      pushed: false,
      revoked: false,
      acked: false,
    };
    this.add(notice);
    return notice;
  }

  add(msg: Msg): void {
    assert.ok(this.msgs.length === 0 || msg.mid > this.msgs.at(-1)!.mid, 'logIds grow');
    this.msgs.push(msg);
    this.byMid.set(msg.mid, msg);
  }

  mentionsFor(candidates: string[]): string[] {
    if (!this.rng.chance(0.35)) return [];
    return [...new Set(candidates)].filter(() => this.rng.chance(0.5));
  }

  async push(from: string, channel: 0 | 1, target: string, mentions: string[]): Promise<Msg> {
    const image = this.rng.chance(0.1);
    const reply = await this.client(from).pushJson({
      channelType: channel,
      msgId: `p-${this.rng.int(2 ** 30).toString(36)}-${this.msgs.length}`,
      targetId: target,
      msgType: image ? 3 : 1,
      content: image ? { mediaUrl: 'https://x/y.png', height: 2, width: 3 } : { content: 'hi', ...(mentions.length > 0 && { mention: mentions }) },
    });
    assert.equal(reply.result, 0, reply.message);
    const msg: Msg = {
      mid: reply.data.logId,
      channel,
      from,
      target,
      msgType: image ? 3 : 1,
      mentions: image ? [] : mentions,
      pushed: true,
      revoked: false,
      acked: false,
    };
    this.add(msg);
    return msg;
  }

  async privateSend(): Promise<void> {
    const from = this.rng.pick(this.uids);
    const to = this.rng.pick(this.uids.filter((uid) => uid !== from));
    const msg = await this.push(from, 0, to, this.mentionsFor([to, this.rng.pick(this.uids)]));
    this.log.push(`${from} -> ${to}: ${msg.mid}${msg.mentions.length ? ` @${msg.mentions.join(',')}` : ''}`);
    this.emit([from, to], `msg:${msg.mid}`);
  }

  async groupSend(): Promise<void> {
    const group = this.rng.pick(this.groups);
    const members = [...group.members.keys()];
    const from = this.rng.pick(members);
    const msg = await this.push(from, 1, String(group.id), this.mentionsFor(members.filter((uid) => uid !== from)));
    this.log.push(`${from} -> group ${group.id}: ${msg.mid}${msg.mentions.length ? ` @${msg.mentions.join(',')}` : ''}`);
    this.emit(members, `msg:${msg.mid}`);
  }

  async revoke(): Promise<void> {
    // A sender their own message (a group one while still in the group), or a group owner any message sent in it.
    const candidates = this.msgs.filter((m) => {
      if (!m.pushed) return false;
      if (m.channel === 0) return true;
      return this.groupById(Number(m.target)).members.has(m.from);
    });
    if (candidates.length === 0) return;
    const msg = this.rng.pick(candidates);
    const operator = msg.channel === 1 && this.rng.chance(0.3) ? this.groupById(Number(msg.target)).owner : msg.from;
    await expectOk(this.client(operator).revoke(msg.mid, msg.channel));
    this.log.push(`${operator} revokes ${msg.mid}${msg.revoked ? ' again' : ''}`);
    if (msg.revoked) return;
    msg.revoked = true;
    // A group revoke reaches the current members whose stay began before the message (the others never had it).
    const audience =
      msg.channel === 0 ? [msg.from, msg.target] : [...this.groupById(Number(msg.target)).members].filter(([, start]) => start <= msg.mid).map(([uid]) => uid);
    this.emit(audience, `revoke:${msg.mid}`);
  }

  async read(): Promise<void> {
    const uid = this.rng.pick(this.uids);
    const keys = this.keysOf(uid);
    const key = keys.length > 0 && this.rng.chance(0.9) ? this.rng.pick(keys) : keyOfConversation(0, this.rng.pick(this.uids.filter((u) => u !== uid)));
    const [channel, target] = [Number(key[0]) as 0 | 1, key.slice(2)];
    const visible = this.messagesOf(uid, key);
    const invisible = this.msgs.filter((m) => !this.everVisible(uid, key, m));
    const valid = visible.length > 0 && this.rng.chance(0.88);
    if (!valid && invisible.length === 0) return;
    const msg = valid ? this.pickOlderOften(visible) : this.rng.pick(invisible);
    const logId = this.rng.chance(0.3) ? String(msg.mid) : msg.mid;
    const reply = await markRead(this.client(uid), channel, target, logId);
    this.log.push(`${uid} reads ${key} up to ${msg.mid}${valid ? '' : ' (not theirs)'}`);
    if (!valid) {
      expectError(reply, -1007, `${uid} reads ${msg.mid} in ${key}`);
      return;
    }
    assert.equal(reply.result, 0, reply.message);
    const moved = new Map(this.worlds.map((world) => [world, msg.mid > this.readPosition(world, uid, key)]));
    this.reads.set(`${uid}|${key}`, Math.max(this.reads.get(`${uid}|${key}`) ?? 0, msg.mid));
    const label = `read:${channel}:${target}:${uid}:${msg.mid}`;
    this.emit(channel === 0 ? [uid, target] : [uid], (world) => (moved.get(world) ? label : null));
    await this.keepWorlds(`the answer to ${uid} reading ${key} up to ${msg.mid}`, (world) => {
      assert.deepEqual(reply.data, { unread: this.unread(world, uid, key).unread });
    });
  }

  /** Whether `m` is a message of `uid`'s conversation `key` in one of their stays (for a group). */
  everVisible(uid: string, key: string, m: Msg): boolean {
    if (this.conversationOf(m, uid) !== key) return false;
    if (m.channel === 0) return m.from === uid || m.target === uid;
    const group = this.groupById(Number(m.target));
    const start = group.members.get(uid);
    if (start === undefined) return false;
    if (m.mid >= start) return true;
    // A message of an earlier stay: whether it may still be read is left open; the run does not try.
    return (group.past.get(uid) ?? []).some(([first, end]) => m.mid >= first && m.mid <= end);
  }

  /** Mostly one of the newest, often an older one. */
  pickOlderOften<T>(items: T[]): T {
    if (this.rng.chance(0.5)) return items[items.length - 1 - this.rng.int(Math.min(3, items.length))]!;
    return this.rng.pick(items);
  }

  async join(): Promise<void> {
    const group = this.rng.pick(this.groups);
    const outside = this.uids.filter((uid) => !group.members.has(uid));
    if (outside.length === 0) return;
    const uid = this.rng.pick(outside);
    const inviter = this.rng.pick([...group.members.keys()]);
    await expectOk(this.client(inviter).post('/group/app/invite-group-members', { id: group.id, newMemberIds: [uid] }));
    this.log.push(`${inviter} invites ${uid} to ${group.id}`);
    const members = [...group.members.keys(), uid];
    this.emit(members, `group:join:${group.id}:${uid}`);
    const notice = await this.noticeOf(group, inviter);
    group.members.set(uid, notice.mid);
    this.emit(members, `msg:${notice.mid}`);
  }

  async leave(): Promise<void> {
    const group = this.rng.pick(this.groups);
    // Whether settings survive a stay is left open: those who set one for the group stay in it.
    const leavers = [...group.members.keys()].filter((uid) => uid !== group.owner && !this.settings.has(`${uid}|1:${group.id}`));
    if (leavers.length === 0) return;
    const uid = this.rng.pick(leavers);
    const removed = this.rng.chance(0.5);
    if (removed) await expectOk(this.client(group.owner).post('/group/app/group-remove', { id: group.id, memberIds: [uid] }));
    else await expectOk(this.client(uid).post('/group/app/group-exit', { id: group.id }));
    this.log.push(`${uid} ${removed ? 'is removed from' : 'exits'} ${group.id}`);
    const members = [...group.members.keys()];
    const notice = await this.noticeOf(group, removed ? group.owner : uid);
    this.emit(members, `msg:${notice.mid}`);
    this.emit(members, `group:leave:${group.id}:${uid}`);
    group.past.set(uid, [...(group.past.get(uid) ?? []), [group.members.get(uid)!, notice.mid]]);
    group.members.delete(uid);
  }

  async setting(): Promise<void> {
    const uid = this.rng.pick(this.uids);
    // Conversations with an activity: the order of one without messages is left open.
    const keys = this.keysOf(uid).filter((key) => this.messagesOf(uid, key).length > 0);
    if (keys.length === 0) return;
    const key = this.rng.pick(keys);
    const [channel, target] = [Number(key[0]) as 0 | 1, key.slice(2)];
    const state = { ...this.settingsOf(uid, key) };
    const field = this.rng.chance(0.5) ? 'muted' : 'pinned';
    state[field] = !state[field];
    await expectOk(setConversation(this.client(uid), { type: channel, targetId: target, [field]: state[field] }));
    this.log.push(`${uid} sets ${field} ${state[field]} on ${key}`);
    this.settings.set(`${uid}|${key}`, state);
    this.emit([uid], `conv:${channel}:${target}:${state.muted}:${state.pinned}`);
  }

  async reconnect(): Promise<void> {
    const device = this.rng.pick(this.devices);
    const events = [...device.earlier, ...device.socket.events];
    assert.deepEqual(
      device.socket.frames.filter((frame) => frame.type === 'error'),
      [],
      `${device.name}: no error frame`,
    );
    await device.socket.close();
    const since = events.at(-1)?.id ?? 0;
    device.earlier = events;
    device.socket = await this.connect(device.uid, since);
    this.log.push(`${device.name} reconnects since ${since}`);
  }

  async ack(): Promise<void> {
    const device = this.rng.pick(this.devices);
    const last = [...device.earlier, ...device.socket.events].at(-1)?.id;
    if (last === undefined) return;
    device.socket.send(JSON.stringify({ type: 'ack', id: last }));
    this.log.push(`${device.name} acks ${last}`);
    // The messages this socket was sent up to `last` are delivered. The device has had every event up to there,
    // but whether an ack on one socket covers what an earlier one was sent is left open.
    const sent = new Set(device.socket.events.filter((frame) => frame.type === 'message').map((frame) => frame.id));
    for (const m of this.msgs) {
      if (m.channel !== 0 || m.target !== device.uid || m.mid > last) continue;
      if (sent.has(m.mid)) m.acked = true;
      else m.mayBeAcked = true;
    }
  }

  async step(): Promise<void> {
    const roll = this.rng.next();
    if (roll < 0.24) return this.privateSend();
    if (roll < 0.42) return this.groupSend();
    if (roll < 0.5) return this.revoke();
    if (roll < 0.7) return this.read();
    if (roll < 0.76) return this.join();
    if (roll < 0.81) return this.leave();
    if (roll < 0.87) return this.setting();
    if (roll < 0.93) return this.reconnect();
    return this.ack();
  }

  // The checks.

  async checkpoint(): Promise<void> {
    await this.awaitReceipts();
    const streams = await this.awaitDevices();
    await this.checkStreams(streams);
    for (const uid of this.uids) await this.checkConversations(uid, streams.get(uid)!);
    await this.checkReadStatus();
  }

  /** Waits until every sender has a receipt for each of their messages acknowledged (and not revoked since). */
  async awaitReceipts(): Promise<void> {
    // Receipts for messages revoked after their ack may come or not: give them time to come before counting.
    const maybe = this.msgs.filter((m) => m.acked && m.revoked && !this.waitedFor.has(m.mid));
    if (maybe.length > 0) {
      const got = new Set((await Promise.all(this.uids.map((uid) => this.receiptsOf(uid)))).flat());
      if (maybe.some((m) => !got.has(m.mid))) await new Promise((resolve) => setTimeout(resolve, 1_200));
      for (const m of maybe) this.waitedFor.add(m.mid);
    }
    const deadline = Date.now() + 5_000;
    for (const sender of this.uids) {
      const expected = this.msgs.filter((m) => m.from === sender && m.acked && !m.revoked).map((m) => m.mid);
      for (;;) {
        const delivered = new Set(await this.receiptsOf(sender));
        const missing = expected.filter((mid) => !delivered.has(mid));
        if (missing.length === 0) break;
        if (Date.now() > deadline) assert.fail(`${sender} got no delivery receipt for ${missing.join(', ')} (acknowledged by their receivers)`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async receiptsOf(uid: string): Promise<number[]> {
    return (await this.client(uid).syncAll()).flatMap((record) => (record.signal?.type === SIGNAL_RECEIVED ? (record.signal.received?.logs ?? []) : []));
  }

  /** Waits until every open socket has every event of its user's stream; resolves with the streams. */
  async awaitDevices() {
    const streams = new Map<string, Awaited<ReturnType<TestClient['syncAll']>>>();
    for (const uid of this.uids) {
      for (let round = 0; ; round++) {
        const records = await this.client(uid).syncAll();
        const lastId = records.map((r) => r.common?.mid ?? r.signal!.sid).at(-1) ?? 0;
        for (const device of this.devices.filter((d) => d.uid === uid)) {
          await device.socket.until(
            () => ([...device.earlier, ...device.socket.events].at(-1)?.id ?? 0) >= lastId,
            10_000,
            `${device.name} to reach ${lastId}`,
          );
        }
        const again = await this.client(uid).syncAll();
        if (again.length === records.length || round > 5) {
          streams.set(uid, again);
          break;
        }
      }
    }
    return streams;
  }

  async checkStreams(streams: Map<string, Awaited<ReturnType<TestClient['syncAll']>>>): Promise<void> {
    for (const device of this.devices) {
      const events = [...device.earlier, ...device.socket.events];
      const ids = events.map((frame) => frame.id!);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `${device.name}: every event once, in order (${ids[i - 1]} then ${ids[i]})`);
      assert.deepEqual(
        device.socket.frames.filter((frame) => frame.type === 'error'),
        [],
        `${device.name}: no error frame`,
      );
      // A message revoked before a replay is not replayed; one the socket had live stays in what it got.
      const revoked = (frame: Frame) => frame.type === 'message' && this.byMid.get(frame.id!)?.revoked === true;
      const records = streams.get(device.uid)!;
      assert.deepEqual(
        events.filter((frame) => !revoked(frame)).map((frame) => `${frame.type}@${frame.id}`),
        records.map((record) => `${typeOfRecord(record)}@${record.common?.mid ?? record.signal!.sid}`),
        `${device.name}: the /ws stream is the sync-record stream`,
      );
      const receipts = events.filter((frame) => frame.type === 'delivered').map((frame) => (frame.logIds as string[]).map(Number));
      const signals = records.filter((record) => record.signal?.type === SIGNAL_RECEIVED).map((record) => record.signal!.received?.logs);
      assert.deepEqual(receipts, signals, `${device.name}: the delivered frames are the Received signals`);
      const labels = events.filter((frame) => !revoked(frame)).flatMap((frame) => labelOf(frame) ?? []);
      assert.deepEqual(
        labels,
        records.flatMap((record) => labelOfRecord(record) ?? []),
        `${device.name}: the /ws frames say what the sync-record entries say`,
      );
      await this.keepWorlds(`${device.name}'s events`, (world) => {
        const expected = world.streams.get(device.uid)!.filter((label) => !(label.startsWith('msg:') && this.byMid.get(Number(label.slice(4)))?.revoked));
        assert.deepEqual(labels, expected);
      });
    }
    for (const sender of this.uids) {
      const receipts = await this.receiptsOf(sender);
      assert.equal(new Set(receipts).size, receipts.length, `${sender}: each message delivered once (${receipts.join(', ')})`);
      for (const mid of receipts) {
        const msg = this.byMid.get(mid);
        assert.ok(
          msg && msg.channel === 0 && msg.from === sender && (msg.acked || msg.mayBeAcked),
          `${sender}: a receipt for ${mid}, not a private message of theirs acknowledged by its receiver`,
        );
      }
    }
  }

  async checkConversations(uid: string, records: Awaited<ReturnType<TestClient['syncAll']>>): Promise<void> {
    const client = this.client(uid);
    const full = await allConversations(client);
    const paged = await allConversations(this.client(uid), 1 + this.rng.int(3));
    assert.deepEqual(paged.conversations, full.conversations, `${uid}: pages cover every conversation once, in order`);
    for (const page of paged.pages) {
      assert.equal(page.totalUnread, paged.totalUnread, `${uid}: totalUnread on every page`);
      assert.equal(page.position, paged.position, `${uid}: one position for the pages of a listing`);
    }
    const got = {
      conversations: full.conversations.map(({ lastId: _lastId, lastMessage, ...rest }) => ({
        ...rest,
        lastMessage: lastMessage === null ? null : `${lastMessage.logId} from ${lastMessage.fromId}`,
      })),
      totalUnread: full.totalUnread,
    };
    await this.keepWorlds(`${uid}'s conversations`, (world) => assert.deepEqual(got, this.expectedListing(world, uid)));

    // lastId: the newest event of the conversation in the user's stream. Whether a delivery receipt, or another
    // member's join or leave, counts as a change of the conversation is left open: any of those readings passes.
    const events = records.map((record) => ({ id: record.common?.mid ?? record.signal!.sid, key: this.keyOfRecord(uid, record), type: typeOfRecord(record) }));
    for (const conversation of full.conversations) {
      const key = `${conversation.type}:${conversation.targetId}`;
      const mine = events.filter((event) => event.key === key);
      const newest = (skip: (type: string) => boolean) => Math.max(0, ...mine.filter((event) => !skip(event.type)).map((event) => event.id));
      const readings = new Set([
        newest(() => false),
        newest((t) => t === 'delivered'),
        newest((t) => t === 'group'),
        newest((t) => t === 'delivered' || t === 'group'),
      ]);
      if (!readings.has(conversation.lastId)) {
        assert.fail(
          `${uid}: lastId ${conversation.lastId} of ${key} is the id of its newest event (${[...readings].join(' or ')}); ` +
            `${conversation.lastId} is ${await this.describeEvent(conversation.lastId)}`,
        );
      }
      assert.ok(full.position >= conversation.lastId, `${uid}: position ${full.position} is as of the answer (lastId ${conversation.lastId})`);
    }
    const previous = this.positions.get(uid);
    if (previous !== undefined) {
      const changed = await allConversations(this.client(uid), 1 + this.rng.int(3), previous);
      assert.deepEqual(
        changed.conversations,
        full.conversations.filter((c) => c.lastId > previous),
        `${uid}: since ${previous} gives the conversations changed after it`,
      );
      assert.equal(changed.totalUnread, full.totalUnread, `${uid}: totalUnread under since is the total`);
    }
    this.positions.set(uid, full.position);
    for (const conversation of full.conversations) await this.recountFromHistory(uid, conversation);
  }

  /** What the event `id` is, from the streams it is in (for failure messages). */
  async describeEvent(id: number): Promise<string> {
    const found: string[] = [];
    for (const uid of this.uids) {
      const record = (await this.client(uid).syncAll()).find((r) => (r.common?.mid ?? r.signal!.sid) === id);
      if (record) found.push(`${labelOfRecord(record) ?? 'a receipt'} in the stream of ${uid}`);
    }
    const msg = this.byMid.get(id);
    if (msg) found.push(`message ${JSON.stringify(msg)}`);
    return found.length > 0 ? found.join('; ') : 'in no stream';
  }

  /** The conversation a sync-record entry belongs to for `uid`. */
  keyOfRecord(uid: string, record: Awaited<ReturnType<TestClient['syncAll']>>[number]): string | undefined {
    if (record.common) {
      const { channelType, from, target } = record.common;
      return channelType === 1 ? `1:${target}` : `0:${from === uid ? target : from}`;
    }
    const signal = record.signal!;
    if (signal.revoke) {
      const msg = this.byMid.get(signal.revoke.mid);
      return msg && this.conversationOf(msg, uid);
    }
    if (signal.received) {
      const msg = this.byMid.get(signal.received.logs[0]!);
      return msg && this.conversationOf(msg, uid);
    }
    if (signal.join) return `1:${signal.join.group}`;
    if (signal.leave) return `1:${signal.leave.group}`;
    const { read, conversation } = signal as StreamSignal;
    if (read) return read.channelType === 1 ? `1:${read.target}` : `0:${read.uid === uid ? read.target : read.uid}`;
    if (conversation) return `${conversation.channelType}:${conversation.target}`;
    return undefined;
  }

  /** The counts again, from what the user can read: their history of the conversation. */
  async recountFromHistory(uid: string, conversation: Listed): Promise<void> {
    const records: MessageRecordFields[] = [];
    const path = conversation.type === 0 ? '/app/record/pri-chat-record' : '/app/record/group-chat-record';
    for (;;) {
      const body = {
        ...(conversation.type === 0 ? { targetId: conversation.targetId } : { groupId: conversation.targetId }),
        count: 100,
        ...(records.length > 0 && { logId: records.at(-1)!.logId }),
      };
      const page = await expectOk(this.client(uid).post<{ records: MessageRecordFields[] }>(path, body));
      records.push(...page.records);
      if (page.records.length < 100) break;
    }
    const what = `${uid}'s ${conversation.type}:${conversation.targetId}`;
    const read = Number(conversation.readLogId);
    const unread = records.filter((r) => r.fromId !== uid && Number(r.logId) > read);
    assert.equal(conversation.unread, unread.length, `${what}: unread recounted from history after ${read}`);
    const mentioned = unread.filter((r) => r.msgType === 1 && ((r.content as { mention?: string[] } | null)?.mention ?? []).includes(uid));
    assert.equal(conversation.mentions, mentioned.length, `${what}: mentions recounted from history`);
    assert.deepEqual(conversation.lastMessage, records[0] ?? null, `${what}: lastMessage is the newest record of its history`);
    assert.deepEqual(
      records.map((r) => Number(r.logId)).reverse(),
      this.messagesOf(uid, `${conversation.type}:${conversation.targetId}`)
        .filter((m) => !m.revoked)
        .map((m) => m.mid),
      `${what}: the history is the model's log`,
    );
  }

  async checkReadStatus(): Promise<void> {
    for (const group of this.groups) {
      const logs = this.msgs.filter((m) => m.channel === 1 && m.target === String(group.id) && m.mid >= group.members.get(group.owner)!);
      if (logs.length === 0) continue;
      const asked = Array.from({ length: Math.min(5, logs.length) }, () => this.rng.pick(logs).mid);
      const { items } = await expectOk(readStatus(this.client(group.owner), { type: 1, groupId: group.id, logIds: asked, members: true }));
      const got = items.map((item) => ({ ...item, readers: [...(item.readers ?? [])].sort() }));
      await this.keepWorlds(`read status in group ${group.id}`, (world) => {
        const expected = asked.map((mid) => {
          const msg = this.byMid.get(mid)!;
          const counted = [...group.members].filter(([uid, start]) => uid !== msg.from && start <= mid).map(([uid]) => uid);
          const readers = counted.filter((uid) => this.readPosition(world, uid, `1:${group.id}`) >= mid).sort();
          return { logId: String(mid), readCount: readers.length, memberCount: counted.length, readers };
        });
        assert.deepEqual(got, expected);
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((device) => device.socket.close()));
  }
}

describeOnEngines('conversations: unread counts against a model', (engine) => {
  const chatlog = useChatlog(engine, {}, engine.instances);

  for (const seed of SEEDS) {
    it(`keeps every count, read position and stream equal to a recount (seed ${seed}, ${STEPS} steps)`, async function () {
      this.timeout(120_000);
      const run = new Run(chatlog(), seed);
      let step = 0;
      try {
        await run.start();
        for (step = 1; step <= STEPS; step++) {
          await run.step();
          if (step % CHECK_EVERY === 0 || step === STEPS) await run.checkpoint();
        }
      } catch (err) {
        const steps = process.env.CONVERSATION_LOG === '1' ? run.log : run.log.slice(-8);
        console.log(
          `      seed ${seed} failed at step ${step} (replay: CONVERSATION_SEEDS=${seed}); ${run.failing ?? ''}\n` +
            `      ${run.notes.join('\n      ')}\n      steps:\n        ${steps.join('\n        ')}`,
        );
        throw err;
      } finally {
        await run.close();
      }
    });
  }
});
