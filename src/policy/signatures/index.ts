/**
 * Signature verification of images (cosign simple-signing in tag and referrer form, Notation
 * JWS/COSE), the contract the pull gate and the admission webhook build on (docs/signatures.md).
 *
 * Verification reads the registry's stores directly, never through RegistryService.getManifest:
 * that path runs the pull gate, and a gate must never hold the `.sig` or referrer reads that
 * verification itself needs.
 */
import type { Config } from "../../config/schema.js";
import { ConfigError } from "../../core/errors.js";
import type { RegistryHooks } from "../../registry/hooks.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { compileRepositoryPatterns } from "../patterns.js";
import { cosignAttachmentSubject } from "../referrers.js";
import { checkCosignSignature, findCosignSignatures } from "./cosign.js";
import { parsePublicKeys, type PublicKey } from "./keys.js";
import { compileNotationPolicies, verifyNotation, type NotationPolicy } from "./notation.js";
import { storeReader, type ArtifactReader } from "./reader.js";

/** One signature that verified: which kind, against which configured key (or trust policy), in which form. */
export interface SignatureProof {
  kind: "cosign" | "notation";
  /** The configured key name (cosign) or Notation trust policy name that verified it. */
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
  /**
   * Names to accept: keys of `signatures.keys` and/or Notation trust policy names. Absent: the
   * keys of the `signatures.trust` entries and the Notation trust policies matching the repository.
   */
  keys?: string[];
}

export interface SignatureVerifier {
  verifyImage(req: VerifyImageRequest): Promise<SignatureVerdict>;
}

export type SignaturesConfig = Config["signatures"];

export interface SignatureVerifierDeps {
  meta: MetaStore;
  blobs: BlobStore;
  /** `signatures.*` of the configuration; absent: no keys, nothing verifies. */
  config?: SignaturesConfig;
  now?: () => number;
}

/** The verifier, plus the registry hooks that drop cached verdicts when a signature is pushed. */
export interface DrydockSignatureVerifier extends SignatureVerifier {
  /** Drop cached verdicts of one image (or of a whole repository). */
  invalidate(repository: string, digest?: string): void;
  /** manifestStored/manifestDeleted: a new or removed `.sig` tag or referrer invalidates its subject. */
  readonly hooks: RegistryHooks;
}

/** Verdicts kept per process; past it the cache starts over (a bound, not an LRU: misses only cost a read). */
const MAX_CACHE_ENTRIES = 10_000;

