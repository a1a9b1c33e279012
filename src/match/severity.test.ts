import { describe, expect, it } from "vitest";
import type { SeverityScore } from "../vulndb/types.js";
import { decideSeverity, ratingV2, ratingV3, vendorSeverity } from "./severity.js";

const v3 = (score: number, source?: string): SeverityScore => ({
  type: "CVSS_V3",
  vector: `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H#${score}`,
  score,
  ...(source ? { source } : {}),
});
const v2 = (score: number): SeverityScore => ({
  type: "CVSS_V2",
  vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P",
  score,
});
const v4 = (score: number): SeverityScore => ({ type: "CVSS_V4", vector: "CVSS:4.0/AV:N", score });

describe("vendorSeverity", () => {
  it.each([
    // Red Hat
    ["Critical", "CRITICAL"],
    ["Important", "HIGH"],
    ["Moderate", "MEDIUM"],
    ["Low", "LOW"],
    // GHSA
    ["MODERATE", "MEDIUM"],
    ["HIGH", "HIGH"],
    // Ubuntu priorities
    ["negligible", "INFORMATIONAL"],
    ["medium", "MEDIUM"],
    // Debian urgencies
    ["unimportant", "INFORMATIONAL"],
    ["high", "HIGH"],
    [" low ", "LOW"],
  ])("%s → %s", (word, sev) => expect(vendorSeverity(word)).toBe(sev));

  it("ignores words that are not the vendor's own assessment", () => {
    // Debian marks urgencies copied from NVD with **
    expect(vendorSeverity("high**")).toBeUndefined();
    expect(vendorSeverity("not yet assigned")).toBeUndefined();
    expect(vendorSeverity("end-of-life")).toBeUndefined();
    expect(vendorSeverity("")).toBeUndefined();
    expect(vendorSeverity(undefined)).toBeUndefined();
  });
});

describe("NVD ratings", () => {
  it.each([
    [10, "CRITICAL"],
    [9.0, "CRITICAL"],
    [8.9, "HIGH"],
    [7.0, "HIGH"],
    [6.9, "MEDIUM"],
    [4.0, "MEDIUM"],
    [3.9, "LOW"],
    [0.1, "LOW"],
    [0, "INFORMATIONAL"],
  ])("v3 %s → %s", (score, sev) => expect(ratingV3(score)).toBe(sev));

  it.each([
    [10, "HIGH"],
    [7.0, "HIGH"],
    [6.9, "MEDIUM"],
    [4.0, "MEDIUM"],
    [3.9, "LOW"],
    [0, "LOW"],
  ])("v2 %s → %s (v2 has no CRITICAL)", (score, sev) => expect(ratingV2(score)).toBe(sev));
});

describe("decideSeverity", () => {
  it("takes the vendor's word first, keeping what it said", () => {
    expect(decideSeverity(["low", "HIGH"], [v3(9.8, "nvd")])).toEqual({
      severity: "LOW",
      source: "vendor",
      vendor: "low",
    });
    // a package-level word (first) beats the advisory-level one
    expect(decideSeverity([undefined, "Important"], [v3(9.8)])).toMatchObject({ severity: "HIGH" });
  });

  it("falls back to CVSS v3, then v4, then v2, mapped to the NVD rating", () => {
    expect(decideSeverity(["high**"], [v2(9.3), v3(5.3)])).toEqual({ severity: "MEDIUM", source: "cvss-v3" });
    expect(decideSeverity([], [v2(9.3), v4(9.1)])).toEqual({ severity: "CRITICAL", source: "cvss-v4" });
    expect(decideSeverity([], [v2(9.3)])).toEqual({ severity: "HIGH", source: "cvss-v2" });
  });

  it("prefers NVD's score, then CISA's, then the feed's; the highest within one source", () => {
    expect(decideSeverity([], [v3(9.8, "osv"), v3(5.0, "nvd")]).severity).toBe("MEDIUM");
    expect(decideSeverity([], [v3(9.8, "osv"), v3(7.5, "cisa-adp")]).severity).toBe("HIGH");
    expect(decideSeverity([], [v3(5.0, "nvd"), v3(7.5, "nvd")]).severity).toBe("HIGH");
  });

  it("is UNDEFINED without a vendor word or a scored vector", () => {
    expect(decideSeverity([], [])).toEqual({ severity: "UNDEFINED", source: "none" });
    expect(decideSeverity(["whatever"], [{ type: "CVSS_V3", vector: "CVSS:3.1/AV:N" }])).toEqual({
      severity: "UNDEFINED",
      source: "none",
    });
  });
});
