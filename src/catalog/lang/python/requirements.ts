import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import { decodeText, dedupe, guarded, insideInstalledTree, isValidName, pypiPackage } from "./common.js";

const OPERATORS = ["===", "==", "~=", "!=", ">=", "<=", ">", "<"];

/** A PEP 440 version as written in a pin (public and local parts, epoch); no wildcards. */
function isPinnableVersion(v: string): boolean {
  return /^[A-Za-z0-9.+!_-]+$/.test(v) && /[0-9]/.test(v);
}

type Line = { pinned: [string, string] } | { understood: true } | { understood: false };

/**
 * One logical requirement line. Only exact pins (`==`, `===`) name an installed version;
 * ranges, bare names, options (`-r`, `-e`, `--hash`, …), URLs and markers are understood and
 * reported as nothing. A line that is none of these is counted as not understood.
 */
export function readLine(raw: string): Line {
  let line = raw;
  const hash = line.indexOf("#");
  if (hash >= 0) line = line.slice(0, hash);
  line = line.trim();
  if (line === "" || line.startsWith("-")) return { understood: true };
  const semi = line.indexOf(";"); // environment marker
  if (semi >= 0) line = line.slice(0, semi);
  const opt = line.search(/\s-/); // per-requirement options: --hash=…, --global-option …
  if (opt >= 0) line = line.slice(0, opt);
  const at = line.indexOf(" @ "); // direct reference: name @ url (or, loosely, name==v @ url)
  if (at >= 0) line = line.slice(0, at);
  line = line.trim();
  if (line.includes("://") && !line.includes("==")) return { understood: true }; // a bare URL or archive

  let i = 0;
  while (i < line.length && /[A-Za-z0-9._-]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (!isValidName(name)) return { understood: false };
  let rest = line.slice(i).trimStart();
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return { understood: false };
    rest = rest.slice(close + 1).trimStart();
  }
  if (rest === "") return { understood: true }; // unpinned
  const specs = rest.split(",").map((s) => s.trim());
  const parsed: [string, string][] = [];
  for (const s of specs) {
    const op = OPERATORS.find((o) => s.startsWith(o));
    if (!op) return { understood: false };
    parsed.push([op, s.slice(op.length).trim()]);
  }
  const [only] = parsed;
  if (parsed.length === 1 && only && (only[0] === "==" || only[0] === "===")) {
    if (only[1].includes("*")) return { understood: true }; // a prefix match is a range
    return isPinnableVersion(only[1]) ? { pinned: [name, only[1]] } : { understood: false };
  }
  return parsed.every(([, v]) => /^[A-Za-z0-9.*+!_-]+$/.test(v))
    ? { understood: true }
    : { understood: false };
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("unreadable requirements file", () => {
    const text = decodeText(file.content);
    if (text.includes("\0")) return { packages: [], problems: ["requirements file has binary content"] };
    const out: Package[] = [];
    let notUnderstood = 0;
    let firstBad = 0;
    let logical = "";
    let lineNo = 0;
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      let line = text.slice(start, end);
      start = end + 1;
      lineNo++;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      // a trailing backslash continues the requirement on the next line
      if (line.endsWith("\\")) {
        logical += line.slice(0, -1) + " ";
        continue;
      }
      const r = readLine(logical + line);
      logical = "";
      if ("pinned" in r) out.push(pypiPackage(r.pinned[0], r.pinned[1], file.path));
      else if (!r.understood && notUnderstood++ === 0) firstBad = lineNo;
    }
    const problems = notUnderstood
      ? [`${notUnderstood} line(s) are not requirements (first: line ${firstBad})`]
      : undefined;
    return { packages: dedupe(out), problems };
  });
}

/** pip requirements files: exact pins only (anything else does not say what is installed). */
export const pipRequirementsCataloger: Cataloger = {
  id: "pip-requirements",
  version: 1,
  ecosystem: "pypi",
  matches: (path) => path.endsWith("/requirements.txt") && !insideInstalledTree(path),
  parse,
};
