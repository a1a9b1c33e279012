import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, sharedDir } from "./harness.js";

/**
 * `drydock version compare` as users run it: the built CLI in a child process, results on
 * stdout, exit 2 with one clear line on stderr for bad usage.
 */

const cli = join(repoRoot, "dist/cli/main.js");

function drydock(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  if (!existsSync(cli)) throw new Error("dist/cli/main.js missing: run `npm run build` first");
  const r = spawnSync(process.execPath, [cli, "version", "compare", ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("drydock version compare", () => {
  it.each([
    ["deb", "1.0-1", "1.0-2", "-1"],
    ["deb", "1:0.9", "2.0", "1"],
    ["rpm", "1.0^git1", "1.0", "1"],
    ["apk", "1.2.3_rc1-r0", "1.2.3-r0", "-1"],
    ["semver", "1.2.3", "v1.2.3", "0"],
    ["npm", "1.10.0", "1.9.0", "1"],
    ["go", "v1.2.3", "v1.2.3+incompatible", "0"],
    ["golang", "v0.0.0-20210101000000-abcdef123456", "v0.0.1", "-1"],
    ["cargo", "1.0.0-alpha.1", "1.0.0-alpha.beta", "-1"],
  ])("--scheme %s %s %s prints %s", (scheme, a, b, want) => {
    const r = drydock(["--scheme", scheme, a, b]);
    expect(r).toEqual({ code: 0, stdout: `${want}\n`, stderr: "" });
  });

  it("refuses an unknown scheme with exit 2 and the list of schemes", () => {
    const r = drydock(["--scheme", "dpkg", "1", "2"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^drydock: unknown --scheme "dpkg": use one of .*\bdeb\b.*\bsemver\b/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("needs two versions without --batch, none with it", () => {
    expect(drydock(["--scheme", "deb", "1.0"])).toMatchObject({ code: 2, stdout: "" });
    expect(drydock(["--scheme", "deb", "--batch", "1.0"], "")).toMatchObject({ code: 2, stdout: "" });
  });

  it("exits 2 on a usage error: no --scheme, an unknown option", () => {
    const r = drydock(["1.0", "2.0"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/^error: required option '-s, --scheme <scheme>' not specified/);
    expect(drydock(["--scheme", "deb", "--bogus", "1", "2"])).toMatchObject({ code: 2, stdout: "" });
  });

  it("--batch prints one result per line (CRLF and a missing final newline are fine)", () => {
    const r = drydock(["--scheme", "deb", "--batch"], "1.0\t2.0\r\n2.0\t1.0\n1.0\t1.0\n1:1\t2");
    expect(r).toEqual({ code: 0, stdout: "-1\n1\n0\n1\n", stderr: "" });
    expect(drydock(["--scheme", "rpm", "--batch"], "")).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("--batch stops at a malformed line with exit 2, after printing the results before it", () => {
    const r = drydock(["--scheme", "apk", "--batch"], "1.0\t1.1\nno tab here\n2.0\t1.0\n");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("-1\n");
    expect(r.stderr).toMatch(/line 2: expected two versions separated by one tab/);
  });

  const osvDebian = join(sharedDir, "testdata/versions/osv-semantic/debian.json");
  it.skipIf(!existsSync(osvDebian))("--batch agrees with dpkg on OSV's Debian list, both directions", () => {
    const cases = (
      JSON.parse(readFileSync(osvDebian, "utf8")) as { generated_cases: [string, string, number][] }
    ).generated_cases;
    const input = cases.map(([a, b]) => `${a}\t${b}\n${b}\t${a}\n`).join("");
    const want = cases.map(([, , s]) => `${s}\n${-s}\n`).join("");
    const r = drydock(["--scheme", "deb", "--batch"], input);
    expect(r.code).toBe(0);
    expect(r.stdout === want).toBe(true);
  });
});
