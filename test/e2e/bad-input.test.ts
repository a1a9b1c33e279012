import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomUUID } from "node:crypto";
import { startDrydock, type Drydock } from "./harness.js";
import {
  abortMidBody,
  answerBeforeBodyEnds,
  Client,
  rawRequest,
  sha256,
  specError,
  type Res,
} from "./registry-http.js";

/**
 * Bad input against a real `drydock serve`: every request below is refused with a typed
 * error in the spec's shape, changes nothing (no blob, manifest, tag or repository appears,
 * no upload grows), and the server keeps serving (checked after every test).
 */

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const LAYER = "application/vnd.oci.image.layer.v1.tar";

let dd: Drydock;
let c: Client;

// One repository with known content; its tag list must never change.
const repo = "bad/input";
const p = (ref: string) => `/v2/${repo}/${ref}`;
const config = Buffer.from(
  JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
);
const layer = randomBytes(2048);
const manifestOf = (
  extra: Record<string, unknown> = {},
  layers = [{ mediaType: LAYER, digest: sha256(layer), size: layer.length }],
) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers,
      ...extra,
    }),
  );
const good = manifestOf();
let baselineTags: string[];

const tagsOf = async (name = repo): Promise<string[]> => {
  const r = await c.req("GET", `/v2/${name}/tags/list`);
  expect(r.status).toBe(200);
  return r.json<{ tags: string[] }>().tags;
};

/** Status and spec error code, asserted together so that a failure shows both. */
function expectError(r: Res, status: number, code: string): { code: string; message?: string } {
  const e = specError(r);
  expect([r.status, e.code], r.text).toEqual([status, code]);
  return e as { code: string; message?: string };
}

async function expectNoBlob(digest: string, name = repo): Promise<void> {
  const r = await c.req("HEAD", `/v2/${name}/blobs/${digest}`);
  expect(r.status, `blob ${digest} should not exist in ${name}`).toBe(404);
}

async function expectNoManifest(reference: string, name = repo): Promise<void> {
  const r = await c.req("GET", `/v2/${name}/manifests/${reference}`);
  expect(r.status, `manifest ${reference} should not exist in ${name}`).toBe(404);
}

async function expectUnknownRepository(name: string): Promise<void> {
  const r = await c.req("GET", `/v2/${name}/tags/list`);
  expect([r.status, specError(r).code]).toEqual([404, "NAME_UNKNOWN"]);
}

async function uploadSize(location: string): Promise<number> {
  const r = await c.req("GET", location);
  expect(r.status).toBe(204);
  const range = r.header("range")!;
  const end = Number(range.split("-")[1]);
  // `0-0` is also what an empty session reports (as Distribution does).
  return end === 0 ? -1 : end + 1;
}

beforeAll(async () => {
  dd = await startDrydock();
  c = new Client(dd.url);
  for (const b of [config, layer]) expect((await c.pushBlob(repo, b)).status).toBe(201);
  expect((await c.pushManifest(repo, "good", good, OCI_MANIFEST)).status).toBe(201);
  baselineTags = await tagsOf();
});

afterAll(async () => {
  if (dd) {
    // Nothing above may have made the server log an internal error.
    expect(dd.logs()).not.toMatch(/"msg":"internal error"/);
    await dd.destroy();
  }
});

afterEach(async () => {
  // Whatever the test sent, the server still answers and the known repository is intact.
  const base = await c.req("GET", "/v2/");
  expect(base.status).toBe(200);
  expect(await tagsOf()).toEqual(baselineTags);
  expect((await c.req("GET", p("manifests/good"))).body.equals(good)).toBe(true);
});

