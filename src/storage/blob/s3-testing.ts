import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Test support: a real S3 server (Ceph radosgw, ../shared/tools/s3/README.md) for the tests
 * of a test file, started with ../shared/tools/s3/ceph-up.sh in a state directory of its
 * own (/tmp/drydock-ceph-<pid>-<n>) on free ports, and stopped with ceph-down.sh.
 *
 *   const missing = cephUnavailable();
 *   describe.skipIf(missing !== null)("...", () => {
 *     let s3: CephS3;
 *     beforeAll(async () => { s3 = await startCeph(); }, CEPH_START_TIMEOUT_MS);
 *     afterAll(() => s3?.stop());
 *     ...createBucket(s3)...
 *   });
 *
 * Starting takes about 8 s (20 s on a busy machine): once per test file (vitest runs each
 * file in a fresh module context); calls of startCeph within one file share the cluster,
 * which stops with the last stop(). It is also stopped when the process exits.
 */

export const sharedDir = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../../shared"),
);
const upScript = join(sharedDir, "tools/s3/ceph-up.sh");
const downScript = join(sharedDir, "tools/s3/ceph-down.sh");

/** Timeout for a beforeAll that calls startCeph. */
export const CEPH_START_TIMEOUT_MS = 180_000;

/** Programs ceph-up.sh runs (Debian packages ceph-mon, ceph-osd, radosgw, ceph-common, uuid-runtime, bc, curl). */
const PROGRAMS = [
  "ceph-mon",
  "ceph-osd",
  "radosgw",
  "radosgw-admin",
  "monmaptool",
  "ceph",
  "uuidgen",
  "bc",
  "curl",
];

/** Null when a radosgw can be started here, else why not (the tests then say they are skipped). */
export function cephUnavailable(): string | null {
  if (!existsSync(upScript)) return `${upScript} not found (../shared is missing; set DRYDOCK_SHARED)`;
  const path = (process.env.PATH ?? "").split(delimiter);
  const absent = PROGRAMS.filter((p) => !path.some((d) => d && existsSync(join(d, p))));
  if (absent.length)
    return `${absent.join(", ")} not installed (Debian packages ceph-mon ceph-osd radosgw ceph-common; see scripts/test-prereqs.sh)`;
  return null;
}

/**
 * Logs why S3 tests are skipped (once per file) and returns the reason: use it as
 * `describe.skipIf(skipS3Tests("...") !== null)`.
 */
export function skipS3Tests(what: string): string | null {
  const reason = cephUnavailable();
  if (reason) console.warn(`SKIPPED: ${what} need a Ceph radosgw: ${reason}`);
  return reason;
}

export interface S3Credentials {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface CephS3 extends S3Credentials {
  /** The cluster's state directory (logs in log/). */
  dir: string;
  stop(): Promise<void>;
}

let cluster: { started: Promise<CephS3>; users: number } | null = null;
let clusters = 0;

/** Starts a single-node Ceph cluster with radosgw (shared within this test file). */
export async function startCeph(): Promise<CephS3> {
  if (!cluster) {
    cluster = { started: launch(), users: 0 };
    cluster.started.catch(() => (cluster = null));
  }
  cluster.users++;
  const c = await cluster.started;
  let stopped = false;
  return {
    ...c,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (cluster && --cluster.users === 0) {
        cluster = null;
        await c.stop();
      }
    },
  };
}

/**
 * Attempts at starting a cluster. On a busy machine the OSD sometimes asks the mon before it
 * has the cluster's fsid ("handle_command on fsid 00000000-..."), fails its init and
 * ceph-up.sh stops; a second start then works.
 */
const START_ATTEMPTS = 5;

async function launch(): Promise<CephS3> {
  const reason = cephUnavailable();
  if (reason) throw new Error(`cannot start Ceph: ${reason}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce();
    } catch (e) {
      if (attempt >= START_ATTEMPTS) throw e;
      console.warn(
        `Ceph did not start (attempt ${attempt} of ${START_ATTEMPTS}), retrying: ${(e as Error).message}`,
      );
    }
  }
}

async function launchOnce(): Promise<CephS3> {
  const dir = `/tmp/drydock-ceph-${process.pid}-${++clusters}`;
  const [rgwPort, monPort] = await freePorts(2);
  const accessKeyId = "drydockaccess";
  const secretAccessKey = randomBytes(12).toString("hex");
  const env = {
    ...process.env,
    D: dir,
    RGW_PORT: String(rgwPort),
    MON_PORT: String(monPort),
    S3_ACCESS_KEY: accessKeyId,
    S3_SECRET_KEY: secretAccessKey,
  };
  const down = () => {
    try {
      execFileSync("bash", [downScript], { env: { ...process.env, D: dir }, stdio: "ignore" });
    } catch {
      /* nothing left to stop */
    }
  };
  // A test process that ends without afterAll (a crash, a timeout) leaves no daemons behind.
  process.once("exit", down);
  try {
    await new Promise<void>((res, rej) => {
      execFile(
        "bash",
        [upScript],
        { env, timeout: CEPH_START_TIMEOUT_MS - 10_000 },
        (err, stdout, stderr) => {
          if (err) rej(new Error(`ceph-up.sh failed (${err.message}):\n${stdout}${stderr}`));
          else res();
        },
      );
    });
  } catch (e) {
    down();
    process.off("exit", down);
    throw e;
  }
  return {
    dir,
    endpoint: `http://127.0.0.1:${rgwPort}`,
    accessKeyId,
    secretAccessKey,
    region: "us-east-1",
    stop: async () => {
      process.off("exit", down);
      await new Promise<void>((res) =>
        execFile("bash", [downScript], { env: { ...process.env, D: dir } }, () => res()),
      );
    },
  };
}

/** An S3 client for the cluster, set up for rgw 16 (path style, checksums only when required). */
export function s3Client(s3: S3Credentials): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Creates a bucket (a fresh name unless given) and returns its name. */
export async function createBucket(s3: S3Credentials, name?: string): Promise<string> {
  const bucket = name ?? `drydock-test-${randomBytes(6).toString("hex")}`;
  const client = s3Client(s3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/** Ports free right now on 127.0.0.1 (distinct). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((res, rej) => {
          const s = createServer();
          s.once("error", rej);
          s.listen(0, "127.0.0.1", () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return ports;
}
