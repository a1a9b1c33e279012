import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Distro, Package } from "../catalog/types.js";
import { sha256 } from "../core/digest.js";
import { readEvents } from "../events/log.js";
import type { ImageInventory } from "../image/types.js";
import { markPartialFixes, matchPackages } from "../match/matcher.js";
import { matchKeyOf } from "../match/keys.js";
import type { AdvisoryLookup } from "../match/types.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { Advisory, Enrichment } from "../vulndb/types.js";
import { commitChunk, matchChunk, planRematch, REMATCH_JOB, type RematchJob } from "./rematch.js";
import { recordScan } from "./results.js";
import { writeScanningConfiguration } from "./state.js";
import { testManifest } from "../storage/meta/testing.js";

/**
 * The re-match against its oracle: a database change re-matched through planRematch,
 * matchChunk and commitChunk (the changed keys' packages only, the chunk's segments read once)
 * leaves every finding and every `Inspector2 Finding` event as a full scan of every image with
 * the new database would (recordScan), on random registries and random changes.
 */

const aws = { accountId: "123456789012", region: "eu-west-1" };
const distro: Distro = { id: "debian", versionId: "12", codename: "bookworm", prettyName: "Debian 12" };

const DEB = ["glibc", "openssl", "zlib"];
const NPM = ["lodash", "qs"];
const DEB_VERSIONS = ["1.0-1", "1.0-2", "2.0-1"];
const NPM_VERSIONS = ["1.0.0", "1.2.0", "2.0.0"];

interface PackageSpec {
  kind: "deb" | "npm";
  name: number;
  version: number;
  path: number;
}

const packageSpec = fc.record({
  kind: fc.constantFrom<"deb" | "npm">("deb", "npm"),
  name: fc.nat({ max: 3 }),
  version: fc.nat({ max: 2 }),
  path: fc.nat({ max: 1 }),
});

function toPackage(s: PackageSpec, layer: string): Package {
  if (s.kind === "deb") {
    const source = DEB[s.name % DEB.length]!;
    const version = DEB_VERSIONS[s.version]!;
    // two binary packages of one source in some images (libc6 and libc-bin of glibc)
    const name = s.path ? `${source}-bin` : source;
    return {
      name,
      version,
      ecosystem: "deb",
      purl: `pkg:deb/debian/${name}@${version}`,
      path: "/var/lib/dpkg/status",
      sourceName: source,
      sourceVersion: version,
      layer,
    } as Package;
  }
  const name = NPM[s.name % NPM.length]!;
  const version = NPM_VERSIONS[s.version]!;
  return {
    name,
    version,
    ecosystem: "npm",
    purl: `pkg:npm/${name}@${version}`,
    path: `/app${s.path}/node_modules/${name}/package.json`,
    layer,
  } as Package;
}

interface AdvisorySpec {
  kind: "deb" | "npm";
  name: number;
  fixed: number | null;
  cve: number;
}

const advisorySpec = fc.record({
  kind: fc.constantFrom<"deb" | "npm">("deb", "npm"),
  name: fc.nat({ max: 3 }),
  fixed: fc.option(fc.nat({ max: 2 }), { nil: null }),
  // few CVEs: several packages share one (PARTIAL fixes), KEV changes hit findings
  cve: fc.nat({ max: 2 }),
});

function toAdvisory(s: AdvisorySpec, i: number, text: string): Advisory {
  const deb = s.kind === "deb";
  const fixed = s.fixed === null ? [] : [{ fixed: (deb ? DEB_VERSIONS : NPM_VERSIONS)[s.fixed]! }];
  return {
    id: `ADV-${i}`,
    source: "test",
    aliases: [`CVE-2099-${1000 + s.cve}`],
    modified: "2024-01-01T00:00:00Z",
    summary: `advisory ${i} ${text}`,
    affected: [
      {
        ecosystem: deb ? "debian:12" : "npm",
        package: deb ? DEB[s.name % DEB.length]! : NPM[s.name % NPM.length]!,
        ranges: [{ type: deb ? "ECOSYSTEM" : "SEMVER", events: [{ introduced: "0" }, ...fixed] }],
      },
    ],
  } as unknown as Advisory;
}

