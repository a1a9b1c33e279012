import type { Digest } from "../../core/digest.js";
import { RegistryError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { AwsIdentity } from "../../events/envelope.js";
import { appendEvent } from "../../events/log.js";
import type { ManifestServed, RegistryHooks } from "../../registry/hooks.js";
import { readScanningConfiguration } from "../../scan/state.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { isCosignAttachmentTag } from "../referrers.js";
import type { SignatureVerifier } from "../signatures/index.js";
import { BLOCK_SEVERITIES, type BlockSeverity } from "./document.js";
import { pullBypassedEvent, pullDeniedEvent, type GatedPull } from "./events.js";
import type { CompiledRule, PolicySource } from "./source.js";

/** Starts the scan of an image that has none (RegistryScanService.scanForGate). */
export interface GateScanner {
  scanForGate(repositoryId: number, digest: string, mediaType: string): Promise<void>;
}

export interface PullGateDeps {
  meta: MetaStore;
  blobs: BlobStore;
  source: PolicySource;
  scanner: GateScanner;
  verifier: SignatureVerifier;
  aws: AwsIdentity;
  log?: Logger;
  now?: () => number;
  /** How often a held pull looks at its image's scan state (default 200 ms). */
  pollMs?: number;
  /** Counts decisions on images a rule matched (Metrics.pullGateDecisions). */
  metrics?: { pullGateDecisions: { inc(labels: { via: string; decision: GateDecision }): void } };
}

/** A decision as counted: served, refused (403), held (429 or a waiting review), or a bypass user's. */
export type GateDecision = "allowed" | "denied" | "held" | "bypassed";

/** The image a decision is about. */
export interface GateSubject {
  repository: string;
  repositoryId: number;
  digest: string;
  mediaType: string;
}

/** A blocking finding, as messages and events name it. */
export interface BlockingFinding {
  id: string;
  severity: string;
  package: string;
}

export type GateVerdict =
  | { kind: "allow"; rule: CompiledRule | null }
  | { kind: "deny"; rule: CompiledRule; reasons: string[]; vulnerabilities: BlockingFinding[] }
  /** requireScan and the scan still runs after the wait (the registry answers 429). */
  | { kind: "pending"; rule: CompiledRule; reasons: string[] };

/** What a held pull's client is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;
/** How many blocking findings a DENIED message names. */
const NAMED_FINDINGS = 3;

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

type ScanClass = "unscanned" | "scanning" | "scanned" | "unsupported" | "failed";

/** A scan row's status as the gate sees it (scan/types.ts ScanStatus). */
export function classifyScan(
  row: { scanType: string; status: string } | null | undefined,
  scanType: string,
): ScanClass {
  if (!row || row.scanType !== scanType) return "unscanned";
  switch (row.status) {
    case "COMPLETE":
    case "ACTIVE":
      return "scanned";
    case "IN_PROGRESS":
    case "PENDING":
      return "scanning";
    case "UNSUPPORTED_IMAGE":
      return "unsupported";
    case "SCAN_ELIGIBILITY_EXPIRED":
      // Its findings were closed when it left the rescan window: it has to be matched again.
      return "unscanned";
    default:
      return "failed"; // FAILED, FINDINGS_UNAVAILABLE
  }
}

const severityRank = (s: string) => {
  const i = (BLOCK_SEVERITIES as readonly string[]).indexOf(s);
  return i < 0 ? BLOCK_SEVERITIES.length : i;
};
/** Whether a finding's severity is at or above the rule's (UNTRIAGED, INFORMATIONAL, UNDEFINED never are). */
export const blocks = (severity: string, threshold: BlockSeverity) =>
  severityRank(severity) <= severityRank(threshold);

interface Cached<T> {
  value: T;
  at: number;
}

/** A small TTL cache; bounded (cleared when full: entries are cheap to read again). */
class TtlCache<T> {
  private readonly map = new Map<string, Cached<T>>();
  constructor(private readonly max = 20_000) {}
  get(key: string, now: number, ttlMs: number): T | undefined {
    const e = this.map.get(key);
    return e && now - e.at < ttlMs ? e.value : undefined;
  }
  set(key: string, value: T, now: number): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, { value, at: now });
  }
}

interface ScanInfo {
  cls: ScanClass;
  description: string | null;
}

