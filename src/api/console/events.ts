import { z } from "zod";
import { BusError, EventBusService } from "../../events/bus-service.js";
import { ruleArn } from "../../events/bus-arns.js";
import { DEFAULT_BUS, wakeDeliveries } from "../../events/log.js";
import type { StoredDeadLetter, StoredDelivery, StoredRule, StoredTarget } from "../../storage/meta/store.js";
import type {
  DeadLetterView,
  DeliveryView,
  EventRuleView,
  EventsPage,
  EventTargetView,
  RedriveResult,
} from "./contract/events.js";
import type { ConsoleDeps } from "./deps.js";
import { pageParams, stringParam } from "./params.js";
import { badParameter, ConsoleError, notFound, type ConsoleRoutes } from "./router.js";

/**
 * The console's events views: the bus's rules and their targets, pending deliveries (due,
 * retrying with their last error, or being sent) and the dead-letter store, with redrive through
 * the same store call as `drydock events dlq redrive` (DeliveryStore.redrive: one transaction,
 * letters back to deliveries due now with a fresh retry budget; any node's deliverer sends them).
 *
 * Access, as EventBridge's access table (src/api/events/index.ts): the buses and their rules
 * (patterns, states, counts) are readable by every signed-in user, as ListRules is; targets
 * (webhook endpoints, inputs), deliveries and dead letters (events of every repository) need
 * admin, as ListTargetsByRule does; every change needs admin (docs/access.md).
 */

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
/** Rules and targets read per store query (a bus has a few hundred at most: EventBridge's quota is 300). */
const BATCH = 100;

function busParam(query: Record<string, string | undefined>): string {
  const bus = stringParam(query, "bus", { maxLength: 256 }) ?? DEFAULT_BUS;
  if (!NAME.test(bus)) throw badParameter(`bus: an event bus name, got ${JSON.stringify(bus)}`);
  return bus;
}

function nameParam(query: Record<string, string | undefined>, name: string): string | undefined {
  const v = stringParam(query, name, { maxLength: 256 });
  if (v !== undefined && !NAME.test(v))
    throw badParameter(`${name}: a name of letters, digits, . - _ (got ${JSON.stringify(v)})`);
  return v;
}

function eventFacts(json: string | null): {
  eventId: string | null;
  detailType: string | null;
  event: unknown;
} {
  if (json === null) return { eventId: null, detailType: null, event: null };
  try {
    const e = JSON.parse(json) as { id?: unknown; "detail-type"?: unknown };
    return {
      eventId: typeof e.id === "string" ? e.id : null,
      detailType: typeof e["detail-type"] === "string" ? e["detail-type"] : null,
      event: e,
    };
  } catch {
    return { eventId: null, detailType: null, event: json };
  }
}

async function allRules(deps: ConsoleDeps, bus: string): Promise<StoredRule[]> {
  const out: StoredRule[] = [];
  let next: string | undefined;
  do {
    const p = await deps.meta.bus.listRules({ bus, limit: BATCH, ...(next !== undefined ? { next } : {}) });
    out.push(...p.items);
    next = p.next;
  } while (next !== undefined);
  return out;
}

async function targetsOf(deps: ConsoleDeps, bus: string, rule: string): Promise<StoredTarget[]> {
  const out: StoredTarget[] = [];
  let next: string | undefined;
  do {
    const p = await deps.meta.bus.listTargets({
      bus,
      rule,
      limit: BATCH,
      ...(next !== undefined ? { next } : {}),
    });
    out.push(...p.items);
    next = p.next;
  } while (next !== undefined);
  return out;
}

function deliveryView(d: StoredDelivery, json: string | null, now: number): DeliveryView {
  const { eventId, detailType } = eventFacts(json);
  const sending = d.leaseUntil !== null && d.leaseUntil > now;
  return {
    id: d.id,
    bus: d.bus,
    rule: d.rule,
    targetId: d.targetId,
    eventId,
    detailType,
    status: sending ? "SENDING" : d.attempts > 0 ? "RETRYING" : "PENDING",
    attempts: d.attempts,
    lastError: d.lastError,
    nextAttemptAt: d.runAfter,
    eventTime: d.eventTime,
    createdAt: d.createdAt,
  };
}

