import assert from 'node:assert/strict';
import type {
  Conversation,
  ConversationSettingsRequest,
  ConversationsPage,
  MessageRecordFields,
  ReadResult,
  ReadStatusResult,
} from '../../src/contract/index.js';
import type { Reply, TestClient } from './client.js';
import { expectOk } from './groups.js';
import { uniqueUid, type RunningChatlog } from './server.js';
import { SocketClient, type Frame } from './ws-client.js';

/** A user and a client acting as them. */
export interface Person {
  uid: string;
  client: TestClient;
}

/** A new user (a uid no other test uses) talking to instance `instance`. */
export async function person(chatlog: RunningChatlog, name: string, instance = 0): Promise<Person> {
  const uid = uniqueUid(name);
  return { uid, client: await chatlog.client(uid, instance) };
}

/** Several people on instance 0, in the order named. */
export function people(chatlog: RunningChatlog, ...names: string[]): Promise<Person[]> {
  return Promise.all(names.map((name) => person(chatlog, name)));
}

/** A conversation as the list gives it. */
export type Listed = Conversation<MessageRecordFields>;
export type Page = ConversationsPage<MessageRecordFields>;

/** The Signal types of the conversation events in sync-record (API.md §9). */
export const SIGNAL_RECEIVED = 0;
export const SIGNAL_READ = 100;
export const SIGNAL_CONVERSATION = 101;

const STATUS_OF: Record<number, number> = { [-1007]: 404, [-1010]: 401, [-1012]: 400, [-1019]: 403 };

/** Asserts an error envelope: the code, its HTTP status, and no data. */
export function expectError(reply: Reply<unknown>, code: number, what = ''): void {
  assert.equal(reply.result, code, `${what}: ${reply.message}`);
  assert.equal(reply.status, STATUS_OF[code], what);
  assert.equal(reply.data, null, what);
  assert.equal(typeof reply.message, 'string');
}

/** Asserts the same error for every case, and reports every case that differs at once. */
export function expectErrors(code: number, cases: Array<[string, Reply<unknown>]>): void {
  const shape = (status: number | undefined, result: number, data: unknown) => `HTTP ${status} result ${result}${data === null ? '' : ' with data'}`;
  assert.deepEqual(
    cases.map(([name, reply]) => `${name}: ${shape(reply.status, reply.result, reply.data)}${reply.result === code ? '' : ` (${reply.message})`}`),
    cases.map(([name]) => `${name}: ${shape(STATUS_OF[code], code, null)}`),
  );
}

export function listConversations(client: TestClient, body: Record<string, unknown>): Promise<Reply<Page>> {
  return client.post<Page>('/app/record/conversations', body);
}

/** One page that must succeed. */
export function conversationsPage(client: TestClient, body: Record<string, unknown> = { count: 200 }): Promise<Page> {
  return expectOk(listConversations(client, body));
}

export interface FullListing {
  conversations: Listed[];
  totalUnread: number;
  position: number;
  pages: Page[];
}

/** Every page of one listing (optionally `since`), following next_cursor. */
export async function allConversations(client: TestClient, count = 200, since?: number): Promise<FullListing> {
  const pages: Page[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await conversationsPage(client, { count, ...(cursor !== undefined && { cursor }), ...(since !== undefined && { since }) });
    pages.push(page);
    assert.ok(pages.length <= 1000, 'the cursor never ends');
    if (page.next_cursor === null) break;
    assert.equal(typeof page.next_cursor, 'string');
    cursor = page.next_cursor;
  }
  return { conversations: pages.flatMap((page) => page.conversations), totalUnread: pages[0]!.totalUnread, position: pages[0]!.position, pages };
}

/** The conversation of `type` with `targetId`, which must be listed. */
export function conversationIn(listing: { conversations: Listed[] }, type: 0 | 1, targetId: string | number): Listed {
  const found = listing.conversations.filter((c) => c.type === type && c.targetId === String(targetId));
  assert.equal(found.length, 1, `conversation ${type}:${targetId} listed once in ${JSON.stringify(listing.conversations.map(keyOf))}`);
  return found[0]!;
}

/** The caller's conversation, from a fresh listing. */
export async function conversationOf(client: TestClient, type: 0 | 1, targetId: string | number): Promise<Listed> {
  return conversationIn(await allConversations(client), type, targetId);
}

/** "0:bob", "1:42": a conversation's identity. */
export function keyOf(conversation: { type: number; targetId: string }): string {
  return `${conversation.type}:${conversation.targetId}`;
}

export function markRead(client: TestClient, type: number, targetId: string | number, logId: number | string): Promise<Reply<ReadResult>> {
  return client.post<ReadResult>('/app/record/read', { type, targetId: String(targetId), logId });
}

export function readStatus(client: TestClient, body: Record<string, unknown>): Promise<Reply<ReadStatusResult>> {
  return client.post<ReadStatusResult>('/app/record/read-status', body);
}

