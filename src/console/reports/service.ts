import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ReportFormat, ReportSummary, ReportView } from "../../api/console/contract/reports.js";
import { DASHBOARD_SEVERITIES } from "../../api/console/contract/dashboard.js";
import type { AwsIdentity } from "../../events/envelope.js";
import { appendEvent } from "../../events/log.js";
import type { Logger } from "../../core/logger.js";
import { REPORTS_AREA } from "../../findings/reports/destination.js";
import type { BlobStore } from "../../storage/blob/types.js";
import { DAY_MS, utcDay } from "../../storage/meta/history-store.js";
import type { MetaStore, StoredConsoleReport } from "../../storage/meta/store.js";
import type { Config } from "../../config/schema.js";
import type { VulnDbHealth } from "../../scan/vulndb-health.js";
import { DashboardService, type DatabaseSource } from "../dashboard.js";
import { databaseSource, type VulnDbHandle } from "../database.js";
import { reportReadyEvent, type ReportObject } from "./event.js";
import { duePeriod, type Schedule } from "./period.js";
import { criticalCsvLine, criticalsCsvHeader, dashboardCsv, reportHtml, type CriticalRow } from "./render.js";

/**
 * The console's reports (docs/console.md, "Reports"): the dashboard and the open critical
 * findings, written as three objects through the blob store's named-object area, where the
 * Inspector2 reports go (`reports/drydock-console/<report id>/report.html`, `criticals.csv`,
 * `dashboard.csv`), recorded in console_reports and announced by a `Drydock Report Ready` event
 * appended in the transaction that ends the record.
 *
 * Scheduled reports (config `console.reports.schedule`) are written by the singleton
 * `console-reports` (main.ts) under the database lease; the record's unique period makes it one
 * per period across a cluster even if two nodes raced (the second insert does nothing). A report
 * whose writer stopped midway (its record IN_PROGRESS, untouched for STALE_MS) is taken over by
 * the next run, on any node, and written again under the same id. Reports made on demand
 * (`POST /api/console/reports`, admins) are written at once in the background of the node that
 * was asked, and recovered the same way.
 */

export const REPORTS_BUCKET = "drydock-console";
export const STALE_MS = 30 * 60_000;
/** How often the singleton looks for a due or stale report (each look: one indexed read). */
export const REPORTS_CHECK_MS = 10 * 60_000;
/** The days of trends a report's dashboard shows. */
const DASHBOARD_DAYS: Record<"daily" | "weekly" | "manual", number> = { daily: 30, weekly: 90, manual: 30 };
const PAGE = 500;

export const REPORT_FORMATS: Record<ReportFormat, { name: string; contentType: string }> = {
  html: { name: "report.html", contentType: "text/html; charset=utf-8" },
  csv: { name: "criticals.csv", contentType: "text/csv; charset=utf-8" },
  "dashboard-csv": { name: "dashboard.csv", contentType: "text/csv; charset=utf-8" },
};

export interface ConsoleReportsOptions {
  schedule: Schedule;
  hourUtc: number;
  maxHtmlFindings: number;
  aws: AwsIdentity;
  now: () => number;
  database?: DatabaseSource;
  maxAgeHours: number;
  /** config.publicUrl: the report's links into the console. */
  publicUrl?: string;
  log?: Logger;
}

export function reportFolder(id: string): string {
  return `${REPORTS_AREA}/${REPORTS_BUCKET}/${id}/`;
}

export class ConsoleReports {
  private readonly dashboard: DashboardService;
  /** Reports this process is writing (a manual one runs in the background). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly o: ConsoleReportsOptions,
  ) {
    // Never cached: a report is the state at its own time.
    this.dashboard = new DashboardService(meta, {
      now: o.now,
      maxAgeHours: o.maxAgeHours,
      database: o.database,
      ttlMs: 0,
    });
  }

  /**
   * The singleton's run: writes the scheduled report of the current period when it is due and
   * no node wrote it, and takes over reports whose writer stopped. Returns the reports written.
   */
  async runScheduled(): Promise<StoredConsoleReport[]> {
    const now = this.o.now();
    const out: StoredConsoleReport[] = [];
    for (const stale of await this.meta.console.staleReports(now - STALE_MS, 10))
      if (await this.meta.console.takeOverReport(stale.id, now - STALE_MS)) out.push(await this.write(stale));
    const due = duePeriod(this.o.schedule, this.o.hourUtc, now);
    if (!due) return out;
    if (await this.meta.console.reportOfPeriod(due.period)) return out;
    const id = randomUUID();
    const created = await this.meta.console.createReport({
      id,
      period: due.period,
      kind: "scheduled",
      rangeFrom: due.from,
      rangeTo: due.to,
      createdBy: "drydock",
    });
    if (!created) return out;
    out.push(await this.write((await this.meta.console.report(id))!));
    return out;
  }

