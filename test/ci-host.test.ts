// The CI host's launch template (templates/ci-identity.ts): IMDSv2 required with hop limit 2 and the CI instance
// profile on EC2, nothing on EKS; and what the StackSet execution role needs for it, no more.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg, type CompiledOrg } from '../src/compile';
import { compiledTemplates, executionPolicy, executionPolicyFor, forAccount } from '../src/deploy/execution-policy';
import { executionAuthorizationProblems } from '../src/checks/execution-authorization';
import { nameProblem, RULES } from '../src/naming';
import { parseOrg } from '../src/org/load';
import { compileFile } from './helpers';
import { evaluate, GrantIndex } from '../src/audit/evaluate';
import { executionRoleGrants } from '../src/audit/execution-reach';
import { analyseAccess } from '../src/audit/paths';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const withoutNetwork = (text: string) => text.replace(/    network:\n(      .*\n)+/, '');
const withEks = (text: string, eks: string) => text.replace('  ci:\n    account: tools\n', `  ci:\n    account: tools\n    eks: ${eks}\n`);
const ciTemplate = (c: CompiledOrg): CfnTemplate => renderTemplate(c.stages.find((s) => s.id === 'ci-identity')!.definition);
const ciAccountId = (c: CompiledOrg) => c.org.accounts.find((a) => a.name === c.org.access.ci!.account)!.id;
const LAUNCH_TEMPLATE_WRITES = ['ec2:CreateLaunchTemplate', 'ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate'];

describe('the CI host launch template', () => {
  it.each([
    ['example', 'parameters/example.yaml', 'acme-ci-host'],
    ['govcloud', 'parameters/govcloud.yaml', undefined],
  ])('%s (EC2): IMDSv2 required, hop limit 2, the CI instance profile; no AMI, and no network of the other stack', (_name, file, name) => {
    const c = compileFile(file);
    const t = ciTemplate(c);
    const templates = Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::LaunchTemplate');
    expect(templates.map(([id]) => id)).toEqual(['CiHostLaunchTemplate']);
    const p = templates[0][1].Properties as Record<string, any>;
    expect(p.LaunchTemplateName).toBe(name ?? `${c.org.prefix}-ci-host`);
    expect(nameProblem(RULES.launchTemplate, p.LaunchTemplateName)).toBeUndefined();
    expect(p.LaunchTemplateData).toEqual({
      IamInstanceProfile: { Arn: { 'Fn::GetAtt': ['CiInstanceProfile', 'Arn'] } },
      MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 2, InstanceMetadataTags: 'disabled' },
    });
    // The user picks the AMI, subnet and security group at launch: none is in the template (the CI network is another stack).
    for (const key of ['ImageId', 'SecurityGroupIds', 'SecurityGroups', 'NetworkInterfaces', 'SubnetId']) expect(p.LaunchTemplateData[key], key).toBeUndefined();
    expect(JSON.stringify(t)).not.toMatch(/ImportValue/);
    // The profile it names is this template's, for this template's CI role.
    expect((t.Resources.CiInstanceProfile.Properties as any).Roles).toEqual([{ Ref: 'CiInstanceRole' }]);
    expect(t.Outputs?.CiHostLaunchTemplateId).toMatchObject({ Value: { Ref: 'CiHostLaunchTemplate' }, Description: expect.stringMatching(/IMDSv2 required .*hop limit 2 .*no AMI/) });
    expect(t.Outputs?.CiHostLaunchTemplateLatestVersion).toMatchObject({ Value: { 'Fn::GetAtt': ['CiHostLaunchTemplate', 'LatestVersionNumber'] } });
  });

  it('the compiled template in dist/ carries it as the compiler makes it', () => {
    const yaml = readFileSync('dist/example/templates/ci-identity.yaml', 'utf8');
    expect(yaml).toContain('      LaunchTemplateName: acme-ci-host\n');
    expect(yaml).toContain('        MetadataOptions:\n          HttpEndpoint: enabled\n          HttpTokens: required\n          HttpPutResponseHopLimit: 2\n');
    expect(yaml).not.toMatch(/ImageId/);
  });

  it.each([
    ['IRSA', withoutNetwork(withEks(EXAMPLE, '{ mode: irsa, oidcIssuer: oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE, namespace: jenkins, serviceAccount: jenkins }'))],
    ['EKS Pod Identity', withEks(EXAMPLE, '{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }')],
  ])('%s: no launch template anywhere, and the execution role gets none of its actions', (_name, text) => {
    const c = compileOrg(parseOrg(text, 'eks.yaml'));
    for (const s of c.stages) expect(JSON.stringify(renderTemplate(s.definition)), s.id).not.toContain('AWS::EC2::LaunchTemplate');
    const granted = new Set(executionPolicy(c).flatMap((s) => s.Action));
    for (const a of [...LAUNCH_TEMPLATE_WRITES, 'ec2:DescribeLaunchTemplates']) expect(granted.has(a), a).toBe(false);
  });
});

