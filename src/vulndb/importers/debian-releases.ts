/**
 * Debian release codenames as the security tracker and the DSA/DLA lists name them, mapped
 * to the ecosystem key matchers look up (`debian:<VERSION_ID>` from /etc/os-release;
 * unstable has none and is `debian:sid`). Old releases are kept so that old images still
 * match the advisories of their time.
 */
const RELEASES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    hamm: "2.0",
    slink: "2.1",
    potato: "2.2",
    woody: "3.0",
    sarge: "3.1",
    etch: "4",
    lenny: "5",
    squeeze: "6",
    wheezy: "7",
    jessie: "8",
    stretch: "9",
    buster: "10",
    bullseye: "11",
    bookworm: "12",
    trixie: "13",
    forky: "14",
    duke: "15",
    sid: "sid",
  }),
);

/** `bookworm` → `debian:12`, `sid` → `debian:sid`; undefined for a codename we do not know. */
export function debianEcosystem(codename: string): string | undefined {
  const v = RELEASES.get(codename.toLowerCase());
  return v === undefined ? undefined : `debian:${v}`;
}
