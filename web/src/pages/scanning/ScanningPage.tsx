import { useEffect, useMemo, useState } from "react";
import type {
  ConsoleScanFrequency,
  ConsoleScanType,
  RescanWindowView,
  ScanningPreview,
  ScanningUpdate,
  ScanningView,
} from "../../../../src/api/console/contract/scanning.js";
import { api, ApiError, useApi } from "../../api.js";
import { PageHeader } from "../../components/Layout.js";
import { Pagination } from "../../components/Pagination.js";
import { formatCount, formatTime } from "../../format.js";
import { repositoryPath, Link } from "../../router.js";
import "./settings-views.css";

/**
 * The scanning configuration (ECR's registry scanning configuration and Inspector's rescan
 * window) as a form, with a live preview of the draft: as the rules are edited, the server says
 * (debounced) how many repositories each filter and rule matches and lists them with the scan
 * frequency the draft would give each. Only admins may save; everyone may read and preview.
 */

export interface DraftRule {
  scanFrequency: ConsoleScanFrequency;
  filters: string[];
}

export interface Draft {
  scanType: ConsoleScanType;
  rules: DraftRule[];
  window: RescanWindowView;
}

/** How long the preview waits after the last keystroke. */
export const PREVIEW_DEBOUNCE_MS = 300;
const PREVIEW_LIMIT = 20;

const FREQUENCY_LABEL: Record<ConsoleScanFrequency, string> = {
  SCAN_ON_PUSH: "Scan on push",
  CONTINUOUS_SCAN: "Continuous scanning",
  MANUAL: "Manual",
};

function draftOf(v: ScanningView): Draft {
  return {
    scanType: v.scanType,
    rules: v.rules.map((r) => ({
      scanFrequency: r.scanFrequency,
      filters: r.repositoryFilters.map((f) => f.filter),
    })),
    window: {
      rescanDuration: v.rescanWindow.rescanDuration,
      ...(v.rescanWindow.pullDateRescanDuration
        ? { pullDateRescanDuration: v.rescanWindow.pullDateRescanDuration }
        : {}),
      ...(v.rescanWindow.pullDateRescanMode ? { pullDateRescanMode: v.rescanWindow.pullDateRescanMode } : {}),
    },
  };
}

/** The PUT body of a draft (empty filter fields are left out). */
export function updateOf(d: Draft): ScanningUpdate {
  return {
    scanType: d.scanType,
    rules: d.rules.map((r) => ({
      scanFrequency: r.scanFrequency,
      repositoryFilters: r.filters
        .map((f) => f.trim())
        .filter(Boolean)
        .map((filter) => ({ filter, filterType: "WILDCARD" as const })),
    })),
    rescanWindow: d.window,
  };
}

