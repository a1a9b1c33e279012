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

/** A signature as cosign and sigstore signers make one (ECDSA DER over SHA-256, Ed25519, RSA PKCS#1 v1.5). */
export function signBlob(key: KeyObject, data: Uint8Array, o: { pss?: boolean } = {}): Buffer {
  if (key.asymmetricKeyType === "ed25519") return cryptoSign(null, data, key);
  if (key.asymmetricKeyType === "ec") return cryptoSign("sha256", data, { key, dsaEncoding: "der" });
  return o.pss
    ? cryptoSign("sha256", data, { key, padding: 6, saltLength: 32 })
    : cryptoSign("sha256", data, key);
}

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

/** A small image (config and one layer) to sign; returns its descriptor. */
export async function pushTestImage(
  reg: PushTarget,
  repo: string,
  tag: string,
  seed = "layer",
): Promise<{ digest: string; size: number; mediaType: string }> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed }),
  );
  const layer = Buffer.from(seed);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  const digest = await pushArtifact(reg, repo, tag, {
    manifest,
    mediaType: OCI_MANIFEST,
    blobs: [config, layer],
  });
  return { digest, size: manifest.length, mediaType: OCI_MANIFEST };
}
