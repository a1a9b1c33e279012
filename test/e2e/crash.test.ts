import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { missingShared, ociLayout, skopeo, startDrydock, type Drydock } from "./harness.js";

/**
 * Durability: upload sessions survive restarts, and kill -9 at arbitrary moments during
 * pushes leaves a consistent store (no partial blob or manifest visible, metadata intact).
 */

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("upload sessions survive a restart", () => {
  const started: Drydock[] = [];
  afterAll(async () => {
    for (const d of started) await d.stop();
  });

  it.each(["SIGTERM", "SIGKILL"])("a chunked upload continues after %s", async (signal) => {
    const data = await mkdtemp(join(tmpdir(), "drydock-restart-"));
    const blob = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    for (let i = 0; i < blob.length; i += 4096) blob[i] = i % 251;
    const first = blob.subarray(0, 2 * 1024 * 1024);
    let dd = await startDrydock({ dataDir: data });
    started.push(dd);
    let r = await fetch(`${dd.url}/v2/restart/test/blobs/uploads/`, { method: "POST" });
    expect(r.status).toBe(202);
    const location = r.headers.get("location")!;
    r = await fetch(`${dd.url}${location}`, {
      method: "PATCH",
      body: first,
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${first.length - 1}` },
    });
    expect(r.status).toBe(202);
    if (signal === "SIGKILL") await dd.kill9();
    else await dd.stop();

    dd = await startDrydock({ dataDir: data });
    started.push(dd);
    r = await fetch(`${dd.url}${location}`);
    expect(r.status).toBe(204);
    expect(r.headers.get("range")).toBe(`0-${first.length - 1}`);
    const rest = blob.subarray(first.length);
    r = await fetch(`${dd.url}${location}?digest=${sha(blob)}`, {
      method: "PUT",
      body: rest,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Range": `${first.length}-${blob.length - 1}`,
      },
    });
    expect(r.status).toBe(201);
    const got = Buffer.from(
      await (await fetch(`${dd.url}/v2/restart/test/blobs/${sha(blob)}`)).arrayBuffer(),
    );
    expect(sha(got)).toBe(sha(blob));
    await dd.stop();
    await rm(data, { recursive: true, force: true });
  });
});

const skip = missingShared();
if (skip) console.warn(`kill -9 consistency test skipped: ${skip}`);

describe.skipIf(skip !== null)("kill -9 during pushes leaves a consistent store", () => {
  const images = ["debian-bookworm-multi", "node-app", "java-app"];

  /** Everything visible through the API is whole, and every stored file matches its digest. */
  async function checkConsistent(dd: Drydock): Promise<number> {
    let checkedTags = 0;
    const cat = (await (await fetch(`${dd.url}/v2/_catalog`)).json()) as { repositories: string[] };
    for (const repo of cat.repositories) {
      const tags = (await (await fetch(`${dd.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
      for (const tag of tags.tags) {
        const r = await fetch(`${dd.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: "*/*" } });
        expect(r.status, `${repo}:${tag}`).toBe(200);
        const body = Buffer.from(await r.arrayBuffer());
        expect(sha(body)).toBe(r.headers.get("docker-content-digest"));
        const m = JSON.parse(body.toString()) as {
          config?: { digest: string };
          layers?: { digest: string }[];
        };
        for (const d of [m.config?.digest, ...(m.layers ?? []).map((l) => l.digest)].filter(Boolean)) {
          const h = await fetch(`${dd.url}/v2/${repo}/blobs/${d}`, { method: "HEAD" });
          expect(h.status, `${repo}:${tag} blob ${d}`).toBe(200);
        }
        checkedTags++;
      }
    }
    // Every published blob file holds exactly the bytes its name says.
    const base = join(dd.dataDir, "blobs", "sha256");
    for (const prefix of await readdir(base).catch(() => [])) {
      for (const name of await readdir(join(base, prefix))) {
        expect(await sha256File(join(base, prefix, name))).toBe(name);
      }
    }
    return checkedTags;
  }

  it("survives repeated kills at random moments, then completes the pushes", async () => {
    const data = await mkdtemp(join(tmpdir(), "drydock-kill9-"));
    let dd = await startDrydock({ dataDir: data });
    const delays = [150, 400, 700, 1000, 250, 550];
    let interrupted = 0;
    try {
      for (const [i, delay] of delays.entries()) {
        const pushes = images.map((img) =>
          skopeo([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            `oci:${ociLayout(img)}:latest`,
            `docker://${dd.addr}/crash/${img}:run${i}`,
          ]),
        );
        await new Promise((r) => setTimeout(r, delay));
        await dd.kill9();
        interrupted += (await Promise.all(pushes)).filter((r) => r.code !== 0).length;
        dd = await startDrydock({ dataDir: data });
        await checkConsistent(dd);
      }
      // The kills really landed mid-push (else this test proves nothing).
      expect(interrupted).toBeGreaterThan(0);
      // The metadata database is intact.
      await dd.stop();
      const db = new Database(join(data, "meta.db"), { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
      dd = await startDrydock({ dataDir: data });
      // And the registry still accepts and serves the same pushes completely.
      for (const img of images) {
        const r = await skopeo([
          "copy",
          "--quiet",
          "--preserve-digests",
          "--dest-tls-verify=false",
          `oci:${ociLayout(img)}:latest`,
          `docker://${dd.addr}/crash/${img}:final`,
        ]);
        expect(r.code, r.stderr).toBe(0);
      }
      expect(await checkConsistent(dd)).toBeGreaterThanOrEqual(images.length);
    } finally {
      await dd.stop();
      await rm(data, { recursive: true, force: true });
    }
  });
});