export function setConversation(client: TestClient, body: ConversationSettingsRequest | Record<string, unknown>): Promise<Reply> {
  return client.post('/app/record/conversation-settings', body);
}

/** A text message that mentions `mention`, private (channelType 0) or to a group; resolves with its logId. */
export async function sendMention(client: TestClient, channelType: 0 | 1, targetId: string | number, content: string, mention: string[]): Promise<number> {
  const msgId = `t-${Math.random().toString(36).slice(2)}`;
  const reply = await client.pushJson({ channelType, msgId, targetId: String(targetId), msgType: 1, content: { content, mention } });
  assert.equal(reply.result, 0, reply.message);
  return reply.data.logId;
}

/** A private text; resolves with its logId. */
export async function say(client: TestClient, targetId: string, content = 'hi'): Promise<number> {
  const reply = await client.sendText(targetId, content);
  assert.equal(reply.result, 0, reply.message);
  return reply.data.logId;
}

/** A group text; resolves with its logId. */
export async function sayInGroup(client: TestClient, groupId: number, content = 'hi'): Promise<number> {
  const reply = await client.sendGroupText(groupId, content);
  assert.equal(reply.result, 0, reply.message);
  return reply.data.logId;
}

/** A group created by `owner` with `memberIds`, through the dtalk group API. */
export async function createGroup(owner: TestClient, memberIds: string[]): Promise<number> {
  const created = await expectOk(owner.post<{ id: number }>('/group/app/create-group', { name: 'team', memberIds }));
  return created.id;
}

export async function invite(client: TestClient, groupId: number, uids: string[]): Promise<void> {
  await expectOk(client.post('/group/app/invite-group-members', { id: groupId, newMemberIds: uids }));
}

export async function exitGroup(client: TestClient, groupId: number): Promise<void> {
  await expectOk(client.post('/group/app/group-exit', { id: groupId }));
}

export async function removeFromGroup(client: TestClient, groupId: number, uids: string[]): Promise<void> {
  await expectOk(client.post('/group/app/group-remove', { id: groupId, memberIds: uids }));
}

/** The newest record of a group (for a member): the notice a membership change just wrote, say. */
export async function newestInGroup(member: TestClient, groupId: number): Promise<MessageRecordFields> {
  const history = await expectOk(member.post<{ records: MessageRecordFields[] }>('/app/record/group-chat-record', { groupId, count: 1 }));
  assert.equal(history.records.length, 1, 'the group has a message');
  return history.records[0]!;
}

/** The body of a ConversationRead signal (100): `uid` read up to `mid` in their conversation with `target`. */
export interface ReadSignalBody {
  channelType: number;
  target: string;
  uid: string;
  mid: number;
  time: number;
}

/** The body of a ConversationSettings signal (101): the state after the change. */
export interface SettingsSignalBody {
  channelType: number;
  target: string;
  muted: boolean;
  pinned: boolean;
  time: number;
}

export interface StreamSignal {
  type: number;
  sid: number;
  reliable: boolean;
  received?: { logs: number[] };
  read?: ReadSignalBody;
  conversation?: SettingsSignalBody;
}

/** The Signals of `type` in the caller's stream, in order, their bodies decoded. */
export async function signalsOf(client: TestClient, type: number): Promise<StreamSignal[]> {
  return (await client.syncAll()).flatMap((record) => (record.signal?.type === type ? [record.signal as StreamSignal] : []));
}

/** The ids of the caller's whole stream. */
export async function streamIds(client: TestClient): Promise<number[]> {
  return (await client.syncAll()).map((record) => record.common?.mid ?? record.signal!.sid);
}

export function framesOf(socket: SocketClient, type: string): Frame[] {
  return socket.events.filter((frame) => frame.type === type);
}

/** Opens ready /ws sockets and closes them after each test. Call in a describe block. */
export function useSockets(chatlog: () => RunningChatlog): (uid: string, instance?: number, since?: number) => Promise<SocketClient> {
  const sockets: SocketClient[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  });
  return async (uid, instance = 0, since) => {
    const client = await chatlog().client(uid, instance);
    const socket = await SocketClient.connect(client.baseUrl, client.token!, { since });
    sockets.push(socket);
    await socket.untilReady();
    return socket;
  };
}

/**
 * Proves that a socket of `uid` has every event committed before now: a stranger's private message to `uid`,
 * sent after, arrives (events come in id order). Resolves with the socket's events before the probe.
 */
export async function settled(chatlog: RunningChatlog, uid: string, ...sockets: SocketClient[]): Promise<Frame[][]> {
  const prober = await chatlog.client(uniqueUid('probe'));
  const probe = await say(prober, uid, 'probe');
  const before: Frame[][] = [];
  for (const socket of sockets) {
    await socket.until((s) => s.eventIds.includes(probe), 10_000, `the probe ${probe}`);
    before.push(socket.events.filter((frame) => frame.id! < probe));
  }
  return before;
}
