import { analyzerKey, catalogers, distroDetectors, osOnly } from "../catalog/registry.js";
import type { LayerLimits } from "../image/analyze-layer.js";
import { analyzeImage, inventoriesOf, layerCacheKey } from "../image/analyze.js";
import type { LayerCache } from "../image/cache.js";
import type { ImageInventory, ImageSource } from "../image/types.js";
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
 * Scans one image manifest: inventory (cached per layer), then matching. BASIC reads OS
 * packages only and needs a detected distribution (else UNSUPPORTED_IMAGE, as ECR does for
 * scratch or unknown OS images); ENHANCED reads OS and language packages.
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
  const doc = await analyzeImage(source, {
    catalogers: full ? catalogers : osCatalogers,
    detectors: distroDetectors,
    limits: opts.limits,
    cache: opts.cache,
    concurrency: opts.layerConcurrency,
    // The registry's event loop serves pushes and pulls meanwhile.
    keepMainThreadFree: true,
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
  const findings = matchPackages(
    inventory.packages,
    inventory.distro,
    db,
    scanType === "BASIC" ? { ecosystems: OS_ECOSYSTEMS } : {},
  );
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
