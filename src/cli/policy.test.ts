import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../core/errors.js";
import { PULL_POLICY, readStoredPolicy } from "../policy/gate/source.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { storePolicy } from "./policy.js";

/** `drydock policy set`'s core: parse (JSON or YAML), validate, store; a bad policy stores nothing. */
describe("storePolicy", () => {
  let dir: string;
  let meta: MetaStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-policy-cli-"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  const o = { knownKeys: ["release"], by: "cli:test" };

  it("stores a YAML or JSON policy with its defaults", async () => {
    const yamlText = [
      "pull:",
      "  - repositories: [prod/**]",
      "    blockSeverity: HIGH",
      "    requireScan: true",
      "    requireSignature: {keys: [release]}",
      "    bypassUsers: [deployer]",
      "scanWaitSeconds: 30",
    ].join("\n");
    expect(await storePolicy(meta, yamlText, o)).toBe(1);
    expect((await readStoredPolicy(meta))?.doc).toEqual({
      pull: [
        {
          repositories: ["prod/**"],
          blockSeverity: "HIGH",
          requireScan: true,
          requireSignature: { keys: ["release"] },
          onUnsupported: "deny",
          onFailed: "deny",
          bypassUsers: ["deployer"],
        },
      ],
      scanWaitSeconds: 30,
      cacheSeconds: 2,
    });
    expect(await storePolicy(meta, '{"pull": []}', o)).toBe(2);
    expect((await meta.policies.get(PULL_POLICY))?.updatedBy).toBe("cli:test");
  });

  it.each([
    ['{"pull": [{"repositories": ["a"], "blockSeverity": "SEVERE"}]}', "pull[0].blockSeverity"],
    ['{"pull": [{"repositories": []}]}', "pull[0].repositories"],
    ['{"pull": [{"repositories": ["a"]}, {"repositories": ["b"], "blockSeverty": "HIGH"}]}', "pull[1]"],
    [
      '{"pull": [{"repositories": ["a"], "requireSignature": {"keys": ["nope"]}}]}',
      'pull[0].requireSignature.keys[0]: no signature key named "nope"',
    ],
    ['{"scanWaitSeconds": -1}', "scanWaitSeconds"],
    ['{"pull": [{"repositories": ["a"], "onFailed": "maybe"}]}', "pull[0].onFailed"],
    ["pull: [unclosed", "neither JSON nor YAML"],
    ['"just a string"', "invalid pull policy"],
  ])("refuses %s naming %s, storing nothing", async (text, where) => {
    await storePolicy(meta, '{"pull": []}', o);
    const err = await storePolicy(meta, text, o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(where);
    expect(await meta.policies.version(PULL_POLICY)).toBe(1);
  });

  it("with an expected version, refuses when someone else changed it", async () => {
    expect(await storePolicy(meta, "{}", { ...o, expectedVersion: 0 })).toBe(1);
    await expect(storePolicy(meta, "{}", { ...o, expectedVersion: 0 })).rejects.toThrow(
      "no longer at version 0",
    );
    expect(await storePolicy(meta, "{}", { ...o, expectedVersion: 1 })).toBe(2);
  });
});
