import { z } from "zod";
import type { FilterRecord } from "../inspector2/backend.js";
import { Inspector2Error } from "../inspector2/errors.js";
import type { FilterCriteria } from "../inspector2/shapes.js";
import { DEFAULT_SORT } from "../inspector2/criteria.js";
import {
  addException,
  exceptionFilter,
  exceptionOf,
  expiryOf,
  ExceptionError,
  validateException,
  EXPIRES_AT_TAG,
  REPOSITORY_PATTERN_TAG,
  SOURCE_TAG,
  type ExceptionInput,
} from "../../findings/exceptions.js";
import { patternsOfTag } from "../../findings/suppression.js";
import { compileRepositoryPatterns } from "../../policy/patterns.js";
import type { StoredFilter } from "../../storage/meta/store.js";
import type { AwsPrincipal } from "../access.js";
import type {
  HiddenFinding,
  HiddenFindings,
  SuppressionList,
  SuppressionRuleView,
} from "./contract/suppression.js";
import type { ConsoleDeps } from "./deps.js";
import { enumParam, intParam, pageParams, stringParam } from "./params.js";
import { badParameter, ConsoleError, notFound, type ConsoleRoutes } from "./router.js";

/**
 * The console's suppression rules and exceptions: Inspector2 SUPPRESS filters, of which scoped
 * exceptions (src/findings/exceptions.ts) are the ones tagged `drydock:source`. Made, changed,
 * expired and deleted through the Inspector2 backend's filter calls (the same re-evaluation of
 * findings, `Drydock Suppression Change` audit event and expiry singleton as CreateFilter,
 * UpdateFilter, TagResource and DeleteFilter); exceptions made here are tagged
 * `drydock:source=console`.
 *
 * "What it hides now": the SUPPRESSED findings its criteria (and repository patterns) match,
 * read through ListFindings' query (narrowed in SQL, checked exactly), of repositories the caller
 * may pull, counted up to HIDDEN_COUNT_CAP.
 *
 * Access: every route needs admin, as Inspector2's ListFilters does (filters read and hide
 * findings of every repository; docs/access.md).
 */

/** Findings a "what it hides" count reads at most; beyond, the total is a lower bound. */
export const HIDDEN_COUNT_CAP = 1_000;
/** The deepest page of hidden findings (their paging reads from the first). */
const HIDDEN_MAX_OFFSET = 10_000;
const FINDINGS_PAGE = 100;

const scopeShape = {
  repositories: z.array(z.string().min(1).max(256)).max(50).optional(),
  imageDigest: z.string().max(80).optional(),
  package: z.string().max(256).optional(),
  packageVersion: z.string().max(256).optional(),
  vulnerability: z.string().max(256).optional(),
};
const inputShape = z
  .object({
    name: z.string().max(128),
    reason: z.string().max(512),
    owner: z.string().max(256),
    expires: z.string().max(64),
    ...scopeShape,
  })
  .strict();
const expireShape = z.object({ expires: z.string().max(64) }).strict();

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
}

/** The stored filter as the Inspector2 backend shows it (FilterRecord). */
function recordOf(deps: ConsoleDeps, f: StoredFilter): FilterRecord {
  return {
    arn: arnOf(deps, f.id),
    ownerId: deps.config.aws.accountId,
    name: f.name,
    criteria: JSON.parse(f.criteria) as FilterCriteria,
    action: f.action as FilterRecord["action"],
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    ...(f.description !== null ? { description: f.description } : {}),
    ...(f.reason !== null ? { reason: f.reason } : {}),
    tags: f.tags,
  };
}

function arnOf(deps: ConsoleDeps, id: string): string {
  const { region, accountId } = deps.config.aws;
  return `arn:aws:inspector2:${region}:${accountId}:owner/${accountId}/filter/${id}`;
}

/** Whether the filter no longer suppresses at `now` (its expiry applied, or due). */
const isExpired = (f: StoredFilter, now: number) => f.expired || (f.expiresAt !== null && f.expiresAt <= now);

