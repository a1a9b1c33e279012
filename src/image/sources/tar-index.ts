import { open } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { normalizeEntryPath } from "../paths.js";
import { ImageFormatError, MAX_JSON_BLOB_BYTES } from "../resolve.js";
import { parsePax, readNumber, TarError } from "../tar.js";
import type { LocalBlob } from "../types.js";

/**
 * Random access into an uncompressed tar file (docker-archive, oci-archive) without
 * unpacking it: one pass over the headers (bodies are skipped with positioned reads)
 * records where each regular file's bytes are. Members are looked up by normalized path
 * (`./manifest.json` and `manifest.json` are one member); nothing is ever written to disk.
 */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;

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
      const st = await fh.stat();
      if (!st.isFile()) throw new ImageFormatError(`${file} is not a file`);
      const fileSize = st.size;
      const h = Buffer.alloc(BLOCK);
      let pos = 0;
      let longName: string | null = null;
      let pax: Record<string, string> = {};
      let ended = false;
      while (pos + BLOCK <= fileSize) {
        await fh.read(h, 0, BLOCK, pos);
        if (h.every((b) => b === 0)) {
          ended = true;
          break;
        }
        let size: number;
        try {
          size = readNumber(h, 124, 12, "size");
          const sum = readNumber(h, 148, 8, "checksum");
          let actual = 0;
          for (let i = 0; i < BLOCK; i++) actual += i >= 148 && i < 156 ? 32 : h[i]!;
          if (sum !== actual) throw new TarError(`bad header checksum`);
        } catch (e) {
          throw new ImageFormatError(`${file}: corrupt tar header at byte ${pos}: ${(e as Error).message}`);
        }
        const type = String.fromCharCode(h[156]!);
        const bodyAt = pos + BLOCK;
        if (type === "L" || type === "x") {
          if (size > 1024 * 1024)
            throw new ImageFormatError(`${file}: extended header too large at byte ${pos}`);
          if (bodyAt + size > fileSize) throw new ImageFormatError(`${file}: truncated archive`);
          const body = Buffer.alloc(size);
          await fh.read(body, 0, size, bodyAt);
          if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
          else {
            try {
              pax = parsePax(body);
            } catch (e) {
              throw new ImageFormatError(`${file}: ${(e as Error).message} at byte ${pos}`);
            }
          }
        } else {
          if (pax.size !== undefined) size = /^\d+$/.test(pax.size) ? Number(pax.size) : NaN;
          if (!Number.isSafeInteger(size)) throw new ImageFormatError(`${file}: invalid size at byte ${pos}`);
          let name = h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
          const prefix =
            h.toString("latin1", 257, 263) === "ustar\0"
              ? h.toString("utf8", 345, 500).replace(/\0.*$/s, "")
              : "";
          if (prefix) name = `${prefix}/${name}`;
          name = pax.path ?? longName ?? name;
          longName = null;
          pax = {};
          if (bodyAt + size > fileSize) throw new ImageFormatError(`${file}: truncated archive`);
          const norm = normalizeEntryPath(name);
          if (norm && (type === "0" || type === "\0" || type === "7"))
            members.set(norm.slice(1), { offset: bodyAt, size });
        }
        pos = bodyAt + Math.ceil(size / BLOCK) * BLOCK;
      }
      if (!ended && pos !== fileSize) throw new ImageFormatError(`${file}: truncated archive`);
    } finally {
      await fh.close();
    }
    return new TarIndex(file, members);
  }

  has(path: string): boolean {
    return this.members.has(path);
  }

  /** A small member (index, manifest, config) in memory; larger than MAX_JSON_BLOB_BYTES is refused. */
  async read(path: string): Promise<Buffer> {
    const m = this.members.get(path);
    if (!m) throw new ImageFormatError(`${path} missing from ${this.file}`);
    if (m.size > MAX_JSON_BLOB_BYTES)
      throw new ImageFormatError(
        `${path} in ${this.file} is ${m.size} bytes: too large for a manifest or config`,
      );
    const fh = await open(this.file, "r");
    try {
      const b = Buffer.alloc(m.size);
      await fh.read(b, 0, m.size, m.offset);
      return b;
    } finally {
      await fh.close();
    }
  }

  /** Where a member's bytes lie in the archive file. */
  locate(path: string): LocalBlob {
    const m = this.members.get(path);
    if (!m) throw new ImageFormatError(`${path} missing from ${this.file}`);
    return { path: this.file, start: m.offset, length: m.size };
  }

  /** A member's bytes, streamed from the archive file. */
  stream(path: string): Readable {
    const { start, length } = this.locate(path);
    if (length === 0) return Readable.from([]);
    return createReadStream(this.file, { start, end: start + length - 1, highWaterMark: 1024 * 1024 });
  }
}
