import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadTokenKey, TOKEN_KEY_FILE } from "./secret.js";

describe("token key", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("uses the configured secret and writes nothing", async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-key-"));
    expect((await loadTokenKey("s".repeat(32), dir)).toString()).toBe("s".repeat(32));
    expect(await readdir(dir)).toEqual([]);
  });

  it("generates one key with mode 0600, even when many start at once", async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-key-"));
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadTokenKey(undefined, dir!)));
    expect(new Set(keys.map((k) => k.toString())).size).toBe(1);
    expect(await readdir(dir)).toEqual([TOKEN_KEY_FILE]);
    expect((await stat(join(dir, TOKEN_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await loadTokenKey(undefined, dir)).equals(keys[0]!)).toBe(true);
  });

  it("refuses a truncated key file", async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-key-"));
    await writeFile(join(dir, TOKEN_KEY_FILE), "short\n");
    await expect(loadTokenKey(undefined, dir)).rejects.toThrow(/too short/);
  });
});
