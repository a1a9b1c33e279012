import { criteriaAst, matchesFilterCriteria, type Criterion } from "../api/inspector2/criteria.js";
import {
  toInspectorFinding,
  type FindingNote,
  type FindingRecord,
  type RegistryIdentity,
  type SuppressionNote,
} from "../api/inspector2/finding.js";
import type { FilterCriteria } from "../api/inspector2/shapes.js";
import { inspectorFindingEvent } from "../events/envelope.js";
import type { EventEnvelope } from "../events/envelope.js";
import { appendEvent, appendEvents } from "../events/log.js";
import type { Finding } from "./finding.js";
import { reportedSeverity } from "../scan/engine.js";
import { findingId } from "../storage/meta/finding-rows.js";
import type { MetaStore, StoredFilter, StoredVex } from "../storage/meta/store.js";
import { compileRepositoryPatterns } from "../policy/patterns.js";
import { VexIndex, type AppliedVex, type VexStatement } from "./vex/index.js";
import { identityOf, type FindingChange } from "./lifecycle.js";
import { vexNote, vexSuppression } from "./vex-notes.js";
import {
  imageContext,
  imageContexts,
  listedRecord,
  recordOf,
  storedRecord,
  type ImageContext,
} from "./records.js";

/**
 * Suppression and the `Inspector2 Finding` events of finding changes. A finding is SUPPRESSED
 * instead of ACTIVE while a SUPPRESS filter that has not expired matches its Inspector Finding
 * (as if ACTIVE), or while a VEX statement attached to its image says `not_affected`: new and
 * re-matched findings through the `suppressed` predicate of reconcile, stored ones by
 * `reapplySuppression` in the transaction of every filter or VEX change. Only ENHANCED findings
 * (Inspector's) are concerned.
 *
 * Scoped exceptions (src/findings/exceptions.ts) are SUPPRESS filters too, one mechanism: their
 * owner, origin and repository patterns are `drydock:*` tags of the filter; a filter tagged
 * `drydock:repository-pattern` (patterns of src/policy/patterns.ts, comma-separated) matches
 * only findings of the repositories those patterns name, on top of its criteria.
 */

/** The filter tag naming the repositories an exception covers (`prod/**,team/*`). */
export const REPOSITORY_PATTERN_TAG = "drydock:repository-pattern";
/** The filter tag naming who owns an exception. */
export const OWNER_TAG = "drydock:owner";
/** The filter tag saying where an exception was made: `cli` or `config`. */
export const SOURCE_TAG = "drydock:source";

/** A SUPPRESS filter in force, ready to match. */
export interface SuppressionRule {
  filter: StoredFilter;
  criteria: Criterion[];
  /** The repositories it is limited to (its `drydock:repository-pattern` tag); undefined: any. */
  repositories?: (name: string) => boolean;
}

