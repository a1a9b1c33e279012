import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import { gemPackage, guarded } from "./common.js";

/** Sections whose `specs:` list resolved gems. */
const SOURCES = new Set(["GEM", "GIT", "PATH"]);

/**
 * Gemfile.lock (and gems.locked) of an application. Gems resolved from rubygems (GEM), git
 * (GIT) and local paths (PATH) are listed under `specs:` with four spaces of indentation
 * (their own dependencies follow with six). A PATH source at `.` is the application's own gem,
 * not a dependency. Lock files inside installed gems belong to those gems' projects.
 */
function parse(file: CatalogFile): CatalogResult {
  return guarded("unreadable Gemfile.lock", () => {
    const text = file.content.toString("utf8");
    if (text.includes("\0")) return { packages: [], problems: ["Gemfile.lock has binary content"] };
    const out: Package[] = [];
    const seen = new Set<string>();
    let section = "";
    let sources = 0;
    let remote = "";
    let inSpecs = false;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      let line = text.slice(start, end);
      start = end + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") continue;
      if (line[0] !== " ") {
        section = line.trim();
        if (SOURCES.has(section)) sources++;
        remote = "";
        inSpecs = false;
        continue;
      }
      if (!SOURCES.has(section)) continue;
      if (line.startsWith("  remote: ")) remote = line.slice(10).trim();
      else if (line === "  specs:") inSpecs = true;
      else if (inSpecs && line.startsWith("    ") && line[4] !== " ") {
        if (section === "PATH" && (remote === "." || remote === "./")) continue;
        // name (version[-platform]): a multi-platform lock lists one entry per platform; which
        // one is installed is not in the lock, and the version is the same
        const t = line.trim();
        const open = t.indexOf(" (");
        if (open <= 0 || !t.endsWith(")")) continue;
        const name = t.slice(0, open);
        const full = t.slice(open + 2, -1);
        const dash = full.indexOf("-");
        const version = dash > 0 ? full.slice(0, dash) : full;
        const key = `${name}@${version}`;
        if (!name || !version || seen.has(key)) continue;
        seen.add(key);
        out.push(gemPackage(name, version, file.path));
      }
    }
    if (!sources && text.trim() !== "")
      return { packages: [], problems: ["not a Gemfile.lock: no GEM, GIT or PATH section"] };
    return { packages: out };
  });
}

export const gemfileLockCataloger: Cataloger = {
  id: "gemfile-lock",
  version: 1,
  ecosystem: "gem",
  matches: (path) =>
    (path.endsWith("/Gemfile.lock") || path.endsWith("/gems.locked")) && !path.includes("/gems/"),
  parse,
};
