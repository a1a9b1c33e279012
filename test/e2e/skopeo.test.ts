import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fixturesDir,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

const skip = missingShared();
if (skip) console.warn(`skopeo round trips skipped: ${skip}`);

describe.skipIf(skip !== null)("skopeo round trips keep digests", () => {
  let dd: Drydock;
  let work: string;
  beforeAll(async () => {
    dd = await startDrydock();
    work = await mkdtemp(join(tmpdir(), "drydock-skopeo-"));
  });
  afterAll(async () => {
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const layouts = skip ? [] : readdirSync(join(fixturesDir, "oci"));
  it.each(layouts)("oci:%s pushes and pulls with the same manifest digest", async (name) => {
    const layout = ociLayout(name);
    const isIndex = /index/.test(
      (JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { mediaType: string }[] })
        .manifests[0]!.mediaType,
    );
    const all = isIndex ? ["--all"] : [];
    const ref = `docker://${dd.addr}/fixtures/${name}:latest`;
    const push = await skopeo([
      "copy",
      "--quiet",
      ...all,
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${layout}:latest`,
      ref,
    ]);
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const expected = manifestDigestOfLayout(layout);
    const inspect = await skopeo(["inspect", "--raw", "--tls-verify=false", ref]);
    expect(inspect.code).toBe(0);
    const { createHash } = await import("node:crypto");
    expect(`sha256:${createHash("sha256").update(inspect.stdout).digest("hex")}`).toBe(expected);

    const out = join(work, name);
    const pull = await skopeo([
      "copy",
      "--quiet",
      ...all,
      "--preserve-digests",
      "--src-tls-verify=false",
      ref,
      `oci:${out}:latest`,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(manifestDigestOfLayout(out)).toBe(expected);
  });

  it("a docker-archive is stored as a Docker v2 schema 2 manifest and pulls back", async () => {
    const archive = join(fixturesDir, "docker-archive", "node-app.tar");
    const ref = `docker://${dd.addr}/fixtures/node-app:from-archive`;
    const push = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      `docker-archive:${archive}`,
      ref,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", ref]);
    const manifest = JSON.parse(raw.stdout) as { mediaType: string; layers: unknown[] };
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(manifest.layers).toHaveLength(3);
    const out = join(work, "from-archive.tar");
    const pull = await skopeo(["copy", "--quiet", "--src-tls-verify=false", ref, `docker-archive:${out}`]);
    expect(pull.code, pull.stderr).toBe(0);
  });
});
