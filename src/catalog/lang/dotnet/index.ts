import type { Cataloger } from "../../types.js";
import { dotnetDepsCataloger } from "./depsjson.js";
import { nugetConfigCataloger } from "./packagesconfig.js";
import { nugetLockCataloger } from "./packageslock.js";

export { dotnetDepsCataloger, nugetConfigCataloger, nugetLockCataloger };
export const dotnetCatalogers: Cataloger[] = [dotnetDepsCataloger, nugetLockCataloger, nugetConfigCataloger];