/** A value that follows `value` once it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function ScanningPage() {
  const loaded = useApi<ScanningView>("/scanning");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const view = loaded.data;
  useEffect(() => {
    if (view && draft === null) setDraft(draftOf(view));
  }, [view, draft]);

  if (loaded.error && !view)
    return (
      <>
        <PageHeader title="Scanning configuration" />
        <p role="alert" className="error">
          {loaded.error.message}
        </p>
      </>
    );
  if (!view || !draft)
    return (
      <>
        <PageHeader title="Scanning configuration" />
        <p className="loading">Loading…</p>
      </>
    );

  const readOnly = !view.canEdit;
  const allowed = view.options.frequencies[draft.scanType];
  const change = (d: Draft) => {
    setDraft(d);
    setSaved(null);
    setSaveError(null);
  };
  const setRule = (i: number, r: DraftRule) =>
    change({ ...draft, rules: draft.rules.map((x, k) => (k === i ? r : x)) });
  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      const next = await api.put<ScanningView>("/scanning", updateOf(draft));
      setDraft(draftOf(next));
      setSaved(`Saved at ${formatTime(Date.now())}.`);
      loaded.reload();
    } catch (e) {
      setSaveError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setSaving(false);
    }
  };

  return (
    <>
      <PageHeader title="Scanning configuration" />
      {readOnly && (
        <p className="muted" data-testid="scanning-readonly">
          Only administrators change the scanning configuration; you can try drafts in the preview.
        </p>
      )}
      <div className="grid">
        <form
          className="panel settings-form"
          data-testid="scanning-form"
          aria-label="Scanning configuration"
          onSubmit={(e) => {
            e.preventDefault();
            if (!readOnly) void save();
          }}
        >
          <fieldset>
            <legend>Scan type</legend>
            {(["BASIC", "ENHANCED"] as const).map((t) => (
              <label key={t} className="choice">
                <input
                  type="radio"
                  name="scanType"
                  value={t}
                  checked={draft.scanType === t}
                  data-testid={`scan-type-${t}`}
                  onChange={() =>
                    change({
                      ...draft,
                      scanType: t,
                      // BASIC has no continuous scanning: such rules become scan on push.
                      rules: draft.rules.map((r) =>
                        view.options.frequencies[t].includes(r.scanFrequency)
                          ? r
                          : { ...r, scanFrequency: view.options.frequencies[t][0]! },
                      ),
                    })
                  }
                />{" "}
                {t === "BASIC"
                  ? "Basic (OS packages, scan on push or manual)"
                  : "Enhanced (OS and language packages, continuous)"}
              </label>
            ))}
          </fieldset>

          <fieldset>
            <legend>Rules</legend>
            {draft.rules.length === 0 && (
              <p className="muted">
                No rules:{" "}
                {draft.scanType === "BASIC"
                  ? "images are scanned manually (or by the repository's scan-on-push flag)."
                  : "no repository is scanned."}
              </p>
            )}
            {draft.rules.map((r, i) => (
              <div key={i} className="rule" data-testid={`rule-${i}`}>
                <label>
                  Frequency{" "}
                  <select
                    value={r.scanFrequency}
                    data-testid={`rule-${i}-frequency`}
                    onChange={(e) =>
                      setRule(i, { ...r, scanFrequency: e.target.value as ConsoleScanFrequency })
                    }
                  >
                    {allowed.map((f) => (
                      <option key={f} value={f}>
                        {FREQUENCY_LABEL[f]}
                      </option>
                    ))}
                  </select>
                </label>
                {r.filters.map((f, j) => (
                  <div key={j} className="filter-row">
                    <label>
                      Repository filter {j + 1}{" "}
                      <input
                        value={f}
                        placeholder="prod-* or team/app"
                        data-testid={`rule-${i}-filter-${j}`}
                        onChange={(e) =>
                          setRule(i, {
                            ...r,
                            filters: r.filters.map((x, k) => (k === j ? e.target.value : x)),
                          })
                        }
                      />
                    </label>
                    <button
                      type="button"
                      className="ghost"
                      aria-label={`Remove filter ${j + 1} of rule ${i + 1}`}
                      onClick={() => setRule(i, { ...r, filters: r.filters.filter((_, k) => k !== j) })}
                    >
                      Remove
                    </button>
                  </div>
                ))}
                <div className="toolbar">
                  <button
                    type="button"
                    data-testid={`rule-${i}-add-filter`}
                    disabled={r.filters.length >= view.options.maxFiltersPerRule}
                    onClick={() => setRule(i, { ...r, filters: [...r.filters, ""] })}
                  >
                    Add filter
                  </button>
                  <button
                    type="button"
                    className="ghost"
                    data-testid={`remove-rule-${i}`}
                    onClick={() => change({ ...draft, rules: draft.rules.filter((_, k) => k !== i) })}
                  >
                    Remove rule
                  </button>
                </div>
              </div>
            ))}
            <button
              type="button"
              data-testid="add-rule"
              disabled={draft.rules.length >= view.options.maxRules}
              onClick={() =>
                change({ ...draft, rules: [...draft.rules, { scanFrequency: allowed[0]!, filters: [""] }] })
              }
            >
              Add rule
            </button>
            <p className="muted">
              A filter without <code>*</code> matches every repository whose name contains it; with{" "}
              <code>*</code>, the whole name must match and <code>*</code> stands for any characters.
              Continuous scanning wins over scan on push.
            </p>
          </fieldset>

          <fieldset>
            <legend>Rescan window (enhanced scanning)</legend>
            <label>
              Monitor images pushed within{" "}
              <select
                value={draft.window.rescanDuration}
                data-testid="rescan-duration"
                onChange={(e) =>
                  change({ ...draft, window: { ...draft.window, rescanDuration: e.target.value } })
                }
              >
                {view.options.rescanDurations.map((d) => (
                  <option key={d} value={d}>
                    {durationLabel(d)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              or pulled within{" "}
              <select
                value={draft.window.pullDateRescanDuration ?? ""}
                data-testid="pull-rescan-duration"
                onChange={(e) => {
                  const { pullDateRescanDuration: _d, pullDateRescanMode: _m, ...rest } = draft.window;
                  change({
                    ...draft,
                    window: e.target.value
                      ? {
                          ...rest,
                          pullDateRescanDuration: e.target.value,
                          pullDateRescanMode:
                            draft.window.pullDateRescanMode ?? view.options.pullDateRescanModes[0]!,
                        }
                      : rest,
                  });
                }}
              >
                <option value="">(pulls do not count)</option>
                {view.options.pullDateRescanDurations.map((d) => (
                  <option key={d} value={d}>
                    {durationLabel(d)}
                  </option>
                ))}
              </select>
            </label>
            {draft.window.pullDateRescanDuration && (
              <label>
                Measured by{" "}
                <select
                  value={draft.window.pullDateRescanMode ?? ""}
                  data-testid="pull-rescan-mode"
                  onChange={(e) =>
                    change({ ...draft, window: { ...draft.window, pullDateRescanMode: e.target.value } })
                  }
                >
                  {view.options.pullDateRescanModes.map((m) => (
                    <option key={m} value={m}>
                      {m === "LAST_PULL_DATE" ? "the last pull" : "the last use (the last pull here)"}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <p className="muted">
              {view.rescanWindow.isDefault
                ? "Drydock's default applies (never changed)."
                : `Last changed ${formatTime(view.rescanWindow.updatedAt)}.`}
            </p>
          </fieldset>

          {!readOnly && (
            <div className="toolbar">
              <button type="submit" className="primary" data-testid="scanning-save" disabled={saving}>
                {saving ? "Saving…" : "Save"}
              </button>
              <button type="button" className="ghost" onClick={() => change(draftOf(view))}>
                Reset
              </button>
            </div>
          )}
          {saved && (
            <p role="status" data-testid="scanning-status">
              {saved}
            </p>
          )}
          {saveError && (
            <p role="alert" className="error" data-testid="scanning-error">
              {saveError}
            </p>
          )}
        </form>
        <Preview draft={draft} />
      </div>
    </>
  );
}

function durationLabel(d: string): string {
  if (d === "LIFETIME") return "the image's lifetime";
  const m = /^DAYS_(\d+)$/.exec(d);
  return m ? `${m[1]} days` : d;
}

/** The live preview of a draft: counts per rule and filter, and the repositories of a selection. */
export function Preview({ draft }: { draft: Draft }) {
  const [selection, setSelection] = useState<{ rule: number; filter?: number } | null>(null);
  const [offset, setOffset] = useState(0);
  const query = useMemo(
    () => ({
      scanType: draft.scanType,
      rules: JSON.stringify(
        draft.rules.map((r) => ({
          scanFrequency: r.scanFrequency,
          filters: r.filters.map((f) => f.trim()).filter(Boolean),
        })),
      ),
      ...(selection
        ? { rule: selection.rule, ...(selection.filter !== undefined ? { filter: selection.filter } : {}) }
        : {}),
      offset: offset || undefined,
      limit: PREVIEW_LIMIT,
    }),
    [draft, selection, offset],
  );
  const debounced = useDebounced(query, PREVIEW_DEBOUNCE_MS);
  // A selection that no longer exists in the draft (a rule or filter removed) is dropped.
  useEffect(() => {
    if (!selection) return;
    const r = draft.rules[selection.rule];
    if (
      !r ||
      (selection.filter !== undefined && selection.filter >= r.filters.filter((f) => f.trim()).length)
    ) {
      setSelection(null);
      setOffset(0);
    }
  }, [draft, selection]);
  const p = useApi<ScanningPreview>("/scanning/preview", debounced);
  const data = p.data;
  const select = (s: { rule: number; filter?: number } | null) => {
    setSelection(s);
    setOffset(0);
  };
  return (
    <section
      className="panel"
      aria-labelledby="preview-title"
      data-testid="preview"
      aria-busy={p.loading ? "true" : "false"}
    >
      <h2 id="preview-title">Preview</h2>
      {p.error && (
        <p role="alert" className="error">
          {p.error.message}
        </p>
      )}
      {data && !data.valid && (
        <p className="error" data-testid="preview-invalid">
          This draft would be refused: {data.error}
        </p>
      )}
      {data && (
        <>
          <ul className="preview-list">
            <li>
              <button
                type="button"
                className={selection === null ? "primary" : "ghost"}
                aria-pressed={selection === null}
                onClick={() => select(null)}
              >
                Every rule
              </button>
            </li>
            {data.rules.map((r, i) => (
              <li key={i}>
                <button
                  type="button"
                  className={selection?.rule === i && selection.filter === undefined ? "primary" : "ghost"}
                  aria-pressed={selection?.rule === i && selection.filter === undefined}
                  onClick={() => select({ rule: i })}
                >
                  Rule {i + 1} ({FREQUENCY_LABEL[r.scanFrequency]}):{" "}
                  <span data-testid={`preview-rule-${i}-count`}>{formatCount(r.matches)}</span> repositories
                </button>
                <ul>
                  {r.filters.map((f, j) => (
                    <li key={j}>
                      <button
                        type="button"
                        className={selection?.rule === i && selection.filter === j ? "primary" : "ghost"}
                        aria-pressed={selection?.rule === i && selection.filter === j}
                        disabled={!f.valid}
                        onClick={() => select({ rule: i, filter: j })}
                      >
                        <code>{f.filter}</code>:{" "}
                        <span data-testid={`preview-filter-${i}-${j}-count`}>{formatCount(f.matches)}</span>
                      </button>
                      {!f.valid && (
                        <span className="error" data-testid={`preview-filter-${i}-${j}-error`}>
                          {" "}
                          {f.error}
                        </span>
                      )}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
          <div className="table-wrap">
            <table data-testid="preview-repositories">
              <caption className="visually-hidden">Repositories the selection matches</caption>
              <thead>
                <tr>
                  <th scope="col">Repository</th>
                  <th scope="col">Frequency under this draft</th>
                  <th scope="col">Matching filters</th>
                </tr>
              </thead>
              <tbody>
                {data.repositories.items.map((x) => (
                  <tr key={x.name}>
                    <td>
                      <Link to={repositoryPath(x.name)}>{x.name}</Link>
                    </td>
                    <td>{FREQUENCY_LABEL[x.scanFrequency]}</td>
                    <td className="mono">{x.appliedFilters.join(", ") || "—"}</td>
                  </tr>
                ))}
                {data.repositories.items.length === 0 && (
                  <tr>
                    <td colSpan={3} className="empty">
                      No repository matches.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
            <Pagination
              offset={data.repositories.offset}
              limit={data.repositories.limit}
              total={data.repositories.total}
              totalCapped={data.repositories.totalCapped}
              onChange={setOffset}
            />
          </div>
        </>
      )}
      {!data && !p.error && <p className="loading">Loading…</p>}
    </section>
  );
}
