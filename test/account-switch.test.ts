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
import { compileProblems } from './helpers';

const targets = Array.from({ length: 25 }, (_, i) => ({ id: String(100000000000 + i), name: `account-${i}` }));
const ids = new Set(targets.map((t) => t.id));

describe('AccountSwitch.when', () => {
  it('one set of accounts is one condition, whatever order they are given in, its accounts in order (review s40-mutations 5)', () => {
    const accounts = new AccountSwitch(targets);
    const [a, b, c] = [targets[7].id, targets[2].id, targets[4].id];
    const first = accounts.when('unit', [a, b, c]);
    expect(accounts.when('other unit', [c, a, b, a])).toBe(first);
    const section = JSON.parse(JSON.stringify(accounts.section())) as Record<string, unknown>;
    expect(Object.keys(section)).toEqual([first]);
    expect(section[first!]).toEqual({ 'Fn::Or': [b, c, a].map((id) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id] })) });
  });

  it('one account given once names what it names given twice: the same condition, after the account; none for a lone target; refused outside the targets', () => {
    const [a, b] = [targets[9].id, targets[3].id];
    const once = new AccountSwitch(targets);
    const twice = new AccountSwitch(targets);
    expect([once.when('unit', [a]), once.when('other', [b]), once.when('again', [a])]).toEqual([twice.when('unit', [a, a]), twice.when('other', [b, b]), twice.when('again', [a, a])]);
    expect(once.when('unit', [a])).toBe('AccountAccount9');
    expect(JSON.stringify(once.section())).toBe(JSON.stringify(twice.section()));
    expect(new AccountSwitch([targets[0]]).when('unit', [targets[0].id])).toBeUndefined();
    expect(() => once.when('unit', ['999999999999'])).toThrow(/holds in no target account/);
    expect(() => twice.when('unit', ['999999999999', '999999999999'])).toThrow(/holds in no target account/);
  });
});

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

describe('names two pipelines would share in one family template (review s38-names 2)', () => {
  const org = (pipelines: string) => `organization: {partition: aws, region: eu-west-1}
prefix: acme
accounts:
  src: {id: "111111111111", role: source}
  dev: {id: "222222222222", role: pipeline, environment: dev}
  staging: {id: "333333333333", role: pipeline, environment: staging}
  prod: {id: "444444444444", role: pipeline, environment: prod}
repositories:
  app: {account: src}
pipelines:
${pipelines}`;
  const refusal = (text: string) => compileProblems(text, 'org.yaml').join('\n');

  it("one pipeline's resource id that is another's (web + TriggerRoleStartPipeline, web-trigger-role-start + Pipeline): refused, naming both, not an internal error", () => {
    const text = org(`  web: {repository: app, branches: {dev: main, staging: main, prod: main}, deploy: {type: codedeploy}}
  web-trigger-role-start: {repository: app, branches: {dev: main, staging: main, prod: main}, deploy: {type: codedeploy, ec2TagKey: Env2}}
`);
    expect(refusal(text)).toBe('org.yaml: pipelines.web-trigger-role-start: pipeline web (org.yaml: pipelines.web) and pipeline web-trigger-role-start would both name a resource WebTriggerRoleStartPipeline in the pipelines template (its names are made of theirs, letters and digits only); rename one of them');
  });

  it('two pipelines whose branch conditions read alike but hold in other accounts: refused, naming both', () => {
    const text = org(`  web: {repository: app, branches: {dev: branch-x, staging: branch-x, prod: main}, deploy: {type: codedeploy}}
  web-branch: {repository: app, branches: {dev: x, prod: x, staging: other}, deploy: {type: codedeploy, ec2TagKey: Env2}}
`);
    expect(refusal(text)).toMatch(/^org\.yaml: pipelines\.web-branch: pipeline web \(org\.yaml: pipelines\.web\) and pipeline web-branch would both name a condition WebBranchBranchX in the pipelines template/);
  });

  it("the family's own condition (where a pipeline runs) is numbered around a pipeline's branch condition of the same name", () => {
    const text = org(`  runs-web: {repository: app, branches: {dev: x, staging: x, prod: main}, deploy: {type: codedeploy}}
  web-branch-x: {repository: app, branches: {dev: x, prod: y}, deploy: {type: codedeploy, ec2TagKey: Env2}}
`);
    const pipelines = compileOrg(parseOrg(text, 'org.yaml')).stages.find((st) => st.id === 'pipelines')!;
    const conditions = renderTemplate(pipelines.definition).Conditions!;
    const holds = (name: string) => [...accountsWhereHolds(conditions, name, new Set(['222222222222', '333333333333', '444444444444']))!].sort();
    expect(holds('RunsWebBranchX')).toEqual(['222222222222', '333333333333']);
    expect(holds('RunsWebBranchX2')).toEqual(['222222222222', '444444444444']);
  });
});