export function ruleView(deps: ConsoleDeps, f: StoredFilter, now: number): SuppressionRuleView {
  const rec = recordOf(deps, f);
  const e = exceptionOf(rec, isExpired(f, now));
  const scoped =
    (e.repositories?.length ?? 0) > 0 || e.imageDigest || e.package || e.vulnerability ? true : false;
  // Editable here when the form's fields say all of it (rebuilding it from them gives its
  // criteria), and when it is not the configuration's (its next start would put it back).
  const editable =
    scoped &&
    f.tags[SOURCE_TAG] !== "config" &&
    JSON.stringify(
      exceptionFilter({ ...e, reason: "", owner: "", expiresAt: 0, name: e.name }, "console").criteria,
    ) === JSON.stringify(rec.criteria);
  return {
    arn: rec.arn,
    name: f.name,
    kind: f.tags[SOURCE_TAG] !== undefined ? "exception" : "filter",
    reason: e.reason,
    owner: e.owner,
    source: e.source,
    expiresAt: e.expiresAt,
    expired: e.expired,
    editable,
    criteria: rec.criteria as Record<string, unknown>,
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    ...(e.repositories ? { repositories: e.repositories } : {}),
    ...(e.imageDigest ? { imageDigest: e.imageDigest } : {}),
    ...(e.package ? { package: e.package } : {}),
    ...(e.packageVersion ? { packageVersion: e.packageVersion } : {}),
    ...(e.vulnerability ? { vulnerability: e.vulnerability } : {}),
  };
}

async function requireFilter(deps: ConsoleDeps, id: string): Promise<StoredFilter> {
  if (!/^[0-9a-f]{1,64}$/.test(id))
    throw badParameter(`id: a filter id (hex), got ${JSON.stringify(id.slice(0, 80))}`);
  const f = await deps.meta.filters.get(id);
  if (!f || f.action !== "SUPPRESS") throw notFound(`no suppression rule ${id}`);
  return f;
}

/** Runs a backend change, its refusals as console errors. */
async function change<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ExceptionError) throw badParameter(e.message);
    if (e instanceof Inspector2Error) {
      if (e.code === "ResourceNotFoundException") throw notFound(e.message);
      if (e.code === "BadRequestException" || e.code === "ServiceQuotaExceededException")
        throw new ConsoleError(409, "Conflict", e.message);
      throw badParameter(e.message);
    }
    throw e;
  }
}

/** A create/edit body as an exception (400 naming what is wrong). */
export function readInput(body: unknown): ExceptionInput {
  const parsed = inputShape.safeParse(body);
  if (!parsed.success) throw badParameter(zodMessage(parsed.error));
  const b = parsed.data;
  const expiresAt = expiryOf(b.expires);
  if (!Number.isFinite(expiresAt))
    throw badParameter(`expires: a day (2026-12-31) or an ISO 8601 time, got ${JSON.stringify(b.expires)}`);
  const opt = (v: string | undefined) => (v !== undefined && v.trim() !== "" ? v.trim() : undefined);
  const repositories = b.repositories?.map((r) => r.trim()).filter(Boolean);
  const imageDigest = opt(b.imageDigest);
  const pkg = opt(b.package);
  const packageVersion = opt(b.packageVersion);
  const vulnerability = opt(b.vulnerability);
  return {
    name: b.name.trim(),
    reason: b.reason,
    owner: b.owner,
    expiresAt,
    expires: b.expires,
    ...(repositories?.length ? { repositories } : {}),
    ...(imageDigest ? { imageDigest } : {}),
    ...(pkg ? { package: pkg } : {}),
    ...(packageVersion ? { packageVersion } : {}),
    ...(vulnerability ? { vulnerability } : {}),
  };
}

