import { useState, type FormEvent } from "react";
import type {
  HiddenFindings,
  SuppressionInput,
  SuppressionList,
  SuppressionRuleView,
} from "../../../../src/api/console/contract/suppression.js";
import { api, ApiError, useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { Pagination } from "../../components/Pagination.js";
import { formatCount, formatTime, shortDigest } from "../../format.js";
import { imagePath, Link, setQuery, useQuery, vulnerabilityPath } from "../../router.js";
import "../scanning/settings-views.css";

/**
 * Suppression rules and exceptions (Inspector2 SUPPRESS filters; exceptions are the scoped ones
 * made by `drydock exceptions`, the configuration or here): a table (filtered by state and
 * text, sorted and paged through the URL), a form to create or edit an exception, expiry, removal,
 * and for the rule chosen (`?rule=<id>`) what it hides now. Administrators only (the API says 403
 * to others, as Inspector2's ListFilters does).
 */

const idOf = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

/** The form's fields, as strings (repositories comma-separated). */
export interface FormState {
  name: string;
  reason: string;
  owner: string;
  expires: string;
  repositories: string;
  imageDigest: string;
  package: string;
  packageVersion: string;
  vulnerability: string;
}

const EMPTY: FormState = {
  name: "",
  reason: "",
  owner: "",
  expires: "",
  repositories: "",
  imageDigest: "",
  package: "",
  packageVersion: "",
  vulnerability: "",
};

function formOf(r: SuppressionRuleView): FormState {
  return {
    name: r.name,
    reason: r.reason ?? "",
    owner: r.owner ?? "",
    expires: r.expiresAt !== null ? new Date(r.expiresAt).toISOString() : "",
    repositories: (r.repositories ?? []).join(", "),
    imageDigest: r.imageDigest ?? "",
    package: r.package ?? "",
    packageVersion: r.packageVersion ?? "",
    vulnerability: r.vulnerability ?? "",
  };
}

/** The API body of the form (empty scope fields left out). */
export function inputOf(f: FormState): SuppressionInput {
  const opt = (k: "imageDigest" | "package" | "packageVersion" | "vulnerability") =>
    f[k].trim() ? { [k]: f[k].trim() } : {};
  const repositories = f.repositories
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  return {
    name: f.name.trim(),
    reason: f.reason,
    owner: f.owner,
    expires: f.expires.trim(),
    ...(repositories.length ? { repositories } : {}),
    ...opt("imageDigest"),
    ...opt("package"),
    ...opt("packageVersion"),
    ...opt("vulnerability"),
  };
}

function scopeText(r: SuppressionRuleView): string {
  const parts = [
    r.vulnerability,
    r.package && `${r.package}${r.packageVersion ? ` ${r.packageVersion}` : ""}`,
    r.repositories?.join(", "),
    r.imageDigest && shortDigest(r.imageDigest),
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : "Inspector criteria";
}

export function SuppressionPage() {
  const q = useQuery();
  const table = useTableQuery({ sort: "name" });
  const state = q.state ?? "all";
  const [editing, setEditing] = useState<{ rule: SuppressionRuleView | null } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const list = useApi<SuppressionList>("/suppression", {
    state,
    q: q.q,
    sort: table.sort,
    order: table.order,
    offset: table.offset || undefined,
    limit: table.limit,
  });
  const selected = q.rule;

  if (list.error?.status === 403)
    return (
      <>
        <PageHeader title="Suppression rules" />
        <p className="muted" data-testid="suppression-forbidden">
          Suppression rules hide findings of every repository: only administrators see and change them.
        </p>
      </>
    );

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setActionError(null);
    setNotice(null);
    try {
      await fn();
      setNotice(what);
      list.reload();
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const columns: Column<SuppressionRuleView>[] = [
    {
      key: "name",
      header: "Name",
      sortable: true,
      render: (r) => (
        <span data-testid={`suppression-row-${r.name}`}>
          {r.name}
          {r.kind === "exception" && (
            <span className="muted"> (exception{r.source ? `, ${r.source}` : ""})</span>
          )}
        </span>
      ),
    },
    { key: "scope", header: "Applies to", render: (r) => scopeText(r) },
    { key: "reason", header: "Reason", render: (r) => r.reason ?? "—" },
    { key: "owner", header: "Owner", render: (r) => r.owner ?? "—" },
    {
      key: "expiresAt",
      header: "Expires",
      sortable: true,
      nowrap: true,
      render: (r) =>
        r.expired ? (
          <strong>expired {formatTime(r.expiresAt)}</strong>
        ) : r.expiresAt !== null ? (
          formatTime(r.expiresAt)
        ) : (
          "never"
        ),
    },
    {
      key: "createdAt",
      header: "Created",
      sortable: true,
      nowrap: true,
      render: (r) => formatTime(r.createdAt),
    },
    {
      key: "actions",
      header: "Actions",
      nowrap: true,
      render: (r) => {
        const id = idOf(r.arn);
        return (
          <div className="toolbar">
            <button
              type="button"
              className="ghost"
              data-testid={`suppression-hides-${r.name}`}
              aria-pressed={selected === id}
              onClick={() => setQuery({ rule: selected === id ? undefined : id })}
            >
              What it hides
            </button>
            {r.editable && (
              <button
                type="button"
                className="ghost"
                data-testid={`suppression-edit-${r.name}`}
                onClick={() => setEditing({ rule: r })}
              >
                Edit
              </button>
            )}
            {!r.expired && (
              <button
                type="button"
                className="ghost"
                data-testid={`suppression-expire-${r.name}`}
                onClick={() =>
                  act(`${r.name} expired.`, () => api.post(`/suppression/${id}/expire`, { expires: "now" }))
                }
              >
                Expire now
              </button>
            )}
            {confirming === id ? (
              <button
                type="button"
                data-testid={`suppression-delete-confirm-${r.name}`}
                onClick={() => {
                  setConfirming(null);
                  if (selected === id) setQuery({ rule: undefined });
                  void act(`${r.name} deleted.`, () => api.del(`/suppression/${id}`));
                }}
              >
                Confirm delete
              </button>
            ) : (
              <button
                type="button"
                className="ghost"
                data-testid={`suppression-delete-${r.name}`}
                onClick={() => setConfirming(id)}
              >
                Delete
              </button>
            )}
          </div>
        );
      },
    },
  ];

  return (
    <>
      <PageHeader
        title="Suppression rules"
        actions={
          <button
            type="button"
            className="primary"
            data-testid="suppression-new"
            onClick={() => setEditing({ rule: null })}
          >
            New exception
          </button>
        }
      />
      <div className="toolbar">
        <label>
          Show{" "}
          <select
            value={state}
            data-testid="suppression-state"
            onChange={(e) =>
              setQuery({ state: e.target.value === "all" ? undefined : e.target.value, offset: undefined })
            }
          >
            <option value="all">all</option>
            <option value="active">in force</option>
            <option value="expired">expired</option>
          </select>
        </label>
        <label>
          Search{" "}
          <input
            type="search"
            defaultValue={q.q ?? ""}
            placeholder="name, CVE, package, owner"
            data-testid="suppression-search"
            onChange={(e) => setQuery({ q: e.target.value || undefined, offset: undefined })}
          />
        </label>
      </div>
      {notice && (
        <p role="status" data-testid="suppression-notice">
          {notice}
        </p>
      )}
      {actionError && (
        <p role="alert" className="error" data-testid="suppression-action-error">
          {actionError}
        </p>
      )}
      {editing && (
        <RuleForm
          rule={editing.rule}
          onCancel={() => setEditing(null)}
          onSaved={(r) => {
            setEditing(null);
            setNotice(`${r.name} saved.`);
            list.reload();
          }}
        />
      )}
      <DataTable
        caption="Suppression rules and exceptions"
        testId="suppression-table"
        columns={columns}
        rows={list.data?.items}
        rowKey={(r) => r.arn}
        query={table}
        total={list.data?.total}
        loading={list.loading}
        error={list.error}
        empty="No suppression rule: every finding is shown as it is."
      />
      {selected && <Hidden key={selected} id={selected} />}
    </>
  );
}

/** Create (rule null) or edit an exception. */
export function RuleForm({
  rule,
  onCancel,
  onSaved,
}: {
  rule: SuppressionRuleView | null;
  onCancel: () => void;
  onSaved: (r: SuppressionRuleView) => void;
}) {
  const [f, setF] = useState<FormState>(rule ? formOf(rule) : EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const field = (
    k: keyof FormState,
    label: string,
    o: { required?: boolean; placeholder?: string; textarea?: boolean } = {},
  ) => (
    <label>
      {label}
      {o.required ? " (required)" : ""}{" "}
      {o.textarea ? (
        <textarea
          value={f[k]}
          required={o.required}
          data-testid={`suppression-form-${k}`}
          onChange={(e) => setF({ ...f, [k]: e.target.value })}
        />
      ) : (
        <input
          value={f[k]}
          required={o.required}
          placeholder={o.placeholder}
          data-testid={`suppression-form-${k}`}
          onChange={(e) => setF({ ...f, [k]: e.target.value })}
        />
      )}
    </label>
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const body = inputOf(f);
      const saved = rule
        ? await api.put<SuppressionRuleView>(`/suppression/${idOf(rule.arn)}`, body)
        : await api.post<SuppressionRuleView>("/suppression", body);
      onSaved(saved);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <section className="panel" role="dialog" aria-labelledby="suppression-form-title">
      <form
        aria-labelledby="suppression-form-title"
        data-testid="suppression-form"
        onSubmit={(e) => void submit(e)}
      >
        <h2 id="suppression-form-title">{rule ? `Edit ${rule.name}` : "New exception"}</h2>
        <p className="muted">
          An exception suppresses the findings it covers until it expires: give at least one of vulnerability,
          package, repositories or image.
        </p>
        <div className="fields">
          {field("name", "Name", { required: true, placeholder: "accept-cve-2024-1234" })}
          {field("reason", "Reason", { required: true, textarea: true })}
          {field("owner", "Owner", { required: true, placeholder: "team@example.com" })}
          {field("expires", "Expires", {
            required: true,
            placeholder: "2026-12-31 (through that day) or an ISO time",
          })}
          {field("vulnerability", "Vulnerability", { placeholder: "CVE-2024-1234" })}
          {field("package", "Package", { placeholder: "openssl" })}
          {field("packageVersion", "Package version")}
          {field("repositories", "Repositories", {
            placeholder: "team/app, prod/** (comma-separated; * and ** allowed)",
          })}
          {field("imageDigest", "Image digest", { placeholder: "sha256:…" })}
        </div>
        {error && (
          <p role="alert" className="error" data-testid="suppression-form-error">
            {error}
          </p>
        )}
        <div className="toolbar">
          <button type="submit" className="primary" data-testid="suppression-form-save" disabled={saving}>
            {saving ? "Saving…" : rule ? "Save changes" : "Create"}
          </button>
          <button type="button" className="ghost" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

/** What a rule hides now: the findings it suppresses, paged. */
export function Hidden({ id }: { id: string }) {
  const [offset, setOffset] = useState(0);
  const h = useApi<HiddenFindings>(`/suppression/${encodeURIComponent(id)}/findings`, {
    offset: offset || undefined,
    limit: 20,
  });
  const d = h.data;
  return (
    <section className="panel" aria-labelledby="hidden-title" data-testid="suppression-hidden">
      <h2 id="hidden-title">What {d ? d.rule.name : "it"} hides now</h2>
      {h.error && (
        <p role="alert" className="error">
          {h.error.message}
        </p>
      )}
      {d && (
        <>
          <p>
            <span data-testid="suppression-hidden-total">
              {formatCount(d.total)}
              {d.totalCapped ? "+" : ""}
            </span>{" "}
            finding{d.total === 1 ? "" : "s"} suppressed by it
            {d.rule.expired ? " (it has expired: none)" : ""}.
          </p>
          <div className="table-wrap">
            <table data-testid="suppression-hidden-table">
              <caption className="visually-hidden">Findings this rule suppresses</caption>
              <thead>
                <tr>
                  <th scope="col">Vulnerability</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Package</th>
                  <th scope="col">Image</th>
                </tr>
              </thead>
              <tbody>
                {d.items.map((x) => (
                  <tr key={x.findingArn}>
                    <td>
                      <Link to={vulnerabilityPath(x.vulnerabilityId)}>{x.vulnerabilityId}</Link>
                    </td>
                    <td>{x.severity}</td>
                    <td className="mono">
                      {x.packageName} {x.packageVersion}
                    </td>
                    <td>
                      <Link to={imagePath(x.repositoryName, x.imageDigest)}>
                        {x.repositoryName}@{shortDigest(x.imageDigest)}
                      </Link>
                    </td>
                  </tr>
                ))}
                {d.items.length === 0 && (
                  <tr>
                    <td colSpan={4} className="empty">
                      It hides nothing now.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
            <Pagination
              offset={d.offset}
              limit={d.limit}
              total={d.total}
              totalCapped={d.totalCapped}
              onChange={setOffset}
            />
          </div>
        </>
      )}
    </section>
  );
}
