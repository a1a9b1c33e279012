import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Shared helpers of the end-to-end tests: a real `drydock serve` process and real clients. */

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const sharedDir = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"));
export const fixturesDir = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");

/** Why tests needing ../shared or the built images cannot run, or null when they can. */
export function missingShared(): string | null {
  if (!existsSync(join(sharedDir, "tools"))) return `../shared not found at ${sharedDir}`;
  if (!existsSync(join(fixturesDir, "oci", "debian-bookworm-multi", "index.json"))) {
    return `test images not built in ${fixturesDir}: run scripts/test-prereqs.sh`;
  }
  return null;
}

export function ociLayout(name: string): string {
  return join(fixturesDir, "oci", name);
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws on a non-zero exit (assert on `code`). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((res) => {
    const child = execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 600_000,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        res({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export interface Drydock {
  /** host:port */
  addr: string;
  url: string;
  dataDir: string;
  process: ChildProcess;
  logs(): string;
  /** Graceful stop (SIGTERM). Keeps the data directory. */
  stop(): Promise<void>;
  /** kill -9. Keeps the data directory. */
  kill9(): Promise<void>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  /** Configuration object written to a YAML/JSON config file. */
  config?: Record<string, unknown>;
  /** Reuse a data directory (restart tests). */
  dataDir?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
}

/** Starts `node dist/cli/main.js serve` on a free loopback port and waits for /healthz. */
export async function startDrydock(opts: StartOptions = {}): Promise<Drydock> {
  const cli = join(repoRoot, "dist/cli/main.js");
  if (!existsSync(cli)) throw new Error("dist/cli/main.js missing: run `npm run build` first");
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "drydock-e2e-")));
  const port = opts.port ?? (await freePort());
  const addr = `127.0.0.1:${port}`;
  const args = [cli, "serve", "--listen", addr, "--data", dataDir, "--log-level", "info"];
  // Hermetic: the server fetches no upstream feed unless the test configures updates.
  const config = {
    ...opts.config,
    vulndb: { updateIntervalHours: 0, ...(opts.config?.vulndb as Record<string, unknown> | undefined) },
  };
  const file = join(dataDir, "..", `drydock-config-${port}.json`);
  await writeFile(file, JSON.stringify(config));
  args.push("--config", file);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`drydock exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`http://${addr}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`drydock did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const d: Drydock = {
    addr,
    url: `http://${addr}`,
    dataDir,
    process: child,
    logs: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill9() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
    async destroy() {
      await d.stop();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
      await rm(file, { force: true });
    },
  };
  return d;
}

/**
 * `drydock db import` of the given feed paths into the data directory's database (the one
 * `drydock serve --data dataDir` scans with); throws with the CLI's output when it fails.
 */
export async function importVulnDb(dataDir: string, ...feeds: string[]): Promise<void> {
  const r = await run(process.execPath, [
    join(repoRoot, "dist/cli/main.js"),
    "db",
    "import",
    ...feeds,
    "--db",
    join(dataDir, "vulndb", "vulndb.sqlite"),
  ]);
  if (r.code !== 0) throw new Error(`drydock db import failed: ${r.stdout}${r.stderr}`);
}

/** skopeo with plain HTTP on both sides. */
export function skopeo(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run("skopeo", args, { env });
}

export function manifestDigestOfLayout(layout: string, tag = "latest"): string {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const m =
    index.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === tag) ??
    index.manifests[0];
  if (!m) throw new Error(`no manifest in ${layout}`);
  return m.digest;
}

// --- real clients beyond skopeo (podman, dockerd, check-clients.sh) -------------------

/** ../shared/tools/clients: start/stop scripts and settings for podman, buildah, dockerd. */
export const clientsDir = join(sharedDir, "tools", "clients");

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The sum of a Prometheus counter's samples on GET /metrics whose labels include every
 * given label (e.g. `{ method: "POST", route: "uploads", status: "201" }`); 0 when none.
 */
export async function scrapeMetric(
  dd: Drydock,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${dd.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Lines of the server's JSON log at warn level or above (5xx answers, internal errors). */
export function serverProblems(dd: Drydock): string[] {
  return dd
    .logs()
    .split("\n")
    .filter((l) => {
      try {
        return (JSON.parse(l) as { level?: number }).level! >= 40 && !/open to anyone on loopback/.test(l);
      } catch {
        return false;
      }
    });
}
