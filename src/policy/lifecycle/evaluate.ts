import { cosignAttachmentSubject } from "../referrers.js";
import { compileTagPattern, type LifecyclePolicy, type LifecycleRule } from "./grammar.js";

/**
 * Lifecycle evaluation as ECR documents it (docs/lifecycle.md), as a pure function of the
 * policy, the repository's images and the time:
 *
 * - every rule is evaluated against every candidate image, then the results are applied in
 *   priority order (lowest rulePriority first);
 * - a rule selects the images it matches: `tagged` needs a tag for each prefix (a tag starting
 *   with it) or pattern (a tag it matches) of its list, every one of them; `untagged` the images
 *   without tags; `any` all;
 * - `imageCountMoreThan N` sorts its selection newest push first and marks all past the first N;
 *   `sinceImagePushed N` marks those pushed more than N days before `now`; `sinceImagePulled N`
 *   those whose last recorded pull (their push when never pulled, as ECR) is more than N days old;
 * - an image is expired by at most one rule, and a rule cannot expire an image that a
 *   higher-priority rule selects (whether or not that rule expired it), though it still counts
 *   it (an image a higher rule selects takes one of the N places of a lower count rule).
 *
 * Candidates: not every manifest is an image of its own. A referrer (a manifest with a `subject`:
 * signature, SBOM, attestation, VEX) and an image whose tags are all cosign attachment tags
 * (`sha256-<hex>.sig|.att|.sbom`) naming an image of the repository belong to their subject; a
 * manifest listed by an index of the repository belongs to the index (ECR lists the index as the
 * image). They are never selected or counted; when the image they belong to is expired they go
 * with it (`attached`), except a child still listed by an index that stays.
 *
 * Sorting happens once (all images by push time), and every rule is one pass over them: a
 * repository of 100,000 images evaluates in well under a second.
 */

export interface LifecycleImage {
  digest: string;
  tags: readonly string[];
  /** First push, epoch ms (ECR's imagePushedAt). */
  pushedAt: number;
  /** Last recorded pull, epoch ms, or null when never pulled. */
  lastPulledAt: number | null;
  /** The manifest's `subject` (a referrer), if any. */
  subject?: string | null;
  /** The manifests an index lists, if this is an index. */
  children?: readonly string[];
}

export interface LifecycleExpiry {
  digest: string;
  /** The rule that expires it. */
  rulePriority: number;
  tags: readonly string[];
  pushedAt: number;
  /**
   * What goes with it, in a deletion order: its referrers and cosign attachments (recursively),
   * then its index children that no surviving index lists (and their attachments).
   */
  attached: string[];
}

const DAY_MS = 86_400_000;