/**
 * The pull gate: decides, by the effective pull policy (PolicySource), whether a manifest may be
 * served, and plugs into the registry as its beforeManifestServed hook. The order of a decision
 * (docs/policy.md): not an image pull (HEAD), a referrer or a cosign attachment → served; no rule
 * matches the repository → served; a bypass user → served (with an audit event when the rule
 * would have refused or held it); then requireScan (start the scan, hold up to scanWaitSeconds,
 * 429 when still running, onUnsupported/onFailed), blockSeverity over the ACTIVE findings, and
 * requireSignature; every reason found is named in the 403 DENIED and the `Drydock Pull Denied`
 * event. An index is decided by its platform manifests: any of them blocked blocks it.
 *
 * What a decision reads about an image (scan state, findings by severity, an index's members)
 * is cached per process for the policy's cacheSeconds, so a warm pull costs no query.
 */
export class PullGate {
  private readonly now: () => number;
  private readonly members = new TtlCache<{ digest: string; mediaType: string }[]>();
  private readonly scans = new TtlCache<ScanInfo>();
  private readonly findings = new TtlCache<BlockingFinding[]>();
  private readonly attachments = new TtlCache<boolean>();
  private scanTypeCache: Cached<string> | null = null;

  constructor(private readonly d: PullGateDeps) {
    this.now = d.now ?? Date.now;
  }

  registryHooks(): RegistryHooks {
    return { beforeManifestServed: (e) => this.beforeManifestServed(e) };
  }

  /** The registry's hook: returns to serve, throws DENIED (403) or TOOMANYREQUESTS (429). */
  async beforeManifestServed(e: ManifestServed): Promise<void> {
    // A HEAD serves no content (clients resolve with it, then GET, which is gated).
    if (!e.pull) return;
    // Never gate what verification itself reads: referrers and cosign attachment tags.
    if (e.subject || (e.tag !== undefined && isCosignAttachmentTag(e.tag))) return;
    const policy = await this.d.source.current();
    const rule = policy.ruleFor(e.repository);
    if (!rule) return;
    if (e.tag === undefined && (await this.isCosignAttachment(e.repositoryId, e.digest))) return;
    const user = e.user ?? null;
    const subject = {
      repository: e.repository,
      repositoryId: e.repositoryId,
      digest: e.digest,
      mediaType: e.mediaType,
    };
    if (user !== null && rule.bypass.has(user)) {
      // No scan started and no wait for a bypass user: CI deploys must not be held.
      const v = await this.decide(subject, rule, { waitMs: 0, startScans: false });
      this.count("registry", v.kind === "allow" ? "allowed" : "bypassed");
      if (v.kind !== "allow")
        await this.record("bypassed", {
          ...subject,
          tag: e.tag,
          user,
          rule,
          reasons: v.reasons,
          vulnerabilities: v.kind === "deny" ? v.vulnerabilities : undefined,
          via: "registry",
        });
      return;
    }
    const v = await this.decide(subject, rule, {
      waitMs: policy.document.scanWaitSeconds * 1000,
      startScans: true,
    });
    this.count("registry", v.kind === "allow" ? "allowed" : v.kind === "pending" ? "held" : "denied");
    if (v.kind === "allow") return;
    if (v.kind === "pending") {
      const err = new RegistryError(
        "TOOMANYREQUESTS",
        `${e.repository}@${e.digest} is held by the pull policy (rule ${rule.index + 1}): ${v.reasons.join("; ")}; try again later`,
      );
      err.headers = { "Retry-After": String(RETRY_AFTER_SECONDS) };
      throw err;
    }
    await this.record("denied", {
      ...subject,
      tag: e.tag,
      user,
      rule,
      reasons: v.reasons,
      vulnerabilities: v.vulnerabilities,
      via: "registry",
    });
    throw new RegistryError("DENIED", denialMessage(e.repository, rule, v.reasons));
  }

  /** Counts a decision (the admission webhook counts its own, per image). */
  count(via: "registry" | "admission", decision: GateDecision): void {
    this.d.metrics?.pullGateDecisions.inc({ via, decision });
  }

  /** Appends the `Drydock Pull Denied` or `Drydock Pull Gate Bypassed` event. */
  async record(
    what: "denied" | "bypassed",
    p: Omit<GatedPull, "rule"> & { rule: CompiledRule },
  ): Promise<void> {
    const pull: GatedPull = {
      repository: p.repository,
      digest: p.digest,
      tag: p.tag,
      user: p.user,
      rule: { index: p.rule.index, repositories: p.rule.repositories },
      reasons: p.reasons,
      vulnerabilities: p.vulnerabilities,
      via: p.via,
    };
    const env =
      what === "denied"
        ? pullDeniedEvent(this.d.aws, pull, this.now())
        : pullBypassedEvent(this.d.aws, pull, this.now());
    await this.d.meta.tx((tx) => appendEvent(tx, env));
  }

