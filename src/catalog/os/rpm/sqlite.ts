import Database from "better-sqlite3";
import type { Problems } from "../problems.js";

/**
 * rpm's SQLite backend, `rpmdb.sqlite` (rpm ≥ 4.16: RHEL 9, Fedora 33+, Amazon Linux 2023,
 * CBL-Mariner): table Packages(hnum, blob), one rpm header blob per row.
 *
 * The bytes are opened in memory (better-sqlite3 deserializes a Buffer), never written to a
 * temporary file. rpm leaves the database in WAL mode, which SQLite refuses to open from memory
 * ("unable to open database file"): the file-format bytes 18-19 are rewritten to the rollback
 * journal format in a copy. Pages only in a `-wal` file beside it are not seen (images are
 * normally built with the WAL checkpointed).
 */

const MAGIC = Buffer.from("SQLite format 3\0", "latin1");

export function isSqlite(buf: Buffer): boolean {
  return buf.length >= 16 && buf.subarray(0, 16).equals(MAGIC);
}

export function readRpmSqlite(buf: Buffer, problems: Problems): Buffer[] {
  if (!isSqlite(buf) || buf.length < 100) {
    problems.add("SQLite: not an SQLite database (bad header)");
    return [];
  }
  // The header's page count is trustworthy when its version-valid-for number (@92) matches the
  // change counter (@24); a file shorter than that count was cut, even if what remains opens.
  const pageSize = buf.readUInt16BE(16) === 1 ? 65536 : buf.readUInt16BE(16);
  const pages = buf.readUInt32BE(28);
  if (buf.readUInt32BE(92) === buf.readUInt32BE(24) && pages * pageSize > buf.length)
    problems.add(
      `SQLite truncated: ${pages} pages of ${pageSize} bytes declared, ${buf.length} bytes present`,
    );
  let bytes = buf;
  if (buf[18] === 2 || buf[19] === 2) {
    bytes = Buffer.from(buf);
    bytes[18] = 1;
    bytes[19] = 1;
  }
  const blobs: Buffer[] = [];
  let db: Database.Database | undefined;
  try {
    db = new Database(bytes, { readonly: true });
    const rows = db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").raw(true).iterate() as Iterable<
      [unknown, unknown]
    >;
    for (const [hnum, blob] of rows) {
      if (Buffer.isBuffer(blob)) blobs.push(blob);
      else problems.add(`SQLite: package ${String(hnum)}: blob is not binary`);
    }
  } catch (e) {
    // Corrupt pages surface here, possibly after some rows: keep those, report the rest.
    problems.add(`SQLite: ${(e as Error).message}`);
  } finally {
    db?.close();
  }
  return blobs;
}
