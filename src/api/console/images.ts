import { isDigest, type Digest } from "../../core/digest.js";
import type { Package } from "../../catalog/types.js";
import type { Finding } from "../../findings/finding.js";
import { toSarif } from "../../findings/formats/sarif.js";
import { imageContext, storedRecord } from "../../findings/records.js";
import { reportWriter } from "../../findings/reports/findings-format.js";
import { imageSbom } from "../../findings/reports/sbom-export.js";
import { ImageFormatError } from "../../image/resolve.js";
import { StoreImageSource } from "../../image/sources/store.js";
import type { PlatformImage } from "../../image/types.js";
import { cosignAttachmentKind, cosignAttachmentTag } from "../../policy/referrers.js";
import { NOTATION_ARTIFACT_TYPE } from "../../policy/signatures/notation.js";
import { COSIGN_SIG_ARTIFACT_TYPE } from "../../policy/signatures/simple-signing.js";
import { TOOL_VERSION } from "../../sbom/tool.js";
import type { ImageRecord, StoredFindingRow } from "../../storage/meta/store.js";
import { toInspectorFinding } from "../inspector2/finding.js";
import type {
  FindingSort,
  FindingView,
  ImageDetailsView,
  ImageSort,
  ImageView,
  LayersView,
  LayerView,
  PackageView,
  Page,
  PlatformView,
  ReferrerView,
  TagFilter,
} from "./contract/images.js";
import { FINDING_SORTS, IMAGE_SORTS } from "./contract/images.js";
import type { ConsoleDeps } from "./deps.js";
import { enumListParam, enumParam, pageOf, pageParams, stringParam } from "./params.js";
import { visibleRepository } from "./repositories.js";
import {
  badParameter,
  ConsoleDownload,
  ConsoleError,
  notFound,
  type ConsoleRequest,
  type ConsoleRoutes,
} from "./router.js";

/**
 * The console's image views (docs/console.md, "Images"). Repository names contain slashes, so
 * the repository is the `repository` query parameter of every route:
 *
 *   GET /api/console/images?repository=R&tagged=&sort=&order=&limit=&offset=   a repository's images
 *   GET /api/console/images/:digest?repository=R                             one image's summary
 *   GET /api/console/images/:digest/findings?repository=R&severity=&status=&fixAvailable=&package=&text=&sort=&order=&limit=&offset=
 *   GET /api/console/images/:digest/findings/export?repository=R&format=csv|json|sarif  (same filters)
 *   GET /api/console/images/:digest/layers?repository=R
 *   GET /api/console/images/:digest/packages?repository=R&search=&sort=&order=&limit=&offset=
 *   GET /api/console/images/:digest/referrers?repository=R
 *   GET /api/console/images/:digest/sbom?repository=R&format=cyclonedx|spdx
 *
 * A repository's images are filtered, sorted and paged in the store (RegistryViewStore); the
 * details of one image (its findings, packages, layers) are bounded by that image and are
 * filtered and paged here. A repository the caller may not pull is a 404, as an absent one.
 */

const SEVERITY_RANK: Record<string, number> = {
  CRITICAL: 6,
  HIGH: 5,
  MEDIUM: 4,
  LOW: 3,
  INFORMATIONAL: 2,
  UNTRIAGED: 1,
  UNDEFINED: 0,
};
const SEVERITIES = Object.keys(SEVERITY_RANK);
const STATUSES = ["ACTIVE", "SUPPRESSED", "CLOSED"] as const;
const FIX = ["YES", "NO", "PARTIAL"] as const;
const SIGNATURE_TYPES = new Set([COSIGN_SIG_ARTIFACT_TYPE, NOTATION_ARTIFACT_TYPE]);
/** The largest manifest or config read to show platforms (others show none). */
const MAX_JSON_BYTES = 4 << 20;
/** Platforms of images read (content-addressed, so never stale): a bounded cache. */
const PLATFORM_CACHE = 10_000;

function digestParam(req: ConsoleRequest): string {
  const d = req.params.digest ?? "";
  if (!isDigest(d))
    throw badParameter(`digest: a digest such as sha256:<64 hex digits> (got ${JSON.stringify(d)})`);
  return d;
}

/** Config media types of runnable images (the registry records the config's type as artifact type). */
const IMAGE_CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

