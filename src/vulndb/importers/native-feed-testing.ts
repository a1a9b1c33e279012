import { createReadStream, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { readTar } from "../../image/tar.js";
import type { Advisory, FeedProblem } from "../types.js";
import type { FeedDocument, FeedImporter } from "./types.js";

/**
 * Test support for the distro and native-format importers: reads the real feeds in
 * ../shared/vulndata (never copied into the repository) as the documents an import sees —
 * whole files, or `archive!member` for archive members — and runs an importer over them the
 * way the database build does: `recognizes` on the name and head, then `parse`.
 */

export const vulndataRoot = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../../shared"),
  "vulndata",
);

/** Null when the pack file exists, else why the test is skipped. */
export function missingVulndata(rel: string): string | null {
  const p = join(vulndataRoot, rel);
  return existsSync(p) ? null : `vulndata file not found at ${p} (skipped)`;
}

/** A whole file of the pack, as stored (gzip included: importers decompress). */
export async function readPackFile(rel: string): Promise<FeedDocument> {
  return { name: join(vulndataRoot, rel), content: await readFile(join(vulndataRoot, rel)) };
}

/** The regular-file members of a .tar.gz of the pack, in archive order. */
export async function readPackTarGz(rel: string): Promise<FeedDocument[]> {
  const path = join(vulndataRoot, rel);
  const docs: FeedDocument[] = [];
  await readTar(
    createReadStream(path).pipe(createGunzip()),
    {
      onEntry: (h) => h.type === "file",
      onBody: (h, body) => {
        docs.push({ name: `${path}!${h.name}`, content: body });
      },
    },
    { maxEntries: 100_000, maxBytes: 1024 * 1024 * 1024, maxFileBytes: 256 * 1024 * 1024 },
  );
  return docs;
}

export interface ImportRun {
  advisories: Advisory[];
  problems: FeedProblem[];
  /** Records the importer deliberately left out, with why. */
  skipped: { document: string; reason: string }[];
  /** Documents the importer's `recognizes` refused. */
  refused: string[];
}

/** Runs `importer` over `docs` as the database build does. */
export async function runImporter(importer: FeedImporter, docs: FeedDocument[]): Promise<ImportRun> {
  const run: ImportRun = { advisories: [], problems: [], skipped: [], refused: [] };
  for (const doc of docs) {
    if (!importer.recognizes({ name: doc.name, head: doc.content.subarray(0, 4096) })) {
      run.refused.push(doc.name);
      continue;
    }
    for await (const item of importer.parse(doc)) {
      if (item.kind === "advisory") run.advisories.push(item.advisory);
      else if (item.kind === "problem") run.problems.push(item.problem);
      else if (item.kind === "skipped") run.skipped.push({ document: item.document, reason: item.reason });
    }
  }
  return run;
}

/** The one advisory with this id (and, when given, an affected entry for this package). */
export function advisoryById(run: ImportRun, id: string, pkg?: string): Advisory {
  const found = run.advisories.filter(
    (a) => a.id === id && (pkg === undefined || a.affected.some((x) => x.package === pkg)),
  );
  if (found.length !== 1)
    throw new Error(`expected one advisory ${id}${pkg ? ` for ${pkg}` : ""}, found ${found.length}`);
  return found[0]!;
}
