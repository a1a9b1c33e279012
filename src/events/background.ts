import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import { Singleton } from "../jobs/singleton.js";
import type { JobHandler } from "../jobs/worker.js";
import type { MetaStore } from "../storage/meta/store.js";
import { Deliverer, type DeliveryMetrics } from "./delivery/deliverer.js";
import { replayJobHandlers } from "./replay.js";
import { closeSharedAgents } from "./targets/index.js";
import { runSchedules } from "./schedule/runner.js";

/**
 * The event bus's background work on a node that runs background work (`role` all or worker):
 * the delivery worker, scheduled rules (a singleton: one node fires each schedule), the
 * archives' retention (a singleton), and the replay jobs' handlers (run by the caller's job
 * worker). The API side (src/api/events) only writes rules and events; routing happens in the
 * transaction of each event (src/events/log.ts).
 */

const SCHEDULE_TICK_MS = 10_000;
const ARCHIVE_RETENTION_MS = 3_600_000;

export interface EventBusBackground {
  /** Handlers for the caller's JobWorker (replays). */
  jobHandlers: Record<string, JobHandler<never>>;
  stop(): Promise<void>;
}

export async function startEventBus(
  meta: MetaStore,
  o: {
    config: Config;
    holder: string;
    log: Logger;
    metrics?: DeliveryMetrics;
    userAgent: string;
    /** The embedded server (one process on its database): leased deliveries are sent at once. */
    embedded: boolean;
  },
): Promise<EventBusBackground> {
  const aws = { region: o.config.aws.region, accountId: o.config.aws.accountId };
  const deliverer = new Deliverer(meta, {
    events: o.config.events,
    aws,
    userAgent: o.userAgent,
    log: o.log,
    metrics: o.metrics,
  });
  await deliverer.start(o.embedded);
  const schedules = new Singleton(meta, {
    name: "events-schedules",
    holder: o.holder,
    intervalMs: SCHEDULE_TICK_MS,
    run: () => runSchedules(meta, { ...aws, now: Date.now }),
    log: o.log,
  });
  schedules.start();
  const retention = new Singleton(meta, {
    name: "events-archive-retention",
    holder: o.holder,
    intervalMs: ARCHIVE_RETENTION_MS,
    run: () => meta.bus.purgeArchives(Date.now()),
    log: o.log,
  });
  retention.start();
  return {
    jobHandlers: replayJobHandlers(meta, { log: o.log }) as Record<string, JobHandler<never>>,
    async stop() {
      await schedules.stop();
      await retention.stop();
      await deliverer.stop();
      closeSharedAgents();
    },
  };
}
