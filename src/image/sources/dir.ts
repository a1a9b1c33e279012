import { constants } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ImageFormatError } from "../resolve.js";
import type { Problem } from "../../catalog/types.js";
import type { ImageSource, LayerRef, ResolvedImage } from "../types.js";

/** Marks the pseudo layer of a directory source: never cached (it has no content digest). */
export const DIR_LAYER_PREFIX = "dir:";

/**
 * `dir:PATH`: an unpacked root filesystem, presented as a single layer so that it goes
 * through exactly the same analysis as image layers. The walk never follows symlinks (they
 * are reported as symlink entries), so links out of the root or in loops are harmless.
 */
export class DirSource implements ImageSource {
  private skipped: Problem[] = [];
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

  async openLayer(layer: LayerRef): Promise<Readable> {
    this.skipped = [];
    return Readable.from(
      tarOfDirectory(this.root, (path, reason) =>
        this.skipped.push({ path, source: "image", reason, layer: layer.diffID }),
      ),
      { objectMode: false },
    );
  }

  /** Files and directories the walk could not read (permissions, vanished): never silently skipped. */
  layerProblems(): Problem[] {
    return this.skipped;
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

/**
 * The directory as a tar stream, in sorted order. Symlinks are emitted as symlinks (never
 * followed); a regular file is opened with O_NOFOLLOW, so one swapped for a symlink between the
 * lstat and the open is refused rather than read from wherever it points. Entries that cannot be
 * read are left out and reported through `skip`.
 */
async function* tarOfDirectory(
  root: string,
  skip: (path: string, reason: string) => void,
): AsyncGenerator<Buffer> {
  const stack: string[] = [""];
  while (stack.length) {
    const rel = stack.pop()!;
    let names: string[];
    try {
      names = (await readdir(join(root, rel))).sort().reverse();
    } catch (e) {
      skip(`/${rel}`, `directory not readable: ${(e as Error).message}`);
      continue;
    }
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = join(root, relPath);
      try {
        const st = await lstat(full);
        if (st.isDirectory()) {
          yield* header(relPath + "/", "5", 0, st.mode);
          stack.push(relPath);
        } else if (st.isSymbolicLink()) {
          yield* header(relPath, "2", 0, st.mode, await readlink(full));
        } else if (st.isFile()) {
          yield* fileEntry(full, relPath, st.size, st.mode, skip);
        }
      } catch (e) {
        skip(`/${relPath}`, `not readable: ${(e as Error).message}`);
      }
    }
  }
  yield Buffer.alloc(1024);
}

async function* fileEntry(
  full: string,
  relPath: string,
  size: number,
  mode: number,
  skip: (path: string, reason: string) => void,
): AsyncGenerator<Buffer> {
  // Opened before the header is written, so an unreadable file is skipped whole.
  const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    yield* header(relPath, "0", size, mode);
    let sent = 0;
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(size, 1)));
    try {
      while (sent < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - sent), null);
        // A file that shrinks while read is padded with zeros: the header already gave its size.
        if (bytesRead === 0) break;
        sent += bytesRead;
        yield Buffer.from(buf.subarray(0, bytesRead));
      }
    } catch (e) {
      skip(`/${relPath}`, `read failed after ${sent} bytes (rest zero-filled): ${(e as Error).message}`);
    }
    if (sent < size) yield Buffer.alloc(size - sent);
    const pad = (512 - (size % 512)) % 512;
    if (pad) yield Buffer.alloc(pad);
  } finally {
    await fh.close();
  }
}
