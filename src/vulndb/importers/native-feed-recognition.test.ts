import { describe, expect, it } from "vitest";
import { missingVulndata, readPackFile, readPackTarGz } from "./native-feed-testing.js";
import { importers } from "./registry.js";

/**
 * Recognition must be unambiguous: every document of the distro and native-format feeds in
 * the pack is claimed by exactly its own importer, whatever the order of the registry, and
 * the files that are not advisories (licences, docs, indexes) by none.
 */

const PACK: [file: string, importer: string][] = [
  ["distro/alpine/alpine-secdb.tar.gz", "alpine-secdb"],
  ["distro/debian/DSA-list.gz", "debian-dsa"],
  ["distro/debian/DLA-list.gz", "debian-dsa"],
  ["distro/ubuntu/com.ubuntu.noble.usn.oval.xml.gz", "oval"],
  ["distro/ubuntu/com.ubuntu.jammy.usn.oval.xml.gz", "oval"],
  ["distro/rhel-family/com.redhat.rhsa-RHEL9.xml.gz", "oval"],
  ["distro/rhel-family/org.rockylinux.rlsa-9.xml.gz", "oval"],
  ["distro/azurelinux/azurelinux-3.0-oval.xml.gz", "oval"],
  ["raw/ruby-advisory-db.tar.gz", "rubysec"],
  ["raw/friendsofphp-security-advisories.tar.gz", "friendsofphp"],
  ["raw/nodejs-security-wg-vuln.tar.gz", "nodejs-wg"],
  ["raw/wolfi-advisories.tar.gz", "wolfi"],
];

/** Members that are no advisory of the feed (licences, docs, indexes, vuln/deps). */
const NOT_ADVISORIES = /(?:^|\/)(?:LICENSE[^/]*|README\.md|index\.js(?:on)?|vuln\/deps\/[^/]+|docs\/.*)$/;

const missing = PACK.map(([f]) => missingVulndata(f)).find((m) => m !== null) ?? null;

describe.skipIf(missing !== null)(`recognition of the distro and native feeds ${missing ?? ""}`, () => {
  it.each(PACK)("%s is claimed by %s alone", async (file, expected) => {
    const docs = file.endsWith(".tar.gz") ? await readPackTarGz(file) : [await readPackFile(file)];
    const wrong: string[] = [];
    for (const doc of docs) {
      const head = doc.content.subarray(0, 4096);
      const claimed = importers.filter((i) => i.recognizes({ name: doc.name, head })).map((i) => i.id);
      const member = doc.name.slice(doc.name.lastIndexOf("!") + 1);
      const want = NOT_ADVISORIES.test(member) ? [] : [expected];
      if (JSON.stringify(claimed) !== JSON.stringify(want))
        wrong.push(`${member}: ${claimed.join(",") || "none"}`);
    }
    expect(wrong).toEqual([]);
  });
});
