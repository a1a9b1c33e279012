/**
 * The checkpointer thread of an SQLite store (see ./sqlite-checkpointer.ts): its own connection
 * to the file, which copies committed WAL frames into the database (`wal_checkpoint(PASSIVE)`,
 * which never waits for or blocks a writer) whenever the file changed since its last look.
 * Imports only node: modules (see startThread in ../../core/threads.ts); better-sqlite3 is
 * loaded from the path the main thread resolved.
 */
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";

/** What the main thread gives the thread (sqlite-checkpointer.ts). */
interface CheckpointData {
  file: string;
  sqlitePath: string;
  intervalMs: number;
}

if (!parentPort) throw new Error("sqlite-checkpoint-thread runs in a worker thread");
const parent = parentPort;
const { file, sqlitePath, intervalMs } = workerData as CheckpointData;
const Database = createRequire(sqlitePath)(sqlitePath) as typeof BetterSqlite3;
const db = new Database(file, { fileMustExist: true });
// A checkpoint that finds a reader in the way copies what it can and returns: no waiting.
db.pragma("busy_timeout = 0");

let version = -1;
/** The last checkpoint left frames behind (a reader's snapshot needed them): try again. */
let behind = false;
const look = () => {
  const v = db.pragma("data_version", { simple: true }) as number;
  if (v === version && !behind) return;
  version = v;
  const [r] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
  behind = r !== undefined && r.checkpointed < r.log;
};
const timer = setInterval(() => {
  try {
    look();
  } catch (e) {
    // The main thread turns SQLite's own checkpoints back on (sqlite-checkpointer.ts).
    clearInterval(timer);
    throw e;
  }
}, intervalMs);

parent.on("message", (m: "close") => {
  if (m !== "close") return;
  clearInterval(timer);
  db.close();
  parent.close();
});
parent.postMessage("ready");
