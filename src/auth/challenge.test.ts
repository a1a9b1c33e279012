import { describe, expect, it } from "vitest";
import { bearerChallenge, tokenRealm } from "./challenge.js";

describe("Bearer challenge", () => {
  it("has realm and service, and no scope when nothing is needed (GET /v2/)", () => {
    expect(bearerChallenge({ realm: "http://127.0.0.1:5000/token", service: "drydock" })).toBe(
      'Bearer realm="http://127.0.0.1:5000/token",service="drydock"',
    );
  });

  it("lists the needed scope in Distribution's format", () => {
    expect(
      bearerChallenge({
        realm: "https://r.example/token",
        service: "drydock",
        access: [{ type: "repository", name: "team/app", actions: ["pull", "push"] }],
      }),
    ).toBe('Bearer realm="https://r.example/token",service="drydock",scope="repository:team/app:pull,push"');
  });

  it("space-separates several scopes and adds the RFC 6750 error", () => {
    expect(
      bearerChallenge({
        realm: "r",
        service: "s",
        access: [
          { type: "repository", name: "a", actions: ["pull"] },
          { type: "repository", name: "b", actions: ["pull"] },
          { type: "repository", name: "a", actions: ["push"] },
        ],
        error: "insufficient_scope",
      }),
    ).toBe(
      'Bearer realm="r",service="s",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"',
    );
  });

  it("escapes quotes so a hostile Host header cannot add parameters", () => {
    expect(bearerChallenge({ realm: 'http://x",scope="evil/token', service: "s" })).toBe(
      'Bearer realm="http://x\\",scope=\\"evil/token",service="s"',
    );
  });
});

describe("token realm", () => {
  it("uses the public URL when configured, else the request origin", () => {
    expect(tokenRealm("https://registry.example.com/", "127.0.0.1:5000", "http")).toBe(
      "https://registry.example.com/token",
    );
    expect(tokenRealm(undefined, "127.0.0.1:5000", "http")).toBe("http://127.0.0.1:5000/token");
    expect(tokenRealm(undefined, "r.example", "https")).toBe("https://r.example/token");
  });
});
