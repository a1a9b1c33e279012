import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  coseEnvelope,
  cosignSignatureManifest,
  jwsEnvelope,
  makeTestPki,
  notationSignatureManifest,
  oneLayerImage,
  signBlob,
  simpleSigningPayload,
  type BuiltArtifact,
} from "../../src/policy/signatures/testing.js";
import Database from "better-sqlite3";
import {
  clientsDir,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  sharedDir,
  startDrydock,
  type Drydock,
  type RunResult,
} from "./harness.js";
import { Client, sha256 } from "./registry-http.js";
import { encryptedSigstoreKey } from "./sigstore-key.js";

/**
 * Signature verification with the real clients here. Debian's skopeo 1.9 and podman 4.3 are
 * built with sigstore signing and verification disabled ("Debian-local change: sigstore
 * disabled"), and cosign/notation are not installable: so the signatures are made by the test
 * to cosign's format, and skopeo and podman carry them as they do in real use: with
 * `use-sigstore-attachments: true` they read the `sha256-<hex>.sig` attachment of the source
 * and write it beside the copied image, in their own encoding. Drydock then verifies what the
 * clients wrote (`drydock signatures verify`). The signing attempt itself is made too (with a
 * key in the encrypted sigstore format they read): should a build sign, its signature must verify.
 * The referrer form and Notation (JWS, COSE) are pushed over HTTP, built to their specifications.
 */

const skip = missingShared();
if (skip) console.warn(`signatures e2e skipped: ${skip}`);

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

interface VulnStatement {
  predicateType: string;
  subject: { digest: { sha256: string } }[];
  predicate: { scanner: { result: { severityCounts: Record<string, number> } } };
}
const cli = join(repoRoot, "dist/cli/main.js");
const spki = (k: KeyObject) => k.export({ format: "pem", type: "spki" }).toString();

