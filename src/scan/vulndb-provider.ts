import { mkdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "../core/logger.js";
import { VulnDb } from "../vulndb/db.js";
import { VulnDbError } from "../vulndb/schema.js";

/** A database handle held for the duration of one scan. */
export interface VulnDbLease {
  db: VulnDb;
  /** When the database was built (epoch ms; ECR's vulnerabilitySourceUpdatedAt). */
  builtAt: number;
  release(): void;
}

interface Generation {
  db: VulnDb;
  builtAt: number;
  /** inode, size and mtime of the file it was opened from. */
  identity: string;
  refs: number;
  retired: boolean;
}

/**
 * The vulnerability database a running server scans with. A build replaces the file by
 * rename (vulndb/writer), so the open handle keeps reading the old file: every acquire compares
 * the path's inode/size/mtime with the open generation's and opens the new file when they
 * differ; a directory watch does the same eagerly. Scans in flight keep their generation until
 * they release it, then the old handle is closed. No restart, no failed scan.
 */
export class VulnDbProvider {
  private current: Generation | null = null;
  private watcher: FSWatcher | null = null;

  /**
   * Called after a build was opened, the first one included (it may be newer than the build
   * the registry's findings were matched with: a server started before its first build).
   */
  onChange: (() => void) | undefined;

  constructor(
    readonly path: string,
    private readonly log?: Logger,
  ) {}

  /** Watches the database's directory (best effort: acquire checks the file anyway). */
  watch(): void {
    try {
      // Made when missing (a server started without a database), so that the first build
      // written there, and every later one, is seen at once rather than at the next scan.
      mkdirSync(dirname(this.path), { recursive: true });
      this.watcher = watch(dirname(this.path), (_event, file) => {
        if (file === null || file === basename(this.path)) {
          try {
            this.refresh();
          } catch (e) {
            this.log?.warn({ err: e }, "vulnerability database changed but cannot be opened yet");
          }
        }
      });
      this.watcher.on("error", () => undefined);
      this.watcher.unref();
    } catch {
      // The directory cannot be made or watched: acquire() will find the file when it appears.
    }
  }

  private identity(): string | null {
    try {
      const st = statSync(this.path);
      return `${st.ino}/${st.size}/${st.mtimeMs}`;
    } catch {
      return null;
    }
  }

  /** Opens the file if it is not the open generation. Throws VulnDbError when nothing can be used. */
  refresh(): Generation {
    const id = this.identity();
    if (this.current && (id === null || id === this.current.identity)) return this.current;
    if (id === null)
      throw new VulnDbError(
        `no vulnerability database at ${this.path}: build one with \`drydock db import\``,
      );
    const db = VulnDb.open(this.path);
    const row = db.db.prepare("SELECT value FROM meta WHERE key = 'built_at'").get() as
      { value: string } | undefined;
    const gen: Generation = {
      db,
      builtAt: Date.parse(row?.value ?? "") || 0,
      identity: id,
      refs: 0,
      retired: false,
    };
    const old = this.current;
    this.current = gen;
    if (old) {
      old.retired = true;
      if (old.refs === 0) old.db.close();
    }
    this.log?.info({ path: this.path, builtAt: row?.value }, "vulnerability database opened");
    this.onChange?.();
    return gen;
  }

  /** When the database in service was built (epoch ms); null while there is none or it cannot be opened (metrics). */
  builtAt(): number | null {
    try {
      return this.refresh().builtAt;
    } catch {
      return null;
    }
  }

  acquire(): VulnDbLease {
    const gen = this.refresh();
    gen.refs++;
    let released = false;
    return {
      db: gen.db,
      builtAt: gen.builtAt,
      release: () => {
        if (released) return;
        released = true;
        gen.refs--;
        if (gen.retired && gen.refs === 0) gen.db.close();
      },
    };
  }

  close(): void {
    this.watcher?.close();
    if (this.current) {
      this.current.retired = true;
      if (this.current.refs === 0) this.current.db.close();
      this.current = null;
    }
  }
}
