import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  HiddenFindings,
  SuppressionRuleView,
} from "../../../../src/api/console/contract/suppression.js";
import { mockApi } from "../scanning/fetch-testing.js";
import { SuppressionPage } from "./SuppressionPage.js";

/**
 * The suppression page against a stand-in API: the table of rules with the URL's filters, the
 * create form's body and the server's refusal shown, edit of an exception, expire and
 * (confirmed) delete calls, what a rule hides, and the administrators-only message.
 */

const ARN = "arn:aws:inspector2:eu-west-1:123456789012:owner/123456789012/filter/";
const rule = (name: string, id: string, over: Partial<SuppressionRuleView> = {}): SuppressionRuleView => ({
  arn: ARN + id,
  name,
  kind: "exception",
  reason: "not reachable",
  owner: "team@example.com",
  source: "console",
  expiresAt: Date.parse("2027-01-02T00:00:00Z"),
  expired: false,
  editable: true,
  criteria: {},
  createdAt: Date.parse("2026-01-01T00:00:00Z"),
  updatedAt: Date.parse("2026-01-01T00:00:00Z"),
  vulnerability: "CVE-2099-0001",
  repositories: ["team/**"],
  ...over,
});

let api: ReturnType<typeof mockApi>;
let rules: SuppressionRuleView[];
let forbidden = false;
beforeEach(() => {
  window.history.replaceState(null, "", "/console/settings/suppression");
  forbidden = false;
  rules = [
    rule("accept-0001", "aa01"),
    rule("plain", "bb02", {
      kind: "filter",
      editable: false,
      source: null,
      vulnerability: undefined,
      repositories: undefined,
    }),
  ];
  api = mockApi((r) => {
    const p = r.url.pathname;
    if (forbidden) return { status: 403, json: { error: { code: "Forbidden", message: "admin" } } };
    if (p === "/api/console/suppression" && r.method === "GET")
      return { json: { items: rules, total: rules.length, limit: 50, offset: 0 } };
    if (p === "/api/console/suppression" && r.method === "POST") {
      const b = r.body as { name: string; expires: string };
      if (b.expires === "soon")
        return {
          status: 400,
          json: {
            error: { code: "BadParameter", message: "expires: a day (2026-12-31) or an ISO 8601 time" },
          },
        };
      const made = rule(b.name, "cc03");
      rules = [...rules, made];
      return { json: made };
    }
    if (p === "/api/console/suppression/aa01" && r.method === "PUT")
      return { json: rule("accept-0001", "aa01") };
    if (p === "/api/console/suppression/aa01/expire")
      return { json: rule("accept-0001", "aa01", { expired: true }) };
    if (p === "/api/console/suppression/aa01" && r.method === "DELETE") return { status: 204 };
    if (p === "/api/console/suppression/aa01/findings")
      return {
        json: {
          rule: rules[0]!,
          items: [
            {
              findingArn: "arn:f1",
              vulnerabilityId: "CVE-2099-0001",
              severity: "HIGH",
              repositoryName: "team/app",
              imageDigest: "sha256:" + "a".repeat(64),
              imageTags: ["1.0"],
              packageName: "base-files",
              packageVersion: "12.4",
              updatedAt: 1,
            },
          ],
          total: 1,
          limit: 20,
          offset: 0,
        } satisfies HiddenFindings,
      };
    return undefined;
  });
});
afterEach(() => api.restore());

const calls = (method: string, path: string) =>
  api.requests.filter((r) => r.method === method && r.url.pathname === `/api/console${path}`);

