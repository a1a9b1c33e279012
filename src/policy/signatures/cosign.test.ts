import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryService } from "../../registry/service.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { createSignatureVerifier, type DrydockSignatureVerifier, type SignaturesConfig } from "./index.js";
import {
  cosignSignatureManifest,
  pushArtifact,
  pushTestImage,
  signBlob,
  simpleSigningPayload,
} from "./testing.js";

/**
 * cosign verification against a real registry (RegistryService over SQLite and files): the
 * signatures are built to cosign's format by the tests and pushed as any client pushes them.
 */

const pem = (k: KeyObject) => k.export({ format: "pem", type: "spki" }).toString();
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("ec", { namedCurve: "P-256" });

function config(over: Partial<SignaturesConfig> = {}): SignaturesConfig {
  return {
    keys: {
      ec: { publicKey: pem(ec.publicKey) },
      ed: { publicKey: pem(ed.publicKey) },
      rsa: { publicKey: pem(rsa.publicKey) },
    },
    trust: [{ repositories: ["prod/**"], keys: ["ec", "ed", "rsa"] }],
    identity: "repository",
    notation: { trustStores: {}, trustPolicies: [] },
    cacheSeconds: 60,
    attest: { enabled: false },
    ...over,
  };
}

describe("cosign signatures", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let reg: RegistryService;
  let v: DrydockSignatureVerifier;
  const repo = "prod/api";

  function start(c: SignaturesConfig = config()) {
    v = createSignatureVerifier({ meta, blobs, config: c });
    reg = new RegistryService(
      meta,
      blobs,
      {
        maxManifestBytes: 4 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: "000000000000", region: "us-east-1" },
      },
      [v.hooks],
    );
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-cosign-"));
    blobs = await FsBlobStore.open(dir);
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    start();
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sigTag = (digest: string) => `sha256-${digest.slice(7)}.sig`;
  async function signTag(
    key: KeyObject,
    digest: string,
    o: { ref?: string; claim?: string; pss?: boolean } = {},
  ) {
    const payload = simpleSigningPayload(o.ref ?? `registry.example.com:5000/${repo}:1`, o.claim ?? digest);
    const art = cosignSignatureManifest([{ payload, signature: signBlob(key, payload, { pss: o.pss }) }]);
    return pushArtifact(reg, repo, sigTag(digest), art);
  }

  it("verifies the tag form with ECDSA P-256, Ed25519, RSA PKCS#1 v1.5 and RSA-PSS keys", async () => {
    const cases: [KeyObject, string, boolean?][] = [
      [ec.privateKey, "ec"],
      [ed.privateKey, "ed"],
      [rsa.privateKey, "rsa"],
      [rsa.privateKey, "rsa", true],
    ];
    for (const [i, [key, name, pss]] of cases.entries()) {
      const img = await pushTestImage(reg, repo, `v${i}`, `layer-${i}`);
      await signTag(key, img.digest, { pss });
      expect(await v.verifyImage({ repository: repo, digest: img.digest })).toEqual({
        verified: true,
        by: [{ kind: "cosign", key: name, form: "tag" }],
        reasons: [],
      });
    }
  });

  it("verifies the OCI 1.1 referrer form", async () => {
    const img = await pushTestImage(reg, repo, "1");
    const payload = simpleSigningPayload(`${repo}@${img.digest}`, img.digest);
    await pushArtifact(
      reg,
      repo,
      "ref-sig",
      cosignSignatureManifest([{ payload, signature: signBlob(ed.privateKey, payload) }], img),
    );
    const verdict = await v.verifyImage({ repository: repo, digest: img.digest });
    expect(verdict.by).toEqual([{ kind: "cosign", key: "ed", form: "referrer" }]);
  });

  it("refuses an unsigned image, a wrong key, a signature of another digest and a tampered payload", async () => {
    const a = await pushTestImage(reg, repo, "a", "a");
    expect(await v.verifyImage({ repository: repo, digest: a.digest })).toEqual({
      verified: false,
      by: [],
      reasons: ["no signature found"],
    });

    const b = await pushTestImage(reg, repo, "b", "b");
    await signTag(other.privateKey, b.digest);
    expect((await v.verifyImage({ repository: repo, digest: b.digest })).reasons).toEqual([
      "cosign signature (tag) by an untrusted key",
    ]);

    // A valid signature of image a, stored as if it were b's: the payload names a.
    const c = await pushTestImage(reg, repo, "c", "c");
    await signTag(ec.privateKey, c.digest, { claim: a.digest });
    expect((await v.verifyImage({ repository: repo, digest: c.digest })).reasons).toEqual([
      `cosign signature (tag) is for another digest ${a.digest}`,
    ]);

    // The payload changed after signing (its claim edited to c's digest): no key verifies it.
    const d = await pushTestImage(reg, repo, "d", "d");
    const signed = simpleSigningPayload(`x/${repo}:1`, a.digest);
    const edited = Buffer.from(signed.toString().replace(a.digest, d.digest));
    await pushArtifact(
      reg,
      repo,
      sigTag(d.digest),
      cosignSignatureManifest([{ payload: edited, signature: signBlob(ec.privateKey, signed) }]),
    );
    const verdict = await v.verifyImage({ repository: repo, digest: d.digest });
    expect(verdict.verified).toBe(false);
    expect(verdict.reasons).toEqual(["cosign signature (tag) by an untrusted key"]);
  });

  it("checks the docker-reference's repository unless identity is ignore", async () => {
    const img = await pushTestImage(reg, repo, "1");
    await signTag(ec.privateKey, img.digest, { ref: "registry.example.com/prod/other:1" });
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).reasons).toEqual([
      "cosign signature (tag) is for another repository (registry.example.com/prod/other:1)",
    ]);
    start(config({ identity: "ignore" }));
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(true);
  });

  it("uses the keys a policy names, else the trust entries matching the repository", async () => {
    const img = await pushTestImage(reg, repo, "1");
    await signTag(ed.privateKey, img.digest);
    expect((await v.verifyImage({ repository: repo, digest: img.digest, keys: ["ec"] })).verified).toBe(
      false,
    );
    expect((await v.verifyImage({ repository: repo, digest: img.digest, keys: ["ec", "ed"] })).by).toEqual([
      { kind: "cosign", key: "ed", form: "tag" },
    ]);
    expect((await v.verifyImage({ repository: repo, digest: img.digest, keys: ["nope"] })).reasons).toEqual([
      "key nope is not configured",
      "no trusted keys configured for repository prod/api",
    ]);
    const dev = await pushTestImage(reg, "dev/api", "1");
    expect((await v.verifyImage({ repository: "dev/api", digest: dev.digest })).reasons).toEqual([
      "no trusted keys configured for repository dev/api",
    ]);
  });

  it("drops a cached verdict when a signature is pushed through the registry", async () => {
    const img = await pushTestImage(reg, repo, "1");
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(false);
    await signTag(ec.privateKey, img.digest);
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(true);
    await reg.deleteManifest(repo, sigTag(img.digest));
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(false);
  });

  it("reuses a verdict for cacheSeconds when the push happened elsewhere (another node)", async () => {
    const img = await pushTestImage(reg, repo, "1");
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(false);
    // The signature arrives through a registry without this verifier's hooks, as on another node.
    const cached = v;
    start();
    await signTag(ec.privateKey, img.digest);
    expect((await cached.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(false);
    cached.invalidate(repo, img.digest);
    expect((await cached.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(true);
  });

  it("never reads through the pull gate (beforeManifestServed)", async () => {
    const img = await pushTestImage(reg, repo, "1");
    await signTag(ec.privateKey, img.digest);
    const gated = new RegistryService(
      meta,
      blobs,
      {
        maxManifestBytes: 4 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: "000000000000", region: "us-east-1" },
      },
      [{ beforeManifestServed: () => Promise.reject(new Error("gated")) }],
    );
    await expect(gated.getManifest(repo, "1")).rejects.toThrow("gated");
    expect((await v.verifyImage({ repository: repo, digest: img.digest })).verified).toBe(true);
  });
});