  /** A report of the last 7 days now (admins), written in the background; returns its record. */
  async generateNow(createdBy: string): Promise<StoredConsoleReport> {
    const now = this.o.now();
    const id = randomUUID();
    await this.meta.console.createReport({
      id,
      period: `manual:${id}`,
      kind: "manual",
      rangeFrom: now - 7 * DAY_MS,
      rangeTo: now,
      createdBy,
    });
    const rec = (await this.meta.console.report(id))!;
    const p = this.write(rec).finally(() => this.running.delete(p));
    this.running.add(p);
    return rec;
  }

  /** Waits for the reports this process is writing (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /** One report's file, or null when the report or the file does not exist. */
  async open(
    id: string,
    format: ReportFormat,
  ): Promise<{ body: Readable; filename: string; contentType: string } | null> {
    const rec = await this.meta.console.report(id);
    if (!rec || rec.status !== "SUCCEEDED") return null;
    const f = REPORT_FORMATS[format];
    const body = await this.blobs.getObject(`${reportFolder(id)}${f.name}`);
    if (!body) return null;
    const stem = rec.period.replace(/[^A-Za-z0-9-]/g, "-");
    return { body, filename: `drydock-${stem}-${f.name}`, contentType: f.contentType };
  }

  /**
   * Writes the report's objects and ends its record with the event, or ends it FAILED. Never
   * throws: a failure is the record's, and the log's.
   */
  private async write(rec: StoredConsoleReport): Promise<StoredConsoleReport> {
    try {
      const folder = reportFolder(rec.id);
      const generatedAt = this.o.now();
      const schedule = rec.kind === "manual" ? "manual" : (rec.period.split(":")[0] as "daily" | "weekly");
      const dashboard = await this.dashboard.view(DASHBOARD_DAYS[schedule] ?? 30);
      const flows = await this.meta.console.daily(utcDay(rec.rangeFrom), utcDay(rec.rangeTo - 1));
      const summaryOpen: Record<string, number> = {};
      for (const s of DASHBOARD_SEVERITIES) summaryOpen[s] = dashboard.openNow[s];

      // The criticals: streamed into the CSV page by page, the first ones kept for the HTML.
      const shown: CriticalRow[] = [];
      let total = 0;
      const pages = async function* (self: ConsoleReports): AsyncGenerator<Buffer> {
        yield Buffer.from(criticalsCsvHeader());
        for await (const row of self.criticals()) {
          total++;
          if (shown.length < self.o.maxHtmlFindings) shown.push(row);
          yield Buffer.from(criticalCsvLine(row));
        }
      };
      const csv = await this.blobs.putObject(
        `${folder}${REPORT_FORMATS.csv.name}`,
        Readable.from(pages(this)),
        {
          contentType: REPORT_FORMATS.csv.contentType,
        },
      );
      const summary: ReportSummary = {
        open: summaryOpen,
        criticals: total,
        opened: flows.rows.reduce((a, r) => a + r.opened, 0),
        fixed: flows.rows.reduce((a, r) => a + r.fixed, 0),
      };
      const title =
        rec.kind === "manual"
          ? `Drydock report ${utcDay(generatedAt)}`
          : `Drydock ${schedule} report ${rec.period.slice(rec.period.indexOf(":") + 1)}`;
      const html = await this.blobs.putObject(
        `${folder}${REPORT_FORMATS.html.name}`,
        Buffer.from(
          reportHtml({
            title,
            from: rec.rangeFrom,
            to: rec.rangeTo,
            generatedAt,
            dashboard,
            summary,
            criticals: shown,
            criticalsTotal: total,
            consoleUrl: this.o.publicUrl?.replace(/\/+$/, ""),
          }),
        ),
        { contentType: REPORT_FORMATS.html.contentType },
      );
      const dash = await this.blobs.putObject(
        `${folder}${REPORT_FORMATS["dashboard-csv"].name}`,
        Buffer.from(dashboardCsv(dashboard)),
        { contentType: REPORT_FORMATS["dashboard-csv"].contentType },
      );
      const objects: ReportObject[] = [
        { format: "html", key: html.key, size: html.size, contentType: REPORT_FORMATS.html.contentType },
        { format: "csv", key: csv.key, size: csv.size, contentType: REPORT_FORMATS.csv.contentType },
        {
          format: "dashboard-csv",
          key: dash.key,
          size: dash.size,
          contentType: REPORT_FORMATS["dashboard-csv"].contentType,
        },
      ];
      // The record ends and the event is logged in one transaction: an event exists iff its
      // report is SUCCEEDED (a takeover that lost the race appends nothing).
      await this.meta.tx(async (tx) => {
        const ended = await tx.console.finishReport(rec.id, {
          status: "SUCCEEDED",
          htmlKey: html.key,
          csvKey: csv.key,
          htmlBytes: html.size,
          csvBytes: csv.size,
          summary: JSON.stringify({ ...summary, dashboardCsv: { key: dash.key, bytes: dash.size } }),
        });
        if (ended)
          await appendEvent(
            tx,
            reportReadyEvent(
              this.o.aws,
              {
                reportId: rec.id,
                period: rec.period,
                kind: rec.kind,
                from: rec.rangeFrom,
                to: rec.rangeTo,
                objects,
                summary,
              },
              this.o.now(),
            ),
          );
      });
      this.o.log?.info(
        { task: "console-report", id: rec.id, period: rec.period, criticals: total },
        "console report written",
      );
    } catch (err) {
      this.o.log?.error({ err, task: "console-report", id: rec.id }, "console report failed");
      await this.meta.console
        .finishReport(rec.id, { status: "FAILED", error: (err as Error).message ?? String(err) })
        .catch(() => undefined);
    }
    return (await this.meta.console.report(rec.id))!;
  }

