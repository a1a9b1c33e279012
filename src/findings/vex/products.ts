import { parsePurl } from "../../catalog/purl.js";
import type { VexPackage, VexProduct } from "./types.js";

/**
 * What a product identifier in a VEX document names, the same for both formats: an image (an
 * OCI or Docker purl, a digest, an image reference) or a package (any other purl). Anything
 * else (a CPE, a name) is kept as unrecognized: it matches no finding, so a statement about
 * something Drydock cannot identify never suppresses a whole image.
 */

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const IMAGE_REF =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@(sha256:[0-9a-f]{64}))?$/;
const IMAGE_PURL_TYPES = new Set(["oci", "docker"]);

/** A purl, parsed for matching; null when it is not one (or its escapes are broken). */
export function packageOf(purl: string): VexPackage | null {
  if (!purl.startsWith("pkg:")) return null;
  let p: ReturnType<typeof parsePurl>;
  try {
    p = parsePurl(purl);
  } catch {
    return null; // a malformed %-escape
  }
  if (!p || !p.name) return null;
  return {
    purl,
    type: p.type,
    ...(p.namespace ? { namespace: p.namespace } : {}),
    name: p.name,
    ...(p.version ? { version: p.version } : {}),
  };
}

/** The product an identifier names, with the packages (subcomponents) it is restricted to. */
export function productOf(id: string, subcomponents: readonly string[] = []): VexProduct {
  const packages: VexPackage[] = [];
  for (const s of subcomponents) {
    const p = packageOf(s);
    // An unrecognized subcomponent narrows to something unknown: the product matches nothing.
    if (!p) return { packages: [], unrecognized: s };
    packages.push(p);
  }
  if (DIGEST.test(id)) return { image: id, packages };
  const purl = packageOf(id);
  if (purl) {
    if (!IMAGE_PURL_TYPES.has(purl.type)) {
      // A package named as the product: subcomponents of a package are not a thing Drydock matches.
      return subcomponents.length ? { packages: [], unrecognized: id } : { packages: [purl] };
    }
    return { ...(purl.version && DIGEST.test(purl.version) ? { image: purl.version } : {}), packages };
  }
  const ref = IMAGE_REF.exec(id);
  if (ref && (id.includes("/") || id.includes("@")))
    return { ...(ref[1] ? { image: ref[1] } : {}), packages };
  return { packages: [], unrecognized: id };
}
