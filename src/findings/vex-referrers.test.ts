import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readEvents } from "../events/log.js";
import type { RegistryService } from "../registry/service.js";
import { debianImage, pushImage } from "../scan/testing.js";
import type { RegistryScanService } from "../scan/service.js";
import type { FsBlobStore } from "../storage/blob/fs.js";
import { metaDrivers } from "../storage/meta/drivers-testing.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { StoreInspector2Backend } from "./inspector-backend.js";
import { suppressedPredicates } from "./suppression.js";
import {
  ACCOUNT,
  admin,
  openSuppressionWorld,
  REGION,
  type SuppressionWorld,
} from "./suppression-testing.js";
import { testFinding } from "./testing.js";
import { VEX_LIMITS } from "./vex/index.js";

/**
 * VEX referrers through the real registry and scan services on SQLite and PostgreSQL: an ENHANCED image with
 * two findings; an OpenVEX referrer saying not_affected for one suppresses it (its note says
 * why, in ListFindings and in the event), deleting the referrer makes it ACTIVE again; a VEX
 * pushed before the scan applies to the findings the scan creates; a bad VEX is stored, marked
 * INVALID and changes nothing; the filters' re-evaluation keeps VEX suppression.
 */

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe.each(metaDrivers("VEX referrers"))("on %s", (_driver, open) => {
  let w: SuppressionWorld;
  let meta: MetaStore;
  let registry: RegistryService;
  let scans: RegistryScanService;
  let inspector: StoreInspector2Backend;
  /** The blobs VexReferrers read whole. */
  let vexReads: string[];

  beforeEach(async () => {
    vexReads = [];
    w = await openSuppressionWorld({
      open,
      // Started by each test, after what it pushes first.
      start: false,
      vexBlobs: (blobs) =>
        Object.assign(Object.create(blobs) as FsBlobStore, {
          read: (d: Parameters<FsBlobStore["read"]>[0]) => (vexReads.push(d), blobs.read(d)),
        }),
    });
    ({ meta, registry, scans, inspector } = w);
  });
  afterEach(() => w.close());

  const scanned = (repo: string, digest: string) => w.scanned(repo, digest);
  const statuses = (repo: string, digest: string) => w.statuses(repo, digest);

  /** Pushes `doc` as a referrer of `subject` the way `oras attach --artifact-type` does; its digest. */
  async function attach(
    repo: string,
    subject: string,
    doc: string,
    artifactType: string,
    declaredSize?: number,
  ): Promise<string> {
    const layer = Buffer.from(doc);
    const config = Buffer.from("{}");
    await registry.monolithicUpload(repo, sha(layer), Readable.from([layer]), layer.length);
    await registry.monolithicUpload(repo, sha(config), Readable.from([config]), config.length);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType,
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha(config), size: config.length },
        layers: [{ mediaType: artifactType, digest: sha(layer), size: declaredSize ?? layer.length }],
        subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: subject, size: 1 },
      }),
    );
    const r = await registry.putManifest(
      repo,
      sha(manifest),
      manifest,
      "application/vnd.oci.image.manifest.v1+json",
    );
    return r.digest;
  }

  const openvex = (statements: unknown[]) =>
    JSON.stringify({
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex/1",
      author: "security@example.com",
      timestamp: "2026-01-01T00:00:00Z",
      version: 1,
      statements,
    });
  const notAffected = (id: string) => ({
    vulnerability: { name: id },
    products: [{ "@id": "pkg:deb/debian/base-files" }],
    status: "not_affected",
    justification: "vulnerable_code_not_in_execute_path",
    impact_statement: "base-files ships no code",
  });

  describe("VEX referrers", () => {
    it("not_affected suppresses the finding (with why), deleting the referrer revives it", async () => {
      const digest = await pushImage(registry, "app", debianImage());
      await scans.start();
      await scanned("app", digest);
      expect(await statuses("app", digest)).toEqual({ "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" });
      const seq = (await readEvents(meta, 0)).at(-1)!.seq;

      w.clock.now += 1000;
      const vex = await attach(
        "app",
        digest,
        openvex([notAffected("CVE-2099-0001")]),
        "application/openvex+json",
      );
      expect(await statuses("app", digest)).toEqual({
        "CVE-2099-0001": "SUPPRESSED",
        "CVE-2099-0002": "ACTIVE",
      });
      const events = (await readEvents(meta, seq)).map((e) => e.event);
      expect(events.map((e) => [e["detail-type"], e.detail.status ?? e.detail.change])).toEqual([
        ["ECR Image Action", undefined],
        ["Inspector2 Finding", "SUPPRESSED"],
        ["Drydock VEX Change", "APPLIED"],
      ]);
      expect(events[1]!.detail.drydock).toEqual({
        suppressedBy: [
          {
            kind: "vex",
            name: `referrer ${vex}`,
            justification: "vulnerable_code_not_in_execute_path",
            reason: "base-files ships no code",
          },
        ],
        vex: {
          status: "not_affected",
          source: `referrer ${vex}`,
          format: "openvex",
          justification: "vulnerable_code_not_in_execute_path",
          detail: "base-files ships no code",
        },
      });
      expect(events[2]!.detail).toMatchObject({ "findings-changed": 1, statements: 1, images: [digest] });
      // ListFindings shows the note (Drydock's `drydock` member).
      const listed = await inspector.listFindings(
        { sort: { field: "SEVERITY", sortOrder: "DESC" }, maxResults: 10 } as never,
        admin,
      );
      const suppressed = listed.items.find((f) => f.status === "SUPPRESSED")!;
      expect(suppressed.vulnerabilityId).toBe("CVE-2099-0001");
      expect(suppressed.drydock?.suppressedBy?.[0]?.kind).toBe("vex");
      expect(listed.items.find((f) => f.status === "ACTIVE")!.drydock).toBeUndefined();

      // A re-match after a database change decides new and found-again findings by the same
      // predicates (rematch.ts suppressedPredicates): VEX suppression stays.
      const repositoryId = (await meta.registry.repositoryId("app"))!;
      const preds = await suppressedPredicates(
        meta,
        { accountId: ACCOUNT, region: REGION },
        [{ repositoryId, digest }],
        w.clock.now,
      );
      const pred = preds?.get(`${repositoryId}@${digest}`);
      const pkg = {
        name: "base-files",
        version: "12.4",
        ecosystem: "deb" as const,
        purl: "pkg:deb/debian/base-files@12.4?arch=amd64",
      };
      expect(pred?.(testFinding({ vulnerabilityId: "CVE-2099-0001", package: pkg }))).toBe(true);
      expect(pred?.(testFinding({ vulnerabilityId: "CVE-2099-0002", package: pkg }))).toBe(false);
      expect(
        pred?.(
          testFinding({
            vulnerabilityId: "CVE-2099-0001",
            package: { ...pkg, name: "openssl", purl: "pkg:deb/debian/openssl@3" },
          }),
        ),
      ).toBe(false);

      // A filter change re-evaluates every finding: VEX suppression stays.
      await inspector.createFilter(
        {
          name: "unrelated",
          action: "SUPPRESS",
          criteria: { vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-1" }] },
        },
        admin,
      );
      expect(await statuses("app", digest)).toEqual({
        "CVE-2099-0001": "SUPPRESSED",
        "CVE-2099-0002": "ACTIVE",
      });

      // Deleting the referrer: ACTIVE again, with its event.
      await registry.deleteManifest("app", vex);
      expect(await statuses("app", digest)).toEqual({ "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" });
      const last = (await readEvents(meta, seq)).map((e) => e.event).slice(-3);
      expect(last.map((e) => [e["detail-type"], e.detail.status ?? e.detail.change])).toEqual([
        ["ECR Image Action", undefined],
        ["Inspector2 Finding", "ACTIVE"],
        ["Drydock VEX Change", "REMOVED"],
      ]);
      expect(await meta.vex.list({ limit: 10 })).toEqual([]);
    });

    it("a VEX pushed before the scan applies to the findings the scan creates; CycloneDX too", async () => {
      const digest = await pushImage(registry, "app", debianImage());
      const cdx = JSON.stringify({
        bomFormat: "CycloneDX",
        specVersion: "1.6",
        version: 1,
        components: [
          { type: "library", "bom-ref": "bf", name: "base-files", purl: "pkg:deb/debian/base-files@12.4" },
        ],
        vulnerabilities: [
          {
            id: "CVE-2099-0002",
            analysis: { state: "false_positive", detail: "not this package" },
            affects: [{ ref: "bf" }],
          },
          { id: "CVE-2099-0001", analysis: { state: "exploitable" }, affects: [{ ref: "bf" }] },
        ],
      });
      await attach("app", digest, cdx, "application/vnd.cyclonedx+json");
      await scans.start();
      await scanned("app", digest);
      expect(await statuses("app", digest)).toEqual({
        "CVE-2099-0001": "ACTIVE",
        "CVE-2099-0002": "SUPPRESSED",
      });
      // The affected statement is recorded and shown, not suppressing.
      const listed = await inspector.listFindings(
        { sort: { field: "SEVERITY", sortOrder: "DESC" }, maxResults: 10 } as never,
        admin,
      );
      const active = listed.items.find((f) => f.vulnerabilityId === "CVE-2099-0001")!;
      expect(active.drydock).toEqual({
        vex: expect.objectContaining({ status: "affected", format: "cyclonedx" }),
      });
    });

    it("a VEX about an image index speaks for each platform manifest it lists", async () => {
      const a = debianImage("12.1");
      const b = debianImage("12.2");
      const da = await pushImage(registry, "multi", a, "a");
      const db = await pushImage(registry, "multi", b, "b");
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: da, size: a.manifest.length },
            { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: db, size: b.manifest.length },
          ],
        }),
      );
      const { digest: di } = await registry.putManifest(
        "multi",
        "latest",
        index,
        "application/vnd.oci.image.index.v1+json",
      );
      await scans.start();
      await scanned("multi", da);
      await scanned("multi", db);
      await attach("multi", di, openvex([notAffected("CVE-2099-0002")]), "application/openvex+json");
      for (const d of [da, db])
        expect(await statuses("multi", d)).toEqual({
          "CVE-2099-0001": "ACTIVE",
          "CVE-2099-0002": "SUPPRESSED",
        });
      expect((await meta.vex.list({ limit: 10 })).map((r) => r.imageDigest).sort()).toEqual(
        [da, db, di].sort(),
      );
    });

    it("a bad VEX is stored by the registry, recorded INVALID with the reason, and changes nothing", async () => {
      const digest = await pushImage(registry, "app", debianImage());
      await scans.start();
      await scanned("app", digest);
      const bad = await attach(
        "app",
        digest,
        openvex([{ vulnerability: { name: "CVE-2099-0001" }, status: "not_affected" }]),
        "application/vnd.openvex+json",
      );
      expect(await statuses("app", digest)).toEqual({ "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" });
      expect(await meta.registry.manifest((await meta.registry.repositoryId("app"))!, bad)).not.toBeNull();
      expect(await meta.vex.list({ limit: 10 })).toMatchObject([
        { referrerDigest: bad, status: "INVALID", error: expect.stringMatching(/needs a justification/) },
      ]);
      const last = (await readEvents(meta, 0)).at(-1)!.event;
      expect(last).toMatchObject({
        "detail-type": "Drydock VEX Change",
        source: "drydock",
        detail: { change: "INVALID" },
      });
      // Another artifact type with a subject is not VEX: nothing recorded.
      await attach("app", digest, "{}", "application/vnd.example.sbom+json");
      expect(await meta.vex.list({ limit: 10 })).toHaveLength(1);
      // A layer over the limit whose descriptor claims a small size is judged by the stored
      // blob's size, never read whole.
      const huge = openvex([notAffected("CVE-2099-0001")]) + " ".repeat(VEX_LIMITS.maxBytes);
      const lying = await attach("app", digest, huge, "application/vnd.openvex+json", 100);
      expect(await statuses("app", digest)).toEqual({ "CVE-2099-0001": "ACTIVE", "CVE-2099-0002": "ACTIVE" });
      expect(vexReads).not.toContain(sha(Buffer.from(huge)));
      expect((await meta.vex.list({ limit: 10 })).find((r) => r.referrerDigest === lying)).toMatchObject({
        status: "INVALID",
        error: expect.stringMatching(/bytes \(at most 4194304\)/),
      });
    });
  });
});
