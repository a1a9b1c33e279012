import { createHash, type Hash } from "node:crypto";
import type {
  CatalogContext,
  Cataloger,
  Distro,
  DistroDetector,
  Package,
  Problem,
} from "../catalog/types.js";
import { normalizeEntryPath, normalizeLinkTarget, whiteoutOf } from "./paths.js";
import type { HashedLayer } from "./layer-worker.js";
import { readTar, TarError, type TarHeader, type TarLimits, type TarVisitor } from "./tar.js";

/**
 * The shape of a LayerInventory. Part of the layer-cache key: bump it when the analysis of
 * one layer changes what it records, so older cache entries are never read back.
 */
export const LAYER_FORMAT = 3;

/**
 * What one layer holds, as far as the catalogers care: the packages of each cataloged file,
 * which cataloged files the layer (re)writes, what it deletes, and the links that the merge
 * must follow. Stored in the per-layer cache: a layer is read once per (diffID, analyzers,
 * limits, LAYER_FORMAT). Nothing in it depends on other layers.
 */
export interface LayerInventory {
  format: number;
  diffID: string;
  /** Packages with `path` set and `layer` unset (attribution happens when merging). */
  packages: Package[];
  /** Cataloged paths this layer writes (even when parsing them failed): they hide lower layers' versions. */
  files: string[];
  /** Paths deleted by `.wh.NAME` entries (they apply to lower layers only). */
  whiteouts: string[];
  /** Directories made opaque by `.wh..wh..opq`: lower layers' content below them is hidden. */
  opaque: string[];
  /**
   * Every symlink of the layer as [path, link text]. A symlink replaces whatever lower layers had
   * at its path (a whole directory included), and the merge follows them inside the image root.
   */
  symlinks: [string, string][];
  /** Symlinks whose own path a cataloger or distro detector wants: the merge checks what they reach. */
  catalogedSymlinks: string[];
  /**
   * Hard links at cataloged paths whose target was not read in this layer (it lives in a lower
   * layer, or no cataloger wanted its path): the merge gives them the target's packages.
   */
  hardlinks: { path: string; target: string }[];
  /** Distro detector files present in this layer, parsed (null when unreadable). */
  distroFiles: Record<string, Distro | null>;
  /**
   * Per OS package database file of this layer (a dpkg `.list`, an rpmdb, apk's `installed`):
   * the files its packages own that can be evidence of a language package, as [path, owner]
   * (CatalogResult.owned). Stacked like the packages: a database deleted or rewritten by a
   * later layer takes its ownership facts with it.
   */
  owned: Record<string, [string, string][]>;
  problems: Problem[];
  /** False when reading stopped early (corrupt, truncated, over a limit, wrong diffID): never cached. */
  complete: boolean;
  stats: { entries: number; bytes: number };
}

export interface AnalyzerSet {
  catalogers: readonly Cataloger[];
  detectors: readonly DistroDetector[];
}

export interface LayerLimits extends TarLimits {
  maxNestedArchiveBytes: number;
}

/** Symlinks past this many in one layer are not recorded (a problem says so): bounded memory. */
export const MAX_SYMLINKS_PER_LAYER = 100_000;

export interface LayerReadOptions {
  /** Called with the size of each decompressed chunk (progress). */
  onBytes?: (n: number) => void;
  /**
   * `sha256:<hex>` the decompressed tar must hash to (the diffID of the image config). A layer
   * that does not is reported and incomplete, so it is never cached under a diffID it does not
   * have: one hostile image cannot poison the inventory of every image sharing that diffID.
   */
  verifyDiffID?: string;
}

/**
 * The layer's chunks, counted (and hashed when `hash` is given) on their way to the tar reader.
 * A module-level generator, not a closure per layer: generator objects of one generator function
 * share a shape, so the tar reader's optimized code survives from one layer to the next (a
 * closure per layer made V8 drop and recompile it every layer).
 */
