import { describe, expect, it } from 'vitest';
import { formatSummary } from '../src/deploy/command';
import type { RunSummary, StageSummary } from '../src/deploy/events';

const run = (stages: StageSummary[]): RunSummary => ({ stages, calls: {}, mutatingCalls: 3, seconds: 1.25 });
const stage = (id: string, over: Partial<StageSummary> = {}): StageSummary => ({ stage: id, stackSet: `acme-${id}`, result: 'unchanged', reasons: [], ...over });

describe('the summary after a deploy', () => {
  it('counts a stage whose only change was removing instances as such, not as updated', () => {
    const text = formatSummary(run([stage('a', { result: 'instances-removed' }), stage('b', { result: 'instances-removed' }), stage('c', { result: 'updated' }), stage('d'), stage('e', { result: 'failed', reasons: ['boom'] })]));
    expect(text.split('\n')[1]).toBe('summary: 1 updated, 2 with instances removed, 1 unchanged, 1 failed (5 StackSets, 3 mutating calls, 1.3s)');
  });

  it('lists a failed stage\'s reasons and its warnings (the stacks a failed removal left in accounts)', () => {
    const text = formatSummary(run([stage('a', { result: 'failed', reasons: ['AccessDeniedException'], warnings: ['account 1 us-east-1: instance removed from acme-a with RetainStacks, so its stack … stays in the account'] })]));
    expect(text).toContain('  ✗ a (acme-a):\n      AccessDeniedException\n');
    expect(text).toContain('  ! a (acme-a):\n      account 1 us-east-1: instance removed from acme-a with RetainStacks');
  });
});
