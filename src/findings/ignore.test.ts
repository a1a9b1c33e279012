import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../core/errors.js";
import { applyIgnores, isExpired, readIgnoreFile, type IgnoreEntry } from "./ignore.js";
import { testFinding } from "./testing.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-ignore-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const entry = (e: Partial<IgnoreEntry>): IgnoreEntry => ({
  id: "CVE-2023-0286",
  reason: "not reachable",
  expires: "2099-12-31",
  ...e,
});

describe("readIgnoreFile", () => {
  it("reads YAML and JSON", async () => {
    const yaml = await file(
      "ignore.yaml",
      [
        "ignore:",
        "  - id: CVE-2023-0286",
        "    package: openssl",
        "    reason: TLS is terminated by the load balancer",
        "    expires: 2026-12-31",
        "  - id: GHSA-4374-p667-p6c8",
        "    reason: no HTTP/2 server",
        "    expires: 2026-06-30T12:00:00Z",
        "",
      ].join("\n"),
    );
    expect(await readIgnoreFile(yaml)).toEqual([
      {
        id: "CVE-2023-0286",
        package: "openssl",
        reason: "TLS is terminated by the load balancer",
        expires: "2026-12-31",
      },
      { id: "GHSA-4374-p667-p6c8", reason: "no HTTP/2 server", expires: "2026-06-30T12:00:00Z" },
    ]);
    const json = await file(
      "ignore.json",
      JSON.stringify({ ignore: [{ id: "CVE-1", reason: "r", expires: "2026-01-01" }] }),
    );
    expect(await readIgnoreFile(json)).toEqual([{ id: "CVE-1", reason: "r", expires: "2026-01-01" }]);
    expect(await readIgnoreFile(await file("empty.yaml", ""))).toEqual([]);
  });

  it.each([
    ["ignore:\n  - id: CVE-1\n    expires: 2026-01-01\n", /ignore\.0\.reason/],
    ["ignore:\n  - id: CVE-1\n    reason: ''\n    expires: 2026-01-01\n", /needs a reason/],
    ["ignore:\n  - id: CVE-1\n    reason: r\n", /ignore\.0\.expires/],
    ["ignore:\n  - id: CVE-1\n    reason: r\n    expires: next week\n", /expires must be a date/],
    ["ignore:\n  - id: CVE-1\n    reason: r\n    expires: 2026-02-30\n", /expires must be a date/],
    // a typo must not widen the entry to every package
    ["ignore:\n  - id: CVE-1\n    packge: openssl\n    reason: r\n    expires: 2026-01-01\n", /packge/],
    ["ignore: [\n", /not valid YAML/],
  ])("refuses %j with a clear error", async (text, message) => {
    const path = await file("bad.yaml", text);
    const err = await readIgnoreFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path);
  });

  it("says which file it cannot read", async () => {
    await expect(readIgnoreFile(join(dir, "missing.yaml"))).rejects.toThrow(
      /cannot read ignore file .*missing\.yaml/,
    );
  });
});

describe("isExpired", () => {
  it("keeps a day-entry active through that whole UTC day", () => {
    const e = entry({ expires: "2026-03-01" });
    expect(isExpired(e, new Date("2026-03-01T23:59:59Z"))).toBe(false);
    expect(isExpired(e, new Date("2026-03-02T00:00:00Z"))).toBe(true);
  });

  it("expires a timestamp entry at that instant", () => {
    const e = entry({ expires: "2026-03-01T12:00:00Z" });
    expect(isExpired(e, new Date("2026-03-01T11:59:59Z"))).toBe(false);
    expect(isExpired(e, new Date("2026-03-01T12:00:00Z"))).toBe(true);
  });
});

describe("applyIgnores", () => {
  const now = new Date("2026-01-15T00:00:00Z");
  const openssl = testFinding({ aliases: ["DSA-5343-1"] });
  const lodash = testFinding({
    vulnerabilityId: "NSWG-ECO-516",
    package: {
      name: "lodash",
      version: "4.17.15",
      ecosystem: "npm",
      purl: "pkg:npm/lodash@4.17.15",
      path: "/app/package-lock.json",
    },
  });
  const lodashMerge = testFinding({
    vulnerabilityId: "NSWG-ECO-516",
    package: {
      name: "lodash.merge",
      version: "4.6.1",
      ecosystem: "npm",
      purl: "pkg:npm/lodash.merge@4.6.1",
      path: "/app/package-lock.json",
    },
  });
  const django = testFinding({
    vulnerabilityId: "CVE-2019-11358",
    package: {
      name: "Django",
      version: "2.2",
      ecosystem: "pypi",
      purl: "pkg:pypi/django@2.2",
      path: "/app/requirements.txt",
    },
  });

  it("suppresses by id or alias, any case", () => {
    for (const id of ["CVE-2023-0286", "cve-2023-0286", "DSA-5343-1"]) {
      const r = applyIgnores([openssl, lodash], [entry({ id })], now);
      expect(r.kept).toEqual([lodash]);
      expect(r.ignored).toEqual([{ finding: openssl, entry: entry({ id }) }]);
    }
  });

  it("scopes an entry to a package name (compared as the ecosystem does) or a purl", () => {
    const findings = [lodash, lodashMerge, django];
    const byName = applyIgnores(findings, [entry({ id: "NSWG-ECO-516", package: "lodash" })], now);
    expect(byName.ignored.map((i) => i.finding)).toEqual([lodash]);
    // purl prefixes end where a purl part ends: pkg:npm/lodash never covers lodash.merge
    for (const purl of ["pkg:npm/lodash", "pkg:npm/lodash@4.17.15"]) {
      const r = applyIgnores(findings, [entry({ id: "NSWG-ECO-516", package: purl })], now);
      expect(r.ignored.map((i) => i.finding)).toEqual([lodash]);
    }
    expect(
      applyIgnores(findings, [entry({ id: "NSWG-ECO-516", package: "pkg:npm/lodash@4.17.16" })], now).ignored,
    ).toEqual([]);
    expect(applyIgnores(findings, [entry({ id: "CVE-2019-11358", package: "django" })], now).kept).toEqual([
      lodash,
      lodashMerge,
    ]);
  });

  it("reports expired entries and lets them suppress nothing", () => {
    const expired = entry({ expires: "2026-01-14" });
    const active = entry({ id: "NSWG-ECO-516", expires: "2026-01-15" });
    const r = applyIgnores([openssl, lodash], [expired, active], now);
    expect(r.kept).toEqual([openssl]);
    expect(r.ignored.map((i) => i.finding)).toEqual([lodash]);
    expect(r.expired).toEqual([expired]);
  });
});
