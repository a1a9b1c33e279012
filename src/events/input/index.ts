export {
  InvalidTargetInputError,
  PREDEFINED,
  renderTargetInput,
  validateTargetInput,
  type RenderContext,
  type TargetInputMembers,
} from "./target-input.js";
export { parseJsonPath, selectPath, type JsonPath } from "./jsonpath.js";
