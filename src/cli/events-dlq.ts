import { ConfigError } from "../core/errors.js";
import type { DeadLetterQuery } from "../storage/meta/store.js";
import { withMetaStore } from "./meta.js";

/**
 * `drydock events dlq list|redrive` (options: main.ts): the dead-letter stores of the event bus,
 * where deliveries land when their target's retry policy gives up. `redrive` queues the selected
 * letters as deliveries again, due now with a fresh retry budget; a running server (any node)
 * sends them. Safe while the server runs: both are single transactions on the shared database.
 */

export interface DlqOptions {
  config?: string;
  data?: string;
  queue?: string;
  bus?: string;
  rule?: string;
  target?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

export async function dlqList(opts: DlqOptions): Promise<void> {
  await withMetaStore(opts, async (meta) => {
    const q = query(opts);
    const limit = opts.limit !== undefined ? positive(opts.limit, "--limit") : 100;
    const letters = await meta.deliveries.deadLetters({ ...q, limit });
    const total = await meta.deliveries.countDeadLetters(q);
    if (opts.json) {
      for (const l of letters)
        process.stdout.write(
          JSON.stringify({
            id: l.id,
            queue: l.queue,
            bus: l.bus,
            rule: l.rule,
            targetId: l.targetId,
            targetArn: l.targetArn,
            attempts: l.attempts,
            errorCode: l.errorCode,
            errorMessage: l.errorMessage,
            deadAt: new Date(l.deadAt).toISOString(),
            event: JSON.parse(l.eventJson) as unknown,
          }) + "\n",
        );
      return;
    }
    process.stdout.write(
      `${total} dead letter${total === 1 ? "" : "s"}${total > letters.length ? ` (first ${letters.length})` : ""}\n`,
    );
    for (const l of letters) {
      const e = JSON.parse(l.eventJson) as { id?: string; "detail-type"?: string };
      process.stdout.write(
        `${new Date(l.deadAt).toISOString()}  ${l.queue}  rule ${l.bus}/${l.rule}  target ${l.targetId}  ` +
          `event ${e.id ?? "?"} (${e["detail-type"] ?? "?"})  ${l.attempts} attempts  ${l.errorCode}: ${l.errorMessage}\n`,
      );
    }
  });
}

export async function dlqRedrive(opts: DlqOptions): Promise<void> {
  await withMetaStore(opts, async (meta) => {
    const n = await meta.deliveries.redrive(query(opts));
    process.stdout.write(`${n} dead letter${n === 1 ? "" : "s"} queued for delivery again\n`);
  });
}

function query(opts: DlqOptions): Omit<DeadLetterQuery, "limit" | "afterId"> {
  let since: number | undefined;
  if (opts.since !== undefined) {
    since = Date.parse(opts.since);
    if (!Number.isFinite(since))
      throw new ConfigError(`--since must be a date and time (ISO 8601), got ${opts.since}`);
  }
  return { queue: opts.queue, bus: opts.bus, rule: opts.rule, targetId: opts.target, since };
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`${flag} must be a whole number above 0, got ${v}`);
  return n;
}
