import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { repoRoot } from "./harness.js";

/**
 * A real browser for the console's tests: Debian's Chromium (installed by
 * scripts/test-prereqs.sh) driven by playwright-core. Nothing is downloaded: Playwright's own
 * browser builds are never installed (this network refuses them; ../shared/tools/browser).
 */

export const chromiumPath = process.env.DRYDOCK_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go (git-ignored). */
export const screenshotDir = join(repoRoot, "test-results", "console");

/**
 * Flags Chromium needs on this closed network: without the background-networking ones it
 * tries Google's hosts at every start and the refused connections pile up. No sandbox: the
 * tests run as root. Playwright gives each launch a new empty profile directory itself (it
 * refuses a --user-data-dir argument), so nothing carries over between runs.
 */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Why the browser tests cannot run here, or null when they can. */
export function missingChromium(): string | null {
  return existsSync(chromiumPath)
    ? null
    : `${chromiumPath} not found: run scripts/test-prereqs.sh (Debian chromium)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    timeout: 60_000,
  });
}

/** What went wrong in a page that nobody asked for: console errors, uncaught exceptions, failed requests. */
export interface Problem {
  kind: "console" | "pageerror" | "requestfailed" | "http";
  text: string;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Problems seen so far and not expected. */
  problems: Problem[];
  /**
   * Runs `fn` with problems matching `pattern` allowed (e.g. the 401 of a refused sign-in,
   * which Chromium also logs as a console error); any other problem still counts.
   */
  expecting<T>(pattern: RegExp, fn: () => Promise<T>): Promise<T>;
  /** Throws when any unexpected problem was seen (then forgets them). */
  assertClean(where: string): void;
  /**
   * Resolves when no request has been in flight for `quietMs` (a client-side navigation's
   * fetches answered and rendered; Playwright's load states only cover full page loads).
   */
  settled(opts?: { quietMs?: number; timeoutMs?: number }): Promise<void>;
}

/**
 * A page in a new context (its own cookies) that records every console error, uncaught
 * exception, failed request and HTTP error answer, so that a test can fail on them: a console
 * that shows the right text while throwing in the background is still broken.
 */
export async function watchedPage(
  browser: Browser,
  opts: { baseURL: string; colorScheme?: "light" | "dark" },
): Promise<WatchedPage> {
  const context = await browser.newContext({
    baseURL: opts.baseURL,
    viewport: { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? "light",
    reducedMotion: "reduce",
  });
  // fail fast: a view that has not shown in 15 s will not (Playwright's default is 30 s per step)
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: Problem[] = [];
  const allowed: RegExp[] = [];
  const record = (p: Problem) => {
    if (!allowed.some((re) => re.test(p.text))) problems.push(p);
  };
  page.on("console", (m) => {
    if (m.type() === "error") record({ kind: "console", text: `${m.text()} (${m.location().url})` });
  });
  page.on("pageerror", (e) => record({ kind: "pageerror", text: e.stack ?? e.message }));
  let inFlight = 0;
  let lastChange = Date.now();
  const done = () => {
    inFlight = Math.max(0, inFlight - 1);
    lastChange = Date.now();
  };
  page.on("request", () => {
    inFlight++;
    lastChange = Date.now();
  });
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  page.on("requestfailed", (r) => {
    // a navigation away aborts what the previous view was still loading: not a failure
    const why = r.failure()?.errorText ?? "";
    if (why === "net::ERR_ABORTED") return;
    record({ kind: "requestfailed", text: `${r.method()} ${r.url()}: ${why}` });
  });
  page.on("response", (r) => {
    if (r.status() >= 400)
      record({ kind: "http", text: `${r.request().method()} ${r.url()}: ${r.status()}` });
  });
  return {
    page,
    context,
    problems,
    async expecting(pattern, fn) {
      allowed.push(pattern);
      try {
        return await fn();
      } finally {
        // late console lines of the same failure arrive after the response
        await page.waitForTimeout(50);
        allowed.splice(allowed.indexOf(pattern), 1);
      }
    },
    async settled({ quietMs = 150, timeoutMs = 15_000 } = {}) {
      const end = Date.now() + timeoutMs;
      while (inFlight > 0 || Date.now() - lastChange < quietMs) {
        if (Date.now() > end) throw new Error(`requests still in flight after ${timeoutMs} ms`);
        await page.waitForTimeout(50);
      }
    },
    assertClean(where) {
      if (problems.length === 0) return;
      const list = problems.splice(0).map((p) => `  ${p.kind}: ${p.text}`);
      throw new Error(`${where}: the page reported problems:\n${list.join("\n")}`);
    },
  };
}

/** A 1280x800 screenshot at test-results/console/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: false, animations: "disabled" });
  return path;
}

/** The serious and critical axe-core violations of the page as it is now (WCAG 2.x A and AA rules and axe's best practices). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} element(s): ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join(", ")})`,
    );
}

/** Throws listing every serious or critical axe-core violation of the page. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  const v = await seriousViolations(page);
  if (v.length) throw new Error(`${where}: axe-core found serious violations:\n  ${v.join("\n  ")}`);
}
