import { userInfo } from "node:os";
import { AwsPrincipal } from "../api/access.js";
import { Inspector2Error } from "../api/inspector2/errors.js";
import { ConfigError } from "../core/errors.js";
import {
  addException,
  ExceptionError,
  expiryOf,
  listExceptions,
  type ExceptionRecord,
} from "../findings/exceptions.js";
import { StoreInspector2Backend } from "../findings/inspector-backend.js";
import type { Config } from "../config/schema.js";
import type { MetaStore } from "../storage/meta/store.js";
import { withMetaStore } from "./meta.js";

/**
 * `drydock exceptions add|list|remove|vex` (options: main.ts): scoped exceptions, which are
 * the registry's SUPPRESS filters (src/findings/exceptions.ts), made and removed through the
 * Inspector2 backend on the shared database: the findings are decided again and an audit
 * event written in the same transaction, so it is safe while the server runs (any node sees
 * it at once). An administrator's command: it opens the metadata store directly.
 */

export interface ExceptionsOptions {
  config?: string;
  data?: string;
  json?: boolean;
}

export interface AddOptions extends ExceptionsOptions {
  name?: string;
  reason?: string;
  owner?: string;
  expires?: string;
  repository?: string[];
  image?: string;
  package?: string;
  packageVersion?: string;
  vulnerability?: string;
}

const backendOf = (meta: MetaStore, config: Config) =>
  new StoreInspector2Backend(meta, {
    registry: { accountId: config.aws.accountId, region: config.aws.region },
  });

/** Who runs the command, as the audit event names it: `arn:aws:iam::ACCOUNT:user/cli:<login>`. */
function operator(config: Config): AwsPrincipal {
  let login = "unknown";
  try {
    login = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid)
  }
  return AwsPrincipal.unrestricted(config.aws.accountId, undefined, `cli:${login}`);
}

export async function exceptionsAdd(opts: AddOptions): Promise<void> {
  if (!opts.reason) throw new ConfigError("--reason is required: say why the finding is accepted");
  if (!opts.owner) throw new ConfigError("--owner is required: who answers for the exception");
  if (!opts.expires) throw new ConfigError("--expires is required (YYYY-MM-DD or an RFC 3339 time)");
  const expiresAt = expiryOf(opts.expires);
  if (Number.isNaN(expiresAt))
    throw new ConfigError(`--expires ${opts.expires}: not a date (YYYY-MM-DD) or an RFC 3339 time`);
  await withMetaStore(opts, async (meta, config) => {
    const name = opts.name ?? `exception-${Date.now().toString(36)}`;
    try {
      const f = await addException(
        backendOf(meta, config),
        {
          name,
          reason: opts.reason!,
          owner: opts.owner!,
          expiresAt,
          ...(opts.repository?.length ? { repositories: opts.repository } : {}),
          ...(opts.image ? { imageDigest: opts.image } : {}),
          ...(opts.package ? { package: opts.package } : {}),
          ...(opts.packageVersion ? { packageVersion: opts.packageVersion } : {}),
          ...(opts.vulnerability ? { vulnerability: opts.vulnerability } : {}),
        },
        "cli",
        operator(config),
        Date.now(),
      );
      process.stdout.write(opts.json ? JSON.stringify({ name, arn: f.arn }) + "\n" : `${name}  ${f.arn}\n`);
    } catch (e) {
      // Refused, nothing changed: the scope, or the backend's own checks (a name in use, the quota).
      if (e instanceof ExceptionError || e instanceof Inspector2Error) throw new ConfigError(e.message);
      throw e;
    }
  });
}

