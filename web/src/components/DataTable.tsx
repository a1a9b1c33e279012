import type { ReactNode } from "react";
import { setQuery, useQuery } from "../router.js";
import { Pagination } from "./Pagination.js";

/**
 * A table of one page of a server-side list. Sorting and paging live in the URL's query
 * (`sort`, `order`, `offset`, and `limit`), so a view can be linked as it is; the page reads
 * them with useTableQuery() and passes them to the API. Sortable headers are buttons with
 * aria-sort; the rows come from the server already sorted and paged.
 */

export interface Column<T> {
  /** The `sort` value when sortable; also the React key. */
  key: string;
  header: ReactNode;
  render: (row: T) => ReactNode;
  sortable?: boolean;
  align?: "left" | "right";
  /** A short column (numbers, badges) does not wrap. */
  nowrap?: boolean;
  /**
   * The order of a first click on the header: "desc" where the most matters first (counts,
   * severities, recent times); default "desc" for right-aligned (numeric) columns, else "asc".
   */
  firstOrder?: "asc" | "desc";
}

export interface TableQuery {
  sort: string;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

/** The table's state from the URL, with the view's defaults. */
export function useTableQuery(defaults: {
  sort: string;
  order?: "asc" | "desc";
  limit?: number;
}): TableQuery {
  const q = useQuery();
  const offset = Number(q.offset ?? 0);
  const limit = Number(q.limit ?? defaults.limit ?? 50);
  return {
    sort: q.sort ?? defaults.sort,
    order: q.order === "asc" || q.order === "desc" ? q.order : (defaults.order ?? "asc"),
    offset: Number.isInteger(offset) && offset >= 0 ? offset : 0,
    limit: Number.isInteger(limit) && limit > 0 ? limit : 50,
  };
}

export function DataTable<T>({
  columns,
  rows,
  rowKey,
  query,
  total,
  totalCapped,
  loading,
  error,
  empty = "Nothing here yet.",
  caption,
  testId,
}: {
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  query: TableQuery;
  total: number | undefined;
  totalCapped?: boolean;
  loading?: boolean;
  error?: { message: string } | undefined;
  empty?: ReactNode;
  /** Read by screen readers: what the table lists. */
  caption: string;
  testId?: string;
}) {
  const sortBy = (c: Column<T>) => {
    const first = c.firstOrder ?? (c.align === "right" ? "desc" : "asc");
    const order = query.sort !== c.key ? first : query.order === "asc" ? "desc" : "asc";
    setQuery({ sort: c.key, order, offset: undefined });
  };
  return (
    <div className="table-wrap" data-testid={testId} aria-busy={loading ? "true" : "false"}>
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => {
              const sorted = query.sort === c.key;
              return (
                <th
                  key={c.key}
                  scope="col"
                  className={c.align === "right" ? "num" : undefined}
                  aria-sort={sorted ? (query.order === "asc" ? "ascending" : "descending") : undefined}
                >
                  {c.sortable ? (
                    <button type="button" className="sort" onClick={() => sortBy(c)}>
                      {c.header}
                      <span aria-hidden="true" className="sort-mark">
                        {sorted ? (query.order === "asc" ? "▲" : "▼") : "↕"}
                      </span>
                    </button>
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows?.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td
                  key={c.key}
                  className={
                    [c.align === "right" ? "num" : "", c.nowrap ? "nowrap" : ""].join(" ").trim() || undefined
                  }
                >
                  {c.render(r)}
                </td>
              ))}
            </tr>
          ))}
          {rows && rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="empty">
                {empty}
              </td>
            </tr>
          )}
          {!rows && (
            <tr>
              <td colSpan={columns.length} className="empty">
                {loading ? "Loading…" : ""}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {total !== undefined && (
        <Pagination
          offset={query.offset}
          limit={query.limit}
          total={total}
          totalCapped={totalCapped}
          onChange={(offset) => setQuery({ offset: offset || undefined })}
        />
      )}
    </div>
  );
}
