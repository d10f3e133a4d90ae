/**
 * ChatlogClient: the record, group and realtime API of shared/API.md as typed methods.
 *
 * It runs unchanged in browsers and in Node 20: fetch, FormData, Blob, URL and Web Crypto are globals on both, and
 * the WebSocket is injected where the platform has none (Node 20: pass `WebSocket` from the `ws` package). Nothing
 * here imports a Node module, so bundling it for a page pulls in nothing but this folder.
 */
import { randomMsgId } from './ids.js';
import { subscribe, type SubscribeOptions, type Subscription, type WebSocketConstructor } from './subscription.js';
import { joinUrl, postEnvelope, resolveToken, type FetchLike, type TokenSource } from './transport.js';
import type {
  ChannelType,
  ConversationSettingsRequest,
  ConversationsPage,
  ConversationsRequest,
  CreateGroupRequest,
  GroupDetails,
  FocusResult,
  GroupHistoryRequest,
  GroupInfo,
  GroupMember,
  GroupList,
  GroupMembers,
  GroupSettingChange,
  HistoryPage,
  HistoryRequest,
  Id,
  InviteResult,
  PushMessage,
  PushResult,
  ReadRequest,
  ReadResult,
  ReadStatusRequest,
  ReadStatusResult,
  RemoveResult,
  SyncPage,
  SyncRequest,
} from '../contract/index.js';

export interface ChatlogClientOptions {
  /** Where chatlog is served, e.g. `https://chat.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The caller's JWT, or a function returning the current one (asked before each request and connection). */
  token: TokenSource;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
  /** Defaults to the global WebSocket; Node 20 has none, so pass the `ws` package's there. */
  WebSocket?: WebSocketConstructor;
}

export interface PushProtoOptions {
  /**
   * false (default): `bytes` is a serialized `Proto{common, Common}`, sent to /record/push.
   * true: `bytes` is a comet frame `{ver, op, seq, ack, body = Proto}`, sent to /record/push2.
   */
  framed?: boolean;
}

export class ChatlogClient {
  readonly baseUrl: string;
  private readonly token: TokenSource;
  private readonly fetchImpl: FetchLike;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;

