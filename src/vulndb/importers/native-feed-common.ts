import { createRequire } from "node:module";
import { constants, gunzipSync } from "node:zlib";
import { yaml } from "../../core/yaml.js";
import type { Advisory, EventRange } from "../types.js";
import type { ImportItem } from "./types.js";

/**
 * Small helpers shared by the distro and native-format importers (Alpine secdb, Debian, OVAL,
 * RubySec, FriendsOfPHP, Node.js WG, Wolfi): document names, decompression, the YAML reading
 * rules, and the "a broken document is a problem, never an exception" wrapper.
 */

export function advisoryItem(advisory: Advisory): ImportItem {
  return { kind: "advisory", advisory };
}

export function problemItem(feed: string, document: string, reason: string): ImportItem {
  return { kind: "problem", problem: { feed, document, reason } };
}

/**
 * Runs a document parser so that whatever it throws becomes one FeedProblem naming the feed
 * and document: items already yielded stay yielded, and the import goes on with the next
 * document.
 */
export function* guarded(
  feed: string,
  document: string,
  parse: () => Iterable<ImportItem>,
): Generator<ImportItem> {
  try {
    yield* parse();
  } catch (e) {
    yield problemItem(feed, document, `unreadable document: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The path inside an archive (`archive.tar.gz!member` → `member`), with `/` separators. */
export function memberPath(name: string): string {
  const bang = name.lastIndexOf("!");
  const path = (bang >= 0 ? name.slice(bang + 1) : name).replace(/\\/g, "/");
  return path.startsWith("./") ? path.slice(2) : path;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const require = createRequire(import.meta.url);
// seek-bzip is CommonJS without types; only its buffer-to-buffer decoder is used.
const bunzip = require("seek-bzip") as { decode(input: Buffer): Buffer };

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
// "BZh" + block size digit 1-9.
const isBzip2 = (b: Buffer) =>
  b.length >= 4 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68 && b[3]! >= 0x31 && b[3]! <= 0x39;

/**
 * The document's bytes, decompressed when they are gzip or bzip2 (the upstream OVAL files
 * are published as .bz2, the pack stores .gz). Throws on a corrupt or truncated stream: the
 * caller's `guarded` turns that into a problem.
 */
export function decompress(content: Buffer): Buffer {
  if (isGzip(content)) return gunzipSync(content);
  if (isBzip2(content)) return Buffer.from(bunzip.decode(content));
  return content;
}

/**
 * The first characters of a document head as text, for `recognizes`: a gzip head is inflated
 * as far as it goes (a partial stream is fine). A bzip2 head cannot be decoded cheaply and
 * yields "": importers then decide by name alone.
 */
export function peekText(head: Buffer, max = 4096): string {
  let bytes = head;
  if (isGzip(head)) {
    try {
      bytes = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return "";
    }
  } else if (isBzip2(head)) {
    return "";
  }
  return bytes
    .subarray(0, max)
    .toString("utf8")
    .replace(/^\uFEFF/, "");
}

export function isBzip2Head(head: Buffer): boolean {
  return isBzip2(head);
}

/** The first top-level mapping key of a YAML text (after `---`, comments and blank lines). */
export function firstYamlKey(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("#") || line.startsWith("%") || /^---\s*$/.test(line)) continue;
    const m = /^([A-Za-z_][\w-]*)\s*:/.exec(line);
    return m?.[1];
  }
  return undefined;
}

/**
 * A YAML advisory file (written as YAML 1.1 by hand and by PyYAML-style tools), read with
 * core/yaml.ts's `advisory` rules: every scalar stays the string it is written as, except null
 * (`~`, `null`, empty) and the booleans `true`/`false`. So `3.0` is the version "3.0", not 3;
 * `1.10` is not `1.1`; dates and timestamps stay text; `yes`/`no`/`on`/`off` stay words; `0777`
 * is not octal. (js-yaml: 9x faster than the `yaml` package on the 1,278 Wolfi files, 4-6x on
 * RubySec and FriendsOfPHP, identical values on every file.) Duplicate keys, undefined aliases
 * and alias bombs are errors.
 */
export type YamlResult = { ok: true; value: unknown } | { ok: false; error: string };

export function loadYaml(text: string): YamlResult {
  try {
    return { ok: true, value: yaml().parse(text, { rules: "advisory" }) };
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    return { ok: false, error: `invalid YAML: ${message}` };
  }
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

export function loadJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A non-empty trimmed string, or undefined (null, `~`, numbers, objects, blanks). */
export function str(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  return s === "" || s === "~" ? undefined : s;
}

/** The strings of a list (or a lone string), ignoring anything else. */
export function strList(v: unknown): string[] {
  if (typeof v === "string") return str(v) ? [v.trim()] : [];
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    const s = str(x);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** A number from a number or a numeric string (YAML numbers are read as strings here). */
export function num(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  const s = str(v);
  if (s === undefined || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** `[introduced 0, fixed X)` over the ecosystem's order; `[0, ∞)` when there is no fix. */
export function ecosystemRange(fixed?: string): EventRange {
  return {
    type: "ECOSYSTEM",
    events: fixed === undefined ? [{ introduced: "0" }] : [{ introduced: "0" }, { fixed }],
  };
}

/** A date-only ISO string (YYYY-MM-DD) from the feeds' date scalars, when it is one. */
export function isoDate(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})([T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (!m) return undefined;
  if (!m[2]) return m[1];
  const time = m[4] ? m[3] : `${m[3]}:00`;
  return `${m[1]}T${time}${m[6] ?? "Z"}`;
}

/** Appends `v` unless the list already has it (aliases, binaries). */
export function uniquePush<T>(list: T[], v: T): void {
  if (!list.includes(v)) list.push(v);
}
