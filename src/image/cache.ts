import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LayerInventory } from "./analyze-layer.js";

/**
 * Per-layer inventories on disk, keyed by (diffID, analyzer ids and versions, limits): a
 * layer is read once; a new cataloger version or other limits read it again. Files are
 * written to a temporary name and renamed, so a crash never leaves a torn entry.
 *
 *   <dir>/<first two hex>/<sha256 of the key>.json
 */
export class InventoryCache {
  constructor(private readonly dir: string) {}

  static key(diffID: string, analyzers: string, limits: string): string {
    return createHash("sha256").update(`${diffID}\n${analyzers}\n${limits}`).digest("hex");
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<LayerInventory | null> {
    try {
      return JSON.parse(await readFile(this.path(key), "utf8")) as LayerInventory;
    } catch {
      return null;
    }
  }

  async put(key: string, inv: LayerInventory): Promise<void> {
    const path = this.path(key);
    await mkdir(join(path, ".."), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(inv));
    await rename(tmp, path);
  }
}
