import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { AppError } from '../errors.js';

/** How long a token lives after its own timestamp (API.md §2, as in dtalk). */
export const SIGNATURE_LIFETIME_MS = 120_000;

/**
 * How far ahead of the server's clock a token may be dated unless configured otherwise. dtalk had no such
 * check; one is kept so that a token cannot be minted to live for ever, but wide enough for a phone whose clock
 * runs fast.
 */
export const DEFAULT_SIGNATURE_MAX_SKEW_MS = 24 * 3_600_000;

const base58check = createBase58check(sha256);
const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COMPRESSED_KEY_HEX = /^0[23][0-9a-fA-F]{64}$/;
const TIMESTAMP = /^[0-9]{1,16}$/;

/** The uid of a public key: base58check(0x00 ‖ RIPEMD160(SHA256(pub))), a Bitcoin P2PKH address. */
export function uidOfPublicKey(publicKey: Uint8Array): string {
  return base58check.encode(new Uint8Array([0, ...ripemd160(sha256(publicKey))]));
}

export interface SignatureCheckOptions {
  now?: number;
  /** Most a token's timestamp may lie ahead of `now`. */
  maxSkewMs?: number;
}

/**
 * Verifies a dtalk `FZM-SIGNATURE` token, `<sig>#<ts>*<appId>#<pub>` (API.md §2), and returns its uid. As in
 * dtalk, the token splits on `#` into at least three parts (more are ignored) and the middle one on `*` into at
 * least two; the appId may be empty (the desktop client signs `<ts>*`) and is not checked. `sig` is base64 of
 * r ‖ s ‖ recid over SHA-256 of the middle part exactly as sent; the key recovered from it must be `pub`. The
 * signature is checked before the time, so an expired token is told apart from a forged one.
 */
export function verifyDtalkSignature(token: string, options: SignatureCheckOptions = {}): string {
  const { now = Date.now(), maxSkewMs = DEFAULT_SIGNATURE_MAX_SKEW_MS } = options;
  const parts = token.trim().split('#');
  if (parts.length < 3) throw invalid('expected <signature>#<timestamp>*<appId>#<public key>');
  const [signatureText, signed, publicKeyHex] = parts as [string, string, string];
  const star = signed.indexOf('*');
  const timestampText = star < 0 ? '' : signed.slice(0, star);
  if (!TIMESTAMP.test(timestampText)) throw invalid('expected <timestamp>*<appId> between the first two #s');
  if (!COMPRESSED_KEY_HEX.test(publicKeyHex)) throw invalid('the public key must be 33 bytes of compressed secp256k1 in hex');
  if (!STANDARD_BASE64.test(signatureText) || signatureText.length % 4 !== 0) throw invalid('the signature must be standard base64');
  const signature = Buffer.from(signatureText, 'base64');
  if (signature.length !== 65) throw invalid('the signature must be 65 bytes (r, s, recovery id)');
  const recoveryId = signature[64]!;
  if (recoveryId >= 4) throw invalid('the recovery id must be below 4');
  if ((signature[32]! & 0x80) !== 0) throw invalid('the high bit of s must be clear');

  let recovered: string;
  try {
    const digest = sha256(new TextEncoder().encode(signed));
    const point = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact').addRecoveryBit(recoveryId).recoverPublicKey(digest);
    recovered = Buffer.from(point.toBytes(true)).toString('hex');
  } catch {
    throw invalid('no public key can be recovered from the signature');
  }
  if (recovered !== publicKeyHex.toLowerCase()) throw invalid('the signature was not made by the public key');

  const timestamp = Number(timestampText);
  if (now > timestamp + SIGNATURE_LIFETIME_MS) throw AppError.credentialsExpired('the signature token has expired (older than 120 s)');
  if (timestamp > now + maxSkewMs) throw invalid(`the token is dated more than ${maxSkewMs} ms ahead of the server clock`);
  return uidOfPublicKey(Buffer.from(publicKeyHex, 'hex'));
}

function invalid(reason: string): AppError {
  return AppError.unauthenticated(`invalid FZM-SIGNATURE: ${reason}`);
}
