import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RateLimit } from './rate-limit.js';

export type Decision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Decides whether a user may send now. */
export interface SendLimiter {
  take(uid: string): Promise<Decision>;
  close(): Promise<void>;
}

function refill(limit: RateLimit, tokens: number, elapsedMs: number): number {
  return Math.min(limit.burst, tokens + (elapsedMs / 1000) * limit.ratePerSecond);
}

function retryAfterMs(limit: RateLimit, tokens: number): number {
  return Math.ceil(((1 - tokens) / limit.ratePerSecond) * 1000);
}

/** One instance: the buckets live in this process. */
export class MemorySendLimiter implements SendLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    // A full bucket holds no information: dropping it keeps the map to the users who sent lately.
    const fullAfterMs = (limit.burst / limit.ratePerSecond) * 1000;
    this.sweeper = setInterval(
      () => {
        const cutoff = this.now() - fullAfterMs;
        for (const [uid, bucket] of this.buckets) if (bucket.at < cutoff) this.buckets.delete(uid);
      },
      Math.max(1000, Math.min(fullAfterMs, 60_000)),
    );
    this.sweeper.unref();
  }

  async take(uid: string): Promise<Decision> {
    const now = this.now();
    const bucket = this.buckets.get(uid);
    const tokens = bucket ? refill(this.limit, bucket.tokens, now - bucket.at) : this.limit.burst;
    if (tokens < 1) {
      this.buckets.set(uid, { tokens, at: now });
      return { allowed: false, retryAfterMs: retryAfterMs(this.limit, tokens) };
    }
    this.buckets.set(uid, { tokens: tokens - 1, at: now });
    return { allowed: true };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/**
 * The bucket in Redis, taken atomically by a script with Redis's own clock, so that the limit holds across
 * every instance. Should Redis not answer, sends are allowed: the limit protects the service, and refusing
 * every send because Redis is away would be the bigger outage.
 */
export class RedisSendLimiter implements SendLimiter {
  private readonly redis: Redis;

  private static readonly SCRIPT = `
    local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
    local time = redis.call('TIME')
    local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
    local tokens = tonumber(state[1]) or burst
    local at = tonumber(state[2]) or now
    tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
    local allowed = 0
    if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
    redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
    if allowed == 1 then return {1, 0} end
    return {0, math.ceil((1 - tokens) / rate * 1000)}
  `;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly limit: RateLimit,
    private readonly logger: Logger,
  ) {
    this.redis = new Redis(url, { connectionName: `${prefix}limiter`, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.redis.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'rate limiter redis error'));
  }

  async take(uid: string): Promise<Decision> {
    try {
      const [allowed, retryAfter] = (await this.redis.eval(
        RedisSendLimiter.SCRIPT,
        1,
        `${this.prefix}ratelimit:${uid}`,
        this.limit.ratePerSecond,
        this.limit.burst,
      )) as [number, number];
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: retryAfter };
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'rate limiter unavailable; allowing the send');
      return { allowed: true };
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
