import type { Cataloger, DistroDetector } from "./types.js";

/**
 * Every cataloger and distro detector Drydock runs, in one explicit list (no side-effect
 * registration). The ids and versions of this list are part of the per-layer inventory cache
 * key. Order matters only for tie-breaking in reports.
 */

// --- OS: distro detection and OS package databases ---------------------------------------

import * as distro from "./distro/index.js";
import * as osCatalog from "./os/index.js";

// Preference order (distro/detect.ts says why): os-release, alpine-release, lsb-release before
// debian_version (Ubuntu has both), then the redhat-release family.
export const distroDetectors: readonly DistroDetector[] = [
  distro.osReleaseDetector,
  distro.alpineReleaseDetector,
  distro.lsbReleaseDetector,
  distro.debianVersionDetector,
  distro.redhatReleaseDetector,
];

const osCatalogers: Cataloger[] = [
  osCatalog.dpkgCataloger,
  osCatalog.dpkgFilesCataloger,
  osCatalog.apkCataloger,
  osCatalog.rpmCataloger,
];

// --- language ecosystems: JavaScript, Python, Ruby, PHP -------------------------------------

import { javascriptCatalogers } from "./lang/javascript/index.js";
import { phpCatalogers } from "./lang/php/composer.js";
import { pythonCatalogers } from "./lang/python/index.js";
import { rubyCatalogers } from "./lang/ruby/index.js";

const scriptCatalogers: Cataloger[] = [
  ...javascriptCatalogers,
  ...pythonCatalogers,
  ...rubyCatalogers,
  ...phpCatalogers,
];

// --- language ecosystems: Java, Go, Rust, .NET ----------------------------------------------

import { dotnetCatalogers } from "./lang/dotnet/index.js";
import { goCatalogers } from "./lang/golang/index.js";
import { javaCatalogers } from "./lang/java/index.js";
import { rustCatalogers } from "./lang/rust/index.js";

const compiledCatalogers: Cataloger[] = [
  ...javaCatalogers,
  ...goCatalogers,
  ...rustCatalogers,
  ...dotnetCatalogers,
];

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
