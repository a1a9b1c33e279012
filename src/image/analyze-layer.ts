import type {
  CatalogContext,
  Cataloger,
  Distro,
  DistroDetector,
  Package,
  Problem,
} from "../catalog/types.js";
import { normalizeEntryPath, normalizeLinkTarget, OPAQUE_MARKER, WHITEOUT_PREFIX } from "./paths.js";
import { readTar, TarError, type TarHeader, type TarLimits } from "./tar.js";

/**
 * What one layer holds, as far as the catalogers care: the packages of each cataloged file,
 * which cataloged files the layer (re)writes, and which paths it deletes. Stored in the
 * per-layer cache: a layer is read once per (diffID, analyzers, limits).
 */
export interface LayerInventory {
  diffID: string;
  /** Packages with `path` set and `layer` unset (attribution happens when merging). */
  packages: Package[];
  /** Cataloged paths this layer writes (even when parsing them failed): they hide lower layers' versions. */
  files: string[];
  /** Paths deleted by `.wh.NAME` entries. */
  whiteouts: string[];
  /** Directories made opaque by `.wh..wh..opq`: lower layers' content below them is hidden. */
  opaque: string[];
  /** Distro detector files present in this layer, parsed (null when unreadable). */
  distroFiles: Record<string, Distro | null>;
  problems: Problem[];
  /** False when reading stopped early (corrupt, truncated, over a limit): never cached. */
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

/** Reads one decompressed layer tar through every cataloger. Never throws for bad content. */
export async function analyzeLayerTar(
  diffID: string,
  tar: AsyncIterable<Buffer>,
  analyzers: AnalyzerSet,
  limits: LayerLimits,
  onBytes?: (n: number) => void,
): Promise<LayerInventory> {
  const inv: LayerInventory = {
    diffID,
    packages: [],
    files: [],
    whiteouts: [],
    opaque: [],
    distroFiles: {},
    problems: [],
    complete: true,
    stats: { entries: 0, bytes: 0 },
  };
  const ctx: CatalogContext = { maxNestedArchiveBytes: limits.maxNestedArchiveBytes };
  const detectorByPath = new Map<string, DistroDetector>();
  for (const d of analyzers.detectors)
    for (const p of d.paths) if (!detectorByPath.has(p)) detectorByPath.set(p, d);
  const fileSet = new Set<string>();
  // Packages per cataloged path of this layer, for hard links to them.
  const byPath = new Map<string, Package[]>();

  let current: { path: string; catalogers: Cataloger[]; detector?: DistroDetector } | null = null;
  const problem = (path: string, source: string, reason: string) =>
    inv.problems.push({ path, source, reason, layer: diffID });

  const addFile = (path: string) => {
    if (!fileSet.has(path)) {
      fileSet.add(path);
      inv.files.push(path);
    }
  };

  const onEntry = (h: TarHeader): boolean => {
    inv.stats.entries++;
    current = null;
    const path = normalizeEntryPath(h.name);
    if (path === null) {
      problem(h.name, "image", "entry path climbs above the image root (../): ignored");
      return false;
    }
    const slash = path.lastIndexOf("/");
    const base = path.slice(slash + 1);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const dir = path.slice(0, slash) || "/";
      if (base === OPAQUE_MARKER) inv.opaque.push(dir);
      else inv.whiteouts.push((dir === "/" ? "" : dir) + "/" + base.slice(WHITEOUT_PREFIX.length));
      return false;
    }
    if (h.type === "link") {
      const target = normalizeLinkTarget(h.linkname);
      const pkgs = target ? byPath.get(target) : undefined;
      if (pkgs) {
        addFile(path);
        for (const p of pkgs) inv.packages.push({ ...p, path });
      }
      return false;
    }
    if (h.type !== "file") return false;
    const detector = detectorByPath.get(path);
    let matched: Cataloger[] | null = null;
    for (const c of analyzers.catalogers) {
      if (c.matches(path, h.mode)) (matched ??= []).push(c);
    }
    if (!matched && !detector) return false;
    current = { path, catalogers: matched ?? [], detector };
    addFile(path);
    return true;
  };

  const onBody = async (h: TarHeader, body: Buffer) => {
    const cur = current;
    if (!cur) return;
    if (cur.detector) {
      try {
        inv.distroFiles[cur.path] = cur.detector.parse(cur.path, body);
      } catch (e) {
        inv.distroFiles[cur.path] = null;
        problem(cur.path, cur.detector.id, `unreadable: ${(e as Error).message}`);
      }
    }
    for (const c of cur.catalogers) {
      try {
        const r = await c.parse({ path: cur.path, size: body.length, mode: h.mode, content: body }, ctx);
        for (const p of r.packages) {
          inv.packages.push(p);
          let list = byPath.get(cur.path);
          if (!list) byPath.set(cur.path, (list = []));
          list.push(p);
        }
        for (const reason of r.problems ?? []) problem(cur.path, c.id, reason);
      } catch (e) {
        problem(cur.path, c.id, `cataloger failed: ${(e as Error).message}`);
      }
    }
  };

  const counted = async function* () {
    for await (const chunk of tar) {
      inv.stats.bytes += chunk.length;
      onBytes?.(chunk.length);
      yield chunk;
    }
  };

  try {
    await readTar(
      counted(),
      {
        onEntry,
        onBody,
        onTooLarge: (h) =>
          problem(
            h.name,
            "image",
            `file of ${h.size} bytes is over the ${limits.maxFileBytes}-byte limit: not read`,
          ),
      },
      limits,
    );
  } catch (e) {
    inv.complete = false;
    const reason = e instanceof TarError ? e.message : `layer unreadable: ${(e as Error).message}`;
    problem("/", "image", reason);
  }
  return inv;
}
