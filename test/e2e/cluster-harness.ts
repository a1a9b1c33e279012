import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, createServer, request, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { createBucket, startCeph, type CephS3 } from "../../src/storage/blob/s3-testing.js";
import { freePort, repoRoot, run, sharedDir, type RunResult } from "./harness.js";

/**
 * A Drydock cluster on loopback for the end-to-end tests (docs/cluster.md): a dedicated
 * PostgreSQL 15 (../shared/tools/postgres/pg-up.sh, so that a test may stop and restart it
 * without disturbing the run's shared server), one Ceph radosgw with a bucket
 * (src/storage/blob/s3-testing.ts), and `node dist/cli/main.js serve --role api|worker`
 * processes sharing one configuration file, each with its own --data directory and port.
 * Nodes can be killed (SIGKILL), frozen (SIGSTOP/SIGCONT) and restarted; their output is kept
 * across restarts (and in DIR/<node>.log) for failure messages.
 */

const cli = join(repoRoot, "dist/cli/main.js");
const pgTools = join(sharedDir, "tools/postgres");

/** Why a cluster cannot be started here, or null. */
export function clusterUnavailable(): string | null {
  if (!existsSync(cli)) return "dist/cli/main.js missing: run `npm run build` first";
  if (!existsSync(join(pgTools, "pg-up.sh"))) return `${pgTools}/pg-up.sh not found (../shared is missing)`;
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- PostgreSQL ---------------------------------------------------------------------------

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/drydock */
  url: string;
  dir: string;
  port: number;
  /** `pg_ctl -m immediate stop` (pg-down.sh --keep): a crash; the data stays. */
  crash(): Promise<void>;
  /** pg-up.sh again on the same directory and port. */
  start(): Promise<void>;
  /** Stops and deletes the data. */
  destroy(): Promise<void>;
}

export async function startPostgres(dir: string): Promise<Postgres> {
  const port = await freePort();
  const env = { D: dir, PGPORT: String(port), PGDATABASE: "drydock" };
  const up = async () => {
    const r = await run(join(pgTools, "pg-up.sh"), [], { env, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`pg-up.sh failed (${r.code}): ${r.stdout}${r.stderr}`);
    return r.stdout.trim().split("\n").pop()!;
  };
  const url = await up();
  return {
    url,
    dir,
    port,
    async crash() {
      await run(join(pgTools, "pg-down.sh"), ["--keep"], { env });
    },
    async start() {
      await up();
    },
    async destroy() {
      await run(join(pgTools, "pg-down.sh"), [], { env });
    },
  };
}

// --- nodes ----------------------------------------------------------------------------------

export type Role = "api" | "worker";

export interface ClusterNode {
  name: string;
  role: Role;
  port: number;
  /** 127.0.0.1:PORT */
  addr: string;
  /** http://127.0.0.1:PORT */
  url: string;
  dataDir: string;
  /** The current process (undefined when stopped). */
  process(): ChildProcess | undefined;
  running(): boolean;
  /** Everything the node printed, over all its lives. */
  logs(): string;
  /** The node's log lines at warn level or above. */
  problems(): string[];
  start(): Promise<void>;
  /** kill -9, and waits for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  freeze(): void;
  thaw(): void;
  waitReady(ms?: number): Promise<void>;
}

function makeNode(name: string, role: Role, port: number, dir: string, configFile: string): ClusterNode {
  const dataDir = join(dir, name);
  const logFile = join(dir, `${name}.log`);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = "";
  const addr = `127.0.0.1:${port}`;
  const append = (s: string) => {
    out += s;
    appendFileSync(logFile, s);
  };
  const node: ClusterNode = {
    name,
    role,
    port,
    addr,
    url: `http://${addr}`,
    dataDir,
    process: () => child,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    logs: () => out,
    problems: () =>
      out.split("\n").filter((l) => {
        try {
          return (JSON.parse(l) as { level?: number }).level! >= 40;
        } catch {
          return false;
        }
      }),
    async start() {
      if (node.running()) throw new Error(`${name} is already running`);
      await mkdir(dataDir, { recursive: true });
      append(`--- ${new Date().toISOString()} start ${name} (${role}) on ${addr}\n`);
      const c = spawn(
        process.execPath,
        [cli, "serve", "--config", configFile, "--data", dataDir, "--role", role, "--listen", addr],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child = c;
      c.stdout!.on("data", (b: Buffer) => append(b.toString()));
      c.stderr!.on("data", (b: Buffer) => append(b.toString()));
      exited = new Promise((r) =>
        c.once("exit", (code, signal) => {
          append(`--- ${new Date().toISOString()} ${name} exited (code ${code}, signal ${signal})\n`);
          r();
        }),
      );
      await node.waitReady(60_000);
    },
    async kill9() {
      if (node.running()) child!.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (node.running()) {
        child!.kill("SIGCONT");
        child!.kill("SIGTERM");
      }
      await exited;
    },
    freeze() {
      child?.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
    async waitReady(ms = 30_000) {
      const end = Date.now() + ms;
      let last = "";
      for (;;) {
        if (child && !node.running())
          throw new Error(`${name} is not running (it exited):\n${tail(out, 40)}`);
        try {
          const r = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(5000) });
          if (r.ok) return;
          last = `${r.status} ${await r.text()}`;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() > end)
          throw new Error(`${name} not ready after ${ms} ms (${last}):\n${tail(out, 40)}`);
        await sleep(100);
      }
    },
  };
  return node;
}

/** The last lines of a text, each cut to 600 characters. */
export function tail(text: string, lines: number): string {
  return text
    .split("\n")
    .slice(-lines)
    .map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l))
    .join("\n");
}

