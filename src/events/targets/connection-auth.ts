import type { StoredConnection } from "../../storage/meta/bus-store.js";

/**
 * The parts of a connection's `AuthParameters` (EventBridge's CreateConnection shape, stored as
 * given) that a delivery uses, read defensively: the record came from an API request.
 */

export interface HttpParam {
  key: string;
  value: string;
  secret: boolean;
}

export interface ConnectionHttpParams {
  headers: HttpParam[];
  query: HttpParam[];
  body: HttpParam[];
}

export interface OAuthParams {
  endpoint: string;
  method: string;
  clientId: string;
  clientSecret: string;
  http: ConnectionHttpParams;
}

export type ConnectionAuth =
  | { type: "API_KEY"; name: string; value: string }
  | { type: "BASIC"; username: string; password: string }
  | { type: "OAUTH_CLIENT_CREDENTIALS"; oauth: OAuthParams };

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function params(v: unknown): HttpParam[] {
  if (!Array.isArray(v)) return [];
  return v
    .map(obj)
    .filter((p) => typeof p.Key === "string" && p.Key !== "")
    .map((p) => ({
      key: p.Key as string,
      value: typeof p.Value === "string" ? p.Value : String(p.Value ?? ""),
      secret: p.IsValueSecret === true,
    }));
}

export function httpParams(v: unknown): ConnectionHttpParams {
  const o = obj(v);
  return {
    headers: params(o.HeaderParameters),
    query: params(o.QueryStringParameters),
    body: params(o.BodyParameters),
  };
}

/** The connection's auth, or a reason it cannot be used (never naming a secret). */
export function connectionAuth(conn: StoredConnection): ConnectionAuth | { error: string } {
  const a = obj(conn.authParameters);
  switch (conn.authorizationType) {
    case "API_KEY": {
      const p = obj(a.ApiKeyAuthParameters);
      if (!str(p.ApiKeyName)) return { error: `connection ${conn.name} has no ApiKeyName` };
      return { type: "API_KEY", name: str(p.ApiKeyName), value: str(p.ApiKeyValue) };
    }
    case "BASIC": {
      const p = obj(a.BasicAuthParameters);
      return { type: "BASIC", username: str(p.Username), password: str(p.Password) };
    }
    case "OAUTH_CLIENT_CREDENTIALS": {
      const p = obj(a.OAuthParameters);
      const client = obj(p.ClientParameters);
      if (!str(p.AuthorizationEndpoint))
        return { error: `connection ${conn.name} has no AuthorizationEndpoint` };
      return {
        type: "OAUTH_CLIENT_CREDENTIALS",
        oauth: {
          endpoint: str(p.AuthorizationEndpoint),
          method: (str(p.HttpMethod) || "POST").toUpperCase(),
          clientId: str(client.ClientID),
          clientSecret: str(client.ClientSecret),
          http: httpParams(p.OAuthHttpParameters),
        },
      };
    }
    default:
      return { error: `connection ${conn.name} has an unknown authorization type` };
  }
}

/** The connection's InvocationHttpParameters: added to every request (values win over the target's). */
export function invocationParams(conn: StoredConnection): ConnectionHttpParams {
  return httpParams(obj(conn.authParameters).InvocationHttpParameters);
}

/** Every secret value of the connection, to scrub from texts a receiver sends back. */
export function connectionSecrets(conn: StoredConnection): string[] {
  const out: string[] = [];
  const auth = connectionAuth(conn);
  if ("type" in auth) {
    if (auth.type === "API_KEY") out.push(auth.value);
    if (auth.type === "BASIC")
      out.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString("base64"));
    if (auth.type === "OAUTH_CLIENT_CREDENTIALS") {
      out.push(auth.oauth.clientSecret);
      for (const p of [...auth.oauth.http.headers, ...auth.oauth.http.query, ...auth.oauth.http.body]) {
        if (p.secret) out.push(p.value);
      }
    }
  }
  const inv = invocationParams(conn);
  for (const p of [...inv.headers, ...inv.query, ...inv.body]) if (p.secret) out.push(p.value);
  out.push(conn.signingSecret);
  if (conn.previousSigningSecret) out.push(conn.previousSigningSecret);
  // Short values would scrub ordinary words; a secret that short protects nothing anyway.
  return out.filter((s) => s.length >= 4);
}

/** `text` with every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of secrets) if (t.includes(s)) t = t.split(s).join("***");
  return t;
}
