import type { StoredApiDestination, StoredConnection } from "../../storage/meta/bus-store.js";
import { signatureFor, signingKey } from "../webhook-signature.js";
import {
  connectionAuth,
  connectionSecrets,
  invocationParams,
  redact,
  type ConnectionAuth,
} from "./connection-auth.js";
import { httpExchange, parseRetryAfter, sharedAgents, type HttpAgents } from "./http-request.js";
import type { OAuthTokenCache, SendFailure } from "./oauth.js";
import type { DeliveryRequest, EventTarget, SendResult } from "./types.js";

/**
 * API destinations: one HTTP request per attempt to the destination's endpoint, with the
 * connection's authorization, the rule target's HttpParameters merged with the connection's
 * InvocationHttpParameters (the connection's values win, as EventBridge), and Drydock's Standard
 * Webhooks signature. Classified as the EventBridge guide says: 2xx delivered; 401, 407, 409,
 * 429, 5xx, timeouts and connection failures retried; everything else (other 4xx, and 3xx:
 * redirects are not followed, a moved endpoint is a configuration error) not retried.
 */

export interface ApiDestinationOptions {
  /** Per attempt: connect, send, and the response's status line (EventBridge: 5 s). */
  timeoutMs: number;
  userAgent: string;
  oauth: OAuthTokenCache;
  now?: () => number;
  agents?: HttpAgents;
}

/** The previous signing secret still signs this long after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

/** Of a failed response's body, this much is quoted in the failure's message. */
const QUOTED_BODY_CHARS = 200;

