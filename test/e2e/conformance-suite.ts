import { beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomUUID } from "node:crypto";
import { Client, sha256, specError, type Res } from "./registry-http.js";

/**
 * The OCI Distribution Spec v1.1 conformance suite (opencontainers/distribution-spec,
 * conformance/: setup.go, image.go, 01_pull_test.go, 02_push_test.go, 03_discovery_test.go,
 * 04_management_test.go), ported check for check to HTTP from vitest, because the Go suite
 * cannot be built offline here. Test names are the suite's `Specify` texts; the fixtures are
 * built as setup.go builds them (unique configs per workflow, a config descriptor carrying
 * `data` and an unknown field, artifacts with `subject`, an index with `subject`), and the
 * four workflows share one namespace in the suite's order, as the Go suite runs them.
 * Where the suite accepts several answers (e.g. 201 or 202) the port accepts the same ones.
 *
 * The last block checks spec requirements the suite leaves implicit (error codes and bodies,
 * Link pagination, descriptor contents, deletes reflected in listings...).
 *
 * `describeConformance` registers both blocks against the registry its `rootUrl` names when
 * they run: a fresh `drydock serve` or OCI_ROOT_URL (conformance.test.ts), the cluster through
 * a load balancer (cluster.test.ts). Call it once per test file: the fixtures are this module's.
 * The repository names are random (`conformance/…`, `conformance-…`, `spec/…`) apart from the
 * catalog test's `spec-cat/a|b|c`.
 */

// --- setup.go / image.go ----------------------------------------------------------------

interface TestBlob {
  content: Buffer;
  contentLength: string;
  digest: string;
}

const blob = (content: Buffer): TestBlob => ({
  content,
  contentLength: String(content.length),
  digest: sha256(content),
});

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  data?: Buffer;
  artifactType?: string;
  newUnspecifiedField?: Buffer;
}

/** image.go's descriptor, in Go's field order; a nil []byte marshals as null, bytes as base64. */
function goDescriptor(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(d.data ? { data: d.data.toString("base64") } : {}),
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    newUnspecifiedField: d.newUnspecifiedField ? d.newUnspecifiedField.toString("base64") : null,
  };
}

/** json.MarshalIndent(manifest, "", "\t") of image.go's manifest struct. */
function goManifest(m: {
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}): Buffer {
  return Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        ...(m.mediaType ? { mediaType: m.mediaType } : {}),
        ...(m.artifactType ? { artifactType: m.artifactType } : {}),
        config: goDescriptor(m.config),
        layers: m.layers.map(goDescriptor),
        ...(m.subject ? { subject: goDescriptor(m.subject) } : {}),
        ...(m.annotations ? { annotations: m.annotations } : {}),
      },
      null,
      "\t",
    ),
  );
}

function goIndex(m: {
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}): Buffer {
  return Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        ...(m.artifactType ? { artifactType: m.artifactType } : {}),
        manifests: m.manifests.map(goDescriptor),
        ...(m.subject ? { subject: goDescriptor(m.subject) } : {}),
        ...(m.annotations ? { annotations: m.annotations } : {}),
      },
      null,
      "\t",
    ),
  );
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";

const randomString = (n: number) => randomBytes(n).toString("hex").slice(0, n);

// The suite's namespace is OCI_NAMESPACE (any repository); its cross-mount one is random.
const namespace = `conformance/${randomString(8)}`;
const crossmountNamespace = `conformance-${randomUUID()}`;
const emptyLayerTestTag = "emptylayer";
const testTagName = "tagtest0";
const nonexistentManifest = ".INVALID_MANIFEST_NAME";
const dummyDigest = sha256("hello world");
const artifactTypeFilter = "artifactType";

// A unique config per workflow: a random author gives each a different digest.
const configs: TestBlob[] = Array.from({ length: 5 }, () =>
  blob(
    Buffer.from(
      JSON.stringify(
        {
          author: randomString(16),
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [] },
        },
        null,
        "\t",
      ),
    ),
  ),
);

// setup.go's layerBase64String: a small tar.gz holding test.txt.
const layerBlob = blob(
  Buffer.from(
    "H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0" +
      "WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD" +
      "jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA",
    "base64",
  ),
);
const layers: Descriptor[] = [
  {
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    size: layerBlob.content.length,
    digest: layerBlob.digest,
  },
];

const configDescriptor = (c: TestBlob): Descriptor => ({
  mediaType: OCI_CONFIG,
  digest: c.digest,
  size: c.content.length,
  data: c.content, // must be the config content
  newUnspecifiedField: Buffer.from("hello world"), // content doesn't matter
});

const manifests: TestBlob[] = configs.map((c) =>
  blob(goManifest({ mediaType: OCI_MANIFEST, config: configDescriptor(c), layers })),
);

// Used in the push test: no layers, no mediaType field (Content-Type says what it is).
const emptyLayerManifest = blob(goManifest({ config: configDescriptor(configs[1]!), layers: [] }));

const testBlobA = blob(randomBytes(42));

let testBlobB: TestBlob;
let testBlobBChunk1: Buffer;
let testBlobBChunk2: Buffer;
let testBlobBChunk1Range: string;
let testBlobBChunk2Range: string;
function setupChunkedBlob(size: number): void {
  testBlobB = blob(randomBytes(size));
  testBlobBChunk1 = testBlobB.content.subarray(0, size / 2 + 1);
  testBlobBChunk2 = testBlobB.content.subarray(size / 2 + 1);
  testBlobBChunk1Range = `0-${testBlobBChunk1.length - 1}`;
  testBlobBChunk2Range = `${testBlobBChunk1.length}-${size - 1}`;
}
setupChunkedBlob(42);

// Referrers: artifacts whose subject is manifests[4] (pushed after some of them).
const emptyJSONBlob = blob(Buffer.from("{}"));
const emptyJSONDescriptor: Descriptor = {
  mediaType: "application/vnd.oci.empty.v1+json",
  size: 2,
  digest: emptyJSONBlob.digest,
};
const testRefBlobA = blob(Buffer.from("NHL Peanut Butter on my NHL bagel"));
const testRefArtifactTypeA = "application/vnd.nhl.peanut.butter.bagel";
const testRefBlobB = blob(Buffer.from("NBA Strawberry Jam on my NBA croissant"));
const testRefArtifactTypeB = "application/vnd.nba.strawberry.jam.croissant";
const testRefArtifactTypeIndex = "application/vnd.food.stand";
const testAnnotationKey = "org.opencontainers.conformance.test";
const testAnnotationValues: Record<string, string> = {};

const subjectOf = (m: TestBlob): Descriptor => ({
  mediaType: OCI_MANIFEST,
  size: m.content.length,
  digest: m.digest,
});

function artifact(annotation: string | undefined, m: Parameters<typeof goManifest>[0]): TestBlob {
  const b = blob(
    goManifest({ ...m, ...(annotation ? { annotations: { [testAnnotationKey]: annotation } } : {}) }),
  );
  if (annotation) testAnnotationValues[b.digest] = annotation;
  return b;
}

