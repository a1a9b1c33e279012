import type { Cataloger } from "../../types.js";
import { gemfileLockCataloger } from "./gemfile-lock.js";
import { gemspecCataloger } from "./gemspec.js";

/** Ruby catalogers: installed gem specifications first, then an application's Gemfile.lock. */
export const rubyCatalogers: readonly Cataloger[] = [gemspecCataloger, gemfileLockCataloger];
