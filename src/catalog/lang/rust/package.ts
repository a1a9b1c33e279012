import { purl } from "../../purl.js";
import type { Package } from "../../types.js";

/**
 * Rust crates as Drydock reports them, from Cargo.lock and from cargo-auditable binaries.
 *
 * The purl is pkg:cargo/<name>@<version>, with a `repository_url` qualifier for registries other
 * than crates.io (git crates get none, as syft). Crates from a path (the workspace's own
 * crates) have no registry identity: they still get a purl (SBOM references are purls) but are
 * marked metadata.local, so matching can tell them from the crates.io crate of the same name.
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
  let qualifiers: Record<string, string | undefined> | undefined;
  if (!source || source === "local") metadata.local = true;
  else {
    metadata.source = source;
    const registry = /^(?:registry|sparse)\+(.*)$/.exec(source);
    if (registry && !CRATES_IO.has(source)) qualifiers = { repository_url: registry[1] };
  }
  return {
    name,
    version,
    ecosystem: "cargo",
    purl: purl({ type: "cargo", name, version, qualifiers }),
    path: file,
    metadata,
  };
}
