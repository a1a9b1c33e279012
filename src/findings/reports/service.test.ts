import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsPrincipal } from "../../api/access.js";
import { DEFAULT_SORT } from "../../api/inspector2/criteria.js";
import { toInspectorFinding, type InspectorFinding } from "../../api/inspector2/finding.js";
import { inspector2Operations } from "../../api/inspector2/operations.js";
import type { FilterCriteria } from "../../api/inspector2/shapes.js";
import type { Package } from "../../catalog/types.js";
import { sha256 } from "../../core/digest.js";
import type { ImageInventory } from "../../image/types.js";
import { JobWorker } from "../../jobs/worker.js";
import { validateCycloneDx } from "../../sbom/cyclonedx.js";
import { validateSpdx } from "../../sbom/spdx-validate.js";
import { inventorySegments } from "../../scan/inventory.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import type { BlobStore } from "../../storage/blob/types.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { StoreInspector2Backend } from "../inspector-backend.js";
import { parseCsv } from "./csv-testing.js";
import { MEDIA, populateFindings } from "./report-testing.js";
import { CSV_COLUMNS } from "./findings-format.js";
import { InspectorReports, REPORT_JOB } from "./service.js";

/**
 * Findings reports and SBOM exports over real stores: SQLite and the filesystem blob store in a
 * temporary directory, the real job worker. Findings are written through the findings store;
 * images are real manifests and configs in the blob store with stored inventories (their layers
 * are not in the store at all: an export reads none).
 */

const REGISTRY = { accountId: "123456789012", region: "us-east-1" };
const admin = AwsPrincipal.unrestricted(REGISTRY.accountId, undefined, "admin");
const KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const dest = (keyPrefix?: string) => ({
  bucketName: "sec-reports",
  ...(keyPrefix !== undefined ? { keyPrefix } : {}),
  kmsKeyArn: KMS,
});

interface Env {
  dir: string;
  meta: MetaStore;
  blobs: BlobStore;
  reports: InspectorReports;
  backend: StoreInspector2Backend;
  worker?: JobWorker;
}

