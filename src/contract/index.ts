/**
 * The wire contract (shared/API.md) in one place: every shape a client sees, imported by the server's producers
 * and by the client (src/client), so that a change that breaks one fails to compile in the other. Nothing here
 * depends on Node: the client bundles it for browsers.
 *
 * The wire keeps dtalk's names; inside the server each concept has one name, and the codec, the frames and the
 * routes map between them:
 *
 * | inside the server          | on the wire                                                            |
 * |----------------------------|------------------------------------------------------------------------|
 * | `mid`: a message's id      | `logId` (JSON, records, frames), `mid` (Common, CommonAck)              |
 * | `id`: a stream position    | `id` (/ws frames), `start`/`next_start` (sync), `sid` (a Signal's)     |
 * | `msgId`: the sender's key  | `msgId` (JSON), `seq` (Common); comet's `seq` is its frame counter     |
 * | `memberType`               | `memberType` (group API, /ws), `type` (SignalUpdateGroupMemberType)    |
 * | `createdAt`                | `datetime` (Common, push result), `createTime` (records)              |
 */
export * from './codes.js';
export * from './comet.js';
export * from './conversations.js';
export * from './envelope.js';
export * from './frames.js';
export * from './groups.js';
export * from './messages.js';
