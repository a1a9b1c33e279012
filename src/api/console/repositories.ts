import type { ConsoleDeps } from "./deps.js";
import type { ConsoleRoutes } from "./router.js";

/** Placeholder: the repositories area of the console API (issue 14), being built. */
export function registerRepositoryRoutes(_r: ConsoleRoutes, _deps: ConsoleDeps): void {}
