import type { Distro, Ecosystem, Package } from "../catalog/types.js";
import type { Affected } from "../vulndb/types.js";
import { debianEcosystem } from "../vulndb/importers/debian-releases.js";
import { osvRangeScheme } from "./base.js";
import type { LookupKey, Matcher } from "./matcher-types.js";

/**
 * The OS package matchers, one per distro family: dpkg (Debian, Ubuntu), apk (Alpine, Wolfi)
 * and rpm (the Red Hat family, Amazon Linux, Fedora, Azure Linux, Photon, SUSE, …). OS
 * packages are keyed under their distro release (`distroKey`), by the package names the
 * family's feeds use.
 */

/** `ubuntu:22.04`, `debian:12`, `alpine:3.19`, `rhel:9`, … — the release key of a distro. */
export function distroKey(distro: Distro): string | null {
  const id = distro.id.toLowerCase();
  const v = distro.versionId ?? "";
  switch (id) {
    case "debian": {
      // Stable releases have VERSION_ID (12, 12.5 in old images); testing and unstable only a
      // codename (trixie), which the feeds key under the release number (debian:13).
      const major = /^\d+/.exec(v)?.[0];
      if (major) return `debian:${major}`;
      return (distro.codename && debianEcosystem(distro.codename)) || "debian:sid";
    }
    case "ubuntu":
      return `ubuntu:${v}`;
    case "alpine": {
      // Edge reports a pre-release VERSION_ID (3.21_alpha20240807): its advisories are edge's.
      const m = /^(\d+)\.(\d+)(?:\.\d+)*$/.exec(v);
      return m ? `alpine:${m[1]}.${m[2]}` : "alpine:edge";
    }
    case "wolfi":
    case "chainguard":
      return "wolfi";
    case "rhel":
    case "centos":
    case "almalinux":
    case "rocky":
    case "ol":
    case "amzn":
    case "fedora":
      return `${id}:${v.split(".")[0]}`;
    case "azurelinux":
    case "mariner":
      return `${id}:${v.split(".").slice(0, 2).join(".")}`;
    default:
      // The database stores ecosystem keys lowercase (vulndb/ecosystems.ts normalizeEcosystem).
      return v ? `${id}:${v.toLowerCase()}` : null;
  }
}

/**
 * The os-release IDs of each family: the distros whose release keys (`distroKey`) belong to
 * it. A distro in no list (Kali, Raspbian, openSUSE Leap) is keyed `<id>:<version>` by
 * whichever family's packages it has; its keys are owned by every OS matcher.
 */
const FAMILY_DISTROS = {
  deb: ["debian", "ubuntu"],
  apk: ["alpine", "wolfi", "chainguard"],
  rpm: [
    "rhel",
    "centos",
    "almalinux",
    "rocky",
    "ol",
    "amzn",
    "fedora",
    "azurelinux",
    "mariner",
    "photon",
    "sles",
    "openeuler",
    "mageia",
  ],
} as const satisfies Record<"deb" | "apk" | "rpm", readonly string[]>;

const familyOfDistro = new Map<string, string>(
  Object.entries(FAMILY_DISTROS).flatMap(([family, ids]) => ids.map((id) => [id, family] as const)),
);

/** The release key's distro part: `debian` of `debian:12`, `wolfi` of `wolfi`. */
const distroOfKey = (key: string): string => {
  const colon = key.indexOf(":");
  return colon < 0 ? key : key.slice(0, colon);
};

/** What distroKey's `wolfi` key and every `<id>:<release>` key look like (language keys have no colon). */
const isDistroKey = (key: string): boolean => key.includes(":") || key === "wolfi";

interface OsFamilySpec {
  id: "deb" | "apk" | "rpm";
  ecosystem: Ecosystem;
  keys(p: Package, eco: string): LookupKey[];
  adjust?(key: LookupKey, affected: Affected): Affected;
}