async function list(deps: ConsoleDeps, query: Record<string, string | undefined>): Promise<SuppressionList> {
  const p = pageParams(query, {
    sorts: ["name", "createdAt", "expiresAt"],
    defaultSort: "name",
    maxLimit: 200,
  });
  const state = enumParam(query, "state", ["active", "expired", "all"] as const) ?? "all";
  const q = stringParam(query, "q", { maxLength: 128 })?.toLowerCase();
  const now = deps.now();
  // SUPPRESS filters are few (Inspector's quota, MAX_FILTERS: 500): read whole, then filtered,
  // sorted and paged here.
  let rows = (await deps.meta.filters.withAction("SUPPRESS")).map((f) => ruleView(deps, f, now));
  if (state !== "all") rows = rows.filter((r) => r.expired === (state === "expired"));
  if (q)
    rows = rows.filter((r) =>
      [r.name, r.reason, r.owner, r.vulnerability, r.package, ...(r.repositories ?? [])].some((v) =>
        v?.toLowerCase().includes(q),
      ),
    );
  const key = (r: SuppressionRuleView): string | number =>
    p.sort === "name"
      ? r.name
      : p.sort === "createdAt"
        ? r.createdAt
        : (r.expiresAt ?? Number.MAX_SAFE_INTEGER);
  const dir = p.order === "asc" ? 1 : -1;
  rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : a.arn < b.arn ? -1 : 1) * dir;
  });
  return {
    items: rows.slice(p.offset, p.offset + p.limit),
    total: rows.length,
    limit: p.limit,
    offset: p.offset,
  };
}

function hiddenOf(f: { findingArn: string } & Record<string, unknown>): HiddenFinding {
  const r = f as unknown as {
    findingArn: string;
    vulnerabilityId: string;
    reportedSeverity: string;
    repositoryName: string;
    imageDigest: string;
    imageTags: string[];
    package: { name: string; version: string };
    updatedAt: number;
  };
  return {
    findingArn: r.findingArn,
    vulnerabilityId: r.vulnerabilityId,
    severity: r.reportedSeverity,
    repositoryName: r.repositoryName,
    imageDigest: r.imageDigest,
    imageTags: r.imageTags,
    packageName: r.package.name,
    packageVersion: r.package.version,
    updatedAt: r.updatedAt,
  };
}

/**
 * The findings a rule hides now: SUPPRESSED ones its criteria match (judged as if ACTIVE, as
 * suppression judges them: its own findingStatus criterion is left out) within its repository
 * patterns, of repositories the caller may pull; the page at `offset` and a count up to the cap.
 */
async function hidden(
  deps: ConsoleDeps,
  principal: AwsPrincipal,
  id: string,
  query: Record<string, string | undefined>,
): Promise<HiddenFindings> {
  const limit = intParam(query, "limit", { min: 1, max: 100 }) ?? 50;
  const offset = intParam(query, "offset", { min: 0, max: HIDDEN_MAX_OFFSET }) ?? 0;
  const f = await requireFilter(deps, id);
  const now = deps.now();
  const rule = ruleView(deps, f, now);
  const empty = { rule, items: [], total: 0, limit, offset };
  if (rule.expired) return empty;
  const { findingStatus: _ignored, ...criteria } = JSON.parse(f.criteria) as FilterCriteria;
  const patterns = f.tags[REPOSITORY_PATTERN_TAG];
  const inScope = patterns !== undefined ? compileRepositoryPatterns(patternsOfTag(patterns)) : () => true;
  const items: HiddenFinding[] = [];
  let total = 0;
  let nextToken: string | undefined;
  const cap = Math.max(HIDDEN_COUNT_CAP, offset + limit);
  do {
    const page = await deps.inspector2.listFindings(
      {
        criteria: { ...criteria, findingStatus: [{ comparison: "EQUALS", value: "SUPPRESSED" }] },
        sort: DEFAULT_SORT,
        maxResults: FINDINGS_PAGE,
        ...(nextToken ? { nextToken } : {}),
      },
      principal,
    );
    for (const x of page.items) {
      if (!inScope(x.repositoryName)) continue;
      if (total >= offset && items.length < limit) items.push(hiddenOf(x as never));
      total++;
    }
    nextToken = page.nextToken;
  } while (nextToken && total < cap);
  return { rule, items, total, ...(nextToken ? { totalCapped: true as const } : {}), limit, offset };
}

