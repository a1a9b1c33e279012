import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { ConfigError } from "../core/errors.js";
import { ECOSYSTEM_SCHEME, versionSchemes } from "../versions/registry.js";
import type { Comparison, VersionScheme } from "../versions/types.js";

/**
 * `drydock version compare --scheme S A B`: prints -1, 0 or 1 as the scheme orders A and B.
 * With `--batch` it reads `A<TAB>B` lines from stdin and prints one result per line, streaming
 * (a chunk in, its results out), so a million pairs need no more memory than one chunk.
 */

/** A scheme id (`deb`, `semver`, ...) or a package ecosystem that maps onto one (`npm`, `golang`). */
export function lookupScheme(name: string): VersionScheme {
  const id = Object.hasOwn(versionSchemes, name)
    ? name
    : Object.hasOwn(ECOSYSTEM_SCHEME, name)
      ? ECOSYSTEM_SCHEME[name]!
      : undefined;
  if (id !== undefined && Object.hasOwn(versionSchemes, id)) return versionSchemes[id]!;
  const known = Object.keys(versionSchemes).sort().join(", ");
  throw new ConfigError(
    `unknown --scheme ${JSON.stringify(name)}: use one of ${known} (or an ecosystem: npm, golang)`,
  );
}

const RESULT: Record<Comparison, string> = { [-1]: "-1\n", 0: "0\n", 1: "1\n" };

/**
 * Compares every `A<TAB>B` line of `input`, writing one result per line to `output`. A line
 * without exactly one tab stops the run with a ConfigError naming it (results before it are
 * written). A final line without a newline counts; `\r\n` endings are accepted.
 */
export async function compareBatch(
  scheme: VersionScheme,
  input: Readable,
  output: Writable,
): Promise<number> {
  const compare = scheme.compare;
  input.setEncoding("utf8");
  let carry = "";
  let lineNo = 0;
  const flush = async (out: string): Promise<void> => {
    if (out && !output.write(out)) await once(output, "drain");
  };
  const compareLine = (line: string): string => {
    lineNo++;
    const end = line.endsWith("\r") ? line.length - 1 : line.length;
    const tab = line.indexOf("\t");
    if (tab < 0 || line.indexOf("\t", tab + 1) >= 0) {
      throw new ConfigError(`--batch line ${lineNo}: expected two versions separated by one tab`);
    }
    return RESULT[compare(line.slice(0, tab), line.slice(tab + 1, end))];
  };
  for await (const chunk of input as AsyncIterable<string>) {
    const text = carry + chunk;
    let out = "";
    let start = 0;
    let nl: number;
    try {
      while ((nl = text.indexOf("\n", start)) >= 0) {
        out += compareLine(text.slice(start, nl));
        start = nl + 1;
      }
    } catch (e) {
      await flush(out);
      throw e;
    }
    carry = text.slice(start);
    await flush(out);
  }
  if (carry.length > 0) await flush(compareLine(carry));
  return lineNo;
}

export interface CompareOptions {
  scheme: string;
  batch?: boolean;
}

/** `drydock version compare [A B]` (options: main.ts). */
export async function compare(
  a: string | undefined,
  b: string | undefined,
  opts: CompareOptions,
): Promise<void> {
  const scheme = lookupScheme(opts.scheme);
  if (opts.batch) {
    if (a !== undefined) throw new ConfigError("--batch reads its pairs from stdin: give no versions");
    // `| head` closing the pipe is not an error worth a stack trace.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
    await compareBatch(scheme, process.stdin, process.stdout);
    return;
  }
  if (a === undefined || b === undefined)
    throw new ConfigError("compare needs two versions, A and B (or --batch)");
  process.stdout.write(RESULT[scheme.compare(a, b)]);
}
