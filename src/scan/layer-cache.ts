import { parseCachedInventory, type LayerCache } from "../image/cache.js";
import type { LayerInventory } from "../image/analyze-layer.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * The server's layer-inventory cache, in the metadata store: a layer analysed by one worker is
 * never analysed again by another, whatever node it runs on.
 */
export class StoreLayerCache implements LayerCache {
  constructor(private readonly meta: MetaStore) {}

  async has(key: string): Promise<boolean> {
    return (await this.meta.layers.get(key)) !== null;
  }

  async get(key: string, diffID?: string): Promise<LayerInventory | null> {
    const row = await this.meta.layers.get(key);
    return row ? parseCachedInventory(row.json, diffID) : null;
  }

  async put(key: string, inv: LayerInventory): Promise<void> {
    await this.meta.layers.put(key, inv.diffID, JSON.stringify(inv));
  }
}