export function registerSuppressionRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  const admin = { admin: true };

  r.get("/suppression", async (req) => list(deps, req.query), admin);

  r.get(
    "/suppression/:id",
    async (req) => ruleView(deps, await requireFilter(deps, req.params.id!), deps.now()),
    admin,
  );

  r.get(
    "/suppression/:id/findings",
    async (req) => hidden(deps, req.principal, req.params.id!, req.query),
    admin,
  );

  r.post(
    "/suppression",
    async (req) => {
      const input = readInput(req.body);
      const rec = await change(() =>
        addException(deps.inspector2, input, "console", req.principal, deps.now()),
      );
      const id = rec.arn.slice(rec.arn.lastIndexOf("/") + 1);
      return ruleView(deps, (await deps.meta.filters.get(id))!, deps.now());
    },
    admin,
  );

  r.put(
    "/suppression/:id",
    async (req) => {
      const f = await requireFilter(deps, req.params.id!);
      const input = readInput(req.body);
      if (f.tags[SOURCE_TAG] === "config")
        throw new ConsoleError(
          409,
          "Conflict",
          `${f.name} comes from the configuration file (exceptions:): change it there (a start makes the configuration's exceptions current again)`,
        );
      await change(async () => validateException(input, deps.now()));
      // The filter keeps its ARN: its criteria, name and reason through UpdateFilter, its tags
      // (owner, expiry, repository patterns) through TagResource/UntagResource, each with its
      // re-evaluation and audit event. Everything was checked above, so each step succeeds.
      const next = exceptionFilter(input, (f.tags[SOURCE_TAG] as "cli" | "config" | "console") ?? "console");
      const arn = arnOf(deps, f.id);
      await change(() =>
        deps.inspector2.updateFilter(
          arn,
          { name: next.name, criteria: next.criteria, reason: next.reason! },
          req.principal,
        ),
      );
      await change(() => deps.inspector2.tagResource(arn, next.tags!, req.principal));
      if (f.tags[REPOSITORY_PATTERN_TAG] !== undefined && next.tags![REPOSITORY_PATTERN_TAG] === undefined)
        await change(() => deps.inspector2.untagResource(arn, [REPOSITORY_PATTERN_TAG], req.principal));
      return ruleView(deps, (await deps.meta.filters.get(f.id))!, deps.now());
    },
    admin,
  );

  r.post(
    "/suppression/:id/expire",
    async (req) => {
      const f = await requireFilter(deps, req.params.id!);
      const parsed = expireShape.safeParse(req.body);
      if (!parsed.success) throw badParameter(zodMessage(parsed.error));
      const now = deps.now();
      const at = parsed.data.expires === "now" ? now : expiryOf(parsed.data.expires);
      if (!Number.isFinite(at))
        throw badParameter(
          `expires: "now", a day (2026-12-31) or an ISO 8601 time, got ${JSON.stringify(parsed.data.expires)}`,
        );
      // The expiry tag, as `aws inspector2 tag-resource` sets it: a time already come stops the
      // rule at once (suppression reads expiresAt), and the expiry singleton records it EXPIRED.
      await change(() =>
        deps.inspector2.tagResource(
          arnOf(deps, f.id),
          { [EXPIRES_AT_TAG]: new Date(at).toISOString() },
          req.principal,
        ),
      );
      return ruleView(deps, (await deps.meta.filters.get(f.id))!, deps.now());
    },
    admin,
  );

  r.del(
    "/suppression/:id",
    async (req) => {
      const f = await requireFilter(deps, req.params.id!);
      await change(() => deps.inspector2.deleteFilter(arnOf(deps, f.id), req.principal));
      return undefined;
    },
    admin,
  );
}
