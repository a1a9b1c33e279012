import type { Cataloger } from "../../types.js";
import { rustBinaryCataloger } from "./auditable.js";
import { cargoLockCataloger } from "./cargolock.js";

export { cargoLockCataloger, rustBinaryCataloger };
export const rustCatalogers: Cataloger[] = [cargoLockCataloger, rustBinaryCataloger];
