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
  const stranded = new Map<string, string>();
  const order = plans.filter((p) => p.removeAccounts.length > 0).sort((a, b) => waves.get(b.stackSet)! - waves.get(a.stackSet)! || compareText(a.stackSet, b.stackSet));
  for (const p of order) {
    const own = (p.unreachable ?? []).map((u) => u.account).filter((account) => p.removeAccounts.includes(account));
    const held = p.removeAccounts.filter((account) => stranded.has(account) && !own.includes(account)).map((account) => ({ account, by: stranded.get(account)! }));
    if (held.length > 0) p.held = held;
    for (const account of own) if (!stranded.has(account)) stranded.set(account, p.stackSet);
  }
}
