import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateFindingsReportCommand,
  CreateSbomExportCommand,
  GetFindingsReportStatusCommand,
  GetSbomExportCommand,
  Inspector2Client,
  type GetFindingsReportStatusCommandOutput,
  type GetSbomExportCommandOutput,
} from "@aws-sdk/client-inspector2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../src/findings/reports/csv-testing.js";
import { CSV_COLUMNS } from "../../src/findings/reports/findings-format.js";
import { validateCycloneDx } from "../../src/sbom/cyclonedx.js";
import { validateSpdx } from "../../src/sbom/spdx-validate.js";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
  importVulnDb,
} from "./harness.js";

/**
 * Inspector2 findings reports and SBOM exports end to end on one `drydock serve` (embedded:
 * SQLite, the filesystem blob store): java-app (vulnerable Go modules; database from the shared
 * OSV Go feed) pushed with skopeo into two repositories and scanned under ENHANCED; then the real
 * AWS CLI (awscli 2.9 has create-findings-report, not the SBOM operations) and
 * @aws-sdk/client-inspector2 ask for reports and exports, and the test reads the files where
 * docs/inspector2-api.md says they are: `<data>/objects/reports/<bucket>/<keyPrefix>/...`.
 */

const skip = missingShared();
const AKID = "AKIAINSPECTOR2REPORTS";
const SECRET = "inspector2-reports-secret-0123456789";
const TEAM = "team/java-app";
const OTHER = "other/java-app";
const KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

type Status = GetFindingsReportStatusCommandOutput | GetSbomExportCommandOutput;

const TIME_KEYS = new Set(["firstObservedAt", "lastObservedAt", "updatedAt", "pushedAt", "lastInUseAt"]);

/** A finding with its timestamps as epoch milliseconds, whether given in seconds or as ISO dates. */
function times(v: Json): Json {
  if (Array.isArray(v)) return v.map(times);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, Json>).map(([k, x]) => [
      k,
      TIME_KEYS.has(k) ? (typeof x === "number" ? Math.round(x * 1000) : Date.parse(x as string)) : times(x),
    ]),
  );
}

