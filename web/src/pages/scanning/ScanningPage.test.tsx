import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ScanningPreview, ScanningView } from "../../../../src/api/console/contract/scanning.js";
import { mockApi, type SeenRequest } from "./fetch-testing.js";
import { ScanningPage } from "./ScanningPage.js";

/**
 * The scanning form against a stand-in API: it shows the configuration, previews a draft as it
 * is typed (debounced: one request for a burst of keystrokes, with the draft's rules), saves
 * the draft as the PUT body, shows the server's refusal, and is read-only for non-admins.
 */

const view = (canEdit = true): ScanningView => ({
  scanType: "ENHANCED",
  rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "prod", filterType: "WILDCARD" }] }],
  rescanWindow: {
    rescanDuration: "DAYS_90",
    pullDateRescanDuration: "DAYS_90",
    pullDateRescanMode: "LAST_PULL_DATE",
    isDefault: true,
  },
  canEdit,
  options: {
    maxRules: 2,
    maxFiltersPerRule: 100,
    frequencies: { BASIC: ["SCAN_ON_PUSH"], ENHANCED: ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"] },
    rescanDurations: ["LIFETIME", "DAYS_30", "DAYS_90"],
    pullDateRescanDurations: ["DAYS_14", "DAYS_90"],
    pullDateRescanModes: ["LAST_PULL_DATE", "LAST_IN_USE_AT"],
  },
});

function previewOf(r: SeenRequest): ScanningPreview {
  const rules = JSON.parse(r.url.searchParams.get("rules") ?? "[]") as {
    scanFrequency: "SCAN_ON_PUSH";
    filters: string[];
  }[];
  return {
    valid: !rules.some((x) => x.filters.includes("Bad!")),
    ...(rules.some((x) => x.filters.includes("Bad!")) ? { error: 'invalid repository filter "Bad!"' } : {}),
    rules: rules.map((x) => ({
      scanFrequency: x.scanFrequency,
      matches: x.filters.length * 10,
      filters: x.filters.map((f) => ({ filter: f, valid: f !== "Bad!", matches: f.length })),
    })),
    selection: null,
    repositories: {
      items: [{ name: "prod-api", scanFrequency: "SCAN_ON_PUSH", appliedFilters: ["prod"] }],
      total: 1,
      limit: 20,
      offset: 0,
    },
  };
}

let api: ReturnType<typeof mockApi>;
let puts: unknown[] = [];
let refuse = false;
let canEdit = true;
beforeEach(() => {
  window.history.replaceState(null, "", "/console/settings/scanning");
  puts = [];
  refuse = false;
  canEdit = true;
  api = mockApi((r) => {
    if (r.url.pathname === "/api/console/scanning" && r.method === "GET") return { json: view(canEdit) };
    if (r.url.pathname === "/api/console/scanning" && r.method === "PUT") {
      puts.push(r.body);
      if (refuse)
        return {
          status: 400,
          json: { error: { code: "BadParameter", message: "at most 2 scanning rules are allowed" } },
        };
      return {
        json: {
          ...view(),
          scanType: (r.body as ScanningView).scanType,
          rules: (r.body as ScanningView).rules,
        },
      };
    }
    if (r.url.pathname === "/api/console/scanning/preview") return { json: previewOf(r) };
    return undefined;
  });
});
afterEach(() => api.restore());

const previews = () => api.requests.filter((r) => r.url.pathname === "/api/console/scanning/preview");

