import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogers } from "../catalog/registry.js";
import { apkCataloger, dpkgCataloger, rpmCataloger } from "../catalog/os/index.js";
import { catalogerFixtures, catalogPath, missingCatalogerFixtures } from "../catalog/testing.js";
import type { Cataloger, Distro, Package } from "../catalog/types.js";
import { buildDatabase } from "../vulndb/build.js";
import { VulnDb } from "../vulndb/db.js";
import { diffVulnDbs, type VulnDbDiff } from "../vulndb/diff.js";
import { importers, mirrorPaths } from "../vulndb/importers/registry.js";
import { listSources } from "../vulndb/sources.js";
import { pack, packMissing } from "../vulndb/testing.js";
import { lookupKeys, matchKeyOf, packageMatchKeys } from "./keys.js";
import { markPartialFixes, matchPackages } from "./matcher.js";
import { matcherFor, matchersFor } from "./registry.js";
import type { Finding } from "../findings/finding.js";

/**
 * Match keys against real data: the packages of the upstream cataloger fixtures
 * (../shared/testdata/catalogers, read by Drydock's catalogers) in images of the distros the
 * pack has feeds for, matched against databases built from ../shared/vulndata. An "old"
 * database has most feeds; the "new" one adds five (Node.js WG, Wolfi, Debian DLA, Rocky 9,
 * Ubuntu noble), as a feed update would. What an inventory index stores (packageMatchKeys) must
 * agree with what the database matched and with what `db diff` reports, and a re-match restricted
 * to the diff's keys must reproduce the full match.
 */

const OLD_FEEDS = [
  "osv/Go/all.zip",
  "osv/PyPI/all.zip",
  "osv/crates.io/all.zip",
  "osv/AlmaLinux/all.zip",
  "raw/ruby-advisory-db.tar.gz",
  "raw/friendsofphp-security-advisories.tar.gz",
  "distro/alpine/alpine-secdb.tar.gz",
  "distro/debian/DSA-list.gz",
  "distro/ubuntu/com.ubuntu.jammy.usn.oval.xml.gz",
  "distro/rhel-family/com.redhat.rhsa-RHEL9.xml.gz",
  "distro/azurelinux/azurelinux-3.0-oval.xml.gz",
  "enrichment/kev/known_exploited_vulnerabilities.json",
];
const ADDED_FEEDS = [
  "raw/nodejs-security-wg-vuln.tar.gz",
  "raw/wolfi-advisories.tar.gz",
  "distro/debian/DLA-list.gz",
  "distro/rhel-family/org.rockylinux.rlsa-9.xml.gz",
  "distro/ubuntu/com.ubuntu.noble.usn.oval.xml.gz",
];

const skip = packMissing(...OLD_FEEDS, ...ADDED_FEEDS) ?? missingCatalogerFixtures();

