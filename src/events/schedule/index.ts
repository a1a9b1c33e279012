export {
  SCHEDULE_EXPRESSION_INVALID,
  SCHEDULE_ONLY_ON_DEFAULT_BUS,
  ScheduleExpressionError,
  isFireTime,
  nextFireTime,
  parseScheduleExpression,
  type Schedule,
} from "./expression.js";
