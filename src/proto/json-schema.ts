/**
 * JSON Schemas of messages' JSON forms, generated from imparse.proto: the .proto stays the only place a field is
 * declared, and the schemas validate pushes and build the OpenAPI document.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';
import { TEXT_PATTERN } from '../strings.js';
import { BASE64_PATTERN, integerRange } from './plain.js';

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema of a message's JSON form; unknown properties stay allowed (API.md §1). */
export function schemaOf(type: Type): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const field of type.fieldsArray) {
    const value = valueSchema(field);
    properties[field.name] = field.repeated ? { type: 'array', items: value } : value;
  }
  return { type: 'object', properties };
}

function valueSchema(field: Field): JsonSchema {
  if (field.resolvedType instanceof protobuf.Type) return schemaOf(field.resolvedType);
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = [...new Set(Object.values(field.resolvedType.values))].sort((a, b) => a - b);
    return { type: 'integer', enum: values };
  }
  switch (field.type) {
    case 'string':
      return { type: 'string', pattern: TEXT_PATTERN, errorHint: 'must be valid Unicode text without U+0000' };
    case 'bool':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'string', pattern: BASE64_PATTERN };
    default: {
      const [minimum, maximum] = integerRange(field.type, field);
      return { type: 'integer', minimum, maximum };
    }
  }
}
