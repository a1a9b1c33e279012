/**
 * Runs `fill` (a claiming loop) one at a time: a wake while it runs is remembered and runs it
 * once more when it ends, so a wake is never lost and never starts a second loop. The job
 * worker and the event delivery worker claim through one each.
 */
export class Pump {
  private running = false;
  private again = false;

  constructor(private readonly fill: () => Promise<void>) {}

  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.fill().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }
}
