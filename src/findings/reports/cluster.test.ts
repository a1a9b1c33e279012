import type { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsPrincipal } from "../../api/access.js";
import { DEFAULT_SORT } from "../../api/inspector2/criteria.js";
import { JobWorker } from "../../jobs/worker.js";
import { S3BlobStore } from "../../storage/blob/s3.js";
import {
  CEPH_START_TIMEOUT_MS,
  createBucket,
  skipS3Tests,
  startCeph,
  type CephS3,
} from "../../storage/blob/s3-testing.js";
import { openPostgresMetaStore } from "../../storage/meta/postgres.js";
import { freshPostgresDatabase, pgServerUrl, pgSkipReason } from "../../storage/meta/postgres-testing.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { StoreInspector2Backend } from "../inspector-backend.js";
import { parseCsv } from "./csv-testing.js";
import { CSV_COLUMNS } from "./findings-format.js";
import { populateFindings } from "./report-testing.js";
import { InspectorReports } from "./service.js";

/**
 * Reports in the scale-out setup: two nodes (each its own PostgreSQL pool and S3 client) on one
 * PostgreSQL database and one radosgw bucket. A report asked on the API node is written by the
 * worker node's job worker, and the API node reads its status and its file; the single findings
 * report slot holds across nodes.
 */

const REGISTRY = { accountId: "123456789012", region: "us-east-1" };
const admin = AwsPrincipal.unrestricted(REGISTRY.accountId, undefined, "admin");
const KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

interface Node {
  meta: MetaStore;
  blobs: S3BlobStore;
  reports: InspectorReports;
}

const s3Missing = skipS3Tests("cluster report tests");
if (!pgServerUrl) console.warn(`cluster report tests skipped: ${pgSkipReason}`);

describe.skipIf(!pgServerUrl || s3Missing !== null)(
  "reports on PostgreSQL and S3 (radosgw), two nodes",
  () => {
    let s3: CephS3;
    let bucket: string;
    let n = 0;
    let api: Node;
    let worker: Node;
    let jobs: JobWorker;
    let dropDb: () => Promise<void>;

    beforeAll(async () => {
      s3 = await startCeph();
      bucket = await createBucket(s3);
    }, CEPH_START_TIMEOUT_MS);
    afterAll(async () => s3?.stop());

    beforeEach(async () => {
      const db = await freshPostgresDatabase();
      dropDb = db.drop;
      const prefix = `cluster-${++n}/`;
      const node = async (): Promise<Node> => {
        const meta = openPostgresMetaStore(db.url);
        const blobs = await S3BlobStore.open({
          bucket,
          prefix,
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        });
        return {
          meta,
          blobs,
          reports: new InspectorReports(meta, blobs, { registry: REGISTRY, pageSize: 4 }),
        };
      };
      api = await node();
      worker = await node();
      await populateFindings(api.meta);
      jobs = new JobWorker(worker.meta, worker.reports.jobHandlers(), {
        concurrency: 1,
        maxAttempts: 3,
        retryBaseMs: 10,
        leaseMs: 5_000,
        pollIntervalMs: 20,
      });
    });
    afterEach(async () => {
      await jobs.stop();
      for (const x of [api, worker]) {
        x.blobs.client.destroy();
        await x.meta.close();
      }
      await dropDb();
    });

    const settled = async (id: string) => {
      const end = Date.now() + 30_000;
      for (;;) {
        const s = await api.reports.getFindingsReportStatus(id);
        if (s.status !== "IN_PROGRESS") return s;
        if (Date.now() > end) throw new Error("report still IN_PROGRESS");
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    it("asked on the API node, written by the worker node, read from the API node", async () => {
      const criteria = { findingStatus: [{ comparison: "NOT_EQUALS" as const, value: "CLOSED" }] };
      const { reportId } = await api.reports.createFindingsReport(
        {
          format: "CSV",
          criteria,
          destination: { bucketName: "sec-reports", keyPrefix: "q1", kmsKeyArn: KMS },
        },
        admin,
      );
      await jobs.start(false);
      expect(await settled(reportId)).toMatchObject({ status: "SUCCEEDED" });
      const body = await api.blobs.getObject(`reports/sec-reports/q1/${reportId}.csv`);
      const chunks: Buffer[] = [];
      for await (const c of body as Readable) chunks.push(c as Buffer);
      const rows = parseCsv(Buffer.concat(chunks).toString("utf8"));
      expect(rows[0]).toEqual([...CSV_COLUMNS]);
      const listed = await new StoreInspector2Backend(api.meta, { registry: REGISTRY }).listFindings(
        { criteria, sort: DEFAULT_SORT, maxResults: 100 },
        admin,
      );
      const arn = CSV_COLUMNS.indexOf("Finding ARN");
      expect(rows.slice(1).map((r) => r[arn])).toEqual(listed.items.map((f) => f.findingArn));
      expect(rows).toHaveLength(1 + 30);
    });

    it("one findings report in progress across nodes; cancel on one node is seen by the other", async () => {
      const destination = { bucketName: "sec-reports", kmsKeyArn: KMS };
      const first = await api.reports.createFindingsReport({ format: "JSON", destination }, admin);
      await expect(
        worker.reports.createFindingsReport({ format: "CSV", destination }, admin),
      ).rejects.toMatchObject({
        code: "ValidationException",
      });
      await worker.reports.cancelFindingsReport(first.reportId, admin);
      expect(await api.reports.getFindingsReportStatus(first.reportId)).toMatchObject({
        status: "CANCELLED",
      });
      const second = await worker.reports.createFindingsReport({ format: "CSV", destination }, admin);
      await jobs.start(false);
      expect(await settled(second.reportId)).toMatchObject({ status: "SUCCEEDED" });
      const keys: string[] = [];
      for await (const o of api.blobs.listObjects("")) keys.push(o.key);
      expect(keys).toEqual([`reports/sec-reports/${second.reportId}.csv`]);
    });
  },
);
