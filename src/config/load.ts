import { readFileSync } from "node:fs";
import { ConfigError } from "../core/errors.js";
import { yaml } from "../core/yaml.js";
import { configSchema, type Config } from "./schema.js";

type Json = Record<string, unknown>;

/**
 * DRYDOCK_* environment variables: the name after the prefix, lowercased, `__` for
 * nesting and `_` for camelCase: DRYDOCK_GC__GRACE_PERIOD_MINUTES=5 → gc.gracePeriodMinutes.
 * Values are parsed as JSON when they parse (numbers, booleans, arrays), else kept as text.
 */
export function envToConfig(env: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("DRYDOCK_") || raw === undefined || key === "DRYDOCK_CONFIG") continue;
    const path = key
      .slice("DRYDOCK_".length)
      .toLowerCase()
      .split("__")
      .map((p) => p.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* plain text */
    }
    setPath(out, path, value);
  }
  return out;
}

function setPath(obj: Json, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Json;
  }
  cur[path[path.length - 1]!] = value;
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v) &&
      typeof b === "object" &&
      b !== null &&
      !Array.isArray(b)
        ? merge(b as Json, v as Json)
        : v;
  }
  return out;
}

export function readConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    const v: unknown = path.endsWith(".json") ? JSON.parse(text) : yaml().parse(text);
    if (v === null || v === undefined) return {};
    if (typeof v !== "object" || Array.isArray(v)) throw new Error("top level must be a mapping");
    return v as Json;
  } catch (e) {
    throw new ConfigError(`config file ${path} is invalid: ${(e as Error).message}`);
  }
}

/** Builds the effective configuration: defaults < file < environment < flags. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; flags?: Json } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.DRYDOCK_CONFIG;
  let merged: Json = {};
  if (file) merged = merge(merged, readConfigFile(file));
  merged = merge(merged, envToConfig(env));
  merged = merge(merged, opts.flags ?? {});
  const r = configSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return r.data;
}

/** Parses HOST:PORT ([::1]:5000 for IPv6). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new ConfigError(`listen must be HOST:PORT, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
