/**
 * A uid is 1 to 64 characters without whitespace or control characters (API.md §1). A lone UTF-16 surrogate
 * (which JSON can carry) is refused too: it has no UTF-8 form, so it could not be stored and read back intact.
 */
export const UID_PATTERN = '^[^\\s\\p{Cc}\\p{Cs}]{1,64}$';

const uidRegExp = new RegExp(UID_PATTERN, 'u');

export const isValidUid = (value: string): boolean => uidRegExp.test(value);
