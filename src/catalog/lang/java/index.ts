import type { Cataloger } from "../../types.js";
import { javaArchiveCataloger } from "./cataloger.js";

export { javaArchiveCataloger };
export const javaCatalogers: Cataloger[] = [javaArchiveCataloger];
