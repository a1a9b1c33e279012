/**
 * Per-destination invocation rate limits (an API destination's InvocationRateLimitPerSecond): a
 * token bucket per key in this process, with a burst of one second's worth. In a cluster each
 * delivering process has its own buckets, so the limit applies per process (docs/events.md).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; rate: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds to wait before the next send under `key` (0: go now, a token is taken). */
  take(key: string, perSecond: number): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b || b.rate !== perSecond) {
      b = { tokens: perSecond, at: now, rate: perSecond };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(perSecond, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / perSecond) * 1000);
  }
}
