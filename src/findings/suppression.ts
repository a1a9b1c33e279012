import { criteriaAst, matchesFilterCriteria, type Criterion } from "../api/inspector2/criteria.js";
import { toInspectorFinding, type RegistryIdentity } from "../api/inspector2/finding.js";
import type { FilterCriteria } from "../api/inspector2/shapes.js";
import { inspectorFindingEvent } from "../events/envelope.js";
import type { EventEnvelope } from "../events/envelope.js";
import { appendEvent, appendEvents } from "../events/log.js";
import type { Finding } from "./finding.js";
import { reportedSeverity } from "../scan/engine.js";
import { findingId } from "../storage/meta/finding-rows.js";
import type { MetaStore } from "../storage/meta/store.js";
import { identityOf, type FindingChange } from "./lifecycle.js";
import {
  imageContext,
  imageContexts,
  listedRecord,
  recordOf,
  storedRecord,
  type ImageContext,
} from "./records.js";

/**
 * Suppression (Inspector2 SUPPRESS filters) and the `Inspector2 Finding` events of finding
 * changes. A finding is SUPPRESSED instead of ACTIVE while a SUPPRESS filter that has not
 * expired matches its Inspector Finding (as if ACTIVE): new and re-matched findings through the
 * `suppressed` predicate of reconcile, stored ones by `reapplySuppression` in the transaction of
 * every filter change. Only ENHANCED findings (Inspector's) are concerned.
 */

/** The criteria of the SUPPRESS filters in force at `now` (not expired). */
export async function suppressionRules(tx: MetaStore, now: number): Promise<Criterion[][]> {
  return (await tx.filters.withAction("SUPPRESS"))
    .filter((f) => !f.expired && (f.expiresAt === null || f.expiresAt > now))
    .map((f) => criteriaAst(JSON.parse(f.criteria) as FilterCriteria));
}

/** Whether a new (or re-matched) finding of this image is suppressed; undefined when no rule. */
export async function suppressedPredicate(
  tx: MetaStore,
  registry: RegistryIdentity,
  repositoryId: number,
  digest: string,
  now: number,
): Promise<((f: Finding) => boolean) | undefined> {
  const rules = await suppressionRules(tx, now);
  if (!rules.length) return undefined;
  const image = await imageContext(tx, repositoryId, digest);
  if (!image) return undefined;
  return predicate(registry, rules, repositoryId, image, now);
}

/**
 * The suppression predicates of many images (a re-match of a chunk): the rules read once, the
 * images' contexts in a few queries, by `repositoryId@digest`; undefined when no rule.
 */
export async function suppressedPredicates(
  tx: MetaStore,
  registry: RegistryIdentity,
  images: readonly { repositoryId: number; digest: string }[],
  now: number,
): Promise<Map<string, (f: Finding) => boolean> | undefined> {
  const rules = await suppressionRules(tx, now);
  if (!rules.length) return undefined;
  const out = new Map<string, (f: Finding) => boolean>();
  const contexts = await imageContexts(tx, images);
  for (const i of images) {
    const k = `${i.repositoryId}@${i.digest}`;
    const image = contexts.get(k);
    if (image) out.set(k, predicate(registry, rules, i.repositoryId, image, now));
  }
  return out;
}

function predicate(
  registry: RegistryIdentity,
  rules: Criterion[][],
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
    const shaped = toInspectorFinding(rec, registry);
    return rules.some((r) => matchesFilterCriteria(shaped, r));
  };
}

const BATCH = 500;

/**
 * Re-evaluates every open ENHANCED finding against the SUPPRESS filters in force (after a filter
 * change, in its transaction): ACTIVE ↔ SUPPRESSED where the verdict changed, `updatedAt` now,
 * one `Inspector2 Finding` event each. Returns how many changed.
 */
export async function reapplySuppression(
  tx: MetaStore,
  registry: RegistryIdentity,
  now: number,
): Promise<number> {
  const rules = await suppressionRules(tx, now);
  let after: { value: string | number | null; id: string } | undefined;
  let changed = 0;
  for (;;) {
    const page = await tx.findings.list({
      narrowing: { scanType: "ENHANCED", statuses: ["ACTIVE", "SUPPRESSED"] },
      order: { field: "id", desc: false },
      after,
      limit: BATCH,
    });
    const toActive: string[] = [];
    const toSuppressed: string[] = [];
    for (const r of page.items) {
      const asActive = toInspectorFinding(listedRecord(registry, { ...r, status: "ACTIVE" }), registry);
      const want = rules.some((c) => matchesFilterCriteria(asActive, c)) ? "SUPPRESSED" : "ACTIVE";
      if (want === r.status) continue;
      (want === "ACTIVE" ? toActive : toSuppressed).push(r.id);
      await appendEvent(
        tx,
        inspectorFindingEvent(
          registry,
          toInspectorFinding(listedRecord(registry, { ...r, status: want, updatedAt: now }), registry),
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
  const events: EventEnvelope[] = [];
  for (const c of enhanced) {
    const ctx = contexts.get(`${c.identity.repositoryId}@${c.identity.digest}`);
    if (!ctx) continue;
    // The matched finding itself when the change has it (its JSON is not parsed back).
    const rec = c.finding
      ? recordOf(registry, c.id, c.finding, c.state, ctx)
      : storedRecord(registry, { id: c.id, ...c.identity, ...c.state, document: c.document }, ctx);
    events.push(inspectorFindingEvent(registry, toInspectorFinding(rec, registry), now));
  }
  await appendEvents(tx, events);
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
  for (const c of enhanced) {
    const rec = storedRecord(registry, { id: c.id, ...c.identity, ...c.state, document: c.document }, ctx);
    await appendEvent(tx, inspectorFindingEvent(registry, toInspectorFinding(rec, registry), now));
  }
}
