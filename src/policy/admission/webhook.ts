import type { MetaStore } from "../../storage/meta/store.js";
import type { PullGate } from "../gate/gate.js";
import type { PolicySource } from "../gate/source.js";
import { normalizeHost, parseImageReference } from "../../core/image-reference.js";
import { containerImages, hasPodSpec, parseAdmissionReview, type ContainerImage } from "./review.js";

export interface AdmissionWebhookDeps {
  meta: MetaStore;
  gate: PullGate;
  source: PolicySource;
  /** The host names of this registry in image references (normalized: lowercase, no `:443`). */
  hosts: Iterable<string>;
  otherRegistries: "allow" | "deny";
  /** How long a review waits for the scan of an unscanned image (requireScan). */
  scanWaitSeconds: number;
}

/** What the webhook decided about one container image. */
export interface ImageDecision extends ContainerImage {
  allowed: boolean;
  reasons: string[];
  /** The digest the image resolves to in this registry (absent: another registry, or not found). */
  digest?: string;
  /** The pinned reference (`host/repo@sha256:…`) when the image names a tag of this registry. */
  pinned?: string;
}

/** The AdmissionReview v1 answer (admission.k8s.io/v1 AdmissionResponse). */
export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason?: string };
    patchType?: "JSONPatch";
    patch?: string;
    warnings?: string[];
  };
}

/**
 * The Kubernetes admission webhook (docs/policy.md): `validate` applies the pull policy to every
 * container image of a Pod or pod template, `mutate` pins the tags of this registry's images to
 * their digests (JSONPatch). Images of this registry are recognised by host (`hosts`); a tag is
 * resolved through the registry's stores. A dry run (request.dryRun) starts no scan and writes
 * no event (the webhook's sideEffects: NoneOnDryRun).
 */
export class AdmissionWebhook {
  private readonly hosts: Set<string>;

  constructor(private readonly d: AdmissionWebhookDeps) {
    this.hosts = new Set([...d.hosts].map(normalizeHost));
  }

  /** Answers one AdmissionReview (JSON-parsed body); AdmissionError for a malformed one. */
  async review(body: unknown, mode: "validate" | "mutate"): Promise<AdmissionReviewResponse> {
    const req = parseAdmissionReview(body);
    const answer = (response: Omit<AdmissionReviewResponse["response"], "uid">): AdmissionReviewResponse => ({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: req.uid, ...response },
    });
    if (!req.object || !hasPodSpec(req.kind)) return answer({ allowed: true });
    const images = containerImages(req);
    const user = req.userInfo.username ?? null;
    const decisions: ImageDecision[] = [];
    for (const image of images) decisions.push(await this.decide(image, { dryRun: req.dryRun, user, mode }));
    if (mode === "mutate") {
      const patch = decisions
        .filter((x) => x.pinned !== undefined && x.pinned !== x.image)
        .map((x) => ({ op: "replace", path: x.path, value: x.pinned }));
      return answer(
        patch.length
          ? {
              allowed: true,
              patchType: "JSONPatch",
              patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
            }
          : { allowed: true },
      );
    }
    const denied = decisions.filter((x) => !x.allowed);
    if (!denied.length) return answer({ allowed: true });
    return answer({
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message:
          "denied by the Drydock pull policy: " +
          denied
            .map((x) => `image ${x.image} (container ${x.container}): ${x.reasons.join("; ")}`)
            .join("; "),
      },
    });
  }

  /** One image: resolved through the registry, judged by the pull policy (validate only). */
  async decide(
    image: ContainerImage,
    o: { dryRun: boolean; user: string | null; mode: "validate" | "mutate" },
  ): Promise<ImageDecision> {
    const deny = (...reasons: string[]): ImageDecision => ({ ...image, allowed: false, reasons });
    const ref = parseImageReference(image.image);
    if (!ref) return deny("not a valid image reference");
    if (!this.hosts.has(normalizeHost(ref.host)))
      return this.d.otherRegistries === "allow"
        ? { ...image, allowed: true, reasons: [] }
        : deny(`images of other registries than this one are not allowed (admission.otherRegistries: deny)`);
    const meta = this.d.meta;
    const repositoryId = await meta.registry.repositoryId(ref.repository);
    if (repositoryId === null) return deny(`repository ${ref.repository} is not in this registry`);
    const digest = ref.digest ?? (await meta.registry.tag(repositoryId, ref.tag ?? "latest"));
    if (!digest) return deny(`tag ${ref.tag ?? "latest"} is not in repository ${ref.repository}`);
    const manifest = await meta.registry.manifest(repositoryId, digest);
    if (!manifest) return deny(`manifest ${digest} is not in repository ${ref.repository}`);
    const host = image.image.slice(0, image.image.indexOf("/"));
    const resolved: ImageDecision = {
      ...image,
      allowed: true,
      reasons: [],
      digest,
      ...(ref.digest === undefined ? { pinned: `${host}/${ref.repository}@${digest}` } : {}),
    };
    if (o.mode === "mutate") return resolved;
    const rule = (await this.d.source.current()).ruleFor(ref.repository);
    if (!rule) return resolved;
    const subject = { repository: ref.repository, repositoryId, digest, mediaType: manifest.mediaType };
    const v = await this.d.gate.decide(subject, rule, {
      waitMs: this.d.scanWaitSeconds * 1000,
      startScans: !o.dryRun,
    });
    this.d.gate.count("admission", v.kind === "allow" ? "allowed" : v.kind === "pending" ? "held" : "denied");
    if (v.kind === "allow") return resolved;
    const reasons = v.kind === "pending" ? [...v.reasons, "try again once the scan has finished"] : v.reasons;
    if (v.kind === "deny" && !o.dryRun)
      await this.d.gate.record("denied", {
        repository: ref.repository,
        digest,
        ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
        user: o.user,
        rule,
        reasons,
        vulnerabilities: v.vulnerabilities,
        via: "admission",
      });
    return { ...resolved, allowed: false, reasons };
  }
}
