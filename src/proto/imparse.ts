/**
 * imparse.proto, loaded once, and the tables that tie its messages to chatlog's events: which SignalType and body
 * each stream event has, which message each msgType's body is, which notices the server writes. The codec and the
 * test support both build on this, so a number is written in one place.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { WIRE_MUTED_FOREVER } from '../contract/index.js';
import { MUTED_FOREVER, NOTICE_MSG_TYPE } from '../domain.js';

const PROTO_FILE = fileURLToPath(new URL('./imparse.proto', import.meta.url));
const PACKAGE = 'imparse.proto';

/** The loaded definitions; loading is synchronous and takes a few milliseconds. */
export function loadImparse(): { typeOf(name: string): Type } {
  const root = new protobuf.Root().loadSync(PROTO_FILE, { keepCase: true });
  root.resolveAll();
  return { typeOf: (name) => root.lookupType(`${PACKAGE}.${name}`) };
}

/** EventType numbers the codec writes or tests itself; fixed by the contract (API.md §3). */
export const EventType = { common: 0, commonAck: 1, Signal: 2 } as const;

/**
 * The signals of the stream, by stream-event kind: their SignalType and body message. The kind is also the key
 * of the decoded body in a SignalRecord.
 */
export const SIGNALS = {
  received: { signalType: 0, message: 'SignalReceived' },
  revoke: { signalType: 1, message: 'SignalRevoke' },
  focus: { signalType: 13, message: 'SignalFocusMessage' },
  join: { signalType: 10, message: 'SignalSignInGroup' },
  leave: { signalType: 11, message: 'SignalSignOutGroup' },
  disband: { signalType: 12, message: 'SignalDeleteGroup' },
  role: { signalType: 23, message: 'SignalUpdateGroupMemberType' },
  muteTime: { signalType: 24, message: 'SignalUpdateGroupMemberMuteTime' },
  joinType: { signalType: 20, message: 'SignalUpdateGroupJoinType' },
  friendType: { signalType: 21, message: 'SignalUpdateGroupFriendType' },
  muteType: { signalType: 22, message: 'SignalUpdateGroupMuteType' },
  name: { signalType: 25, message: 'SignalUpdateGroupName' },
  avatar: { signalType: 26, message: 'SignalUpdateGroupAvatar' },
  endpointLogin: { signalType: 14, message: 'SignalEndpointLogin' },
  // chatlog's own (API.md §9), numbered past dtalk's; only sync-record carries them, comet has no place for them.
  read: { signalType: 100, message: 'SignalConversationRead' },
  conversation: { signalType: 101, message: 'SignalConversationSettings' },
} as const;

/** A mute deadline as dtalk writes it: MUTED_FOREVER becomes the largest int64, which no JSON number holds. */
export const wireMuteTime = (mutedUntil: number): number | bigint => (mutedUntil === MUTED_FOREVER ? WIRE_MUTED_FOREVER : mutedUntil);

/**
 * The group notices (msgType 7) the server writes, by NoticeMsgType: their body message. They are what the
 * desktop client shows of a group change (it ignores the signals).
 */
export const NOTICES = {
  name: { type: 0, message: 'NoticeMsgUpdateGroupName' },
  signIn: { type: 1, message: 'NoticeMsgSignInGroup' },
  signOut: { type: 2, message: 'NoticeMsgSignOutGroup' },
  kickOut: { type: 3, message: 'NoticeMsgKickOutGroup' },
  delete: { type: 4, message: 'NoticeMsgDeleteGroup' },
  muteType: { type: 5, message: 'NoticeMsgUpdateGroupMuted' },
  memberMuted: { type: 6, message: 'NoticeMsgUpdateGroupMemberMutedTime' },
  owner: { type: 7, message: 'NoticeMsgUpdateGroupOwner' },
} as const;
export type NoticeKind = keyof typeof NOTICES;
export const NOTICE_KINDS = Object.keys(NOTICES) as NoticeKind[];

export type SignalKind = keyof typeof SIGNALS;
export const SIGNAL_KINDS = Object.keys(SIGNALS) as SignalKind[];

/** What a dtalk client says of itself in the comet Auth `ext` (imparse `Login`). */
export interface DeviceLogin {
  device: number;
  username: string;
  connType: number;
  uuid: string;
  deviceName: string;
}

/** msgType → body message. These may be sent (API.md §3), but 7, the server's own notices; the others have none. */
export const BODY_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'TextMsg'],
  [2, 'AudioMsg'],
  [3, 'ImageMsg'],
  [4, 'VideoMsg'],
  [5, 'FileMsg'],
  [6, 'CardMsg'],
  [NOTICE_MSG_TYPE, 'NoticeMsg'],
  [8, 'ForwardMsg'],
  [10, 'TransferMsg'],
  [12, 'RedPacketMsg'],
  [13, 'ContactCardMsg'],
]);

/** Fields of a pushed Common that the server assigns itself (API.md §4.1): never read, so never refused. */
export const PUSH_IGNORED: ReadonlySet<string> = new Set(['from', 'mid', 'datetime']);
