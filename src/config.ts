/**
 * One typed settings object, read from the environment (and `.env`, loaded by main.ts) and validated at
 * start-up. Every problem is collected so that one failed start names every bad setting at once. Longer than
 * most modules because every setting of the README's table is read here, with its check, in one place.
 */

import { parseRateLimit, type RateLimit } from './ratelimit/rate-limit.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig = { client: 'sqlite'; filename: string } | { client: 'pg'; connectionString: string };

export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM of an RSA or EC public key (RS256 / ES256). */
  publicKey?: string;
  issuer?: string;
  audience?: string;
  /** True when no key was configured and the development secret is in use. */
  usingDevelopmentSecret: boolean;
}

/** An S3-compatible object store for media (MEDIA_S3_*). */
export interface S3Config {
  bucket: string;
  /** Undefined: AWS S3 itself. */
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Bucket in the path (MinIO and most S3-compatible servers) rather than in the host name. */
  forcePathStyle: boolean;
  /** The public base URL of the bucket, when it serves its objects to anyone; else downloads are presigned. */
  publicUrl?: string;
  /** How long a presigned download URL is valid. */
  urlTtlMs: number;
}

export interface MediaConfig {
  /** Local media files, and uploads being received (with S3 too). */
  dir: string;
  /** The base of the media URLs handed out; undefined: the origin of each upload request. */
  publicUrl?: string;
  s3?: S3Config;
  maxObjectBytes: number;
  maxPartBytes: number;
  maxParts: number;
  uploadTtlMs: number;
}

export interface Config {
  port: number;
  /** Undefined: every interface, IPv6 and IPv4 (Node's default). */
  host?: string;
  database: DatabaseConfig;
  redisUrl?: string;
  redisPrefix: string;
  jwt: JwtConfig;
  dtalkSignature: boolean;
  /** How far ahead of the server's clock a FZM-SIGNATURE token may be dated. */
  dtalkMaxClockSkewMs: number;
  revokeWindowMs: number;
  /** A comet socket (GET /sub) with no heartbeat for this long is closed. */
  cometHeartbeatTimeoutMs: number;
  /** How often unacknowledged comet frames are sent again while the client acknowledges nothing... */
  cometResendMs: number;
  /** ...this many times at most; then the socket is closed. */
  cometMaxResends: number;
  /** A comet socket must send its Auth frame this soon after it opens. */
  cometAuthTimeoutMs: number;
  /** Most stream frames a comet socket may leave unacknowledged before pushing waits for it. */
  cometMaxUnacked: number;
  /** Acknowledgements of a burst are written together (device positions, delivery receipts) this long after the first. */
  ackFlushDelayMs: number;
  /** The /ws server pings this often and drops a socket that missed a whole period. */
  wsHeartbeatMs: number;
  /** Most bytes of records in one sync-record page. */
  syncMaxPageBytes: number;
  /** Events read from the database per query while a socket catches up. */
  realtimeReadPage: number;
  /** How long delivery waits for a missing notification before the sockets read from the database. */
  realtimeGapMs: number;
  /** `live`: sockets get committed events from their notifications; `database`: every socket reads each one back. */
  realtimeDelivery: 'live' | 'database';
  /** Largest JSON body of the non-push endpoints (a group invitation of 10,000 uids). */
  maxJsonBodyBytes: number;
  /** Verified JWTs kept until they expire, at most this many (0: none). */
  jwtCacheSize: number;
  /** How long /readyz waits for the database and Redis. */
  readinessTimeoutMs: number;
  maxMessageBytes: number;
  maxGroupMembers: number;
  wsMaxBufferedBytes: number;
  /** Most sockets (/ws and /sub together) one uid may hold on an instance; past it the oldest is closed. */
  maxSocketsPerUid: number;
  /** Most comet sockets open and not yet signed in, on an instance. */
  cometMaxPendingAuth: number;
  /** Most writes committed in one transaction (group commit); 1 turns batching off. */
  writeBatchMax: number;
  /** Sends per uid; undefined: unlimited. */
  rateLimitSends?: RateLimit;
  media: MediaConfig;
  logLevel: LogLevel;
  /**
   * NODE_ENV unset, `development` or `test`: the development conveniences (a public JWT secret, POST /dev/token)
   * are allowed. Anything else, `production` or a typo such as `prod`, is treated as production.
   */
  development: boolean;
}