async function readAll(r: Readable | null): Promise<string | null> {
  if (r === null) return null;
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function startWorker(
  env: Env,
  o: { maxAttempts?: number; leaseMs?: number; release?: boolean } = {},
): JobWorker {
  const w = new JobWorker(env.meta, env.reports.jobHandlers() as never, {
    concurrency: 1,
    maxAttempts: o.maxAttempts ?? 3,
    retryBaseMs: 10,
    leaseMs: o.leaseMs ?? 5_000,
    pollIntervalMs: 20,
  });
  env.reports.onQueued = () => w.wake();
  void w.start(o.release ?? false);
  env.worker = w;
  return w;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const finished = (env: Env, id: string, kind: "FINDINGS" | "SBOM" = "FINDINGS") =>
  until(`report ${id}`, async () => {
    const s =
      kind === "FINDINGS"
        ? await env.reports.getFindingsReportStatus(id)
        : await env.reports.getSbomExport(id);
    return s.status === "IN_PROGRESS" ? undefined : s;
  });

/** What ListFindings answers for the criteria, every page, as the wire's findings. */
async function listed(env: Env, criteria: FilterCriteria): Promise<InspectorFinding[]> {
  const out: InspectorFinding[] = [];
  let nextToken: string | undefined;
  for (;;) {
    const p = await env.backend.listFindings(
      { criteria, sort: DEFAULT_SORT, maxResults: 100, nextToken },
      admin,
    );
    out.push(...p.items.map((r) => toInspectorFinding(r, REGISTRY)));
    if (!p.nextToken) return out;
    nextToken = p.nextToken;
  }
}

describe("Inspector2 findings reports and SBOM exports", () => {
  let env: Env;
  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-reports-"));
    const meta = await openSqliteMetaStore(join(dir, "meta.sqlite"));
    await meta.migrate();
    const blobs = await FsBlobStore.open(join(dir, "blobs"));
    // Small pages: a report of 30 findings is written over several pages.
    const reports = new InspectorReports(meta, blobs, { registry: REGISTRY, pageSize: 4 });
    env = { dir, meta, blobs, reports, backend: new StoreInspector2Backend(meta, { registry: REGISTRY }) };
  });
  afterEach(async () => {
    await env.worker?.stop();
    await env.meta.close();
    await rm(env.dir, { recursive: true, force: true });
  });

  describe("findings reports", () => {
    beforeEach(async () => populateFindings(env.meta));

    it("CSV: Inspector's header and one row per finding the criteria select, in ListFindings' order", async () => {
      startWorker(env);
      const criteria: FilterCriteria = {
        ecrImageRepositoryName: [{ comparison: "EQUALS", value: "team/a" }],
        findingStatus: [{ comparison: "NOT_EQUALS", value: "CLOSED" }],
      };
      const { reportId } = await env.reports.createFindingsReport(
        { format: "CSV", criteria, destination: dest("weekly/") },
        admin,
      );
      const s = await finished(env, reportId);
      expect(s).toEqual({
        reportId,
        status: "SUCCEEDED",
        destination: dest("weekly/"),
        criteria,
      });
      const text = await readAll(await env.blobs.getObject(`reports/sec-reports/weekly/${reportId}.csv`));
      const rows = parseCsv(text!);
      expect(rows[0]).toEqual([...CSV_COLUMNS]);
      const want = await listed(env, criteria);
      expect(want).toHaveLength(20); // 2 images × 5 packages × (ACTIVE, SUPPRESSED)
      const arn = CSV_COLUMNS.indexOf("Finding ARN");
      expect(rows.slice(1).map((r) => r[arn])).toEqual(want.map((f) => f.findingArn));
      const desc = CSV_COLUMNS.indexOf("Description");
      expect(rows[1]![desc]).toMatch(/"quotes", commas\nand a new line$/);
      expect((await env.meta.reports.get(reportId))?.items).toBe(20);
      expect(await env.meta.jobs.list([REPORT_JOB])).toEqual([]);
    });

    it("JSON without criteria: the ACTIVE findings of every repository, each exactly as ListFindings shows it", async () => {
      startWorker(env);
      const { reportId } = await env.reports.createFindingsReport(
        { format: "JSON", destination: dest() },
        admin,
      );
      const s = await finished(env, reportId);
      expect(s).toEqual({ reportId, status: "SUCCEEDED", destination: dest() });
      const text = await readAll(await env.blobs.getObject(`reports/sec-reports/${reportId}.json`));
      const doc = JSON.parse(text!) as { findings: InspectorFinding[] };
      const active = await listed(env, { findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] });
      expect(active).toHaveLength(15);
      expect(doc.findings).toEqual(active);
      // The latest report is the one GetFindingsReportStatus answers without an id.
      expect((await env.reports.getFindingsReportStatus(undefined)).reportId).toBe(reportId);
    });

    it("criteria that match nothing: FAILED with NO_FINDINGS_FOUND, no object", async () => {
      startWorker(env);
      const { reportId } = await env.reports.createFindingsReport(
        {
          format: "CSV",
          criteria: { vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-1999-0001" }] },
          destination: dest("x"),
        },
        admin,
      );
      expect(await finished(env, reportId)).toMatchObject({
        status: "FAILED",
        errorCode: "NO_FINDINGS_FOUND",
        errorMessage: expect.stringMatching(/No findings match/) as string,
      });
      expect(await collectKeys(env.blobs)).toEqual([]);
    });

    it("one findings report in progress at a time (ValidationException), as Inspector", async () => {
      const first = await env.reports.createFindingsReport({ format: "CSV", destination: dest() }, admin);
      await expect(
        env.reports.createFindingsReport({ format: "JSON", destination: dest() }, admin),
      ).rejects.toMatchObject({
        code: "ValidationException",
        message: expect.stringContaining(
          `Cannot have multiple reports in-progress: findings report ${first.reportId}`,
        ) as string,
      });
      startWorker(env);
      await finished(env, first.reportId);
      const second = await env.reports.createFindingsReport({ format: "JSON", destination: dest() }, admin);
      expect((await finished(env, second.reportId)).status).toBe("SUCCEEDED");
    });

    it("cancel while queued: CANCELLED, its job dropped, nothing written; idempotent; a finished one cannot be", async () => {
      const { reportId } = await env.reports.createFindingsReport(
        { format: "CSV", destination: dest() },
        admin,
      );
      expect((await env.meta.jobs.list([REPORT_JOB])).map((j) => j.key)).toEqual([reportId]);
      await env.reports.cancelFindingsReport(reportId, admin);
      await env.reports.cancelFindingsReport(reportId, admin);
      expect(await env.reports.getFindingsReportStatus(reportId)).toMatchObject({ status: "CANCELLED" });
      expect(await env.meta.jobs.list([REPORT_JOB])).toEqual([]);
      startWorker(env);
      const done = await env.reports.createFindingsReport({ format: "CSV", destination: dest() }, admin);
      await finished(env, done.reportId);
      expect(await collectKeys(env.blobs)).toEqual([`reports/sec-reports/${done.reportId}.csv`]);
      await expect(env.reports.cancelFindingsReport(done.reportId, admin)).rejects.toMatchObject({
        code: "ValidationException",
        extra: { fields: [{ name: "reportId", message: expect.stringMatching(/is SUCCEEDED/) as string }] },
      });
      // The file of a finished report stays.
      expect(await collectKeys(env.blobs)).toEqual([`reports/sec-reports/${done.reportId}.csv`]);
      const unknown = "00000000-0000-4000-8000-000000000000";
      await expect(env.reports.cancelFindingsReport(unknown, admin)).rejects.toMatchObject({
        code: "ResourceNotFoundException",
      });
      await expect(env.reports.getFindingsReportStatus(unknown)).rejects.toMatchObject({
        code: "ResourceNotFoundException",
      });
    });

    it("cancel while the report is being written: the writer stops and nothing is left", async () => {
      let outcome = "published";
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let started: () => void = () => {};
      const writing = new Promise<void>((r) => (started = r));
      // A store whose writes take the report's first chunk, then wait for the test.
      const slow = new Proxy(env.blobs, {
        get(t, p, recv) {
          if (p !== "putObject") return Reflect.get(t, p, recv) as unknown;
          return async (key: string, body: Readable, o: unknown) => {
            const it = body[Symbol.asyncIterator]();
            const firstChunk = await it.next();
            started();
            await gate;
            const { Readable: R } = await import("node:stream");
            const rest = R.from(
              (async function* () {
                if (!firstChunk.done) yield firstChunk.value as Buffer;
                for (;;) {
                  const n = await it.next();
                  if (n.done) return;
                  yield n.value as Buffer;
                }
              })(),
            );
            return t.putObject(key, rest, o as never).catch((e: Error) => {
              outcome = e.message;
              throw e;
            });
          };
        },
      });
      env.reports = new InspectorReports(env.meta, slow, { registry: REGISTRY, pageSize: 4 });
      startWorker(env);
      const { reportId } = await env.reports.createFindingsReport(
        { format: "CSV", destination: dest() },
        admin,
      );
      await writing;
      await env.reports.cancelFindingsReport(reportId, admin);
      release();
      await until("the job to end", async () =>
        (await env.meta.jobs.list([REPORT_JOB])).length ? undefined : true,
      );
      expect(await env.reports.getFindingsReportStatus(reportId)).toMatchObject({ status: "CANCELLED" });
      // The writer stopped at its next page: the write failed and published nothing.
      expect(outcome).toMatch(/was cancelled/);
      expect(await collectKeys(env.blobs)).toEqual([]);
    });

    it("cancel just after the object was written, before the job's commit: the commit removes it", async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let written: () => void = () => {};
      const wrote = new Promise<void>((r) => (written = r));
      const late = new Proxy(env.blobs, {
        get(t, p, recv) {
          if (p !== "putObject") return Reflect.get(t, p, recv) as unknown;
          return async (key: string, body: Readable, o: unknown) => {
            const info = await t.putObject(key, body, o as never);
            written();
            await gate;
            return info;
          };
        },
      });
      env.reports = new InspectorReports(env.meta, late, { registry: REGISTRY, pageSize: 1000 });
      startWorker(env);
      const { reportId } = await env.reports.createFindingsReport(
        { format: "JSON", destination: dest() },
        admin,
      );
      await wrote;
      // Cancel removes the object at once; the job's commit finds the report CANCELLED.
      await env.reports.cancelFindingsReport(reportId, admin);
      expect(await collectKeys(env.blobs)).toEqual([]);
      // The object was published again by a slow writer after the cancel's cleanup? The commit still removes it.
      await env.blobs.putObject(`reports/sec-reports/${reportId}.json`, Buffer.from("{}"));
      release();
      await until("the job to end", async () =>
        (await env.meta.jobs.list([REPORT_JOB])).length ? undefined : true,
      );
      expect(await env.reports.getFindingsReportStatus(reportId)).toMatchObject({ status: "CANCELLED" });
      expect(await collectKeys(env.blobs)).toEqual([]);
    });

    it("a worker that dies midway: another takes the job over after its lease and writes the report once", async () => {
      const { reportId } = await env.reports.createFindingsReport(
        { format: "CSV", destination: dest() },
        admin,
      );
      // A worker claims the job and dies (it never renews or completes).
      const claimed = await env.meta.jobs.claim([REPORT_JOB], 200);
      expect(claimed?.key).toBe(reportId);
      await new Promise((r) => setTimeout(r, 250));
      startWorker(env);
      expect((await finished(env, reportId)).status).toBe("SUCCEEDED");
      const rows = parseCsv(
        (await readAll(await env.blobs.getObject(`reports/sec-reports/${reportId}.csv`)))!,
      );
      expect(rows).toHaveLength(16);
      // The dead worker's lease is fenced: it cannot complete the job any more.
      expect(await env.meta.jobs.complete(claimed!.id, claimed!.leaseToken!)).toBe(false);
    });

    it("a report queued before a restart is written after it (durable job, new process objects)", async () => {
      const { reportId } = await env.reports.createFindingsReport(
        { format: "JSON", destination: dest() },
        admin,
      );
      await env.meta.close();
      env.meta = await openSqliteMetaStore(join(env.dir, "meta.sqlite"));
      env.blobs = await FsBlobStore.open(join(env.dir, "blobs"));
      env.reports = new InspectorReports(env.meta, env.blobs, { registry: REGISTRY });
      startWorker(env, { release: true });
      expect((await finished(env, reportId)).status).toBe("SUCCEEDED");
    });

    it("a store that keeps failing: retried, then FAILED with INTERNAL_ERROR and the reason; nothing published", async () => {
      const broken = new Proxy(env.blobs, {
        get(t, p, recv) {
          if (p === "putObject") return () => Promise.reject(new Error("object store unreachable"));
          return Reflect.get(t, p, recv) as unknown;
        },
      });
      env.reports = new InspectorReports(env.meta, broken, { registry: REGISTRY });
      startWorker(env, { maxAttempts: 2 });
      const { reportId } = await env.reports.createFindingsReport(
        { format: "CSV", destination: dest() },
        admin,
      );
      expect(await finished(env, reportId)).toMatchObject({
        status: "FAILED",
        errorCode: "INTERNAL_ERROR",
        errorMessage: expect.stringMatching(/object store unreachable/) as string,
      });
      expect(await collectKeys(env.blobs)).toEqual([]);
    });

    it("bad destinations and formats through the wire layer: ValidationException naming the field, nothing stored", async () => {
      const backend = new StoreInspector2Backend(env.meta, { registry: REGISTRY, reports: env.reports });
      const ops = inspector2Operations(backend, REGISTRY);
      const call = (input: Record<string, unknown>) => ops.CreateFindingsReport!(input, { principal: admin });
      const cases: [Record<string, unknown>, string][] = [
        [{ reportFormat: "XML", s3Destination: dest() }, "reportFormat"],
        [
          { reportFormat: "CSV", s3Destination: { ...dest(), bucketName: "Bad_Bucket" } },
          "s3Destination.bucketName",
        ],
        [
          { reportFormat: "CSV", s3Destination: { ...dest(), bucketName: "a..b" } },
          "s3Destination.bucketName",
        ],
        [
          { reportFormat: "CSV", s3Destination: { ...dest(), bucketName: "10.0.0.1" } },
          "s3Destination.bucketName",
        ],
        [{ reportFormat: "CSV", s3Destination: dest("../../etc") }, "s3Destination.keyPrefix"],
        [{ reportFormat: "CSV", s3Destination: dest("a//b") }, "s3Destination.keyPrefix"],
        [
          { reportFormat: "CSV", s3Destination: { ...dest(), kmsKeyArn: "my-key" } },
          "s3Destination.kmsKeyArn",
        ],
        [{ reportFormat: "CSV", s3Destination: { bucketName: "b-1" } }, "s3Destination.kmsKeyArn"],
        [
          {
            reportFormat: "CSV",
            s3Destination: dest(),
            filterCriteria: { severity: [{ comparison: "LIKE", value: "HIGH" }] },
          },
          "filterCriteria.severity[0].comparison",
        ],
      ];
      for (const [input, field] of cases)
        await expect(call(input), field).rejects.toMatchObject({
          code: "ValidationException",
          extra: { fields: expect.arrayContaining([expect.objectContaining({ name: field })]) as unknown },
        });
      expect(await env.meta.reports.latest("FINDINGS")).toBeNull();
      expect(await env.meta.jobs.list([REPORT_JOB])).toEqual([]);
      await expect(
        ops.GetFindingsReportStatus!({ reportId: "not-a-uuid" }, { principal: admin }),
      ).rejects.toMatchObject({
        code: "ValidationException",
        extra: { fields: [expect.objectContaining({ name: "reportId" })] },
      });
      await expect(ops.GetFindingsReportStatus!({}, { principal: admin })).rejects.toMatchObject({
        code: "ResourceNotFoundException",
      });
      // A backend without the report service (tests of the wire layer) says so.
      const bare = inspector2Operations(
        new StoreInspector2Backend(env.meta, { registry: REGISTRY }),
        REGISTRY,
      );
      await expect(
        bare.CreateFindingsReport!({ reportFormat: "CSV", s3Destination: dest() }, { principal: admin }),
      ).rejects.toMatchObject({ code: "BadRequestException" });
    });
  });

  describe("SBOM exports", () => {
    const packages = (n: number, layer: string): Package[] =>
      Array.from({ length: n }, (_, i) => ({
        name: `lib${i}`,
        version: `1.${i}-1`,
        ecosystem: "deb",
        purl: `pkg:deb/debian/lib${i}@1.${i}-1?arch=amd64&distro=debian-12`,
        path: "/var/lib/dpkg/status",
        layer,
        licenses: ["MIT"],
      }));

    /** A real image (config and manifest in the blob store; its layer is not) with a stored inventory. */
    async function image(repo: string, tag: string, n: number): Promise<string> {
      const diffID = sha256(`diff-${repo}-${tag}`);
      const layer = sha256(`layer-${repo}-${tag}`);
      const config = Buffer.from(
        JSON.stringify({
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [diffID] },
        }),
      );
      const configDigest = sha256(config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA,
          config: {
            mediaType: "application/vnd.oci.image.config.v1+json",
            digest: configDigest,
            size: config.length,
          },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer, size: 1234 }],
        }),
      );
      const digest = sha256(manifest);
      await env.blobs.putBuffer(configDigest, config);
      await env.blobs.putBuffer(digest, manifest);
      const id = await env.meta.registry.ensureRepository(repo);
      await env.meta.registry.linkBlob(id, configDigest, config.length);
      await env.meta.registry.linkBlob(id, layer, 1234);
      await env.meta.registry.putManifest({
        repositoryId: id,
        digest,
        mediaType: MEDIA,
        artifactType: null,
        subject: null,
        size: manifest.length,
        annotations: null,
        references: [
          { digest: configDigest, kind: "blob" },
          { digest: layer, kind: "blob" },
        ],
        tag,
      });
      const inv: ImageInventory = {
        image: {
          reference: `${repo}:${tag}`,
          manifestDigest: digest,
          mediaType: MEDIA,
          configDigest,
          platform: { os: "linux", architecture: "amd64" },
          layers: [
            { digest: layer, diffID, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1234 },
          ],
        },
        distro: { id: "debian", versionId: "12", codename: "bookworm" },
        packages: packages(n, diffID),
        problems: [],
      };
      await env.meta.inventories.putImage(id, digest, JSON.stringify(inv.distro), inventorySegments(inv));
      return digest;
    }
    const fileOf = (reportId: string, format: string, repo: string, digest: string) =>
      `reports/sec-reports/sboms/${format}_outputs_${reportId}/account=123456789012/resource=AWS_ECR_CONTAINER_IMAGE/` +
      `arn:aws:ecr:us-east-1:123456789012:repository_${repo.replaceAll("/", "_")}_${digest}_${format}.json`;

    it("CycloneDX 1.4 of the images the criteria select, one valid file each, from stored inventories", async () => {
      const a = await image("team/a", "v1", 3);
      await image("team/b", "v1", 2);
      await image("other", "latest", 1);
      // An image never scanned (no inventory) is not exported.
      await env.meta.registry.ensureRepository("team/empty");
      startWorker(env);
      const criteria = {
        ecrRepositoryName: [
          { comparison: "EQUALS" as const, value: "team/a" },
          { comparison: "EQUALS" as const, value: "team/b" },
        ],
        ecrImageTags: [{ comparison: "EQUALS" as const, value: "v1" }],
        resourceId: [
          {
            comparison: "NOT_EQUALS" as const,
            value: `arn:aws:ecr:us-east-1:123456789012:repository/team/b/${sha256("nothing")}`,
          },
        ],
      };
      const { reportId } = await env.reports.createSbomExport(
        { format: "CYCLONEDX_1_4", criteria, destination: dest("sboms") },
        admin,
      );
      expect(await finished(env, reportId, "SBOM")).toEqual({
        reportId,
        format: "CYCLONEDX_1_4",
        status: "SUCCEEDED",
        destination: dest("sboms"),
        criteria,
      });
      const keys = await collectKeys(env.blobs);
      expect(keys).toHaveLength(2);
      const file = fileOf(reportId, "CYCLONEDX_1_4", "team/a", a);
      expect(keys).toContain(file);
      const json = (await readAll(await env.blobs.getObject(file)))!;
      expect(await validateCycloneDx(json, "1.4")).toBeNull();
      const bom = JSON.parse(json) as {
        specVersion: string;
        metadata: { component: { name: string }; properties: { name: string; value: string }[] };
        components: { name: string; purl?: string }[];
      };
      expect(bom.specVersion).toBe("1.4");
      expect(bom.metadata.component.name).toBe(`123456789012.dkr.ecr.us-east-1.amazonaws.com/team/a@${a}`);
      expect(bom.metadata.properties).toEqual(
        expect.arrayContaining([
          { name: "imageId", value: a },
          { name: "architecture", value: "amd64" },
          { name: "accountId", value: "123456789012" },
          { name: "resourceType", value: "AWS_ECR_CONTAINER_IMAGE" },
        ]),
      );
      expect(bom.components.map((c) => c.name).sort()).toEqual(["debian", "lib0", "lib1", "lib2"]);
      expect((await env.meta.reports.get(reportId))?.items).toBe(2);
    });

    it("SPDX 2.3 of every image without criteria; criteria selecting none: FAILED NO_FINDINGS_FOUND", async () => {
      const a = await image("team/a", "v1", 2);
      const o = await image("other", "latest", 4);
      startWorker(env);
      const { reportId } = await env.reports.createSbomExport(
        { format: "SPDX_2_3", destination: dest("sboms/") },
        admin,
      );
      expect((await finished(env, reportId, "SBOM")).status).toBe("SUCCEEDED");
      expect(await collectKeys(env.blobs)).toEqual(
        [fileOf(reportId, "SPDX_2_3", "other", o), fileOf(reportId, "SPDX_2_3", "team/a", a)].sort(),
      );
      const doc = (await readAll(await env.blobs.getObject(fileOf(reportId, "SPDX_2_3", "other", o))))!;
      expect(validateSpdx(doc)).toEqual([]);
      expect((JSON.parse(doc) as { packages: unknown[] }).packages).toHaveLength(1 + 1 + 4);

      const none = await env.reports.createSbomExport(
        {
          format: "SPDX_2_3",
          criteria: { lambdaFunctionTags: [{ comparison: "EQUALS", key: "a" }] },
          destination: dest("sboms"),
        },
        admin,
      );
      expect(await finished(env, none.reportId, "SBOM")).toMatchObject({
        status: "FAILED",
        errorCode: "NO_FINDINGS_FOUND",
      });
      // A findings report id is not an SBOM export, and the other way round.
      await expect(env.reports.getFindingsReportStatus(reportId)).rejects.toMatchObject({
        code: "ResourceNotFoundException",
      });
    });

    it("cancel of an export while it writes: its files go; the others' stay", async () => {
      await image("team/a", "v1", 2);
      await image("team/b", "v1", 2);
      startWorker(env);
      const kept = await env.reports.createSbomExport(
        { format: "SPDX_2_3", destination: dest("sboms") },
        admin,
      );
      await finished(env, kept.reportId, "SBOM");
      const before = await collectKeys(env.blobs);
      expect(before).toHaveLength(2);
      await env.worker!.stop();
      // The next export's first file is written, then the test cancels before the second.
      let written = 0;
      let cancel: () => void = () => {};
      const cancelled = new Promise<void>((r) => (cancel = r));
      const watching = new Proxy(env.blobs, {
        get(t, p, recv) {
          if (p !== "putObject") return Reflect.get(t, p, recv) as unknown;
          return async (key: string, body: Buffer, o: unknown) => {
            const info = await t.putObject(key, body, o as never);
            if (++written === 1) await cancelled;
            return info;
          };
        },
      });
      env.reports = new InspectorReports(env.meta, watching, { registry: REGISTRY });
      startWorker(env);
      const { reportId } = await env.reports.createSbomExport(
        { format: "SPDX_2_3", destination: dest("sboms") },
        admin,
      );
      await until("the first file", async () => (written ? true : undefined));
      expect((await collectKeys(env.blobs)).length).toBe(3);
      await env.reports.cancelSbomExport(reportId, admin);
      cancel();
      await until("the job to end", async () =>
        (await env.meta.jobs.list([REPORT_JOB])).length ? undefined : true,
      );
      expect(await env.reports.getSbomExport(reportId)).toMatchObject({ status: "CANCELLED" });
      // The writer stopped before the next image; what it wrote is gone.
      expect(written).toBe(1);
      expect(await collectKeys(env.blobs)).toEqual(before);
    });
  });
});

async function collectKeys(blobs: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of blobs.listObjects("")) out.push(o.key);
  return out.sort();
}