describe("SuppressionPage", () => {
  it("lists the rules with their scope; filters go to the URL and the API", async () => {
    render(<SuppressionPage />);
    expect(await screen.findByTestId("suppression-row-accept-0001")).toBeTruthy();
    expect(screen.getByText(/CVE-2099-0001 · team\/\*\*/)).toBeTruthy();
    expect(screen.queryByTestId("suppression-edit-plain")).toBeNull(); // a plain filter's criteria are not the form's
    fireEvent.change(screen.getByTestId("suppression-state"), { target: { value: "expired" } });
    expect(window.location.search).toContain("state=expired");
    await waitFor(() =>
      expect(calls("GET", "/suppression").at(-1)!.url.searchParams.get("state")).toBe("expired"),
    );
  });

  it("creates an exception with the form's fields, and shows a refusal", async () => {
    render(<SuppressionPage />);
    fireEvent.click(await screen.findByTestId("suppression-new"));
    const set = (k: string, v: string) =>
      fireEvent.change(screen.getByTestId(`suppression-form-${k}`), { target: { value: v } });
    set("name", "accept-0002");
    set("reason", "fixed upstream soon");
    set("owner", "ops@example.com");
    set("expires", "soon");
    set("vulnerability", "CVE-2099-0002");
    set("repositories", "team/app, prod/**");
    fireEvent.click(screen.getByTestId("suppression-form-save"));
    expect((await screen.findByTestId("suppression-form-error")).textContent).toMatch(/expires/);
    set("expires", "2026-12-31");
    fireEvent.click(screen.getByTestId("suppression-form-save"));
    await screen.findByTestId("suppression-notice");
    expect(calls("POST", "/suppression").at(-1)!.body).toEqual({
      name: "accept-0002",
      reason: "fixed upstream soon",
      owner: "ops@example.com",
      expires: "2026-12-31",
      vulnerability: "CVE-2099-0002",
      repositories: ["team/app", "prod/**"],
    });
    expect(screen.queryByTestId("suppression-form")).toBeNull();
    expect(await screen.findByTestId("suppression-row-accept-0002")).toBeTruthy();
  });

  it("edits an exception in place (PUT of its id, the form filled from it)", async () => {
    render(<SuppressionPage />);
    fireEvent.click(await screen.findByTestId("suppression-edit-accept-0001"));
    expect((screen.getByTestId("suppression-form-vulnerability") as HTMLInputElement).value).toBe(
      "CVE-2099-0001",
    );
    fireEvent.change(screen.getByTestId("suppression-form-repositories"), { target: { value: "**" } });
    fireEvent.click(screen.getByTestId("suppression-form-save"));
    await screen.findByTestId("suppression-notice");
    expect(calls("PUT", "/suppression/aa01")[0]!.body).toMatchObject({
      repositories: ["**"],
      vulnerability: "CVE-2099-0001",
    });
  });

  it("expires now, and deletes only once confirmed", async () => {
    render(<SuppressionPage />);
    fireEvent.click(await screen.findByTestId("suppression-expire-accept-0001"));
    await waitFor(() => expect(calls("POST", "/suppression/aa01/expire")).toHaveLength(1));
    expect(calls("POST", "/suppression/aa01/expire")[0]!.body).toEqual({ expires: "now" });
    fireEvent.click(screen.getByTestId("suppression-delete-accept-0001"));
    expect(calls("DELETE", "/suppression/aa01")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("suppression-delete-confirm-accept-0001"));
    await waitFor(() => expect(calls("DELETE", "/suppression/aa01")).toHaveLength(1));
  });

  it("shows what a rule hides (deep link ?rule=)", async () => {
    render(<SuppressionPage />);
    fireEvent.click(await screen.findByTestId("suppression-hides-accept-0001"));
    expect(window.location.search).toContain("rule=aa01");
    const panel = await screen.findByTestId("suppression-hidden");
    expect((await within(panel).findByTestId("suppression-hidden-total")).textContent).toBe("1");
    expect(within(panel).getByText("CVE-2099-0001")).toBeTruthy();
    expect(within(panel).getByText(/team\/app@sha256:aaaaaaaaaaaa/)).toBeTruthy();
  });

  it("tells non-administrators the page is theirs to see", async () => {
    forbidden = true;
    render(<SuppressionPage />);
    expect(await screen.findByTestId("suppression-forbidden")).toBeTruthy();
  });
});
