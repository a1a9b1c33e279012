import { describe, expect, it } from "vitest";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import type { FeedDocument } from "./types.js";
import { wolfiImporter } from "./wolfi.js";

const PACK = "raw/wolfi-advisories.tar.gz";
const doc = (name: string, body: string): FeedDocument => ({ name, content: Buffer.from(body) });

const FILE = `schema-version: 2.0.2

package:
  name: age

advisories:
  - id: CGA-0000-0000-0001
    aliases:
      - CVE-2025-22871
      - GHSA-g9pc-8g42-g6vq
    events:
      # Out of order on purpose: the latest timestamp decides, not the position.
      - timestamp: 2025-04-10T08:18:45Z
        type: fixed
        data:
          fixed-version: 2.0
      - timestamp: 2025-04-10T07:05:57Z
        type: detection
        data:
          type: scan/v1
  - id: CGA-0000-0000-0002
    events:
      - timestamp: 2024-01-01T00:00:00Z
        type: fixed
        data:
          fixed-version: 1.0-r0
      - timestamp: 2024-02-01T00:00:00Z
        type: false-positive-determination
        data:
          type: vulnerable-code-not-included-in-package
          note: Only affects Windows
  - id: CGA-0000-0000-0003
    events:
      - timestamp: 2024-01-01T00:00:00Z
        type: fix-not-planned
        data:
          note: EOL
  - id: CGA-0000-0000-0004
    events:
      - timestamp: 2024-01-01T00:00:00Z
        type: detection
      - timestamp: 2024-01-02T00:00:00Z
        type: true-positive-determination
  - id: CGA-0000-0000-0005
    events:
      - timestamp: 2024-01-01T00:00:00Z
        type: pending-upstream-fix
        data:
          note: waiting for go-tuf v2
`;

