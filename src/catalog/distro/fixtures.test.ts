import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { distroDetectors } from "../registry.js";
import { describeFixtures, readExpected, upstreamFixtures } from "../testing.js";
import type { Distro } from "../types.js";
import { detectDistro } from "./detect.js";

/**
 * trivy's OS-detection fixtures (../shared/testdata/catalogers/os-release) through the
 * registered detectors, each fixture placed at the path it stands for. trivy names families
 * its own way; Drydock keeps os-release IDs, so a family maps to the IDs that mean it.
 */

const FAMILY_IDS: Record<string, string[]> = {
  "types.Debian": ["debian"],
  alma: ["almalinux"],
  centos: ["centos"],
  fedora: ["fedora"],
  oracle: ["ol"],
  redhat: ["rhel"],
  rocky: ["rocky"],
  ubuntu: ["ubuntu"],
  "types.ActiveState": ["activestate"],
  "types.Alma": ["almalinux"],
  "types.Alpine": ["alpine"],
  "types.Azure": ["azurelinux"],
  "types.Bottlerocket": ["bottlerocket"],
  "types.CentOSStream": ["centos"], // with prettyName "CentOS Stream 8": the ID is centos
  "types.CentOS": ["centos"],
  "types.CoreOS": ["coreos"],
  "types.Echo": ["echo"],
  "types.Fedora": ["fedora"],
  "types.CBLMariner": ["mariner"],
  "types.MinimOS": ["minimos"],
  "types.OpenSUSELeap": ["opensuse-leap", "opensuse"],
  "types.OpenSUSETumbleweed": ["opensuse-tumbleweed"],
  "types.Oracle": ["ol"],
  "types.Photon": ["photon"],
  "types.RedHat": ["rhel"],
  "types.Rocky": ["rocky"],
  "types.SLEMicro": ["sle-micro", "sle-micro-rancher", "sl-micro"],
  "types.SLES": ["sles"],
};

/** Fixtures that deviate, and why. */
const DEVIATIONS: Record<string, string> = {
  "os-release/trivy-analyzer-os-release/no-version":
    "an os-release without VERSION_ID still names the distribution (Debian testing/sid and Arch " +
    "have none): Drydock keeps {id, versionId: ''} where trivy reports nothing",
  "os-release/trivy-analyzer-os-release/unknown":
    "trivy drops IDs it has no scanner for; Drydock reports any os-release ID and leaves " +
    "support to the matchers (which then say the distro is unsupported)",
};

/** Not distro identity files: Ubuntu Pro's ESM status (var/lib/ubuntu-advantage/status.json). */
const NOT_APPLICABLE: Record<string, string> = {
  "os-release/trivy-analyzer-os-ubuntu/esm_disabled_status.json":
    "Ubuntu Pro ESM status is not a distro identity file; the Distro model has no ESM flag",
  "os-release/trivy-analyzer-os-ubuntu/esm_enabled_status.json": "Ubuntu Pro ESM status: see esm_disabled",
};
const NOT_APPLICABLE_CASE = /^esm_test\.go:/;

const SAD_PATH_FILE: Record<string, string> = {
  alma: "almalinux-release",
  centos: "centos-release",
  fedora: "fedora-release",
  oracle: "oracle-release",
  redhatbase: "redhat-release",
  rocky: "rocky-release",
};

type Json = Record<string, unknown>;

/** The image path a fixture stands for in one test case. */
function imagePath(key: string, test: string): string {
  const [, origin] = key.split("/");
  switch (origin) {
    case "trivy-analyzer-os-release":
      return "/etc/os-release";
    case "trivy-analyzer-os-debian":
      return "/etc/debian_version";
    case "trivy-analyzer-os-ubuntu":
      return "/etc/lsb-release";
    case "trivy-analyzer-os-redhatbase": {
      if (!key.endsWith("/empty")) return `/etc/${basename(key)}`;
      return `/etc/${SAD_PATH_FILE[test.slice(0, test.indexOf("_test.go"))] ?? "unknown"}`;
    }
  }
  throw new Error(`no image path for ${key}`);
}

function verdict(c: Json, got: Distro | null): string | null {
  const os = (c.want as Json | undefined)?.OS as Json | undefined;
  if (!os) return got === null ? null : `expected no distro, got ${JSON.stringify(got)}`;
  if (!got) return `expected ${JSON.stringify(os)}, got none`;
  const ids = FAMILY_IDS[os.Family as string];
  if (!ids) return `unknown family ${String(os.Family)}`;
  if (!ids.includes(got.id)) return `id ${got.id} is not ${String(os.Family)}`;
  if (got.versionId !== os.Name) return `versionId ${got.versionId} ≠ ${String(os.Name)}`;
  return null;
}

describeFixtures({
  title: "distro detection fixtures (../shared/testdata/catalogers/os-release)",
  units: () => upstreamFixtures(["os-release"]),
  atLeast: 31,
  name: (f) => f.rel,
  keys: (f) => [f.rel],
  group: () => "os-release",
  notApplicable: NOT_APPLICABLE,
  deviations: DEVIATIONS,
  async check({ rel, expectedPath, fixturePath }) {
    const content = await readFile(fixturePath);
    const diffs: string[] = [];
    const notes: string[] = [];
    for (const c of (await readExpected<Json>(expectedPath)).cases as Json[]) {
      const test = c.test as string;
      if (NOT_APPLICABLE_CASE.test(test)) {
        notes.push(`${test}: not applicable: Ubuntu Pro ESM status, see esm_disabled`);
        continue;
      }
      const path = imagePath(rel, test);
      const got = detectDistro((p) => (p === path ? content : undefined), distroDetectors)?.distro ?? null;
      const why = verdict(c, got);
      if (why) diffs.push(`${test}: ${why}`);
    }
    return notes.length ? { diffs, note: notes.join("; ") } : { diffs };
  },
});
