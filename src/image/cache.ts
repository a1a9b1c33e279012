import { randomUUID, createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LAYER_FORMAT, type LayerInventory } from "./analyze-layer.js";

/**
 * Where layer inventories are cached, by key (see `InventoryCache.key`). `get` returns null on a
 * miss or on an entry that is not a valid inventory of `diffID` (never an error: the layer is
 * read again); `put` of an existing key changes nothing that matters (entries are immutable).
 * On disk (InventoryCache: the CLI) or in the metadata store (the server: every worker shares it).
 */
export interface LayerCache {
  /** Whether an entry exists (without reading it). */
  has(key: string): Promise<boolean>;
  get(key: string, diffID?: string): Promise<LayerInventory | null>;
  put(key: string, inv: LayerInventory): Promise<void>;
}

/** Parses a cached inventory's JSON: null unless it is a complete inventory (of `diffID`, when given). */
export function parseCachedInventory(json: string, diffID?: string): LayerInventory | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  return isLayerInventory(v) && (diffID === undefined || v.diffID === diffID) ? v : null;
}

/**
 * Per-layer inventories on disk, keyed by (diffID, analyzer ids and versions, layer format,
 * limits): a layer is read once; a new cataloger version or other limits read it again. Files
 * are written to a unique temporary name and renamed, so a crash or two processes writing the
 * same key never leave a torn entry. An entry that cannot be read back (torn by a disk error,
 * edited, from another format) is a miss, never an error: the layer is simply read again.
 *
 *   <dir>/<first two hex>/<sha256 of the key>.json
 */
export class InventoryCache implements LayerCache {
  constructor(readonly dir: string) {}

  static key(diffID: string, analyzers: string, limits: string): string {
    return createHash("sha256").update(`${diffID}\n${analyzers}\n${limits}`).digest("hex");
  }

  private path(key: string): string {
    if (!/^[a-f0-9]{64}$/.test(key)) throw new Error(`invalid layer cache key ${JSON.stringify(key)}`);
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached inventory, or null; `diffID` guards against an entry that is not this layer's. */
  async has(key: string): Promise<boolean> {
    return existsSync(this.path(key));
  }

  async get(key: string, diffID?: string): Promise<LayerInventory | null> {
    let text: string;
    try {
      text = await readFile(this.path(key), "utf8");
    } catch {
      return null;
    }
    return parseCachedInventory(text, diffID);
  }

  async put(key: string, inv: LayerInventory): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(inv));
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

function isLayerInventory(v: unknown): v is LayerInventory {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    o.format === LAYER_FORMAT &&
    o.complete === true &&
    typeof o.diffID === "string" &&
    [
      "packages",
      "files",
      "whiteouts",
      "opaque",
      "symlinks",
      "catalogedSymlinks",
      "hardlinks",
      "problems",
    ].every((k) => Array.isArray(o[k])) &&
    typeof o.distroFiles === "object" &&
    o.distroFiles !== null &&
    typeof o.owned === "object" &&
    o.owned !== null
  );
}
