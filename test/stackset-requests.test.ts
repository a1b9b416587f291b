// What the deployer puts into every StackSets operation request (src/deploy/stacksets.ts), which moto and the test
// layer accept whatever it holds (review s40-mutations-2 DD11b, DD6, DD19).
import { describe, expect, it } from 'vitest';
import { DEFAULT_STACKSETS } from '../src/org/load';
import { operationId, operationPreferences, type Operation } from '../src/deploy/stacksets';

describe('operationId', () => {
  const id = (payload: Operation) => operationId('acme-pipelines', 'acme-pipelines:1234', payload.action, payload, 'xs-update-template-previous');

  it('names the change itself: another template, other OUs or a delete that retains its stacks is another id; the same change the same id', () => {
    // Two deploys of different org files reading the same last operation must not send one id for two changes: the
    // second would take the first's operation for its own (OperationIdAlreadyExists, then RUNNING).
    const template = (templateBody: string): Operation => ({ action: 'update-template', templateBody, accounts: ['111111111111'] });
    expect(id(template('A'))).toBe(id(template('A')));
    expect(id(template('A'))).not.toBe(id(template('B')));
    const instances = (extra: Partial<Operation>): Operation => ({ action: 'delete-instances', accounts: ['111111111111'], ...extra }) as Operation;
    expect(id(instances({}))).not.toBe(id(instances({ organizationalUnits: ['ou-a'] })));
    expect(id(instances({ organizationalUnits: ['ou-a'] }))).not.toBe(id(instances({ organizationalUnits: ['ou-b'] })));
    expect(id(instances({}))).not.toBe(id(instances({ retainStacks: true })));
    expect(id(template('A'))).toMatch(/^xs-update-template-[0-9a-f]{40}$/);
  });
});

describe('operationPreferences', () => {
  it("sends each of the org file's preferences, with the org's Region as the only Region", () => {
    const settings = (operationPreferences: (typeof DEFAULT_STACKSETS)['operationPreferences']) => ({ ...DEFAULT_STACKSETS, operationPreferences });
    expect(operationPreferences(settings({ maxConcurrentCount: 3, failureToleranceCount: 1, regionConcurrencyType: 'PARALLEL', concurrencyMode: 'SOFT_FAILURE_TOLERANCE' }), 'eu-west-1')).toEqual({
      RegionOrder: ['eu-west-1'],
      MaxConcurrentCount: 3,
      FailureToleranceCount: 1,
      RegionConcurrencyType: 'PARALLEL',
      ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE',
    });
    expect(operationPreferences(settings({ maxConcurrentPercentage: 100, failureTolerancePercentage: 10 }), 'us-gov-west-1')).toEqual({
      RegionOrder: ['us-gov-west-1'],
      MaxConcurrentPercentage: 100,
      FailureTolerancePercentage: 10,
    });
    expect(operationPreferences(settings({}), 'eu-west-1')).toEqual({ RegionOrder: ['eu-west-1'] });
  });
});