describe('the execution role and EKS Pod Identity', () => {
  it("its EKS writes name the association's cluster, never every EKS resource of the CI account (review s36-variants M1)", () => {
    const c = compileOrg(parseOrg(withEks(EXAMPLE, '{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }'), 'eks.yaml'));
    const statements = executionPolicy(c);
    expect(executionAuthorizationProblems(c.org, statements)).toEqual([]);
    const eks = statements.filter((s) => s.Action.some((a) => a.startsWith('eks:')));
    // The Service Authorization Reference: CreatePodIdentityAssociation on cluster/${ClusterName}; Describe, Update and
    // Delete on podidentityassociation/${ClusterName}/${UUID}.
    expect(eks.map((s) => [s.Sid, s.Resource])).toEqual([
      ['EksNamed', ['arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/ci-cluster', 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:podidentityassociation/ci-cluster/*']],
    ]);
    expect(eks[0].Action).toEqual(expect.arrayContaining(['eks:CreatePodIdentityAssociation', 'eks:DeletePodIdentityAssociation', 'eks:UpdatePodIdentityAssociation']));
    // In the CI account alone.
    expect(forAccount(statements, ciAccountId(c)).some((s) => s.Sid === 'EksNamed')).toBe(true);
    for (const a of c.org.accounts.filter((x) => x.id !== ciAccountId(c))) expect(forAccount(statements, a.id).some((s) => s.Sid === 'EksNamed'), a.name).toBe(false);
  });
});

describe("the execution role and the CI host's launch template", () => {
  it("EC2 without a CI network: the CI account alone gets the launch template's writes, held to the tag the template is created with; no other EC2 write, no iam:PassRole", () => {
    const c = compileOrg(parseOrg(withoutNetwork(EXAMPLE), 'ec2.yaml'));
    expect(c.stages.map((s) => s.id)).not.toContain('ci-network');
    const statements = executionPolicy(c);
    expect(executionAuthorizationProblems(c.org, statements)).toEqual([]);
    const account = ciAccountId(c);
    const ci = forAccount(statements, account);
    const arn = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:launch-template/*';
    // The launch template's create, update and delete handlers (registry schema), on launch templates alone, each
    // under the tag the template carries from its create on (review s25-imds M1).
    expect(ci.filter((s) => s.Action.some((a) => [...LAUNCH_TEMPLATE_WRITES, 'ec2:CreateTags', 'ec2:DeleteTags'].includes(a))).map((s) => [s.Sid, s.Action, s.Resource, s.Condition])).toEqual([
      ['Ec2LaunchTemplateCreate', ['ec2:CreateLaunchTemplate'], [arn], { StringEquals: { 'aws:RequestTag/xstack:launch-template': 'acme-ci-host' } }],
      ['Ec2LaunchTemplateTagOnCreate', ['ec2:CreateTags'], [arn], { StringEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate' } }],
      [
        'Ec2NoLaunchTemplateTagElsewhere',
        ['ec2:CreateTags'],
        [arn],
        { StringNotEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate', 'aws:ResourceTag/xstack:launch-template': 'acme-ci-host' }, 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'xstack:launch-template' } },
      ],
      ['Ec2LaunchTemplatesTagged', ['ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate', 'ec2:CreateTags', 'ec2:DeleteTags'], [arn], { StringEquals: { 'aws:ResourceTag/xstack:launch-template': 'acme-ci-host' } }],
    ]);
    expect(ci.find((s) => s.Action.includes('ec2:DescribeLaunchTemplates'))?.Resource).toEqual(['*']);
    // The template is created with that tag.
    const specifications = (ciTemplate(c).Resources.CiHostLaunchTemplate.Properties as Record<string, unknown>).TagSpecifications;
    expect(specifications).toEqual([{ ResourceType: 'launch-template', Tags: [{ Key: 'xstack:launch-template', Value: 'acme-ci-host' }] }]);
    // As the access proof's evaluator reads the policy bootstrap writes: the org's template only.
    const grants = new GrantIndex(executionRoleGrants(c.org, ci, account));
    const ask = (action: string, resource: string, context: Record<string, string[]> = {}) =>
      evaluate(grants, { principal: { kind: 'aws', arn: `arn:aws:iam::${account}:role/${c.org.stackSets.executionRoleName}` }, action, resource, resourceAccount: account, context }).allowed;
    const template = `arn:aws:ec2:${c.org.region}:${account}:launch-template/lt-0123456789abcdef0`;
    const ours = { 'aws:resourcetag/xstack:launch-template': ['acme-ci-host'] };
    expect(ask('ec2:CreateLaunchTemplateVersion', template, ours)).toBe(true);
    expect(ask('ec2:DeleteLaunchTemplate', template, ours)).toBe(true);
    expect(ask('ec2:CreateLaunchTemplateVersion', template)).toBe(false);
    expect(ask('ec2:CreateLaunchTemplateVersion', template, { 'aws:resourcetag/xstack:launch-template': ['other-ci-host'] })).toBe(false);
    expect(ask('ec2:CreateLaunchTemplate', template, { 'aws:requesttag/xstack:launch-template': ['acme-ci-host'] })).toBe(true);
    expect(ask('ec2:CreateLaunchTemplate', template)).toBe(false);
    expect(ask('ec2:CreateTags', template, { 'ec2:createaction': ['CreateLaunchTemplate'] })).toBe(true);
    expect(ask('ec2:CreateTags', template)).toBe(false);
    expect(ask('ec2:CreateTags', `arn:aws:ec2:${c.org.region}:${account}:vpc/vpc-0123456789abcdef0`, { 'ec2:createaction': ['CreateLaunchTemplate'] })).toBe(false);
    // Exactly what the launch template's handlers need, no more: the CI account's policy with it against the same
    // templates without it. No iam:PassRole (its create handler lists none: the one who launches from it passes the role).
    const templates = compiledTemplates(c.stages, (s) => renderTemplate(s.definition));
    const without = templates.map((t) => {
      const { CiHostLaunchTemplate: _dropped, ...rest } = (t as { template: CfnTemplate }).template.Resources;
      return { ...(t as { template: CfnTemplate; accounts: readonly string[] }), template: { ...(t as { template: CfnTemplate }).template, Resources: rest } };
    });
    const actionsIn = (given: typeof templates) => new Set(forAccount(executionPolicyFor(given, c.org.prefix), account).flatMap((s) => s.Action));
    const [withIt, withoutIt] = [actionsIn(templates), actionsIn(without)];
    expect([...withIt].filter((a) => !withoutIt.has(a)).sort()).toEqual([...LAUNCH_TEMPLATE_WRITES, 'ec2:CreateTags', 'ec2:DeleteTags', 'ec2:DescribeLaunchTemplates'].sort());
    expect([...withoutIt].filter((a) => !withIt.has(a))).toEqual([]);
    for (const a of ['ec2:ModifyLaunchTemplate', 'ec2:RunInstances']) expect(withIt.has(a), a).toBe(false);
    // Every other account's policy: none of it.
    for (const a of c.org.accounts.filter((x) => x.id !== account)) {
      const other = new Set(forAccount(statements, a.id).flatMap((s) => s.Action));
      for (const action of LAUNCH_TEMPLATE_WRITES) expect(other.has(action), `${a.name}: ${action}`).toBe(false);
    }
  });

  it("with the CI network: the launch template's writes stay in their tag-held statements, not the network's EC2 statement, and the report lists them apart from what reaches every resource", () => {
    const c = compileFile('parameters/example.yaml');
    const ci = forAccount(executionPolicy(c), ciAccountId(c));
    const ec2 = ci.find((s) => s.Sid === 'Ec2GeneratedIds')!;
    for (const a of LAUNCH_TEMPLATE_WRITES) expect(ec2.Action, a).not.toContain(a);
    expect(ci.filter((s) => s.Sid.startsWith('Ec2LaunchTemplate')).map((s) => s.Sid)).toEqual(['Ec2LaunchTemplateCreate', 'Ec2LaunchTemplateTagOnCreate', 'Ec2LaunchTemplatesTagged']);
    // The network's ec2:CreateTags on every EC2 resource does not let the role put the fence's tag on another launch
    // template and then add a version to it (review s30-execution E3): as the access proof's evaluator reads the policy.
    expect(ec2.Action).toContain('ec2:CreateTags');
    const account = ciAccountId(c);
    const grants = new GrantIndex(executionRoleGrants(c.org, ci, account));
    const tag = (resource: string, context: Record<string, string[]>) =>
      evaluate(grants, { principal: { kind: 'aws', arn: `arn:aws:iam::${account}:role/${c.org.stackSets.executionRoleName}` }, action: 'ec2:CreateTags', resource, resourceAccount: account, context }).allowed;
    const other = `arn:aws:ec2:${c.org.region}:${account}:launch-template/lt-0fedcba9876543210`;
    const fence = { 'aws:tagkeys': ['xstack:launch-template'], 'aws:requesttag/xstack:launch-template': ['acme-ci-host'] };
    expect(tag(other, fence)).toBe(false);
    expect(tag(other, { ...fence, 'aws:tagkeys': ['Name', 'xstack:launch-template'] })).toBe(false);
    expect(tag(other, { ...fence, 'aws:resourcetag/xstack:launch-template': ['someone-elses'] })).toBe(false);
    // Other keys on other launch templates, the fence's key as a template is created, or on the org's own: as before.
    expect(tag(other, { 'aws:tagkeys': ['Name'] })).toBe(true);
    expect(tag(other, { ...fence, 'ec2:createaction': ['CreateLaunchTemplate'] })).toBe(true);
    expect(tag(other, { ...fence, 'aws:resourcetag/xstack:launch-template': ['acme-ci-host'] })).toBe(true);
    expect(tag(`arn:aws:ec2:${c.org.region}:${account}:vpc/vpc-0123456789abcdef0`, fence)).toBe(true);
    const report = c.files.get('audit/report.md')!;
    const row = report.split('\n').find((l) => l.startsWith('| Ec2GeneratedIds | every '))!;
    expect(row).not.toContain('LaunchTemplate');
    expect(report).toContain('| Ec2LaunchTemplatesTagged | ec2:CreateLaunchTemplateVersion, ec2:DeleteLaunchTemplate, ec2:CreateTags, ec2:DeleteTags | arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:launch-template/*, when StringEquals aws:ResourceTag/xstack:launch-template = acme-ci-host |');
    expect(report.split('\n').some((l) => l.startsWith('| Ec2LaunchTemplatesTagged | every '))).toBe(false);
  });
});

describe("the CI role's grant to assume the reader roles: IMDSv2 credentials, from the CI VPC (review s30-ci m1, m2)", () => {
  const assumeStatement = (c: CompiledOrg) => {
    const policy = ciTemplate(c).Resources.CiInstanceRoleAssumeCiReaderRoles.Properties as { PolicyDocument: { Statement: Array<Record<string, any>> } };
    return policy.PolicyDocument.Statement.find((s) => s.Sid === 'AssumeCiReaderRoles')!;
  };
  const IMDSV2 = { NumericGreaterThanEquals: { 'ec2:RoleDelivery': '2.0' } };
  const IN_VPC = { StringEquals: { 'aws:SourceVpc': '${aws:Ec2InstanceSourceVpc}' } };

  it.each([
    ['EC2 with a NAT CI network (example)', EXAMPLE, { ...IMDSV2, ...IN_VPC }],
    ['EC2 with an isolated CI network (govcloud)', readFileSync('parameters/govcloud.yaml', 'utf8'), { ...IMDSV2, ...IN_VPC }],
    ['EC2 without a CI network', withoutNetwork(EXAMPLE), IMDSV2],
    ['EKS Pod Identity', withEks(EXAMPLE, '{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }'), undefined],
    ['IRSA', withoutNetwork(withEks(EXAMPLE, '{ mode: irsa, oidcIssuer: oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE, namespace: jenkins, serviceAccount: jenkins }')), undefined],
  ])('%s', (_name, text, conditions) => {
    const c = compileOrg(parseOrg(text, 'ci.yaml'));
    expect(assumeStatement(c).Condition).toEqual(conditions);
  });

  it('the policy variable reaches IAM as written: no Fn::Sub around it in dist/', () => {
    const yaml = readFileSync('dist/example/templates/ci-identity.yaml', 'utf8');
    expect(yaml).toContain('            Condition:\n              NumericGreaterThanEquals:\n                ec2:RoleDelivery: "2.0"\n              StringEquals:\n                aws:SourceVpc: ${aws:Ec2InstanceSourceVpc}\n');
  });

  it.each([
    ['with a CI network', EXAMPLE, ['ci-assume-reader-imdsv1', 'ci-assume-reader-outside-vpc', 'ci-assume-reader-other-vpc']],
    ['without a CI network', withoutNetwork(EXAMPLE), ['ci-assume-reader-imdsv1']],
  ])('the proof: the host in the VPC with IMDSv2 credentials assumes; IMDSv1, outside the VPC or from another refused (%s)', (_name, text, refused) => {
    const org = parseOrg(text, 'ci.yaml');
    const stages = compileOrg(org).stages;
    const proof = analyseAccess(org, stages);
    expect(proof.problems).toEqual([]);
    const of = (need: string) => proof.results.filter((r) => r.path.need === need);
    expect(of('ci-assume-reader').map((r) => r.allowed)).toEqual([true]);
    for (const need of ['ci-assume-reader-imdsv1', 'ci-assume-reader-outside-vpc', 'ci-assume-reader-other-vpc']) {
      const results = of(need);
      expect(results.length, need).toBe(refused.includes(need) ? 1 : 0);
      for (const r of results) expect(r.allowed, need).toBe(false);
    }
    // The grant without its conditions: each refused path is then allowed, and the compile says so.
    const identity = stages.find((s) => s.id === 'ci-identity')!;
    const resources = identity.definition.resources as unknown as Record<string, unknown>;
    const policy = JSON.parse(JSON.stringify(resources.CiInstanceRoleAssumeCiReaderRoles));
    delete policy.Properties.PolicyDocument.Statement[0].Condition;
    resources.CiInstanceRoleAssumeCiReaderRoles = policy;
    const problems = analyseAccess(org, stages).problems;
    for (const need of refused) {
      const purpose = proof.results.find((r) => r.path.need === need)!.path.purpose;
      expect(problems.some((p) => p.startsWith(`${purpose}: `) && p.endsWith('which must be refused')), `${purpose}\n${problems.join('\n')}`).toBe(true);
    }
  });
});
