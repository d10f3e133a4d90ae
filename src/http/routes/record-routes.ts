import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Context, Middleware } from 'koa';
import { AppError } from '../../errors.js';
import type { ChannelType, StoredMessage } from '../../domain.js';
import type { PushResult } from '../../contract/index.js';
import type { Codec } from '../../proto/codec.js';
import type { MessageService } from '../../services/message-service.js';
import type { RecordService } from '../../services/record-service.js';
import { readMessagePart, jsonBody } from '../body.js';
import { respondOk } from '../envelope.js';
import { channelTypeSchema, countSchema, idSchema, positionSchema, toId, uidSchema } from '../../input/schemas.js';
import type { ApiCatalog } from '../api-catalog.js';
import { jsonRoute } from './json-route.js';
import { pushSchema } from '../../input/push-input.js';
import type { Sending, Submission } from '../../services/sending.js';

export interface RecordRoutesDeps {
  ajv: Ajv;
  codec: Codec;
  /** Sends a pushed message: the write budget, validation, storage. */
  sending: Sending;
  messages: MessageService;
  records: RecordService;
  maxMessageBytes: number;
  /** Sets ctx.state.uid or refuses the request. */
  auth: Middleware;
  /** Holds each user to the configured write rate. */
  limitWrites: Middleware;
  /** Parses the JSON body of the non-push endpoints. */
  json: Middleware;
  catalog: ApiCatalog;
}

const syncSchema = {
  type: 'object',
  required: ['count'],
  properties: { count: countSchema(1000), start: positionSchema },
} as const;

/** Absent, "" and "0" all mean "from the newest". */
const historyBoundSchema = {
  ...positionSchema,
  pattern: '^(|0|[1-9][0-9]{0,15})$',
  errorHint: 'must be a message id (a number or a decimal string), or "" / 0 for the newest',
} as const;

const historySchema = {
  type: 'object',
  required: ['targetId', 'count'],
  properties: { targetId: uidSchema, count: countSchema(100), logId: historyBoundSchema },
} as const;

const groupHistorySchema = {
  type: 'object',
  required: ['groupId', 'count'],
  properties: { groupId: idSchema, count: countSchema(100), logId: historyBoundSchema },
} as const;

const markSchema = {
  type: 'object',
  required: ['logId'],
  properties: { type: channelTypeSchema, logId: idSchema },
} as const;

interface SyncBody {
  count: number;
  start?: number | string;
}
interface HistoryBody {
  targetId: string;
  count: number;
  logId?: number | string;
}
interface GroupHistoryBody {
  groupId: number | string;
  count: number;
  logId?: number | string;
}
interface MarkBody {
  type?: ChannelType;
  logId: number | string;
}

