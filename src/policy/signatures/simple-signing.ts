/**
 * cosign's "simple signing" payload (what cosign, skopeo and podman sign): a small JSON
 * document naming the signed manifest's digest and the image reference it was signed as.
 * Parsed from untrusted bytes: a typed result or a SignatureFormatError, nothing else.
 */

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";
/** artifactType of cosign's OCI 1.1 referrer form (`--registry-referrers-mode=oci-1-1`). */
export const COSIGN_SIG_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";

const MAX_PAYLOAD_BYTES = 64 * 1024;

export class SignatureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureFormatError";
  }
}

export interface SimpleSigningPayload {
  /** `critical.image.docker-manifest-digest`: the manifest the signature is for. */
  manifestDigest: string;
  /** `critical.identity.docker-reference`, e.g. `registry.example.com/prod/api:1.2`. */
  dockerReference: string;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new SignatureFormatError(`simple-signing payload: ${what} is not an object`);
  return v as Record<string, unknown>;
}

export function parseSimpleSigning(bytes: Uint8Array): SimpleSigningPayload {
  if (bytes.length > MAX_PAYLOAD_BYTES)
    throw new SignatureFormatError(
      `simple-signing payload: ${bytes.length} bytes, over ${MAX_PAYLOAD_BYTES}`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SignatureFormatError("simple-signing payload: not UTF-8 JSON");
  }
  const critical = obj(obj(doc, "the document").critical, "critical");
  if (critical.type !== COSIGN_SIGNATURE_TYPE)
    throw new SignatureFormatError(`simple-signing payload: critical.type is not "${COSIGN_SIGNATURE_TYPE}"`);
  const digest = obj(critical.image, "critical.image")["docker-manifest-digest"];
  if (typeof digest !== "string" || !/^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/.test(digest))
    throw new SignatureFormatError(
      "simple-signing payload: critical.image.docker-manifest-digest is not a digest",
    );
  const ref = obj(critical.identity, "critical.identity")["docker-reference"];
  if (typeof ref !== "string")
    throw new SignatureFormatError(
      "simple-signing payload: critical.identity.docker-reference is not a string",
    );
  return { manifestDigest: digest, dockerReference: ref };
}

/**
 * The repository path of a docker reference: the registry host (a first component with `.`
 * or `:`, or `localhost`) and any `:tag` / `@digest` removed. `127.0.0.1:5000/prod/api:1` →
 * `prod/api`. Hosts are ignored because one registry has many names (loopback, DNS, a proxy).
 */
export function referenceRepository(ref: string): string {
  let rest = ref;
  const at = rest.indexOf("@");
  if (at >= 0) rest = rest.slice(0, at);
  const parts = rest.split("/");
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === "localhost")) parts.shift();
  const last = parts[parts.length - 1]!;
  const colon = last.indexOf(":");
  if (colon >= 0) parts[parts.length - 1] = last.slice(0, colon);
  return parts.join("/");
}
