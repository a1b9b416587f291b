/**
 * plan's prediction of the removals deploy holds (deployer.ts `notSent`): an instance to remove in an account where a
 * removal deploy makes before it leaves an instance no operation reaches (`unreachable`), whose stack may still use
 * what this one holds, is not sent and fails its removal, naming the StackSet that stays (review s35-diff m5).
 */
import { compareText } from '../order';
import type { StackSetPlan } from './deployer';

/**
 * Sets each plan's `held`, following deploy's order of removals:
 * 1. A family part's removals before its template update (`removeFirst`), in its own stage: wave by wave, the stages
 *    deploy runs last (`runsLast`) after every wave. The stages of one wave run at once, so only an earlier wave's
 *    stranded instance holds them.
 * 2. Every other removal, after every wave, one at a time: the later wave's first (deployer.ts runRemovals).
 * `waves`: each StackSet's wave.
 */
export function markHeld(plans: readonly StackSetPlan[], waves: ReadonlyMap<string, number>): void {
  const stranded = new Map<string, string>();
  /** Holds `accounts` of `p` where an earlier removal strands one; returns those of them `p` itself strands. */
  const hold = (p: StackSetPlan, accounts: readonly string[]): string[] => {
    const own = (p.unreachable ?? []).map((u) => u.account).filter((account) => accounts.includes(account));
    const held = accounts.filter((account) => stranded.has(account) && !own.includes(account)).map((account) => ({ account, by: stranded.get(account)! }));
    if (held.length > 0) p.held = [...(p.held ?? []), ...held];
    return own;
  };
  const strand = (p: StackSetPlan, own: readonly string[]) => {
    for (const account of own) if (!stranded.has(account)) stranded.set(account, p.stackSet);
  };

  // Deploy's steps: the waves, then the waves of the stages it runs last.
  const byStep = (a: StackSetPlan, b: StackSetPlan) => Number(a.runsLast !== undefined) - Number(b.runsLast !== undefined) || waves.get(a.stackSet)! - waves.get(b.stackSet)!;
  const early = plans.filter((p) => (p.removeFirst?.length ?? 0) > 0).sort(byStep);
  for (let i = 0, j = 0; i < early.length; i = j) {
    while (j < early.length && byStep(early[i], early[j]) === 0) j++;
    const together = early.slice(i, j).map((p) => [p, hold(p, p.removeFirst!)] as const);
    for (const [p, own] of together) strand(p, own);
  }

  const after = plans.filter((p) => p.removeAccounts.length > 0).sort((a, b) => waves.get(b.stackSet)! - waves.get(a.stackSet)! || compareText(a.stackSet, b.stackSet));
  for (const p of after) strand(p, hold(p, p.removeAccounts));
}
