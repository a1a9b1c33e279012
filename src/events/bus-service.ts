import { randomUUID } from "node:crypto";
import type { Logger } from "../core/logger.js";
import type {
  ConnectionAuthType,
  ListPage,
  RuleState,
  StoredApiDestination,
  StoredArchive,
  StoredBus,
  StoredConnection,
  StoredReplay,
  StoredRule,
  StoredTarget,
} from "../storage/meta/bus-store.js";
import type { MetaStore } from "../storage/meta/store.js";
import {
  apiDestinationArn,
  archiveArn,
  busArn,
  busNameOf,
  connectionArn,
  parseEventsArn,
  replayArn,
  ruleArn,
} from "./bus-arns.js";
import { isoSeconds, type AwsIdentity, type EventEnvelope } from "./envelope.js";
import { InvalidTargetInputError, validateTargetInput } from "./input/index.js";
import { appendEvents } from "./log.js";
import { InvalidEventPatternError, matches, parseEventPattern } from "./pattern/index.js";
import {
  parseScheduleExpression,
  SCHEDULE_ONLY_ON_DEFAULT_BUS,
  ScheduleExpressionError,
} from "./schedule/index.js";
import { parseDeadLetterArn, parseTargetArn } from "./targets/arn.js";
import { newSigningSecret } from "./webhook-signature.js";

/**
 * The EventBridge-compatible bus's control plane: what the EventBridge API (src/api/events)
 * does, without the wire. Members arrive already checked for type, length and pattern (the
 * API's shapes); this class checks what depends on stored state or on the content of a member
 * (patterns, schedules, target ARNs, inputs), and changes the stores in one transaction per
 * operation, so a refused request changes nothing. Errors are BusError with EventBridge's error
 * name and text; the API sends them as they are.
 *
 * The `default` bus always exists and is not stored.
 */

export class BusError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "BusError";
  }
}

const validation = (message: string) => new BusError("ValidationException", message);
const notFound = (message: string) => new BusError("ResourceNotFoundException", message);
const exists = (message: string) => new BusError("ResourceAlreadyExistsException", message);

/** EventBridge's quotas that Drydock keeps (targets per rule is AWS's fixed limit). */
export const MAX_TARGETS_PER_RULE = 5;
/** PutEvents: the entries' total size (AWS's entry-size calculation) must stay within 256 KB. */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;
/** The last second of the year 9999: the latest PutEvents `Time` an ISO-8601 envelope can carry. */
const MAX_EVENT_TIME_SECONDS = 253_402_300_799;
/** An API destination's default invocation rate (AWS's default). */
export const DEFAULT_INVOCATION_RATE = 300;

export type Tags = { Key: string; Value: string }[];

export interface PutRuleInput {
  name: string;
  bus?: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state?: RuleState;
  description?: string;
  roleArn?: string;
  tags?: Tags;
}

export interface PageQuery {
  namePrefix?: string;
  limit?: number;
  nextToken?: string;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export interface FailedTarget {
  TargetId: string;
  ErrorCode: string;
  ErrorMessage: string;
}

export interface PutEventsEntry {
  Time?: number;
  Source?: string;
  Resources?: string[];
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  TraceHeader?: string;
}

export type PutEventsResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface ConnectionInput {
  name: string;
  description?: string;
  authorizationType: ConnectionAuthType;
  authParameters: Record<string, unknown>;
}

export interface ApiDestinationInput {
  name: string;
  description?: string;
  connectionArn: string;
  invocationEndpoint: string;
  httpMethod: string;
  invocationRateLimitPerSecond?: number;
}

export interface ArchiveInput {
  name: string;
  eventSourceArn: string;
  description?: string;
  eventPattern?: string;
  retentionDays?: number;
}

export interface ReplayInput {
  name: string;
  description?: string;
  eventSourceArn: string;
  eventStartTime: number;
  eventEndTime: number;
  destination: { Arn: string; FilterArns?: string[] };
}

/** A rule with its ARN, as DescribeRule shows it. */
export interface RuleView extends StoredRule {
  arn: string;
}

export interface BusServiceOptions {
  identity: AwsIdentity;
  log: Logger;
  /** The names of `events.commands` (command targets may name only these). */
  commands?: () => Iterable<string>;
  now?: () => number;
}

/** A page token: the store's opaque token (and whether the default bus was shown), wrapped. */
interface TokenState {
  n?: string;
  /** ListEventBuses: the default bus (not stored) was already listed. */
  d?: boolean;
}

function encodeToken(s: TokenState): string {
  return Buffer.from(JSON.stringify({ v: 1, ...s })).toString("base64url");
}

function decodeToken(token: string | undefined): TokenState {
  if (token === undefined) return {};
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (typeof v === "object" && v !== null && (v as { v?: unknown }).v === 1) {
      const { n, d } = v as { n?: unknown; d?: unknown };
      if ((n === undefined || typeof n === "string") && (d === undefined || typeof d === "boolean"))
        return { n, d };
    }
  } catch {
    /* refused below */
  }
  throw validation("The NextToken is not valid.");
}

function page<T, U>(p: ListPage<T>, map: (t: T) => U, extra: TokenState = {}): Page<U> {
  return {
    items: p.items.map(map),
    ...(p.next !== undefined ? { nextToken: encodeToken({ ...extra, n: p.next }) } : {}),
  };
}

const DEFAULT_LIMIT = 100;

export class EventBusService {
  readonly identity: AwsIdentity;
  private readonly now: () => number;

