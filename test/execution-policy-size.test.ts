/**
 * The StackSet execution role's policy at scale. IAM takes at most 6,144
 * characters a managed policy (fixed) and 10 managed policies a role (20 on
 * request), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html;
 * moto enforces neither, so the sizes of what `xstack bootstrap` would write
 * are asserted here, for the examples and the bench orgs. Names keyed by an
 * account are written by shape (`<prefix>-source-????????????`); names keyed by
 * a pipeline exactly, unless that would need more managed policies than the
 * role takes, and then by shape, said by the compile and the report. And the
 * compile's proof refuses every other name: a shape that dropped the prefix,
 * another pipeline's names in exact mode, `<prefix>-source-legacy` and names on
 * a path in either mode.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { accountPolicies, compiledTemplates, executionPolicyFor, executionPolicyOf, forAccount, packPolicies, policyDocument, resolvePolicy, type ExecutionStatement, type IamStatement, type PipelineNames } from '../src/deploy/execution-policy';
import { executionRoleOutsideReach } from '../src/audit/execution-reach';
import { CompileError } from '../src/errors';
import { policyChars } from '../src/limits';
import { Names } from '../src/naming';
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import { planStages } from '../src/stages/plan';
import { compileProblems, ORG_FILES } from './helpers';

/** Each stage's template with its targets, as the compile and bootstrap give them. */
const templatesOf = (org: Org) => compiledTemplates(planStages(org), (s) => renderTemplate(s.definition));
/** Statements without their accounts (what IAM gets of them). */
const unscoped = (statements: ExecutionStatement[]) => statements.map(({ scope: _, ...s }) => s);
/** The policy with pipeline names exact (false) or by shape (true), whatever the quota. */
const statementsOf = (org: Org, pipelineShapes = false): ExecutionStatement[] =>
  executionPolicyFor(templatesOf(org), org.prefix, org.bucketGeneration, org.deploymentTargets.instanceRoles, org.keyAdministratorRoles, pipelineShapes);
/** The policy as the compile and bootstrap choose it. */
const chosenOf = (org: Org) => executionPolicyOf(org, templatesOf(org));

const orgs: Array<[string, () => Org, PipelineNames['names']]> = [
  ...ORG_FILES.map((f): [string, () => Org, PipelineNames['names']] => [f, () => loadOrgFile(f), 'exact']),
  ['bench generateOrgYaml(1000)', () => parseOrg(generateOrgYaml(1000), 'generated-1000.yaml'), 'exact'],
  // Exact since each account's policy names its own resources only (2 managed policies at most; the union would need 64).
  ['bench generateTeamsOrgYaml(250)', () => parseOrg(generateTeamsOrgYaml(250), 'teams-250.yaml'), 'exact'],
  // One source account of 80 repositories, each pipeline account running 80 pipelines: 12 managed policies exact.
  ['generateTeamsOrgYaml(1, 80 repositories)', () => parseOrg(generateTeamsOrgYaml(1, { repositoriesPerTeam: 80 }), 'team-80.yaml'), 'shapes'],
];

/** A statement's parts in the packs (`<Sid>` whole, or `<Sid>Part<n>`), put back together. */
function rejoined(packs: IamStatement[][], statement: IamStatement): IamStatement {
  const parts = packs.flat().filter((s) => s.Sid === statement.Sid || new RegExp(`^${statement.Sid}Part\\d+$`).test(s.Sid));
  for (const part of parts) expect(part.Action).toEqual(statement.Action);
  return { ...statement, Resource: parts.flatMap((p) => p.Resource) };
}