describe("invalid repository names are NAME_INVALID and create nothing", () => {
  const cases: [string, string][] = [
    ["uppercase", "bad/Upper"],
    ["a leading separator", "bad/-dash"],
    ["a double dot component", "bad/../input"],
    ["a dot component", "bad/./input"],
    ["a trailing slash", "bad/trailing/"],
    ["an empty component", "bad//empty"],
    ["a 256-character name", `bad/${"a".repeat(252)}`],
    ["a character outside the grammar", "bad/sp%20ace"],
  ];
  it.each(cases)("a name with %s", async (_what, name) => {
    // Raw requests: fetch would normalize `..` and `.` away before sending.
    const reqs = [
      await rawRequest(dd.url, "GET", `/v2/${name}/tags/list`),
      await rawRequest(dd.url, "POST", `/v2/${name}/blobs/uploads/`),
      await rawRequest(dd.url, "HEAD", `/v2/${name}/blobs/${sha256(layer)}`),
      await rawRequest(dd.url, "PUT", `/v2/${name}/manifests/v1`, good, { "Content-Type": OCI_MANIFEST }),
    ];
    for (const r of reqs) {
      expect(r.status, `${r.status} ${r.text}`).toBe(400);
      if (r.text) expect(JSON.parse(r.text)).toMatchObject({ errors: [{ code: "NAME_INVALID" }] });
    }
    const catalog = await c.req("GET", "/v2/_catalog");
    expect(catalog.json<{ repositories: string[] }>().repositories).toEqual([repo]);
  });

  it("`..` is never resolved: a/../input does not reach the repository `input`", async () => {
    const r = await rawRequest(dd.url, "DELETE", `/v2/bad/x/../input/manifests/good`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ errors: [{ code: "NAME_INVALID" }] });
  });

  it("255 characters is the longest name accepted", async () => {
    const name = `bad/${"b".repeat(251)}`;
    expect(name).toHaveLength(255);
    expect((await c.pushBlob(name, config)).status).toBe(201);
    const tooLong = await c.req("POST", `/v2/${name}x/blobs/uploads/`);
    expectError(tooLong, 400, "NAME_INVALID");
  });
});

describe("invalid tags", () => {
  it.each([
    ["129 characters", "t".repeat(129)],
    ["a leading dot", ".hidden"],
    ["a leading dash", "-dash"],
    ["a character outside the grammar", "a+b"],
  ])("a tag with %s is refused on push (MANIFEST_INVALID) and unknown on pull", async (_what, tag) => {
    const r = await c.pushManifest(repo, tag, good, OCI_MANIFEST);
    const e = expectError(r, 400, "MANIFEST_INVALID");
    expect(e.message).toMatch(/invalid tag/);
    expectError(await c.req("GET", p(`manifests/${encodeURIComponent(tag)}`)), 404, "MANIFEST_UNKNOWN");
    expectError(await c.req("DELETE", p(`manifests/${encodeURIComponent(tag)}`)), 404, "MANIFEST_UNKNOWN");
  });

  it("a 128-character tag is accepted (and removed again)", async () => {
    const tag = "T".repeat(128);
    expect((await c.pushManifest(repo, tag, good, OCI_MANIFEST)).status).toBe(201);
    expect((await c.req("DELETE", p(`manifests/${tag}`))).status).toBe(202);
  });

  it("a reference that looks like a digest but is malformed is DIGEST_INVALID on push", async () => {
    expectError(await c.pushManifest(repo, "sha256:totallywrong", good, OCI_MANIFEST), 400, "DIGEST_INVALID");
    expectError(await c.pushManifest(repo, "sha256:ABC", good, OCI_MANIFEST), 400, "DIGEST_INVALID");
  });

  it("a digest reference that does not match the body is DIGEST_INVALID and stores nothing", async () => {
    const other = manifestOf({ annotations: { x: "y" } });
    expectError(await c.pushManifest(repo, sha256(good), other, OCI_MANIFEST), 400, "DIGEST_INVALID");
    await expectNoManifest(sha256(other));
  });
});

