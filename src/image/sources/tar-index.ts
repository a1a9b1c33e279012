import { open } from "node:fs/promises";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { normalizeEntryPath } from "../paths.js";
import { ImageFormatError } from "../resolve.js";

/**
 * Random access into an uncompressed tar file (docker-archive, oci-archive) without
 * unpacking it: one pass over the headers (bodies are skipped with positioned reads)
 * records where each member's bytes are.
 */
export interface TarMember {
  offset: number;
  size: number;
}

export class TarIndex {
  private constructor(
    readonly file: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  static async build(file: string): Promise<TarIndex> {
    const fh = await open(file, "r").catch((e: Error) => {
      throw new ImageFormatError(`cannot open ${file}: ${e.message}`);
    });
    const members = new Map<string, TarMember>();
    try {
      const { size: fileSize } = await fh.stat();
      const h = Buffer.alloc(512);
      let pos = 0;
      let longName: string | null = null;
      let paxPath: string | null = null;
      while (pos + 512 <= fileSize) {
        await fh.read(h, 0, 512, pos);
        if (h.every((b) => b === 0)) break;
        const sizeText = h.toString("ascii", 124, 136).replace(/\0.*$/, "").trim();
        const size = sizeText ? parseInt(sizeText, 8) : 0;
        if (!Number.isFinite(size)) throw new ImageFormatError(`${file}: corrupt tar header at ${pos}`);
        const type = String.fromCharCode(h[156]!);
        const bodyAt = pos + 512;
        if (bodyAt + size > fileSize) throw new ImageFormatError(`${file}: truncated archive`);
        if (type === "L" || type === "x") {
          const body = Buffer.alloc(Math.min(size, 1 << 20));
          await fh.read(body, 0, body.length, bodyAt);
          if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
          else {
            const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
            if (m) paxPath = m[1]!;
          }
        } else {
          let name = h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
          const prefix =
            h.toString("ascii", 257, 262) === "ustar"
              ? h.toString("utf8", 345, 500).replace(/\0.*$/s, "")
              : "";
          if (prefix) name = `${prefix}/${name}`;
          name = paxPath ?? longName ?? name;
          longName = paxPath = null;
          const norm = normalizeEntryPath(name);
          if (norm && (type === "0" || type === "\0")) members.set(norm.slice(1), { offset: bodyAt, size });
        }
        pos = bodyAt + Math.ceil(size / 512) * 512;
      }
    } finally {
      await fh.close();
    }
    return new TarIndex(file, members);
  }

  has(path: string): boolean {
    return this.members.has(path);
  }

  async read(path: string): Promise<Buffer> {
    const m = this.members.get(path);
    if (!m) throw new ImageFormatError(`${path} missing from ${this.file}`);
    const fh = await open(this.file, "r");
    try {
      const b = Buffer.alloc(m.size);
      await fh.read(b, 0, m.size, m.offset);
      return b;
    } finally {
      await fh.close();
    }
  }

  stream(path: string): Readable {
    const m = this.members.get(path);
    if (!m) throw new ImageFormatError(`${path} missing from ${this.file}`);
    if (m.size === 0) return createReadStream(this.file, { start: 1, end: 0 });
    return createReadStream(this.file, {
      start: m.offset,
      end: m.offset + m.size - 1,
      highWaterMark: 1024 * 1024,
    });
  }
}
