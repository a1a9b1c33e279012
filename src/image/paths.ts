/**
 * Normalizes a path from a layer tar into an absolute path inside the image root.
 * Absolute paths are taken relative to the root (as container runtimes do); `..` that
 * would climb above the root makes the entry invalid: it is reported, never followed.
 */
export function normalizeEntryPath(name: string): string | null {
  const parts: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length === 0) return null;
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return "/" + parts.join("/");
}

/** Resolves a hard link's target (always relative to the root in tar archives). */
export function normalizeLinkTarget(linkname: string): string | null {
  return normalizeEntryPath(linkname);
}

export function isUnder(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path.startsWith(dir + "/");
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
