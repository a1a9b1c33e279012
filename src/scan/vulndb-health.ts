import { existsSync } from "node:fs";
import type { VulnDbUpdateResult } from "./vulndb-update.js";

/** The vulnerability database's part of /healthz: whether scans can run, and if not, what to do. */
export interface VulnDbHealthReport {
  status: "ready" | "building" | "missing";
  /** Set unless ready: what is happening and what the operator can do. */
  message?: string;
  /** The last scheduled update that failed on this node (without credentials). */
  lastError?: string;
}

/**
 * Tracks this node's view of its vulnerability database for /healthz. A server is healthy
 * without one (it serves pulls and pushes; scans wait for a database), but an operator of a
 * new, offline server must learn why nothing gets scanned and how to fix it: the log says it
 * once, /healthz says it for as long as it lasts.
 */
export class VulnDbHealth {
  private lastError: string | undefined;

  constructor(
    private readonly path: string,
    private readonly o: { updatesEnabled: boolean; dataDir: string },
  ) {}

  /** Records a scheduled update's outcome. */
  record(r: VulnDbUpdateResult): void {
    if (r.outcome === "failed") this.lastError = r.error ?? "no feed could be fetched";
    else if (r.outcome !== "stopped") this.lastError = undefined;
  }

  /** What to do when there is no database, in words for a log line and /healthz. */
  advice(): string {
    const importIt = `import one: \`drydock db import PATH --data ${this.o.dataDir}\` (a directory of feed files, docs/vulndb.md), or set vulndb.mirror to a mirror directory or URL`;
    if (!this.o.updatesEnabled)
      return `no vulnerability database at ${this.path} and scheduled updates are off (vulndb.updateIntervalHours 0): ${importIt}`;
    if (this.lastError !== undefined)
      return `no vulnerability database at ${this.path}: building one from the feeds failed (offline?); ${importIt}; scans wait for it`;
    return `no vulnerability database at ${this.path} yet: building one from the feeds in the background; scans wait for it`;
  }

  report(): VulnDbHealthReport {
    if (existsSync(this.path)) return { status: "ready" };
    return {
      status: this.o.updatesEnabled && this.lastError === undefined ? "building" : "missing",
      message: this.advice(),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }
}
