// Helpers shared by the benchmarks in this folder.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The lower median of the finite values (NaN when there are none). */
export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/** A progress line on stderr (stdout carries the results). */
export const log = (msg) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * The built fixture images (../shared/tools/images/build-images.sh writes images.tsv) that have an
 * OCI layout, restricted to the comma-separated IMAGES environment variable when it is set.
 */
export function fixtureImageNames(fixtures) {
  const wanted = process.env.IMAGES?.split(",").filter(Boolean);
  return readFileSync(join(fixtures, "images.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0])
    .filter((n) => existsSync(join(fixtures, "oci", n, "index.json")) && (!wanted || wanted.includes(n)));
}

/** bench/results (git-ignored), where each benchmark leaves its latest figures. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");

/** Writes bench/results/NAME-latest.json; returns its path. */
export function writeResults(name, report) {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}-latest.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}
