/**
 * The EventBridge event-pattern language: parse a pattern as PutRule / TestEventPattern receive
 * it (InvalidEventPatternError with AWS's texts), match it against an event, or compile many
 * rules into one index whose cost per event does not grow with the number of rules.
 * See docs/events.md ("Event patterns").
 */
export type { Branch, Condition, EventPattern, IpRange, Matcher, MatcherKind, NumericBound } from "./ast.js";
export { InvalidEventPatternError, type PatternLocation } from "./errors.js";
export { matches, type MatchOptions } from "./match.js";
export {
  DEFAULT_MAX_BRANCHES,
  DEFAULT_MAX_PATTERN_LENGTH,
  parseEventPattern,
  type ParseOptions,
} from "./parse.js";
export { compileRules, type CompiledRules, type RuleInput } from "./rule-index.js";
