import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  paginateDescribeImages,
  paginateDescribeRepositories,
  paginateListImages,
  StartImageScanCommand,
  waitUntilImageScanComplete,
} from "@aws-sdk/client-ecr";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * The ECR API with @aws-sdk/client-ecr: paginators, the ImageScanComplete waiter, SigV4
 * refusals; and malformed or invalid requests sent as raw JSON 1.1 to an open registry.
 */

const skip = missingShared();
if (skip) console.warn(`ECR SDK tests skipped: ${skip}`);

const AKID = "AKIAECRSDKTEST000001";
const SECRET = "ecr-sdk-test-secret-0123456789";
const minimal = ociLayout("debian-bookworm-minimal");

describe.skipIf(skip !== null)("ECR API with @aws-sdk/client-ecr", () => {
  let dd: Drydock;
  let dataDir: string;
  let ecr: ECRClient;
  const client = (accessKeyId: string, secretAccessKey: string) =>
    new ECRClient({
      endpoint: dd.url,
      region: "us-east-2",
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "drydock-ecr-sdk-"));
    // A database whose one advisory matches nothing in the image: scans complete, no findings.
    const feed = await mkdtemp(join(tmpdir(), "drydock-ecr-sdk-feed-"));
    await writeFile(
      join(feed, "TEST-1.json"),
      JSON.stringify({
        schema_version: "1.6.0",
        id: "TEST-1",
        modified: "2026-01-01T00:00:00Z",
        affected: [
          {
            package: { ecosystem: "Debian:12", name: "no-such-package" },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
          },
        ],
      }),
    );
    const db = join(dataDir, "vulndb", "vulndb.sqlite");
    const r = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "db",
      "import",
      "--db",
      db,
      feed,
    ]);
    if (r.code !== 0) throw new Error(`db import failed: ${r.stdout}${r.stderr}`);
    await rm(feed, { recursive: true, force: true });
    dd = await startDrydock({
      dataDir,
      config: { aws: { credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] } },
    });
    ecr = client(AKID, SECRET);
  });
  afterAll(async () => {
    ecr?.destroy();
    await dd?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("paginateDescribeRepositories walks every page", async () => {
    for (let i = 0; i < 5; i++)
      await ecr.send(new CreateRepositoryCommand({ repositoryName: `pager/r${i}` }));
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeRepositories({ client: ecr, pageSize: 2 }, {})) {
      pages++;
      for (const r of page.repositories ?? []) names.push(r.repositoryName!);
      expect(page.repositories![0]!.createdAt).toBeInstanceOf(Date);
    }
    expect(pages).toBe(3);
    expect(names).toEqual(["pager/r0", "pager/r1", "pager/r2", "pager/r3", "pager/r4"]);
  });

  it("paginateListImages and paginateDescribeImages walk every tag and image", async () => {
    for (const tag of ["a", "b", "c"]) {
      const p = await skopeo([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--preserve-digests",
        `oci:${minimal}`,
        `docker://${dd.addr}/pager/r0:${tag}`,
      ]);
      expect(p.code, p.stderr).toBe(0);
    }
    const tags: string[] = [];
    for await (const page of paginateListImages({ client: ecr, pageSize: 1 }, { repositoryName: "pager/r0" }))
      for (const id of page.imageIds ?? []) tags.push(id.imageTag!);
    expect(tags.sort()).toEqual(["a", "b", "c"]);
    const details = [];
    for await (const page of paginateDescribeImages(
      { client: ecr, pageSize: 1 },
      { repositoryName: "pager/r0" },
    ))
      details.push(...(page.imageDetails ?? []));
    expect(details).toHaveLength(1);
    expect(details[0]!.imageTags!.sort()).toEqual(["a", "b", "c"]);
    expect(details[0]!.imagePushedAt).toBeInstanceOf(Date);
  });

  it("StartImageScan then waitUntilImageScanComplete", async () => {
    const started = await ecr.send(
      new StartImageScanCommand({ repositoryName: "pager/r0", imageId: { imageTag: "a" } }),
    );
    expect(started.imageScanStatus?.status).toBe("IN_PROGRESS");
    expect(started.imageId?.imageDigest).toBe(manifestDigestOfLayout(minimal));
    const w = await waitUntilImageScanComplete(
      { client: ecr, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
      { repositoryName: "pager/r0", imageId: { imageTag: "a" } },
    );
    expect(w.state).toBe("SUCCESS");
  });

  it("wrong secret → InvalidSignatureException; unknown key → UnrecognizedClientException", async () => {
    const wrong = client(AKID, "not-the-secret-000000000");
    await expect(wrong.send(new DescribeRepositoriesCommand({}))).rejects.toMatchObject({
      name: "InvalidSignatureException",
    });
    const unknown = client("AKIAUNKNOWNKEY000000", SECRET);
    await expect(unknown.send(new GetRegistryScanningConfigurationCommand({}))).rejects.toMatchObject({
      name: "UnrecognizedClientException",
    });
    wrong.destroy();
    unknown.destroy();
  });

  it("an unsigned request is refused", async () => {
    const r = await fetch(`${dd.url}/`, {
      method: "POST",
      headers: {
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "Content-Type": "application/x-amz-json-1.1",
      },
      body: "{}",
    });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
  });
});

