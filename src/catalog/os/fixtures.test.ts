import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { expect } from "vitest";
import { parsePurl } from "../purl.js";
import { catalogPath, describeFixtures, upstreamFixtures, type UpstreamFixture } from "../testing.js";
import type { Distro, Package } from "../types.js";
import { apkCataloger } from "./apk.js";
import { dpkgCataloger, parseDpkgStatus } from "./dpkg.js";
import { Problems } from "./problems.js";
import { osPurl } from "./purl.js";
import { rpmCataloger } from "./rpm/cataloger.js";

/**
 * Every upstream fixture of the dpkg, apk and rpm formats (../shared/testdata/catalogers, see
 * its PROVENANCE.md) against its expected packages. A fixture passes when the packages match
 * (exactly, or "contains" where upstream asserts one package) on every field the expectation
 * has among name, version, source, arch, epoch, release, licenses, modularity label, source rpm
 * and purl. Deviations are listed below with their reason; a listed deviation that no longer
 * deviates fails too, so the list stays true.
 */

type Format = "dpkg" | "apk" | "rpm";

interface Want {
  name: string;
  version: string;
  sourceName?: string;
  sourceVersion?: string;
  arch?: string;
  /** null: the package must have no epoch. */
  epoch?: number | null;
  release?: string;
  licenses?: string[];
  /** "" : must have none. */
  modularityLabel?: string;
  sourceRpm?: string;
  purl?: string;
}

interface Check {
  label: string;
  mode: "exact" | "contains";
  want: Want[];
}

interface Plan {
  format: Format;
  run: () => Promise<{ packages: Package[]; problems: string[] }>;
  checks: Check[];
  /** The fixture's distro where known for certain: osPurl must place packages under it. */
  distro?: Distro;
}

/** Fixtures (path relative to the fixtures root, without .expected.json) that are not ours. */
const NOT_APPLICABLE: Record<string, string> = {
  "debian/syft-debian/copyright/libaudit-common":
    "license detection from /usr/share/doc/<pkg>/copyright is optional in the issue and not implemented",
  "debian/syft-debian/copyright/liblzma5": "copyright files: see libaudit-common",
  "debian/trivy-analyzer-pkg-dpkg/all-patterns-copyright": "copyright files: see libaudit-common",
  "debian/trivy-analyzer-pkg-dpkg/common-license-copyright": "copyright files: see libaudit-common",
  "debian/trivy-analyzer-pkg-dpkg/license-pattern-and-classifier-copyright":
    "copyright files: see libaudit-common",
  "debian/trivy-analyzer-pkg-dpkg/no-license-copyright":
    "copyright files: see libaudit-common (it would pass vacuously: no license expected, none read)",
  "debian/syft-debian/info/util-linux.conffiles":
    "per-package file lists with digests are not kept: the Package model has no file list; of dpkg's lists only info/*.list and distroless status.d/*.md5sums are read, and only for the paths that can be evidence of a language package (file ownership, dpkgFilesCataloger)",
  "debian/syft-debian/info/zlib1g.md5sums": "per-package file lists (dpkg info/*.md5sums): see conffiles",
};

/** Fields not compared for a fixture, and why. */
const IGNORED_FIELDS: Record<string, { fields: (keyof Want)[]; reason: string }> = {
  "alpine/trivy-analyzer-pkg-apk/apk": {
    fields: ["licenses"],
    reason:
      "trivy rewrites apk L: values to SPDX ids (GPL2 → GPL-2.0-only, BSD → BSD-3-Clause) and splits " +
      "expressions into ids; Drydock keeps licenses as declared (syft's expectation on the same " +
      "format); normalization belongs to SBOM export",
  },
};

/** Expected packages Drydock reports as a problem instead, and why. */
const REPORTED_AS_PROBLEM: Record<string, { names: string[]; reason: string }> = {
  "debian/syft-debian/var/lib/dpkg/status.d/multiple": {
    names: ["no-version"],
    reason:
      "a paragraph without a Version is a recorded problem, not a package with an empty version " +
      "that no advisory can match",
  },
};

