import type { FastifyInstance } from "fastify";
import type { Authorizer } from "../auth/types.js";
import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { Metrics } from "../core/metrics.js";
import type { RegistryHooks } from "../registry/hooks.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { registerAdmissionRoutes } from "./admission/routes.js";
import { AdmissionWebhook } from "./admission/webhook.js";
import { PullGate, type GateScanner } from "./gate/gate.js";
import { PolicySource } from "./gate/source.js";
import type { SignatureVerifier } from "./signatures/index.js";

export interface PolicySetup {
  source: PolicySource;
  gate: PullGate;
  /** The registry hook of the pull gate. */
  hooks: RegistryHooks;
  /** Registers the admission webhook's routes (API nodes). */
  routes: (app: FastifyInstance) => void;
}

/**
 * The pull gate and the admission webhook of `drydock serve` (docs/policy.md): the effective pull
 * policy (the database's once `drydock policy set` stored one, else the configuration's), the
 * gate on manifest GETs, and the webhook on the same listener.
 */
export function setupPolicy(
  config: Config,
  d: {
    meta: MetaStore;
    blobs: BlobStore;
    scanner: GateScanner;
    auth: Authorizer;
    log?: Logger;
    /** The signature verifier of `signatures.*` (createSignatureVerifier, made by main). */
    verifier: SignatureVerifier;
    /** The node's Prometheus metrics (drydock_pull_gate_decisions_total). */
    metrics?: Pick<Metrics, "pullGateDecisions">;
  },
): PolicySetup {
  const source = new PolicySource(d.meta, config.policy);
  const gate = new PullGate({
    meta: d.meta,
    blobs: d.blobs,
    source,
    scanner: d.scanner,
    verifier: d.verifier,
    aws: { accountId: config.aws.accountId, region: config.aws.region },
    log: d.log,
    metrics: d.metrics,
  });
  const webhook = new AdmissionWebhook({
    meta: d.meta,
    gate,
    source,
    hosts: registryHosts(config),
    otherRegistries: config.admission.otherRegistries,
    scanWaitSeconds: config.admission.scanWaitSeconds,
  });
  return {
    source,
    gate,
    hooks: gate.registryHooks(),
    routes: (app) => registerAdmissionRoutes(app, { webhook, auth: d.auth }),
  };
}

/**
 * The host names under which images of this registry are referenced: admission.registryHosts,
 * publicUrl's host, the listen address, and for a loopback or wildcard listener `localhost:PORT`
 * and `127.0.0.1:PORT`.
 */
export function registryHosts(config: Config): string[] {
  const hosts = new Set(config.admission.registryHosts);
  if (config.publicUrl) hosts.add(new URL(config.publicUrl).host);
  hosts.add(config.listen);
  const m = /^(.*):(\d+)$/.exec(config.listen);
  if (m && ["127.0.0.1", "localhost", "0.0.0.0", "::", "[::]", "::1", "[::1]", ""].includes(m[1]!)) {
    hosts.add(`localhost:${m[2]}`);
    hosts.add(`127.0.0.1:${m[2]}`);
  }
  return [...hosts];
}
