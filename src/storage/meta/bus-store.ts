import type { Handle } from "./handle.js";

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
  createBus(_b: { name: string; description: string | null }): Promise<boolean> {
    return notYet(this.h);
  }
  getBus(_name: string): Promise<StoredBus | undefined> {
    return notYet(this.h);
  }
  listBuses(_q: { namePrefix?: string; limit: number; next?: string }): Promise<ListPage<StoredBus>> {
    return notYet(this.h);
  }
  deleteBus(_name: string): Promise<boolean> {
    return notYet(this.h);
  }

  // --- rules ---
  putRule(_r: Omit<StoredRule, "createdAt" | "updatedAt">): Promise<StoredRule> {
    return notYet(this.h);
  }
  getRule(_bus: string, _name: string): Promise<StoredRule | undefined> {
    return notYet(this.h);
  }
  listRules(_q: {
    bus: string;
    namePrefix?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredRule>> {
    return notYet(this.h);
  }
  /** Rules of every bus (the routing table and the scheduler load them). */
  allRules(): Promise<StoredRule[]> {
    return notYet(this.h);
  }
  setRuleState(_bus: string, _name: string, _state: RuleState): Promise<boolean> {
    return notYet(this.h);
  }
  /** Deletes a rule and its targets. */
  deleteRule(_bus: string, _name: string): Promise<boolean> {
    return notYet(this.h);
  }
  countRules(_bus: string): Promise<number> {
    return notYet(this.h);
  }

  // --- targets ---
  /** Upserts by (bus, rule, id). */
  putTargets(_bus: string, _rule: string, _targets: Record<string, unknown>[]): Promise<void> {
    return notYet(this.h);
  }
  listTargets(_q: {
    bus: string;
    rule: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredTarget>> {
    return notYet(this.h);
  }
  /** Targets of every rule (the routing table loads them). */
  allTargets(): Promise<StoredTarget[]> {
    return notYet(this.h);
  }
  /** Removes the named targets; returns the ids that existed. */
  removeTargets(_bus: string, _rule: string, _ids: string[]): Promise<string[]> {
    return notYet(this.h);
  }
  countTargets(_bus: string, _rule: string): Promise<number> {
    return notYet(this.h);
  }
  /** Names of the bus's rules with a target of this ARN (ListRuleNamesByTarget). */
  ruleNamesByTarget(_q: {
    bus: string;
    arn: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<string>> {
    return notYet(this.h);
  }

  // --- connections ---
  putConnection(_c: Omit<StoredConnection, "createdAt" | "updatedAt">): Promise<StoredConnection> {
    return notYet(this.h);
  }
  getConnection(_name: string): Promise<StoredConnection | undefined> {
    return notYet(this.h);
  }
  listConnections(_q: {
    namePrefix?: string;
    state?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredConnection>> {
    return notYet(this.h);
  }
  deleteConnection(_name: string): Promise<boolean> {
    return notYet(this.h);
  }
  /** Sets a new signing secret, keeping the current one as previous (rotatedAt = now). */
  rotateSigningSecret(_name: string, _secret: string): Promise<StoredConnection | undefined> {
    return notYet(this.h);
  }

  // --- API destinations ---
  putApiDestination(
    _d: Omit<StoredApiDestination, "createdAt" | "updatedAt">,
  ): Promise<StoredApiDestination> {
    return notYet(this.h);
  }
  getApiDestination(_name: string): Promise<StoredApiDestination | undefined> {
    return notYet(this.h);
  }
  listApiDestinations(_q: {
    namePrefix?: string;
    connectionName?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredApiDestination>> {
    return notYet(this.h);
  }
  deleteApiDestination(_name: string): Promise<boolean> {
    return notYet(this.h);
  }

  // --- archives and replays ---
  putArchive(_a: Omit<StoredArchive, "createdAt">): Promise<StoredArchive> {
    return notYet(this.h);
  }
  getArchive(_name: string): Promise<StoredArchive | undefined> {
    return notYet(this.h);
  }
  listArchives(_q: {
    namePrefix?: string;
    bus?: string;
    state?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredArchive>> {
    return notYet(this.h);
  }
  /** Deletes the archive and the events it holds. */
  deleteArchive(_name: string): Promise<boolean> {
    return notYet(this.h);
  }
  allArchives(): Promise<StoredArchive[]> {
    return notYet(this.h);
  }
  /** Records that these archives hold the event `seq` (caller's transaction: the event's). */
  archiveEvents(_rows: { archive: string; seq: number; time: number; size: number }[]): Promise<void> {
    return notYet(this.h);
  }
  archiveStats(_name: string): Promise<ArchiveStats> {
    return notYet(this.h);
  }
  /** Archived events with seq > afterSeq and time in [start, end], oldest first. */
  archivedEvents(_q: {
    archive: string;
    afterSeq: number;
    start: number;
    end: number;
    limit: number;
  }): Promise<ArchivedEvent[]> {
    return notYet(this.h);
  }
  /** Removes archived events older than each archive's retention; returns how many. */
  purgeArchives(_now: number): Promise<number> {
    return notYet(this.h);
  }
  createReplay(
    _r: Omit<StoredReplay, "replayStartTime" | "replayEndTime" | "eventLastReplayedTime" | "cursor">,
  ): Promise<boolean> {
    return notYet(this.h);
  }
  getReplay(_name: string): Promise<StoredReplay | undefined> {
    return notYet(this.h);
  }
  listReplays(_q: {
    namePrefix?: string;
    state?: string;
    archive?: string;
    limit: number;
    next?: string;
  }): Promise<ListPage<StoredReplay>> {
    return notYet(this.h);
  }
  /** Updates a replay's progress or state (only the given members). */
  updateReplay(
    _name: string,
    _u: Partial<
      Pick<
        StoredReplay,
        "state" | "stateReason" | "replayStartTime" | "replayEndTime" | "eventLastReplayedTime" | "cursor"
      >
    >,
  ): Promise<boolean> {
    return notYet(this.h);
  }

  // --- tags (any resource ARN of the bus: rules, buses, connections, destinations, archives) ---
  tags(_arn: string): Promise<Record<string, string>> {
    return notYet(this.h);
  }
  tagResource(_arn: string, _tags: Record<string, string>): Promise<void> {
    return notYet(this.h);
  }
  untagResource(_arn: string, _keys: string[]): Promise<void> {
    return notYet(this.h);
  }
  /** Removes every tag of a deleted resource. */
  dropTags(_arn: string): Promise<void> {
    return notYet(this.h);
  }

  // --- schedules ---
  /**
   * The last time a scheduled rule fired (epoch ms; undefined: never). `markScheduleFired`
   * moves it only forward, from `previous` to `at` (compare and set): of two schedulers that
   * race for one firing, exactly one gets true and emits the event.
   */
  scheduleFiredAt(_bus: string, _rule: string): Promise<number | undefined> {
    return notYet(this.h);
  }
  markScheduleFired(
    _bus: string,
    _rule: string,
    _previous: number | undefined,
    _at: number,
  ): Promise<boolean> {
    return notYet(this.h);
  }

  /** counters('event_rules'): moves with every change that affects routing. */
  configVersion(): Promise<number> {
    return notYet(this.h);
  }
}

function notYet(_h: Handle): never {
  throw new Error("BusStore: not implemented yet");
}
