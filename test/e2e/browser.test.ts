import { createServer, type Server } from "node:http";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { assertAccessible, launchChromium, missingChromium, screenshot, watchedPage } from "./browser.js";

/**
 * The browser helpers of the console's tests catch what they promise to catch: a console
 * error, an uncaught exception, a failed request, an HTTP error, a serious axe-core violation.
 * Served from a throwaway loopback server (no Drydock), so a helper that silently passes
 * everything fails here rather than letting the console tests pass for nothing.
 */

const skip = missingChromium();
if (skip) console.warn(`browser helper tests skipped: ${skip}`);

const PAGES: Record<string, string> = {
  "/good": `<!doctype html><html lang="en"><head><title>Good</title></head>
    <body><main><h1>Fine</h1><a href="/good">again</a></main></body></html>`,
  "/console-error": `<!doctype html><html lang="en"><head><title>E</title></head>
    <body><main><h1>x</h1></main><script>console.error("boom from the page")</script></body></html>`,
  "/throws": `<!doctype html><html lang="en"><head><title>T</title></head>
    <body><main><h1>x</h1></main><script>setTimeout(() => { throw new Error("uncaught in page") })</script></body></html>`,
  "/fetches-404": `<!doctype html><html lang="en"><head><title>F</title></head>
    <body><main><h1>x</h1></main><script>fetch("/missing")</script></body></html>`,
  "/fetches-refused": `<!doctype html><html lang="en"><head><title>R</title></head>
    <body><main><h1>x</h1></main><script>fetch("http://127.0.0.1:9/nothing").catch(() => {})</script></body></html>`,
  // an image without alt text and a button without a name: critical violations
  "/inaccessible": `<!doctype html><html lang="en"><head><title>A</title></head>
    <body><main><h1>x</h1><img src="/pixel"><button></button></main></body></html>`,
};

describe.skipIf(skip !== null)("browser helpers (Debian Chromium via playwright-core)", () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const html = PAGES[req.url ?? ""];
      if (html) res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
      else if (req.url === "/pixel" || req.url === "/favicon.ico") res.writeHead(204).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it("a clean, accessible page passes; its screenshot is written", async () => {
    const w = await watchedPage(browser, { baseURL: base });
    await w.page.goto("/good");
    expect(await w.page.getByRole("heading", { name: "Fine" }).textContent()).toBe("Fine");
    w.assertClean("good");
    await assertAccessible(w.page, "good");
    expect(existsSync(await screenshot(w.page, "browser-helper-good"))).toBe(true);
    await w.context.close();
  });

  it("console errors, uncaught exceptions, HTTP errors and refused requests are reported", async () => {
    const w = await watchedPage(browser, { baseURL: base });
    for (const [path, expected] of [
      ["/console-error", /console: boom from the page/],
      ["/throws", /pageerror: .*uncaught in page/],
      ["/fetches-404", /http: GET .*\/missing: 404/],
      ["/fetches-refused", /requestfailed: GET http:\/\/127\.0\.0\.1:9\/nothing/],
    ] as const) {
      await w.page.goto(path);
      await w.page.waitForTimeout(200);
      expect(() => w.assertClean(path)).toThrow(expected);
      // reported once, then forgotten
      expect(() => w.assertClean(path)).not.toThrow();
    }
    await w.context.close();
  });

  it("expecting() allows only the problems it names", async () => {
    const w = await watchedPage(browser, { baseURL: base });
    await w.expecting(/missing/, async () => {
      await w.page.goto("/fetches-404");
      await w.page.waitForTimeout(300);
    });
    expect(() => w.assertClean("allowed")).not.toThrow();
    await w.expecting(/missing/, async () => {
      await w.page.goto("/console-error");
      await w.page.waitForTimeout(300);
    });
    expect(() => w.assertClean("not allowed")).toThrow(/boom/);
    await w.context.close();
  });

  it("serious axe-core violations fail the check", async () => {
    const w = await watchedPage(browser, { baseURL: base });
    await w.page.goto("/inaccessible");
    await expect(assertAccessible(w.page, "inaccessible")).rejects.toThrow(
      /image-alt[\s\S]*button-name|button-name[\s\S]*image-alt/,
    );
    await w.context.close();
  });
});
