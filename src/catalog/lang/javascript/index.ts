import type { Cataloger } from "../../types.js";
import { npmPackageJsonCataloger } from "./package-json.js";
import { npmPackageLockCataloger } from "./package-lock.js";
import { pnpmLockCataloger } from "./pnpm-lock.js";
import { yarnLockCataloger } from "./yarn-lock.js";

/** JavaScript catalogers: installed packages first, then lock files of applications. */
export const javascriptCatalogers: readonly Cataloger[] = [
  npmPackageJsonCataloger,
  npmPackageLockCataloger,
  yarnLockCataloger,
  pnpmLockCataloger,
];
