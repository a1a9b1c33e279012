import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { Singleton } from "./singleton.js";

/**
 * Two processes' singletons of the same name on one SQLite metadata database (two connection
 * sets on one file, as two `drydock serve` processes would have): the task runs on one of them
 * at a time, at most once per interval, and the other takes over when the holder stops.
 */
describe("Singleton on one SQLite metadata store", () => {
  let dir: string;
  let a: MetaStore;
  let b: MetaStore;
  const started: Singleton[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-singleton-"));
    a = await openSqliteMetaStore(join(dir, "meta.db"));
    b = await openSqliteMetaStore(join(dir, "meta.db"));
  });
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("one tick of two processes runs the task once; the other waits for the interval", async () => {
    const runs: string[] = [];
    const make = (meta: MetaStore, holder: string) =>
      new Singleton(meta, {
        name: "vulndb-update",
        holder,
        intervalMs: 60_000,
        run: async () => {
          runs.push(holder);
          await sleep(20);
        },
      });
    const [x, y] = [make(a, "node-a"), make(b, "node-b")];
    const ran = await Promise.all([x.tick(), y.tick()]);
    expect(ran.filter(Boolean)).toHaveLength(1);
    expect(runs).toHaveLength(1);
    const loser = runs[0] === "node-a" ? y : x;
    expect(await loser.tick()).toBe(false);
    expect(runs).toHaveLength(1);
    // Another task's lease is another name.
    const gc = new Singleton(b, { name: "gc", holder: "node-b", intervalMs: 60_000, run: async () => 1 });
    expect(await gc.tick()).toBe(true);
  });

  it("started on both, the task runs once per interval; the other process takes over when the holder stops", async () => {
    const interval = 300;
    const runs: { holder: string; at: number }[] = [];
    let active = 0;
    let overlap = false;
    const make = (meta: MetaStore, holder: string) => {
      const s = new Singleton(meta, {
        name: "vulndb-update",
        holder,
        intervalMs: interval,
        run: async () => {
          if (active++) overlap = true;
          runs.push({ holder, at: Date.now() });
          await sleep(30);
          active--;
        },
      });
      s.start();
      started.push(s);
      return s;
    };
    const t0 = Date.now();
    const x = make(a, "node-a");
    make(b, "node-b");
    await sleep(interval * 5 + 100);
    const elapsed = Date.now() - t0;
    expect(overlap).toBe(false);
    // One run per interval across both processes, none twice in an interval.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsed / interval));
    for (let i = 1; i < runs.length; i++)
      expect(runs[i]!.at - runs[i - 1]!.at).toBeGreaterThanOrEqual(interval * 0.9);

    // The holder stops; once its lease has run out the other process runs the task.
    const holder = runs.at(-1)!.holder;
    const survivor = holder === "node-a" ? "node-b" : "node-a";
    const stopped = holder === "node-a" ? x : started[1]!;
    await stopped.stop();
    const before = runs.length;
    await sleep(interval * 3 + 100);
    const later = runs.slice(before);
    expect(later.length).toBeGreaterThanOrEqual(1);
    expect(later.every((r) => r.holder === survivor)).toBe(true);
  });
});
