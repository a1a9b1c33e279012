import { describe, expect, it } from "vitest";
import { boundedMemo } from "./semver-cache.js";

describe("boundedMemo", () => {
  it("parses each string once while it stays cached, null results included", () => {
    const calls: string[] = [];
    const memo = boundedMemo((s: string) => (calls.push(s), s === "bad" ? null : s.length), 4);
    expect([memo("a"), memo("bad"), memo("a"), memo("bad")]).toEqual([1, null, 1, null]);
    expect(calls).toEqual(["a", "bad"]);
  });

  it("keeps a recently used entry across a generation change and forgets cold ones", () => {
    const calls: string[] = [];
    const memo = boundedMemo((s: string) => (calls.push(s), s), 2);
    memo("a");
    memo("b"); // young full: a, b become old
    memo("a"); // hit in old, copied to young
    memo("c"); // young full again: a, c old; b dropped
    calls.length = 0;
    memo("a");
    memo("c");
    memo("b");
    expect(calls).toEqual(["b"]);
  });
});