describe('the execution role policy fits IAM, whatever the size of the org', () => {
  for (const [name, load, names] of orgs) {
    it(`${name}: pipeline names ${names}; every managed policy is at most 6,144 characters, and at most 10 of them on the role`, () => {
      const org = load();
      const chosen = chosenOf(org);
      expect(chosen.pipelineNames.names).toBe(names);
      // Each account's own policy, as bootstrap writes it there.
      const accounts = [...new Set(templatesOf(org).flatMap((t) => ('accounts' in t ? t.accounts : [])))];
      const groups = accountPolicies(chosen.statements, accounts);
      expect(groups.flatMap((g) => g.accounts).sort()).toEqual([...accounts].sort());
      for (const group of groups) {
        expect(group.statements).toEqual(forAccount(chosen.statements, group.accounts.at(-1)!));
        const statements = resolvePolicy(group.statements, { partition: org.partition, account: group.accounts[0], region: org.region }).Statement;
        const packs = packPolicies(statements);
        expect(packs.length).toBeLessThanOrEqual(10);
        for (const pack of packs) expect(policyChars(policyDocument(pack))).toBeLessThanOrEqual(6144);
        // Nothing lost, nothing reordered: every statement is in the packs, split or whole.
        for (const s of statements) expect(rejoined(packs, s)).toEqual(s);
        expect(packs.flat().length).toBeGreaterThanOrEqual(statements.length);
      }
    });
  }

  it('the policy of an org of 1,000 pipeline accounts is that of an org of 3: no statement lists each account or pipeline', () => {
    expect(unscoped(statementsOf(parseOrg(generateOrgYaml(1000), 'generated-1000.yaml')))).toEqual(unscoped(statementsOf(parseOrg(generateOrgYaml(3), 'generated-3.yaml'))));
  });

  it('pipeline names by shape: 250 teams grow only the repositories (names the org file gives, not xstack), listed one by one', () => {
    const small = statementsOf(parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml'), true);
    const large = statementsOf(parseOrg(generateTeamsOrgYaml(250), 'teams-250.yaml'), true);
    const without = (statements: ExecutionStatement[]) => statements.filter((s) => s.Sid !== 'CodecommitNamed');
    expect(unscoped(without(large))).toEqual(unscoped(without(small)));
    expect(large.find((s) => s.Sid === 'CodecommitNamed')!.Resource).toHaveLength(500);
  });

  it("source roles by an account id's 12 characters (`<prefix>-source-????????????`), never `<prefix>-source-*`", () => {
    const iam = statementsOf(loadOrgFile('parameters/example.yaml')).find((s) => s.Sid === 'IamNamed')!.Resource;
    expect(iam).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-source-????????????');
    expect(iam).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/acme-source-????????????-*');
    expect(iam.filter((r) => r.includes('acme-source-*'))).toEqual([]);
  });

  it("pipeline names exact by default: each pipeline's roles, policies, pipeline, application and rule by name, no pattern of them", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const chosen = chosenOf(org);
    // Each account's policy: 2 managed policies at most (all of the example's names in one policy would take 3).
    expect(chosen.pipelineNames).toEqual({ names: 'exact', packs: 2, quota: 10 });
    const resources = chosen.statements.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Resource);
    const p = org.pipelines[0].name;
    for (const name of [`role/acme-${p}-trigger`, `role/acme-${p}-codedeploy`, `policy/acme-${p}-pipeline`, `:acme-${p}`, `application:acme-${p}`, `rule/acme-${p}-trigger`]) {
      expect(resources.some((r) => r.endsWith(name)), name).toBe(true);
    }
    // The only patterns left: the source roles and their policies, the forwarding rules, the flow-log group (its name
    // ends in its stack's unique id) and the broader statements that say why.
    const patterns = chosen.statements.filter((s) => s.Effect === 'Allow' && !s.reason).flatMap((s) => s.Resource.filter((r) => /[*?]/.test(r) && !r.includes(':s3:::')).map((r) => r.replace(/^.*:((role|policy|rule)\/|log-group:)/, '')));
    expect(patterns.sort()).toEqual(['acme-ci-flow-logs-*', 'acme-codecommit-fwd-??????????-*', 'acme-source-????????????', 'acme-source-????????????-*']);
  });

  it('past the quota in some account (80 pipelines in each pipeline account: 13 managed policies exact) the pipeline names go by shape and the compile says why; a raised quota keeps them exact', () => {
    // 40 teams of 2 pipelines each: 80 pipelines too, but each account's policy names its own team's only.
    expect(chosenOf(parseOrg(generateTeamsOrgYaml(40), 'teams-40.yaml')).pipelineNames).toEqual({ names: 'exact', packs: 2, quota: 10 });
    const text = generateTeamsOrgYaml(1, { repositoriesPerTeam: 80 });
    const chosen = chosenOf(parseOrg(text, 'team-80.yaml')).pipelineNames;
    // 13: the roles a handler passes are named twice, in IamNamed and in IamPassServiceRoles (review s30-execution E8).
    expect(chosen).toMatchObject({ names: 'shapes', exactPacks: 13, quota: 10 });
    expect(chosen.names === 'shapes' && chosen.why).toMatch(/would need 13 managed policies, over the 10 IAM attaches to a role \(iamQuotas\.managedPoliciesPerRole; https:/);
    expect(chosenOf(parseOrg(`${text}iamQuotas: { managedPoliciesPerRole: 20 }\n`, 'team-80.yaml')).pipelineNames).toEqual({ names: 'exact', packs: 13, quota: 20 });
    // Such an org does not compile: each pipeline attaches its managed policy to the account's pipeline role, whose
    // quota is the same; so a compiled org's policies stay exact (at most 1 + quota / 5 or so managed policies).
    expect(compileProblems(text, 'team-80.yaml').some((p) => /role big-pipeline: 80 managed policies attached to a role/.test(p))).toBe(true);
    expect(compileOrg(loadOrgFile('parameters/example.yaml')).notes).toEqual([]);
  });

  for (const [name, load] of [orgs[0], ['bench generateTeamsOrgYaml(3)', () => parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml')]] as Array<[string, () => Org]>) {
    it(`${name}: each shape stands for names the templates give, and every such name is under its statement's shapes`, () => {
      const org = load();
      let shaped = statementsOf(org, true);
      // The same policy with no shapes: every name written out, as before shapes.
      const spy = vi.spyOn(Names.prototype, 'shapes').mockReturnValue({ role: [], managedPolicy: [], rule: [], pipeline: [], codedeploy: [] });
      let exact = statementsOf(org, true);
      spy.mockRestore();
      // The path Denies go with the shapes (none without them), and are asserted apart; the launch template's tag fence
      // (review s30-execution E3) is there either way.
      const allowed = (statements: ExecutionStatement[]) => statements.filter((s) => s.Effect === 'Allow');
      const tagFence = org.access.ci?.runtime.kind === 'ec2' ? ['Ec2NoLaunchTemplateTagElsewhere'] : [];
      expect(exact.filter((s) => s.Effect === 'Deny').map((s) => s.Sid)).toEqual(tagFence);
      expect(shaped.filter((s) => s.Effect === 'Deny').map((s) => s.Sid)).toEqual(['EventsNoPathedNames', 'IamNoPathedNames', ...tagFence]);
      shaped = allowed(shaped);
      exact = allowed(exact);
      const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
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

/** The example org with `n` more repositories of long names, half in each source account (or all in one), and no access section. */
function manyRepositories(n: number, extra = '', { oneAccount = false } = {}): string {
  const base = readFileSync('parameters/example.yaml', 'utf8');
  const head = base.slice(0, base.indexOf('repositories:')).replace('role: tools', 'role: source');
  const pipelines = base.slice(base.indexOf('pipelines:'), base.indexOf('keyAdministratorRoles:'));
  const repositories = ['repositories:', '  web-app: { account: shared-services }', '  payments-api: { account: shared-services }'];
  for (let i = 0; i < n; i++) repositories.push(`  a-repository-whose-name-is-long-enough-to-fill-a-policy-quickly-${String(i).padStart(4, '0')}: { account: ${i % 2 || oneAccount ? 'shared-services' : 'tools'} }`);
  return `${head}${repositories.join('\n')}\n${pipelines}${extra}`;
}

describe("the compile counts the execution role's managed policies against IAM's quota (SELF_MANAGED)", () => {
  it('an org whose derived policy needs more managed policies than a role takes fails, naming the role, the count, the largest, the quota and its page', () => {
    // 500 repositories in two source accounts: each account's policy names its own 250 (and the pipeline accounts' none).
    expect(compileProblems(manyRepositories(500), 'many.yaml')).toEqual([]);
    const problems = compileProblems(manyRepositories(500, '', { oneAccount: true }), 'many.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^StackSet execution role AWSCloudFormationStackSetExecutionRole in account 1{12}: its derived policy needs 1[1-9] managed policies of up to 6144 characters \(largest 6\d{3}\), over IAM's quota of 10 managed policies attached to a role \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); AWS raises it up to 25 on request \(then set iamQuotas\.managedPoliciesPerRole in the org file\); xstack bootstrap would stop at AttachRolePolicy\. Its largest statement is CodecommitNamed, 502 resources in \d+ characters/,
    );
    expect(compileProblems(manyRepositories(500, 'iamQuotas: { managedPoliciesPerRole: 20 }\n', { oneAccount: true }), 'many.yaml')).toEqual([]);
    // A high bucketGeneration grows nothing of it: the earlier generations' names are the reader role's to read (reader-policy.ts).
    expect(compileProblems(readFileSync('parameters/example.yaml', 'utf8').replace('prefix: acme\n', 'prefix: acme\nbucketGeneration: 999\n'), 'generations.yaml')).toEqual([]);
    expect(compileProblems(manyRepositories(1500, 'iamQuotas: { managedPoliciesPerRole: 25 }\n', { oneAccount: true }), 'many.yaml')[0]).toMatch(/over IAM's quota of 25 managed policies attached to a role .*; AWS's page lists 25 as the most it approves automatically: ask AWS for more through Service Quotas, then set iamQuotas\.managedPoliciesPerRole to what it grants;/);
  });
});

describe("the compile's proof still refuses names outside the org's when a shape is widened", () => {
  afterEach(() => vi.restoreAllMocks());
  const original = Names.prototype.shapes;
  const widened = (change: (s: ReturnType<Names['shapes']>, prefix: string) => ReturnType<Names['shapes']>) =>
    vi.spyOn(Names.prototype, 'shapes').mockImplementation(function (this: Names, pipelines?: boolean) {
      return change(original.call(this, pipelines), this.prefix);
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

  it("a role shape without the prefix (`*-source-????????????`) reaches another org's source role: the compile fails naming it", () => {
    widened((s) => ({ ...s, role: s.role.map((r) => r.replace(/^[^-]+-/, '*-')) }));
    expect(refusal()).toContain(
      "the StackSet execution role may iam:PutRolePolicy on arn:aws:iam::222222222222:role/acmex-source-222222222222, outside the org's names (allowed by execution role/IamNamed); it must be refused",
    );
  });

  it('source roles by `<prefix>-source-*` (any length, not an account id\'s 12) reach `acme-source-legacy`: the compile fails naming it', () => {
    widened((s) => ({ ...s, role: s.role.map((r) => r.replace(/\?{12}$/, '*')) }));
    expect(refusal()).toEqual(
      expect.arrayContaining([
        "the StackSet execution role may iam:DeleteRole on arn:aws:iam::222222222222:role/acme-source-legacy, outside the org's names (allowed by execution role/IamNamed); it must be refused",
      ]),
    );
  });

  it("the pipeline names' shapes where the exact names fit the quota reach another pipeline's names of the prefix: the compile fails naming each", () => {
    widened((_shapes, prefix) => original.call(new Names(prefix), true));
    const refused = refusal();
    for (const line of [
      'iam:UpdateAssumeRolePolicy on arn:aws:iam::222222222222:role/acme-zz-trigger',
      'iam:AttachRolePolicy on arn:aws:iam::222222222222:role/acme-zz-codedeploy',
      'iam:CreatePolicyVersion on arn:aws:iam::222222222222:policy/acme-zz-pipeline',
      'codepipeline:DeletePipeline on arn:aws:codepipeline:eu-west-1:222222222222:acme-zz',
      'codedeploy:DeleteApplication on arn:aws:codedeploy:eu-west-1:222222222222:application:acme-zz',
      'events:PutTargets on arn:aws:events:eu-west-1:222222222222:rule/acme-zz-trigger',
    ]) {
      expect(refused, line).toEqual(expect.arrayContaining([expect.stringContaining(line)]));
    }
    // Names on a path, and `acme-source-legacy`, stay refused (the Deny, the 12 `?`).
    expect(refused.filter((r) => /acme-zz\/|acme-source-\/|acme-source-legacy/.test(r))).toEqual([]);
  });

  it("by shape, another pipeline's names are reached by design, and `acme-source-legacy` and every pathed name are still refused; without the Deny, the pathed ones are found", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const statements = statementsOf(org, true);
    const chosen: PipelineNames = { names: 'shapes', packs: 3, exactPacks: 11, quota: 10, why: 'test' };
    const results = executionRoleOutsideReach(org, statements, '222222222222', chosen);
    const name = (r: { resource: string }) => r.resource.replace(/^arn:aws:[a-z]+:[a-z0-9-]*:222222222222:/, '');
    expect([...new Set(results.filter((r) => r.byDesign).map(name))]).toEqual([
      'role/acme-zz-trigger',
      'role/acme-zz-codedeploy',
      'policy/acme-zz-pipeline',
      'policy/acme-zz-codedeploy-find',
      'acme-zz',
      'application:acme-zz',
      'rule/acme-zz-trigger',
    ]);
    expect(results.filter((r) => r.allowedBy && !r.byDesign)).toEqual([]);
    for (const refused of ['role/acme-source-legacy', 'role/acme-zz/x-trigger', 'role/acme-source-/xxxxxxxxxxx', 'policy/acme-zz/x-pipeline', 'rule/acme-zz/x-trigger']) {
      expect(results.filter((r) => name(r) === refused).map((r) => r.allowedBy ?? 'refused'), refused).toContain('refused');
      expect(results.filter((r) => name(r) === refused && r.allowedBy)).toEqual([]);
    }
    const withoutDeny = executionRoleOutsideReach(org, statements.filter((s) => s.Effect === 'Allow'), '222222222222', chosen);
    expect([...new Set(withoutDeny.filter((r) => r.allowedBy && !r.byDesign).map(name))]).toEqual([
      'role/acme-source-/xxxxxxxxxxx',
      'role/acme-zz/x-trigger',
      'role/acme-zz/x-codedeploy',
      'policy/acme-source-/xxxxxxxxxxx-x',
      'policy/acme-zz/x-pipeline',
      'rule/acme-zz/x-trigger',
    ]);
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

describe('a deployed managed policy attached to a role the org file no longer lists', () => {
  const template = (roles: unknown[]) =>
    ({
      Resources: {
        Artifacts: { Type: 'AWS::IAM::ManagedPolicy', Properties: { ManagedPolicyName: 'acme-deploy-target-artifacts', Roles: roles, PolicyDocument: { Version: '2012-10-17', Statement: [] } } },
        Trigger: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'acme-web-trigger', AssumeRolePolicyDocument: {} } },
      },
    }) as unknown as Parameters<typeof executionPolicyFor>[0][number];
  const iamResources = (statements: ExecutionStatement[], sid: string) => statements.find((s) => s.Sid === sid)?.Resource ?? [];

  it('is granted attach and detach at its name and at any path (IAM authorizes the detach on role/<path><name>), nothing else', () => {
    const statements = executionPolicyFor([template(['legacy-app', { Ref: 'Trigger' }])], 'acme');
    const unlisted = statements.find((s) => s.Sid === 'IamDetachFromUnlistedRoles');
    expect(unlisted?.Action).toEqual(['iam:AttachRolePolicy', 'iam:DetachRolePolicy']);
    expect(unlisted?.Resource).toEqual(['arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/legacy-app', 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/legacy-app']);
    expect(unlisted?.reason).toMatch(/no longer lists/);
    expect(iamResources(statements, 'IamNamed').filter((r) => r.includes('legacy-app'))).toEqual([]);
    // A role a template creates, and one the org file lists with its path, stay as they were.
    expect(iamResources(statements, 'IamNamed')).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-web-trigger');
    const listed = executionPolicyFor([template(['legacy-app'])], 'acme', 1, ['service-role/legacy-app']);
    expect(listed.find((s) => s.Sid === 'IamDetachFromUnlistedRoles')).toBeUndefined();
    expect(iamResources(listed, 'IamAttachToInstanceRoles')).toEqual(['arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/legacy-app']);
    expect(iamResources(listed, 'IamNamed')).not.toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/legacy-app');
  });

  it('a role listed under a condition (Fn::If [condition, role, AWS::NoValue], as a list item of some accounts is written) is granted as one listed plainly', () => {
    const plain = executionPolicyFor([template(['legacy-app', { Ref: 'Trigger' }])], 'acme');
    const conditional = executionPolicyFor([template([{ 'Fn::If': ['AccountDev', 'legacy-app', { Ref: 'AWS::NoValue' }] }, { 'Fn::If': ['AccountProd', { Ref: 'Trigger' }, { Ref: 'AWS::NoValue' }] }])], 'acme');
    expect(conditional).toEqual(plain);
  });

  it('each branch of nested conditions is granted, never AWS::NoValue, whichever level it stands at', () => {
    const plain = executionPolicyFor([template(['legacy-a', 'legacy-b', 'legacy-c', { Ref: 'Trigger' }])], 'acme');
    const nested = executionPolicyFor(
      [template([{ 'Fn::If': ['AccountDev', { 'Fn::If': ['AccountProd', 'legacy-a', { Ref: 'AWS::NoValue' }] }, 'legacy-b'] }, { 'Fn::If': ['AccountTest', { Ref: 'AWS::NoValue' }, { 'Fn::If': ['AccountDev', 'legacy-c', { Ref: 'Trigger' }] }] }])],
      'acme',
    );
    expect(nested).toEqual(plain);
    expect(iamResources(nested, 'IamDetachFromUnlistedRoles')).toHaveLength(6);
  });
});
