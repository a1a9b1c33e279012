import type { Handle } from "./handle.js";

/**
 * Named watermarks in the `counters` table that only move forward: the last day a daily pass
 * finished (findings retention, the console's rollup). Several nodes may run a pass; the
 * watermark never moves back, whichever finishes last.
 */

/** The watermark's value, or null when it was never set. */
export async function readWatermark(h: Handle, name: string): Promise<number | null> {
  const row = await h.db.selectFrom("counters").select("value").where("name", "=", name).executeTakeFirst();
  return row ? Number(row.value) : null;
}

/** Sets the watermark to `value` unless it is already there or beyond. */
export async function advanceWatermark(h: Handle, name: string, value: number): Promise<void> {
  await h.db
    .insertInto("counters")
    .values({ name, value })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value }).where("counters.value", "<", value))
    .execute();
}
