import type { Ajv } from 'ajv';
import type { PushRequestFields } from '../contract/index.js';
import { SENDABLE_MSG_TYPES, type MessageContent, type MessageReference, type MessageSource, type OutgoingMessage } from '../domain.js';
import { AppError } from '../errors.js';
import { BASE64_PATTERN, type Codec } from '../proto/codec.js';
import { MsgType } from '../contract/index.js';
import { TEXT_PATTERN, isValidUid } from '../strings.js';
import { channelTypeSchema, uidSchema } from './schemas.js';
import { compileValidator, type Validator } from './validation.js';

/** The fields every push carries, whether it came as JSON or as protobuf. */
export const pushSchema = {
  type: 'object',
  required: ['channelType', 'msgId', 'targetId', 'msgType'],
  properties: {
    channelType: channelTypeSchema,
    msgId: { type: 'string', minLength: 1, maxLength: 64, pattern: TEXT_PATTERN, errorHint: 'must be 1 to 64 characters of valid Unicode text without U+0000' },
    targetId: { type: 'string' },
    msgType: { type: 'integer', enum: SENDABLE_MSG_TYPES, errorHint: `must be one of ${SENDABLE_MSG_TYPES.join(', ')}` },
    content: { type: 'object' },
    msg: { type: 'string', pattern: BASE64_PATTERN, errorHint: 'must be the bytes of the body in standard base64' },
    source: { type: 'object' },
    reference: { type: 'object' },
  },
  description: 'Exactly one of content (the JSON form, encoded by the server) and msg (the body bytes, stored as they are).',
  if: { properties: { channelType: { const: 1 } } },
  then: {
    properties: {
      targetId: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', errorHint: 'must be a group id (a decimal string) for a group message' },
    },
  },
  else: { properties: { targetId: uidSchema } },
} as const;

/**
 * Turns either form of a push (API.md §4.1) into one validated OutgoingMessage. Both forms go through the
 * same schema, so a rule cannot hold for one and not the other.
 */
export class PushInput {
  private readonly validatePush: Validator<PushRequestFields>;
  private readonly validateSource: Validator<MessageSource>;
  private readonly validateReference: Validator<MessageReference>;
  private readonly contentValidators = new Map<number, Validator<MessageContent>>();

  constructor(
    ajv: Ajv,
    private readonly codec: Codec,
  ) {
    this.validatePush = compileValidator(ajv, pushSchema);
    this.validateSource = compileValidator(ajv, codec.sourceSchema(), 'source.');
    this.validateReference = compileValidator(ajv, codec.referenceSchema(), 'reference.');
    for (const msgType of SENDABLE_MSG_TYPES) {
      this.contentValidators.set(msgType, compileValidator(ajv, codec.contentSchema(msgType)!, 'content.'));
    }
  }

  fromJson(body: unknown): OutgoingMessage {
    const fields = this.validateFields(groupIdAsString(body));
    if ((fields.msg === undefined) === (fields.content === undefined)) {
      throw AppError.invalidParams('a push carries exactly one of content (the JSON form) and msg (the body bytes in base64)');
    }
    if (fields.msg !== undefined) return this.outgoing(fields, Buffer.from(fields.msg, 'base64'));
    this.contentValidators.get(fields.msgType)!(fields.content);
    return this.outgoing(fields, this.codec.encodeContent(fields.msgType, fields.content!), fields.content);
  }

  /**
   * `/record/push`: a serialized Proto. The envelope must decode strictly; the body `msg` is opaque (real
   * clients encrypt it end to end) and is stored byte for byte.
   */
  fromProto(bytes: Uint8Array): OutgoingMessage {
    const decoded = this.codec.decodePush(bytes);
    const fields = this.validateFields({
      channelType: decoded.channelType,
      // proto3 cannot tell an empty string from an absent one; both mean the client left the field out.
      msgId: decoded.msgId || undefined,
      targetId: decoded.targetId || undefined,
      msgType: decoded.msgType,
      msg: '',
      source: decoded.source,
      reference: decoded.reference,
    });
    return this.outgoing(fields, decoded.msg);
  }

  /** `/record/push2`: a comet frame whose body is the Proto. */
  fromCometFrame(bytes: Uint8Array): OutgoingMessage {
    return this.fromProto(this.codec.decodeCometFrame(bytes));
  }

  private validateFields(value: unknown): PushRequestFields {
    const fields = this.validatePush(value);
    const source = fields.source && this.codec.canonical('source', this.validateSource(fields.source) as Record<string, unknown>);
    const reference = fields.reference && this.codec.canonical('reference', this.validateReference(fields.reference) as Record<string, unknown>);
    // An empty source or reference is none: protobuf cannot tell them apart.
    return {
      ...fields,
      source: source && Object.keys(source).length > 0 ? source : undefined,
      reference: reference && Object.keys(reference).length > 0 ? reference : undefined,
    };
  }

  private outgoing(fields: PushRequestFields, msg: Uint8Array, content?: MessageContent): OutgoingMessage {
    const mentions = this.mentionsOf(fields.msgType, msg, content);
    return {
      channelType: fields.channelType,
      msgId: fields.msgId,
      targetId: fields.targetId,
      msgType: fields.msgType,
      msg,
      ...(fields.source && { source: fields.source }),
      ...(fields.reference && { reference: fields.reference }),
      ...(mentions && { mentions }),
    };
  }

  /**
   * Whom a text message mentions (for the unread mentions of API.md §9): its `mention` uids, when the server can
   * read the body; an end-to-end encrypted body mentions nobody the server could know of.
   */
  private mentionsOf(msgType: number, msg: Uint8Array, content?: MessageContent): string[] | undefined {
    if (msgType !== MsgType.Text) return undefined;
    const mention = content ? content.mention : this.codec.readMentions(msg);
    if (!Array.isArray(mention)) return undefined;
    const uids = [...new Set(mention.filter((uid): uid is string => typeof uid === 'string' && isValidUid(uid)))];
    return uids.length > 0 ? uids : undefined;
  }
}

/** A group id may come as a JSON number, as in every request (API.md §1); the schema and the store take its decimal string. */
function groupIdAsString(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const { channelType, targetId } = body as { channelType?: unknown; targetId?: unknown };
  const isGroupId = channelType === 1 && typeof targetId === 'number' && Number.isSafeInteger(targetId) && targetId > 0;
  return isGroupId ? { ...body, targetId: String(targetId) } : body;
}
