import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupNote, writeProfiles } from '../src/access/config-file';
import { jenkinsExample } from '../src/access/jenkins';
import { generateProfiles, mergeIntoConfig, profileBlock, renderProfiles, ssoSignInMismatch, ProfilesError, type ProfileIdentity } from '../src/access/profiles';
import { codeCommitGitHost } from '../src/aws/partitions';
import { asList, policyDocuments } from '../src/checks/documents';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { CODECOMMIT_PULL } from '../src/iam/grants';
import { compileOrg } from '../src/compile';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { subnetCidrs } from '../templates/ci-network';
import { ciIdentity } from '../templates/ci-identity';
import { Names } from '../src/naming';
import { analyseAccess } from '../src/audit/paths';
import { evaluate, GrantIndex, RequestAnswers, type AppliesMemo } from '../src/audit/evaluate';
import type { ResolvedStatement } from '../src/audit/grants';
import { AWS_OWNED_ACCOUNT, OTHER_ACCOUNT } from '../src/services/needs';
import { compileFile, tempDir } from './helpers';

const example = compileFile('parameters/example.yaml');
const gov = compileFile('parameters/govcloud.yaml');
const template = (c: typeof example, id: string): CfnTemplate => renderTemplate(c.stages.find((s) => s.id === id)!.definition);
const props = (t: CfnTemplate, id: string) => t.Resources[id].Properties as Record<string, any>;

