import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  assertAccessible,
  launchChromium,
  missingChromium,
  screenshot,
  watchedPage,
  type WatchedPage,
} from "./browser.js";
import {
  importVulnDb,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * The console in a real browser (issue 14's proof): Debian's Chromium driven by playwright-core
 * against a real `drydock serve` with users configured, a vulnerability database imported from
 * ../shared/vulndata (Debian, Go, KEV, EPSS; NVD's extract has none of this image's CVEs, so it
 * is left out) and a real image pushed with skopeo.
 *
 * An administrator signs in (a wrong password first), watches the pushed image's scan appear in
 * the repository's images, opens its details, follows a vulnerability to its page and its
 * affected images, creates a suppression rule and sees the finding change state, changes the
 * scanning configuration through its preview, and opens the dashboard; a restricted user does
 * not see another team's repository. Every page is checked for console errors, failed
 * requests and serious or critical axe-core violations, and photographed into
 * test-results/console/ (docs/console.md shows some of them). Keyboard navigation and both
 * themes are exercised.
 */

const skip = missingShared() ?? missingChromium();
if (skip) console.warn(`console browser tests skipped: ${skip}`);

const ADMIN = { username: "admin", password: "admin-console-password" };
const ALICE = { username: "alice", password: "alice-console-password" };
/** alice may pull team/* only. */
const TEAM_REPO = "team/java-app";
const OTHER_REPO = "other/secret";
const IMAGE = "java-app";

/**
 * A vulnerability of java-app's Go binary that the Go feed knows: GO-2023-1988 in
 * golang.org/x/net v0.7.0 (fixed in 0.13.0), reported under its CVE (test/e2e/scan.test.ts).
 */
const VULN_ID = "CVE-2023-3978";

/** The 401 of GET /api/console/session before sign-in (Chromium logs it as a console error too). */
const NOT_SIGNED_IN = /\/api\/console\/session/;

describe.skipIf(skip !== null)("the console in Chromium", () => {
  let work: string;
  let dd: Drydock;
  let browser: Browser;
  let admin: WatchedPage;
  let page: Page;
  const digest = manifestDigestOfLayout(ociLayout(IMAGE));
  let detailsUrl = "";

  /**
   * A settled view: no request in flight, nothing reported; then its screenshot and (once per
   * kind of page: axe takes seconds) its axe-core check.
   */
  async function check(w: WatchedPage, name: string, opts: { axe?: boolean } = {}): Promise<void> {
    await w.settled();
    await w.page
      .locator('[aria-busy="true"], .loading')
      .first()
      .waitFor({ state: "detached", timeout: 15_000 });
    w.assertClean(name);
    await screenshot(w.page, name);
    if (opts.axe !== false) await assertAccessible(w.page, name);
    w.assertClean(name);
  }

  async function signIn(w: WatchedPage, who: { username: string; password: string }): Promise<void> {
    await w.expecting(NOT_SIGNED_IN, async () => {
      await w.page.goto("/console/");
      await w.page.getByRole("heading", { name: "Sign in to Drydock" }).waitFor();
    });
    await w.page.getByLabel("Username").fill(who.username);
    await w.page.getByLabel("Password").fill(who.password);
    await w.page.getByRole("button", { name: "Sign in" }).click();
    await w.page.getByRole("navigation", { name: "Main" }).waitFor();
  }

  /** Reloads until `locator` shows (a view that does not refresh itself while a scan runs). */
  async function reloadUntil(w: WatchedPage, locator: Locator, ms = 90_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (await locator.first().isVisible()) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${locator}:\n${dd.logs().slice(-3000)}`);
      await w.page.waitForTimeout(500);
      await w.page.reload();
      await w.settled();
    }
  }

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, "web/dist/index.html")))
      throw new Error("web/dist missing: run `npm run build` first (it builds the console)");
    work = await mkdtemp(join(tmpdir(), "drydock-console-e2e-"));
    const dataDir = join(work, "data");
    const vulndata = join(sharedDir, "vulndata");
    await importVulnDb(
      dataDir,
      join(vulndata, "distro/debian"),
      join(vulndata, "osv/Go"),
      join(vulndata, "enrichment/kev"),
      join(vulndata, "enrichment/epss"),
    );
    dd = await startDrydock({
      dataDir,
      config: {
        auth: {
          users: [
            {
              username: ADMIN.username,
              passwordHash: bcrypt.hashSync(ADMIN.password, 4),
              access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
            },
            {
              username: ALICE.username,
              passwordHash: bcrypt.hashSync(ALICE.password, 4),
              access: [{ repository: "team/*", actions: ["pull"] }],
            },
          ],
        },
      },
    });
    browser = await launchChromium();
    admin = await watchedPage(browser, { baseURL: dd.url });
    page = admin.page;
  }, 120_000);

  // what the page showed when a step failed (test-results/console/failed-*.png)
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && page)
      await screenshot(page, `failed-${ctx.task.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(
        () => undefined,
      );
  });

  afterAll(async () => {
    await browser?.close();
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("refuses a wrong password, then signs the administrator in", async () => {
    await admin.expecting(NOT_SIGNED_IN, async () => {
      await page.goto("/console/");
      await page.getByRole("heading", { name: "Sign in to Drydock" }).waitFor();
    });
    await check(admin, "sign-in");
    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill("not-the-password");
    await admin.expecting(NOT_SIGNED_IN, async () => {
      await page.getByRole("button", { name: "Sign in" }).click();
      await expectText(page.getByRole("alert"), /wrong username or password/);
    });
    await screenshot(page, "sign-in-refused");
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(await page.locator("header").textContent()).toContain(ADMIN.username);
    await check(admin, "repositories-empty", { axe: false });
  });

  it("pushes an image with skopeo and watches its scan appear in the repository's images", async () => {
    // the administrator turns on ENHANCED scanning on push of every repository (java-app's Go modules)
    await nav(page, "Scanning");
    await page.getByRole("radio", { name: /^Enhanced/ }).check();
    await page.getByRole("button", { name: "Add rule" }).click();
    const rule = page.getByTestId("rule-0");
    await rule.getByLabel("Frequency").selectOption("SCAN_ON_PUSH");
    await rule.getByLabel("Repository filter 1").fill("*");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("status").waitFor();
    admin.assertClean("scanning configured");
    for (const repo of [TEAM_REPO, OTHER_REPO]) {
      const r = await skopeo([
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        `${ADMIN.username}:${ADMIN.password}`,
        `oci:${ociLayout(IMAGE)}`,
        `docker://${dd.addr}/${repo}:v1`,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    await nav(page, "Repositories");
    await page.getByRole("link", { name: TEAM_REPO }).click();
    await page.waitForURL(`**/console/repositories/${TEAM_REPO}`);
    // the scan finishes: its status and its findings by severity replace the pending status
    const images = page.getByRole("table", { name: `Images of ${TEAM_REPO}` });
    await reloadUntil(admin, images.getByText("Complete", { exact: true }));
    // the Vulnerabilities column: the counts by severity (badges named "3 High, 12 Medium, ...")
    const counts = images
      .getByRole("row")
      .filter({ hasText: "v1" })
      .getByLabel(/^\d+ (Critical|High|Medium|Low|Informational|Untriaged)\b/);
    await counts.waitFor();
    await check(admin, "images");
  });

  it("opens the image's details, its layers, and follows a vulnerability to its affected images", async () => {
    await page.getByRole("link", { name: "Details of v1" }).click();
    await page.waitForURL(`**/images/${digest}**`);
    detailsUrl = page.url();
    const findings = page.getByRole("table", { name: "Findings" });
    await findings.getByRole("link", { name: VULN_ID }).first().waitFor();
    await check(admin, "image-details");
    await page.getByRole("tab", { name: /layers/i }).click();
    await page.getByTestId("layers").waitFor();
    await check(admin, "image-layers");
    await page.goBack();
    // every finding of the vulnerability in this image is open
    const rows = findingRows(page, VULN_ID);
    await rows.first().waitFor();
    for (const row of await rows.all()) expect(await row.textContent()).toContain("ACTIVE");
    await rows.first().getByRole("link", { name: VULN_ID }).click();
    await page.waitForURL(`**/console/vulnerabilities/${VULN_ID}**`);
    await page.getByRole("heading", { level: 1, name: new RegExp(VULN_ID) }).waitFor();
    // its affected images: java-app in both repositories, open
    const affected = page.getByRole("table", { name: `Images affected by ${VULN_ID}` });
    await expectText(affectedRow(page, TEAM_REPO), /ACTIVE/);
    await expectText(affectedRow(page, OTHER_REPO), /ACTIVE/);
    expect(await affected.getByRole("link", { name: TEAM_REPO, exact: true }).count()).toBe(1);
    await check(admin, "vulnerability");
  });

  it("creates a suppression rule and sees the finding change state", async () => {
    await nav(page, "Suppression");
    await page.waitForURL("**/console/settings/suppression");
    await check(admin, "suppression", { axe: false });
    await page.getByRole("button", { name: "New exception" }).click();
    const form = page.getByRole("dialog");
    await form.getByLabel("Name").fill("accept-in-team-java-app");
    await form.getByLabel("Reason").fill("Not reachable: the Go binary is a test fixture");
    await form.getByLabel("Owner").fill("security@example.com");
    await form.getByLabel("Expires").fill(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
    await form.getByLabel("Vulnerability").fill(VULN_ID);
    await form.getByLabel("Repositories").fill(TEAM_REPO);
    await check(admin, "suppression-new");
    await form.getByRole("button", { name: "Create" }).click();
    await page.getByRole("status").waitFor();
    await page
      .getByRole("table", { name: "Suppression rules and exceptions" })
      .getByText("accept-in-team-java-app")
      .waitFor();
    await check(admin, "suppression-created");
    await page.goto(detailsUrl);
    const rows = findingRows(page, VULN_ID);
    await rows.first().waitFor();
    for (const row of await rows.all()) expect(await row.textContent()).toContain("SUPPRESSED");
    await check(admin, "image-details-suppressed", { axe: false });
    // only team/java-app's: the same vulnerability in other/secret stays open
    await page.getByRole("table", { name: "Findings" }).getByRole("link", { name: VULN_ID }).first().click();
    await page.waitForURL(`**/console/vulnerabilities/${VULN_ID}**`);
    await expectText(affectedRow(page, TEAM_REPO), /SUPPRESSED/);
    await expectText(affectedRow(page, OTHER_REPO), /ACTIVE/);
    await check(admin, "vulnerability-suppressed", { axe: false });
  });

  it("changes the scanning configuration and sees its preview", async () => {
    await nav(page, "Scanning");
    await page.waitForURL("**/console/settings/scanning");
    await page.getByRole("radio", { name: /^Enhanced/ }).waitFor();
    await check(admin, "scanning", { axe: false });
    await page.getByRole("button", { name: "Add rule" }).click();
    const rule = page.getByTestId("rule-1");
    await rule.getByLabel("Frequency").selectOption("CONTINUOUS_SCAN");
    await rule.getByLabel("Repository filter 1").fill("team/*");
    // the preview follows the draft: team/* matches one repository, continuous wins over scan on push
    await expectText(page.getByTestId("preview-rule-1-count"), /^1$/);
    const preview = page.getByRole("table", { name: "Repositories the selection matches" });
    await expectText(preview.getByRole("row").filter({ hasText: TEAM_REPO }), /Continuous scanning/);
    await expectText(preview.getByRole("row").filter({ hasText: OTHER_REPO }), /Scan on push/);
    await check(admin, "scanning-preview");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("status").waitFor();
    await page.reload();
    await expect
      .poll(() => page.getByTestId("rule-1-filter-0").inputValue(), { timeout: 10_000 })
      .toBe("team/*");
    admin.assertClean("scanning saved");
  });

  it("opens the dashboard and the other pages", async () => {
    await nav(page, "Dashboard");
    await page.waitForURL("**/console/dashboard");
    await page.getByRole("heading", { level: 1 }).waitFor();
    // the two pushed images are covered, and their open findings counted (one suppressed since)
    await expectText(page.getByRole("main"), /Open now\s*\d+ [A-Z][\s\S]*Coverage\s*2\s*Scanned/);
    await check(admin, "dashboard");
    for (const [link, name] of [
      ["Vulnerabilities", "vulnerabilities"],
      ["Events", "events"],
      ["Reports", "reports"],
    ] as const) {
      await nav(page, link);
      await page.getByRole("heading", { level: 1 }).waitFor();
      await check(admin, name);
    }
  });

  it("reaches the navigation and the table's links with Tab; Enter follows", async () => {
    await page.goto("/console/repositories");
    await page.getByRole("link", { name: TEAM_REPO }).waitFor();
    // the skip link first, then the brand, then the navigation
    await page.keyboard.press("Tab");
    expect(await focusedText(page)).toMatch(/skip to content/i);
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      const t = await focusedText(page);
      seen.push(t);
      if (t === TEAM_REPO) break;
    }
    expect(seen).toContain("Repositories");
    expect(seen).toContain("Dashboard");
    expect(seen.at(-1), `focus went through ${JSON.stringify(seen)}`).toBe(TEAM_REPO);
    await page.keyboard.press("Enter");
    await page.waitForURL(`**/console/repositories/${TEAM_REPO}`);
    admin.assertClean("keyboard");
  });

  it("renders the dark and the light theme", async () => {
    await page.goto("/console/repositories");
    await page.getByRole("link", { name: TEAM_REPO }).waitFor();
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await theme()).toBe("light");
    const light = await background();
    await page.getByRole("button", { name: /switch to the dark theme/i }).click();
    expect(await theme()).toBe("dark");
    expect(await background()).not.toBe(light);
    await check(admin, "repositories-dark");
    await page.reload(); // remembered
    await page.getByRole("link", { name: TEAM_REPO }).waitFor();
    expect(await theme()).toBe("dark");
    await page.getByRole("button", { name: /switch to the light theme/i }).click();
    expect(await theme()).toBe("light");
    expect(await background()).toBe(light);
    await check(admin, "repositories");
  });

  it("shows a restricted user only the repositories they may pull, and no way to change settings", async () => {
    const alice = await watchedPage(browser, { baseURL: dd.url });
    try {
      await signIn(alice, ALICE);
      await alice.page.getByRole("link", { name: TEAM_REPO }).waitFor();
      expect(await alice.page.getByRole("link", { name: OTHER_REPO }).count()).toBe(0);
      await check(alice, "repositories-restricted", { axe: false });
      // not even by its address
      await alice.expecting(/other\/secret|404/, async () => {
        await alice.page.goto(`/console/repositories/${OTHER_REPO}`);
        await expectText(alice.page.getByRole("main"), /not found|does not exist|no repository/i);
      });
      // nor among a vulnerability's affected images
      await alice.page.goto(`/console/vulnerabilities/${VULN_ID}`);
      await affectedRow(alice.page, TEAM_REPO).waitFor();
      expect(await affectedRow(alice.page, OTHER_REPO).count()).toBe(0);
      await check(alice, "vulnerability-restricted", { axe: false });
      // and the scanning configuration is read-only: changing it needs admin
      await nav(alice.page, "Scanning");
      await expectText(alice.page.getByRole("main"), /Only administrators change the scanning configuration/);
      expect(await alice.page.getByRole("button", { name: "Save", exact: true }).count()).toBe(0);
      alice.assertClean("scanning read-only");
    } finally {
      await alice.context.close();
    }
  });
});

/** The main navigation's link to a view. */
async function nav(p: Page, name: string): Promise<void> {
  await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
}

/** The row of a repository in a vulnerability's affected images. */
function affectedRow(p: Page, repository: string): Locator {
  return p
    .getByRole("table", { name: /^Images affected by/ })
    .getByRole("row")
    .filter({ has: p.getByRole("link", { name: repository, exact: true }) });
}

/** The rows of the findings table of a vulnerability. */
function findingRows(p: Page, id: string): Locator {
  return p
    .getByRole("table", { name: "Findings" })
    .getByRole("row")
    .filter({ has: p.getByRole("link", { name: id, exact: true }) });
}

async function focusedText(p: Page): Promise<string> {
  return p.evaluate(() => (document.activeElement?.textContent ?? "").trim());
}

/** Waits until the locator's text matches (the view renders after its request answers). */
async function expectText(l: Locator, re: RegExp, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const t =
      (await l
        .first()
        .textContent()
        .catch(() => "")) ?? "";
    if (re.test(t)) return;
    if (Date.now() > end) throw new Error(`${re} never matched ${l}: ${JSON.stringify(t.slice(0, 500))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
