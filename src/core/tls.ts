import { readFileSync, realpathSync, watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { ConfigError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * TLS on the listener: the certificate and key files of the configuration (`tls.certFile`,
 * `tls.keyFile`), read and checked at start-up, and read again whenever either changes, so
 * that a renewed certificate is served without a restart.
 */

export interface TlsFiles {
  /** PEM certificate chain: the server's certificate first, then intermediates. */
  certFile: string;
  /** PEM private key of that certificate, unencrypted. */
  keyFile: string;
}

/** What `https.createServer` and `setSecureContext` take. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/**
 * The files of a `tls` configuration section, or null when TLS is off. Both or neither:
 * the schema refuses one alone; this says so again for callers that skip the schema.
 */
export function tlsFiles(tls: { certFile?: string; keyFile?: string } | undefined): TlsFiles | null {
  if (!tls || (tls.certFile === undefined && tls.keyFile === undefined)) return null;
  if (tls.certFile === undefined || tls.keyFile === undefined)
    throw new ConfigError("tls.certFile and tls.keyFile must be set together (both or neither)");
  return { certFile: tls.certFile, keyFile: tls.keyFile };
}

/**
 * Checks that a pair is usable as is: both parse as PEM and the key belongs to the
 * certificate (OpenSSL's own check, as the server would do). Throws with OpenSSL's reason.
 */
export function checkTlsPair(pair: TlsPair): void {
  createSecureContext({ cert: pair.cert, key: pair.key });
}

/** The certificate's subject and expiry, for logs. */
export function describeCertificate(cert: Buffer): {
  subject: string;
  validTo: string;
  fingerprint256: string;
} {
  const x = new X509Certificate(cert);
  return { subject: x.subject.replace(/\n/g, ", "), validTo: x.validTo, fingerprint256: x.fingerprint256 };
}

/** Reads and checks the pair at start-up: a ConfigError names the file and the reason. */
export function loadTlsPair(files: TlsFiles): TlsPair {
  const read = (option: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`cannot read ${option} ${path}: ${(e as Error).message}`);
    }
  };
  const pair = { cert: read("tls.certFile", files.certFile), key: read("tls.keyFile", files.keyFile) };
  try {
    checkTlsPair(pair);
    describeCertificate(pair.cert);
  } catch (e) {
    throw new ConfigError(
      `tls.certFile ${files.certFile} and tls.keyFile ${files.keyFile} are not a usable ` +
        `certificate and key (PEM, unencrypted key of that certificate): ${(e as Error).message}`,
    );
  }
  return pair;
}

export interface TlsWatcher {
  /** Reads both files now; applies them when they changed and work. Resolves to whether it applied. */
  reload(): Promise<boolean>;
  close(): void;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Watches the directories of both files (a renewal usually replaces a file by rename, or
 * swaps a symlink as certbot and Kubernetes (`..data`) do; a watch on the file itself would
 * stay on the old inode) and, shortly after the last change, reads both files. A new pair that
 * works is handed to `apply` (for `server.setSecureContext`); a broken one, such as a
 * certificate written before its key, is logged and the pair in use kept.
 */
export function watchTlsPair(
  files: TlsFiles,
  current: TlsPair,
  apply: (pair: TlsPair) => void,
  log: Logger,
  debounceMs = 200,
): TlsWatcher {
  let inUse = current;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | null = null;
  let again = false;

  const readBoth = async (): Promise<boolean> => {
    let next: TlsPair;
    try {
      next = { cert: await readFile(files.certFile), key: await readFile(files.keyFile) };
    } catch (e) {
      log.warn({ err: e, ...files }, "TLS certificate or key cannot be read: keeping the one in use");
      return false;
    }
    if (next.cert.equals(inUse.cert) && next.key.equals(inUse.key)) return false;
    let described: ReturnType<typeof describeCertificate>;
    try {
      checkTlsPair(next);
      described = describeCertificate(next.cert);
      apply(next);
    } catch (e) {
      log.warn(
        { err: e, ...files },
        "TLS certificate and key changed but do not work together: keeping the ones in use",
      );
      return false;
    }
    inUse = next;
    log.info({ ...files, ...described }, "TLS certificate reloaded");
    return true;
  };
  // One read at a time; a change during a read is read again after it.
  const reload = (): Promise<boolean> => {
    if (running) {
      again = true;
      return running;
    }
    running = readBoth().finally(() => {
      running = null;
      if (again) {
        again = false;
        void reload();
      }
    });
    return running;
  };

  // The directories of the paths as configured and, when they are symlinks, of their targets.
  const names = new Map<string, Set<string>>();
  for (const f of [files.certFile, files.keyFile]) {
    for (const path of [resolve(f), realpathOr(f)]) {
      const set = names.get(dirname(path)) ?? new Set<string>();
      names.set(dirname(path), set.add(basename(path)));
    }
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, entries] of names) {
    try {
      const w = watch(dir, (_event, file) => {
        // Our entries, or Kubernetes' `..data` symlink swap (unknown name: null).
        if (file !== null && !entries.has(file) && !file.startsWith("..")) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), debounceMs).unref();
      });
      w.on("error", (err) => log.warn({ err, dir }, "TLS files: watching this directory stopped"));
      w.unref();
      watchers.push(w);
    } catch (err) {
      log.warn({ err, dir }, "cannot watch the TLS files: the certificate will not be reloaded");
    }
  }
  return {
    reload,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
