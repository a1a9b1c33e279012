/**
 * META-INF/MANIFEST.MF (JAR File Specification, "Manifest Specification"): a main section and
 * per-entry sections separated by blank lines; `Name: value` attributes; a line starting with
 * one space continues the previous value (lines are wrapped at 72 bytes, possibly inside a word
 * or right before a space, so exactly one space is removed and the rest is kept).
 *
 * Lenient like the JVM's own reader is not: lines without a colon and stray continuations are
 * skipped instead of failing the whole jar, because a jar's identity should survive a sloppy
 * hand-written manifest.
 */

export type Attributes = [key: string, value: string][];

export interface Manifest {
  main: Attributes;
  sections: Attributes[];
}

export function parseManifest(text: string): Manifest {
  const blocks: Attributes[] = [];
  let current: Attributes = [];
  // Values are completed (and trimmed) only once all continuation lines are in: a wrapped
  // value may have its significant space at the end of one line.
  const finish = () => {
    for (const kv of current) kv[1] = kv[1].trim();
    if (current.length) blocks.push(current);
    current = [];
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      finish();
      continue;
    }
    if (line.charCodeAt(0) === 0x20) {
      const last = current[current.length - 1];
      if (last) last[1] += line.slice(1);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    if (!key) continue;
    current.push([key, line.slice(colon + 1).replace(/^ +/, "")]);
  }
  finish();
  return { main: blocks[0] ?? [], sections: blocks.slice(1) };
}

/** Attribute names are case-insensitive (JAR spec); the first occurrence wins. */
export function attr(attrs: Attributes, key: string): string | undefined {
  const k = key.toLowerCase();
  for (const [name, value] of attrs) if (name.toLowerCase() === k && value !== "") return value;
  return undefined;
}

/**
 * An attribute from the main section, else from the first per-entry section that has it:
 * jars built by Ant or bnd often put Implementation-* into a `Name: org/example/` section.
 */
export function manifestValue(m: Manifest, key: string): string | undefined {
  const v = attr(m.main, key);
  if (v !== undefined) return v;
  for (const s of m.sections) {
    const w = attr(s, key);
    if (w !== undefined) return w;
  }
  return undefined;
}