// config.mediaType = artifactType
const refsManifestAConfigArtifact = artifact("test config a", {
  mediaType: OCI_MANIFEST,
  config: { mediaType: testRefArtifactTypeA, size: testRefBlobA.content.length, digest: testRefBlobA.digest },
  subject: subjectOf(manifests[4]!),
  layers: [emptyJSONDescriptor],
});
const refsManifestBConfigArtifact = artifact("test config b", {
  mediaType: OCI_MANIFEST,
  config: { mediaType: testRefArtifactTypeB, size: testRefBlobB.content.length, digest: testRefBlobB.digest },
  subject: subjectOf(manifests[4]!),
  layers: [emptyJSONDescriptor],
});
// artifactType set, config = the empty JSON descriptor
const refsManifestALayerArtifact = artifact("test layer a", {
  mediaType: OCI_MANIFEST,
  artifactType: testRefArtifactTypeA,
  config: emptyJSONDescriptor,
  subject: subjectOf(manifests[4]!),
  layers: [
    { mediaType: testRefArtifactTypeA, size: testRefBlobA.content.length, digest: testRefBlobA.digest },
  ],
});
const refsManifestBLayerArtifact = artifact("test layer b", {
  mediaType: OCI_MANIFEST,
  artifactType: testRefArtifactTypeB,
  config: emptyJSONDescriptor,
  subject: subjectOf(manifests[4]!),
  layers: [
    { mediaType: testRefArtifactTypeB, size: testRefBlobB.content.length, digest: testRefBlobB.digest },
  ],
});
// Like B, but its subject (manifests[3]) is never pushed in this workflow.
const refsManifestCLayerArtifact = artifact(undefined, {
  mediaType: OCI_MANIFEST,
  artifactType: testRefArtifactTypeB,
  config: emptyJSONDescriptor,
  subject: subjectOf(manifests[3]!),
  layers: [
    { mediaType: testRefArtifactTypeB, size: testRefBlobB.content.length, digest: testRefBlobB.digest },
  ],
});
const refsIndexArtifact = blob(
  goIndex({
    artifactType: testRefArtifactTypeIndex,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        size: refsManifestAConfigArtifact.content.length,
        digest: refsManifestAConfigArtifact.digest,
      },
      {
        mediaType: OCI_MANIFEST,
        size: refsManifestALayerArtifact.content.length,
        digest: refsManifestALayerArtifact.digest,
      },
    ],
    subject: subjectOf(manifests[4]!),
    annotations: { [testAnnotationKey]: "test index" },
  }),
);
testAnnotationValues[refsIndexArtifact.digest] = "test index";

// --- the suite ---------------------------------------------------------------------------

let client: Client;
const n = (ref: string) => `/v2/${namespace}/${ref}`;

