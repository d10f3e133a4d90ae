/**
 * Strict decoding. protobufjs is lenient by design: it skips unknown fields and fields of the wrong wire type,
 * and its errors are bare RangeErrors. chatlog must refuse anything that is not exactly an imparse message with
 * -1012, so every decode of untrusted bytes first walks the wire format against the reflected type, and every
 * failure becomes an AppError naming the field.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import { AppError } from '../errors.js';
import { join, type Plain } from './plain.js';

const WIRE_TYPE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'invalid', 'invalid'];

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A wire-format violation, completed into an AppError sentence by `decodeStrict`. */
class WireError extends Error {}

/** Checks `bytes` against `type` on the wire, then decodes it; any failure is an AppError naming `label`. */
export function decodeStrict(type: Type, bytes: Uint8Array, label: string, typeLabel: string): Plain {
  try {
    checkWire(type, bytes, '');
    return type.decode(bytes);
  } catch (err) {
    // After checkWire nothing should fail; should protobufjs still disagree, the client still gets a -1012.
    const reason = err instanceof WireError ? err.message : 'it cannot be decoded';
    throw AppError.invalidParams(`${label} is not a valid ${typeLabel}: ${reason}`);
  }
}

/**
 * Walks the wire format of `bytes` as a `type`: every field must be declared, with its wire type, strings must
 * be UTF-8 and nested messages must pass the same check. `path` names the message in error sentences.
 */
function checkWire(type: Type, bytes: Uint8Array, path: string): void {
  const reader = protobuf.Reader.create(bytes);
  const where = path === '' ? '' : ` in ${path}`;
  const occurrences = new Map<number, number>();
  while (reader.pos < reader.len) {
    const tag = readWire(() => reader.tag(), `a field tag${where}`);
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new WireError(`field number 0${where} is invalid`);
    const field = type.fieldsById[id];
    if (field === undefined) throw new WireError(`unknown field ${id}${where}`);

    let at = join(path, field.name);
    if (field.repeated) {
      const index = occurrences.get(id) ?? 0;
      occurrences.set(id, index + 1);
      at = `${at}[${index}]`;
    }
    const expected = wireTypeOf(field);
    if (field.repeated && expected !== 2 && wireType === 2) {
      // A packed run of scalars: proto3's default encoding of repeated numbers, accepted beside the unpacked one.
      const packed = protobuf.Reader.create(readWire(() => reader.bytes(), at));
      while (packed.pos < packed.len) skipScalar(packed, expected, at);
      continue;
    }
    if (wireType !== expected) {
      throw new WireError(`${at} (field ${id}) has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType]}), expected ${expected} (${WIRE_TYPE_NAMES[expected]})`);
    }
    if (expected !== 2) {
      skipScalar(reader, expected, at);
      continue;
    }
    const payload = readWire(() => reader.bytes(), at);
    if (field.resolvedType instanceof protobuf.Type) {
      checkWire(field.resolvedType, payload, at);
    } else if (field.type === 'string') {
      try {
        strictUtf8.decode(payload);
      } catch {
        throw new WireError(`${at} is not valid UTF-8`);
      }
    }
  }
}

function skipScalar(reader: protobuf.Reader, wireType: number, at: string): void {
  // uint64 reads a whole varint and refuses one longer than 10 bytes, as the decoder does.
  if (wireType === 0) readWire(() => reader.uint64(), at);
  else readWire(() => reader.skip(wireType === 1 ? 8 : 4), at);
}

/** Runs a protobufjs read, turning its RangeError ("index out of range") and varint errors into WireErrors. */
function readWire<T>(read: () => T, at: string): T {
  try {
    return read();
  } catch (err) {
    throw new WireError(err instanceof RangeError ? `${at} is truncated` : `${at} is malformed`);
  }
}

function wireTypeOf(field: Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  const wireType = (protobuf.types.basic as Readonly<Record<string, number | undefined>>)[field.type];
  if (wireType === undefined) throw new Error(`imparse.proto field ${field.fullName} has the unsupported type ${field.type}`);
  return wireType;
}