/** Known to everyone, so only ever used in development, and announced with a warning. */
export const DEVELOPMENT_JWT_SECRET = 'chatlog-development-secret-not-for-production';

export const DEFAULT_SQLITE_FILE = './data/chatlog.db';

export const DEFAULT_MEDIA_DIR = './data/media';

/** The longest a SigV4 presigned URL can be valid. */
const MAX_PRESIGNED_TTL_MS = 7 * 86_400_000;

const MIN_SECRET_BYTES = 32;

/** Every setting chatlog reads; the README's table and .env.example document each (a test keeps them in step). */
export const SETTINGS = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_PREFIX',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_CACHE_SIZE',
  'AUTH_DTALK_SIGNATURE',
  'AUTH_DTALK_MAX_CLOCK_SKEW',
  'REVOKE_WINDOW',
  'MAX_MESSAGE_BYTES',
  'MAX_JSON_BODY_BYTES',
  'MAX_GROUP_MEMBERS',
  'SYNC_MAX_PAGE_BYTES',
  'WS_MAX_BUFFERED_BYTES',
  'WS_HEARTBEAT_INTERVAL',
  'MAX_SOCKETS_PER_UID',
  'REALTIME_READ_PAGE',
  'REALTIME_GAP_WAIT',
  'REALTIME_DELIVERY',
  'COMET_AUTH_TIMEOUT',
  'COMET_MAX_PENDING_AUTH',
  'COMET_HEARTBEAT_TIMEOUT',
  'COMET_RESEND_INTERVAL',
  'COMET_MAX_RESENDS',
  'COMET_MAX_UNACKED',
  'ACK_FLUSH_DELAY',
  'RATE_LIMIT_SENDS',
  'MEDIA_DIR',
  'PUBLIC_URL',
  'MAX_UPLOAD_BYTES',
  'MAX_UPLOAD_PART_BYTES',
  'MAX_UPLOAD_PARTS',
  'MULTIPART_UPLOAD_TTL',
  'MEDIA_S3_BUCKET',
  'MEDIA_S3_ENDPOINT',
  'MEDIA_S3_REGION',
  'MEDIA_S3_ACCESS_KEY_ID',
  'MEDIA_S3_SECRET_ACCESS_KEY',
  'MEDIA_S3_FORCE_PATH_STYLE',
  'MEDIA_S3_PUBLIC_URL',
  'MEDIA_S3_URL_TTL',
  'WRITE_BATCH_MAX',
  'READINESS_TIMEOUT',
  'LOG_LEVEL',
  'NODE_ENV',
] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `2m`, `24h`, `90s`, `500ms`, `7d`; a bare number is milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms']!;
  return Number.isSafeInteger(value) ? value : undefined;
}

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    // Every setting is listed once, so that the README and .env.example can be checked against the list.
    if (!(SETTINGS as readonly string[]).includes(name)) throw new Error(`${name} is read but not listed in SETTINGS`);
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = read(name);
    if (text === undefined) return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${text}")`);
      return fallback;
    }
    return value;
  };

  const boolean = (name: string, fallback = false): boolean => {
    const text = read(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    problems.push(`${name} must be true or false (got "${text}")`);
    return false;
  };

  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const text = read(name) ?? fallback;
    if (values.includes(text as T)) return text as T;
    problems.push(`${name} must be one of ${values.join(', ')} (got "${text}")`);
    return fallback;
  };

  const nodeEnv = read('NODE_ENV');
  const development = nodeEnv === undefined || nodeEnv === 'development' || nodeEnv === 'test';

  const port = integer('PORT', 8080, 0, 65535);
  const host = read('HOST');

  const database = parseDatabaseUrl(read('DATABASE_URL'), problems);

  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redisUrl}")`);
  }

  const redisPrefix = read('REDIS_PREFIX') ?? 'chatlog:';
  if (!/^[\x21-\x7e]{1,64}$/.test(redisPrefix)) problems.push(`REDIS_PREFIX must be 1 to 64 printable ASCII characters without spaces (got "${redisPrefix}")`);

  const jwt: JwtConfig = {
    secret: read('JWT_SECRET'),
    publicKey: read('JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n'),
    issuer: read('JWT_ISSUER'),
    audience: read('JWT_AUDIENCE'),
    usingDevelopmentSecret: false,
  };
  if (jwt.secret !== undefined && jwt.publicKey !== undefined) {
    problems.push('JWT_SECRET and JWT_PUBLIC_KEY are exclusive: set one of them');
  }
  // An HS256 secret is as strong as it is long: RFC 7518 asks for at least the hash size, 256 bits.
  if (!development && jwt.secret !== undefined && Buffer.byteLength(jwt.secret) < MIN_SECRET_BYTES) {
    problems.push(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes outside development (NODE_ENV=${nodeEnv})`);
  }
  if (jwt.publicKey !== undefined && !jwt.publicKey.includes('-----BEGIN PUBLIC KEY-----')) {
    problems.push('JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  if (jwt.secret === undefined && jwt.publicKey === undefined) {
    if (!development) problems.push(`JWT_SECRET (or JWT_PUBLIC_KEY) is required outside development (NODE_ENV=${nodeEnv})`);
    jwt.secret = DEVELOPMENT_JWT_SECRET;
    jwt.usingDevelopmentSecret = true;
  }

  const dtalkSignature = boolean('AUTH_DTALK_SIGNATURE');

  const duration = (name: string, fallback: string): number => {
    const text = read(name) ?? fallback;
    const value = parseDuration(text);
    if (value === undefined || value <= 0) {
      problems.push(`${name} must be a positive duration such as 3s, 2m or 24h (got "${text}")`);
      return parseDuration(fallback)!;
    }
    return value;
  };

  const rateLimitText = read('RATE_LIMIT_SENDS');
  const rateLimitSends = rateLimitText === undefined ? undefined : parseRateLimit(rateLimitText);
  if (rateLimitText !== undefined && rateLimitSends === undefined) {
    problems.push(`RATE_LIMIT_SENDS must look like "20/s burst 50", "600/m" or "1000/h burst 100" (got "${rateLimitText}")`);
  }

  const httpUrl = (name: string): string | undefined => {
    const text = read(name);
    if (text !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(text)) problems.push(`${name} must be an http:// or https:// URL (got "${text}")`);
    return text?.replace(/\/+$/, '');
  };

  const bucket = read('MEDIA_S3_BUCKET');
  const s3Settings = ['MEDIA_S3_ENDPOINT', 'MEDIA_S3_ACCESS_KEY_ID', 'MEDIA_S3_SECRET_ACCESS_KEY', 'MEDIA_S3_PUBLIC_URL'].filter(
    (name) => read(name) !== undefined,
  );
  if (bucket === undefined && s3Settings.length > 0)
    problems.push(`${s3Settings.join(', ')} ${s3Settings.length === 1 ? 'is' : 'are'} set but MEDIA_S3_BUCKET is not: set it to store media in S3`);
  if ((read('MEDIA_S3_ACCESS_KEY_ID') === undefined) !== (read('MEDIA_S3_SECRET_ACCESS_KEY') === undefined)) {
    problems.push('MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY go together: set both, or neither (the SDK then finds credentials itself)');
  }
  const s3Endpoint = httpUrl('MEDIA_S3_ENDPOINT');
  const s3: S3Config | undefined =
    bucket === undefined
      ? undefined
      : {
          bucket,
          endpoint: s3Endpoint,
          region: read('MEDIA_S3_REGION') ?? 'us-east-1',
          accessKeyId: read('MEDIA_S3_ACCESS_KEY_ID'),
          secretAccessKey: read('MEDIA_S3_SECRET_ACCESS_KEY'),
          // Servers other than AWS are reached by path; AWS itself by virtual host.
          forcePathStyle: boolean('MEDIA_S3_FORCE_PATH_STYLE', s3Endpoint !== undefined),
          publicUrl: httpUrl('MEDIA_S3_PUBLIC_URL'),
          urlTtlMs: Math.min(duration('MEDIA_S3_URL_TTL', '1h'), MAX_PRESIGNED_TTL_MS),
        };
  const media: MediaConfig = {
    dir: read('MEDIA_DIR') ?? DEFAULT_MEDIA_DIR,
    publicUrl: httpUrl('PUBLIC_URL'),
    s3,
    maxObjectBytes: integer('MAX_UPLOAD_BYTES', 1024 * 1024 * 1024, 1, 5 * 1024 ** 4),
    maxPartBytes: integer('MAX_UPLOAD_PART_BYTES', 32 * 1024 * 1024, 1, 5 * 1024 ** 3),
    maxParts: integer('MAX_UPLOAD_PARTS', 10_000, 1, 10_000),
    uploadTtlMs: duration('MULTIPART_UPLOAD_TTL', '24h'),
  };

  const logLevel = oneOf('LOG_LEVEL', LOG_LEVELS, 'info');

  const config: Config = {
    port,
    host,
    database,
    redisUrl,
    redisPrefix,
    jwt,
    dtalkSignature,
    dtalkMaxClockSkewMs: duration('AUTH_DTALK_MAX_CLOCK_SKEW', '24h'),
    revokeWindowMs: duration('REVOKE_WINDOW', '24h'),
    cometHeartbeatTimeoutMs: duration('COMET_HEARTBEAT_TIMEOUT', '8m'),
    cometResendMs: duration('COMET_RESEND_INTERVAL', '3s'),
    cometMaxResends: integer('COMET_MAX_RESENDS', 5, 1, 100),
    cometAuthTimeoutMs: duration('COMET_AUTH_TIMEOUT', '8s'),
    cometMaxUnacked: integer('COMET_MAX_UNACKED', 256, 1, 100_000),
    ackFlushDelayMs: duration('ACK_FLUSH_DELAY', '200ms'),
    wsHeartbeatMs: duration('WS_HEARTBEAT_INTERVAL', '30s'),
    syncMaxPageBytes: integer('SYNC_MAX_PAGE_BYTES', 1_048_576, 1024, 1024 * 1024 * 1024),
    realtimeReadPage: integer('REALTIME_READ_PAGE', 500, 1, 100_000),
    realtimeGapMs: duration('REALTIME_GAP_WAIT', '200ms'),
    realtimeDelivery: oneOf('REALTIME_DELIVERY', ['live', 'database'], 'live'),
    maxJsonBodyBytes: integer('MAX_JSON_BODY_BYTES', 1_048_576, 1024, 1024 * 1024 * 1024),
    jwtCacheSize: integer('JWT_CACHE_SIZE', 10_000, 0, 10_000_000),
    readinessTimeoutMs: duration('READINESS_TIMEOUT', '2s'),
    maxMessageBytes: integer('MAX_MESSAGE_BYTES', 65_536, 256, 16 * 1024 * 1024),
    maxGroupMembers: integer('MAX_GROUP_MEMBERS', 10_000, 2, 1_000_000),
    wsMaxBufferedBytes: integer('WS_MAX_BUFFERED_BYTES', 1_048_576, 1024, 1024 * 1024 * 1024),
    maxSocketsPerUid: integer('MAX_SOCKETS_PER_UID', 32, 1, 100_000),
    cometMaxPendingAuth: integer('COMET_MAX_PENDING_AUTH', 1024, 1, 1_000_000),
    writeBatchMax: integer('WRITE_BATCH_MAX', 64, 1, 1000),
    rateLimitSends,
    media,
    logLevel,
    development,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseDatabaseUrl(url: string | undefined, problems: string[]): DatabaseConfig {
  if (url === undefined) return { client: 'sqlite', filename: DEFAULT_SQLITE_FILE };
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (filename === '') problems.push('DATABASE_URL=sqlite:<path> needs a file path');
    return { client: 'sqlite', filename };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { client: 'pg', connectionString: url };
  problems.push(`DATABASE_URL must be sqlite:<path> or postgres://... (got "${url}")`);
  return { client: 'sqlite', filename: DEFAULT_SQLITE_FILE };
}
