import { sql, type Selectable } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/**
 * The EventBridge-compatible bus's resources (src/events, src/api/events): event buses, rules
 * and their targets, connections, API destinations, archives, replays and resource tags. Tables
 * in schema.ts (event_buses, event_rules, event_targets, event_connections,
 * event_api_destinations, event_archives, event_archive_events, event_replays, event_tags).
 *
 * Contract:
 * - Names are unique per kind (rules per bus); `put*` methods upsert by name and keep
 *   `createdAt`. Deleting a bus deletes nothing else (the service refuses while it has rules).
 * - Every change to rules, targets, archives, connections or API destinations moves the counter
 *   `counters('event_rules')` in the same transaction (`configVersion` reads it), so every
 *   process's compiled routing table (src/events/router.ts) notices a change made on any node
 *   at its next routing step.
 * - JSON members (`target`, `authParameters`, `destination`) are stored as given and returned
 *   parsed; secrets are returned (the service decides what the API shows).
 * - `archiveEvents` writes in the caller's transaction (the event's), so an archive holds an
 *   event iff the event committed.
 */

export type RuleState = "ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

export interface StoredBus {
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface StoredRule {
  bus: string;
  name: string;
  /** The pattern's JSON text as given (null for a schedule-only rule). */
  eventPattern: string | null;
  /** `rate(...)` or `cron(...)`, null for a pattern rule. */
  scheduleExpression: string | null;
  state: RuleState;
  description: string | null;
  roleArn: string | null;
  /** The account (or user ARN) that created it (DescribeRule's CreatedBy). */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** One target of a rule: the AWS `Target` object as PutTargets gave it (Id, Arn, Input, ...). */
export interface StoredTarget {
  bus: string;
  rule: string;
  id: string;
  arn: string;
  /** The whole Target object (AWS member names), Id and Arn included. */
  target: Record<string, unknown>;
}

export type ConnectionAuthType = "API_KEY" | "BASIC" | "OAUTH_CLIENT_CREDENTIALS";

export interface StoredConnection {
  name: string;
  description: string | null;
  authorizationType: ConnectionAuthType;
  /** The AuthParameters object as given (secrets included). */
  authParameters: Record<string, unknown>;
  /** CREATING | UPDATING | DELETING | AUTHORIZED | DEAUTHORIZED | AUTHORIZING | DEAUTHORIZING */
  state: string;
  stateReason: string | null;
  /** The Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes). */
  signingSecret: string;
  /** The secret before the last rotation: deliveries are signed with both for a day. */
  previousSigningSecret: string | null;
  rotatedAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastAuthorizedAt: number | null;
}

export interface StoredApiDestination {
  name: string;
  description: string | null;
  connectionName: string;
  endpoint: string;
  /** GET | HEAD | POST | OPTIONS | PUT | DELETE | PATCH */
  httpMethod: string;
  invocationRateLimitPerSecond: number;
  /** ACTIVE | INACTIVE */
  state: string;
  createdAt: number;
  updatedAt: number;
}

export interface StoredArchive {
  name: string;
  /** The bus whose events it keeps. */
  bus: string;
  description: string | null;
  eventPattern: string | null;
  /** 0 = indefinitely (as AWS). */
  retentionDays: number;
  /** ENABLED | DISABLED | CREATING | UPDATING | CREATE_FAILED | UPDATE_FAILED */
  state: string;
  createdAt: number;
}

export interface ArchiveStats {
  eventCount: number;
  sizeBytes: number;
}

/** An archived event: its position in event_log (the envelope is read from there). */
export interface ArchivedEvent {
  seq: number;
  /** The event's time (epoch ms), which StartReplay's range selects on. */
  time: number;
  json: string;
}

export type ReplayState = "STARTING" | "RUNNING" | "CANCELLING" | "COMPLETED" | "CANCELLED" | "FAILED";

export interface StoredReplay {
  name: string;
  description: string | null;
  archive: string;
  /** The ReplayDestination object ({Arn, FilterArns?}). */
  destination: Record<string, unknown>;
  eventStartTime: number;
  eventEndTime: number;
  state: ReplayState;
  stateReason: string | null;
  replayStartTime: number | null;
  replayEndTime: number | null;
  /** The time of the last event replayed (DescribeReplay's EventLastReplayedTime). */
  eventLastReplayedTime: number | null;
  /** The seq of the last archived event replayed: where a resumed replay job continues. */
  cursor: number;
}

export interface ListPage<T> {
  items: T[];
  /** Opaque; undefined on the last page. */
  next?: string;
}

export class BusStore {
  constructor(private readonly h: Handle) {}

  // --- buses (the `default` bus always exists: it is not stored, the service adds it) ---
  /** False when a bus of that name exists. */
  async createBus(b: { name: string; description: string | null }): Promise<boolean> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const r = await t.db
        .insertInto("event_buses")
        .values({ name: b.name, description: b.description, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      const created = Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
      if (created) await bump(t);
      return created;
    });
  }

  async getBus(name: string): Promise<StoredBus | undefined> {
    const r = await this.h.db
      .selectFrom("event_buses")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toBus(r);
  }

  async listBuses(q: { namePrefix?: string; limit: number; next?: string }): Promise<ListPage<StoredBus>> {
    let s = this.h.db.selectFrom("event_buses").selectAll();
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toBus), q.limit, (b) => b.name);
  }

  async deleteBus(name: string): Promise<boolean> {
    return this.h.tx((t) => deleteNamed(t, "event_buses", name));
  }

  // --- rules ---
  /** Upserts by (bus, name); an update keeps createdAt and createdBy. */
  async putRule(r: Omit<StoredRule, "createdAt" | "updatedAt">): Promise<StoredRule> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const changes = {
        event_pattern: r.eventPattern,
        schedule_expression: r.scheduleExpression,
        state: r.state,
        description: r.description,
        role_arn: r.roleArn,
        updated_at: now,
      };
      await t.db
        .insertInto("event_rules")
        .values({ bus: r.bus, name: r.name, ...changes, created_by: r.createdBy, created_at: now })
        .onConflict((oc) => oc.columns(["bus", "name"]).doUpdateSet(changes))
        .execute();
      await bump(t);
      return (await new BusStore(t).getRule(r.bus, r.name))!;
    });
  }

  async getRule(bus: string, name: string): Promise<StoredRule | undefined> {
    const r = await this.h.db
      .selectFrom("event_rules")
      .selectAll()
      .where("bus", "=", bus)
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toRule(r);
  }

  async listRules(q: {
    bus: string;
    namePrefix?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredRule>> {
    let s = this.h.db.selectFrom("event_rules").selectAll().where("bus", "=", q.bus);
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toRule), q.limit, (r) => r.name);
  }

  /** Rules of every bus (the routing table and the scheduler load them). */
  async allRules(): Promise<StoredRule[]> {
    const rows = await this.h.db
      .selectFrom("event_rules")
      .selectAll()
      .orderBy("bus")
      .orderBy("name")
      .execute();
    return rows.map(toRule);
  }

  async setRuleState(bus: string, name: string, state: RuleState): Promise<boolean> {
    return this.h.tx(async (t) => {
      const r = await t.db
        .updateTable("event_rules")
        .set({ state, updated_at: t.now() })
        .where("bus", "=", bus)
        .where("name", "=", name)
        .executeTakeFirst();
      const changed = Number(r.numUpdatedRows) === 1;
      if (changed) await bump(t);
      return changed;
    });
  }

  /** Deletes a rule, its targets and its schedule state. */
  async deleteRule(bus: string, name: string): Promise<boolean> {
    return this.h.tx(async (t) => {
      await t.db.deleteFrom("event_targets").where("bus", "=", bus).where("rule", "=", name).execute();
      await t.db.deleteFrom("event_schedules").where("bus", "=", bus).where("rule", "=", name).execute();
      const r = await t.db
        .deleteFrom("event_rules")
        .where("bus", "=", bus)
        .where("name", "=", name)
        .executeTakeFirst();
      await bump(t);
      return Number(r.numDeletedRows) === 1;
    });
  }

  async countRules(bus: string): Promise<number> {
    const r = await this.h.db
      .selectFrom("event_rules")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("bus", "=", bus)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  // --- targets ---
  /** Upserts by (bus, rule, id): each target's `Id` and `Arn` members. */
  async putTargets(bus: string, rule: string, targets: Record<string, unknown>[]): Promise<void> {
    if (!targets.length) return;
    // One row per id, the last given winning: PostgreSQL refuses an upsert that would update
    // one row twice in a statement.
    const unique = [...new Map(targets.map((x) => [String(x.Id), x])).values()];
    await this.h.tx(async (t) => {
      await t.db
        .insertInto("event_targets")
        .values(
          unique.map((x) => ({
            bus,
            rule,
            id: String(x.Id),
            arn: String(x.Arn),
            json: JSON.stringify(x),
          })),
        )
        .onConflict((oc) =>
          oc
            .columns(["bus", "rule", "id"])
            .doUpdateSet((eb) => ({ arn: eb.ref("excluded.arn"), json: eb.ref("excluded.json") })),
        )
        .execute();
      await bump(t);
    });
  }

  async listTargets(q: {
    bus: string;
    rule: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredTarget>> {
    let s = this.h.db
      .selectFrom("event_targets")
      .selectAll()
      .where("bus", "=", q.bus)
      .where("rule", "=", q.rule);
    if (q.next !== undefined) s = s.where(ordered(this.h, "id"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "id"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toTarget), q.limit, (x) => x.id);
  }

  /** Targets of every rule (the routing table loads them). */
  async allTargets(): Promise<StoredTarget[]> {
    const rows = await this.h.db
      .selectFrom("event_targets")
      .selectAll()
      .orderBy("bus")
      .orderBy("rule")
      .orderBy("id")
      .execute();
    return rows.map(toTarget);
  }

  /** Removes the named targets; returns the ids that existed (in the order given). */
  async removeTargets(bus: string, rule: string, ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    return this.h.tx(async (t) => {
      const existing = await t.db
        .deleteFrom("event_targets")
        .where("bus", "=", bus)
        .where("rule", "=", rule)
        .where("id", "in", ids)
        .returning("id")
        .execute();
      const gone = new Set(existing.map((r) => r.id));
      if (gone.size) await bump(t);
      return [...new Set(ids)].filter((id) => gone.has(id));
    });
  }

  async countTargets(bus: string, rule: string): Promise<number> {
    const r = await this.h.db
      .selectFrom("event_targets")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("bus", "=", bus)
      .where("rule", "=", rule)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Names of the bus's rules with a target of this ARN (ListRuleNamesByTarget), in name order. */
  async ruleNamesByTarget(q: {
    bus: string;
    arn: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<string>> {
    let s = this.h.db
      .selectFrom("event_targets")
      .select("rule")
      // Grouped rather than DISTINCT: PostgreSQL's DISTINCT cannot order by `rule collate "C"`.
      .groupBy("rule")
      .where("arn", "=", q.arn)
      .where("bus", "=", q.bus);
    if (q.next !== undefined) s = s.where(ordered(this.h, "rule"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "rule"))
      .limit(q.limit + 1)
      .execute();
    return page(
      rows.map((r) => r.rule),
      q.limit,
      (r) => r,
    );
  }

  // --- connections ---
  /** Upserts by name; an update keeps createdAt. */
  async putConnection(c: Omit<StoredConnection, "createdAt" | "updatedAt">): Promise<StoredConnection> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const changes = {
        description: c.description,
        authorization_type: c.authorizationType,
        auth_parameters: JSON.stringify(c.authParameters),
        state: c.state,
        state_reason: c.stateReason,
        signing_secret: c.signingSecret,
        previous_signing_secret: c.previousSigningSecret,
        rotated_at: c.rotatedAt,
        last_authorized_at: c.lastAuthorizedAt,
        updated_at: now,
      };
      await t.db
        .insertInto("event_connections")
        .values({ name: c.name, ...changes, created_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet(changes))
        .execute();
      await bump(t);
      return (await new BusStore(t).getConnection(c.name))!;
    });
  }

  async getConnection(name: string): Promise<StoredConnection | undefined> {
    const r = await this.h.db
      .selectFrom("event_connections")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toConnection(r);
  }

  async listConnections(q: {
    namePrefix?: string;
    state?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredConnection>> {
    let s = this.h.db.selectFrom("event_connections").selectAll();
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.state !== undefined) s = s.where("state", "=", q.state);
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toConnection), q.limit, (c) => c.name);
  }

  async deleteConnection(name: string): Promise<boolean> {
    return this.h.tx((t) => deleteNamed(t, "event_connections", name));
  }

  /** Sets a new signing secret, keeping the current one as previous (rotatedAt = now). */
  async rotateSigningSecret(name: string, secret: string): Promise<StoredConnection | undefined> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const r = await t.db
        .updateTable("event_connections")
        .set((eb) => ({
          previous_signing_secret: eb.ref("signing_secret"),
          signing_secret: secret,
          rotated_at: now,
          updated_at: now,
        }))
        .where("name", "=", name)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return undefined;
      await bump(t);
      return new BusStore(t).getConnection(name);
    });
  }

  // --- API destinations ---
  /** Upserts by name; an update keeps createdAt. */
  async putApiDestination(
    d: Omit<StoredApiDestination, "createdAt" | "updatedAt">,
  ): Promise<StoredApiDestination> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const changes = {
        description: d.description,
        connection_name: d.connectionName,
        endpoint: d.endpoint,
        http_method: d.httpMethod,
        invocation_rate_limit_per_second: d.invocationRateLimitPerSecond,
        state: d.state,
        updated_at: now,
      };
      await t.db
        .insertInto("event_api_destinations")
        .values({ name: d.name, ...changes, created_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet(changes))
        .execute();
      await bump(t);
      return (await new BusStore(t).getApiDestination(d.name))!;
    });
  }

  async getApiDestination(name: string): Promise<StoredApiDestination | undefined> {
    const r = await this.h.db
      .selectFrom("event_api_destinations")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toApiDestination(r);
  }

  async listApiDestinations(q: {
    namePrefix?: string;
    connectionName?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredApiDestination>> {
    let s = this.h.db.selectFrom("event_api_destinations").selectAll();
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.connectionName !== undefined) s = s.where("connection_name", "=", q.connectionName);
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toApiDestination), q.limit, (d) => d.name);
  }

  async deleteApiDestination(name: string): Promise<boolean> {
    return this.h.tx((t) => deleteNamed(t, "event_api_destinations", name));
  }

  // --- archives and replays ---
  /** Upserts by name; an update keeps createdAt. */
  async putArchive(a: Omit<StoredArchive, "createdAt">): Promise<StoredArchive> {
    return this.h.tx(async (t) => {
      const changes = {
        bus: a.bus,
        description: a.description,
        event_pattern: a.eventPattern,
        retention_days: a.retentionDays,
        state: a.state,
      };
      await t.db
        .insertInto("event_archives")
        .values({ name: a.name, ...changes, created_at: t.now() })
        .onConflict((oc) => oc.column("name").doUpdateSet(changes))
        .execute();
      await bump(t);
      return (await new BusStore(t).getArchive(a.name))!;
    });
  }

  async getArchive(name: string): Promise<StoredArchive | undefined> {
    const r = await this.h.db
      .selectFrom("event_archives")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toArchive(r);
  }

  async listArchives(q: {
    namePrefix?: string;
    bus?: string;
    state?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredArchive>> {
    let s = this.h.db.selectFrom("event_archives").selectAll();
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.bus !== undefined) s = s.where("bus", "=", q.bus);
    if (q.state !== undefined) s = s.where("state", "=", q.state);
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toArchive), q.limit, (a) => a.name);
  }

  /** Deletes the archive and the events it holds. */
  async deleteArchive(name: string): Promise<boolean> {
    return this.h.tx(async (t) => {
      await t.db.deleteFrom("event_archive_events").where("archive", "=", name).execute();
      return deleteNamed(t, "event_archives", name);
    });
  }

  async allArchives(): Promise<StoredArchive[]> {
    const rows = await this.h.db.selectFrom("event_archives").selectAll().orderBy("name").execute();
    return rows.map(toArchive);
  }

  /**
   * Records that these archives hold the event `seq` (caller's transaction: the event's).
   * Idempotent: a row already there is kept.
   */
  async archiveEvents(rows: { archive: string; seq: number; time: number; size: number }[]): Promise<void> {
    // 4 parameters a row: well under SQLite's 32,766 per statement.
    const BATCH = 1000;
    for (let i = 0; i < rows.length; i += BATCH)
      await this.h.db
        .insertInto("event_archive_events")
        .values(rows.slice(i, i + BATCH))
        .onConflict((oc) => oc.columns(["archive", "seq"]).doNothing())
        .execute();
  }

  async archiveStats(name: string): Promise<ArchiveStats> {
    const r = await this.h.db
      .selectFrom("event_archive_events")
      .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.sum<number>("size").as("bytes")])
      .where("archive", "=", name)
      .executeTakeFirst();
    return { eventCount: Number(r?.n ?? 0), sizeBytes: Number(r?.bytes ?? 0) };
  }

  /** Archived events with seq > afterSeq and time in [start, end], oldest (lowest seq) first. */
  async archivedEvents(q: {
    archive: string;
    afterSeq: number;
    start: number;
    end: number;
    limit: number;
  }): Promise<ArchivedEvent[]> {
    const rows = await this.h.db
      .selectFrom("event_archive_events as a")
      .innerJoin("event_log as l", "l.seq", "a.seq")
      .select(["a.seq", "a.time", "l.json"])
      .where("a.archive", "=", q.archive)
      .where("a.seq", ">", q.afterSeq)
      .where("a.time", ">=", q.start)
      .where("a.time", "<=", q.end)
      .orderBy("a.seq")
      .limit(q.limit)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), time: Number(r.time), json: r.json }));
  }

  /** Removes archived events older than each archive's retention (0: kept forever); returns how many. */
  async purgeArchives(now: number): Promise<number> {
    const archives = await this.h.db
      .selectFrom("event_archives")
      .select(["name", "retention_days"])
      .where("retention_days", ">", 0)
      .execute();
    let removed = 0;
    for (const a of archives) {
      const r = await this.h.db
        .deleteFrom("event_archive_events")
        .where("archive", "=", a.name)
        .where("time", "<", now - Number(a.retention_days) * DAY_MS)
        .executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }

  /** False when a replay of that name exists. */
  async createReplay(
    r: Omit<StoredReplay, "replayStartTime" | "replayEndTime" | "eventLastReplayedTime" | "cursor">,
  ): Promise<boolean> {
    const res = await this.h.db
      .insertInto("event_replays")
      .values({
        name: r.name,
        description: r.description,
        archive: r.archive,
        destination: JSON.stringify(r.destination),
        event_start_time: r.eventStartTime,
        event_end_time: r.eventEndTime,
        state: r.state,
        state_reason: r.stateReason,
        replay_start_time: null,
        replay_end_time: null,
        event_last_replayed_time: null,
        cursor: 0,
      })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async getReplay(name: string): Promise<StoredReplay | undefined> {
    const r = await this.h.db
      .selectFrom("event_replays")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r && toReplay(r);
  }

  async listReplays(q: {
    namePrefix?: string;
    state?: string;
    archive?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredReplay>> {
    let s = this.h.db.selectFrom("event_replays").selectAll();
    if (q.namePrefix) s = s.where(prefix("name", q.namePrefix));
    if (q.state !== undefined) s = s.where("state", "=", q.state);
    if (q.archive !== undefined) s = s.where("archive", "=", q.archive);
    if (q.next !== undefined) s = s.where(ordered(this.h, "name"), ">", q.next);
    const rows = await s
      .orderBy(ordered(this.h, "name"))
      .limit(q.limit + 1)
      .execute();
    return page(rows.map(toReplay), q.limit, (r) => r.name);
  }

  /** Updates a replay's progress or state (only the given members); false when there is no such replay. */
  async updateReplay(
    name: string,
    u: Partial<
      Pick<
        StoredReplay,
        "state" | "stateReason" | "replayStartTime" | "replayEndTime" | "eventLastReplayedTime" | "cursor"
      >
    >,
  ): Promise<boolean> {
    const set: Partial<Database["event_replays"]> = {};
    if (u.state !== undefined) set.state = u.state;
    if (u.stateReason !== undefined) set.state_reason = u.stateReason;
    if (u.replayStartTime !== undefined) set.replay_start_time = u.replayStartTime;
    if (u.replayEndTime !== undefined) set.replay_end_time = u.replayEndTime;
    if (u.eventLastReplayedTime !== undefined) set.event_last_replayed_time = u.eventLastReplayedTime;
    if (u.cursor !== undefined) set.cursor = u.cursor;
    if (!Object.keys(set).length) return (await this.getReplay(name)) !== undefined;
    const r = await this.h.db
      .updateTable("event_replays")
      .set(set)
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // --- tags (any resource ARN of the bus: rules, buses, connections, destinations, archives) ---
  async tags(arn: string): Promise<Record<string, string>> {
    const rows = await this.h.db
      .selectFrom("event_tags")
      .select(["key", "value"])
      .where("arn", "=", arn)
      .orderBy("key")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async tagResource(arn: string, tags: Record<string, string>): Promise<void> {
    const rows = Object.entries(tags).map(([key, value]) => ({ arn, key, value }));
    if (!rows.length) return;
    await this.h.db
      .insertInto("event_tags")
      .values(rows)
      .onConflict((oc) =>
        oc.columns(["arn", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })),
      )
      .execute();
  }

  async untagResource(arn: string, keys: string[]): Promise<void> {
    if (!keys.length) return;
    await this.h.db.deleteFrom("event_tags").where("arn", "=", arn).where("key", "in", keys).execute();
  }

  /** Removes every tag of a deleted resource. */
  async dropTags(arn: string): Promise<void> {
    await this.h.db.deleteFrom("event_tags").where("arn", "=", arn).execute();
  }

  // --- schedules ---
  /**
   * The last time a scheduled rule fired (epoch ms; undefined: never). `markScheduleFired`
   * moves it only forward, from `previous` to `at` (compare and set): of two schedulers that
   * race for one firing, exactly one gets true and emits the event.
   */
  async scheduleFiredAt(bus: string, rule: string): Promise<number | undefined> {
    const r = await this.h.db
      .selectFrom("event_schedules")
      .select("fired_at")
      .where("bus", "=", bus)
      .where("rule", "=", rule)
      .executeTakeFirst();
    return r ? Number(r.fired_at) : undefined;
  }

  async markScheduleFired(
    bus: string,
    rule: string,
    previous: number | undefined,
    at: number,
  ): Promise<boolean> {
    if (previous === undefined) {
      // The first firing: the insert that finds a row already there (another scheduler's) loses.
      const r = await this.h.db
        .insertInto("event_schedules")
        .values({ bus, rule, fired_at: at })
        .onConflict((oc) => oc.columns(["bus", "rule"]).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    }
    if (at <= previous) return false;
    // PostgreSQL: a racing update waits for the winner's row lock, then re-checks fired_at
    // (READ COMMITTED) and updates nothing; SQLite has one writer at a time.
    const r = await this.h.db
      .updateTable("event_schedules")
      .set({ fired_at: at })
      .where("bus", "=", bus)
      .where("rule", "=", rule)
      .where("fired_at", "=", previous)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** counters('event_rules'): moves with every change that affects routing. */
  async configVersion(): Promise<number> {
    const r = await this.h.db
      .selectFrom("counters")
      .select("value")
      .where("name", "=", "event_rules")
      .executeTakeFirst();
    return Number(r?.value ?? 0);
  }
}

const DAY_MS = 86_400_000;

/** Moves the routing configuration's version, in the transaction of the change. */
/** Deletes the named row of a table keyed by name; the configuration version moves if it existed. */
async function deleteNamed(
  t: Handle,
  table: "event_buses" | "event_connections" | "event_api_destinations" | "event_archives",
  name: string,
): Promise<boolean> {
  const r = await t.db.deleteFrom(table).where("name", "=", name).executeTakeFirst();
  const deleted = Number(r.numDeletedRows) === 1;
  if (deleted) await bump(t);
  return deleted;
}

async function bump(t: Handle): Promise<void> {
  await t.db
    .updateTable("counters")
    .set((eb) => ({ value: eb("value", "+", 1) }))
    .where("name", "=", "event_rules")
    .execute();
}

/**
 * `column` starts with `p`, compared exactly (SQLite's LIKE ignores ASCII case, and both
 * dialects' LIKE would need `%`/`_` escaped).
 */
function prefix(column: string, p: string) {
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${p.length}) = ${p}`;
}

/**
 * A name column as lists order and page it: byte order on both dialects (PostgreSQL's database
 * collation, e.g. en_US, would order `a-b`, `a_b` and `aB` otherwise than SQLite). The paging
 * comparison uses the same expression, so pages stay consistent whatever it is.
 */
function ordered(h: Handle, column: string) {
  return h.dialect === "postgres"
    ? sql<string>`${sql.ref(column)} collate "C"`
    : sql<string>`${sql.ref(column)}`;
}

/** Keeps `limit` items; `next` is the last one's key when more follow. */
function page<T>(rows: T[], limit: number, key: (t: T) => string): ListPage<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: key(items.at(-1)!) };
}

function toBus(r: Selectable<Database["event_buses"]>): StoredBus {
  return {
    name: r.name,
    description: r.description,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toRule(r: Selectable<Database["event_rules"]>): StoredRule {
  return {
    bus: r.bus,
    name: r.name,
    eventPattern: r.event_pattern,
    scheduleExpression: r.schedule_expression,
    state: r.state as RuleState,
    description: r.description,
    roleArn: r.role_arn,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toTarget(r: Selectable<Database["event_targets"]>): StoredTarget {
  return {
    bus: r.bus,
    rule: r.rule,
    id: r.id,
    arn: r.arn,
    target: JSON.parse(r.json) as Record<string, unknown>,
  };
}

function toConnection(r: Selectable<Database["event_connections"]>): StoredConnection {
  return {
    name: r.name,
    description: r.description,
    authorizationType: r.authorization_type as ConnectionAuthType,
    authParameters: JSON.parse(r.auth_parameters) as Record<string, unknown>,
    state: r.state,
    stateReason: r.state_reason,
    signingSecret: r.signing_secret,
    previousSigningSecret: r.previous_signing_secret,
    rotatedAt: nullableNumber(r.rotated_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    lastAuthorizedAt: nullableNumber(r.last_authorized_at),
  };
}

function toApiDestination(r: Selectable<Database["event_api_destinations"]>): StoredApiDestination {
  return {
    name: r.name,
    description: r.description,
    connectionName: r.connection_name,
    endpoint: r.endpoint,
    httpMethod: r.http_method,
    invocationRateLimitPerSecond: Number(r.invocation_rate_limit_per_second),
    state: r.state,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toArchive(r: Selectable<Database["event_archives"]>): StoredArchive {
  return {
    name: r.name,
    bus: r.bus,
    description: r.description,
    eventPattern: r.event_pattern,
    retentionDays: Number(r.retention_days),
    state: r.state,
    createdAt: Number(r.created_at),
  };
}

function toReplay(r: Selectable<Database["event_replays"]>): StoredReplay {
  return {
    name: r.name,
    description: r.description,
    archive: r.archive,
    destination: JSON.parse(r.destination) as Record<string, unknown>,
    eventStartTime: Number(r.event_start_time),
    eventEndTime: Number(r.event_end_time),
    state: r.state as ReplayState,
    stateReason: r.state_reason,
    replayStartTime: nullableNumber(r.replay_start_time),
    replayEndTime: nullableNumber(r.replay_end_time),
    eventLastReplayedTime: nullableNumber(r.event_last_replayed_time),
    cursor: Number(r.cursor),
  };
}

function nullableNumber(v: number | null): number | null {
  return v === null ? null : Number(v);
}
