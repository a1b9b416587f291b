/**
 * StackSets' quota of stack instances in operations at the same time:
 * "StackSets instance operations: The maximum number of stack instances,
 * across all stack sets, that you can run operations on in each Region at the
 * same time, per administrator account. 10,000 operations. This limit applies
 * across all stack sets involved in a Region. It includes stack instances
 * affected by stack set creation and update operations, as well as creating,
 * updating, or deleting stack instances directly."
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 * (the page names no way to raise it). The stages of a wave run at once, each
 * with its own operations, so a deploy holds its operations to this budget:
 * an operation starts only when its instances fit beside those of the
 * operations of this run still going, else it waits (first come, first
 * served) for enough of them to end.
 */
import { LIMITS } from '../limits';
import type { StackSetSettings } from '../org/model';

/**
 * How many of an operation's instances it runs on at once (one Region each):
 * at most its maximum concurrency. API_StackSetOperationPreferences:
 * MaxConcurrentCount, "The maximum number of accounts in which to perform
 * this operation at one time", 1 when neither is set; MaxConcurrentPercentage
 * "rounds down to the next whole number. This is true except in cases where
 * rounding down would result is zero. In this case, CloudFormation sets the
 * number as one instead."
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html
 * (STRICT_FAILURE_TOLERANCE may run fewer, never more.)
 */
export function instancesAtOnce(settings: StackSetSettings, accounts: number): number {
  const { maxConcurrentCount, maxConcurrentPercentage } = settings.operationPreferences;
  const concurrency = maxConcurrentCount ?? (maxConcurrentPercentage !== undefined ? Math.max(1, Math.floor((accounts * maxConcurrentPercentage) / 100)) : 1);
  return Math.min(accounts, concurrency);
}

export class InstanceOperationBudget {
  private inUse = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];
  /** The most instances this run's operations ran on at once (for tests). */
  peak = 0;

  constructor(readonly quota: number = LIMITS.concurrentStackInstanceOperationsPerRegion) {}

  /**
   * Runs `f` (start an operation and wait for it to end) holding `instances`
   * of the budget. One operation never holds more than the whole budget: the
   * org file caps maxConcurrentCount at 10,000, the quota (load.ts), so the
   * clamp only matters for a smaller budget given in tests.
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
