import type { MetaStore, StoredArchive, StoredRule, StoredTarget } from "../storage/meta/store.js";
import type { EventEnvelope } from "./envelope.js";
import { compileRules, type CompiledRules } from "./pattern/index.js";
import { parseTargetArn } from "./targets/arn.js";

/**
 * Routing: which deliveries (rule targets) and archives an appended event goes to. The rules,
 * targets and archives of every bus are compiled into one RoutingTable per configuration
 * version (`counters('event_rules')`, moved by every change to them on any node), cached per
 * database in the process (MetaStore.processCache). Routing runs inside the transaction that
 * appends the events (src/events/log.ts), so an event, its deliveries and its archive entries
 * commit together or not at all.
 */

export interface RoutedTarget {
  rule: StoredRule;
  target: StoredTarget;
  /** The target puts the event on another bus (delivered in a transaction, not over the wire). */
  toBus: boolean;
}

interface BusRoutes {
  /** Enabled pattern rules with targets, by rule name. */
  index: CompiledRules<string>;
  /** Archives with a pattern, compiled; and those without, which keep every event of the bus. */
  archives: CompiledRules<string>;
  archiveAll: string[];
}

export class RoutingTable {
  private readonly buses = new Map<string, BusRoutes>();
  private readonly targetsByRule = new Map<string, RoutedTarget[]>();
  private readonly targetsByKey = new Map<string, RoutedTarget>();

  constructor(
    readonly version: number,
    rules: readonly StoredRule[],
    targets: readonly StoredTarget[],
    archives: readonly StoredArchive[],
  ) {
    const ruleByKey = new Map(rules.map((r) => [ruleKey(r.bus, r.name), r]));
    for (const t of targets) {
      const k = ruleKey(t.bus, t.rule);
      const rule = ruleByKey.get(k);
      if (!rule) continue;
      const routed = { rule, target: t, toBus: parseTargetArn(t.arn)?.kind === "event-bus" };
      this.targetsByKey.set(targetKey(t.bus, t.rule, t.id), routed);
      const list = this.targetsByRule.get(k);
      if (list) list.push(routed);
      else this.targetsByRule.set(k, [routed]);
    }
    const busNames = new Set([...rules.map((r) => r.bus), ...archives.map((a) => a.bus)]);
    for (const bus of busNames) {
      const live = rules.filter(
        (r) =>
          r.bus === bus &&
          r.state !== "DISABLED" &&
          r.eventPattern !== null &&
          this.targetsByRule.has(ruleKey(bus, r.name)),
      );
      this.buses.set(bus, {
        index: compileRules(live.map((r) => ({ id: r.name, pattern: r.eventPattern! }))),
        archives: compileRules(
          archives
            .filter((a) => a.bus === bus && a.state !== "DISABLED" && a.eventPattern !== null)
            .map((a) => ({ id: a.name, pattern: a.eventPattern! })),
        ),
        archiveAll: archives
          .filter((a) => a.bus === bus && a.state !== "DISABLED" && a.eventPattern === null)
          .map((a) => a.name),
      });
    }
  }

  /** The targets of the bus's enabled pattern rules that the event matches. */
  targetsFor(bus: string, event: EventEnvelope, onlyRules?: ReadonlySet<string>): RoutedTarget[] {
    const routes = this.buses.get(bus);
    if (!routes || routes.index.size === 0) return [];
    const out: RoutedTarget[] = [];
    for (const name of routes.index.matchingRules(event)) {
      if (onlyRules && !onlyRules.has(name)) continue;
      out.push(...this.targetsOfRule(bus, name));
    }
    return out;
  }

  /** The targets of one rule (a scheduled rule's firing goes to these only). */
  targetsOfRule(bus: string, rule: string): RoutedTarget[] {
    return this.targetsByRule.get(ruleKey(bus, rule)) ?? [];
  }

  archivesFor(bus: string, event: EventEnvelope): string[] {
    const routes = this.buses.get(bus);
    if (!routes) return [];
    return routes.archives.size
      ? [...routes.archiveAll, ...routes.archives.matchingRules(event)]
      : routes.archiveAll;
  }

  /** Whether anything on the bus could take an event (saves the matching when not). */
  hasRoutes(bus: string): boolean {
    const routes = this.buses.get(bus);
    return !!routes && (routes.index.size > 0 || routes.archives.size > 0 || routes.archiveAll.length > 0);
  }

  target(bus: string, rule: string, id: string): RoutedTarget | undefined {
    return this.targetsByKey.get(targetKey(bus, rule, id));
  }
}

const CACHE_KEY = "events.routing";

/** The routing table of the configuration `meta` sees now (its transaction's, when in one). */
export async function routingTable(meta: MetaStore): Promise<RoutingTable> {
  const version = await meta.bus.configVersion();
  const cached = meta.processCache.get(CACHE_KEY) as RoutingTable | undefined;
  if (cached && cached.version === version) return cached;
  const rules = await meta.bus.allRules();
  const targets = await meta.bus.allTargets();
  const archives = await meta.bus.allArchives();
  const table = new RoutingTable(version, rules, targets, archives);
  // Keep the newest: two transactions may load two versions concurrently.
  const now = meta.processCache.get(CACHE_KEY) as RoutingTable | undefined;
  if (!now || now.version <= version) meta.processCache.set(CACHE_KEY, table);
  return table;
}

function ruleKey(bus: string, rule: string): string {
  return `${bus}\u0000${rule}`;
}

function targetKey(bus: string, rule: string, id: string): string {
  return `${bus}\u0000${rule}\u0000${id}`;
}
