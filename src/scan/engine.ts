import { analyzerKey, catalogers, distroDetectors, osOnly } from "../catalog/registry.js";
import type { LayerLimits } from "../image/analyze-layer.js";
import { analyzeImage, inventoriesOf, layerCacheKey, type AnalyzeProgress } from "../image/analyze.js";
import type { LayerCache } from "../image/cache.js";
import type { ImageInventory, ImageSource, InventoryDocument } from "../image/types.js";
import { matchPackages } from "../match/matcher.js";
import type { AdvisoryLookup } from "../match/types.js";
import type { Finding, Severity } from "../findings/finding.js";
import type { ReportedSeverity, ScanType, SeverityCounts } from "./types.js";

/** Package ecosystems BASIC scanning reports (OS packages). */
export const OS_ECOSYSTEMS = ["deb", "apk", "rpm"] as const;

export const UNSUPPORTED_OS =
  "UnsupportedImageError: The operating system and/or package manager are not supported.";

export interface EngineOptions {
  limits: LayerLimits;
  /** The per-layer inventory cache shared with the CLI (`<data>/cache/layers`). */
  cache?: LayerCache;
  /** Layers of one image read at the same time. */
  layerConcurrency?: number;
  /** Called for every distinct layer a server scan needs: `fromCache` when the layer cache served it unread (metrics). */
  onLayer?: (fromCache: boolean) => void;
}

export type ScanOutcome =
  | {
      kind: "complete";
      inventory: ImageInventory;
      findings: Finding[];
      severityCounts: SeverityCounts;
    }
  | { kind: "unsupported"; reason: string };

const osCatalogers = catalogers.filter(osOnly);

/**
 * What a scan reads and matches: `os` packages only (BASIC scanning, as ECR's basic scan), or
 * `all` (OS and language packages: ENHANCED scanning and `drydock scan`).
 */
export type ScanScope = "os" | "all";

export const scopeOf = (scanType: ScanType): ScanScope => (scanType === "BASIC" ? "os" : "all");

export interface AnalyzeSourceOptions extends EngineOptions {
  scope: ScanScope;
  progress?: AnalyzeProgress;
  /** Parse layers in worker threads (the server: its event loop serves pushes and pulls meanwhile). */
  keepMainThreadFree?: boolean;
}

/**
 * Stage 1 of the one scan pipeline, shared by `drydock scan`/`drydock sbom` and the server's
 * scans: the inventory of an image source, every layer read once and cached per layer, merged.
 * (The server then stores it (./inventory.ts), stage 2; every caller matches it with
 * matchInventory, stage 3; the server diffs the findings against the stored ones
 * (./results.ts, src/findings/lifecycle.ts), stage 4, and re-matches stored inventories
 * without reading a layer again (./rematch.ts).)
 */
export function analyzeSource(source: ImageSource, o: AnalyzeSourceOptions): Promise<InventoryDocument> {
  return analyzeImage(source, {
    catalogers: o.scope === "all" ? catalogers : osCatalogers,
    detectors: distroDetectors,
    limits: o.limits,
    cache: o.cache,
    concurrency: o.layerConcurrency,
    progress: o.progress,
    keepMainThreadFree: o.keepMainThreadFree,
  });
}

/** Stage 3: the findings of an inventory's packages; `os` matches OS packages only. */
export function matchInventory(
  inventory: Pick<ImageInventory, "packages" | "distro">,
  db: AdvisoryLookup,
  scope: ScanScope,
): Finding[] {
  return matchPackages(
    inventory.packages,
    inventory.distro,
    db,
    scope === "os" ? { ecosystems: OS_ECOSYSTEMS } : {},
  );
}

/**
 * Whether every layer's inventory by the full cataloger list is cached (by `drydock scan`, an
 * ENHANCED scan, or an earlier BASIC one that found it so): then BASIC reads it from there and
 * keeps only OS packages, instead of reading the layers again with the OS catalogers only.
 */
async function fullInventoryCached(
  source: ImageSource,
  cache: LayerCache,
  limits: LayerLimits,
): Promise<boolean> {
  const resolved = await source.resolve();
  const analyzers = analyzerKey(catalogers, distroDetectors);
  for (const img of resolved.images)
    for (const l of img.layers)
      if (!(await cache.has(layerCacheKey(l.diffID, analyzers, limits)))) return false;
  return true;
}

/**
 * A server scan of one image manifest: stages 1 and 3 (above). BASIC reads OS packages only
 * and needs a detected distribution (else UNSUPPORTED_IMAGE, as ECR does for scratch or unknown
 * OS images); ENHANCED reads OS and language packages.
 */
export async function scanImage(
  source: ImageSource,
  scanType: ScanType,
  db: AdvisoryLookup,
  opts: EngineOptions,
): Promise<ScanOutcome> {
  const full =
    scanType === "ENHANCED" ||
    (opts.cache !== undefined && (await fullInventoryCached(source, opts.cache, opts.limits)));
  const onLayer = opts.onLayer;
  const doc = await analyzeSource(source, {
    ...opts,
    scope: full ? "all" : "os",
    keepMainThreadFree: true,
    progress: onLayer && {
      layerStarted: () => undefined,
      bytesRead: () => undefined,
      layerDone: (_layer, fromCache) => onLayer(fromCache),
    },
  });
  const [inventory] = inventoriesOf(doc);
  if (!inventory)
    return { kind: "unsupported", reason: "UnsupportedImageError: the manifest lists no image" };
  if (inventory.incompleteLayers?.length) {
    const why = inventory.problems
      .slice(0, 3)
      .map((p) => `${p.path}: ${p.reason}`)
      .join("; ");
    throw new IncompleteImageError(`some layers could not be read completely (${why})`);
  }
  if (scanType === "BASIC" && !inventory.distro) return { kind: "unsupported", reason: UNSUPPORTED_OS };
  const findings = matchInventory(inventory, db, scopeOf(scanType));
  return { kind: "complete", inventory, findings, severityCounts: severityCounts(findings, scanType) };
}

export class IncompleteImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncompleteImageError";
  }
}

/**
 * The severity a finding is reported with by each scan type: ECR basic scanning's names for
 * BASIC (`UNDEFINED` when nothing rates it), Amazon Inspector's for ENHANCED (`UNTRIAGED`).
 */
export function reportedSeverity(severity: Severity, scanType: ScanType): ReportedSeverity {
  return scanType === "ENHANCED" && severity === "UNDEFINED" ? "UNTRIAGED" : severity;
}

/**
 * `findingSeverityCounts` of a scan, in the names its findings are reported with
 * (reportedSeverity): an ENHANCED scan's counts say `UNTRIAGED` where its `enhancedFindings` do.
 */
export function severityCounts(findings: readonly Finding[], scanType: ScanType): SeverityCounts {
  const out: SeverityCounts = {};
  for (const f of findings) {
    const s = reportedSeverity(f.severity, scanType);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}
