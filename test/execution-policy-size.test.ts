/**
 * The StackSet execution role's policy at scale. IAM takes at most 6,144
 * characters a managed policy (fixed) and 10 managed policies a role (20 on
 * request), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html;
 * moto enforces neither, so the sizes of what `xstack bootstrap` would write
 * are asserted here, for the examples and the bench orgs. And the shapes the
 * policy names the org's resources by still leave out every other name: the
 * compile's proof refuses a shape that dropped the prefix.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { executionPolicyFor, packPolicies, policyDocument, resolvePolicy, type ExecutionStatement, type IamStatement } from '../src/deploy/execution-policy';
import { CompileError } from '../src/errors';
import { policyChars } from '../src/limits';
import { Names } from '../src/naming';
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import { planStages } from '../src/stages/plan';
import { compileProblems, ORG_FILES } from './helpers';

const statementsOf = (org: Org): ExecutionStatement[] =>
  executionPolicyFor(
    planStages(org).map((s) => renderTemplate(s.definition)),
    org.prefix,
    org.bucketGeneration,
    org.deploymentTargets.instanceRoles,
    org.keyAdministratorRoles,
  );
const resolvedOf = (org: Org, statements = statementsOf(org)) => resolvePolicy(statements, { partition: org.partition, account: '111111111111', region: org.region }).Statement;

const orgs: Array<[string, () => Org]> = [
  ...ORG_FILES.map((f): [string, () => Org] => [f, () => loadOrgFile(f)]),
  ['bench generateOrgYaml(1000)', () => parseOrg(generateOrgYaml(1000), 'generated-1000.yaml')],
  ['bench generateTeamsOrgYaml(250)', () => parseOrg(generateTeamsOrgYaml(250), 'teams-250.yaml')],
];

/** A statement's parts in the packs (`<Sid>` whole, or `<Sid>Part<n>`), put back together. */
function rejoined(packs: IamStatement[][], statement: IamStatement): IamStatement {
  const parts = packs.flat().filter((s) => s.Sid === statement.Sid || new RegExp(`^${statement.Sid}Part\\d+$`).test(s.Sid));
  for (const part of parts) expect(part.Action).toEqual(statement.Action);
  return { ...statement, Resource: parts.flatMap((p) => p.Resource) };
}

