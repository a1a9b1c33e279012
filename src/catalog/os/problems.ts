/**
 * Collects the problems of one file. Capped: a corrupt or hostile database can have millions
 * of bad records, and one reason per record would turn a bad file into a memory problem.
 */
export class Problems {
  private readonly reasons: string[] = [];
  private dropped = 0;

  constructor(private readonly max = 20) {}

  add(reason: string): void {
    if (this.reasons.length < this.max) this.reasons.push(reason);
    else this.dropped++;
  }

  get count(): number {
    return this.reasons.length + this.dropped;
  }

  /** The reasons, or undefined when there are none (the CatalogResult shape). */
  list(): string[] | undefined {
    if (this.count === 0) return undefined;
    return this.dropped ? [...this.reasons, `... and ${this.dropped} more problems`] : [...this.reasons];
  }
}