describe("blob uploads", () => {
  it("a digest mismatch on the closing PUT is DIGEST_INVALID; the session is gone and no blob is visible", async () => {
    const data = randomBytes(5000);
    const post = await c.req("POST", p("blobs/uploads/"));
    const loc = post.header("location")!;
    expect((await c.req("PATCH", loc, { body: data })).status).toBe(202);
    const wrong = sha256(randomBytes(8));
    const put = await c.req("PUT", loc, { query: { digest: wrong } });
    expectError(put, 400, "DIGEST_INVALID");
    expectError(await c.req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await c.req("PATCH", loc, { body: data }), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectNoBlob(wrong);
    await expectNoBlob(sha256(data));
  });

  it("a digest mismatch on a single POST ?digest= or POST then PUT stores nothing", async () => {
    const data = randomBytes(300);
    const wrong = sha256(randomBytes(8));
    expectError(
      await c.req("POST", p("blobs/uploads/"), { query: { digest: wrong }, body: data }),
      400,
      "DIGEST_INVALID",
    );
    const post = await c.req("POST", p("blobs/uploads/"));
    expectError(
      await c.req("PUT", post.header("location")!, { query: { digest: wrong }, body: data }),
      400,
      "DIGEST_INVALID",
    );
    expectError(await c.req("GET", post.header("location")!), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectNoBlob(wrong);
    await expectNoBlob(sha256(data));
  });

  it("a closing PUT without a digest, with a malformed one, or an unsupported algorithm is refused", async () => {
    const post = await c.req("POST", p("blobs/uploads/"));
    const loc = post.header("location")!;
    expect((await c.req("PATCH", loc, { body: Buffer.from("abc") })).status).toBe(202);
    expectError(await c.req("PUT", loc), 400, "DIGEST_INVALID");
    expectError(await c.req("PUT", loc, { query: { digest: "sha256:xyz" } }), 400, "DIGEST_INVALID");
    expectError(await c.req("PUT", loc, { query: { digest: `md5:${"0".repeat(32)}` } }), 400, "UNSUPPORTED");
    // None of these ended the session or changed it.
    expect(await uploadSize(loc)).toBe(3);
    expect((await c.req("PUT", loc, { query: { digest: sha256("abc") } })).status).toBe(201);
    expect((await c.req("DELETE", p(`blobs/${sha256("abc")}`))).status).toBe(202);
  });

  it("out-of-order chunks are 416 and append nothing", async () => {
    const data = randomBytes(3000);
    const post = await c.req("POST", p("blobs/uploads/"), { headers: { "Content-Length": "0" } });
    const loc = post.header("location")!;
    const patch = (range: string, body: Buffer) =>
      c.req("PATCH", loc, {
        headers: { "Content-Range": range, "Content-Type": "application/octet-stream" },
        body,
      });
    expect((await patch("0-999", data.subarray(0, 1000))).status).toBe(202);
    for (const [range, body] of [
      ["0-999", data.subarray(0, 1000)], // a replay
      ["500-1499", data.subarray(500, 1500)], // an overlap
      ["2000-2999", data.subarray(2000)], // a gap
    ] as const) {
      const r = await patch(range, body);
      expectError(r, 416, "BLOB_UPLOAD_INVALID");
      expect(r.header("range")).toBe("0-999");
      expect(await uploadSize(loc)).toBe(1000);
    }
    // A malformed Content-Range is 400, and a Content-Length that disagrees with it is SIZE_INVALID.
    expectError(await patch("bytes 1000-", data.subarray(1000, 2000)), 400, "BLOB_UPLOAD_INVALID");
    expectError(
      await c.req("PATCH", loc, {
        headers: { "Content-Range": "1000-1999" },
        body: data.subarray(1000, 1500),
      }),
      400,
      "SIZE_INVALID",
    );
    expect(await uploadSize(loc)).toBe(1000);
    // The session still completes with the right chunks.
    expect((await patch("1000-1999", data.subarray(1000, 2000))).status).toBe(202);
    const put = await c.req("PUT", loc, {
      query: { digest: sha256(data) },
      headers: { "Content-Range": "2000-2999" },
      body: data.subarray(2000),
    });
    expect(put.status).toBe(201);
    expect((await c.req("GET", p(`blobs/${sha256(data)}`))).body.equals(data)).toBe(true);
    expect((await c.req("DELETE", p(`blobs/${sha256(data)}`))).status).toBe(202);
  });

  it("unknown upload ids are BLOB_UPLOAD_UNKNOWN for every method", async () => {
    for (const [id, code] of [
      ["..", "BLOB_UPLOAD_UNKNOWN"],
      ["%2e%2e", "BLOB_UPLOAD_UNKNOWN"],
      // Decodes to a path that is no endpoint at all.
      ["..%2F..%2Fblobs", "UNSUPPORTED"],
    ]) {
      // Raw requests: fetch would resolve these dot segments before sending.
      for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
        const body = method === "PATCH" || method === "PUT" ? Buffer.from("x") : undefined;
        const r = await rawRequest(dd.url, method, p(`blobs/uploads/${id}`), body);
        expect(r.status, `${method} ${id}: ${r.text}`).toBe(404);
        expect(JSON.parse(r.text)).toMatchObject({ errors: [{ code }] });
      }
    }
    for (const id of [randomUUID(), "not-a-session"]) {
      const loc = p(`blobs/uploads/${id}`);
      expectError(await c.req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
      expectError(await c.req("PATCH", loc, { body: Buffer.from("x") }), 404, "BLOB_UPLOAD_UNKNOWN");
      expectError(
        await c.req("PUT", loc, { query: { digest: sha256("x") }, body: Buffer.from("x") }),
        404,
        "BLOB_UPLOAD_UNKNOWN",
      );
      expectError(await c.req("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN");
    }
    await expectNoBlob(sha256("x"));
  });

  it("an upload id is unknown in another repository, and the session there is untouched", async () => {
    const other = "bad/other";
    const post = await c.req("POST", `/v2/${other}/blobs/uploads/`);
    const loc = post.header("location")!;
    const id = loc.split("/").pop()!;
    expect((await c.req("PATCH", loc, { body: Buffer.from("0123456789") })).status).toBe(202);
    const foreign = p(`blobs/uploads/${id}`);
    expectError(await c.req("GET", foreign), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(await c.req("PATCH", foreign, { body: Buffer.from("zz") }), 404, "BLOB_UPLOAD_UNKNOWN");
    expectError(
      await c.req("PUT", foreign, { query: { digest: sha256("0123456789") } }),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
    expectError(await c.req("DELETE", foreign), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectNoBlob(sha256("0123456789"));
    expect(await uploadSize(loc)).toBe(10);
    expect((await c.req("PUT", loc, { query: { digest: sha256("0123456789") } })).status).toBe(201);
    await expectNoBlob(sha256("0123456789")); // linked in bad/other only
  });
});

describe("blob reads", () => {
  it("Range requests outside the blob are 416 with Content-Range: bytes */size", async () => {
    for (const range of [
      `bytes=${layer.length}-`,
      `bytes=${layer.length + 10}-${layer.length + 20}`,
      "bytes=-0",
    ]) {
      const r = await c.req("GET", p(`blobs/${sha256(layer)}`), { headers: { Range: range } });
      expect(r.status, range).toBe(416);
      expect(r.header("content-range")).toBe(`bytes */${layer.length}`);
      specError(r);
    }
    // A range that runs past the end is cut to the blob; ranges it cannot serve are ignored (200).
    const past = await c.req("GET", p(`blobs/${sha256(layer)}`), { headers: { Range: "bytes=2000-9999" } });
    expect(past.status).toBe(206);
    expect(past.body.equals(layer.subarray(2000))).toBe(true);
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "garbage"]) {
      const r = await c.req("GET", p(`blobs/${sha256(layer)}`), { headers: { Range: range } });
      expect(r.status, range).toBe(200);
      expect(r.body.equals(layer)).toBe(true);
    }
  });

  it("malformed digests are DIGEST_INVALID, unknown algorithms UNSUPPORTED", async () => {
    expectError(await c.req("GET", p("blobs/sha256:1234")), 400, "DIGEST_INVALID");
    expectError(await c.req("GET", p("blobs/nodigest")), 400, "DIGEST_INVALID");
    expectError(await c.req("GET", p(`blobs/sha384:${"a".repeat(96)}`)), 400, "UNSUPPORTED");
    expectError(await c.req("DELETE", p("blobs/sha256:1234")), 400, "DIGEST_INVALID");
  });
});

describe("manifests", () => {
  const put = (reference: string, body: Buffer | string, contentType?: string) =>
    c.req("PUT", p(`manifests/${reference}`), {
      headers: contentType ? { "Content-Type": contentType } : {},
      body: typeof body === "string" ? Buffer.from(body) : body,
    });

  it("an unknown blob referenced in a manifest is MANIFEST_BLOB_UNKNOWN: no tag, no manifest", async () => {
    const missing = sha256(randomBytes(32));
    const bad = manifestOf({}, [{ mediaType: LAYER, digest: missing, size: 32 }]);
    const r = await put("broken", bad, OCI_MANIFEST);
    const e = expectError(r, 400, "MANIFEST_BLOB_UNKNOWN");
    expect(e.message).toContain(missing);
    await expectNoManifest("broken");
    await expectNoManifest(sha256(bad));
    await expectNoBlob(sha256(bad));
    // By digest, too.
    expectError(await put(sha256(bad), bad, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest(sha256(bad));
  });

  it("an index referencing an unknown manifest is MANIFEST_BLOB_UNKNOWN", async () => {
    const missing = sha256(randomBytes(32));
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: sha256(good), size: good.length },
        { mediaType: OCI_MANIFEST, digest: missing, size: 10 },
      ],
    });
    expectError(await put("index", index, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
    await expectNoManifest("index");
  });

  it("a refused push to a new repository does not create the repository", async () => {
    const name = `bad/new-${randomUUID().slice(0, 8)}`;
    const r = await c.pushManifest(name, "v1", good, OCI_MANIFEST);
    expectError(r, 400, "MANIFEST_BLOB_UNKNOWN");
    await expectUnknownRepository(name);
    expectError(await c.pushManifest(name, "v1", "{", OCI_MANIFEST), 400, "MANIFEST_INVALID");
    await expectUnknownRepository(name);
  });

  it.each([
    ["malformed JSON", '{"schemaVersion": 2,', OCI_MANIFEST],
    ["an empty body", "", OCI_MANIFEST],
    ["a JSON array", "[]", OCI_MANIFEST],
    ["a JSON string", '"manifest"', OCI_MANIFEST],
    ["binary garbage", randomBytes(64), OCI_MANIFEST],
  ])("%s is MANIFEST_INVALID", async (_what, body, type) => {
    const r = await put("junk", body, type);
    expectError(r, 400, "MANIFEST_INVALID");
    await expectNoManifest("junk");
  });

  const schemaCases: [string, Record<string, unknown>, RegExp][] = [
    ["a missing config", { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }, /config/],
    [
      "a bad digest string",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: "sha256:not-a-digest", size: config.length },
        layers: [],
      },
      /digest/,
    ],
    [
      "a wrong schemaVersion",
      {
        schemaVersion: 3,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
        layers: [],
      },
      /schemaVersion/,
    ],
    [
      "a negative size",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256(config), size: -1 },
        layers: [],
      },
      /size/,
    ],
    [
      "layers that are not a list",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
        layers: {},
      },
      /layers/,
    ],
    ["an index without manifests", { schemaVersion: 2, mediaType: OCI_INDEX }, /manifests/],
    [
      "an unknown media type",
      { schemaVersion: 2, mediaType: "application/vnd.example.thing+json" },
      /unsupported manifest media type/,
    ],
  ];
  it.each(schemaCases)("a manifest with %s is MANIFEST_INVALID, saying where", async (_what, doc, where) => {
    const body = JSON.stringify(doc);
    const r = await put("schema", body, doc.mediaType as string);
    const e = expectError(r, 400, "MANIFEST_INVALID");
    expect(e.message).toMatch(where);
    await expectNoManifest("schema");
    await expectNoManifest(sha256(body));
  });

  it("Docker schema 1 is refused with a clear message", async () => {
    const v1 = JSON.stringify({
      schemaVersion: 1,
      name: repo,
      tag: "old",
      architecture: "amd64",
      fsLayers: [{ blobSum: sha256(layer) }],
      history: [{ v1Compatibility: "{}" }],
      signatures: [],
    });
    for (const type of [
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "application/vnd.docker.distribution.manifest.v1+json",
      "application/json",
    ]) {
      const e = expectError(await put("old", v1, type), 400, "MANIFEST_INVALID");
      expect(e.message).toMatch(/schema 1 is not supported/);
    }
    await expectNoManifest("old");
  });

  it("a mediaType field that disagrees with Content-Type is MANIFEST_INVALID", async () => {
    const r = await put("mismatch", good, "application/vnd.docker.distribution.manifest.v2+json");
    const e = expectError(r, 400, "MANIFEST_INVALID");
    expect(e.message).toMatch(/does not match/);
    const idx = await put("mismatch", good, OCI_INDEX);
    expectError(idx, 400, "MANIFEST_INVALID");
    await expectNoManifest("mismatch");
  });

  it("no Content-Type and no mediaType field: MANIFEST_INVALID (the type cannot be known)", async () => {
    const body = JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: [],
    });
    const r = await c.req("PUT", p("manifests/untyped"), { body: Buffer.from(body) });
    expectError(r, 400, "MANIFEST_INVALID");
    // An empty Content-Type header is the same as none.
    const empty = await c.req("PUT", p("manifests/untyped"), {
      body: Buffer.from(body),
      headers: { "Content-Type": "" },
    });
    expectError(empty, 400, "MANIFEST_INVALID");
    await expectNoManifest("untyped");
  });

  /** A valid image manifest padded (with an annotation) to exactly `size` bytes. */
  function manifestOfSize(size: number): Buffer {
    const base = manifestOf({ annotations: { pad: "" } });
    return manifestOf({ annotations: { pad: "x".repeat(size - base.length) } });
  }

  it("a manifest of exactly 4 MiB is accepted; one byte more is 413 and stores nothing", async () => {
    const limit = 4 * 1024 * 1024;
    const atLimit = manifestOfSize(limit);
    expect(atLimit.length).toBe(limit);
    const ok = await put("big", atLimit, OCI_MANIFEST);
    expect(ok.status, ok.text).toBe(201);
    expect((await c.req("DELETE", p(`manifests/${sha256(atLimit)}`))).status).toBe(202);

    const over = manifestOfSize(limit + 1);
    const r = await put("toobig", over, OCI_MANIFEST);
    expectError(r, 413, "SIZE_INVALID");
    await expectNoManifest("toobig");
    await expectNoManifest(sha256(over));
  });

  it("an oversized manifest sent without Content-Length (chunked) is 413 before the body ends", async () => {
    const over = manifestOfSize(5 * 1024 * 1024);
    // Chunked encoding, 64 KiB chunks, and no final chunk: the server must answer on its own.
    const framed: Buffer[] = [];
    for (let i = 0; i < over.length; i += 65536) {
      const part = over.subarray(i, i + 65536);
      framed.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
    }
    const r = await answerBeforeBodyEnds(
      dd.url,
      "PUT",
      p("manifests/toobig"),
      { "Content-Type": OCI_MANIFEST, "Transfer-Encoding": "chunked" },
      Buffer.concat(framed),
    );
    expect(r.status).toBe(413);
    expect(r.head).toMatch(/^connection: close$/im);
    expect(
      JSON.parse(
        r.body
          .trim()
          .split("\r\n")
          .find((l) => l.startsWith("{")) ?? r.body,
      ),
    ).toMatchObject({
      errors: [{ code: "SIZE_INVALID" }],
    });
    await expectNoManifest("toobig");
    await expectNoManifest(sha256(over));
  });
});

