/**
 * CloudFormation's StackSets quotas (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
 * an org over one fails with LIMIT_EXCEEDED naming the org file, the count,
 * the quota, its page and the org-file key that declares a raised quota.
 */
import { describe, expect, it } from 'vitest';
import { CompileError } from '../src/errors';
import { CLOUDFORMATION_QUOTAS_DOC, LIMITS } from '../src/limits';
import {
  STACKSET_QUOTAS,
  checkStackInstanceQuota,
  checkStackSetQuota,
  instanceOperationsProblem,
  stackInstanceQuotaProblem,
  stackSetQuotaOf,
  stackSetQuotaProblem,
} from '../src/checks/stackset-quota';

const FILE = 'parameters/big.yaml';

const thrown = (f: () => void): CompileError => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CompileError);
    return error as CompileError;
  }
  throw new Error('expected a CompileError');
};

describe('StackSets per administrator account', () => {
  it("is AWS's documented default of 1,000", () => {
    expect(LIMITS.stackSetsPerAdministrator).toBe(1000);
    expect(STACKSET_QUOTAS.stackSetsPerAdministrator.default).toBe(1000);
    expect(CLOUDFORMATION_QUOTAS_DOC).toBe('https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html');
  });

  it('under and at the quota: no problem', () => {
    expect(stackSetQuotaProblem(FILE, 0)).toBeUndefined();
    expect(stackSetQuotaProblem(FILE, 602)).toBeUndefined();
    expect(stackSetQuotaProblem(FILE, 1000)).toBeUndefined();
    expect(stackSetQuotaProblem(FILE, 99, 100)).toBeUndefined();
    expect(stackSetQuotaProblem(FILE, 100, 100)).toBeUndefined();
    expect(() => checkStackSetQuota({ file: FILE }, 1000)).not.toThrow();
  });

  it('one over the quota: the message names the file, the count, the quota, its page and what to do', () => {
    const problem = stackSetQuotaProblem(FILE, 1001);
    expect(problem).toBeDefined();
    expect(problem).toContain(`${FILE}: `);
    expect(problem).toContain('1,001 StackSets');
    expect(problem).toContain("quota of 1,000 StackSets per administrator account, AWS's default");
    expect(problem).toContain(CLOUDFORMATION_QUOTAS_DOC);
    expect(problem).toContain('Service Quotas');
    expect(problem).toContain('stackSetQuotas: { stackSetsPerAdministrator: 1001 }');
    expect(problem).toContain('other tools');
  });

  it('checkStackSetQuota throws LIMIT_EXCEEDED with the problem as its detail', () => {
    const error = thrown(() => checkStackSetQuota({ file: FILE }, 1502));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.details).toEqual([stackSetQuotaProblem(FILE, 1502)]);
    expect(error.message).toMatch(/^LIMIT_EXCEEDED:\n {2}parameters\/big\.yaml: the org compiles to 1,502 StackSets/);
  });

  it("a quota the org file declares replaces AWS's default; an explicit quota wins over both", () => {
    const raised = { file: FILE, stackSetQuotas: { stackSetsPerAdministrator: 2000 } };
    expect(stackSetQuotaOf(raised, 'stackSetsPerAdministrator')).toBe(2000);
    expect(stackSetQuotaOf({ file: FILE }, 'stackSetsPerAdministrator')).toBe(1000);
    expect(() => checkStackSetQuota(raised, 1502)).not.toThrow();
    expect(() => checkStackSetQuota(raised, 2000)).not.toThrow();
    const error = thrown(() => checkStackSetQuota(raised, 2001));
    expect(error.details[0]).toContain('quota of 2,000 StackSets per administrator account, as the org file declares it (stackSetQuotas.stackSetsPerAdministrator)');
    expect(error.details[0]).toContain('stackSetQuotas: { stackSetsPerAdministrator: 2001 }');
    expect(() => checkStackSetQuota(raised, 1502, 1500)).toThrow(CompileError);
    expect(() => checkStackSetQuota({ file: FILE }, 1502, 1502)).not.toThrow();
  });

  it('a quota that is not a positive integer is a bug, not a user error', () => {
    expect(() => stackSetQuotaProblem(FILE, 1, 0)).toThrow(/internal/);
    expect(() => stackSetQuotaProblem(FILE, 1, 1.5)).toThrow(/internal/);
  });
});