function kindOf(img: Pick<ImageRecord, "mediaType" | "artifactType" | "subject">): ImageView["kind"] {
  if (/index|manifest\.list/.test(img.mediaType)) return "index";
  if (img.subject !== null || (img.artifactType !== null && !IMAGE_CONFIGS.has(img.artifactType)))
    return "artifact";
  return "image";
}

export function registerImageRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  const registry = { accountId: deps.config.aws.accountId, region: deps.config.aws.region };
  const platformCache = new Map<string, PlatformView[]>();

  /** An image's platform(s): an index's from its manifest list, an image's from its config. */
  const platformsOf = async (digest: string): Promise<PlatformView[]> => {
    const cached = platformCache.get(digest);
    if (cached) return cached;
    const json = async (d: string): Promise<Record<string, unknown> | null> => {
      try {
        const st = await deps.blobs.stat(d as Digest);
        if (!st || st.size > MAX_JSON_BYTES) return null;
        const v: unknown = JSON.parse((await deps.blobs.read(d as Digest)).toString("utf8"));
        return v !== null && typeof v === "object" && !Array.isArray(v)
          ? (v as Record<string, unknown>)
          : null;
      } catch {
        return null;
      }
    };
    const platform = (p: unknown): PlatformView | null => {
      if (!p || typeof p !== "object") return null;
      const { os, architecture, variant } = p as Record<string, unknown>;
      if (typeof os !== "string" || typeof architecture !== "string" || !os || os === "unknown") return null;
      return { os, architecture, ...(typeof variant === "string" && variant ? { variant } : {}) };
    };
    const m = await json(digest);
    let out: PlatformView[] = [];
    if (m && Array.isArray(m.manifests)) {
      for (const c of m.manifests as Record<string, unknown>[]) {
        const p = platform(c?.platform);
        if (p && typeof c.digest === "string") out.push({ ...p, digest: c.digest });
      }
    } else if (m && m.config && typeof (m.config as Record<string, unknown>).digest === "string") {
      const p = platform(await json((m.config as { digest: string }).digest));
      if (p) out = [p];
    }
    if (platformCache.size >= PLATFORM_CACHE) platformCache.delete(platformCache.keys().next().value!);
    platformCache.set(digest, out);
    return out;
  };

  const scanType = async () => (await deps.scan.getRegistryScanningConfiguration()).scanType;

  /** The list rows of a page of images: scans, counts, signatures and platforms for the page alone. */
  const describe = async (
    repo: { id: number; name: string },
    images: readonly ImageRecord[],
    type: "BASIC" | "ENHANCED",
  ): Promise<ImageView[]> => {
    const digests = images.map((i) => i.digest);
    const scans = await deps.meta.scans.getMany(repo.id, digests);
    const counts = await deps.meta.findings.imageCounts(repo.id, digests, type);
    const sigTags = new Map(
      digests.flatMap((d) => {
        const t = cosignAttachmentTag(d, "sig");
        return t ? [[d, t] as const] : [];
      }),
    );
    const tagged = await deps.meta.registryViews.existingTags(repo.id, [...sigTags.values()]);
    const referrers = await deps.meta.registryViews.referrerTypes(repo.id, digests);
    const out: ImageView[] = [];
    for (const img of images) {
      const scan = scans.get(img.digest);
      const t = sigTags.get(img.digest);
      out.push({
        digest: img.digest,
        tags: img.tags,
        mediaType: img.mediaType,
        artifactType: img.artifactType,
        pushedAt: img.pushedAt,
        lastPulledAt: img.lastPulledAt,
        size: img.imageSize,
        platforms: kindOf(img) === "artifact" ? [] : await platformsOf(img.digest),
        kind: kindOf(img),
        scan: {
          status: scan?.status ?? null,
          description: scan?.description ?? null,
          scanType: scan?.scanType ?? type,
          lastScanAt: scan?.lastScanAt ?? null,
          completedAt: scan?.completedAt ?? null,
        },
        findings: counts.get(img.digest) ?? {},
        signed:
          (t !== undefined && tagged.has(t)) ||
          (referrers.get(img.digest) ?? []).some((a) => SIGNATURE_TYPES.has(a)),
      });
    }
    return out;
  };

  /** The image a request names, in a repository the caller may pull; else 404. */
  const imageOf = async (req: ConsoleRequest) => {
    const digest = digestParam(req);
    const repo = await visibleRepository(
      deps,
      req.principal,
      stringParam(req.query, "repository", { maxLength: 256 }),
    );
    const [img] = await deps.meta.registry.imagesByDigest(repo.id, [digest]);
    if (!img) throw notFound(`no image ${digest} in ${repo.name}`);
    return { repo, img };
  };

  /** The platform image (manifest, config, layers) of an image manifest; 400 for an index or an unreadable one. */
  const resolved = async (repo: { id: number; name: string }, img: ImageRecord): Promise<PlatformImage> => {
    if (kindOf(img) === "index")
      throw badParameter(
        "digest: an image index has no layers or packages of its own: open one of its platforms",
      );
    try {
      const r = await new StoreImageSource(deps.meta, deps.blobs, repo.id, repo.name, img.digest).resolve();
      if (r.images.length !== 1) throw new ImageFormatError("not one platform image");
      return r.images[0]!;
    } catch (e) {
      if (e instanceof ImageFormatError)
        throw new ConsoleError(
          409,
          "Conflict",
          `${img.digest} is not an image Drydock can read: ${e.message}`,
        );
      throw e;
    }
  };

  // --- a repository's images ------------------------------------------------------------

  r.get("/images", async (req) => {
    const repo = await visibleRepository(
      deps,
      req.principal,
      stringParam(req.query, "repository", { maxLength: 256 }),
    );
    const tagged: TagFilter = enumParam(req.query, "tagged", ["TAGGED", "UNTAGGED", "ANY"] as const) ?? "ANY";
    const sortGiven = req.query.sort;
    const p = pageParams(req.query, {
      sorts: IMAGE_SORTS,
      defaultSort: "pushedAt",
      defaultOrder: sortGiven === "digest" || sortGiven === "tag" ? "asc" : "desc",
    });
    const type = await scanType();
    const page = await deps.meta.registryViews.images(repo.id, {
      tagStatus: tagged,
      sort: p.sort as ImageSort,
      order: p.order,
      limit: p.limit,
      offset: p.offset,
      scanType: type,
    });
    const images = await deps.meta.registry.imagesByDigest(repo.id, page.digests);
    const out: Page<ImageView> = pageOf(await describe(repo, images, type), page.total, p);
    return out;
  });

  // --- one image ------------------------------------------------------------------------

  r.get("/images/:digest", async (req) => {
    const { repo, img } = await imageOf(req);
    const type = await scanType();
    const [view] = await describe(repo, [img], type);
    const suppressed = await deps.meta.findings.imageCounts(repo.id, [img.digest], type, "SUPPRESSED");
    const referrers = await referrersOf(repo, img.digest);
    const q = `repository=${encodeURIComponent(repo.name)}`;
    const base = `/images/${img.digest}`;
    const inventory = await deps.meta.inventories.has(repo.id, img.digest);
    const details: ImageDetailsView = {
      ...view!,
      repository: repo.name,
      referrers: referrers.length,
      suppressed: suppressed.get(img.digest) ?? {},
      inventory,
      downloads: [
        ...(inventory
          ? [
              { label: "SBOM (CycloneDX)", href: `${base}/sbom?${q}&format=cyclonedx` },
              { label: "SBOM (SPDX)", href: `${base}/sbom?${q}&format=spdx` },
            ]
          : []),
        { label: "Findings (CSV)", href: `${base}/findings/export?${q}&format=csv` },
        { label: "Findings (JSON)", href: `${base}/findings/export?${q}&format=json` },
        { label: "Findings (SARIF)", href: `${base}/findings/export?${q}&format=sarif` },
      ],
    };
    return details;
  });

  // --- findings -------------------------------------------------------------------------

  /** The image's findings that the request's filters keep, in its order (one image: bounded). */
  const filteredFindings = async (req: ConsoleRequest, repoId: number, digest: string) => {
    const severities = enumListParam(req.query, "severity", SEVERITIES);
    const statuses = enumListParam(req.query, "status", STATUSES) ?? ["ACTIVE", "SUPPRESSED"];
    const fix = enumListParam(req.query, "fixAvailable", FIX);
    const pkg = stringParam(req.query, "package", { maxLength: 256 })?.toLowerCase();
    const text = stringParam(req.query, "text", { maxLength: 256 })?.toLowerCase();
    const rows = await deps.meta.findings.forImage(repoId, digest, await scanType(), { statuses });
    const views: { row: StoredFindingRow; doc: Finding; view: FindingView }[] = [];
    for (const row of rows) {
      const doc = JSON.parse(row.document) as Finding;
      const view = findingView(row, doc);
      if (severities && !severities.includes(view.severity)) continue;
      if (fix && !fix.includes(view.fixAvailable)) continue;
      if (pkg !== undefined && !view.packageName.toLowerCase().includes(pkg)) continue;
      if (
        text !== undefined &&
        ![view.vulnerabilityId, view.title ?? "", view.packageName, ...(doc.aliases ?? [])].some((s) =>
          s.toLowerCase().includes(text),
        )
      )
        continue;
      views.push({ row, doc, view });
    }
    return views;
  };

  r.get("/images/:digest/findings", async (req) => {
    const { repo, img } = await imageOf(req);
    const p = pageParams(req.query, { sorts: FINDING_SORTS, defaultSort: "severity", defaultOrder: "desc" });
    const all = (await filteredFindings(req, repo.id, img.digest)).map((x) => x.view);
    all.sort(findingOrder(p.sort as FindingSort, p.order));
    const out: Page<FindingView> = pageOf(all.slice(p.offset, p.offset + p.limit), all.length, p);
    return out;
  });

  r.get("/images/:digest/findings/export", async (req) => {
    const { repo, img } = await imageOf(req);
    const format = enumParam(req.query, "format", ["csv", "json", "sarif"] as const);
    if (format === undefined) throw badParameter("format: one of csv, json, sarif");
    // The table's filters and order, without its paging: the whole (filtered) list of the image.
    const sort = enumParam(req.query, "sort", FINDING_SORTS) ?? "severity";
    const order = enumParam(req.query, "order", ["asc", "desc"] as const) ?? "desc";
    const rows = await filteredFindings(req, repo.id, img.digest);
    const by = findingOrder(sort, order);
    rows.sort((a, b) => by(a.view, b.view));
    const name = `${repo.name.replace(/[^\w.-]+/g, "_")}_${img.digest.replace(/^sha\d+:/, "").slice(0, 12)}_findings`;
    if (format === "sarif")
      return new ConsoleDownload(
        "application/sarif+json",
        `${name}.sarif`,
        toSarif(
          rows.map((x) => x.doc),
          { image: `${repo.name}@${img.digest}`, toolVersion: TOOL_VERSION },
        ),
      );
    const ctx = await imageContext(deps.meta, repo.id, img.digest);
    if (!ctx) throw notFound(`no repository ${repo.name}`);
    const writer = reportWriter(format === "csv" ? "CSV" : "JSON", deps.now());
    const findings = rows.map((x) => toInspectorFinding(storedRecord(registry, x.row, ctx), registry));
    return new ConsoleDownload(
      format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
      `${name}.${format}`,
      writer.head() + writer.page(findings, true) + writer.tail(),
    );
  });

  // --- layers and packages --------------------------------------------------------------

  r.get("/images/:digest/layers", async (req) => {
    const { repo, img } = await imageOf(req);
    const image = await resolved(repo, img);
    const inv = await deps.meta.inventories.image(repo.id, img.digest);
    const packages = (inv?.segments ?? []).flatMap((s) => s.packages.map((j) => JSON.parse(j) as Package));
    const findings = (
      await deps.meta.findings.forImage(repo.id, img.digest, await scanType(), { statuses: ["ACTIVE"] })
    ).map((row) => JSON.parse(row.document) as Finding);
    // The history entries that made a layer, in order, matched to the layers in order.
    const history = Array.isArray(image.config.history)
      ? (image.config.history as Record<string, unknown>[])
      : [];
    const made: Record<string, unknown>[] = [];
    const emptyHistory: LayersView["emptyHistory"] = [];
    history.forEach((h, i) => {
      if (h && h.empty_layer === true) emptyHistory.push({ createdBy: String(h.created_by ?? ""), index: i });
      else made.push(h ?? {});
    });
    const layers: LayerView[] = image.layers.map((l, i) => {
      const h = made[i];
      const counts: Record<string, number> = {};
      for (const f of findings)
        if (f.package.layer === l.diffID) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
      return {
        index: i,
        digest: l.digest,
        diffId: l.diffID || null,
        size: l.size,
        command: typeof h?.created_by === "string" ? h.created_by : null,
        createdAt: typeof h?.created === "string" ? h.created : null,
        packages: packages.filter((p) => p.layer === l.diffID).length,
        findings: counts,
      };
    });
    const out: LayersView = { layers, emptyHistory };
    return out;
  });

  r.get("/images/:digest/packages", async (req) => {
    const { repo, img } = await imageOf(req);
    const search = stringParam(req.query, "search", { maxLength: 256 })?.toLowerCase();
    const p = pageParams(req.query, {
      sorts: ["name", "ecosystem", "layer", "findings"] as const,
      defaultSort: "name",
    });
    const image = await resolved(repo, img);
    const inv = await deps.meta.inventories.image(repo.id, img.digest);
    if (!inv) throw notFound(`${img.digest} has no inventory yet: scan it first`);
    const layerIndex = new Map(image.layers.map((l, i) => [l.diffID, i] as const));
    const findings = new Map<string, number>();
    for (const row of await deps.meta.findings.forImage(repo.id, img.digest, await scanType(), {
      statuses: ["ACTIVE"],
    })) {
      const f = JSON.parse(row.document) as Finding;
      const k = `${f.package.name}\0${f.package.version}`;
      findings.set(k, (findings.get(k) ?? 0) + 1);
    }
    const all: PackageView[] = [];
    for (const s of inv.segments)
      for (const j of s.packages) {
        const pkg = JSON.parse(j) as Package;
        if (search !== undefined && !`${pkg.name}\0${pkg.purl ?? ""}`.toLowerCase().includes(search))
          continue;
        all.push({
          name: pkg.name,
          version: pkg.version,
          ecosystem: pkg.ecosystem,
          purl: pkg.purl ?? null,
          path: pkg.path ?? null,
          licenses: pkg.licenses ?? [],
          layer: pkg.layer ?? null,
          layerIndex: pkg.layer !== undefined ? (layerIndex.get(pkg.layer) ?? null) : null,
          findings: findings.get(`${pkg.name}\0${pkg.version}`) ?? 0,
        });
      }
    const dir = p.order === "desc" ? -1 : 1;
    const byName = (a: PackageView, b: PackageView) => cmp(a.name, b.name) || cmp(a.version, b.version);
    all.sort((a, b) => {
      switch (p.sort) {
        case "ecosystem":
          return dir * cmp(a.ecosystem, b.ecosystem) || byName(a, b);
        case "layer":
          return dir * ((a.layerIndex ?? -1) - (b.layerIndex ?? -1)) || byName(a, b);
        case "findings":
          return dir * (a.findings - b.findings) || byName(a, b);
        default:
          return dir * byName(a, b);
      }
    });
    const out: Page<PackageView> = pageOf(all.slice(p.offset, p.offset + p.limit), all.length, p);
    return out;
  });

  // --- referrers and the SBOM -----------------------------------------------------------

  const referrersOf = async (repo: { id: number; name: string }, digest: string): Promise<ReferrerView[]> => {
    const out: ReferrerView[] = (await deps.meta.registry.referrers(repo.id, digest)).map((m) => ({
      digest: m.digest,
      artifactType: m.artifactType,
      mediaType: m.mediaType,
      kind: referrerKind(m.artifactType ?? m.mediaType),
      via: "referrer",
      tag: null,
      createdAt: m.createdAt,
      size: m.size,
    }));
    for (const kind of ["sig", "att", "sbom"] as const) {
      const tag = cosignAttachmentTag(digest, kind);
      if (!tag) continue;
      const target = await deps.meta.registry.tag(repo.id, tag);
      if (!target) continue;
      const m = await deps.meta.registry.manifest(repo.id, target);
      if (!m) continue;
      const k = cosignAttachmentKind(tag);
      out.push({
        digest: m.digest,
        artifactType: m.artifactType,
        mediaType: m.mediaType,
        kind: k === "sig" ? "signature" : k === "att" ? "attestation" : "sbom",
        via: "tag",
        tag,
        createdAt: m.createdAt,
        size: m.size,
      });
    }
    return out;
  };

  r.get("/images/:digest/referrers", async (req) => {
    const { repo, img } = await imageOf(req);
    const items = await referrersOf(repo, img.digest);
    return { items, total: items.length, limit: items.length, offset: 0 };
  });

  r.get("/images/:digest/sbom", async (req) => {
    const { repo, img } = await imageOf(req);
    const format = enumParam(req.query, "format", ["cyclonedx", "spdx"] as const);
    if (format === undefined) throw badParameter("format: one of cyclonedx, spdx");
    if (kindOf(img) === "index")
      throw badParameter("digest: an image index has no SBOM of its own: open one of its platforms");
    let doc: string | null;
    try {
      doc = await imageSbom(
        deps.meta,
        deps.blobs,
        registry,
        repo,
        img.digest,
        format === "spdx" ? "SPDX_2_3" : "CYCLONEDX_1_4",
        new Date(deps.now()),
      );
    } catch (e) {
      if (e instanceof ImageFormatError)
        throw new ConsoleError(
          409,
          "Conflict",
          `${img.digest} is not an image Drydock can read: ${e.message}`,
        );
      throw e;
    }
    if (doc === null) throw notFound(`${img.digest} has no inventory yet: scan it first`);
    const name = `${repo.name.replace(/[^\w.-]+/g, "_")}_${img.digest.replace(/^sha\d+:/, "").slice(0, 12)}`;
    return format === "spdx"
      ? new ConsoleDownload("application/spdx+json", `${name}.spdx.json`, doc)
      : new ConsoleDownload("application/vnd.cyclonedx+json", `${name}.cdx.json`, doc);
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What a referrer is, by its artifact type (or media type). */
export function referrerKind(type: string): ReferrerView["kind"] {
  const t = type.toLowerCase();
  if (SIGNATURE_TYPES.has(type) || t.includes("signature") || t.includes("cosign.artifact.sig"))
    return "signature";
  if (t.includes("vex")) return "vex";
  if (t.includes("in-toto") || t.includes("dsse") || t.includes("attestation")) return "attestation";
  if (t.includes("cyclonedx") || t.includes("spdx") || t.includes("sbom") || t.includes("syft"))
    return "sbom";
  return "other";
}

function findingView(row: StoredFindingRow, doc: Finding): FindingView {
  return {
    id: row.id,
    vulnerabilityId: row.vulnerabilityId,
    severity: row.severity,
    title: doc.title ?? null,
    packageName: doc.package?.name ?? row.packageName,
    packageVersion: doc.package?.version ?? "",
    ecosystem: doc.package?.ecosystem ?? "",
    packagePath: row.packagePath || null,
    layer: doc.package?.layer ?? null,
    fixedVersion: doc.fixedVersion ?? null,
    fixAvailable: row.fixAvailable as FindingView["fixAvailable"],
    epss: row.epssScore ?? doc.epss?.score ?? null,
    kev: row.exploitAvailable || doc.kev === true,
    status: row.status,
    firstObservedAt: row.firstObservedAt,
    lastObservedAt: row.lastObservedAt,
  };
}

/** The findings table's order: the sort key, then severity (most severe first), then the id. */
function findingOrder(sort: FindingSort, order: "asc" | "desc"): (a: FindingView, b: FindingView) => number {
  const dir = order === "desc" ? -1 : 1;
  const rank = (f: FindingView) => SEVERITY_RANK[f.severity] ?? 0;
  const key = (a: FindingView, b: FindingView): number => {
    switch (sort) {
      case "severity":
        return rank(a) - rank(b);
      case "vulnerabilityId":
        return cmp(a.vulnerabilityId, b.vulnerabilityId);
      case "package":
        return cmp(a.packageName, b.packageName) || cmp(a.packageVersion, b.packageVersion);
      case "epss":
        return (a.epss ?? -1) - (b.epss ?? -1);
      case "firstObserved":
        return a.firstObservedAt - b.firstObservedAt;
      case "fixAvailable":
        return cmp(a.fixAvailable, b.fixAvailable);
      case "status":
        return cmp(a.status, b.status);
    }
  };
  return (a, b) =>
    dir * key(a, b) || rank(b) - rank(a) || cmp(a.vulnerabilityId, b.vulnerabilityId) || cmp(a.id, b.id);
}
