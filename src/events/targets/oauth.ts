import type { StoredConnection } from "../../storage/meta/bus-store.js";
import type { SendResult } from "./types.js";
import type { OAuthParams } from "./connection-auth.js";
import { httpExchange, parseRetryAfter, sharedAgents, type HttpAgents } from "./http-request.js";

/**
 * OAuth client-credentials tokens for API destinations' connections, one per connection per
 * process, as EventBridge manages them: fetched from the connection's AuthorizationEndpoint on
 * first use, reused until a minute before `expires_in` runs out, and dropped when the receiver
 * answers 401 or 407 (the next attempt fetches a new one). Concurrent deliveries share one
 * token request. Tokens live in memory only; each process fetches its own.
 */

export type SendFailure = Extract<SendResult, { ok: false }>;

interface Entry {
  /** The connection record the token was fetched for: a change of it means a new token. */
  version: number;
  token: string;
  expiresAt: number;
}

export interface OAuthTokenCacheOptions {
  now?: () => number;
  /** Refresh this long before expiry (EventBridge: 60 s). */
  refreshBeforeMs?: number;
}

/** How the token request is sent (the API destination's own settings). */
export interface TokenRequestOptions {
  timeoutMs: number;
  userAgent: string;
  agents?: HttpAgents;
}

/** Without `expires_in` a token is kept this long (then fetched again). */
const DEFAULT_LIFETIME_MS = 3600_000;

export class OAuthTokenCache {
  private readonly tokens = new Map<string, Entry>();
  private readonly inflight = new Map<string, { version: number; p: Promise<Entry | SendFailure> }>();
  private readonly now: () => number;
  private readonly refreshBeforeMs: number;

  constructor(opts: OAuthTokenCacheOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.refreshBeforeMs = opts.refreshBeforeMs ?? 60_000;
  }

  /** A valid access token for the connection, or the failure to report for the attempt. */
  async token(
    conn: StoredConnection,
    oauth: OAuthParams,
    signal: AbortSignal,
    req: TokenRequestOptions,
  ): Promise<string | SendFailure> {
    const version = conn.updatedAt;
    const have = this.tokens.get(conn.name);
    if (have && have.version === version && have.expiresAt - this.refreshBeforeMs > this.now())
      return have.token;
    let run = this.inflight.get(conn.name);
    if (!run || run.version !== version) {
      const p = this.fetch(oauth, req).then((r) => {
        if (this.inflight.get(conn.name)?.p === p) this.inflight.delete(conn.name);
        if ("token" in r) this.tokens.set(conn.name, { ...r, version });
        return r;
      });
      run = { version, p };
      this.inflight.set(conn.name, run);
    }
    // The shared request runs on its own timeout; this caller may stop waiting earlier.
    const r = await untilAborted(run.p, signal);
    return "token" in r ? r.token : r;
  }

  /** The receiver refused this token (401/407): forget it unless a newer one replaced it. */
  invalidate(conn: StoredConnection, token: string): void {
    if (this.tokens.get(conn.name)?.token === token) this.tokens.delete(conn.name);
  }

  /** Forgets a connection's token (deleted or changed connection). */
  forget(name: string): void {
    this.tokens.delete(name);
  }

  private async fetch(o: OAuthParams, req: TokenRequestOptions): Promise<Entry | SendFailure> {
    let url: URL;
    try {
      url = new URL(o.endpoint);
      if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("not http");
    } catch {
      return fail(false, "INVALID_PARAMETER", "the connection's AuthorizationEndpoint is not an http(s) URL");
    }
    const where = `${url.origin}${url.pathname}`;
    const form = new URLSearchParams();
    if (!o.http.body.some((p) => p.key === "grant_type")) form.set("grant_type", "client_credentials");
    for (const p of o.http.body) form.set(p.key, p.value);
    for (const p of o.http.query) url.searchParams.set(p.key, p.value);
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": req.userAgent,
      // Client credentials in HTTP Basic (RFC 6749 §2.3.1, client_secret_basic), not
      // form-encoded first: most token endpoints split the plain "id:secret" at the colon.
      authorization: "Basic " + Buffer.from(`${o.clientId}:${o.clientSecret}`).toString("base64"),
    };
    for (const p of o.http.headers) headers[p.key.toLowerCase()] = p.value;
    let body: string | undefined;
    if (o.method === "GET") {
      for (const [k, v] of form) url.searchParams.set(k, v);
    } else {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = form.toString();
    }
    const res = await httpExchange({
      url,
      method: o.method,
      headers,
      body,
      timeoutMs: req.timeoutMs,
      signal: new AbortController().signal,
      agents: req.agents ?? sharedAgents(),
      keepBytes: 64 * 1024,
    });
    if (res.kind === "error") {
      return fail(
        res.code !== "INVALID_PARAMETER",
        res.code,
        `OAuth token request to ${where}: ${res.message}`,
      );
    }
    const s = res.status;
    if (s < 200 || s >= 300) {
      const retryable = s === 429 || s >= 500;
      const f = fail(retryable, `OAUTH_HTTP_${s}`, `OAuth token request to ${where} answered ${s}`, s);
      const after = parseRetryAfter(res.headers["retry-after"], this.now());
      return after === undefined ? f : { ...f, retryAfterMs: after };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString("utf8"));
    } catch {
      parsed = undefined;
    }
    const p = (parsed ?? {}) as Record<string, unknown>;
    if (typeof p.access_token !== "string" || p.access_token === "") {
      return fail(false, "OAUTH_INVALID_RESPONSE", `OAuth token response from ${where} has no access_token`);
    }
    const expiresIn = Number(p.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_LIFETIME_MS;
    return { version: 0, token: p.access_token, expiresAt: this.now() + lifetime };
  }
}

function fail(retryable: boolean, code: string, message: string, status?: number): SendFailure {
  return status === undefined
    ? { ok: false, retryable, code, message }
    : { ok: false, retryable, code, message, status };
}

/** `p`, or an ABORTED failure when `signal` aborts first (the listener is removed either way). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | SendFailure> {
  const r = fail(true, "ABORTED", "delivery aborted while fetching an OAuth token");
  if (signal.aborted) return Promise.resolve(r);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(r);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