/** The images the policy expires at `now`, in rule order then oldest first. */
export function evaluateLifecyclePolicy(
  policy: LifecyclePolicy,
  images: readonly LifecycleImage[],
  now: number,
): LifecycleExpiry[] {
  const byDigest = new Map<string, LifecycleImage>();
  for (const img of images) byDigest.set(img.digest, img);

  // What belongs to what: attachments (referrers, cosign tags) to their subject, children to indexes.
  const attachmentsOf = new Map<string, string[]>();
  const parentsOf = new Map<string, string[]>();
  const belongs = new Set<string>();
  const push = (m: Map<string, string[]>, k: string, v: string) => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };
  for (const img of images) {
    if (img.subject) {
      belongs.add(img.digest);
      push(attachmentsOf, img.subject, img.digest);
    } else if (img.tags.length) {
      let subject: string | null = null;
      for (const t of img.tags) {
        // Perf: the regex only for tags that can be cosign tags.
        const s = t.startsWith("sha256-") ? cosignAttachmentSubject(t) : null;
        if (s === null || !byDigest.has(s) || s === img.digest || (subject !== null && s !== subject)) {
          subject = null;
          break;
        }
        subject = s;
      }
      if (subject !== null) {
        belongs.add(img.digest);
        push(attachmentsOf, subject, img.digest);
      }
    }
    for (const c of img.children ?? [])
      if (c !== img.digest && byDigest.has(c)) {
        belongs.add(c);
        push(parentsOf, c, img.digest);
      }
  }

  // Candidates, newest push first (ties: digest order, so that results are deterministic).
  const candidates = images
    .filter((i) => !belongs.has(i.digest))
    .sort((a, b) => b.pushedAt - a.pushedAt || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));

  // Per candidate: the priority of the first (highest-priority) rule that selects it, and the
  // rule that expires it. Rules in priority order, so the first selector is the protecting one.
  const n = candidates.length;
  const selectedBy = new Float64Array(n).fill(Infinity);
  const expiredBy = new Float64Array(n).fill(0);
  for (const rule of policy.rules) {
    const selects = selector(rule);
    const sel = rule.selection;
    let seen = 0;
    const cutoff = now - sel.countNumber * DAY_MS;
    for (let i = 0; i < n; i++) {
      const img = candidates[i]!;
      if (!selects(img.tags)) continue;
      let marked: boolean;
      if (sel.countType === "imageCountMoreThan") marked = ++seen > sel.countNumber;
      else if (sel.countType === "sinceImagePushed") marked = img.pushedAt < cutoff;
      else marked = (img.lastPulledAt ?? img.pushedAt) < cutoff;
      // Protected when a higher-priority rule selects it (that rule may have expired it already).
      if (selectedBy[i] === Infinity) {
        selectedBy[i] = rule.rulePriority;
        if (marked) expiredBy[i] = rule.rulePriority;
      }
    }
  }

  // Rule order, oldest first within a rule (the order ECR expires in and a run deletes in):
  // the candidates are newest first, so walk them backwards into one bucket per rule.
  const buckets = new Map<number, LifecycleImage[]>(policy.rules.map((r) => [r.rulePriority, []]));
  const gone = new Set<string>();
  for (let i = n - 1; i >= 0; i--)
    if (expiredBy[i]! > 0) {
      buckets.get(expiredBy[i]!)!.push(candidates[i]!);
      gone.add(candidates[i]!.digest);
    }
  const expired: { img: LifecycleImage; rulePriority: number }[] = [];
  for (const [rulePriority, list] of buckets) for (const img of list) expired.push({ img, rulePriority });

  // Children go when every index listing them goes (an index, never a candidate itself, can
  // only go with a parent; checked in expiry order, which visits parents before children).
  const visit = (d: string, out: string[]) => {
    const list = attachmentsOf.get(d);
    if (list)
      for (const a of list)
        if (!gone.has(a)) {
          gone.add(a);
          visit(a, out);
          out.push(a);
        }
  };
  const attached = (root: string): string[] => {
    const out: string[] = [];
    visit(root, out);
    const children = byDigest.get(root)?.children;
    if (!children) return out;
    for (const c of children) {
      if (gone.has(c) || !byDigest.has(c)) continue;
      if ((parentsOf.get(c) ?? []).some((p) => !gone.has(p))) continue;
      gone.add(c);
      out.push(...attached(c), c);
    }
    return out;
  };
  return expired.map(({ img, rulePriority }) => ({
    digest: img.digest,
    rulePriority,
    tags: img.tags,
    pushedAt: img.pushedAt,
    attached: attached(img.digest),
  }));
}

/** Whether a rule selects an image with these tags. */
function selector(rule: LifecycleRule): (tags: readonly string[]) => boolean {
  const s = rule.selection;
  if (s.tagStatus === "any") return () => true;
  if (s.tagStatus === "untagged") return (tags) => tags.length === 0;
  if (s.tagPrefixList) {
    const prefixes = s.tagPrefixList;
    return (tags) => tags.length > 0 && prefixes.every((p) => tags.some((t) => t.startsWith(p)));
  }
  const patterns = (s.tagPatternList ?? []).map(compileTagPattern);
  return (tags) => tags.length > 0 && patterns.length > 0 && patterns.every((m) => tags.some(m));
}