/** Headers the request itself owns (or that would break it); never taken from parameters. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

export function apiDestinationTarget(
  dest: StoredApiDestination,
  conn: StoredConnection,
  target: Record<string, unknown>,
  opts: ApiDestinationOptions,
): EventTarget {
  const now = opts.now ?? Date.now;
  const prepared = prepare(dest, conn, target, opts.userAgent);
  if ("error" in prepared) {
    const failure: SendFailure = {
      ok: false,
      retryable: false,
      code: "INVALID_PARAMETER",
      message: prepared.error,
    };
    return { send: () => Promise.resolve(failure) };
  }
  const { url, method, headers, auth, mergeBody, secrets, currentKey, previousKey } = prepared;
  const where = `${method} ${url.origin}${url.pathname}`;
  const agents = opts.agents ?? sharedAgents();

  return {
    async send(req: DeliveryRequest, signal: AbortSignal): Promise<SendResult> {
      const h: Record<string, string> = { ...headers };
      let token: string | undefined;
      if (auth?.type === "OAUTH_CLIENT_CREDENTIALS") {
        const t = await opts.oauth.token(conn, auth.oauth, signal, {
          timeoutMs: opts.timeoutMs,
          userAgent: opts.userAgent,
          agents,
        });
        if (typeof t !== "string") return t;
        token = t;
        h.authorization = `Bearer ${t}`;
      }
      const body = method === "GET" || method === "HEAD" ? "" : mergeBody(req.body);
      const at = now();
      const ts = Math.floor(at / 1000);
      const sigs = [signatureFor(currentKey, req.deliveryId, ts, body)];
      if (previousKey && conn.rotatedAt !== null && at - conn.rotatedAt < ROTATION_OVERLAP_MS) {
        sigs.push(signatureFor(previousKey, req.deliveryId, ts, body));
      }
      h["webhook-id"] = req.deliveryId;
      h["webhook-timestamp"] = String(ts);
      h["webhook-signature"] = sigs.join(" ");

      const res = await httpExchange({
        url,
        method,
        headers: h,
        body: method === "GET" || method === "HEAD" ? undefined : body,
        timeoutMs: opts.timeoutMs,
        signal,
        agents,
        keepBytes: QUOTED_BODY_CHARS * 4,
      });
      if (res.kind === "error") {
        return {
          ok: false,
          retryable: res.code !== "INVALID_PARAMETER",
          code: res.code,
          message: `${where}: ${redact(res.message, secrets)}`,
        };
      }
      const status = res.status;
      if (status >= 200 && status < 300) return { ok: true, status };
      if (token !== undefined && (status === 401 || status === 407)) opts.oauth.invalidate(conn, token);
      const retryable = status === 401 || status === 407 || status === 409 || status === 429 || status >= 500;
      const quoted = quote(res.body, token === undefined ? secrets : [...secrets, token]);
      const failure: SendFailure = {
        ok: false,
        retryable,
        code: `HTTP_${status}`,
        status,
        message:
          `${where} answered ${status}` +
          (status >= 300 && status < 400 ? " (redirects are not followed)" : "") +
          (quoted ? `: ${quoted}` : ""),
      };
      const after = parseRetryAfter(res.headers["retry-after"], at);
      return after === undefined ? failure : { ...failure, retryAfterMs: after };
    },
  };
}

interface Prepared {
  url: URL;
  method: string;
  headers: Record<string, string>;
  auth: ConnectionAuth | undefined;
  mergeBody: (body: string) => string;
  secrets: string[];
  currentKey: Buffer;
  previousKey: Buffer | undefined;
}

/** Everything about the request that does not depend on the event, worked out once. */
function prepare(
  dest: StoredApiDestination,
  conn: StoredConnection,
  target: Record<string, unknown>,
  userAgent: string,
): Prepared | { error: string } {
  const http = record(target.HttpParameters);
  const pathValues = Array.isArray(http.PathParameterValues) ? http.PathParameterValues.map(String) : [];
  const wildcards = dest.endpoint.split("*").length - 1;
  if (pathValues.length < wildcards) {
    return {
      error: `API destination ${dest.name}'s endpoint has ${wildcards} path wildcards, the target gives ${pathValues.length} PathParameterValues`,
    };
  }
  let i = 0;
  // Each value is one path segment's worth, encoded so that it cannot add segments or a query.
  const endpoint = dest.endpoint.replace(/\*/g, () => encodeURIComponent(pathValues[i++]!));
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { error: `API destination ${dest.name}'s endpoint is not a URL` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { error: `API destination ${dest.name}'s endpoint is not http(s)` };
  }
  const method = dest.httpMethod.toUpperCase();
  const auth = connectionAuth(conn);
  if ("error" in auth) return { error: auth.error };
  const inv = invocationParams(conn);

  for (const [k, v] of Object.entries(record(http.QueryStringParameters))) url.searchParams.set(k, String(v));
  for (const p of inv.query) url.searchParams.set(p.key, p.value);

  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "user-agent": userAgent,
    accept: "*/*",
  };
  const put = (k: string, v: string): void => {
    const key = k.toLowerCase();
    if (!RESERVED_HEADERS.has(key)) headers[key] = v;
  };
  for (const [k, v] of Object.entries(record(http.HeaderParameters))) put(k, String(v));
  for (const p of inv.headers) put(p.key, p.value);
  if (auth.type === "API_KEY") put(auth.name, auth.value);
  if (auth.type === "BASIC") {
    headers.authorization = "Basic " + Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
  }

  const bodyParams = inv.body;
  const mergeBody =
    bodyParams.length === 0
      ? (b: string) => b
      : (b: string) => {
          // The connection's BodyParameters join a JSON-object body (its values win); other
          // bodies (a transformer's plain text, arrays) are sent as they are.
          let parsed: unknown;
          try {
            parsed = JSON.parse(b);
          } catch {
            return b;
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return b;
          const o = parsed as Record<string, unknown>;
          for (const p of bodyParams) o[p.key] = p.value;
          return JSON.stringify(o);
        };
  let currentKey: Buffer;
  let previousKey: Buffer | undefined;
  try {
    currentKey = signingKey(conn.signingSecret);
    previousKey = conn.previousSigningSecret ? signingKey(conn.previousSigningSecret) : undefined;
  } catch {
    return { error: `connection ${conn.name} has no usable signing secret` };
  }
  return { url, method, headers, auth, mergeBody, secrets: connectionSecrets(conn), currentKey, previousKey };
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The start of a receiver's answer for the failure message: one line, printable, no secrets. */
function quote(body: Buffer, secrets: readonly string[]): string {
  if (body.length === 0) return "";
  const text = redact(body.toString("utf8"), secrets)
    // eslint-disable-next-line no-control-regex -- control characters are what this removes
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  return text.length > QUOTED_BODY_CHARS ? `${text.slice(0, QUOTED_BODY_CHARS)}…` : text;
}
