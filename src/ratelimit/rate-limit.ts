/** A token bucket: `ratePerSecond` refill, at most `burst` tokens; every send takes one. */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/** `20/s burst 50`, `600/m`, `1000/h burst 100`; without a burst, the burst is the rate's count. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const match = /^(\d+)\s*\/\s*(s|m|h)(?:\s+burst\s+(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  const seconds = { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
  const burst = match[3] === undefined ? count : Number(match[3]);
  if (count < 1 || burst < 1) return undefined;
  return { ratePerSecond: count / seconds, burst };
}
