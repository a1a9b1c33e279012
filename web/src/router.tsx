import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from "react";

/**
 * A small router over the History API: every view of the console has its own URL under
 * /console (deep links that can be pasted into a ticket), and a view's state that should
 * survive a reload or a shared link (sort, filters, page, tab) lives in the query string.
 */

export const BASE = "/console";
const CHANGE = "drydock:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(CHANGE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(CHANGE, onChange);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current location: `path` relative to /console (always starting with "/"), and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot, snapshot);
  const url = new URL(href, window.location.origin);
  let path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : url.pathname;
  if (path === "") path = "/";
  return { path: decodeURIComponent(path), query: url.searchParams };
}

/** Goes to a console path (`/repositories/x?tab=layers`); `replace` keeps the history entry. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const href = to.startsWith(BASE) ? to : BASE + to;
  if (opts.replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  window.dispatchEvent(new Event(CHANGE));
  if (!opts.replace) window.scrollTo?.(0, 0);
}

/** The query string as an object of strings. */
export function useQuery(): Record<string, string> {
  const { query } = useLocation();
  return Object.fromEntries(query.entries());
}

/**
 * Changes some query parameters of the current URL (undefined or "" removes one); replaces
 * the history entry unless `push`. Changing a filter or the sort resets `offset` unless given.
 */
export function setQuery(
  changes: Record<string, string | number | undefined>,
  opts: { push?: boolean } = {},
): void {
  const url = new URL(window.location.href);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") url.searchParams.delete(k);
    else url.searchParams.set(k, String(v));
  }
  navigate(url.pathname + url.search, { replace: !opts.push });
}

/** The console path of a repository (names contain slashes: each segment is encoded alone). */
export function repositoryPath(name: string): string {
  return `/repositories/${name.split("/").map(encodeURIComponent).join("/")}`;
}

/** The console path of an image's details. */
export function imagePath(repository: string, digest: string, tab?: string): string {
  return `${repositoryPath(repository)}/images/${digest}${tab ? `?tab=${encodeURIComponent(tab)}` : ""}`;
}

/** The console path of a vulnerability. */
export function vulnerabilityPath(id: string): string {
  return `/vulnerabilities/${encodeURIComponent(id)}`;
}

/** A link to a console path: a real <a href> (open in a new tab works), followed without a reload. */
export function Link({
  to,
  children,
  ...rest
}: { to: string; children: ReactNode } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href">) {
  const href = to.startsWith(BASE) ? to : BASE + to;
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a {...rest} href={href} onClick={onClick}>
      {children}
    </a>
  );
}
