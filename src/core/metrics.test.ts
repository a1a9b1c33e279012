import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.js";

/** The sample lines of one metric in the exposition text (comments left out). */
async function samples(m: Metrics, name: string): Promise<string[]> {
  const text = await m.registry.metrics();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

const base = { uploadSessions: async () => 0, storageBytes: async () => 0 };

describe("metrics", () => {
  it("findings, images and the database age are read from their sources at each scrape", async () => {
    let findings = [
      { status: "ACTIVE", severity: "CRITICAL", count: 3 },
      { status: "CLOSED", severity: "HIGH", count: 1 },
    ];
    let builtAt: number | null = Date.parse("2025-01-01T00:00:00Z");
    const m = new Metrics({
      ...base,
      findings: async () => findings,
      images: async () => [{ scanType: "ENHANCED", status: "ACTIVE", count: 7 }],
      vulndbBuiltAt: () => builtAt,
      now: () => Date.parse("2025-01-01T06:00:00Z"),
    });
    expect(await samples(m, "drydock_findings")).toEqual([
      'drydock_findings{severity="CRITICAL",status="ACTIVE"} 3',
      'drydock_findings{severity="HIGH",status="CLOSED"} 1',
    ]);
    expect(await samples(m, "drydock_images")).toEqual([
      'drydock_images{scan_type="ENHANCED",scan_status="ACTIVE"} 7',
    ]);
    expect(await samples(m, "drydock_vulndb_age_seconds")).toEqual(["drydock_vulndb_age_seconds 21600"]);
    // A group that has no finding any more is gone, not stuck at its last count.
    findings = [{ status: "CLOSED", severity: "HIGH", count: 4 }];
    builtAt = null;
    expect(await samples(m, "drydock_findings")).toEqual([
      'drydock_findings{severity="HIGH",status="CLOSED"} 4',
    ]);
    expect(await samples(m, "drydock_vulndb_age_seconds")).toEqual([]);
  });

  it("records layers and re-match jobs as the scan service reports them", async () => {
    const m = new Metrics(base);
    // Every kind of change is there from the start, at 0.
    expect(await samples(m, "drydock_rematch_finding_changes_total")).toEqual([
      'drydock_rematch_finding_changes_total{change="created"} 0',
      'drydock_rematch_finding_changes_total{change="updated"} 0',
      'drydock_rematch_finding_changes_total{change="closed"} 0',
      'drydock_rematch_finding_changes_total{change="reopened"} 0',
    ]);
    m.layer(false);
    m.layer(true);
    m.layer(true);
    m.rematch(3, [{ kind: "created" }, { kind: "created" }, { kind: "closed" }], 0.2);
    m.rematch(2, [], 0.02);
    expect(await samples(m, "drydock_scan_layers_analyzed_total")).toEqual([
      "drydock_scan_layers_analyzed_total 1",
    ]);
    expect(await samples(m, "drydock_scan_layer_cache_hits_total")).toEqual([
      "drydock_scan_layer_cache_hits_total 2",
    ]);
    expect(await samples(m, "drydock_rematch_runs_total")).toEqual(["drydock_rematch_runs_total 2"]);
    expect(await samples(m, "drydock_rematch_images_total")).toEqual(["drydock_rematch_images_total 5"]);
    expect(await samples(m, "drydock_rematch_finding_changes_total")).toContain(
      'drydock_rematch_finding_changes_total{change="created"} 2',
    );
    expect(await samples(m, "drydock_rematch_finding_changes_total")).toContain(
      'drydock_rematch_finding_changes_total{change="closed"} 1',
    );
    expect(await samples(m, "drydock_rematch_duration_seconds_count")).toEqual([
      "drydock_rematch_duration_seconds_count 2",
    ]);
    expect(await samples(m, "drydock_rematch_duration_seconds_bucket")).toContain(
      'drydock_rematch_duration_seconds_bucket{le="0.05"} 1',
    );
    // Without the sources, the query gauges are not there at all.
    expect(await samples(m, "drydock_findings")).toEqual([]);
  });
});