describe('stack instances per StackSet', () => {
  it("is AWS's documented default of 100,000", () => {
    expect(LIMITS.stackInstancesPerStackSet).toBe(100_000);
  });

  it('under and at the quota: no problem; over: the StackSet, its count, the quota and the key', () => {
    expect(stackInstanceQuotaProblem(FILE, 'pipeline-foundation', 1000)).toBeUndefined();
    expect(stackInstanceQuotaProblem(FILE, 'pipeline-foundation', 100_000)).toBeUndefined();
    const problem = stackInstanceQuotaProblem(FILE, 'pipeline-foundation', 100_001)!;
    expect(problem).toContain(`${FILE}: StackSet 'pipeline-foundation' has 100,001 stack instances`);
    expect(problem).toContain("quota of 100,000 stack instances per StackSet, AWS's default");
    expect(problem).toContain(CLOUDFORMATION_QUOTAS_DOC);
    expect(problem).toContain('stackSetQuotas: { stackInstancesPerStackSet: 100001 }');
  });

  it('a StackSet of more instances than StackSets runs operations on at once (10,000, not raised on request) is refused even under a raised stack-instances quota: a template update is one operation over every instance (review s47-deploy-api 5)', () => {
    expect(instanceOperationsProblem(FILE, 'pipeline-foundation', 10_000)).toBeUndefined();
    expect(() => instanceOperationsProblem(FILE, 'pipeline-foundation', 1, 0)).toThrow(/internal/);
    const problem = instanceOperationsProblem(FILE, 'pipeline-foundation', 10_001)!;
    expect(problem).toContain(`${FILE}: StackSet 'pipeline-foundation' has 10,001 stack instances`);
    expect(problem).toContain('over the 10,000 stack instances StackSets runs operations on at once in a Region');
    expect(problem).toContain(CLOUDFORMATION_QUOTAS_DOC);
    const raised = { file: FILE, stackSetQuotas: { stackInstancesPerStackSet: 200_000 } };
    expect(() => checkStackInstanceQuota(raised, [['pipeline-foundation', 10_000]])).not.toThrow();
    expect(thrown(() => checkStackInstanceQuota(raised, [['pipeline-foundation', 10_001]])).details).toEqual([problem]);
    // Over both, only the operations' is told: raising the stack-instances quota would not help (review s49-diff m4).
    expect(thrown(() => checkStackInstanceQuota({ file: FILE }, [['pipeline-foundation', 150_000]])).details).toEqual([instanceOperationsProblem(FILE, 'pipeline-foundation', 150_000)]);
  });

  it('checkStackInstanceQuota reports every StackSet over the quota, not just the first', () => {
    const counts: Array<[string, number]> = [
      ['pipeline-identity', 5],
      ['pipeline-foundation', 7],
      ['source-events', 6],
    ];
    expect(() => checkStackInstanceQuota({ file: FILE }, counts)).not.toThrow();
    expect(() => checkStackInstanceQuota({ file: FILE }, counts, 7)).not.toThrow();
    const error = thrown(() => checkStackInstanceQuota({ file: FILE, stackSetQuotas: { stackInstancesPerStackSet: 5 } }, counts));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.details).toHaveLength(2);
    expect(error.details[0]).toContain("StackSet 'pipeline-foundation' has 7 stack instances");
    expect(error.details[1]).toContain("StackSet 'source-events' has 6 stack instances");
    expect(error.details[0]).toContain('as the org file declares it (stackSetQuotas.stackInstancesPerStackSet)');
  });
});
