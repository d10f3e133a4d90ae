import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';
import { AppError } from '../errors.js';

/** How far a token's timestamp may lie behind (expired) or ahead (refused) of the server's clock. */
export const SIGNATURE_TOLERANCE_MS = 120_000;

const base58check = createBase58check(sha256);
const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COMPRESSED_KEY_HEX = /^0[23][0-9a-fA-F]{64}$/;
const TIMESTAMP = /^[0-9]{1,16}$/;

/** The uid of a public key: base58check(0x00 ‖ RIPEMD160(SHA256(pub))), a Bitcoin P2PKH address. */
export function uidOfPublicKey(publicKey: Uint8Array): string {
  return base58check.encode(new Uint8Array([0, ...ripemd160(sha256(publicKey))]));
}

/**
 * Verifies a dtalk `FZM-SIGNATURE` token, `<sig>#<ts>*<appId>#<pub>` (API.md §2), and returns its uid.
 * `sig` is base64 of r ‖ s ‖ recid over SHA-256 of the ASCII `<ts>*<appId>`; the key recovered from it must be
 * `pub`. The signature is checked before the time, so an expired token is told apart from a forged one.
 */
export function verifyDtalkSignature(token: string, now: number = Date.now()): string {
  const parts = token.trim().split('#');
  if (parts.length !== 3) throw invalid('expected <signature>#<timestamp>*<appId>#<public key>');
  const [signatureText, signed, publicKeyHex] = parts as [string, string, string];
  const star = signed.indexOf('*');
  const timestampText = star < 0 ? '' : signed.slice(0, star);
  if (!TIMESTAMP.test(timestampText) || signed.slice(star + 1) === '') throw invalid('expected <timestamp>*<appId> between the #s');
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
  if (now > timestamp + SIGNATURE_TOLERANCE_MS) throw AppError.credentialsExpired('the signature token has expired (older than 120 s)');
  if (timestamp > now + SIGNATURE_TOLERANCE_MS) throw invalid('the token is dated more than 120 s ahead of the server clock');
  return uidOfPublicKey(Buffer.from(publicKeyHex, 'hex'));
}

function invalid(reason: string): AppError {
  return AppError.unauthenticated(`invalid FZM-SIGNATURE: ${reason}`);
}
