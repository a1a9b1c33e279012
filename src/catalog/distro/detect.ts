import type { Distro, DistroDetector } from "../types.js";

/**
 * The image's distro: `detectors` (registry.ts `distroDetectors`) are in preference order, and
 * so are each detector's paths; the first path present in the merged filesystem whose detector
 * returns a Distro wins. A present but unreadable file falls through to the next path. `read`
 * returns a file's content, or undefined when the path is absent.
 *
 * Why that order: os-release is the standard; alpine-release next; lsb-release before
 * debian_version because Ubuntu ships both and its debian_version names the Debian base
 * (`bookworm/sid`); the redhat-release family last, vendor files before redhat-release.
 */
export function detectDistro(
  read: (path: string) => Buffer | undefined,
  detectors: readonly DistroDetector[],
): { distro: Distro; detector: string; path: string } | null {
  for (const d of detectors) {
    for (const path of d.paths) {
      const content = read(path);
      if (content === undefined) continue;
      const distro = d.parse(path, content);
      if (distro) return { distro, detector: d.id, path };
    }
  }
  return null;
}
