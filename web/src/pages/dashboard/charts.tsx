import { useEffect, useRef, useState, type ReactNode } from "react";
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import type {
  DailyOpenPoint,
  RemediationView,
  WeeklyFlowPoint,
} from "../../../../src/api/console/contract/dashboard.js";

/**
 * The dashboard's charts (recharts), each in a figure with a caption, a summary for screen
 * readers (the chart is one image to them: recharts' own keyboard layer is off, so that nothing
 * focusable hides inside role="img"), and a plain message when there is nothing to draw yet. Sized to their container
 * (measured with ResizeObserver where there is one; a laptop's half width otherwise).
 */

const HEIGHT = 240;
const SEVERITY_COLORS: Record<string, string> = {
  CRITICAL: "var(--sev-critical)",
  HIGH: "var(--sev-high)",
  MEDIUM: "var(--sev-medium)",
  LOW: "var(--sev-low)",
  INFORMATIONAL: "var(--sev-info)",
  UNTRIAGED: "var(--muted)",
};
const STACKED = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(560);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

function Figure({
  testId,
  title,
  summary,
  empty,
  children,
}: {
  testId: string;
  title: string;
  summary: string;
  empty: string | null;
  children: (width: number) => ReactNode;
}) {
  const [ref, width] = useWidth();
  return (
    <figure className="chart panel" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={empty ?? summary}>
        {empty ? <p className="muted chart-empty">{empty}</p> : children(width)}
      </div>
    </figure>
  );
}

const axis = { stroke: "var(--muted)", fontSize: 12 };
const tooltipStyle = { background: "var(--panel)", border: "1px solid var(--border)", color: "var(--text)" };

/** Open findings by severity on each day with a snapshot (stacked). */
export function OpenTrendChart({ points }: { points: DailyOpenPoint[] }) {
  const last = points.at(-1);
  return (
    <Figure
      testId="chart-open"
      title="Open findings by severity"
      empty={
        points.length ? null : "No daily snapshot yet: the first is taken in the first hour of each day."
      }
      summary={
        last
          ? `On ${last.day}: ${STACKED.map((s) => `${last[s]} ${s.toLowerCase()}`).join(", ")}, over ${points.length} days`
          : ""
      }
    >
      {(width) => (
        <AreaChart
          accessibilityLayer={false}
          width={width}
          height={HEIGHT}
          data={points}
          margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
          <XAxis dataKey="day" tick={axis} />
          <YAxis allowDecimals={false} tick={axis} />
          <Tooltip contentStyle={tooltipStyle} />
          <Legend />
          {STACKED.map((s) => (
            <Area
              key={s}
              type="monotone"
              dataKey={s}
              name={s.charAt(0) + s.slice(1).toLowerCase()}
              stackId="open"
              stroke={SEVERITY_COLORS[s]}
              fill={SEVERITY_COLORS[s]}
              fillOpacity={0.5}
              isAnimationActive={false}
            />
          ))}
        </AreaChart>
      )}
    </Figure>
  );
}

/** Findings opened and fixed per week. */
export function WeeklyFlowChart({ weeks }: { weeks: WeeklyFlowPoint[] }) {
  const opened = weeks.reduce((a, w) => a + w.opened, 0);
  const fixed = weeks.reduce((a, w) => a + w.fixed, 0);
  return (
    <Figure
      testId="chart-weekly"
      title="New versus fixed per week"
      empty={opened + fixed ? null : "Nothing opened or fixed in this range."}
      summary={`${opened} opened and ${fixed} fixed over ${weeks.length} weeks`}
    >
      {(width) => (
        <BarChart
          accessibilityLayer={false}
          width={width}
          height={HEIGHT}
          data={weeks}
          margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
          <XAxis dataKey="week" tick={axis} />
          <YAxis allowDecimals={false} tick={axis} />
          <Tooltip contentStyle={tooltipStyle} />
          <Legend />
          <Bar dataKey="opened" name="New" fill="var(--sev-high)" isAnimationActive={false} />
          <Bar dataKey="fixed" name="Fixed" fill="var(--accent)" isAnimationActive={false} />
        </BarChart>
      )}
    </Figure>
  );
}

/** Mean time to remediate by severity, in days. */
export function RemediationChart({ rows }: { rows: RemediationView[] }) {
  const data = rows
    .filter((r) => r.fixed > 0 && r.meanMs !== null)
    .map((r) => ({
      severity: r.severity,
      days: Math.round((r.meanMs! / 86_400_000) * 10) / 10,
      fixed: r.fixed,
    }));
  return (
    <Figure
      testId="chart-mttr"
      title="Mean time to remediate (days)"
      empty={data.length ? null : "Nothing remediated in this range."}
      summary={data.map((d) => `${d.severity.toLowerCase()} ${d.days} days (${d.fixed} fixed)`).join(", ")}
    >
      {(width) => (
        <BarChart
          accessibilityLayer={false}
          width={width}
          height={HEIGHT}
          data={data}
          margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
          <XAxis dataKey="severity" tick={axis} />
          <YAxis tick={axis} />
          <Tooltip contentStyle={tooltipStyle} />
          <Bar dataKey="days" name="Mean days open" fill="var(--accent)" isAnimationActive={false} />
        </BarChart>
      )}
    </Figure>
  );
}
