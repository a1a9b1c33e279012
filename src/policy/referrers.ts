/**
 * Cosign attachment tags: before the OCI referrers API existed, cosign stored
 * a signature, attestation or SBOM of image `sha256:<hex>` under the tag
 * `sha256-<hex>.sig|.att|.sbom` in the same repository. Policies (lifecycle,
 * pull gate, signatures, exceptions) need to recognise them so that an
 * attachment is treated as belonging to its subject rather than as an image
 * of its own. A referrer in the OCI sense is any manifest with a `subject`;
 * that is read from the manifest, not from here.
 */

const COSIGN_TAG = /^sha256-([0-9a-f]{64})\.(sig|att|sbom)$/;

export type CosignAttachmentKind = "sig" | "att" | "sbom";

/** True when `tag` has the form cosign gives an attachment of a digest. */
export function isCosignAttachmentTag(tag: string): boolean {
  return COSIGN_TAG.test(tag);
}

/** The digest (`sha256:<hex>`) a cosign attachment tag names, or null. */
export function cosignAttachmentSubject(tag: string): string | null {
  const m = COSIGN_TAG.exec(tag);
  return m ? `sha256:${m[1]}` : null;
}

/** Which attachment a cosign tag is (`sig`, `att`, `sbom`), or null. */
export function cosignAttachmentKind(tag: string): CosignAttachmentKind | null {
  const m = COSIGN_TAG.exec(tag);
  return m ? (m[2] as CosignAttachmentKind) : null;
}

/** The cosign tag for attachment `kind` of `digest` (`sha256:<hex>`), or null for another algorithm. */
export function cosignAttachmentTag(digest: string, kind: CosignAttachmentKind): string | null {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m ? `sha256-${m[1]}.${kind}` : null;
}
