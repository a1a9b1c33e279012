import { sha256 } from "../../core/digest.js";
import { reportedSeverity } from "../../scan/engine.js";
import type { FindingWrite, MetaStore } from "../../storage/meta/store.js";
import { identityOf, inspectorScore } from "../lifecycle.js";
import { testFinding } from "../testing.js";

/** Test data of the report tests (service.test.ts, cluster.test.ts). */

export const MEDIA = "application/vnd.oci.image.manifest.v1+json";

/** Two repositories, an image each (and a second in team/a), findings of every status. */
export async function populateFindings(meta: MetaStore): Promise<void> {
  const config = sha256("config");
  const layer = sha256("layer");
  const writes: FindingWrite[] = [];
  let n = 0;
  for (const [repo, tags] of [
    ["team/a", ["v1", "v2"]],
    ["other", ["latest"]],
  ] as const) {
    const id = await meta.registry.ensureRepository(repo);
    await meta.registry.linkBlob(id, config, 6);
    await meta.registry.linkBlob(id, layer, 5);
    for (const tag of tags) {
      const digest = sha256(`${repo}:${tag}`);
      await meta.registry.putManifest({
        repositoryId: id,
        digest,
        mediaType: MEDIA,
        artifactType: null,
        subject: null,
        size: 100,
        annotations: null,
        references: [
          { digest: config, kind: "blob" },
          { digest: layer, kind: "blob" },
        ],
        tag,
      });
      for (const [i, pkg] of ["openssl", "zlib", "libc6", "curl", "lodash"].entries()) {
        for (const status of ["ACTIVE", "SUPPRESSED", "CLOSED"] as const) {
          n++;
          const doc = testFinding({
            vulnerabilityId: `CVE-2024-${1000 + i}`,
            severity: (["CRITICAL", "HIGH", "MEDIUM", "LOW", "HIGH"] as const)[i]!,
            description: `A flaw in ${pkg}, with "quotes", commas\nand a new line`,
            package: { name: pkg, path: status === "ACTIVE" ? "/var/lib/dpkg/status" : `/opt/${status}` },
          });
          const identity = identityOf(doc, { repositoryId: id, digest, scanType: "ENHANCED" });
          const at = 1_700_000_000_000 + n * 60_000;
          writes.push({
            identity,
            state: {
              status,
              severity: reportedSeverity(doc.severity, "ENHANCED"),
              fixAvailable: doc.fixAvailable,
              inspectorScore: inspectorScore(doc),
              epssScore: null,
              exploitAvailable: false,
              firstObservedAt: at,
              lastObservedAt: at,
              updatedAt: at,
              closedAt: status === "CLOSED" ? at : null,
            },
            document: JSON.stringify(doc),
          });
        }
      }
    }
  }
  await meta.findings.put(writes);
}
