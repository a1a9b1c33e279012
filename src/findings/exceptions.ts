import { AwsPrincipal } from "../api/access.js";
import type { FilterInput, FilterRecord } from "../api/inspector2/backend.js";
import { Inspector2Error } from "../api/inspector2/errors.js";
import { splitPackageVersion } from "../api/inspector2/finding.js";
import type { FilterCriteria, StringFilter } from "../api/inspector2/shapes.js";
import type { Config } from "../config/schema.js";
import { ConfigError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { compileRepositoryPatterns } from "../policy/patterns.js";
import { EXPIRES_AT_TAG, type StoreInspector2Backend } from "./inspector-backend.js";
import type { Finding } from "./finding.js";
import { OWNER_TAG, patternsOfTag, REPOSITORY_PATTERN_TAG, SOURCE_TAG } from "./suppression.js";

/**
 * Scoped exceptions (docs/vex-and-exceptions.md): "this vulnerability, in this package, of
 * these repositories or this image, is accepted, for this reason, by this owner, until then".
 * One concept with Inspector's SUPPRESS filters: an exception IS a SUPPRESS filter, made and
 * removed through the same backend calls as CreateFilter/DeleteFilter (same re-evaluation of
 * findings, same `Drydock Suppression Change` audit event, same expiry singleton), whose scope
 * is Inspector criteria (ecrImageRepositoryName, ecrImageHash, vulnerablePackages name and
 * version, vulnerabilityId, all EQUALS) plus, for repository patterns with wildcards (which
 * Inspector's EQUALS/PREFIX cannot say), the `drydock:repository-pattern` tag; owner, origin
 * and expiry are the tags `drydock:owner`, `drydock:source` (cli, config or console) and
 * `drydock:expires-at`. So `aws inspector2 list-filters` shows every exception, and an
 * exception can as well be made with `aws inspector2 create-filter --tags ...`.
 */

export { EXPIRES_AT_TAG, OWNER_TAG, REPOSITORY_PATTERN_TAG, SOURCE_TAG };

/** Where an exception was made (its `drydock:source` tag): `drydock exceptions`, the configuration, the console. */
export type ExceptionSource = "cli" | "config" | "console";

export interface ExceptionScope {
  /** Repository names or patterns (`**` any segments, `*` within one, exact otherwise). */
  repositories?: string[];
  imageDigest?: string;
  package?: string;
  packageVersion?: string;
  vulnerability?: string;
}

export interface ExceptionInput extends ExceptionScope {
  name: string;
  reason: string;
  owner: string;
  /** Epoch ms: it stops suppressing then. */
  expiresAt: number;
  /** The expiry as given (`2026-12-31`: through that day), for messages. */
  expires?: string;
}

/** An exception as read back from its filter. */
export interface ExceptionRecord extends ExceptionScope {
  arn: string;
  name: string;
  reason: string | null;
  owner: string | null;
  source: string | null;
  expiresAt: number | null;
  expired: boolean;
  createdAt: number;
}

/** Why an exception was refused; nothing was changed. */
export class ExceptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExceptionError";
  }
}

const PATTERN = /^(?:\*\*|[a-z0-9*]+(?:[._-][a-z0-9*]+)*)(?:\/(?:\*\*|[a-z0-9*]+(?:[._-]+[a-z0-9*]+)*))*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9 _./:@-]{1,128}$/;

