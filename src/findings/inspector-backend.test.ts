import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsPrincipal } from "../api/access.js";
import type { AggregationRequest } from "../api/inspector2/backend.js";
import { DEFAULT_SORT } from "../api/inspector2/criteria.js";
import type { FindingRecord } from "../api/inspector2/finding.js";
import type { FilterCriteria, SortCriteria, StringFilter } from "../api/inspector2/shapes.js";
import { SORT_FIELDS } from "../api/inspector2/shapes.js";
import { MemoryInspector2Backend } from "../api/inspector2/testing.js";
import { sha256 } from "../core/digest.js";
import { readEvents } from "../events/log.js";
import type { Finding } from "./finding.js";
import { reportedSeverity } from "../scan/engine.js";
import { findingId } from "../storage/meta/finding-rows.js";
import { openPostgresMetaStore } from "../storage/meta/postgres.js";
import { freshPostgresDatabase, pgServerUrl } from "../storage/meta/postgres-testing.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { FindingWrite, MetaStore } from "../storage/meta/store.js";
import { identityOf, inspectorScore } from "./lifecycle.js";
import { StoreInspector2Backend } from "./inspector-backend.js";
import { recordOf, type ImageContext } from "./records.js";
import { testFinding } from "./testing.js";
import { testManifest } from "../storage/meta/testing.js";

/**
 * The store-backed Inspector2 backend against the reference: the in-memory test double (the
 * criteria evaluator and comparator of criteria.ts) over the same records. A few hundred
 * generated findings; random criteria and sorts (fast-check); pages walked to the end; on
 * SQLite and on the PostgreSQL of the test setup.
 */

const REGISTRY = { accountId: "123456789012", region: "us-east-1" };
const everyone = AwsPrincipal.unrestricted(REGISTRY.accountId);
const REPOS = ["team/a", "team/b", "other"];
const VULNS = ["CVE-2024-0001", "CVE-2024-0002", "CVE-2023-9999", "GHSA-xxxx-yyyy", "CVE-2024-0010"];
const PACKAGES = ["openssl", "zlib", "lodash", "urllib3", "log4j-core"];
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"] as const;
const LAYER = (i: number) => `sha256:${String(i).repeat(64).slice(0, 64)}`;

interface Dataset {
  records: FindingRecord[];
}