describe("clients that vanish mid-request", () => {
  it("a PATCH cut off halfway adds nothing; the upload resumes at the last good chunk", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const post = await c.req("POST", p("blobs/uploads/"), { headers: { "Content-Length": "0" } });
    const loc = post.header("location")!;
    const first = await c.req("PATCH", loc, {
      headers: { "Content-Range": "0-1048575" },
      body: data.subarray(0, 1048576),
    });
    expect(first.status).toBe(202);
    // The second chunk announces 3 MiB and delivers 1 MiB before the client disappears.
    await abortMidBody(
      dd.url,
      "PATCH",
      loc,
      {
        "Content-Type": "application/octet-stream",
        "Content-Range": `1048576-${data.length - 1}`,
        "Content-Length": String(data.length - 1048576),
      },
      data.subarray(1048576, 2 * 1048576),
    );
    expect(await uploadSize(loc)).toBe(1048576);
    await expectNoBlob(sha256(data));
    // A streamed chunk (no Content-Length, chunked encoding) cut off: same.
    await abortMidBody(
      dd.url,
      "PATCH",
      loc,
      { "Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked" },
      Buffer.concat([Buffer.from("100000\r\n"), data.subarray(1048576, 1048576 + 0x80000)]),
    );
    expect(await uploadSize(loc)).toBe(1048576);
    // The closing PUT cut off while carrying the last chunk: same, and no blob.
    await abortMidBody(
      dd.url,
      "PUT",
      `${loc}?digest=${sha256(data)}`,
      { "Content-Type": "application/octet-stream", "Content-Length": String(data.length - 1048576) },
      data.subarray(1048576, 3 * 1048576),
    );
    expect(await uploadSize(loc)).toBe(1048576);
    await expectNoBlob(sha256(data));
    // The client comes back and finishes the upload.
    const put = await c.req("PUT", loc, {
      query: { digest: sha256(data) },
      headers: { "Content-Range": `1048576-${data.length - 1}` },
      body: data.subarray(1048576),
    });
    expect(put.status, put.text).toBe(201);
    expect((await c.req("GET", p(`blobs/${sha256(data)}`))).body.equals(data)).toBe(true);
    expect((await c.req("DELETE", p(`blobs/${sha256(data)}`))).status).toBe(202);
  });

  it("a single POST ?digest= or a manifest PUT cut off halfway stores nothing", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    await abortMidBody(
      dd.url,
      "POST",
      p(`blobs/uploads/?digest=${sha256(data)}`),
      { "Content-Type": "application/octet-stream", "Content-Length": String(data.length) },
      data.subarray(0, 512 * 1024),
    );
    await expectNoBlob(sha256(data));
    const big = manifestOf({ annotations: { pad: "y".repeat(1024 * 1024) } });
    await abortMidBody(
      dd.url,
      "PUT",
      p("manifests/cut"),
      { "Content-Type": OCI_MANIFEST, "Content-Length": String(big.length) },
      big.subarray(0, 300 * 1024),
    );
    await expectNoManifest("cut");
    await expectNoManifest(sha256(big));
  });

  it("after all of the above, a fresh push and pull succeed", async () => {
    const name = "bad/fresh";
    const blobData = randomBytes(100_000);
    const cfg = Buffer.from(
      JSON.stringify({ architecture: "arm64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    expect((await c.pushBlob(name, cfg)).status).toBe(201);
    expect((await c.pushBlob(name, blobData)).status).toBe(201);
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256(cfg), size: cfg.length },
        layers: [{ mediaType: LAYER, digest: sha256(blobData), size: blobData.length }],
      }),
    );
    expect((await c.pushManifest(name, "latest", m, OCI_MANIFEST)).status).toBe(201);
    const got = await c.req("GET", `/v2/${name}/manifests/latest`, { headers: { Accept: OCI_MANIFEST } });
    expect(got.body.equals(m)).toBe(true);
    expect((await c.req("GET", `/v2/${name}/blobs/${sha256(blobData)}`)).body.equals(blobData)).toBe(true);
  });
});