describe.skipIf(skip !== null)("signatures made and carried by real clients", () => {
  let dd: Drydock;
  let work: string;
  let configFile: string;
  let http: Client;
  const release = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" });
  /** Drydock's own attestation key. */
  const attest = generateKeyPairSync("ed25519");
  let pki: Awaited<ReturnType<typeof makeTestPki>>;
  let tiny: { digest: string; size: number; mediaType: string };
  let podmanRun: (args: string[]) => Promise<RunResult>;

  const verify = (image: string, ...extra: string[]) =>
    run(process.execPath, [cli, "signatures", "verify", image, "-c", configFile, "-d", dd.dataDir, ...extra]);

  async function push(repo: string, ref: string, a: BuiltArtifact): Promise<string> {
    for (const b of a.blobs) expect((await http.pushBlob(repo, b)).status).toBe(201);
    const r = await http.pushManifest(repo, ref, a.manifest, a.mediaType);
    expect(r.status, r.text).toBe(201);
    return r.header("docker-content-digest")!;
  }

  /** A one-file image with an uncompressed layer: podman pushes it back unchanged, signatures kept. */
  async function pushTinyImage(repo: string): Promise<{ digest: string; size: number; mediaType: string }> {
    const dir = join(work, "rootfs");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "hello.txt"), "signed by drydock's tests\n");
    const tar = await run("tar", [
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "-cf",
      join(work, "layer.tar"),
      "-C",
      dir,
      ".",
    ]);
    expect(tar.code, tar.stderr).toBe(0);
    const layer = await import("node:fs/promises").then((f) => f.readFile(join(work, "layer.tar")));
    const image = oneLayerImage(
      {
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [sha256(layer)] },
      },
      layer,
    );
    const digest = await push(repo, "1", image);
    return { digest, size: image.manifest.length, mediaType: OCI_MANIFEST };
  }

  /** cosign's `.sig` attachment of `digest` in `repo`, one layer per (key, repository the signature names). */
  async function attachCosign(repo: string, digest: string, sigs: [KeyObject, string][]): Promise<void> {
    const art = cosignSignatureManifest(
      sigs.map(([key, named]) => {
        const payload = simpleSigningPayload(`${dd.addr}/${named}:1`, digest);
        return { payload, signature: signBlob(key, payload) };
      }),
    );
    await push(repo, `sha256-${digest.slice(7)}.sig`, art);
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-signatures-"));
    pki = await makeTestPki(work, { caName: "acme" });
    await writeFile(join(work, "acme-ca.pem"), pki.caPem);
    await writeFile(join(work, "attest.key"), attest.privateKey.export({ format: "pem", type: "pkcs8" }));
    // A database for the attestation's scan (Debian advisories only: imported in about a second).
    const data = join(work, "data");
    const imp = await run(process.execPath, [
      cli,
      "db",
      "import",
      join(sharedDir, "vulndata/distro/debian"),
      "--db",
      join(data, "vulndb", "vulndb.sqlite"),
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    dd = await startDrydock({
      dataDir: data,
      config: {
        signatures: {
          attest: { enabled: true, privateKey: join(work, "attest.key") },
          keys: {
            release: { publicKey: spki(release.publicKey) },
            drydock: { publicKey: spki(attest.publicKey) },
          },
          trust: [{ repositories: ["signed/**"], keys: ["release"] }],
          notation: {
            trustStores: { acme: [join(work, "acme-ca.pem")] },
            trustPolicies: [
              {
                name: "acme",
                registryScopes: ["notary/**"],
                signatureVerification: { level: "strict" },
                trustStores: ["ca:acme"],
                trustedIdentities: ["x509.subject: O=Acme, CN=signer"],
              },
            ],
          },
        },
      },
    });
    configFile = join(dd.dataDir, "..", `drydock-config-${dd.addr.split(":")[1]}.json`);
    http = new Client(dd.url);
    // registries.d: skopeo takes --registries.d; podman reads $HOME/.config/containers/registries.d.
    const attachments = `docker:\n  ${dd.addr}:\n    use-sigstore-attachments: true\n`;
    await mkdir(join(work, "registries.d"));
    await writeFile(join(work, "registries.d", "drydock.yaml"), attachments);
    await mkdir(join(work, "home/.config/containers/registries.d"), { recursive: true });
    await writeFile(join(work, "home/.config/containers/registries.d/drydock.yaml"), attachments);
    await writeFile(join(work, "sigstore.key"), encryptedSigstoreKey(release.privateKey, "test-passphrase"));
    await writeFile(join(work, "passphrase"), "test-passphrase");
    const global = [
      "--root",
      join(work, "podman/root"),
      "--runroot",
      join(work, "podman/run"),
      "--tmpdir",
      join(work, "podman/tmp"),
    ];
    podmanRun = (args) =>
      run("podman", [...global, "--storage-driver", "overlay", ...args], {
        env: { HOME: join(work, "home"), CONTAINERS_CONF: join(clientsDir, "containers.conf") },
        timeoutMs: 60_000,
      });

    tiny = await pushTinyImage("staging/tiny");
    // The image's signature as cosign writes it, naming the two repositories it is copied to.
    await attachCosign("staging/tiny", tiny.digest, [
      [release.privateKey, "signed/skopeo"],
      [release.privateKey, "signed/podman"],
    ]);
  }, 60_000);

  afterAll(async () => {
    await podmanRun?.(["rmi", "--all", "--force"]);
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const skopeo = (...args: string[]) =>
    run("skopeo", ["--registries.d", join(work, "registries.d"), ...args], { timeoutMs: 60_000 });

  it("verifies the .sig attachment skopeo copied with the image", async () => {
    const c = await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      `docker://${dd.addr}/staging/tiny:1`,
      `docker://${dd.addr}/signed/skopeo:1`,
    );
    expect(c.code, c.stderr).toBe(0);
    const tags = (await http.req("GET", "/v2/signed/skopeo/tags/list")).json<{ tags: string[] }>().tags;
    expect(tags).toContain(`sha256-${tiny.digest.slice(7)}.sig`);
    const v = await verify("signed/skopeo:1");
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toBe(`verified: cosign signature by release (tag) of signed/skopeo@${tiny.digest}\n`);
    // The same signature in a repository it does not name, with a key it was not made with.
    const j = JSON.parse((await verify("signed/skopeo:1", "--key", "release", "--json")).stdout) as {
      verified: boolean;
    };
    expect(j.verified).toBe(true);
  });

  it("verifies the signature podman pulled with the image and pushed with it", async () => {
    const pull = await podmanRun(["pull", "--tls-verify=false", `${dd.addr}/staging/tiny:1`]);
    expect(pull.code, pull.stderr).toBe(0);
    const p = await podmanRun([
      "push",
      "--tls-verify=false",
      `${dd.addr}/staging/tiny:1`,
      `docker://${dd.addr}/signed/podman:1`,
    ]);
    expect(p.code, p.stderr).toBe(0);
    const v = await verify("signed/podman:1");
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain("verified: cosign signature by release (tag)");
  });

  it("signing by skopeo and podman themselves: verified if this build signs, else Debian's refusal", async () => {
    const key = [
      "--sign-by-sigstore-private-key",
      join(work, "sigstore.key"),
      "--sign-passphrase-file",
      join(work, "passphrase"),
    ];
    const s = await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      ...key,
      `docker://${dd.addr}/staging/tiny:1`,
      `docker://${dd.addr}/signed/skopeo-signed:1`,
    );
    const p = await podmanRun([
      "push",
      "--tls-verify=false",
      ...key,
      `${dd.addr}/staging/tiny:1`,
      `docker://${dd.addr}/signed/podman-signed:1`,
    ]);
    for (const [r, image] of [
      [s, "signed/skopeo-signed:1"],
      [p, "signed/podman-signed:1"],
    ] as const) {
      if (r.code === 0) expect((await verify(image)).code).toBe(0);
      else expect(r.stderr).toMatch(/sigstore disabled/);
    }
  });

  it("refuses a wrong key, a tampered manifest carrying the original signature, and an unsigned image", async () => {
    const wrong = await pushTinyImage("staging/wrong");
    // staging/wrong holds the same image: replace its signature with one by an unknown key.
    await attachCosign("staging/wrong", wrong.digest, [[stranger.privateKey, "signed/wrong"]]);
    expect(
      (
        await skopeo(
          "copy",
          "--src-tls-verify=false",
          "--dest-tls-verify=false",
          `docker://${dd.addr}/staging/wrong:1`,
          `docker://${dd.addr}/signed/wrong:1`,
        )
      ).code,
    ).toBe(0);
    const w = await verify("signed/wrong:1");
    expect(w.code).toBe(1);
    expect(w.stdout).toBe("not verified: cosign signature (tag) by an untrusted key\n");

    // A tampered manifest (another digest) with the signature skopeo stored for the original.
    const original = await http.req("GET", `/v2/signed/skopeo/manifests/${tiny.digest}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    const tampered = Buffer.from(
      original.text.replace('"schemaVersion":2', '"schemaVersion":2,"annotations":{"x":"tampered"}'),
    );
    const tamperedDigest = (
      await http.pushManifest("signed/skopeo", "tampered", tampered, OCI_MANIFEST)
    ).header("docker-content-digest")!;
    const sig = await http.req("GET", `/v2/signed/skopeo/manifests/sha256-${tiny.digest.slice(7)}.sig`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(
      (
        await http.pushManifest(
          "signed/skopeo",
          `sha256-${tamperedDigest.slice(7)}.sig`,
          sig.body,
          OCI_MANIFEST,
        )
      ).status,
    ).toBe(201);
    const t = await verify("signed/skopeo:tampered");
    expect(t.code).toBe(1);
    expect(t.stdout).toContain(`not verified: cosign signature (tag) is for another digest ${tiny.digest}`);

    const u = await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      "--remove-signatures",
      `docker://${dd.addr}/staging/tiny:1`,
      `docker://${dd.addr}/signed/unsigned:1`,
    );
    expect(u.code, u.stderr).toBe(0);
    const n = await verify("signed/unsigned:1");
    expect([n.code, n.stdout]).toEqual([1, "not verified: no signature found\n"]);
  });

  it("verifies cosign's OCI 1.1 referrer form and Notation JWS and COSE envelopes pushed over HTTP", async () => {
    const img = await pushTinyImage("signed/referrer");
    const payload = simpleSigningPayload(`${dd.addr}/signed/referrer@${img.digest}`, img.digest);
    await push(
      "signed/referrer",
      "cosign-sig",
      cosignSignatureManifest([{ payload, signature: signBlob(release.privateKey, payload) }], img),
    );
    const r = await verify(`signed/referrer@${img.digest}`);
    expect(r.stdout).toBe(
      `verified: cosign signature by release (referrer) of signed/referrer@${img.digest}\n`,
    );

    const jws = await pushTinyImage("notary/jws");
    await push(
      "notary/jws",
      "notation-jws",
      notationSignatureManifest(jwsEnvelope(jws, pki.leaf), "application/jose+json", jws),
    );
    expect((await verify("notary/jws:1")).stdout).toBe(
      `verified: notation signature by acme (referrer) of notary/jws@${jws.digest}\n`,
    );
    const cose = await pushTinyImage("notary/cose");
    await push(
      "notary/cose",
      "notation-cose",
      notationSignatureManifest(await coseEnvelope(cose, pki.leaf), "application/cose", cose),
    );
    expect((await verify("notary/cose:1")).code).toBe(0);
    // Referrer listing shows both forms as normal referrers of their subjects.
    const idx = (await http.req("GET", `/v2/notary/cose/referrers/${cose.digest}`)).json<{
      manifests: { artifactType: string }[];
    }>();
    expect(idx.manifests.map((m) => m.artifactType)).toEqual(["application/vnd.cncf.notary.signature"]);
  });

  it("attaches Drydock's signed scan result to a scanned image, itself never scanned", async () => {
    const db = new Database(join(dd.dataDir, "meta.db"));
    try {
      db.pragma("busy_timeout = 5000");
      db.prepare(
        "INSERT INTO scan_settings (key, value, updated_at) VALUES ('registry', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(
        JSON.stringify({
          scanType: "BASIC",
          rules: [
            {
              scanFrequency: "SCAN_ON_PUSH",
              repositoryFilters: [{ filter: "attested/*", filterType: "WILDCARD" }],
            },
          ],
        }),
        Date.now(),
      );
    } finally {
      db.close();
    }
    const layout = ociLayout("debian-bookworm-minimal");
    const c = await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout}`,
      `docker://${dd.addr}/attested/debian:1`,
    );
    expect(c.code, c.stderr).toBe(0);
    const digest = manifestDigestOfLayout(layout);
    let a: RunResult | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      a = await run(process.execPath, [
        cli,
        "signatures",
        "attestations",
        "attested/debian:1",
        "--key",
        "drydock",
        "--json",
        "-c",
        configFile,
        "-d",
        dd.dataDir,
      ]);
      if (a.code === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(a?.code, `${a?.stdout}${a?.stderr}\n${dd.logs()}`).toBe(0);
    const st = (JSON.parse(a!.stdout.split("\n")[0]!) as { statement: VulnStatement }).statement;
    expect(st.predicateType).toBe("https://cosign.sigstore.dev/attestation/vuln/v1");
    expect(st.subject[0]!.digest.sha256).toBe(digest.slice(7));
    // The image's scan only: the attestation referrer was not scanned.
    const ro = new Database(join(dd.dataDir, "meta.db"), { readonly: true });
    try {
      const scanned = ro
        .prepare(
          "SELECT s.digest, s.status, s.severity_counts FROM image_scans s JOIN repositories r ON r.id = s.repository_id WHERE r.name = ?",
        )
        .all("attested/debian") as { digest: string; status: string; severity_counts: string | null }[];
      expect(scanned.map((x) => [x.digest, x.status])).toEqual([[digest, "COMPLETE"]]);
      // The attested counts are the scan's.
      expect(st.predicate.scanner.result.severityCounts).toEqual(
        JSON.parse(scanned[0]!.severity_counts ?? "{}"),
      );
    } finally {
      ro.close();
    }
  }, 90_000);
});
