import type { Cataloger } from "../../types.js";
import { goBinaryCataloger } from "./binary.js";
import { goModCataloger } from "./gomod.js";

export { goBinaryCataloger, goModCataloger };
export const goCatalogers: Cataloger[] = [goBinaryCataloger, goModCataloger];
