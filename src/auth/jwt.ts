import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { JwtConfig } from '../config.js';
import { AppError } from '../errors.js';
import { isValidUid } from '../strings.js';

/** Who is calling, and until when their credentials hold (a JWT's exp; a signature token is checked once). */
export interface Caller {
  uid: string;
  expiresAt?: number;
}

/** Turns a bearer token into the caller, or throws -1010 / -1011. */
export type Authenticator = (token: string) => Promise<Caller>;

interface VerificationKey {
  key: Uint8Array | KeyObject;
  algorithms: string[];
}

function verificationKey(config: JwtConfig): VerificationKey {
  if (config.publicKey !== undefined) {
    const key = createPublicKey(config.publicKey);
    // The key decides the algorithm, so a token cannot pick a weaker one for itself.
    return { key, algorithms: key.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'] };
  }
  return { key: new TextEncoder().encode(config.secret), algorithms: ['HS256'] };
}

/** Tokens verified lately are kept (at most `cacheSize`) until they expire: a client sends the same token with every request. */
export function createJwtAuthenticator(config: JwtConfig, cacheSize: number): Authenticator {
  const { key, algorithms } = verificationKey(config);
  const verified = new Map<string, { uid: string; expiresAt: number }>();
  return async (token) => {
    const hit = verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit;
    verified.delete(token);

    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms,
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw AppError.credentialsExpired('the token has expired');
      if (err instanceof joseErrors.JOSEError) throw AppError.unauthenticated(`the token is not valid (${err.code})`);
      throw err;
    }
    const uid = payload.sub;
    if (!isValidUid(uid)) {
      throw AppError.unauthenticated('the token subject is not a valid uid (1 to 64 characters, no whitespace)');
    }
    // Only verified tokens are kept, each until its exp: a cached answer is the answer jose would give.
    const caller = { uid, expiresAt: payload.exp! * 1000 };
    if (cacheSize === 0) return caller;
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
    verified.set(token, caller);
    return caller;
  };
}

/** Signs an HS256 token; used by `npm run token` and by tests. */
export async function signToken(secret: string, uid: string, options: { ttlSeconds?: number; issuer?: string; audience?: string } = {}): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 86_400));
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
