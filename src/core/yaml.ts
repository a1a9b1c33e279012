import { createRequire } from "node:module";

/**
 * The `yaml` package, loaded on first use: it takes about 20 ms to load, and most runs parse no
 * YAML (no config file, no pnpm or yarn berry lock file, no YAML ignore file). One place, so that
 * no module imports it eagerly again.
 */
let loaded: typeof import("yaml") | null = null;

export function yaml(): typeof import("yaml") {
  return (loaded ??= createRequire(import.meta.url)("yaml") as typeof import("yaml"));
}
