import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../errors.js';
import { verifyDtalkSignature } from './dtalk-signature.js';
import type { Authenticator, Caller } from './jwt.js';

/** Who is calling: from HTTP headers, or from a bare token (a WebSocket query string, a comet Auth frame). */
export interface Credentials {
  fromHeaders(headers: IncomingHttpHeaders): Promise<Caller>;
  fromToken(token: string): Promise<Caller>;
}

export interface CredentialOptions {
  dtalkSignature: boolean;
  /** How far ahead of `now` a signature token may be dated. */
  maxClockSkewMs: number;
  /** The clock signature tokens are checked against; tests replaying captured tokens set it back. */
  now?: () => number;
}

/** JWT bearer tokens always; dtalk FZM-SIGNATURE tokens when `dtalkSignature` is on. */
export function createCredentials(verifyJwt: Authenticator, options: CredentialOptions): Credentials {
  const now = options.now ?? Date.now;
  // A signature token is checked when it is presented, as dtalk did: a socket it opened does not expire with it.
  const signature = async (token: string): Promise<Caller> => ({ uid: verifyDtalkSignature(token, { now: now(), maxSkewMs: options.maxClockSkewMs }) });
  return {
    async fromHeaders(headers) {
      const authorization = headers.authorization;
      if (authorization !== undefined) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
        if (!match) throw AppError.unauthenticated('the Authorization header must be "Bearer <token>"');
        return verifyJwt(match[1]!);
      }
      const fzm = headers['fzm-signature'];
      if (options.dtalkSignature && typeof fzm === 'string') return signature(fzm);
      throw AppError.unauthenticated(
        options.dtalkSignature
          ? 'missing credentials: send Authorization: Bearer <token> or FZM-SIGNATURE'
          : 'missing credentials: send Authorization: Bearer <token>',
      );
    },
    async fromToken(token) {
      // A signature token has '#' separators, which never occur in a JWT (base64url and dots).
      if (options.dtalkSignature && token.includes('#')) return signature(token);
      return verifyJwt(token);
    },
  };
}
