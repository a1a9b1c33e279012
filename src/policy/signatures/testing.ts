/**
 * Test support: signatures built to the formats' specifications (cosign simple-signing in tag
 * and referrer form), for the unit and end-to-end tests. Not used by the server.
 */
import { createHash, sign as cryptoSign, type KeyObject } from "node:crypto";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIGNATURE_TYPE,
  COSIGN_SIG_ARTIFACT_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "./simple-signing.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

export const sha256 = (b: Uint8Array | string): string =>
  `sha256:${createHash("sha256").update(b).digest("hex")}`;

export { signBlob } from "./sign.js";

export function simpleSigningPayload(
  dockerReference: string,
  digest: string,
  type = COSIGN_SIGNATURE_TYPE,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": digest },
        type,
      },
      optional: null,
    }),
  );
}

export interface BuiltArtifact {
  manifest: Buffer;
  mediaType: string;
  /** Blobs to push first: the config, then the layers. */
  blobs: Buffer[];
}

/**
 * A cosign signature manifest holding the given signed payloads: the tag form (an image
 * manifest with an image config, as cosign and containers/image write it), or with `subject`
 * the OCI 1.1 referrer form (artifactType set, empty config).
 */
export function cosignSignatureManifest(
  sigs: { payload: Buffer; signature: Buffer }[],
  subject?: { digest: string; size: number; mediaType: string },
): BuiltArtifact {
  const config = subject
    ? Buffer.from("{}")
    : Buffer.from(
        JSON.stringify({
          architecture: "",
          os: "",
          config: {},
          rootfs: { type: "layers", diff_ids: sigs.map((s) => sha256(s.payload)) },
        }),
      );
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(subject ? { artifactType: COSIGN_SIG_ARTIFACT_TYPE } : {}),
    config: {
      mediaType: subject ? OCI_EMPTY : "application/vnd.oci.image.config.v1+json",
      digest: sha256(config),
      size: config.length,
    },
    layers: sigs.map((s) => ({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: sha256(s.payload),
      size: s.payload.length,
      annotations: { [COSIGN_SIGNATURE_ANNOTATION]: s.signature.toString("base64") },
    })),
    ...(subject ? { subject } : {}),
  };
  return {
    manifest: Buffer.from(JSON.stringify(manifest)),
    mediaType: OCI_MANIFEST,
    blobs: [config, ...sigs.map((s) => s.payload)],
  };
}

/** What the tests push through: RegistryService's upload and manifest calls. */
export interface PushTarget {
  monolithicUpload(name: string, digest: string, body: import("node:stream").Readable): Promise<unknown>;
  putManifest(
    name: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: string }>;
}

/** Pushes an artifact's blobs then its manifest under `reference`; returns the manifest's digest. */
export async function pushArtifact(
  reg: PushTarget,
  repo: string,
  reference: string,
  a: BuiltArtifact,
): Promise<string> {
  const { Readable } = await import("node:stream");
  for (const b of a.blobs) await reg.monolithicUpload(repo, sha256(b), Readable.from([b]));
  return (await reg.putManifest(repo, reference, a.manifest, a.mediaType)).digest;
}

/** An OCI image of one uncompressed layer with this config (its manifest and blobs). */
export function oneLayerImage(config: object, layer: Buffer): BuiltArtifact {
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(configBytes),
        size: configBytes.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  return { manifest, mediaType: OCI_MANIFEST, blobs: [configBytes, layer] };
}

/** A small image (config and one layer) to sign; returns its descriptor. */
export async function pushTestImage(
  reg: PushTarget,
  repo: string,
  tag: string,
  seed = "layer",
): Promise<{ digest: string; size: number; mediaType: string }> {
  const image = oneLayerImage(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed },
    Buffer.from(seed),
  );
  const digest = await pushArtifact(reg, repo, tag, image);
  return { digest, size: image.manifest.length, mediaType: OCI_MANIFEST };
}

// --- Notation: certificates made with openssl, envelopes built to the Notary Project specification ---

export interface TestPki {
  dir: string;
  caPem: string;
  /** Leaf certificate and key (PEM), and the chain in DER, leaf first. */
  leaf: { certPem: string; key: KeyObject; chain: Buffer[] };
}

/**
 * A CA and a leaf certificate signed by it, made with the openssl CLI (node cannot issue
 * certificates). `kind` is the leaf's key: ec (P-256) or rsa (2048).
 */