function letterView(l: StoredDeadLetter): DeadLetterView {
  const { eventId, detailType, event } = eventFacts(l.eventJson);
  return {
    id: l.id,
    queue: l.queue,
    bus: l.bus,
    rule: l.rule,
    targetId: l.targetId,
    targetArn: l.targetArn,
    eventId,
    detailType,
    attempts: l.attempts,
    errorCode: l.errorCode,
    errorMessage: l.errorMessage,
    deadAt: l.deadAt,
    event,
  };
}

const redriveShape = z
  .object({
    ids: z.array(z.number().int().positive()).min(1).max(1000).optional(),
    bus: z.string().regex(NAME).optional(),
    rule: z.string().regex(NAME).optional(),
    targetId: z.string().regex(NAME).optional(),
    queue: z.string().regex(NAME).optional(),
  })
  .strict();

const stateShape = z.object({ state: z.enum(["ENABLED", "DISABLED"]) }).strict();

export function registerEventRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  const admin = { admin: true };
  let service: EventBusService | undefined;
  const bus = () =>
    (service ??= new EventBusService(deps.meta, {
      identity: { accountId: deps.config.aws.accountId, region: deps.config.aws.region },
      log: deps.log.child({ component: "console-events" }),
      commands: () => Object.keys(deps.config.events.commands),
    }));
  const identity = () => ({ accountId: deps.config.aws.accountId, region: deps.config.aws.region });

  r.get("/events/buses", async () => {
    const names = [DEFAULT_BUS];
    let next: string | undefined;
    do {
      const p = await deps.meta.bus.listBuses({ limit: BATCH, ...(next !== undefined ? { next } : {}) });
      names.push(...p.items.map((b) => b.name).filter((n) => n !== DEFAULT_BUS));
      next = p.next;
    } while (next !== undefined);
    return { items: names };
  });

  r.get("/events/rules", async (req): Promise<EventsPage<EventRuleView>> => {
    const b = busParam(req.query);
    const p = pageParams(req.query, { sorts: ["name"], defaultSort: "name", maxLimit: 100 });
    const q = stringParam(req.query, "q", { maxLength: 64 })?.toLowerCase();
    let rules = await allRules(deps, b);
    if (q) rules = rules.filter((x) => x.name.toLowerCase().includes(q));
    if (p.order === "desc") rules.reverse();
    const page = rules.slice(p.offset, p.offset + p.limit);
    const items: EventRuleView[] = [];
    for (const x of page)
      items.push({
        bus: x.bus,
        name: x.name,
        arn: ruleArn(identity(), x.bus, x.name),
        state: x.state,
        eventPattern: x.eventPattern,
        scheduleExpression: x.scheduleExpression,
        description: x.description,
        targets: await deps.meta.bus.countTargets(x.bus, x.name),
        pending: await deps.meta.deliveries.pending({ bus: x.bus, rule: x.name }),
        deadLetters: await deps.meta.deliveries.countDeadLetters({ bus: x.bus, rule: x.name }),
        updatedAt: x.updatedAt,
      });
    return { items, total: rules.length, limit: p.limit, offset: p.offset };
  });

  r.post(
    "/events/rules/:name/state",
    async (req) => {
      const b = busParam(req.query);
      const name = req.params.name!;
      if (!NAME.test(name)) throw badParameter(`name: a rule name, got ${JSON.stringify(name)}`);
      const parsed = stateShape.safeParse(req.body);
      if (!parsed.success) throw badParameter("state: ENABLED or DISABLED");
      try {
        await bus().setRuleState(name, b, parsed.data.state);
      } catch (e) {
        if (e instanceof BusError && e.code === "ResourceNotFoundException") throw notFound(e.message);
        if (e instanceof BusError) throw new ConsoleError(400, "BadParameter", e.message);
        throw e;
      }
      return { name, bus: b, state: parsed.data.state };
    },
    admin,
  );

  r.get(
    "/events/targets",
    async (req): Promise<EventsPage<EventTargetView>> => {
      const b = busParam(req.query);
      const rule = nameParam(req.query, "rule");
      const p = pageParams(req.query, { sorts: ["rule"], defaultSort: "rule", maxLimit: 100 });
      const rules = rule !== undefined ? [rule] : (await allRules(deps, b)).map((x) => x.name);
      const all: StoredTarget[] = [];
      for (const name of rules) all.push(...(await targetsOf(deps, b, name)));
      if (p.order === "desc") all.reverse();
      const items: EventTargetView[] = [];
      for (const t of all.slice(p.offset, p.offset + p.limit)) {
        const { Id: _id, Arn: _arn, ...settings } = t.target;
        items.push({
          bus: t.bus,
          rule: t.rule,
          id: t.id,
          arn: t.arn,
          settings,
          pending: await deps.meta.deliveries.pending({ bus: t.bus, rule: t.rule, targetId: t.id }),
          deadLetters: await deps.meta.deliveries.countDeadLetters({
            bus: t.bus,
            rule: t.rule,
            targetId: t.id,
          }),
        });
      }
      return { items, total: all.length, limit: p.limit, offset: p.offset };
    },
    admin,
  );

  r.get(
    "/events/deliveries",
    async (req): Promise<EventsPage<DeliveryView>> => {
      const q = {
        ...(req.query.bus !== undefined ? { bus: busParam(req.query) } : {}),
        ...optional("rule", nameParam(req.query, "rule")),
        ...optional("targetId", nameParam(req.query, "targetId")),
      };
      const p = pageParams(req.query, { sorts: ["id"], defaultSort: "id", maxLimit: 100 });
      const rows = await deps.meta.deliveries.list({ ...q, limit: p.limit, offset: p.offset });
      // The envelope of a logged event is in the log (a replayed one carries its own).
      const logged = new Map(
        (await deps.meta.events.bySeqs(rows.filter((d) => d.eventJson === null).map((d) => d.eventSeq))).map(
          (e) => [e.seq, e.json],
        ),
      );
      const now = deps.now();
      return {
        items: rows.map((d) => deliveryView(d, d.eventJson ?? logged.get(d.eventSeq) ?? null, now)),
        total: await deps.meta.deliveries.pending(q),
        limit: p.limit,
        offset: p.offset,
      };
    },
    admin,
  );

  r.get(
    "/events/dead-letters",
    async (req): Promise<EventsPage<DeadLetterView>> => {
      const q = {
        ...(req.query.bus !== undefined ? { bus: busParam(req.query) } : {}),
        ...optional("rule", nameParam(req.query, "rule")),
        ...optional("targetId", nameParam(req.query, "targetId")),
        ...optional("queue", nameParam(req.query, "queue")),
      };
      const p = pageParams(req.query, {
        sorts: ["deadAt"],
        defaultSort: "deadAt",
        defaultOrder: "desc",
        maxLimit: 100,
      });
      const rows = await deps.meta.deliveries.deadLetters({
        ...q,
        limit: p.limit,
        offset: p.offset,
        newestFirst: p.order === "desc",
      });
      return {
        items: rows.map(letterView),
        total: await deps.meta.deliveries.countDeadLetters(q),
        limit: p.limit,
        offset: p.offset,
      };
    },
    admin,
  );

  r.post(
    "/events/dead-letters/redrive",
    async (req): Promise<RedriveResult> => {
      const parsed = redriveShape.safeParse(req.body ?? {});
      if (!parsed.success)
        throw badParameter(
          parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
        );
      const q = parsed.data;
      if (
        q.ids === undefined &&
        q.bus === undefined &&
        q.rule === undefined &&
        q.targetId === undefined &&
        q.queue === undefined
      )
        throw badParameter(
          "give ids, or a bus, rule, targetId or queue: a redrive of every letter must be asked for by name",
        );
      const redriven = await deps.meta.deliveries.redrive(q);
      if (redriven) wakeDeliveries(deps.meta);
      deps.log.info({ ...q, redriven }, "console: dead letters redriven");
      return { redriven };
    },
    admin,
  );
}

function optional<K extends string>(k: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, string>);
}