  /**
   * The verdict of `rule` on an image. `waitMs`: how long to hold for a scan still to come;
   * `startScans`: queue the scan of an unscanned image (requireScan).
   */
  async decide(
    s: GateSubject,
    rule: CompiledRule,
    o: { waitMs: number; startScans: boolean },
  ): Promise<GateVerdict> {
    const reasons: string[] = [];
    let vulnerabilities: BlockingFinding[] = [];
    if (rule.requireScan || rule.blockSeverity) {
      const ttl = await this.ttlMs();
      const images = await this.imagesOf(s, ttl);
      const scanType = await this.scanType(ttl);
      let states = await this.scanStates(s.repositoryId, images, scanType, ttl);
      if (rule.requireScan) {
        const unscanned = images.filter((i) => states.get(i.digest)!.cls === "unscanned");
        if (o.startScans)
          for (const i of unscanned) await this.d.scanner.scanForGate(s.repositoryId, i.digest, i.mediaType);
        const waiting = () =>
          images.some((i) => ["unscanned", "scanning"].includes(states.get(i.digest)!.cls));
        if (waiting()) {
          const deadline = this.now() + o.waitMs;
          // A scan started here shows as IN_PROGRESS/PENDING at once: poll its row until settled.
          while (waiting() && this.now() < deadline) {
            await sleep(Math.min(this.d.pollMs ?? 200, Math.max(1, deadline - this.now())));
            states = await this.scanStates(s.repositoryId, images, scanType, 0);
          }
        }
        if (waiting()) {
          const pending = images.filter((i) => ["unscanned", "scanning"].includes(states.get(i.digest)!.cls));
          return {
            kind: "pending",
            rule,
            reasons: [
              `the scan of ${pending.map((i) => i.digest).join(", ")} has not finished` +
                (o.waitMs > 0 ? ` after ${Math.round(o.waitMs / 1000)} s` : ""),
            ],
          };
        }
        for (const i of images) {
          const st = states.get(i.digest)!;
          const why = st.description ? `: ${st.description}` : "";
          if (st.cls === "unsupported" && rule.onUnsupported === "deny")
            reasons.push(`the image ${i.digest} is not supported by the scanner (UNSUPPORTED_IMAGE${why})`);
          if (st.cls === "failed" && rule.onFailed === "deny")
            reasons.push(`the scan of ${i.digest} failed${why}`);
        }
      }
      if (rule.blockSeverity) {
        const threshold = rule.blockSeverity;
        const scanned = images.filter((i) => states.get(i.digest)!.cls === "scanned");
        for (const i of scanned)
          vulnerabilities.push(
            ...(await this.blockingFindings(s.repositoryId, i.digest, scanType, threshold, ttl)),
          );
        if (vulnerabilities.length) {
          vulnerabilities = sortFindings(vulnerabilities);
          const named = vulnerabilities
            .slice(0, NAMED_FINDINGS)
            .map((f) => `${f.id} (${f.severity}, ${f.package})`)
            .join(", ");
          const more = vulnerabilities.length - NAMED_FINDINGS;
          reasons.push(
            `${vulnerabilities.length} active finding${vulnerabilities.length === 1 ? "" : "s"} at or above ${threshold}: ${named}` +
              (more > 0 ? ` and ${more} more` : ""),
          );
        }
      }
    }
    if (rule.requireSignature) {
      const verdict = await this.d.verifier.verifyImage({
        repository: s.repository,
        digest: s.digest,
        ...(rule.requireSignature.keys ? { keys: rule.requireSignature.keys } : {}),
      });
      if (!verdict.verified) {
        const keys = rule.requireSignature.keys;
        reasons.push(
          `no valid signature${keys ? ` by ${keys.length === 1 ? "key" : "keys"} ${keys.join(", ")}` : " by a trusted key"}` +
            (verdict.reasons.length ? `: ${verdict.reasons.join("; ")}` : ""),
        );
      }
    }
    return reasons.length
      ? { kind: "deny", rule, reasons, vulnerabilities: vulnerabilities.slice(0, 20) }
      : { kind: "allow", rule };
  }

  private async ttlMs(): Promise<number> {
    return (await this.d.source.current()).document.cacheSeconds * 1000;
  }

