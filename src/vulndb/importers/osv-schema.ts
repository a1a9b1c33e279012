import { z } from "zod";

/**
 * The OSV schema (1.x, https://ossf.github.io/osv-schema/) as far as the database uses it.
 * Objects are loose so that a field added by a newer schema does not cost the record; the
 * importer reports unknown fields separately (KNOWN_* below) as warnings.
 */

const str = z.string();
const strList = z.array(z.string());

export const osvEvent = z.record(z.string(), z.unknown());

export const osvRange = z.looseObject({
  type: str,
  repo: str.optional(),
  events: z.array(osvEvent),
  database_specific: z.unknown().optional(),
});

export const osvSeverity = z.looseObject({ type: str, score: str });

export const osvAffected = z.looseObject({
  package: z
    .looseObject({
      ecosystem: str,
      name: str,
      purl: str.optional(),
    })
    .optional(),
  severity: z.array(osvSeverity).optional(),
  ranges: z.array(osvRange).optional(),
  versions: z.array(z.unknown()).optional(),
  ecosystem_specific: z.record(z.string(), z.unknown()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

export const osvRecord = z.looseObject({
  schema_version: str.optional(),
  id: str.min(1),
  modified: str.optional(),
  published: str.optional(),
  withdrawn: str.optional(),
  aliases: strList.nullish(),
  related: strList.nullish(),
  upstream: strList.nullish(),
  summary: str.optional(),
  details: str.optional(),
  severity: z.array(osvSeverity).nullish(),
  affected: z.array(osvAffected).nullish(),
  references: z.array(z.looseObject({ type: str.optional(), url: str })).nullish(),
  credits: z.array(z.unknown()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

export type OsvRecord = z.infer<typeof osvRecord>;
export type OsvAffected = z.infer<typeof osvAffected>;
export type OsvRange = z.infer<typeof osvRange>;

export const KNOWN_RECORD_FIELDS = new Set([
  "schema_version",
  "id",
  "modified",
  "published",
  "withdrawn",
  "aliases",
  "related",
  "upstream",
  "summary",
  "details",
  "severity",
  "affected",
  "references",
  "credits",
  "database_specific",
]);
export const KNOWN_AFFECTED_FIELDS = new Set([
  "package",
  "severity",
  "ranges",
  "versions",
  "ecosystem_specific",
  "database_specific",
]);
export const KNOWN_PACKAGE_FIELDS = new Set(["ecosystem", "name", "purl"]);
export const KNOWN_RANGE_FIELDS = new Set(["type", "repo", "events", "database_specific"]);
