import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * Serves the built console (web/, built by `npm run build` into web/dist) under /console/.
 * Paths under /console that name no file answer index.html, so that every view's URL
 * (/console/repositories/team/app) can be pasted and opened; the page routes itself.
 * Hashed assets (/console/assets/*) are cached for a year; index.html is revalidated.
 */

/** web/dist beside the package: the same from src/ (tests) and dist/ (the built server). */
export const CONSOLE_ROOT = resolve(fileURLToPath(new URL("../../../web/dist", import.meta.url)));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The pages' Content-Security-Policy: scripts only from this origin (no inline scripts), inline
 * styles allowed (the charting library sets style attributes), no framing.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

export function registerConsoleStatic(app: FastifyInstance, root = CONSOLE_ROOT): void {
  const index = join(root, "index.html");
  app.get("/", async (_req, reply) => reply.redirect("/console/", 302));
  app.get("/console", async (_req, reply) => reply.redirect("/console/", 301));
  app.get("/console/*", async (req, reply) => {
    (req as { routeKind?: string }).routeKind = "console";
    const rest = (req.params as { "*": string })["*"] ?? "";
    reply.header("X-Content-Type-Options", "nosniff").header("Referrer-Policy", "same-origin");
    if (!existsSync(index))
      return reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send("The console is not built: run `npm run build` (or `npm start`, which builds it).\n");
    const file = safeJoin(root, decodeURIComponentSafe(rest));
    if (file && rest !== "" && isFile(file)) {
      const immutable = rest.startsWith("assets/");
      return sendFile(reply, file, immutable ? "public, max-age=31536000, immutable" : "no-cache");
    }
    // An asset that does not exist is a 404, not the page (a stale tab asking for an old bundle).
    if (rest.startsWith("assets/") || extname(rest) !== "") return reply.code(404).send();
    return sendFile(reply.header("Content-Security-Policy", CSP), index, "no-cache");
  });
}

function sendFile(reply: FastifyReply, file: string, cacheControl: string) {
  return reply
    .type(TYPES[extname(file)] ?? "application/octet-stream")
    .header("Cache-Control", cacheControl)
    .send(createReadStream(file));
}

/** `root/rel` when it stays inside root, else null (no `..` escapes). */
function safeJoin(root: string, rel: string | null): string | null {
  if (rel === null || rel.includes("\0")) return null;
  const p = normalize(join(root, rel));
  return p === root || p.startsWith(root + sep) ? p : null;
}

function decodeURIComponentSafe(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
