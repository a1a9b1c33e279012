/**
 * cosign-format signatures of an image, in both places they are stored: the tag form
 * (`sha256-<hex>.sig` in the same repository, what cosign, skopeo and podman write) and the
 * OCI 1.1 referrer form (a manifest whose `subject` is the image, artifactType
 * `application/vnd.dev.cosign.artifact.sig.v1+json`). Either holds layers that are
 * simple-signing payloads with the base64 signature in an annotation.
 */
import { cosignAttachmentTag } from "../referrers.js";
import { verifyBlobSignature, type PublicKey } from "./keys.js";
import { manifestLayers, parseJsonObject, type ArtifactReader } from "./reader.js";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIG_ARTIFACT_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SignatureFormatError,
  parseSimpleSigning,
  referenceRepository,
} from "./simple-signing.js";

export interface CosignSignature {
  form: "tag" | "referrer";
  payload: Buffer;
  signature: Buffer;
}

/** The simple-signing layers of one signature manifest (payload bytes and decoded signature). */
async function signaturesIn(
  reader: ArtifactReader,
  manifest: Buffer,
  form: CosignSignature["form"],
): Promise<CosignSignature[]> {
  const m = parseJsonObject(manifest);
  if (!m) return [];
  const out: CosignSignature[] = [];
  for (const layer of manifestLayers(m)) {
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const b64 = layer.annotations[COSIGN_SIGNATURE_ANNOTATION];
    if (b64 === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) continue;
    const payload = await reader.blob(layer.digest);
    if (!payload) continue;
    out.push({ form, payload, signature: Buffer.from(b64, "base64") });
  }
  return out;
}

/** Every cosign signature stored for `digest` in the repository, tag form first. */
export async function findCosignSignatures(
  reader: ArtifactReader,
  repositoryId: number,
  digest: string,
): Promise<CosignSignature[]> {
  const out: CosignSignature[] = [];
  const tag = cosignAttachmentTag(digest, "sig");
  const sigDigest = tag ? await reader.tag(repositoryId, tag) : null;
  const sigManifest = sigDigest ? await reader.manifest(repositoryId, sigDigest) : null;
  if (sigManifest) out.push(...(await signaturesIn(reader, sigManifest, "tag")));
  for (const r of await reader.referrers(repositoryId, digest, COSIGN_SIG_ARTIFACT_TYPE)) {
    const body = await reader.manifest(repositoryId, r.digest);
    if (body) out.push(...(await signaturesIn(reader, body, "referrer")));
  }
  return out;
}

export type CosignCheck = { ok: true; key: string } | { ok: false; reason: string };

/**
 * One signature against the accepted keys: the signature over the payload bytes by one of
 * them, then the payload's claims (digest; repository unless identity is `ignore`). The
 * signature is checked first so that an unsigned payload's claims never reach a reason.
 */
export function checkCosignSignature(
  sig: CosignSignature,
  o: { repository: string; digest: string; keys: PublicKey[]; identity: "repository" | "ignore" },
): CosignCheck {
  const key = o.keys.find((k) => verifyBlobSignature(k, sig.payload, sig.signature));
  if (!key) return { ok: false, reason: `cosign signature (${sig.form}) by an untrusted key` };
  let payload;
  try {
    payload = parseSimpleSigning(sig.payload);
  } catch (e) {
    if (e instanceof SignatureFormatError) return { ok: false, reason: e.message };
    throw e;
  }
  if (payload.manifestDigest !== o.digest)
    return {
      ok: false,
      reason: `cosign signature (${sig.form}) is for another digest ${payload.manifestDigest}`,
    };
  if (o.identity === "repository" && referenceRepository(payload.dockerReference) !== o.repository)
    return {
      ok: false,
      reason: `cosign signature (${sig.form}) is for another repository (${payload.dockerReference})`,
    };
  return { ok: true, key: key.name };
}
