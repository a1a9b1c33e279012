import { createHash, randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { objectKeyProblem } from "../../storage/blob/object-keys.js";
import {
  checkDestination,
  findingsReportKey,
  MAX_KEY_PREFIX_BYTES,
  sbomExportFolder,
  sbomFileName,
} from "./destination.js";

const KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const hash = (s: string) => createHash("sha256").update(s).digest("hex");
const DIGEST = `sha256:${"a".repeat(64)}`;

describe("report destinations", () => {
  it("maps bucket and prefix to a folder of the reports area, trailing slashes trimmed", () => {
    expect(checkDestination({ bucketName: "sec-reports", kmsKeyArn: KMS }).folder).toBe(
      "reports/sec-reports/",
    );
    expect(checkDestination({ bucketName: "a.b-c", keyPrefix: "x/y//", kmsKeyArn: KMS }).folder).toBe(
      "reports/a.b-c/x/y/",
    );
    expect(checkDestination({ bucketName: "abc", keyPrefix: "/", kmsKeyArn: KMS }).folder).toBe(
      "reports/abc/",
    );
    const id = randomUUID();
    expect(findingsReportKey("reports/b/p/", id, "CSV")).toBe(`reports/b/p/${id}.csv`);
    expect(sbomExportFolder("reports/b/", id, "SPDX_2_3", "123456789012")).toBe(
      `reports/b/SPDX_2_3_outputs_${id}/account=123456789012/resource=AWS_ECR_CONTAINER_IMAGE/`,
    );
    expect(
      sbomFileName(`arn:aws:ecr:us-east-1:123456789012:repository/team/app/${DIGEST}`, "CYCLONEDX_1_4", hash),
    ).toBe(`arn:aws:ecr:us-east-1:123456789012:repository_team_app_${DIGEST}_CYCLONEDX_1_4.json`);
    expect(
      checkDestination({ bucketName: "b12", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:alias/reports" })
        .given.kmsKeyArn,
    ).toBe("arn:aws:kms:eu-west-1:123456789012:alias/reports");
  });

  it("names every bad member at once", () => {
    try {
      checkDestination({ bucketName: "UPPER", keyPrefix: "a/../b", kmsKeyArn: "key" });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({
        code: "ValidationException",
        extra: {
          fields: [
            expect.objectContaining({ name: "s3Destination.bucketName" }),
            expect.objectContaining({
              name: "s3Destination.keyPrefix",
              message: expect.stringMatching(/\.\./) as string,
            }),
            expect.objectContaining({ name: "s3Destination.kmsKeyArn" }),
          ],
        },
      });
    }
    for (const bucketName of ["ab", "a".repeat(64), "-ab", "ab-", "a..b", "192.168.0.1", "a_b", ""])
      expect(() => checkDestination({ bucketName, kmsKeyArn: KMS }), bucketName).toThrow(/bucketName/);
    expect(() =>
      checkDestination({
        bucketName: "b12",
        keyPrefix: "x".repeat(MAX_KEY_PREFIX_BYTES + 1),
        kmsKeyArn: KMS,
      }),
    ).toThrow(/keyPrefix/);
  });

  it("the longest accepted destination still gives valid keys for the longest SBOM file (any repository name)", () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,200}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 12 }), (parts) => {
        const repo = parts.join("/").slice(0, 256).replace(/\/+$/, "") || "r";
        let prefix = "p/".repeat(MAX_KEY_PREFIX_BYTES).slice(0, MAX_KEY_PREFIX_BYTES);
        if (prefix.endsWith("/")) prefix = prefix.slice(0, -1) + "q";
        const d = checkDestination({ bucketName: "b".repeat(63), keyPrefix: prefix, kmsKeyArn: KMS });
        const folder = sbomExportFolder(d.folder, randomUUID(), "CYCLONEDX_1_4", "123456789012");
        const file = sbomFileName(
          `arn:aws:ecr:us-east-1:123456789012:repository/${repo}/${DIGEST}`,
          "CYCLONEDX_1_4",
          hash,
        );
        expect(objectKeyProblem(folder + file)).toBeNull();
        expect(file.endsWith(`${DIGEST}_CYCLONEDX_1_4.json`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
