/** "1–50 of 1,234" with previous and next: the page is the URL's `offset` and `limit`. */
export function Pagination({
  offset,
  limit,
  total,
  totalCapped,
  onChange,
}: {
  offset: number;
  limit: number;
  total: number;
  totalCapped?: boolean;
  onChange: (offset: number) => void;
}) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  const fmt = (n: number) => n.toLocaleString("en-US");
  return (
    <nav className="pagination" aria-label="Pages">
      <span aria-live="polite">
        {fmt(first)}–{fmt(last)} of {fmt(total)}
        {totalCapped ? "+" : ""}
      </span>
      <button type="button" onClick={() => onChange(Math.max(0, offset - limit))} disabled={offset === 0}>
        Previous
      </button>
      <button type="button" onClick={() => onChange(offset + limit)} disabled={offset + limit >= total}>
        Next
      </button>
    </nav>
  );
}
