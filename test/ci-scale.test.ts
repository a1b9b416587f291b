// The CI's policies past about 125 source accounts (review s58-scale M2): the CI role's managed policy (6,144
// characters, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html) and the CI network's endpoint
// policies (20,480, https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html) named each source
// account's reader role, so an org of 250 teams with CI did not compile. Past their sizes they name the role in the
// organization's accounts; under them they are as they were.
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg, type CompiledOrg } from '../src/compile';
import { resourcePolicyQuotaProblems } from '../src/checks/resource-policy-quotas';
import { Resolver } from '../src/audit/resolve';
import { endpointAllows, evaluate, GrantIndex } from '../src/audit/evaluate';
import { Names } from '../src/naming';
import { parseOrg } from '../src/org/load';
import { organizationHeldPolicies } from '../src/stages/plan';
import { ciEndpointPrincipals, ciNetwork, codeCommitEndpointScope } from '../templates/ci-network';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileProblems } from './helpers';

type Statement = Record<string, unknown>;
const ORG_ID = 'o-bench12345';
const teamsWithCi = (teams: number, options: { organizationId?: string } = {}) => generateTeamsOrgYaml(teams, { ci: true, ...options });
const compileTeams = (teams: number) => compileOrg(parseOrg(teamsWithCi(teams), 'teams-ci.yaml'));
const templateOf = (compiled: CompiledOrg, id: string): CfnTemplate => renderTemplate(compiled.stages.find((s) => s.id === id)!.definition);
const statementsOf = (template: CfnTemplate, logicalId: string): Statement[] => {
  const properties = template.Resources[logicalId].Properties as { PolicyDocument: { Statement: Statement[] } };
  return properties.PolicyDocument.Statement;
};
const ciPolicy = (compiled: CompiledOrg) => statementsOf(templateOf(compiled, 'ci-identity'), 'CiInstanceRoleAssumeCiReaderRoles');
const endpointPolicy = (compiled: CompiledOrg, endpoint: string) => statementsOf(templateOf(compiled, 'ci-network'), endpoint);
const sub = (text: string) => ({ 'Fn::Sub': text });
const READERS = sub('arn:${AWS::Partition}:iam::*:role/big-ci-reader');
/** The source account ids generateTeamsOrgYaml gives (four accounts a team, from 200000000000). */
const sourceIds = (teams: number) => Array.from({ length: teams }, (_, i) => String(200000000000 + 4 * i));

