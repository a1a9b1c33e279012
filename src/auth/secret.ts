import { randomBytes } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../core/errors.js";

export const TOKEN_KEY_FILE = "token.key";

/**
 * The HMAC key for bearer tokens: `auth.tokenSecret` when configured (required when several
 * nodes issue tokens), else DATA/token.key, generated on first start so tokens survive a
 * restart. The file is written under a temporary name with mode 0600 and then hard-linked
 * into place: link() never replaces an existing file, so two processes starting at once
 * agree on one key, and no reader ever sees a half-written file.
 */
export async function loadTokenKey(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured !== undefined) return Buffer.from(configured, "utf8");
  const path = join(dataDir, TOKEN_KEY_FILE);
  const existing = await readKey(path);
  if (existing) return existing;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const key = await readKey(path);
  if (!key) throw new ConfigError(`${path} could not be created`);
  return key;
}

async function readKey(path: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const key = text.trim();
  if (key.length < 32) throw new ConfigError(`${path} is too short: delete it to generate a new key`);
  return Buffer.from(key, "utf8");
}