  /** The open (ACTIVE) critical findings of every repository, in id order, a page at a time. */
  private async *criticals(): AsyncGenerator<CriticalRow> {
    for (const scanType of ["ENHANCED", "BASIC"] as const) {
      let after: { value: null; id: string } | undefined;
      for (;;) {
        const page = await this.meta.findings.list({
          narrowing: { scanType, statuses: ["ACTIVE"], severities: ["CRITICAL"] },
          order: { field: "id", desc: false },
          ...(after ? { after } : {}),
          limit: PAGE,
        });
        for (const f of page.items) yield criticalRow(f.repositoryName, f.digest, scanType, f);
        if (!page.more || !page.items.length) break;
        after = { value: null, id: page.items.at(-1)!.id };
      }
    }
  }
}

function criticalRow(
  repository: string,
  digest: string,
  scanType: string,
  f: {
    vulnerabilityId: string;
    packageName: string;
    fixAvailable: string;
    epssScore: number | null;
    exploitAvailable: boolean;
    firstObservedAt: number;
    lastObservedAt: number;
    document: string;
  },
): CriticalRow {
  let installed = "";
  let fixed = "";
  try {
    const d = JSON.parse(f.document) as { package?: { version?: unknown }; fixedVersion?: unknown };
    if (typeof d.package?.version === "string") installed = d.package.version;
    if (typeof d.fixedVersion === "string") fixed = d.fixedVersion;
  } catch {
    // a document that does not parse leaves the versions empty
  }
  return {
    repository,
    digest,
    vulnerability: f.vulnerabilityId,
    package: f.packageName,
    installedVersion: installed,
    fixedVersion: fixed,
    fixAvailable: f.fixAvailable,
    epss: f.epssScore === null ? "" : String(f.epssScore),
    kev: f.exploitAvailable ? "YES" : "NO",
    firstObserved: new Date(f.firstObservedAt).toISOString(),
    lastObserved: new Date(f.lastObservedAt).toISOString(),
    scanType,
  };
}

/** A record as the API shows it. */
export function reportView(r: StoredConsoleReport): ReportView {
  let summary: ReportSummary | null = null;
  let dashboardCsvFile: { key: string; bytes: number } | undefined;
  if (r.summary) {
    try {
      const s = JSON.parse(r.summary) as ReportSummary & { dashboardCsv?: { key: string; bytes: number } };
      dashboardCsvFile = s.dashboardCsv;
      summary = { open: s.open, criticals: s.criticals, opened: s.opened, fixed: s.fixed };
    } catch {
      summary = null;
    }
  }
  const files: ReportView["files"] = [];
  if (r.htmlKey) files.push({ format: "html", key: r.htmlKey, bytes: r.htmlBytes ?? 0 });
  if (r.csvKey) files.push({ format: "csv", key: r.csvKey, bytes: r.csvBytes ?? 0 });
  if (dashboardCsvFile)
    files.push({ format: "dashboard-csv", key: dashboardCsvFile.key, bytes: dashboardCsvFile.bytes });
  return {
    id: r.id,
    period: r.period,
    kind: r.kind,
    status: r.status,
    from: r.rangeFrom,
    to: r.rangeTo,
    createdAt: r.createdAt,
    completedAt: r.completedAt,
    createdBy: r.createdBy,
    error: r.error,
    summary,
    files,
  };
}

/** The reports of a server as its configuration sets them (main.ts's singleton and the console API). */
export function consoleReportsFor(o: {
  meta: MetaStore;
  blobs: BlobStore;
  config: Config;
  now: () => number;
  vulndb?: VulnDbHandle;
  vulndbHealth?: VulnDbHealth;
  log?: Logger;
}): ConsoleReports {
  const c = o.config;
  return new ConsoleReports(o.meta, o.blobs, {
    schedule: c.console.reports.schedule,
    hourUtc: c.console.reports.hourUtc,
    maxHtmlFindings: c.console.reports.maxHtmlFindings,
    aws: { accountId: c.aws.accountId, region: c.aws.region },
    now: o.now,
    database: databaseSource(o.vulndb, o.vulndbHealth),
    maxAgeHours: c.vulndb.maxAgeHours,
    publicUrl: c.publicUrl,
    log: o.log,
  });
}
