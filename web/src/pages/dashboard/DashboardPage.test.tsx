import { fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DashboardView } from "../../../../src/api/console/contract/dashboard.js";
import { stubFetch } from "../images/fetch-testing.js";
import { DashboardPage } from "./DashboardPage.js";

const zero = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, INFORMATIONAL: 0, UNTRIAGED: 0 };
const view = (over: Partial<DashboardView> = {}): DashboardView => ({
  days: 30,
  scope: "account",
  generatedAt: Date.parse("2026-01-10T12:00:00Z"),
  refreshedAt: Date.parse("2026-01-10T11:45:00Z"),
  open: [
    { day: "2026-01-09", ...zero, CRITICAL: 2, HIGH: 3 },
    { day: "2026-01-10", ...zero, CRITICAL: 1, HIGH: 3 },
  ],
  openNow: { ...zero, CRITICAL: 1, HIGH: 3 },
  weekly: [{ week: "2026-01-05", opened: 4, fixed: 1 }],
  remediation: [{ severity: "CRITICAL", fixed: 1, meanMs: 3 * 86_400_000 }],
  coverage: {
    byStatus: { ACTIVE: 7, FAILED: 1 },
    scanned: 7,
    failed: 1,
    unsupported: 0,
    expired: 2,
    total: 10,
  },
  topVulnerabilities: [
    {
      id: "CVE-2099-0001",
      severity: "CRITICAL",
      images: 5,
      repositories: 2,
      epss: 0.42,
      kev: false,
      priority: 4,
    },
  ],
  priority: [
    { id: "CVE-2099-0002", severity: "HIGH", images: 1, repositories: 1, epss: null, kev: true, priority: 0 },
  ],
  database: {
    status: "ready",
    builtAt: "2026-01-10T06:00:00Z",
    checkedAt: "2026-01-10T06:00:00Z",
    ageHours: 6,
    maxAgeHours: 24,
    stale: false,
    feeds: [
      {
        id: "osv:debian",
        name: "OSV Debian",
        importedAt: "2026-01-10T06:00:00Z",
        ageHours: 6,
        advisories: 1200,
        problems: 0,
      },
    ],
  },
  ...over,
});

describe("DashboardPage", () => {
  beforeEach(() => window.history.replaceState(null, "", "/console/dashboard"));
  afterEach(() => vi.unstubAllGlobals());

  it("shows charts, coverage, the top and priority lists with links, and the database", async () => {
    const { urls } = stubFetch({ "/api/console/dashboard": () => view() });
    render(<DashboardPage />);
    await screen.findByTestId("dashboard");
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({ days: "30" });
    expect(screen.getByTestId("chart-open").querySelector("svg")).not.toBeNull();
    expect(screen.getByTestId("chart-weekly").querySelector("svg")).not.toBeNull();
    expect(
      within(screen.getByTestId("dashboard-open-now")).getByLabelText("1 Critical, 3 High"),
    ).toBeTruthy();
    expect(within(screen.getByTestId("coverage-scanned")).getByText("7")).toBeTruthy();
    expect(within(screen.getByTestId("coverage-expired")).getByText("2")).toBeTruthy();
    const top = screen.getByTestId("dashboard-top");
    expect(within(top).getByRole("link", { name: "CVE-2099-0001" }).getAttribute("href")).toBe(
      "/console/vulnerabilities/CVE-2099-0001",
    );
    expect(within(screen.getByTestId("dashboard-priority")).getByText("KEV")).toBeTruthy();
    expect(within(screen.getByTestId("dashboard-database")).getByText("OSV Debian")).toBeTruthy();
  });

  it("asks for the range chosen, kept in the URL", async () => {
    const { urls } = stubFetch({
      "/api/console/dashboard": (u) => view({ days: Number(u.searchParams.get("days")) }),
    });
    render(<DashboardPage />);
    await screen.findByTestId("dashboard");
    fireEvent.change(screen.getByTestId("dashboard-range"), { target: { value: "90" } });
    await vi.waitFor(() => expect(urls.at(-1)!.searchParams.get("days")).toBe("90"));
    expect(window.location.search).toBe("?days=90");
  });

  it("renders an empty registry without charts and says why", async () => {
    stubFetch({
      "/api/console/dashboard": () =>
        view({
          open: [],
          openNow: zero,
          weekly: [{ week: "2026-01-05", opened: 0, fixed: 0 }],
          remediation: [],
          coverage: { byStatus: {}, scanned: 0, failed: 0, unsupported: 0, expired: 0, total: 0 },
          topVulnerabilities: [],
          priority: [],
          database: {
            status: "missing",
            message: "no vulnerability database yet",
            builtAt: null,
            checkedAt: null,
            ageHours: null,
            maxAgeHours: 24,
            stale: false,
            feeds: [],
          },
        }),
    });
    render(<DashboardPage />);
    await screen.findByTestId("dashboard");
    expect(screen.getByText(/No daily snapshot yet/)).toBeTruthy();
    expect(screen.getAllByText("No open vulnerability.")).toHaveLength(2);
    expect(
      within(screen.getByTestId("dashboard-database")).getByText("no vulnerability database yet"),
    ).toBeTruthy();
  });
});