/** Every exception and SUPPRESS filter (`--expired`: only those whose expiry has come). */
export async function exceptionsList(opts: ExceptionsOptions & { expired?: boolean }): Promise<void> {
  await withMetaStore(opts, async (meta, config) => {
    const now = Date.now();
    const list = await listExceptions(backendOf(meta, config), async (arn) => {
      const f = await meta.filters.get(arn.slice(arn.lastIndexOf("/") + 1));
      return f !== null && (f.expired || (f.expiresAt !== null && f.expiresAt <= now));
    });
    const shown = opts.expired ? list.filter((e) => e.expired) : list;
    if (opts.json) {
      for (const e of shown) process.stdout.write(JSON.stringify(jsonOf(e)) + "\n");
      return;
    }
    process.stdout.write(
      `${shown.length} ${opts.expired ? "expired " : ""}exception${shown.length === 1 ? "" : "s"} (SUPPRESS filters)\n`,
    );
    for (const e of shown) process.stdout.write(line(e) + "\n");
  });
}

export async function exceptionsRemove(name: string, opts: ExceptionsOptions): Promise<void> {
  await withMetaStore(opts, async (meta, config) => {
    const f = await meta.filters.byName(name);
    if (!f || f.action !== "SUPPRESS") throw new ConfigError(`no exception (SUPPRESS filter) named ${name}`);
    const backend = backendOf(meta, config);
    const { region, accountId } = config.aws;
    await backend.deleteFilter(
      `arn:aws:inspector2:${region}:${accountId}:owner/${accountId}/filter/${f.id}`,
      operator(config),
    );
    process.stdout.write(`removed ${name}\n`);
  });
}

/** `drydock exceptions vex`: the VEX documents pushed as referrers, applied or INVALID (why). */
export async function exceptionsVex(opts: ExceptionsOptions & { repository?: string }): Promise<void> {
  await withMetaStore(opts, async (meta) => {
    let repositoryId: number | undefined;
    if (opts.repository) {
      const id = await meta.registry.repositoryId(opts.repository);
      if (id === null) throw new ConfigError(`no repository named ${opts.repository}`);
      repositoryId = id;
    }
    const rows = await meta.vex.list({
      ...(repositoryId !== undefined ? { repositoryId } : {}),
      limit: 10_000,
    });
    for (const r of rows) {
      const repository = (await meta.registry.repositoryName(r.repositoryId)) ?? `#${r.repositoryId}`;
      const statements = r.statements ? (JSON.parse(r.statements) as unknown[]).length : 0;
      if (opts.json)
        process.stdout.write(
          JSON.stringify({
            repository,
            referrer: r.referrerDigest,
            subject: r.subjectDigest,
            image: r.imageDigest,
            format: r.format,
            status: r.status,
            error: r.error,
            statements,
            createdAt: new Date(r.createdAt).toISOString(),
          }) + "\n",
        );
      else
        process.stdout.write(
          `${repository}@${r.subjectDigest}  ${r.format}  ${r.status}${r.status === "APPLIED" ? ` (${statements} statements)` : `: ${r.error}`}  referrer ${r.referrerDigest}${r.imageDigest !== r.subjectDigest ? `  image ${r.imageDigest}` : ""}\n`,
        );
    }
  });
}

function jsonOf(e: ExceptionRecord) {
  return {
    ...e,
    expiresAt: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(),
    createdAt: new Date(e.createdAt).toISOString(),
  };
}

function line(e: ExceptionRecord): string {
  const scope = [
    e.repositories ? `repositories ${e.repositories.join(",")}` : "",
    e.imageDigest ? `image ${e.imageDigest}` : "",
    e.package ? `package ${e.package}${e.packageVersion ? `@${e.packageVersion}` : ""}` : "",
    e.vulnerability ? `vulnerability ${e.vulnerability}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  const until =
    e.expiresAt === null
      ? "no expiry"
      : `${e.expired ? "EXPIRED" : "until"} ${new Date(e.expiresAt).toISOString().slice(0, 10)}`;
  return `${e.name}  ${until}  owner ${e.owner ?? "-"}  ${e.source ?? "filter"}  ${scope || "(criteria)"}  ${e.reason ?? ""}`.trimEnd();
}
