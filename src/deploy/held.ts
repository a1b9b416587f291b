/**
 * plan's prediction of the removals deploy holds (deployer.ts `notSent`): an instance to remove in an account where a
 * removal deploy makes before it leaves an instance no operation reaches (`unreachable`), whose stack may still use
 * what this one holds, is not sent and fails its removal, naming the StackSet that stays (review s35-diff m5).
 */
import { compareText } from '../order';
import type { StackSetPlan } from './deployer';

/**
 * Sets each plan's `held`: of the removals deploy makes after every wave, one at a time, the later wave's first
 * (deployer.ts runRemovals), those in an account where an earlier one of them strands an instance. A family part's
 * early removal (`removeFirst`) that strands one fails its stage, and deploy then runs no later wave and no removal
 * (review s36-diff M1): nothing of it is held, and plan-text says the run stops there.
 */
export function markHeld(plans: readonly StackSetPlan[], waves: ReadonlyMap<string, number>): void {
  const stranded = new Strandings();
  const order = plans.filter((p) => p.removeAccounts.length > 0).sort((a, b) => waves.get(b.stackSet)! - waves.get(a.stackSet)! || compareText(a.stackSet, b.stackSet));
  for (const p of order) {
    const own = (p.unreachable ?? []).map((u) => u.account).filter((account) => p.removeAccounts.includes(account));
    const held = stranded.next(p.stackSet, p.removeAccounts, own);
    if (held.length > 0) p.held = held;
  }
}

/**
 * The instances a run's removals strand, in the order it makes them: deploy's (markHeld, for plan) and destroy's
 * (deployer.ts destroyPlan, for its list) hold a StackSet's instance in an account where an earlier one stranded its own.
 */
export class Strandings {
  /** Account → the StackSet whose instance there no operation reaches, the first of the run's. */
  private readonly by = new Map<string, string>();

  /**
   * The next StackSet's removal: of its `accounts`, those held (an earlier StackSet stranded an instance there), with
   * that StackSet; its own `unreachable` accounts are not held but stranded, recorded for the StackSets after it.
   */
  next(stackSet: string, accounts: readonly string[], unreachable: readonly string[]): Array<{ account: string; by: string }> {
    const held = accounts.filter((account) => this.by.has(account) && !unreachable.includes(account)).map((account) => ({ account, by: this.by.get(account)! }));
    for (const account of unreachable) if (!this.by.has(account)) this.by.set(account, stackSet);
    return held;
  }
}
