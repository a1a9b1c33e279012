import type { Logger } from "../core/logger.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * A periodic task that runs on one process of a cluster at a time (GC, scheduled database
 * updates, later lifecycle runs): at each tick every process asks for the task's lease in the
 * database, for one interval; the one that gets it runs the task and keeps the lease until the
 * interval is over, so the task runs at most once per interval across the cluster, and another
 * process takes over when the holder stops. A run longer than the interval renews the lease.
 */
export class Singleton {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly meta: MetaStore,
    private readonly o: {
      name: string;
      /** This process's id in the cluster (host, pid and a random part). */
      holder: string;
      intervalMs: number;
      run: () => Promise<unknown>;
      log?: Logger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  /** One attempt: runs the task when this process gets (or holds) the lease. Returns whether it ran. */
  async tick(): Promise<boolean> {
    if (this.running) return false;
    let mine: boolean;
    try {
      mine = await this.meta.leases.acquire(this.o.name, this.o.holder, this.o.intervalMs);
    } catch (err) {
      this.o.log?.warn({ err, task: this.o.name }, "cannot reach the database for a singleton's lease");
      return false;
    }
    if (!mine) return false;
    const renew = setInterval(
      () =>
        void this.meta.leases.acquire(this.o.name, this.o.holder, this.o.intervalMs).catch(() => undefined),
      Math.max(1000, this.o.intervalMs / 3),
    );
    renew.unref();
    this.running = this.o
      .run()
      .then(() => undefined)
      .catch((err: unknown) => this.o.log?.error({ err, task: this.o.name }, "singleton task failed"))
      .finally(() => {
        clearInterval(renew);
        this.running = undefined;
      });
    await this.running;
    return true;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
