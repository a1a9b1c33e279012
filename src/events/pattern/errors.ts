/**
 * The one error a pattern can fail with. EventBridge answers a bad pattern with
 * InvalidEventPatternException "Event pattern is not valid. Reason: <reason>"; when the reason
 * came from its JSON parser (Jackson) the message carries a second line naming the place,
 * " at [Source: (String)"<pattern>"; line: L, column: C]", sometimes twice (event-ruler reports
 * some errors, catches them and reports them again). `message` is the first line, as AWS's
 * snapshots give it; `detail` is the whole text AWS would send.
 */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
  /** What follows "Reason: " on the first line. */
  readonly reason: string;
  /** Where the parser stood (1-based line and column, 0-based offset), when AWS names it. */
  readonly location: PatternLocation | undefined;
  /** The full text: the first line, then the location line(s) AWS appends. */
  readonly detail: string;

  constructor(reason: string, opts: { location?: PatternLocation; locationLines?: string[] } = {}) {
    const first = `Event pattern is not valid. Reason: ${reason}`;
    super(first);
    this.reason = reason;
    this.location = opts.location;
    this.detail = [first, ...(opts.locationLines ?? [])].join("\n");
  }
}

export interface PatternLocation {
  line: number;
  column: number;
  offset: number;
}
