/**
 * What strings chatlog takes. Text it stores must be storable and read back intact on both engines: no U+0000
 * (PostgreSQL text cannot hold it), and no lone UTF-16 surrogate (JSON can carry one; it has no UTF-8 form).
 * uids are also free of whitespace, control and invisible format characters (U+200B, U+202E...), so that two
 * users never look alike.
 */
export const TEXT_PATTERN = '^[^\\u0000\\p{Cs}]*$';

export const UID_PATTERN = '^[^\\s\\p{Cc}\\p{Cf}\\p{Cs}]{1,64}$';

const uidRegExp = new RegExp(UID_PATTERN, 'u');
const textRegExp = new RegExp(TEXT_PATTERN, 'u');

/** Takes what a token or frame may carry, not only strings: a test of a regular expression would read 12345 as "12345". */
export const isValidUid = (value: unknown): value is string => typeof value === 'string' && uidRegExp.test(value);

export const isStorableText = (value: string): boolean => textRegExp.test(value);