/** Checks an exception (`now` null: an expiry in the past is allowed); ExceptionError saying what is wrong. */
export function validateException(e: ExceptionInput, now: number | null): void {
  if (!NAME.test(e.name))
    throw new ExceptionError(`name ${JSON.stringify(e.name)}: 1-128 letters, digits, space and _ . / : @ -`);
  if (!e.reason.trim()) throw new ExceptionError(`${e.name}: a reason is required`);
  if (e.reason.length > 512) throw new ExceptionError(`${e.name}: the reason is longer than 512 characters`);
  if (!e.owner.trim()) throw new ExceptionError(`${e.name}: an owner is required`);
  if (e.owner.length > 256) throw new ExceptionError(`${e.name}: the owner is longer than 256 characters`);
  if (!Number.isFinite(e.expiresAt)) throw new ExceptionError(`${e.name}: an expiry date is required`);
  if (now !== null && e.expiresAt <= now)
    throw new ExceptionError(
      `${e.name}: the expiry ${new Date(e.expiresAt).toISOString()} has already passed`,
    );
  const scoped =
    (e.repositories?.length ?? 0) > 0 ||
    e.imageDigest !== undefined ||
    e.package !== undefined ||
    e.vulnerability !== undefined;
  if (!scoped)
    throw new ExceptionError(
      `${e.name}: an exception needs a scope (repositories, image digest, package or vulnerability); it would suppress everything`,
    );
  for (const p of e.repositories ?? [])
    if (!PATTERN.test(p))
      throw new ExceptionError(`${e.name}: ${JSON.stringify(p)} is not a repository name or pattern`);
  if (e.repositories && e.repositories.join(",").length > 256)
    throw new ExceptionError(`${e.name}: the repository patterns are longer than 256 characters together`);
  if (e.imageDigest !== undefined && !DIGEST.test(e.imageDigest))
    throw new ExceptionError(
      `${e.name}: image digest ${JSON.stringify(e.imageDigest)} is not sha256:<64 hex>`,
    );
  if (e.packageVersion !== undefined && e.package === undefined)
    throw new ExceptionError(`${e.name}: a package version needs a package name`);
  for (const [k, v] of [
    ["package", e.package],
    ["package version", e.packageVersion],
    ["vulnerability", e.vulnerability],
  ] as const)
    if (v !== undefined && (!v.trim() || v.length > 256))
      throw new ExceptionError(`${e.name}: the ${k} must be 1-256 characters`);
}

const eq = (value: string): StringFilter[] => [{ comparison: "EQUALS", value }];

/** The SUPPRESS filter that is this exception. */
export function exceptionFilter(e: ExceptionInput, source: ExceptionSource): FilterInput {
  const criteria: FilterCriteria = {};
  const repos = e.repositories ?? [];
  const wildcard = repos.some((p) => p.includes("*"));
  if (repos.length && !wildcard)
    criteria.ecrImageRepositoryName = repos.map((value) => ({ comparison: "EQUALS", value }));
  if (e.imageDigest) criteria.ecrImageHash = eq(e.imageDigest);
  if (e.vulnerability) criteria.vulnerabilityId = eq(e.vulnerability);
  if (e.package)
    criteria.vulnerablePackages = [
      {
        name: { comparison: "EQUALS", value: e.package },
        ...(e.packageVersion ? { version: { comparison: "EQUALS", value: e.packageVersion } } : {}),
      },
    ];
  return {
    name: e.name,
    action: "SUPPRESS",
    criteria,
    reason: e.reason,
    tags: {
      [OWNER_TAG]: e.owner,
      [SOURCE_TAG]: source,
      [EXPIRES_AT_TAG]: new Date(e.expiresAt).toISOString(),
      ...(wildcard ? { [REPOSITORY_PATTERN_TAG]: repos.join(",") } : {}),
    },
  };
}

const single = (f: StringFilter[] | undefined) =>
  f?.length === 1 && f[0]!.comparison === "EQUALS" ? f[0]!.value : undefined;