/** The repository patterns of a `drydock:repository-pattern` tag value. */
export function patternsOfTag(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The SUPPRESS filters in force at `now` (not expired). */
export async function suppressionRules(tx: MetaStore, now: number): Promise<SuppressionRule[]> {
  return (await tx.filters.withAction("SUPPRESS"))
    .filter((f) => !f.expired && (f.expiresAt === null || f.expiresAt > now))
    .map((f) => {
      const patterns = patternsOfTag(f.tags[REPOSITORY_PATTERN_TAG]);
      return {
        filter: f,
        criteria: criteriaAst(JSON.parse(f.criteria) as FilterCriteria),
        ...(f.tags[REPOSITORY_PATTERN_TAG] !== undefined
          ? { repositories: compileRepositoryPatterns(patterns) }
          : {}),
      };
    });
}

const imageKey = (repositoryId: number, digest: string) => `${repositoryId}@${digest}`;

/**
 * What decides the suppression of findings of some images: the SUPPRESS filters in force and
 * the VEX documents applied to each image. `judge` gives a finding's status and its note (why
 * it is suppressed, what VEX says of it).
 */
export class Suppressor {
  private constructor(
    private readonly registry: RegistryIdentity,
    readonly rules: readonly SuppressionRule[],
    private readonly vex: ReadonlyMap<string, VexIndex>,
  ) {}

  /** The rules in force at `now` and the VEX of these images (`all`: of every image). */
  static async load(
    tx: MetaStore,
    registry: RegistryIdentity,
    now: number,
    images: readonly { repositoryId: number; digest: string }[] | "all",
  ): Promise<Suppressor> {
    const rules = await suppressionRules(tx, now);
    const vex = new Map<string, VexIndex>();
    if (images === "all" || images.length) {
      const rows =
        images === "all"
          ? groupByImage(await tx.vex.allApplied())
          : (await tx.vex.anyApplied())
            ? await tx.vex.appliedFor(images)
            : new Map<string, StoredVex[]>();
      const parsed = new Map<string, AppliedVex>();
      for (const [key, list] of rows) {
        const docs = list.map((r) => {
          const k = `${r.repositoryId}@${r.referrerDigest}`;
          let d = parsed.get(k);
          if (!d) {
            d = {
              source: `referrer ${r.referrerDigest}`,
              format: r.format as AppliedVex["format"],
              statements: JSON.parse(r.statements ?? "[]") as VexStatement[],
            };
            parsed.set(k, d);
          }
          return d;
        });
        const digest = list[0]!.imageDigest;
        vex.set(key, new VexIndex(docs, new Set([digest, ...list.map((r) => r.subjectDigest)])));
      }
    }
    return new Suppressor(registry, rules, vex);
  }

  /** Nothing can suppress or annotate a finding: no filter in force, no VEX. */
  get empty(): boolean {
    return !this.rules.length && !this.vex.size;
  }

  /** Whether anything may concern this image's findings. */
  concerns(repositoryId: number, digest: string): boolean {
    return this.rules.length > 0 || this.vex.has(imageKey(repositoryId, digest));
  }

  /** The status a finding (its record as if ACTIVE) should have, and its note. */
  judge(
    rec: FindingRecord,
    repositoryId: number,
    digest: string,
  ): { status: "ACTIVE" | "SUPPRESSED"; note?: FindingNote } {
    const by: SuppressionNote[] = [];
    if (this.rules.length) {
      const shaped = toInspectorFinding({ ...rec, status: "ACTIVE" }, this.registry);
      for (const r of this.rules)
        if (
          (!r.repositories || r.repositories(rec.repositoryName)) &&
          matchesFilterCriteria(shaped, r.criteria)
        )
          by.push(this.ruleNote(r.filter));
    }
    const v = this.vex.get(imageKey(repositoryId, digest))?.verdict(rec);
    const suppression = v && vexSuppression(v);
    if (suppression) by.push(suppression);
    const note: FindingNote = {
      ...(by.length ? { suppressedBy: by } : {}),
      ...(v ? { vex: vexNote(v) } : {}),
    };
    return { status: by.length ? "SUPPRESSED" : "ACTIVE", ...(by.length || v ? { note } : {}) };
  }

  private ruleNote(f: StoredFilter): SuppressionNote {
    const { region, accountId } = this.registry;
    const reason = f.reason ?? f.description;
    return {
      kind: f.tags[SOURCE_TAG] !== undefined ? "exception" : "filter",
      name: f.name,
      arn: `arn:aws:inspector2:${region}:${accountId}:owner/${accountId}/filter/${f.id}`,
      ...(reason ? { reason } : {}),
      ...(f.tags[OWNER_TAG] ? { owner: f.tags[OWNER_TAG] } : {}),
      ...(f.expiresAt !== null ? { expiresAt: new Date(f.expiresAt).toISOString() } : {}),
    };
  }
}

function groupByImage(rows: readonly StoredVex[]): Map<string, StoredVex[]> {
  const out = new Map<string, StoredVex[]>();
  for (const r of rows) {
    const k = imageKey(r.repositoryId, r.imageDigest);
    const list = out.get(k) ?? [];
    list.push(r);
    out.set(k, list);
  }
  return out;
}

/** Whether a new (or re-matched) finding of this image is suppressed; undefined when nothing can. */
export async function suppressedPredicate(
  tx: MetaStore,
  registry: RegistryIdentity,
  repositoryId: number,
  digest: string,
  now: number,
): Promise<((f: Finding) => boolean) | undefined> {
  const s = await Suppressor.load(tx, registry, now, [{ repositoryId, digest }]);
  if (!s.concerns(repositoryId, digest)) return undefined;
  const image = await imageContext(tx, repositoryId, digest);
  if (!image) return undefined;
  return predicate(registry, s, repositoryId, image, now);
}

/**
 * The suppression predicates of many images (a re-match of a chunk): the rules read once, the
 * images' contexts and VEX in a few queries, by `repositoryId@digest`; undefined when nothing can.
 */
export async function suppressedPredicates(
  tx: MetaStore,
  registry: RegistryIdentity,
  images: readonly { repositoryId: number; digest: string }[],
  now: number,
): Promise<Map<string, (f: Finding) => boolean> | undefined> {
  const s = await Suppressor.load(tx, registry, now, images);
  if (s.empty) return undefined;
  const out = new Map<string, (f: Finding) => boolean>();
  const concerned = images.filter((i) => s.concerns(i.repositoryId, i.digest));
  const contexts = await imageContexts(tx, concerned);
  for (const i of concerned) {
    const k = imageKey(i.repositoryId, i.digest);
    const image = contexts.get(k);
    if (image) out.set(k, predicate(registry, s, i.repositoryId, image, now));
  }
  return out;
}

function predicate(
  registry: RegistryIdentity,
  s: Suppressor,
  repositoryId: number,
  image: ImageContext,
  now: number,
): (f: Finding) => boolean {
  const digest = image.digest;
  return (f: Finding) => {
    const id = findingId(identityOf(f, { repositoryId, digest, scanType: "ENHANCED" }));
    const rec = recordOf(
      registry,
      id,
      f,
      {
        status: "ACTIVE",
        severity: reportedSeverity(f.severity, "ENHANCED"),
        firstObservedAt: now,
        lastObservedAt: now,
        updatedAt: now,
      },
      image,
    );
    return s.judge(rec, repositoryId, digest).status === "SUPPRESSED";
  };
}

const BATCH = 500;

/**
 * Re-evaluates open ENHANCED findings against the SUPPRESS filters in force and the VEX applied
 * to their images (after a filter, exception or VEX change, in its transaction): every open
 * finding, or those of `scope`'s images; ACTIVE ↔ SUPPRESSED where the verdict changed,
 * `updatedAt` now, one `Inspector2 Finding` event each (with its note). Returns how many changed.
 */
export async function reapplySuppression(
  tx: MetaStore,
  registry: RegistryIdentity,
  now: number,
  scope?: { repositoryId: number; digests: readonly string[] },
): Promise<number> {
  if (scope && !scope.digests.length) return 0;
  const s = await Suppressor.load(
    tx,
    registry,
    now,
    scope ? scope.digests.map((digest) => ({ repositoryId: scope.repositoryId, digest })) : "all",
  );
  let after: { value: string | number | null; id: string } | undefined;
  let changed = 0;
  for (;;) {
    const page = await tx.findings.list({
      narrowing: {
        scanType: "ENHANCED",
        statuses: ["ACTIVE", "SUPPRESSED"],
        ...(scope
          ? {
              repositoryIds: [scope.repositoryId],
              strings: [{ column: "digest", equals: [...scope.digests], prefixes: [], notEquals: [] }],
            }
          : {}),
      },
      order: { field: "id", desc: false },
      after,
      limit: BATCH,
    });
    const toActive: string[] = [];
    const toSuppressed: string[] = [];
    for (const r of page.items) {
      const asActive = listedRecord(registry, { ...r, status: "ACTIVE" });
      const { status: want, note } = s.judge(asActive, r.repositoryId, r.digest);
      if (want === r.status) continue;
      (want === "ACTIVE" ? toActive : toSuppressed).push(r.id);
      await appendEvent(
        tx,
        inspectorFindingEvent(
          registry,
          toInspectorFinding(
            { ...asActive, status: want, updatedAt: now, ...(note ? { drydock: note } : {}) },
            registry,
          ),
          now,
        ),
      );
    }
    await tx.findings.setStatus(toActive, "ACTIVE", now);
    await tx.findings.setStatus(toSuppressed, "SUPPRESSED", now);
    changed += toActive.length + toSuppressed.length;
    const last = page.items.at(-1);
    if (!page.more || !last) return changed;
    after = { value: last.orderValue, id: last.id };
  }
}

/**
 * The notes (why suppressed, what VEX says) of findings records, in place: for a page of
 * ListFindings or the events of a change. Only SUPPRESSED findings and images with VEX get one.
 */
export async function annotateRecords(
  tx: MetaStore,
  registry: RegistryIdentity,
  items: readonly { rec: FindingRecord; repositoryId: number; digest: string }[],
  now: number,
): Promise<void> {
  if (!items.length) return;
  const images = new Map<string, { repositoryId: number; digest: string }>();
  for (const i of items) images.set(imageKey(i.repositoryId, i.digest), i);
  const s = await Suppressor.load(tx, registry, now, [...images.values()]);
  if (s.empty) return;
  for (const i of items) {
    if (i.rec.status === "CLOSED") continue;
    if (i.rec.status !== "SUPPRESSED" && !s.concerns(i.repositoryId, i.digest)) continue;
    const { note } = s.judge(i.rec, i.repositoryId, i.digest);
    if (note && (note.vex || i.rec.status === "SUPPRESSED")) i.rec.drydock = note;
  }
}

/**
 * One `Inspector2 Finding` event per change of ENHANCED findings of any images (a re-match of a
 * chunk, in its transaction): the images' contexts read in a few queries, the events appended
 * in one step of the log, in the order of the changes.
 */
export async function appendFindingEventsOf(
  tx: MetaStore,
  registry: RegistryIdentity,
  changes: readonly FindingChange[],
  now: number,
): Promise<void> {
  const enhanced = changes.filter((c) => c.identity.scanType === "ENHANCED");
  if (!enhanced.length) return;
  const images = new Map<string, { repositoryId: number; digest: string }>();
  for (const c of enhanced)
    images.set(`${c.identity.repositoryId}@${c.identity.digest}`, {
      repositoryId: c.identity.repositoryId,
      digest: c.identity.digest,
    });
  const contexts = await imageContexts(tx, [...images.values()]);
  const records: { rec: FindingRecord; repositoryId: number; digest: string }[] = [];
  for (const c of enhanced) {
    const ctx = contexts.get(`${c.identity.repositoryId}@${c.identity.digest}`);
    if (!ctx) continue;
    // The matched finding itself when the change has it (its JSON is not parsed back).
    const rec = c.finding
      ? recordOf(registry, c.id, c.finding, c.state, ctx)
      : storedRecord(registry, { id: c.id, ...c.identity, ...c.state, document: c.document }, ctx);
    records.push({ rec, repositoryId: c.identity.repositoryId, digest: c.identity.digest });
  }
  await annotateSuppressed(tx, registry, records, now);
  const events: EventEnvelope[] = records.map((r) =>
    inspectorFindingEvent(registry, toInspectorFinding(r.rec, registry), now),
  );
  await appendEvents(tx, events);
}

/** The notes of the SUPPRESSED ones among changed findings (none: no query at all). */
async function annotateSuppressed(
  tx: MetaStore,
  registry: RegistryIdentity,
  records: { rec: FindingRecord; repositoryId: number; digest: string }[],
  now: number,
): Promise<void> {
  const suppressed = records.filter((r) => r.rec.status === "SUPPRESSED");
  if (suppressed.length) await annotateRecords(tx, registry, suppressed, now);
}

/** One `Inspector2 Finding` event per change of an image's ENHANCED findings (in their transaction). */
export async function appendFindingEvents(
  tx: MetaStore,
  registry: RegistryIdentity,
  changes: readonly FindingChange[],
  now: number,
  image?: ImageContext | null,
): Promise<void> {
  const enhanced = changes.filter((c) => c.identity.scanType === "ENHANCED");
  if (!enhanced.length) return;
  const first = enhanced[0]!.identity;
  const ctx = image ?? (await imageContext(tx, first.repositoryId, first.digest));
  if (!ctx) return;
  const records = enhanced.map((c) => ({
    rec: storedRecord(registry, { id: c.id, ...c.identity, ...c.state, document: c.document }, ctx),
    repositoryId: c.identity.repositoryId,
    digest: c.identity.digest,
  }));
  await annotateSuppressed(tx, registry, records, now);
  for (const r of records)
    await appendEvent(tx, inspectorFindingEvent(registry, toInspectorFinding(r.rec, registry), now));
}
