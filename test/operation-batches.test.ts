/**
 * One operation per kind of change, except where an API limit forces more:
 * CreateStackInstances takes at most 50 OUs (SERVICE_MANAGED targets are OUs),
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html;
 * and the StackSets instance-operations quota, 10,000 instances across
 * operations at once, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html.
 */
import { describe, expect, it } from 'vitest';
import { MAX_OUS_PER_OPERATION, operationBatches } from '../src/deploy/stacksets';
import type { StackSetSettings } from '../src/org/model';

const settings = (permissionModel: StackSetSettings['permissionModel']): StackSetSettings => ({
  permissionModel,
  administrationRoleName: 'AWSCloudFormationStackSetAdministrationRole',
  executionRoleName: 'AWSCloudFormationStackSetExecutionRole',
  callAs: 'SELF',
  operationPreferences: {},
});
const accounts = Array.from({ length: 120 }, (_, i) => String(100000000001 + i));
// Two accounts an OU: 60 OUs.
const organizationalUnits = new Map(accounts.map((a, i) => [a, `ou-root-${String(Math.floor(i / 2)).padStart(8, '0')}`]));

describe('operations per kind of change', () => {
  it('SELF_MANAGED: every account in one operation', () => {
    expect(operationBatches({ settings: settings('SELF_MANAGED'), organizationalUnits }, accounts)).toEqual([accounts]);
    expect(operationBatches({ settings: settings('SELF_MANAGED'), organizationalUnits }, [])).toEqual([]);
  });

  it("SELF_MANAGED past the instance-operations quota (10,000 instances across operations at once, each counting every instance it targets): operations of at most the quota's accounts, in order (review s29-deployer m1)", () => {
    const many = Array.from({ length: 25_001 }, (_, i) => String(200000000000 + i));
    const batches = operationBatches({ settings: settings('SELF_MANAGED'), organizationalUnits }, many);
    expect(batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_001]);
    expect(batches.flat()).toEqual(many);
    expect(operationBatches({ settings: settings('SELF_MANAGED'), organizationalUnits }, accounts, 50).map((b) => b.length)).toEqual([50, 50, 20]);
  });

  it('SERVICE_MANAGED: at most 50 OUs an operation, an OU never split, every account once', () => {
    const batches = operationBatches({ settings: settings('SERVICE_MANAGED'), organizationalUnits }, accounts);
    expect(batches.map((b) => new Set(b.map((a) => organizationalUnits.get(a))).size)).toEqual([MAX_OUS_PER_OPERATION, 10]);
    expect(batches.flat().sort()).toEqual([...accounts].sort());
    const few = accounts.slice(0, 7);
    expect(operationBatches({ settings: settings('SERVICE_MANAGED'), organizationalUnits }, few)).toHaveLength(1);
  });

  it("SERVICE_MANAGED past the instance-operations quota: an operation's accounts stay within it, an OU split only there (review s57-deploy m1)", () => {
    // Every account through the root: one operation up to the quota, then one more per quota's accounts.
    const many = Array.from({ length: 25_001 }, (_, i) => String(200000000000 + i));
    const throughRoot = new Map(many.map((a) => [a, 'r-abcd']));
    const batches = operationBatches({ settings: settings('SERVICE_MANAGED'), organizationalUnits: throughRoot }, many);
    expect(batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_001]);
    expect(batches.flat()).toEqual(many);
    // Both limits at once: 60 OUs of two accounts, a quota of 15: no operation past 15 accounts or 50 OUs, every account once.
    const small = operationBatches({ settings: settings('SERVICE_MANAGED'), organizationalUnits }, accounts, 15);
    expect(small.map((b) => b.length)).toEqual([15, 15, 15, 15, 15, 15, 10, 15, 5]);
    expect(Math.max(...small.map((b) => new Set(b.map((a) => organizationalUnits.get(a))).size))).toBeLessThanOrEqual(MAX_OUS_PER_OPERATION);
    expect(small.flat().sort()).toEqual([...accounts].sort());
  });
});
