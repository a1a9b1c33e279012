import { epssImporter } from "./epss.js";
import { kevImporter } from "./kev.js";
import { nvdImporter } from "./nvd.js";
import { osvImporter } from "./osv.js";
import type { FeedImporter } from "./types.js";
import { vulnrichmentImporter } from "./vulnrichment.js";
// --- distro and native-format importers: imports (owned by the distro-feeds engineer) -------
import { alpineSecdbImporter } from "./alpine.js";
import { debianDsaImporter } from "./debian-dsa.js";
import { debianTrackerImporter } from "./debian-tracker.js";
import { friendsOfPhpImporter } from "./friendsofphp.js";
import { nodejsWgImporter } from "./nodejs-wg.js";
import { ovalImporter } from "./oval.js";
import { rubysecImporter } from "./rubysec.js";
import { wolfiImporter } from "./wolfi.js";
// --- end distro and native-format importers: imports ---------------------------------------

/**
 * Every feed importer, in one explicit list. `drydock db import` gives each document to the
 * FIRST importer whose `recognizes` accepts it, so order matters: the most specific formats
 * come first and OSV, whose recognizer is the broadest (an object with an id and an affected
 * list), comes last. A recognizer must look at the format's own markers, never only at a
 * file extension.
 */
export const importers: readonly FeedImporter[] = [
  // Enrichment (CVSS, KEV, EPSS, SSVC): formats with unmistakable markers.
  kevImporter,
  vulnrichmentImporter,
  nvdImporter,
  epssImporter,

  // --- distro and native-format importers (owned by the distro-feeds engineer) ---------------
  // Alpine secdb, Debian tracker/DSA/DLA, OVAL, RubySec, FriendsOfPHP, Node.js WG, Wolfi.
  // Each recognizes its documents by path and first bytes; none overlaps another.
  alpineSecdbImporter,
  debianTrackerImporter,
  debianDsaImporter,
  ovalImporter,
  rubysecImporter,
  friendsOfPhpImporter,
  nodejsWgImporter,
  wolfiImporter,
  // --- end distro and native-format importers ------------------------------------------------

  // OSV last: the broadest recognizer.
  osvImporter,
];

/** The importer with this id. */
export function importerById(id: string): FeedImporter | undefined {
  return importers.find((i) => i.id === id);
}

/** Every mirror path any importer fetches (feed names of files found at those paths). */
export function mirrorPaths(list: readonly FeedImporter[] = importers): string[] {
  return list.flatMap((i) => (i.upstream ?? []).map((u) => u.mirrorPath));
}
