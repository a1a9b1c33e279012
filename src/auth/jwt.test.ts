import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { JwtError, signJwt, verifyJwt, type JwtClaims } from "./jwt.js";

const key = Buffer.from("k".repeat(32));
const now = 1_700_000_000;
const claims: JwtClaims = {
  iss: "drydock",
  sub: "alice",
  aud: "drydock",
  exp: now + 300,
  nbf: now,
  iat: now,
  jti: "id-1",
  access: [{ type: "repository", name: "a/b", actions: ["pull"] }],
};
const opts = { issuer: "drydock", audience: "drydock", now };

function part(token: string, i: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[i]!, "base64url").toString()) as Record<string, unknown>;
}

describe("HS256 JWT", () => {
  it("signs a three-part token with an HS256 header and verifies it", () => {
    const t = signJwt(claims, key);
    expect(t.split(".")).toHaveLength(3);
    expect(part(t, 0)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(verifyJwt(t, key, opts)).toEqual(claims);
  });

  it("signs with HMAC-SHA256 over header.payload (RFC 7515 appendix A.1 key)", () => {
    const rfcKey = Buffer.from(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
      "base64url",
    );
    const t = signJwt(claims, rfcKey);
    const [h, p, s] = t.split(".") as [string, string, string];
    expect(s).toBe(createHmac("sha256", rfcKey).update(`${h}.${p}`).digest("base64url"));
  });

  it("rejects expired and not-yet-valid tokens, with leeway", () => {
    const t = signJwt(claims, key);
    expect(() => verifyJwt(t, key, { ...opts, now: now + 300 })).toThrow(/expired/);
    expect(verifyJwt(t, key, { ...opts, now: now + 305, leewaySeconds: 10 }).sub).toBe("alice");
    expect(() => verifyJwt(t, key, { ...opts, now: now - 60 })).toThrow(/not yet valid/);
    expect(() =>
      verifyJwt(signJwt({ ...claims, exp: undefined as unknown as number }, key), key, opts),
    ).toThrow(JwtError);
  });

  it("rejects a tampered payload, a tampered signature and a different key", () => {
    const t = signJwt(claims, key);
    const [h, , s] = t.split(".") as [string, string, string];
    const evil = Buffer.from(JSON.stringify({ ...claims, sub: "root" })).toString("base64url");
    expect(() => verifyJwt(`${h}.${evil}.${s}`, key, opts)).toThrow(/signature/);
    const flipped = s.slice(0, -2) + (s.endsWith("A") ? "BA" : "AA");
    expect(() => verifyJwt(`${t.split(".").slice(0, 2).join(".")}.${flipped}`, key, opts)).toThrow(JwtError);
    expect(() => verifyJwt(t, Buffer.from("x".repeat(32)), opts)).toThrow(/signature/);
  });

  it("rejects alg none, other algorithms and malformed tokens", () => {
    const t = signJwt(claims, key);
    const p = t.split(".")[1]!;
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    expect(() => verifyJwt(`${none}.${p}.`, key, opts)).toThrow(/algorithm/);
    const rs = Buffer.from(JSON.stringify({ alg: "RS256" })).toString("base64url");
    expect(() => verifyJwt(`${rs}.${p}.${t.split(".")[2]}`, key, opts)).toThrow(/algorithm/);
    expect(() => verifyJwt("abc", key, opts)).toThrow(/malformed/);
    expect(() => verifyJwt("a.b.c.d", key, opts)).toThrow(/malformed/);
    expect(() => verifyJwt(`${t}!`, key, opts)).toThrow(JwtError);
  });

  it("checks issuer and audience", () => {
    const t = signJwt(claims, key);
    expect(() => verifyJwt(t, key, { ...opts, issuer: "other" })).toThrow(/issuer/);
    expect(() => verifyJwt(t, key, { ...opts, audience: "other" })).toThrow(/audience/);
    expect(
      verifyJwt(signJwt({ ...claims, aud: ["x", "drydock"] as unknown as string }, key), key, opts).sub,
    ).toBe("alice");
  });
});