describe.skipIf(skip !== null)("Inspector2 findings reports and SBOM exports (CLI and SDK)", () => {
  let dd: Drydock;
  let work: string;
  let aws: AwsCli;
  let client: Inspector2Client;
  const digest = manifestDigestOfLayout(ociLayout("java-app"));
  const objects = () => join(dd.dataDir, "objects");

  const listFindings = async (criteria: object): Promise<Json[]> => {
    const r = await aws("inspector2", "list-findings", "--filter-criteria", JSON.stringify(criteria));
    expect(r.code, r.stderr).toBe(0);
    return r.json().findings as Json[];
  };
  const settle = async <T extends Status>(get: () => Promise<T>): Promise<T> => {
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await get();
      if (s.status !== "IN_PROGRESS") return s;
      if (Date.now() > end) throw new Error(`report still IN_PROGRESS:\n${dd.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  /** Every file under objects/, relative to it. */
  const files = async (): Promise<string[]> => {
    if (!existsSync(objects())) return [];
    const all = await readdir(objects(), { recursive: true, withFileTypes: true });
    return all
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name).slice(objects().length + 1))
      .sort();
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-inspector2-reports-"));
    const dataDir = join(work, "data");
    await importVulnDb(dataDir, join(sharedDir, "vulndata/osv/Go"));
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
    client = new Inspector2Client({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    const en = await aws("inspector2", "enable", "--resource-types", "ECR");
    expect(en.code, en.stderr).toBe(0);
    for (const [repo, tag] of [
      [TEAM, "v1"],
      [OTHER, "latest"],
    ]) {
      const push = await skopeo([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--preserve-digests",
        `oci:${ociLayout("java-app")}`,
        `docker://${dd.addr}/${repo}:${tag}`,
      ]);
      expect(push.code, push.stderr).toBe(0);
    }
    for (const repo of [TEAM, OTHER]) {
      const end = Date.now() + 60_000;
      for (;;) {
        const r = await aws(
          "ecr",
          "describe-image-scan-findings",
          "--repository-name",
          repo,
          "--image-id",
          `imageDigest=${digest}`,
        );
        if (r.code === 0 && r.json().imageScanStatus.status === "ACTIVE") break;
        if (Date.now() > end) throw new Error(`no scan of ${repo}: ${r.stdout}${r.stderr}\n${dd.logs()}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    }
  }, 180_000);
  afterAll(async () => {
    client?.destroy();
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("aws inspector2 create-findings-report (CSV, filter criteria): one row per matching finding in the file under the data directory", async () => {
    const criteria = {
      ecrImageRepositoryName: [{ comparison: "EQUALS", value: TEAM }],
      findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }],
    };
    const destination = { bucketName: "sec-reports", keyPrefix: "weekly/", kmsKeyArn: KMS };
    const c = await aws(
      "inspector2",
      "create-findings-report",
      "--report-format",
      "CSV",
      "--filter-criteria",
      JSON.stringify(criteria),
      "--s3-destination",
      JSON.stringify(destination),
    );
    expect(c.code, c.stderr).toBe(0);
    const reportId = c.json().reportId as string;
    expect(reportId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    let status: Json;
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await aws("inspector2", "get-findings-report-status", "--report-id", reportId);
      expect(s.code, s.stderr).toBe(0);
      status = s.json();
      if (status.status !== "IN_PROGRESS") break;
      if (Date.now() > end) throw new Error(`report still IN_PROGRESS:\n${dd.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toEqual({ reportId, status: "SUCCEEDED", destination, filterCriteria: criteria });

    const file = join(objects(), "reports", "sec-reports", "weekly", `${reportId}.csv`);
    const rows = parseCsv(await readFile(file, "utf8"));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const want = await listFindings(criteria);
    expect(want.length).toBeGreaterThan(0);
    // The other repository's findings exist, and are not in the report.
    expect(
      (await listFindings({ ecrImageRepositoryName: [{ comparison: "EQUALS", value: OTHER }] })).length,
    ).toBe(want.length);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    expect(
      rows
        .slice(1)
        .map((r) => r[col("Finding ARN")])
        .sort(),
    ).toEqual(want.map((f) => f.findingArn as string).sort());
    for (const r of rows.slice(1)) {
      expect(r).toHaveLength(CSV_COLUMNS.length);
      expect(r[col("Resource ID")]).toBe(`arn:aws:ecr:us-east-1:123456789012:repository/${TEAM}/${digest}`);
      expect(r[col("Status")]).toBe("ACTIVE");
      expect(r[col("Package Manager")]).toMatch(/^GO(BINARY|MOD)$/);
    }
  }, 120_000);

  it("the SDK's JSON report without criteria holds every ACTIVE finding as ListFindings shows it", async () => {
    const { reportId } = await client.send(
      new CreateFindingsReportCommand({
        reportFormat: "JSON",
        s3Destination: { bucketName: "sec-reports", kmsKeyArn: KMS },
      }),
    );
    const s = await settle(() => client.send(new GetFindingsReportStatusCommand({ reportId })));
    expect(s).toMatchObject({ reportId, status: "SUCCEEDED" });
    // Without a report id: the latest report.
    expect((await client.send(new GetFindingsReportStatusCommand({}))).reportId).toBe(reportId);
    const doc = JSON.parse(
      await readFile(join(objects(), "reports", "sec-reports", `${reportId}.json`), "utf8"),
    ) as { findings: Json[] };
    const active = await listFindings({ findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] });
    expect(doc.findings.map((f) => f.findingArn as string).sort()).toEqual(
      active.map((f) => f.findingArn as string).sort(),
    );
    // The file has the wire's epoch seconds; the CLI prints them as ISO dates.
    const byArn = new Map(active.map((f) => [f.findingArn as string, times(f)]));
    for (const f of doc.findings) expect(times(f)).toEqual(byArn.get(f.findingArn as string));
  }, 120_000);

  it("SBOM exports: CycloneDX 1.4 of the selected repository and SPDX 2.3 of every image, valid, where Inspector puts them", async () => {
    const cdx = await client.send(
      new CreateSbomExportCommand({
        reportFormat: "CYCLONEDX_1_4",
        resourceFilterCriteria: { ecrRepositoryName: [{ comparison: "EQUALS", value: TEAM }] },
        s3Destination: { bucketName: "sec-reports", keyPrefix: "sboms", kmsKeyArn: KMS },
      }),
    );
    const s = await settle(() => client.send(new GetSbomExportCommand({ reportId: cdx.reportId })));
    expect(s).toMatchObject({
      reportId: cdx.reportId,
      format: "CYCLONEDX_1_4",
      status: "SUCCEEDED",
      s3Destination: { bucketName: "sec-reports", keyPrefix: "sboms", kmsKeyArn: KMS },
      filterCriteria: { ecrRepositoryName: [{ comparison: "EQUALS", value: TEAM }] },
    });
    const folder = `reports/sec-reports/sboms/CYCLONEDX_1_4_outputs_${cdx.reportId}/account=123456789012/resource=AWS_ECR_CONTAINER_IMAGE`;
    const name = `arn:aws:ecr:us-east-1:123456789012:repository_team_java-app_${digest}_CYCLONEDX_1_4.json`;
    expect((await files()).filter((f) => f.startsWith(`reports/sec-reports/sboms/CYCLONEDX`))).toEqual([
      `${folder}/${name}`,
    ]);
    const bom = await readFile(join(objects(), folder, name), "utf8");
    expect(await validateCycloneDx(bom, "1.4")).toBeNull();
    const doc = JSON.parse(bom) as { specVersion: string; components: { purl?: string }[] };
    expect(doc.specVersion).toBe("1.4");
    expect(doc.components.some((c) => c.purl?.startsWith("pkg:golang/"))).toBe(true);

    const spdx = await client.send(
      new CreateSbomExportCommand({
        reportFormat: "SPDX_2_3",
        s3Destination: { bucketName: "sec-reports", keyPrefix: "sboms", kmsKeyArn: KMS },
      }),
    );
    expect(
      (await settle(() => client.send(new GetSbomExportCommand({ reportId: spdx.reportId })))).status,
    ).toBe("SUCCEEDED");
    const spdxFiles = (await files()).filter((f) => f.includes(`SPDX_2_3_outputs_${spdx.reportId}/`));
    expect(spdxFiles.map((f) => f.split("/").pop())).toEqual([
      `arn:aws:ecr:us-east-1:123456789012:repository_other_java-app_${digest}_SPDX_2_3.json`,
      `arn:aws:ecr:us-east-1:123456789012:repository_team_java-app_${digest}_SPDX_2_3.json`,
    ]);
    for (const f of spdxFiles) expect(validateSpdx(await readFile(join(objects(), f), "utf8"))).toEqual([]);
  }, 120_000);

  it("bad input: ValidationException naming the field, ResourceNotFoundException for unknown reports; nothing stored", async () => {
    const before = await files();
    const bad = await aws(
      "inspector2",
      "create-findings-report",
      "--report-format",
      "CSV",
      "--s3-destination",
      JSON.stringify({ bucketName: "Not_A_Bucket", kmsKeyArn: KMS }),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ValidationException/);
    expect(bad.stderr).toMatch(/s3Destination\.bucketName/);
    const prefix = await aws(
      "inspector2",
      "create-findings-report",
      "--report-format",
      "JSON",
      "--s3-destination",
      JSON.stringify({ bucketName: "sec-reports", keyPrefix: "../../escape", kmsKeyArn: KMS }),
    );
    expect(prefix.code).not.toBe(0);
    expect(prefix.stderr).toMatch(/ValidationException.*s3Destination\.keyPrefix/s);
    // The SDK sends what the CLI would refuse to: an unknown format.
    await expect(
      client.send(
        new CreateSbomExportCommand({
          reportFormat: "CYCLONEDX_1_5" as never,
          s3Destination: { bucketName: "sec-reports", kmsKeyArn: KMS },
        }),
      ),
    ).rejects.toMatchObject({
      name: "ValidationException",
      fields: [expect.objectContaining({ name: "reportFormat" })],
    });
    await expect(
      client.send(
        new CreateSbomExportCommand({
          reportFormat: "SPDX_2_3",
          s3Destination: { bucketName: "sec-reports", kmsKeyArn: "not-an-arn" },
        }),
      ),
    ).rejects.toMatchObject({
      name: "ValidationException",
      fields: [expect.objectContaining({ name: "s3Destination.kmsKeyArn" })],
    });
    const badId = await aws("inspector2", "get-findings-report-status", "--report-id", "not-a-report-id");
    expect(badId.code).not.toBe(0);
    expect(badId.stderr).toMatch(/ValidationException.*reportId/s);
    const unknown = "00000000-0000-4000-8000-000000000000";
    const missing = await aws("inspector2", "cancel-findings-report", "--report-id", unknown);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/ResourceNotFoundException/);
    await expect(client.send(new GetSbomExportCommand({ reportId: unknown }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    // A finished report cannot be cancelled; its file stays.
    const latest = await aws("inspector2", "get-findings-report-status");
    const done = await aws(
      "inspector2",
      "cancel-findings-report",
      "--report-id",
      latest.json().reportId as string,
    );
    expect(done.code).not.toBe(0);
    expect(done.stderr).toMatch(/ValidationException.*reportId/s);
    expect(await files()).toEqual(before);
  }, 120_000);
});