/** Fixtures with deliberately broken records, and a problem each must report. */
const CORRUPT: Record<string, string> = {
  "debian/syft-debian/var/lib/dpkg/status.d/multiple": "no-version: installed package without a Version",
  "debian/trivy-analyzer-pkg-dpkg/corrupsed.txtar": 'invalidpkg: invalid Version "1:5.#"',
  "alpine/trivy-analyzer-pkg-apk/apk": "invalidPackageWithoutAVersion without a version",
};

const evr = (e: number | null | undefined, v: string, r: string | null | undefined) =>
  (e !== null && e !== undefined ? `${e}:` : "") + v + (r ? `-${r}` : "");

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

async function runFile(file: string, asPath: string) {
  return catalogPath(file, [dpkgCataloger, apkCataloger, rpmCataloger], { asPath }).then(flatten);
}

function flatten(inv: { packages: Package[]; problems: { reason: string }[] }) {
  return { packages: inv.packages, problems: inv.problems.map((p) => p.reason) };
}

function trivyWant(p: Json): Want {
  return {
    name: p.Name as string,
    version: evr(p.Epoch as number | undefined, p.Version as string, p.Release as string | undefined),
    sourceName: str(p.SrcName),
    sourceVersion:
      p.SrcVersion === undefined
        ? undefined
        : evr(p.SrcEpoch as number | undefined, p.SrcVersion as string, p.SrcRelease as string | undefined),
    arch: str(p.Arch),
    licenses: p.Licenses as string[] | undefined,
  };
}

function goRpmdbWant(p: Json): Want {
  return {
    name: p.Name as string,
    version: evr(p.Epoch as number | null | undefined, p.Version as string, p.Release as string),
    epoch: "Epoch" in p ? (p.Epoch as number | null) : undefined,
    release: p.Release as string,
    arch: str(p.Arch),
    sourceRpm: str(p.SourceRpm),
    licenses: str(p.License) ? [p.License as string] : undefined,
    modularityLabel: "Modularitylabel" in p ? (p.Modularitylabel as string) : undefined,
  };
}

