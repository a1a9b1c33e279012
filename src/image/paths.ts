/**
 * Paths inside an image root. Every path the analysis keeps is absolute and normalized
 * (`/var/lib/dpkg/status`): no `.`, no `..`, no doubled or trailing slash. Nothing here touches
 * the host filesystem: an image path can never name a host file, whatever a layer says.
 */

/**
 * Normalizes a path from a layer tar into an absolute path inside the image root.
 * Absolute paths are taken relative to the root (as container runtimes do); `..` that
 * would climb above the root makes the entry invalid: it is reported, never followed.
 */
export function normalizeEntryPath(name: string): string | null {
  // Fast path for what layer tars hold (`usr/bin/x`, `./usr/bin/x`, `usr/lib/`): nothing to
  // resolve once a leading `./` or `/` and a trailing `/` are off.
  let start = 0;
  if (name.startsWith("./")) start = 2;
  while (name.charCodeAt(start) === 47 /* / */) start++;
  let end = name.length;
  if (end > start && name.charCodeAt(end - 1) === 47) end--;
  const rest = name.slice(start, end);
  if (
    rest.indexOf("//") < 0 &&
    rest.indexOf("/.") < 0 &&
    rest.charCodeAt(0) !== 46 /* . */ &&
    !rest.endsWith("/")
  )
    return "/" + rest;
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

/**
 * Where a symlink at `linkPath` points, lexically: relative targets from the link's directory,
 * absolute ones from the image root, and `..` at the root stays at the root, exactly as the
 * kernel resolves links inside a chroot. So `../../../../etc/passwd` is the image's /etc/passwd,
 * never the host's.
 */
export function symlinkTarget(linkPath: string, linkname: string): string {
  const parts = linkname.startsWith("/") ? [] : parentOf(linkPath).split("/").filter(Boolean);
  for (const seg of linkname.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function isUnder(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path.startsWith(dir + "/");
}

/** Proper ancestors of a normalized path, nearest first: `/a/b/c` → `/a/b`, `/a`, `/`. */
export function* ancestors(path: string): Generator<string> {
  let p = path;
  while (p !== "/") {
    p = parentOf(p);
    yield p;
  }
}

/** Symlink loops are cut where Linux cuts them (MAXSYMLINKS, ELOOP). */
export const MAX_SYMLINK_HOPS = 40;

export type Resolution = { path: string } | { loop: true } | { tooDeep: true };

/**
 * Resolves every symlink along `path` (intermediate directories and the last component) using
 * `symlinkAt` (the link text recorded at a path, or undefined), never leaving the image root.
 * Stops with `loop` after MAX_SYMLINK_HOPS links, as the kernel does.
 */
export function resolveInRoot(path: string, symlinkAt: (p: string) => string | undefined): Resolution {
  let hops = 0;
  let rest = path.split("/").filter(Boolean);
  let done = "";
  while (rest.length) {
    const seg = rest.shift()!;
    const candidate = `${done}/${seg}`;
    const link = symlinkAt(candidate);
    if (link === undefined) {
      done = candidate;
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) return { loop: true };
    const target = symlinkTarget(candidate, link);
    rest = [...target.split("/").filter(Boolean), ...rest];
    if (rest.length > 4096) return { tooDeep: true };
    done = "";
  }
  return { path: done || "/" };
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

export type Whiteout = { opaque: string } | { deleted: string } | { ignored: true };

/**
 * What a `.wh.` entry means, or null for an ordinary path. `.wh..wh..opq` makes its directory
 * opaque; `.wh.NAME` deletes NAME from lower layers; other `.wh..wh.` names are aufs metadata
 * (hard-link directories) that runtimes drop, and so do we.
 */
export function whiteoutOf(path: string): Whiteout | null {
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  if (!base.startsWith(WHITEOUT_PREFIX)) return null;
  const dir = path.slice(0, slash) || "/";
  if (base === OPAQUE_MARKER) return { opaque: dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === "" || name.startsWith(WHITEOUT_PREFIX) || name === "." || name === "..")
    return { ignored: true };
  return { deleted: (dir === "/" ? "" : dir) + "/" + name };
}