/** An exception (or any SUPPRESS filter) as people read it. */
export function exceptionOf(f: FilterRecord, expired: boolean): ExceptionRecord {
  const c = f.criteria;
  const pkg = c.vulnerablePackages?.[0];
  const patterns = patternsOfTag(f.tags[REPOSITORY_PATTERN_TAG]);
  const repositories = patterns.length
    ? patterns
    : (c.ecrImageRepositoryName ?? []).filter((x) => x.comparison === "EQUALS").map((x) => x.value);
  const expires = f.tags[EXPIRES_AT_TAG] !== undefined ? Date.parse(f.tags[EXPIRES_AT_TAG]) : NaN;
  const imageDigest = single(c.ecrImageHash);
  const vulnerability = single(c.vulnerabilityId);
  const pkgName = pkg?.name?.comparison === "EQUALS" ? pkg.name.value : undefined;
  const pkgVersion = pkg?.version?.comparison === "EQUALS" ? pkg.version.value : undefined;
  return {
    arn: f.arn,
    name: f.name,
    reason: f.reason ?? f.description ?? null,
    owner: f.tags[OWNER_TAG] ?? null,
    source: f.tags[SOURCE_TAG] ?? null,
    expiresAt: Number.isFinite(expires) ? expires : null,
    expired,
    createdAt: f.createdAt,
    ...(repositories.length ? { repositories } : {}),
    ...(imageDigest ? { imageDigest } : {}),
    ...(pkgName ? { package: pkgName } : {}),
    ...(pkgVersion ? { packageVersion: pkgVersion } : {}),
    ...(vulnerability ? { vulnerability } : {}),
  };
}

/** Every SUPPRESS filter (exceptions and plain filters) with whether its expiry was applied. */
export async function listExceptions(
  backend: StoreInspector2Backend,
  isExpired: (arn: string) => Promise<boolean>,
): Promise<ExceptionRecord[]> {
  const out: ExceptionRecord[] = [];
  for await (const f of suppressFilters(backend)) out.push(exceptionOf(f, await isExpired(f.arn)));
  return out;
}

/** Every SUPPRESS filter, page by page. */
async function* suppressFilters(backend: StoreInspector2Backend): AsyncIterable<FilterRecord> {
  let nextToken: string | undefined;
  do {
    const page = await backend.listFilters({
      maxResults: 100,
      action: "SUPPRESS",
      ...(nextToken ? { nextToken } : {}),
    });
    yield* page.items;
    nextToken = page.nextToken;
  } while (nextToken);
}

/** Adds an exception (a SUPPRESS filter): findings re-evaluated, audit event, in one transaction. */
export async function addException(
  backend: StoreInspector2Backend,
  e: ExceptionInput,
  source: ExceptionSource,
  by: AwsPrincipal,
  now: number,
): Promise<FilterRecord> {
  validateException(e, now);
  return backend.createFilter(exceptionFilter(e, source), by);
}

/**
 * The configuration's `exceptions` made current at start: each entry is the filter named
 * `config/<name>` tagged `drydock:source=config`; a changed entry is replaced, one no longer in
 * the configuration removed (each with its audit event). Entries already expired are still
 * made (the expiry singleton ends them at once, with its event, and `drydock scan` reports
 * them). Returns what changed.
 */
export async function syncConfigExceptions(
  backend: StoreInspector2Backend,
  entries: readonly ExceptionInput[],
  by: AwsPrincipal,
  log?: Logger,
): Promise<{ created: string[]; replaced: string[]; removed: string[] }> {
  for (const e of entries) validateException(e, null);
  const want = new Map(
    entries.map((e) => [`config/${e.name}`, exceptionFilter({ ...e, name: `config/${e.name}` }, "config")]),
  );
  const have = new Map<string, FilterRecord>();
  for await (const f of suppressFilters(backend)) if (f.tags[SOURCE_TAG] === "config") have.set(f.name, f);
  const out = { created: [] as string[], replaced: [] as string[], removed: [] as string[] };
  // Another node starting with the same configuration may have made or removed it first: its
  // refusal (a name in use, a filter gone) is that node's work done, not a failure of the start.
  const raced = async (name: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      if (!(err instanceof Inspector2Error)) throw err;
      log?.warn({ exception: name, err: err.message }, "configuration exception changed by another node");
      return false;
    }
  };
  for (const [name, f] of have)
    if (!want.has(name) && (await raced(name, () => backend.deleteFilter(f.arn, by)))) out.removed.push(name);
  for (const [name, input] of want) {
    const old = have.get(name);
    if (old && sameFilter(old, input)) continue;
    if (old) await raced(name, () => backend.deleteFilter(old.arn, by));
    if (await raced(name, () => backend.createFilter(input, by)))
      (old ? out.replaced : out.created).push(name);
  }
  return out;
}

