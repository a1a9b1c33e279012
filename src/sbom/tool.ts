import { createRequire } from "node:module";

/**
 * Who made the SBOM. The version comes from package.json (two levels up from both
 * src/sbom and dist/sbom), so a release bump needs no second edit here.
 */
const require = createRequire(import.meta.url);
const pkg = require("../../package.json") as { version: string };

export const TOOL_NAME = "drydock";
export const TOOL_VERSION: string = pkg.version;
