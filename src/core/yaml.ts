import { createRequire } from "node:module";

/**
 * The one YAML parser, js-yaml, loaded on first use (most runs parse no YAML: no config file, no
 * pnpm or yarn berry lock file, no YAML ignore file). One place, so that no module imports it
 * eagerly and every caller reads YAML under one of three named rule sets:
 *
 * - `core`: YAML 1.2's core schema (null, booleans, integers, floats; dates stay strings): the
 *   configuration and ignore files.
 * - `failsafe`: every scalar a string (empty values null): lock files, where a version `1.10`
 *   must not become the number 1.1.
 * - `advisory`: every scalar a string except null and `true`/`false`: advisory files written as
 *   YAML 1.1 by hand and by PyYAML (PyPA, RubySec, FriendsOfPHP, Wolfi). So `3.0` is the version
 *   "3.0", `1.10` is not 1.1, dates stay text, `yes`/`no`/`on`/`off` stay words, `0777` is not
 *   octal.
 *
 * js-yaml rather than the `yaml` package, on a measurement: 11x faster on the 7,080 PyPA files
 * (1.3 s against 14.8 s, identical values; docs/vulndb.md, "YAML"). Nesting is bounded (js-yaml's
 * maxDepth, 100); an alias is shared, not copied, and a document whose aliases would expand to
 * more than MAX_EXPANDED_NODES nodes (a "billion laughs"), or that contains itself, is refused:
 * callers walk what they get. Errors are YamlError with js-yaml's first line (`reason (line:col)`).
 */

export class YamlError extends Error {
  override readonly name = "YamlError";
}

export type YamlRules = "core" | "failsafe" | "advisory";

export interface YamlOptions {
  /** Default `core`. */
  rules?: YamlRules;
  /** A key written twice in one mapping: an error (default), or the last one wins (hand-merged yarn.lock). */
  duplicateKeys?: "error" | "last";
}

export type YamlDocument = { ok: true; value: unknown } | { ok: false; error: string };

export interface Yaml {
  /** One document; YamlError when the text is not YAML or holds several documents. */
  parse(text: string, opts?: YamlOptions): unknown;
  /** Every document of a stream (`---` separated); a broken one does not lose the others. */
  parseAll(text: string, opts?: YamlOptions): YamlDocument[];
}

/** Nodes of a document with its aliases expanded: far more than any real file, far less than a bomb. */
export const MAX_EXPANDED_NODES = 1_000_000;

type JsYaml = typeof import("js-yaml");

let loaded: Yaml | null = null;

export function yaml(): Yaml {
  return (loaded ??= make(createRequire(import.meta.url)("js-yaml") as JsYaml));
}

function make(js: JsYaml): Yaml {
  // js-yaml's built-in types are exported at run time but missing from @types/js-yaml 4.0.9.
  const types = (js as unknown as { types: Record<"null" | "bool", import("js-yaml").Type> }).types;
  const schemas: Record<YamlRules, import("js-yaml").Schema> = {
    core: js.CORE_SCHEMA,
    failsafe: js.FAILSAFE_SCHEMA,
    advisory: js.FAILSAFE_SCHEMA.extend({ implicit: [types.null, types.bool] }),
  };
  const load = (text: string, opts: YamlOptions | undefined): unknown => {
    let value: unknown;
    try {
      value = js.load(text, { schema: schemas[opts?.rules ?? "core"], json: opts?.duplicateKeys === "last" });
    } catch (e) {
      throw toYamlError(e);
    }
    // Every alias starts with `*`: a document without one cannot be a bomb.
    if (text.includes("*")) checkExpansion(value);
    return value;
  };
  return {
    parse: load,
    parseAll(text, opts) {
      return documents(text).map((doc): YamlDocument => {
        try {
          return { ok: true, value: load(doc, opts) };
        } catch (e) {
          return { ok: false, error: (e as Error).message };
        }
      });
    },
  };
}

function toYamlError(e: unknown): YamlError {
  if (e instanceof YamlError) return e;
  // js-yaml quotes the source below its first line; the position in it says enough.
  const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
  return new YamlError(message);
}

/** Counts the nodes of `value` as a tree (aliases expanded), once per shared node. */
function checkExpansion(value: unknown): void {
  const sizes = new Map<object, number>();
  const size = (v: unknown): number => {
    if (typeof v !== "object" || v === null) return 1;
    const known = sizes.get(v);
    if (known !== undefined) {
      if (known < 0) throw new YamlError("an alias refers to a node that contains it");
      return known;
    }
    sizes.set(v, -1);
    let n = 1;
    for (const c of Array.isArray(v) ? v : Object.values(v)) {
      n += size(c);
      if (n > MAX_EXPANDED_NODES)
        throw new YamlError(`aliases expand to more than ${MAX_EXPANDED_NODES} nodes (an alias bomb?)`);
    }
    sizes.set(v, n);
    return n;
  };
  size(value);
}

/**
 * The documents of a stream, split at its `---` lines. A line starting with `---` (or `...`)
 * followed by a blank or the end of the line can only be a document marker (YAML 1.2, 9.1.1:
 * no content may start so), so the split never cuts a document in two. A first part holding only
 * directives or comments belongs to the document after it.
 */
function documents(text: string): string[] {
  const parts: string[] = [];
  const marker = /^---(?=[ \t\r\n]|$)/gm;
  let start = 0;
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    if (m.index > start) parts.push(text.slice(start, m.index));
    start = m.index;
  }
  parts.push(text.slice(start));
  const first = parts[0]!;
  const preamble =
    !first.startsWith("---") &&
    first.split("\n").every((l) => /^[ \t]*(?:#.*)?\r?$/.test(l) || l.startsWith("%"));
  if (parts.length > 1 && preamble) parts[1] = first + parts[1]!;
  return parts.length > 1 && preamble ? parts.slice(1) : parts;
}
