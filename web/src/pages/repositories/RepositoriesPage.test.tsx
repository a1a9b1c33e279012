import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RepositoryListPage } from "../../../../src/api/console/contract/repositories.js";
import { stubFetch } from "../images/fetch-testing.js";
import { RepositoriesPage } from "./RepositoriesPage.js";

const page = (over: Partial<RepositoryListPage> = {}): RepositoryListPage => ({
  items: [
    {
      name: "team/app",
      createdAt: 0,
      images: 3,
      lastPushAt: Date.now() - 2 * 3_600_000,
      scanFrequency: "CONTINUOUS_SCAN",
      scanType: "ENHANCED",
      findings: { CRITICAL: 2, HIGH: 5 },
    },
    {
      name: "team/clean",
      createdAt: 0,
      images: 0,
      lastPushAt: null,
      scanFrequency: "MANUAL",
      scanType: "ENHANCED",
      findings: {},
    },
  ],
  total: 120,
  limit: 50,
  offset: 0,
  ...over,
});

describe("RepositoriesPage", () => {
  beforeEach(() => window.history.replaceState(null, "", "/console/repositories"));
  afterEach(() => vi.unstubAllGlobals());

  it("lists repositories with links, counts, scan frequency and severity badges", async () => {
    const { urls } = stubFetch({ "/api/console/repositories": () => page() });
    render(<RepositoriesPage />);
    const table = await screen.findByTestId("repositories");
    await within(table).findByText("team/app");
    const link = within(table).getByRole("link", { name: "team/app" });
    expect(link.getAttribute("href")).toBe("/console/repositories/team/app");
    expect(within(table).getByText("Continuous")).toBeTruthy();
    expect(within(table).getByLabelText("2 Critical, 5 High")).toBeTruthy();
    expect(within(table).getByText("None")).toBeTruthy();
    expect(within(table).getByText("2 hours ago")).toBeTruthy();
    expect(screen.getByText("1–50 of 120")).toBeTruthy();
    expect(Object.fromEntries(urls[0]!.searchParams)).toEqual({
      sort: "name",
      order: "asc",
      limit: "50",
      offset: "0",
    });
  });

  it("keeps search, sort and page in the URL and asks the server for them", async () => {
    window.history.replaceState(null, "", "/console/repositories?sort=critical&order=desc&offset=50");
    const { urls } = stubFetch({
      "/api/console/repositories": (u) => page({ offset: Number(u.searchParams.get("offset")) }),
    });
    render(<RepositoriesPage />);
    await screen.findByText("51–100 of 120");
    expect(urls[0]!.searchParams.get("sort")).toBe("critical");
    expect(urls[0]!.searchParams.get("order")).toBe("desc");
    expect(screen.getByRole("columnheader", { name: /Vulnerabilities/ }).getAttribute("aria-sort")).toBe(
      "descending",
    );

    fireEvent.change(screen.getByLabelText("Search repositories"), { target: { value: "app" } });
    const params = new URLSearchParams(window.location.search);
    expect(params.get("search")).toBe("app");
    expect(params.get("offset")).toBeNull();
    await waitFor(() => expect(urls.at(-1)!.searchParams.get("search")).toBe("app"));
    expect(urls.at(-1)!.searchParams.get("offset")).toBe("0");

    fireEvent.click(screen.getByRole("button", { name: /Images/ }));
    await waitFor(() => expect(urls.at(-1)!.searchParams.get("sort")).toBe("images"));
  });

  it("says so when a search matches nothing, and shows the server's error", async () => {
    window.history.replaceState(null, "", "/console/repositories?search=zzz");
    stubFetch({ "/api/console/repositories": () => page({ items: [], total: 0 }) });
    render(<RepositoriesPage />);
    expect(await screen.findByText("No repository name contains “zzz”.")).toBeTruthy();
    vi.unstubAllGlobals();
    window.history.replaceState(null, "", "/console/repositories?sort=bogus");
    stubFetch({});
    render(<RepositoriesPage />);
    expect((await screen.findByRole("alert")).textContent).toContain("no stub for /api/console/repositories");
  });
});
