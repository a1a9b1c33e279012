import { fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ReportsPage as ReportsList, ReportView } from "../../../../src/api/console/contract/reports.js";
import { SessionContext } from "../../session.js";
import { ReportsPage } from "./ReportsPage.js";

const ID = "11111111-2222-4333-8444-555555555555";
const report = (over: Partial<ReportView> = {}): ReportView => ({
  id: ID,
  period: "daily:2026-01-10",
  kind: "scheduled",
  status: "SUCCEEDED",
  from: Date.parse("2026-01-09T00:00:00Z"),
  to: Date.parse("2026-01-10T00:00:00Z"),
  createdAt: Date.parse("2026-01-10T06:00:00Z"),
  completedAt: Date.parse("2026-01-10T06:00:05Z"),
  createdBy: "drydock",
  error: null,
  summary: { open: { CRITICAL: 2, HIGH: 1 }, criticals: 2, opened: 3, fixed: 1 },
  files: [
    { format: "html", key: `reports/drydock-console/${ID}/report.html`, bytes: 2048 },
    { format: "csv", key: `reports/drydock-console/${ID}/criticals.csv`, bytes: 300 },
  ],
  ...over,
});

/** fetch answering the reports API: a list that turns SUCCEEDED after a POST, 403 when asked. */
function stub(o: { forbidden?: boolean } = {}) {
  let posted = false;
  let lists = 0;
  const calls: { method: string; url: string }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init?: { method?: string }) => {
      const method = init?.method ?? "GET";
      calls.push({ method, url: input });
      const json = (status: number, body: unknown) => ({
        status,
        ok: status < 300,
        text: async () => JSON.stringify(body),
      });
      if (o.forbidden) return json(403, { error: { code: "Forbidden", message: "no" } });
      if (method === "POST") {
        posted = true;
        return json(
          200,
          report({ id: "m", kind: "manual", status: "IN_PROGRESS", files: [], summary: null }),
        );
      }
      lists++;
      const items = [report()];
      if (posted)
        items.unshift(
          report({
            id: "m",
            kind: "manual",
            period: "manual:m",
            createdBy: "admin",
            status: lists > 2 ? "SUCCEEDED" : "IN_PROGRESS",
          }),
        );
      const page: ReportsList = { items, total: items.length, limit: 20, offset: 0, schedule: "daily" };
      return json(200, page);
    }),
  );
  return calls;
}

describe("ReportsPage", () => {
  beforeEach(() => window.history.replaceState(null, "", "/console/reports"));
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("lists reports with their downloads and the schedule", async () => {
    stub();
    render(<ReportsPage />);
    const table = await screen.findByTestId("reports");
    await within(table).findByText("Daily 2026-01-10");
    expect(within(table).getByRole("link", { name: /HTML/ }).getAttribute("href")).toBe(
      `/api/console/reports/${ID}/html`,
    );
    expect(
      within(table)
        .getByRole("link", { name: /Criticals CSV/ })
        .getAttribute("href"),
    ).toBe(`/api/console/reports/${ID}/csv`);
    expect(within(table).getByLabelText("2 Critical, 1 High")).toBeTruthy();
    expect(screen.getByText(/every day, covering the day before/)).toBeTruthy();
  });

  it("lets an admin write one now and follows it until it is ready", async () => {
    const calls = stub();
    render(
      <SessionContext value={{ open: false, user: "admin", admin: true, csrfToken: "t" }}>
        <ReportsPage pollMs={50} />
      </SessionContext>,
    );
    await within(await screen.findByTestId("reports")).findByText("Daily 2026-01-10");
    fireEvent.click(screen.getByTestId("report-generate"));
    const table = screen.getByTestId("reports");
    await within(table).findByText("Writing…");
    await within(table).findByText("On demand by admin");
    await vi.waitFor(() => expect(within(table).queryByText("Writing…")).toBeNull(), { timeout: 3000 });
    expect(calls.filter((c) => c.method === "POST").map((c) => c.url)).toEqual(["/api/console/reports"]);
  });

  it("hides the button from non-admins and explains a 403", async () => {
    stub({ forbidden: true });
    render(
      <SessionContext value={{ open: false, user: "dev", admin: false, csrfToken: "t" }}>
        <ReportsPage />
      </SessionContext>,
    );
    expect(await screen.findByTestId("reports-forbidden")).toBeTruthy();
    expect(screen.queryByTestId("report-generate")).toBeNull();
  });
});
