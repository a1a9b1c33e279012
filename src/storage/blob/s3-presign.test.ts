import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { presignGet, templateFrom, type PresignCredentials } from "./s3-presign.js";

/**
 * The presigner gives, for the same instant and credentials, exactly the URL the SDK's
 * getSignedUrl gives (same origin, path, parameters and signature), for path-style custom
 * endpoints and for AWS's virtual-hosted one, with and without a session token.
 */

const AT = new Date("2026-12-07T10:11:12.345Z");

const clients: [string, S3Client, PresignCredentials][] = [
  [
    "path-style endpoint with a port (radosgw, MinIO)",
    new S3Client({
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
    { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  ],
  [
    "AWS, virtual-hosted, a session token, the SDK's default checksum mode",
    new S3Client({
      region: "eu-west-1",
      credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "tok/en+=" },
    }),
    { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "tok/en+=" },
  ],
];

const sdk = (client: S3Client, key: string, expiresIn: number) =>
  getSignedUrl(client, new GetObjectCommand({ Bucket: "drydock", Key: key }), {
    expiresIn,
    signingDate: AT,
  });

const parts = (u: string) => {
  const url = new URL(u);
  return { base: `${url.origin}${url.pathname}`, query: [...url.searchParams].sort() };
};

describe.each(clients)("presignGet (%s)", (_name, client, credentials) => {
  it("equals the SDK's URL for blob keys and odd ones", async () => {
    const sample = "prefix/presign-template";
    const t = templateFrom(await sdk(client, sample, 60), sample);
    expect(t).not.toBeNull();
    for (const key of [
      "prefix/blobs/sha256/ab/sha256:ab12",
      "a b/c~d/e!f'(g)*h",
      "ünïcode/ключ",
      "trailing/",
    ]) {
      const mine = presignGet(t!, key, credentials, 1200, AT);
      expect(parts(mine), key).toEqual(parts(await sdk(client, key, 1200)));
    }
  });

  it("equals the SDK's URL for any key (property)", async () => {
    const sample = "x";
    const t = templateFrom(await sdk(client, sample, 60), sample)!;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 604800 }),
        async (key, exp) => {
          expect(parts(presignGet(t, key, credentials, exp, AT))).toEqual(parts(await sdk(client, key, exp)));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("templateFrom", () => {
  it("refuses a URL of another shape", () => {
    expect(templateFrom("http://h/b/other?X-Amz-SignedHeaders=host", "k")).toBeNull();
    expect(
      templateFrom("http://h/b/k?X-Amz-SignedHeaders=host%3Brange&X-Amz-Algorithm=AWS4-HMAC-SHA256", "k"),
    ).toBeNull();
  });
});
