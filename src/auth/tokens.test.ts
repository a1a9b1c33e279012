import { describe, expect, it } from "vitest";
import { signJwt } from "./jwt.js";
import { TokenIssuer } from "./tokens.js";

const key = Buffer.from("k".repeat(32));

describe("TokenIssuer", () => {
  it("issues tokens valid for ttlSeconds (plus a small leeway)", () => {
    let now = 1_700_000_000;
    const issuer = new TokenIssuer({ key, service: "drydock", ttlSeconds: 60, now: () => now });
    const access = [{ type: "repository" as const, name: "a", actions: ["pull"] }];
    const t = issuer.issue("alice", access);
    expect(t.expires_in).toBe(60);
    expect(t.issued_at).toBe(new Date(now * 1000).toISOString());
    expect(issuer.verify(t.token)).toEqual({ username: "alice", access });
    now += 69;
    expect(issuer.verify(t.token).username).toBe("alice");
    now += 1;
    expect(() => issuer.verify(t.token)).toThrow(/expired/);
  });

  it("refuses tokens for another service", () => {
    const a = new TokenIssuer({ key, service: "a", ttlSeconds: 60 });
    const b = new TokenIssuer({ key, service: "b", ttlSeconds: 60 });
    expect(() => b.verify(a.issue("alice", []).token)).toThrow(/issuer/);
  });

  it("keeps only well-formed access entries", () => {
    const issuer = new TokenIssuer({ key, service: "s", ttlSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const t = signJwt(
      {
        iss: "s",
        sub: "alice",
        aud: "s",
        exp: now + 60,
        nbf: now,
        iat: now,
        jti: "x",
        access: [
          { type: "repository", name: "ok", actions: ["pull"] },
          { type: "repository", name: 1, actions: ["pull"] },
          { type: "other", name: "x", actions: ["pull"] },
          { type: "repository", name: "y", actions: "pull" },
          null,
        ],
      },
      key,
    );
    expect(issuer.verify(t).access).toEqual([{ type: "repository", name: "ok", actions: ["pull"] }]);
  });
});
