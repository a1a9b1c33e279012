import type { Distro, DistroDetector } from "../types.js";
import { parseShellVars } from "./os-release.js";

/**
 * The files older or minimal images have instead of os-release. Each yields a Distro with the
 * os-release ID the distribution uses today, so matchers see one vocabulary.
 */

/** ID_LIKE as each distribution's own os-release declares it, so fallbacks answer alike. */
const ID_LIKE: Record<string, string[]> = {
  ubuntu: ["debian"],
  centos: ["rhel", "fedora"],
  almalinux: ["rhel", "centos", "fedora"],
  rocky: ["rhel", "centos", "fedora"],
  ol: ["fedora"],
  rhel: ["fedora"],
  amzn: ["centos", "rhel", "fedora"],
};

function withIdLike(d: Distro): Distro {
  const like = ID_LIKE[d.id];
  return like ? { ...d, idLike: like } : d;
}

/** The first line, or "" when it is not a short line: these files hold one short line. */
function firstLine(content: Buffer): string {
  const text = content.subarray(0, 512).toString("utf8");
  const nl = text.indexOf("\n");
  if (nl < 0 && content.length > 256) return "";
  const line = (nl < 0 ? text : text.slice(0, nl)).trim();
  return line.length > 256 ? "" : line;
}

/** `/etc/alpine-release`: `3.19.1`. */
export const alpineReleaseDetector: DistroDetector = {
  id: "alpine-release",
  version: 1,
  paths: ["/etc/alpine-release"],
  parse(_path, content) {
    const v = firstLine(content);
    return /^\d+(\.\d+)*([._-]\w+)*$/.test(v) ? { id: "alpine", versionId: v } : null;
  },
};

/** `/etc/lsb-release` (Ubuntu): DISTRIB_ID, DISTRIB_RELEASE, DISTRIB_CODENAME, DISTRIB_DESCRIPTION. */
export const lsbReleaseDetector: DistroDetector = {
  id: "lsb-release",
  version: 1,
  paths: ["/etc/lsb-release"],
  parse(_path, content) {
    const vars = parseShellVars(content.toString("utf8"));
    const id = vars.get("DISTRIB_ID")?.trim().toLowerCase();
    const versionId = vars.get("DISTRIB_RELEASE")?.trim();
    if (!id || !versionId) return null;
    const d: Distro = { id, versionId };
    const codename = vars.get("DISTRIB_CODENAME");
    if (codename) d.codename = codename;
    const pretty = vars.get("DISTRIB_DESCRIPTION");
    if (pretty) d.prettyName = pretty;
    return withIdLike(d);
  },
};

/**
 * `/etc/debian_version`: a point release (`9.8`, `12.5`) or, on testing/unstable, `<codename>/sid`.
 * The value is kept as written (it is what the file knows); the codename is split out.
 */
export const debianVersionDetector: DistroDetector = {
  id: "debian_version",
  version: 1,
  paths: ["/etc/debian_version"],
  parse(_path, content) {
    const v = firstLine(content);
    if (!/^[A-Za-z0-9][A-Za-z0-9.+~/-]*$/.test(v)) return null;
    const d: Distro = { id: "debian", versionId: v };
    const slash = v.indexOf("/");
    if (slash > 0 && !/^\d/.test(v)) d.codename = v.slice(0, slash);
    return d;
  },
};

/** Release-file product names → os-release ID. More specific names first. */
const PRODUCTS: readonly [RegExp, string][] = [
  [/^centos stream\b/i, "centos"],
  [/^centos\b/i, "centos"],
  [/^almalinux\b/i, "almalinux"],
  [/^rocky linux\b/i, "rocky"],
  [/^oracle linux\b/i, "ol"],
  [/^fedora\b/i, "fedora"],
  [/^red hat\b/i, "rhel"],
  [/^amazon linux\b/i, "amzn"],
];

/**
 * `<Product> release <version> (<codename>)`: centos-release, redhat-release, system-release
 * and the like. Paths are in preference order: the distribution's own file before
 * redhat-release, because derivatives copy it (Oracle Linux's redhat-release names Red Hat).
 */
export const redhatReleaseDetector: DistroDetector = {
  id: "redhat-release",
  version: 1,
  paths: [
    "/etc/oracle-release",
    "/etc/almalinux-release",
    "/etc/rocky-release",
    "/etc/centos-release",
    "/etc/fedora-release",
    "/etc/redhat-release",
    "/etc/system-release",
  ],
  parse(_path, content) {
    const line = firstLine(content);
    const m = /^(.+?)\s+release\s+(\d[\w.]*)(?:\s+\((.+)\))?/i.exec(line);
    if (!m) return null;
    const product = PRODUCTS.find(([re]) => re.test(m[1]!));
    if (!product) return null;
    const d: Distro = { id: product[1], versionId: m[2]!, prettyName: line };
    if (m[3]) d.codename = m[3];
    return withIdLike(d);
  },
};
