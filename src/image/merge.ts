import type { Distro, DistroDetector, Package, Problem } from "../catalog/types.js";
import type { LayerInventory } from "./analyze-layer.js";
import { ancestors, resolveInRoot } from "./paths.js";
import { compareStrings as cmp } from "../core/compare.js";
import { reconcileApplications, type SkippedLockFile } from "./applications.js";

export interface MergedInventory {
  distro: Distro | null;
  packages: Package[];
  problems: Problem[];
  /** Lock files whose packages are not counted (applications.ts). */
  skippedLockFiles: SkippedLockFile[];
}

const pkgKey = (p: Package) =>
  `${p.ecosystem}\u0000${p.name}\u0000${p.version}\u0000${p.arch ?? ""}\u0000${p.archivePath ?? ""}`;

/** A stable, locale-independent order: the same image always prints the same document. */
export function comparePackages(a: Package, b: Package): number {
  return (
    cmp(a.ecosystem, b.ecosystem) ||
    cmp(a.name, b.name) ||
    cmp(a.version, b.version) ||
    cmp(a.path, b.path) ||
    cmp(a.archivePath ?? "", b.archivePath ?? "") ||
    cmp(a.arch ?? "", b.arch ?? "")
  );
}

/**
 * Stacks layer inventories bottom to top as the union filesystem would (OCI image-spec, "Applying
 * Changesets"):
 * - a layer's whiteouts and opaque directories hide what lower layers put there (never what the
 *   same layer writes);
 * - any non-directory entry the layer writes (a cataloged file, a symlink, a hard link at a
 *   cataloged path) replaces the lower path, and everything below it when that was a directory;
 * - a cataloged file it rewrites replaces the lower version's packages. A package keeps the layer
 *   where it first appeared as long as every rewrite of its file still lists it (an apt install
 *   rewriting dpkg's status does not move the base image's packages into the new layer);
 * - hard links take the packages of their target; symlinks are followed inside the image root
 *   (never above it; loops are cut after 40 links, as Linux does) for distro detection and for
 *   cataloged paths that are links.
 * Known limits: a directory entry does not replace a lower non-directory at its path, and an
 * upper regular file no cataloger wants does not hide a lower cataloged one at the same path (a
 * binary losing its executable bit): neither happens in images built by diffing filesystems.
 *
 * On the stacked result, applications.ts then marks the language packages that OS packages
 * own and leaves out lock files whose project is installed (the OS database and the language
 * package may come from different layers, so this happens only here).
 */
export function mergeLayers(
  layers: readonly LayerInventory[],
  detectors: readonly DistroDetector[],
): MergedInventory {
  const files = new Map<string, Package[]>();
  /** Per OS database file: the files its packages own (LayerInventory.owned). */
  const owned = new Map<string, [string, string][]>();
  const distroFiles = new Map<string, Distro | null>();
  const symlinks = new Map<string, string>();
  /** Cataloged symlinks and the layer that wrote them. */
  const linkLayer = new Map<string, string>();
  const problems: Problem[] = [];

  for (const layer of layers) {
    // 1. Whiteouts, opaque directories and replaced paths hide lower content. One pass over the
    // state, looking each path and its ancestors up in sets: linear, whatever the whiteout count.
    const deleted = new Set(layer.whiteouts);
    const opaque = new Set(layer.opaque);
    const replacing = new Set<string>(layer.files);
    for (const [p] of layer.symlinks) replacing.add(p);
    for (const l of layer.hardlinks) replacing.add(l.path);
    const hidden = (path: string): boolean => {
      if (deleted.has(path)) return true;
      for (const a of ancestors(path)) {
        if (deleted.has(a) || opaque.has(a) || replacing.has(a)) return true;
      }
      return false;
    };
    // A file rewritten in place (not deleted first) keeps its packages' attribution.
    const previous = new Map<string, Package[]>();
    for (const path of layer.files) {
      const before = files.get(path);
      if (before && !hidden(path)) previous.set(path, before);
    }
    if (deleted.size || opaque.size || replacing.size) {
      for (const map of [files, owned, distroFiles, symlinks, linkLayer] as Map<string, unknown>[]) {
        for (const path of map.keys()) if (replacing.has(path) || hidden(path)) map.delete(path);
      }
    }

    // 2. Cataloged files of this layer, with attribution.
    const byPath = new Map<string, Package[]>();
    for (const p of layer.packages) {
      let list = byPath.get(p.path);
      if (!list) byPath.set(p.path, (list = []));
      list.push(p);
    }
    const place = (path: string, pkgs: readonly Package[], before: readonly Package[] | undefined) => {
      const earlier = new Map<string, string | undefined>();
      for (const p of before ?? []) earlier.set(pkgKey(p), p.layer);
      files.set(
        path,
        pkgs.map((p) => ({ ...p, path, layer: earlier.get(pkgKey(p)) ?? layer.diffID })),
      );
    };
    for (const path of layer.files) {
      place(path, byPath.get(path) ?? [], previous.get(path));
      // A rewritten database's ownership facts are the new version's (none if it has none).
      owned.delete(path);
      const o = layer.owned[path];
      if (o?.length) owned.set(path, o);
    }
    for (const [path, distro] of Object.entries(layer.distroFiles)) distroFiles.set(path, distro);

    // 3. Symlinks.
    for (const [path, target] of layer.symlinks) symlinks.set(path, target);
    for (const path of layer.catalogedSymlinks) linkLayer.set(path, layer.diffID);

    // 4. Hard links to files read in lower layers (or not read at all).
    for (const { path, target } of layer.hardlinks) {
      let real: string | null = files.has(target) ? target : null;
      if (real === null) {
        const r = resolveInRoot(target, (p) => symlinks.get(p));
        if ("path" in r && files.has(r.path)) real = r.path;
      }
      if (real === null) {
        problems.push({
          path,
          source: "image",
          reason: `hard link to ${target}, which is not a file the catalogers read: not cataloged`,
          layer: layer.diffID,
        });
        continue;
      }
      place(path, files.get(real)!, undefined);
      if (distroFiles.has(real)) distroFiles.set(path, distroFiles.get(real)!);
      if (owned.has(real)) owned.set(path, owned.get(real)!);
    }
    problems.push(...layer.problems);
  }

  // Cataloged paths that are symlinks: their packages are those of the file they reach, which is
  // cataloged at its own path; report the ones that reach nothing we read.
  for (const [path, layer] of linkLayer) {
    const r = resolveInRoot(path, (p) => symlinks.get(p));
    if ("loop" in r || "tooDeep" in r) {
      problems.push({
        path,
        source: "image",
        reason: "symlink loop (more than 40 links): not followed",
        layer,
      });
    } else if (!files.has(r.path) && !distroFiles.has(r.path)) {
      problems.push({
        path,
        source: "image",
        reason: `symlink to ${r.path} (inside the image root), which is not a file the catalogers read`,
        layer,
      });
    }
  }

  let distro: Distro | null = null;
  outer: for (const d of detectors) {
    for (const path of d.paths) {
      const r = resolveInRoot(path, (p) => symlinks.get(p));
      const found = "path" in r ? distroFiles.get(r.path) : undefined;
      if (found) {
        distro = found;
        break outer;
      }
    }
  }
  const all: Package[] = [];
  for (const list of files.values()) all.push(...list);
  const { packages, skippedLockFiles } = reconcileApplications(all, owned.values());
  packages.sort(comparePackages);
  return { distro, packages, problems, skippedLockFiles };
}