  constructor(options: ChatlogClientOptions) {
    this.baseUrl = options.baseUrl;
    this.token = options.token;
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!fetchImpl) throw new Error('no global fetch on this platform: pass { fetch }');
    // Called as a plain function, never as a method of this object: a browser's fetch throws "Illegal
    // invocation" when its `this` is anything but the window (or undefined).
    this.fetchImpl = (url, init) => fetchImpl(url, init);
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  }

  /** POSTs a JSON body to `path` and returns the envelope's data; a non-zero result throws ChatlogError. */
  async call<T>(path: string, body: object = {}): Promise<T> {
    return postEnvelope<T>(this.fetchImpl, joinUrl(this.baseUrl, path), await resolveToken(this.token), JSON.stringify(body));
  }

  // Messages (API.md §4).

  /** Sends a message in its JSON form. Without a msgId one is generated; pass your own to retry safely. */
  push(message: PushMessage): Promise<PushResult> {
    return this.call<PushResult>('/record/push', { ...message, msgId: message.msgId ?? randomMsgId() });
  }

  /**
   * Sends an already serialized imparse message as the multipart upload dtalk clients make. The bytes are the
   * caller's: this client deliberately carries no protobuf library.
   */
  async pushProto(bytes: Uint8Array, options: PushProtoOptions = {}): Promise<PushResult> {
    const form = new FormData();
    // Copied into a fresh ArrayBuffer: a view on a larger or shared buffer would not be a valid BlobPart everywhere.
    form.append('file', new Blob([bytes.slice().buffer as ArrayBuffer], { type: 'application/octet-stream' }), 'message.bin');
    const path = options.framed ? '/record/push2' : '/record/push';
    return postEnvelope<PushResult>(this.fetchImpl, joinUrl(this.baseUrl, path), await resolveToken(this.token), form);
  }

  /** One page of the caller's event stream; keep calling with `start = next_start` while `has_more`. */
  sync(request: SyncRequest): Promise<SyncPage> {
    return this.call<SyncPage>('/app/record/sync-record', request);
  }

  /** Private messages between the caller and `targetId`, newest first. */
  history(request: HistoryRequest): Promise<HistoryPage> {
    return this.call<HistoryPage>('/app/record/pri-chat-record', request);
  }

  /** A group's messages, newest first; the caller must be a member. */
  groupHistory(request: GroupHistoryRequest): Promise<HistoryPage> {
    return this.call<HistoryPage>('/app/record/group-chat-record', request);
  }

  /** Recalls a message: `type` 0 private (default), 1 group. */
  async revoke(logId: Id, type: ChannelType = 0): Promise<void> {
    await this.call('/app/record/revoke', { type, logId });
  }

  /** Marks someone else's message; resolves with how many users have marked it. */
  focus(logId: Id, type: ChannelType = 0): Promise<FocusResult> {
    return this.call<FocusResult>('/app/record/focus', { type, logId });
  }

  // Conversations, unread counts and receipts (API.md §9).

  /**
   * One page of the caller's conversations, pinned first, then newest activity first; keep calling with
   * `cursor = next_cursor` while it is not null. Pass an answer's `position` as `since` later to get only the
   * conversations that changed after it.
   */
  conversations(request: ConversationsRequest): Promise<ConversationsPage> {
    return this.call<ConversationsPage>('/app/record/conversations', request);
  }

  /**
   * Moves the caller's read position in a conversation forward to `logId` (never back: an older one changes
   * nothing); resolves with the conversation's unread count after the move.
   */
  markRead(request: ReadRequest): Promise<ReadResult> {
    return this.call<ReadResult>('/app/record/read', request);
  }

  /** How many of a group's members have read each of `logIds` (and who, with `members: true`), in request order. */
  readStatus(request: ReadStatusRequest): Promise<ReadStatusResult> {
    return this.call<ReadStatusResult>('/app/record/read-status', request);
  }

  /** Mutes or pins a conversation (at least one of the two); the caller's devices get a `conversation` event. */
  async conversationSettings(request: ConversationSettingsRequest): Promise<void> {
    await this.call('/app/record/conversation-settings', request);
  }

  // Groups (API.md §5), at dtalk's paths.

  createGroup(request: CreateGroupRequest = {}): Promise<GroupDetails> {
    return this.call<GroupDetails>('/group/app/create-group', request);
  }

  inviteMembers(id: Id, newMemberIds: string[]): Promise<InviteResult> {
    return this.call<InviteResult>('/group/app/invite-group-members', { id, newMemberIds });
  }

  /** Joins on a member's invitation (a shared group card, say). */
  async joinGroup(id: Id, inviterId: string): Promise<void> {
    await this.call('/group/app/join-group', { id, inviterId });
  }

  removeMembers(id: Id, memberIds: string[]): Promise<RemoveResult> {
    return this.call<RemoveResult>('/group/app/group-remove', { id, memberIds });
  }

  async exitGroup(id: Id): Promise<void> {
    await this.call('/group/app/group-exit', { id });
  }

  async disbandGroup(id: Id): Promise<void> {
    await this.call('/group/app/group-disband', { id });
  }

  /** 0 normal, 1 admin; ownership moves only with changeOwner. */
  async setMemberType(id: Id, memberId: string, memberType: 0 | 1): Promise<void> {
    await this.call('/group/app/member/type', { id, memberId, memberType });
  }

  async changeOwner(id: Id, memberId: string): Promise<void> {
    await this.call('/group/app/change-owner', { id, memberId });
  }

  /** Mutes normal members for `muteTime` ms (at most 24 h), or lifts their mute (0). */
  async muteMembers(id: Id, memberIds: string[], muteTime: number): Promise<GroupMember[]> {
    return (await this.call<{ members: GroupMember[] }>('/group/app/member/muteTime', { id, memberIds, muteTime })).members;
  }

  /** The caller's own name in the group. */
  async setMemberName(id: Id, memberName: string): Promise<void> {
    await this.call('/group/app/member/name', { id, memberName });
  }

  /** Owner and admins: one setting at a time (name with publicName, avatar, joinType, friendType or muteType). */
  async updateGroup(id: Id, setting: GroupSettingChange): Promise<void> {
    const [path] = Object.keys(setting).filter((key) => key !== 'publicName');
    await this.call(`/group/app/${path ?? 'name'}`, { id, ...setting });
  }

  groupInfo(id: Id): Promise<GroupDetails> {
    return this.call<GroupDetails>('/group/app/group-info', { id });
  }

  /** What anyone may see of a group (no key). */
  groupPublicInfo(id: Id): Promise<GroupInfo> {
    return this.call<GroupInfo>('/group/app/group-pub-info', { id });
  }

  /** The caller's groups. */
  async groupList(): Promise<GroupInfo[]> {
    return (await this.call<GroupList>('/group/app/group-list')).groups;
  }

  groupMembers(id: Id): Promise<GroupMembers> {
    return this.call<GroupMembers>('/group/app/group-member-list', { id });
  }

  groupMember(id: Id, memberId: string): Promise<GroupMember> {
    return this.call<GroupMember>('/group/app/group-member-info', { id, memberId });
  }

  /** The members muted now. */
  async mutedMembers(id: Id): Promise<GroupMember[]> {
    return (await this.call<{ members: GroupMember[] }>('/group/app/mute-list', { id })).members;
  }

  // Realtime (API.md §6).

  /**
   * Opens GET /ws and keeps it open: every event reaches `onEvent` exactly once, in stream order, across
   * reconnections (see subscription.ts). Returns a handle whose close() ends it.
   */
  subscribe(options: SubscribeOptions): Subscription {
    const WebSocketImpl = this.WebSocketImpl;
    if (!WebSocketImpl) throw new Error('no global WebSocket on this platform: pass { WebSocket } (in Node 20, from the ws package)');
    // A relative baseUrl (a page talking to its own origin) resolves against the page's address.
    const url = new URL(joinUrl(this.baseUrl, '/ws'), (globalThis as { location?: { href: string } }).location?.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return subscribe(
      {
        url: url.toString(),
        token: () => resolveToken(this.token),
        WebSocket: WebSocketImpl,
        // The cheapest authenticated call that touches nothing: the first event after the end of time.
        probeCredentials: async () => {
          await this.sync({ start: Number.MAX_SAFE_INTEGER, count: 1 });
        },
        tokenRefreshes: typeof this.token !== 'string',
      },
      options,
    );
  }
}
