/**
 * plan's prediction of the removals deploy holds (src/deploy/held.ts), against deploy's order of removals after every
 * wave (runRemovals, later waves first); and what plan says of a family part's early removal (`removeFirst`) no
 * operation reaches, which fails its stage and stops the run (deployer.ts: the wave loop stops at a failed stage).
 * The deploy side of removals after the waves is proved against the StackSets layer (deploy-faults-changes.test.ts,
 * the moved-OU cases); that deploy stops at a stage whose early removal fails is its wave loop's rule for any failed
 * stage (deployer.ts), which no test here runs through an early removal.
 */
import { describe, expect, it } from 'vitest';
import type { StackSetPlan } from '../src/deploy/deployer';
import { markHeld } from '../src/deploy/held';
import { formatPlan } from '../src/deploy/plan-text';

const plan = (stackSet: string, over: Partial<StackSetPlan>): StackSetPlan => ({ stage: stackSet, stackSet, action: 'update', templateChanged: false, addAccounts: [], removeAccounts: [], retryAccounts: [], collisions: [], ...over });
const A = '111111111111';
const B = '222222222222';
const unreachable = (account: string) => [{ account, why: 'gone' }];

describe("plan's held removals", () => {
  it("after the waves, a later wave's stranded instance holds an earlier wave's removal in that account, not the other way round", () => {
    const late = plan('late', { removeAccounts: [A], unreachable: unreachable(A) });
    const early = plan('early', { removeAccounts: [A, B] });
    markHeld([early, late], new Map([['early', 1], ['late', 3]]));
    expect(early.held).toEqual([{ account: A, by: 'late' }]);
    expect(late.held).toBeUndefined();
  });

  it("an instance that no operation reaches in the earlier wave's removal too is said unreachable there, not held as well, as deploy's notSent says it once (review s41-mutations-3 H2)", () => {
    const late = plan('late', { removeAccounts: [A], unreachable: unreachable(A) });
    const early = plan('early', { removeAccounts: [A, B], unreachable: unreachable(A) });
    markHeld([early, late], new Map([['early', 1], ['late', 3]]));
    expect(early.held).toBeUndefined();
    const text = formatPlan([early], { colour: false, accountNames: new Map() });
    expect(text).not.toContain('instance deploy holds');
    expect(text).toContain(`✗ instance no operation reaches, which deploy cannot remove (nor, after it, the instances of the stages it removes later in that account): ${A}: gone`);
  });

  it("a family part's early removal no operation reaches holds nothing (the run stops at its stage), and plan says so (review s36-diff M1)", () => {
    const part = plan('part-2', { removeFirst: [A], unreachable: unreachable(A) });
    const later = plan('later', { removeAccounts: [A] });
    markHeld([part, later], new Map([['part-2', 3], ['later', 1]]));
    expect(later.held).toBeUndefined();
    const text = formatPlan([part, later], { colour: false, accountNames: new Map() });
    expect(text).toContain(`✗ instance no operation reaches, which deploy cannot remove before its template update: the stage fails, and deploy runs neither the stages of its wave that wait on it, nor any later wave, nor any removal: ${A}: gone`);
    // One removed after the waves keeps its own words.
    expect(formatPlan([plan('late', { removeAccounts: [B], unreachable: unreachable(B) })], { colour: false, accountNames: new Map() })).toContain(
      `✗ instance no operation reaches, which deploy cannot remove (nor, after it, the instances of the stages it removes later in that account): ${B}: gone`,
    );
  });
});
