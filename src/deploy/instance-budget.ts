/**
 * StackSets' quota of stack instances in operations at the same time:
 * "StackSets instance operations: The maximum number of stack instances,
 * across all stack sets, that you can run operations on in each Region at the
 * same time, per administrator account. 10,000 operations. This limit applies
 * across all stack sets involved in a Region. It includes stack instances
 * affected by stack set creation and update operations, as well as creating,
 * updating, or deleting stack instances directly."
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 * (the page names no way to raise it). "Instances affected by" an operation
 * reads as every instance it targets, not only those it runs on at one
 * moment (its maximum concurrency): that stricter reading is the one kept,
 * as it is safe under either (review s16-models F2; jenkinsci/pipeline-aws-plugin#220
 * batches by accounts × Regions for this quota). The stages of a wave run at
 * once, each with its own operations, so a deploy holds its operations to
 * this budget: an operation starts only when its instances fit beside those
 * of the operations of this run still going, else it waits (first come,
 * first served) for enough of them to end.
 */
import { LIMITS } from '../limits';

export class InstanceOperationBudget {
  private inUse = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];
  /** The most instances this run's operations ran on at once (for tests). */
  peak = 0;

  constructor(readonly quota: number = LIMITS.concurrentStackInstanceOperationsPerRegion) {}

  /**
   * Runs `f` (start an operation and wait for it to end) holding `instances`
   * of the budget: the instances it targets. One operation never holds more
   * than the whole budget: an operation on more instances than the quota
   * waits for the whole budget, then runs alone.
   */
  async hold<T>(instances: number, f: () => Promise<T>): Promise<T> {
    const weight = Math.min(Math.max(instances, 0), this.quota);
    await this.acquire(weight);
    try {
      return await f();
    } finally {
      this.release(weight);
    }
  }

  private acquire(weight: number): Promise<void> {
    if (this.waiting.length === 0 && this.inUse + weight <= this.quota) {
      this.take(weight);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ weight, start: () => (this.take(weight), resolve()) }));
  }

  private take(weight: number): void {
    this.inUse += weight;
    this.peak = Math.max(this.peak, this.inUse);
  }

  private release(weight: number): void {
    this.inUse -= weight;
    while (this.waiting.length > 0 && this.inUse + this.waiting[0].weight <= this.quota) this.waiting.shift()!.start();
  }
}
