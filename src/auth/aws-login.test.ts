import { describe, expect, it } from "vitest";
import { AwsLoginTokens } from "./aws-login.js";

describe("AwsLoginTokens", () => {
  const key = Buffer.alloc(32, 7);
  it("verifies its own passwords until they expire, without a colon", () => {
    let now = 1000;
    const t = new AwsLoginTokens({ tokenKey: key, ttlSeconds: 60, now: () => now });
    const { password, expiresAt } = t.mint("alice");
    expect(password).not.toContain(":");
    expect(expiresAt).toBe(1060);
    expect(t.verify(password)).toBe("alice");
    now = 1060;
    expect(t.verify(password)).toBeNull();
  });
  it("rejects other keys and tampered payloads", () => {
    const a = new AwsLoginTokens({ tokenKey: key, ttlSeconds: 60 });
    const b = new AwsLoginTokens({ tokenKey: Buffer.alloc(32, 8), ttlSeconds: 60 });
    const { password } = a.mint("alice");
    expect(b.verify(password)).toBeNull();
    const [v, , mac] = password.split(".");
    const forged = Buffer.from(JSON.stringify({ s: "root", e: 9e12 })).toString("base64url");
    expect(a.verify(`${v}.${forged}.${mac}`)).toBeNull();
    expect(a.verify("not-a-token")).toBeNull();
  });
});
