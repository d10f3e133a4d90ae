/** A uid is 1 to 64 characters without whitespace or control characters (API.md §1). */
export const UID_PATTERN = '^[^\\s\\p{Cc}]{1,64}$';

const uidRegExp = new RegExp(UID_PATTERN, 'u');

export const isValidUid = (value: string): boolean => uidRegExp.test(value);
