import type { Distro, DistroDetector, Package, Problem } from "../catalog/types.js";
import type { LayerInventory } from "./analyze-layer.js";
import { isUnder } from "./paths.js";

export interface MergedInventory {
  distro: Distro | null;
  packages: Package[];
  problems: Problem[];
}

interface FileState {
  packages: Package[];
}

const pkgKey = (p: Package) =>
  `${p.ecosystem}\u0000${p.name}\u0000${p.version}\u0000${p.arch ?? ""}\u0000${p.archivePath ?? ""}`;

/**
 * Stacks layer inventories bottom to top as the union filesystem would: a layer's whiteouts
 * and opaque directories hide what lower layers put there, and a file it rewrites replaces the
 * lower version's packages. A package keeps the layer where it first appeared as long as every
 * rewrite of its file still lists it (an apt install rewriting dpkg's status does not move the
 * base image's packages into the new layer).
 */
export function mergeLayers(
  layers: readonly LayerInventory[],
  detectors: readonly DistroDetector[],
): MergedInventory {
  const files = new Map<string, FileState>();
  const distroFiles = new Map<string, Distro | null>();
  const problems: Problem[] = [];

  const removeUnder = (dir: string, alsoSelf: boolean) => {
    for (const map of [files, distroFiles] as Map<string, unknown>[]) {
      for (const path of [...map.keys()]) {
        if ((alsoSelf && path === dir) || isUnder(path, dir)) map.delete(path);
      }
    }
  };

  for (const layer of layers) {
    for (const dir of layer.opaque) removeUnder(dir, false);
    for (const path of layer.whiteouts) removeUnder(path, true);

    const byPath = new Map<string, Package[]>();
    for (const p of layer.packages) {
      let list = byPath.get(p.path);
      if (!list) byPath.set(p.path, (list = []));
      list.push(p);
    }
    for (const path of layer.files) {
      const before = files.get(path);
      const earlier = new Map<string, string | undefined>();
      for (const p of before?.packages ?? []) earlier.set(pkgKey(p), p.layer);
      const now = (byPath.get(path) ?? []).map((p) => ({
        ...p,
        layer: earlier.get(pkgKey(p)) ?? layer.diffID,
      }));
      files.set(path, { packages: now });
      if (!(path in layer.distroFiles)) distroFiles.delete(path);
    }
    for (const [path, distro] of Object.entries(layer.distroFiles)) distroFiles.set(path, distro);
    problems.push(...layer.problems);
  }

  let distro: Distro | null = null;
  outer: for (const d of detectors) {
    for (const path of d.paths) {
      const found = distroFiles.get(path);
      if (found) {
        distro = found;
        break outer;
      }
    }
  }
  const packages: Package[] = [];
  for (const state of files.values()) packages.push(...state.packages);
  packages.sort(
    (a, b) =>
      a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name) || a.path.localeCompare(b.path),
  );
  return { distro, packages, problems };
}