/** How to run one fixture and what it must produce; null when the fixture is not understood. */
function planFor(key: string, exp: Json, fixture: string): Plan | null {
  const cases = (exp.cases ?? []) as Json[];
  const [eco, origin] = key.split("/");
  if (origin === "trivy-analyzer-pkg-dpkg" && key.endsWith(".txtar")) {
    return {
      format: "dpkg",
      run: () => catalogPath(`${fixture}.files`, [dpkgCataloger]).then(flatten),
      checks: cases.map((c) => ({
        label: c.test as string,
        mode: "exact",
        want: ((c.want as Json).PackageInfos as Json[]).flatMap((i) => (i.Packages as Json[]).map(trivyWant)),
      })),
      distro: key.endsWith("valid.txtar")
        ? { id: "ubuntu", versionId: "18.04", codename: "bionic" }
        : undefined,
    };
  }
  if (origin === "syft-debian" && key.includes("/var/lib/dpkg/status.d/")) {
    const rel = key.slice(key.indexOf("var/lib/dpkg/"));
    return {
      format: "dpkg",
      run: () => runFile(fixture, rel),
      checks: cases.map((c) => ({
        label: c.test as string,
        mode: "exact",
        want: ([] as Json[]).concat(c.expected_value as Json | Json[]).map((e) => ({
          name: e.Package as string,
          version: e.Version as string,
          arch: str(e.Architecture),
          sourceName: str(e.Source) ?? (e.Package as string),
        })),
      })),
    };
  }
  if (origin === "syft-debian" && key.endsWith("var/lib/opkg/status")) {
    // OpenWrt's opkg database has dpkg's format but is no Drydock ecosystem (no purl type, no
    // advisories), so no cataloger is registered for its path; the shared parser is checked.
    return {
      format: "dpkg",
      run: async () => {
        const problems = new Problems();
        const entries = parseDpkgStatus(await readFile(fixture, "utf8"), problems);
        const packages = entries.map((e): Package => ({
          ...e,
          ecosystem: "deb",
          purl: "",
          path: "/var/lib/opkg/status",
        }));
        return { packages, problems: problems.list() ?? [] };
      },
      checks: cases.map((c) => ({
        label: `${c.test as string} (parser level, not cataloged)`,
        mode: "exact",
        want: (c.expected_value as Json[]).map((e) => ({
          name: e.Package as string,
          version: e.Version as string,
          arch: str(e.Architecture),
        })),
      })),
    };
  }
  if (eco === "alpine") {
    return {
      format: "apk",
      run: () => runFile(fixture, "lib/apk/db/installed"),
      checks: cases.map((c) => ({
        label: c.test as string,
        mode: "exact",
        want: (c.packages as Json[]).map((p) => {
          if (origin !== "syft-alpine") return trivyWant(p);
          const m = p.Metadata as Json;
          return {
            name: p.Name as string,
            version: p.Version as string,
            licenses: p.Licenses as string[],
            sourceName: str(m.OriginPackage),
            arch: str(m.Architecture),
            purl: str(p.PURL),
          };
        }),
      })),
    };
  }
  if (eco === "rpm") {
    const run = () => runFile(fixture, `var/lib/rpm/${basename(fixture)}`);
    if (origin === "go-rpmdb") {
      const checks: Check[] = [];
      if (exp.complete_list)
        checks.push({
          label: "complete_list",
          mode: "exact",
          want: (exp.complete_list as Json[]).map(goRpmdbWant),
        });
      if (exp.must_contain)
        checks.push({
          label: "must_contain",
          mode: "contains",
          want: (exp.must_contain as Json[]).map(goRpmdbWant),
        });
      const qa = exp.cross_check_rpm_qa as Json | undefined;
      if (qa)
        checks.push({
          label: "cross_check_rpm_qa (rpm -qa, not upstream)",
          mode: "exact",
          want: (qa.packages as Json[]).map(goRpmdbWant),
        });
      const distro: Distro | undefined = key.includes("cbl-mariner-2.0")
        ? { id: "mariner", versionId: "2.0" }
        : key.includes("libuuid")
          ? { id: "rhel", versionId: "8.8" } // release 42.el8_8
          : undefined;
      return { format: "rpm", run, checks, distro };
    }
    if (origin === "syft-redhat") {
      return {
        format: "rpm",
        run,
        checks: cases.map((c) => ({
          label: c.test as string,
          mode: "exact",
          want: (c.packages as Json[]).map((p) => {
            const m = p.Metadata as Json;
            return {
              name: p.Name as string,
              version: p.Version as string,
              purl: str(p.PURL),
              licenses: p.Licenses as string[],
              epoch: m.Epoch as number | null,
              arch: str(m.Arch),
              release: str(m.Release),
              sourceRpm: str(m.SourceRpm),
              modularityLabel: m.ModularityLabel as string,
            };
          }),
        })),
      };
    }
  }
  return null;
}

