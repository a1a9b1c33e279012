import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type {
  FindingView,
  ImageDetailsView,
  ImageView,
  LayersView,
  Page,
  PackageView,
  ReferrerView,
} from "../../../../src/api/console/contract/images.js";
import { stubFetch } from "./fetch-testing.js";
import { ImageDetailsPage } from "./ImageDetailsPage.js";
import { ImagesPage } from "./ImagesPage.js";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;
const LAYER = `sha256:${"c".repeat(64)}`;

const image = (over: Partial<ImageView> = {}): ImageView => ({
  digest: D1,
  tags: ["v1", "latest"],
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  artifactType: "application/vnd.oci.image.config.v1+json",
  pushedAt: Date.now() - 86_400_000,
  lastPulledAt: null,
  size: 31_400_000,
  platforms: [{ os: "linux", architecture: "amd64" }],
  kind: "image",
  scan: { status: "COMPLETE", description: null, scanType: "ENHANCED", lastScanAt: 1, completedAt: 2 },
  findings: { CRITICAL: 1, MEDIUM: 4 },
  signed: true,
  ...over,
});
const pageOf = <T,>(items: T[], total = items.length): Page<T> => ({ items, total, limit: 50, offset: 0 });

describe("ImagesPage", () => {
  beforeEach(() => window.history.replaceState(null, "", "/console/repositories/team/app"));
  afterEach(() => vi.unstubAllGlobals());

  it("shows the Vulnerabilities column, signature, platform and a Details link per image", async () => {
    const { urls } = stubFetch({
      "/api/console/images": () =>
        pageOf([
          image(),
          image({
            digest: D2,
            tags: [],
            signed: false,
            findings: {},
            scan: { ...image().scan, status: null },
          }),
        ]),
    });
    render(<ImagesPage repository="team/app" />);
    const table = await screen.findByTestId("images");
    await within(table).findByText("v1");
    expect(within(table).getByLabelText("1 Critical, 4 Medium")).toBeTruthy();
    expect(within(table).getByText("Signed")).toBeTruthy();
    expect(within(table).getByText("Unsigned")).toBeTruthy();
    expect(within(table).getByText("untagged")).toBeTruthy();
    expect(within(table).getAllByText("linux/amd64")).toHaveLength(2);
    expect(within(table).getAllByText("31 MB")).toHaveLength(2);
    expect(within(table).getByText("Not scanned")).toBeTruthy();
    const details = within(table).getByRole("link", { name: "Details of v1" });
    expect(details.getAttribute("href")).toBe(`/console/repositories/team/app/images/${D1}`);
    expect(Object.fromEntries(urls[0]!.searchParams)).toMatchObject({
      repository: "team/app",
      tagged: "ANY",
      sort: "pushedAt",
      order: "desc",
    });
  });

  it("filters tagged/untagged through the URL", async () => {
    const { urls } = stubFetch({ "/api/console/images": () => pageOf([]) });
    render(<ImagesPage repository="team/app" />);
    await screen.findByText("No images in this repository.");
    fireEvent.change(screen.getByLabelText("Show"), { target: { value: "UNTAGGED" } });
    expect(new URLSearchParams(window.location.search).get("tagged")).toBe("UNTAGGED");
    await waitFor(() => expect(urls.at(-1)!.searchParams.get("tagged")).toBe("UNTAGGED"));
    expect(await screen.findByText("No untagged images.")).toBeTruthy();
  });
});

