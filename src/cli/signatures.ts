import { loadConfig } from "../config/load.js";
import { ConfigError } from "../core/errors.js";
import { verifiedScanAttestations } from "../policy/signatures/attest.js";
import { createSignatureVerifier } from "../policy/signatures/index.js";
import { parsePublicKeys } from "../policy/signatures/keys.js";
import { storeReader } from "../policy/signatures/reader.js";
import { openStores, type Stores } from "../storage/open.js";

/**
 * `drydock signatures verify|attestations IMAGE` (options: main.ts): what the pull gate would
 * decide about an image's signatures, and Drydock's own signed scan results, read from a data
 * directory's stores beside a running server (docs/signatures.md). Exit 0 when verified (or an
 * attestation verifies), 1 when not.
 */

export interface SignaturesOptions {
  config?: string;
  data?: string;
  key?: string[];
  json?: boolean;
}

/** `repo@sha256:...` or `repo:tag` (a registry host in front is dropped: `host:port/repo:tag`). */
export function parseImageArgument(image: string): { repository: string; reference: string } {
  const at = image.indexOf("@");
  let repository: string;
  let reference: string;
  if (at >= 0) {
    repository = image.slice(0, at);
    reference = image.slice(at + 1);
  } else {
    const slash = image.lastIndexOf("/");
    const colon = image.lastIndexOf(":");
    if (colon <= slash)
      throw new ConfigError(`image ${JSON.stringify(image)}: give REPOSITORY:TAG or REPOSITORY@DIGEST`);
    repository = image.slice(0, colon);
    reference = image.slice(colon + 1);
  }
  const parts = repository.split("/");
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === "localhost")) parts.shift();
  return { repository: parts.join("/"), reference };
}

async function withImage<T>(
  image: string,
  opts: SignaturesOptions,
  fn: (
    s: Stores,
    config: ReturnType<typeof loadConfig>,
    img: { repository: string; repositoryId: number; digest: string },
  ) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ file: opts.config ?? process.env.DRYDOCK_CONFIG, flags: { data: opts.data } });
  const { repository, reference } = parseImageArgument(image);
  const stores = await openStores(config, { schema: "refuse" });
  try {
    const repositoryId = await stores.meta.registry.repositoryId(repository);
    const digest =
      repositoryId === null
        ? null
        : reference.includes(":")
          ? ((await stores.meta.registry.manifest(repositoryId, reference))?.digest ?? null)
          : await stores.meta.registry.tag(repositoryId, reference);
    if (repositoryId === null || digest === null)
      throw new ConfigError(`image ${image} not found in the registry`);
    return await fn(stores, config, { repository, repositoryId, digest });
  } finally {
    await stores.close();
  }
}

export async function signaturesVerify(image: string, opts: SignaturesOptions): Promise<void> {
  const verified = await withImage(image, opts, async (stores, config, img) => {
    const verifier = createSignatureVerifier({
      meta: stores.meta,
      blobs: stores.blobs,
      config: config.signatures,
    });
    const verdict = await verifier.verifyImage({
      repository: img.repository,
      digest: img.digest,
      ...(opts.key?.length ? { keys: opts.key } : {}),
    });
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...img, ...verdict })}\n`);
    else if (verdict.verified)
      for (const b of verdict.by)
        process.stdout.write(
          `verified: ${b.kind} signature by ${b.key} (${b.form}) of ${img.repository}@${img.digest}\n`,
        );
    else for (const r of verdict.reasons) process.stdout.write(`not verified: ${r}\n`);
    return verdict.verified;
  });
  if (!verified) process.exitCode = 1;
}

export async function signaturesAttestations(image: string, opts: SignaturesOptions): Promise<void> {
  const found = await withImage(image, opts, async (stores, config, img) => {
    const keys = parsePublicKeys(config.signatures.keys);
    const names = opts.key?.length ? opts.key : [...keys.keys()];
    for (const n of names) if (!keys.has(n)) throw new ConfigError(`key ${n} is not in signatures.keys`);
    const list = await verifiedScanAttestations(
      storeReader(stores.meta, stores.blobs),
      img.repositoryId,
      img.digest,
      names.map((n) => keys.get(n)!),
    );
    for (const a of list) {
      const p = (a.statement.predicate ?? {}) as {
        scanner?: { result?: { severityCounts?: Record<string, number> } };
        metadata?: { scanFinishedOn?: string };
      };
      if (opts.json) process.stdout.write(`${JSON.stringify({ key: a.key, statement: a.statement })}\n`);
      else
        process.stdout.write(
          `verified scan attestation by ${a.key}: finished ${p.metadata?.scanFinishedOn ?? "?"}, counts ${JSON.stringify(p.scanner?.result?.severityCounts ?? {})}\n`,
        );
    }
    if (!list.length && !opts.json)
      process.stdout.write(`no verified scan attestation of ${img.repository}@${img.digest}\n`);
    return list.length;
  });
  if (!found) process.exitCode = 1;
}