// --- the cluster ----------------------------------------------------------------------------

export interface Cluster {
  dir: string;
  /** The configuration file every node shares. */
  configFile: string;
  config: Record<string, unknown>;
  pg: Postgres;
  s3: CephS3;
  bucket: string;
  api: ClusterNode[];
  workers: ClusterNode[];
  nodes: ClusterNode[];
  /** `node dist/cli/main.js ARGS --config <cluster config>`. */
  cli(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** A query on the cluster's database. */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** kill -9 of radosgw (the mon and OSD keep running). */
  stopRgw(): Promise<void>;
  /** radosgw again with the same configuration; resolves when it answers. */
  startRgw(): Promise<void>;
  /** The last lines of every node's output and its warnings, for failure messages. */
  report(lines?: number): string;
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  apiNodes?: number;
  workers?: number;
  /** Settings merged into the shared configuration (auth users, aws, vulndb, scan, gc...). */
  config?: Record<string, unknown>;
}

/**
 * Starts PostgreSQL, Ceph and the nodes. The nodes start together on the empty database: the
 * first migrates it (docs/cluster.md), the others wait on the migration lock.
 */
export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const dir = await mkdtemp("/tmp/drydock-cluster-e2e-");
  await chmod(dir, 0o755); // the PostgreSQL server runs as `postgres` and keeps its data below
  const [pgServer, s3] = await Promise.all([startPostgres(join(dir, "pg")), startCeph()]);
  let db: pg.Pool | undefined;
  const nodes: ClusterNode[] = [];
  const destroy = async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await db?.end().catch(() => undefined);
    await pgServer.destroy();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const bucket = await createBucket(s3);
    const config = {
      ...(o.config ?? {}),
      // Hermetic: no node fetches the upstream feeds unless a test asks for updates.
      vulndb: { updateIntervalHours: 0, ...((o.config?.vulndb as Record<string, unknown>) ?? {}) },
      storage: {
        meta: { url: pgServer.url },
        blobs: {
          url: `s3://${bucket}/drydock`,
          endpoint: s3.endpoint,
          region: s3.region,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
        },
      },
      auth: {
        ...((o.config?.auth as Record<string, unknown>) ?? {}),
        tokenSecret: randomBytes(32).toString("hex"),
      },
      logLevel: "info",
    };
    const configFile = join(dir, "drydock.json");
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const api: ClusterNode[] = [];
    const workers: ClusterNode[] = [];
    for (let i = 0; i < (o.apiNodes ?? 2); i++)
      api.push(makeNode(`api-${"ABCDEFGH"[i]}`, "api", await freePort(), dir, configFile));
    for (let i = 0; i < (o.workers ?? 2); i++)
      workers.push(makeNode(`worker-${i + 1}`, "worker", await freePort(), dir, configFile));
    nodes.push(...api, ...workers);
    db = new pg.Pool({ connectionString: pgServer.url, max: 3 });
    db.on("error", () => undefined); // idle clients die with a PostgreSQL restart
    const rgwPid = join(s3.dir, "run", "client.rgw.a.pid");
    const cluster: Cluster = {
      dir,
      configFile,
      config,
      pg: pgServer,
      s3,
      bucket,
      api,
      workers,
      nodes,
      cli: (args, opts) =>
        run(process.execPath, [cli, ...args, "--config", configFile], {
          timeoutMs: opts?.timeoutMs ?? 120_000,
        }),
      async sql<T>(text: string, params: unknown[] = []) {
        return (await db!.query(text, params)).rows as T[];
      },
      async stopRgw() {
        const pid = Number(readFileSync(rgwPid, "utf8").trim());
        process.kill(pid, "SIGKILL");
        while (isAlive(pid)) await sleep(50);
      },
      async startRgw() {
        await new Promise<void>((res, rej) =>
          execFile(
            "radosgw",
            ["-n", "client.rgw.a"],
            { env: { ...process.env, CEPH_CONF: join(s3.dir, "ceph.conf") } },
            (err, _o, stderr) => (err ? rej(new Error(`radosgw: ${err.message} ${stderr}`)) : res()),
          ),
        );
        const end = Date.now() + 60_000;
        for (;;) {
          try {
            await fetch(s3.endpoint, { signal: AbortSignal.timeout(2000) });
            return;
          } catch {
            if (Date.now() > end) throw new Error("radosgw did not answer after its restart");
            await sleep(100);
          }
        }
      },
      report(lines = 30) {
        return nodes
          .map(
            (n) =>
              `=== ${n.name} (${n.role}, ${n.addr}, ${n.running() ? "running" : "down"}): last ${lines} lines\n` +
              tail(n.logs(), lines),
          )
          .join("\n");
      },
      destroy,
    };
    await Promise.all(nodes.map((n) => n.start()));
    return cluster;
  } catch (e) {
    const logs = nodes.map((n) => `=== ${n.name}\n${tail(n.logs(), 40)}`).join("\n");
    await destroy();
    throw new Error(`cluster did not start: ${(e as Error).message}\n${logs}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A killed daemon stays a zombie until PID 1 reaps it: count that as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

// --- a load balancer ------------------------------------------------------------------------

export interface Proxy {
  url: string;
  addr: string;
  /** Requests forwarded, by target name. */
  counts: Map<string, number>;
  /** Requests forwarded: "METHOD path -> target status". */
  log: string[];
  close(): Promise<void>;
}

/**
 * An HTTP reverse proxy on a free loopback port standing for a load balancer: `route` picks
 * the node of each request. Bodies stream both ways; the Host header is passed on, so that
 * token realms name the proxy. `authorization` is added to requests that carry none (an
 * authenticating front end, for clients that cannot log in).
 */
export async function startProxy(
  route: (req: IncomingMessage) => ClusterNode,
  opts: { authorization?: string } = {},
): Promise<Proxy> {
  const agent = new Agent({ keepAlive: true });
  const counts = new Map<string, number>();
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const target = route(req);
    counts.set(target.name, (counts.get(target.name) ?? 0) + 1);
    const headers = { ...req.headers };
    if (opts.authorization && !headers.authorization) headers.authorization = opts.authorization;
    const up = request(
      { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers, agent },
      (ur) => {
        log.push(`${req.method} ${req.url} -> ${target.name} ${ur.statusCode}`);
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on("error", (e) => {
      log.push(`${req.method} ${req.url} -> ${target.name} error ${e.message}`);
      if (!res.headersSent) res.writeHead(502).end(e.message);
      else res.destroy();
    });
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}`,
    addr: `127.0.0.1:${port}`,
    counts,
    log,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