/** The verifier over the registry's stores; bad keys or trust configuration throw ConfigError. */
export function createSignatureVerifier(deps: SignatureVerifierDeps): DrydockSignatureVerifier {
  const config: SignaturesConfig = deps.config ?? {
    keys: {},
    trust: [],
    identity: "repository",
    notation: { trustStores: {}, trustPolicies: [] },
    cacheSeconds: 10,
    attest: { enabled: false },
  };
  const keys = parsePublicKeys(config.keys);
  const trust = config.trust.map((t) => {
    for (const k of t.keys)
      if (!keys.has(k))
        throw new ConfigError(`signatures.trust: key ${JSON.stringify(k)} is not in signatures.keys`);
    return { matches: compileRepositoryPatterns(t.repositories), keys: t.keys };
  });
  const notation = compileNotationPolicies(config.notation);
  const reader: ArtifactReader = storeReader(deps.meta, deps.blobs);
  const now = deps.now ?? Date.now;
  const ttlMs = config.cacheSeconds * 1000;
  /** repository → digest → key-set → verdict. */
  const cache = new Map<string, Map<string, Map<string, { at: number; verdict: SignatureVerdict }>>>();
  let cached = 0;
  /** Moved by every invalidation: a verdict computed across one is not cached (it may predate the push). */
  let generation = 0;

  function accepted(req: VerifyImageRequest): {
    cosign: PublicKey[];
    notation: NotationPolicy[];
    unknown: string[];
  } {
    const unknown: string[] = [];
    if (req.keys) {
      const cosign: PublicKey[] = [];
      const pols: NotationPolicy[] = [];
      for (const name of req.keys) {
        const k = keys.get(name);
        const p = notation.find((n) => n.name === name);
        if (k) cosign.push(k);
        if (p) pols.push(p);
        if (!k && !p) unknown.push(name);
      }
      return { cosign, notation: pols, unknown };
    }
    const names = new Set<string>();
    for (const t of trust) if (t.matches(req.repository)) for (const k of t.keys) names.add(k);
    return {
      cosign: [...names].map((n) => keys.get(n)!),
      notation: notation.filter((p) => p.matches(req.repository)),
      unknown,
    };
  }

  async function verify(req: VerifyImageRequest): Promise<SignatureVerdict> {
    const acc = accepted(req);
    const reasons: string[] = acc.unknown.map((n) => `key ${n} is not configured`);
    const usable = acc.notation.filter((p) => p.level !== "skip");
    if (acc.cosign.length === 0 && usable.length === 0) {
      reasons.push(`no trusted keys configured for repository ${req.repository}`);
      return { verified: false, by: [], reasons };
    }
    const repo = await reader.repositoryId(req.repository);
    if (repo === null) return { verified: false, by: [], reasons: [...reasons, "no signature found"] };
    const by: SignatureProof[] = [];
    let found = 0;
    if (acc.cosign.length) {
      const sigs = await findCosignSignatures(reader, repo, req.digest);
      found += sigs.length;
      for (const s of sigs) {
        const r = checkCosignSignature(s, {
          repository: req.repository,
          digest: req.digest,
          keys: acc.cosign,
          identity: config.identity,
        });
        if (r.ok) {
          if (!by.some((b) => b.kind === "cosign" && b.key === r.key && b.form === s.form))
            by.push({ kind: "cosign", key: r.key, form: s.form });
        } else reasons.push(r.reason);
      }
    }
    if (usable.length) {
      const n = await verifyNotation(reader, repo, req.digest, usable, now());
      found += n.found;
      by.push(...n.by);
      reasons.push(...n.reasons);
    }
    if (by.length) return { verified: true, by, reasons: [] };
    if (found === 0) reasons.push("no signature found");
    return { verified: false, by, reasons: [...new Set(reasons)] };
  }

  const invalidate = (repository: string, digest?: string): void => {
    generation++;
    if (digest === undefined) cache.delete(repository);
    else cache.get(repository)?.delete(digest);
  };

  const onArtifact = (e: { repository: string; digest: string; tag?: string; subject?: string | null }) => {
    const subject = e.subject ?? (e.tag ? cosignAttachmentSubject(e.tag) : null);
    if (subject) invalidate(e.repository, subject);
    // A deleted signature manifest's subject is unknown here (its rows are about to go):
    // drop the repository's verdicts rather than keep a stale "verified".
    else if (e.subject === undefined) invalidate(e.repository);
  };

  return {
    async verifyImage(req) {
      const keyId = req.keys ? [...req.keys].sort().join(",") : "*";
      const t = now();
      const hit = cache.get(req.repository)?.get(req.digest)?.get(keyId);
      if (hit && t - hit.at < ttlMs) return hit.verdict;
      const before = generation;
      const verdict = await verify(req);
      if (ttlMs > 0 && generation === before) {
        let byDigest = cache.get(req.repository);
        if (!byDigest) cache.set(req.repository, (byDigest = new Map()));
        let byKeys = byDigest.get(req.digest);
        if (!byKeys) byDigest.set(req.digest, (byKeys = new Map()));
        if (!byKeys.has(keyId) && ++cached > MAX_CACHE_ENTRIES) {
          cache.clear();
          cached = 1;
          cache.set(req.repository, (byDigest = new Map([[req.digest, (byKeys = new Map())]])));
        }
        byKeys.set(keyId, { at: t, verdict });
      }
      return verdict;
    },
    invalidate,
    hooks: {
      manifestStored: async (_tx, e) => onArtifact(e),
      manifestDeleted: async (_tx, e) => onArtifact({ ...e, subject: undefined }),
    },
  };
}
