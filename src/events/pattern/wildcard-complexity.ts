/**
 * "Rule is too complex": EventBridge refuses wildcard patterns that would leave its byte-level
 * state machine in too many states at once for some input (event-ruler's
 * MachineComplexityEvaluator counts, for a theoretical worst-case value, the wildcard states a
 * value can be in simultaneously). The threshold AWS applies is not published; the AWS-validated
 * vectors bound it: `*:*:*:*:*:event-bus/*` is refused, `/Users/*\/dir/dir/dir/dir/dir/doc.txt`
 * (7 states by this measure) is accepted. We refuse above MAX_COMPLEXITY (10, the refused vector
 * scores 11).
 *
 * The model is our own, after event-ruler's construction: a pattern is the byte sequence of the
 * quoted value; before each `*` the machine has a state from which any byte leads into a
 * self-looping wildcard state, and the next literal byte is reachable both from that state
 * (the star matched nothing) and from the loop. The measure is the largest number of states live
 * after some input, plus, for a live state that precedes a star, its loop state when not live
 * (event-ruler counts both). Patterns on the same field that event-ruler would put in one machine
 * (same path, same conditions before it) are measured together.
 */

export const MAX_COMPLEXITY = 10;

/** Subsets explored before we call a pattern set too complex regardless of score. */
const MAX_SUBSETS = 20_000;

const STAR = -1;

/** Largest live-state score over all inputs for these wildcard values, capped just above `limit`. */
export function wildcardComplexity(patterns: readonly string[], limit = MAX_COMPLEXITY): number {
  const machines = patterns.map(toBytes);
  const alphabet = new Set<number>([256]); // 256 stands for every byte no pattern names
  for (const m of machines) for (const b of m) if (b !== STAR) alphabet.add(b);

  // A live state is "p:k:i" (machine k has consumed its first i tokens) or "w:k:i" (machine k is
  // in the loop of the star at token i).
  const step = (live: ReadonlySet<string>, byte: number): Set<string> => {
    const out = new Set<string>();
    const advance = (k: number, i: number) => {
      const m = machines[k]!;
      if (i >= m.length) return;
      if (m[i] === STAR) {
        out.add(`w:${k}:${i}`);
        advance(k, i + 1);
      } else if (m[i] === byte) {
        out.add(`p:${k}:${i + 1}`);
      }
    };
    for (const s of live) {
      const [kind, ks, is] = s.split(":") as [string, string, string];
      const k = Number(ks);
      const i = Number(is);
      if (kind === "p") advance(k, i);
      else {
        out.add(s);
        const m = machines[k]!;
        if (i + 1 < m.length && m[i + 1] === byte) out.add(`p:${k}:${i + 2}`);
      }
    }
    return out;
  };
  const score = (live: ReadonlySet<string>): number => {
    let n = 0;
    for (const s of live) {
      n++;
      const [kind, ks, is] = s.split(":") as [string, string, string];
      if (kind === "p" && machines[Number(ks)]![Number(is)] === STAR && !live.has(`w:${ks}:${is}`)) n++;
    }
    return n;
  };

  const start = new Set(machines.map((_, k) => `p:${k}:0`));
  const seen = new Set<string>();
  const queue: Set<string>[] = [start];
  let max = 0;
  while (queue.length > 0) {
    const live = queue.pop()!;
    for (const byte of alphabet) {
      const next = step(live, byte);
      if (next.size === 0) continue;
      const s = score(next);
      if (s > max) max = s;
      if (max > limit) return max;
      const key = [...next].sort().join("|");
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > MAX_SUBSETS) return limit + 1;
      queue.push(next);
    }
  }
  return max;
}

/** The value's UTF-8 bytes with its quotes; STAR for each unescaped `*` (syntax already checked). */
function toBytes(pattern: string): number[] {
  const out: number[] = [0x22];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      out.push(STAR);
      continue;
    }
    let lit = ch;
    if (ch === "\\") {
      lit = pattern[i + 1] ?? "";
      i++;
    }
    const code = lit.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < pattern.length) {
      lit += pattern[i + 1];
      i++;
    }
    for (const b of Buffer.from(lit, "utf8")) out.push(b);
  }
  out.push(0x22);
  return out;
}