/** Stores repositories, images and ~300 findings; returns the records as the API must show them. */
async function populate(store: MetaStore): Promise<Dataset> {
  const config = sha256("config");
  const layer = sha256("layer");
  const images: { repositoryId: number; ctx: ImageContext }[] = [];
  for (const [ri, name] of REPOS.entries()) {
    const id = await store.registry.ensureRepository(name);
    await store.registry.linkBlob(id, config, 6);
    await store.registry.linkBlob(id, layer, 5);
    for (let k = 0; k < 2; k++) {
      const digest = sha256(`${name}-${k}`);
      await store.registry.putManifest(
        testManifest(id, digest, {
          references: [
            { digest: config, kind: "blob" },
            { digest: layer, kind: "blob" },
          ],
          tag: k === 0 ? "latest" : `v${ri}.${k}`,
        }),
      );
      const m = (await store.registry.manifest(id, digest))!;
      images.push({
        repositoryId: id,
        ctx: {
          repositoryName: name,
          digest,
          imageTags: await store.registry.tagsOf(id, digest),
          pushedAt: m.createdAt,
          lastPulledAt: null,
          repositoryTags: {},
        },
      });
    }
  }
  const specs = fc.sample(
    fc.record({
      image: fc.nat(images.length - 1),
      vuln: fc.constantFrom(...VULNS),
      pkg: fc.constantFrom(...PACKAGES),
      path: fc.constantFrom("/var/lib/dpkg/status", "/app/node_modules/x/package.json", "/opt/a.jar"),
      severity: fc.constantFrom(...SEVERITIES),
      status: fc.constantFrom("ACTIVE", "ACTIVE", "SUPPRESSED", "CLOSED" as const),
      fix: fc.constantFrom("YES", "NO", "PARTIAL" as const),
      kev: fc.boolean(),
      epss: fc.option(fc.constantFrom(0.001, 0.5, 0.97), { nil: undefined }),
      score: fc.option(fc.constantFrom(5.5, 7.5, 9.8), { nil: undefined }),
      vendorSeverity: fc.option(fc.constantFrom("important", "low", "Medium"), { nil: undefined }),
      source: fc.constantFrom("osv", "debian-tracker", ""),
      first: fc.constantFrom(1_700_000_000_000, 1_700_000_500_000, 1_710_000_000_000),
      last: fc.constantFrom(1_720_000_000_000, 1_720_000_000_500),
      layer: fc.nat(3),
    }),
    { numRuns: 320, seed: 42 },
  );
  const writes: FindingWrite[] = [];
  const records = new Map<string, FindingRecord>();
  for (const s of specs) {
    const img = images[s.image]!;
    const doc: Finding = testFinding({
      vulnerabilityId: s.vuln,
      severity: s.severity,
      fixAvailable: s.fix,
      kev: s.kev,
      source: s.source,
      ...(s.epss !== undefined ? { epss: { score: s.epss, percentile: 0.5 } } : {}),
      ...(s.vendorSeverity !== undefined ? { vendorSeverity: s.vendorSeverity } : {}),
      cvss:
        s.score === undefined
          ? []
          : [{ type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: s.score }],
      package: {
        name: s.pkg,
        path: s.path,
        ecosystem: s.path.includes("dpkg") ? "deb" : "npm",
        layer: LAYER(s.layer),
      },
    });
    const identity = identityOf(doc, {
      repositoryId: img.repositoryId,
      digest: img.ctx.digest,
      scanType: "ENHANCED",
    });
    const id = findingId(identity);
    if (records.has(id)) continue;
    const state = {
      status: s.status,
      severity: reportedSeverity(s.severity, "ENHANCED"),
      fixAvailable: s.fix,
      inspectorScore: inspectorScore(doc),
      epssScore: doc.epss?.score ?? null,
      exploitAvailable: s.kev,
      firstObservedAt: s.first,
      lastObservedAt: s.last,
      updatedAt: s.last,
      closedAt: s.status === "CLOSED" ? s.last : null,
    };
    writes.push({ identity, state, document: JSON.stringify(doc) });
    records.set(id, recordOf(REGISTRY, id, doc, state, img.ctx));
  }
  // A BASIC finding is not Inspector's: never listed.
  writes.push({
    identity: { ...writes[0]!.identity, scanType: "BASIC" },
    state: writes[0]!.state,
    document: writes[0]!.document,
  });
  await store.findings.put(writes);
  return { records: [...records.values()] };
}

const stringFilter = (values: readonly string[]): fc.Arbitrary<StringFilter> =>
  fc.record({
    comparison: fc.constantFrom("EQUALS", "PREFIX", "NOT_EQUALS" as const),
    value: fc.oneof(
      fc.constantFrom(...values),
      fc.constantFrom(...values).map((v) => v.slice(0, 5)),
    ),
  });
const list = (values: readonly string[]) => fc.array(stringFilter(values), { minLength: 1, maxLength: 3 });
const dates = fc.array(
  fc.record(
    {
      startInclusive: fc.constantFrom(1_700_000_000, 1_700_000_500, 1_720_000_000),
      endInclusive: fc.constantFrom(1_700_000_000, 1_710_000_000, 1_720_000_000.5),
    },
    { requiredKeys: [] },
  ),
  { minLength: 1, maxLength: 2 },
);
const numbers = fc.array(
  fc.record(
    { lowerInclusive: fc.constantFrom(0.001, 0.5, 5.5, 7.5), upperInclusive: fc.constantFrom(0.5, 7.5, 9.8) },
    { requiredKeys: [] },
  ),
  { minLength: 1, maxLength: 2 },
);