describe("ImageDetailsPage", () => {
  const details: ImageDetailsView = {
    ...image(),
    repository: "team/app",
    referrers: 1,
    suppressed: { LOW: 1 },
    inventory: true,
    downloads: [{ label: "SBOM (SPDX)", href: `/images/${D1}/sbom?repository=team%2Fapp&format=spdx` }],
  };
  const finding: FindingView = {
    id: "f1",
    vulnerabilityId: "CVE-2099-0001",
    severity: "CRITICAL",
    title: "a bad one",
    packageName: "base-files",
    packageVersion: "12.4",
    ecosystem: "deb",
    packagePath: "/var/lib/dpkg/status",
    layer: LAYER,
    fixedVersion: "12.5",
    fixAvailable: "YES",
    epss: 0.5,
    kev: true,
    status: "ACTIVE",
    firstObservedAt: 0,
    lastObservedAt: 0,
  };
  const layers: LayersView = {
    layers: [
      {
        index: 0,
        digest: LAYER,
        diffId: LAYER,
        size: 1000,
        command: "ADD rootfs.tar /",
        createdAt: null,
        packages: 1,
        findings: { CRITICAL: 1 },
      },
      {
        index: 1,
        digest: D2,
        diffId: D2,
        size: 10,
        command: "COPY app /app",
        createdAt: null,
        packages: 0,
        findings: {},
      },
    ],
    emptyHistory: [],
  };
  const pkg: PackageView = {
    name: "base-files",
    version: "12.4",
    ecosystem: "deb",
    purl: "pkg:deb/debian/base-files@12.4",
    path: "/var/lib/dpkg/status",
    licenses: ["GPL-2.0"],
    layer: LAYER,
    layerIndex: 0,
    findings: 1,
  };
  const referrer: ReferrerView = {
    digest: D2,
    artifactType: "application/spdx+json",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    kind: "sbom",
    via: "referrer",
    tag: null,
    createdAt: 0,
    size: 400,
  };
  const handlers = {
    [`/api/console/images/${D1}`]: () => details,
    [`/api/console/images/${D1}/findings`]: () => pageOf([finding]),
    [`/api/console/images/${D1}/layers`]: () => layers,
    [`/api/console/images/${D1}/packages`]: () => pageOf([pkg]),
    [`/api/console/images/${D1}/referrers`]: () => pageOf([referrer]),
  };
  afterEach(() => vi.unstubAllGlobals());

  it("shows the summary, downloads and the findings tab with a link to the vulnerability", async () => {
    window.history.replaceState(null, "", `/console/repositories/team/app/images/${D1}`);
    const { urls } = stubFetch(handlers);
    render(<ImageDetailsPage repository="team/app" digest={D1} />);
    expect(await screen.findByRole("heading", { name: "team/app:v1" })).toBeTruthy();
    const download = screen.getByRole("link", { name: "SBOM (SPDX)" });
    expect(download.getAttribute("href")).toBe(
      `/api/console/images/${D1}/sbom?repository=team%2Fapp&format=spdx`,
    );
    const table = await screen.findByTestId("findings");
    const cve = await within(table).findByRole("link", { name: "CVE-2099-0001" });
    expect(cve.getAttribute("href")).toBe("/console/vulnerabilities/CVE-2099-0001");
    expect(within(table).getByText("50.0%")).toBeTruthy();
    expect(within(table).getByText("Exploited")).toBeTruthy();
    // The path tells apart the same package found twice (two Go binaries with one stdlib).
    expect(within(table).getByText("/var/lib/dpkg/status")).toBeTruthy();
    expect(screen.getByRole("tab", { name: "Findings" }).getAttribute("aria-selected")).toBe("true");

    fireEvent.change(screen.getByLabelText("Severity"), { target: { value: "CRITICAL" } });
    await waitFor(() =>
      expect(
        urls
          .filter((u) => u.pathname.endsWith("/findings"))
          .at(-1)!
          .searchParams.get("severity"),
      ).toBe("CRITICAL"),
    );
  });

  it("opens the layers tab from the URL (?tab=layers) and moves between tabs with the keyboard", async () => {
    window.history.replaceState(null, "", `/console/repositories/team/app/images/${D1}?tab=layers`);
    stubFetch(handlers);
    render(<ImageDetailsPage repository="team/app" digest={D1} />);
    const table = await screen.findByTestId("layers");
    expect(within(table).getByText("ADD rootfs.tar /")).toBeTruthy();
    expect(within(table).getByText("COPY app /app")).toBeTruthy();
    expect(within(table).getByLabelText("1 Critical")).toBeTruthy();
    fireEvent.keyDown(screen.getByRole("tab", { name: "Layers" }), { key: "ArrowRight" });
    expect(new URLSearchParams(window.location.search).get("tab")).toBe("packages");
    const packages = await screen.findByTestId("packages");
    expect(await within(packages).findByText("pkg:deb/debian/base-files@12.4")).toBeTruthy();
    fireEvent.click(screen.getByRole("tab", { name: "Referrers" }));
    const referrers = await screen.findByTestId("referrers");
    expect(within(referrers).getByText("SBOM")).toBeTruthy();
    expect(within(referrers).getByText("application/spdx+json")).toBeTruthy();
  });

  it("shows an index's platforms, each linking to its own details", async () => {
    window.history.replaceState(null, "", `/console/repositories/team/app/images/${D1}`);
    stubFetch({
      [`/api/console/images/${D1}`]: () => ({
        ...details,
        kind: "index",
        platforms: [
          { os: "linux", architecture: "amd64", digest: D2 },
          { os: "linux", architecture: "arm64", variant: "v8", digest: LAYER },
        ],
      }),
    });
    render(<ImageDetailsPage repository="team/app" digest={D1} />);
    const arm = await screen.findByRole("link", { name: "linux/arm64/v8" });
    expect(arm.getAttribute("href")).toBe(`/console/repositories/team/app/images/${LAYER}`);
    expect(screen.queryByRole("tablist")).toBeNull();
  });
});
