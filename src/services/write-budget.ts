import { AppError } from '../errors.js';
import type { SendLimiter } from '../ratelimit/send-limiter.js';

/**
 * Each user's budget of writes into other users' streams (RATE_LIMIT_SENDS): sends, recalls, marks and group
 * changes all take from it, whatever the transport. Without a limit configured, everything is allowed.
 */
export class WriteBudget {
  constructor(private readonly limiter?: SendLimiter) {}

  /** Takes one write, or refuses with -1029 and when to retry. */
  async take(uid: string): Promise<void> {
    const decision = (await this.limiter?.take(uid)) ?? { allowed: true };
    if (decision.allowed) return;
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw AppError.rateLimited(`too many messages and changes: at most the configured rate per user; retry in ${seconds} s`, seconds);
  }
}
