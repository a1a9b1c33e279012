import { describe, expect, it, vi } from "vitest";

// Count bcrypt comparisons: the cache exists to avoid them.
const compares = vi.hoisted(() => ({ n: 0 }));
vi.mock("./password.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("./password.js")>();
  return {
    ...real,
    verifyPassword: (password: string, hash: string) => {
      compares.n++;
      return real.verifyPassword(password, hash);
    },
  };
});

const { CredentialChecker, parseBasic } = await import("./credentials.js");
const { hashPassword } = await import("./password.js");

describe("parseBasic", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  it("splits at the first colon (passwords may contain colons)", () => {
    expect(parseBasic(`Basic ${b64("alice:pa:ss")}`)).toEqual({ username: "alice", password: "pa:ss" });
    expect(parseBasic(`basic   ${b64("alice:")}`)).toEqual({ username: "alice", password: "" });
  });
  it("rejects malformed values", () => {
    expect(parseBasic(`Basic ${b64("nocolon")}`)).toBeNull();
    expect(parseBasic(`Basic ${b64(":pw")}`)).toBeNull();
    expect(parseBasic("Basic !!")).toBeNull();
    expect(parseBasic(`Bearer ${b64("a:b")}`)).toBeNull();
  });
});

describe("CredentialChecker", () => {
  it("remembers successes briefly, never failures", async () => {
    let now = 1_000_000;
    const users = [{ username: "alice", passwordHash: await hashPassword("right"), access: [] }];
    const checker = new CredentialChecker(users, { cacheTtlMs: 60_000, now: () => now });
    compares.n = 0;
    expect((await checker.check("alice", "right"))?.username).toBe("alice");
    expect(compares.n).toBe(1);
    const started = performance.now();
    for (let i = 0; i < 50; i++) expect(await checker.check("alice", "right")).not.toBeNull();
    expect(compares.n).toBe(1);
    expect(performance.now() - started).toBeLessThan(50);

    expect(await checker.check("alice", "wrong")).toBeNull();
    expect(await checker.check("alice", "wrong")).toBeNull();
    expect(compares.n).toBe(3);

    now += 60_001;
    expect(await checker.check("alice", "right")).not.toBeNull();
    expect(compares.n).toBe(4);
  });

  it("spends a bcrypt comparison on unknown users too (no username probing)", async () => {
    const checker = new CredentialChecker([]);
    compares.n = 0;
    expect(await checker.check("nobody", "x")).toBeNull();
    expect(compares.n).toBe(1);
  });

  it("bounds the cache", async () => {
    const hash = await hashPassword("pw");
    const users = ["a", "b", "c"].map((username) => ({ username, passwordHash: hash, access: [] }));
    const checker = new CredentialChecker(users, { cacheMax: 2 });
    compares.n = 0;
    for (const u of ["a", "b", "c", "a"]) await checker.check(u, "pw");
    // "a" was evicted when "c" arrived.
    expect(compares.n).toBe(4);
    await checker.check("c", "pw");
    expect(compares.n).toBe(4);
  });
});
