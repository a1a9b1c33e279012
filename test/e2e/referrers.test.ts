import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  serverProblems,
  sha256Digest,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * Referrers (OCI Distribution Spec v1.1): artifacts whose manifest has a `subject`. No
 * client on this machine can attach an artifact (oras, regctl, crane, cosign are not
 * installed; skopeo 1.9, podman 4.3 and buildah 1.28 predate artifact support), so the
 * artifacts are pushed with plain HTTP exactly as the spec describes; the images they refer
 * to are pushed and copied with skopeo.
 */

const skip = missingShared();
if (skip) console.warn(`referrers skipped: ${skip}`);

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const SBOM = "application/vnd.example.sbom.v1+json";
const SIGNATURE = "application/vnd.example.signature.v1+json";
const ATTESTATION_CONFIG = "application/vnd.example.attestation.config.v1+json";
const EMPTY = Buffer.from("{}");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  data?: string;
}

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

describe.skipIf(skip !== null)("referrers of an image pushed with skopeo", () => {
  let dd: Drydock;
  let work: string;
  const repo = "referrers/debian";
  let subject: Descriptor;
  const artifacts: Record<string, Descriptor> = {};

  beforeAll(async () => {
    dd = await startDrydock();
    work = await mkdtemp(join(tmpdir(), "drydock-referrers-"));
    const layout = ociLayout("debian-bookworm-minimal");
    const push = await skopeo([
      "copy",
      "--quiet",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${layout}:latest`,
      `docker://${dd.addr}/${repo}:v1`,
    ]);
    if (push.code !== 0) throw new Error(`skopeo push failed: ${push.stderr}`);
    const digest = manifestDigestOfLayout(layout);
    const head = await fetch(`${dd.url}/v2/${repo}/manifests/${digest}`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST },
    });
    expect(head.status).toBe(200);
    subject = { mediaType: OCI_MANIFEST, digest, size: Number(head.headers.get("content-length")) };
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await dd?.destroy();
  });

  /** POST then PUT ?digest= (the spec's "monolithic upload" in two requests). */
  async function pushBlob(name: string, data: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(data);
    const start = await fetch(`${dd.url}/v2/${name}/blobs/uploads/`, { method: "POST" });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get("location")!, dd.url);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, {
      method: "PUT",
      body: new Uint8Array(data),
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get("docker-content-digest")).toBe(digest);
    return { mediaType, digest, size: data.length };
  }

  /** PUTs an artifact manifest by digest; returns its descriptor and the response. */
  async function pushArtifact(
    name: string,
    manifest: Record<string, unknown>,
  ): Promise<{ desc: Descriptor; res: Response }> {
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = sha256Digest(body);
    const res = await fetch(`${dd.url}/v2/${name}/manifests/${digest}`, {
      method: "PUT",
      body: new Uint8Array(body),
      headers: { "Content-Type": OCI_MANIFEST },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(res.headers.get("docker-content-digest")).toBe(digest);
    const desc: Descriptor = { mediaType: OCI_MANIFEST, digest, size: body.length };
    const artifactType =
      (manifest.artifactType as string | undefined) ?? (manifest.config as Descriptor).mediaType;
    desc.artifactType = artifactType;
    if (manifest.annotations) desc.annotations = manifest.annotations as Record<string, string>;
    return { desc, res };
  }

  async function referrers(name: string, digest: string, query = "") {
    const r = await fetch(`${dd.url}/v2/${name}/referrers/${digest}${query}`);
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(r.headers.get("content-type")).toBe(OCI_INDEX);
    const index = JSON.parse(text) as Index;
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    return { r, index };
  }

  const byDigest = (a: Descriptor, b: Descriptor) => a.digest.localeCompare(b.digest);

  it("a pushed artifact with a subject is answered with OCI-Subject", async () => {
    const config = await pushBlob(repo, EMPTY, "application/vnd.oci.empty.v1+json");
    expect(config.digest).toBe("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    const sbom = Buffer.from(
      JSON.stringify({ spdxVersion: "SPDX-2.3", name: "debian-bookworm-minimal", packages: [] }),
    );
    const layer = await pushBlob(repo, sbom, "application/spdx+json");
    const { desc, res } = await pushArtifact(repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SBOM,
      config: { ...config, data: EMPTY.toString("base64") },
      layers: [{ ...layer, annotations: { "org.opencontainers.image.title": "sbom.spdx.json" } }],
      subject,
      annotations: {
        "org.opencontainers.image.created": "2025-06-01T00:00:00Z",
        "org.example.sbom.format": "spdx",
      },
    });
    expect(res.headers.get("oci-subject")).toBe(subject.digest);
    artifacts.sbom = desc;

    // A second artifact type, and one without artifactType (its config media type stands in).
    const sig = await pushBlob(repo, Buffer.from("not really a signature"), "application/octet-stream");
    artifacts.signature = (
      await pushArtifact(repo, {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: SIGNATURE,
        config: { ...config },
        layers: [sig],
        subject,
        annotations: { "org.example.signer": "e2e" },
      })
    ).desc;
    const attConfig = await pushBlob(repo, Buffer.from('{"predicate":"none"}'), ATTESTATION_CONFIG);
    const att = await pushArtifact(repo, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: attConfig,
      layers: [sig],
      subject,
    });
    expect(att.res.headers.get("oci-subject")).toBe(subject.digest);
    expect(att.desc.artifactType).toBe(ATTESTATION_CONFIG);
    artifacts.attestation = att.desc;

    // Pushing artifacts by digest adds no tags; a real client reads the artifact back.
    const tags = (await (await fetch(`${dd.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["v1"]);
    const raw = await skopeo([
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${dd.addr}/${repo}@${desc.digest}`,
    ]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(sha256Digest(raw.stdout)).toBe(desc.digest);
  });

  it("GET /v2/<name>/referrers/<digest> lists every referrer with artifactType and annotations", async () => {
    expect(artifacts.attestation, "needs the artifacts of the previous test").toBeDefined();
    const { r, index } = await referrers(repo, subject.digest);
    expect(r.headers.get("oci-filters-applied")).toBeNull();
    expect(index.manifests.sort(byDigest)).toEqual(Object.values(artifacts).sort(byDigest));
    const sbom = index.manifests.find((m) => m.digest === artifacts.sbom!.digest)!;
    expect(sbom.artifactType).toBe(SBOM);
    expect(sbom.annotations).toEqual({
      "org.opencontainers.image.created": "2025-06-01T00:00:00Z",
      "org.example.sbom.format": "spdx",
    });

    // Nothing refers to the artifacts themselves, nor to an unknown digest: 200 and an empty list.
    expect((await referrers(repo, artifacts.sbom!.digest)).index.manifests).toEqual([]);
    expect((await referrers(repo, sha256Digest("nothing refers to this"))).index.manifests).toEqual([]);
  });

  it("?artifactType= filters the list and says so with OCI-Filters-Applied", async () => {
    expect(artifacts.sbom, "needs the artifacts of the first test").toBeDefined();
    const q = (t: string) => `?artifactType=${encodeURIComponent(t)}`;
    const sbom = await referrers(repo, subject.digest, q(SBOM));
    expect(sbom.r.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(sbom.index.manifests).toEqual([artifacts.sbom]);
    const att = await referrers(repo, subject.digest, q(ATTESTATION_CONFIG));
    expect(att.r.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(att.index.manifests).toEqual([artifacts.attestation]);
    const none = await referrers(repo, subject.digest, q("application/vnd.example.none"));
    expect(none.r.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(none.index.manifests).toEqual([]);
  });

  it("skopeo copy --all --preserve-digests of the image still works, in and out", async () => {
    const src = `docker://${dd.addr}/${repo}:v1`;
    const out = join(work, "out");
    const pull = await skopeo([
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--src-tls-verify=false",
      src,
      `oci:${out}:v1`,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(manifestDigestOfLayout(out, "v1")).toBe(subject.digest);
    const copy = await skopeo([
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      src,
      `docker://${dd.addr}/referrers/copy:v1`,
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    const raw = await skopeo([
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${dd.addr}/referrers/copy:v1`,
    ]);
    expect(sha256Digest(raw.stdout)).toBe(subject.digest);
    // Referrers belong to a repository: the copy has none (skopeo 1.9 does not copy them).
    expect((await referrers("referrers/copy", subject.digest)).index.manifests).toEqual([]);
  });

  it("a subject need not exist yet, and an index can be a subject", async () => {
    const name = "referrers/multiarch";
    const config = await pushBlob(name, EMPTY, "application/vnd.oci.empty.v1+json");
    const layer = await pushBlob(name, Buffer.from("signature of an index"), "application/octet-stream");
    const layout = ociLayout("debian-bookworm-multiarch");
    const indexDigest = manifestDigestOfLayout(layout);
    const future = (JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as Index).manifests[0]!;
    expect(future).toMatchObject({ mediaType: OCI_INDEX, digest: indexDigest });
    // The artifact first: the spec requires accepting a manifest whose subject is unknown.
    const { res: early } = await pushArtifact(name, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SIGNATURE,
      config,
      layers: [layer],
      subject: { mediaType: future.mediaType, digest: future.digest, size: future.size },
    });
    expect(early.headers.get("oci-subject")).toBe(indexDigest);

    const push = await skopeo([
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${layout}:latest`,
      `docker://${dd.addr}/${name}:latest`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const listed = await referrers(name, indexDigest);
    expect(listed.index.manifests.map((m) => m.artifactType)).toEqual([SIGNATURE]);
    const pull = await skopeo([
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--src-tls-verify=false",
      `docker://${dd.addr}/${name}:latest`,
      `oci:${join(work, "multiarch")}:latest`,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(manifestDigestOfLayout(join(work, "multiarch"))).toBe(indexDigest);
  });

  it("deleting an artifact removes it from the referrers list", async () => {
    expect(artifacts.signature, "needs the artifacts of the first test").toBeDefined();
    const del = await fetch(`${dd.url}/v2/${repo}/manifests/${artifacts.signature!.digest}`, {
      method: "DELETE",
    });
    expect(del.status).toBe(202);
    const { index } = await referrers(repo, subject.digest);
    expect(index.manifests.map((m) => m.digest).sort()).toEqual(
      [artifacts.sbom!.digest, artifacts.attestation!.digest].sort(),
    );
    // The image itself is untouched.
    const head = await fetch(`${dd.url}/v2/${repo}/manifests/v1`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST },
    });
    expect(head.headers.get("docker-content-digest")).toBe(subject.digest);
  });

  it("the server logged no errors", () => {
    expect(serverProblems(dd)).toEqual([]);
  });
});
