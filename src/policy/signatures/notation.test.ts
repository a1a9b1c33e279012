import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../core/errors.js";
import { RegistryService } from "../../registry/service.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { createSignatureVerifier, type SignaturesConfig } from "./index.js";
import {
  EnvelopeError,
  checkEnvelope,
  compileNotationPolicies,
  parseCoseEnvelope,
  parseJwsEnvelope,
} from "./notation.js";
import {
  coseEnvelope,
  jwsEnvelope,
  makeTestPki,
  notationSignatureManifest,
  pushArtifact,
  pushTestImage,
  type TestPki,
} from "./testing.js";

/**
 * Notation signatures: notation itself is not installable here, so the envelopes are built by
 * the tests to the Notary Project specification (JWS and COSE), with certificates made by openssl.
 */

type Level = "strict" | "permissive" | "audit" | "skip";

describe("notation signatures", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let reg: RegistryService;
  let ec: TestPki;
  let rsa: TestPki;
  let stranger: TestPki;
  const repo = "prod/api";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-notation-"));
    ec = await makeTestPki(dir, { caName: "acme" });
    rsa = await makeTestPki(dir, { caName: "acme-rsa", kind: "rsa", subject: "/C=US/O=Acme/CN=release" });
    stranger = await makeTestPki(dir, { caName: "stranger" });
    blobs = await FsBlobStore.open(join(dir, "blobs"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    reg = new RegistryService(meta, blobs, {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "000000000000", region: "us-east-1" },
    });
  });
  afterAll(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  function notation(
    level: Level = "strict",
    identities = ["x509.subject: O=Acme, CN=signer"],
  ): SignaturesConfig["notation"] {
    return {
      trustStores: { acme: [ec.caPem, join(dir, "acme-rsa.crt")] },
      trustPolicies: [
        {
          name: "acme",
          registryScopes: ["prod/**"],
          signatureVerification: { level },
          trustStores: ["ca:acme"],
          trustedIdentities: identities,
        },
      ],
    };
  }
  const verifier = (n = notation(), now?: () => number) =>
    createSignatureVerifier({
      meta,
      blobs,
      now,
      config: {
        keys: {},
        trust: [],
        identity: "repository",
        notation: n,
        cacheSeconds: 0,
        attest: { enabled: false },
      },
    });

  let n = 0;
  let img: { digest: string; size: number; mediaType: string };
  beforeEach(async () => {
    img = await pushTestImage(reg, repo, `t${++n}`, `layer-${n}`);
  });
  const attach = (env: Buffer, mt: "application/jose+json" | "application/cose") =>
    pushArtifact(reg, repo, `sig-${n}-${mt.length}-${env.length}`, notationSignatureManifest(env, mt, img));

  it("verifies a JWS envelope (ES256) and a COSE envelope (PS256) chained to the trust store", async () => {
    await attach(jwsEnvelope(img, ec.leaf), "application/jose+json");
    expect(await verifier().verifyImage({ repository: repo, digest: img.digest })).toEqual({
      verified: true,
      by: [{ kind: "notation", key: "acme", form: "referrer" }],
      reasons: [],
    });
    const other = await pushTestImage(reg, repo, "cose", "cose");
    img = other;
    await attach(await coseEnvelope(other, rsa.leaf), "application/cose");
    const v = verifier(notation("strict", ["x509.subject: CN=release, O=Acme"]));
    expect((await v.verifyImage({ repository: repo, digest: other.digest })).by).toEqual([
      { kind: "notation", key: "acme", form: "referrer" },
    ]);
    // The policy is named like a key: a gate can ask for it explicitly.
    expect((await v.verifyImage({ repository: repo, digest: other.digest, keys: ["acme"] })).verified).toBe(
      true,
    );
  });

  it("refuses an untrusted root, an untrusted identity, another digest and a tampered envelope", async () => {
    await attach(jwsEnvelope(img, stranger.leaf), "application/jose+json");
    expect((await verifier().verifyImage({ repository: repo, digest: img.digest })).reasons).toEqual([
      "notation signature by a certificate not issued by a trusted root",
    ]);

    img = await pushTestImage(reg, repo, "id", "id");
    await attach(jwsEnvelope(img, ec.leaf), "application/jose+json");
    expect(
      (
        await verifier(notation("strict", ["x509.subject: CN=someone-else"])).verifyImage({
          repository: repo,
          digest: img.digest,
        })
      ).reasons,
    ).toEqual(["notation signature by an untrusted identity C=US, O=Acme, CN=signer"]);

    const a = img;
    img = await pushTestImage(reg, repo, "other", "other");
    await attach(await coseEnvelope(a, ec.leaf), "application/cose");
    expect((await verifier().verifyImage({ repository: repo, digest: img.digest })).reasons).toEqual([
      `notation signature is for another digest ${a.digest}`,
    ]);

    img = await pushTestImage(reg, repo, "tampered", "tampered");
    const env = JSON.parse(jwsEnvelope(img, ec.leaf).toString()) as { signature: string };
    const sig = Buffer.from(env.signature, "base64url");
    sig[5] = sig[5]! ^ 1;
    env.signature = sig.toString("base64url");
    await attach(Buffer.from(JSON.stringify(env)), "application/jose+json");
    expect((await verifier().verifyImage({ repository: repo, digest: img.digest })).reasons).toEqual([
      "notation signature does not verify with its certificate",
    ]);
  });

  it("applies the levels: strict refuses an expired certificate, permissive accepts it, audit skips trust, skip verifies nothing", async () => {
    await attach(jwsEnvelope(img, stranger.leaf), "application/jose+json");
    await attach(await coseEnvelope(img, ec.leaf), "application/cose");
    const later = () => Date.now() + 20 * 86_400_000; // the leaf is valid 10 days
    const strict = await verifier(notation("strict"), later).verifyImage({
      repository: repo,
      digest: img.digest,
    });
    expect(strict.verified).toBe(false);
    expect(strict.reasons.some((r) => /CN=signer is not valid now/.test(r))).toBe(true);
    expect(
      (await verifier(notation("permissive"), later).verifyImage({ repository: repo, digest: img.digest }))
        .verified,
    ).toBe(true);
    // audit: the stranger's envelope is intact and names the image, so it passes too.
    const audit = compileNotationPolicies(notation("audit"))[0]!;
    expect(
      checkEnvelope(parseJwsEnvelope(jwsEnvelope(img, stranger.leaf)), img.digest, audit, Date.now()),
    ).toBeNull();
    expect(
      (await verifier(notation("skip")).verifyImage({ repository: repo, digest: img.digest })).reasons,
    ).toEqual(["no trusted keys configured for repository prod/api"]);
  });

  it("refuses bad trust configuration at start", () => {
    const base = notation();
    const bad: [SignaturesConfig["notation"], RegExp][] = [
      [
        { ...base, trustPolicies: [{ ...base.trustPolicies[0]!, trustStores: ["ca:nope"] }] },
        /trust store ca:nope is not configured/,
      ],
      [
        { ...base, trustPolicies: [{ ...base.trustPolicies[0]!, trustedIdentities: ["CN=x"] }] },
        /neither "\*" nor "x509.subject/,
      ],
      [
        { ...base, trustPolicies: [{ ...base.trustPolicies[0]!, trustedIdentities: [] }] },
        /trustedIdentities are required/,
      ],
      [
        { ...base, trustStores: { acme: ["-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----"] } },
        /no PEM CERTIFICATE/,
      ],
    ];
    for (const [c, msg] of bad) {
      expect(() => compileNotationPolicies(c)).toThrow(ConfigError);
      expect(() => compileNotationPolicies(c)).toThrow(msg);
    }
  });

  it("envelope parsers give a value or EnvelopeError on arbitrary and mutated input", async () => {
    const policy = compileNotationPolicies(notation())[0]!;
    const jws = jwsEnvelope(img, ec.leaf);
    const cose = await coseEnvelope(img, ec.leaf);
    const check = (parse: (b: Uint8Array) => unknown, b: Uint8Array) => {
      try {
        const env = parse(b) as Parameters<typeof checkEnvelope>[0];
        expect(typeof (checkEnvelope(env, img.digest, policy, Date.now()) ?? "")).toBe("string");
      } catch (e) {
        if (!(e instanceof EnvelopeError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (b) => {
        check(parseJwsEnvelope, b);
        check(parseCoseEnvelope, b);
      }),
      { numRuns: 1000 },
    );
    const mutate = (base: Buffer) =>
      fc
        .array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        })
        .map((edits) => {
          const b = Buffer.from(base);
          for (const [i, v] of edits) b[i] = v;
          return b;
        });
    fc.assert(
      fc.property(mutate(cose), (b) => check(parseCoseEnvelope, b)),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(mutate(jws), (b) => check(parseJwsEnvelope, b)),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (h, x5c) =>
        check(
          parseJwsEnvelope,
          Buffer.from(
            JSON.stringify({
              protected: Buffer.from(JSON.stringify(h) ?? "").toString("base64url"),
              payload: "",
              header: { x5c },
              signature: "",
            }),
          ),
        ),
      ),
      { numRuns: 300 },
    );
  });
});
