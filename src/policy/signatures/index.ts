/**
 * Signature verification of images (cosign simple-signing in tag and referrer form, Notation
 * JWS/COSE), the contract the pull gate and the admission webhook build on.
 *
 * Verification reads the registry's stores directly, never through RegistryService.getManifest:
 * that path runs the pull gate, and a gate must never hold the `.sig` or referrer reads that
 * verification itself needs.
 */
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";

/** One signature that verified: which kind, against which configured key (or trust store), in which form. */
export interface SignatureProof {
  kind: "cosign" | "notation";
  /** The configured key name (cosign) or `trust-store-name` (notation) that verified it. */
  key: string;
  form: "tag" | "referrer";
}

export interface SignatureVerdict {
  verified: boolean;
  by: SignatureProof[];
  /** Why not verified (for the gate's DENIED message); empty when verified. */
  reasons: string[];
}

export interface VerifyImageRequest {
  repository: string;
  digest: string;
  /** Key names to accept; absent: the keys of `signatures.trust` entries matching the repository. */
  keys?: string[];
}

export interface SignatureVerifier {
  verifyImage(req: VerifyImageRequest): Promise<SignatureVerdict>;
}

export interface SignatureVerifierDeps {
  meta: MetaStore;
  blobs: BlobStore;
}

/** The verifier over the registry's stores. (Stub until the verification lands.) */
export function createSignatureVerifier(_deps: SignatureVerifierDeps): SignatureVerifier {
  return {
    verifyImage: async () => ({
      verified: false,
      by: [],
      reasons: ["signature verification not built yet"],
    }),
  };
}
