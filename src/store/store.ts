import type {
  CommittedEvent,
  ConversationEventData,
  ConversationKey,
  ConversationState,
  DisbandEventData,
  FocusEventData,
  Group,
  GroupSettings,
  MemberType,
  Membership,
  MembershipEventData,
  MuteTimeEventData,
  OutgoingMessage,
  ReadEventData,
  ReceivedEventData,
  RevokeEventData,
  RoleEventData,
  SettingEventData,
  StoredMessage,
  StreamEvent,
} from '../domain.js';

/** A group (disbanded ones too) and the user's current membership of it, if any. */
export interface GroupMembership {
  group: Group;
  disbanded: boolean;
  membership?: Membership;
}

/** A group about to be created: its settings, owner, key and markId. */
export type NewGroup = Omit<Group, 'id' | 'memberNum'>;

export type GroupChanges = Partial<GroupSettings> & { ownerId?: string; memberNumDelta?: number; disbandedId?: number };

/** What a group's description needs beyond the group row. */
export interface GroupFacts {
  owner: Membership;
  /** The user's membership, when they are a member. */
  person?: Membership;
  adminNum: number;
  /** Members muted now. */
  muteNum: number;
}

/** A device as its comet Auth describes it. */
export interface KnownDevice {
  uuid: string;
  type: number;
  name: string;
}

export interface DevicePosition {
  uid: string;
  uuid: string;
  position: number;
}

interface EventOf<K extends string, D> {
  kind: K;
  actor: string;
  data: D;
  createdAt: number;
}

/** An event about a message; `groupId` is set for a group message's events. */
export type NewMessageEvent = (EventOf<'revoke', RevokeEventData> | EventOf<'focus', FocusEventData>) & { mid: number; groupId?: number };

/** An event of users' streams that is no group's: a delivery receipt, a read receipt, a conversation's settings. */
export type NewUserEvent = EventOf<'received', ReceivedEventData> | EventOf<'read', ReadEventData> | EventOf<'conversation', ConversationEventData>;

/** A conversation as a user's list shows it (API.md §9), as of the listing. */
export interface ConversationSummary extends ConversationState {
  /** The id of its newest message, revoked ones included; for a group at least the user's join. */
  activity: number;
  /** The stream id of its last change for the user: the row's, or for a group its newest event. */
  lastId: number;
  /** Private only: the peer's read position. */
  peerReadMid?: number;
  unread: number;
  mentions: number;
  /** The newest message the user can see that is not revoked. */
  lastMessage?: StoredMessage;
}

export interface ConversationListing {
  conversations: ConversationSummary[];
  /** Unread messages over all the user's conversations, muted ones left out. */
  totalUnread: number;
  /** The stream position the listing is as of, read with it: every change after it is after the page too. */
  position: number;
}

/** Where a page of a conversation list ends, in its order: pinned first, then activity, then type and target. */
export interface ConversationCursor {
  pinned: boolean;
  activity: number;
  channelType: number;
  targetId: string;
}

export interface ConversationQuery {
  /** Only conversations whose lastId is after this. */
  since?: number;
  /** Only conversations after this one in the list's order. */
  after?: ConversationCursor;
  limit: number;
}

/** A current member of a group and how far they have read it. */
export interface MemberReadPosition {
  uid: string;
  joinedId: number;
  readMid: number;
}

export type NewGroupEvent = (
  | EventOf<'join' | 'leave', MembershipEventData>
  | EventOf<'disband', DisbandEventData>
  | EventOf<'role', RoleEventData>
  | EventOf<'muteTime', MuteTimeEventData>
  | EventOf<'setting', SettingEventData>
) & { groupId: number };

/**
 * What a write will read, said ahead so that its batch reads it for all its writes at once (under the write
 * lock, as their own reads would): a hint, never a promise; the write reads whatever it reads either way.
 */
export interface WriteHints {
  /** The group memberships it will check (getGroupMembership). */
  memberships?: Array<{ groupId: number; uid: string }>;
}

/** What became of a queued message: stored under its own id, or a repeat of the message its sender stored under that msgId. */
export type MessageWrite = { isNew: true; message: StoredMessage } | { isNew: false; mid: number; createdAt: number };

export interface QueuedMessage {
  /** The id it takes, should it be new. */
  mid: number;
  /**
   * Settles when the batch stores its messages, before the commit: the work must not wait for it (it would wait
   * for itself), and its caller must look only once the write is answered, which a failed commit turns into an
   * error.
   */
  written: Promise<MessageWrite>;
}

/** A move of a user's read position in a conversation, queued by a work to be stored with its batch's. */
export interface NewRead {
  key: ConversationKey;
  /** The message read up to: checked when the read is stored to be one of the conversation's, after `windowStart`. */
  mid: number;
  /** Where what the user may see of the conversation starts: 0, or their join of the group. */
  windowStart: number;
  createdAt: number;
}

