import type { Cataloger, DistroDetector } from "./types.js";

/**
 * Every cataloger and distro detector Drydock runs, in one explicit list (no side-effect
 * registration). The ids and versions of this list are part of the per-layer inventory cache
 * key. Order matters only for tie-breaking in reports.
 */

// --- OS: distro detection and OS package databases ---------------------------------------

export const distroDetectors: readonly DistroDetector[] = [];

const osCatalogers: Cataloger[] = [];

// --- language ecosystems: JavaScript, Python, Ruby, PHP -------------------------------------

const scriptCatalogers: Cataloger[] = [];

// --- language ecosystems: Java, Go, Rust, .NET ----------------------------------------------

const compiledCatalogers: Cataloger[] = [];

export const catalogers: readonly Cataloger[] = [...osCatalogers, ...scriptCatalogers, ...compiledCatalogers];

/** Catalogers for OS packages only (BASIC scanning reads these). */
export const osOnly = (c: Cataloger): boolean =>
  c.ecosystem === "deb" || c.ecosystem === "apk" || c.ecosystem === "rpm";

/** `id@version` of every analyzer, sorted: the analyzer part of the layer cache key. */
export function analyzerKey(list: readonly Cataloger[] = catalogers, detectors = distroDetectors): string {
  return [...list, ...detectors]
    .map((c) => `${c.id}@${c.version}`)
    .sort()
    .join(",");
}