describe('the execution role policy fits IAM, whatever the size of the org', () => {
  for (const [name, load] of orgs) {
    it(`${name}: every managed policy is at most 6,144 characters, and at most 10 of them on the role`, () => {
      const statements = resolvedOf(load());
      const packs = packPolicies(statements);
      expect(packs.length).toBeLessThanOrEqual(10);
      for (const pack of packs) expect(policyChars(policyDocument(pack))).toBeLessThanOrEqual(6144);
      // Nothing lost, nothing reordered: every statement is in the packs, split or whole.
      for (const s of statements) expect(rejoined(packs, s)).toEqual(s);
      expect(packs.flat().length).toBeGreaterThanOrEqual(statements.length);
    });
  }

  it('the policy of an org of 1,000 pipeline accounts is that of an org of 3: no statement lists each account or pipeline', () => {
    expect(statementsOf(parseOrg(generateOrgYaml(1000), 'generated-1000.yaml'))).toEqual(statementsOf(parseOrg(generateOrgYaml(3), 'generated-3.yaml')));
  });

  it('250 teams grow only the repositories (names the org file gives, not xstack), listed one by one', () => {
    const small = statementsOf(parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml'));
    const large = statementsOf(parseOrg(generateTeamsOrgYaml(250), 'teams-250.yaml'));
    const without = (statements: ExecutionStatement[]) => statements.filter((s) => s.Sid !== 'CodecommitNamed');
    expect(without(large)).toEqual(without(small));
    expect(large.find((s) => s.Sid === 'CodecommitNamed')!.Resource).toHaveLength(500);
  });

  for (const [name, load] of [orgs[0], ['bench generateTeamsOrgYaml(3)', () => parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml')]] as Array<[string, () => Org]>) {
    it(`${name}: each shape stands for names the templates give, and every such name is under its statement's shapes`, () => {
      const org = load();
      const shaped = statementsOf(org);
      // The same policy with no shapes: every name written out, as before shapes.
      const spy = vi.spyOn(Names.prototype, 'shapes').mockReturnValue({ role: [], managedPolicy: [], rule: [], pipeline: [], codedeploy: [] });
      const exact = statementsOf(org);
      spy.mockRestore();
      const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      expect(shaped.map((s) => s.Sid)).toEqual(exact.map((s) => s.Sid));
      for (const [i, s] of exact.entries()) {
        expect(shaped[i].Action).toEqual(s.Action);
        for (const arn of s.Resource) expect(shaped[i].Resource.some((r) => glob(r).test(arn)), `${s.Sid}: ${arn}`).toBe(true);
        // A shape stands for at least one name (none is there for nothing).
        for (const r of shaped[i].Resource) expect(s.Resource.some((arn) => glob(r).test(arn)), `${s.Sid}: ${r}`).toBe(true);
      }
      expect(shaped.flatMap((s) => s.Resource).length).toBeLessThan(exact.flatMap((s) => s.Resource).length);
    });
  }
});

describe('packPolicies', () => {
  const resource = (i: number) => `arn:aws:codecommit:eu-west-1:111111111111:repository-${String(i).padStart(4, '0')}`;
  const big: IamStatement = { Sid: 'CodecommitNamed', Effect: 'Allow', Action: ['codecommit:CreateRepository', 'codecommit:DeleteRepository'], Resource: Array.from({ length: 400 }, (_, i) => resource(i)) };
  const small: IamStatement = { Sid: 'Small', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::bucket/*'] };

  it("splits a statement over 6,144 characters by its resources, in order, each part named after it; the first part fills the pack it starts in", () => {
    expect(policyChars(big)).toBeGreaterThan(3 * 6144);
    const packs = packPolicies([small, big, small]);
    for (const pack of packs) expect(policyChars(policyDocument(pack))).toBeLessThanOrEqual(6144);
    expect(packs[0].map((s) => s.Sid)).toEqual(['Small', 'CodecommitNamedPart1']);
    const parts = packs.flat().filter((s) => s.Sid.startsWith('CodecommitNamed'));
    expect(parts.map((s) => s.Sid)).toEqual(parts.map((_, i) => `CodecommitNamedPart${i + 1}`));
    expect(parts.flatMap((s) => s.Resource)).toEqual(big.Resource);
    // Every pack but the last is full: another resource would not fit.
    for (const pack of packs.slice(0, -2)) expect(policyChars(policyDocument(pack)) + resource(0).length + 3).toBeGreaterThan(6144);
    expect(packs.at(-1)!.at(-1)).toEqual(small);
  });

  it('a statement whose actions and one resource do not fit a managed policy is an error naming it', () => {
    const actions = Array.from({ length: 400 }, (_, i) => `codecommit:Action${i}`);
    expect(() => packPolicies([{ ...small, Sid: 'TooManyActions', Action: actions }])).toThrow(/statement TooManyActions: its actions and one resource \(arn:aws:s3:::bucket\/\*\) take more than the 6144 characters/);
  });
});

/** The example org with `n` more repositories of long names, half in each source account, and no access section. */
function manyRepositories(n: number, extra = ''): string {
  const base = readFileSync('parameters/example.yaml', 'utf8');
  const head = base.slice(0, base.indexOf('repositories:')).replace('role: tools', 'role: source');
  const pipelines = base.slice(base.indexOf('pipelines:'), base.indexOf('keyAdministratorRoles:'));
  const repositories = ['repositories:', '  web-app: { account: shared-services }', '  payments-api: { account: shared-services }'];
  for (let i = 0; i < n; i++) repositories.push(`  a-repository-whose-name-is-long-enough-to-fill-a-policy-quickly-${String(i).padStart(4, '0')}: { account: ${i % 2 ? 'shared-services' : 'tools'} }`);
  return `${head}${repositories.join('\n')}\n${pipelines}${extra}`;
}

describe("the compile counts the execution role's managed policies against IAM's quota (SELF_MANAGED)", () => {
  it('an org whose derived policy needs more managed policies than a role takes fails, naming the role, the count, the largest, the quota and its page', () => {
    const problems = compileProblems(manyRepositories(500), 'many.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^StackSet execution role AWSCloudFormationStackSetExecutionRole: its derived policy needs 1[1-9] managed policies of up to 6144 characters \(largest 6\d{3}\), over IAM's quota of 10 managed policies attached to a role \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); AWS raises it up to 20 on request \(then set iamQuotas\.managedPoliciesPerRole in the org file\); xstack bootstrap would stop at AttachRolePolicy\. Its largest statement is CodecommitNamed, 502 resources in \d+ characters/,
    );
    expect(compileProblems(manyRepositories(500, 'iamQuotas: { managedPoliciesPerRole: 20 }\n'), 'many.yaml')).toEqual([]);
    expect(compileProblems(manyRepositories(1200, 'iamQuotas: { managedPoliciesPerRole: 20 }\n'), 'many.yaml')[0]).toMatch(/over IAM's quota of 20 managed policies attached to a role .*; that is the most AWS grants;/);
  });
});

describe("the compile's proof still refuses names outside the org's when a shape is widened", () => {
  afterEach(() => vi.restoreAllMocks());
  const original = Names.prototype.shapes;
  const widened = (change: (s: ReturnType<Names['shapes']>, prefix: string) => ReturnType<Names['shapes']>) =>
    vi.spyOn(Names.prototype, 'shapes').mockImplementation(function (this: Names) {
      return change(original.call(this), this.prefix);
    });
  const refusal = (): string[] => {
    try {
      compileOrg(loadOrgFile('parameters/example.yaml'));
    } catch (error) {
      expect(error).toBeInstanceOf(CompileError);
      expect((error as CompileError).code).toBe('ACCESS_ANALYSIS_FAILED');
      return [...(error as CompileError).details];
    }
    return [];
  };

  it('as the shapes are, nothing outside is reached', () => {
    expect(refusal()).toEqual([]);
  });

  it('a role shape without the prefix (`*-trigger`) reaches another org\'s trigger role: the compile fails naming it', () => {
    widened((s) => ({ ...s, role: s.role.map((r) => r.replace(/^[^-]+-/, '*-')) }));
    expect(refusal()).toContain(
      "the StackSet execution role may iam:PutRolePolicy on arn:aws:iam::222222222222:role/acmex-app-trigger, outside the org's names (allowed by execution role/IamNamed); it must be refused",
    );
  });

  it("a shape without the prefix's hyphen (`acme*`) reaches names of a prefix that begins with it", () => {
    widened((s, prefix) => ({ ...s, rule: [`${prefix}*`] }));
    expect(refusal()).toEqual(expect.arrayContaining([expect.stringContaining('events:PutTargets on arn:aws:events:eu-west-1:222222222222:rule/acmex-app-trigger')]));
  });

  it("managed policies by `<prefix>-*` reach the execution role's own policies, which it could then rewrite", () => {
    widened((s, prefix) => ({ ...s, managedPolicy: [`${prefix}-*`] }));
    expect(refusal()).toEqual(expect.arrayContaining([expect.stringContaining('iam:CreatePolicyVersion on arn:aws:iam::222222222222:policy/acme-stackset-execution-1')]));
  });

  it('a shape widened to `*` reaches every role', () => {
    widened((s) => ({ ...s, role: ['*'] }));
    expect(refusal()).toEqual(expect.arrayContaining([expect.stringContaining('iam:PutRolePolicy on arn:aws:iam::222222222222:role/OrganizationAccountAccessRole')]));
  });
});