describe("ScanningPage", () => {
  it("shows the configuration and previews it", async () => {
    render(<ScanningPage />);
    const filter = (await screen.findByTestId("rule-0-filter-0")) as HTMLInputElement;
    expect(filter.value).toBe("prod");
    expect((screen.getByTestId("scan-type-ENHANCED") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByTestId("rescan-duration") as HTMLSelectElement).value).toBe("DAYS_90");
    expect(await screen.findByTestId("preview-filter-0-0-count")).toHaveProperty("textContent", "4");
    expect(screen.getByTestId("preview-rule-0-count").textContent).toBe("10");
    expect(screen.getByText("prod-api")).toBeTruthy();
  });

  it("previews as you type, once per pause, with the draft's rules", async () => {
    render(<ScanningPage />);
    const filter = await screen.findByTestId("rule-0-filter-0");
    await screen.findByTestId("preview-filter-0-0-count");
    const before = previews().length;
    for (const v of ["t", "te", "tea", "team/*"]) fireEvent.change(filter, { target: { value: v } });
    await waitFor(() => expect(screen.getByTestId("preview-filter-0-0-count").textContent).toBe("6"));
    expect(previews().length).toBe(before + 1);
    const last = previews().at(-1)!;
    expect(last.url.searchParams.get("scanType")).toBe("ENHANCED");
    expect(JSON.parse(last.url.searchParams.get("rules")!)).toEqual([
      { scanFrequency: "SCAN_ON_PUSH", filters: ["team/*"] },
    ]);
  });

  it("shows an invalid draft's error in the preview", async () => {
    render(<ScanningPage />);
    fireEvent.change(await screen.findByTestId("rule-0-filter-0"), { target: { value: "Bad!" } });
    expect((await screen.findByTestId("preview-invalid")).textContent).toMatch(/invalid repository filter/);
    expect(screen.getByTestId("preview-filter-0-0-error")).toBeTruthy();
  });

  it("saves the draft (rules, scan type, rescan window) and says so; shows a refusal", async () => {
    render(<ScanningPage />);
    await screen.findByTestId("rule-0-filter-0");
    fireEvent.click(screen.getByTestId("add-rule"));
    fireEvent.change(screen.getByTestId("rule-1-frequency"), { target: { value: "CONTINUOUS_SCAN" } });
    fireEvent.change(screen.getByTestId("rule-1-filter-0"), { target: { value: "prod-*" } });
    fireEvent.change(screen.getByTestId("rescan-duration"), { target: { value: "DAYS_30" } });
    fireEvent.click(screen.getByTestId("scanning-save"));
    await screen.findByTestId("scanning-status");
    expect(puts).toEqual([
      {
        scanType: "ENHANCED",
        rules: [
          { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "prod", filterType: "WILDCARD" }] },
          {
            scanFrequency: "CONTINUOUS_SCAN",
            repositoryFilters: [{ filter: "prod-*", filterType: "WILDCARD" }],
          },
        ],
        rescanWindow: {
          rescanDuration: "DAYS_30",
          pullDateRescanDuration: "DAYS_90",
          pullDateRescanMode: "LAST_PULL_DATE",
        },
      },
    ]);
    refuse = true;
    fireEvent.click(screen.getByTestId("scanning-save"));
    expect((await screen.findByTestId("scanning-error")).textContent).toMatch(/at most 2 scanning rules/);
  });

  it("turns continuous rules into scan on push when BASIC is chosen", async () => {
    render(<ScanningPage />);
    await screen.findByTestId("rule-0-filter-0");
    fireEvent.change(screen.getByTestId("rule-0-frequency"), { target: { value: "CONTINUOUS_SCAN" } });
    fireEvent.click(screen.getByTestId("scan-type-BASIC"));
    expect((screen.getByTestId("rule-0-frequency") as HTMLSelectElement).value).toBe("SCAN_ON_PUSH");
    expect(screen.getByTestId("rule-0-frequency").querySelectorAll("option")).toHaveLength(1);
  });

  it("is read-only for non-admins (no save), who may still preview", async () => {
    canEdit = false;
    render(<ScanningPage />);
    await screen.findByTestId("scanning-readonly");
    expect(screen.queryByTestId("scanning-save")).toBeNull();
    expect(await screen.findByTestId("preview-filter-0-0-count")).toBeTruthy();
  });
});
