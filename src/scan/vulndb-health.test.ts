import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VulnDbHealth } from "./vulndb-health.js";

const feeds = { updated: 0, unchanged: 0, missing: 0, failed: 3 };
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("VulnDbHealth", () => {
  it("building while updates run, missing with the way to import one after a failed build, ready with a file", () => {
    dir = mkdtempSync(join(tmpdir(), "drydock-vulndb-health-"));
    const path = join(dir, "vulndb.sqlite");
    const h = new VulnDbHealth(path, { updatesEnabled: true, dataDir: "/srv/drydock" });
    expect(h.report()).toMatchObject({ status: "building", message: expect.stringMatching(/scans wait/) });
    h.record({ outcome: "failed", feeds, error: "fetch failed" });
    expect(h.report()).toEqual({
      status: "missing",
      lastError: "fetch failed",
      message: expect.stringContaining("drydock db import PATH --data /srv/drydock"),
    });
    h.record({ outcome: "stopped", feeds });
    expect(h.report().status).toBe("missing");
    writeFileSync(path, "");
    expect(h.report()).toEqual({ status: "ready" });
  });

  it("with updates off, says so and how to import", () => {
    dir = mkdtempSync(join(tmpdir(), "drydock-vulndb-health-"));
    const h = new VulnDbHealth(join(dir, "none.sqlite"), { updatesEnabled: false, dataDir: "data" });
    expect(h.report()).toMatchObject({
      status: "missing",
      message: expect.stringMatching(/updates are off.*drydock db import PATH --data data/),
    });
  });
});
