import { purl } from "../../purl.js";
import type { Package } from "../../types.js";

/**
 * Rust crates as Drydock reports them, from Cargo.lock and from cargo-auditable binaries.
 *
 * The purl is pkg:cargo/<name>@<version> for crates.io and git crates (as syft), with a
 * `repository_url` qualifier for other registries. Crates from a path (the workspace's own
 * crates) have no registry identity: their purl is empty (syft does the same) and
 * metadata.local is set, so a local crate named like a crates.io crate is never matched
 * against that crate's advisories.
 */

const CRATES_IO = new Set([
  "registry+https://github.com/rust-lang/crates.io-index",
  "sparse+https://index.crates.io/",
  "crates.io",
]);

export function cratePackage(
  name: string,
  version: string,
  source: string | undefined,
  file: string,
): Package {
  const metadata: Record<string, string | boolean> = {};
  let p = "";
  if (!source || source === "local") metadata.local = true;
  else {
    metadata.source = source;
    const registry = /^(?:registry|sparse)\+(.*)$/.exec(source);
    const qualifiers = registry && !CRATES_IO.has(source) ? { repository_url: registry[1] } : undefined;
    p = purl({ type: "cargo", name, version, qualifiers });
  }
  return { name, version, ecosystem: "cargo", purl: p, path: file, metadata };
}
