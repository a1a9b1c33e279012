import { z } from "zod";
import {
  ecrConfiguration,
  PULL_DATE_RESCAN_DURATIONS,
  PULL_DATE_RESCAN_MODES,
  RESCAN_DURATIONS,
} from "../inspector2/shapes.js";
import {
  decideRepository,
  filterMatches,
  MAX_FILTERS_PER_RULE,
  MAX_RULES,
  validateScanningConfiguration,
} from "../../scan/filters.js";
import { ScanError, type RegistryScanningConfiguration, type ScanFrequency } from "../../scan/types.js";
import { ecrConfiguration as windowInForce, storedEcrConfiguration } from "../../scan/window.js";
import type { AwsPrincipal } from "../access.js";
import type { PreviewRepository, PreviewRule, ScanningPreview, ScanningView } from "./contract/scanning.js";
import type { ConsoleDeps } from "./deps.js";
import { enumParam, intParam, pageParams, stringParam } from "./params.js";
import { badParameter, type ConsoleRoutes } from "./router.js";

/**
 * The console's scanning configuration: ECR's registry scanning configuration (scan type, rules
 * and their wildcard filters) and Inspector's rescan window, read and changed through the same
 * services as GetRegistryScanningConfiguration / PutRegistryScanningConfiguration and
 * Inspector2 GetConfiguration / UpdateConfiguration (so a change has the same validation, events
 * and activation jobs), and a live preview of a draft: which repositories each filter and rule
 * matches, decided in the store (SettingsStore.repositoriesMatching / countMatching, LIKE with
 * filterMatches' semantics) so that it pages 100,000 repositories without reading them.
 *
 * Access: reading is open to every signed-in user (as GetRegistryScanningConfiguration);
 * changing needs admin; the preview lists and counts only repositories the caller may pull.
 */

const FREQUENCIES: Record<"BASIC" | "ENHANCED", ScanFrequency[]> = {
  BASIC: ["SCAN_ON_PUSH"],
  ENHANCED: ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"],
};

/** The most rules/filters a preview draft may carry (beyond ECR's limits, so a draft over them is shown as invalid). */
const PREVIEW_MAX_RULES = 10;
const PREVIEW_MAX_FILTERS = 300;
/** Rows a restricted caller's preview reads at most (its counts are lower bounds beyond). */
const RESTRICTED_READ_CAP = 20_000;

const ruleShape = z
  .object({
    scanFrequency: z.enum(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"]),
    repositoryFilters: z
      .array(z.object({ filter: z.string().max(256), filterType: z.literal("WILDCARD") }).strict())
      .max(MAX_FILTERS_PER_RULE),
  })
  .strict();

const updateShape = z
  .object({
    scanType: z.enum(["BASIC", "ENHANCED"]),
    rules: z.array(ruleShape).max(MAX_RULES),
    rescanWindow: ecrConfiguration.strict().optional(),
  })
  .strict();

const draftRulesShape = z
  .array(
    z
      .object({
        scanFrequency: z.enum(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"]),
        filters: z.array(z.string().max(256)).max(PREVIEW_MAX_FILTERS),
      })
      .strict(),
  )
  .max(PREVIEW_MAX_RULES);

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
}

async function view(deps: ConsoleDeps, principal: AwsPrincipal): Promise<ScanningView> {
  const c = await deps.scan.getRegistryScanningConfiguration();
  const stored = await storedEcrConfiguration(deps.meta);
  const w = await windowInForce(deps.meta);
  return {
    scanType: c.scanType,
    rules: c.rules.map((r) => ({
      scanFrequency: r.scanFrequency,
      repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
    })),
    rescanWindow: {
      rescanDuration: w.rescanDuration,
      ...(w.pullDateRescanDuration ? { pullDateRescanDuration: w.pullDateRescanDuration } : {}),
      ...(w.pullDateRescanMode ? { pullDateRescanMode: w.pullDateRescanMode } : {}),
      ...(stored ? { updatedAt: stored.updatedAt } : {}),
      isDefault: stored === null,
    },
    canEdit: principal.admin,
    options: {
      maxRules: MAX_RULES,
      maxFiltersPerRule: MAX_FILTERS_PER_RULE,
      frequencies: FREQUENCIES,
      rescanDurations: [...RESCAN_DURATIONS],
      pullDateRescanDurations: [...PULL_DATE_RESCAN_DURATIONS],
      pullDateRescanModes: [...PULL_DATE_RESCAN_MODES],
    },
  };
}

/** Why ECR would refuse this one filter (the same check as PutRegistryScanningConfiguration), or undefined. */
function filterProblem(filter: string): string | undefined {
  try {
    validateScanningConfiguration({
      scanType: "BASIC",
      rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter, filterType: "WILDCARD" }] }],
    });
    return undefined;
  } catch (e) {
    if (e instanceof ScanError) return e.message;
    throw e;
  }
}

