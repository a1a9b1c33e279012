import type { Cataloger } from "../../types.js";
import { pythonInstalledCataloger } from "./installed.js";
import { pipfileLockCataloger, poetryLockCataloger, uvLockCataloger } from "./locks.js";
import { pipRequirementsCataloger } from "./requirements.js";

/** Python catalogers: installed distributions first, then an application's pins and lock files. */
export const pythonCatalogers: readonly Cataloger[] = [
  pythonInstalledCataloger,
  pipRequirementsCataloger,
  poetryLockCataloger,
  pipfileLockCataloger,
  uvLockCataloger,
];
