/**
 * Drydock's own signed scan result: after a scan completes, an in-toto statement with cosign's
 * vulnerability predicate (`https://cosign.sigstore.dev/attestation/vuln/v1`) naming the image,
 * the scanner, the database build and the counts by severity, in a DSSE envelope signed with
 * `signatures.attest.privateKey`, attached to the image as an OCI 1.1 referrer. A deployer
 * checks "scanned by our registry, at this time, with these counts" with the public key.
 *
 * The completed scan queues an `attest` job in its own transaction (so no result is lost or
 * attested twice by a crash); the job builds, signs and pushes the referrer through the
 * registry service, as a client would: a normal referrer, never scanned (scan on push skips
 * manifests with a subject) and never gated.
 */
import { createHash, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import type { Job, JobHandler } from "../../jobs/worker.js";
import type { ScanCompleted } from "../../scan/service.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { DSSE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, parseDsse, signDsse, verifyDsse, DsseError } from "./dsse.js";
import { parsePrivateKey, type PublicKey } from "./keys.js";
import { manifestLayers, parseJsonObject, type ArtifactReader } from "./reader.js";

export const VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1";
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** The referrer's artifactType: what the layer is (a DSSE envelope), as in-toto and oras use it. */
export const ATTESTATION_ARTIFACT_TYPE = DSSE_MEDIA_TYPE;
export const PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type";
export const ATTEST_JOB = "attest";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

export type { ScanCompleted };

export interface AttestTarget {
  monolithicUpload(name: string, digest: string, body: Readable): Promise<unknown>;
  putManifest(
    name: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<unknown>;
}

export interface AttestorOptions {
  /** PEM (inline or a path) of the signing key. */
  privateKey: string;
  scanner?: { uri: string; version: string };
  database?: { uri: string };
}

/** The scanner named in attestations: this package, at its version. */
export function drydockScanner(): { uri: string; version: string } {
  let version = "unknown";
  try {
    // dist/policy/signatures or src/policy/signatures: the package root is three up.
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    version = pkg.version ?? version;
  } catch {
    /* a bundled install without package.json: the version stays unknown */
  }
  return { uri: "pkg:npm/drydock", version };
}
const DATABASE = { uri: "pkg:generic/drydock-vulndb" };

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** The in-toto statement of one scan (cosign's vuln predicate). */
export function vulnStatement(
  e: ScanCompleted,
  o: { scanner: { uri: string; version: string }; database: { uri: string } },
): Record<string, unknown> {
  const counts = Object.fromEntries(Object.entries(e.severityCounts).sort(([a], [b]) => a.localeCompare(b)));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: e.repository, digest: { sha256: e.digest.replace(/^sha256:/, "") } }],
    predicateType: VULN_PREDICATE_TYPE,
    predicate: {
      invocation: {
        parameters: { scanType: e.scanType },
        uri: "",
        event_id: "",
        "builder.id": o.scanner.uri,
      },
      scanner: {
        uri: o.scanner.uri,
        version: o.scanner.version,
        db: { uri: o.database.uri, version: e.databaseBuiltAt ? iso(e.databaseBuiltAt) : "" },
        result: {
          severityCounts: counts,
          total: Object.values(counts).reduce((a, b) => a + b, 0),
        },
      },
      metadata: { scanStartedOn: iso(e.startedAt), scanFinishedOn: iso(e.finishedAt) },
    },
  };
}

/** The referrer manifest and its blobs for a signed envelope. */
export function attestationArtifact(
  envelope: Buffer,
  subject: { digest: string; size: number; mediaType: string },
  createdAt: number,
): { manifest: Buffer; blobs: Buffer[] } {
  const config = Buffer.from("{}");
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ATTESTATION_ARTIFACT_TYPE,
    config: { mediaType: OCI_EMPTY, digest: sha256(config), size: config.length },
    layers: [
      {
        mediaType: DSSE_MEDIA_TYPE,
        digest: sha256(envelope),
        size: envelope.length,
        annotations: { [PREDICATE_TYPE_ANNOTATION]: VULN_PREDICATE_TYPE },
      },
    ],
    subject,
    annotations: {
      [PREDICATE_TYPE_ANNOTATION]: VULN_PREDICATE_TYPE,
      "org.opencontainers.image.created": iso(createdAt),
    },
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), blobs: [config, envelope] };
}