/** The draft of a preview request: `scanType` and `rules` (JSON). 400 when it cannot be read. */
export function readDraft(query: Record<string, string | undefined>): RegistryScanningConfiguration {
  const scanType = enumParam(query, "scanType", ["BASIC", "ENHANCED"] as const) ?? "BASIC";
  const raw = stringParam(query, "rules", { maxLength: 64 * 1024 });
  let parsed: unknown = [];
  if (raw !== undefined) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw badParameter(
        `rules: JSON, a list of {scanFrequency, filters: [...]} (got ${JSON.stringify(raw.slice(0, 40))})`,
      );
    }
  }
  const r = draftRulesShape.safeParse(parsed);
  if (!r.success) throw badParameter(`rules: ${zodMessage(r.error)}`);
  return {
    scanType,
    rules: r.data.map((x) => ({
      scanFrequency: x.scanFrequency,
      repositoryFilters: x.filters.map((filter) => ({ filter, filterType: "WILDCARD" as const })),
    })),
  };
}

async function preview(
  deps: ConsoleDeps,
  principal: AwsPrincipal,
  query: Record<string, string | undefined>,
): Promise<ScanningPreview> {
  const draft = readDraft(query);
  const p = pageParams(query, { sorts: ["name"], defaultSort: "name", maxLimit: 200 });
  // A rule or filter index must name one of the draft's (a draft without any has no index).
  const index = (name: string, count: number, what: string): number | undefined => {
    if (query[name] !== undefined && count === 0) throw badParameter(`${name}: the draft has no ${what}`);
    return intParam(query, name, { min: 0, max: count - 1 });
  };
  const ruleIx = index("rule", draft.rules.length, "rules");
  if (query.filter !== undefined && ruleIx === undefined) throw badParameter("filter: give rule too");
  const filterIx =
    ruleIx === undefined
      ? undefined
      : index("filter", draft.rules[ruleIx]!.repositoryFilters.length, "filters in that rule");

  let error: string | undefined;
  try {
    validateScanningConfiguration(draft);
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    error = e.message;
  }
  // Invalid filters match nothing (ECR would refuse them); the others are what the store matches.
  const rules = draft.rules.map((r) => ({
    scanFrequency: r.scanFrequency,
    filters: r.repositoryFilters.map((f) => ({ filter: f.filter, problem: filterProblem(f.filter) })),
  }));
  const valid = (fs: { filter: string; problem?: string }[]) =>
    fs.filter((f) => !f.problem).map((f) => f.filter);
  const allValid = [...new Set(rules.flatMap((r) => valid(r.filters)))];
  const selected =
    ruleIx === undefined
      ? allValid
      : filterIx === undefined
        ? valid(rules[ruleIx]!.filters)
        : valid([rules[ruleIx]!.filters[filterIx]!]);
  // Only the draft's valid filters decide frequencies (as it would be stored once fixed).
  const effective: RegistryScanningConfiguration = {
    scanType: draft.scanType,
    rules: draft.rules.map((r, i) => ({
      scanFrequency: r.scanFrequency,
      repositoryFilters: valid(rules[i]!.filters).map((filter) => ({
        filter,
        filterType: "WILDCARD" as const,
      })),
    })),
  };
  const describe = (name: string, scanOnPush: boolean): PreviewRepository => {
    const d = decideRepository(effective, name, scanOnPush);
    return {
      name,
      scanFrequency: d.scanFrequency,
      appliedFilters: d.appliedScanFilters.map((f) => f.filter),
    };
  };

  const sets = [
    selected,
    ...rules.map((r) => valid(r.filters)),
    ...rules.flatMap((r) => r.filters.map((f) => (f.problem ? [] : [f.filter]))),
  ];
  let counts: number[];
  let items: PreviewRepository[];
  let capped = false;
  if (principal.pullsEverything) {
    counts = await deps.meta.settings.countMatching(sets);
    const page = await deps.meta.settings.repositoriesMatching(selected, {
      offset: p.offset,
      limit: p.limit,
    });
    items = page.items.map((r) => describe(r.name, r.scanOnPush));
  } else {
    // The caller sees only repositories it may pull: read the names any filter matches (in
    // the store, in pages), keep the visible ones, and count them here with filterMatches
    // (the store's LIKE agrees with it: settings-store.test.ts).
    counts = sets.map(() => 0);
    items = [];
    let seen = 0;
    let read = 0;
    let after: string | undefined;
    for (;;) {
      const page = await deps.meta.settings.repositoriesMatching(allValid, {
        ...(after ? { after } : {}),
        limit: 1000,
      });
      for (const r of page.items) {
        if (!principal.may("pull", r.name)) continue;
        sets.forEach((s, i) => {
          if (s.some((f) => filterMatches(f, r.name))) counts[i]!++;
        });
        if (selected.some((f) => filterMatches(f, r.name))) {
          if (seen >= p.offset && items.length < p.limit) items.push(describe(r.name, r.scanOnPush));
          seen++;
        }
      }
      read += page.items.length;
      if (!page.more || !page.items.length) break;
      if (read >= RESTRICTED_READ_CAP) {
        capped = true;
        break;
      }
      after = page.items.at(-1)!.name;
    }
  }
  const ruleCounts = counts.slice(1, 1 + rules.length);
  const filterCounts = counts.slice(1 + rules.length);
  let k = 0;
  const out: PreviewRule[] = rules.map((r, i) => ({
    scanFrequency: r.scanFrequency,
    matches: ruleCounts[i]!,
    filters: r.filters.map((f) => ({
      filter: f.filter,
      valid: !f.problem,
      ...(f.problem ? { error: f.problem } : {}),
      matches: filterCounts[k++]!,
    })),
  }));
  return {
    valid: error === undefined,
    ...(error !== undefined ? { error } : {}),
    rules: out,
    selection:
      ruleIx === undefined ? null : { rule: ruleIx, ...(filterIx !== undefined ? { filter: filterIx } : {}) },
    repositories: {
      items,
      total: counts[0]!,
      ...(capped ? { totalCapped: true as const } : {}),
      limit: p.limit,
      offset: p.offset,
    },
  };
}

export function registerScanningRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  r.get("/scanning", async (req) => view(deps, req.principal));

  r.put(
    "/scanning",
    async (req) => {
      const parsed = updateShape.safeParse(req.body);
      if (!parsed.success) throw badParameter(zodMessage(parsed.error));
      const input = parsed.data;
      const next: RegistryScanningConfiguration = { scanType: input.scanType, rules: input.rules };
      // Everything is checked before anything is written: a refused change changes nothing.
      try {
        validateScanningConfiguration(next);
      } catch (e) {
        if (e instanceof ScanError) throw badParameter(e.message);
        throw e;
      }
      try {
        await deps.scan.putRegistryScanningConfiguration(next);
      } catch (e) {
        if (e instanceof ScanError) throw badParameter(e.message);
        throw e;
      }
      if (input.rescanWindow) await deps.inspector2.updateConfiguration(input.rescanWindow, req.principal);
      return view(deps, req.principal);
    },
    { admin: true },
  );

  r.get("/scanning/preview", async (req) => preview(deps, req.principal, req.query));
}
