import { z } from "zod";
import { isDigest, isUnsupportedDigest } from "../core/digest.js";
import { RegistryError } from "../core/errors.js";
import { IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES, MediaTypes } from "../core/media-types.js";
import type { ManifestReference } from "../storage/meta/store.js";

export { MediaTypes };

/** Layers the registry never holds: pushed elsewhere (urls) or marked non-distributable. */
function isForeignLayer(d: Descriptor): boolean {
  return (
    (d.urls?.length ?? 0) > 0 ||
    d.mediaType.startsWith(MediaTypes.ociLayerNondistributablePrefix) ||
    d.mediaType === MediaTypes.dockerForeignLayer
  );
}

const descriptor = z.object({
  mediaType: z.string().min(1),
  digest: z.string().refine((d) => isDigest(d) || isUnsupportedDigest(d), "not a valid digest"),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().optional(),
  platform: z.unknown().optional(),
  data: z.string().optional(),
});
type Descriptor = z.infer<typeof descriptor>;

const imageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const imageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export interface ParsedManifest {
  mediaType: string;
  /** artifactType, else (image manifests) the config media type: what referrers report. */
  artifactType: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  references: ManifestReference[];
}

/**
 * Validates a pushed manifest and lists what it references. The media type comes from
 * the `mediaType` field when present (it must then agree with Content-Type), else from
 * Content-Type. Docker schema 1 is refused: it is deprecated, unsigned in practice,
 * and cannot be scanned reliably.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new RegistryError("MANIFEST_INVALID", "manifest is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new RegistryError("MANIFEST_INVALID", "manifest must be a JSON object");
  }
  const obj = json as Record<string, unknown>;
  const declared = typeof obj.mediaType === "string" ? obj.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim().toLowerCase() || undefined;

  if (
    obj.schemaVersion === 1 ||
    declared === MediaTypes.dockerSchema1 ||
    declared === MediaTypes.dockerSchema1Signed ||
    header === MediaTypes.dockerSchema1 ||
    header === MediaTypes.dockerSchema1Signed
  ) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      "Docker image manifest schema 1 is not supported: push with a current client (schema 2 or OCI)",
    );
  }
  if (declared && header && header !== declared && header !== "application/json") {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `Content-Type ${header} does not match the manifest mediaType ${declared}`,
    );
  }
  const mediaType = declared ?? header;
  if (!mediaType)
    throw new RegistryError("MANIFEST_INVALID", "manifest media type unknown: set Content-Type or mediaType");

  if (IMAGE_MANIFEST_MEDIA_TYPES.has(mediaType)) {
    const r = imageManifest.safeParse(json);
    if (!r.success) throw invalid(r.error);
    const m = r.data;
    checkDigests([m.config, ...m.layers, ...(m.subject ? [m.subject] : [])]);
    if (mediaType === MediaTypes.dockerManifest && m.artifactType !== undefined) {
      throw new RegistryError("MANIFEST_INVALID", "Docker manifests cannot carry artifactType");
    }
    return {
      mediaType,
      artifactType: m.artifactType ?? m.config.mediaType,
      subject: m.subject?.digest ?? null,
      annotations: m.annotations ?? null,
      references: [
        { digest: m.config.digest, kind: "blob" },
        ...m.layers
          .filter((l) => !isForeignLayer(l))
          .map((l) => ({ digest: l.digest, kind: "blob" as const })),
      ],
    };
  }
  if (INDEX_MEDIA_TYPES.has(mediaType)) {
    const r = imageIndex.safeParse(json);
    if (!r.success) throw invalid(r.error);
    const m = r.data;
    checkDigests([...m.manifests, ...(m.subject ? [m.subject] : [])]);
    return {
      mediaType,
      artifactType: m.artifactType ?? null,
      subject: m.subject?.digest ?? null,
      annotations: m.annotations ?? null,
      references: m.manifests.map((d) => ({ digest: d.digest, kind: "manifest" as const })),
    };
  }
  throw new RegistryError("MANIFEST_INVALID", `unsupported manifest media type ${mediaType}`);
}

function checkDigests(ds: Descriptor[]): void {
  for (const d of ds) {
    if (!isDigest(d.digest))
      throw new RegistryError("UNSUPPORTED", `digest algorithm of ${d.digest} is not supported`);
  }
}

function invalid(error: z.ZodError): RegistryError {
  const first = error.issues[0];
  const where = first?.path.join(".") || "manifest";
  return new RegistryError(
    "MANIFEST_INVALID",
    `manifest invalid at ${where}: ${first?.message ?? "invalid"}`,
  );
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.has(mediaType);
}
