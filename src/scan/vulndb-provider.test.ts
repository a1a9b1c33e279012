import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildDatabase } from "../vulndb/build.js";
import { importers } from "../vulndb/importers/registry.js";
import { VulnDbProvider } from "./vulndb-provider.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-vulndb-provider-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a database with one Go advisory for `name` at `target` (atomically, as `db import`). */
async function build(target: string, id: string, name: string): Promise<void> {
  const src = join(dir, `${id}-src`);
  await rm(src, { recursive: true, force: true });
  await import("node:fs/promises").then((fs) => fs.mkdir(src, { recursive: true }));
  await writeFile(
    join(src, `${id}.json`),
    JSON.stringify({
      schema_version: "1.6.0",
      id,
      modified: "2024-01-01T00:00:00Z",
      affected: [
        {
          package: { ecosystem: "Go", name },
          ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.2.3" }] }],
        },
      ],
    }),
  );
  const tmp = `${target}.build`;
  await buildDatabase({
    target: tmp,
    sources: [{ path: join(src, `${id}.json`), feedName: "osv" }],
    importers,
    fresh: true,
  });
  await rename(tmp, target);
}

describe("VulnDbProvider", () => {
  it("switches to a rebuilt database without disturbing scans that hold the old one", async () => {
    const path = join(dir, "vulndb.sqlite");
    await build(path, "GO-2024-0001", "example.com/old");
    const provider = new VulnDbProvider(path);
    provider.watch();
    const inFlight = provider.acquire();
    expect(inFlight.db.advisoriesFor("golang", "example.com/old").map((a) => a.id)).toEqual(["GO-2024-0001"]);

    await build(path, "GO-2024-0002", "example.com/new");
    const next = provider.acquire();
    expect(next.db.advisoriesFor("golang", "example.com/new").map((a) => a.id)).toEqual(["GO-2024-0002"]);
    expect(next.db.advisoriesFor("golang", "example.com/old")).toEqual([]);
    // The scan in flight still reads its database, which is closed only when it lets go.
    expect(inFlight.db.advisoriesFor("golang", "example.com/old").map((a) => a.id)).toEqual(["GO-2024-0001"]);
    expect(inFlight.db.db.open).toBe(true);
    inFlight.release();
    expect(inFlight.db.db.open).toBe(false);
    expect(next.db.db.open).toBe(true);
    next.release();
    provider.close();
  });

  it("watching where no database is yet (not even its directory): each build is opened as it lands, onChange told", async () => {
    const path = join(dir, "later", "vulndb", "vulndb.sqlite");
    const provider = new VulnDbProvider(path);
    let changes = 0;
    provider.onChange = () => void changes++;
    provider.watch();
    const opened = async (n: number) => {
      const end = Date.now() + 5000;
      while (changes < n) {
        if (Date.now() > end) throw new Error(`onChange called ${changes} times, not ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // Nothing acquires the database: the watch alone opens each build.
    await build(path, "GO-2024-0004", "example.com/first");
    await opened(1);
    await build(path, "GO-2024-0005", "example.com/second");
    await opened(2);
    const lease = provider.acquire();
    expect(lease.db.advisoriesFor("golang", "example.com/second").map((a) => a.id)).toEqual(["GO-2024-0005"]);
    lease.release();
    provider.close();
  });

  it("no database yet is a clear error; one appearing later is picked up", async () => {
    const path = join(dir, "vulndb.sqlite");
    const provider = new VulnDbProvider(path);
    expect(() => provider.acquire()).toThrow(/no vulnerability database/);
    await build(path, "GO-2024-0003", "example.com/x");
    const lease = provider.acquire();
    expect(lease.builtAt).toBeGreaterThan(0);
    lease.release();
    provider.close();
  });
});
