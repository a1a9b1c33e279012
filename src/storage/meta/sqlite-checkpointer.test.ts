import SqliteDatabase from "better-sqlite3";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDelivery } from "./delivery-testing.js";
import { SqliteCheckpointer } from "./sqlite-checkpointer.js";
import { openSqliteMetaStore } from "./sqlite.js";
import { until } from "./testing.js";

/**
 * The checkpointer thread (sqlite-checkpointer.ts) on a real SQLite file: the main connection
 * stops checkpointing, the thread copies committed frames into the database file, the main
 * connection checkpoints again if the thread dies, and a store opened with it closes cleanly
 * with everything it wrote.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-ckpt-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `test` on a fresh WAL database with a checkpointer started on it; closes both. */
async function withCheckpointer(
  test: (db: SqliteDatabase.Database, c: SqliteCheckpointer, file: string) => Promise<void>,
): Promise<void> {
  const file = join(dir, "db.sqlite");
  const db = openWal(file);
  const c = await SqliteCheckpointer.start(db, file);
  try {
    await test(db, c, file);
  } finally {
    await c.close();
    db.close();
  }
}

function openWal(file: string): SqliteDatabase.Database {
  const db = new SqliteDatabase(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("create table t (id integer primary key, v blob)");
  return db;
}

const write = (db: SqliteDatabase.Database, commits: number, rowsPerCommit = 50) => {
  const insert = db.prepare("insert into t (v) values (randomblob(4000))");
  for (let c = 0; c < commits; c++)
    db.transaction(() => {
      for (let i = 0; i < rowsPerCommit; i++) insert.run();
    })();
};

describe("SQLite checkpointer", () => {
  it("takes the checkpoints off the main connection and copies committed frames into the file", () =>
    withCheckpointer(async (db, _c, file) => {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      const before = statSync(file).size;
      write(db, 40); // about 8 MB: twice SQLite's own threshold
      // Only the thread can have moved the pages into the database file.
      await until("the thread's checkpoint", () => statSync(file).size > before + 4_000_000);
      expect(db.prepare("select count(*) as n from t").get()).toEqual({ n: 2000 });
    }));

  it("gives the main connection its own checkpoints back when the thread dies", () =>
    withCheckpointer(async (db, c) => {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      await (c as unknown as { worker: Worker }).worker.terminate();
      await until("the fallback", () => db.pragma("wal_autocheckpoint", { simple: true }) === 1000);
    }));

  it("a store opened with it keeps what it wrote across a close and a reopen", async () => {
    const file = join(dir, "meta.sqlite");
    const store = await openSqliteMetaStore(file, undefined, { checkpointer: true });
    await store.deliveries.enqueue(Array.from({ length: 500 }, (_, i) => testDelivery(i + 1)));
    await store.close();
    const again = await openSqliteMetaStore(file);
    try {
      expect(await again.deliveries.pending()).toBe(500);
    } finally {
      await again.close();
    }
  });
});
