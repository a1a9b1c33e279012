import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../core/errors.js";
import { readEvents } from "../../events/log.js";
import { MediaTypes } from "../../registry/manifest.js";
import { RegistryService } from "../../registry/service.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { metaDrivers, type DriverFixture } from "../../storage/meta/drivers-testing.js";
import type { MetaStore } from "../../storage/meta/store.js";
import type { SignatureVerdict, SignatureVerifier, VerifyImageRequest } from "../signatures/index.js";
import { parsePolicyDocument, type PolicyDocument } from "./document.js";
import { classifyScan, PullGate, type GateScanner } from "./gate.js";
import { PolicySource, PULL_POLICY } from "./source.js";
import { completeTestScan, type TestImageFinding } from "./testing.js";

/**
 * The pull gate over a real registry service and SQLite store: scan states and findings are
 * written into the store as a scan would write them; the scanner and the signature verifier are
 * fakes (the scanner records what it was asked and can finish the scan after a delay). The flows
 * that read the stores run on SQLite and PostgreSQL.
 */
describe.each(metaDrivers("PullGate"))("PullGate (%s)", (driver, open) => {
  let f: DriverFixture;
  /** PostgreSQL runs the flows that read findings, scan states, tags and policy documents; the rest is the gate's own logic. */
  const sqliteOnly = driver === "sqlite" ? it : it.skip;
  let dir: string;
  let meta: MetaStore;
  let reg: RegistryService;
  let gate: PullGate;
  let source: PolicySource;
  let scanned: string[];
  let finishScan: ((digest: string) => Promise<void>) | null;
  let verdict: SignatureVerdict;
  let verifyCalls: VerifyImageRequest[];
  /** Decisions counted (drydock_pull_gate_decisions_total), `via:decision`. */
  let counted: string[];
  const aws = { accountId: "123456789012", region: "eu-west-1" };

  const scanner: GateScanner = {
    async scanForGate(repositoryId, digest) {
      scanned.push(digest);
      await meta.scans.markStarted(repositoryId, digest, "BASIC", "IN_PROGRESS");
      if (finishScan) void finishScan(digest);
    },
  };
  const verifier: SignatureVerifier = {
    async verifyImage(req) {
      verifyCalls.push(req);
      return verdict;
    },
  };

  async function setup(policy: unknown): Promise<void> {
    const doc: PolicyDocument = parsePolicyDocument({ cacheSeconds: 0, ...(policy as object) });
    source = new PolicySource(meta, doc, { refreshMs: 0 });
    const blobs = await FsBlobStore.open(join(dir, "blobs"));
    const metrics = {
      pullGateDecisions: {
        inc: (l: { via: string; decision: string }) => counted.push(`${l.via}:${l.decision}`),
      },
    };
    gate = new PullGate({ meta, blobs, source, scanner, verifier, aws, pollMs: 10, metrics });
    reg = new RegistryService(meta, blobs, { maxManifestBytes: 4 << 20, createRepositoryOnPush: true, aws }, [
      gate.registryHooks(),
    ]);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-gate-"));
    f = await open(Date.now);
    meta = f.store;
    scanned = [];
    finishScan = null;
    verdict = { verified: true, by: [{ kind: "cosign", key: "ci", form: "tag" }], reasons: [] };
    verifyCalls = [];
    counted = [];
  });
  afterEach(async () => {
    await meta.close();
    await f.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const complete = (repo: string, digest: string, findings: TestImageFinding[]) =>
    completeTestScan(meta, repo, digest, findings);

  async function refusal(p: Promise<unknown>): Promise<RegistryError> {
    try {
      await p;
    } catch (e) {
      if (e instanceof RegistryError) return e;
      throw e;
    }
    throw new Error("expected a RegistryError");
  }

  const gateEvents = async () =>
    (await readEvents(meta, 0))
      .map((e) => e.event)
      .filter((e) => e.source === "drydock" && e["detail-type"].startsWith("Drydock Pull"));

  it("blocks ACTIVE findings at or above blockSeverity, naming them; suppressed ones do not block", async () => {
    await setup({ pull: [{ repositories: ["prod/**"], blockSeverity: "HIGH" }] });
    const digest = await pushImage(reg, "prod/api", debianImage(), "1.0");
    await complete("prod/api", digest, [
      ["CVE-2024-0003", "MEDIUM"],
      ["CVE-2024-0002", "HIGH"],
      ["CVE-2024-0001", "CRITICAL"],
      ["CVE-2024-0009", "CRITICAL", "SUPPRESSED"],
    ]);
    const e = await refusal(reg.getManifest("prod/api", "1.0", { pull: true, user: "bob" }));
    expect(e.code).toBe("DENIED");
    expect(e.status).toBe(403);
    expect(e.message).toBe(
      "pull of prod/api denied by the pull policy (rule 1, prod/**): 2 active findings at or above HIGH: " +
        "CVE-2024-0001 (CRITICAL, pkg-cve-2024-0001), CVE-2024-0002 (HIGH, pkg-cve-2024-0002)",
    );
    const [event, ...rest] = await gateEvents();
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      source: "drydock",
      "detail-type": "Drydock Pull Denied",
      account: aws.accountId,
      region: aws.region,
      resources: [`arn:aws:ecr:eu-west-1:123456789012:repository/prod/api`],
      detail: {
        "repository-name": "prod/api",
        "image-digest": digest,
        "image-tag": "1.0",
        user: "bob",
        via: "registry",
        rule: { index: 0, repositories: ["prod/**"] },
        vulnerabilities: [
          { id: "CVE-2024-0001", severity: "CRITICAL", package: "pkg-cve-2024-0001" },
          { id: "CVE-2024-0002", severity: "HIGH", package: "pkg-cve-2024-0002" },
        ],
      },
    });
    // HEAD is not gated; other repositories are not gated; a lower threshold elsewhere
    await expect(reg.getManifest("prod/api", "1.0", { pull: false })).resolves.toMatchObject({ digest });
    const other = await pushImage(reg, "dev/api", debianImage(), "1.0");
    await complete("dev/api", other, [["CVE-2024-0001", "CRITICAL"]]);
    await expect(reg.getManifest("dev/api", "1.0", { pull: true })).resolves.toMatchObject({ digest: other });
  });

  sqliteOnly("passes an image whose findings are all below the threshold or suppressed", async () => {
    await setup({ pull: [{ repositories: ["**"], blockSeverity: "CRITICAL" }] });
    const digest = await pushImage(reg, "app", debianImage());
    await complete("app", digest, [
      ["CVE-1", "HIGH"],
      ["CVE-2", "CRITICAL", "SUPPRESSED"],
      ["CVE-3", "UNDEFINED"],
    ]);
    await expect(reg.getManifest("app", digest, { pull: true })).resolves.toMatchObject({ digest });
    expect(await gateEvents()).toHaveLength(0);
  });

  sqliteOnly("the first matching rule applies", async () => {
    await setup({
      pull: [
        { repositories: ["prod/legacy"], blockSeverity: "CRITICAL" },
        { repositories: ["prod/**"], blockSeverity: "LOW" },
      ],
    });
    const legacy = await pushImage(reg, "prod/legacy", debianImage());
    await complete("prod/legacy", legacy, [["CVE-1", "HIGH"]]);
    const api = await pushImage(reg, "prod/api", debianImage("12.5"));
    await complete("prod/api", api, [["CVE-1", "LOW"]]);
    await expect(reg.getManifest("prod/legacy", "latest", { pull: true })).resolves.toBeDefined();
    expect((await refusal(reg.getManifest("prod/api", "latest", { pull: true }))).message).toContain(
      "(rule 2, prod/**): 1 active finding at or above LOW: CVE-1 (LOW, pkg-cve-1)",
    );
  });

  it("requireScan: starts the scan of an unscanned image and holds the pull until it finishes", async () => {
    await setup({
      pull: [{ repositories: ["**"], requireScan: true, blockSeverity: "HIGH" }],
      scanWaitSeconds: 5,
    });
    const digest = await pushImage(reg, "app", debianImage());
    finishScan = async (d) => {
      await new Promise((ok) => setTimeout(ok, 150));
      await complete("app", d, [["CVE-2024-1", "CRITICAL"]]);
    };
    const started = Date.now();
    const e = await refusal(reg.getManifest("app", "latest", { pull: true }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(scanned).toEqual([digest]);
    expect(e.code).toBe("DENIED");
    expect(e.message).toContain("CVE-2024-1 (CRITICAL, pkg-cve-2024-1)");
  });

  sqliteOnly("requireScan: an unscanned image that is clean once scanned is served", async () => {
    await setup({ pull: [{ repositories: ["**"], requireScan: true }], scanWaitSeconds: 5 });
    const digest = await pushImage(reg, "app", debianImage());
    finishScan = async (d) => {
      await new Promise((ok) => setTimeout(ok, 50));
      await complete("app", d, []);
    };
    await expect(reg.getManifest("app", "latest", { pull: true })).resolves.toMatchObject({ digest });
  });

  sqliteOnly(
    "requireScan: 429 TOOMANYREQUESTS with Retry-After when the scan outlasts scanWaitSeconds",
    async () => {
      await setup({ pull: [{ repositories: ["**"], requireScan: true }], scanWaitSeconds: 0 });
      const digest = await pushImage(reg, "app", debianImage());
      const e = await refusal(reg.getManifest("app", "latest", { pull: true }));
      expect(e.code).toBe("TOOMANYREQUESTS");
      expect(e.status).toBe(429);
      expect(e.headers?.["Retry-After"]).toBe("10");
      expect(e.message).toContain(`the scan of ${digest} has not finished`);
      expect(scanned).toEqual([digest]);
      // asked again while the scan runs: not queued again, still held
      expect((await refusal(reg.getManifest("app", "latest", { pull: true }))).code).toBe("TOOMANYREQUESTS");
      expect(scanned).toEqual([digest]);
      expect(await gateEvents()).toHaveLength(0);
      expect(counted).toEqual(["registry:held", "registry:held"]);
    },
  );

  sqliteOnly("requireScan: onUnsupported and onFailed decide for images that cannot be scanned", async () => {
    await setup({
      pull: [
        { repositories: ["strict/**"], requireScan: true },
        { repositories: ["lax/**"], requireScan: true, onUnsupported: "allow", onFailed: "allow" },
      ],
    });
    for (const repo of ["strict/a", "lax/a"]) {
      const d = await pushImage(reg, repo, debianImage());
      const id = (await meta.registry.repositoryId(repo))!;
      await meta.scans.markStarted(id, d, "BASIC", "IN_PROGRESS");
      await meta.scans.markEnded(id, d, "UNSUPPORTED_IMAGE", "UnsupportedImageError: no OS");
    }
    expect((await refusal(reg.getManifest("strict/a", "latest", { pull: true }))).message).toContain(
      "is not supported by the scanner (UNSUPPORTED_IMAGE: UnsupportedImageError: no OS)",
    );
    await expect(reg.getManifest("lax/a", "latest", { pull: true })).resolves.toBeDefined();
    for (const repo of ["strict/a", "lax/a"]) {
      const id = (await meta.registry.repositoryId(repo))!;
      const d = (await meta.registry.tag(id, "latest"))!;
      await meta.scans.markEnded(id, d, "FAILED", "layer unreadable");
    }
    expect((await refusal(reg.getManifest("strict/a", "latest", { pull: true }))).message).toContain(
      "failed: layer unreadable",
    );
    await expect(reg.getManifest("lax/a", "latest", { pull: true })).resolves.toBeDefined();
    expect(scanned).toEqual([]);
  });

  sqliteOnly("without requireScan an unscanned image is served (nothing known blocks it)", async () => {
    await setup({ pull: [{ repositories: ["**"], blockSeverity: "LOW" }] });
    await pushImage(reg, "app", debianImage());
    await expect(reg.getManifest("app", "latest", { pull: true })).resolves.toBeDefined();
    expect(scanned).toEqual([]);
  });

  sqliteOnly("requireSignature asks the verifier with the rule's keys and names its reasons", async () => {
    await setup({ pull: [{ repositories: ["signed/**"], requireSignature: { keys: ["release"] } }] });
    const digest = await pushImage(reg, "signed/app", debianImage());
    await expect(reg.getManifest("signed/app", "latest", { pull: true })).resolves.toBeDefined();
    expect(verifyCalls).toEqual([{ repository: "signed/app", digest, keys: ["release"] }]);
    verdict = { verified: false, by: [], reasons: ["no signature found (tag or referrer)"] };
    expect((await refusal(reg.getManifest("signed/app", "latest", { pull: true }))).message).toBe(
      "pull of signed/app denied by the pull policy (rule 1, signed/**): no valid signature by key release: no signature found (tag or referrer)",
    );
  });

  sqliteOnly("never gates referrers or cosign attachment tags", async () => {
    await setup({
      pull: [{ repositories: ["**"], requireSignature: {}, requireScan: true }],
      scanWaitSeconds: 0,
    });
    verdict = { verified: false, by: [], reasons: ["unsigned"] };
    const img = debianImage();
    const digest = await pushImage(reg, "app", img);
    // a referrer: an artifact manifest whose subject is the image
    const empty = Buffer.from("{}");
    const emptyDigest = await reg.monolithicUpload(
      "app",
      `sha256:${(await import("node:crypto")).createHash("sha256").update(empty).digest("hex")}`,
      (await import("node:stream")).Readable.from([empty]),
    );
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 },
        layers: [{ mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 }],
        subject: { mediaType: MediaTypes.ociManifest, digest, size: img.manifest.length },
      }),
    );
    const r = await reg.putManifest("app", "ref", referrer, MediaTypes.ociManifest);
    await expect(reg.getManifest("app", r.digest, { pull: true })).resolves.toBeDefined();
    // a cosign signature tag (no subject), by tag and by digest
    const sigTag = `sha256-${digest.slice(7)}.sig`;
    const sig = await reg.putManifest(
      "app",
      sigTag,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 },
          layers: [
            { mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: emptyDigest, size: 2 },
          ],
        }),
      ),
      MediaTypes.ociManifest,
    );
    await expect(reg.getManifest("app", sigTag, { pull: true })).resolves.toBeDefined();
    await expect(reg.getManifest("app", sig.digest, { pull: true })).resolves.toBeDefined();
    // the image itself is gated
    expect((await refusal(reg.getManifest("app", "latest", { pull: true }))).code).toBe("TOOMANYREQUESTS");
    expect(scanned).toEqual([digest]);
  });

  it("a bypass user passes without a scan or a wait, with an audit event when the rule would refuse", async () => {
    await setup({
      pull: [{ repositories: ["**"], blockSeverity: "HIGH", requireScan: true, bypassUsers: ["deployer"] }],
      scanWaitSeconds: 30,
    });
    const unscanned = await pushImage(reg, "app", debianImage("1"), "new");
    const started = Date.now();
    await expect(reg.getManifest("app", "new", { pull: true, user: "deployer" })).resolves.toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(scanned).toEqual([]);
    const vulnerable = await pushImage(reg, "app", debianImage("2"), "old");
    await complete("app", vulnerable, [["CVE-9", "CRITICAL"]]);
    await expect(reg.getManifest("app", "old", { pull: true, user: "deployer" })).resolves.toBeDefined();
    const clean = await pushImage(reg, "app", debianImage("3"), "clean");
    await complete("app", clean, []);
    await expect(reg.getManifest("app", "clean", { pull: true, user: "deployer" })).resolves.toBeDefined();
    const events = await gateEvents();
    expect(events.map((e) => [e["detail-type"], e.detail["image-digest"]])).toEqual([
      ["Drydock Pull Gate Bypassed", unscanned],
      ["Drydock Pull Gate Bypassed", vulnerable],
    ]);
    expect(events[1]!.detail).toMatchObject({
      user: "deployer",
      reasons: [expect.stringContaining("CVE-9 (CRITICAL")],
    });
    // anyone else is refused
    expect((await refusal(reg.getManifest("app", "old", { pull: true, user: "other" }))).code).toBe("DENIED");
    expect(counted).toEqual([
      "registry:bypassed",
      "registry:bypassed",
      "registry:allowed",
      "registry:denied",
    ]);
  });

  it("an index is decided by its platform manifests", async () => {
    await setup({ pull: [{ repositories: ["**"], blockSeverity: "HIGH" }] });
    const a = debianImage("1");
    const b = debianImage("2");
    const da = await pushImage(reg, "multi", a, "amd64");
    const db = await pushImage(reg, "multi", b, "arm64");
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          {
            mediaType: MediaTypes.ociManifest,
            digest: da,
            size: a.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: MediaTypes.ociManifest,
            digest: db,
            size: b.manifest.length,
            platform: { os: "linux", architecture: "arm64" },
          },
        ],
      }),
    );
    await reg.putManifest("multi", "v1", index, MediaTypes.ociIndex);
    await complete("multi", da, []);
    await complete("multi", db, []);
    await expect(reg.getManifest("multi", "v1", { pull: true })).resolves.toBeDefined();
    await complete("multi", db, [["CVE-7", "HIGH"]]);
    const e = await refusal(reg.getManifest("multi", "v1", { pull: true }));
    expect(e.message).toContain("CVE-7 (HIGH, pkg-cve-7)");
  });

  it("a policy stored in the database overrides the configuration's, on every process, within refreshMs", async () => {
    await setup({ pull: [] });
    const digest = await pushImage(reg, "app", debianImage());
    await complete("app", digest, [["CVE-1", "HIGH"]]);
    await expect(reg.getManifest("app", "latest", { pull: true })).resolves.toBeDefined();
    const other = await f.another();
    try {
      await other.policies.put(
        PULL_POLICY,
        JSON.stringify(
          parsePolicyDocument({ pull: [{ repositories: ["app"], blockSeverity: "HIGH" }], cacheSeconds: 0 }),
        ),
        "admin",
      );
    } finally {
      await other.close();
    }
    expect((await refusal(reg.getManifest("app", "latest", { pull: true }))).code).toBe("DENIED");
    const policy = await source.refresh();
    expect(policy.origin).toEqual({ kind: "database", version: 1 });
    await meta.policies.clear(PULL_POLICY, "admin");
    await expect(reg.getManifest("app", "latest", { pull: true })).resolves.toBeDefined();
  });

  sqliteOnly("caches the policy version for refreshMs", async () => {
    let now = 1_000;
    const s = new PolicySource(meta, parsePolicyDocument({}), { refreshMs: 1000, now: () => now });
    expect((await s.current()).origin).toEqual({ kind: "config" });
    await meta.policies.put(
      PULL_POLICY,
      JSON.stringify(parsePolicyDocument({ pull: [{ repositories: ["x"] }] })),
      "a",
    );
    expect((await s.current()).origin).toEqual({ kind: "config" });
    now += 1000;
    expect((await s.current()).origin).toEqual({ kind: "database", version: 1 });
    expect((await s.current()).ruleFor("x")?.index).toBe(0);
    expect((await s.current()).ruleFor("y")).toBeNull();
  });

  sqliteOnly("classifies every scan status", () => {
    expect(classifyScan(null, "BASIC")).toBe("unscanned");
    expect(classifyScan({ scanType: "ENHANCED", status: "ACTIVE" }, "BASIC")).toBe("unscanned");
    expect(classifyScan({ scanType: "ENHANCED", status: "ACTIVE" }, "ENHANCED")).toBe("scanned");
    expect(classifyScan({ scanType: "BASIC", status: "COMPLETE" }, "BASIC")).toBe("scanned");
    expect(classifyScan({ scanType: "BASIC", status: "IN_PROGRESS" }, "BASIC")).toBe("scanning");
    expect(classifyScan({ scanType: "ENHANCED", status: "PENDING" }, "ENHANCED")).toBe("scanning");
    expect(classifyScan({ scanType: "BASIC", status: "UNSUPPORTED_IMAGE" }, "BASIC")).toBe("unsupported");
    expect(classifyScan({ scanType: "BASIC", status: "FAILED" }, "BASIC")).toBe("failed");
    expect(classifyScan({ scanType: "ENHANCED", status: "FINDINGS_UNAVAILABLE" }, "ENHANCED")).toBe("failed");
    expect(classifyScan({ scanType: "ENHANCED", status: "SCAN_ELIGIBILITY_EXPIRED" }, "ENHANCED")).toBe(
      "unscanned",
    );
  });
});