function sameFilter(a: FilterRecord, b: FilterInput): boolean {
  return (
    JSON.stringify(a.criteria) === JSON.stringify(b.criteria) &&
    (a.reason ?? null) === (b.reason ?? null) &&
    JSON.stringify(Object.entries(a.tags).sort()) === JSON.stringify(Object.entries(b.tags ?? {}).sort())
  );
}

/**
 * Whether an exception covers a finding of an image in a repository: for `drydock scan`, which
 * has no store (the same scope as the filter: EQUALS on each field, the package version as
 * Inspector shows it, without epoch and release; patterns for repositories).
 */
export function exceptionCovers(
  e: ExceptionScope,
  f: Finding,
  repository?: string,
  digest?: string,
): boolean {
  if (e.vulnerability !== undefined && e.vulnerability !== f.vulnerabilityId) return false;
  if (e.package !== undefined && e.package !== f.package.name) return false;
  if (
    e.packageVersion !== undefined &&
    e.packageVersion !== splitPackageVersion(f.package.ecosystem, f.package.version).version
  )
    return false;
  if (e.imageDigest !== undefined && e.imageDigest !== digest) return false;
  if (e.repositories?.length) {
    if (repository === undefined || !compileRepositoryPatterns(e.repositories)(repository)) return false;
  }
  return true;
}

/**
 * When an exception given by a day or a time ends: a day (`2026-12-31`) suppresses through
 * that day (UTC), as the ignore file's `expires`; a time ends then. NaN when neither.
 */
export function expiryOf(v: string): number {
  const t = Date.parse(v);
  if (Number.isNaN(t)) return NaN;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v))
    return new Date(t).toISOString().slice(0, 10) === v ? t + 24 * 3600_000 : NaN;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? t : NaN;
}

/** A configuration entry (`exceptions:` of the configuration) as an exception. */
export function exceptionOfConfig(e: Config["exceptions"][number]): ExceptionInput {
  return {
    name: e.name,
    reason: e.reason,
    owner: e.owner,
    expiresAt: expiryOf(e.expires),
    expires: e.expires,
    ...(e.repositories ? { repositories: e.repositories } : {}),
    ...(e.imageDigest ? { imageDigest: e.imageDigest } : {}),
    ...(e.package ? { package: e.package } : {}),
    ...(e.packageVersion ? { packageVersion: e.packageVersion } : {}),
    ...(e.vulnerability ? { vulnerability: e.vulnerability } : {}),
  };
}

/**
 * `drydock serve` at start: the configuration's exceptions made current (syncConfigExceptions),
 * audited as `drydock-config`; an invalid entry stops the start with a ConfigError.
 */
export async function applyConfigExceptions(
  backend: StoreInspector2Backend,
  config: Config,
  log: Logger,
): Promise<void> {
  let r: Awaited<ReturnType<typeof syncConfigExceptions>>;
  try {
    r = await syncConfigExceptions(
      backend,
      config.exceptions.map(exceptionOfConfig),
      AwsPrincipal.unrestricted(config.aws.accountId, undefined, "drydock-config"),
      log,
    );
  } catch (e) {
    if (e instanceof ExceptionError) throw new ConfigError(`exceptions: ${e.message}`);
    throw e;
  }
  if (r.created.length + r.replaced.length + r.removed.length)
    log.info(r, "configuration exceptions applied");
}
