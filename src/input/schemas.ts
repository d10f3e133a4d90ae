/** JSON Schema building blocks shared by the route schemas. */
import { AppError } from '../errors.js';
import { UID_PATTERN } from '../strings.js';

export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A server-assigned id, as a JSON number or a decimal string (API.md §1). */
export const idSchema = {
  type: ['integer', 'string'],
  minimum: 1,
  maximum: MAX_ID,
  pattern: '^[1-9][0-9]{0,15}$',
  errorHint: 'must be a positive integer, as a number or a decimal string',
} as const;

/** A stream position: an id, or 0 for the beginning. */
export const positionSchema = {
  type: ['integer', 'string'],
  minimum: 0,
  maximum: MAX_ID,
  pattern: '^(0|[1-9][0-9]{0,15})$',
  errorHint: 'must be an integer >= 0, as a number or a decimal string',
} as const;

export const uidSchema = {
  type: 'string',
  pattern: UID_PATTERN,
  errorHint: 'must be a uid: 1 to 64 characters without whitespace',
} as const;

export const countSchema = (max: number) => ({ type: 'integer', minimum: 1, maximum: max, errorHint: `must be an integer between 1 and ${max}` }) as const;

export const channelTypeSchema = { type: 'integer', enum: [0, 1], errorHint: 'must be 0 (private) or 1 (group)' } as const;

/** Converts a validated id or position to a number; a 16-digit string may still exceed 2^53. */
export function toId(value: number | string, field: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id)) throw AppError.invalidParams(`${field} must be below 2^53`);
  return id;
}
