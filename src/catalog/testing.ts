import { existsSync } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { CatalogContext, Cataloger, Package } from "./types.js";

/**
 * Test support for catalogers: runs catalogers over a directory tree (a fixture from
 * ../shared/testdata/catalogers) exactly as the image analysis does over a layer, with the
 * fixture directory standing for the image root.
 */

export const catalogerFixtures = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../shared"),
  "testdata/catalogers",
);

/** Null when the fixtures exist, else why not (tests then report themselves skipped). */
export function missingCatalogerFixtures(): string | null {
  return existsSync(catalogerFixtures) ? null : `cataloger fixtures not found at ${catalogerFixtures}`;
}

export const testContext: CatalogContext = { maxNestedArchiveBytes: 256 * 1024 * 1024 };

export interface DirectoryInventory {
  packages: Package[];
  problems: { path: string; source: string; reason: string }[];
}

/**
 * Walks `root` without following symlinks; every regular file some cataloger matches is
 * parsed. Paths are reported absolute as inside an image: `/` + path relative to `root`.
 * `root` may also be a single file: it is then presented at `/` + `asPath` (default: its name).
 */
export async function catalogPath(
  root: string,
  list: readonly Cataloger[],
  opts: { asPath?: string; ctx?: CatalogContext } = {},
): Promise<DirectoryInventory> {
  const out: DirectoryInventory = { packages: [], problems: [] };
  const ctx = opts.ctx ?? testContext;
  const visit = async (file: string, imagePath: string) => {
    const st = await lstat(file);
    if (st.isDirectory()) {
      for (const name of (await readdir(file)).sort())
        await visit(join(file, name), `${imagePath === "/" ? "" : imagePath}/${name}`);
      return;
    }
    if (!st.isFile()) return;
    for (const c of list) {
      if (!c.matches(imagePath, st.mode)) continue;
      const content = await readFile(file);
      try {
        const r = await c.parse({ path: imagePath, size: st.size, mode: st.mode, content }, ctx);
        out.packages.push(...r.packages);
        for (const reason of r.problems ?? []) out.problems.push({ path: imagePath, source: c.id, reason });
      } catch (e) {
        out.problems.push({
          path: imagePath,
          source: c.id,
          reason: `cataloger crashed: ${(e as Error).message}`,
        });
      }
    }
  };
  const st = await lstat(root);
  if (st.isDirectory()) await visit(root, "/");
  else await visit(root, "/" + (opts.asPath ?? relative(dirname(root), root).split(sep).join("/")));
  return out;
}

export async function readExpected<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}