describe.skipIf(skip !== null)("bad ECR requests (open registry on loopback)", () => {
  let dd: Drydock;
  const call = async (op: string, body: string) => {
    const r = await fetch(`${dd.url}/`, {
      method: "POST",
      headers: {
        "X-Amz-Target": `AmazonEC2ContainerRegistry_V20150921.${op}`,
        "Content-Type": "application/x-amz-json-1.1",
      },
      body,
    });
    return {
      status: r.status,
      type: r.headers.get("content-type"),
      body: (await r.json()) as { __type?: string; message?: string } & Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    dd = await startDrydock();
    await call("CreateRepository", JSON.stringify({ repositoryName: "bad/repo" }));
  });
  afterAll(async () => dd?.destroy());

  it("malformed JSON → SerializationException (400)", async () => {
    const r = await call("DescribeRepositories", "{not json");
    expect(r.status).toBe(400);
    expect(r.type).toBe("application/x-amz-json-1.1");
    expect(r.body.__type).toBe("SerializationException");
  });

  it("wrong types and missing fields → InvalidParameterException naming the field", async () => {
    const a = await call("CreateRepository", JSON.stringify({ repositoryName: 42 }));
    expect(a.body.__type).toBe("InvalidParameterException");
    expect(a.body.message).toMatch(/repositoryName/);
    const b = await call("ListImages", JSON.stringify({ repositoryName: "bad/repo", maxResults: "ten" }));
    expect(b.body.message).toMatch(/maxResults/);
    const c = await call("StartImageScan", JSON.stringify({ repositoryName: "bad/repo" }));
    expect(c.body).toMatchObject({ __type: "InvalidParameterException" });
    expect(c.body.message).toMatch(/imageId/);
    const d = await call("CreateRepository", JSON.stringify({ repositoryName: "Upper/Case" }));
    expect(d.body.__type).toBe("InvalidParameterException");
  });

  it("unknown operation → UnknownOperationException", async () => {
    const r = await call("LaunchRocket", "{}");
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("UnknownOperationException");
  });

  it("unknown repository or image → RepositoryNotFoundException / ImageNotFoundException", async () => {
    const a = await call("DescribeImages", JSON.stringify({ repositoryName: "no/such" }));
    expect(a.body).toEqual({
      __type: "RepositoryNotFoundException",
      message: "The repository with name 'no/such' does not exist in the registry with id '000000000000'",
    });
    const b = await call(
      "DescribeImageScanFindings",
      JSON.stringify({ repositoryName: "bad/repo", imageId: { imageTag: "none" } }),
    );
    expect(b.body.__type).toBe("ImageNotFoundException");
    const c = await call(
      "StartImageScan",
      JSON.stringify({ repositoryName: "bad/repo", imageId: { imageDigest: "sha256:" + "0".repeat(64) } }),
    );
    expect(c.body.__type).toBe("ImageNotFoundException");
  });

  it("more than 2 rules or 100 filters → refused, configuration unchanged", async () => {
    const before = (await call("GetRegistryScanningConfiguration", "{}")).body;
    const rule = (n: number) => ({
      scanFrequency: "SCAN_ON_PUSH",
      repositoryFilters: Array.from({ length: n }, (_, i) => ({ filter: `f${i}`, filterType: "WILDCARD" })),
    });
    const three = await call(
      "PutRegistryScanningConfiguration",
      JSON.stringify({ scanType: "BASIC", rules: [rule(1), rule(1), rule(1)] }),
    );
    expect(three.body.__type).toBe("InvalidParameterException");
    expect(three.body.message).toMatch(/rules/);
    const many = await call(
      "PutRegistryScanningConfiguration",
      JSON.stringify({ scanType: "BASIC", rules: [rule(101)] }),
    );
    expect(many.body.__type).toBe("InvalidParameterException");
    expect(many.body.message).toMatch(/repositoryFilters/);
    const badFilter = await call(
      "PutRegistryScanningConfiguration",
      JSON.stringify({
        rules: [
          { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "UP", filterType: "WILDCARD" }] },
        ],
      }),
    );
    expect(badFilter.body.__type).toBe("InvalidParameterException");
    expect((await call("GetRegistryScanningConfiguration", "{}")).body).toEqual(before);
    // Exactly 100 filters is fine.
    expect(
      (
        await call(
          "PutRegistryScanningConfiguration",
          JSON.stringify({ scanType: "BASIC", rules: [rule(100)] }),
        )
      ).status,
    ).toBe(200);
  });

  it("timestamps are epoch seconds (JSON numbers)", async () => {
    const r = await call("DescribeRepositories", JSON.stringify({ repositoryNames: ["bad/repo"] }));
    const repo = (r.body.repositories as { createdAt: unknown }[])[0]!;
    expect(typeof repo.createdAt).toBe("number");
    expect(Math.abs((repo.createdAt as number) - Date.now() / 1000)).toBeLessThan(600);
  });
});
