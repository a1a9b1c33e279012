import type { FindingStatus, VulnerabilityStat } from "../../storage/meta/store.js";
import { byPriority, topView } from "../../console/dashboard.js";
import { vulnerabilityView } from "../../console/vulnerability.js";
import type {
  AffectedImagesPage,
  AffectedImageView,
  AffectedSort,
  VulnerabilityListPage,
  VulnerabilityListSort,
} from "./contract/vulnerabilities.js";
import { AFFECTED_SORTS, VULNERABILITY_LIST_SORTS } from "./contract/vulnerabilities.js";
import type { ConsoleDeps } from "./deps.js";
import { enumListParam, pageParams, stringParam } from "./params.js";
import { visibleRepositoryIds } from "./repositories.js";
import { badParameter, notFound, type ConsoleRoutes } from "./router.js";

/**
 * The console's vulnerability page (docs/console.md, "Vulnerabilities"):
 *
 * - `GET /api/console/vulnerabilities/:id`: what the findings and the database say of it
 *   (src/console/vulnerability.ts), and how many open findings it has in the caller's
 *   repositories;
 * - `GET /api/console/vulnerabilities/:id/images?status=ACTIVE,SUPPRESSED&sort=lastObserved|severity
 *   &order=&limit=&offset=`: every image (and package) it affects now, paged and sorted in the
 *   store along the vulnerability indexes of findings, only in repositories the caller may pull.
 */

/**
 * Vulnerability ids as the feeds spell them (CVE-2024-1234, GHSA-xxxx-xxxx-xxxx, DSA-5380-1,
 * ALSA-2024:0001, RUSTSEC-2023-0001, GO-2023-1234, PYSEC-..., UBUNTU-CVE-...): letters, digits
 * and `-._:+`, beginning with a letter or digit.
 */
export const VULNERABILITY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

/** The path's vulnerability id, or a 400 naming what it accepts. */
export function vulnerabilityIdParam(raw: string | undefined): string {
  if (raw === undefined || !VULNERABILITY_ID_RE.test(raw))
    throw badParameter(
      `id: a vulnerability id (CVE-2024-1234, GHSA-..., DSA-...): letters, digits and -._:+, at most 128 characters (got ${JSON.stringify((raw ?? "").slice(0, 140))})`,
    );
  return raw;
}

/** Whatever the stored JSON says, absent members stay null. */
function versionsOf(json: string): { installed: string | null; fixed: string | null } {
  try {
    const d = JSON.parse(json) as { package?: { version?: unknown }; fixedVersion?: unknown };
    return {
      installed: typeof d.package?.version === "string" ? d.package.version : null,
      fixed: typeof d.fixedVersion === "string" && d.fixedVersion !== "" ? d.fixedVersion : null,
    };
  } catch {
    return { installed: null, fixed: null };
  }
}

export function registerVulnerabilityRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  r.get("/vulnerabilities", async (req): Promise<VulnerabilityListPage> => {
    const p = pageParams(req.query, {
      sorts: VULNERABILITY_LIST_SORTS,
      defaultSort: "images",
      defaultOrder: "desc",
      maxLimit: 200,
    });
    const search = stringParam(req.query, "search", { maxLength: 128 })?.toUpperCase();
    const order = p.sort as VulnerabilityListSort;
    const desc = p.order === "desc";
    const refreshedAt = await deps.meta.console.vulnerabilitiesRefreshedAt();
    const repositoryIds = await visibleRepositoryIds(deps, req.principal);
    if (!repositoryIds) {
      const page = await deps.meta.console.vulnerabilityPage({
        order,
        desc,
        prefix: search,
        limit: p.limit,
        offset: p.offset,
      });
      return {
        items: page.items.map(topView),
        total: page.total,
        limit: p.limit,
        offset: p.offset,
        refreshedAt,
      };
    }
    // A restricted caller: the maintained per-repository counts of their repositories, summed,
    // ordered and paged here (a few rows per repository).
    const all = await deps.meta.console.vulnerabilitiesOf(repositoryIds);
    const matching = search ? all.filter((v) => v.vulnerabilityId.startsWith(search)) : all;
    const cmp =
      order === "priority"
        ? byPriority
        : order === "images"
          ? (a: VulnerabilityStat, b: VulnerabilityStat) =>
              b.images - a.images || (a.vulnerabilityId < b.vulnerabilityId ? -1 : 1)
          : (a: VulnerabilityStat, b: VulnerabilityStat) => (a.vulnerabilityId < b.vulnerabilityId ? 1 : -1);
    matching.sort(desc ? cmp : (a, b) => cmp(b, a));
    return {
      items: matching.slice(p.offset, p.offset + p.limit).map(topView),
      total: matching.length,
      limit: p.limit,
      offset: p.offset,
      refreshedAt,
    };
  });

  r.get("/vulnerabilities/:id", async (req) => {
    const id = vulnerabilityIdParam(req.params.id);
    const repositoryIds = await visibleRepositoryIds(deps, req.principal);
    const view = await vulnerabilityView(deps.meta, deps.vulndb, id, repositoryIds);
    if (!view) throw notFound(`no vulnerability ${id} in the database or in your repositories' findings`);
    return view;
  });

  r.get("/vulnerabilities/:id/images", async (req): Promise<AffectedImagesPage> => {
    const id = vulnerabilityIdParam(req.params.id);
    const p = pageParams(req.query, {
      sorts: AFFECTED_SORTS,
      defaultSort: "lastObserved",
      defaultOrder: "desc",
      maxLimit: 200,
    });
    const statuses = (enumListParam(req.query, "status", ["ACTIVE", "SUPPRESSED"] as const) ?? [
      "ACTIVE",
      "SUPPRESSED",
    ]) satisfies FindingStatus[];
    const repositoryIds = await visibleRepositoryIds(deps, req.principal);
    const [rows, total] = await Promise.all([
      deps.meta.console.affectedFindings({
        vulnerabilityId: id,
        statuses,
        repositoryIds,
        order: p.sort as AffectedSort,
        desc: p.order === "desc",
        limit: p.limit,
        offset: p.offset,
      }),
      deps.meta.console.countAffected({ vulnerabilityId: id, statuses, repositoryIds, cap: 10_000 }),
    ]);
    const items = rows.map((f): AffectedImageView => {
      const v = versionsOf(f.json);
      return {
        repository: f.repositoryName,
        digest: f.digest,
        scanType: f.scanType as "BASIC" | "ENHANCED",
        status: f.status as "ACTIVE" | "SUPPRESSED",
        severity: f.severity,
        package: f.packageName,
        installedVersion: v.installed,
        fixedVersion: v.fixed,
        fixAvailable: f.fixAvailable,
        epss: f.epssScore,
        firstObservedAt: f.firstObservedAt,
        lastObservedAt: f.lastObservedAt,
        findingId: f.findingId,
      };
    });
    return {
      items,
      total: total.count,
      ...(total.capped ? { totalCapped: true as const } : {}),
      limit: p.limit,
      offset: p.offset,
    };
  });
}
