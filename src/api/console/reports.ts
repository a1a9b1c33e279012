import type { ConsoleDeps } from "./deps.js";
import type { ConsoleRoutes } from "./router.js";

/** Placeholder: the reports area of the console API (issue 14), being built. */
export function registerReportRoutes(_r: ConsoleRoutes, _deps: ConsoleDeps): void {}