describe("Wolfi advisories importer", () => {
  it("recognizes package advisory files only", () => {
    const yes = (name: string, head: string) => wolfiImporter.recognizes({ name, head: Buffer.from(head) });
    expect(yes("x.tar.gz!advisories-244709c/age.advisories.yaml", FILE)).toBe(true);
    expect(yes("age.advisories.yaml", "package:\n  name: age\n")).toBe(true);
    expect(yes("docs/examples/fix.yaml", FILE)).toBe(false);
    expect(yes("age.advisories.yaml", "title: x\n")).toBe(false);
    // Pinned to the last Apache-2.0 commit (later data forbids commercial scanners).
    expect(wolfiImporter.upstream?.[0]?.url).toBe(
      "https://github.com/wolfi-dev/advisories/archive/244709c9529794d8102e1b5fba03ba0fb27e6957.tar.gz",
    );
  });

  it("takes the latest event by timestamp as the state", async () => {
    const run = await runImporter(wolfiImporter, [doc("age.advisories.yaml", FILE)]);
    expect(run.problems).toEqual([]);
    const noFix = [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }];
    expect(
      run.advisories.map((a) => [a.id, a.affected[0]!.status, a.affected[0]!.ranges, a.details]),
    ).toEqual([
      // fixed-version 2.0 stays the version "2.0".
      [
        "CGA-0000-0000-0001",
        "affected",
        [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.0" }] }],
        undefined,
      ],
      [
        "CGA-0000-0000-0002",
        "not_affected",
        [],
        "false-positive-determination: vulnerable-code-not-included-in-package: Only affects Windows",
      ],
      ["CGA-0000-0000-0003", "will_not_fix", noFix, "fix-not-planned: EOL"],
      ["CGA-0000-0000-0004", "affected", noFix, "true-positive-determination"],
      ["CGA-0000-0000-0005", "affected", noFix, "pending-upstream-fix: waiting for go-tuf v2"],
    ]);
    expect(run.advisories[0]).toMatchObject({
      source: "wolfi",
      aliases: ["CVE-2025-22871", "GHSA-g9pc-8g42-g6vq"],
      // Timestamps stay the strings they are (no YAML timestamp type).
      published: "2025-04-10T07:05:57Z",
      modified: "2025-04-10T08:18:45Z",
      affected: [{ ecosystem: "wolfi", package: "age" }],
    });
  });

  it("reports broken documents and advisories with feed and document, and goes on", async () => {
    const bad = FILE.replace("fixed-version: 1.0-r0", "note: x")
      .replace("type: fix-not-planned", "type: something-new")
      .replace("timestamp: 2024-01-02T00:00:00Z", "timestamp: yesterday");
    const run = await runImporter(wolfiImporter, [
      doc(
        "a.advisories.yaml",
        FILE.slice(0, FILE.indexOf("- id: CGA-0000-0000-0002") + 10) + "\n   - [broken",
      ),
      doc("b.advisories.yaml", "schema-version: 2\npackage: {}\n"),
      doc(
        "c.advisories.yaml",
        "schema-version: 2\npackage:\n  name: c\nadvisories:\n  - aliases: []\n  - id: CGA-1\n",
      ),
      doc("age.advisories.yaml", bad),
    ]);
    expect(run.problems.map((p) => [p.feed, p.document, p.reason.replace(/: .*/s, "")])).toEqual([
      ["wolfi", "a.advisories.yaml", "invalid YAML"],
      ["wolfi", "b.advisories.yaml", "no package.name"],
      ["wolfi", "c.advisories.yaml", "advisories[0]"],
      ["wolfi", "c.advisories.yaml", "CGA-1"],
      ["wolfi", "age.advisories.yaml", "CGA-0000-0000-0003"],
      ["wolfi", "age.advisories.yaml", "CGA-0000-0000-0004"],
    ]);
    expect(run.problems.map((p) => p.reason).slice(3)).toEqual([
      "CGA-1: no events",
      'CGA-0000-0000-0003: unknown event type "something-new"',
      "CGA-0000-0000-0004: an event has no readable timestamp",
    ]);
    // CGA-0002's latest event is the false positive, so its broken fixed event does not matter.
    expect(run.advisories.map((a) => a.id)).toEqual([
      "CGA-0000-0000-0001",
      "CGA-0000-0000-0002",
      "CGA-0000-0000-0004",
      "CGA-0000-0000-0005",
    ]);
  });

  const missing = missingVulndata(PACK);
  it.skipIf(missing !== null)(`imports the real Wolfi advisories ${missing ?? ""}`, async () => {
    const docs = await readPackTarGz(PACK);
    const started = Date.now();
    const run = await runImporter(wolfiImporter, docs);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.problems).toEqual([]);
    expect(run.refused.filter((r) => r.endsWith(".yaml"))).toEqual([]);
    // PROVENANCE.md: 1,278 package files, 20,770 advisories.
    expect(new Set(run.advisories.map((a) => a.affected[0]!.package)).size).toBe(1278);
    expect(run.advisories).toHaveLength(20770);
    const tally: Record<string, number> = {};
    for (const a of run.advisories) {
      const x = a.affected[0]!;
      const fixed = x.ranges.some((r) => r.type === "ECOSYSTEM" && r.events.some((e) => "fixed" in e));
      const key = `${x.status}${fixed ? " fixed" : ""}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    // Latest events: fixed 14,607; false positive 2,046; fix-not-planned 149;
    // detection 3,337 + pending-upstream-fix 624 + true-positive 7.
    expect(tally).toEqual({
      "affected fixed": 14607,
      not_affected: 2046,
      will_not_fix: 149,
      affected: 3968,
    });
    expect(advisoryById(run, "CGA-2h26-rh8h-r2vp")).toEqual({
      id: "CGA-2h26-rh8h-r2vp",
      source: "wolfi",
      aliases: ["CVE-2025-22871", "GHSA-g9pc-8g42-g6vq"],
      published: "2025-04-10T07:05:57Z",
      modified: "2025-04-10T08:18:45Z",
      affected: [
        {
          ecosystem: "wolfi",
          package: "age",
          status: "affected",
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.2.1-r4" }] }],
        },
      ],
    });
    expect(advisoryById(run, "CGA-7ggg-m3hv-6chj").affected[0]).toEqual({
      ecosystem: "wolfi",
      package: "aactl",
      status: "not_affected",
      ranges: [],
    });
  });
});