describe('access roles', () => {
  const roles = template(example, 'access-roles');
  const developer = props(roles, 'DeveloperRoleIn111111111111');
  const ci = props(roles, 'CiReaderRoleIn111111111111');

  it('CI role: pull only, on the account\'s repositories, assumed only by the CI instance role', () => {
    // The role's permissions are a managed policy attached to it (no inline policies).
    expect(ci.Policies).toBeUndefined();
    expect(props(roles, 'CiReaderRoleCodecommitPullIn111111111111').Roles).toEqual([{ Ref: 'CiReaderRoleIn111111111111' }]);
    const [statement] = props(roles, 'CiReaderRoleCodecommitPullIn111111111111').PolicyDocument.Statement;
    expect(statement.Action).toEqual([...CODECOMMIT_PULL.actions]);
    expect(asList(statement.Resource)).toHaveLength(2);
    // The CI account's instance role by ARN (aws:PrincipalArn), not by the unique id a Principal would store (src/iam/policy.ts).
    expect(ci.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'CiInstanceAssumes',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:root' } },
        Action: 'sts:AssumeRole',
        Condition: { ArnEquals: { 'aws:PrincipalArn': { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:role/acme-ci-instance' } } },
      },
    ]);
    const wave = (id: string) => example.rollout.waveOf.get(id)!;
    expect(wave('ci-identity')).toBeLessThan(wave('access-roles'));
  });

  it('maintainer role (access.developers.maintainers): the developer role\'s grants without the Deny, trusting the maintainers\' roles only; no role without maintainers, and maintainers without protected branches refused (review s18-access M1)', () => {
    const developerPolicy = props(roles, 'DeveloperRoleCodecommitDeveloperIn111111111111').PolicyDocument.Statement;
    const maintainerPolicy = props(roles, 'MaintainerRoleCodecommitDeveloperIn111111111111').PolicyDocument.Statement;
    expect(maintainerPolicy).toEqual(developerPolicy.filter((st: any) => st.Sid !== 'DenyWritesToProtectedBranches'));
    expect(developerPolicy.some((st: any) => st.Sid === 'DenyWritesToProtectedBranches')).toBe(true);
    const trust = props(roles, 'MaintainerRoleIn111111111111').AssumeRolePolicyDocument.Statement;
    // Both statements (sts:AssumeRole; sts:SetSourceIdentity of a carried identity) admit the maintainers' roles only.
    const maintainers = [
      'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Maintainer_*',
      'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Maintainer_*',
    ];
    expect(trust.map((st: any) => [st.Action, st.Condition.ArnLike['aws:PrincipalArn'].map((a: any) => a['Fn::Sub'])])).toEqual([
      ['sts:AssumeRole', maintainers],
      ['sts:SetSourceIdentity', maintainers],
    ]);
    expect(props(roles, 'MaintainerRoleIn111111111111').RoleName).toBe('acme-maintainer');
    // The proof: maintainers write every protected branch of every repository, allowed; the developer role is refused the same.
    const release = example.access.results.filter((r) => r.path.need === 'maintainers-release');
    expect(new Set(release.map((r) => r.path.purpose)).size).toBe(4);
    for (const r of release) expect(r.allowed, r.path.purpose).toBe(true);
    // No maintainers: no maintainer role; maintainers without protectedBranches: refused at their line.
    expect(Object.keys(template(gov, 'access-roles').Resources).filter((id) => id.startsWith('Maintainer'))).toEqual([]);
    const text = readFileSync('parameters/example.yaml', 'utf8').replace(/\n    protectedBranches:[^\n]*/, '');
    expect(() => parseOrg(text, 'example.yaml')).toThrow(/example\.yaml:\d+:\d+: access\.developers\.maintainers: has no protected branch to write: without protectedBranches the developer role already writes every branch/);
  });

  it('developer role: no repository administration; protected branches denied by reference', () => {
    const statements = props(roles, 'DeveloperRoleCodecommitDeveloperIn111111111111').PolicyDocument.Statement;
    const allowed = statements.filter((s: any) => s.Effect === 'Allow').flatMap((s: any) => asList(s.Action)) as string[];
    expect(allowed).toContain('codecommit:GitPush');
    for (const admin of ['codecommit:CreateRepository', 'codecommit:DeleteRepository', 'codecommit:UpdateRepositoryName', 'codecommit:PutRepositoryTriggers']) expect(allowed).not.toContain(admin);
    const deny = statements.find((s: any) => s.Sid === 'DenyWritesToProtectedBranches');
    expect(deny.Effect).toBe('Deny');
    // The whole Condition, as AWS's how-to-conditional-branch page writes it: StringEqualsIfExists alone also holds for
    // a request without codecommit:References, which the Null beside it excludes (review s40-mutations 7).
    expect(deny.Condition).toEqual({ StringEqualsIfExists: { 'codecommit:References': ['refs/heads/main', 'refs/heads/release'] }, Null: { 'codecommit:References': 'false' } });
    expect(deny.Action).toContain('codecommit:GitPush');
  });

  it('developer role, asked of the proof: a write naming a protected branch is refused by the Deny; one naming another branch, or no branch at all (no codecommit:References), is not (review s40-mutations 7)', () => {
    const push = (context?: Record<string, string[]>) =>
      evaluate(example.access.index, {
        principal: { kind: 'aws', arn: 'arn:aws:iam::111111111111:role/acme-developer' },
        action: 'codecommit:GitPush',
        resource: 'arn:aws:codecommit:eu-west-1:111111111111:web-app',
        resourceAccount: '111111111111',
        ...(context ? { context } : {}),
      });
    expect(push({ 'codecommit:References': ['refs/heads/main'] })).toMatchObject({ allowed: false, refusedBy: { deny: { policy: expect.stringContaining('DenyWritesToProtectedBranches') } } });
    expect(push({ 'codecommit:References': ['refs/heads/feature/x'] }).allowed).toBe(true);
    // Without the Null, StringEqualsIfExists would hold for this request and the Deny would refuse it.
    expect(push()).toMatchObject({ allowed: true, grantedBy: [expect.objectContaining({ effect: 'Allow' })] });
  });

  it("the console's repository list (codecommit:ListRepositories on \"*\"), granted by default with its reason, is left out with listRepositories: false; the proof then asks no list path, and a list granted anyway is more than the org needs (review s27-access m2)", () => {
    const listing = (t: CfnTemplate, id: string) => props(t, id).PolicyDocument.Statement.filter((s: any) => s.Sid === 'ListRepositories');
    expect(listing(roles, 'DeveloperRoleCodecommitDeveloperIn111111111111')).toEqual([{ Sid: 'ListRepositories', Effect: 'Allow', Action: 'codecommit:ListRepositories', Resource: '*' }]);
    expect(JSON.stringify(roles.Resources.DeveloperRoleCodecommitDeveloperIn111111111111.Metadata)).toContain("the console's repository list (git needs none of it)");

    const org = parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('    protectedBranches:', '    listRepositories: false\n    protectedBranches:'), 'example.yaml');
    expect(org.access.developers?.listRepositories).toBe(false);
    const compiled = compileOrg(org);
    const without = template(compiled, 'access-roles');
    for (const id of ['DeveloperRoleCodecommitDeveloperIn111111111111', 'MaintainerRoleCodecommitDeveloperIn111111111111']) {
      expect(listing(without, id), id).toEqual([]);
      expect(JSON.stringify(without.Resources[id].Metadata ?? {}), id).not.toContain('ListRepositories');
    }
    const analysis = analyseAccess(org, compiled.stages);
    expect(analysis.problems).toEqual([]);
    expect(analysis.paths.filter((p) => p.purpose.includes('list the repositories'))).toEqual([]);
    // The statement put back by hand: granted beyond what the org file asks, which the proof names.
    const stage = compiled.stages.find((s) => s.id === 'access-roles')!;
    const policy = (stage.definition.resources as Record<string, any>).DeveloperRoleCodecommitDeveloperIn111111111111;
    const document = JSON.parse(JSON.stringify(policy));
    document.Properties.PolicyDocument.Statement.push({ Sid: 'ListRepositories', Effect: 'Allow', Action: 'codecommit:ListRepositories', Resource: '*' });
    (stage.definition.resources as Record<string, any>).DeveloperRoleCodecommitDeveloperIn111111111111 = document;
    expect(analyseAccess(org, compiled.stages).problems.join('\n')).toMatch(/ListRepositories/);
  });

  it('developer trust: account roots narrowed to the named role patterns; both Identity Center path forms; session length as configured', () => {
    const [trust, carry] = developer.AssumeRolePolicyDocument.Statement;
    expect(trust.Principal).toEqual({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:root' } });
    expect(trust.Action).toEqual('sts:AssumeRole');
    // A chained session keeps a source identity its identity provider set, and chaining it then needs
    // sts:SetSourceIdentity in this trust too (IAM User Guide): for the same roles, and only one the session carries
    // (aws:SourceIdentity present), never one the caller picks (review s27-access M2).
    expect([carry.Principal, carry.Action]).toEqual([trust.Principal, 'sts:SetSourceIdentity']);
    expect(carry.Condition).toEqual({ ...trust.Condition, Null: { 'aws:SourceIdentity': 'false' } });
    expect(trust.Condition).toEqual({
      ArnLike: {
        'aws:PrincipalArn': [
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_*' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_*' },
        ],
      },
      // Not another permission set whose name only begins with Developer_ (review s21-tpl T3), nor a role deeper than
      // Identity Center's paths, which the region form's * would match (review s50-access A1, step 3).
      ArnNotLike: {
        'aws:PrincipalArn': [
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_Developer_*_*' },
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/*/*' },
        ],
      },
    });
    // Role chaining: one hour at most, IAM's default (no MaxSessionDuration), and no MFA condition that could never hold.
    expect(developer.MaxSessionDuration).toBeUndefined();
    const govDeveloper = props(template(gov, 'access-roles'), `DeveloperRoleIn${gov.org.accounts.find((a) => a.name === 'account2-gov')!.id}`);
    expect(govDeveloper.AssumeRolePolicyDocument.Statement[0].Condition.Bool).toBeUndefined();
    expect(govDeveloper.MaxSessionDuration).toBeUndefined();
  });

  // The role ARNs Identity Center gives a permission set's role, as IAM reports them in aws:PrincipalArn:
  // an instance homed in us-east-1 has no region segment, one homed elsewhere has it.
  it.each([
    ['us-east-1 home region', 'arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_0123456789abcdef', true],
    ['eu-west-1 home region', 'arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Developer_0123456789abcdef', true],
    ['another permission set', 'arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef', false],
    ['a role outside the reserved path', 'arn:aws:iam::555555555555:role/AWSReservedSSO_Developer_0123456789abcdef', false],
    ['another account', 'arn:aws:iam::666666666666:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_0123456789abcdef', false],
    // A permission set's name may hold '_' (CreatePermissionSet Name [\w+=,.@-]+): Developer_Contractors is another set
    // that AWSReservedSSO_Developer_* alone would admit (review s21-tpl T3).
    ['a permission set named Developer_Contractors, eu-west-1 home', 'arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Developer_Contractors_0123456789abcdef', false],
    ['a permission set named Developer_ReadOnly, us-east-1 home', 'arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_ReadOnly_0123456789abcdef', false],
  ])('Identity Center role, %s: may assume the developer role = %s', (_what, principalArn, allowed) => {
    const analysis = analyseAccess(example.org, example.stages);
    const role = 'arn:aws:iam::111111111111:role/acme-developer';
    const index = new GrantIndex(analysis.grants);
    const decision = evaluate(index, { principal: { kind: 'aws', arn: principalArn }, action: 'sts:AssumeRole', resource: role, resourceAccount: '111111111111', identityManagedElsewhere: true });
    expect(decision.allowed).toBe(allowed);
  });

  it("decides each action of a path alike with the path's statement answers kept (AppliesMemo) and without", () => {
    const analysis = analyseAccess(example.org, example.stages);
    // A map emptied for each path, and the proof's own memo, which numbers the requests instead.
    for (const memo of [new Map(), new RequestAnswers()] as AppliesMemo[]) {
      let asked = 0;
      for (const path of analysis.paths) {
        memo.clear();
        for (const action of path.actions) {
          const { principal, resource, resourceAccount, context, identityManagedElsewhere, resourceManagedElsewhere } = path;
          const request = { principal, action, resource, resourceAccount, context, identityManagedElsewhere, resourceManagedElsewhere };
          expect(evaluate(analysis.index, request, example.org.organizationId, memo)).toEqual(evaluate(analysis.index, request, example.org.organizationId));
          asked++;
        }
      }
      expect(asked).toBeGreaterThan(analysis.paths.length);
    }
  });

  // aws:PrincipalOrgID is in a request "only if the principal is a member of an organization", aws:ResourceOrgID "only
  // if the account that owns the resource is" (IAM's global condition keys page): the stand-ins for another account
  // and for AWS's own resources carry neither, so an org-scoped grant never lets them through the proof.
  it('org-scoped conditions: the org keys for the org\'s accounts only, never for another account\'s principal or resource', () => {
    const org = 'o-a1b2c3d4e5';
    // A bucket policy (the resource side) or an identity policy on the writer role.
    const grant = (conditions: ResolvedStatement['conditions'], kind: 'bucket' | 'identity'): ResolvedStatement => ({
      stage: 'test',
      account: '111111111111',
      policy: `Test/${kind}`,
      kind,
      effect: 'Allow',
      ...(kind === 'identity' ? { attachedTo: 'arn:aws:iam::111111111111:role/writer' } : {}),
      principals: kind === 'bucket' ? [{ kind: 'any' }] : [],
      actions: ['s3:PutObject'],
      resources: ['arn:aws:s3:::*'],
      conditions,
    });
    const byPrincipal = new GrantIndex([grant({ StringEquals: { 'aws:PrincipalOrgID': [org] } }, 'bucket')]);
    const put = (principal: string, resourceAccount: string) => ({ principal: { kind: 'aws' as const, arn: `arn:aws:iam::${principal}:role/writer` }, action: 's3:PutObject', resource: 'arn:aws:s3:::bucket/key', resourceAccount, identityManagedElsewhere: true });
    expect(evaluate(byPrincipal, put('222222222222', '111111111111'), org).allowed).toBe(true);
    expect(evaluate(byPrincipal, put(OTHER_ACCOUNT, '111111111111'), org).allowed).toBe(false);
    const byResource = new GrantIndex([grant({ StringEquals: { 'aws:ResourceOrgID': [org] } }, 'identity')]);
    const write = (resourceAccount: string) => ({ principal: { kind: 'aws' as const, arn: 'arn:aws:iam::111111111111:role/writer' }, action: 's3:PutObject', resource: 'arn:aws:s3:::bucket/key', resourceAccount, resourceManagedElsewhere: true });
    expect(evaluate(byResource, write('222222222222'), org).allowed).toBe(true);
    expect(evaluate(byResource, write(OTHER_ACCOUNT), org).allowed).toBe(false);
    expect(evaluate(byResource, write(AWS_OWNED_ACCOUNT), org).allowed).toBe(false);
  });

  it('RequestAnswers keeps an answer for its request only', () => {
    const [g, h] = analyseAccess(example.org, example.stages).grants;
    const memo = new RequestAnswers();
    memo.set(g, true);
    memo.set(h, false);
    expect([memo.get(g), memo.get(h)]).toEqual([true, false]);
    memo.clear();
    expect([memo.get(g), memo.get(h)]).toEqual([undefined, undefined]);
    memo.set(h, true);
    expect([memo.get(g), memo.get(h)]).toEqual([undefined, true]);
  });

  it('the CI instance role may only assume the CI roles; EC2 trust carries its recorded exception', () => {
    const identity = template(gov, 'ci-identity');
    const role = identity.Resources.CiInstanceRole;
    const [statement] = props(identity, 'CiInstanceRoleAssumeCiReaderRoles').PolicyDocument.Statement;
    expect(statement.Action).toBe('sts:AssumeRole');
    expect(statement.Resource.map((r: any) => r['Fn::Sub'])).toEqual([
      'arn:${AWS::Partition}:iam::012345678901:role/gov-ci-reader',
      'arn:${AWS::Partition}:iam::098765432109:role/gov-ci-reader',
    ]);
    expect((role.Metadata as any).xstack.exceptions[0]).toMatchObject({ rule: 'XS005', statement: 'TrustService' });
  });

  it('on EC2 the CI host gets Session Manager\'s minimal permissions in every network mode (no AWS managed policy), and ECR pulls from its own account only when isolated', () => {
    const sessionManager = [
      {
        Sid: 'SessionManagerRegisters',
        Effect: 'Allow',
        Action: 'ssm:UpdateInstanceInformation',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' },
      },
      {
        Sid: 'SessionManagerChannels',
        Effect: 'Allow',
        Action: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      },
    ];
    // GovCloud: isolated (nat: false).
    const isolated = template(gov, 'ci-identity');
    expect(props(isolated, 'CiInstanceRole').ManagedPolicyArns).toBeUndefined();
    expect(props(isolated, 'CiInstanceRoleSessionManager').PolicyDocument.Statement).toEqual(sessionManager);
    const [login, pull] = props(isolated, 'CiInstanceRolePullCiImages').PolicyDocument.Statement;
    expect(login).toMatchObject({ Sid: 'EcrLogin', Action: 'ecr:GetAuthorizationToken', Resource: '*' });
    expect(pull).toMatchObject({ Sid: 'PullCiImages', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] });
    expect(pull.Resource['Fn::Sub']).toBe('arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/gov-ci/*');
    expect((isolated.Resources.CiInstanceRolePullCiImages.Metadata as any).xstack.exceptions).toEqual([
      { rule: 'XS002', statement: 'EcrLogin', reason: expect.stringContaining('no resource type') },
    ]);
    expect((isolated.Resources.CiInstanceRoleSessionManager.Metadata as any).xstack.exceptions).toEqual([
      { rule: 'XS002', statement: 'SessionManagerChannels', reason: expect.stringContaining('no resource type') },
    ]);
    // The example: NAT'd, so no ECR grant; and no CloudWatch Logs grant in either mode (nothing on the host sends logs).
    const natted = template(example, 'ci-identity');
    expect(props(natted, 'CiInstanceRole').ManagedPolicyArns).toBeUndefined();
    expect(props(natted, 'CiInstanceRoleSessionManager').PolicyDocument.Statement).toEqual(sessionManager);
    expect(natted.Resources.CiInstanceRolePullCiImages).toBeUndefined();
    for (const t of [isolated, natted]) expect(JSON.stringify(t)).not.toMatch(/"logs:/);
  });

  it('on EKS the CI role gets neither Systems Manager nor ECR: the node pulls images, and a pod is no managed instance', () => {
    const runtime = { kind: 'eks-pod-identity', cluster: 'ci', namespace: 'jenkins', serviceAccount: 'jenkins' } as const;
    const t = renderTemplate(ciIdentity(new Names('acme'), ['111111111111'], runtime, { isolated: true }));
    expect(props(t, 'CiInstanceRole').ManagedPolicyArns).toBeUndefined();
    expect(Object.keys(t.Resources).sort()).toEqual(['CiInstanceRole', 'CiInstanceRoleAssumeCiReaderRoles', 'CiPodIdentityAssociation']);
    expect(JSON.stringify(t)).not.toMatch(/ssm/);
  });
});

describe('CI network', () => {
  const routesOf = (t: CfnTemplate, table: string) => Object.values(t.Resources).filter((r) => r.Type === 'AWS::EC2::Route' && (r.Properties as any).RouteTableId.Ref === table);
  const subnetsOf = (t: CfnTemplate) => Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::Subnet');

  it.each([
    ['example (NAT, the default)', example, ['codecommit', 'git-codecommit', 'sts']],
    ['govcloud (isolated, FIPS)', gov, ['codecommit-fips', 'ecr.api', 'ecr.dkr', 'git-codecommit-fips', 's3', 'ssm', 'ssmmessages', 'sts']],
  ])('%s: CI subnets have no internet-gateway route and no public IPs; every endpoint but ssmmessages with a conditioned policy; flow logs', (_name, compiled, services) => {
    const t = template(compiled, 'ci-network');
    for (const [, s] of subnetsOf(t)) expect((s.Properties as any).MapPublicIpOnLaunch).toBe(false);
    for (const r of routesOf(t, 'CiRouteTable')) expect((r.Properties as any).GatewayId).toBeUndefined();
    const endpoints = Object.values(t.Resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint').map((r) => r.Properties as any);
    expect(endpoints.map((e) => e.ServiceName['Fn::Sub'].replace(/^com\.amazonaws\.\$\{AWS::Region\}\./, '')).sort()).toEqual(services);
    for (const e of endpoints) {
      if (e.VpcEndpointType === 'Interface') expect(e.PrivateDnsEnabled).toBe(true);
      const name = e.ServiceName['Fn::Sub'];
      // ssmmessages takes no endpoint policy (src/services/vpc-endpoints.ts): it keeps AWS's default; every other endpoint
      // lets through only conditioned requests (the org's CI roles, this account's principals, presigned ECR layers).
      if (name.endsWith('.ssmmessages')) expect(e.PolicyDocument).toBeUndefined();
      else for (const s of e.PolicyDocument.Statement) expect(Object.keys(s.Condition).length, name).toBeGreaterThan(0);
    }
    const flowLog = Object.values(t.Resources).find((r) => r.Type === 'AWS::EC2::FlowLog')!.Properties as any;
    expect(flowLog).toMatchObject({ ResourceId: { Ref: 'Vpc' }, ResourceType: 'VPC', TrafficType: 'ALL', LogGroupName: { Ref: 'FlowLogGroup' } });
    for (const r of Object.values(t.Resources).filter((x) => x.Type === 'AWS::EC2::SecurityGroup')) {
      for (const rule of (r.Properties as any).SecurityGroupIngress ?? []) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    }
  });

  it('isolated: the S3 gateway endpoint reads only ECR\'s image layers through presigned URLs; ECR and SSM endpoints admit only this account\'s principals on its own resources', () => {
    const t = template(gov, 'ci-network');
    const ofThisAccount = { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } };
    expect(props(t, 'S3GatewayEndpoint').PolicyDocument.Statement).toEqual([
      {
        Sid: 'EcrImageLayers',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*' },
        Condition: { StringEquals: { 's3:authType': ['REST-QUERY-STRING'] } },
      },
    ]);
    for (const id of ['EcrApiEndpoint', 'EcrDockerEndpoint']) {
      expect(props(t, id).PolicyDocument.Statement, id).toEqual([
        { Sid: 'EcrLogin', Effect: 'Allow', Principal: '*', Action: 'ecr:GetAuthorizationToken', Resource: '*', Condition: ofThisAccount },
        {
          Sid: 'PullCiImages',
          Effect: 'Allow',
          Principal: '*',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/gov-ci/*' },
          Condition: ofThisAccount,
        },
      ]);
    }
    expect(props(t, 'SsmEndpoint').PolicyDocument.Statement).toEqual([
      {
        Sid: 'SessionManagerRegisters',
        Effect: 'Allow',
        Principal: '*',
        Action: 'ssm:UpdateInstanceInformation',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' },
        Condition: ofThisAccount,
      },
    ]);
    // No ec2messages endpoint: nothing on the CI host may use it (its role grants no ec2messages action).
    expect(t.Resources.Ec2MessagesEndpoint).toBeUndefined();
  });

  it('isolated: no internet gateway, NAT gateway or route at all; by default (seed 000) the CI route goes through a NAT gateway in a separate public subnet', () => {
    const closed = template(gov, 'ci-network');
    expect(Object.values(closed.Resources).map((r) => r.Type)).not.toEqual(expect.arrayContaining(['AWS::EC2::InternetGateway']));
    expect(Object.values(closed.Resources).filter((r) => ['AWS::EC2::Route', 'AWS::EC2::NatGateway'].includes(r.Type))).toEqual([]);
    const open = template(example, 'ci-network');
    expect(routesOf(open, 'CiRouteTable').map((r) => Object.keys(r.Properties as object).sort())).toEqual([['DestinationCidrBlock', 'NatGatewayId', 'RouteTableId']]);
    expect(routesOf(open, 'NatRouteTable').map((r) => (r.Properties as any).GatewayId)).toEqual([{ Ref: 'InternetGateway' }]);
    expect(props(open, 'NatGateway').SubnetId).toEqual({ Ref: 'NatSubnet' });
    const ciSubnets = subnetsOf(open).filter(([id]) => id.startsWith('CiSubnet')).map(([id]) => id);
    expect(ciSubnets).not.toContain('NatSubnet');
    expect(ciSubnets.length).toBe(2);
  });

  it('splits the VPC block into subnets four bits longer', () => {
    expect(subnetCidrs('10.20.0.0/16', 3)).toEqual(['10.20.0.0/20', '10.20.16.0/20', '10.20.32.0/20']);
    expect(subnetCidrs('10.30.0.0/20', 2)).toEqual(['10.30.0.0/24', '10.30.1.0/24']);
  });

  it('a small network is compiled, with a note of the addresses each CI subnet leaves once AWS and the interface endpoints have theirs (CreateSubnet)', () => {
    const withCidr = (file: string, cidr: string) => {
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/cidr: [0-9./]+/);
      const changed = text.replace(/cidr: [0-9./]+/, `cidr: ${cidr}`);
      return compileOrg(parseOrg(changed, file)).stages.find((s) => s.module === 'ci-network')!.notes;
    };
    const interfaceEndpoints = (c: typeof example) =>
      Object.values(template(c, 'ci-network').Resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint' && (r.Properties as { VpcEndpointType?: string }).VpcEndpointType === 'Interface').length;
    expect(withCidr('parameters/example.yaml', '10.20.0.0/16')).toEqual([]);
    // /24 → /28 subnets: 16 addresses, 5 AWS's, one per interface endpoint.
    const open = interfaceEndpoints(example);
    expect(withCidr('parameters/example.yaml', '10.20.0.0/24').join('\n')).toContain(`each CI subnet is a /28 (the network's 10.20.0.0/24 split four bits further): of its 16 addresses AWS reserves 5 and the ${open} interface endpoints take one each, leaving ${16 - 5 - open}`);
    const isolated = interfaceEndpoints(gov);
    expect(isolated).toBeGreaterThan(open);
    expect(withCidr('parameters/govcloud.yaml', '10.40.0.0/22').join('\n')).toContain(`leaving ${64 - 5 - isolated} for CI hosts`);
  });

  it('endpoint policies are checked like every other policy', () => {
    expect(policyDocuments(template(example, 'ci-network')).filter((d) => d.kind === 'endpoint')).toHaveLength(3);
    expect(policyDocuments(template(gov, 'ci-network')).filter((d) => d.kind === 'endpoint').map((d) => d.resource).sort()).toEqual([
      'CodeCommitEndpoint',
      'EcrApiEndpoint',
      'EcrDockerEndpoint',
      'GitCodeCommitEndpoint',
      'S3GatewayEndpoint',
      'SsmEndpoint',
      'StsEndpoint',
    ]);
  });

  describe('zones pinned by AZ ID (availabilityZoneIds)', { timeout: 60_000 }, () => {
    const pinned = (file: string, ids: string) => {
      const text = readFileSync(file, 'utf8');
      const edited = text.replace('      availabilityZones: 2\n', `      availabilityZones: 2\n      availabilityZoneIds: ${ids}\n`);
      expect(edited).not.toBe(text);
      return compileOrg(parseOrg(edited, file));
    };
    const zones = (t: CfnTemplate) =>
      Object.fromEntries(subnetsOf(t).map(([id, s]) => [id, Object.fromEntries(Object.entries(s.Properties as object).filter(([k]) => k.startsWith('AvailabilityZone')))]));
    /** The template with the subnets' zones taken out: what must not change. */
    const withoutZones = (t: CfnTemplate) => JSON.parse(JSON.stringify(t, (k, v) => (k.startsWith('AvailabilityZone') ? undefined : v)));
    const exampleInIds = pinned('parameters/example.yaml', '[euw1-az3, euw1-az1]');
    const govInIds = pinned('parameters/govcloud.yaml', '[usgw1-az2, usgw1-az3]');

    it('without them, the subnets take the first zones Fn::GetAZs names (as before)', () => {
      const select = (i: string) => ({ AvailabilityZone: { 'Fn::Select': [i, { 'Fn::GetAZs': '' }] } });
      expect(zones(template(example, 'ci-network'))).toEqual({ CiSubnet1: select('0'), CiSubnet2: select('1'), NatSubnet: select('0') });
      expect(zones(template(gov, 'ci-network'))).toEqual({ CiSubnet1: select('0'), CiSubnet2: select('1') });
    });

    it('with them, each subnet names its zone by AvailabilityZoneId, the NAT subnet the first CI subnet\'s; nothing else changes', () => {
      const t = template(exampleInIds, 'ci-network');
      expect(zones(t)).toEqual({ CiSubnet1: { AvailabilityZoneId: 'euw1-az3' }, CiSubnet2: { AvailabilityZoneId: 'euw1-az1' }, NatSubnet: { AvailabilityZoneId: 'euw1-az3' } });
      expect(zones(template(govInIds, 'ci-network'))).toEqual({ CiSubnet1: { AvailabilityZoneId: 'usgw1-az2' }, CiSubnet2: { AvailabilityZoneId: 'usgw1-az3' } });
      expect(withoutZones(t)).toEqual(withoutZones(template(example, 'ci-network')));
      expect(withoutZones(template(govInIds, 'ci-network'))).toEqual(withoutZones(template(gov, 'ci-network')));
    });

    it('cfn-lint accepts the templates, in the commercial and the GovCloud Region', () => {
      const dir = tempDir('azs');
      for (const [name, compiled, region] of [['example', exampleInIds, 'eu-west-1'], ['govcloud', govInIds, 'us-gov-west-1']] as const) {
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, compiled.files.get('templates/ci-network.yaml')!);
        expect(readFileSync(file, 'utf8')).toContain('AvailabilityZoneId:');
        const lint = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', ['--regions', region, '--', file], { encoding: 'utf8' });
        expect(lint.stdout + lint.stderr, name).toBe('');
        expect(lint.status, name).toBe(0);
      }
    });
  });
});

describe('profiles and clone URLs', () => {
  const govOrg = loadOrgFile('parameters/govcloud.yaml');
  const exampleOrg = loadOrgFile('parameters/example.yaml');

  it('developer profiles for every source account, GovCloud partition and region', () => {
    const g = generateProfiles(govOrg, { kind: 'developer', sourceProfile: 'gov-federated' });
    expect(renderProfiles(g.profiles)).toBe(`[profile gov-account1-gov-developer]
role_arn = arn:aws-us-gov:iam::012345678901:role/gov-developer
source_profile = gov-federated
region = us-gov-west-1
sts_regional_endpoints = regional
use_fips_endpoint = true

[profile gov-account2-gov-developer]
role_arn = arn:aws-us-gov:iam::098765432109:role/gov-developer
source_profile = gov-federated
region = us-gov-west-1
sts_regional_endpoints = regional
use_fips_endpoint = true
`);
    expect(g.cloneUrls.map((c) => c.url)).toEqual(['codecommit::us-gov-west-1://gov-account1-gov-developer@mission-app', 'codecommit::us-gov-west-1://gov-account2-gov-developer@records-service']);
  });

  describe('FIPS endpoints where the partition uses FIPS CodeCommit (GovCloud), nowhere else', () => {
    const USE_FIPS: [string, string] = ['use_fips_endpoint', 'true'];
    const identities: Array<[string, ProfileIdentity]> = [
      ['CI', { kind: 'ci' }],
      ['developer', { kind: 'developer', sourceProfile: 'gov-federated' }],
      ['SSO developer', { kind: 'developer-sso', ssoSession: 'corp', ssoAccountId: '555555555555', ssoRoleName: 'Developer' }],
    ];

    it.each(identities)('%s: git is told the FIPS git host, the one the Jenkins example sets (codeCommitGitHost)', (_name, identity) => {
      const host = codeCommitGitHost('aws-us-gov', 'us-gov-west-1');
      expect(host).toBe('git-codecommit-fips.us-gov-west-1.amazonaws.com');
      expect(generateProfiles(govOrg, identity).gitEnvironment).toEqual([['CODE_COMMIT_ENDPOINT', host]]);
      expect(jenkinsExample(govOrg).get('jenkins/Dockerfile')).toContain(`ENV CODE_COMMIT_ENDPOINT=${host}\n`);
      expect(generateProfiles(exampleOrg, identity).gitEnvironment).toEqual([]);
    });

    it('CI and source-profile developer role profiles set use_fips_endpoint; IAM Identity Center ones do not (its sign-in has no FIPS host)', () => {
      for (const [name, identity] of identities) {
        const gov = generateProfiles(govOrg, identity).profiles;
        const roleProfiles = gov.filter((p) => p.settings.some(([k]) => k === 'role_arn'));
        expect(roleProfiles.length, name).toBe(2);
        for (const p of gov) expect(p.settings.some(([k]) => k === 'use_fips_endpoint'), `${name} ${p.name}`).toBe(identity.kind !== 'developer-sso');
        for (const p of roleProfiles) if (identity.kind !== 'developer-sso') expect(p.settings, `${name} ${p.name}`).toContainEqual(USE_FIPS);
        for (const p of generateProfiles(exampleOrg, identity).profiles) expect(p.settings.map(([k]) => k), `example ${name} ${p.name}`).not.toContain('use_fips_endpoint');
      }
    });

    it("IRSA: the CI base profile, which calls STS's AssumeRoleWithWebIdentity, sets it too", () => {
      const text = readFileSync('parameters/govcloud.yaml', 'utf8').replace(
        /  ci:\n    account: account1-gov\n    network:\n(      .*\n)+/,
        '  ci:\n    account: account1-gov\n    eks: { mode: irsa, oidcIssuer: oidc.eks.us-gov-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE, namespace: jenkins, serviceAccount: jenkins }\n',
      );
      const profiles = generateProfiles(parseOrg(text, 'gov-irsa.yaml'), { kind: 'ci' }).profiles;
      expect(profiles[0].name).toBe('gov-ci-base');
      expect(profiles[0].settings).toContainEqual(['web_identity_token_file', '/var/run/secrets/eks.amazonaws.com/serviceaccount/token']);
      for (const p of profiles) expect(p.settings, p.name).toContainEqual(USE_FIPS);
      // Builds in agent pods get credentials only with the image and the service account the CI role trusts.
      const jenkinsfile = jenkinsExample(parseOrg(text, 'gov-irsa.yaml')).get('jenkins/Jenkinsfile')!;
      expect(jenkinsfile).toContain('// Runs where this image runs with the service account jenkins/jenkins: on the controller, or in agent pods\n');
      // The cluster's own step, which no template takes (review s36-access M2); Pod Identity's is the agent.
      expect(jenkinsfile).toContain('// Before the first build: kubectl annotate serviceaccount -n jenkins jenkins eks.amazonaws.com/role-arn=arn:aws-us-gov:iam::012345678901:role/gov-ci-instance\n');
      const podIdentity = text.replace(/eks: \{ mode: irsa, oidcIssuer: [^,]+,/, 'eks: { mode: pod-identity, cluster: ci,');
      expect(jenkinsExample(parseOrg(podIdentity, 'gov-pod.yaml')).get('jenkins/Jenkinsfile')).toContain('// Before the first build: the cluster runs the EKS Pod Identity Agent (the eks-pod-identity-agent add-on');
    });
  });

  it('SSO and CI variants', () => {
    const sso = generateProfiles(exampleOrg, { kind: 'developer-sso', ssoSession: 'acme', ssoAccountId: '555555555555', ssoRoleName: 'Developer' });
    expect(renderProfiles(sso.profiles)).toBe(`[profile acme-sso]
sso_session = acme
sso_account_id = 555555555555
sso_role_name = Developer
region = eu-west-1

[profile acme-shared-services-developer]
role_arn = arn:aws:iam::111111111111:role/acme-developer
source_profile = acme-sso
region = eu-west-1
sts_regional_endpoints = regional
`);
    const ci = generateProfiles(exampleOrg, { kind: 'ci' });
    expect(ci.profiles[0].settings).toEqual([['role_arn', 'arn:aws:iam::111111111111:role/acme-ci-reader'], ['credential_source', 'Ec2InstanceMetadata'], ['region', 'eu-west-1'], ['sts_regional_endpoints', 'regional']]);
  });

  const existing = `[default]
region = us-east-1

# my own notes
[profile personal]
region = eu-central-1
`;
  const profiles = generateProfiles(govOrg, { kind: 'developer', sourceProfile: 'default' }).profiles;

  it('merge keeps every byte outside its block, and a second merge changes nothing', () => {
    const once = mergeIntoConfig(existing, 'govcloud', profiles, 'gov');
    expect(once.startsWith(existing)).toBe(true);
    expect(once).toContain("# >>> xstack govcloud: written by 'xstack profiles'; edits inside this block are replaced >>>");
    expect(mergeIntoConfig(once, 'govcloud', profiles, 'gov')).toBe(once);
    const withTail = `${once}[profile later]\nregion = us-west-2\n`;
    const changed = mergeIntoConfig(withTail, 'govcloud', generateProfiles(govOrg, { kind: 'developer', sourceProfile: 'other' }).profiles, 'gov');
    expect(changed.startsWith(existing)).toBe(true);
    expect(changed.endsWith('[profile later]\nregion = us-west-2\n')).toBe(true);
    expect(changed).toContain('source_profile = other');
    expect(changed).not.toContain('source_profile = default\n');
  });

  it('a config whose last line has no line end: the block starts a line of its own, after a blank one, and the last value is kept as it was (review s41-mutations-3 PR4)', () => {
    const unended = existing.replace(/\n$/, '');
    const merged = mergeIntoConfig(unended, 'govcloud', profiles, 'gov');
    expect(merged.startsWith(`${unended}\n\n# >>> xstack govcloud: written by 'xstack profiles'`)).toBe(true);
    expect(merged.split('\n')).toContain('region = eu-central-1');
    expect(mergeIntoConfig(merged, 'govcloud', profiles, 'gov')).toBe(merged);
  });

  it('refuses to overwrite a profile it did not write, and a broken block', () => {
    expect(() => mergeIntoConfig(`${existing}[profile gov-account1-gov-developer]\nregion = x\n`, 'govcloud', profiles, 'gov')).toThrowError(
      /refusing to overwrite profile xstack did not write: gov-account1-gov-developer/,
    );
    const once = mergeIntoConfig(existing, 'govcloud', profiles, 'gov');
    expect(() => mergeIntoConfig(once.replace('# <<< xstack govcloud <<<', ''), 'govcloud', profiles, 'gov')).toThrowError(ProfilesError);
  });

  it("a clashing profile in another org's xstack block (an org file renamed or copied) is said to be there, with what to do (review s23 E11)", () => {
    const once = mergeIntoConfig(existing, 'govcloud', profiles, 'gov');
    const first = once.split('\n').indexOf("# >>> xstack govcloud: written by 'xstack profiles'; edits inside this block are replaced >>>") + 1;
    const last = once.split('\n').indexOf('# <<< xstack govcloud <<<') + 1;
    const names = profiles.map((p) => p.name).join(', ');
    expect(() => mergeIntoConfig(once, 'govcloud-renamed', profiles, 'gov')).toThrowError(
      new ProfilesError(
        `profiles ${names} are in xstack's block for 'govcloud' (lines ${first}-${last}), written from an org file of the same prefix, or from this one before it was renamed: ` +
          "delete that block (from '# >>> xstack govcloud' to '# <<< xstack govcloud <<<'), then run again",
      ),
    );
    // One of the user's own beside it is named as the user's, by line.
    const withMine = `${once}[profile ${profiles[0].name}] # mine\n`;
    expect(() => mergeIntoConfig(withMine, 'govcloud-renamed', profiles, 'gov')).toThrowError(
      new RegExp(`^refusing to overwrite profile xstack did not write: ${profiles[0].name} \\(line ${withMine.split('\n').length - 1}\\); rename or remove it, then run again; profiles ${names} are in xstack's block for 'govcloud'`),
    );
  });

  it('--write: backup of the previous file, nothing written when up to date', () => {
    const dir = tempDir('profiles');
    const file = join(dir, 'aws', 'config');
    mkdirSync(join(dir, 'aws'));
    writeFileSync(file, existing);
    expect(writeProfiles(file, 'govcloud', profiles, 'gov')).toMatchObject({ changed: true, backup: { file: `${file}.xstack-backup`, madeNow: true } });
    expect(readFileSync(`${file}.xstack-backup`, 'utf8')).toBe(existing);
    const written = readFileSync(file, 'utf8');
    expect(writeProfiles(file, 'govcloud', profiles, 'gov')).toEqual({ changed: false });
    expect(readFileSync(file, 'utf8')).toBe(written);
    const fresh = join(dir, 'new-config');
    expect(writeProfiles(fresh, 'govcloud', profiles, 'gov').backup).toBeUndefined();
    expect(existsSync(fresh)).toBe(true);
    // A config made new is readable by its owner only, as the AWS CLI makes its own, whatever the umask (review s40-mutations 12).
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
  });

  it('a config with CRLF line ends keeps them, and its own block is still found; a broken section header is named by line', () => {
    const crlf = existing.replaceAll('\n', '\r\n');
    const once = mergeIntoConfig(crlf, 'govcloud', profiles, 'gov');
    expect(once.replaceAll('\r\n', '')).not.toContain('\n');
    expect(mergeIntoConfig(once, 'govcloud', profiles, 'gov')).toBe(once);
    expect(() => mergeIntoConfig(`${existing}[profile broken\nregion = x\n`, 'govcloud', profiles, 'gov')).toThrowError(
      new RegExp(`^line ${existing.split('\n').length} of the config, '\\[profile broken', is not a section header the AWS CLI reads \\(no closing '\\]'\\); fix it, then run again$`),
    );
  });

  it('--write: the first backup is kept (the file as it was before xstack wrote to it), a link stays a link, a folder is refused', () => {
    const dir = tempDir('profiles-link');
    const dotfiles = join(dir, 'dotfiles');
    mkdirSync(dotfiles);
    mkdirSync(join(dir, 'aws'));
    writeFileSync(join(dotfiles, 'config'), existing);
    const link = join(dir, 'aws', 'config');
    symlinkSync(join(dotfiles, 'config'), link);
    writeProfiles(link, 'govcloud', profiles, 'gov');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dotfiles, 'config'), 'utf8')).toContain('# >>> xstack govcloud');
    // Another org's profiles written later: the backup still holds the file as the user had it.
    const example = loadOrgFile('parameters/example.yaml');
    writeProfiles(link, 'example', generateProfiles(example, { kind: 'developer', sourceProfile: 'corp' }).profiles, 'acme');
    expect(readFileSync(`${link}.xstack-backup`, 'utf8')).toBe(existing);
    expect(readdirSync(dotfiles).filter((f) => f.includes('xstack-tmp'))).toEqual([]);
    expect(() => writeProfiles(join(dir, 'aws'), 'govcloud', profiles, 'gov')).toThrowError(/--write .*aws is a folder; give the config file in it, e\.g\. ~\/\.aws\/config/);
  });

  it("another project's org file of the same name (another prefix) writes a block of the same name: its profiles are never replaced, the refusal names the file, the block and them; this org's own block, an account since renamed, is replaced as before (review s38-cli M3)", () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const withPrefix = (prefix: string) => parseOrg(text.replace(/^prefix: acme$/m, `prefix: ${prefix}`), 'elsewhere/example.yaml');
    const acme = loadOrgFile('parameters/example.yaml');
    const mine = generateProfiles(acme, { kind: 'developer', sourceProfile: 'default' }).profiles;
    const file = join(tempDir('same-stem'), 'config');
    writeFileSync(file, '[default]\nregion = eu-west-1\n');
    writeProfiles(file, profileBlock(acme), mine, 'acme');
    const before = readFileSync(file, 'utf8');
    // beta's profiles, and those of acme-dev, whose names begin as acme's do: told apart by the role each assumes.
    for (const prefix of ['beta', 'acme-dev']) {
      const other = withPrefix(prefix);
      expect(profileBlock(other)).toBe(profileBlock(acme));
      expect(() => writeProfiles(file, profileBlock(other), generateProfiles(other, { kind: 'developer', sourceProfile: 'default' }).profiles, prefix)).toThrowError(
        new ProfilesError(
          `${file}: refusing to replace xstack's block for 'example' (lines 4-10): it holds profiles this org does not write (its profiles are named ${prefix}-… and assume its ${prefix}-… roles): acme-shared-services-developer (line 5); ` +
            "another org file named like this one wrote them (the block is named after the file's name), or they were added by hand, and replacing the block would remove them. " +
            "Write to another config file (--write FILE, used with AWS_CONFIG_FILE=FILE), or rename this org file and its layout file (example.layout.json) with it (its block is then another); move a profile of your own out of the block; if they are this org's own from before its prefix changed, delete the block (from '# >>> xstack example' to '# <<< xstack example <<<'), then run again",
        ),
      );
      expect(readFileSync(file, 'utf8')).toBe(before);
    }
    const dev = withPrefix('acme-dev');
    const devFile = join(tempDir('same-stem-dev'), 'config');
    writeProfiles(devFile, profileBlock(dev), generateProfiles(dev, { kind: 'developer', sourceProfile: 'default' }).profiles, 'acme-dev');
    expect(() => writeProfiles(devFile, profileBlock(acme), mine, 'acme')).toThrowError(/refusing to replace xstack's block for 'example' .*: acme-dev-shared-services-developer \(line 2\)/);
    // A block an earlier xstack wrote (the same header), holding a profile of an account since renamed: replaced.
    const renamed = before.replace('[profile acme-shared-services-developer]', '[profile acme-shared-developer]');
    writeFileSync(file, renamed);
    writeProfiles(file, profileBlock(acme), mine, 'acme');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it("--write names the config file in a refusal; a '.xstack-backup' beside a config xstack never wrote is left as it is, the backup made under a new name and named (review s38-cli m11)", () => {
    const file = join(tempDir('backup-taken'), 'config');
    writeFileSync(file, `${existing}[profile gov-account1-gov-developer]\nregion = x\n`);
    expect(() => writeProfiles(file, 'govcloud', profiles, 'gov')).toThrowError(new RegExp(`^${file}: refusing to overwrite profile xstack did not write: gov-account1-gov-developer \\(line 7\\)`));
    writeFileSync(file, existing);
    writeFileSync(`${file}.xstack-backup`, 'notes of my own\n');
    const result = writeProfiles(file, 'govcloud', profiles, 'gov');
    expect(result.backup).toMatchObject({ file: `${file}.xstack-backup-2`, madeNow: true, passed: [`${file}.xstack-backup`] });
    expect(backupNote(result.backup!)).toBe(`the file as it was is kept as ${file}.xstack-backup-2; ${file}.xstack-backup, there already, was left as it was`);
    expect(readFileSync(`${file}.xstack-backup`, 'utf8')).toBe('notes of my own\n');
    expect(readFileSync(`${file}.xstack-backup-2`, 'utf8')).toBe(existing);
    // A later write finds its block: the backup this first write made is the one that holds the file as it was.
    const later = writeProfiles(file, 'example', generateProfiles(exampleOrg, { kind: 'developer', sourceProfile: 'default' }).profiles, 'acme');
    expect(later.backup).toMatchObject({ file: `${file}.xstack-backup-2`, madeNow: false });
    expect(readFileSync(`${file}.xstack-backup-2`, 'utf8')).toBe(existing);
  });

  it('a config reset to the same text before each write (a dotfiles tool, a CI image) keeps its one backup, not one more each time (review s38-helpers-diff H4)', () => {
    const file = join(tempDir('backup-reset'), 'config');
    for (let i = 0; i < 3; i++) {
      writeFileSync(file, existing);
      const result = writeProfiles(file, 'govcloud', profiles, 'gov');
      expect(result.backup, `write ${i + 1}`).toMatchObject({ file: `${file}.xstack-backup`, madeNow: i === 0 });
    }
    expect(readdirSync(dirname(file)).sort()).toEqual(['config', 'config.xstack-backup']);
    // Another text: a backup of its own, the earlier names listed at most three.
    writeFileSync(file, `${existing}# changed\n`);
    expect(backupNote(writeProfiles(file, 'govcloud', profiles, 'gov').backup!)).toBe(`the file as it was is kept as ${file}.xstack-backup-2; ${file}.xstack-backup, there already, was left as it was`);
  });

  it('a config name that leaves no room for the temporary file beside it: refused before any backup is made (review s38-delta D7)', () => {
    const dir = tempDir('backup-long');
    const file = join(dir, 'c'.repeat(240));
    writeFileSync(file, existing);
    expect(() => writeProfiles(file, 'govcloud', profiles, 'gov')).toThrow(/its name is 240 bytes: xstack writes <name>\.xstack-tmp-<id> beside it, .* so this one may have at most 236; it was left as it was/);
    expect(readdirSync(dir)).toEqual(['c'.repeat(240)]);
  });

  it('a backup is reused only when it holds the very bytes: two configs that read alike as UTF-8 (Latin-1) are two, and a backup name that is a folder is passed over (review s38-delta D1)', () => {
    const dir = tempDir('backup-bytes');
    const file = join(dir, 'config');
    writeFileSync(`${file}.xstack-backup`, Buffer.concat([Buffer.from(existing), Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe8, 0x0a])]));
    mkdirSync(`${file}.xstack-backup-2`);
    const mine = Buffer.concat([Buffer.from(existing), Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a])]);
    writeFileSync(file, mine);
    const result = writeProfiles(file, 'govcloud', profiles, 'gov');
    expect(result.backup).toMatchObject({ file: `${file}.xstack-backup-3`, madeNow: true });
    expect(readFileSync(`${file}.xstack-backup-3`).equals(mine)).toBe(true);
  });
});

