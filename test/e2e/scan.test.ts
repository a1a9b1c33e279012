import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Distro, Package } from "../../src/catalog/types.js";
import { githubSarifSchema } from "../../src/findings/testing.js";
import { matchPackages } from "../../src/match/matcher.js";
import type { Finding } from "../../src/findings/finding.js";
import { validateCycloneDx } from "../../src/sbom/cyclonedx.js";
import { VulnDb } from "../../src/vulndb/db.js";
import { missingShared, ociLayout, repoRoot, run, sharedDir } from "./harness.js";

/**
 * `drydock scan` proved end to end: the whole vulnerability pack of ../shared/vulndata is
 * imported once with `drydock db import`, the real images of build-images.sh are scanned with
 * the CLI, and the findings are checked against what the feeds say — specific real findings,
 * and the absence of findings the feeds say are fixed in the installed versions. Every id and
 * version below was read from the feed documents (named beside each assertion).
 */

const vulndata = join(sharedDir, "vulndata");
const cli = join(repoRoot, "dist/cli/main.js");
const skip =
  missingShared() ??
  (!existsSync(join(vulndata, "PROVENANCE.md"))
    ? `../shared/vulndata not found at ${vulndata}`
    : !existsSync(cli)
      ? "dist/cli/main.js missing: run `npm run build`"
      : null);
if (skip) console.warn(`drydock scan e2e skipped: ${skip}`);

/** What `--format json` promises for every finding. */
const findingSchema = z.object({
  vulnerabilityId: z.string().min(1),
  aliases: z.array(z.string()),
  severity: z.enum(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]),
  package: z.object({
    name: z.string().min(1),
    version: z.string().min(1),
    ecosystem: z.string().min(1),
    purl: z.string().startsWith("pkg:"),
    layer: z.string().startsWith("sha256:"),
    path: z.string().startsWith("/"),
  }),
  fixedVersion: z.string().min(1).nullable(),
  fixAvailable: z.enum(["YES", "NO", "PARTIAL"]),
  cvss: z.array(
    z.object({
      type: z.enum(["CVSS_V2", "CVSS_V3", "CVSS_V4"]),
      vector: z.string().min(1),
      score: z.number().min(0).max(10).optional(),
    }),
  ),
  epss: z.object({ score: z.number().min(0).max(1), percentile: z.number().min(0).max(1) }).nullable(),
  kev: z.boolean(),
  source: z.string().min(1),
  explanation: z.object({
    advisory: z.string().min(1),
    source: z.string().min(1),
    ecosystem: z.string().min(1),
    package: z.string().min(1),
    version: z.string().min(1),
    scheme: z.string().min(1),
    matched: z.enum(["range", "versions", "status"]),
  }),
});
const scanSchema = z.object({
  image: z.object({
    reference: z.string(),
    manifestDigest: z.string().startsWith("sha256:"),
    platform: z.object({ os: z.string(), architecture: z.string() }),
  }),
  distro: z.object({ id: z.string(), versionId: z.string() }).nullable(),
  packages: z.array(z.object({ name: z.string(), version: z.string(), ecosystem: z.string() })).min(1),
  skippedLockFiles: z
    .array(z.object({ path: z.string().startsWith("/"), reason: z.string().min(1), packages: z.number() }))
    .optional(),
  findings: z.array(findingSchema),
  summary: z.record(z.string(), z.number()),
  ignored: z.array(z.object({ vulnerabilityId: z.string(), package: z.string(), reason: z.string() })),
  database: z.object({ path: z.string(), builtAt: z.string(), checkedAt: z.string() }),
  expiredIgnores: z.array(z.object({ id: z.string(), expires: z.string() })),
});
type Scan = z.infer<typeof scanSchema> & { findings: (Finding & { fixedVersion: string | null })[] };