const criteriaArb: fc.Arbitrary<FilterCriteria> = fc.record(
  {
    severity: list(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED"]),
    findingStatus: list(["ACTIVE", "SUPPRESSED", "CLOSED"]),
    vulnerabilityId: list(VULNS),
    ecrImageRepositoryName: list(REPOS),
    ecrImageTags: list(["latest", "v0.1", "v1.1", "v2.1"]),
    fixAvailable: list(["YES", "NO", "PARTIAL"]),
    exploitAvailable: list(["YES", "NO"]),
    vendorSeverity: list(["important", "low", "Medium"]),
    vulnerabilitySource: list(["osv", "debian-tracker", "drydock"]),
    firstObservedAt: dates,
    lastObservedAt: dates,
    epssScore: numbers,
    inspectorScore: numbers,
    vulnerablePackages: fc.array(
      fc.record(
        { name: stringFilter(PACKAGES), version: stringFilter(["3.0.7", "3.0.7-1"]) },
        { requiredKeys: [] },
      ),
      { minLength: 1, maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const sortArb: fc.Arbitrary<SortCriteria> = fc.record({
  field: fc.constantFrom(...SORT_FIELDS),
  sortOrder: fc.constantFrom("ASC", "DESC" as const),
});

async function walk(
  backend: StoreInspector2Backend | MemoryInspector2Backend,
  criteria: FilterCriteria | undefined,
  sort: SortCriteria,
  maxResults: number,
): Promise<string[]> {
  const out: string[] = [];
  let nextToken: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const p = await backend.listFindings(
      { ...(criteria ? { criteria } : {}), sort, maxResults, ...(nextToken ? { nextToken } : {}) },
      everyone,
    );
    out.push(...p.items.map((r) => r.findingArn));
    if (!p.nextToken) return out;
    expect(p.items).toHaveLength(maxResults);
    nextToken = p.nextToken;
  }
  throw new Error("too many pages");
}

function describeBackend(
  driver: string,
  open: () => Promise<{ store: MetaStore; cleanup: () => Promise<void> }>,
) {
  describe(`StoreInspector2Backend (${driver})`, () => {
    let store: MetaStore;
    let cleanup: () => Promise<void>;
    let backend: StoreInspector2Backend;
    let oracle: MemoryInspector2Backend;
    let data: Dataset;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
      data = await populate(store);
      backend = new StoreInspector2Backend(store, { registry: REGISTRY, now: () => 1_730_000_000_000 });
      oracle = new MemoryInspector2Backend(REGISTRY);
      oracle.findings.push(...data.records);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it("lists every ENHANCED finding, as the reference shows it, in the default order", async () => {
      const all = await backend.listFindings({ sort: DEFAULT_SORT, maxResults: 100 }, everyone);
      expect(data.records.length).toBeGreaterThan(200);
      const ref = await oracle.listFindings({ sort: DEFAULT_SORT, maxResults: 100 }, everyone);
      expect(all.items).toEqual(ref.items);
      expect(await walk(backend, undefined, DEFAULT_SORT, 100)).toEqual(
        await walk(oracle, undefined, DEFAULT_SORT, 100),
      );
    });

    it("selects and orders exactly as the evaluator and comparator, page after page", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.option(criteriaArb, { nil: undefined }),
          sortArb,
          fc.constantFrom(7, 50, 100),
          async (criteria, sort, maxResults) => {
            expect(await walk(backend, criteria, sort, maxResults)).toEqual(
              await walk(oracle, criteria, sort, maxResults),
            );
          },
        ),
        { numRuns: 60 },
      );
    }, 120_000);

    it("aggregates as the reference: every image type, sort and filter", async () => {
      const reqs: AggregationRequest[] = [];
      for (const sortBy of ["CRITICAL", "HIGH", "ALL"] as const)
        for (const sortOrder of ["ASC", "DESC"] as const) {
          reqs.push(
            { type: "REPOSITORY", sortBy, sortOrder },
            { type: "AWS_ECR_CONTAINER", sortBy, sortOrder },
            { type: "IMAGE_LAYER", sortBy, sortOrder },
            { type: "PACKAGE", sortBy, sortOrder },
            { type: "TITLE", sortBy, sortOrder },
            { type: "ACCOUNT", sortBy, sortOrder },
            { type: "FINDING_TYPE", sortBy, sortOrder },
          );
        }
      reqs.push(
        { type: "REPOSITORY", sortBy: "AFFECTED_IMAGES", sortOrder: "DESC" },
        {
          type: "REPOSITORY",
          repositories: [{ comparison: "PREFIX", value: "team/" }],
          sortBy: "ALL",
          sortOrder: "DESC",
        },
        {
          type: "PACKAGE",
          packageNames: [{ comparison: "NOT_EQUALS", value: "zlib" }],
          sortBy: "ALL",
          sortOrder: "ASC",
        },
        {
          type: "TITLE",
          vulnerabilityIds: [{ comparison: "PREFIX", value: "CVE-2024" }],
          sortBy: "HIGH",
          sortOrder: "DESC",
        },
        {
          type: "AWS_ECR_CONTAINER",
          imageTags: [{ comparison: "EQUALS", value: "latest" }],
          sortBy: "ALL",
          sortOrder: "DESC",
        },
      );
      for (const request of reqs) {
        const pages = async (b: StoreInspector2Backend | MemoryInspector2Backend) => {
          const out: unknown[] = [];
          let nextToken: string | undefined;
          do {
            const p = await b.listFindingAggregations(
              { request, maxResults: 4, ...(nextToken ? { nextToken } : {}) },
              everyone,
            );
            out.push(...p.items);
            nextToken = p.nextToken;
          } while (nextToken);
          return out;
        };
        expect(await pages(backend), JSON.stringify(request)).toEqual(await pages(oracle));
      }
    });

    it("a SUPPRESS filter suppresses its findings at once; deleting it revives them; both are events", async () => {
      const criteria: FilterCriteria = {
        vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-2024-0001" }],
      };
      const active = async () =>
        (
          await walk(
            backend,
            { ...criteria, findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] },
            DEFAULT_SORT,
            100,
          )
        ).length;
      const before = await active();
      expect(before).toBeGreaterThan(0);
      const open = (
        await walk(
          backend,
          {
            ...criteria,
            findingStatus: [
              { comparison: "EQUALS", value: "ACTIVE" },
              { comparison: "EQUALS", value: "SUPPRESSED" },
            ],
          },
          DEFAULT_SORT,
          100,
        )
      ).length;
      const seq = await store.events.lastSeq();
      const f = await backend.createFilter(
        { name: "accepted", action: "SUPPRESS", criteria, reason: "risk accepted" },
        everyone,
      );
      expect(f.arn).toMatch(
        /^arn:aws:inspector2:us-east-1:123456789012:owner\/123456789012\/filter\/[0-9a-f]{16}$/,
      );
      expect(await active()).toBe(0);
      const events = await readEvents(store, seq);
      const change = events.find((e) => e.event["detail-type"] === "Drydock Suppression Change")!.event;
      expect(change.source).toBe("drydock");
      expect(change.detail).toMatchObject({ change: "CREATED", by: everyone.arn });
      // Suppression is what the filters say: the generated SUPPRESSED findings no filter matches
      // become ACTIVE too; one Inspector2 Finding event per finding changed.
      const changed = (change.detail as { "findings-changed": number })["findings-changed"];
      expect(changed).toBeGreaterThanOrEqual(before);
      const findingEvents = events.filter((e) => e.event["detail-type"] === "Inspector2 Finding");
      expect(findingEvents).toHaveLength(changed);
      expect(findingEvents[0]!.event).toMatchObject({ source: "aws.inspector2" });
      expect((findingEvents[0]!.event.detail as { firstObservedAt: string }).firstObservedAt).toMatch(
        /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M$/,
      );
      await expect(
        backend.createFilter({ name: "accepted", action: "NONE", criteria }, everyone),
      ).rejects.toMatchObject({ code: "BadRequestException" });
      expect((await backend.listFilters({ maxResults: 10 }, everyone)).items.map((x) => x.name)).toEqual([
        "accepted",
      ]);
      await backend.deleteFilter(f.arn, everyone);
      // Without a filter nothing is suppressed: every open finding of the CVE is ACTIVE.
      expect(await active()).toBe(open);
      await expect(backend.deleteFilter(f.arn, everyone)).rejects.toMatchObject({
        code: "ResourceNotFoundException",
      });
    });

    it("a filter tagged drydock:expires-at stops suppressing when the expiry runs", async () => {
      let now = 1_730_000_000_000;
      const b = new StoreInspector2Backend(store, { registry: REGISTRY, now: () => now });
      const criteria: FilterCriteria = {
        vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-2024-0002" }],
      };
      const suppressed = async () =>
        (
          await walk(
            b,
            { ...criteria, findingStatus: [{ comparison: "EQUALS", value: "SUPPRESSED" }] },
            DEFAULT_SORT,
            100,
          )
        ).length;
      const base = await suppressed();
      const f = await b.createFilter(
        {
          name: "until",
          action: "SUPPRESS",
          criteria,
          tags: { "drydock:expires-at": new Date(now + 60_000).toISOString() },
        },
        everyone,
      );
      const during = await suppressed();
      expect(during).toBeGreaterThan(base);
      expect(await b.expireFilters()).toBe(0);
      now += 61_000;
      expect(await b.expireFilters()).toBe(1);
      expect(await suppressed()).toBe(base);
      expect(await b.listTags(f.arn, everyone)).toEqual({
        "drydock:expires-at": new Date(now - 1_000).toISOString(),
      });
      await b.deleteFilter(f.arn, everyone);
    });

    it("configuration, activation and the filter quota", async () => {
      // The default window (scan/window.ts): 90 days from the last push or the last pull.
      expect(await backend.getConfiguration(everyone)).toEqual({
        rescanDuration: "DAYS_90",
        pullDateRescanDuration: "DAYS_90",
        pullDateRescanMode: "LAST_PULL_DATE",
        status: "SUCCESS",
      });
      // UpdateConfiguration replaces the whole configuration: pulls no longer count.
      await backend.updateConfiguration({ rescanDuration: "DAYS_30" }, everyone);
      expect(await backend.getConfiguration(everyone)).toEqual({
        rescanDuration: "DAYS_30",
        status: "SUCCESS",
        updatedAt: expect.any(Number) as unknown,
      });
      expect(await backend.ecrStatus(everyone)).toBe("DISABLED");
      await backend.enable(everyone);
      expect(await backend.ecrStatus(everyone)).toBe("ENABLED");
      const cov = await backend.listCoverage({ maxResults: 100 }, everyone);
      expect(cov.items.filter((c) => c.resourceType === "AWS_ECR_CONTAINER_IMAGE")).toHaveLength(6);
      expect((await backend.coverageStatistics({ groupBy: "RESOURCE_TYPE" }, everyone)).totalCounts).toBe(9);
      await backend.disable(everyone);
      expect(await backend.ecrStatus(everyone)).toBe("DISABLED");
      const small = new StoreInspector2Backend(store, { registry: REGISTRY, maxFilters: 1 });
      const one = await small.createFilter(
        { name: "one", action: "NONE", criteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] } },
        everyone,
      );
      await expect(
        small.createFilter(
          { name: "two", action: "NONE", criteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] } },
          everyone,
        ),
      ).rejects.toMatchObject({ code: "ServiceQuotaExceededException" });
      await small.deleteFilter(one.arn, everyone);
    });
  });
}

describeBackend("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "drydock-inspector-"));
  return {
    store: await openSqliteMetaStore(join(dir, "meta.db")),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe.skipIf(!pgServerUrl)("PostgreSQL", () => {
  describeBackend("postgres", async () => {
    const db = await freshPostgresDatabase();
    return { store: openPostgresMetaStore(db.url), cleanup: db.drop };
  });
});
