import { Router } from '@koa/router';
import type { Ajv } from 'ajv';
import type { Context, Middleware } from 'koa';
import { AppError } from '../../errors.js';
import type { Channel, OutgoingMessage, StoredMessage } from '../../domain.js';
import type { Codec } from '../../proto/codec.js';
import type { MessageService } from '../../services/message-service.js';
import type { RecordService } from '../../services/record-service.js';
import { readMessagePart, jsonBody } from '../body.js';
import { respondOk } from '../envelope.js';
import { channelTypeSchema, countSchema, idSchema, positionSchema, toId, uidSchema } from '../schemas.js';
import { compileValidator } from '../validation.js';
import { PushInput } from './push-input.js';

export interface RecordRoutesDeps {
  ajv: Ajv;
  codec: Codec;
  messages: MessageService;
  records: RecordService;
  maxMessageBytes: number;
  /** Sets ctx.state.uid or refuses the request. */
  auth: Middleware;
  /** Holds each user to the configured send rate. */
  limitSends: Middleware;
  /** Parses the JSON body of the non-push endpoints. */
  json: Middleware;
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

interface SyncBody { count: number; start?: number | string }
interface HistoryBody { targetId: string; count: number; logId?: number | string }
interface GroupHistoryBody { groupId: number | string; count: number; logId?: number | string }
interface MarkBody { type?: Channel; logId: number | string }

/** POST /record/push[2] and /app/record/*: validate, call a service, shape the response. */
export function recordRoutes(deps: RecordRoutesDeps): Router {
  const { ajv, codec, messages, records, maxMessageBytes, auth, limitSends, json } = deps;
  const input = new PushInput(ajv, codec);
  const pushJson = jsonBody(maxMessageBytes);
  const validateSync = compileValidator<SyncBody>(ajv, syncSchema);
  const validateHistory = compileValidator<HistoryBody>(ajv, historySchema);
  const validateGroupHistory = compileValidator<GroupHistoryBody>(ajv, groupHistorySchema);
  const validateMark = compileValidator<MarkBody>(ajv, markSchema);

  const push = (fromUpload: (bytes: Uint8Array) => OutgoingMessage) => async (ctx: Context) => {
    let message: OutgoingMessage;
    if (ctx.is('multipart/form-data')) {
      message = fromUpload(await readMessagePart(ctx.req, maxMessageBytes));
    } else if (ctx.is('application/json')) {
      await pushJson(ctx, async () => {});
      message = input.fromJson(ctx.request.body);
    } else {
      throw AppError.invalidParams('a push is multipart/form-data (a file part named file or message) or application/json');
    }
    respondOk(ctx, await messages.push(ctx.state.uid, message));
  };

  const router = new Router();
  router.post('/record/push', auth, limitSends, push((bytes) => input.fromProto(bytes)));
  router.post('/record/push2', auth, limitSends, push((bytes) => input.fromCometFrame(bytes)));

  router.post('/app/record/sync-record', auth, json, async (ctx) => {
    const body = validateSync(ctx.request.body);
    const page = await records.sync(ctx.state.uid, toId(body.start ?? 0, 'start'), body.count);
    respondOk(ctx, {
      record_count: page.events.length,
      records: page.events.map((event) => Buffer.from(codec.encodeStreamEvent(event)).toString('base64')),
      next_start: page.nextStart,
      has_more: page.hasMore,
    });
  });

  const respondHistory = (ctx: Context, history: StoredMessage[]) =>
    respondOk(ctx, { record_count: history.length, records: history.map((message) => codec.messageRecordJson(message)) });

  router.post('/app/record/pri-chat-record', auth, json, async (ctx) => {
    const body = validateHistory(ctx.request.body);
    respondHistory(ctx, await records.privateHistory(ctx.state.uid, body.targetId, historyBound(body.logId), body.count));
  });

  router.post('/app/record/group-chat-record', auth, json, async (ctx) => {
    const body = validateGroupHistory(ctx.request.body);
    respondHistory(ctx, await records.groupHistory(ctx.state.uid, toId(body.groupId, 'groupId'), historyBound(body.logId), body.count));
  });

  router.post('/app/record/revoke', auth, json, async (ctx) => {
    const body = validateMark(ctx.request.body);
    await messages.revoke(ctx.state.uid, body.type ?? 0, toId(body.logId, 'logId'));
    respondOk(ctx, {});
  });

  router.post('/app/record/focus', auth, json, async (ctx) => {
    const body = validateMark(ctx.request.body);
    const currentNum = await messages.focus(ctx.state.uid, body.type ?? 0, toId(body.logId, 'logId'));
    respondOk(ctx, { currentNum });
  });

  return router;
}

/** The exclusive upper bound of a history page, or undefined for "from the newest". */
function historyBound(logId: number | string | undefined): number | undefined {
  if (logId === undefined || logId === '') return undefined;
  const bound = toId(logId, 'logId');
  return bound === 0 ? undefined : bound;
}
