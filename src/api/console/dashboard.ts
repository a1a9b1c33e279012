import { DashboardService } from "../../console/dashboard.js";
import { databaseSource } from "../../console/database.js";
import type { DashboardView } from "./contract/dashboard.js";
import type { ConsoleDeps } from "./deps.js";
import { intParam } from "./params.js";
import { visibleRepositoryIds } from "./repositories.js";
import type { ConsoleRoutes } from "./router.js";

/**
 * The console's dashboard (docs/console.md, "Dashboard"): `GET /api/console/dashboard?days=N`
 * (7 to 365, default 30). A caller who may pull every repository sees the account; anyone else
 * the same figures for the repositories they may pull (src/console/dashboard.ts says how each
 * is computed, and that answers are cached for 60 s per caller and range).
 */

export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 365;

/** One dashboard service per console (its cache is this process's). */
export function dashboardService(deps: ConsoleDeps): DashboardService {
  return new DashboardService(deps.meta, {
    now: deps.now,
    maxAgeHours: deps.config.vulndb.maxAgeHours,
    database: databaseSource(
      () => deps.vulndb,
      () => deps.vulndbHealth,
    ),
  });
}

export function registerDashboardRoutes(r: ConsoleRoutes, deps: ConsoleDeps): void {
  const service = dashboardService(deps);
  r.get("/dashboard", async (req): Promise<DashboardView> => {
    const days = intParam(req.query, "days", { min: 7, max: MAX_DAYS }) ?? DEFAULT_DAYS;
    const p = req.principal;
    if (p.pullsEverything) return service.view(days);
    return service.view(days, {
      key: p.user ?? p.arn,
      repositoryIds: async () => (await visibleRepositoryIds(deps, p)) ?? [],
    });
  });
}
