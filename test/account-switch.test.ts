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
import { readFileSync } from 'node:fs';
import { AccountSwitch, accountsWhereHolds, conditionHolds } from '../src/cfn/account-switch';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';

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

describe("a condition's name stays within CloudFormation's 255 letters and digits (cloudformation-limits.html; review s38-names 1)", () => {
  const LOGICAL_NAME = /^[A-Za-z0-9]{1,255}$/;
  it('a label made from a value of 256 characters is cut, and two that begin alike stay two', () => {
    const accounts = new AccountSwitch(targets);
    const long = `release/${'a'.repeat(240)}`;
    const value = accounts.value('Web Branch', new Map(targets.map((t, i) => [t.id, i < 2 ? `${long}x` : i < 4 ? `${long}y` : 'main'])));
    const names = Object.keys(accounts.section());
    for (const name of names) expect(name).toMatch(LOGICAL_NAME);
    const cut = names.filter((n) => n.length > 200);
    expect(cut).toHaveLength(2);
    expect(cut[0]).not.toBe(cut[1]);
    for (const name of names) expect(JSON.stringify(value)).toContain(name);
  });

  it('a compiled org whose pipeline shares a branch of 248 characters between two of its accounts: every name of every template within the limit', () => {
    const branch = `release/${'a'.repeat(240)}`;
    const text = readFileSync('parameters/example.yaml', 'utf8').replace('      dev: develop\n      staging: release\n', `      dev: ${branch}\n      staging: ${branch}\n`);
    expect(text).toContain(branch);
    const compiled = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const names = compiled.stages.flatMap((s) => {
      const t = renderTemplate(s.definition);
      return [...Object.keys(t.Conditions ?? {}), ...Object.keys(t.Resources), ...Object.keys(t.Outputs ?? {})];
    });
    expect(names.filter((n) => n.length > 200).length).toBeGreaterThan(0);
    expect(names.filter((n) => !LOGICAL_NAME.test(n))).toEqual([]);
  });
});
