import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Middleware } from 'koa';
import type { ChannelType } from '../../domain.js';
import type { ConversationsPage, MessageRecordFields, ReadStatusResult } from '../../contract/index.js';
import type { Codec } from '../../proto/codec.js';
import type { ConversationService } from '../../services/conversation-service.js';
import type { ConversationSummary } from '../../store/store.js';
import { channelTypeSchema, countSchema, idSchema, positionSchema, toId, uidSchema } from '../../input/schemas.js';
import type { ApiCatalog } from '../api-catalog.js';
import { jsonRoute } from './json-route.js';

export interface ConversationRoutesDeps {
  ajv: Ajv;
  codec: Codec;
  conversations: ConversationService;
  auth: Middleware;
  json: Middleware;
  limitWrites: Middleware;
  catalog: ApiCatalog;
}

/** A conversation: a peer's uid for type 0, a group id (decimal string) for type 1, as a push names its target. */
const conversationKeySchema = {
  required: ['type', 'targetId'],
  properties: { type: channelTypeSchema, targetId: { type: 'string' } },
  // Without `required`, a missing type would pass the `if` and be reported as a bad group id.
  if: { properties: { type: { const: 1 } }, required: ['type'] },
  then: { properties: { targetId: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', errorHint: 'must be a group id (a decimal string) for type 1' } } },
  else: { properties: { targetId: uidSchema } },
} as const;

const conversationsSchema = {
  type: 'object',
  required: ['count'],
  properties: {
    count: countSchema(200),
    // null, as next_cursor reads after the last page, is no cursor: the first page.
    cursor: { type: ['string', 'null'], maxLength: 512, errorHint: 'must be a next_cursor this server gave' },
    since: positionSchema,
  },
} as const;

const readSchema = {
  type: 'object',
  ...conversationKeySchema,
  required: [...conversationKeySchema.required, 'logId'],
  properties: { ...conversationKeySchema.properties, logId: idSchema },
} as const;

const readStatusSchema = {
  type: 'object',
  required: ['type', 'groupId', 'logIds'],
  properties: {
    type: { type: 'integer', const: 1, errorHint: 'must be 1: read status is kept for groups' },
    groupId: idSchema,
    logIds: { type: 'array', minItems: 1, maxItems: 100, items: idSchema, errorHint: 'must list 1 to 100 message ids' },
    members: { type: 'boolean' },
  },
} as const;

const settingsSchema = {
  type: 'object',
  ...conversationKeySchema,
  properties: { ...conversationKeySchema.properties, muted: { type: 'boolean' }, pinned: { type: 'boolean' } },
  // In its own subschema, so that the hint names this rule alone (not a body that is not an object).
  allOf: [
    {
      anyOf: [
        // Presence only: the types are checked above, and named there.
        { properties: { muted: true }, required: ['muted'] },
        { properties: { pinned: true }, required: ['pinned'] },
      ],
      errorHint: 'must set muted or pinned',
    },
  ],
} as const;

interface ConversationKeyBody {
  type: ChannelType;
  targetId: string;
}

const recordExample: MessageRecordFields = {
  logId: '42',
  msgId: 'c0ffee',
  channelType: 0,
  fromId: 'bob',
  targetId: 'alice',
  msgType: 1,
  content: { content: 'hello' },
  createTime: 1764100000000,
};

/** /app/record/conversations, read, read-status and conversation-settings (API.md §9). */
export function conversationRoutes({ ajv, codec, conversations, auth, json, limitWrites, catalog }: ConversationRoutesDeps): Router {
  const router = new Router();
  // Reading and settings write only positions, and no more often than a user reads: not held to the send rate.
  const kit = { router, ajv, catalog, auth, json, limitWrites };
  const summaryJson = (summary: ConversationSummary) => ({
    type: summary.channelType,
    targetId: summary.targetId,
    lastMessage: summary.lastMessage ? codec.messageRecordJson(summary.lastMessage) : null,
    lastId: summary.lastId,
    unread: summary.unread,
    mentions: summary.mentions,
    readLogId: String(summary.readMid),
    ...(summary.peerReadMid !== undefined && { peerReadLogId: String(summary.peerReadMid) }),
    muted: summary.muted,
    pinned: summary.pinned,
  });

  jsonRoute<{ count: number; cursor?: string | null; since?: number | string }>(kit, {
    path: '/app/record/conversations',
    summary: "The caller's conversations with unread counts: pinned first, then newest activity; page with next_cursor, or only changes after since",
    tag: 'conversations',
    schema: conversationsSchema,
    example: { count: 50 },
    response: {
      conversations: [
        {
          type: 0,
          targetId: 'bob',
          lastMessage: recordExample,
          lastId: 42,
          unread: 1,
          mentions: 0,
          readLogId: '41',
          peerReadLogId: '42',
          muted: false,
          pinned: false,
        },
      ],
      totalUnread: 1,
      next_cursor: null,
      position: 42,
    } satisfies ConversationsPage<MessageRecordFields>,
    handle: async (uid, body) => {
      const since = body.since === undefined ? undefined : toId(body.since, 'since');
      const page = await conversations.list(uid, { count: body.count, cursor: body.cursor ?? undefined, since });
      return {
        conversations: page.conversations.map(summaryJson),
        totalUnread: page.totalUnread,
        next_cursor: page.nextCursor ?? null,
        position: page.position,
      } satisfies ConversationsPage<MessageRecordFields>;
    },
  });

  jsonRoute<ConversationKeyBody & { logId: number | string }>(kit, {
    path: '/app/record/read',
    summary: "Move the caller's read position forward to logId (never back); a read receipt to a private peer",
    tag: 'conversations',
    schema: readSchema,
    example: { type: 0, targetId: 'bob', logId: '42' },
    response: { unread: 0 },
    handle: async (uid, body) => ({
      unread: await conversations.markRead(uid, { channelType: body.type, targetId: body.targetId }, toId(body.logId, 'logId')),
    }),
  });

  jsonRoute<{ type: 1; groupId: number | string; logIds: Array<number | string>; members?: boolean }>(kit, {
    path: '/app/record/read-status',
    summary: 'How many of a group message’s members have read it, and who (members only)',
    tag: 'conversations',
    schema: readStatusSchema,
    example: { type: 1, groupId: '7', logIds: ['42'], members: true },
    response: { items: [{ logId: '42', readCount: 1, memberCount: 2, readers: ['bob'] }] } satisfies ReadStatusResult,
    handle: async (uid, body) => {
      const mids = body.logIds.map((logId) => toId(logId, 'logIds'));
      const items = await conversations.readStatus(uid, toId(body.groupId, 'groupId'), mids);
      return {
        items: items.map(({ mid, readCount, memberCount, readers }) => ({
          logId: String(mid),
          readCount,
          memberCount,
          ...(body.members && { readers }),
        })),
      } satisfies ReadStatusResult;
    },
  });

  jsonRoute<ConversationKeyBody & { muted?: boolean; pinned?: boolean }>(kit, {
    path: '/app/record/conversation-settings',
    summary: "Mute or pin one of the caller's conversations (an event to the caller's devices)",
    tag: 'conversations',
    schema: settingsSchema,
    example: { type: 1, targetId: '7', muted: true },
    response: {},
    handle: async (uid, body) => {
      await conversations.updateSettings(uid, { channelType: body.type, targetId: body.targetId }, { muted: body.muted, pinned: body.pinned });
      return {};
    },
  });

  return router;
}
