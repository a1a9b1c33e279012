import type { ConsoleDeps } from "./deps.js";
import type { ConsoleRoutes } from "./router.js";

/** Placeholder: the suppression area of the console API (issue 14), being built. */
export function registerSuppressionRoutes(_r: ConsoleRoutes, _deps: ConsoleDeps): void {}
