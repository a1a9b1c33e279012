import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsoleReports } from "../../console/reports/service.js";
import { debianImage, pushImage } from "../../scan/testing.js";
import type { ReportsPage, ReportView } from "./contract/reports.js";
import { consoleReports, registerReportRoutes } from "./reports.js";
import {
  openConsoleWorld,
  type ConsoleWorld,
  type TestSession,
  ADMIN_USER,
  TEAM_DEV_USER,
} from "./testing.js";

/**
 * The reports API over the real console (SQLite, a scanned image): admins write one on demand,
 * callers who may pull every repository list and download, others get 403; bad ids and formats
 * are 400, unknown reports 404. (The report run itself, on both drivers and two nodes:
 * src/console/reports/service.test.ts.)
 */
describe("console reports API", () => {
  let w: ConsoleWorld;
  let svc: ConsoleReports;
  let dev: TestSession;
  let reader: TestSession;
  let made: ReportView;

  beforeAll(async () => {
    w = await openConsoleWorld({
      users: [
        ADMIN_USER,
        { username: "reader", access: [{ repository: "**", actions: ["pull"] }] },
        TEAM_DEV_USER,
        { username: "ops", access: [{ repository: "**", actions: ["admin"] }] },
      ],
      areas: [(r, d) => registerReportRoutes(r, d, (svc = consoleReports(d)))],
    });
    dev = await w.signIn("dev");
    reader = await w.signIn("reader");
    const digest = await pushImage(w.registry, "team/app", debianImage("12.4"));
    await w.scanned("team/app", digest);
  });
  afterAll(async () => {
    await svc?.idle();
    await w?.close();
  });

  it("writes a report on demand (admins only), lists it and downloads its files", async () => {
    expect((await w.call("POST", "/reports", { as: dev })).statusCode).toBe(403);
    expect((await w.call("POST", "/reports", { as: reader })).statusCode).toBe(403);
    expect((await w.call("POST", "/reports", { csrf: false })).statusCode).toBe(403);
    const r = await w.call("POST", "/reports");
    expect(r.statusCode, r.body).toBe(200);
    made = r.json() as ReportView;
    expect(made).toMatchObject({ kind: "manual", status: "IN_PROGRESS", createdBy: "admin", files: [] });
    await svc.idle();
    const page = await w.json<ReportsPage>("/reports", reader);
    expect(page).toMatchObject({ total: 1, limit: 50, offset: 0, schedule: "off" });
    expect(page.items[0]).toMatchObject({ id: made.id, status: "SUCCEEDED", summary: { criticals: 0 } });
    expect(page.items[0]!.files.map((f) => f.format)).toEqual(["html", "csv", "dashboard-csv"]);
    const html = await w.call("GET", `/reports/${made.id}/html`, { as: reader });
    expect(html.statusCode).toBe(200);
    expect(html.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(String(html.headers["content-disposition"])).toContain(`drydock-manual-${made.id}-report.html`);
    expect(html.body).toContain("<h1>Drydock report");
    const csv = await w.call("GET", `/reports/${made.id}/csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.body.split("\r\n")[0]).toMatch(/^Repository,Image Digest,Vulnerability/);
    const dash = await w.call("GET", `/reports/${made.id}/dashboard-csv`);
    expect(dash.body.startsWith("Section,Key,Metric,Value\r\n")).toBe(true);
  });

  it("refuses callers who may not pull every repository, bad ids and formats, unknown reports", async () => {
    expect((await w.call("GET", "/reports", { as: dev })).statusCode).toBe(403);
    // An admin who may not pull reads them (they may export every finding anyway).
    expect((await w.call("GET", "/reports", { as: await w.signIn("ops") })).statusCode).toBe(200);
    expect((await w.call("GET", `/reports/${made.id}/html`, { as: dev })).statusCode).toBe(403);
    for (const [path, name] of [
      ["/reports/abc/html", "id"],
      [`/reports/${made.id}/pdf`, "format"],
      ["/reports?limit=101", "limit"],
      ["/reports?order=asc", "order"],
      ["/reports?sort=name", "sort"],
    ] as const) {
      const r = await w.call("GET", path);
      expect(r.statusCode, `${path}: ${r.body}`).toBe(400);
      expect((r.json() as { error: { message: string } }).error.message).toMatch(new RegExp(`^${name}:`));
    }
    expect((await w.call("GET", "/reports/00000000-0000-4000-8000-000000000000/html")).statusCode).toBe(404);
  });
});
