import { Readable } from "node:stream";
import {
  buildImage,
  DEBIAN_OS_RELEASE,
  dpkgStatus,
  tarball,
  type BuiltImage,
} from "../image/testdata/images.js";
import type { RegistryService } from "../registry/service.js";

/** A one-layer Debian 12 image whose only package is base-files at `version`. */
export function debianImage(version = "12.4"): BuiltImage {
  const tar = tarball([
    { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
    { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "base-files", version }]) },
  ]);
  return buildImage([{ tar }]);
}

/** Pushes an image through the registry service (its blobs, then its manifest under `tag`); its digest. */
export async function pushImage(
  registry: RegistryService,
  repo: string,
  img: BuiltImage,
  tag = "latest",
): Promise<string> {
  for (const [d, b] of img.blobs) {
    if (d === img.manifestDigest) continue;
    await registry.monolithicUpload(repo, d, Readable.from([b]), b.length);
  }
  const r = await registry.putManifest(repo, tag, img.manifest, "application/vnd.oci.image.manifest.v1+json");
  return r.digest;
}