/** Differences between what a check wants and what was found; empty when it passes. */
function compare(
  check: Check,
  got: Package[],
  ignored: ReadonlySet<string>,
  allowedMissing: string[],
): string[] {
  const diffs: string[] = [];
  const byName = new Map<string, Package[]>();
  for (const p of got) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const field = (k: keyof Want, w: unknown, g: unknown, who: string) => {
    if (w === undefined || ignored.has(k)) return;
    if (JSON.stringify(w) !== JSON.stringify(g))
      diffs.push(`${who}: ${k} ${JSON.stringify(g)} ≠ ${JSON.stringify(w)}`);
  };
  for (const w of check.want) {
    const candidates = byName.get(w.name) ?? [];
    const p = candidates.find((c) => c.version === w.version) ?? candidates[0];
    if (!p) {
      if (!allowedMissing.includes(w.name)) diffs.push(`missing ${w.name}@${w.version}`);
      continue;
    }
    const who = `${w.name}@${w.version}`;
    field("version", w.version, p.version, who);
    field("sourceName", w.sourceName, p.sourceName, who);
    field("sourceVersion", w.sourceVersion, p.sourceVersion, who);
    field("arch", w.arch, p.arch, who);
    field("epoch", w.epoch, p.epoch ?? null, who);
    field("release", w.release, p.release, who);
    field("licenses", w.licenses, p.licenses, who);
    field("modularityLabel", w.modularityLabel, p.metadata?.modularityLabel ?? "", who);
    field("sourceRpm", w.sourceRpm, p.metadata?.sourceRpm, who);
    field("purl", w.purl, p.purl, who);
  }
  if (check.mode === "exact") {
    const wanted = new Set(check.want.map((w) => `${w.name}@${w.version}`));
    for (const p of got)
      if (!wanted.has(`${p.name}@${p.version}`)) diffs.push(`unexpected ${p.name}@${p.version}`);
  }
  return diffs;
}

/** A fixture with what to do with it (null: not understood). */
interface Unit extends UpstreamFixture {
  plan: Plan | null;
}

describeFixtures<Unit>({
  title: "OS cataloger fixtures (../shared/testdata/catalogers)",
  units: () =>
    upstreamFixtures(["debian", "alpine", "rpm"]).map((f) => ({
      ...f,
      plan: planFor(f.rel, JSON.parse(readFileSync(f.expectedPath, "utf8")) as Json, f.fixturePath),
    })),
  atLeast: 21,
  name: (u) => u.rel,
  keys: (u) => [u.rel],
  group: (u) => (NOT_APPLICABLE[u.rel] ? "not applicable" : (u.plan?.format ?? "unclassified")),
  notApplicable: NOT_APPLICABLE,
  deviations: Object.fromEntries(
    Object.entries(IGNORED_FIELDS).map(([rel, i]) => [
      rel,
      `${i.fields.join(", ")} not compared: ${i.reason}`,
    ]),
  ),
  async check({ rel, plan }) {
    expect(plan, `no plan for fixture ${rel}: classify it or list it as not applicable`).not.toBeNull();
    const { run, checks, distro } = plan!;
    const { packages, problems } = await run();
    // Corrupt fixtures must say so; clean ones must not cry wolf.
    if (CORRUPT[rel]) expect(problems.join("\n")).toContain(CORRUPT[rel]);
    else expect(problems).toEqual([]);
    const ignored = IGNORED_FIELDS[rel];
    const reported = REPORTED_AS_PROBLEM[rel];
    const diffsIgnoring = (fields: (keyof Want)[]) =>
      checks.flatMap((c) =>
        compare(c, packages, new Set(fields), reported?.names ?? []).map((d) => `${c.label}: ${d}`),
      );
    if (reported) {
      for (const n of reported.names) expect(problems.join("\n")).toContain(n);
      expect(packages.map((p) => p.name)).not.toEqual(expect.arrayContaining(reported.names));
    }
    if (distro) {
      for (const p of packages) {
        const u = parsePurl(osPurl(p, distro));
        expect(u).toMatchObject({ type: p.ecosystem, namespace: distro.id, name: p.name });
        expect(u?.qualifiers?.distro).toBe(`${distro.id}-${distro.versionId}`);
      }
    }
    return {
      diffs: diffsIgnoring(ignored?.fields ?? []),
      // The deviation must still be one: without ignoring, the fields differ.
      ...(ignored ? { strict: diffsIgnoring([]) } : {}),
      ...(reported ? { note: `${reported.names.join(", ")} reported as a problem: ${reported.reason}` } : {}),
    };
  },
});
