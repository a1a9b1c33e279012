import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, run, startDrydock, type Drydock } from "./harness.js";

/** The process around the registry: health, metrics, logs, CLI help, gc. */

const cli = join(repoRoot, "dist/cli/main.js");
const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function pushBlob(dd: Drydock, repo: string, data: Buffer): Promise<string> {
  const r = await fetch(`${dd.url}/v2/${repo}/blobs/uploads/?digest=${sha(data)}`, {
    method: "POST",
    body: new Uint8Array(data),
    headers: { "Content-Type": "application/octet-stream" },
  });
  expect(r.status).toBe(201);
  return sha(data);
}

function metric(text: string, name: string, labels = ""): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(name + (labels ? `{${labels}` : "")) && !l.startsWith("#"));
  return line ? Number(line.split(" ").pop()) : NaN;
}

describe("drydock serve: health, metrics and logs", () => {
  let dd: Drydock;
  beforeAll(async () => {
    dd = await startDrydock({ config: { gc: { intervalMinutes: 0.01, gracePeriodMinutes: 0 } } });
  });
  afterAll(async () => dd?.destroy());

  it("GET /healthz reports ok", async () => {
    const r = await fetch(`${dd.url}/healthz`);
    expect(r.status).toBe(200);
    // Alive without a vulnerability database (this test server has none, updates off): it says how to get one.
    expect(await r.json()).toEqual({
      status: "ok",
      vulndb: { status: "missing", message: expect.stringContaining("drydock db import PATH --data") },
    });
  });

  it("GET /metrics counts requests, bytes in and out, upload sessions and storage size", async () => {
    const data = Buffer.alloc(100_000, 1);
    const digest = await pushBlob(dd, "metrics/test", data);
    const started = await fetch(`${dd.url}/v2/metrics/test/blobs/uploads/`, { method: "POST" });
    expect(started.status).toBe(202);
    await (await fetch(`${dd.url}/v2/metrics/test/blobs/${digest}`)).arrayBuffer();
    const r = await fetch(`${dd.url}/metrics`);
    expect(r.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await r.text();
    expect(metric(text, "drydock_http_requests_total", 'method="POST",route="uploads",status="201"')).toBe(1);
    expect(metric(text, "drydock_http_received_bytes_total", 'route="blob"')).toBe(100_000);
    expect(metric(text, "drydock_http_sent_bytes_total", 'route="blob"')).toBe(100_000);
    expect(metric(text, "drydock_registry_upload_sessions")).toBe(1);
    expect(metric(text, "drydock_storage_bytes")).toBeGreaterThanOrEqual(100_000);
  });

  it("counts blob bytes sent with chunked transfer encoding (no Content-Length)", async () => {
    const started = await fetch(`${dd.url}/v2/metrics/chunked/blobs/uploads/`, { method: "POST" });
    const before = metric(
      await (await fetch(`${dd.url}/metrics`)).text(),
      "drydock_http_received_bytes_total",
      'route="blob"',
    );
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(30_000).fill(2));
        c.enqueue(new Uint8Array(20_000).fill(3));
        c.close();
      },
    });
    const r = await fetch(`${dd.url}${started.headers.get("location")}`, {
      method: "PATCH",
      body,
      duplex: "half",
      headers: { "Content-Type": "application/octet-stream" },
    } as RequestInit);
    expect(r.status).toBe(202);
    expect(r.headers.get("range")).toBe("0-49999");
    const after = metric(
      await (await fetch(`${dd.url}/metrics`)).text(),
      "drydock_http_received_bytes_total",
      'route="blob"',
    );
    expect(after - before).toBe(50_000);
  });

  it("writes structured JSON logs, with the open-on-loopback warning once", () => {
    const lines = dd
      .logs()
      .split("\n")
      .filter((l) => l.trim());
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(parsed.filter((l) => /open to anyone on loopback/.test(l.msg))).toHaveLength(1);
  });

  it("runs garbage collection on its schedule", async () => {
    // An unreferenced blob with a zero grace period is collected by the scheduled run (every 0.6 s).
    const digest = await pushBlob(dd, "gc/scheduled", Buffer.from("collect me"));
    const path = join(dd.dataDir, "blobs", "sha256", digest.slice(7, 9), digest.slice(7));
    expect(existsSync(path)).toBe(true);
    const deadline = Date.now() + 10_000;
    while (existsSync(path) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(path)).toBe(false);
    expect(dd.logs()).toMatch(/garbage collection finished/);
  });
});

describe("the drydock command", () => {
  it("explains every option in --help", async () => {
    const top = await run(process.execPath, [cli, "--help"]);
    expect(top.code).toBe(0);
    for (const cmd of ["serve", "gc", "hash-password"]) expect(top.stdout).toContain(cmd);
    const serve = await run(process.execPath, [cli, "serve", "--help"]);
    for (const opt of ["--listen", "--data", "--config", "--log-level"]) expect(serve.stdout).toContain(opt);
  });

  it("`drydock gc` reports and deletes unreferenced blobs while the server runs", async () => {
    const dd = await startDrydock({ config: { gc: { intervalMinutes: 0 } } });
    try {
      const digest = await pushBlob(dd, "gc/cli", Buffer.from("orphan for the CLI"));
      const dry = await run(process.execPath, [
        cli,
        "gc",
        "--data",
        dd.dataDir,
        "--grace-period",
        "0",
        "--dry-run",
      ]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ blobsDeleted: 1, dryRun: true });
      expect((await fetch(`${dd.url}/v2/gc/cli/blobs/${digest}`, { method: "HEAD" })).status).toBe(200);
      const real = await run(process.execPath, [cli, "gc", "--data", dd.dataDir, "--grace-period", "0"]);
      expect(JSON.parse(real.stdout)).toMatchObject({ blobsDeleted: 1, dryRun: false });
      expect((await fetch(`${dd.url}/v2/gc/cli/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
      expect((await fetch(`${dd.url}/v2/`)).status).toBe(200);
    } finally {
      await dd.destroy();
    }
  });

  it("refuses an invalid configuration with exit code 2 and the field name", async () => {
    const r = await run(process.execPath, [cli, "serve", "--listen", "nonsense"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/listen must be HOST:PORT/);
  });
});
