import type { ConsoleDeps } from "./deps.js";
import type { ConsoleRoutes } from "./router.js";

/** Placeholder: the vulnerabilities area of the console API (issue 14), being built. */
export function registerVulnerabilityRoutes(_r: ConsoleRoutes, _deps: ConsoleDeps): void {}