interface Inventory {
  label: string;
  distro: Distro | null;
  packages: Package[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.name.endsWith(".expected.json"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Every package an OS cataloger reads from the fixture files of one format, each presented at its path. */
async function osPackages(dir: string, cataloger: Cataloger, at: (file: string) => string | null) {
  const out: Package[] = [];
  for (const file of filesUnder(join(catalogerFixtures, dir))) {
    const asPath = at(file);
    if (!asPath || !cataloger.matches(`/${asPath}`, 0o644)) continue;
    out.push(...(await catalogPath(file, [cataloger], { asPath })).packages);
  }
  return out;
}

/** The fixtures' packages as inventories of the distros the pack has feeds for. */
async function fixtureInventories(): Promise<Inventory[]> {
  const deb = await osPackages("debian", dpkgCataloger, (f) =>
    basename(f) === "status" || f.includes("/var/lib/dpkg/status.d/") ? "var/lib/dpkg/status" : null,
  );
  const apk = await osPackages("alpine", apkCataloger, () => "lib/apk/db/installed");
  const rpm = await osPackages("rpm", rpmCataloger, (f) => `var/lib/rpm/${basename(f)}`);
  const os = new Set(["debian", "alpine", "rpm", "os-release"]);
  const langCatalogers = catalogers.filter((c) => !["deb", "apk", "rpm"].includes(c.ecosystem));
  const lang: Package[] = [];
  for (const dir of readdirSync(catalogerFixtures, { withFileTypes: true })) {
    if (!dir.isDirectory() || os.has(dir.name)) continue;
    lang.push(...(await catalogPath(join(catalogerFixtures, dir.name), langCatalogers)).packages);
  }
  const d = (id: string, versionId: string, codename?: string): Distro => ({
    id,
    versionId,
    ...(codename ? { codename } : {}),
  });
  return [
    ...[d("debian", "10", "buster"), d("debian", "11", "bullseye"), d("ubuntu", "22.04", "jammy")]
      .concat([d("ubuntu", "24.04", "noble"), d("kali", "2024.1")])
      .map((distro) => ({ label: `deb on ${distro.id}:${distro.versionId}`, distro, packages: deb })),
    ...[d("alpine", "3.12.0"), d("alpine", "3.19.1"), d("wolfi", "20230201")].map((distro) => ({
      label: `apk on ${distro.id}:${distro.versionId}`,
      distro,
      packages: apk,
    })),
    ...[d("almalinux", "9.3"), d("rocky", "9.3"), d("rhel", "9.3"), d("azurelinux", "3.0.20240824")].map(
      (distro) => ({ label: `rpm on ${distro.id}:${distro.versionId}`, distro, packages: rpm }),
    ),
    { label: "language packages", distro: null, packages: lang },
    { label: "language packages on debian:12", distro: d("debian", "12", "bookworm"), packages: lang },
  ];
}

/** The package instance a finding belongs to (matchPackages' identity, without the vulnerability). */
const instanceOf = (p: Finding["package"] | Package): string =>
  `${p.ecosystem}\u0000${p.name}\u0000${p.version}\u0000${p.path}\u0000${p.archivePath ?? ""}`;
const findingKey = (f: Finding): string => `${instanceOf(f.package)}\u0000${f.vulnerabilityId}`;
const byKey = (list: Finding[]) => new Map(list.map((f) => [findingKey(f), f]));
/** A finding without what depends on the image's other packages (PARTIAL). */
const own = (f: Finding) => ({ ...f, fixAvailable: f.fixedVersion ? "YES" : "NO" });

describe.skipIf(skip !== null)("match keys on real feeds and real packages", () => {
  let dir: string;
  let oldDb: VulnDb;
  let newDb: VulnDb;
  let diff: VulnDbDiff;
  let changed: Set<string>;
  let inventories: Inventory[];
  const full = new Map<Inventory, { old: Finding[]; new: Finding[] }>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "match-keys-"));
    const oldPath = join(dir, "old.sqlite");
    const newPath = join(dir, "new.sqlite");
    const sources = async (files: string[]) =>
      listSources(
        files.map((f) => pack(f)),
        mirrorPaths(importers),
      );
    await buildDatabase({ target: oldPath, sources: await sources(OLD_FEEDS), importers, fresh: true });
    // The update: the old database plus five feeds, built from a copy as `db import` does.
    copyFileSync(oldPath, newPath);
    await buildDatabase({ target: newPath, sources: await sources(ADDED_FEEDS), importers });
    diff = diffVulnDbs(oldPath, newPath);
    changed = new Set(diff.keys.map(matchKeyOf));
    oldDb = VulnDb.open(oldPath);
    newDb = VulnDb.open(newPath);
    inventories = await fixtureInventories();
    for (const inv of inventories)
      full.set(inv, {
        old: matchPackages(inv.packages, inv.distro, oldDb),
        new: matchPackages(inv.packages, inv.distro, newDb),
      });
  }, 600_000);
  afterAll(() => {
    oldDb?.close();
    newDb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads packages of every family from the fixtures and finds advisories for each", () => {
    const families = new Set<string>();
    for (const { new: found } of full.values()) for (const f of found) families.add(f.package.ecosystem);
    expect([...families].sort()).toEqual([
      "apk",
      "cargo",
      "composer",
      "deb",
      "gem",
      "golang",
      "npm",
      "pypi",
      "rpm",
    ]);
  });

  it("lookup keys are in the database's stored form and owned by their matcher", () => {
    let keys = 0;
    for (const inv of inventories) {
      for (const p of inv.packages) {
        const m = matcherFor(p, inv.distro);
        for (const k of lookupKeys(p, inv.distro)) {
          keys++;
          const mk = matchKeyOf({ ecosystem: k.ecosystem, package: k.name });
          expect(mk, `${inv.label}: ${p.name}`).toBe(`${k.ecosystem} ${k.name}`);
          expect(m!.ownsKey(k.ecosystem), `${m!.id} owns ${k.ecosystem}`).toBe(true);
          expect(matchersFor([mk])).toContain(m);
        }
      }
    }
    expect(keys).toBeGreaterThan(1000);
  });