describe("protocol misuse", () => {
  it("an unsupported method is 405 UNSUPPORTED with Allow", async () => {
    const r = await c.req("POST", p("tags/list"));
    expectError(r, 405, "UNSUPPORTED");
    expect(r.header("allow")).toBe("GET");
    const m = await c.req("PATCH", p("manifests/good"), { body: Buffer.from("{}") });
    expectError(m, 405, "UNSUPPORTED");
    expect(m.header("allow")).toBe("GET, HEAD, PUT, DELETE");
  });

  it("an unknown endpoint under /v2/ is 404 in the spec's error shape", async () => {
    for (const path of [p("nothing"), p("manifests/"), "/v2/_catalog/extra"]) {
      const r = await c.req("GET", path);
      expect(r.status, path).toBe(404);
      specError(r);
    }
  });

  it("a bad page size is refused", async () => {
    expectError(await c.req("GET", p("tags/list?n=-1")), 400, "UNSUPPORTED");
    expectError(await c.req("GET", p("tags/list?n=abc")), 400, "UNSUPPORTED");
  });

  it("an empty or malformed Content-Type on a blob chunk is ignored, not 415", async () => {
    const post = await c.req("POST", p("blobs/uploads/"));
    for (const ct of ["", ";;;", "garbage"]) {
      const r = await c.req("PATCH", post.header("location")!, {
        headers: { "Content-Type": ct },
        body: Buffer.from("ab"),
      });
      expect(r.status, JSON.stringify(ct)).toBe(202);
    }
    const status = await c.req("GET", post.header("location")!);
    expect(status.header("range")).toBe("0-5");
    expect((await c.req("DELETE", post.header("location")!)).status).toBe(204);
  });

  it("a malformed digest in referrers is 400, never 404", async () => {
    expectError(await c.req("GET", p("referrers/sha256:zz")), 400, "DIGEST_INVALID");
    expectError(await c.req("GET", p("referrers/latest")), 400, "DIGEST_INVALID");
  });
});