function osFamilyMatcher(spec: OsFamilySpec): Matcher {
  const own = new Set<string>(FAMILY_DISTROS[spec.id]);
  const handlesDistro = (distro: Distro | null): boolean => {
    if (!distro) return true;
    const family = familyOfDistro.get(distro.id.toLowerCase());
    return family === undefined || family === spec.id;
  };
  return {
    id: spec.id,
    ecosystems: [spec.ecosystem],
    handles: (p, distro) => p.ecosystem === spec.ecosystem && handlesDistro(distro),
    lookupKeys(p, distro) {
      const eco = distro ? distroKey(distro) : null;
      return eco ? spec.keys(p, eco) : [];
    },
    ownsKey(key) {
      if (!isDistroKey(key)) return false;
      const d = distroOfKey(key);
      return own.has(d) || !familyOfDistro.has(d);
    },
    rangeScheme: (key, rangeType) => osvRangeScheme(key, rangeType, false),
    ...(spec.adjust ? { adjust: spec.adjust } : {}),
  };
}

/**
 * dpkg: Debian's tracker, DSA/DLA and OSV name **source** packages with source versions
 * (`libssl3` is looked up as `openssl` at `3.0.11-1~deb12u2`, not `…+b1`); Ubuntu's OVAL names
 * binary packages, so a package built from another source is looked up by its own name too.
 */
export const debMatcher: Matcher = osFamilyMatcher({
  id: "deb",
  ecosystem: "deb",
  keys(p, eco) {
    const keys: LookupKey[] = [
      { ecosystem: eco, name: p.sourceName ?? p.name, version: p.sourceVersion ?? p.version, scheme: "deb" },
    ];
    if (p.sourceName && p.sourceName !== p.name)
      keys.push({ ecosystem: eco, name: p.name, version: p.version, scheme: "deb" });
    return keys;
  },
});

/** apk: Alpine's secdb and Wolfi's advisories name the origin (source) package. */
export const apkMatcher: Matcher = osFamilyMatcher({
  id: "apk",
  ecosystem: "apk",
  keys: (p, eco) => [{ ecosystem: eco, name: p.sourceName ?? p.name, version: p.version, scheme: "apk" }],
});

/**
 * rpm feeds that omit the epoch (AlmaLinux OSV, openEuler) mean the package's own epoch:
 * `5.1-7` for an installed `1:5.1-6` reads `1:5.1-7`, else every package with an epoch
 * would compare above every fix.
 */
export function withEpoch(affected: Affected, epoch: number | undefined): Affected {
  if (!epoch) return affected;
  const add = (v: string) => (v === "0" || v.includes(":") ? v : `${epoch}:${v}`);
  return {
    ...affected,
    versions: affected.versions?.map(add),
    ranges: affected.ranges.map((r) =>
      r.type === "NATIVE"
        ? r
        : {
            ...r,
            events: r.events.map((e) =>
              "introduced" in e
                ? { introduced: add(e.introduced) }
                : "fixed" in e
                  ? { fixed: add(e.fixed) }
                  : "last_affected" in e
                    ? { last_affected: add(e.last_affected) }
                    : e,
            ),
          },
    ),
  };
}

/**
 * rpm: OVAL (RHSA, RLSA, Azure Linux) names binary packages and AlmaLinux's OSV source
 * packages: looked up by both, comparing the package's EVR (the cataloger's version already is
 * `[epoch:]version-release`), with its epoch assumed where a feed writes none.
 */
export const rpmMatcher: Matcher = osFamilyMatcher({
  id: "rpm",
  ecosystem: "rpm",
  keys(p, eco) {
    const epoch = p.epoch;
    const keys: LookupKey[] = [{ ecosystem: eco, name: p.name, version: p.version, scheme: "rpm", epoch }];
    if (p.sourceName && p.sourceName !== p.name)
      keys.push({ ecosystem: eco, name: p.sourceName, version: p.version, scheme: "rpm", epoch });
    return keys;
  },
  adjust: (key, affected) => withEpoch(affected, key.epoch),
});