  it("every advisory matched is under one of its package's match keys", () => {
    let checked = 0;
    for (const inv of inventories) {
      const keysOf = new Map<string, Set<string>>();
      for (const p of inv.packages) {
        const set = keysOf.get(instanceOf(p)) ?? new Set<string>();
        for (const k of packageMatchKeys(p, inv.distro)) set.add(k);
        keysOf.set(instanceOf(p), set);
      }
      for (const f of full.get(inv)!.new) {
        const key = matchKeyOf({ ecosystem: f.explanation.ecosystem, package: f.explanation.package });
        expect(keysOf.get(instanceOf(f.package))?.has(key), `${inv.label}: ${f.vulnerabilityId}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("the diff's keys name every package whose findings the update changed, and only matchers they concern", () => {
    expect(diff.advisories.added.length).toBeGreaterThan(1000);
    let changedPackages = 0;
    for (const inv of inventories) {
      const { old, new: now } = full.get(inv)!;
      const before = new Map<string, string[]>();
      const after = new Map<string, string[]>();
      for (const [list, into] of [
        [old, before],
        [now, after],
      ] as const)
        for (const f of list)
          into.set(instanceOf(f.package), [
            ...(into.get(instanceOf(f.package)) ?? []),
            JSON.stringify(own(f)),
          ]);
      for (const p of inv.packages) {
        const i = instanceOf(p);
        if (JSON.stringify(before.get(i)) === JSON.stringify(after.get(i))) continue;
        changedPackages++;
        expect(
          packageMatchKeys(p, inv.distro).some((k) => changed.has(k)),
          `${inv.label}: ${p.name} ${p.version} changed without a changed key`,
        ).toBe(true);
      }
    }
    expect(changedPackages).toBeGreaterThan(50);
    // Node.js WG (npm), Wolfi (apk), DLA (debian:*), Rocky (rocky:9), noble (ubuntu:24.04).
    expect(matchersFor(diff.keys).map((m) => m.id)).toEqual(["deb", "apk", "rpm", "npm"]);
  });

  it("a re-match restricted to the diff's keys gives the full match's findings of those packages", () => {
    let rematched = 0;
    for (const inv of inventories) {
      const { old, new: now } = full.get(inv)!;
      const concerned = new Set(
        inv.packages
          .filter((p) => packageMatchKeys(p, inv.distro).some((k) => changed.has(k)))
          .map(instanceOf),
      );
      const restricted = matchPackages(inv.packages, inv.distro, newDb, { keys: changed });
      rematched += restricted.length;
      // The subset of the full result for those packages (PARTIAL aside: it depends on the others).
      expect(restricted.map(own), inv.label).toEqual(
        now.filter((f) => concerned.has(instanceOf(f.package))).map(own),
      );
      // Merged with the old findings of the other packages, PARTIAL recomputed: the full new result.
      const merged = [
        ...old.filter((f) => !concerned.has(instanceOf(f.package))),
        ...structuredClone(restricted),
      ];
      markPartialFixes(merged);
      expect(byKey(merged), inv.label).toEqual(byKey(now));
    }
    expect(rematched).toBeGreaterThan(100);
  });

  it("a re-match restricted to any keys gives the full match's findings of the packages with them", () => {
    for (const inv of inventories) {
      const all = [...new Set(inv.packages.flatMap((p) => packageMatchKeys(p, inv.distro)))];
      // every third key the inventory has, and one no package has
      const keys = new Set([
        ...all.filter((_, i) => i % 3 === 0),
        matchKeyOf({ ecosystem: "npm", package: "no-such" }),
      ]);
      const concerned = new Set(
        inv.packages.filter((p) => packageMatchKeys(p, inv.distro).some((k) => keys.has(k))).map(instanceOf),
      );
      const restricted = matchPackages(inv.packages, inv.distro, newDb, { keys });
      expect(restricted.map(own), inv.label).toEqual(
        full
          .get(inv)!
          .new.filter((f) => concerned.has(instanceOf(f.package)))
          .map(own),
      );
    }
  });
});
