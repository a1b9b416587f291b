import { describe, expect, it } from 'vitest';
import { batches, concurrency, FIGURES, ModelClock, operationMs, preferencesFromQuery, type Figures, type OperationPreferences } from './support/operation-time';

const MIN = 60_000;
// Round figures for the arithmetic below (the defaults are asserted separately).
const figures: Figures = { operationOverheadMs: 1 * MIN, instanceMs: { CREATE: 4 * MIN, UPDATE: 2 * MIN, DELETE: 1 * MIN } };

describe('concurrency (API_StackSetOperationPreferences)', () => {
  it('defaults to one account at a time', () => {
    expect(concurrency(1000, {})).toBe(1);
  });

  it('percentage rounds down, and never to zero', () => {
    expect(concurrency(10, { MaxConcurrentPercentage: 25, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(2); // 2.5 → 2
    expect(concurrency(3, { MaxConcurrentPercentage: 10, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(1); // 0.3 → 1
  });

  it('STRICT (the default) starts at the lower of max concurrency and failure tolerance + 1', () => {
    // 100 % concurrency with no failure tolerance is one account at a time.
    expect(concurrency(1000, { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 0 })).toBe(1);
    // 10 % of 1,000 tolerated failures: 101 at a time.
    expect(concurrency(1000, { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10 })).toBe(101);
    // Tolerance percentage rounds down too: 10 % of 805 = 80.5 → 80, so 81.
    expect(concurrency(805, { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10 })).toBe(81);
    expect(concurrency(50, { MaxConcurrentCount: 20, FailureToleranceCount: 4 })).toBe(5);
  });

  it('SOFT runs at the max concurrency whatever the tolerance', () => {
    expect(concurrency(1000, { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 0, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(1000);
    expect(concurrency(50, { MaxConcurrentCount: 20, FailureToleranceCount: 4, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(20);
  });

  it('never more than the targets', () => {
    expect(concurrency(3, { MaxConcurrentCount: 10, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(3);
    expect(batches(0, { MaxConcurrentCount: 10 })).toBe(0);
  });
});

describe('operation duration', () => {
  const cautious: OperationPreferences = { MaxConcurrentCount: 1, FailureToleranceCount: 0, RegionConcurrencyType: 'SEQUENTIAL' };
  const wide: OperationPreferences = { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10, RegionConcurrencyType: 'PARALLEL' };

  it('one account at a time: one batch per account', () => {
    expect(operationMs({ action: 'CREATE', accounts: 100, regions: 1, preferences: cautious }, figures)).toBe(1 * MIN + 100 * 4 * MIN);
  });

  it('10 % tolerance, 100 %, PARALLEL: ceil(1000 / 101) = 10 batches', () => {
    expect(batches(1000, wide)).toBe(10);
    expect(operationMs({ action: 'UPDATE', accounts: 1000, regions: 3, preferences: wide }, figures)).toBe(1 * MIN + 10 * 2 * MIN);
  });

  it('SEQUENTIAL Regions run the batches once per Region', () => {
    expect(operationMs({ action: 'DELETE', accounts: 1000, regions: 3, preferences: { ...wide, RegionConcurrencyType: 'SEQUENTIAL' } }, figures)).toBe(1 * MIN + 3 * 10 * 1 * MIN);
  });

  it('an operation without instances costs only the overhead', () => {
    expect(operationMs({ action: 'UPDATE', accounts: 0, regions: 1, preferences: cautious }, figures)).toBe(1 * MIN);
  });

  it('default figures: a 1,000-account create at 100 % / 10 % / PARALLEL is 31 minutes', () => {
    expect(FIGURES.instanceMs.CREATE).toBe(3 * MIN);
    expect(operationMs({ action: 'CREATE', accounts: 1000, regions: 1, preferences: wide })).toBe(1 * MIN + 10 * 3 * MIN);
  });
});

describe('preferences from a Query request', () => {
  it('reads the OperationPreferences members and ignores RegionOrder', () => {
    const params = new URLSearchParams({
      Action: 'CreateStackInstances',
      'OperationPreferences.MaxConcurrentPercentage': '100',
      'OperationPreferences.FailureTolerancePercentage': '10',
      'OperationPreferences.RegionConcurrencyType': 'PARALLEL',
      'OperationPreferences.RegionOrder.member.1': 'us-east-1',
    });
    expect(preferencesFromQuery(params)).toEqual({ MaxConcurrentPercentage: 100, FailureTolerancePercentage: 10, RegionConcurrencyType: 'PARALLEL' });
    expect(preferencesFromQuery(new URLSearchParams({ Action: 'UpdateStackSet' }))).toEqual({});
  });
});

describe('ModelClock', () => {
  const p: OperationPreferences = { MaxConcurrentCount: 1 };

  it('waves in sequence, StackSets of a wave at once, a StackSet’s operations in sequence', () => {
    const clock = new ModelClock(figures);
    // wave 1: a (one 2-account create: 1 + 2×4 = 9 min), b (three 1-account creates: 3 × 5 = 15 min)
    clock.record('a', { action: 'CREATE', accounts: 2, regions: 1, preferences: p });
    for (let i = 0; i < 3; i++) clock.record('b', { action: 'CREATE', accounts: 1, regions: 1, preferences: p });
    // wave 2: c (one update of 4 accounts: 1 + 4×2 = 9 min)
    clock.record('c', { action: 'UPDATE', accounts: 4, regions: 1, preferences: p });
    expect(clock.wallMs([['a', 'b'], ['c']])).toBe(15 * MIN + 9 * MIN);
    expect(clock.countsByAction()).toEqual({ CREATE: 4, UPDATE: 1, DELETE: 0 });
    // A StackSet in no wave is counted after them, not dropped.
    clock.record('d', { action: 'DELETE', accounts: 1, regions: 1, preferences: p });
    expect(clock.wallMs([['a', 'b'], ['c']])).toBe(15 * MIN + 9 * MIN + 2 * MIN);
  });

  it('re-evaluates the recorded operations under other preferences', () => {
    const clock = new ModelClock(figures);
    clock.record('a', { action: 'CREATE', accounts: 100, regions: 1, preferences: p });
    expect(clock.wallMs([['a']])).toBe(1 * MIN + 100 * 4 * MIN);
    expect(clock.wallMs([['a']], { MaxConcurrentPercentage: 100, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' })).toBe(1 * MIN + 4 * MIN);
  });
});