/** A database of advisories and KEV facts, as the matcher reads one. */
function lookup(advisories: readonly Advisory[], kev: ReadonlySet<string>): AdvisoryLookup {
  return {
    advisoriesFor: (ecosystem, pkg) =>
      advisories
        .map((a) => ({
          ...a,
          affected: a.affected.filter((x) => x.ecosystem === ecosystem && x.package === pkg),
        }))
        .filter((a) => a.affected.length > 0),
    enrichment: (ids) => {
      const out = new Map<string, Enrichment>();
      for (const id of ids)
        if (kev.has(id)) out.set(id, { cve: id, kev: { dateAdded: "2024-01-01" } } as Enrichment);
      return out;
    },
  };
}

interface Registry {
  /** segments by index: their packages (as specs) */
  segments: PackageSpec[][];
  /** images: repository index and segment indexes */
  images: { repo: number; segments: number[] }[];
}

const registry = fc
  .array(fc.array(packageSpec, { minLength: 1, maxLength: 5 }), { minLength: 2, maxLength: 6 })
  .chain((segments) =>
    fc.record({
      segments: fc.constant(segments),
      images: fc.array(
        fc.record({
          repo: fc.nat({ max: 2 }),
          segments: fc.uniqueArray(fc.nat({ max: segments.length - 1 }), { minLength: 1, maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    }),
  );

interface Change {
  /** advisories of v1, by index, and what v2 does with each */
  v1: AdvisorySpec[];
  edits: ("keep" | "drop" | "retext" | "refix")[];
  added: AdvisorySpec[];
  kev1: number[];
  kev2: number[];
}

const change = fc.record({
  v1: fc.array(advisorySpec, { maxLength: 8 }),
  // mostly kept: the findings of packages no changed key concerns are what a re-match must not lose
  edits: fc.array(
    fc.constantFrom<"keep" | "drop" | "retext" | "refix">("keep", "keep", "keep", "drop", "retext", "refix"),
    { minLength: 8, maxLength: 8 },
  ),
  added: fc.array(advisorySpec, { maxLength: 3 }),
  kev1: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
  kev2: fc.array(fc.nat({ max: 2 }), { maxLength: 2 }),
});

function databases(c: Change): {
  v1: Advisory[];
  v2: Advisory[];
  keys: string[];
  kev1: Set<string>;
  kev2: Set<string>;
  cves: string[];
} {
  const v1 = c.v1.map((s, i) => toAdvisory(s, i, "v1"));
  const v2: Advisory[] = [];
  const changed: Advisory[] = [];
  c.v1.forEach((s, i) => {
    const edit = c.edits[i]!;
    if (edit === "keep") return void v2.push(v1[i]!);
    changed.push(v1[i]!);
    if (edit === "drop") return;
    const next =
      edit === "retext"
        ? toAdvisory(s, i, "v2")
        : toAdvisory({ ...s, fixed: s.fixed === null ? 1 : s.fixed === 2 ? null : s.fixed + 1 }, i, "v1");
    v2.push(next);
    changed.push(next);
  });
  c.added.forEach((s, j) => {
    const a = toAdvisory(s, 100 + j, "new");
    v2.push(a);
    changed.push(a);
  });
  // the keys a diff reports: every (ecosystem, package) of an advisory added, removed or changed
  const keys = [...new Set(changed.flatMap((a) => a.affected.map((x) => matchKeyOf(x))))];
  const kev1 = new Set(c.kev1.map((n) => `CVE-2099-${1000 + n}`));
  const kev2 = new Set(c.kev2.map((n) => `CVE-2099-${1000 + n}`));
  const cves = [...new Set([...kev1, ...kev2])].filter((x) => kev1.has(x) !== kev2.has(x));
  return { v1, v2, keys, kev1, kev2, cves };
}

async function populate(meta: MetaStore, r: Registry, db: AdvisoryLookup, now: number) {
  await writeScanningConfiguration(meta, {
    scanType: "ENHANCED",
    rules: [
      { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
    ],
  });
  const images: { repositoryId: number; digest: string; inventory: ImageInventory }[] = [];
  for (const [n, img] of r.images.entries()) {
    const repositoryId = await meta.registry.ensureRepository(`repo-${img.repo}`);
    const digest = sha256(`image-${n}`);
    await meta.registry.putManifest(testManifest(repositoryId, digest, { size: 1, tag: `t${n}` }));
    const layers = img.segments.map((s) => sha256(`layer-${s}`));
    const packages = img.segments.flatMap((s, i) => r.segments[s]!.map((p) => toPackage(p, layers[i]!)));
    // one package instance per (name, path): the merged inventory of an image
    const seen = new Set<string>();
    const unique = packages.filter((p) => {
      const k = `${p.name}\u0000${p.path}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const inventory = {
      image: { layers: layers.map((diffID) => ({ diffID })) },
      distro,
      packages: unique,
    } as unknown as ImageInventory;
    images.push({ repositoryId, digest, inventory });
    await meta.tx((tx) =>
      recordScan(tx, {
        repositoryId,
        digest,
        scanType: "ENHANCED",
        inventory,
        findings: matchPackages(unique, distro, db),
        now,
        aws,
      }),
    );
  }
  return images;
}

/** Every finding as stored, but its last observation (a re-match observes its scope only). */
async function findingsOf(meta: MetaStore, images: { repositoryId: number; digest: string }[]) {
  const rows = await meta.findings.forImages(images, "ENHANCED");
  return rows
    .map((r) => ({
      id: r.id,
      status: r.status,
      severity: r.severity,
      fixAvailable: r.fixAvailable,
      exploitAvailable: r.exploitAvailable,
      firstObservedAt: r.firstObservedAt,
      updatedAt: r.updatedAt,
      closedAt: r.closedAt,
      document: JSON.parse(r.document) as unknown,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The `Inspector2 Finding` events after `seq`: their details, by finding. */
async function findingEvents(meta: MetaStore, after: number) {
  return (await readEvents(meta, after, 100_000))
    .map((e) => e.event)
    .filter((e) => e["detail-type"] === "Inspector2 Finding")
    .map((e) => {
      const d = e.detail as { findingArn: string };
      return `${d.findingArn} ${JSON.stringify(e.detail)}`;
    })
    .sort();
}

describe("re-matching a database change", () => {
  it("leaves every finding and event as a full scan of every image with the new database would", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-rematch-"));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(registry, change, async (r, c) => {
          run++;
          const d = databases(c);
          const v1 = lookup(d.v1, d.kev1);
          const v2 = lookup(d.v2, d.kev2);
          const [t1, t2] = [1_700_000_000_000, 1_700_000_600_000];
          // one clock for both stores: the events show the images' push times
          const rematched = await openSqliteMetaStore(join(dir, `r${run}.db`), () => t1);
          const scanned = await openSqliteMetaStore(join(dir, `s${run}.db`), () => t1);
          try {
            const images = await populate(rematched, r, v1, t1);
            await populate(scanned, r, v1, t1);
            const seq = (await readEvents(rematched, 0, 100_000)).at(-1)?.seq ?? 0;

            // the re-match: planned from the changed keys and CVEs, run chunk by chunk
            await rematched.tx((tx) =>
              planRematch(tx, { builtAt: 2, keys: d.keys, cves: d.cves }, async () => false),
            );
            for (const job of await rematched.jobs.list([REMATCH_JOB])) {
              const matches = await matchChunk(rematched, job.payload as RematchJob, v2);
              await rematched.tx((tx) => commitChunk(tx, matches, t2, aws));
            }
            // the oracle: every image scanned again, whole
            for (const img of images) {
              const found = matchPackages(img.inventory.packages, distro, v2);
              markPartialFixes(found);
              await scanned.tx((tx) =>
                recordScan(tx, { ...img, scanType: "ENHANCED", findings: found, now: t2, aws }),
              );
            }
            expect(await findingsOf(rematched, images)).toEqual(await findingsOf(scanned, images));
            expect(await findingEvents(rematched, seq)).toEqual(await findingEvents(scanned, seq));
          } finally {
            await rematched.close();
            await scanned.close();
          }
        }),
        {
          numRuns: 40,
          examples: [
            // CVE-2099-1000 on glibc (fixed: YES) and zlib (no fix: PARTIAL); glibc's advisory is
            // dropped, then given another fix: zlib, which no changed key concerns, moves to NO.
            ...(["drop", "refix"] as const).map((edit): [Registry, Change] => [
              {
                segments: [
                  [{ kind: "deb", name: 0, version: 0, path: 0 }],
                  [{ kind: "deb", name: 2, version: 0, path: 0 }],
                ],
                images: [{ repo: 0, segments: [0, 1] }],
              },
              {
                v1: [
                  { kind: "deb", name: 0, fixed: 1, cve: 0 },
                  { kind: "deb", name: 2, fixed: null, cve: 0 },
                ],
                edits: [edit, "keep", "keep", "keep", "keep", "keep", "keep", "keep"],
                added: [],
                kev1: [],
                kev2: [],
              },
            ]),
          ],
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