  constructor(
    private readonly meta: MetaStore,
    private readonly opts: BusServiceOptions,
  ) {
    this.identity = opts.identity;
    this.now = opts.now ?? Date.now;
  }

  // --- buses ---------------------------------------------------------------------------

  /** The bus an EventBusName member names (name or ARN), which must exist. */
  async requireBus(nameOrArn: string | undefined): Promise<string> {
    const name = busNameOf(this.identity, nameOrArn);
    if (name === undefined)
      throw validation(
        `Parameter EventBusName is not valid. Reason: ${nameOrArn} is not an event bus ARN of this account and region.`,
      );
    if (name !== "default" && !(await this.meta.bus.getBus(name)))
      throw notFound(`Event bus ${name} does not exist.`);
    return name;
  }

  async createEventBus(i: { name: string; description?: string; tags?: Tags }): Promise<{ arn: string }> {
    if (i.name === "default") throw exists("Event bus default already exists.");
    const arn = busArn(this.identity, i.name);
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.createBus({ name: i.name, description: i.description ?? null })))
        throw exists(`Event bus ${i.name} already exists.`);
      if (i.tags?.length) await tx.bus.tagResource(arn, tagMap(i.tags));
    });
    return { arn };
  }

  async describeEventBus(nameOrArn: string | undefined): Promise<StoredBus & { arn: string }> {
    const name = await this.requireBus(nameOrArn);
    const bus = name === "default" ? this.defaultBus() : (await this.meta.bus.getBus(name))!;
    return { ...bus, arn: busArn(this.identity, bus.name) };
  }

  /** The buses by name; `default` (not stored) first when the prefix admits it. */
  async listEventBuses(q: PageQuery): Promise<Page<StoredBus & { arn: string }>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const token = decodeToken(q.nextToken);
    const withArn = (b: StoredBus) => ({ ...b, arn: busArn(this.identity, b.name) });
    const showDefault = !token.d && token.n === undefined && "default".startsWith(q.namePrefix ?? "");
    if (showDefault && limit === 1) {
      // A page of the default bus alone: a token only when a stored bus follows.
      const more = (await this.meta.bus.listBuses({ namePrefix: q.namePrefix, limit: 1 })).items.length > 0;
      return {
        items: [withArn(this.defaultBus())],
        ...(more ? { nextToken: encodeToken({ d: true }) } : {}),
      };
    }
    const p = await this.meta.bus.listBuses({
      namePrefix: q.namePrefix,
      limit: showDefault ? limit - 1 : limit,
      next: token.n,
    });
    const out = page(p, withArn, { d: true });
    if (showDefault) out.items.unshift(withArn(this.defaultBus()));
    return out;
  }

  async deleteEventBus(name: string): Promise<void> {
    if (name === "default") throw validation("Cannot delete event bus default.");
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.getBus(name))) throw notFound(`Event bus ${name} does not exist.`);
      if ((await tx.bus.countRules(name)) > 0)
        throw validation(`Cannot delete event bus ${name} while it has rules: delete its rules first.`);
      // An archive is a rule of its bus on AWS (Events-Archive-NAME): it keeps the bus too.
      const archives = await tx.bus.listArchives({ bus: name, limit: 1 });
      if (archives.items.length)
        throw validation(
          `Cannot delete event bus ${name} while it has archives: delete archive ${archives.items[0]!.name} first.`,
        );
      await tx.bus.deleteBus(name);
      await tx.bus.dropTags(busArn(this.identity, name));
    });
  }

  private defaultBus(): StoredBus {
    return { name: "default", description: null, createdAt: 0, updatedAt: 0 };
  }

  // --- rules ---------------------------------------------------------------------------

  async putRule(i: PutRuleInput): Promise<{ arn: string }> {
    const bus = await this.requireBus(i.bus);
    if (i.eventPattern === undefined && i.scheduleExpression === undefined)
      throw validation("Parameter(s) EventPattern or ScheduleExpression must be specified.");
    if (i.eventPattern !== undefined) checkPattern(i.eventPattern);
    if (i.scheduleExpression !== undefined) {
      if (bus !== "default") throw validation(SCHEDULE_ONLY_ON_DEFAULT_BUS);
      try {
        parseScheduleExpression(i.scheduleExpression);
      } catch (e) {
        if (e instanceof ScheduleExpressionError) throw validation(e.message);
        throw e;
      }
    }
    const arn = ruleArn(this.identity, bus, i.name);
    await this.meta.tx(async (tx) => {
      const old = await tx.bus.getRule(bus, i.name);
      await tx.bus.putRule({
        bus,
        name: i.name,
        eventPattern: i.eventPattern ?? null,
        scheduleExpression: i.scheduleExpression ?? null,
        state: i.state ?? "ENABLED",
        description: i.description ?? null,
        roleArn: i.roleArn ?? null,
        createdBy: old?.createdBy ?? this.identity.accountId,
      });
      if (i.tags?.length) await tx.bus.tagResource(arn, tagMap(i.tags));
    });
    return { arn };
  }

  async describeRule(name: string, busName?: string): Promise<RuleView> {
    const bus = await this.requireBus(busName);
    const r = await this.meta.bus.getRule(bus, name);
    if (!r) throw ruleNotFound(name, bus);
    return { ...r, arn: ruleArn(this.identity, bus, name) };
  }

  async listRules(q: PageQuery & { bus?: string }): Promise<Page<RuleView>> {
    const bus = await this.requireBus(q.bus);
    const p = await this.meta.bus.listRules({
      bus,
      namePrefix: q.namePrefix,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (r) => ({ ...r, arn: ruleArn(this.identity, bus, r.name) }));
  }

  /** Refused while the rule has targets, unless `force` (which removes them and their deliveries). */
  async deleteRule(name: string, busName?: string, force = false): Promise<void> {
    const bus = await this.requireBus(busName);
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.getRule(bus, name))) return; // as AWS: deleting a missing rule succeeds
      if (!force && (await tx.bus.countTargets(bus, name)) > 0)
        throw validation("Rule can't be deleted since it has targets.");
      await tx.deliveries.dropFor(bus, name);
      await tx.bus.deleteRule(bus, name);
      await tx.bus.dropTags(ruleArn(this.identity, bus, name));
    });
  }

  async setRuleState(name: string, busName: string | undefined, state: RuleState): Promise<void> {
    const bus = await this.requireBus(busName);
    if (!(await this.meta.bus.setRuleState(bus, name, state))) throw ruleNotFound(name, bus);
  }

  // --- targets -------------------------------------------------------------------------

  /**
   * Upserts targets by Id. The request as a whole is refused (ValidationException,
   * LimitExceededException) for a malformed ARN, dead-letter ARN or input, or when the rule
   * would have more than 5 targets; a target naming something that does not exist here (an
   * API destination, a bus, a command not in `events.commands`) is a failed entry, and the
   * others are stored.
   */
  async putTargets(
    ruleName: string,
    busName: string | undefined,
    targets: Record<string, unknown>[],
  ): Promise<FailedTarget[]> {
    const bus = await this.requireBus(busName);
    if (!(await this.meta.bus.getRule(bus, ruleName))) throw ruleNotFound(ruleName, bus);
    targets.forEach((t, n) => checkTarget(t, n + 1));
    // An Id given twice in one request: the later target wins, as a second request's would.
    const byId = new Map<string, Record<string, unknown>>();
    for (const t of targets) {
      byId.delete(t.Id as string);
      byId.set(t.Id as string, t);
    }
    const failed: FailedTarget[] = [];
    const ok: Record<string, unknown>[] = [];
    for (const t of byId.values()) {
      const problem = await this.targetProblem(t);
      if (problem)
        failed.push({ TargetId: t.Id as string, ErrorCode: "ValidationException", ErrorMessage: problem });
      else ok.push(t);
    }
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.getRule(bus, ruleName))) throw ruleNotFound(ruleName, bus);
      const existing = new Set<string>();
      for (let next: string | undefined, first = true; first || next !== undefined; first = false) {
        const p = await tx.bus.listTargets({ bus, rule: ruleName, limit: 100, next });
        for (const t of p.items) existing.add(t.id);
        next = p.next;
      }
      for (const t of ok) existing.add(t.Id as string);
      if (existing.size > MAX_TARGETS_PER_RULE)
        throw new BusError(
          "LimitExceededException",
          "The requested resource exceeds the maximum number allowed.",
        );
      if (ok.length) await tx.bus.putTargets(bus, ruleName, ok);
    });
    return failed;
  }

  private async targetProblem(t: Record<string, unknown>): Promise<string | undefined> {
    const ref = parseTargetArn(t.Arn as string)!;
    const { region, accountId } = this.identity;
    if (ref.region !== region || ref.account !== accountId)
      return `${String(t.Arn)} is not of this account and region (${accountId}, ${region}).`;
    switch (ref.kind) {
      case "api-destination": {
        const d = await this.meta.bus.getApiDestination(ref.name);
        return d ? undefined : `API destination ${ref.name} does not exist.`;
      }
      case "event-bus":
        return ref.name === "default" || (await this.meta.bus.getBus(ref.name))
          ? undefined
          : `Event bus ${ref.name} does not exist.`;
      case "command": {
        const names = new Set(this.opts.commands?.() ?? []);
        return names.has(ref.name)
          ? undefined
          : `Command ${ref.name} is not configured: add events.commands.${ref.name} to the configuration.`;
      }
    }
  }

  async listTargetsByRule(
    ruleName: string,
    busName: string | undefined,
    q: Omit<PageQuery, "namePrefix">,
  ): Promise<Page<Record<string, unknown>>> {
    const bus = await this.requireBus(busName);
    if (!(await this.meta.bus.getRule(bus, ruleName))) throw ruleNotFound(ruleName, bus);
    const p = await this.meta.bus.listTargets({
      bus,
      rule: ruleName,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (t: StoredTarget) => t.target);
  }

  /** Removes targets and their pending deliveries; ids that do not exist are not errors (as AWS). */
  async removeTargets(ruleName: string, busName: string | undefined, ids: string[]): Promise<FailedTarget[]> {
    const bus = await this.requireBus(busName);
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.getRule(bus, ruleName))) throw ruleNotFound(ruleName, bus);
      const removed = await tx.bus.removeTargets(bus, ruleName, ids);
      for (const id of removed) await tx.deliveries.dropFor(bus, ruleName, id);
    });
    return [];
  }

  async listRuleNamesByTarget(
    targetArn: string,
    busName: string | undefined,
    q: Omit<PageQuery, "namePrefix">,
  ): Promise<Page<string>> {
    const bus = await this.requireBus(busName);
    const p = await this.meta.bus.ruleNamesByTarget({
      bus,
      arn: targetArn,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (n) => n);
  }

  // --- patterns and events -------------------------------------------------------------

  /** TestEventPattern: the event must be an envelope (id, account, source, time, region, detail-type). */
  testEventPattern(pattern: string, eventText: string): boolean {
    let event: unknown;
    try {
      event = JSON.parse(eventText);
    } catch {
      throw validation("Parameter Event is not valid.");
    }
    const required = ["id", "account", "source", "time", "region", "detail-type"];
    if (
      typeof event !== "object" ||
      event === null ||
      Array.isArray(event) ||
      required.some((k) => !Object.hasOwn(event as object, k))
    )
      throw validation("Parameter Event is not valid.");
    const parsed = checkPattern(pattern);
    return matches(parsed, event);
  }

  /**
   * PutEvents: per-entry results in input order. Valid entries are appended to the event log
   * in one transaction (routing to the bus's rules happens there); an entry for a bus that
   * does not exist gets an EventId and goes nowhere, as on AWS.
   */
  async putEvents(entries: PutEventsEntry[]): Promise<PutEventsResult[]> {
    const size = entries.reduce((n, e) => n + entrySize(e), 0);
    if (size > MAX_PUT_EVENTS_BYTES)
      throw validation("Total size of the entries in the request is over the limit.");
    const now = this.now();
    const results: PutEventsResult[] = [];
    const byBus = new Map<string, EventEnvelope[]>();
    const busExists = new Map<string, boolean>();
    for (const e of entries) {
      const bad = entryProblem(e);
      if (bad) {
        results.push(bad);
        continue;
      }
      const detail = parseDetail(e.Detail!);
      if (!detail) {
        results.push({ ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." });
        continue;
      }
      // An ISO-8601 time needs a year of four digits: Time past 9999 (or before 1970) is refused.
      if (e.Time !== undefined && !(e.Time >= 0 && e.Time <= MAX_EVENT_TIME_SECONDS)) {
        results.push({
          ErrorCode: "InvalidArgument",
          ErrorMessage: "Parameter Time is not valid. Reason: it must be between 1970 and 9999.",
        });
        continue;
      }
      const bus = busNameOf(this.identity, e.EventBusName);
      if (bus === undefined) {
        results.push({
          ErrorCode: "InvalidArgument",
          ErrorMessage:
            "Parameter EventBusName is not valid. Reason: not an event bus ARN of this account and region.",
        });
        continue;
      }
      const envelope: EventEnvelope = {
        version: "0",
        id: randomUUID(),
        "detail-type": e.DetailType!,
        source: e.Source!,
        account: this.identity.accountId,
        time: isoSeconds(e.Time !== undefined ? Math.floor(e.Time * 1000) : now),
        region: this.identity.region,
        resources: e.Resources ?? [],
        detail,
      };
      results.push({ EventId: envelope.id });
      if (!busExists.has(bus))
        busExists.set(bus, bus === "default" || (await this.meta.bus.getBus(bus)) !== undefined);
      if (!busExists.get(bus)) continue;
      const list = byBus.get(bus) ?? [];
      list.push(envelope);
      byBus.set(bus, list);
    }
    if (byBus.size) {
      await this.meta.tx(async (tx) => {
        for (const [bus, list] of byBus) await appendEvents(tx, list, bus);
      });
    }
    return results;
  }

  // --- connections ---------------------------------------------------------------------

  async createConnection(i: ConnectionInput): Promise<StoredConnection & { arn: string }> {
    checkAuthParameters(i.authorizationType, i.authParameters, true);
    const now = this.now();
    const c = await this.meta.tx(async (tx) => {
      if (await tx.bus.getConnection(i.name)) throw exists(`Connection ${i.name} already exists.`);
      return tx.bus.putConnection({
        name: i.name,
        description: i.description ?? null,
        authorizationType: i.authorizationType,
        authParameters: i.authParameters,
        state: "AUTHORIZED",
        stateReason: null,
        signingSecret: newSigningSecret(),
        previousSigningSecret: null,
        rotatedAt: null,
        lastAuthorizedAt: now,
      });
    });
    return { ...c, arn: connectionArn(this.identity, c) };
  }

  /** A connection by name or ARN (an ARN must be the current incarnation's). */
  async requireConnection(nameOrArn: string): Promise<StoredConnection & { arn: string }> {
    const name = this.nameFromArn(nameOrArn, "connection");
    const c = name === undefined ? undefined : await this.meta.bus.getConnection(name);
    const arn = c && connectionArn(this.identity, c);
    if (!c || !arn || (nameOrArn.startsWith("arn:") && nameOrArn !== arn))
      throw notFound(
        `Failed to describe the connection(s). Connection '${name ?? nameOrArn}' does not exist.`,
      );
    return { ...c, arn };
  }

  async listConnections(
    q: PageQuery & { state?: string },
  ): Promise<Page<StoredConnection & { arn: string }>> {
    const p = await this.meta.bus.listConnections({
      namePrefix: q.namePrefix,
      state: q.state,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (c) => ({ ...c, arn: connectionArn(this.identity, c) }));
  }

  /** UpdateConnection: the given members replace the stored ones; auth parameters merge per kind. */
  async updateConnection(
    i: Partial<ConnectionInput> & { name: string },
  ): Promise<StoredConnection & { arn: string }> {
    const c = await this.meta.tx(async (tx) => {
      const old = await tx.bus.getConnection(i.name);
      if (!old) throw notFound(`Connection '${i.name}' does not exist.`);
      const type = i.authorizationType ?? old.authorizationType;
      const auth =
        i.authParameters === undefined
          ? old.authParameters
          : type === old.authorizationType
            ? mergeAuth(old.authParameters, i.authParameters)
            : i.authParameters;
      checkAuthParameters(type, auth, true);
      return tx.bus.putConnection({
        ...old,
        description: i.description ?? old.description,
        authorizationType: type,
        authParameters: auth,
        lastAuthorizedAt: this.now(),
      });
    });
    return { ...c, arn: connectionArn(this.identity, c) };
  }

  /** Refused while an API destination uses the connection (its deliveries would have no auth). */
  async deleteConnection(name: string): Promise<StoredConnection & { arn: string }> {
    return this.meta.tx(async (tx) => {
      const c = await tx.bus.getConnection(name);
      if (!c) throw notFound(`Connection '${name}' does not exist.`);
      const users = await tx.bus.listApiDestinations({ connectionName: name, limit: 5 });
      if (users.items.length)
        throw validation(
          `Connection ${name} is used by API destination(s) ${users.items.map((d) => d.name).join(", ")}: delete them first.`,
        );
      const arn = connectionArn(this.identity, c);
      await tx.bus.deleteConnection(name);
      await tx.bus.dropTags(arn);
      return { ...c, state: "DELETING", arn };
    });
  }

  /** The connection's Standard Webhooks secret (`drydock events connection-secret`), rotated on request. */
  async signingSecret(name: string, rotate = false): Promise<string> {
    if (rotate) {
      const c = await this.meta.bus.rotateSigningSecret(name, newSigningSecret());
      if (!c) throw notFound(`Connection '${name}' does not exist.`);
      return c.signingSecret;
    }
    const c = await this.meta.bus.getConnection(name);
    if (!c) throw notFound(`Connection '${name}' does not exist.`);
    return c.signingSecret;
  }

  // --- API destinations ----------------------------------------------------------------

  async createApiDestination(i: ApiDestinationInput): Promise<StoredApiDestination & { arn: string }> {
    // AWS's order: an existing name first, then the members, then the connection.
    if (await this.meta.bus.getApiDestination(i.name))
      throw exists(`An api-destination '${i.name}' already exists.`);
    checkEndpoint(i.invocationEndpoint);
    const connection = await this.requireConnection(i.connectionArn);
    const d = await this.meta.tx(async (tx) => {
      if (await tx.bus.getApiDestination(i.name))
        throw exists(`An api-destination '${i.name}' already exists.`);
      return tx.bus.putApiDestination({
        name: i.name,
        description: i.description ?? null,
        connectionName: connection.name,
        endpoint: i.invocationEndpoint,
        httpMethod: i.httpMethod,
        invocationRateLimitPerSecond: i.invocationRateLimitPerSecond ?? DEFAULT_INVOCATION_RATE,
        state: "ACTIVE",
      });
    });
    this.warnPlainHttp(d);
    return { ...d, arn: apiDestinationArn(this.identity, d) };
  }

  async requireApiDestination(nameOrArn: string): Promise<StoredApiDestination & { arn: string }> {
    const name = this.nameFromArn(nameOrArn, "api-destination");
    const d = name === undefined ? undefined : await this.meta.bus.getApiDestination(name);
    const arn = d && apiDestinationArn(this.identity, d);
    if (!d || !arn || (nameOrArn.startsWith("arn:") && nameOrArn !== arn))
      throw notFound(
        `Failed to describe the api-destination(s). An api-destination '${name ?? nameOrArn}' does not exist.`,
      );
    return { ...d, arn };
  }

  async listApiDestinations(
    q: PageQuery & { connectionArn?: string },
  ): Promise<Page<StoredApiDestination & { arn: string }>> {
    const connectionName =
      q.connectionArn === undefined ? undefined : (await this.requireConnection(q.connectionArn)).name;
    const p = await this.meta.bus.listApiDestinations({
      namePrefix: q.namePrefix,
      connectionName,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (d) => ({ ...d, arn: apiDestinationArn(this.identity, d) }));
  }

  async updateApiDestination(
    i: Partial<ApiDestinationInput> & { name: string },
  ): Promise<StoredApiDestination & { arn: string }> {
    if (i.invocationEndpoint !== undefined) checkEndpoint(i.invocationEndpoint);
    const connection =
      i.connectionArn === undefined ? undefined : await this.requireConnection(i.connectionArn);
    const d = await this.meta.tx(async (tx) => {
      const old = await tx.bus.getApiDestination(i.name);
      if (!old) throw notFound(`An api-destination '${i.name}' does not exist.`);
      return tx.bus.putApiDestination({
        ...old,
        description: i.description ?? old.description,
        connectionName: connection?.name ?? old.connectionName,
        endpoint: i.invocationEndpoint ?? old.endpoint,
        httpMethod: i.httpMethod ?? old.httpMethod,
        invocationRateLimitPerSecond: i.invocationRateLimitPerSecond ?? old.invocationRateLimitPerSecond,
      });
    });
    if (i.invocationEndpoint !== undefined) this.warnPlainHttp(d);
    return { ...d, arn: apiDestinationArn(this.identity, d) };
  }

  async deleteApiDestination(name: string): Promise<void> {
    await this.meta.tx(async (tx) => {
      const d = await tx.bus.getApiDestination(name);
      if (!d) throw notFound(`An api-destination '${name}' does not exist.`);
      await tx.bus.deleteApiDestination(name);
      await tx.bus.dropTags(apiDestinationArn(this.identity, d));
    });
  }

  private warnPlainHttp(d: StoredApiDestination): void {
    if (d.endpoint.toLowerCase().startsWith("http://"))
      this.opts.log.warn(
        { apiDestination: d.name, endpoint: d.endpoint },
        `API destination ${d.name} uses plain http: deliveries are unencrypted`,
      );
  }

  // --- archives and replays ------------------------------------------------------------

  async createArchive(i: ArchiveInput): Promise<StoredArchive & { arn: string }> {
    const bus = await this.sourceBus(i.eventSourceArn);
    if (i.eventPattern !== undefined) checkPattern(i.eventPattern);
    const a = await this.meta.tx(async (tx) => {
      if (await tx.bus.getArchive(i.name)) throw exists(`Archive ${i.name} already exists.`);
      return tx.bus.putArchive({
        name: i.name,
        bus,
        description: i.description ?? null,
        eventPattern: i.eventPattern ?? null,
        retentionDays: i.retentionDays ?? 0,
        state: "ENABLED",
      });
    });
    return { ...a, arn: archiveArn(this.identity, a.name) };
  }

  async describeArchive(
    name: string,
  ): Promise<StoredArchive & { arn: string; eventCount: number; sizeBytes: number }> {
    const a = await this.meta.bus.getArchive(name);
    if (!a) throw notFound(`Archive ${name} does not exist.`);
    const stats = await this.meta.bus.archiveStats(name);
    return { ...a, ...stats, arn: archiveArn(this.identity, name) };
  }

  async listArchives(
    q: PageQuery & { eventSourceArn?: string; state?: string },
  ): Promise<Page<StoredArchive & { arn: string; eventCount: number; sizeBytes: number }>> {
    const bus = q.eventSourceArn === undefined ? undefined : await this.sourceBus(q.eventSourceArn);
    const p = await this.meta.bus.listArchives({
      namePrefix: q.namePrefix,
      bus,
      state: q.state,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    const items = [];
    for (const a of p.items)
      items.push({
        ...a,
        ...(await this.meta.bus.archiveStats(a.name)),
        arn: archiveArn(this.identity, a.name),
      });
    return { items, ...(p.next !== undefined ? { nextToken: encodeToken({ n: p.next }) } : {}) };
  }

  async updateArchive(i: {
    name: string;
    description?: string;
    eventPattern?: string;
    retentionDays?: number;
  }): Promise<StoredArchive & { arn: string }> {
    if (i.eventPattern !== undefined) checkPattern(i.eventPattern);
    const a = await this.meta.tx(async (tx) => {
      const old = await tx.bus.getArchive(i.name);
      if (!old) throw notFound(`Archive ${i.name} does not exist.`);
      return tx.bus.putArchive({
        ...old,
        description: i.description ?? old.description,
        eventPattern: i.eventPattern ?? old.eventPattern,
        retentionDays: i.retentionDays ?? old.retentionDays,
      });
    });
    return { ...a, arn: archiveArn(this.identity, a.name) };
  }

  async deleteArchive(name: string): Promise<void> {
    await this.meta.tx(async (tx) => {
      if (!(await tx.bus.deleteArchive(name))) throw notFound(`Archive ${name} does not exist.`);
      await tx.bus.dropTags(archiveArn(this.identity, name));
    });
  }

  /**
   * StartReplay: the replay is recorded (STARTING) and its job queued in one transaction; the
   * job (`events-replay`, src/events) replays the archive's events in the range to the bus.
   */
  async startReplay(i: ReplayInput): Promise<StoredReplay & { arn: string }> {
    // AWS's order and texts (as recorded by localstack's AWS-validated tests).
    if (await this.meta.bus.getReplay(i.name)) throw exists(`Replay ${i.name} already exists.`);
    for (const [member, ms] of [
      ["EventStartTime", i.eventStartTime],
      ["EventEndTime", i.eventEndTime],
    ] as const)
      if (!(ms >= 0 && ms <= MAX_EVENT_TIME_SECONDS * 1000))
        throw validation(`Parameter ${member} is not valid. Reason: it must be between 1970 and 9999.`);
    if (i.eventStartTime >= i.eventEndTime)
      throw validation(
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
      );
    const ref = parseEventsArn(this.identity, i.eventSourceArn);
    const archive = ref?.kind === "archive" ? await this.meta.bus.getArchive(ref.name) : undefined;
    if (!archive)
      throw validation(
        `Parameter EventSourceArn is not valid. Reason: Archive ${ref?.name ?? i.eventSourceArn.split("/").at(-1)} does not exist.`,
      );
    const dest = parseEventsArn(this.identity, i.destination.Arn);
    if (dest?.kind !== "event-bus")
      throw validation("Parameter Destination.Arn is not valid. Reason: it must be an event bus ARN.");
    if (dest.name !== archive.bus) {
      if (dest.name !== "default" && !(await this.meta.bus.getBus(dest.name)))
        throw notFound(`Event bus ${dest.name} does not exist.`);
      throw validation(
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
      );
    }
    for (const f of i.destination.FilterArns ?? []) {
      const r = parseEventsArn(this.identity, f);
      if (r?.kind !== "rule" || r.bus !== archive.bus)
        throw validation(
          `Parameter Destination.FilterArns is not valid. Reason: ${f} is not a rule of event bus ${archive.bus}.`,
        );
    }
    const stored = await this.meta.tx(async (tx) => {
      const created = await tx.bus.createReplay({
        name: i.name,
        description: i.description ?? null,
        archive: archive.name,
        destination: {
          Arn: i.destination.Arn,
          ...(i.destination.FilterArns ? { FilterArns: i.destination.FilterArns } : {}),
        },
        eventStartTime: i.eventStartTime,
        eventEndTime: i.eventEndTime,
        state: "STARTING",
        stateReason: null,
      });
      if (!created) throw exists(`Replay ${i.name} already exists.`);
      await tx.jobs.enqueue({ kind: "events-replay", key: i.name, payload: { name: i.name } });
      return (await tx.bus.getReplay(i.name))!;
    });
    return { ...stored, arn: replayArn(this.identity, i.name) };
  }

  async describeReplay(name: string): Promise<StoredReplay & { arn: string }> {
    const r = await this.meta.bus.getReplay(name);
    if (!r) throw notFound(`Replay ${name} does not exist.`);
    return { ...r, arn: replayArn(this.identity, name) };
  }

  async listReplays(
    q: PageQuery & { state?: string; eventSourceArn?: string },
  ): Promise<Page<StoredReplay & { arn: string }>> {
    let archive: string | undefined;
    if (q.eventSourceArn !== undefined) {
      const ref = parseEventsArn(this.identity, q.eventSourceArn);
      if (ref?.kind !== "archive")
        throw validation("Parameter EventSourceArn is not valid. Reason: it must be an archive ARN.");
      archive = ref.name;
    }
    const p = await this.meta.bus.listReplays({
      namePrefix: q.namePrefix,
      state: q.state,
      archive,
      limit: q.limit ?? DEFAULT_LIMIT,
      next: decodeToken(q.nextToken).n,
    });
    return page(p, (r) => ({ ...r, arn: replayArn(this.identity, r.name) }));
  }

  /** Only a STARTING or RUNNING replay can be cancelled; its job stops at its next step. */
  async cancelReplay(name: string): Promise<StoredReplay & { arn: string }> {
    return this.meta.tx(async (tx) => {
      const r = await tx.bus.getReplay(name);
      if (!r) throw notFound(`Replay ${name} does not exist.`);
      if (r.state !== "STARTING" && r.state !== "RUNNING")
        throw new BusError(
          "IllegalStatusException",
          `Replay ${name} is not in a valid state for this operation.`,
        );
      await tx.bus.updateReplay(name, { state: "CANCELLING" });
      return { ...r, state: "CANCELLING" as const, arn: replayArn(this.identity, name) };
    });
  }

  /** The bus of an archive's EventSourceArn, which must exist. */
  private async sourceBus(arn: string): Promise<string> {
    const ref = parseEventsArn(this.identity, arn);
    if (ref?.kind !== "event-bus")
      throw validation("Parameter EventSourceArn is not valid. Reason: it must be an event bus ARN.");
    return this.requireBus(ref.name);
  }

  // --- tags ----------------------------------------------------------------------------

  async listTags(arn: string): Promise<Tags> {
    const canonical = await this.resolveTaggable(arn);
    const tags = await this.meta.bus.tags(canonical);
    return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  }

  async tagResource(arn: string, tags: Tags): Promise<void> {
    const canonical = await this.resolveTaggable(arn);
    await this.meta.bus.tagResource(canonical, tagMap(tags));
  }

  async untagResource(arn: string, keys: string[]): Promise<void> {
    const canonical = await this.resolveTaggable(arn);
    await this.meta.bus.untagResource(canonical, keys);
  }

  /** The ARN tags are kept under, for a resource that exists; ResourceNotFoundException otherwise. */
  private async resolveTaggable(arn: string): Promise<string> {
    const ref = parseEventsArn(this.identity, arn);
    const missing = () => notFound(`Resource ${arn} does not exist.`);
    if (!ref) throw missing();
    switch (ref.kind) {
      case "rule":
        if (!(ref.bus === "default" || (await this.meta.bus.getBus(ref.bus!)))) throw missing();
        if (!(await this.meta.bus.getRule(ref.bus!, ref.name))) throw missing();
        return ruleArn(this.identity, ref.bus!, ref.name);
      case "event-bus":
        if (ref.name !== "default" && !(await this.meta.bus.getBus(ref.name))) throw missing();
        return busArn(this.identity, ref.name);
      case "connection": {
        const c = await this.meta.bus.getConnection(ref.name);
        if (!c || connectionArn(this.identity, c) !== arn) throw missing();
        return arn;
      }
      case "api-destination": {
        const d = await this.meta.bus.getApiDestination(ref.name);
        if (!d || apiDestinationArn(this.identity, d) !== arn) throw missing();
        return arn;
      }
      case "archive":
        if (!(await this.meta.bus.getArchive(ref.name))) throw missing();
        return archiveArn(this.identity, ref.name);
      case "replay":
        throw missing();
    }
  }

  /** The name part of a resource ARN of this kind, or the member itself when it is not an ARN. */
  private nameFromArn(nameOrArn: string, kind: "connection" | "api-destination"): string | undefined {
    if (!nameOrArn.startsWith("arn:")) return nameOrArn;
    const ref = parseEventsArn(this.identity, nameOrArn);
    return ref?.kind === kind ? ref.name : undefined;
  }
}

// --- checks ------------------------------------------------------------------------------

function ruleNotFound(name: string, bus: string): BusError {
  return notFound(`Rule ${name} does not exist on EventBus ${bus}.`);
}

/** A pattern as PutRule takes it; InvalidEventPatternException with AWS's full reason text. */
function checkPattern(pattern: string) {
  try {
    return parseEventPattern(pattern);
  } catch (e) {
    if (e instanceof InvalidEventPatternError) throw new BusError("InvalidEventPatternException", e.detail);
    throw e;
  }
}

/** What refuses the whole PutTargets request: a malformed ARN, dead-letter ARN or input. */
function checkTarget(t: Record<string, unknown>, index: number): void {
  const id = t.Id as string;
  const arn = t.Arn as string;
  if (!parseTargetArn(arn)) {
    // AWS's text for what is not an ARN at all; Drydock's for an ARN of a kind it cannot deliver to.
    const service = /^arn:[^:]+:([^:]+):[^:]*:[^:]*:./.exec(arn)?.[1];
    throw validation(
      service === undefined
        ? `Parameter ${arn} is not valid. Reason: Provided Arn is not in correct format.`
        : `Parameter ${arn} is not valid. Reason: target ${id}: Drydock delivers to API destinations, event buses and command targets (arn:drydock:command:REGION:ACCOUNT:NAME), not to ${service}.`,
    );
  }
  const dlq = (t.DeadLetterConfig as { Arn?: string } | undefined)?.Arn;
  if (dlq !== undefined && parseDeadLetterArn(dlq) === undefined)
    throw validation(
      `Parameter DeadLetterConfig.Arn of target ${id} is not valid: use arn:drydock:dlq:<region>:<account>:<name> or an arn:aws:sqs ARN.`,
    );
  try {
    validateTargetInput(t, { index });
  } catch (e) {
    if (e instanceof InvalidTargetInputError) throw validation(e.message);
    throw e;
  }
}

/** PutEvents' per-entry checks that need no parsing, in AWS's order. */
function entryProblem(e: PutEventsEntry): PutEventsResult | undefined {
  const missing = (p: string) => ({
    ErrorCode: "InvalidArgument",
    ErrorMessage: `Parameter ${p} is not valid. Reason: ${p} is a required argument.`,
  });
  if (e.Source === undefined || e.Source === "") return missing("Source");
  if (e.DetailType === undefined || e.DetailType === "") return missing("DetailType");
  if (e.Detail === undefined || e.Detail === "") return missing("Detail");
  if (e.Source.startsWith("aws."))
    return { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source." };
  return undefined;
}

/** `Detail` must be a JSON object (not a string, an array or a serialized string). */
function parseDetail(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** AWS's PutEvents entry size: Time 14 bytes, then the UTF-8 bytes of the strings. */
export function entrySize(e: PutEventsEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, "utf8"));
  let n = e.Time !== undefined ? 14 : 0;
  n += bytes(e.Source) + bytes(e.DetailType) + bytes(e.Detail);
  for (const r of e.Resources ?? []) n += bytes(r);
  return n;
}

/** Tags as stored; a key given twice is refused (AWS's text). */
function tagMap(tags: Tags): Record<string, string> {
  if (new Set(tags.map((t) => t.Key)).size < tags.length)
    throw validation("Invalid parameter: Duplicated keys are not allowed.");
  return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
}

/** An endpoint must be an absolute https URL (AWS), or http (Drydock also accepts it, with a warning). */
function checkEndpoint(endpoint: string): void {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw validation(`Parameter InvocationEndpoint is not valid. Reason: ${endpoint} is not a URL.`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw validation(`Parameter InvocationEndpoint is not valid. Reason: the URL must use https (or http).`);
}

const AUTH_MEMBER: Record<ConnectionAuthType, string> = {
  API_KEY: "ApiKeyAuthParameters",
  BASIC: "BasicAuthParameters",
  OAUTH_CLIENT_CREDENTIALS: "OAuthParameters",
};

/**
 * AuthParameters must hold the parameters of the authorization type (and no other type's),
 * complete: API key name and value, user name and password, or OAuth client id, secret,
 * authorization endpoint and method.
 */
function checkAuthParameters(
  type: ConnectionAuthType,
  auth: Record<string, unknown>,
  complete: boolean,
): void {
  const member = AUTH_MEMBER[type];
  for (const [t, m] of Object.entries(AUTH_MEMBER))
    if (t !== type && auth[m] !== undefined)
      throw validation(`Parameter(s) ${m} not allowed for authorization type ${type}.`);
  const p = auth[member] as Record<string, unknown> | undefined;
  if (p === undefined)
    throw validation(`Parameter(s) ${member} must be specified for authorization type ${type}.`);
  if (!complete) return;
  const need = (obj: Record<string, unknown> | undefined, path: string, keys: string[]) => {
    for (const k of keys)
      if (typeof obj?.[k] !== "string" || obj[k] === "")
        throw validation(`Parameter(s) ${path}.${k} must be specified for authorization type ${type}.`);
  };
  if (type === "API_KEY") need(p, member, ["ApiKeyName", "ApiKeyValue"]);
  if (type === "BASIC") need(p, member, ["Username", "Password"]);
  if (type === "OAUTH_CLIENT_CREDENTIALS") {
    need(p, member, ["AuthorizationEndpoint", "HttpMethod"]);
    need(p.ClientParameters as Record<string, unknown> | undefined, `${member}.ClientParameters`, [
      "ClientID",
      "ClientSecret",
    ]);
    checkEndpoint(p.AuthorizationEndpoint as string);
  }
}

/** UpdateConnection's auth parameters: the given members over the stored ones, one level deep per object. */
function mergeAuth(old: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...old };
  for (const [k, v] of Object.entries(update)) {
    const o = old[k];
    out[k] =
      isObject(o) && isObject(v)
        ? Object.fromEntries(
            Object.entries({ ...o, ...v }).map(([kk, vv]) => [
              kk,
              isObject(o[kk]) && isObject(vv) ? { ...o[kk], ...vv } : vv,
            ]),
          )
        : v;
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
