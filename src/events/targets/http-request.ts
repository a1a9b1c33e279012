import * as http from "node:http";
import * as https from "node:https";

/**
 * One HTTP exchange for the HTTP targets and the OAuth token endpoint: keep-alive agents, a
 * timeout covering connect, request and response, abort on a signal, no redirects followed,
 * the response body read (so the socket can be reused) but kept only up to a bound.
 */

export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

let shared: HttpAgents | undefined;

/**
 * The process's agents for deliveries: keep-alive (a delivery to a local receiver is mostly
 * the connection setup otherwise), LIFO so idle sockets age out, and enough sockets per origin
 * for `events.concurrency` (64 by default) with room to spare.
 */
export function sharedAgents(): HttpAgents {
  shared ??= {
    http: new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: "lifo" }),
    https: new https.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: "lifo" }),
  };
  return shared;
}

/** Closes the shared agents' sockets (shutdown, tests). */
export function closeSharedAgents(): void {
  shared?.http.destroy();
  shared?.https.destroy();
  shared = undefined;
}

export interface HttpExchange {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
  agents: HttpAgents;
  /** Response bytes kept in `body` (the rest is read and dropped, up to `maxReadBytes`). */
  keepBytes: number;
  /** Past this many response bytes the socket is closed rather than drained. */
  maxReadBytes?: number;
}

export type HttpOutcome =
  | { kind: "response"; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  | {
      kind: "error";
      /** TIMEOUT | ABORTED | CONNECTION_FAILURE | INVALID_PARAMETER */
      code: "TIMEOUT" | "ABORTED" | "CONNECTION_FAILURE" | "INVALID_PARAMETER";
      /** A description without the URL's query or any header value (secrets live there). */
      message: string;
    };

const DEFAULT_MAX_READ = 1024 * 1024;

/** Errors of the transport (the receiver may come back): every one is worth another attempt. */
function transportMessage(err: NodeJS.ErrnoException): string {
  // Node's messages name the address and port ("connect ECONNREFUSED 127.0.0.1:9"), never
  // headers or the query; keep them, but bounded.
  return (err.code ? `${err.code}: ` : "") + String(err.message).slice(0, 200);
}

/** Runs one exchange; never throws. */
export function httpExchange(x: HttpExchange): Promise<HttpOutcome> {
  return new Promise<HttpOutcome>((resolve) => {
    if (x.signal.aborted) {
      resolve({ kind: "error", code: "ABORTED", message: "delivery aborted before sending" });
      return;
    }
    const maxRead = x.maxReadBytes ?? DEFAULT_MAX_READ;
    let done = false;
    let req: http.ClientRequest | undefined;
    let gotResponse: Extract<HttpOutcome, { kind: "response" }> | undefined;
    const finish = (o: HttpOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      x.signal.removeEventListener("abort", onAbort);
      resolve(o);
    };
    const fail = (code: "TIMEOUT" | "ABORTED", message: string): void => {
      // Once the status line is in, the answer stands even if reading its body is cut short.
      if (gotResponse) finish(gotResponse);
      else finish({ kind: "error", code, message });
      req?.destroy();
    };
    const onAbort = (): void => fail("ABORTED", "delivery aborted");
    const timer = setTimeout(() => fail("TIMEOUT", `no answer within ${x.timeoutMs} ms`), x.timeoutMs);
    x.signal.addEventListener("abort", onAbort, { once: true });

    const send = (resendOnReset: boolean): void => {
      const isHttps = x.url.protocol === "https:";
      try {
        req = (isHttps ? https : http).request(x.url, {
          method: x.method,
          headers:
            x.body === undefined
              ? x.headers
              : { ...x.headers, "content-length": String(Buffer.byteLength(x.body)) },
          agent: isHttps ? x.agents.https : x.agents.http,
        });
      } catch (e) {
        // Invalid header names or values (CR/LF, non-Latin-1) are refused synchronously; the
        // message names the header, never its value.
        finish({
          kind: "error",
          code: "INVALID_PARAMETER",
          message: String((e as Error).message).slice(0, 200),
        });
        return;
      }
      const r = req;
      r.on("error", (err: NodeJS.ErrnoException) => {
        if (done) return;
        // A kept-alive socket the server closed just as we reused it: the request never got
        // an answer; Node's documented remedy is to send it again on a fresh socket once.
        if (
          resendOnReset &&
          r.reusedSocket &&
          !gotResponse &&
          (err.code === "ECONNRESET" || err.code === "EPIPE")
        ) {
          send(false);
          return;
        }
        if (gotResponse) finish(gotResponse);
        else finish({ kind: "error", code: "CONNECTION_FAILURE", message: transportMessage(err) });
      });
      r.on("response", (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let read = 0;
        gotResponse = {
          kind: "response",
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.alloc(0),
        };
        res.on("data", (c: Buffer) => {
          read += c.length;
          if (kept < x.keepBytes) {
            const part = c.subarray(0, x.keepBytes - kept);
            chunks.push(part);
            kept += part.length;
            gotResponse!.body = Buffer.concat(chunks);
          }
          if (read > maxRead) {
            // Too much to drain: give up the socket instead.
            finish(gotResponse!);
            res.destroy();
          }
        });
        res.on("end", () => finish(gotResponse!));
        res.on("error", () => finish(gotResponse!));
        res.on("aborted", () => finish(gotResponse!));
      });
      r.end(x.body);
    };
    send(true);
  });
}

/**
 * `Retry-After` in ms from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^[0-9]+$/.test(v)) {
    const s = Number(v);
    return Number.isSafeInteger(s) ? Math.min(s, 10 * 365 * 86_400) * 1000 : undefined;
  }
  // IMF-fixdate and the obsolete forms: Date.parse reads them all; anything with digits only
  // or no weekday/month names is refused above or gives NaN here.
  if (!/^[A-Za-z]{3},? /.test(v) && !/^[A-Za-z]+day, /.test(v)) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) return undefined;
  return Math.max(0, t - now);
}
