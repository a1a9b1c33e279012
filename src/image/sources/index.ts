import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ImageFormatError, parsePlatform } from "../resolve.js";
import type { ImageSource } from "../types.js";
import { DockerArchiveSource, OciArchiveSource } from "./archives.js";
import { DirSource } from "./dir.js";
import { OciLayoutSource } from "./oci-layout.js";
import { parseRemoteReference, RegistrySource, type RegistryAuth } from "./registry.js";

/**
 * Image references in skopeo's transport syntax (the one list of sources):
 *   oci:DIR[:TAG]  oci-archive:FILE[:TAG]  docker-archive:FILE[:REPO:TAG]  dir:PATH
 *   docker://HOST[:PORT]/REPO[:TAG|@DIGEST]
 */
export interface SourceOptions {
  platform?: string;
  insecure?: boolean;
  auth?: RegistryAuth;
}

export const TRANSPORTS = ["oci", "oci-archive", "docker-archive", "dir", "docker"] as const;

/** Splits `PATH[:SUFFIX]` where PATH is the longest prefix that exists on disk. */
function splitPath(spec: string): { path: string; suffix?: string } {
  if (existsSync(spec)) return { path: spec };
  let i = spec.indexOf(":");
  while (i >= 0) {
    const path = spec.slice(0, i);
    if (existsSync(path)) return { path, suffix: spec.slice(i + 1) };
    i = spec.indexOf(":", i + 1);
  }
  return { path: spec };
}

export function openImageSource(reference: string, opts: SourceOptions = {}): ImageSource {
  const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
  if (reference.startsWith("docker://")) {
    return new RegistrySource(reference, parseRemoteReference(reference.slice("docker://".length)), {
      insecure: opts.insecure,
      auth: opts.auth,
      platform,
    });
  }
  const colon = reference.indexOf(":");
  const transport = colon > 0 ? reference.slice(0, colon) : "";
  const rest = reference.slice(colon + 1);
  switch (transport) {
    case "oci": {
      const { path, suffix } = splitPath(rest);
      return new OciLayoutSource(reference, resolve(path), suffix, platform);
    }
    case "oci-archive": {
      const { path, suffix } = splitPath(rest);
      return new OciArchiveSource(reference, resolve(path), suffix, platform);
    }
    case "docker-archive": {
      const { path, suffix } = splitPath(rest);
      return new DockerArchiveSource(reference, resolve(path), suffix, platform);
    }
    case "dir":
      return new DirSource(reference, resolve(rest));
    default:
      throw new ImageFormatError(
        `unknown image reference ${JSON.stringify(reference)}: use oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE, dir:PATH or docker://HOST/REPO[:TAG]`,
      );
  }
}
