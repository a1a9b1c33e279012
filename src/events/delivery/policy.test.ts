import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, retryDelayMs, retryPolicyOf } from "./policy.js";
import { RateLimiter } from "./rate-limit.js";

describe("retry policy", () => {
  it("defaults to EventBridge's 185 retries within 24 hours; a target's RetryPolicy overrides", () => {
    expect(retryPolicyOf({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicyOf({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })).toEqual(
      {
        maximumRetryAttempts: 0,
        maximumEventAgeMs: 60_000,
      },
    );
  });

  it("retry n waits between d/2 and d, d = base · 2^(n-1) capped", () => {
    for (const [n, d] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [9, 256_000],
      [10, 300_000],
      [185, 300_000],
    ] as const) {
      expect(retryDelayMs(n, 1000, 300_000, () => 0)).toBe(d / 2);
      expect(retryDelayMs(n, 1000, 300_000, () => 1)).toBe(d);
    }
  });
});

describe("rate limiter", () => {
  it("lets a second's worth through, then spaces sends at the rate", () => {
    let now = 0;
    const r = new RateLimiter(() => now);
    for (let i = 0; i < 5; i++) expect(r.take("d", 5)).toBe(0);
    expect(r.take("d", 5)).toBe(200);
    now = 200;
    expect(r.take("d", 5)).toBe(0);
    expect(r.take("d", 5)).toBe(200);
    // Another destination has its own bucket.
    expect(r.take("e", 1)).toBe(0);
    expect(r.take("e", 1)).toBe(1000);
  });
});
