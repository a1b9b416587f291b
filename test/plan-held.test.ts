/**
 * plan's prediction of the removals deploy holds (src/deploy/held.ts), against deploy's order of removals: a family
 * part's early removals (`removeFirst`) in their wave, before every removal made after the waves (runRemovals, later
 * waves first). The deploy side is proved against the StackSets layer (deploy-faults-changes.test.ts, the moved-OU case).
 */
import { describe, expect, it } from 'vitest';
import type { StackSetPlan } from '../src/deploy/deployer';
import { markHeld } from '../src/deploy/held';

const plan = (stackSet: string, over: Partial<StackSetPlan>): StackSetPlan => ({ stage: stackSet, stackSet, action: 'update', templateChanged: false, addAccounts: [], removeAccounts: [], retryAccounts: [], collisions: [], ...over });
const A = '111111111111';
const B = '222222222222';
const unreachable = (account: string) => [{ account, why: 'gone' }];

describe("plan's held removals", () => {
  it('after the waves, a later wave\'s stranded instance holds an earlier wave\'s removal in that account, not the other way round', () => {
    const late = plan('late', { removeAccounts: [A], unreachable: unreachable(A) });
    const early = plan('early', { removeAccounts: [A, B] });
    markHeld([early, late], new Map([['early', 1], ['late', 3]]));
    expect(early.held).toEqual([{ account: A, by: 'late' }]);
    expect(late.held).toBeUndefined();
  });

  it("a family part's early removal strands its account for every removal after the waves, whatever their wave (review s35-diff m5)", () => {
    // Wave 1's part removes first, in its own stage: before the wave-3 StackSet's removal after the waves.
    const part = plan('part-2', { removeFirst: [A], unreachable: unreachable(A) });
    const later = plan('later', { removeAccounts: [A] });
    markHeld([part, later], new Map([['part-2', 1], ['later', 3]]));
    expect(later.held).toEqual([{ account: A, by: 'part-2' }]);
    expect(part.held).toBeUndefined();
  });

  it('an early removal is held only by an earlier wave\'s (one wave\'s stages run at once), and a stage deploy runs last comes after every wave', () => {
    const first = plan('first', { removeFirst: [A, B], unreachable: unreachable(A) });
    const sameWave = plan('same-wave', { removeFirst: [A] });
    const nextWave = plan('next-wave', { removeFirst: [A] });
    const last = plan('last', { removeFirst: [B], unreachable: unreachable(B), runsLast: 'after every wave' });
    const afterLast = plan('after-last', { removeFirst: [B], runsLast: 'after every wave' });
    const wave3 = plan('wave-3', { removeFirst: [B] });
    markHeld([wave3, afterLast, last, nextWave, sameWave, first], new Map([['first', 1], ['same-wave', 1], ['next-wave', 2], ['last', 1], ['after-last', 2], ['wave-3', 3]]));
    expect(sameWave.held).toBeUndefined();
    expect(nextWave.held).toEqual([{ account: A, by: 'first' }]);
    // `last` runs after wave 3: wave 3's early removal in B is not held by it; after-last's is.
    expect(wave3.held).toBeUndefined();
    expect(afterLast.held).toEqual([{ account: B, by: 'last' }]);
    expect(first.held).toBeUndefined();
  });
});