describe.skipIf(skip !== null)("drydock scan (real images against the imported pack)", () => {
  let dir: string;
  let db: string;
  const scans = new Map<string, Scan>();
  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args], { cwd: dir });
  /** The usual flags: the pack's database and a layer cache shared by the test's scans. */
  const scan = (image: string, ...args: string[]) =>
    drydock("scan", `oci:${ociLayout(image)}`, "--db", db, "--data", join(dir, "data"), ...args);
  const json = (image: string) => scans.get(image)!;
  /** The findings of one advisory (by its id or the vulnerability id) for one package name. */
  const of = (image: string, id: string, name: string) =>
    json(image).findings.filter(
      (f) => (f.vulnerabilityId === id || f.explanation.advisory === id) && f.package.name === name,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "drydock-scan-e2e-"));
    db = join(dir, "vulndb.sqlite");
    const imp = await drydock("db", "import", "--db", db, vulndata);
    if (imp.code !== 0) throw new Error(`drydock db import failed (${imp.code}):\n${imp.stderr}`);
    for (const image of [
      "node-app",
      "java-app",
      "python-app",
      "debian-bookworm-multi",
      "debian-bookworm-minimal",
    ]) {
      const r = await scan(image, "--format", "json");
      if (r.code !== 0) throw new Error(`scan ${image} exited ${r.code}:\n${r.stderr}`);
      scans.set(image, JSON.parse(r.stdout) as Scan);
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("node-app: npm packages against the Node.js WG legacy advisories", () => {
    it("reports lodash 4.17.15 and handlebars 4.0.11, with the fix derived from patched_versions", () => {
      // vuln/npm/516.json: lodash vulnerable ">=4.17.15 <4.17.19", patched ">=4.17.19", CVSS 7.4
      const lodash = of("node-app", "NSWG-ECO-516", "lodash");
      // once: the installed package.json; /app/package-lock.json, beside the node_modules it
      // installed, is not counted (docs/inventory.md)
      expect(lodash.map((f) => f.package.path)).toEqual(["/app/node_modules/lodash/package.json"]);
      expect(json("node-app").skippedLockFiles).toEqual([
        expect.objectContaining({ path: "/app/package-lock.json", packages: 93 }),
      ]);
      expect(json("node-app").findings.some((f) => f.package.path === "/app/package-lock.json")).toBe(false);
      for (const f of lodash) {
        expect(f).toMatchObject({
          package: { version: "4.17.15", ecosystem: "npm", purl: "pkg:npm/lodash@4.17.15" },
          fixedVersion: "4.17.19",
          fixAvailable: "YES",
          severity: "HIGH",
          source: "nodejs-wg",
          explanation: { advisory: "NSWG-ECO-516", scheme: "semver", matched: "range" },
        });
        expect(f.cvss).toContainEqual(expect.objectContaining({ type: "CVSS_V3", score: 7.4 }));
      }
      // vuln/npm/519.json: handlebars "<4.6.0", CVSS 6.5 (a devDependency, still in the image)
      const hb = of("node-app", "NSWG-ECO-519", "handlebars");
      expect(hb).toHaveLength(1);
      expect(hb[0]).toMatchObject({
        package: { version: "4.0.11" },
        fixedVersion: "4.6.0",
        severity: "MEDIUM",
      });
    });

    it("does not report advisories the installed versions are patched against", () => {
      const ids = new Set(json("node-app").findings.map((f) => f.explanation.advisory));
      for (const [id, why] of [
        ["NSWG-ECO-368", "lodash <4.17.5 (CVE-2018-3721); 4.17.15 installed"],
        ["NSWG-ECO-493", "lodash <4.17.11 (CVE-2018-16487)"],
        ["NSWG-ECO-61", "handlebars <4.0.0 (CVE-2015-8861); 4.0.11 installed"],
        ["NSWG-ECO-8", "express <3.11 || >=4 <4.5 (CVE-2014-6393); 4.16.0 installed"],
        ["NSWG-ECO-17", "jsonwebtoken <4.2.2; 8.5.0 installed"],
        ["NSWG-ECO-88", "jws <3.0.0; 3.2.3 installed"],
        ["NSWG-ECO-134", "cookie-signature <=1.0.5, patched >=1.0.6; exactly 1.0.6 installed"],
        ["NSWG-ECO-56", "send <0.11.1; 0.16.0 installed"],
      ]) {
        expect(ids.has(id!), why).toBe(false);
      }
      // ...and those advisories are in the database: the absence is the matcher's verdict
      const vdb = VulnDb.open(db);
      try {
        expect(vdb.advisoriesFor("npm", "lodash").map((a) => a.id)).toEqual(
          expect.arrayContaining(["NSWG-ECO-368", "NSWG-ECO-493", "NSWG-ECO-516"]),
        );
        expect(vdb.advisoriesFor("npm", "cookie-signature").map((a) => a.id)).toContain("NSWG-ECO-134");
        // minimist and axios have no advisory in the legacy feed (their CVEs are GHSA-only)
        expect(vdb.advisoriesFor("npm", "minimist")).toEqual([]);
        expect(vdb.advisoriesFor("npm", "axios")).toEqual([]);
      } finally {
        vdb.close();
      }
      const npm = json("node-app").findings.filter((f) => f.package.ecosystem === "npm");
      expect(new Set(npm.map((f) => f.package.name))).toEqual(new Set(["lodash", "handlebars"]));
    });
  });

  describe("java-app: the Go binary's modules against the Go vulnerability database", () => {
    it("reports golang.org/x/net v0.7.0 and the stdlib of Go 1.19.8, under their CVEs", () => {
      const net = (id: string) => of("java-app", id, "golang.org/x/net");
      // GO-2023-1988 (CVE-2023-3978): x/net fixed in 0.13.0
      expect(net("GO-2023-1988")).toMatchObject([
        {
          vulnerabilityId: "CVE-2023-3978",
          package: {
            version: "v0.7.0",
            path: "/usr/local/bin/gomod-demo",
            purl: "pkg:golang/golang.org/x/net@v0.7.0",
          },
          fixedVersion: "0.13.0",
          aliases: expect.arrayContaining(["GO-2023-1988", "GHSA-2wrh-6pvc-2jm9"]),
          explanation: { ecosystem: "golang", version: "0.7.0", scheme: "go", range: "<0.13.0" },
        },
      ]);
      // GO-2024-2687 (CVE-2023-45288, HTTP/2 CONTINUATION flood): x/net 0.23.0, stdlib 1.21.9
      expect(net("GO-2024-2687")).toMatchObject([
        { vulnerabilityId: "CVE-2023-45288", fixedVersion: "0.23.0" },
      ]);
      // GO-2023-2102 is CVE-2023-39325; CVE-2023-44487 is only `related`
      expect(net("GO-2023-2102")).toMatchObject([
        { vulnerabilityId: "CVE-2023-39325", fixedVersion: "0.17.0" },
      ]);
      expect(of("java-app", "CVE-2023-44487", "golang.org/x/net")).toEqual([]);

      const stdlib = (id: string) => of("java-app", id, "stdlib");
      // both Go binaries were built with Go 1.19.8: skopeo (Debian's) and gomod-demo
      const s1751 = stdlib("GO-2023-1751");
      expect(s1751.map((f) => f.package.path).sort()).toEqual([
        "/usr/local/bin/gomod-demo",
        "/usr/local/bin/skopeo",
      ]);
      expect(s1751[0]).toMatchObject({
        vulnerabilityId: "CVE-2023-24539",
        package: { version: "v1.19.8" },
        fixedVersion: "1.19.9",
        explanation: { range: "<1.19.9, >=1.20.0-0 <1.20.4" },
      });
      expect(stdlib("GO-2024-2687")[0]).toMatchObject({
        vulnerabilityId: "CVE-2023-45288",
        fixedVersion: "1.21.9",
      });
      // the main module has no version ((devel) build): nothing to match
      expect(json("java-app").findings.some((f) => f.package.name.startsWith("example.com/"))).toBe(false);
    });

    it("does not report what Go 1.19.8 and x/net 0.7.0 already fix", () => {
      const advisories = new Set(
        json("java-app").findings.map((f) => `${f.explanation.advisory} ${f.package.name}`),
      );
      for (const [key, why] of [
        // GO-2023-1571 (CVE-2022-41723): x/net fixed in exactly 0.7.0, stdlib in 1.19.6
        ["GO-2023-1571 golang.org/x/net", "x/net fixed = 0.7.0 installed"],
        ["GO-2023-1571 stdlib", "stdlib fixed 1.19.6 < 1.19.8"],
        // GO-2023-1704 (CVE-2023-24534) and GO-2023-1705 (CVE-2023-24536): fixed in exactly 1.19.8
        ["GO-2023-1704 stdlib", "fixed = 1.19.8 installed"],
        ["GO-2023-1705 stdlib", "fixed = 1.19.8 installed"],
        ["GO-2023-1621 stdlib", "CVE-2023-24532 fixed 1.19.7"],
        ["GO-2022-1144 golang.org/x/net", "CVE-2022-41717 fixed 0.4.0"],
        ["GO-2022-1059 golang.org/x/text", "CVE-2022-32149 fixed 0.3.8"],
      ]) {
        expect(advisories.has(key!), why).toBe(false);
      }
    });

    it("finds no Maven vulnerabilities: the pack has no Maven feed (GHSA is not in it)", () => {
      expect(json("java-app").packages.filter((p) => p.ecosystem === "maven").length).toBeGreaterThan(5);
      expect(json("java-app").findings.filter((f) => f.package.ecosystem === "maven")).toEqual([]);
    });
  });

  describe("python-app: old pins against the PyPA advisory database", () => {
    it("reports the pip-installed distributions, with fixes from the ranges; the pin lists they installed are not counted", () => {
      // /app/requirements.txt and /app/poetry.lock pin what pip installed into
      // /usr/local/lib/python3.11/dist-packages (Django 2.2 is the pinned 2.2.0): those are counted
      expect(json("python-app").skippedLockFiles?.map((l) => l.path)).toEqual([
        "/app/poetry.lock",
        "/app/requirements.txt",
      ]);
      expect(json("python-app").findings.filter((f) => f.package.path.startsWith("/app/"))).toEqual([]);
      // PYSEC-2019-12x (CVE-2019-14232): Django 2.2 fixed 2.2.4, from the dist-info METADATA
      expect(of("python-app", "CVE-2019-14232", "Django")).toMatchObject([
        {
          package: {
            version: "2.2",
            path: "/usr/local/lib/python3.11/dist-packages/Django-2.2.dist-info/METADATA",
          },
          fixedVersion: "2.2.4",
          explanation: { package: "django", scheme: "pep440" },
        },
      ]);
      // CVE-2020-1747: PyYAML full_load, fixed 5.3.1: pip's PyYAML 5.3, once
      expect(of("python-app", "CVE-2020-1747", "PyYAML")).toMatchObject([
        {
          fixedVersion: "5.3.1",
          package: { path: "/usr/local/lib/python3.11/dist-packages/PyYAML-5.3.dist-info/METADATA" },
        },
      ]);
      // Every Python finding is one of pip's five distributions
      expect(new Set(json("python-app").findings.map((f) => f.package.name))).toEqual(
        new Set(["Django", "Pillow", "PyYAML", "sqlparse"]),
      );
    });

    it("does not match Debian's Python modules against PyPI: dpkg installed them, Debian's advisories cover them", () => {
      // Before: PyPI CVEs for Debian's urllib3 1.26.12, idna 3.3, certifi 2022.9.24 and requests
      // 2.28.1 (python3-requests) in node-app, debian-bookworm-multi and python-app.
      for (const image of ["node-app", "debian-bookworm-multi", "python-app"]) {
        const s = json(image);
        const debian = (s.packages as Package[]).filter(
          (p) => p.ecosystem === "pypi" && p.path.startsWith("/usr/lib/python3/dist-packages/"),
        );
        expect(
          debian.map((p) => p.name),
          image,
        ).toEqual(expect.arrayContaining(["certifi", "idna", "requests", "urllib3"]));
        for (const p of debian) expect(p.metadata?.ownedBy, `${image} ${p.path}`).toMatch(/^python3-/);
        expect(
          s.findings.filter((f) => f.package.path.startsWith("/usr/lib/python3/dist-packages/")),
          image,
        ).toEqual([]);
      }
      expect(json("debian-bookworm-multi").findings).toEqual([]);
      // ...while the PyPI feed does have advisories for those versions (PYSEC-2023-192,
      // CVE-2023-43804: urllib3 fixed 1.26.17), so the absence is the ownership rule's doing
      const vdb = VulnDb.open(db);
      try {
        const urllib3 = matchPackages(
          [
            {
              name: "urllib3",
              version: "1.26.12",
              ecosystem: "pypi",
              purl: "pkg:pypi/urllib3@1.26.12",
              path: "/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO",
            },
          ],
          json("node-app").distro as Distro,
          vdb,
        );
        expect(urllib3.map((f) => f.explanation.advisory)).toContain("PYSEC-2023-192");
      } finally {
        vdb.close();
      }
    });

    it("does not report advisories fixed at or below the installed versions", () => {
      const has = (id: string, name: string, version: string) =>
        json("python-app").findings.some(
          (f) => f.explanation.advisory === id && f.package.name === name && f.package.version === version,
        );
      // PYSEC-2018-28 is fixed in 2.20.0: Debian's requests 2.28.1 in the same image is not affected
      expect(has("PYSEC-2018-28", "requests", "2.28.1")).toBe(false);
      // PYSEC-2018-49 (CVE-2017-18342): PyYAML fixed 5.1; 5.3 installed
      expect(has("PYSEC-2018-49", "PyYAML", "5.3")).toBe(false);
      // PYSEC-2019-18 (CVE-2019-6975): Django 1.11/2.0/2.1 lines only
      expect(has("PYSEC-2019-18", "Django", "2.2")).toBe(false);
    });
  });

  describe("Debian bookworm: deb packages against the DSA/DLA lists and the tracker sample", () => {
    it("reports no deb findings: the lists end in March 2023, before bookworm had a DSA", () => {
      for (const image of ["debian-bookworm-minimal", "debian-bookworm-multi", "node-app"]) {
        const s = json(image);
        expect(s.distro).toMatchObject({ id: "debian", versionId: "12" });
        expect(s.packages.filter((p) => p.ecosystem === "deb").length).toBeGreaterThan(80);
        expect(
          s.findings.filter((f) => f.package.ecosystem === "deb"),
          image,
        ).toEqual([]);
      }
      // The packages do have advisories for other releases (DSA-5343-1: openssl, bullseye
      // 1.1.1n-0+deb11u4); they are keyed debian:11 and never apply to debian:12.
      const vdb = VulnDb.open(db);
      try {
        const openssl = vdb.advisoriesFor("debian:11", "openssl").map((a) => a.id);
        expect(openssl).toContain("DSA-5343-1");
        expect(vdb.advisoriesFor("debian:12", "openssl")).toEqual([]);
        // the tracker sample's only bookworm entries are chromium and sope, neither installed
        const installed = new Set(json("debian-bookworm-multi").packages.map((p) => p.name));
        expect(installed.has("chromium") || installed.has("sope")).toBe(false);
      } finally {
        vdb.close();
      }
    });

    it("reports a bundle DSA once per CVE for a bullseye openssl below its fix (in-process, real DB)", () => {
      const vdb = VulnDb.open(db);
      try {
        const bullseye: Distro = { id: "debian", versionId: "11", codename: "bullseye" };
        const openssl = (version: string): Package => ({
          name: "libssl1.1",
          version,
          ecosystem: "deb",
          purl: `pkg:deb/debian/libssl1.1@${version}`,
          path: "/var/lib/dpkg/status",
          sourceName: "openssl",
          sourceVersion: version,
        });
        // DSA-5343-1 (DSA list): {CVE-2022-2097 CVE-2022-4304 CVE-2022-4450 CVE-2023-0215
        // CVE-2023-0286}, [bullseye] - openssl 1.1.1n-0+deb11u4
        const dsa = matchPackages([openssl("1.1.1n-0+deb11u3")], bullseye, vdb).filter(
          (f) => f.explanation.advisory === "DSA-5343-1",
        );
        expect(dsa.map((f) => f.vulnerabilityId).sort()).toEqual([
          "CVE-2022-2097",
          "CVE-2022-4304",
          "CVE-2022-4450",
          "CVE-2023-0215",
          "CVE-2023-0286",
        ]);
        for (const f of dsa) {
          expect(f).toMatchObject({
            fixedVersion: "1.1.1n-0+deb11u4",
            aliases: expect.arrayContaining(["DSA-5343-1"]),
          });
        }
        const fixed = matchPackages([openssl("1.1.1n-0+deb11u4")], bullseye, vdb);
        expect(fixed.filter((f) => f.explanation.advisory === "DSA-5343-1")).toEqual([]);
      } finally {
        vdb.close();
      }
    });

    it("never reports not_affected: Debian fixed `0` and Alpine `0` keys (in-process, real DB)", () => {
      const vdb = VulnDb.open(db);
      try {
        const deb = (name: string, version: string): Package => ({
          name,
          version,
          ecosystem: "deb",
          purl: `pkg:deb/debian/${name}@${version}`,
          path: "/var/lib/dpkg/status",
        });
        // tracker sample: prototypejs CVE-2007-2383 fixed_version "0" (not affected) and
        // CVE-2008-7220 fixed 1.6.0.2-1, urgency "high**" (NVD's word, not Debian's)
        const buster: Distro = { id: "debian", versionId: "10", codename: "buster" };
        const found = matchPackages(
          [deb("libjs-prototype", "1.6.0-1")].map((p) => ({ ...p, sourceName: "prototypejs" })),
          buster,
          vdb,
        );
        expect(found.map((f) => [f.vulnerabilityId, f.fixedVersion])).toEqual([
          ["CVE-2008-7220", "1.6.0.2-1"],
        ]);
        expect(found[0]!.severitySource).not.toBe("vendor");
        // secdb v3.19 main: busybox secfixes "0": [CVE-2021-42373]
        const alpine: Distro = { id: "alpine", versionId: "3.19.1" };
        const busybox: Package = {
          name: "busybox",
          version: "1.36.1-r15",
          ecosystem: "apk",
          purl: "pkg:apk/alpine/busybox@1.36.1-r15",
          path: "/lib/apk/db/installed",
        };
        expect(vdb.advisoriesFor("alpine:3.19", "busybox").some((a) => a.id === "CVE-2021-42373")).toBe(true);
        expect(matchPackages([busybox], alpine, vdb).map((f) => f.vulnerabilityId)).not.toContain(
          "CVE-2021-42373",
        );
      } finally {
        vdb.close();
      }
    });
  });

  describe("the CLI contract", () => {
    it("writes the documented JSON shape beside the inventory", () => {
      for (const [image, s] of scans) {
        const r = scanSchema.safeParse(s);
        expect(r.success ? null : r.error.issues.slice(0, 3), image).toBeNull();
        const counts = Object.values(s.summary).reduce((a, b) => a + b, 0);
        expect(counts).toBe(s.findings.length);
      }
      // every finding explains itself: advisory, range and scheme; the layer that brought the package
      const f = of("java-app", "GO-2023-1988", "golang.org/x/net")[0]!;
      expect(json("java-app").image.manifestDigest).toMatch(/^sha256:/);
      expect(f.package.layer).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(f.epss?.score).toBeGreaterThan(0);
    });

    it("exits 0, or 1 when a finding at or above --fail-on remains", async () => {
      // node-app: HIGH findings, no CRITICAL (lodash HIGH and handlebars MEDIUM, once each; no
      // PyPI findings for Debian's Python modules any more, which were the UNDEFINED ones)
      expect((await scan("node-app", "--fail-on", "critical")).code).toBe(0);
      const high = await scan("node-app", "--fail-on", "HIGH");
      expect(high.code).toBe(1);
      expect(high.stdout).toMatch(/^HIGH \(\d+\)$/m);
      expect(high.stdout).toMatch(/^Total: 2 vulnerabilities \(1 high, 1 medium\), 2 with a fix$/m);
      expect((await scan("debian-bookworm-minimal", "--fail-on", "low")).code).toBe(0);
    });

    it("exits 2 with a clear message without a database, on a bad flag or value, on a bad image", async () => {
      const cases: [string[], RegExp][] = [
        [
          ["--db", join(dir, "none.sqlite")],
          /^drydock: no vulnerability database at .*none\.sqlite: build one with `drydock db import PATH`/m,
        ],
        [["--db", join(vulndata, "PROVENANCE.md")], /cannot be read as a vulnerability database/],
        [["--bogus"], /unknown option '--bogus'/],
        [["--format", "xml"], /unknown --format xml: use table, json, sarif, cyclonedx-json/],
        [["--fail-on", "severe"], /--fail-on: unknown severity severe/],
        [["--severity", "high,urgent"], /--severity: unknown severity urgent/],
        [["--max-db-age", "soon"], /--max-db-age: soon is not a number of hours/],
      ];
      for (const [args, message] of cases) {
        const r = await drydock(
          "scan",
          `oci:${ociLayout("node-app")}`,
          "--db",
          db,
          "--data",
          join(dir, "data"),
          ...args,
        );
        expect(r.code, args.join(" ")).toBe(2);
        expect(r.stderr, args.join(" ")).toMatch(message);
      }
      const noImage = await drydock("scan", `oci:${join(dir, "nothing")}`, "--db", db);
      expect(noImage.code).toBe(2);
      expect(noImage.stderr).toMatch(/is not an OCI layout/);
      expect((await drydock("scan")).code).toBe(2);
    });

    it("warns when the database is older than --max-db-age, and not otherwise", async () => {
      const old = await scan("debian-bookworm-minimal", "--max-db-age", "0");
      expect(old.code).toBe(0);
      expect(old.stderr).toMatch(
        /warning: the vulnerability database was last updated .* ago \(more than 0 h\): run `drydock db update`/,
      );
      const fresh = await scan("debian-bookworm-minimal");
      expect(fresh.stderr).not.toMatch(/database was last updated/);
    });

    it("--severity keeps only the listed severities, and the gate sees only those", async () => {
      const r = await scan("java-app", "--format", "json", "--severity", "critical,high");
      const s = JSON.parse(r.stdout) as Scan;
      const all = json("java-app").findings;
      expect(s.findings.length).toBe(
        all.filter((f) => f.severity === "CRITICAL" || f.severity === "HIGH").length,
      );
      expect(s.findings.length).toBeGreaterThan(0);
      expect(new Set(s.findings.map((f) => f.severity))).toEqual(new Set(["CRITICAL", "HIGH"]));
      expect((await scan("node-app", "--severity", "medium", "--fail-on", "high")).code).toBe(0);
    });

    it("--ignore-file suppresses active entries, reports expired ones, and the gate honours it", async () => {
      const high = [
        ...new Set(
          json("node-app")
            .findings.filter((f) => f.severity === "HIGH")
            .map((f) => f.vulnerabilityId),
        ),
      ];
      expect(high).toContain("NSWG-ECO-516");
      const file = join(dir, "ignore.yaml");
      writeFileSync(
        file,
        [
          "ignore:",
          ...high.map((id) =>
            [
              `  - id: ${id}`,
              ...(id === "NSWG-ECO-516" ? ["    package: pkg:npm/lodash"] : []),
              "    reason: accepted in the e2e test",
              "    expires: 2999-12-31",
            ].join("\n"),
          ),
          "  - id: NSWG-ECO-519",
          "    reason: expired acceptance",
          "    expires: 2020-01-01",
          "",
        ].join("\n"),
      );
      const r = await scan("node-app", "--format", "json", "--ignore-file", file, "--fail-on", "high");
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/warning: ignore entry for NSWG-ECO-519 expired on 2020-01-01/);
      const s = JSON.parse(r.stdout) as Scan;
      expect(s.findings.some((f) => f.severity === "HIGH")).toBe(false);
      expect(s.ignored.filter((i) => i.vulnerabilityId === "NSWG-ECO-516")).toEqual([
        expect.objectContaining({
          package: "lodash",
          reason: "accepted in the e2e test",
          expires: "2999-12-31",
        }),
      ]);
      // the expired entry suppresses nothing
      expect(s.findings.filter((f) => f.explanation.advisory === "NSWG-ECO-519")).toHaveLength(1);
      expect(s.expiredIgnores).toEqual([
        { id: "NSWG-ECO-519", reason: "expired acceptance", expires: "2020-01-01" },
      ]);
      // the table counts what was ignored
      const table = await scan("node-app", "--ignore-file", file);
      expect(table.stdout).toMatch(/; \d+ ignored by the ignore file$/m);
      // a broken ignore file is an error, not an empty list
      writeFileSync(file, "ignore:\n  - id: CVE-1\n    expires: 2999-01-01\n");
      const bad = await scan("node-app", "--ignore-file", file);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/ignore file .*ignore\.yaml: ignore\.0\.reason/);
    });

    it("--ignore-unfixed hides findings without a fixed version", async () => {
      // Every finding of the real images has a fix, so the pack's database alone cannot show
      // the flag at work: a second database adds one hand-written OSV record without a fix.
      const extra = join(dir, "extra");
      mkdirSync(extra, { recursive: true });
      writeFileSync(
        join(extra, "DRYDOCK-TEST-0001.json"),
        JSON.stringify({
          schema_version: "1.6.0",
          id: "DRYDOCK-TEST-0001",
          modified: "2026-01-01T00:00:00Z",
          summary: "test advisory without a fix",
          affected: [
            {
              package: { ecosystem: "npm", name: "express" },
              ranges: [{ type: "SEMVER", events: [{ introduced: "4.0.0" }] }],
            },
          ],
        }),
      );
      const small = join(dir, "small.sqlite");
      const imp = await drydock(
        "db",
        "import",
        "--db",
        small,
        extra,
        join(vulndata, "raw/nodejs-security-wg-vuln.tar.gz"),
      );
      expect(imp.code).toBe(0);
      const all = JSON.parse((await scan("node-app", "--format", "json", "--db", small)).stdout) as Scan;
      expect(all.findings.filter((f) => f.vulnerabilityId === "DRYDOCK-TEST-0001")).toMatchObject([
        { package: { name: "express", version: "4.16.0" }, fixedVersion: null, fixAvailable: "NO" },
      ]);
      const fixable = JSON.parse(
        (await scan("node-app", "--format", "json", "--db", small, "--ignore-unfixed")).stdout,
      ) as Scan;
      expect(fixable.findings.some((f) => f.vulnerabilityId === "DRYDOCK-TEST-0001")).toBe(false);
      expect(fixable.findings.length).toBe(all.findings.length - 1);
      expect(fixable.findings.every((f) => f.fixedVersion)).toBe(true);
    });

    it("writes SARIF that GitHub code scanning accepts", async () => {
      const out = join(dir, "java-app.sarif");
      const r = await scan("java-app", "--format", "sarif", "--output", out);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      const doc = JSON.parse(readFileSync(out, "utf8")) as z.infer<typeof githubSarifSchema>;
      const v = githubSarifSchema.safeParse(doc);
      expect(v.success ? null : v.error.issues.slice(0, 3)).toBeNull();
      const run0 = doc.runs[0]!;
      expect(run0.results).toHaveLength(json("java-app").findings.length);
      const rule = run0.tool.driver.rules.find((x) => x.id === "CVE-2023-45288")!;
      expect(rule).toBeDefined();
      expect(Number(rule.properties["security-severity"])).toBeGreaterThanOrEqual(7);
      const result = run0.results.find((x) => x.ruleId === "CVE-2023-3978")!;
      expect(result.locations[0]!.physicalLocation.artifactLocation.uri).toBe("usr/local/bin/gomod-demo");
      expect(result.message.text).toContain("Fixed version: 0.13.0");
      expect(run0.tool.driver.rules[result.ruleIndex!]!.id).toBe("CVE-2023-3978");
    });

    it("writes CycloneDX with vulnerabilities that validate against the 1.6 schema", async () => {
      const r = await scan("java-app", "--format", "cyclonedx-json");
      expect(r.code).toBe(0);
      expect(await validateCycloneDx(r.stdout)).toBeNull();
      const bom = JSON.parse(r.stdout) as {
        components: { "bom-ref": string; purl?: string }[];
        vulnerabilities: { id: string; affects: { ref: string }[]; recommendation?: string }[];
      };
      const v = bom.vulnerabilities.find((x) => x.id === "CVE-2023-3978")!;
      expect(v.recommendation).toBe("Upgrade golang.org/x/net to 0.13.0 or later");
      const refs = new Set(bom.components.map((c) => c["bom-ref"]));
      expect(v.affects.every((a) => refs.has(a.ref))).toBe(true);
      expect(new Set(bom.vulnerabilities.map((x) => x.id)).size).toBe(
        new Set(json("java-app").findings.map((f) => f.vulnerabilityId)).size,
      );
    });

    it("scans every platform of an index", async () => {
      const r = await scan("debian-bookworm-multiarch", "--format", "json");
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { index: { digest: string }; images: Scan[] };
      expect(doc.images.map((i) => i.image.platform)).toEqual([
        expect.objectContaining({ architecture: "amd64" }),
        expect.objectContaining({ architecture: "arm64" }),
      ]);
      const sarif = await scan("debian-bookworm-multiarch", "--format", "sarif");
      expect(githubSarifSchema.safeParse(JSON.parse(sarif.stdout)).success).toBe(true);
    });
  });
});
