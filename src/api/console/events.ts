import type { ConsoleDeps } from "./deps.js";
import type { ConsoleRoutes } from "./router.js";

/** Placeholder: the events area of the console API (issue 14), being built. */
export function registerEventRoutes(_r: ConsoleRoutes, _deps: ConsoleDeps): void {}