async function* counted(
  tar: AsyncIterable<Buffer>,
  stats: { bytes: number },
  hash: Hash | null,
  onBytes: ((n: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of tar) {
    stats.bytes += chunk.length;
    hash?.update(chunk);
    onBytes?.(chunk.length);
    yield chunk;
  }
}

/**
 * The tar visitor of one layer: sorts each entry (whiteout, link, cataloged file, other) and
 * runs the catalogers on the files they want. A class rather than closures inside
 * analyzeLayerTar, so that V8 keeps its optimized code from one layer to the next.
 */
class LayerWalker implements TarVisitor {
  /** Catalogers and detectors keep nothing of a file's bytes (the Cataloger contract). */
  readonly transientBodies = true;
  // Built in maps (a duplicate path is forgotten in O(1)) and turned into the lists at the end.
  readonly byPath = new Map<string, Package[]>(); // cataloged files read in this layer, in order
  readonly symlinks = new Map<string, string>();
  readonly catalogedSymlinks = new Set<string>();
  readonly hardlinks = new Map<string, string>();
  symlinksDropped = 0;
  private readonly detectorByPath = new Map<string, DistroDetector>();
  private readonly catalogers: readonly Cataloger[];
  private readonly ctx: CatalogContext;
  private current: { path: string; catalogers: Cataloger[]; detector?: DistroDetector } | null = null;

  constructor(
    private readonly inv: LayerInventory,
    analyzers: AnalyzerSet,
    private readonly limits: LayerLimits,
  ) {
    for (const d of analyzers.detectors)
      for (const p of d.paths) if (!this.detectorByPath.has(p)) this.detectorByPath.set(p, d);
    this.catalogers = analyzers.catalogers;
    this.ctx = { maxNestedArchiveBytes: limits.maxNestedArchiveBytes };
  }

  problem(path: string, source: string, reason: string): void {
    this.inv.problems.push({ path, source, reason, layer: this.inv.diffID });
  }

  private wanted(path: string, mode: number): boolean {
    if (this.detectorByPath.has(path)) return true;
    for (const c of this.catalogers) if (c.matches(path, mode)) return true;
    return false;
  }

  /** A tar may (against the spec) hold one path twice; the later entry wins, as when extracting. */
  private forgetEarlier(path: string): void {
    this.byPath.delete(path);
    delete this.inv.owned[path];
    delete this.inv.distroFiles[path];
    this.symlinks.delete(path);
    this.catalogedSymlinks.delete(path);
    this.hardlinks.delete(path);
  }

  onEntry(h: TarHeader): boolean {
    const inv = this.inv;
    inv.stats.entries++;
    this.current = null;
    const path = normalizeEntryPath(h.name);
    if (path === null) {
      this.problem(h.name, "image", "entry path climbs above the image root (../): ignored");
      return false;
    }
    const wh = whiteoutOf(path);
    if (wh) {
      if ("opaque" in wh) inv.opaque.push(wh.opaque);
      else if ("deleted" in wh) inv.whiteouts.push(wh.deleted);
      return false;
    }
    if (this.byPath.has(path) || this.symlinks.has(path) || this.hardlinks.has(path))
      this.forgetEarlier(path);

    if (h.type === "symlink") {
      if (this.symlinks.size >= MAX_SYMLINKS_PER_LAYER) {
        this.symlinksDropped++;
        return false;
      }
      this.symlinks.set(path, h.linkname);
      // A symlink's own mode bits mean nothing (0777 everywhere): asked as a plain file, so that
      // catalogers of executables do not claim every link; their targets are cataloged anyway.
      if (this.wanted(path, 0o644)) this.catalogedSymlinks.add(path);
      return false;
    }
    if (h.type === "link") {
      const target = normalizeLinkTarget(h.linkname);
      if (target === null) {
        this.problem(
          path,
          "image",
          `hard link to ${JSON.stringify(h.linkname)} climbs above the image root: ignored`,
        );
        return false;
      }
      const same = this.byPath.get(target);
      if (same) {
        // Same layer, target already read (tar writes a link after its target): same content.
        this.byPath.set(
          path,
          same.map((p) => ({ ...p, path })),
        );
        if (target in inv.distroFiles && this.detectorByPath.has(path))
          inv.distroFiles[path] = inv.distroFiles[target] ?? null;
        const owned = inv.owned[target];
        if (owned) inv.owned[path] = owned;
      } else if (this.wanted(path, h.mode)) {
        this.hardlinks.set(path, target);
      }
      return false;
    }
    if (h.type !== "file") return false;
    const detector = this.detectorByPath.get(path);
    let matched: Cataloger[] | null = null;
    for (const c of this.catalogers) {
      if (c.matches(path, h.mode)) (matched ??= []).push(c);
    }
    if (!matched && !detector) return false;
    this.current = { path, catalogers: matched ?? [], detector };
    this.byPath.set(path, []);
    return true;
  }

  async onBody(h: TarHeader, body: Buffer): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    if (cur.detector) {
      try {
        this.inv.distroFiles[cur.path] = cur.detector.parse(cur.path, body);
      } catch (e) {
        this.inv.distroFiles[cur.path] = null;
        this.problem(cur.path, cur.detector.id, `unreadable: ${(e as Error).message}`);
      }
    }
    for (const c of cur.catalogers) {
      try {
        const r = await c.parse({ path: cur.path, size: body.length, mode: h.mode, content: body }, this.ctx);
        const list = this.byPath.get(cur.path)!;
        // `path` is the file read, whatever a cataloger put there (the merge groups by it).
        for (const p of r.packages) list.push({ ...p, path: cur.path });
        if (r.owned?.length) (this.inv.owned[cur.path] ??= []).push(...r.owned);
        for (const reason of r.problems ?? []) this.problem(cur.path, c.id, reason);
      } catch (e) {
        this.problem(cur.path, c.id, `cataloger failed: ${(e as Error).message}`);
      }
    }
  }

  onTooLarge(h: TarHeader): void {
    this.problem(
      normalizeEntryPath(h.name) ?? h.name,
      "image",
      `file of ${h.size} bytes is over the ${this.limits.maxFileBytes}-byte limit (analysis.maxFileBytes): not read`,
    );
  }
}

