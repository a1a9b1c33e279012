import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { openScratchStores } from "../storage/open.js";
import { warmUpRegistry } from "./warmup.js";

describe("start-up warm-up", () => {
  it("pushes and pulls its throwaway image, and leaves nothing behind", async () => {
    const leftovers = async () => (await readdir(tmpdir())).filter((n) => n.startsWith("drydock-scratch-"));
    const before = await leftovers();
    expect(await warmUpRegistry(4 * 1024 * 1024, openScratchStores)).toBeNull();
    expect(await leftovers()).toEqual(before);
  });

  it("reports a failure instead of throwing (a manifest limit too small for its manifest)", async () => {
    const err = await warmUpRegistry(10, openScratchStores);
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(/PUT \/v2\/warmup\/image\/manifests\/latest: 413/);
  });
});