describe('xstack profiles on stdout', () => {
  const CLI = '.build/src/cli.js';
  /** botocore's own config reader, the one the AWS CLI uses: every section of the file, or its error. */
  const botocoreRead = (file: string) =>
    spawnSync(
      '.venv/bin/python',
      ['-c', 'import json, sys, botocore.configloader as c; print(json.dumps(c.raw_config_parse(sys.argv[1], parse_subsections=False)))', file],
      { encoding: 'utf8' },
    );

  it.each([
    ['developer', ['--for', 'developer'], '\n'],
    ['SSO developer', ['--for', 'developer', '--sso-session', 'corp', '--sso-account-id', '555555555555', '--sso-role', 'Developer'], '\n'],
    ['CI', ['--for', 'ci'], '\n'],
    // A file edited by hand often ends without a line end: the block must not end its last value (review s36-access M1).
    ['developer, to a config whose last line has no line end,', ['--for', 'developer'], ''],
  ])('%s: appended to an existing AWS config, botocore still reads every profile, old and new', (_name, args, lastLineEnd) => {
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', ...args], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const file = join(tempDir('append'), 'config');
    // Headers as people write them: a comment after one, a quoted name (botocore reads both as the profile).
    const mine = `[default]\nregion = eu-west-1\n\n[profile mine] # hand-written\nrole_arn = arn:aws:iam::999999999999:role/me\nsource_profile = default\n[profile "quoted"] ; mine too\nregion = eu-west-1${lastLineEnd}`;
    writeFileSync(file, mine);
    appendFileSync(file, run.stdout);
    const read = botocoreRead(file);
    expect(read.status, read.stderr).toBe(0);
    const sections = JSON.parse(read.stdout) as Record<string, Record<string, string>>;
    expect(sections.default).toEqual({ region: 'eu-west-1' });
    expect(sections['profile mine']).toEqual({ role_arn: 'arn:aws:iam::999999999999:role/me', source_profile: 'default' });
    expect(sections['profile "quoted"']).toEqual({ region: 'eu-west-1' });
    const org = loadOrgFile('parameters/example.yaml');
    const generated = generateProfiles(org, args.includes('ci') ? { kind: 'ci' } : args.includes('corp') ? { kind: 'developer-sso', ssoSession: 'corp', ssoAccountId: '555555555555', ssoRoleName: 'Developer' } : { kind: 'developer', sourceProfile: 'default' });
    for (const p of generated.profiles) expect(sections[`profile ${p.name}`]).toEqual(Object.fromEntries(p.settings));
    expect(Object.keys(sections).sort()).toEqual(['default', 'profile mine', 'profile "quoted"', ...generated.profiles.map((p) => `profile ${p.name}`)].sort());
    // The clone URLs are in the output, as comments.
    for (const c of generated.cloneUrls) expect(run.stdout).toContain(`# git clone ${c.url}\n`);
    // A later --write replaces the appended block instead of refusing it as foreign profiles.
    const block = profileBlock(org, { ci: args.includes('ci') });
    expect(() => writeProfiles(file, block, generated.profiles, org.prefix)).not.toThrow();
    expect(botocoreRead(file).status).toBe(0);
  });

  it('appended twice, the block repeats every profile and botocore refuses the file; --write folds the copies into one, keeping every line of the user\'s (review s36-access M1)', () => {
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const file = join(tempDir('append-twice'), 'config');
    writeFileSync(file, '[default]\nregion = eu-west-1\n');
    appendFileSync(file, run.stdout);
    appendFileSync(file, '[profile between]\nregion = eu-west-1\n');
    appendFileSync(file, run.stdout);
    expect(botocoreRead(file).status).not.toBe(0);
    const org = loadOrgFile('parameters/example.yaml');
    writeProfiles(file, profileBlock(org), generateProfiles(org, { kind: 'developer', sourceProfile: 'default' }).profiles, org.prefix);
    const read = botocoreRead(file);
    expect(read.status, read.stderr).toBe(0);
    const sections = JSON.parse(read.stdout) as Record<string, Record<string, string>>;
    expect(sections.default).toEqual({ region: 'eu-west-1' });
    expect(sections['profile between']).toEqual({ region: 'eu-west-1' });
    const text = readFileSync(file, 'utf8');
    expect(text.split('# >>> xstack example:')).toHaveLength(2);
    expect(text.split('# <<< xstack example <<<')).toHaveLength(2);
  });

  it("blocks of one name that hold profiles this run does not write (CI profiles an earlier xstack printed under the developers' block name) are not folded: refused, naming them, the file unchanged (review s36-diff M2)", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const developer = generateProfiles(org, { kind: 'developer', sourceProfile: 'default' });
    const ci = generateProfiles(org, { kind: 'ci' });
    // As the earlier xstack printed them: each under the block the developers' profiles have now.
    const printed = (profiles: typeof ci.profiles) => `\n# >>> xstack example: written by 'xstack profiles'; edits inside this block are replaced >>>\n${renderProfiles(profiles)}# <<< xstack example <<<\n`;
    const file = join(tempDir('two-blocks'), 'config');
    const before = `[default]\nregion = eu-west-1\n${printed(developer.profiles)}${printed(ci.profiles)}`;
    writeFileSync(file, before);
    expect(botocoreRead(file).status).toBe(0);
    expect(() => writeProfiles(file, profileBlock(org), developer.profiles, org.prefix)).toThrowError(
      new RegExp(`^${file}: the config holds 2 xstack blocks for 'example' \\(lines [0-9-]+, [0-9-]+\\), which hold profiles this run does not write: ${ci.profiles.map((p) => `${p.name} \\(line \\d+\\)`).join(', ')}; delete the copy that holds them \\(CI profiles have a block of their own now`),
    );
    expect(readFileSync(file, 'utf8')).toBe(before);
    // One block appended twice, the same text in each, is replaced as the one block it is, though it holds a profile
    // this run no longer writes (an account since gone from the org file): nothing but xstack's own copy goes.
    const gone = { name: 'acme-gone-developer', settings: [['region', 'eu-west-1']] as Array<[string, string]> };
    const twice = `[default]\nregion = eu-west-1\n${printed([...developer.profiles, gone])}${printed([...developer.profiles, gone])}`;
    writeFileSync(file, twice);
    writeProfiles(file, profileBlock(org), developer.profiles, org.prefix);
    const folded = readFileSync(file, 'utf8');
    expect(folded.split('# >>> xstack example:')).toHaveLength(2);
    expect(folded).not.toContain('acme-gone-developer');
    expect(botocoreRead(file).status).toBe(0);
    // The advice, followed: the CI copy deleted, each written into its own block, and both kept.
    writeFileSync(file, `[default]\nregion = eu-west-1\n${printed(developer.profiles)}`);
    writeProfiles(file, profileBlock(org), developer.profiles, org.prefix);
    writeProfiles(file, profileBlock(org, { ci: true }), ci.profiles, org.prefix);
    const sections = Object.keys(JSON.parse(botocoreRead(file).stdout) as Record<string, unknown>);
    for (const p of [...developer.profiles, ...ci.profiles]) expect(sections).toContain(`profile ${p.name}`);
  });

  it("developer, maintainer and CI profiles each have a block of their own: writing one keeps the others' (review s36-access m1)", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const file = join(tempDir('three-blocks'), 'config');
    writeFileSync(file, '[default]\nregion = eu-west-1\n');
    const developer = generateProfiles(org, { kind: 'developer', sourceProfile: 'default' });
    const maintainer = generateProfiles(org, { kind: 'developer', sourceProfile: 'default' }, { role: 'maintainer' });
    const ci = generateProfiles(org, { kind: 'ci' });
    writeProfiles(file, profileBlock(org), developer.profiles, org.prefix);
    writeProfiles(file, profileBlock(org, { role: 'maintainer' }), maintainer.profiles, org.prefix);
    writeProfiles(file, profileBlock(org, { ci: true }), ci.profiles, org.prefix);
    // Again, each: every block replaced by itself.
    for (const [block, generated] of [[profileBlock(org), developer], [profileBlock(org, { role: 'maintainer' }), maintainer], [profileBlock(org, { ci: true }), ci]] as const) {
      expect(writeProfiles(file, block, generated.profiles, org.prefix)).toEqual({ changed: false });
    }
    const read = botocoreRead(file);
    expect(read.status, read.stderr).toBe(0);
    const sections = Object.keys(JSON.parse(read.stdout) as Record<string, unknown>);
    for (const p of [...developer.profiles, ...maintainer.profiles, ...ci.profiles]) expect(sections).toContain(`profile ${p.name}`);
    // CI profiles an earlier xstack wrote into the developer block: the CI write says where they are and what to do.
    const earlier = join(tempDir('ci-in-developer-block'), 'config');
    writeFileSync(earlier, '');
    writeProfiles(earlier, profileBlock(org), ci.profiles, org.prefix);
    expect(() => writeProfiles(earlier, profileBlock(org, { ci: true }), ci.profiles, org.prefix)).toThrowError(/(is|are) in xstack's block for 'example' \(lines 1-\d+\), .*, or by --for ci of an xstack that wrote CI profiles into the developer block: delete that block/);
  });

  it('an IAM Identity Center sign-in the role does not trust is warned of, naming what the org file lets in (review s36-access m2)', () => {
    const org = loadOrgFile('parameters/example.yaml');
    const sso = (ssoAccountId: string, ssoRoleName: string): ProfileIdentity => ({ kind: 'developer-sso', ssoSession: 'corp', ssoAccountId, ssoRoleName });
    const tools = org.accounts.find((a) => a.name === 'tools')!.id;
    expect(ssoSignInMismatch(org, sso(tools, 'Developer'))).toBeUndefined();
    expect(ssoSignInMismatch(org, sso(tools, 'Maintainer'), { role: 'maintainer' })).toBeUndefined();
    expect(ssoSignInMismatch(org, sso('111122223333', 'Developer'))).toBe(
      `--sso-account-id 111122223333 and --sso-role Developer sign in as IAM Identity Center's role AWSReservedSSO_Developer_… there, which the developer role does not trust (${org.file} lets in AWSReservedSSO_Developer_* in tools (${tools})): the first git command would be refused at sts:AssumeRole; give the account and permission set the org file names`,
    );
    expect(ssoSignInMismatch(org, sso(tools, 'Maintainer'))).toContain('which the developer role does not trust');
    // A set whose name only begins as the trusted one's: the trust excludes its role.
    expect(ssoSignInMismatch(org, sso(tools, 'Developer_Contractors'))).toContain('which the developer role does not trust');
    expect(ssoSignInMismatch(org, { kind: 'developer', sourceProfile: 'default' })).toBeUndefined();
    // The CLI says it on stderr and still writes the profiles.
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--sso-session', 'corp', '--sso-account-id', '111122223333', '--sso-role', 'Developer'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^xstack: warning: --sso-account-id 111122223333 and --sso-role Developer sign in as/);
    expect(run.stdout).toContain('[profile acme-');
  });

  /** The profiles botocore finds in a config file (configloader.load_config, as the AWS CLI loads it). */
  const botocoreProfiles = (file: string) => {
    const run = spawnSync('.venv/bin/python', ['-c', 'import json, sys, botocore.configloader as c; print(json.dumps(sorted(c.load_config(sys.argv[1])["profiles"])))', file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as string[];
  };

  it.each([
    ['a # comment after it', '[profile acme-shared-services-developer] # hand-written, mine'],
    ['a ; comment after it', '[profile acme-shared-services-developer] ; mine'],
    ['its name in double quotes', '[profile "acme-shared-services-developer"]'],
    ['its name in single quotes after several blanks', "[profile   'acme-shared-services-developer']"],
  ])('--write refuses a hand-written profile of its name whose header has %s, as botocore reads it, leaving the file as the AWS CLI reads it (review s23 E1)', (_what, header) => {
    const file = join(tempDir('hand-written'), 'config');
    const mine = `# my config; keep\n[default]\nregion = eu-west-1 ; inline\n\n${header}\nrole_arn = arn:aws:iam::111111111111:role/mine\nsource_profile = default\n`;
    writeFileSync(file, mine);
    // botocore reads the header as that profile: what the refusal follows.
    expect(botocoreProfiles(file)).toEqual(['acme-shared-services-developer', 'default']);
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', file], { encoding: 'utf8' });
    expect([run.status, run.stderr]).toEqual([1, `xstack: ${file}: refusing to overwrite profile xstack did not write: acme-shared-services-developer (line 5); rename or remove it, then run again\n`]);
    expect(readFileSync(file, 'utf8')).toBe(mine);
    expect(existsSync(`${file}.xstack-backup`)).toBe(false);
    expect(botocoreProfiles(file)).toEqual(['acme-shared-services-developer', 'default']);
  });

  it('--write refuses a file that does not read as an AWS config file (the org file, its layout file, a template), naming its line and writing nothing (review s50-input M2)', () => {
    const dir = tempDir('not-config');
    for (const [name, text, line] of [
      ['example.yaml', readFileSync('parameters/example.yaml', 'utf8'), "line 4, 'organization:'"],
      ['example.layout.json', readFileSync('parameters/example.layout.json', 'utf8'), "line 1, '{'"],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', file], { encoding: 'utf8' });
      expect([run.status, run.stderr]).toEqual([1, `xstack: --write ${file}: it does not read as an AWS config file (${line}, is neither a [section] nor a 'setting = value'), so nothing was written; give the AWS config file the profiles go into, e.g. ~/.aws/config\n`]);
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(existsSync(`${file}.xstack-backup`)).toBe(false);
    }
  });

  it('--write ~/.aws/config on a machine without ~/.aws makes the folder (owner only), as aws configure would; another missing folder is still refused (review s46-cli N5)', () => {
    const home = tempDir('fresh-home');
    const env = { ...process.env, HOME: home };
    // The credentials file is refused, and nothing is made for it.
    const credentials = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', join(home, '.aws', 'credentials')], { encoding: 'utf8', env });
    expect(credentials.status).toBe(1);
    expect(existsSync(join(home, '.aws'))).toBe(false);
    const typo = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', join(home, '.awz', 'config')], { encoding: 'utf8', env });
    expect([typo.status, typo.stderr]).toEqual([1, `xstack: --write ${join(home, '.awz', 'config')}: the folder ${join(home, '.awz')} does not exist; create it first, or correct the path\n`]);
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', join(home, '.aws', 'config')], { encoding: 'utf8', env });
    expect(run.status, run.stderr).toBe(0);
    expect(statSync(join(home, '.aws')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(home, '.aws', 'config'), 'utf8')).toContain('[profile acme-shared-services-developer]');
    // The home folder reached through a link, either way round (review s46-diff m3).
    const real = tempDir('real-home');
    const linked = join(tempDir('linked-home'), 'home');
    symlinkSync(real, linked);
    for (const [HOME, written] of [[linked, join(real, '.aws', 'config')], [real, join(linked, '.aws', 'config')]]) {
      rmSync(join(real, '.aws'), { recursive: true, force: true });
      const through = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', written], { encoding: 'utf8', env: { ...process.env, HOME } });
      expect(through.status, through.stderr).toBe(0);
      expect(statSync(join(real, '.aws')).mode & 0o777).toBe(0o700);
    }
  });

  it("a header botocore does not read as the profile (a space before 'profile', an open quote) is no clash, as for the AWS CLI", () => {
    const file = join(tempDir('not-a-profile'), 'config');
    writeFileSync(file, "[default]\nregion = eu-west-1\n[ profile acme-shared-services-developer ]\nregion = eu-west-1\n[profile 'acme-shared-services-developer]\nregion = eu-west-1\n");
    expect(botocoreProfiles(file)).toEqual(['default']);
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(botocoreProfiles(file)).toEqual(['acme-shared-services-developer', 'default']);
  });

  it('--session-name names the developer in CloudTrail (role_session_name, as botocore reads it); --write warns when the sso-session or source profile the profiles start from is not in the file (review s18-access m2, m3)', () => {
    const dir = tempDir('session-name');
    const file = join(dir, 'config');
    const sso = ['--for', 'developer', '--sso-session', 'corp', '--sso-account-id', '555555555555', '--sso-role', 'Developer'];
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', ...sso, '--session-name', 'alice@example.com', '--write', file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe(`xstack: warning: ${file} has no [sso-session corp] section, which the profiles sign in through: add it (aws configure sso-session), then aws sso login --sso-session corp\n`);
    const sections = JSON.parse(botocoreRead(file).stdout) as Record<string, Record<string, string>>;
    expect(sections['profile acme-shared-services-developer'].role_session_name).toBe('alice@example.com');
    expect(sections['profile acme-sso'].role_session_name).toBeUndefined();
    // With the section there, no warning; a source profile only in the credentials file beside the config is there too.
    writeFileSync(file, '[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n');
    expect(spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', ...sso, '--write', file], { encoding: 'utf8' }).stderr).toBe('');
    const withSource = (config: string) => spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--source-profile', 'corp-keys', '--write', config], { encoding: 'utf8' }).stderr;
    expect(withSource(join(dir, 'other-config'))).toMatch(/^xstack: warning: \S+other-config has no \[profile corp-keys\] section \(nor \S+credentials a \[corp-keys\] one\)/);
    writeFileSync(join(dir, 'credentials'), '[corp-keys]\naws_access_key_id = x\n');
    expect(withSource(join(dir, 'third-config'))).toBe('');
    const bad = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--session-name', 'a b'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr.split('\n')[0]]).toEqual([64, "xstack: --session-name 'a b' is not a role session name: 2 to 64 of letters, digits and +=,.@_- (e.g. your user name)"]);
  });

  /** How botocore (git-remote-codecommit's SDK) resolves a profile's credentials, with the environment given: the method, or the error's class and text. No call is made (an assumed role's credentials are fetched on first use). */
  const botocoreCredentials = (file: string, profile: string, env: Record<string, string> = {}) => {
    const py =
      'import sys, botocore.session\n' +
      'try:\n  c = botocore.session.Session(profile=sys.argv[1]).get_credentials()\n  print(c.method if c else "none")\n' +
      'except Exception as e:\n  print(type(e).__name__ + ": " + str(e))';
    const run = spawnSync('.venv/bin/python', ['-c', py, profile], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tempDir('home'), AWS_CONFIG_FILE: file, AWS_SHARED_CREDENTIALS_FILE: join(dirname(file), 'credentials'), AWS_EC2_METADATA_DISABLED: 'true', ...env } });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.trim();
  };

  it('credentials only in the environment are never a source profile\'s: the default source profile missing is warned of, and --credential-source Environment makes profiles botocore resolves from them; a --source-profile naming a written profile is refused (review s45-profiles P1, P2)', () => {
    const dir = tempDir('credential-source');
    const keys = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00', AWS_SECRET_ACCESS_KEY: 'x' };
    const plain = join(dir, 'config');
    writeFileSync(plain, '[profile other]\nregion = eu-west-1\n');
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--write', plain], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe(
      `xstack: warning: ${plain} has no [default] section (nor ${join(dir, 'credentials')} a [default] one), which the profiles sign in through: add it, or give --source-profile the profile that holds your credentials (credentials only in the environment are never a source profile's: give --credential-source Environment)\n`,
    );
    // What the warning is about: botocore leaves the environment out of a source profile.
    expect(botocoreCredentials(plain, 'acme-shared-services-developer', keys)).toMatch(/^InvalidConfigError: .*source_profile "default"/);
    const fromEnvironment = join(tempDir('credential-source-env'), 'config');
    const written = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--credential-source', 'Environment', '--write', fromEnvironment], { encoding: 'utf8' });
    expect([written.status, written.stderr]).toEqual([0, '']);
    const sections = JSON.parse(botocoreRead(fromEnvironment).stdout) as Record<string, Record<string, string>>;
    expect(sections['profile acme-shared-services-developer']).toMatchObject({ role_arn: 'arn:aws:iam::111111111111:role/acme-developer', credential_source: 'Environment' });
    expect(sections['profile acme-shared-services-developer'].source_profile).toBeUndefined();
    expect(botocoreCredentials(fromEnvironment, 'acme-shared-services-developer', keys)).toBe('assume-role');
    // A profile made to source itself has no keys of its own: botocore's InfiniteLoopConfigError at the first clone.
    const itself = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--source-profile', 'acme-shared-services-developer'], { encoding: 'utf8' });
    expect([itself.status, itself.stderr]).toEqual([1, "xstack: --source-profile acme-shared-services-developer is one of the profiles this writes, which would then take its credentials from itself; give the profile that holds your own credentials\n"]);
    const both = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', '--source-profile', 'x', '--credential-source', 'Environment'], { encoding: 'utf8' });
    expect([both.status, both.stderr.split('\n')[0]]).toEqual([64, 'xstack: --source-profile and --credential-source are two ways of signing in; give one']);
  });

  it('GovCloud: a --source-profile that signs in with IAM Identity Center is warned of, as its sign-in cannot reach FIPS hosts; one with keys is not; outside GovCloud neither (review s45-profiles P5)', () => {
    const file = join(tempDir('gov-sso-source'), 'config');
    writeFileSync(file, '[profile corp-sso]\nsso_session = corp\nsso_account_id = 555555555555\nsso_role_name = Developer\n[profile corp-keys]\nregion = us-gov-west-1\n');
    const warned = (org: string, source: string) => spawnSync('node', [CLI, 'profiles', org, '--for', 'developer', '--source-profile', source, '--write', file], { encoding: 'utf8' }).stderr;
    expect(warned('parameters/govcloud.yaml', 'corp-sso')).toBe(
      `xstack: warning: the source profile corp-sso in ${file} signs in with IAM Identity Center, whose sign-in the FIPS endpoints these profiles select cannot reach (portal.sso-fips and oidc-fips hosts do not exist): use --sso-session, --sso-account-id and --sso-role instead (README, "Developer and CI access")\n`,
    );
    expect(warned('parameters/govcloud.yaml', 'corp-keys')).toBe('');
    expect(warned('parameters/example.yaml', 'corp-sso')).toBe('');
  });

  it('--for maintainer: profiles of the maintainer role in a block of their own, so a person who is both keeps the developer profiles', () => {
    const file = join(tempDir('maintainer'), 'config');
    const sso = (role: string) => ['--sso-session', 'corp', '--sso-account-id', '555555555555', '--sso-role', role, '--write', file];
    expect(spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer', ...sso('Developer')], { encoding: 'utf8' }).status).toBe(0);
    const run = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'maintainer', ...sso('Maintainer')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const sections = JSON.parse(botocoreRead(file).stdout) as Record<string, Record<string, string>>;
    expect(sections['profile acme-shared-services-developer'].role_arn).toBe('arn:aws:iam::111111111111:role/acme-developer');
    expect(sections['profile acme-shared-services-maintainer']).toMatchObject({ role_arn: 'arn:aws:iam::111111111111:role/acme-maintainer', source_profile: 'acme-maintainer-sso' });
    expect(sections['profile acme-maintainer-sso'].sso_role_name).toBe('Maintainer');
    expect(sections['profile acme-sso'].sso_role_name).toBe('Developer');
    expect(run.stdout).toContain('git clone codecommit::eu-west-1://acme-shared-services-maintainer@web-app');
    const none = spawnSync('node', [CLI, 'profiles', 'parameters/govcloud.yaml', '--for', 'maintainer'], { encoding: 'utf8' });
    expect([none.status, none.stderr]).toEqual([1, 'xstack: parameters/govcloud.yaml names no access.developers.maintainers: there is no maintainer role to make profiles for\n']);
  });

  /** The hosts botocore (the AWS CLI's and git-remote-codecommit's SDK) sends STS and CodeCommit calls to, per profile of a config file. */
  const botocoreEndpoints = (file: string, profiles: string[]) => {
    const py = 'import json, sys, botocore.session\n' +
      'print(json.dumps({p: {svc: botocore.session.Session(profile=p).create_client(svc, aws_access_key_id="x", aws_secret_access_key="y").meta.endpoint_url for svc in ("sts", "codecommit")} for p in sys.argv[1:]}))';
    const run = spawnSync('.venv/bin/python', ['-c', py, ...profiles], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tempDir('home'), AWS_CONFIG_FILE: file } });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Record<string, { sts: string; codecommit: string }>;
  };

  it.each([
    ['govcloud', 'us-gov-west-1', true],
    ['example', 'eu-west-1', false],
  ] as const)('%s --for ci: git and botocore reach only hosts the CI network serves privately (FIPS ones in GovCloud)', (name, region, fips) => {
    const orgFile = `parameters/${name}.yaml`;
    const run = spawnSync('node', [CLI, 'profiles', orgFile, '--for', 'ci'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const org = loadOrgFile(orgFile);
    const gitHost = codeCommitGitHost(org.partition, region);
    // git-remote-codecommit's host is not a config key: a comment tells git, from the same function as the Dockerfile's ENV.
    const dockerfile = jenkinsExample(org).get('jenkins/Dockerfile')!;
    if (fips) {
      expect(run.stdout).toContain(`\n# export CODE_COMMIT_ENDPOINT=${gitHost}\n# It sends every codecommit:: remote to that host, whatever its Region: set it only where git works with this org's repositories`);
      expect(dockerfile).toContain(`ENV CODE_COMMIT_ENDPOINT=${gitHost}\n`);
    } else {
      expect(run.stdout).not.toMatch(/CODE_COMMIT_ENDPOINT|use_fips_endpoint/);
      expect(dockerfile).not.toContain('CODE_COMMIT_ENDPOINT');
    }
    // The interface endpoints of the org's CI network with private DNS, as the host names they answer for.
    const served = Object.values(template(compileFile(orgFile), 'ci-network').Resources)
      .filter((r) => r.Type === 'AWS::EC2::VPCEndpoint' && (r.Properties as any).PrivateDnsEnabled === true)
      .map((r) => `${String((r.Properties as any).ServiceName['Fn::Sub']).replace('com.amazonaws.${AWS::Region}.', '')}.${region}.amazonaws.com`);
    expect(served).toContain(gitHost);
    const file = join(tempDir('ci-endpoints'), 'config');
    writeFileSync(file, run.stdout);
    const ci = generateProfiles(org, { kind: 'ci' });
    const endpoints = botocoreEndpoints(file, ci.profiles.map((p) => p.name));
    for (const p of ci.profiles) {
      expect(endpoints[p.name], p.name).toEqual({ sts: `https://sts.${region}.amazonaws.com`, codecommit: `https://codecommit${fips ? '-fips' : ''}.${region}.amazonaws.com` });
      for (const url of Object.values(endpoints[p.name])) expect(served, `${p.name}: ${url}`).toContain(new URL(url).hostname);
    }
    // --write prints the same line, for the shell.
    const write = spawnSync('node', [CLI, 'profiles', orgFile, '--for', 'ci', '--write', join(tempDir('ci-write'), 'config')], { encoding: 'utf8' });
    expect(write.status, write.stderr).toBe(0);
    if (fips) expect(write.stdout).toContain(`\nexport CODE_COMMIT_ENDPOINT=${gitHost}\n`);
    else expect(write.stdout).not.toContain('CODE_COMMIT_ENDPOINT');
  });

  it('GovCloud developers: the same git host and FIPS API endpoints with --source-profile; with --sso-* the git host alone', () => {
    const gitHost = codeCommitGitHost('aws-us-gov', 'us-gov-west-1');
    for (const [args, fipsApi] of [[['--source-profile', 'gov-federated'], true], [['--sso-session', 'corp', '--sso-account-id', '555555555555', '--sso-role', 'Developer'], false]] as const) {
      const run = spawnSync('node', [CLI, 'profiles', 'parameters/govcloud.yaml', '--for', 'developer', ...args], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain(`\n# export CODE_COMMIT_ENDPOINT=${gitHost}\n`);
      const file = join(tempDir('dev-endpoints'), 'config');
      writeFileSync(file, `${run.stdout}[profile gov-federated]\nregion = us-gov-west-1\n[sso-session corp]\nsso_start_url = https://start.us-gov-home.awsapps.com/directory/d-0000000000\nsso_region = us-gov-west-1\n`);
      const endpoints = botocoreEndpoints(file, ['gov-account1-gov-developer', 'gov-account2-gov-developer']);
      for (const e of Object.values(endpoints)) expect(e).toEqual({ sts: 'https://sts.us-gov-west-1.amazonaws.com', codecommit: `https://codecommit${fipsApi ? '-fips' : ''}.us-gov-west-1.amazonaws.com` });
    }
    const example = spawnSync('node', [CLI, 'profiles', 'parameters/example.yaml', '--for', 'developer'], { encoding: 'utf8' });
    expect(example.status, example.stderr).toBe(0);
    expect(example.stdout).not.toMatch(/CODE_COMMIT_ENDPOINT|use_fips_endpoint/);
  });

  it('the old output (clone URLs as `git clone` lines) is what botocore rejects: the test would catch a regression', () => {
    const file = join(tempDir('broken'), 'config');
    // Each line reads as a key 'git clone codecommit' of the last profile; the second is a duplicate, and the file fails.
    const clones = ['web-app', 'payments-api'].map((r) => `git clone codecommit::eu-west-1://acme-shared-services-developer@${r}\n`).join('');
    writeFileSync(file, `[default]\nregion = eu-west-1\n\n# clone URLs (git-remote-codecommit)\n${clones}`);
    const read = botocoreRead(file);
    expect(read.status).not.toBe(0);
    expect(read.stderr).toContain("ConfigParseError: Unable to parse config file");
  });
});

describe('Jenkins example', () => {
  it('is what dist/ holds, and clones exactly the CI clone URLs with the CI profiles', () => {
    const org = loadOrgFile('parameters/example.yaml');
    const files = jenkinsExample(org);
    for (const [path, text] of files) expect(readFileSync(join('dist/example', path), 'utf8')).toBe(text);
    const ci = generateProfiles(org, { kind: 'ci' });
    const clones = [...files.get('jenkins/Jenkinsfile')!.matchAll(/git clone (\S+)/g)].map((m) => m[1]);
    expect(clones).toEqual(ci.cloneUrls.map((c) => c.url));
    expect(files.get('jenkins/aws-config')).toBe(renderProfiles(ci.profiles));
    // Both pinned: git-remote-codecommit asks for any botocore from 1.17 (review s50-access A3).
    expect(files.get('jenkins/Dockerfile')).toMatch(/pip3 install .*git-remote-codecommit==\d[\d.]* botocore==\d[\d.]*/);
    // The profiles outside JENKINS_HOME, a volume of the base image (a mounted volume would hide them), read through AWS_CONFIG_FILE.
    const dockerfile = files.get('jenkins/Dockerfile')!;
    expect(dockerfile).toContain('\nCOPY aws-config /etc/xstack/aws-config\nENV AWS_CONFIG_FILE=/etc/xstack/aws-config\n');
    expect(dockerfile).not.toMatch(/^(COPY|ENV)[^\n]*jenkins_home/m);
    expect(dockerfile).toMatch(/^FROM jenkins\/jenkins:lts-jdk21$/m);
    // The Jenkinsfile's Pipeline plugins come with the image, installed as the jenkins user: a controller in an
    // isolated CI network reaches no update center at its first start.
    expect(dockerfile).toMatch(/\nUSER jenkins\n(#[^\n]*\n)*RUN jenkins-plugin-cli --plugins workflow-aggregator git\n$/);
    // On EC2 the instance profile serves every build on the host: no word on agent pods.
    expect(files.get('jenkins/Jenkinsfile')).not.toContain('service account');
    // A second build of the same workspace clones into an empty folder again.
    expect(files.get('jenkins/Jenkinsfile')).toMatch(/steps \{\n\s+deleteDir\(\)\n\s+sh 'git clone/);
    expect(files.get('jenkins/Dockerfile')).not.toContain('CODE_COMMIT_ENDPOINT');
    // On EC2 the container is a hop past the instance: the note on IMDSv2's hop limit names the launch template that sets it.
    expect(files.get('jenkins/Dockerfile')).toContain('# instance: launch the host from launch template acme-ci-host (CI account), which requires IMDSv2\n# with HttpPutResponseHopLimit 2.');
    expect(files.get('jenkins/Dockerfile')).toContain('--http-tokens required --http-put-response-hop-limit 2');
    // Every role profile assumes its role at the region's STS endpoint.
    for (const p of ci.profiles) expect(p.settings).toContainEqual(['sts_regional_endpoints', 'regional']);
  });

  it("reads Debian's package sources over HTTPS before apt-get update: the CI security group lets only port 443 out", () => {
    const dockerfile = jenkinsExample(loadOrgFile('parameters/example.yaml')).get('jenkins/Dockerfile')!;
    const egress = (compileFile('parameters/example.yaml').stages.find((s) => s.id === 'ci-network')!.definition.resources.CiSecurityGroup as unknown as { Properties: { SecurityGroupEgress: Array<{ FromPort: number; ToPort: number }> } }).Properties.SecurityGroupEgress;
    expect(egress.map((e) => [e.FromPort, e.ToPort])).toEqual([[443, 443]]);
    // The sources are rewritten in the RUN line that updates the package lists, before it does.
    expect(dockerfile).toMatch(/^RUN for f in \/etc\/apt\/sources\.list \/etc\/apt\/sources\.list\.d\/\*; do .*https:\/\/deb\.debian\.org.*; done \\\n && apt-get update /m);
    expect(dockerfile.match(/apt-get update/g)).toHaveLength(1);
    const run = dockerfile.slice(dockerfile.indexOf('RUN ') + 4, dockerfile.indexOf(' \\\n && apt-get update'));
    // The loop itself, on a copy of a Debian image's sources (the deb822 file of bookworm and the one-line form of older releases).
    const apt = tempDir('apt-sources');
    mkdirSync(join(apt, 'sources.list.d'), { recursive: true });
    writeFileSync(join(apt, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n');
    writeFileSync(join(apt, 'sources.list'), 'deb http://deb.debian.org/debian-security bookworm-security main\n');
    const sh = spawnSync('sh', ['-c', run.replaceAll('/etc/apt', apt)], { encoding: 'utf8' });
    expect(sh.status, sh.stderr).toBe(0);
    expect(readFileSync(join(apt, 'sources.list.d', 'debian.sources'), 'utf8')).toContain('URIs: https://deb.debian.org/debian\n');
    expect(readFileSync(join(apt, 'sources.list'), 'utf8')).toBe('deb https://deb.debian.org/debian-security bookworm-security main\n');
  });

  it('in GovCloud, git-remote-codecommit is pointed at the FIPS endpoint, which the CI network serves privately', () => {
    const files = jenkinsExample(loadOrgFile('parameters/govcloud.yaml'));
    expect(files.get('jenkins/Dockerfile')).toContain('ENV CODE_COMMIT_ENDPOINT=git-codecommit-fips.us-gov-west-1.amazonaws.com\n');
    const endpoints = Object.values(template(gov, 'ci-network').Resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint');
    expect(endpoints.some((e) => (e.Properties as any).ServiceName['Fn::Sub'] === 'com.amazonaws.${AWS::Region}.git-codecommit-fips')).toBe(true);
  });
});
