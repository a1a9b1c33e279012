/**
 * A target's retry policy and the delay between attempts. EventBridge's defaults: 185 retries
 * within 24 hours. The delay before retry n (n ≥ 1) is base · 2^(n-1) capped at the maximum,
 * with "equal jitter": a uniformly random point in its upper half, so that deliveries failed
 * together do not come back together, and the schedule stays within known bounds
 * ([d/2, d]). A receiver's Retry-After replaces the computed delay (capped alike).
 */

export interface RetryPolicy {
  /** Retries after the first attempt (0–185). */
  maximumRetryAttempts: number;
  /** An event older than this is not attempted again (60–86,400 s). */
  maximumEventAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maximumRetryAttempts: 185, maximumEventAgeMs: 86_400_000 };

/** The policy of an AWS Target object (its RetryPolicy member, validated by PutTargets). */
export function retryPolicyOf(target: Record<string, unknown>): RetryPolicy {
  const p = target.RetryPolicy as
    { MaximumRetryAttempts?: unknown; MaximumEventAgeInSeconds?: unknown } | undefined;
  return {
    maximumRetryAttempts:
      typeof p?.MaximumRetryAttempts === "number"
        ? p.MaximumRetryAttempts
        : DEFAULT_RETRY_POLICY.maximumRetryAttempts,
    maximumEventAgeMs:
      typeof p?.MaximumEventAgeInSeconds === "number"
        ? p.MaximumEventAgeInSeconds * 1000
        : DEFAULT_RETRY_POLICY.maximumEventAgeMs,
  };
}

/** The delay before retry `retry` (1 = the first retry). */
export function retryDelayMs(retry: number, baseMs: number, maxMs: number, random = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(40, Math.max(0, retry - 1)));
  return Math.round(d / 2 + (d / 2) * random());
}
