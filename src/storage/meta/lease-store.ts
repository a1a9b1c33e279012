import type { Handle } from "./handle.js";

/**
 * Named leases (table leases): a singleton (GC, scheduled database updates) runs only on the
 * process holding its lease. Contract: `acquire` succeeds for the current holder (a renewal)
 * or when the lease is free or expired, atomically (one upsert), so two processes never both
 * hold it; a holder that stops renewing loses it after its ttl.
 */
export class LeaseStore {
  constructor(private readonly h: Handle) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.h.now();
    const row = await this.h.db
      .insertInto("leases")
      .values({ name, holder, expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet({ holder, expires_at: now + ttlMs })
          .where((eb) => eb.or([eb("leases.holder", "=", holder), eb("leases.expires_at", "<", now)])),
      )
      .returning("holder")
      .executeTakeFirst();
    return row?.holder === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.h.db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute();
  }

  /** The current holder, or null when free or expired. */
  async holder(name: string): Promise<string | null> {
    const row = await this.h.db
      .selectFrom("leases")
      .select(["holder", "expires_at"])
      .where("name", "=", name)
      .executeTakeFirst();
    return row && Number(row.expires_at) >= this.h.now() ? row.holder : null;
  }
}