  /** The images a manifest stands for: itself, or an index's platform manifests stored here. */
  private async imagesOf(s: GateSubject, ttl: number): Promise<{ digest: string; mediaType: string }[]> {
    if (!INDEX_TYPES.has(s.mediaType)) return [{ digest: s.digest, mediaType: s.mediaType }];
    const key = `${s.repositoryId}@${s.digest}`;
    const hit = this.members.get(key, this.now(), Math.max(ttl, 60_000));
    if (hit) return hit;
    let listed: { digest?: string; platform?: { os?: string }; annotations?: Record<string, string> }[] = [];
    try {
      const body = await this.d.blobs.read(s.digest as Digest);
      listed = (JSON.parse(body.toString("utf8")) as { manifests?: typeof listed }).manifests ?? [];
    } catch {
      listed = [];
    }
    const out: { digest: string; mediaType: string }[] = [];
    // As the scanner fans an index out (scan/service.ts): attestation manifests are not platforms.
    for (const m of listed) {
      if (typeof m.digest !== "string") continue;
      if (
        m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" ||
        m.platform?.os === "unknown"
      )
        continue;
      const row = await this.d.meta.registry.manifest(s.repositoryId, m.digest);
      if (row) out.push({ digest: m.digest, mediaType: row.mediaType });
    }
    this.members.set(key, out, this.now());
    return out;
  }

  private async scanType(ttl: number): Promise<string> {
    const now = this.now();
    if (this.scanTypeCache && now - this.scanTypeCache.at < ttl) return this.scanTypeCache.value;
    const value = (await readScanningConfiguration(this.d.meta)).scanType;
    this.scanTypeCache = { value, at: now };
    return value;
  }

  private async scanStates(
    repositoryId: number,
    images: { digest: string }[],
    scanType: string,
    ttl: number,
  ): Promise<Map<string, ScanInfo>> {
    const now = this.now();
    const out = new Map<string, ScanInfo>();
    const missing: string[] = [];
    for (const i of images) {
      const hit = ttl > 0 ? this.scans.get(`${repositoryId}@${i.digest}@${scanType}`, now, ttl) : undefined;
      if (hit) out.set(i.digest, hit);
      else missing.push(i.digest);
    }
    if (missing.length) {
      const rows = await this.d.meta.scans.getMany(repositoryId, missing);
      for (const digest of missing) {
        const row = rows.get(digest);
        const info = { cls: classifyScan(row, scanType), description: row?.description ?? null };
        out.set(digest, info);
        this.scans.set(`${repositoryId}@${digest}@${scanType}`, info, now);
      }
    }
    return out;
  }

  /** The ACTIVE findings of an image at or above the threshold, highest first. */
  private async blockingFindings(
    repositoryId: number,
    digest: string,
    scanType: string,
    threshold: BlockSeverity,
    ttl: number,
  ): Promise<BlockingFinding[]> {
    const key = `${repositoryId}@${digest}@${scanType}@${threshold}`;
    const now = this.now();
    const hit = ttl > 0 ? this.findings.get(key, now, ttl) : undefined;
    if (hit) return hit;
    const type = scanType as "BASIC" | "ENHANCED";
    // The common case (nothing blocks) is one grouped count on the findings' image index.
    const counts =
      (await this.d.meta.findings.severityCounts(repositoryId, [digest], type)).get(digest) ?? {};
    let out: BlockingFinding[] = [];
    if (Object.entries(counts).some(([sev, n]) => n > 0 && blocks(sev, threshold))) {
      const rows = await this.d.meta.findings.forImage(repositoryId, digest, type, { statuses: ["ACTIVE"] });
      out = sortFindings(
        rows
          .filter((r) => blocks(r.severity, threshold))
          .map((r) => ({ id: r.vulnerabilityId, severity: r.severity, package: r.packageName })),
      );
    }
    this.findings.set(key, out, now);
    return out;
  }

  /** A manifest pulled by digest that a cosign attachment tag names (`sha256-<hex>.sig`). */
  private async isCosignAttachment(repositoryId: number, digest: string): Promise<boolean> {
    const key = `${repositoryId}@${digest}`;
    const now = this.now();
    const hit = this.attachments.get(key, now, 60_000);
    if (hit !== undefined) return hit;
    const tags = await this.d.meta.registry.tagsOf(repositoryId, digest);
    const value = tags.length > 0 && tags.every(isCosignAttachmentTag);
    this.attachments.set(key, value, now);
    return value;
  }
}

/** The DENIED message: which rule and why (clients print it: docker, podman, skopeo). */
export function denialMessage(repository: string, rule: CompiledRule, reasons: string[]): string {
  return `pull of ${repository} denied by the pull policy (rule ${rule.index + 1}, ${rule.repositories.join(" ")}): ${reasons.join("; ")}`;
}

function sortFindings(list: BlockingFinding[]): BlockingFinding[] {
  return [...list].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      a.id.localeCompare(b.id) ||
      a.package.localeCompare(b.package),
  );
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