describe('CI access past about 125 source accounts (review s58-scale M2)', () => {
  it('250 teams with CI compile: the CI role names big-ci-reader in the organization (aws:ResourceOrgID), the endpoints admit it by aws:PrincipalOrgID, and every CI path is still proved for every source account', () => {
    const compiled = compileTeams(250);
    expect(ciPolicy(compiled)).toEqual([
      {
        Sid: 'AssumeCiReaderRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: READERS,
        // The IMDSv2 and source-VPC conditions stay beside it.
        Condition: { NumericGreaterThanEquals: { 'ec2:RoleDelivery': '2.0' }, StringEquals: { 'aws:SourceVpc': '${aws:Ec2InstanceSourceVpc}', 'aws:ResourceOrgID': ORG_ID } },
      },
    ]);
    const readers = { StringEquals: { 'aws:PrincipalOrgID': ORG_ID }, ArnLike: { 'aws:PrincipalArn': READERS } };
    for (const endpoint of ['CodeCommitEndpoint', 'GitCodeCommitEndpoint']) {
      const [statement, ...more] = endpointPolicy(compiled, endpoint);
      expect(more).toEqual([]);
      expect(statement.Condition).toEqual(readers);
      // The repositories still by source account, each once.
      expect(statement.Resource).toEqual(sourceIds(250).map((id) => sub(`arn:\${AWS::Partition}:codecommit:\${AWS::Region}:${id}:*`)));
    }
    expect(endpointPolicy(compiled, 'StsEndpoint')).toEqual([
      {
        Sid: 'CiAssumesReaderRoles',
        Effect: 'Allow',
        Principal: '*',
        Action: 'sts:AssumeRole',
        Resource: READERS,
        Condition: { ArnEquals: { 'aws:PrincipalArn': sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/big-ci-instance') }, StringEquals: { 'aws:ResourceOrgID': ORG_ID } },
      },
    ]);
    expect(compiled.stages.find((s) => s.id === 'ci-identity')!.notes).toEqual([expect.stringMatching(/^the CI role's policy: each source account's big-ci-reader by its ARN would take about 12,\d{3} characters, over 90 % of IAM's 6,144 for a managed policy; it names big-ci-reader in any account of organization o-bench12345 instead/)]);
    expect(compiled.stages.find((s) => s.id === 'ci-network')!.notes).toContainEqual(expect.stringMatching(/^CI endpoint policies: each source account's id and big-ci-reader would take about 27,316 characters, over the 19,456 /));

    // The proof: each source account's CI paths, with the same claims as before.
    const { access } = compiled;
    expect(access.problems).toEqual([]);
    const of = (need: string) => access.results.filter((r) => r.path.need === need);
    const assume = of('ci-assume-reader');
    expect(new Set(assume.map((r) => r.path.resourceAccount))).toEqual(new Set(sourceIds(250)));
    for (const r of assume) expect(r.allowed, r.path.purpose).toBe(true);
    const pulls = of('ci-pull');
    expect(new Set(pulls.map((r) => r.path.resource)).size).toBe(500);
    for (const r of pulls) expect(r.allowed, r.path.purpose).toBe(true);
    for (const need of ['ci-assume-reader-imdsv1', 'ci-assume-reader-outside-vpc', 'ci-assume-reader-other-vpc', 'ci-assume-reader-other-role']) {
      expect(of(need)).toHaveLength(250);
      for (const r of of(need)) expect(r.allowed, r.path.purpose).toBe(false);
    }
    // Through the endpoints: each clone's request let through, the same request signed by a role outside the org, or
    // another role of the source account, refused; every check as it must be.
    const checks = access.network!.checks;
    const asked = (endpoint: string, refuse: boolean) => checks.filter((c) => c.endpoint === endpoint && c.refuse === refuse);
    expect(new Set(asked('StsEndpoint', false).map((c) => c.request.resource)).size).toBe(250);
    expect(new Set(asked('GitCodeCommitEndpoint', false).map((c) => c.request.resource)).size).toBe(500);
    const outside = checks.filter((c) => c.refuse && c.purpose.startsWith('a role of an account outside the org'));
    const otherRole = checks.filter((c) => c.refuse && /^another role of account 2\d{11} /.test(c.purpose));
    expect(outside.length).toBeGreaterThan(500);
    expect(otherRole.length).toBeGreaterThan(500);
    expect(checks.filter((c) => !c.passed)).toEqual([]);
    // A role of the reader role's own name in an account outside the org: kept out by aws:PrincipalOrgID alone in the
    // organization-scoped form (its ArnLike names the role in any account), which is what proves that condition.
    const sameName = checks.filter((c) => c.refuse && c.purpose.startsWith('a role named big-ci-reader in an account outside the org'));
    // Each request through a CodeCommit endpoint that the outside role was asked, asked of this one too.
    expect(sameName.length).toBe(outside.filter((c) => c.endpoint !== 'StsEndpoint').length);
    expect(sameName.length).toBeGreaterThan(1000);
    const git = access.network!.endpoints.find((e) => e.endpoint === 'GitCodeCommitEndpoint')!;
    const withoutOrg = git.statements!.map((st) => ({ ...st, conditions: Object.fromEntries(Object.entries(st.conditions).map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).filter(([k]) => k !== 'aws:PrincipalOrgID'))])) }));
    const pull = sameName.find((c) => c.endpoint === 'GitCodeCommitEndpoint')!.request;
    expect(endpointAllows(git.statements!, pull, ORG_ID).allowed).toBe(false);
    expect(endpointAllows(withoutOrg, pull, ORG_ID).allowed).toBe(true);

    // The organization-scoped form's condition is proved to refuse something: the CI role may not assume a role of
    // that name in an account outside the organization, asked of its own policy alone (that role's trust is someone
    // else's). Without aws:ResourceOrgID in its statement, the same request would be allowed.
    const [outsideOrg] = of('ci-assume-reader-outside-org');
    expect([outsideOrg.path.resource, outsideOrg.path.denied, outsideOrg.allowed]).toEqual(['arn:aws:iam::999999999999:role/big-ci-reader', true, false]);
    expect(of('ci-assume-reader-outside-org')).toHaveLength(1);
    const request = { principal: outsideOrg.path.principal, action: 'sts:AssumeRole', resource: outsideOrg.path.resource, resourceAccount: outsideOrg.path.resourceAccount, context: outsideOrg.path.context, resourceManagedElsewhere: true };
    const unconditioned = access.grants.map((g) =>
      g.policy.endsWith('/AssumeCiReaderRoles') && g.kind === 'identity' ? { ...g, conditions: Object.fromEntries(Object.entries(g.conditions).map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).filter(([k]) => k !== 'aws:ResourceOrgID'))])) } : g,
    );
    expect(evaluate(new GrantIndex(access.grants), request, ORG_ID).allowed).toBe(false);
    expect(evaluate(new GrantIndex(unconditioned), request, ORG_ID).allowed).toBe(true);
  });

  it('on EKS Pod Identity the permission-only sts:TagSession has a statement of its own, without aws:ResourceOrgID, in the CI role and the STS endpoint', () => {
    const text = teamsWithCi(250).replace('  ci:\n    account: tools\n', '  ci:\n    account: tools\n    eks: { mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }\n');
    const compiled = compileOrg(parseOrg(text, 'teams-eks.yaml'));
    expect(ciPolicy(compiled)).toEqual([
      { Sid: 'AssumeCiReaderRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: READERS, Condition: { StringEquals: { 'aws:ResourceOrgID': ORG_ID } } },
      { Sid: 'TagCiReaderSessions', Effect: 'Allow', Action: 'sts:TagSession', Resource: READERS },
    ]);
    const ciRole = { ArnEquals: { 'aws:PrincipalArn': sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/big-ci-instance') } };
    expect(endpointPolicy(compiled, 'StsEndpoint')).toEqual([
      { Sid: 'CiAssumesReaderRoles', Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Resource: READERS, Condition: { ...ciRole, StringEquals: { 'aws:ResourceOrgID': ORG_ID } } },
      { Sid: 'CiTagsReaderSessions', Effect: 'Allow', Principal: '*', Action: 'sts:TagSession', Resource: READERS, Condition: ciRole },
    ]);
    expect(compiled.access.problems).toEqual([]);
    const assume = compiled.access.results.filter((r) => r.path.need === 'ci-assume-reader');
    expect(assume.map((r) => r.action).sort()).toEqual([...Array(250).fill('sts:AssumeRole'), ...Array(250).fill('sts:TagSession')]);
    for (const r of assume) expect(r.allowed, `${r.path.purpose}: ${r.action}`).toBe(true);
  });

  it("the CI role's policy: 107 source accounts (just under 90 % of 6,144 as namedByOrganization counts) name each reader role as before; 108 name it in the organization", () => {
    const under = ciPolicy(compileTeams(107));
    expect(under).toHaveLength(1);
    expect(under[0].Resource).toEqual(sourceIds(107).map((id) => sub(`arn:\${AWS::Partition}:iam::${id}:role/big-ci-reader`)));
    expect(under[0].Condition).toEqual({ NumericGreaterThanEquals: { 'ec2:RoleDelivery': '2.0' }, StringEquals: { 'aws:SourceVpc': '${aws:Ec2InstanceSourceVpc}' } });
    const past = ciPolicy(compileTeams(108));
    expect(past[0].Resource).toEqual(READERS);
  });

  it("the endpoints: the largest org whose per-account lists fit the compile's 19,456 characters keeps them; one source account more is over the limit as the check measures it, and admits the readers by the organization", () => {
    const at = { partition: 'aws', region: 'us-east-1' };
    let n = 150;
    while (!ciEndpointPrincipals(sourceIds(n + 1), 'big-ci-reader', at).byOrganization) n++;
    expect(n).toBeGreaterThan(170);
    const under = compileTeams(n);
    const lists = { StringEquals: { 'aws:PrincipalAccount': sourceIds(n) }, ArnLike: { 'aws:PrincipalArn': sourceIds(n).map((id) => sub(`arn:\${AWS::Partition}:iam::${id}:role/big-ci-reader`)) } };
    expect(endpointPolicy(under, 'CodeCommitEndpoint')[0].Condition).toEqual(lists);
    expect(endpointPolicy(under, 'StsEndpoint')[0].Resource).toEqual(sourceIds(n).map((id) => sub(`arn:\${AWS::Partition}:iam::${id}:role/big-ci-reader`)));

    const pastText = teamsWithCi(n + 1);
    const past = compileOrg(parseOrg(pastText, 'teams-ci.yaml'));
    expect(endpointPolicy(past, 'CodeCommitEndpoint')[0].Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': ORG_ID }, ArnLike: { 'aws:PrincipalArn': READERS } });
    // The per-account form of n + 1 source accounts, beside the network's own: the check refuses it.
    const org = parseOrg(pastText, 'teams-ci.yaml');
    const repositories = sourceIds(n + 1).map((id, i) => [id, [`t${String(i + 1).padStart(3, '0')}-svc1`, `t${String(i + 1).padStart(3, '0')}-svc2`]] as const);
    const perAccount = ciNetwork({ names: new Names('big'), network: org.access.ci!.network!, endpointServicePrefix: 'com.amazonaws', fipsEndpoints: false, repositories, repositoryScope: codeCommitEndpointScope({ repositories }, 'big-ci-reader', at).scope, ciRuntime: 'ec2' });
    const stages = past.stages.map((s) => (s.id === 'ci-network' ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, PerAccount: perAccount.resources.CodeCommitEndpoint } } } : s));
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const measured = ciEndpointPrincipals(sourceIds(n + 1), 'big-ci-reader', at).chars;
    expect(resourcePolicyQuotaProblems(org, stages, templates, new Resolver(org, stages, templates))).toEqual([
      expect.stringMatching(new RegExp(`^ci-network @ tools \\(100000000000\\): PerAccount: VPC endpoint policy of ${measured.toLocaleString('en-US')} characters as compact JSON, over 19,456`)),
    ]);
  });

  it("bootstrap's check of the accounts an org-held policy reaches (organizationHeldPolicies) names the CI's, each past its own size", () => {
    const held = (teams: number) => organizationHeldPolicies(parseOrg(teamsWithCi(teams), 'teams-ci.yaml')).filter((h) => h.what.includes('big-ci-reader'));
    expect(held(107)).toEqual([]);
    expect(held(108).map((h) => h.what)).toEqual(["the CI role's policy (ci-identity: sts:AssumeRole of big-ci-reader in the source accounts)"]);
    const past = held(250);
    expect(past.map((h) => h.what)).toEqual([
      "the CI role's policy (ci-identity: sts:AssumeRole of big-ci-reader in the source accounts)",
      "the CI network's endpoint policies (ci-network: big-ci-reader of the source accounts, by aws:PrincipalOrgID and aws:ResourceOrgID)",
    ]);
    for (const h of past) expect(h.accounts.map((a) => a.id)).toEqual(sourceIds(250));
  });

  it('the ceiling now: the CodeCommit endpoints grow only by each source account in their Resource (about 46 characters), so 420 source accounts are over it, saying so', () => {
    expect(compileProblems(teamsWithCi(420), 'teams-ci.yaml')).toEqual(
      ['CodeCommitEndpoint', 'GitCodeCommitEndpoint'].map((endpoint) =>
        expect.stringMatching(
          new RegExp(
            `^ci-network @ tools \\(100000000000\\): ${endpoint}: VPC endpoint policy of 19,\\d{3} characters as compact JSON, over 19,456: .*it lists 420 resources \\(codecommit: 420\\) of 420 accounts, and 2 condition values; it grows with the source accounts holding the repositories the CI network may pull from \\(each one's codecommit:<region>:<account>:\\*; the CI reader roles are named by the organization\\), about 415 of them at most`,
          ),
        ),
      ),
    );
  });

  it('past either size without organization.id: a compile error naming access.ci (the CI role) and access.ci.network (its endpoints), each expecting organization.id', () => {
    expect(compileProblems(teamsWithCi(250, { organizationId: '' }), 'teams-ci.yaml')).toEqual([
      expect.stringMatching(/^teams-ci\.yaml: access\.ci: the CI role's policy letting it assume big-ci-reader in each of the 250 source accounts \(ci-identity\) would take about 12,\d{3} characters, over 90 % of IAM's 6,144 for a managed policy; with the organization's id it names them all at once \(aws:ResourceOrgID\): expected organization\.id \(aws organizations describe-organization\)$/),
      expect.stringMatching(/^teams-ci\.yaml: access\.ci\.network: the CI network's CodeCommit endpoint policies admitting big-ci-reader of each of the 250 source accounts \(ci-network\) would take about 27,316 characters, over the 19,456 the compile allows of a VPC endpoint policy's 20,480 characters; with the organization's id they admit them all at once \(aws:PrincipalOrgID\): expected organization\.id/),
    ]);
    // Under both, no id is needed for the CI (the developers' policy asks for it first, past 35 source accounts).
    expect(compileProblems(generateTeamsOrgYaml(20, { ci: true, organizationId: '' }), 'teams-ci.yaml')).toEqual([]);
  });
});
