import { consoleReportsFor, reportView, type ConsoleReports } from "../../console/reports/service.js";
import type { ReportsPage, ReportView } from "./contract/reports.js";
import { REPORT_FORMAT_NAMES } from "./contract/reports.js";
import type { ConsoleDeps } from "./deps.js";
import { pageParams } from "./params.js";
import {
  ConsoleDownload,
  badParameter,
  forbidden,
  notFound,
  type ConsoleRequest,
  type ConsoleRoutes,
} from "./router.js";

/**
 * The console's reports (docs/console.md, "Reports"): `GET /api/console/reports?limit=&offset=`
 * (newest first), `GET /api/console/reports/:id/:format` (html, csv, dashboard-csv: a download),
 * `POST /api/console/reports` (admins: write one now; it is written in the background and its
 * record answered at once, IN_PROGRESS). A report holds the findings of every repository, so
 * reading one needs a caller who may pull every repository (as the account-wide dashboard), or
 * an admin.
 */

const REPORT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The service of a console (each process has one; main.ts's singleton another of the same configuration). */
export function consoleReports(deps: ConsoleDeps): ConsoleReports {
  return consoleReportsFor({
    ...deps,
    // Looked up at each report: the dependencies may get their database after registration.
    vulndb: { acquire: () => deps.vulndb!.acquire() },
  });
}

function mayRead(req: ConsoleRequest): void {
  // Admins read them too: they may already export every finding (Inspector2 reports).
  if (!req.principal.pullsEverything && !req.principal.admin)
    throw forbidden(
      "reports hold the findings of every repository: they need a user who may pull every repository (or admin)",
    );
}

export function registerReportRoutes(
  r: ConsoleRoutes,
  deps: ConsoleDeps,
  service = consoleReports(deps),
): void {
  r.get("/reports", async (req): Promise<ReportsPage> => {
    mayRead(req);
    const p = pageParams(req.query, {
      sorts: ["created"],
      defaultSort: "created",
      defaultOrder: "desc",
      maxLimit: 100,
    });
    if (p.order !== "desc") throw badParameter("order: reports are listed newest first (desc)");
    const page = await deps.meta.console.reports(p.limit, p.offset);
    return {
      items: page.items.map(reportView),
      total: page.total,
      limit: p.limit,
      offset: p.offset,
      schedule: deps.config.console.reports.schedule,
    };
  });

  r.get("/reports/:id/:format", async (req) => {
    mayRead(req);
    const id = req.params.id ?? "";
    if (!REPORT_ID_RE.test(id))
      throw badParameter(`id: a report id (a UUID; got ${JSON.stringify(id.slice(0, 64))})`);
    const format = req.params.format ?? "";
    if (!(REPORT_FORMAT_NAMES as readonly string[]).includes(format))
      throw badParameter(
        `format: one of ${REPORT_FORMAT_NAMES.join(", ")} (got ${JSON.stringify(format.slice(0, 64))})`,
      );
    const file = await service.open(id, format as (typeof REPORT_FORMAT_NAMES)[number]);
    if (!file) throw notFound(`no ${format} of report ${id} (unknown, not finished, or failed)`);
    return new ConsoleDownload(file.contentType, file.filename, file.body);
  });

  r.post(
    "/reports",
    async (req): Promise<ReportView> =>
      reportView(await service.generateNow(req.principal.user ?? req.principal.arn)),
    { admin: true },
  );
}
