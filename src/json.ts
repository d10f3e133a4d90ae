import { randomBytes } from 'node:crypto';

/**
 * JSON text of a value that may hold bigints, written as plain JSON numbers. dtalk's "muted for ever" is the
 * largest int64, 9223372036854775807, which no JavaScript number holds: JSON.stringify would refuse a bigint,
 * and the number it rounds to (…808) does not parse as a Java long, so the Android client would fail.
 */
export function stringify(value: unknown): string {
  let marked = false;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'bigint') return item;
    marked = true;
    return `${BIGINT_MARK}${item}`;
  });
  return marked ? text.replace(BIGINT_PATTERN, '$1') : text;
}

/** A mark no string of a client's can hold: it carries a secret of this process. */
const BIGINT_MARK = `bigint-${randomBytes(12).toString('hex')}:`;
const BIGINT_PATTERN = new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g');
