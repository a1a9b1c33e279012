import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DailyOpenPoint } from "../../../../src/api/console/contract/dashboard.js";
import { OpenTrendChart, RemediationChart, WeeklyFlowChart } from "./charts.js";

const day = (d: string, critical: number, high: number): DailyOpenPoint => ({
  day: d,
  CRITICAL: critical,
  HIGH: high,
  MEDIUM: 0,
  LOW: 1,
  INFORMATIONAL: 0,
  UNTRIAGED: 0,
});

describe("dashboard charts", () => {
  it("draw their series with data", () => {
    render(
      <>
        <OpenTrendChart points={[day("2026-01-01", 2, 1), day("2026-01-02", 3, 0)]} />
        <WeeklyFlowChart
          weeks={[
            { week: "2025-12-29", opened: 5, fixed: 2 },
            { week: "2026-01-05", opened: 1, fixed: 4 },
          ]}
        />
        <RemediationChart
          rows={[
            { severity: "CRITICAL", fixed: 2, meanMs: 2 * 86_400_000 },
            { severity: "HIGH", fixed: 0, meanMs: null },
          ]}
        />
      </>,
    );
    const open = screen.getByTestId("chart-open");
    expect(within(open).getByRole("img").getAttribute("aria-label")).toBe(
      "On 2026-01-02: 1 low, 0 medium, 0 high, 3 critical, over 2 days",
    );
    expect(open.querySelector("svg.recharts-surface")).not.toBeNull();
    // One area per stacked severity.
    expect(open.querySelectorAll(".recharts-area").length).toBe(4);
    const weekly = screen.getByTestId("chart-weekly");
    expect(within(weekly).getByRole("img").getAttribute("aria-label")).toBe(
      "6 opened and 6 fixed over 2 weeks",
    );
    expect(weekly.querySelectorAll(".recharts-bar-rectangle").length).toBe(4);
    const mttr = screen.getByTestId("chart-mttr");
    expect(within(mttr).getByRole("img").getAttribute("aria-label")).toBe("critical 2 days (2 fixed)");
    expect(mttr.querySelectorAll(".recharts-bar-rectangle").length).toBe(1);
    // One image to assistive technology: nothing focusable inside.
    for (const fig of [open, weekly, mttr])
      expect(fig.querySelector('[tabindex]:not([tabindex="-1"]), a[href], button, input, select')).toBeNull();
  });

  it("say so instead of drawing when there is nothing", () => {
    render(
      <>
        <OpenTrendChart points={[]} />
        <WeeklyFlowChart weeks={[{ week: "2026-01-05", opened: 0, fixed: 0 }]} />
        <RemediationChart rows={[{ severity: "HIGH", fixed: 0, meanMs: null }]} />
      </>,
    );
    for (const [id, text] of [
      ["chart-open", /No daily snapshot yet/],
      ["chart-weekly", /Nothing opened or fixed/],
      ["chart-mttr", /Nothing remediated/],
    ] as const) {
      const fig = screen.getByTestId(id);
      expect(within(fig).getByText(text)).toBeTruthy();
      expect(fig.querySelector("svg.recharts-surface")).toBeNull();
    }
  });
});
