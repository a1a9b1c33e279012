import { useCallback, useEffect, useRef, useState } from "react";

/**
 * The console API client: JSON in and out, the CSRF token on changes, typed errors. The
 * server answers errors as `{error: {code, message}}` (src/api/console/index.ts).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface SessionInfo {
  open: boolean;
  user: string | null;
  admin: boolean;
  csrfToken: string;
}

let csrfToken = "";
/** Called when a request answers 401: the shell shows the sign-in form. */
let onUnauthenticated: () => void = () => undefined;

export function setSession(s: SessionInfo | null): void {
  csrfToken = s?.csrfToken ?? "";
}
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

type QueryValue = string | number | boolean | undefined | null;

export function apiUrl(path: string, query?: Record<string, QueryValue>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  const s = qs.toString();
  return `/api/console${path}${s ? `?${s}` : ""}`;
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, QueryValue>,
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(apiUrl(path, query), {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(
      res.status,
      "BadResponse",
      `the server answered ${res.status} with something that is not JSON`,
    );
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && path !== "/session") onUnauthenticated();
    throw new ApiError(res.status, err?.code ?? "Error", err?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, query?: Record<string, QueryValue>) => request<T>("GET", path, undefined, query),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body),
  put: <T>(path: string, body?: unknown) => request<T>("PUT", path, body),
  patch: <T>(path: string, body?: unknown) => request<T>("PATCH", path, body),
  del: <T>(path: string, body?: unknown) => request<T>("DELETE", path, body),
};

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` with `query` and re-fetches when either changes (answers of superseded
 * requests are dropped). `path` null: nothing is fetched. `refreshMs`: polled while mounted.
 */
export function useApi<T>(
  path: string | null,
  query?: Record<string, QueryValue>,
  opts: { refreshMs?: number } = {},
): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  const key = path === null ? null : apiUrl(path, query);
  const latest = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const id = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    api.get<T>(path, query).then(
      (data) => id === latest.current && setState({ data, loading: false }),
      (e: unknown) =>
        id === latest.current &&
        setState((s) => ({
          data: s.data,
          error: e instanceof ApiError ? e : new ApiError(0, "NetworkError", (e as Error).message),
          loading: false,
        })),
    );
    // `key` stands for path and query: an equal query in a new object does not re-fetch.
  }, [key, tick]);
  useEffect(() => {
    if (!opts.refreshMs || path === null) return;
    const t = setInterval(() => setTick((n) => n + 1), opts.refreshMs);
    return () => clearInterval(t);
  }, [opts.refreshMs, path]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
