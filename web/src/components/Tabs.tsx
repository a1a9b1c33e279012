import type { KeyboardEvent } from "react";
import { setQuery } from "../router.js";

/**
 * Tabs kept in the URL's `tab` query parameter (a tab can be linked). The ARIA tabs pattern:
 * arrow keys move between tabs; the panel is the caller's, labelled `tabpanel-<id>`.
 */
export function Tabs({
  tabs,
  current,
  label,
}: {
  tabs: { id: string; label: string }[];
  current: string;
  label: string;
}) {
  const select = (id: string) =>
    setQuery({ tab: id, offset: undefined, sort: undefined, order: undefined }, { push: true });
  const onKey = (e: KeyboardEvent, i: number) => {
    const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const t = tabs[(next + tabs.length) % tabs.length]!;
    select(t.id);
    document.getElementById(`tab-${t.id}`)?.focus();
  };
  return (
    <div role="tablist" aria-label={label} className="tabs">
      {tabs.map((t, i) => (
        <button
          key={t.id}
          id={`tab-${t.id}`}
          type="button"
          role="tab"
          aria-selected={t.id === current}
          aria-controls={`tabpanel-${t.id}`}
          tabIndex={t.id === current ? 0 : -1}
          onClick={() => select(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
