import { createReadStream } from "node:fs";
import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ImageFormatError } from "../resolve.js";
import type { ImageSource, LayerRef, ResolvedImage } from "../types.js";

/** Marks the pseudo layer of a directory source: never cached (it has no content digest). */
export const DIR_LAYER_PREFIX = "dir:";

/**
 * `dir:PATH`: an unpacked root filesystem, presented as a single layer so that it goes
 * through exactly the same analysis as image layers. The walk never follows symlinks (they
 * are reported as symlink entries), so links out of the root or in loops are harmless.
 */
export class DirSource implements ImageSource {
  constructor(
    readonly reference: string,
    private readonly root: string,
  ) {}

  async resolve(): Promise<ResolvedImage> {
    const st = await stat(this.root).catch(() => null);
    if (!st?.isDirectory()) throw new ImageFormatError(`${this.root} is not a directory`);
    const id = `${DIR_LAYER_PREFIX}${this.root}`;
    return {
      images: [
        {
          manifestDigest: id,
          manifestMediaType: "inode/directory",
          configDigest: id,
          platform: { os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch },
          layers: [{ digest: id, diffID: id, mediaType: "application/x-directory", size: 0 }],
          config: {},
        },
      ],
    };
  }

  async openLayer(_layer: LayerRef): Promise<Readable> {
    return Readable.from(tarOfDirectory(this.root), { objectMode: false });
  }

  async close(): Promise<void> {}
}

function header(name: string, type: "0" | "2" | "5", size: number, mode: number, linkname = ""): Buffer[] {
  const out: Buffer[] = [];
  const nameBytes = Buffer.byteLength(name);
  const linkBytes = Buffer.byteLength(linkname);
  if (nameBytes > 99 || linkBytes > 99) {
    // pax extended header carrying the long path / link target.
    const recs = [nameBytes > 99 ? `path=${name}` : null, linkBytes > 99 ? `linkpath=${linkname}` : null]
      .filter((r): r is string => r !== null)
      .map((kv) => {
        let len = Buffer.byteLength(kv) + 3;
        for (;;) {
          const rec = `${len} ${kv}\n`;
          if (Buffer.byteLength(rec) === len) return rec;
          len = Buffer.byteLength(rec);
        }
      })
      .join("");
    const body = Buffer.from(recs);
    out.push(
      block("PaxHeader", "x", body.length, 0o644, ""),
      body,
      Buffer.alloc((512 - (body.length % 512)) % 512),
    );
  }
  out.push(block(name.slice(0, 99), type, size, mode, linkname.slice(0, 99)));
  return out;
}

function block(name: string, type: string, size: number, mode: number, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write((mode & 0o7777).toString(8).padStart(7, "0") + "\0", 100, 8, "ascii");
  h.write("0000000\0", 108, 8, "ascii");
  h.write("0000000\0", 116, 8, "ascii");
  h.write(size.toString(8).padStart(11, "0") + "\0", 124, 12, "ascii");
  h.write("00000000000\0", 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write(type, 156, 1, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, 8, "ascii");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

async function* tarOfDirectory(root: string): AsyncGenerator<Buffer> {
  const stack: string[] = [""];
  while (stack.length) {
    const rel = stack.pop()!;
    const names = (await readdir(join(root, rel))).sort().reverse();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = join(root, relPath);
      const st = await lstat(full);
      if (st.isDirectory()) {
        yield* header(relPath + "/", "5", 0, st.mode);
        stack.push(relPath);
      } else if (st.isSymbolicLink()) {
        yield* header(relPath, "2", 0, st.mode, await readlink(full));
      } else if (st.isFile()) {
        yield* header(relPath, "0", st.size, st.mode);
        let sent = 0;
        for await (const c of createReadStream(full, { highWaterMark: 1024 * 1024 })) {
          const chunk = c as Buffer;
          // A file that grows while read is cut at its stat size: the header is already written.
          const part = chunk.subarray(0, Math.max(0, st.size - sent));
          sent += part.length;
          if (part.length) yield part;
          if (sent >= st.size) break;
        }
        if (sent < st.size) yield Buffer.alloc(st.size - sent);
        const pad = (512 - (st.size % 512)) % 512;
        if (pad) yield Buffer.alloc(pad);
      }
    }
  }
  yield Buffer.alloc(1024);
}