/** POST /record/push[2] and /app/record/*: validate, call a service, shape the response. */
export function recordRoutes(deps: RecordRoutesDeps): Router {
  const { ajv, codec, sending, messages, records, maxMessageBytes, catalog, auth, limitWrites, json } = deps;
  const router = new Router();
  const kit = { router, ajv, catalog, auth, json, limitWrites };
  const pushJson = jsonBody(maxMessageBytes);

  const push = (framed: boolean) => async (ctx: Context) => {
    const read = async (): Promise<Submission> => {
      if (ctx.is('multipart/form-data')) {
        const bytes = await readMessagePart(ctx, maxMessageBytes);
        return framed ? { cometFrame: bytes } : { proto: bytes };
      }
      if (ctx.is('application/json')) {
        await pushJson(ctx, async () => {});
        return { json: ctx.request.body };
      }
      throw AppError.invalidParams('a push is multipart/form-data (a file part named file or message) or application/json');
    };
    const { mid, createdAt } = await sending.send(ctx.state.uid, read);
    respondOk(ctx, { logId: mid, datetime: createdAt } satisfies PushResult);
  };

  const pushes = [
    ['/record/push', 'a serialized imparse Proto{eventType: common, body: Common}', false],
    ['/record/push2', 'a serialized comet frame {ver, op, seq, ack, body} whose body is the Proto', true],
  ] as const;
  for (const [path, upload, framed] of pushes) {
    catalog.add({
      method: 'post',
      path,
      summary: 'Send a message (multipart protobuf or JSON); idempotent per (caller, msgId)',
      tag: 'records',
      auth: true,
      upload,
      json: { schema: pushSchema, example: { channelType: 0, msgId: 'c0ffee', targetId: 'bob', msgType: 1, content: { content: 'hello' } } },
      response: { data: { logId: 42, datetime: 1764100000000 } },
    });
    router.post(path, auth, push(framed));
  }

  jsonRoute<SyncBody>(kit, {
    path: '/app/record/sync-record',
    summary: "The caller's event stream after start, ascending; page with next_start",
    tag: 'records',
    schema: syncSchema,
    example: { count: 100, start: 0 },
    response: { record_count: 1, records: ['EikQARoDbS0x...'], next_start: 42, has_more: false },
    handle: async (uid, body) => {
      const page = await records.sync(uid, toId(body.start ?? 0, 'start'), body.count);
      return {
        record_count: page.events.length,
        records: page.events.map((event) => Buffer.from(codec.encodeStreamEvent(event)).toString('base64')),
        next_start: page.nextStart,
        has_more: page.hasMore,
      };
    },
  });

  const historyOf = (messages: StoredMessage[]) => ({ record_count: messages.length, records: messages.map((message) => codec.messageRecordJson(message)) });
  const recordExample = {
    logId: '42',
    msgId: 'c0ffee',
    channelType: 0,
    fromId: 'alice',
    targetId: 'bob',
    msgType: 1,
    content: { content: 'hello' },
    createTime: 1764100000000,
  };

  jsonRoute<HistoryBody>(kit, {
    path: '/app/record/pri-chat-record',
    summary: 'Private history with targetId, newest first, below logId',
    tag: 'records',
    schema: historySchema,
    example: { targetId: 'bob', count: 20, logId: '' },
    response: { record_count: 1, records: [recordExample] },
    handle: async (uid, body) => historyOf(await records.privateHistory(uid, body.targetId, historyBound(body.logId), body.count)),
  });

  jsonRoute<GroupHistoryBody>(kit, {
    path: '/app/record/group-chat-record',
    summary: 'Group history since the caller joined, newest first, below logId (members only)',
    tag: 'records',
    schema: groupHistorySchema,
    example: { groupId: '7', count: 20 },
    response: { record_count: 1, records: [{ ...recordExample, channelType: 1, targetId: '7' }] },
    handle: async (uid, body) => historyOf(await records.groupHistory(uid, toId(body.groupId, 'groupId'), historyBound(body.logId), body.count)),
  });

  jsonRoute<MarkBody>(kit, {
    path: '/app/record/revoke',
    writes: true,
    summary: 'Recall a message: the sender within REVOKE_WINDOW; in groups also the owner, and admins',
    tag: 'records',
    schema: markSchema,
    example: { type: 0, logId: '42' },
    response: {},
    handle: async (uid, body) => {
      await messages.revoke(uid, body.type ?? 0, toId(body.logId, 'logId'));
      return {};
    },
  });

  jsonRoute<MarkBody>(kit, {
    path: '/app/record/focus',
    writes: true,
    summary: 'Mark a message (not your own); one mark per user',
    tag: 'records',
    schema: markSchema,
    example: { logId: 42 },
    response: { currentNum: 1 },
    handle: async (uid, body) => ({ currentNum: await messages.focus(uid, body.type ?? 0, toId(body.logId, 'logId')) }),
  });

  return router;
}

/** The exclusive upper bound of a history page, or undefined for "from the newest". */
function historyBound(logId: number | string | undefined): number | undefined {
  if (logId === undefined || logId === '') return undefined;
  const bound = toId(logId, 'logId');
  return bound === 0 ? undefined : bound;
}
