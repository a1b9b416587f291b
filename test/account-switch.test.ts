/**
 * The conditions on the account a family's template chooses by
 * (src/cfn/account-switch.ts), read back as the set of accounts each holds in:
 * the execution role's policy is scoped per account by it
 * (src/deploy/execution-policy.ts `forAccount`), so the set must be exactly
 * the accounts CloudFormation would evaluate the condition true in
 * (Fn::Equals on AWS::AccountId, Fn::Or of at most ten, Fn::And, Fn::Not,
 * Condition; https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html).
 */
import { describe, expect, it } from 'vitest';
import { AccountSwitch, accountsWhereHolds, conditionHolds } from '../src/cfn/account-switch';

const targets = Array.from({ length: 25 }, (_, i) => ({ id: String(100000000000 + i), name: `account-${i}` }));
const ids = new Set(targets.map((t) => t.id));

describe('accountsWhereHolds', () => {
  it('gives, for each condition an AccountSwitch writes (one account, a few, more than ten: a tree of Fn::Or), exactly the accounts conditionHolds finds it true in', () => {
    const accounts = new AccountSwitch(targets);
    const subsets = [[targets[3].id], targets.slice(0, 3).map((t) => t.id), targets.slice(2, 24).map((t) => t.id)];
    const names = subsets.map((subset, i) => accounts.when(`unit ${i}`, subset)!);
    const conditions = JSON.parse(JSON.stringify(accounts.section())) as Record<string, unknown>;
    expect(JSON.stringify(conditions[names[2]])).toContain('"Fn::Or":[{"Fn::Or"');
    for (const [i, name] of names.entries()) {
      const holds = accountsWhereHolds(conditions, name, ids)!;
      expect([...holds].sort()).toEqual([...subsets[i]].sort());
      for (const id of ids) expect(holds.has(id)).toBe(conditionHolds(conditions, name, id));
    }
  });

  it('reads Fn::And, Fn::Not and Condition; an account outside the targets is in no set', () => {
    const conditions = {
      First: { 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, targets[0].id] }, { 'Fn::Equals': [targets[1].id, { Ref: 'AWS::AccountId' }] }, { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '999999999999'] }] },
      NotFirst: { 'Fn::Not': [{ Condition: 'First' }] },
      Second: { 'Fn::And': [{ Condition: 'First' }, { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, targets[1].id] }] },
    };
    expect([...accountsWhereHolds(conditions, 'First', ids)!].sort()).toEqual([targets[0].id, targets[1].id]);
    expect(accountsWhereHolds(conditions, 'NotFirst', ids)!.size).toBe(23);
    expect([...accountsWhereHolds(conditions, 'Second', ids)!]).toEqual([targets[1].id]);
  });

  it('is undefined for a shape xstack does not write (a parameter, a Region), so that a caller takes every target', () => {
    expect(accountsWhereHolds({ OnParameter: { 'Fn::Equals': [{ Ref: 'Environment' }, 'prod'] } }, 'OnParameter', ids)).toBeUndefined();
    expect(accountsWhereHolds({ Either: { 'Fn::Or': [{ Condition: 'Missing' }, { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, targets[0].id] }] } }, 'Either', ids)).toBeUndefined();
    expect(accountsWhereHolds({ Loop: { 'Fn::Not': [{ Condition: 'Loop' }] } }, 'Loop', ids)).toBeUndefined();
  });
});
