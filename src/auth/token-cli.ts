/** `npm run token -- <uid> [ttl]`: prints an HS256 token for uid, signed with the configured JWT_SECRET. */
import 'dotenv/config';
import { ConfigError, loadConfig, parseDuration } from '../config.js';
import { isValidUid } from '../strings.js';
import { signToken } from './jwt.js';

async function main(args: string[]): Promise<number> {
  const usage = 'usage: npm run token -- [--] <uid> [ttl, e.g. 1h or 7d]  (uid: 1 to 64 characters, no whitespace; -- before one that starts with -)';
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(usage);
    return 0;
  }
  // An option is never taken for a uid ("--ttl 1h" signing a token for "--ttl" would help nobody), unless after --.
  const literal = args[0] === '--';
  const [uid, ttl = '24h'] = literal ? args.slice(1) : args;
  if (uid === undefined || (!literal && uid.startsWith('-')) || !isValidUid(uid)) {
    console.error(usage);
    return 2;
  }
  const ttlMs = parseDuration(ttl);
  if (ttlMs === undefined || ttlMs < 1000) {
    console.error(`ttl must be a duration of at least 1s, such as 1h or 7d (got "${ttl}")`);
    return 2;
  }
  const { jwt } = loadConfig(process.env);
  if (jwt.secret === undefined) {
    console.error('JWT_PUBLIC_KEY is configured: tokens come from the holder of the private key, not from chatlog');
    return 1;
  }
  if (jwt.usingDevelopmentSecret) console.error('warning: no JWT_SECRET set; signing with the development secret');
  console.log(await signToken(jwt.secret, uid, { ttlSeconds: Math.floor(ttlMs / 1000), issuer: jwt.issuer, audience: jwt.audience }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
