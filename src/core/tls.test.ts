import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { createHttpServer } from "../server.js";
import { ConfigError } from "./errors.js";
import { loadTlsPair, tlsFiles, watchTlsPair, type TlsFiles, type TlsPair } from "./tls.js";

/** A self-signed certificate for 127.0.0.1 and its key, as PEM files in `dir`. */
function makeCert(dir: string, name: string): TlsFiles & { fingerprint256: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      ...["-keyout", keyFile, "-out", certFile],
    ],
    { stdio: "pipe" },
  );
  const { fingerprint256 } = new X509Certificate(readFileSync(certFile));
  return { certFile, keyFile, fingerprint256 };
}

/** A logger whose lines are kept, to assert on. */
function captureLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

let dir: string;
let a: ReturnType<typeof makeCert>;
let b: ReturnType<typeof makeCert>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-tls-"));
  a = makeCert(dir, "a");
  b = makeCert(dir, "b");
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the tls configuration section", () => {
  it("is off by default", () => {
    expect(tlsFiles(loadConfig({ env: {} }).tls)).toBeNull();
  });

  it("comes from DRYDOCK_TLS__CERT_FILE and DRYDOCK_TLS__KEY_FILE", () => {
    const config = loadConfig({
      env: { DRYDOCK_TLS__CERT_FILE: "/etc/drydock/tls.crt", DRYDOCK_TLS__KEY_FILE: "/etc/drydock/tls.key" },
    });
    expect(tlsFiles(config.tls)).toEqual({
      certFile: "/etc/drydock/tls.crt",
      keyFile: "/etc/drydock/tls.key",
    });
  });

  it.each([
    ["only certFile", { DRYDOCK_TLS__CERT_FILE: "/etc/drydock/tls.crt" }],
    ["only keyFile", { DRYDOCK_TLS__KEY_FILE: "/etc/drydock/tls.key" }],
  ])("%s is a ConfigError", (_what, env) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(/tls: tls.certFile and tls.keyFile must be set together/);
  });
});

describe("loadTlsPair", () => {
  it("reads a certificate and its key", () => {
    const pair = loadTlsPair(a);
    expect(pair.cert.toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("names a missing file", () => {
    const missing = { certFile: a.certFile, keyFile: join(dir, "nope.key") };
    expect(() => loadTlsPair(missing)).toThrow(ConfigError);
    expect(() => loadTlsPair(missing)).toThrow(/cannot read tls.keyFile .*nope\.key/);
  });

  it("refuses a key of another certificate, and a file that is not PEM", () => {
    expect(() => loadTlsPair({ certFile: a.certFile, keyFile: b.keyFile })).toThrow(
      /are not a usable certificate and key.*key values mismatch/,
    );
    expect(() => loadTlsPair({ certFile: join(dir, "a.key"), keyFile: a.keyFile })).toThrow(ConfigError);
  });
});

describe("watchTlsPair", () => {
  it("applies a changed pair that works, and keeps the pair in use when the new one is broken", async () => {
    const work = await mkdtemp(join(dir, "watch-"));
    const files = { certFile: join(work, "tls.crt"), keyFile: join(work, "tls.key") };
    await copyFile(a.certFile, files.certFile);
    await copyFile(a.keyFile, files.keyFile);
    const applied: TlsPair[] = [];
    const { log, lines } = captureLog();
    const w = watchTlsPair(files, loadTlsPair(files), (p) => applied.push(p), log, 60_000);
    try {
      expect(await w.reload()).toBe(false); // unchanged
      await copyFile(b.certFile, files.certFile); // the certificate first: a mismatched pair
      expect(await w.reload()).toBe(false);
      expect(lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/do not work together/) });
      await copyFile(b.keyFile, files.keyFile);
      expect(await w.reload()).toBe(true);
      expect(applied).toHaveLength(1);
      expect(applied[0]!.cert.equals(await readFile(b.certFile))).toBe(true);
      expect(lines.at(-1)).toMatchObject({ level: 30, msg: "TLS certificate reloaded" });
      await rm(files.keyFile);
      expect(await w.reload()).toBe(false);
      expect(lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/cannot be read/) });
      expect(applied).toHaveLength(1);
    } finally {
      w.close();
    }
  });
});

describe("HTTPS on the real server", () => {
  let app: FastifyInstance;
  let port: number;
  let files: TlsFiles;
  let lines: { level: number; msg: string }[];

  beforeAll(async () => {
    const work = await mkdtemp(join(dir, "server-"));
    files = { certFile: join(work, "tls.crt"), keyFile: join(work, "tls.key") };
    await copyFile(a.certFile, files.certFile);
    await copyFile(a.keyFile, files.keyFile);
    const captured = captureLog();
    lines = captured.lines;
    app = createHttpServer(captured.log, files);
    app.get("/hello", async () => ({ hello: "tls" }));
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app?.close();
  });

  /** GET /hello trusting only `ca`; resolves with the body and the served certificate's fingerprint. */
  async function get(ca: string): Promise<{ body: string; fingerprint256: string }> {
    const caPem = await readFile(ca);
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/hello", ca: caPem, agent: false }, (res) => {
        const { fingerprint256 } = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ body: Buffer.concat(chunks).toString(), fingerprint256 }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("serves the configured certificate", async () => {
    expect(await get(a.certFile)).toEqual({ body: '{"hello":"tls"}', fingerprint256: a.fingerprint256 });
    // A client that does not trust it is refused by its own check.
    await expect(get(b.certFile)).rejects.toThrow(/self[- ]signed|unable to verify/i);
  });

  it("serves a new pair once the files are replaced, without a restart", async () => {
    // As renewal tools do: new files written beside, then renamed over the old ones.
    await copyFile(b.keyFile, `${files.keyFile}.new`);
    await copyFile(b.certFile, `${files.certFile}.new`);
    await rename(`${files.keyFile}.new`, files.keyFile);
    await rename(`${files.certFile}.new`, files.certFile);
    const deadline = Date.now() + 10_000;
    let served = "";
    while (Date.now() < deadline) {
      served = (await get(b.certFile).catch(() => ({ fingerprint256: "" }))).fingerprint256;
      if (served === b.fingerprint256) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(served).toBe(b.fingerprint256);
    expect(lines.some((l) => l.msg === "TLS certificate reloaded")).toBe(true);
  });

  it("keeps serving the pair in use when the new files are broken", async () => {
    const before = lines.length;
    await writeFile(files.certFile, "not a certificate\n");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !lines.slice(before).some((l) => l.level === 40)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(lines.slice(before).find((l) => l.level === 40)?.msg).toMatch(/do not work together/);
    expect((await get(b.certFile)).fingerprint256).toBe(b.fingerprint256);
  });
});
