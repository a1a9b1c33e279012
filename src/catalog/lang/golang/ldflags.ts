/**
 * The main module's version when the binary was built from a work tree (`(devel)`), recovered
 * from `-ldflags -X <pkg>.version=<semver>` as recorded in the build settings: the common way
 * release pipelines stamp versions. Keys are ranked like trivy does: a `<module>/cmd/...` package
 * first, then the usual `main`/`common`/`version`/`cmd` packages, then any other; within the
 * first rank that has one, two different candidates mean "unknown" rather than a guess.
 */

/** cmd/go's quoted.Split: blanks separate words, '...' and "..." group (no escapes). */
export function splitFlags(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const q = s[i];
    if (q === "'" || q === '"') {
      const end = s.indexOf(q, i + 1);
      if (end < 0) {
        out.push(s.slice(i + 1));
        break;
      }
      out.push(s.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < s.length && !/\s/.test(s[j]!)) j++;
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

const SEMVER = /^v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const DEFAULT_PACKAGES: ReadonlySet<string> = new Set(["main", "common", "version", "cmd"]);

/** `-X` assignments of an -ldflags value. */
function xAssignments(ldflags: string): [key: string, value: string][] {
  const words = splitFlags(ldflags);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let assignment: string | undefined;
    if (w === "-X" || w === "--X") assignment = words[++i];
    else if (w.startsWith("-X=")) assignment = w.slice(3);
    else if (w.startsWith("--X=")) assignment = w.slice(4);
    if (!assignment) continue;
    // Quotes left over from shell quoting inside the flag value: -X 'main.version=1.0'.
    assignment = assignment.replace(/^['"]|['"]$/g, "");
    const eq = assignment.indexOf("=");
    if (eq > 0) out.push([assignment.slice(0, eq), assignment.slice(eq + 1)]);
  }
  return out;
}

export function versionFromLdflags(mainPath: string, ldflags: string): string | undefined {
  const ranks: Set<string>[] = [new Set(), new Set(), new Set()];
  for (const [key, value] of xAssignments(ldflags)) {
    const k = key.toLowerCase();
    if (!(k.endsWith(".version") || k.endsWith(".ver")) || !SEMVER.test(value)) continue;
    const pkg = (key.slice(key.lastIndexOf("/") + 1).split(".")[0] ?? "").toLowerCase();
    if (key.startsWith(`${mainPath}/cmd/`)) ranks[0]!.add(value);
    else if (DEFAULT_PACKAGES.has(pkg)) ranks[1]!.add(value);
    else ranks[2]!.add(value);
  }
  for (const r of ranks) if (r.size) return r.size === 1 ? [...r][0] : undefined;
  return undefined;
}