const is2xx = (s: number) => s >= 200 && s < 300;
/** reggie's GetRelativeLocation: the Location header, made relative if it is absolute. */
const relative = (r: Res) => {
  const loc = r.header("location");
  if (!loc) throw new Error(`no Location header (status ${r.status}): ${r.text}`);
  if (!/^https?:\/\//i.test(loc)) return loc;
  const u = new URL(loc);
  return u.pathname + u.search;
};

/** POST then PUT with Content-Length, as every Setup step of the suite pushes a blob. */
async function populateBlob(b: TestBlob): Promise<void> {
  const post = await client.req("POST", n("blobs/uploads/"));
  const put = await client.req("PUT", relative(post), {
    query: { digest: b.digest },
    headers: { "Content-Type": "application/octet-stream" },
    body: b.content,
  });
  expect(is2xx(put.status), put.text).toBe(true);
}

async function putManifest(reference: string, m: TestBlob, mediaType = OCI_MANIFEST): Promise<Res> {
  return client.req("PUT", n(`manifests/${reference}`), {
    headers: { "Content-Type": mediaType },
    body: m.content,
  });
}

async function deleteAccepting(path: string, ...statuses: number[]): Promise<void> {
  const r = await client.req("DELETE", path);
  expect(is2xx(r.status) || statuses.includes(r.status), `${path}: ${r.status} ${r.text}`).toBe(true);
}

export interface ConformanceOptions {
  /**
   * The registry is not Drydock (OCI_ROOT_URL): where the spec allows another answer than
   * Drydock's choice, that answer is accepted.
   */
  external?: boolean;
}

/**
 * The suite's two blocks, against the registry at `rootUrl()` (read in a beforeAll, so that it
 * may name a server started by an earlier hook).
 */
export function describeConformance(rootUrl: () => string, opts: ConformanceOptions = {}): void {
  const external = opts.external ?? false;
  beforeAll(() => {
    client = new Client(rootUrl());
  });

  describe("OCI Distribution Conformance Tests", () => {
    describe("Pull", () => {
      let tag = "";

      describe("Setup", () => {
        it("Populate registry with test blob (config[0])", () => populateBlob(configs[0]!));
        it("Populate registry with test blob (config[1])", () => populateBlob(configs[1]!));
        it("Populate registry with test layer", () => populateBlob(layerBlob));
        it("Populate registry with test manifest (manifest[0] by tag)", async () => {
          tag = testTagName;
          const r = await putManifest(tag, manifests[0]!);
          expect(is2xx(r.status), r.text).toBe(true);
        });
        it("Populate registry with test manifest (manifest[1] by digest)", async () => {
          const r = await putManifest(manifests[1]!.digest, manifests[1]!);
          expect(is2xx(r.status), r.text).toBe(true);
        });
      });

      describe("Pull blobs", () => {
        it("HEAD request to nonexistent blob should result in 404 response", async () => {
          const r = await client.req("HEAD", n(`blobs/${dummyDigest}`));
          expect(r.status).toBe(404);
        });
        it("HEAD request to existing blob should yield 200", async () => {
          const r = await client.req("HEAD", n(`blobs/${configs[0]!.digest}`));
          expect(r.status).toBe(200);
          const h = r.header("docker-content-digest");
          if (h) expect(h).toBe(configs[0]!.digest);
        });
        it("GET nonexistent blob should result in 404 response", async () => {
          const r = await client.req("GET", n(`blobs/${dummyDigest}`));
          expect(r.status).toBe(404);
        });
        it("GET request to existing blob URL should yield 200", async () => {
          const r = await client.req("GET", n(`blobs/${configs[0]!.digest}`));
          expect(r.status).toBe(200);
        });
      });

      describe("Pull manifests", () => {
        const accept = { Accept: OCI_MANIFEST };
        it("HEAD request to nonexistent manifest should return 404", async () => {
          const r = await client.req("HEAD", n(`manifests/${nonexistentManifest}`));
          expect(r.status).toBe(404);
        });
        for (const i of [0, 1]) {
          it(`HEAD request to manifest[${i}] path (digest) should yield 200 response`, async () => {
            const r = await client.req("HEAD", n(`manifests/${manifests[i]!.digest}`), { headers: accept });
            expect(r.status).toBe(200);
            const h = r.header("docker-content-digest");
            if (h) expect(h).toBe(manifests[i]!.digest);
          });
        }
        it("HEAD request to manifest path (tag) should yield 200 response", async () => {
          expect(tag).not.toBe("");
          const r = await client.req("HEAD", n(`manifests/${tag}`), { headers: accept });
          expect(r.status).toBe(200);
          const h = r.header("docker-content-digest");
          if (h) expect(h).toBe(manifests[0]!.digest);
        });
        it("GET nonexistent manifest should return 404", async () => {
          const r = await client.req("GET", n(`manifests/${nonexistentManifest}`));
          expect(r.status).toBe(404);
        });
        for (const i of [0, 1]) {
          it(`GET request to manifest[${i}] path (digest) should yield 200 response`, async () => {
            const r = await client.req("GET", n(`manifests/${manifests[i]!.digest}`), { headers: accept });
            expect(r.status).toBe(200);
          });
        }
        it("GET request to manifest path (tag) should yield 200 response", async () => {
          expect(tag).not.toBe("");
          const r = await client.req("GET", n(`manifests/${tag}`), { headers: accept });
          expect(r.status).toBe(200);
        });
      });

      describe("Error codes", () => {
        // The Go suite also sets a body on this GET; fetch cannot send one, and it means nothing.
        it("400 response body should contain OCI-conforming JSON message", async () => {
          const r = await client.req("GET", n("manifests/sha256:totallywrong"), {
            headers: { "Content-Type": OCI_MANIFEST },
          });
          expect([400, 404]).toContain(r.status);
          if (r.status === 400) specError(r);
        });
      });

      describe("Teardown", () => {
        // OCI_DELETE_MANIFEST_BEFORE_BLOBS defaults to true.
        it("Delete manifest[0] created in setup", () =>
          deleteAccepting(n(`manifests/${manifests[0]!.digest}`), 405));
        it("Delete manifest[1] created in setup", () =>
          deleteAccepting(n(`manifests/${manifests[1]!.digest}`), 405));
        it("Delete config[0] blob created in setup", () =>
          deleteAccepting(n(`blobs/${configs[0]!.digest}`), 404, 405));
        it("Delete config[1] blob created in setup", () =>
          deleteAccepting(n(`blobs/${configs[1]!.digest}`), 404, 405));
        it("Delete layer blob created in setup", () =>
          deleteAccepting(n(`blobs/${layerBlob.digest}`), 404, 405));
      });
    });

    describe("Push", () => {
      let lastResponse: Res | undefined;
      let prevResponse: Res | undefined;
      let emptyLayerManifestRef = "";

      describe("Blob Upload Streamed", () => {
        it("PATCH request with blob in body should yield 202 response", async () => {
          const post = await client.req("POST", n("blobs/uploads/"));
          expect(post.header("location")).toBeTruthy();
          const r = await client.req("PATCH", relative(post), {
            headers: { "Content-Type": "application/octet-stream" },
            body: testBlobA.content,
          });
          expect(r.status).toBe(202);
          lastResponse = r;
        });
        it("PUT request to session URL with digest should yield 201 response", async () => {
          expect(lastResponse).toBeDefined();
          const r = await client.req("PUT", relative(lastResponse!), {
            query: { digest: testBlobA.digest },
            headers: { "Content-Type": "application/octet-stream" },
          });
          expect(r.status).toBe(201);
          expect(r.header("location")).toBeTruthy();
        });
      });

      describe("Blob Upload Monolithic", () => {
        it("GET nonexistent blob should result in 404 response", async () => {
          const r = await client.req("GET", n(`blobs/${dummyDigest}`));
          expect(r.status).toBe(404);
        });
        it("POST request with digest and blob should yield a 201 or 202", async () => {
          const r = await client.req("POST", n("blobs/uploads/"), {
            query: { digest: configs[1]!.digest },
            headers: { "Content-Type": "application/octet-stream" },
            body: configs[1]!.content,
          });
          expect(r.header("location")).toBeTruthy();
          expect([201, 202]).toContain(r.status);
          lastResponse = r;
        });
        it("GET request to blob URL from prior request should yield 200 or 404 based on response code", async () => {
          expect(lastResponse).toBeDefined();
          const r = await client.req("GET", n(`blobs/${configs[1]!.digest}`));
          expect(r.status).toBe(lastResponse!.status === 202 ? 404 : 200);
        });
        it("POST request should yield a session ID", async () => {
          const r = await client.req("POST", n("blobs/uploads/"));
          expect(r.status).toBe(202);
          lastResponse = r;
        });
        it("PUT upload of a blob should yield a 201 Response", async () => {
          const r = await client.req("PUT", relative(lastResponse!), {
            query: { digest: configs[1]!.digest },
            headers: { "Content-Type": "application/octet-stream" },
            body: configs[1]!.content,
          });
          expect(r.header("location")).toBeTruthy();
          expect(r.status).toBe(201);
        });
        it("GET request to existing blob should yield 200 response", async () => {
          const r = await client.req("GET", n(`blobs/${configs[1]!.digest}`));
          expect(r.status).toBe(200);
        });
        it("PUT upload of a layer blob should yield a 201 Response", async () => {
          const post = await client.req("POST", n("blobs/uploads/"));
          const r = await client.req("PUT", relative(post), {
            query: { digest: layerBlob.digest },
            headers: { "Content-Type": "application/octet-stream" },
            body: layerBlob.content,
          });
          expect(r.header("location")).toBeTruthy();
          expect(r.status).toBe(201);
        });
        it("GET request to existing layer should yield 200 response", async () => {
          const r = await client.req("GET", n(`blobs/${layerBlob.digest}`));
          expect(r.status).toBe(200);
        });
      });

      describe("Blob Upload Chunked", () => {
        it("Out-of-order blob upload should return 416", async () => {
          const post = await client.req("POST", n("blobs/uploads/"), { headers: { "Content-Length": "0" } });
          expect(post.header("location")).toBeTruthy();
          // Rebuild the chunked blob if the registry's minimum chunk is above our chunk size.
          const minSize = post.header("oci-chunk-min-length");
          if (minSize) {
            const min = Number(minSize);
            expect(Number.isInteger(min)).toBe(true);
            if (min > testBlobBChunk1.length) setupChunkedBlob(min * 2 - 2);
          }
          const r = await client.req("PATCH", relative(post), {
            headers: { "Content-Type": "application/octet-stream", "Content-Range": testBlobBChunk2Range },
            body: testBlobBChunk2,
          });
          expect(r.status).toBe(416);
        });
        it("PATCH request with first chunk should return 202", async () => {
          const post = await client.req("POST", n("blobs/uploads/"), { headers: { "Content-Length": "0" } });
          expect(post.header("location")).toBeTruthy();
          prevResponse = post;
          const r = await client.req("PATCH", relative(post), {
            headers: { "Content-Type": "application/octet-stream", "Content-Range": testBlobBChunk1Range },
            body: testBlobBChunk1,
          });
          expect(r.status).toBe(202);
          expect(r.header("range")).toBe(testBlobBChunk1Range);
          lastResponse = r;
        });
        it("Retry previous blob chunk should return 416", async () => {
          const r = await client.req("PATCH", relative(prevResponse!), {
            headers: { "Content-Type": "application/octet-stream", "Content-Range": testBlobBChunk1Range },
            body: testBlobBChunk1,
          });
          expect(r.status).toBe(416);
        });
        it("Get on stale blob upload should return 204 with a range and location", async () => {
          const r = await client.req("GET", relative(prevResponse!));
          expect(r.status).toBe(204);
          expect(r.header("location")).toBeTruthy();
          expect(r.header("range")).toBe(testBlobBChunk1Range);
          lastResponse = r;
        });
        it("PATCH request with second chunk should return 202", async () => {
          const r = await client.req("PATCH", relative(lastResponse!), {
            headers: { "Content-Type": "application/octet-stream", "Content-Range": testBlobBChunk2Range },
            body: testBlobBChunk2,
          });
          expect(r.status).toBe(202);
          expect(r.header("location")).toBeTruthy();
          lastResponse = r;
        });
        it("PUT request with digest should return 201", async () => {
          const r = await client.req("PUT", relative(lastResponse!), {
            query: { digest: testBlobB.digest },
            headers: { "Content-Length": "0", "Content-Type": "application/octet-stream" },
          });
          expect(r.status).toBe(201);
          expect(r.header("location")).toBeTruthy();
        });
      });

      describe("Cross-Repository Blob Mount", () => {
        const x = (ref: string) => `/v2/${crossmountNamespace}/${ref}`;
        it("Cross-mounting of a blob without the from argument should yield session id", async () => {
          const r = await client.req("POST", x("blobs/uploads/"), { query: { mount: dummyDigest } });
          expect(r.status).toBe(202);
          expect(r.header("location")).toBeTruthy();
        });
        it("POST request to mount another repository's blob should return 201 or 202", async () => {
          const r = await client.req("POST", x("blobs/uploads/"), {
            query: { mount: testBlobA.digest, from: namespace },
          });
          expect([201, 202]).toContain(r.status);
          lastResponse = r;
        });
        it("GET request to test digest within cross-mount namespace should return 200", async () => {
          if (lastResponse!.status !== 201) return; // RunOnlyIf(201)
          expect(relative(lastResponse!)).toBe(`/v2/${crossmountNamespace}/blobs/${testBlobA.digest}`);
          const r = await client.req("GET", relative(lastResponse!));
          expect(r.status).toBe(200);
        });
        it("Cross-mounting of nonexistent blob should yield session id", () => {
          if (lastResponse!.status !== 202) return; // RunOnlyIf(202)
          expect(relative(lastResponse!).startsWith(`/v2/${crossmountNamespace}/blobs/uploads/`)).toBe(true);
        });
        // The suite runs one of its two automatic-crossmount checks when OCI_AUTOMATIC_CROSSMOUNT
        // is set; Drydock mounts only with `from`, so this is the "disabled" variant.
        it("Cross-mounting without from, and automatic content discovery disabled should return a 202", async () => {
          if (lastResponse!.status !== 201) return; // RunOnlyIf(201)
          const r = await client.req("POST", x("blobs/uploads/"), { query: { mount: testBlobA.digest } });
          expect(r.status).toBe(202);
        });
      });

      describe("Manifest Upload", () => {
        it("GET nonexistent manifest should return 404", async () => {
          const r = await client.req("GET", n(`manifests/${nonexistentManifest}`));
          expect(r.status).toBe(404);
        });
        it("PUT should accept a manifest upload", async () => {
          for (let i = 0; i < 4; i++) {
            const r = await putManifest(`test${i}`, manifests[1]!);
            expect(r.header("location")).toBeTruthy();
            expect(r.status, r.text).toBe(201);
          }
        });
        it("Registry should accept a manifest upload with no layers", async () => {
          const r = await putManifest(emptyLayerTestTag, emptyLayerManifest);
          // The suite only warns when this is refused; Drydock supports it, so it is required here.
          expect(r.status, r.text).toBe(201);
          emptyLayerManifestRef = r.header("location") ?? "";
          expect(emptyLayerManifestRef).not.toBe("");
        });
        it("GET request to manifest URL (digest) should yield 200 response", async () => {
          const r = await client.req("GET", n(`manifests/${manifests[1]!.digest}`), {
            headers: { Accept: OCI_MANIFEST },
          });
          expect(r.status).toBe(200);
        });
      });

      describe("Teardown", () => {
        it("Delete manifest created in tests", async () => {
          await deleteAccepting(n(`manifests/${manifests[1]!.digest}`), 405);
          if (emptyLayerManifestRef) await deleteAccepting(n(`manifests/${emptyLayerManifest.digest}`), 405);
        });
        it("Delete config blob created in tests", () =>
          deleteAccepting(n(`blobs/${configs[1]!.digest}`), 404, 405));
        it("Delete layer blob created in setup", () =>
          deleteAccepting(n(`blobs/${layerBlob.digest}`), 404, 405));
      });
    });

    describe("Content Discovery", () => {
      let numTags = 4;
      let tagList: string[] = [];
      const tagsOf = (r: Res) => {
        try {
          return r.json<{ tags?: string[] }>().tags ?? [];
        } catch {
          return [];
        }
      };

      describe("Setup", () => {
        it("Populate registry with test blob", () => populateBlob(configs[2]!));
        it("Populate registry with test layer", () => populateBlob(layerBlob));
        it("Populate registry with test tags", async () => {
          for (let i = 0; i < numTags; i++) {
            const r = await putManifest(`test${i}`, manifests[2]!);
            expect(is2xx(r.status), r.text).toBe(true);
          }
          tagList = tagsOf(await client.req("GET", n("tags/list")));
        });
        it("References setup", async () => {
          // The empty JSON blob has a well-known digest.
          expect(emptyJSONDescriptor.digest).toBe(
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
          );
          await populateBlob(emptyJSONBlob);
          // Reference blob before the image manifest is pushed.
          await populateBlob(testRefBlobA);
          const expectSubject = async (ref: TestBlob, subject: TestBlob, mediaType = OCI_MANIFEST) => {
            const r = await putManifest(ref.digest, ref, mediaType);
            expect(is2xx(r.status), r.text).toBe(true);
            expect(r.header("oci-subject")).toBe(subject.digest);
          };
          // Referrers whose subject does not exist yet.
          await expectSubject(refsManifestAConfigArtifact, manifests[4]!);
          await expectSubject(refsManifestALayerArtifact, manifests[4]!);
          await expectSubject(refsIndexArtifact, manifests[4]!, OCI_INDEX);
          // The subject itself.
          await populateBlob(configs[4]!);
          await populateBlob(layerBlob);
          const r = await putManifest(testTagName, manifests[4]!);
          expect(is2xx(r.status), r.text).toBe(true);
          // Reference blob after the image manifest is pushed, and referrers of an existing subject.
          await populateBlob(testRefBlobB);
          await expectSubject(refsManifestBConfigArtifact, manifests[4]!);
          await expectSubject(refsManifestBLayerArtifact, manifests[4]!);
          // A referrer of a subject that is never pushed.
          await expectSubject(refsManifestCLayerArtifact, manifests[3]!);
        });
      });

      describe("Test content discovery endpoints (listing tags)", () => {
        it("GET request to list tags should yield 200 response", async () => {
          const r = await client.req("GET", n("tags/list"));
          expect(r.status).toBe(200);
          tagList = tagsOf(r);
          numTags = tagList.length;
        });
        it("GET number of tags should be limitable by `n` query parameter", async () => {
          const numResults = Math.floor(numTags / 2);
          const r = await client.req("GET", n("tags/list"), { query: { n: String(numResults) } });
          expect(r.status).toBe(200);
          tagList = tagsOf(r);
          expect(tagList.length).toBe(numResults);
        });
        it("GET start of tag is set by `last` query parameter", async () => {
          const numResults = Math.floor(numTags / 2);
          let r = await client.req("GET", n("tags/list"), { query: { n: String(numResults) } });
          tagList = tagsOf(r);
          const last = tagList[numResults - 1]!;
          r = await client.req("GET", n("tags/list"), { query: { n: String(numResults), last } });
          expect(r.status).toBe(200);
          // The suite's own assertions (on the first page) ...
          expect(tagList.length).toBeLessThanOrEqual(numResults);
          expect(tagList).toContain(last);
          // ... and what it means: the next page starts after `last`.
          const next = tagsOf(r);
          expect(next.length).toBeLessThanOrEqual(numResults);
          expect(next).not.toContain(last);
          for (const t of next) expect(t > last).toBe(true);
        });
      });

      describe("Test content discovery endpoints (listing references)", () => {
        type Index = {
          manifests: { digest: string; annotations?: Record<string, string> }[];
        };
        it("GET request to nonexistent blob should result in empty 200 response", async () => {
          const r = await client.req("GET", n(`referrers/${dummyDigest}`));
          expect(r.status).toBe(200);
          expect(r.header("content-type")).toBe(OCI_INDEX);
          expect(r.json<Index>().manifests).toHaveLength(0);
        });
        it("GET request to existing blob should yield 200", async () => {
          const r = await client.req("GET", n(`referrers/${manifests[4]!.digest}`));
          expect(r.status).toBe(200);
          expect(r.header("content-type")).toBe(OCI_INDEX);
          const index = r.json<Index>();
          expect(index.manifests).toHaveLength(5);
          expect(index.manifests[0]!.digest).not.toBe(index.manifests[1]!.digest);
          for (const m of index.manifests) {
            expect(Object.keys(m.annotations ?? {})).toHaveLength(1);
            expect(m.annotations?.[testAnnotationKey]).toBe(testAnnotationValues[m.digest]);
          }
        });
        it("GET request to existing blob with filter should yield 200", async () => {
          const r = await client.req("GET", n(`referrers/${manifests[4]!.digest}`), {
            query: { artifactType: testRefArtifactTypeA },
          });
          expect(r.status).toBe(200);
          expect(r.header("content-type")).toBe(OCI_INDEX);
          const index = r.json<Index>();
          // Drydock implements the filter; the suite would only warn without the header.
          expect(r.header("oci-filters-applied")).toBe(artifactTypeFilter);
          expect(index.manifests).toHaveLength(2);
          for (const m of index.manifests) {
            expect(Object.keys(m.annotations ?? {})).toHaveLength(1);
            expect(m.annotations?.[testAnnotationKey]).toBe(testAnnotationValues[m.digest]);
          }
        });
        it("GET request to missing manifest should yield 200", async () => {
          const r = await client.req("GET", n(`referrers/${manifests[3]!.digest}`));
          expect(r.status).toBe(200);
          expect(r.header("content-type")).toBe(OCI_INDEX);
          const index = r.json<Index>();
          expect(index.manifests).toHaveLength(1);
          expect(index.manifests[0]!.digest).toBe(refsManifestCLayerArtifact.digest);
        });
      });

      describe("Teardown", () => {
        it("Delete created manifest & associated tags", async () => {
          const references = [
            refsIndexArtifact.digest,
            manifests[2]!.digest,
            manifests[4]!.digest,
            refsManifestAConfigArtifact.digest,
            refsManifestALayerArtifact.digest,
            testTagName,
            refsManifestBConfigArtifact.digest,
            refsManifestBLayerArtifact.digest,
            refsManifestCLayerArtifact.digest,
          ];
          for (const ref of references) await deleteAccepting(n(`manifests/${ref}`), 405, 404);
        });
        it("Delete config blob created in tests", () =>
          deleteAccepting(n(`blobs/${configs[2]!.digest}`), 405));
        it("Delete layer blob created in setup", () => deleteAccepting(n(`blobs/${layerBlob.digest}`), 405));
        it("References teardown", async () => {
          for (const ref of [
            refsIndexArtifact,
            refsManifestAConfigArtifact,
            refsManifestALayerArtifact,
            manifests[4]!,
            refsManifestBConfigArtifact,
            refsManifestBLayerArtifact,
          ]) {
            await deleteAccepting(n(`manifests/${ref.digest}`), 405, 404);
          }
          for (const b of [configs[4]!, testRefBlobA, testRefBlobB, emptyJSONBlob]) {
            await deleteAccepting(n(`blobs/${b.digest}`), 405, 404);
          }
        });
      });
    });

    describe("Content Management", () => {
      let tagToDelete = "";
      let numTags = 0;
      let blobDeleteAllowed = true;
      const tagCount = async () => {
        const r = await client.req("GET", n("tags/list"));
        expect(r.status).toBe(200);
        return (r.json<{ tags?: string[] | null }>().tags ?? []).length;
      };

      describe("Setup", () => {
        it("Populate registry with test config blob", () => populateBlob(configs[3]!));
        it("Populate registry with test layer", () => populateBlob(layerBlob));
        it("Populate registry with test tag", async () => {
          tagToDelete = testTagName;
          const r = await putManifest(tagToDelete, manifests[3]!);
          expect(is2xx(r.status), r.text).toBe(true);
        });
        it("Check how many tags there are before anything gets deleted", async () => {
          numTags = await tagCount();
        });
      });

      describe("Manifest delete", () => {
        it("DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)", async () => {
          const r = await client.req("DELETE", n(`manifests/${tagToDelete}`));
          expect([400, 202, 405]).toContain(r.status);
          if (r.status === 400) expect(specError(r).code).toBe("UNSUPPORTED");
        });
        it("DELETE request to manifest (digest) should yield 202 response unless already deleted", async () => {
          const r = await client.req("DELETE", n(`manifests/${manifests[3]!.digest}`));
          expect([202, 404]).toContain(r.status);
        });
        it("GET request to deleted manifest URL should yield 404 response, unless delete is disallowed", async () => {
          const r = await client.req("GET", n(`manifests/${manifests[3]!.digest}`));
          expect([404, 200]).toContain(r.status);
        });
        it("GET request to tags list should reflect manifest deletion", async () => {
          expect(await tagCount()).toBeLessThan(numTags);
        });
      });

      describe("Blob delete", () => {
        it("DELETE request to blob URL should yield 202 response", async () => {
          let r = await client.req("DELETE", n(`blobs/${configs[3]!.digest}`));
          expect([202, 404, 405]).toContain(r.status);
          r = await client.req("DELETE", n(`blobs/${layerBlob.digest}`));
          expect([202, 404, 405]).toContain(r.status);
          if (r.status === 405) blobDeleteAllowed = false;
        });
        it("GET request to deleted blob URL should yield 404 response", async () => {
          if (!blobDeleteAllowed) return; // RunOnlyIf(blobDeleteAllowed)
          const r = await client.req("GET", n(`blobs/${configs[3]!.digest}`));
          expect(r.status).toBe(404);
        });
      });
    });
  });

  // --- spec requirements the suite leaves implicit ----------------------------------------

  describe("OCI Distribution Spec v1.1: requirements beyond the suite", () => {
    // Clients should send Accept (spec); some registries (Distribution) require it to serve OCI.
    const acceptOci = { headers: { Accept: OCI_MANIFEST } };
    const repo = `spec/${randomString(8)}`;
    const r = (ref: string) => `/v2/${repo}/${ref}`;
    const config = blob(
      Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", seed: randomString(8) })),
    );
    const layer = blob(randomBytes(1000));
    const image = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.content.length },
          layers: [
            {
              mediaType: "application/vnd.oci.image.layer.v1.tar",
              digest: layer.digest,
              size: layer.content.length,
            },
          ],
        }),
      ),
    );

    beforeAll(async () => {
      for (const b of [config, layer]) expect((await client.pushBlob(repo, b.content)).status).toBe(201);
    });

    it("GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0", async () => {
      const res = await client.req("GET", "/v2/");
      expect(res.status).toBe(200);
      expect(res.header("docker-distribution-api-version")).toBe("registry/2.0");
    });

    it("blob GET and HEAD: the bytes, Docker-Content-Digest of the body, Content-Length of the blob", async () => {
      const get = await client.req("GET", r(`blobs/${layer.digest}`));
      expect(get.status).toBe(200);
      expect(get.body.equals(layer.content)).toBe(true);
      expect(get.header("docker-content-digest")).toBe(sha256(get.body));
      const head = await client.req("HEAD", r(`blobs/${layer.digest}`));
      expect(head.status).toBe(200);
      expect(head.header("content-length")).toBe(String(layer.content.length));
      expect(head.header("docker-content-digest")).toBe(layer.digest);
      expect(head.body.length).toBe(0);
    });

    it("blob GET honours a Range (206 with Content-Range), for resumable pulls", async () => {
      const res = await client.req("GET", r(`blobs/${layer.digest}`), {
        headers: { Range: "bytes=100-199" },
      });
      expect(res.status).toBe(206);
      expect(res.header("content-range")).toBe(`bytes 100-199/${layer.content.length}`);
      expect(res.body.equals(layer.content.subarray(100, 200))).toBe(true);
      const tail = await client.req("GET", r(`blobs/${layer.digest}`), { headers: { Range: "bytes=900-" } });
      expect(tail.status).toBe(206);
      expect(tail.body.equals(layer.content.subarray(900))).toBe(true);
    });

    it("manifest PUT by tag: 201, Location of the manifest by digest, Docker-Content-Digest", async () => {
      const res = await client.pushManifest(repo, "v1", image.content, OCI_MANIFEST);
      expect(res.status).toBe(201);
      expect(res.header("docker-content-digest")).toBe(image.digest);
      const get = await client.req("GET", relative(res), { headers: { Accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(get.body.equals(image.content)).toBe(true);
    });

    it("manifest PUT by digest: 201 with Location and Docker-Content-Digest; a wrong digest is DIGEST_INVALID", async () => {
      const res = await client.pushManifest(repo, image.digest, image.content, OCI_MANIFEST);
      expect(res.status).toBe(201);
      expect(relative(res)).toBe(r(`manifests/${image.digest}`));
      expect(res.header("docker-content-digest")).toBe(image.digest);
      const wrong = await client.pushManifest(repo, dummyDigest, image.content, OCI_MANIFEST);
      expect(wrong.status).toBe(400);
      expect(specError(wrong).code).toBe("DIGEST_INVALID");
      const head = await client.req("HEAD", r(`manifests/${dummyDigest}`), {
        headers: { Accept: OCI_MANIFEST },
      });
      expect(head.status).toBe(404);
    });

    it("manifest GET: the bytes as pushed, Content-Type as pushed, Docker-Content-Digest; HEAD has Content-Length", async () => {
      for (const ref of ["v1", image.digest]) {
        const get = await client.req("GET", r(`manifests/${ref}`), { headers: { Accept: OCI_MANIFEST } });
        expect(get.status).toBe(200);
        expect(get.body.equals(image.content)).toBe(true);
        expect(get.header("content-type")).toBe(OCI_MANIFEST);
        expect(get.header("docker-content-digest")).toBe(image.digest);
        const head = await client.req("HEAD", r(`manifests/${ref}`), { headers: { Accept: OCI_MANIFEST } });
        expect(head.status).toBe(200);
        expect(head.header("content-length")).toBe(String(image.content.length));
        expect(head.header("docker-content-digest")).toBe(image.digest);
        expect(head.body.length).toBe(0);
      }
    });

    it("a manifest referencing an unknown blob is refused with MANIFEST_BLOB_UNKNOWN, and nothing is stored", async () => {
      const missing = sha256(randomBytes(16));
      const bad = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.content.length },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: missing, size: 16 }],
        }),
      );
      const res = await client.pushManifest(repo, "broken", bad, OCI_MANIFEST);
      expect(res.status).toBe(400);
      const e = specError(res);
      expect(e.code).toBe("MANIFEST_BLOB_UNKNOWN");
      expect(JSON.stringify(e.detail)).toContain(missing);
      expect((await client.req("GET", r("manifests/broken"))).status).toBe(404);
      expect((await client.req("GET", r(`manifests/${sha256(bad)}`))).status).toBe(404);
    });

    it("404s carry the spec's codes: BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, BLOB_UPLOAD_UNKNOWN", async () => {
      const blobRes = await client.req("GET", r(`blobs/${dummyDigest}`));
      expect([blobRes.status, specError(blobRes).code]).toEqual([404, "BLOB_UNKNOWN"]);
      const man = await client.req("GET", r("manifests/nosuchtag"));
      expect([man.status, specError(man).code]).toEqual([404, "MANIFEST_UNKNOWN"]);
      const name = await client.req("GET", `/v2/spec/never-pushed-${randomString(6)}/tags/list`);
      expect([name.status, specError(name).code]).toEqual([404, "NAME_UNKNOWN"]);
      const up = await client.req("GET", r(`blobs/uploads/${randomUUID()}`));
      expect([up.status, specError(up).code]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
    });

    it("single POST ?digest= with the wrong digest is DIGEST_INVALID and stores nothing", async () => {
      const data = randomBytes(64);
      const res = await client.req("POST", r("blobs/uploads/"), {
        query: { digest: dummyDigest },
        headers: { "Content-Type": "application/octet-stream" },
        body: data,
      });
      // Drydock supports single-request uploads; one that does not answers 202 (spec) and
      // must not have stored the body either.
      if (external && res.status === 202) expect(relative(res)).toContain("/blobs/uploads/");
      else expect([res.status, specError(res).code]).toEqual([400, "DIGEST_INVALID"]);
      expect((await client.req("HEAD", r(`blobs/${dummyDigest}`))).status).toBe(404);
      expect((await client.req("HEAD", r(`blobs/${sha256(data)}`))).status).toBe(404);
    });

    it("streamed PATCH without Content-Length (chunked transfer encoding), then PUT with the last chunk", async () => {
      const data = randomBytes(300_000);
      const post = await client.req("POST", r("blobs/uploads/"));
      expect(post.status).toBe(202);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 200_000; i += 50_000) c.enqueue(data.subarray(i, i + 50_000));
          c.close();
        },
      });
      const patch = await client.req("PATCH", relative(post), {
        headers: { "Content-Type": "application/octet-stream" },
        body: stream,
      });
      expect(patch.status).toBe(202);
      expect(patch.header("range")).toBe("0-199999");
      const put = await client.req("PUT", relative(patch), {
        query: { digest: sha256(data) },
        headers: { "Content-Type": "application/octet-stream", "Content-Range": "200000-299999" },
        body: data.subarray(200_000),
      });
      expect(put.status).toBe(201);
      expect(relative(put)).toBe(r(`blobs/${sha256(data)}`));
      expect(put.header("docker-content-digest")).toBe(sha256(data));
      const get = await client.req("GET", relative(put));
      expect(get.body.equals(data)).toBe(true);
    });

    it("an out-of-order chunk is 416 and appends nothing (Drydock: BLOB_UPLOAD_INVALID, with Range and Location)", async () => {
      const post = await client.req("POST", r("blobs/uploads/"), { headers: { "Content-Length": "0" } });
      const first = await client.req("PATCH", relative(post), {
        headers: { "Content-Type": "application/octet-stream", "Content-Range": "0-9" },
        body: Buffer.alloc(10, 1),
      });
      expect(first.status).toBe(202);
      expect(first.header("range")).toBe("0-9");
      const gap = await client.req("PATCH", relative(first), {
        headers: { "Content-Type": "application/octet-stream", "Content-Range": "20-29" },
        body: Buffer.alloc(10, 2),
      });
      expect(gap.status).toBe(416);
      expect(specError(gap).code).toBe("BLOB_UPLOAD_INVALID");
      expect(gap.header("range")).toBe("0-9");
      expect(relative(gap)).toBe(relative(first));
      const status = await client.req("GET", relative(first));
      expect(status.status).toBe(204);
      expect(status.header("range")).toBe("0-9");
      expect(status.header("location")).toBeTruthy();
    });

    it("DELETE on an upload session cancels it (204); the session is then unknown", async () => {
      const post = await client.req("POST", r("blobs/uploads/"));
      const patch = await client.req("PATCH", relative(post), { body: Buffer.from("abc") });
      expect(patch.status).toBe(202);
      expect((await client.req("DELETE", relative(patch))).status).toBe(204);
      const after = await client.req("GET", relative(patch));
      expect([after.status, specError(after).code]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
    });

    it("cross-repository mount: 201 with Location and Docker-Content-Digest; unknown blob falls back to 202", async () => {
      const target = `spec/${randomString(8)}`;
      const res = await client.req("POST", `/v2/${target}/blobs/uploads/`, {
        query: { mount: layer.digest, from: repo },
      });
      expect(res.status).toBe(201);
      expect(relative(res)).toBe(`/v2/${target}/blobs/${layer.digest}`);
      expect(res.header("docker-content-digest")).toBe(layer.digest);
      expect((await client.req("HEAD", `/v2/${target}/blobs/${layer.digest}`)).status).toBe(200);
      const fallback = await client.req("POST", `/v2/${target}/blobs/uploads/`, {
        query: { mount: dummyDigest, from: repo },
      });
      expect(fallback.status).toBe(202);
      expect(relative(fallback)).toMatch(new RegExp(`^/v2/${target}/blobs/uploads/.+`));
    });

    it("tags list: sorted, n limits, Link rel=next pages through all tags, n=0 is empty without Link", async () => {
      const tags = ["b", "a", "C", "c1", "_x", "A0", "z.9", "m-1"];
      for (const t of tags)
        expect((await client.pushManifest(repo, t, image.content, OCI_MANIFEST)).status).toBe(201);
      const all = await client.req("GET", r("tags/list"));
      const full = all.json<{ name: string; tags: string[] }>();
      expect(full.name).toBe(repo);
      const expected = [...tags, "v1"].sort(); // ASCIIbetical, as Go's sort.Strings
      expect(full.tags).toEqual(expected);

      const seen: string[] = [];
      let next: string | null = r("tags/list?n=3");
      while (next) {
        const page = await client.req("GET", next);
        expect(page.status).toBe(200);
        const got = page.json<{ tags: string[] }>().tags;
        expect(got.length).toBeLessThanOrEqual(3);
        seen.push(...got);
        const link = page.header("link");
        if (!link) break;
        const m = /^<([^>]+)>;\s*rel="next"$/.exec(link);
        expect(m, link).not.toBeNull();
        expect(got).toHaveLength(3); // a short page only when the list ends
        next = m![1]!;
      }
      expect(seen).toEqual(expected);

      const zero = await client.req("GET", r("tags/list?n=0"));
      expect(zero.status).toBe(200);
      expect(zero.json<{ tags: string[] }>().tags).toEqual([]);
      expect(zero.header("link")).toBeNull();

      const afterLast = await client.req("GET", r("tags/list"), {
        query: { last: expected[expected.length - 1]! },
      });
      expect(afterLast.json<{ tags: string[] }>().tags).toEqual([]);
      const fromLast = await client.req("GET", r("tags/list"), { query: { last: "b" } });
      expect(fromLast.json<{ tags: string[] }>().tags).toEqual(expected.filter((t) => t > "b"));
    });

    // /v2/_catalog is the Docker Registry API's, not in OCI v1.1; Drydock sorts byte-wise.
    it("catalog (extension): repositories sorted, paginated with n and Link", async () => {
      const names = ["spec-cat/a", "spec-cat/b", "spec-cat/c"];
      for (const name of names) {
        expect((await client.pushBlob(name, config.content)).status).toBe(201);
        expect((await client.pushBlob(name, layer.content)).status).toBe(201);
        expect((await client.pushManifest(name, "v1", image.content, OCI_MANIFEST)).status).toBe(201);
      }
      const seen: string[] = [];
      let next: string | null = "/v2/_catalog?n=2";
      while (next) {
        const page = await client.req("GET", next);
        expect(page.status).toBe(200);
        const got = page.json<{ repositories: string[] }>().repositories;
        expect(got.length).toBeLessThanOrEqual(2);
        seen.push(...got);
        const link = page.header("link");
        next = link ? /^<([^>]+)>;\s*rel="next"$/.exec(link)![1]! : null;
      }
      expect(seen).toEqual([...seen].sort());
      for (const name of names) expect(seen).toContain(name);
      expect(seen).toContain(repo);
    });

    it("referrers: descriptors carry mediaType, size, artifactType (config type when absent) and annotations", async () => {
      const sig = blob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: {
              mediaType: "application/vnd.example.sig.config",
              digest: config.digest,
              size: config.content.length,
            },
            layers: [],
            subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.content.length },
            annotations: { "org.example.kind": "signature" },
          }),
        ),
      );
      const idx = blob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [{ mediaType: OCI_MANIFEST, digest: sig.digest, size: sig.content.length }],
            subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.content.length },
          }),
        ),
      );
      const put1 = await client.pushManifest(repo, sig.digest, sig.content, OCI_MANIFEST);
      expect(put1.status).toBe(201);
      expect(put1.header("oci-subject")).toBe(image.digest);
      const put2 = await client.pushManifest(repo, idx.digest, idx.content, OCI_INDEX);
      expect(put2.status).toBe(201);
      expect(put2.header("oci-subject")).toBe(image.digest);

      const res = await client.req("GET", r(`referrers/${image.digest}`));
      expect(res.status).toBe(200);
      expect(res.header("content-type")).toBe(OCI_INDEX);
      const index = res.json<{
        schemaVersion: number;
        mediaType: string;
        manifests: Record<string, unknown>[];
      }>();
      expect(index.schemaVersion).toBe(2);
      expect(index.mediaType).toBe(OCI_INDEX);
      const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
      expect(byDigest.get(sig.digest)).toEqual({
        mediaType: OCI_MANIFEST,
        digest: sig.digest,
        size: sig.content.length,
        artifactType: "application/vnd.example.sig.config",
        annotations: { "org.example.kind": "signature" },
      });
      // An index without artifactType: the descriptor has none either.
      expect(byDigest.get(idx.digest)).toEqual({
        mediaType: OCI_INDEX,
        digest: idx.digest,
        size: idx.content.length,
      });

      const filtered = await client.req("GET", r(`referrers/${image.digest}`), {
        query: { artifactType: "application/vnd.example.sig.config" },
      });
      expect(filtered.header("oci-filters-applied")).toBe("artifactType");
      expect(filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest)).toEqual([
        sig.digest,
      ]);

      // Deleting a referrer removes it from the listing.
      expect((await client.req("DELETE", r(`manifests/${idx.digest}`))).status).toBe(202);
      expect((await client.req("DELETE", r(`manifests/${sig.digest}`))).status).toBe(202);
      const after = await client.req("GET", r(`referrers/${image.digest}`));
      expect(after.json<{ manifests: unknown[] }>().manifests).toEqual([]);
    });

    it("referrers of a malformed digest is 400", async () => {
      const res = await client.req("GET", r("referrers/sha256:nothex"));
      expect(res.status).toBe(400);
      expect(specError(res).code).toBe("DIGEST_INVALID");
    });

    it("manifest delete by tag removes only the tag; by digest removes the manifest and its tags", async () => {
      const other = `spec/${randomString(8)}`;
      for (const b of [config, layer]) await client.pushBlob(other, b.content);
      for (const t of ["one", "two"]) await client.pushManifest(other, t, image.content, OCI_MANIFEST);
      expect((await client.req("DELETE", `/v2/${other}/manifests/one`)).status).toBe(202);
      expect((await client.req("GET", `/v2/${other}/manifests/one`)).status).toBe(404);
      expect((await client.req("GET", `/v2/${other}/manifests/two`, acceptOci)).status).toBe(200);
      expect((await client.req("GET", `/v2/${other}/manifests/${image.digest}`, acceptOci)).status).toBe(200);
      expect((await client.req("DELETE", `/v2/${other}/manifests/${image.digest}`)).status).toBe(202);
      expect((await client.req("GET", `/v2/${other}/manifests/two`)).status).toBe(404);
      expect((await client.req("GET", `/v2/${other}/manifests/${image.digest}`)).status).toBe(404);
      expect((await client.req("GET", `/v2/${other}/tags/list`)).json<{ tags: string[] }>().tags).toEqual([]);
      const again = await client.req("DELETE", `/v2/${other}/manifests/${image.digest}`);
      expect([again.status, specError(again).code]).toEqual([404, "MANIFEST_UNKNOWN"]);
    });

    it("blob delete: 202, then the blob is unknown (404 BLOB_UNKNOWN), a second delete is 404", async () => {
      const data = randomBytes(32);
      expect((await client.pushBlob(repo, data)).status).toBe(201);
      expect((await client.req("DELETE", r(`blobs/${sha256(data)}`))).status).toBe(202);
      const get = await client.req("GET", r(`blobs/${sha256(data)}`));
      expect([get.status, specError(get).code]).toEqual([404, "BLOB_UNKNOWN"]);
      const again = await client.req("DELETE", r(`blobs/${sha256(data)}`));
      expect([again.status, specError(again).code]).toEqual([404, "BLOB_UNKNOWN"]);
    });

    // Choices where the spec leaves room (docs/registry.md), pinned so they change deliberately.
    it("choice: an Accept header without the stored type still gets the manifest, with a 299 Warning", async () => {
      const get = await client.req("GET", r("manifests/v1"), {
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
      });
      expect(get.status).toBe(200);
      expect(get.header("content-type")).toBe(OCI_MANIFEST);
      expect(get.body.equals(image.content)).toBe(true);
      expect(get.header("warning")).toMatch(/^299 - ".*Accept.*"$/);
      const ok = await client.req("GET", r("manifests/v1"), { headers: { Accept: OCI_MANIFEST } });
      expect(ok.header("warning")).toBeNull();
    });

    it("choice: a blob may be deleted while a manifest references it (as in Distribution)", async () => {
      const name = `spec/${randomString(8)}`;
      for (const b of [config, layer]) await client.pushBlob(name, b.content);
      expect((await client.pushManifest(name, "v1", image.content, OCI_MANIFEST)).status).toBe(201);
      expect((await client.req("DELETE", `/v2/${name}/blobs/${layer.digest}`)).status).toBe(202);
      // The manifest stays; the blob is gone from this repository (not from others).
      expect((await client.req("GET", `/v2/${name}/manifests/v1`, acceptOci)).status).toBe(200);
      expect((await client.req("GET", `/v2/${name}/blobs/${layer.digest}`)).status).toBe(404);
      expect((await client.req("GET", r(`blobs/${layer.digest}`))).status).toBe(200);
      // Pushing a manifest that needs it again requires the blob again.
      const again = await client.pushManifest(name, "v2", image.content, OCI_MANIFEST);
      expect([again.status, specError(again).code]).toEqual([400, "MANIFEST_BLOB_UNKNOWN"]);
    });

    it("an Index pushed by tag with its children present pulls back with its own media type", async () => {
      const index = blob(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [
              {
                mediaType: OCI_MANIFEST,
                digest: image.digest,
                size: image.content.length,
                platform: { architecture: "amd64", os: "linux" },
              },
            ],
          }),
        ),
      );
      expect((await client.pushManifest(repo, "multi", index.content, OCI_INDEX)).status).toBe(201);
      const get = await client.req("GET", r("manifests/multi"), {
        headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` },
      });
      expect(get.status).toBe(200);
      expect(get.header("content-type")).toBe(OCI_INDEX);
      expect(get.header("docker-content-digest")).toBe(index.digest);
    });
  });
}
