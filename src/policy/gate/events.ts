import { randomUUID } from "node:crypto";
import { isoSeconds, repositoryArn, type AwsIdentity, type EventEnvelope } from "../../events/envelope.js";

/** A pull the gate decided about: what the events name. */
export interface GatedPull {
  repository: string;
  digest: string;
  tag?: string;
  /** The authenticated user; null on an open registry or when the caller is not a registry user. */
  user: string | null;
  /** The rule's position in the policy (0-based) and its repository patterns. */
  rule: { index: number; repositories: string[] };
  reasons: string[];
  /** The first blocking findings, when findings blocked. */
  vulnerabilities?: { id: string; severity: string; package: string }[];
  /** `registry` (a manifest GET or BatchGetImage) or `admission` (a Kubernetes admission review). */
  via: "registry" | "admission";
}

function gateEvent(id: AwsIdentity, detailType: string, p: GatedPull, now: number): EventEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": detailType,
    source: "drydock",
    account: id.accountId,
    time: isoSeconds(now),
    region: id.region,
    resources: [repositoryArn(id, p.repository)],
    detail: {
      "repository-name": p.repository,
      "image-digest": p.digest,
      ...(p.tag !== undefined ? { "image-tag": p.tag } : {}),
      user: p.user,
      via: p.via,
      rule: p.rule,
      reasons: p.reasons,
      ...(p.vulnerabilities?.length ? { vulnerabilities: p.vulnerabilities } : {}),
    },
  };
}

/** `Drydock Pull Denied` (source `drydock`): the gate refused a pull (403 DENIED) or an admission. */
export function pullDeniedEvent(id: AwsIdentity, p: GatedPull, now: number): EventEnvelope {
  return gateEvent(id, "Drydock Pull Denied", p, now);
}

/** `Drydock Pull Gate Bypassed` (source `drydock`): a bypass user pulled what the rule would have refused or held. */
export function pullBypassedEvent(id: AwsIdentity, p: GatedPull, now: number): EventEnvelope {
  return gateEvent(id, "Drydock Pull Gate Bypassed", p, now);
}
