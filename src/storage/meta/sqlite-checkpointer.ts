import type SqliteDatabase from "better-sqlite3";
import { once } from "node:events";
import { createRequire } from "node:module";
import type { Worker } from "node:worker_threads";
import { startThread } from "../../core/threads.js";

/**
 * WAL checkpoints off the writer's thread. By default SQLite checkpoints inside the commit that
 * takes the WAL past 1,000 pages: that commit copies the pages into the database file and
 * fsyncs it, on the thread that serves every request (better-sqlite3 is synchronous), so a
 * busy writer stalls for it (bench:rematch at 10,000 images: 3.9 s of its 24.7 s). With a
 * checkpointer the main connection never checkpoints (`wal_autocheckpoint = 0`); a thread with
 * a connection of its own runs `wal_checkpoint(PASSIVE)` whenever the file changed, on the
 * other core, never blocking a writer; the WAL is reused from its start once checkpointed.
 * Should the thread fail, the main connection checkpoints as SQLite does by default again.
 */

/** How often the thread looks whether there is anything to checkpoint (a read of the WAL index). */
const INTERVAL_MS = 50;
/** SQLite's default `wal_autocheckpoint`, given back when the thread is gone. */
const DEFAULT_AUTOCHECKPOINT = 1000;

export class SqliteCheckpointer {
  private closing = false;
  private readonly exited: Promise<unknown>;

  private constructor(
    private readonly worker: Worker,
    sqlite: SqliteDatabase.Database,
  ) {
    this.exited = once(worker, "exit").catch(() => undefined);
    const fallBack = () => {
      if (!this.closing && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
    };
    worker.on("error", fallBack);
    worker.on("exit", fallBack);
  }

  /** Starts the thread for the database file `file`, open in `sqlite` (WAL mode). */
  static async start(sqlite: SqliteDatabase.Database, file: string): Promise<SqliteCheckpointer> {
    const worker = startThread(new URL("./sqlite-checkpoint-thread.cjs", import.meta.url), {
      workerData: {
        file,
        sqlitePath: createRequire(import.meta.url).resolve("better-sqlite3"),
        intervalMs: INTERVAL_MS,
      },
    });
    // Ready means its connection is open: only then do the main connection's checkpoints stop.
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    worker.unref();
    sqlite.pragma("wal_autocheckpoint = 0");
    return new SqliteCheckpointer(worker, sqlite);
  }

  /** Stops the thread (before the main connection closes, which checkpoints what is left). */
  async close(): Promise<void> {
    this.closing = true;
    this.worker.postMessage("close"); // ignored by a thread that is gone
    const timeout = setTimeout(() => void this.worker.terminate(), 5_000);
    await this.exited;
    clearTimeout(timeout);
  }
}
