import { expect } from "vitest";
import { testContext } from "../testing.js";
import type { Cataloger } from "../types.js";

/**
 * Test support shared by the JavaScript, Python, Ruby and PHP cataloger tests: inputs a hostile
 * or broken image can hand a cataloger, and the check that each one ends as recorded problems —
 * never a throw, never a hang, never silently nothing.
 */

/** Deterministic bytes (mulberry32), so a failure reproduces. */
function garbage(size: number, seed = 42): Buffer {
  const out = Buffer.alloc(size);
  let a = seed;
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

const MB = 1 << 20;

/** "Billion laughs": ten levels of nine references each, 9^10 nodes if expanded. */
function aliasBomb(): string {
  const lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++)
    lines.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(", ")}]`,
    );
  return lines.join("\n") + "\n";
}

/** Inputs no cataloger may throw on, hang on, or accept silently. */
export const hostileInputs: readonly { name: string; content: Buffer }[] = [
  { name: "binary garbage", content: garbage(MB) },
  { name: "gigantic single line", content: Buffer.alloc(16 * MB, "<") },
  { name: "deeply nested JSON arrays", content: Buffer.from("[".repeat(MB)) },
  { name: "deeply nested JSON objects", content: Buffer.from('{"a":'.repeat(MB / 4)) },
  { name: "deeply nested flow YAML", content: Buffer.from("a: " + "[".repeat(MB)) },
  { name: "deeply nested flow YAML over many lines", content: Buffer.from("[x,\n".repeat(MB / 4)) },
  { name: "YAML alias bomb", content: Buffer.from(aliasBomb()) },
  { name: "deeply nested TOML arrays", content: Buffer.from("a = " + "[".repeat(MB)) },
  {
    name: "truncated JSON",
    content: Buffer.from('{"name": "x", "version": "1.0.0", "packages": {"node_modules/a": {"ver'),
  },
  { name: "unterminated TOML", content: Buffer.from('[[package]]\nname = "a\nversion = "1"') },
];

/** Runs `c` on `content` at `path`: it must return (quickly) with problems and no package. */
export async function expectProblemsOnly(c: Cataloger, path: string, content: Buffer): Promise<string[]> {
  expect(c.matches(path, 0o100644)).toBe(true);
  const t0 = performance.now();
  const r = await c.parse({ path, size: content.length, mode: 0o100644, content }, testContext);
  const ms = performance.now() - t0;
  expect(ms, `${c.id} took ${ms.toFixed(0)} ms`).toBeLessThan(10_000);
  expect(r.packages).toEqual([]);
  expect(r.problems?.length ?? 0, `${c.id} reported no problem`).toBeGreaterThan(0);
  for (const p of r.problems ?? []) expect(p.length).toBeLessThan(1000);
  return r.problems ?? [];
}
