import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cosignAttachmentTag } from "../../policy/referrers.js";
import { cosignSignatureManifest, pushArtifact, sha256 } from "../../policy/signatures/testing.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import { metaDrivers } from "../../storage/meta/drivers-testing.js";
import { FINDING_SORTS } from "./contract/images.js";
import type {
  FindingView,
  ImageDetailsView,
  ImageView,
  LayersView,
  PackageView,
  Page,
  ReferrerView,
} from "./contract/images.js";
import {
  layeredDebianImage,
  openRegistryViewsWorld,
  type RegistryViewsWorld,
} from "./registry-views-testing.js";
import { referrerKind } from "./images.js";

describe("referrerKind", () => {
  it("names what a referrer is from its artifact type", () => {
    expect(referrerKind("application/vnd.dev.cosign.artifact.sig.v1+json")).toBe("signature");
    expect(referrerKind("application/vnd.cncf.notary.signature")).toBe("signature");
    expect(referrerKind("application/vnd.openvex+json")).toBe("vex");
    expect(referrerKind("application/vnd.cyclonedx.vex+json")).toBe("vex");
    expect(referrerKind("application/vnd.cyclonedx+json")).toBe("sbom");
    expect(referrerKind("application/spdx+json")).toBe("sbom");
    expect(referrerKind("application/vnd.in-toto+json")).toBe("attestation");
    expect(referrerKind("application/vnd.dsse.envelope.v1+json")).toBe("attestation");
    expect(referrerKind("application/vnd.example.thing")).toBe("other");
  });
});

/**
 * The image views of the console API over real stores (SQLite and PostgreSQL) and real scans:
 * team/app holds a vulnerable two-layer image `v1` (base-files 12.4: CVE-2099-0001 and -0002 in
 * its first layer), its cosign signature (tag form) and an SPDX SBOM referrer, and a clean image
 * `v2`; team/multi an index of two platforms; other/secret an image `dev` may not pull.
 */
