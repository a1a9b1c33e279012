import type { Package } from "../catalog/types.js";
import type { ImageInventory } from "../image/types.js";
import { distroKey, packageMatchKeys } from "../match/keys.js";
import type { SegmentInput } from "../storage/meta/store.js";

/**
 * An image inventory as the store keeps it (storage/meta/inventory-store.ts): its packages
 * grouped by the layer that brought them, in layer order, each group in a stable order and
 * indexed under the match keys of its packages, so that images on one base stack share the
 * base's segments and a database change finds the images it concerns by key.
 */

const byPosition = (a: Package, b: Package) =>
  cmp(a.path, b.path) ||
  cmp(a.archivePath ?? "", b.archivePath ?? "") ||
  cmp(a.name, b.name) ||
  cmp(a.version, b.version);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function inventorySegments(inv: ImageInventory): SegmentInput[] {
  const order = new Map(inv.image.layers.map((l, i) => [l.diffID, i]));
  const groups = new Map<string, Package[]>();
  for (const p of inv.packages) {
    const layer = p.layer ?? "";
    const g = groups.get(layer) ?? [];
    g.push(p);
    groups.set(layer, g);
  }
  const dk = inv.distro ? distroKey(inv.distro) : null;
  return [...groups.entries()]
    .sort(([a], [b]) => (order.get(a) ?? -1) - (order.get(b) ?? -1) || cmp(a, b))
    .map(([, packages]) => {
      const sorted = [...packages].sort(byPosition);
      return {
        distroKey: dk,
        packages: sorted.map((p) => JSON.stringify(p)),
        keys: [...new Set(sorted.flatMap((p) => packageMatchKeys(p, inv.distro)))],
      };
    });
}
