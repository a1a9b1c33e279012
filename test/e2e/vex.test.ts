import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import {
  importVulnDb,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  sha256Digest,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * VEX and scoped exceptions end to end on one `drydock serve` (ENHANCED scanning): java-app
 * (vulnerable Go modules; database from the shared OSV Go feed) pushed with skopeo and scanned;
 * an OpenVEX and a CycloneDX VEX document pushed as referrers over plain HTTP, as `oras attach
 * --artifact-type` makes them (oras is not installable here), turn one finding SUPPRESSED as the
 * real `aws inspector2 list-findings` shows, and deleting the referrer makes it ACTIVE again; a
 * bad VEX is stored and marked INVALID, changing nothing; `drydock exceptions add` with a
 * repository wildcard suppresses until its expiry; bad exception input is refused; `drydock scan
 * --vex` suppresses in CI and reports the configuration's expired exceptions.
 */

const skip = missingShared();
const AKID = "AKIAVEXEXCEPTIONS0001";
const SECRET = "vex-e2e-secret-0123456789";
const REPO = "vex/team/java-app";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const cli = join(repoRoot, "dist/cli/main.js");

describe.skipIf(skip !== null)("VEX referrers and scoped exceptions", () => {
  let dd: Drydock;
  let work: string;
  let configFile: string;
  let aws: AwsCli;
  const layout = ociLayout("java-app");
  const digest = manifestDigestOfLayout(layout);
  /** The finding every step suppresses: its vulnerability and package. */
  let target: { id: string; pkg: string; n: number; total: number };

  const listFindings = async (criteria: object): Promise<Json[]> => {
    const r = await aws("inspector2", "list-findings", "--filter-criteria", JSON.stringify(criteria));
    expect(r.code, r.stderr).toBe(0);
    return r.json().findings as Json[];
  };
  const repoFilter = { ecrImageRepositoryName: [{ comparison: "EQUALS", value: REPO }] };
  const suppressed = () =>
    listFindings({ ...repoFilter, findingStatus: [{ comparison: "EQUALS", value: "SUPPRESSED" }] });
  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args, "--data", dd.dataDir]);

  /** Pushes `doc` as a referrer of the image, as `oras attach --artifact-type TYPE` does. */
  async function attach(doc: string, artifactType: string): Promise<{ status: number; digest: string }> {
    const layer = Buffer.from(doc);
    const empty = Buffer.from("{}");
    for (const blob of [layer, empty]) {
      const r = await fetch(`${dd.url}/v2/${REPO}/blobs/uploads/?digest=${sha256Digest(blob)}`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: blob,
      });
      expect(r.status).toBe(201);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256Digest(empty), size: 2 },
        layers: [{ mediaType: artifactType, digest: sha256Digest(layer), size: layer.length }],
        subject: { mediaType: OCI_MANIFEST, digest, size: 1 },
        annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
      }),
    );
    const d = sha256Digest(manifest);
    const r = await fetch(`${dd.url}/v2/${REPO}/manifests/${d}`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: manifest,
    });
    return { status: r.status, digest: d };
  }
  const detach = async (d: string) =>
    expect((await fetch(`${dd.url}/v2/${REPO}/manifests/${d}`, { method: "DELETE" })).status).toBe(202);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-vex-e2e-"));
    const dataDir = join(work, "data");
    await importVulnDb(dataDir, join(sharedDir, "vulndata/osv/Go"));
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
    expect((await aws("inspector2", "enable", "--resource-types", "ECR")).code).toBe(0);
    const push = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout}`,
      `docker://${dd.addr}/${REPO}:v1`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const end = Date.now() + 45_000;
    let active: Json[] = [];
    while (!active.length) {
      active = await listFindings(repoFilter);
      if (Date.now() > end) throw new Error(`no findings:\n${dd.logs()}`);
      if (!active.length) await new Promise((r) => setTimeout(r, 250));
    }
    const f = active[0];
    const id = f.packageVulnerabilityDetails.vulnerabilityId as string;
    const pkg = f.packageVulnerabilityDetails.vulnerablePackages[0].name as string;
    const n = active.filter(
      (x) =>
        x.packageVulnerabilityDetails.vulnerabilityId === id &&
        x.packageVulnerabilityDetails.vulnerablePackages[0].name === pkg,
    ).length;
    target = { id, pkg, n, total: active.length };
    configFile = join(work, "drydock.yaml");
  }, 60_000);
  afterAll(async () => {
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const openvex = (statements: unknown[]) =>
    JSON.stringify({
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex/java-app-1",
      author: "Security Team",
      timestamp: "2026-01-01T00:00:00Z",
      version: 1,
      statements,
    });

  it("an OpenVEX referrer marking one finding not_affected suppresses it; deleting the referrer revives it", async () => {
    const vex = await attach(
      openvex([
        {
          vulnerability: { name: target.id },
          products: [
            {
              "@id": `pkg:oci/java-app@${encodeURIComponent(digest)}`,
              subcomponents: [{ "@id": `pkg:golang/${target.pkg}` }],
            },
          ],
          status: "not_affected",
          justification: "vulnerable_code_not_in_execute_path",
          impact_statement: "the vulnerable function is never called",
        },
      ]),
      "application/openvex+json",
    );
    expect(vex.status).toBe(201);
    const s = await suppressed();
    expect(
      s.map((f) => [
        f.packageVulnerabilityDetails.vulnerabilityId,
        f.packageVulnerabilityDetails.vulnerablePackages[0].name,
      ]),
    ).toEqual(Array.from({ length: target.n }, () => [target.id, target.pkg]));
    // The AWS CLI reads the members Inspector has: Drydock's `drydock` note is not among them.
    expect(s[0].drydock).toBeUndefined();
    expect(
      await listFindings({ ...repoFilter, findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] }),
    ).toHaveLength(target.total - target.n);
    // drydock exceptions vex shows the document applied.
    const vexList = await drydock("exceptions", "vex", "--json");
    expect(vexList.code, vexList.stderr).toBe(0);
    expect(JSON.parse(vexList.stdout.trim())).toMatchObject({
      repository: REPO,
      status: "APPLIED",
      statements: 1,
      format: "openvex",
    });

    await detach(vex.digest);
    expect(await suppressed()).toEqual([]);
  }, 30_000);

  it("a CycloneDX VEX (false_positive) does the same", async () => {
    const vex = await attach(
      JSON.stringify({
        bomFormat: "CycloneDX",
        specVersion: "1.5",
        version: 1,
        components: [
          { type: "library", "bom-ref": "mod", name: target.pkg, purl: `pkg:golang/${target.pkg}` },
        ],
        vulnerabilities: [
          {
            id: target.id,
            analysis: { state: "false_positive", detail: "not our build" },
            affects: [{ ref: "mod" }],
          },
        ],
      }),
      "application/vnd.cyclonedx+json",
    );
    expect(vex.status).toBe(201);
    expect(await suppressed()).toHaveLength(target.n);
    await detach(vex.digest);
    expect(await suppressed()).toEqual([]);
  }, 30_000);

  it("a bad VEX is stored by the registry but not applied, and says why", async () => {
    const bad = await attach(
      openvex([{ vulnerability: { name: target.id }, status: "not_affected" }]),
      "application/vnd.openvex+json",
    );
    expect(bad.status).toBe(201);
    expect(await suppressed()).toEqual([]);
    const r = await drydock("exceptions", "vex");
    expect(r.stdout).toContain(
      `INVALID: OpenVEX: statements[0]: a not_affected statement needs a justification or an impact_statement  referrer ${bad.digest}`,
    );
    await detach(bad.digest);
  }, 30_000);

  it("drydock exceptions add with a repository wildcard suppresses until its expiry; bad input changes nothing", async () => {
    const refused = await drydock(
      "exceptions",
      "add",
      "--reason",
      "r",
      "--owner",
      "alice",
      "--expires",
      "2099-01-01",
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs a scope/);
    expect((await drydock("exceptions", "list", "--json")).stdout).toBe("");

    const expires = new Date(Date.now() + 3000).toISOString();
    const add = await drydock(
      "exceptions",
      "add",
      "--name",
      "java-accepted",
      "--reason",
      "no network exposure",
      "--owner",
      "alice@example.com",
      "--expires",
      expires,
      "--repository",
      "vex/**",
      "--vulnerability",
      target.id,
      "--package",
      target.pkg,
    );
    expect(add.code, add.stderr).toBe(0);
    expect(await suppressed()).toHaveLength(target.n);
    // The exception is a SUPPRESS filter the AWS CLI lists, with its owner and pattern as tags.
    const filters = (await aws("inspector2", "list-filters", "--action", "SUPPRESS")).json()
      .filters as Json[];
    expect(filters.find((f) => f.name === "java-accepted")).toMatchObject({
      reason: "no network exposure",
      tags: {
        "drydock:owner": "alice@example.com",
        "drydock:repository-pattern": "vex/**",
        "drydock:source": "cli",
      },
    });
    const end = Date.now() + 20_000;
    while ((await suppressed()).length) {
      if (Date.now() > end) throw new Error(`the exception did not expire:\n${dd.logs()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const expired = await drydock("exceptions", "list", "--expired");
    expect(expired.stdout).toMatch(/^1 expired exception/);
    expect(expired.stdout).toContain("java-accepted  EXPIRED");
    const removed = await drydock("exceptions", "remove", "java-accepted");
    expect(removed.code, removed.stderr).toBe(0);
  }, 40_000);

  it("drydock scan --vex suppresses in CI and reports the configuration's expired exceptions", async () => {
    const vexFile = join(work, "ci.openvex.json");
    await writeFile(
      vexFile,
      openvex([
        {
          vulnerability: { name: target.id },
          products: [{ "@id": `pkg:golang/${target.pkg}` }],
          status: "not_affected",
          justification: "component_not_present",
        },
      ]),
    );
    await writeFile(
      configFile,
      JSON.stringify({
        exceptions: [
          {
            name: "old",
            reason: "was fine",
            owner: "bob",
            expires: "2001-01-01",
            vulnerability: "CVE-0000-0000",
          },
        ],
      }),
    );
    const r = await run(process.execPath, [
      cli,
      "scan",
      "--config",
      configFile,
      "--data",
      dd.dataDir,
      "--format",
      "json",
      "--vex",
      vexFile,
      `oci:${layout}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.suppressed.map((f: Json) => [f.vulnerabilityId, f.suppressedBy[0].kind])).toEqual(
      Array.from({ length: target.n }, () => [target.id, "vex"]),
    );
    expect(
      out.findings.some((f: Json) => f.vulnerabilityId === target.id && f.package.name === target.pkg),
    ).toBe(false);
    expect(out.expiredExceptions).toMatchObject([{ name: "old", owner: "bob" }]);
    expect(r.stderr).toContain("exception old (owner bob) expired");
    const bad = await run(process.execPath, [
      cli,
      "scan",
      "--data",
      dd.dataDir,
      "--vex",
      configFile,
      `oci:${layout}`,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--vex ${configFile}: not a VEX document`);
  }, 30_000);
});
