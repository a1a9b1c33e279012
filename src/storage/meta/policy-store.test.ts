import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { metaDrivers, type DriverFixture } from "./drivers-testing.js";

/**
 * PolicyStore conformance on both dialects: documents by name, the version every put and clear
 * moves (never back), compare-and-set between two connections (two nodes running
 * `drydock policy set` at once), and a put inside a rolled-back transaction leaving nothing.
 */
describe.each(metaDrivers("PolicyStore"))("PolicyStore (%s)", (_driver, open) => {
  let f: DriverFixture;
  let clock = 1_000;
  beforeEach(async () => {
    clock = 1_000;
    f = await open(() => clock);
  });
  afterEach(async () => {
    await f.store.close();
    await f.cleanup();
  });

  it("stores documents by name and moves the version on every put and clear", async () => {
    const p = f.store.policies;
    expect(await p.get("pull")).toBeNull();
    expect(await p.version("pull")).toBe(0);
    expect(await p.put("pull", '{"pull":[]}', "alice")).toBe(1);
    clock = 2_000;
    expect(await p.put("pull", '{"pull":[{"repositories":["a"]}]}', "bob")).toBe(2);
    expect(await p.get("pull")).toEqual({
      name: "pull",
      json: '{"pull":[{"repositories":["a"]}]}',
      version: 2,
      updatedBy: "bob",
      updatedAt: 2_000,
    });
    expect(await p.get("other")).toBeNull();
    expect(await p.clear("pull", "carol")).toBe(3);
    expect(await p.get("pull")).toBeNull();
    expect(await p.version("pull")).toBe(3);
    // clearing again changes nothing; a put after a clear continues the versions
    expect(await p.clear("pull", "carol")).toBe(3);
    expect(await p.clear("never", "carol")).toBe(0);
    expect(await p.put("pull", "{}", "dave")).toBe(4);
    expect((await p.get("pull"))?.json).toBe("{}");
  });

  it("compare and set: of two writers expecting the same version, one wins", async () => {
    const other = await f.another();
    try {
      expect(await f.store.policies.put("pull", "{}", "a", { expectedVersion: 0 })).toBe(1);
      expect(await other.policies.put("pull", '{"x":1}', "b", { expectedVersion: 0 })).toBeNull();
      const results = await Promise.all([
        f.store.policies.put("pull", '{"n":1}', "a", { expectedVersion: 1 }),
        other.policies.put("pull", '{"n":2}', "b", { expectedVersion: 1 }),
      ]);
      expect(results.filter((r) => r === 2)).toHaveLength(1);
      expect(results.filter((r) => r === null)).toHaveLength(1);
      const won = results[0] === 2 ? '{"n":1}' : '{"n":2}';
      expect((await other.policies.get("pull"))?.json).toBe(won);
      expect(await other.policies.put("pull", "{}", "b", { expectedVersion: 7 })).toBeNull();
      expect(await other.policies.version("pull")).toBe(2);
      expect(await f.store.policies.put("missing", "{}", "b", { expectedVersion: 1 })).toBeNull();
      expect(await f.store.policies.get("missing")).toBeNull();
    } finally {
      await other.close();
    }
  });

  it("a put in a transaction that rolls back leaves nothing", async () => {
    await expect(
      f.store.tx(async (tx) => {
        await tx.policies.put("pull", "{}", "a");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await f.store.policies.version("pull")).toBe(0);
  });
});
