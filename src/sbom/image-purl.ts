import { purl } from "../catalog/purl.js";
import { parseImageReference } from "../core/image-reference.js";
import type { ImageInventory } from "../image/types.js";

/**
 * The image's own package URL, per the purl spec's `oci` type:
 * `pkg:oci/<last path segment>@<manifest digest>?arch=..&repository_url=<registry>/<repository>&tag=..`.
 *
 * The reference is what the user typed, so it may be a registry reference (`debian:12`,
 * `localhost:5000/team/app@sha256:...`) or a local source (`oci:./layout:tag`,
 * `docker-archive:/tmp/app.tar`, `dir:/rootfs`). Only registry references yield a
 * repository_url; local sources still get a purl named after the file or directory, because
 * the digest alone identifies the image.
 */

export interface RegistryReference {
  /** Registry host[:port]; docker.io when the reference names none (Docker's rule). */
  registry: string;
  /** Repository path, with Docker Hub's implicit `library/` for single-segment names. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Prefixes of the local image sources Drydock reads (as skopeo spells them). */
const LOCAL_TRANSPORTS = ["oci:", "oci-archive:", "docker-archive:", "dir:"];

/** Parses a registry reference; null when `ref` is not one (a path, a transport, garbage). */
export function parseRegistryReference(ref: string): RegistryReference | null {
  const rest = ref.startsWith("docker://") ? ref.slice("docker://".length) : ref;
  if (LOCAL_TRANSPORTS.some((t) => rest.startsWith(t))) return null;
  const r = parseImageReference(rest);
  return r && { registry: r.host, repository: r.repository, tag: r.tag, digest: r.digest };
}

/** A purl name for a local source: the file or directory name, without archive extensions. */
function localName(ref: string): string {
  let path = ref;
  const transport = LOCAL_TRANSPORTS.find((t) => ref.startsWith(t));
  if (transport) path = ref.slice(transport.length);
  // oci:<dir>:<tag> and docker-archive:<file>:<ref> carry a suffix after the path.
  if (transport === "oci:" || transport === "docker-archive:" || transport === "oci-archive:") {
    const m = /^(.*?):[^/]*$/.exec(path);
    if (m && m[1]) path = m[1];
  }
  const base =
    path
      .split("/")
      .filter((s) => s && s !== "." && s !== "..")
      .pop() ?? "";
  const name = base.replace(/\.(tar\.gz|tgz|tar\.zst|tar)$/i, "").toLowerCase();
  return name || "image";
}

export function imagePurl(image: ImageInventory["image"]): string {
  const parsed = parseRegistryReference(image.reference);
  const name = parsed ? parsed.repository.split("/").pop()! : localName(image.reference);
  return purl({
    type: "oci",
    name,
    version: image.manifestDigest,
    qualifiers: {
      arch: image.platform.architecture,
      repository_url: parsed ? `${parsed.registry}/${parsed.repository}` : undefined,
      tag: parsed?.tag,
    },
  });
}
