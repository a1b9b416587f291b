// The caller's side of the developers' and maintainers' path (templates/access-callers.ts, review s27-access M3): IAM
// checks both sides of a cross-account AssumeRole (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html),
// and an Identity Center permission set takes a customer managed policy by name, which must exist in each account it
// is provisioned to (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CustomerManagedPolicyReference.html).
// moto evaluates no policy: the proof's evaluator (src/audit/evaluate.ts) reads them here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileFile, compileProblems } from './helpers';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const example = compileFile('parameters/example.yaml');
const stageOf = (compiled: typeof example) => compiled.stages.find((s) => s.module === 'access-callers');
const templateOf = (compiled: typeof example): CfnTemplate => renderTemplate(stageOf(compiled)!.definition);
const granted = (r: { grantedBy: ReadonlyArray<{ stage: string; policy: string }> }) => r.grantedBy.map((g) => `${g.stage}: ${g.policy}`).join(', ');
const statementsOf = (template: CfnTemplate, id: string) => (template.Resources[id].Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement;

describe('access-callers: the policies the developers\' and maintainers\' own roles take', () => {
  it('the example: one StackSet in the account of their roles, a policy for each kind, each allowing only the assume and the carried source identity on the source accounts\' role', () => {
    const stage = stageOf(example)!;
    expect(stage.targets.map((t) => t.name)).toEqual(['tools']);
    const template = templateOf(example);
    expect(Object.keys(template.Resources)).toEqual(['AssumeDeveloperPolicy', 'AssumeMaintainerPolicy']);
    expect((template.Resources.AssumeDeveloperPolicy.Properties as { ManagedPolicyName: string }).ManagedPolicyName).toBe('acme-assume-developer');
    expect(template.Resources.AssumeDeveloperPolicy.Properties).not.toHaveProperty('Roles');
    expect(statementsOf(template, 'AssumeDeveloperPolicy')).toEqual([
      { Sid: 'AssumeRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/acme-developer' } },
      { Sid: 'CarrySourceIdentity', Effect: 'Allow', Action: 'sts:SetSourceIdentity', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/acme-developer' } },
    ]);
    expect(JSON.stringify(statementsOf(template, 'AssumeMaintainerPolicy'))).toContain('role/acme-maintainer');
    // Both in the tools account: no condition.
    expect(template.Conditions).toBeUndefined();
  });

  it('the proof takes each policy as attached to its roles: developers and maintainers are allowed by both sides, each only on its own role, and no other role of their account by it', () => {
    const results = example.access.results;
    const of = (purpose: RegExp) => results.filter((r) => purpose.test(r.path.purpose));
    const assume = of(/^developers \(AWSReservedSSO_Developer_\* in tools\) assume the developer role of shared-services/);
    expect(assume.length).toBeGreaterThan(0);
    for (const r of assume) {
      expect(r.allowed).toBe(true);
      expect(r.reason).toBe('both sides allow it');
      expect(granted(r)).toContain(`access-callers: AssumeDeveloperPolicy/${r.action === 'sts:AssumeRole' ? 'AssumeRole' : 'CarrySourceIdentity'}`);
    }
    const maintainers = of(/^maintainers \(AWSReservedSSO_Maintainer_\* in tools\) assume the maintainer role/);
    for (const r of maintainers) expect(granted(r)).toContain(`access-callers: AssumeMaintainerPolicy/${r.action === 'sts:AssumeRole' ? 'AssumeRole' : 'CarrySourceIdentity'}`);
    // Developers may not take the maintainer role: the trust refuses, and their own policy names only the developer role.
    for (const r of of(/^developers \(.*\) may not assume the maintainer role/)) {
      expect(r.allowed).toBe(false);
      expect(granted(r)).not.toContain('AssumeDeveloperPolicy');
    }
  });

  it('developers in one account and maintainers in another: one StackSet in both, each policy only where its roles are (a condition on the account)', () => {
    const text = EXAMPLE.replace('    maintainers:\n      - account: tools', '    maintainers:\n      - account: dev');
    const compiled = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    expect(stageOf(compiled)!.targets.map((t) => t.name).sort()).toEqual(['dev', 'tools']);
    const template = templateOf(compiled);
    expect(template.Resources.AssumeDeveloperPolicy.Condition).toBe('AccountTools');
    expect(template.Resources.AssumeMaintainerPolicy.Condition).toBe('AccountDev');
    expect(template.Conditions).toEqual({ AccountDev: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '222222222222'] }, AccountTools: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '555555555555'] } });
    // The maintainers' path is proved with their account's policy.
    const maintainers = compiled.access.results.filter((r) => r.path.purpose.startsWith('maintainers (AWSReservedSSO_Maintainer_* in dev) assume'));
    expect(maintainers.length).toBeGreaterThan(0);
    for (const r of maintainers) expect(granted(r)).toContain('AssumeMaintainerPolicy');
  });

  it('accounts naming different numbers of roles, in either order: every role proved by both sides, none granted to no one (review s39-fuzz 1)', () => {
    const org = (first: string, second: string) => `organization: { partition: aws, region: eu-west-1 }
prefix: acme
accounts:
  src: { id: "111111111111", role: source }
  ${first}
  ${second}
repositories:
  app: { account: src }
pipelines:
  app: { repository: app, branches: { dev: main }, deploy: { type: codedeploy } }
access:
  developers:
    assumedBy:
      - { account: tools, roleNames: [developer, breakglass] }
      - { account: dev, roleNames: [deployer] }
    protectedBranches: [main]
    maintainers:
      - { account: tools, roleNames: ["AWSReservedSSO_Maintainer_*"], sso: true }
`;
    const tools = 'tools: { id: "555555555555", role: tools }';
    const dev = 'dev: { id: "222222222222", role: pipeline, environment: dev }';
    // Tools first (two roles, then one) was refused as "grants … to undefined"; dev first (one, then two) compiled
    // with breakglass's caller side read as outside the org file.
    for (const [a, b] of [[tools, dev], [dev, tools]]) {
      const compiled = compileOrg(parseOrg(org(a, b), 'roles.yaml'));
      for (const role of ['developer', 'breakglass', 'deployer']) {
        const assume = compiled.access.results.filter((r) => r.path.purpose.startsWith(`developers (${role} in `) && / assume the developer role of src/.test(r.path.purpose));
        expect(assume.length, role).toBeGreaterThan(0);
        for (const r of assume) {
          expect(r.allowed, `${role}: ${r.path.purpose}`).toBe(true);
          expect(granted(r)).toContain(`access-callers: AssumeDeveloperPolicy/${r.action === 'sts:AssumeRole' ? 'AssumeRole' : 'CarrySourceIdentity'}`);
        }
      }
      // Maintainers in tools alone, dev first: no maintainer role in the first account, both of Identity Center's ARN
      // forms in tools (review s39-delta 3).
      const maintain = compiled.access.results.filter((r) => /^maintainers \(AWSReservedSSO_Maintainer_\* in tools.*\) assume the maintainer role of src/.test(r.path.purpose));
      const arnOf = (r: (typeof maintain)[number]) => (r.path.principal.kind === 'aws' ? r.path.principal.arn : '');
      expect(new Set(maintain.map(arnOf)).size).toBe(2);
      for (const r of maintain) expect(granted(r), arnOf(r)).toContain(`access-callers: AssumeMaintainerPolicy/${r.action === 'sts:AssumeRole' ? 'AssumeRole' : 'CarrySourceIdentity'}`);
    }
  });

  it("an org without maintainers has no maintainer policy; one without developer access has no such StackSet", () => {
    const without = compileOrg(parseOrg(EXAMPLE.replace(/ {4}# Who releases:.*\n {4}maintainers:\n(?: {6}.*\n)+/, ''), 'parameters/example.yaml'));
    expect(Object.keys(templateOf(without).Resources)).toEqual(['AssumeDeveloperPolicy']);
    const noAccess = compileOrg(parseOrg(EXAMPLE.replace(/\naccess:\n(?: .*\n)*/, '\n'), 'parameters/example.yaml'));
    expect(stageOf(noAccess)).toBeUndefined();
  });

  it("100 source accounts: past 90 % of a managed policy's 6,144 characters, the role's name in any account of the organization (aws:ResourceOrgID); without organization.id a compile error naming the field", () => {
    const teams = generateTeamsOrgYaml(100);
    const compiled = compileOrg(parseOrg(teams, 'teams.yaml'));
    const statements = statementsOf(templateOf(compiled), 'AssumeDeveloperPolicy');
    expect(statements[0]).toEqual({ Sid: 'AssumeRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/big-developer' }, Condition: { StringEquals: { 'aws:ResourceOrgID': compiled.org.organizationId } } });
    // The permission-only sts:SetSourceIdentity carries no resource key AWS documents (review s39-conditions m3): unconditioned,
    // on the roles of that name, held to the organization by the AssumeRole it is checked within.
    expect(statements[1]).toEqual({ Sid: 'CarrySourceIdentity', Effect: 'Allow', Action: 'sts:SetSourceIdentity', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/big-developer' } });
    expect(JSON.stringify(statements).length).toBeLessThan(1_000);
    // The switch said, as ci-identity's is (review s60-docs-b m2); the example's policy names each role, and says nothing.
    expect(stageOf(compiled)!.notes).toEqual([
      expect.stringMatching(/^the policy letting the roles access\.developers\.assumedBy names assume big-developer: each of the 100 source accounts' big-developer by its ARN would take about [\d,]+ characters, over 90 % of IAM's 6,144 for a managed policy; it names big-developer in any account of organization o-\w+ instead \(aws:ResourceOrgID\)$/),
    ]);
    expect(stageOf(example)!.notes).toEqual([]);
    // With transitive session tags, sts:TagSession likewise (review s39-diff m4): held by the sources' ARNs, not by the org.
    const tagging = compileOrg(parseOrg(teams.replace('        sso: true\n', '        sso: true\n        transitiveTagKeys: [team]\n'), 'teams.yaml'));
    const tagged = statementsOf(templateOf(tagging), 'AssumeDeveloperPolicy');
    expect(tagged.map((st) => st.Sid)).toEqual(['AssumeRole', 'CarrySourceIdentity', 'CarrySessionTags']);
    expect(tagged[2]).toEqual({
      Sid: 'CarrySessionTags',
      Effect: 'Allow',
      Action: 'sts:TagSession',
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/big-developer' },
      Condition: {
        ArnLike: {
          'aws:PrincipalArn': [
            { 'Fn::Sub': 'arn:${AWS::Partition}:iam::100000000000:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_*' },
            { 'Fn::Sub': 'arn:${AWS::Partition}:iam::100000000000:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_*' },
          ],
        },
      },
    });
    expect(tagging.access.results.filter((r) => /^developers .* assume the developer role of /.test(r.path.purpose)).every((r) => r.allowed)).toBe(true);
    expect(compileProblems(generateTeamsOrgYaml(100, { organizationId: '' }), 'teams.yaml')).toEqual([
      expect.stringMatching(/^teams\.yaml: access\.developers\.assumedBy: the policy letting these roles assume big-developer in each of the 100 source accounts \(access-callers\) would take about [\d,]+ characters, over 90 % of IAM's 6,144 for a managed policy; .*expected organization\.id/),
    ]);
    // Every developer path of the teams org is still proved, with the policy named by organization.
    const assume = compiled.access.results.filter((r) => /^developers .* assume the developer role of /.test(r.path.purpose));
    expect(assume.length).toBeGreaterThan(0);
    for (const r of assume) expect(r.allowed, r.path.purpose).toBe(true);
  });
});
