import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * vitest global setup: one throwaway PostgreSQL 15 for the whole run
 * (../shared/tools/postgres/pg-up.sh), its URL passed to the tests as DRYDOCK_TEST_PG_URL;
 * each test file makes databases of its own on it (src/storage/meta/postgres-testing.ts).
 * Without ../shared or Debian's postgresql the variable stays unset and the PostgreSQL tests
 * report themselves skipped, saying why (DRYDOCK_TEST_PG_SKIP).
 */
const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tools = join(process.env.DRYDOCK_SHARED ?? join(root, "../shared"), "tools/postgres");

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.DRYDOCK_TEST_PG_URL) return async () => undefined;
  if (!existsSync(join(tools, "pg-up.sh"))) {
    process.env.DRYDOCK_TEST_PG_SKIP = `${tools}/pg-up.sh not found (../shared is missing)`;
    return async () => undefined;
  }
  const D = `/tmp/drydock-pg-${process.pid}`;
  const env = { ...process.env, D, PGPORT: String(await freePort()) };
  try {
    const { stdout } = await run(join(tools, "pg-up.sh"), [], { env });
    process.env.DRYDOCK_TEST_PG_URL = stdout.trim().split("\n").pop()!;
  } catch (e) {
    process.env.DRYDOCK_TEST_PG_SKIP = `PostgreSQL could not be started: ${(e as Error).message.split("\n")[0]}`;
    return async () => undefined;
  }
  return async () => {
    await run(join(tools, "pg-down.sh"), [], { env }).catch(() => undefined);
  };
}
