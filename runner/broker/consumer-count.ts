/**
 * How many workers consume through one broker object. An app shares its broker between every worker made on it
 * (one after another, or at once), so one worker's stop must not end the waits of another: the broker stops waiting
 * and consuming for good only when the last consumer leaves.
 */
export class ConsumerCount {
  private count = 0;

  /** A worker starts consuming (the broker's `resume`). */
  join(): void {
    this.count++;
  }

  /**
   * A worker stops consuming (the broker's `interrupt`). True when none is left, the broker then ends its waits;
   * also true when none had joined (an `interrupt` without a `resume` before it ends the waits, as it always did).
   */
  leave(): boolean {
    this.count = Math.max(0, this.count - 1);
    return this.count === 0;
  }
}