/**
 * What became of a queued read: not stored when its message is not one the reader may see in the conversation;
 * else whether the position moved (a `read` event), and the unread count after it.
 */
export type ReadWrite = { found: false } | { found: true; moved: boolean; unread: number };

export interface QueuedRead {
  /** Settles as QueuedMessage.written does: look only once the write is answered. */
  written: Promise<ReadWrite>;
}

/** The reads a service makes, in a write transaction (seeing its earlier writes) or outside one. */
export interface Reads {
  getMessage(mid: number): Promise<StoredMessage | undefined>;
  getGroupMembership(groupId: number, uid: string): Promise<GroupMembership | undefined>;
  /** Of `uids`, the current members of the group. */
  currentMembers(groupId: number, uids: string[]): Promise<Membership[]>;
  /** Whether any stay of the user in the group covered event `id`. */
  wasMemberAt(groupId: number, uid: string, id: number): Promise<boolean>;
}

/** What the services need from storage. The knex implementation is the only place with SQL. */
export interface Store extends Reads {
  /**
   * Runs `work` in one write transaction and answers once it is committed. Write transactions are serialised, so
   * ids taken inside become visible in id order, and reads inside see every earlier write. The events it
   * committed are announced to realtime by the store itself.
   */
  write<T>(work: (tx: WriteTransaction) => Promise<T>, hints?: WriteHints): Promise<T>;
  /** The user's stream after `afterId`, ascending, at most `limit` events; revoked messages left out. */
  readStream(uid: string, afterId: number, limit: number): Promise<StreamEvent[]>;
  /** The id of the last event of the user's stream, 0 when it is empty. */
  latestPosition(uid: string): Promise<number>;
  /** The last id taken by a committed write, in anyone's stream: every event up to it is visible. */
  lastEventId(): Promise<number>;
  /**
   * The events committed with ids in (afterId, lastId], each with whom it concerns, as their batches announced
   * them (messages revoked since left out); undefined when there are more than `limit`.
   */
  readCommitted(afterId: number, lastId: number, limit: number): Promise<CommittedEvent[] | undefined>;
  /** Messages between two users with mid < beforeId (or the newest), newest first; revoked ones left out. */
  privateHistory(uidA: string, uidB: string, beforeId: number | undefined, limit: number): Promise<StoredMessage[]>;
  /** A group's messages with fromId <= mid < beforeId (or the newest), newest first; revoked ones left out. */
  groupHistory(groupId: number, fromId: number, beforeId: number | undefined, limit: number): Promise<StoredMessage[]>;
  /** The messages of those ids that exist, in no particular order. */
  getMessages(mids: number[]): Promise<StoredMessage[]>;
  /** A page of the user's conversations (API.md §9): private peers and the groups they are in now. */
  listConversations(uid: string, query: ConversationQuery): Promise<ConversationListing>;
  /** The group's current members with their read positions (0 for none). */
  groupReadPositions(groupId: number): Promise<MemberReadPosition[]>;
  /** The current members, owner first, then admins, then by join. */
  listMembers(groupId: number): Promise<Membership[]>;
  /** For each group: its owner's membership, the user's (if a member), and how many admins and muted members it has. */
  describeGroups(groupIds: number[], uid: string, now: number): Promise<Map<number, GroupFacts>>;
  /** The groups the user belongs to now, oldest first. */
  listGroupsOf(uid: string): Promise<Group[]>;
  /** The user's current stays: group id to the id of the event the stay began with. */
  currentStaysOf(uid: string): Promise<Map<number, number>>;
  /**
   * Registers a device of the user (or notes it again) and returns the stream position up to which it has
   * acknowledged every event; 0 for a device seen for the first time.
   */
  openDevice(uid: string, device: KnownDevice, at: number): Promise<number>;
  /** Moves devices' acknowledged positions forward (never back). */
  saveDevicePositions(positions: DevicePosition[]): Promise<void>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface WriteTransaction extends Reads {
  /** The message a sender stored under msgId, if any. */
  findMessageByMsgId(senderId: string, msgId: string): Promise<StoredMessage | undefined>;
  /**
   * Queues a new message under the next id, to be stored with the batch's other messages in one go once every work
   * of the batch has run, unless its sender already stored one under its msgId. A private message goes into the
   * streams of `recipients`; a group message is stored once and reaches the members through their memberships.
   * Nothing the work reads afterwards sees it, and should the work fail it is dropped.
   */
  queueMessage(senderId: string, message: OutgoingMessage, createdAt: number, recipients: string[]): QueuedMessage;
  /** Erases the content, keeping the row as a tombstone of who revoked it and when. */
  markRevoked(mid: number, operator: string, at: number): Promise<void>;
  /** Records one mark; false when this user had marked the message already. */
  addFocusMark(mid: number, uid: string, at: number): Promise<boolean>;
  countFocusMarks(mid: number): Promise<number>;
  /**
   * Marks private messages sent to `receiverId` as delivered, unless they were already (or were revoked);
   * returns those it marked.
   */
  markDelivered(receiverId: string, mids: number[], at: number): Promise<Array<{ mid: number; senderId: string }>>;
  /** The user's read position and settings of a conversation, if anything was ever kept of it. */
  getConversationState(key: ConversationKey): Promise<ConversationState | undefined>;
  /**
   * Queues moving the user's read position forward to `read.mid`, to be stored with the batch's other reads in one
   * go, after its messages, once every work of the batch has run. Only a move counts: a position at or past it
   * stays, and nothing is written. A move takes the id it was queued with for its `read` event, in the reader's
   * stream and, for a private conversation, the peer's, whose row it marks changed.
   */
  queueRead(read: NewRead): QueuedRead;
  /** Keeps a conversation's settings, changed at stream id `changedId`; its read position stays as it is. */
  saveConversationSettings(key: ConversationKey, settings: Pick<ConversationState, 'muted' | 'pinned'>, changedId: number): Promise<void>;
  /** A private message `mid` was revoked: it no longer counts as unread in its receiver's conversation. */
  uncountRevoked(receiver: ConversationKey, mid: number): Promise<void>;
  /** Records a change of these conversations at stream id `changedId` (for lists asked `since`). */
  touchConversations(keys: ConversationKey[], changedId: number): Promise<void>;
  /** Appends a message event under a new id: to `recipients` (private) or to the group's timeline. */
  appendMessageEvent(event: NewMessageEvent, recipients: string[]): Promise<number>;
  /** Appends an event under a new id to the streams of `recipients`; returns the id. */
  appendUserEvent(event: NewUserEvent, recipients: string[]): Promise<number>;
  /** Appends a group event under a new id to the group's timeline; returns the id. */
  appendGroupEvent(event: NewGroupEvent): Promise<number>;
  /**
   * Creates a group whose first event is the SignInGroup of its members (the owner first); the group's id is
   * that event's id.
   */
  createGroup(group: NewGroup, memberIds: string[]): Promise<Group>;
  /** Whether a group (even a disbanded one) has this markId. */
  isMarkIdTaken(markId: string): Promise<boolean>;
  /** Opens memberships starting at event `joinedId`. */
  addMembers(groupId: number, uids: string[], memberType: MemberType, joinedId: number): Promise<void>;
  /** Closes the current memberships of `uids` (every member when undefined) at event `leftId`. */
  closeMemberships(groupId: number, leftId: number, uids?: string[]): Promise<void>;
  /** Changes the current memberships of `uids`: their type, mute deadline (0 lifts it) or name in the group. */
  updateMembers(groupId: number, uids: string[], changes: Partial<Pick<Membership, 'memberType' | 'mutedUntil' | 'memberName'>>): Promise<void>;
  updateGroup(groupId: number, changes: GroupChanges): Promise<void>;
}

/** A media key and its owner; `size` is null until its upload is complete. */
export interface MediaObject {
  key: string;
  ownerId: string;
  size: number | null;
  etag: string | null;
  contentType: string | null;
  updatedAt: number;
}

/** A multipart upload still open. */
export interface MediaUpload {
  uploadId: string;
  key: string;
  ownerId: string;
  /** The storage's id of it. */
  handle: string;
  contentType: string;
  createdAt: number;
  expiresAt: number;
}

export interface MediaPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** Who owns which media key, and the multipart uploads in progress (media bytes are the media storage's). */
export interface MediaCatalog {
  getObject(key: string): Promise<MediaObject | undefined>;
  /** Claims `key` for `ownerId` unless someone holds it already; returns who holds it now. */
  claimObject(key: string, ownerId: string, now: number): Promise<string>;
  /** Records what was stored under a key its owner claimed. */
  finishObject(key: string, ownerId: string, stored: { size: number; etag: string; contentType: string }, now: number): Promise<void>;
  createUpload(upload: MediaUpload): Promise<void>;
  getUpload(uploadId: string): Promise<MediaUpload | undefined>;
  /** Records a part (again: the new one replaces it). */
  savePart(uploadId: string, part: MediaPart): Promise<void>;
  listParts(uploadId: string): Promise<MediaPart[]>;
  /** Forgets an upload and its parts; false when it was gone already. */
  deleteUpload(uploadId: string): Promise<boolean>;
  /** Uploads that expired before `now`, at most `limit`. */
  expiredUploads(now: number, limit: number): Promise<MediaUpload[]>;
}