export async function makeTestPki(
  dir: string,
  o: { kind?: "ec" | "rsa"; subject?: string; caName?: string } = {},
): Promise<TestPki> {
  const { execFileSync } = await import("node:child_process");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { createPrivateKey, X509Certificate } = await import("node:crypto");
  const ca = o.caName ?? "ca";
  const p = (f: string) => join(dir, f);
  const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    p(`${ca}.key`),
    "-out",
    p(`${ca}.crt`),
    "-days",
    "30",
    "-subj",
    `/CN=${ca} root`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  const keyArgs =
    o.kind === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  ossl(
    "req",
    ...keyArgs,
    "-nodes",
    "-keyout",
    p(`${ca}-leaf.key`),
    "-out",
    p(`${ca}-leaf.csr`),
    "-subj",
    o.subject ?? "/C=US/O=Acme/CN=signer",
  );
  writeFileSync(
    p(`${ca}-leaf.ext`),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  ossl(
    "x509",
    "-req",
    "-in",
    p(`${ca}-leaf.csr`),
    "-CA",
    p(`${ca}.crt`),
    "-CAkey",
    p(`${ca}.key`),
    "-CAcreateserial",
    "-out",
    p(`${ca}-leaf.crt`),
    "-days",
    "10",
    "-extfile",
    p(`${ca}-leaf.ext`),
  );
  const certPem = readFileSync(p(`${ca}-leaf.crt`), "utf8");
  const caPem = readFileSync(p(`${ca}.crt`), "utf8");
  return {
    dir,
    caPem,
    leaf: {
      certPem,
      key: createPrivateKey(readFileSync(p(`${ca}-leaf.key`))),
      chain: [new X509Certificate(certPem).raw, new X509Certificate(caPem).raw],
    },
  };
}

const NOTARY_PAYLOAD = "application/vnd.cncf.notary.payload.v1+json";
const SCHEME = "io.cncf.notary.signingScheme";

function notationSign(key: KeyObject, alg: string, input: Buffer): Buffer {
  const hash = `sha${alg.slice(2)}`;
  return alg.startsWith("PS")
    ? cryptoSign(hash, input, { key, padding: 6, saltLength: Number(alg.slice(2)) / 8 })
    : cryptoSign(hash, input, { key, dsaEncoding: "ieee-p1363" });
}

/** A Notation JWS envelope (JSON serialization) for `target`. */
export function jwsEnvelope(
  target: { mediaType: string; digest: string; size: number },
  leaf: { key: KeyObject; chain: Buffer[] },
  o: { alg?: string; expiry?: Date; contentType?: string } = {},
): Buffer {
  const alg = o.alg ?? (leaf.key.asymmetricKeyType === "rsa" ? "PS256" : "ES256");
  const protectedHeader = Buffer.from(
    JSON.stringify({
      alg,
      crit: [SCHEME, ...(o.expiry ? ["io.cncf.notary.expiry"] : [])],
      cty: o.contentType ?? NOTARY_PAYLOAD,
      [SCHEME]: "notary.x509",
      "io.cncf.notary.signingTime": new Date().toISOString(),
      ...(o.expiry ? { "io.cncf.notary.expiry": o.expiry.toISOString() } : {}),
    }),
  ).toString("base64url");
  const payload = Buffer.from(JSON.stringify({ targetArtifact: target })).toString("base64url");
  const signature = notationSign(leaf.key, alg, Buffer.from(`${protectedHeader}.${payload}`)).toString(
    "base64url",
  );
  return Buffer.from(
    JSON.stringify({
      payload,
      protected: protectedHeader,
      header: {
        x5c: leaf.chain.map((c) => c.toString("base64")),
        "io.cncf.notary.signingAgent": "drydock-test",
      },
      signature,
    }),
  );
}

/** A Notation COSE_Sign1 envelope (tag 18) for `target`. */
export async function coseEnvelope(
  target: { mediaType: string; digest: string; size: number },
  leaf: { key: KeyObject; chain: Buffer[] },
  o: { alg?: string } = {},
): Promise<Buffer> {
  const { CborTag, encodeCbor } = await import("./cbor.js");
  const alg = o.alg ?? (leaf.key.asymmetricKeyType === "rsa" ? "PS256" : "ES256");
  const algIds: Record<string, number> = {
    ES256: -7,
    ES384: -35,
    ES512: -36,
    PS256: -37,
    PS384: -38,
    PS512: -39,
  };
  const prot = encodeCbor(
    new Map<import("./cbor.js").CborValue, import("./cbor.js").CborValue>([
      [1, algIds[alg]!],
      [2, [SCHEME]],
      [3, NOTARY_PAYLOAD],
      [SCHEME, "notary.x509"],
      ["io.cncf.notary.signingTime", new CborTag(1, Math.floor(Date.now() / 1000))],
    ]),
  );
  const payload = Buffer.from(JSON.stringify({ targetArtifact: target }));
  const toSign = encodeCbor(["Signature1", prot, new Uint8Array(0), payload]);
  const unprot = new Map<import("./cbor.js").CborValue, import("./cbor.js").CborValue>([
    [33, leaf.chain.map((c) => new Uint8Array(c))],
    ["io.cncf.notary.signingAgent", "drydock-test"],
  ]);
  return encodeCbor(new CborTag(18, [prot, unprot, payload, notationSign(leaf.key, alg, toSign)]));
}

/** The referrer manifest notation pushes for an envelope. */
export function notationSignatureManifest(
  envelope: Buffer,
  envelopeMediaType: "application/jose+json" | "application/cose",
  subject: { digest: string; size: number; mediaType: string },
): BuiltArtifact {
  const config = Buffer.from("{}");
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.cncf.notary.signature",
    config: { mediaType: OCI_EMPTY, digest: sha256(config), size: config.length },
    layers: [{ mediaType: envelopeMediaType, digest: sha256(envelope), size: envelope.length }],
    subject,
    annotations: { "io.cncf.notary.x509chain.thumbprint#S256": "[]" },
  };
  return {
    manifest: Buffer.from(JSON.stringify(manifest)),
    mediaType: OCI_MANIFEST,
    blobs: [config, envelope],
  };
}
