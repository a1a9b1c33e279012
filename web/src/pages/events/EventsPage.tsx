import { useState } from "react";
import type {
  DeadLetterView,
  DeliveryView,
  EventRuleView,
  EventsPage as Page,
  EventTargetView,
  RedriveResult,
} from "../../../../src/api/console/contract/events.js";
import { api, ApiError, useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { Tabs } from "../../components/Tabs.js";
import { formatAgo, formatTime } from "../../format.js";
import { setQuery, useQuery } from "../../router.js";
import { useSession } from "../../session.js";
import "../scanning/settings-views.css";

/**
 * The event bus: its rules (enable/disable), their targets, the deliveries waiting (due,
 * retrying with their last error, or being sent) and the dead-letter store with redrive, as tabs
 * in the URL (`?tab=rules|targets|deliveries|dead-letters`, `?bus=`, `?rule=`, `?targetId=`).
 * Everyone signed in sees the rules (as EventBridge's ListRules); targets, deliveries and dead
 * letters, and every change, are for administrators (the API answers 403 to others).
 */

const TABS = [
  { id: "rules", label: "Rules" },
  { id: "targets", label: "Targets" },
  { id: "deliveries", label: "Deliveries" },
  { id: "dead-letters", label: "Dead letters" },
];

export function EventsPage() {
  const q = useQuery();
  const tab = TABS.some((t) => t.id === q.tab) ? q.tab! : "rules";
  const bus = q.bus ?? "default";
  const buses = useApi<{ items: string[] }>("/events/buses");
  const { admin } = useSession();
  return (
    <>
      <PageHeader title="Events" />
      <div className="toolbar">
        <label>
          Event bus{" "}
          <select
            value={bus}
            data-testid="events-bus"
            onChange={(e) =>
              setQuery({
                bus: e.target.value === "default" ? undefined : e.target.value,
                rule: undefined,
                targetId: undefined,
                offset: undefined,
              })
            }
          >
            {(buses.data?.items ?? ["default"]).map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        {(q.rule || q.targetId) && (
          <span data-testid="events-filter">
            Rule <code>{q.rule ?? "any"}</code>
            {q.targetId ? (
              <>
                , target <code>{q.targetId}</code>
              </>
            ) : null}{" "}
            <button
              type="button"
              className="ghost"
              onClick={() => setQuery({ rule: undefined, targetId: undefined, offset: undefined })}
            >
              Show all
            </button>
          </span>
        )}
      </div>
      <Tabs tabs={TABS} current={tab} label="Events" />
      <div role="tabpanel" id={`tabpanel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "rules" && <RulesTab bus={bus} admin={admin} />}
        {tab !== "rules" && !admin && (
          <p className="muted" data-testid="events-forbidden">
            Targets, deliveries and dead letters carry webhook endpoints and events of every repository: only
            administrators see them.
          </p>
        )}
        {admin && tab === "targets" && <TargetsTab bus={bus} rule={q.rule} />}
        {admin && tab === "deliveries" && <DeliveriesTab bus={bus} rule={q.rule} targetId={q.targetId} />}
        {admin && tab === "dead-letters" && <DeadLettersTab bus={bus} rule={q.rule} targetId={q.targetId} />}
      </div>
    </>
  );
}

const show = (tab: string, rule: string, targetId?: string) =>
  setQuery({ tab, rule, targetId, offset: undefined, sort: undefined, order: undefined }, { push: true });

function RulesTab({ bus, admin }: { bus: string; admin: boolean }) {
  const table = useTableQuery({ sort: "name" });
  const list = useApi<Page<EventRuleView>>("/events/rules", {
    bus,
    sort: table.sort,
    order: table.order,
    offset: table.offset || undefined,
    limit: table.limit,
  });
  const [error, setError] = useState<string | null>(null);
  const toggle = async (r: EventRuleView) => {
    setError(null);
    try {
      await api.post(`/events/rules/${encodeURIComponent(r.name)}/state?bus=${encodeURIComponent(bus)}`, {
        state: r.state === "DISABLED" ? "ENABLED" : "DISABLED",
      });
      list.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const all: Column<EventRuleView>[] = [
    {
      key: "name",
      header: "Rule",
      sortable: true,
      render: (r) => <span data-testid={`events-rule-${r.name}`}>{r.name}</span>,
    },
    { key: "state", header: "State", nowrap: true, render: (r) => r.state },
    {
      key: "pattern",
      header: "Pattern or schedule",
      render: (r) => <code className="mono">{r.eventPattern ?? r.scheduleExpression ?? "—"}</code>,
    },
    {
      key: "targets",
      header: "Targets",
      align: "right",
      render: (r) => (
        <button type="button" className="ghost" onClick={() => show("targets", r.name)}>
          {r.targets}
        </button>
      ),
    },
    {
      key: "pending",
      header: "Pending",
      align: "right",
      render: (r) => (
        <button type="button" className="ghost" onClick={() => show("deliveries", r.name)}>
          {r.pending}
        </button>
      ),
    },
    {
      key: "deadLetters",
      header: "Dead letters",
      align: "right",
      render: (r) => (
        <button
          type="button"
          className="ghost"
          data-testid={`events-rule-${r.name}-dead-letters`}
          onClick={() => show("dead-letters", r.name)}
        >
          {r.deadLetters}
        </button>
      ),
    },
    {
      key: "actions",
      header: "Actions",
      render: (r) => (
        <button
          type="button"
          className="ghost"
          data-testid={`events-rule-${r.name}-toggle`}
          onClick={() => void toggle(r)}
        >
          {r.state === "DISABLED" ? "Enable" : "Disable"}
        </button>
      ),
    },
  ];
  const columns = all.filter((c) => admin || c.key !== "actions");
  return (
    <>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <DataTable
        caption="Event rules"
        testId="events-rules"
        columns={columns}
        rows={list.data?.items}
        rowKey={(r) => r.arn}
        query={table}
        total={list.data?.total}
        loading={list.loading}
        error={list.error}
        empty="No rule on this bus: events are logged, and sent nowhere."
      />
    </>
  );
}

function TargetsTab({ bus, rule }: { bus: string; rule: string | undefined }) {
  const table = useTableQuery({ sort: "rule" });
  const list = useApi<Page<EventTargetView>>("/events/targets", {
    bus,
    rule,
    order: table.order,
    offset: table.offset || undefined,
    limit: table.limit,
  });
  const columns: Column<EventTargetView>[] = [
    { key: "rule", header: "Rule", render: (t) => t.rule },
    { key: "id", header: "Target", render: (t) => <span data-testid={`events-target-${t.id}`}>{t.id}</span> },
    { key: "arn", header: "ARN", render: (t) => <code className="mono">{t.arn}</code> },
    {
      key: "settings",
      header: "Settings",
      render: (t) =>
        Object.keys(t.settings).length ? (
          <code className="mono">{JSON.stringify(t.settings)}</code>
        ) : (
          <span className="muted">defaults</span>
        ),
    },
    {
      key: "pending",
      header: "Pending",
      align: "right",
      render: (t) => (
        <button type="button" className="ghost" onClick={() => show("deliveries", t.rule, t.id)}>
          {t.pending}
        </button>
      ),
    },
    {
      key: "deadLetters",
      header: "Dead letters",
      align: "right",
      render: (t) => (
        <button type="button" className="ghost" onClick={() => show("dead-letters", t.rule, t.id)}>
          {t.deadLetters}
        </button>
      ),
    },
  ];
  return (
    <DataTable
      caption="Targets of the bus's rules"
      testId="events-targets"
      columns={columns}
      rows={list.data?.items}
      rowKey={(t) => `${t.rule}/${t.id}`}
      query={table}
      total={list.data?.total}
      loading={list.loading}
      error={list.error}
      empty="No target."
    />
  );
}

function DeliveriesTab({ bus, rule, targetId }: { bus: string; rule?: string; targetId?: string }) {
  const table = useTableQuery({ sort: "id" });
  const list = useApi<Page<DeliveryView>>(
    "/events/deliveries",
    { bus, rule, targetId, offset: table.offset || undefined, limit: table.limit },
    { refreshMs: 10_000 },
  );
  const columns: Column<DeliveryView>[] = [
    {
      key: "event",
      header: "Event",
      render: (d) => (
        <span data-testid={`events-delivery-${d.id}`}>
          {d.detailType ?? "?"} <span className="muted mono">{d.eventId ?? ""}</span>
        </span>
      ),
    },
    { key: "target", header: "Rule / target", render: (d) => `${d.rule} / ${d.targetId}` },
    { key: "status", header: "Status", nowrap: true, render: (d) => d.status },
    { key: "attempts", header: "Attempts", align: "right", render: (d) => d.attempts },
    { key: "lastError", header: "Last error", render: (d) => d.lastError ?? "—" },
    {
      key: "next",
      header: "Next attempt",
      nowrap: true,
      render: (d) => <span title={formatTime(d.nextAttemptAt)}>{formatTime(d.nextAttemptAt)}</span>,
    },
  ];
  return (
    <DataTable
      caption="Deliveries waiting to be sent"
      testId="events-deliveries"
      columns={columns}
      rows={list.data?.items}
      rowKey={(d) => String(d.id)}
      query={table}
      total={list.data?.total}
      loading={list.loading}
      error={list.error}
      empty="Nothing waiting: every event has been delivered."
    />
  );
}

function DeadLettersTab({ bus, rule, targetId }: { bus: string; rule?: string; targetId?: string }) {
  const table = useTableQuery({ sort: "deadAt", order: "desc" });
  const list = useApi<Page<DeadLetterView>>("/events/dead-letters", {
    bus,
    rule,
    targetId,
    order: table.order,
    offset: table.offset || undefined,
    limit: table.limit,
  });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const redrive = async (body: { ids?: number[]; bus?: string; rule?: string; targetId?: string }) => {
    setNotice(null);
    setError(null);
    try {
      const r = await api.post<RedriveResult>("/events/dead-letters/redrive", body);
      setNotice(`${r.redriven} dead letter${r.redriven === 1 ? "" : "s"} queued for delivery again.`);
      list.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const columns: Column<DeadLetterView>[] = [
    {
      key: "deadAt",
      header: "Dead since",
      sortable: true,
      nowrap: true,
      render: (l) => <span title={formatTime(l.deadAt)}>{formatAgo(l.deadAt)}</span>,
    },
    {
      key: "event",
      header: "Event",
      render: (l) => (
        <button
          type="button"
          className="ghost"
          aria-expanded={open === l.id}
          onClick={() => setOpen(open === l.id ? null : l.id)}
        >
          {l.detailType ?? "?"} <span className="muted mono">{l.eventId ?? ""}</span>
        </button>
      ),
    },
    { key: "target", header: "Rule / target", render: (l) => `${l.rule} / ${l.targetId}` },
    { key: "attempts", header: "Attempts", align: "right", render: (l) => l.attempts },
    {
      key: "error",
      header: "Error",
      render: (l) => (
        <>
          <strong>{l.errorCode}</strong> {l.errorMessage}
        </>
      ),
    },
    {
      key: "actions",
      header: "Actions",
      render: (l) => (
        <button
          type="button"
          data-testid={`events-redrive-${l.id}`}
          onClick={() => void redrive({ ids: [l.id] })}
        >
          Redrive
        </button>
      ),
    },
  ];
  const shown = list.data?.items.find((l) => l.id === open);
  return (
    <>
      {notice && (
        <p role="status" data-testid="events-redrive-notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {rule && (list.data?.total ?? 0) > 0 && (
        <div className="toolbar">
          <button
            type="button"
            data-testid="events-redrive-all"
            onClick={() => void redrive({ bus, rule, ...(targetId ? { targetId } : {}) })}
          >
            Redrive all {list.data!.total} of {rule}
            {targetId ? ` / ${targetId}` : ""}
          </button>
        </div>
      )}
      <DataTable
        caption="Dead letters"
        testId="events-dead-letters"
        columns={columns}
        rows={list.data?.items}
        rowKey={(l) => String(l.id)}
        query={table}
        total={list.data?.total}
        loading={list.loading}
        error={list.error}
        empty="No dead letter: every delivery succeeded or is still being retried."
      />
      {shown && (
        <section
          className="panel"
          aria-label="The event of the dead letter"
          data-testid="events-dead-letter-event"
        >
          <pre className="mono event-json">{JSON.stringify(shown.event, null, 2)}</pre>
        </section>
      )}
    </>
  );
}
