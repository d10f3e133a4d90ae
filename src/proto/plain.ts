/**
 * Decoded protobuf messages as plain objects and back, in the JSON form's conventions (API.md §3): zero values
 * omitted, 64-bit integers as exact numbers, bytes raw (for the domain) or base64 (for the JSON form), and every
 * value of the wrong type refused with an AppError naming its field, so nothing protobufjs would mangle silently
 * reaches the wire.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import { AppError } from '../errors.js';
import { isStorableText } from '../strings.js';

export type Plain = Record<string, unknown>;

/** How bytes fields appear in a plain object: raw for the domain, base64 for the JSON form. */
export type BytesForm = 'raw' | 'base64';

/** 64-bit integers beyond 2^53: refused (what clients send), or kept exact as bigints (what the server wrote). */
export type LongForm = 'safe' | 'bigint';

/**
 * Integer ranges of the JSON form. 64-bit values are limited to the safe integers because a JSON number (and a
 * JavaScript client) cannot hold more; such values are refused rather than silently rounded.
 */
const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** Standard base64 (RFC 4648 §4), padded or not, of a whole number of bytes. */
export const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$';
const BASE64 = new RegExp(BASE64_PATTERN);

/**
 * A decoded message as a plain object in the JSON form's conventions: zero values and empty nested messages
 * omitted, 64-bit integers as safe numbers (else an AppError naming `path`.field), bytes per `bytes`.
 * Elements of repeated messages are kept even when empty, so that indexes keep their meaning.
 */
export function toPlain(type: Type, message: Plain, path: string, bytes: BytesForm, ignored: ReadonlySet<string> = new Set(), longs: LongForm = 'safe'): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    if (ignored.has(field.name)) continue;
    const value = message[field.name];
    const at = join(path, field.name);
    if (field.repeated) {
      if (Array.isArray(value) && value.length > 0) {
        out[field.name] = value.map((element: unknown, index) => valueToPlain(field, element, `${at}[${index}]`, bytes, longs));
      }
    } else if (value !== undefined && value !== null) {
      const plain = valueToPlain(field, value, at, bytes, longs);
      if (!isZero(plain)) out[field.name] = plain;
    }
  }
  return out;
}

function valueToPlain(field: Field, value: unknown, at: string, bytes: BytesForm, longs: LongForm): unknown {
  if (field.resolvedType instanceof protobuf.Type) return toPlain(field.resolvedType, value as Plain, at, bytes, new Set(), longs);
  if (field.long) return safeInteger(value, at, longs);
  if (field.type === 'bytes') {
    // A copy, so that a decoded body does not pin the whole upload it was sliced from.
    const copy = new Uint8Array(value as Uint8Array);
    return bytes === 'raw' ? copy : Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).toString('base64');
  }
  return value;
}

/**
 * protobufjs hands out 64-bit integers as Long objects (or numbers); the JSON form needs exact numbers. Beyond
 * 2^53 a value is refused, or, where the server itself wrote it (dtalk's "for ever"), given as a bigint.
 */
function safeInteger(value: unknown, at: string, longs: LongForm): number | bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  const exact = BigInt(String(value));
  if (exact >= -BigInt(Number.MAX_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(exact);
  if (longs === 'bigint') return exact;
  throw AppError.invalidParams(`${at} is out of range`);
}

function isZero(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0;
  return value === 0 || value === '' || value === false;
}

/**
 * Adds the zero value of every absent scalar and repeated field, also inside the nested messages present, for
 * fully populated decoded records. Absent nested messages stay absent: proto3 tells them apart.
 */
export function withDefaults(type: Type, plain: Plain): Plain {
  const out: Plain = { ...plain };
  for (const field of type.fieldsArray) {
    const value = out[field.name];
    if (field.resolvedType instanceof protobuf.Type) {
      const nested = field.resolvedType;
      if (Array.isArray(value)) out[field.name] = value.map((element) => withDefaults(nested, element as Plain));
      else if (value !== undefined) out[field.name] = withDefaults(nested, value as Plain);
      continue;
    }
    if (value !== undefined) continue;
    if (field.repeated) out[field.name] = [];
    else if (field.type === 'string') out[field.name] = '';
    else if (field.type === 'bool') out[field.name] = false;
    else if (field.type === 'bytes') out[field.name] = new Uint8Array(0);
    else out[field.name] = 0;
  }
  return out;
}

/**
 * The object protobufjs encodes for a plain value: a JSON form (bytes as base64) or a domain object (raw
 * bytes). Undefined and null fields are absent; unknown keys are ignored (API.md §1). A value of the wrong type
 * is an AppError naming `path`.field, so nothing protobufjs would mangle silently reaches the wire.
 */
export function fromPlain(type: Type, value: unknown, path: string, bytes: BytesForm): Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AppError.invalidParams(`${path === '' ? 'the message' : path} must be an object`);
  }
  const object = value as Plain;
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const fieldValue = object[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    const at = join(path, field.name);
    if (field.repeated) {
      if (!Array.isArray(fieldValue)) throw AppError.invalidParams(`${at} must be an array`);
      out[field.name] = fieldValue.map((element: unknown, index) => valueFromPlain(field, element, `${at}[${index}]`, bytes));
    } else {
      out[field.name] = valueFromPlain(field, fieldValue, at, bytes);
    }
  }
  return out;
}

function valueFromPlain(field: Field, value: unknown, at: string, bytes: BytesForm): unknown {
  if (field.resolvedType instanceof protobuf.Type) return fromPlain(field.resolvedType, value, at, bytes);
  const kind = field.resolvedType instanceof protobuf.Enum ? 'int32' : field.type;
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw AppError.invalidParams(`${at} must be a string`);
      if (!isStorableText(value)) throw AppError.invalidParams(`${at} must be valid Unicode text without U+0000`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw AppError.invalidParams(`${at} must be a boolean`);
      return value;
    case 'bytes':
      if (bytes === 'raw') {
        if (!(value instanceof Uint8Array)) throw AppError.invalidParams(`${at} must be bytes`);
        return value;
      }
      if (typeof value !== 'string' || !BASE64.test(value)) throw AppError.invalidParams(`${at} must be a standard base64 string`);
      return Buffer.from(value, 'base64');
    default: {
      // The server's own 64-bit values beyond 2^53 (dtalk's "for ever") come as bigints; clients' never do.
      if (typeof value === 'bigint' && field.long) return value.toString();
      const [min, max] = integerRange(kind, field);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw AppError.invalidParams(`${at} must be an integer between ${min} and ${max}`);
      }
      return value;
    }
  }
}

export function integerRange(kind: string, field: Field): readonly [number, number] {
  const range = INTEGER_RANGES[kind];
  if (range === undefined) throw new Error(`imparse.proto field ${field.fullName} has the unsupported type ${kind}`);
  return range;
}

export function encode(type: Type, object: Plain): Uint8Array {
  const buffer = type.encode(object).finish();
  // Plain Uint8Array rather than protobufjs's Buffer, so that every byte value the codec returns has one type.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
