import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobWorker } from "../../jobs/worker.js";
import { RegistryService } from "../../registry/service.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import {
  ATTESTATION_ARTIFACT_TYPE,
  ScanAttestor,
  VULN_PREDICATE_TYPE,
  verifiedScanAttestations,
} from "./attest.js";
import { DsseError, pae, parseDsse, signDsse, verifyDsse } from "./dsse.js";
import { parsePublicKey } from "./keys.js";
import { storeReader } from "./reader.js";
import { pushTestImage } from "./testing.js";

const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const publicKey = parsePublicKey(
  "drydock",
  pair.publicKey.export({ format: "pem", type: "spki" }).toString(),
);
const privatePem = pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();

describe("DSSE", () => {
  it("encodes PAE as the DSSE specification's example", () => {
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  it("verifies what it signs, and nothing else", () => {
    const env = parseDsse(signDsse("application/vnd.in-toto+json", Buffer.from("{}"), pair.privateKey));
    expect(verifyDsse(env, [publicKey])).toBe("drydock");
    expect(verifyDsse({ ...env, payloadType: "text/plain" }, [publicKey])).toBeNull();
    expect(verifyDsse({ ...env, payload: Buffer.from("{ }") }, [publicKey])).toBeNull();
  });

  it("parses arbitrary bytes and JSON to a value or DsseError", () => {
    const check = (b: Uint8Array) => {
      try {
        verifyDsse(parseDsse(b), [publicKey]);
      } catch (e) {
        if (!(e instanceof DsseError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), check), { numRuns: 500 });
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), (t, p, s) =>
        check(Buffer.from(JSON.stringify({ payloadType: t, payload: p, signatures: s }))),
      ),
      { numRuns: 500 },
    );
  });
});

describe("Drydock's scan attestation", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let reg: RegistryService;
  let worker: JobWorker | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-attest-"));
    blobs = await FsBlobStore.open(dir);
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    reg = new RegistryService(meta, blobs, {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "000000000000", region: "us-east-1" },
    });
  });
  afterEach(async () => {
    await worker?.stop();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("attaches a signed in-toto vuln attestation that verifies with the public key", async () => {
    const img = await pushTestImage(reg, "prod/api", "1");
    const repositoryId = (await meta.registry.repositoryId("prod/api"))!;
    const attestor = new ScanAttestor(meta, { privateKey: privatePem });
    attestor.target = reg;
    const started = Date.parse("2026-12-07T08:00:00Z");
    await meta.tx((tx) =>
      attestor.scanCompleted(tx, {
        repository: "prod/api",
        repositoryId,
        digest: img.digest,
        scanType: "BASIC",
        startedAt: started,
        finishedAt: started + 1500,
        severityCounts: { HIGH: 2, CRITICAL: 1 },
        databaseBuiltAt: Date.parse("2026-12-07T00:00:00Z"),
      }),
    );
    worker = new JobWorker(meta, attestor.jobHandlers() as never, {
      concurrency: 1,
      maxAttempts: 3,
      retryBaseMs: 10,
      leaseMs: 5_000,
      pollIntervalMs: 10,
    });
    void worker.start(false);
    const reader = storeReader(meta, blobs);
    let found: Awaited<ReturnType<typeof verifiedScanAttestations>> = [];
    for (let i = 0; i < 200 && !found.length; i++) {
      await new Promise((r) => setTimeout(r, 20));
      found = await verifiedScanAttestations(reader, repositoryId, img.digest, [publicKey]);
    }
    expect(found).toHaveLength(1);
    expect(found[0]!.key).toBe("drydock");
    const st = found[0]!.statement as {
      _type: string;
      subject: { digest: { sha256: string } }[];
      predicateType: string;
      predicate: {
        scanner: { db: { version: string }; result: { severityCounts: object; total: number } };
        metadata: object;
      };
    };
    expect(st._type).toBe("https://in-toto.io/Statement/v1");
    expect(st.subject[0]!.digest.sha256).toBe(img.digest.slice(7));
    expect(st.predicateType).toBe(VULN_PREDICATE_TYPE);
    expect(st.predicate.scanner.result).toEqual({ severityCounts: { CRITICAL: 1, HIGH: 2 }, total: 3 });
    expect(st.predicate.scanner.db.version).toBe("2026-12-07T00:00:00.000Z");
    expect(st.predicate.metadata).toEqual({
      scanStartedOn: "2026-12-07T08:00:00.000Z",
      scanFinishedOn: "2026-12-07T08:00:01.500Z",
    });
    // A normal referrer of the image, listed by the referrers API.
    const index = JSON.parse((await reg.referrers("prod/api", img.digest)).toString()) as {
      manifests: { artifactType: string }[];
    };
    expect(index.manifests.map((m) => m.artifactType)).toEqual([ATTESTATION_ARTIFACT_TYPE]);
    // Another key does not verify it.
    const other = generateKeyPairSync("ed25519");
    const otherKey = parsePublicKey(
      "other",
      other.publicKey.export({ format: "pem", type: "spki" }).toString(),
    );
    expect(await verifiedScanAttestations(reader, repositoryId, img.digest, [otherKey])).toEqual([]);
  });
});