/** Reads one decompressed layer tar through every cataloger. Never throws for bad content. */
export async function analyzeLayerTar(
  diffID: string,
  tar: AsyncIterable<Buffer> | HashedLayer,
  analyzers: AnalyzerSet,
  limits: LayerLimits,
  opts: LayerReadOptions = {},
): Promise<LayerInventory> {
  const inv: LayerInventory = {
    format: LAYER_FORMAT,
    diffID,
    packages: [],
    files: [],
    whiteouts: [],
    opaque: [],
    symlinks: [],
    catalogedSymlinks: [],
    hardlinks: [],
    distroFiles: {},
    owned: {},
    problems: [],
    complete: true,
    stats: { entries: 0, bytes: 0 },
  };
  const walker = new LayerWalker(inv, analyzers, limits);

  // A HashedLayer was hashed as it was decompressed (off the main thread); a plain stream is hashed here.
  const prehashed = "digest" in tar && typeof tar.digest === "function" ? (tar as HashedLayer) : null;
  const hash = opts.verifyDiffID?.startsWith("sha256:") && !prehashed ? createHash("sha256") : null;

  try {
    await readTar(counted(tar, inv.stats, hash, opts.onBytes), walker, limits);
    if (opts.verifyDiffID?.startsWith("sha256:")) {
      const actual = prehashed ? prehashed.digest() : `sha256:${hash!.digest("hex")}`;
      if (actual !== opts.verifyDiffID) {
        inv.complete = false;
        walker.problem(
          "/",
          "image",
          `layer content has digest ${actual}, not the diffID ${opts.verifyDiffID} the image config lists`,
        );
      }
    }
  } catch (e) {
    inv.complete = false;
    const reason = e instanceof TarError ? e.message : `layer unreadable: ${(e as Error).message}`;
    walker.problem("/", "image", reason);
  }
  for (const [path, pkgs] of walker.byPath) {
    inv.files.push(path);
    inv.packages.push(...pkgs);
  }
  inv.symlinks = [...walker.symlinks];
  inv.catalogedSymlinks = [...walker.catalogedSymlinks];
  inv.hardlinks = [...walker.hardlinks].map(([path, target]) => ({ path, target }));
  if (walker.symlinksDropped) {
    walker.problem(
      "/",
      "image",
      `${walker.symlinksDropped} symlinks past the first ${MAX_SYMLINKS_PER_LAYER} of this layer were not recorded (not followed)`,
    );
  }
  return inv;
}
