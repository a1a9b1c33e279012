import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import type * as TypeScript from "typescript";

/**
 * Starts a thread from its module (`built`: the `.cjs` a `.cts` is built to, beside the caller).
 * Built (dist/), that file runs. The thread modules are CommonJS (`.cts`): a worker boots from a CommonJS file as
 * fast as from evaluated source (what the threads were until they became modules), while an ES
 * module entry costs it about 6 ms of CPU more (Node 20, measured), paid by the first layer of
 * every process.
 *
 * Run from the TypeScript sources (vitest transforms the modules it imports, but a worker thread
 * is a fresh isolate that loads its own module, and Node 20 cannot strip types), the module is
 * the `.cts` beside `built`, transpiled with the TypeScript compiler (a dev dependency, loaded
 * only then) and evaluated. So the unit tests run the thread code they see, need no build before
 * them and never run a stale dist/ (mapping src/ to dist/ would run yesterday's worker after an
 * edit without a build). The choice is this module's own extension, not a file's existence: a
 * stray `.cjs` in src/ is never picked. Evaluated source resolves no relative or package import,
 * so the thread modules import only node: modules (and types, erased) and are given the paths
 * of the packages they load (zstd-napi's binding, better-sqlite3).
 */
export function startThread(built: URL, options: WorkerOptions): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(built, options);
  let source = transpiled.get(built.href);
  if (source === undefined) {
    const file = fileURLToPath(built).replace(/\.cjs$/, ".cts");
    const ts = createRequire(import.meta.url)("typescript") as typeof TypeScript;
    source = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    }).outputText;
    transpiled.set(built.href, source);
  }
  return new Worker(source, { ...options, eval: true });
}
const transpiled = new Map<string, string>();
