/**
 * Replacements CloudFormation refuses or cannot finish (src/deploy/replacements.ts), on template pairs, and once
 * through plan and deploy against moto. moto replaces nothing and refuses nothing, so no rollout shows them: what the
 * check models is CloudFormation's documented behaviour, not moto's:
 * - "You can't perform an update that causes a custom-named resource to be replaced. If you must replace the
 *   resource, specify a new name." https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
 * - AWS::IAM::ManagedPolicy Description: "The policy description is immutable. After a value is assigned, it cannot
 *   be changed." (Update requires: Replacement) https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html
 * - "AWS CloudFormation usually creates the replacement resource first, changes references from other dependent
 *   resources to point to the replacement resource, and then deletes the old resource."
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg, templatePath, type CompiledOrg } from '../src/compile';
import { Aws } from '../src/deploy/clients';
import { CREATE_ONLY } from '../src/deploy/create-only';
import { deploy, plan } from '../src/deploy/deployer';
import { LOCAL_CREDENTIALS, startNewLocalAws, type LocalAws } from '../src/deploy/local';
import { formatPlan } from '../src/deploy/plan-text';
import { bodyReplacements, replacedResources, templateReplacements } from '../src/deploy/replacements';
import { parseOrg } from '../src/org/load';
import { createStackSetRoles } from './support/stackset-roles';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const compileText = (text: string) => compileOrg(parseOrg(text, 'parameters/example.yaml'));
const example = compileText(EXAMPLE);
const edited = (from: string, to: string) => {
  const text = EXAMPLE.replace(from, to);
  expect(text).not.toBe(EXAMPLE);
  return compileText(text);
};
const templateOf = (compiled: CompiledOrg, module: string): CfnTemplate => renderTemplate(compiled.stages.find((s) => s.module === module)!.definition);
const bodyOf = (compiled: CompiledOrg, module: string): string => compiled.files.get(templatePath(compiled.stages.find((s) => s.module === module)!))!;
const template = (resources: CfnTemplate['Resources']): CfnTemplate => ({ AWSTemplateFormatVersion: '2010-09-09', Description: 't', Resources: resources });
const ZONES = '      availabilityZones: 2\n';

describe('create-only table (src/deploy/create-only.ts)', () => {
  it('is what the schemas cfn-lint ships give (node test/support/create-only.gen.mjs .venv regenerates it)', () => {
    const venv = join(dirname(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint'), '..');
    expect(existsSync(join(venv, 'bin/python')), `no ${venv}/bin/python: make setup`).toBe(true);
    const run = spawnSync('node', ['test/support/create-only.gen.mjs', venv, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('has every resource type the compiled templates use that has create-only properties, with its custom name', () => {
    expect(CREATE_ONLY['AWS::IAM::ManagedPolicy']).toEqual({ createOnly: ['ManagedPolicyName', 'Description', 'Path'], names: ['ManagedPolicyName'] });
    expect(CREATE_ONLY['AWS::IAM::Role']).toEqual({ createOnly: ['Path', 'RoleName'], names: ['RoleName'] });
    expect(CREATE_ONLY['AWS::EC2::SecurityGroup']).toEqual({ createOnly: ['GroupDescription', 'GroupName', 'VpcId'], names: ['GroupName'] });
    expect(CREATE_ONLY['AWS::EC2::Subnet'].createOnly).toEqual(expect.arrayContaining(['VpcId', 'AvailabilityZone', 'AvailabilityZoneId', 'CidrBlock']));
    expect(CREATE_ONLY['AWS::EC2::Subnet'].names).toBeUndefined();
    expect(CREATE_ONLY['AWS::CodeDeploy::DeploymentGroup']).toEqual({ createOnly: ['DeploymentGroupName', 'ApplicationName'], names: ['DeploymentGroupName'], identity: ['ApplicationName', 'DeploymentGroupName'] });
    // A flow log names a log group; it has no name of its own.
    expect(CREATE_ONLY['AWS::EC2::FlowLog'].names).toBeUndefined();
    const types = new Set(example.stages.flatMap((s) => Object.values(renderTemplate(s.definition).Resources).map((r) => r.Type)));
    // Those without create-only properties are never replaced by a property change (KMS keys, repositories, …).
    const without = [...types].filter((t) => !CREATE_ONLY[t]).sort();
    expect(without).toEqual(['AWS::CodeCommit::Repository', 'AWS::EC2::InternetGateway', 'AWS::KMS::Key']);
  });
});

describe('custom-named resources replaced (M2)', () => {
  const policy = (props: Record<string, unknown>) => ({ Type: 'AWS::IAM::ManagedPolicy', Properties: { Roles: [{ Ref: 'R' }], PolicyDocument: { Statement: [] }, ...props } });
  const named = { ManagedPolicyName: 'acme-ci-pull' };

  it("a named managed policy whose Description changes is refused, naming StackSet, logical id, property and the way out", () => {
    const found = templateReplacements('acme-ci-identity', template({ P: policy({ ...named, Description: 'old words' }) }), template({ P: policy({ ...named, Description: 'new words' }) }));
    expect(found.refused).toEqual([
      'StackSet acme-ci-identity: AWS::IAM::ManagedPolicy P keeps its custom name (ManagedPolicyName "acme-ci-pull") and changes Description, which only a replacement changes; ' +
        'CloudFormation does not replace a custom-named resource, so the update would fail in every account. ' +
        'Way out: rename the resource (a new ManagedPolicyName), or keep the deployed Description "old words"',
    ]);
    expect(found.warnings).toEqual([]);
  });

  it('a Description dropped is a change too; a Path change as well', () => {
    expect(templateReplacements('s', template({ P: policy({ ...named, Description: 'old' }) }), template({ P: policy(named) })).refused[0]).toMatch(/changes Description, .* keep the deployed Description "old"$/);
    expect(templateReplacements('s', template({ P: policy({ ...named, Path: '/a/' }) }), template({ P: policy({ ...named, Path: '/b/' }) })).refused[0]).toMatch(/P keeps its custom name .* changes Path,/);
  });

  it('goes through when the name changes with it, when the policy is unnamed, or when only an updatable property changes', () => {
    const before = template({ P: policy({ ...named, Description: 'old' }) });
    expect(templateReplacements('s', before, template({ P: policy({ ManagedPolicyName: 'acme-ci-pull-v2', Description: 'new' }) }))).toEqual({ refused: [], warnings: [] });
    expect(templateReplacements('s', template({ P: policy({ Description: 'old' }) }), template({ P: policy({ Description: 'new' }) }))).toEqual({ refused: [], warnings: [] });
    expect(templateReplacements('s', before, template({ P: policy({ ...named, Description: 'old', PolicyDocument: { Statement: [{ Effect: 'Allow' }] } }) }))).toEqual({ refused: [], warnings: [] });
    // Same text, keys in another order: no change.
    expect(templateReplacements('s', template({ P: { Type: 'AWS::IAM::ManagedPolicy', Properties: { Description: 'd', ...named } } }), template({ P: policy({ ...named, Description: 'd' }) })).refused).toEqual([]);
  });

  it('a replacement carries over to what names the replaced resource in a create-only property (a named group in a replaced VPC)', () => {
    const vpc = (cidr: string) => ({ Type: 'AWS::EC2::VPC', Properties: { CidrBlock: cidr } });
    const group = { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupName: 'ci', GroupDescription: 'd', VpcId: { Ref: 'Vpc' } } };
    const before = template({ Vpc: vpc('10.0.0.0/16'), G: group });
    const after = template({ Vpc: vpc('10.1.0.0/16'), G: group });
    expect(replacedResources(before, after)).toEqual(new Map([['Vpc', ['CidrBlock']], ['G', ['VpcId']]]));
    expect(templateReplacements('s', before, after).refused).toEqual([expect.stringMatching(/^StackSet s: AWS::EC2::SecurityGroup G keeps its custom name \(GroupName "ci"\) and changes VpcId,/)]);
  });

  it('a deployment group whose application is renamed changes identity with it: replaced, not refused', () => {
    const app = (name: string) => ({ Type: 'AWS::CodeDeploy::Application', Properties: { ApplicationName: name } });
    const group = { Type: 'AWS::CodeDeploy::DeploymentGroup', Properties: { ApplicationName: { Ref: 'App' }, DeploymentGroupName: 'web', ServiceRoleArn: 'arn' } };
    expect(templateReplacements('s', template({ App: app('a'), G: group }), template({ App: app('b'), G: group }))).toEqual({ refused: [], warnings: [] });
  });

  it("the compiled templates' own managed policies: a wording change of a role's policy description is refused", () => {
    const body = bodyOf(example, 'ci-identity');
    const reworded = body.replace(/Description: "Permissions of role ([^"]*)"/g, 'Description: "What role $1 may do"');
    expect(reworded).not.toBe(body);
    const found = bodyReplacements('acme-ci-identity', body, reworded);
    expect(found.refused.length).toBeGreaterThan(0);
    for (const line of found.refused) expect(line).toMatch(/^StackSet acme-ci-identity: AWS::IAM::ManagedPolicy \w+ keeps its custom name \(ManagedPolicyName "[^"]+"\) and changes Description,/);
  });
});

describe('subnets on a CIDR a live subnet holds (M1)', () => {
  const network = templateOf(example, 'ci-network');
  const subnets = (t: CfnTemplate) => Object.fromEntries(Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::Subnet').map(([id, r]) => [id, (r.Properties as { CidrBlock: string }).CidrBlock]));

  it('CI subnet i takes slot i of the block, the NAT subnet its last slot, whatever the zone count', () => {
    expect(subnets(network)).toEqual({ CiSubnet1: '10.20.0.0/20', CiSubnet2: '10.20.16.0/20', NatSubnet: '10.20.240.0/20' });
    expect(subnets(templateOf(edited(ZONES, '      availabilityZones: 3\n'), 'ci-network'))).toEqual({ CiSubnet1: '10.20.0.0/20', CiSubnet2: '10.20.16.0/20', CiSubnet3: '10.20.32.0/20', NatSubnet: '10.20.240.0/20' });
  });

  it('availabilityZones 1 to 3 and nat on and off, every way: no subnet meets a live one', () => {
    const variants = ['1', '2', '3'].flatMap((n) => ['true', 'false'].map((nat) => templateOf(edited(ZONES, `      availabilityZones: ${n}\n      nat: ${nat}\n`), 'ci-network')));
    for (const before of variants) for (const after of variants) expect(templateReplacements('acme-ci-network', before, after).refused).toEqual([]);
  });

  it('before the fixed NAT slot, a third zone was a CIDR conflict with the live NAT subnet: refused, with the way out', () => {
    // The ci-network template as deployed before the fixed slot (NAT subnet right after the CI subnets), as DescribeStackSet returns it.
    const deployedBefore = bodyOf(example, 'ci-network').replace('CidrBlock: "10.20.240.0/20"', 'CidrBlock: "10.20.32.0/20"');
    expect(deployedBefore).not.toBe(bodyOf(example, 'ci-network'));
    expect(bodyReplacements('acme-ci-network', deployedBefore, bodyOf(example, 'ci-network'))).toEqual({ refused: [], warnings: [] });
    const found = bodyReplacements('acme-ci-network', deployedBefore, bodyOf(edited(ZONES, '      availabilityZones: 3\n'), 'ci-network'));
    expect(found.refused).toEqual([
      expect.stringMatching(/^StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet3 is created with CidrBlock "10\.20\.32\.0\/20", which NatSubnet holds \("10\.20\.32\.0\/20"\) until the update's cleanup: .* Way out: /),
    ]);
  });

  it('pinning the zones by AZ ID replaces every subnet on its own CIDR: refused for each, with the way out', () => {
    const pinned = templateOf(edited(ZONES, `${ZONES}      availabilityZoneIds: [euw1-az3, euw1-az1]\n`), 'ci-network');
    const found = templateReplacements('acme-ci-network', network, pinned);
    expect(found.refused.map((r) => r.split(' with ')[0])).toEqual([
      'StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet1 is replaced (its AvailabilityZone, AvailabilityZoneId changes)',
      'StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet2 is replaced (its AvailabilityZone, AvailabilityZoneId changes)',
      'StackSet acme-ci-network: AWS::EC2::Subnet NatSubnet is replaced (its AvailabilityZone, AvailabilityZoneId changes)',
    ]);
    expect(found.refused[0]).toContain('which the subnet it replaces holds ("10.20.0.0/20")');
    expect(found.refused[0]).toContain('remove access.ci.network from the org file');
  });

  it('overlap, not only equality, and only within one VPC; a subnet in a replaced VPC meets none', () => {
    const subnet = (cidr: string, vpc = 'Vpc') => ({ Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: vpc }, CidrBlock: cidr } });
    const vpc = (cidr: string) => ({ Type: 'AWS::EC2::VPC', Properties: { CidrBlock: cidr } });
    const before = template({ Vpc: vpc('10.0.0.0/16'), Other: vpc('10.1.0.0/16'), A: subnet('10.0.0.0/20') });
    expect(templateReplacements('s', before, template({ Vpc: vpc('10.0.0.0/16'), Other: vpc('10.1.0.0/16'), B: subnet('10.0.8.0/24') })).refused).toHaveLength(1);
    expect(templateReplacements('s', before, template({ Vpc: vpc('10.0.0.0/16'), Other: vpc('10.1.0.0/16'), B: subnet('10.0.16.0/24') })).refused).toEqual([]);
    expect(templateReplacements('s', before, template({ Vpc: vpc('10.0.0.0/16'), Other: vpc('10.1.0.0/16'), B: subnet('10.0.0.0/20', 'Other') })).refused).toEqual([]);
    expect(templateReplacements('s', before, template({ Vpc: vpc('10.2.0.0/16'), Other: vpc('10.1.0.0/16'), A: subnet('10.0.0.0/20') })).refused).toEqual([]);
  });
});

describe('unnamed security groups replaced (m1)', () => {
  it('a changed GroupDescription is a warning, naming the group and the deployed wording to keep', () => {
    const body = bodyOf(example, 'ci-network');
    const reworded = body.replace('CI instances: HTTPS out only', 'CI instances: HTTPS out, nothing else');
    expect(reworded).not.toBe(body);
    expect(bodyReplacements('acme-ci-network', body, reworded)).toEqual({
      refused: [],
      warnings: [
        'StackSet acme-ci-network: AWS::EC2::SecurityGroup CiSecurityGroup is replaced (its GroupDescription changes): instances launched outside the stack keep the old group, ' +
          'whose delete then fails and leaves it behind, and the group\'s id changes; keep the deployed GroupDescription "CI instances: HTTPS out only" to keep the group',
      ],
    });
  });
});

describe('plan and deploy (moto: the refusal is modelled, see the file head)', () => {
  let local: LocalAws;
  beforeAll(async () => {
    local = await startNewLocalAws();
  });
  afterAll(async () => {
    await local?.stop();
  });
  const awsClient = () => new Aws({ region: 'eu-west-1', endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS });
  beforeEach(async () => {
    await local.reset();
    const admin = (await awsClient().sts().send(new GetCallerIdentityCommand({}))).Account!;
    await createStackSetRoles(example.org, awsClient(), admin);
  });
  const options = { pollMs: 10 };

  it('an AZ-ID edit of a running CI network and a reworded managed policy: plan shows the refusals, deploy refuses before any operation', async () => {
    await deploy(example, awsClient(), options);
    const next = edited(ZONES, `${ZONES}      availabilityZoneIds: [euw1-az3, euw1-az1]\n`);
    // A wording change in the code, as a later xstack would compile it.
    const identity = templatePath(next.stages.find((s) => s.module === 'ci-identity')!);
    next.files.set(identity, next.files.get(identity)!.replace(/Description: "Permissions of role ([^"]*)"/g, 'Description: "What role $1 may do"'));

    const plans = await plan(next, awsClient(), options);
    const network = plans.find((p) => p.stackSet === 'acme-ci-network')!;
    expect(network.refusedReplacements?.map((r) => r.split(' is replaced')[0])).toEqual(['CiSubnet1', 'CiSubnet2', 'NatSubnet'].map((id) => `StackSet acme-ci-network: AWS::EC2::Subnet ${id}`));
    const reworded = plans.find((p) => p.stackSet === 'acme-ci-identity')!;
    expect(reworded.refusedReplacements?.[0]).toMatch(/^StackSet acme-ci-identity: AWS::IAM::ManagedPolicy \w+ keeps its custom name/);
    expect(plans.filter((p) => p.stackSet !== 'acme-ci-network' && p.stackSet !== 'acme-ci-identity').every((p) => p.refusedReplacements === undefined)).toBe(true);
    const text = formatPlan(plans, { accountNames: new Map(), colour: false });
    expect(text).toContain('    ✗ deploy refuses: StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet1 is replaced');

    const aws = awsClient();
    await expect(deploy(next, aws, options)).rejects.toMatchObject({ code: 'REFUSED_REPLACEMENT', message: expect.stringMatching(/^nothing was changed: (.*\n {2}StackSet acme-ci-(identity: AWS::IAM::ManagedPolicy|network: AWS::EC2::Subnet)){2}/s) });
    expect(aws.log.mutating).toBe(0);
    // The network change alone, in the same account, goes through: no refusal, the NAT subnet on its fixed slot.
    expect((await plan(edited(ZONES, '      availabilityZones: 3\n'), awsClient(), options)).flatMap((p) => p.refusedReplacements ?? [])).toEqual([]);
  });
});