describe('AccountSwitch.when: conditions CloudFormation takes, one per set of accounts (review s41-mutations-3-cfn AS2, AS3, AS4, AS6)', () => {
  /** Every Fn::Or and Fn::And in an expression, with how many conditions it takes. */
  const sizes = (e: unknown): number[] => {
    if (!e || typeof e !== 'object') return [];
    if (Array.isArray(e)) return e.flatMap(sizes);
    return Object.entries(e).flatMap(([k, v]) => [...(k === 'Fn::Or' || k === 'Fn::And' ? [(v as unknown[]).length] : []), ...sizes(v)]);
  };

  it('an Fn::Or takes 2 to 10 conditions at every size of set (11, 20, 21, 24 accounts), and holds in exactly those accounts', () => {
    for (const n of [2, 10, 11, 20, 21, 24]) {
      const accounts = new AccountSwitch(targets);
      const subset = targets.slice(0, n).map((t) => t.id);
      const name = accounts.when('unit', subset)!;
      const conditions = JSON.parse(JSON.stringify(accounts.section())) as Record<string, unknown>;
      for (const size of sizes(conditions[name])) expect(size, `${n} accounts`).toBeGreaterThanOrEqual(2);
      for (const size of sizes(conditions[name])) expect(size, `${n} accounts`).toBeLessThanOrEqual(10);
      expect([...accountsWhereHolds(conditions, name, ids)!].sort()).toEqual(subset);
    }
  });

  it('an account outside the targets is left out: a set of all the targets but one, with an outsider, is a condition of those accounts', () => {
    const accounts = new AccountSwitch(targets);
    const some = targets.slice(1).map((t) => t.id);
    const name = accounts.when('unit', [...some, '999999999999']);
    expect(name).toBeDefined();
    const conditions = JSON.parse(JSON.stringify(accounts.section())) as Record<string, unknown>;
    expect([...accountsWhereHolds(conditions, name!, ids)!].sort()).toEqual(some);
  });

  it('two sets whose labels read alike (branch-x, branch x) get two names, each holding in its own accounts', () => {
    const accounts = new AccountSwitch(targets);
    const [first, second] = [targets.slice(0, 2), targets.slice(2, 4)].map((set) => set.map((t) => t.id));
    const a = accounts.when('branch-x', first)!;
    const b = accounts.when('branch x', second)!;
    expect(a).not.toBe(b);
    const conditions = JSON.parse(JSON.stringify(accounts.section())) as Record<string, unknown>;
    expect(Object.keys(conditions)).toEqual([a, b]);
    expect([...accountsWhereHolds(conditions, a, ids)!].sort()).toEqual(first);
    expect([...accountsWhereHolds(conditions, b, ids)!].sort()).toEqual(second);
  });

  it('a long label numbered for a second set of accounts stays within 255 characters', () => {
    const accounts = new AccountSwitch(targets);
    const label = `release/${'a'.repeat(300)}`;
    const names = [targets.slice(0, 2), targets.slice(2, 4), targets.slice(4, 6)].map((set) => accounts.when(label, set.map((t) => t.id))!);
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9]{1,255}$/);
  });
});
