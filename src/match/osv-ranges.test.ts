import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Distro, Ecosystem, Package } from "../catalog/types.js";
import { osvItems } from "../vulndb/importers/osv.js";
import type { Advisory } from "../vulndb/types.js";
import { matchPackages } from "./matcher.js";
import type { AdvisoryLookup } from "./types.js";

/**
 * The OSV evaluation vectors (google/osv-scalibr's vulnerability_test.go, via
 * ../shared/testdata/versions/osv-ranges.json) run through the whole chain: the OSV importer
 * normalizes the record, the matcher looks the package up under its keys and evaluates the
 * ranges with the ecosystem's version scheme.
 */
const file = join(
  process.env.DRYDOCK_SHARED ?? fileURLToPath(new URL("../../../shared", import.meta.url)),
  "testdata/versions/osv-ranges.json",
);
const missing = existsSync(file) ? null : `${file} not found`;
if (missing) console.warn(`OSV range vectors skipped: ${missing}`);

interface Case {
  test: string;
  desc?: string;
  affected: unknown[];
  package: {
    ecosystem?: string;
    name: string;
    purl_type?: string;
    os_id?: string;
    os_version_id?: string;
    os_cpe_name?: string;
    source_name?: string;
    origin_name?: string;
    epoch?: number;
  };
  expect: { version: string; affected: boolean }[];
}

const PURL_TYPE: Record<string, Ecosystem> = { npm: "npm", PyPI: "pypi", Go: "golang" };

/**
 * Vectors whose premise Drydock does not share, each with the reason:
 * - the Go toolchain is cataloged as `stdlib` (as Go's own database names it), so the
 *   "package go maps to stdlib" rule has nothing to map;
 * - an empty installed version: Drydock never matches a package without a version (it reports
 *   it in the inventory instead of guessing that every advisory applies);
 * - a distro without a release (the openEuler vector gives only `os_id`): distro advisories are
 *   keyed by release (`openeuler:22.03`), so an image whose os-release names none cannot be
 *   looked up, rather than matched against every release's fixes.
 */
function deviation(c: Case, version: string): string | null {
  if (c.package.name === "go" && c.package.purl_type === "golang")
    return "Go toolchain is cataloged as stdlib";
  if (version === "") return "packages without a version are not matched";
  if (c.package.os_id && !distroVersion(c))
    return `${c.package.os_id} without a release cannot be keyed (advisories are per release)`;
  return null;
}

/**
 * The distro release as os-release would give it: VERSION_ID, else the version field of
 * CPE_NAME (`cpe:/o:redhat:enterprise_linux:9::baseos` → 9), which is all RHEL vectors give.
 */
function distroVersion(c: Case): string | undefined {
  if (c.package.os_version_id) return c.package.os_version_id;
  const cpe = c.package.os_cpe_name?.split(":");
  return cpe?.[4] || undefined;
}

function lookupOf(advisories: Advisory[]): AdvisoryLookup {
  return {
    advisoriesFor: (eco, pkg) =>
      advisories
        .map((a) => ({ ...a, affected: a.affected.filter((x) => x.ecosystem === eco && x.package === pkg) }))
        .filter((a) => a.affected.length),
    enrichment: () => new Map(),
  };
}

describe.skipIf(missing !== null)("OSV range evaluation vectors", () => {
  const cases = missing ? [] : (JSON.parse(readFileSync(file, "utf8")) as { cases: Case[] }).cases;
  let total = 0;
  let passed = 0;
  const skipped: string[] = [];

  it.each(cases.map((c, i) => [i, c.desc ?? c.test, c] as const))("%i %s", (_i, _name, c) => {
    const items = [
      ...osvItems(
        { id: "OSV-TEST-1", modified: "2024-01-01T00:00:00Z", affected: c.affected },
        "vector.json",
      ),
    ];
    const advisories = items.flatMap((it) => (it.kind === "advisory" ? [it.advisory] : []));
    const purlType = (c.package.purl_type ?? PURL_TYPE[c.package.ecosystem ?? "npm"] ?? "npm") as Ecosystem;
    const distro: Distro | null = c.package.os_id
      ? { id: c.package.os_id.toLowerCase(), versionId: distroVersion(c) ?? "" }
      : null;
    for (const e of c.expect) {
      const why = deviation(c, e.version);
      if (why) {
        skipped.push(`${c.test} ${e.version}: ${why}`);
        continue;
      }
      total++;
      const epoch = c.package.epoch;
      const version = purlType === "rpm" && epoch ? `${epoch}:${e.version}` : e.version;
      const pkg: Package = {
        name: c.package.name,
        version,
        ecosystem: purlType,
        purl: `pkg:${purlType}/${c.package.name}@${version}`,
        path: "/x",
        ...(c.package.source_name ? { sourceName: c.package.source_name } : {}),
        ...(c.package.origin_name ? { sourceName: c.package.origin_name } : {}),
        ...(epoch ? { epoch } : {}),
      };
      const findings = matchPackages([pkg], distro, lookupOf(advisories));
      expect(findings.length > 0, `${c.desc ?? c.test}: version ${e.version}`).toBe(e.affected);
      passed++;
    }
  });

  it("summary", () => {
    console.log(
      `osv-ranges: ${passed}/${total} expectations pass; ${skipped.length} not applicable:\n  ${skipped.join("\n  ")}`,
    );
    expect(passed).toBe(total);
  });
});
