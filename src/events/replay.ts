import type { Logger } from "../core/logger.js";
import type { Commit, Job, JobHandler } from "../jobs/worker.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";
import { rerouteEvents } from "./log.js";

/**
 * StartReplay's work (job kind `events-replay`, key = the replay's name, queued by the API with
 * the replay's record): the archive's events in the replay's time range go to the destination
 * bus's rules again (all, or those FilterArns names), with `replay-name` added to each, as
 * EventBridge does. One page of events per job, whose commit writes the page's deliveries, the
 * replay's progress (cursor) and the job for the next page in one transaction: a crash resumes
 * at the last committed page and never delivers a page twice. CancelReplay sets CANCELLING; the
 * next page sees it and ends the replay CANCELLED.
 */

export const REPLAY_JOB = "events-replay";
const PAGE = 500;

interface ReplayPayload {
  name: string;
}

export function replayJobHandlers(
  meta: MetaStore,
  o: { log?: Logger; now?: () => number },
): Record<string, JobHandler<ReplayPayload>> {
  const now = o.now ?? Date.now;
  const handler: JobHandler<ReplayPayload> = {
    async run(job: Job<ReplayPayload>): Promise<Commit> {
      const replay = await meta.bus.getReplay(job.payload.name);
      if (
        !replay ||
        replay.state === "COMPLETED" ||
        replay.state === "CANCELLED" ||
        replay.state === "FAILED"
      )
        return async () => undefined;
      if (replay.state === "CANCELLING")
        return async (tx) => {
          await tx.bus.updateReplay(replay.name, { state: "CANCELLED", replayEndTime: now() });
        };
      const archive = await meta.bus.getArchive(replay.archive);
      if (!archive)
        return async (tx) => {
          await tx.bus.updateReplay(replay.name, {
            state: "FAILED",
            stateReason: `Archive ${replay.archive} does not exist.`,
            replayEndTime: now(),
          });
        };
      const page = await meta.bus.archivedEvents({
        archive: archive.name,
        afterSeq: replay.cursor,
        start: replay.eventStartTime,
        end: replay.eventEndTime,
        limit: PAGE,
      });
      const bus = destinationBus(replay.destination) ?? archive.bus;
      const rules = filterRules(replay.destination);
      return async (tx) => {
        const current = await tx.bus.getReplay(replay.name);
        if (
          !current ||
          current.cursor !== replay.cursor ||
          (current.state !== "STARTING" && current.state !== "RUNNING")
        )
          return; // cancelled or advanced meanwhile: the next job decides
        const events = page.map((e) => ({
          seq: e.seq,
          event: { ...(JSON.parse(e.json) as EventEnvelope), "replay-name": replay.name } as EventEnvelope,
        }));
        await rerouteEvents(tx, bus, events, rules);
        const last = page.at(-1);
        const done = page.length < PAGE;
        await tx.bus.updateReplay(replay.name, {
          state: done ? "COMPLETED" : "RUNNING",
          replayStartTime: current.replayStartTime ?? now(),
          ...(done ? { replayEndTime: now() } : {}),
          ...(last ? { cursor: last.seq, eventLastReplayedTime: last.time } : {}),
        });
        if (!done)
          await tx.jobs.enqueue({ kind: REPLAY_JOB, key: replay.name, payload: { name: replay.name } });
      };
    },
    isTransient: () => true,
    async failed(tx, job, reason) {
      await tx.bus.updateReplay(job.payload.name, {
        state: "FAILED",
        stateReason: reason.slice(0, 500),
        replayEndTime: now(),
      });
      o.log?.warn({ replay: job.payload.name, reason }, "event replay failed");
    },
  };
  return { [REPLAY_JOB]: handler };
}

/** `arn:aws:events:<region>:<account>:event-bus/<name>` → name. */
function destinationBus(d: Record<string, unknown>): string | undefined {
  const arn = typeof d.Arn === "string" ? d.Arn : "";
  const m = /:event-bus\/([^/]+)$/.exec(arn);
  return m?.[1];
}

/** FilterArns (rule ARNs: `rule/<name>` or `rule/<bus>/<name>`) → rule names; undefined = all. */
function filterRules(d: Record<string, unknown>): Set<string> | undefined {
  const arns = Array.isArray(d.FilterArns) ? (d.FilterArns as unknown[]) : [];
  if (!arns.length) return undefined;
  return new Set(
    arns.filter((a): a is string => typeof a === "string").map((a) => a.slice(a.lastIndexOf("/") + 1)),
  );
}