/** Signs completed scans and attaches them (see the module comment). */
export class ScanAttestor {
  private readonly key: KeyObject;
  /** Set once the registry service exists (it is built after the scan service). */
  target?: AttestTarget;
  onQueued?: () => void;

  constructor(
    private readonly meta: MetaStore,
    private readonly opts: AttestorOptions,
  ) {
    this.key = parsePrivateKey(opts.privateKey, "signatures.attest.privateKey").key;
  }

  /** Queues the attestation in the completing scan's transaction. */
  async scanCompleted(tx: MetaStore, e: ScanCompleted): Promise<void> {
    await tx.jobs.enqueue({
      kind: ATTEST_JOB,
      key: `attest:${e.repositoryId}@${e.digest}@${e.finishedAt}`,
      payload: e,
      runAfter: e.finishedAt,
    });
    if (this.onQueued) setImmediate(this.onQueued);
  }

  jobHandlers(): Record<string, JobHandler<ScanCompleted>> {
    return {
      [ATTEST_JOB]: {
        run: (job) => this.run(job),
        isTransient: () => true,
        failed: async () => undefined,
      },
    };
  }

  private async run(job: Job<ScanCompleted>) {
    const e = job.payload;
    const subject = await this.meta.registry.manifest(e.repositoryId, e.digest);
    const target = this.target;
    // The image is gone (deleted since the scan): nothing to attest.
    if (subject && target) {
      const statement = Buffer.from(
        JSON.stringify(
          vulnStatement(e, {
            scanner: this.opts.scanner ?? drydockScanner(),
            database: this.opts.database ?? DATABASE,
          }),
        ),
      );
      const envelope = signDsse(IN_TOTO_PAYLOAD_TYPE, statement, this.key);
      const art = attestationArtifact(
        envelope,
        { digest: e.digest, size: subject.size, mediaType: subject.mediaType },
        e.finishedAt,
      );
      for (const b of art.blobs) await target.monolithicUpload(e.repository, sha256(b), Readable.from([b]));
      await target.putManifest(e.repository, sha256(art.manifest), art.manifest, OCI_MANIFEST);
    }
    return async () => undefined;
  }
}

export interface VerifiedAttestation {
  key: string;
  statement: Record<string, unknown>;
}

/**
 * The scan attestations of an image that verify with one of `keys` and name the image as
 * their subject (what a deployer checks; the tests use it).
 */
export async function verifiedScanAttestations(
  reader: ArtifactReader,
  repositoryId: number,
  digest: string,
  keys: PublicKey[],
): Promise<VerifiedAttestation[]> {
  const out: VerifiedAttestation[] = [];
  for (const r of await reader.referrers(repositoryId, digest, ATTESTATION_ARTIFACT_TYPE)) {
    const body = await reader.manifest(repositoryId, r.digest);
    const m = body && parseJsonObject(body);
    if (!m) continue;
    for (const layer of manifestLayers(m)) {
      if (layer.mediaType !== DSSE_MEDIA_TYPE) continue;
      const bytes = await reader.blob(layer.digest);
      if (!bytes) continue;
      try {
        const env = parseDsse(bytes);
        if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
        const key = verifyDsse(env, keys);
        const statement = key && parseJsonObject(env.payload);
        if (!key || !statement || statement.predicateType !== VULN_PREDICATE_TYPE) continue;
        const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
        const names = subjects.some(
          (s) =>
            `sha256:${String((s as { digest?: { sha256?: unknown } } | null)?.digest?.sha256)}` === digest,
        );
        if (names) out.push({ key, statement });
      } catch (err) {
        if (!(err instanceof DsseError)) throw err;
      }
    }
  }
  return out;
}