describe.each(metaDrivers("console images API"))("console images API (%s)", (_driver, open) => {
  let w: RegistryViewsWorld;
  let vulnerable: string;
  let clean: string;
  let signature: string;
  let sbom: string;
  let index: string;
  let secret: string;
  const APP = "repository=team%2Fapp";
  const get = async <T>(url: string, who: "admin" | "dev" = "admin") => {
    const r = await w.get(who, url);
    expect(r.status, r.body).toBe(200);
    return r.json as T;
  };
  const bad = async (url: string, name: string, status = 400) => {
    const r = await w.get("admin", url);
    expect(r.status, `${url}: ${r.body}`).toBe(status);
    if (status === 400)
      expect((r.json as { error: { message: string } }).error.message).toMatch(new RegExp(`^${name}:`));
  };

  beforeAll(async () => {
    w = await openRegistryViewsWorld({ open });
    const image = layeredDebianImage("12.4");
    vulnerable = await pushImage(w.registry, "team/app", image, "v1");
    await w.scanned("team/app", vulnerable);
    w.clock.now += 60_000;
    clean = await pushImage(w.registry, "team/app", debianImage("12.5"), "v2");
    await w.scanned("team/app", clean);
    // A cosign signature in the tag form, and an SBOM in the referrer form.
    signature = await pushArtifact(
      w.registry,
      "team/app",
      cosignAttachmentTag(vulnerable, "sig")!,
      cosignSignatureManifest([{ payload: Buffer.from('{"critical":{}}'), signature: Buffer.from("sig") }]),
    );
    const doc = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const empty = Buffer.from("{}");
    for (const b of [doc, empty])
      await w.registry.monolithicUpload("team/app", sha256(b), Readable.from([b]), b.length);
    const referrer = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/spdx+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: "application/spdx+json", digest: sha256(doc), size: doc.length }],
      subject: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: vulnerable,
        size: image.manifest.length,
      },
    };
    const referrerBytes = Buffer.from(JSON.stringify(referrer));
    sbom = (
      await w.registry.putManifest("team/app", sha256(referrerBytes), referrerBytes, referrer.mediaType)
    ).digest;
    // An index of two platforms.
    const amd = layeredDebianImage("12.5", { os: "linux", architecture: "amd64" });
    const arm = layeredDebianImage("12.5", { os: "linux", architecture: "arm64" });
    const children = [];
    for (const [img, architecture] of [
      [amd, "amd64"],
      [arm, "arm64"],
    ] as const) {
      await pushImage(w.registry, "team/multi", img, img.manifestDigest);
      children.push({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: img.manifestDigest,
        size: img.manifest.length,
        platform: { os: "linux", architecture },
      });
    }
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: children,
      }),
    );
    index = (
      await w.registry.putManifest(
        "team/multi",
        "latest",
        indexBytes,
        "application/vnd.oci.image.index.v1+json",
      )
    ).digest;
    secret = await pushImage(w.registry, "other/secret", debianImage("12.4"));
    await w.scanned("other/secret", secret);
  });
  afterAll(async () => {
    await w?.close();
  });

  it("lists a repository's images with tags, platform, scan status, findings, size and signature", async () => {
    const p = await get<Page<ImageView>>(`/api/console/images?${APP}`);
    expect(p.total).toBe(4);
    const byDigest = new Map(p.items.map((i) => [i.digest, i]));
    const v1 = byDigest.get(vulnerable)!;
    const scan = await w.scans.imageScanState("team/app", vulnerable);
    expect(v1).toMatchObject({
      tags: ["v1"],
      kind: "image",
      platforms: [{ os: "linux", architecture: "amd64" }],
      signed: true,
      scan: { status: scan!.status, scanType: "ENHANCED" },
    });
    expect(Object.values(v1.findings).reduce((a: number, b) => a + (b ?? 0), 0)).toBe(2);
    expect(v1.size).toBeGreaterThan(0);
    expect(byDigest.get(clean)).toMatchObject({ tags: ["v2"], signed: false, findings: {} });
    expect(byDigest.get(signature)).toMatchObject({ tags: [cosignAttachmentTag(vulnerable, "sig")] });
    expect(byDigest.get(sbom)).toMatchObject({ tags: [], kind: "artifact", platforms: [] });
  });

  it("filters tagged and untagged, sorts and pages in the store", async () => {
    const untagged = await get<Page<ImageView>>(`/api/console/images?${APP}&tagged=UNTAGGED`);
    expect(untagged.items.map((i) => i.digest)).toEqual([sbom]);
    expect((await get<Page<ImageView>>(`/api/console/images?${APP}&tagged=TAGGED`)).total).toBe(3);
    // a CRITICAL finding of the clean image sorts it first by critical findings, until it closes
    const repositoryId = (await w.meta.registry.repositoryId("team/app"))!;
    const critical = {
      identity: {
        repositoryId,
        digest: clean,
        scanType: "ENHANCED" as const,
        vulnerabilityId: "CVE-2099-9999",
        packageName: "base-files",
        packagePath: "/var/lib/dpkg/status",
      },
      state: {
        status: "ACTIVE" as const,
        severity: "CRITICAL",
        fixAvailable: "NO",
        inspectorScore: null,
        epssScore: null,
        exploitAvailable: false,
        firstObservedAt: w.clock.now,
        lastObservedAt: w.clock.now,
        updatedAt: w.clock.now,
        closedAt: null,
      },
      document: JSON.stringify({ vulnerabilityId: "CVE-2099-9999" }),
    };
    await w.meta.findings.put([critical]);
    const byCritical = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=critical`);
    expect(byCritical.items[0]).toMatchObject({ digest: clean, findings: { CRITICAL: 1 } });
    const ascending = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=critical&order=asc`);
    expect(ascending.items.at(-1)!.digest).toBe(clean);
    await w.meta.findings.put([
      { ...critical, state: { ...critical.state, status: "CLOSED", closedAt: w.clock.now } },
    ]);
    const closed = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=critical`);
    expect(closed.items.find((i) => i.digest === clean)!.findings).toEqual({});
    // every image at 0 critical: the digest (in the same direction) decides
    expect(closed.items.map((i) => i.digest)).toEqual([vulnerable, clean, signature, sbom].sort().reverse());
    const byDigest = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=digest`);
    const sorted = [vulnerable, clean, signature, sbom].sort();
    expect(byDigest.items.map((i) => i.digest)).toEqual(sorted);
    const page = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=digest&limit=2&offset=1`);
    expect(page).toMatchObject({ total: 4, limit: 2, offset: 1 });
    expect(page.items.map((i) => i.digest)).toEqual(sorted.slice(1, 3));
    const byTag = await get<Page<ImageView>>(`/api/console/images?${APP}&sort=tag`);
    expect(byTag.items.at(-1)!.digest).not.toBe(sbom); // untagged first ascending
    expect(byTag.items[0]!.digest).toBe(sbom);
    expect((await get<Page<ImageView>>(`/api/console/images?${APP}&offset=100`)).items).toEqual([]);
  });

  it("shows an index with its platforms", async () => {
    const p = await get<Page<ImageView>>("/api/console/images?repository=team%2Fmulti&tagged=TAGGED");
    expect(p.items).toHaveLength(1);
    expect(p.items[0]).toMatchObject({ digest: index, kind: "index" });
    expect(p.items[0]!.platforms.map((x) => x.architecture).sort()).toEqual(["amd64", "arm64"]);
    await bad(`/api/console/images/${index}/layers?repository=team%2Fmulti`, "digest");
  });

  it("answers 400 naming the parameter and 404 for what the caller may not see", async () => {
    await bad(`/api/console/images?${APP}&tagged=yes`, "tagged");
    await bad(`/api/console/images?${APP}&sort=size`, "sort");
    await bad(`/api/console/images?${APP}&limit=0`, "limit");
    await bad(`/api/console/images/sha256:nothex?${APP}`, "digest");
    await bad(`/api/console/images/${vulnerable}/findings?${APP}&severity=BAD`, "severity");
    await bad(`/api/console/images/${vulnerable}/findings?${APP}&status=OPEN`, "status");
    await bad(`/api/console/images/${vulnerable}/findings/export?${APP}&format=xml`, "format");
    await bad(`/api/console/images/${vulnerable}/sbom?${APP}&format=swid`, "format");
    await bad(`/api/console/images/${sha256("none")}?${APP}`, "", 404);
    await bad(`/api/console/images?repository=nope`, "", 404);
    await bad(`/api/console/images`, "repository");
    await bad(`/api/console/images/${vulnerable}/layers`, "repository");
    // dev pulls team/** only: other/secret is absent for it, as an unknown repository is
    for (const url of [
      "/api/console/images?repository=other%2Fsecret",
      `/api/console/images/${secret}?repository=other%2Fsecret`,
      `/api/console/images/${secret}/findings?repository=other%2Fsecret`,
      `/api/console/images/${secret}/sbom?repository=other%2Fsecret&format=spdx`,
    ]) {
      const r = await w.get("dev", url);
      expect(r.status, url).toBe(404);
    }
    expect((await w.get("dev", `/api/console/images?${APP}`)).status).toBe(200);
  });

  it("details an image: summary, referrers count, downloads", async () => {
    const d = await get<ImageDetailsView>(`/api/console/images/${vulnerable}?${APP}`);
    expect(d).toMatchObject({
      repository: "team/app",
      digest: vulnerable,
      signed: true,
      referrers: 2,
      inventory: true,
    });
    expect(d.downloads.map((x) => x.label)).toEqual([
      "SBOM (CycloneDX)",
      "SBOM (SPDX)",
      "Findings (CSV)",
      "Findings (JSON)",
      "Findings (SARIF)",
    ]);
    for (const { href } of d.downloads)
      expect((await w.get("admin", `/api/console${href}`)).status, href).toBe(200);
  });

  it("lists findings with filters, sorting and paging; suppression moves the counts", async () => {
    const base = `/api/console/images/${vulnerable}/findings?${APP}`;
    const all = await get<Page<FindingView>>(`${base}&sort=vulnerabilityId&order=asc`);
    expect(all.total).toBe(2);
    expect(all.items.map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-0001", "CVE-2099-0002"]);
    expect(all.items[0]).toMatchObject({
      packageName: "base-files",
      packageVersion: "12.4",
      packagePath: "/var/lib/dpkg/status",
      fixedVersion: "12.5",
      fixAvailable: "YES",
      status: "ACTIVE",
      kev: false,
      layer: expect.stringMatching(/^sha256:/),
    });
    const severity = all.items[0]!.severity;
    expect((await get<Page<FindingView>>(`${base}&severity=${severity}`)).total).toBe(2);
    expect(
      (await get<Page<FindingView>>(`${base}&severity=${severity === "CRITICAL" ? "LOW" : "CRITICAL"}`))
        .total,
    ).toBe(0);
    expect((await get<Page<FindingView>>(`${base}&text=0002`)).items.map((f) => f.vulnerabilityId)).toEqual([
      "CVE-2099-0002",
    ]);
    expect((await get<Page<FindingView>>(`${base}&package=BASE`)).total).toBe(2);
    expect((await get<Page<FindingView>>(`${base}&package=openssl`)).total).toBe(0);
    expect((await get<Page<FindingView>>(`${base}&fixAvailable=NO`)).total).toBe(0);
    for (const sort of FINDING_SORTS)
      for (const order of ["asc", "desc"])
        expect((await get<Page<FindingView>>(`${base}&sort=${sort}&order=${order}`)).total, sort).toBe(2);
    const second = await get<Page<FindingView>>(`${base}&sort=vulnerabilityId&order=desc&limit=1&offset=1`);
    expect(second).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(second.items.map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-0001"]);

    // one finding suppressed: shown as such, counted as suppressed in the details, not in the list
    await w.meta.findings.setStatus([all.items[0]!.id], "SUPPRESSED", w.clock.now);
    const after = await get<Page<FindingView>>(`${base}&sort=vulnerabilityId&order=asc`);
    expect(after.items.map((f) => f.status)).toEqual(["SUPPRESSED", "ACTIVE"]);
    expect((await get<Page<FindingView>>(`${base}&status=ACTIVE`)).total).toBe(1);
    const d = await get<ImageDetailsView>(`/api/console/images/${vulnerable}?${APP}`);
    expect(d.findings).toEqual({ [severity]: 1 });
    expect(d.suppressed).toEqual({ [severity]: 1 });
    await w.meta.findings.setStatus([all.items[0]!.id], "ACTIVE", w.clock.now);
  });

  it("shows layers with their commands (empty_layer history skipped), sizes, packages and findings", async () => {
    const l = await get<LayersView>(`/api/console/images/${vulnerable}/layers?${APP}`);
    expect(l.layers).toHaveLength(2);
    expect(l.layers[0]).toMatchObject({
      index: 0,
      command: expect.stringContaining("ADD file:rootfs.tar"),
      packages: 1,
    });
    expect(Object.values(l.layers[0]!.findings).reduce((a: number, b) => a + (b ?? 0), 0)).toBe(2);
    expect(l.layers[1]).toMatchObject({
      index: 1,
      command: "COPY hello.txt /app/ # buildkit",
      packages: 0,
      findings: {},
    });
    expect(l.layers.every((x) => x.size > 0 && x.digest.startsWith("sha256:"))).toBe(true);
    expect(l.emptyHistory.map((h) => h.createdBy)).toEqual(["ENV APP=1", 'CMD ["sh"]']);
  });

  it("lists the packages (the SBOM) with search and paging", async () => {
    const p = await get<Page<PackageView>>(`/api/console/images/${vulnerable}/packages?${APP}`);
    expect(p.total).toBe(1);
    expect(p.items[0]).toMatchObject({
      name: "base-files",
      version: "12.4",
      ecosystem: "deb",
      layerIndex: 0,
      findings: 2,
    });
    expect(
      (await get<Page<PackageView>>(`/api/console/images/${vulnerable}/packages?${APP}&search=BASE`)).total,
    ).toBe(1);
    expect(
      (await get<Page<PackageView>>(`/api/console/images/${vulnerable}/packages?${APP}&search=zlib`)).total,
    ).toBe(0);
    await bad(`/api/console/images/${vulnerable}/packages?${APP}&sort=size`, "sort");
  });

  it("lists referrers: the cosign signature tag and the SBOM referrer", async () => {
    const r = await get<Page<ReferrerView>>(`/api/console/images/${vulnerable}/referrers?${APP}`);
    expect(r.items.map((x) => [x.digest, x.kind, x.via]).sort()).toEqual(
      [
        [signature, "signature", "tag"],
        [sbom, "sbom", "referrer"],
      ].sort(),
    );
    expect(r.items.find((x) => x.via === "referrer")).toMatchObject({
      artifactType: "application/spdx+json",
    });
  });

  it("downloads SBOMs and findings exports", async () => {
    const base = `/api/console/images/${vulnerable}`;
    const cdx = await w.get("admin", `${base}/sbom?${APP}&format=cyclonedx`);
    expect(cdx.type).toContain("application/vnd.cyclonedx+json");
    expect(cdx.disposition).toMatch(/^attachment; filename="team_app_[0-9a-f]{12}\.cdx\.json"/);
    const bom = JSON.parse(cdx.body) as { bomFormat: string; components: { name: string }[] };
    expect(bom.bomFormat).toBe("CycloneDX");
    expect(bom.components.map((c) => c.name)).toContain("base-files");
    const spdx = JSON.parse((await w.get("admin", `${base}/sbom?${APP}&format=spdx`)).body) as {
      spdxVersion: string;
    };
    expect(spdx.spdxVersion).toBe("SPDX-2.3");

    const csv = await w.get("admin", `${base}/findings/export?${APP}&format=csv`);
    expect(csv.type).toContain("text/csv");
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toContain("Vulnerability Id");
    expect(lines).toHaveLength(3);
    const json = JSON.parse(
      (await w.get("admin", `${base}/findings/export?${APP}&format=json&text=0001`)).body,
    ) as {
      findings: { packageVulnerabilityDetails: { vulnerabilityId: string } }[];
    };
    expect(json.findings.map((f) => f.packageVulnerabilityDetails.vulnerabilityId)).toEqual([
      "CVE-2099-0001",
    ]);
    const sarif = JSON.parse((await w.get("admin", `${base}/findings/export?${APP}&format=sarif`)).body) as {
      runs: { results: unknown[] }[];
    };
    expect(sarif.runs[0]!.results).toHaveLength(2);
    // the clean image: an empty export, not an error
    const none = await w.get("admin", `/api/console/images/${clean}/findings/export?${APP}&format=csv`);
    expect(none.body.trim().split("\n")).toHaveLength(1);
  });
});
