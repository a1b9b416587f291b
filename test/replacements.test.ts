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
import { CreateStackSetCommand, DescribeStackSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg, templatePath, type CompiledOrg } from '../src/compile';
import { CREATE_ONLY } from '../src/deploy/create-only';
import { deploy, plan } from '../src/deploy/deployer';
import { formatPlan } from '../src/deploy/plan-text';
import { bodyReplacements, deferredRemovals, NAT_WAY_OUT, replacedResources, rolesDeletedWhileAttached, templateReplacements, TYPE_CHANGE_REFUSED } from '../src/deploy/replacements';
import { parseOrg } from '../src/org/load';
import { fromYaml } from '../src/yaml';
import { useLocalAws } from './support/local-aws';
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
/** The example with web-app in a new source account, shared2 (666666666666): staging, which runs only web-app, is fed from there. */
const WEB_APP_MOVED = EXAMPLE.replace('  tools:\n    id: "555555555555"\n    role: tools\n', '  tools:\n    id: "555555555555"\n    role: tools\n  shared2:\n    id: "666666666666"\n    role: source\n').replace(
  'repositories:\n  web-app:\n    account: shared-services',
  'repositories:\n  web-app:\n    account: shared2',
);

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
    expect(without).toEqual(['AWS::CodeCommit::Repository', 'AWS::EC2::InternetGateway', 'AWS::KMS::Key', 'AWS::SQS::QueuePolicy']);
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

describe('a repository renamed with renamedFrom (day-2 review M1)', () => {
  it('is an update of its RepositoryName under its first logical id, nothing replaced or refused; the pipeline and the grants follow the new name', () => {
    const renamed = compileText(EXAMPLE.replace('  payments-api:\n', '  payments:\n    renamedFrom: payments-api\n').replace(/repository: payments-api/g, 'repository: payments'));
    for (const module of ['source-repositories', 'pipeline', 'source-identity', 'source-events', 'access-roles', 'ci-network']) {
      const before = example.stages.filter((s) => s.module === module);
      expect(before.length, module).toBeGreaterThan(0);
      for (const stage of before) {
        const after = renamed.stages.find((s) => s.id === stage.id)!;
        expect(bodyReplacements(stage.id, example.files.get(templatePath(stage))!, renamed.files.get(templatePath(after))!), `${module} ${stage.id}`).toEqual({ refused: [], warnings: [] });
      }
    }
    expect(replacedResources(templateOf(example, 'source-repositories'), templateOf(renamed, 'source-repositories'))).toEqual(new Map());
    expect(templateOf(renamed, 'source-repositories').Resources.RepositoryPaymentsApi.Properties).toMatchObject({ RepositoryName: 'payments' });
    expect(bodyOf(renamed, 'pipeline')).toContain('RepositoryName: payments\n');
    expect(bodyOf(renamed, 'pipeline')).not.toContain('RepositoryName: payments-api');
  });
});

describe('subnets on a CIDR a live subnet holds (M1)', () => {
  const network = templateOf(example, 'ci-network');
  const subnets = (t: CfnTemplate) => Object.fromEntries(Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::EC2::Subnet').map(([id, r]) => [id, (r.Properties as { CidrBlock: string }).CidrBlock]));
  const variant = (zones: number, nat: boolean) => templateOf(edited(ZONES, `      availabilityZones: ${zones}\n      nat: ${nat}\n`), 'ci-network');

  it('CI subnet i takes slot i of the block, the NAT subnet the slot after them: where every deployed network has it', () => {
    expect(subnets(network)).toEqual({ CiSubnet1: '10.20.0.0/20', CiSubnet2: '10.20.16.0/20', NatSubnet: '10.20.32.0/20' });
    expect(subnets(variant(3, true))).toEqual({ CiSubnet1: '10.20.0.0/20', CiSubnet2: '10.20.16.0/20', CiSubnet3: '10.20.32.0/20', NatSubnet: '10.20.48.0/20' });
  });

  it('availabilityZones 1 to 3 and nat on and off, every way: refused where a subnet would meet a live one, each line with the way out, and that way (nat: false, the change, nat: true) passes at every step', () => {
    const settings = [1, 2, 3].flatMap((zones) => [true, false].map((nat) => ({ zones, nat })));
    const refusedOf = (a: (typeof settings)[number], b: (typeof settings)[number]) => templateReplacements('acme-ci-network', variant(a.zones, a.nat), variant(b.zones, b.nat)).refused;
    let refusals = 0;
    for (const before of settings) {
      for (const after of settings) {
        const refused = refusedOf(before, after);
        // Only a zone change can meet a live subnet; nat on or off alone never does.
        if (before.zones === after.zones) expect(refused, JSON.stringify({ before, after })).toEqual([]);
        if (refused.length === 0) continue;
        refusals++;
        for (const line of refused) expect(line).toContain("for the CI network's NAT subnet or gateway: deploy with nat: false, then with the change (nat: false still), then with nat: true");
        const steps = [before, { zones: before.zones, nat: false }, { zones: after.zones, nat: false }, after];
        for (let i = 1; i < steps.length; i++) expect(refusedOf(steps[i - 1], steps[i]), JSON.stringify(steps.slice(i - 1, i + 1))).toEqual([]);
      }
    }
    // With nat on, every zone change; nat turned off with more zones, or on with fewer.
    expect(refusals).toBe(6 + 3 + 3);
  });

  it('the network as deployed before the fixed NAT slot (dist/ at 0f9cfda) is left as it is: nothing replaced', () => {
    // The ci-network template as every network with nat on was deployed before c7e2498 (NAT subnet right after the CI
    // subnets: 10.20.32.0/20, whatever slot the compile gives it now), and the compile now: nothing is replaced.
    const body = bodyOf(example, 'ci-network');
    const deployedBefore = body.replace(/CidrBlock: "10\.20\.240\.0\/20"/, 'CidrBlock: "10.20.32.0/20"');
    expect(deployedBefore).toContain('CidrBlock: "10.20.32.0/20"');
    expect(replacedResources(fromYaml(deployedBefore) as CfnTemplate, fromYaml(body) as CfnTemplate)).toEqual(new Map());
    expect(bodyReplacements('acme-ci-network', deployedBefore, body)).toEqual({ refused: [], warnings: [] });
    // The fixed slot (c7e2498) moved NatSubnet, which replaced the NAT gateway on its Elastic IP: refused now, both ways.
    const fixedSlot = bodyOf(example, 'ci-network').replace('CidrBlock: "10.20.32.0/20"', 'CidrBlock: "10.20.240.0/20"');
    expect(fixedSlot).not.toBe(bodyOf(example, 'ci-network'));
    for (const [from, to] of [[bodyOf(example, 'ci-network'), fixedSlot], [fixedSlot, bodyOf(example, 'ci-network')]]) {
      const found = bodyReplacements('acme-ci-network', from, to);
      expect(found.refused).toEqual([expect.stringMatching(/^StackSet acme-ci-network: AWS::EC2::NatGateway NatGateway is replaced \(its SubnetId changes\) and keeps its Elastic IP \(\{"Fn::GetAtt":\["NatAddress","AllocationId"\]\}\): .* Way out: /)]);
    }
  });

  it('a third zone with nat on is a CIDR conflict with the live NAT subnet, and replaces the NAT gateway on its Elastic IP: both refused, with the way out', () => {
    const found = bodyReplacements('acme-ci-network', bodyOf(example, 'ci-network'), bodyOf(edited(ZONES, '      availabilityZones: 3\n'), 'ci-network'));
    expect(found.refused).toEqual([
      expect.stringMatching(/^StackSet acme-ci-network: AWS::EC2::NatGateway NatGateway is replaced \(its SubnetId changes\) and keeps its Elastic IP .* Way out: deploy in steps, first without the NAT gateway/),
      expect.stringMatching(/^StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet3 is created with CidrBlock "10\.20\.32\.0\/20", which NatSubnet holds \("10\.20\.32\.0\/20"\) until the update's cleanup: .* Way out: /),
    ]);
  });

  it('pinning the zones by AZ ID replaces every subnet on its own CIDR, and the NAT gateway on its Elastic IP: refused for each, with the way out', () => {
    const pinned = templateOf(edited(ZONES, `${ZONES}      availabilityZoneIds: [euw1-az3, euw1-az1]\n`), 'ci-network');
    const found = templateReplacements('acme-ci-network', network, pinned);
    expect(found.refused.map((r) => r.split(' is replaced')[0])).toEqual(
      ['NatGateway NatGateway', 'Subnet CiSubnet1', 'Subnet CiSubnet2', 'Subnet NatSubnet'].map((id) => `StackSet acme-ci-network: AWS::EC2::${id}`),
    );
    expect(found.refused[1]).toMatch(/^StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet1 is replaced \(its AvailabilityZone, AvailabilityZoneId changes\) with /);
    expect(found.refused[1]).toContain('which the subnet it replaces holds ("10.20.0.0/20")');
    expect(found.refused[1]).toContain('remove access.ci.network from the org file');
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

describe('NAT gateways replaced with the Elastic IP the old one holds (B1)', () => {
  const subnet = (cidr: string) => ({ Type: 'AWS::EC2::Subnet', Properties: { VpcId: 'vpc-1', CidrBlock: cidr } });
  const eip = (props: Record<string, unknown> = {}) => ({ Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc', ...props } });
  const gateway = (props: Record<string, unknown>) => ({ Type: 'AWS::EC2::NatGateway', Properties: { SubnetId: { Ref: 'S' }, ...props } });
  const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'AllocationId'] });
  /** The gateway's subnet moves (a new CIDR replaces it, and so the gateway), its addresses as given before and after. */
  const moved = (before: Record<string, unknown>, after: Record<string, unknown>, eips: { before?: Record<string, unknown>; after?: Record<string, unknown> } = { before: { E: eip() }, after: { E: eip() } }) =>
    templateReplacements('s', template({ S: subnet('10.0.0.0/24'), ...(eips.before as object), G: gateway(before) }), template({ S: subnet('10.0.1.0/24'), ...(eips.after as object), G: gateway(after) }));

  it('refused when the new gateway names the EIP the update keeps, a literal allocation id, a parameter, or a kept secondary address; the line names what and the way out', () => {
    const kept = moved({ AllocationId: getAtt('E') }, { AllocationId: getAtt('E') });
    expect(kept.refused).toEqual([
      'StackSet s: AWS::EC2::NatGateway G is replaced (its SubnetId changes) and keeps its Elastic IP ({"Fn::GetAtt":["E","AllocationId"]}): CloudFormation creates the new gateway while the old one ' +
        'still holds the address, EC2 fails the create (Resource.AlreadyAssociated: "Elastic IP address … is already associated"), and the update rolls back in every account. ' +
        `Way out: ${NAT_WAY_OUT}`,
    ]);
    expect(kept.warnings).toEqual([]);
    expect(moved({ AllocationId: 'eipalloc-0123' }, { AllocationId: 'eipalloc-0123' }).refused).toHaveLength(1);
    expect(moved({ AllocationId: { Ref: 'Address' } }, { AllocationId: { Ref: 'Address' } }).refused).toHaveLength(1);
    const secondary = moved({ AllocationId: 'eipalloc-1', SecondaryAllocationIds: ['eipalloc-2'] }, { AllocationId: 'eipalloc-3', SecondaryAllocationIds: ['eipalloc-2'] });
    expect(secondary.refused).toEqual([expect.stringContaining('keeps its Elastic IP ("eipalloc-2")')]);
  });

  it('goes through with another EIP (a new one, one the update replaces, another literal), without one (a private gateway), or when the gateway is not replaced', () => {
    expect(moved({ AllocationId: getAtt('E') }, { AllocationId: getAtt('E2') }, { before: { E: eip() }, after: { E2: eip() } })).toEqual({ refused: [], warnings: [] });
    expect(moved({ AllocationId: getAtt('E') }, { AllocationId: getAtt('E') }, { before: { E: eip({ NetworkBorderGroup: 'eu-west-1' }) }, after: { E: eip({ NetworkBorderGroup: 'eu-west-1-wl1' }) } })).toEqual({ refused: [], warnings: [] });
    expect(moved({ AllocationId: 'eipalloc-1' }, { AllocationId: 'eipalloc-2' })).toEqual({ refused: [], warnings: [] });
    expect(moved({ ConnectivityType: 'private' }, { ConnectivityType: 'private' })).toEqual({ refused: [], warnings: [] });
    const same = template({ S: subnet('10.0.0.0/24'), E: eip(), G: gateway({ AllocationId: getAtt('E') }) });
    expect(templateReplacements('s', same, same)).toEqual({ refused: [], warnings: [] });
  });
});

describe('IAM names changed only in case (day-2 review M4)', () => {
  it('a pipeline renamed in case only keeps its roles\' and policies\' names to IAM: refused, saying so; a real rename goes through', () => {
    const renamed = edited('  web-app:\n    repository: web-app', '  Web-App:\n    repository: web-app');
    const found = bodyReplacements('acme-pipelines', bodyOf(example, 'pipeline'), bodyOf(renamed, 'pipeline'));
    expect(found.refused.length).toBeGreaterThan(0);
    for (const line of found.refused) {
      expect(line).toMatch(/^StackSet acme-pipelines: AWS::IAM::(Role|ManagedPolicy) \w+ keeps its custom name \((RoleName|ManagedPolicyName) "acme-Web-App[^"]*"\) and changes (RoleName|ManagedPolicyName),/);
      expect(line).toContain('IAM does not tell names apart by case');
      expect(line).toContain('that differs by more than case');
    }
    const role = (name: string) => template({ R: { Type: 'AWS::IAM::Role', Properties: { RoleName: name, AssumeRolePolicyDocument: {} } } });
    expect(templateReplacements('s', role('acme-web-app-trigger'), role('acme-web-frontend-trigger')).refused).toEqual([]);
    // Case matters elsewhere: a bucket's name is its own (and lowercase), a pipeline's is not IAM's.
    const bucket = (name: string) => template({ B: { Type: 'AWS::S3::Bucket', Properties: { BucketName: name } } });
    expect(templateReplacements('s', bucket('a-b'), bucket('a-c')).refused).toEqual([]);
  });
});

describe('internet gateway attachments replaced with the gateway kept (day-2 review M3)', () => {
  it('a new CI network CIDR replaces the VPC and so the attachment, on the same gateway: refused with the way out; a gateway replaced with it goes through', () => {
    const moved = edited('cidr: 10.20.0.0/16', 'cidr: 10.21.0.0/16');
    const found = bodyReplacements('acme-ci-network', bodyOf(example, 'ci-network'), bodyOf(moved, 'ci-network'));
    const attachment = found.refused.filter((l) => l.includes('AWS::EC2::VPCGatewayAttachment'));
    expect(attachment).toEqual([
      expect.stringMatching(/^StackSet acme-ci-network: AWS::EC2::VPCGatewayAttachment \w+ is replaced \(its VpcId changes\) and attaches the same internet gateway .*Resource\.AlreadyAssociated.*remove access\.ci\.network from the org file and deploy/),
    ]);
    const vpc = (cidr: string, gateway: string) =>
      template({
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: cidr } },
        [gateway]: { Type: 'AWS::EC2::InternetGateway', Properties: {} },
        Attach: { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: { Ref: 'Vpc' }, InternetGatewayId: { Ref: gateway } } },
      });
    expect(templateReplacements('s', vpc('10.0.0.0/16', 'Igw'), vpc('10.1.0.0/16', 'Igw')).refused).toHaveLength(1);
    expect(templateReplacements('s', vpc('10.0.0.0/16', 'Igw'), vpc('10.1.0.0/16', 'Igw2')).refused).toEqual([]);
    expect(templateReplacements('s', vpc('10.0.0.0/16', 'Igw'), vpc('10.0.0.0/16', 'Igw')).refused).toEqual([]);
  });
});

describe("a resource's type changed under its logical id", () => {
  // Not a replacement: CloudFormation fails the update ("Update of resource type is not permitted"; the sources are
  // cited at TYPE_CHANGE_REFUSED in src/deploy/replacements.ts), whatever the resource is.
  it('is refused, naming the StackSet, the logical id, both types and the way out, named or not, of a type with create-only properties or not', () => {
    const policy = { Type: 'AWS::IAM::Policy', Properties: { PolicyName: 'p', PolicyDocument: { Statement: [] }, Roles: ['r'] } };
    const managed = { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Statement: [] }, Roles: ['r'] } };
    expect(templateReplacements('acme-pipelines', template({ WebAppPipelinePolicy: policy }), template({ WebAppPipelinePolicy: managed }))).toEqual({
      refused: [
        'StackSet acme-pipelines: resource WebAppPipelinePolicy is AWS::IAM::Policy in the deployed template and AWS::IAM::ManagedPolicy in this compile: ' +
          `${TYPE_CHANGE_REFUSED}, so the update would fail in every account. ` +
          'Way out: deploy with the xstack and org file that made the deployed template, or in two steps, first without the resource (a unit the org file makes: without it), then with it',
      ],
      warnings: [],
    });
    // A type CREATE_ONLY does not list, either way round.
    expect(CREATE_ONLY['AWS::CloudFormation::WaitConditionHandle']).toBeUndefined();
    const handle = { Type: 'AWS::CloudFormation::WaitConditionHandle' };
    expect(templateReplacements('s', template({ X: handle }), template({ X: managed })).refused).toEqual([expect.stringMatching(/^StackSet s: resource X is AWS::CloudFormation::WaitConditionHandle in the deployed template and AWS::IAM::ManagedPolicy in this compile: /)]);
    expect(templateReplacements('s', template({ X: managed }), template({ X: handle })).refused).toHaveLength(1);
    // The same type under another logical id is a replacement CloudFormation makes: not this refusal.
    expect(templateReplacements('s', template({ A: managed }), template({ B: managed }))).toEqual({ refused: [], warnings: [] });
    // Said once, not judged again as a replacement of the new type: two types whose custom name is the same property
    // (Name), kept, would also read as 'keeps its custom name and changes Type' (review s43-mutations-5 RP1).
    const project = { Type: 'AWS::CodeBuild::Project', Properties: { Name: 'acme-build' } };
    const pipeline = { Type: 'AWS::CodePipeline::Pipeline', Properties: { Name: 'acme-build' } };
    expect(templateReplacements('s', template({ X: project }), template({ X: pipeline }))).toEqual({
      refused: [expect.stringMatching(/^StackSet s: resource X is AWS::CodeBuild::Project in the deployed template and AWS::CodePipeline::Pipeline in this compile: /)],
      warnings: [],
    });
  });
});

describe('a named resource under a new logical id, with the name of one the update removes', () => {
  // CloudFormation creates what an update adds before its cleanup deletes what it drops (stack events page, cited at
  // namesStillHeld in src/deploy/replacements.ts): the new resource's create meets the name still taken.
  const role = (name: string) => ({ Type: 'AWS::IAM::Role', Properties: { RoleName: name, AssumeRolePolicyDocument: { Statement: [] } } });

  it('is refused, naming both logical ids, the name and the way out; an IAM name that differs only in case is the same name', () => {
    expect(templateReplacements('acme-pipeline-identity', template({ PipelineRole: role('acme-pipeline') }), template({ CodePipelineRole: role('acme-pipeline') }))).toEqual({
      refused: [
        'StackSet acme-pipeline-identity: AWS::IAM::Role CodePipelineRole is added with the RoleName "acme-pipeline" that PipelineRole, which this update removes, holds until the update\'s cleanup: ' +
          'CloudFormation creates the new resource first, the name is taken, and the update fails in every account. Way out: keep the logical id PipelineRole, or deploy in two steps, first without the resource, then with it',
      ],
      warnings: [],
    });
    expect(templateReplacements('s', template({ A: role('acme-pipeline') }), template({ B: role('ACME-Pipeline') })).refused).toEqual([expect.stringMatching(/^StackSet s: AWS::IAM::Role B is added with the RoleName "ACME-Pipeline" that A, which/)]);
    const bucket = (name: unknown) => ({ Type: 'AWS::S3::Bucket', Properties: { BucketName: name } });
    const named = { 'Fn::Sub': 'acme-artifacts-${AWS::AccountId}-${AWS::Region}' };
    expect(templateReplacements('s', template({ ArtifactBucket: bucket(named) }), template({ Artifacts: bucket(named) })).refused).toHaveLength(1);
    // A bucket's name is not IAM's: another case is another name.
    expect(templateReplacements('s', template({ A: bucket('acme-a') }), template({ B: bucket('Acme-A') })).refused).toEqual([]);
  });

  it('goes through with another name, unnamed, with the holder kept, or with the name under another type', () => {
    expect(templateReplacements('s', template({ A: role('acme-a') }), template({ B: role('acme-b') })).refused).toEqual([]);
    const unnamed = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [] } } };
    expect(templateReplacements('s', template({ A: unnamed }), template({ B: unnamed })).refused).toEqual([]);
    expect(templateReplacements('s', template({ A: role('acme-a') }), template({ A: role('acme-a'), B: role('acme-b') })).refused).toEqual([]);
    const policy = { Type: 'AWS::IAM::ManagedPolicy', Properties: { ManagedPolicyName: 'acme-a', PolicyDocument: { Statement: [] } } };
    expect(templateReplacements('s', template({ A: role('acme-a') }), template({ B: policy })).refused).toEqual([]);
    // Names are per type, even where two types call the property the same (Name): a pipeline may take a dropped
    // project's name (review s43-mutations-5 RP2).
    const named = (Type: string, Name: string) => ({ Type, Properties: { Name } });
    expect(templateReplacements('s', template({ A: named('AWS::CodeBuild::Project', 'acme-a') }), template({ B: named('AWS::CodePipeline::Pipeline', 'acme-a') })).refused).toEqual([]);
  });
});

describe('names held account by account (review s59-day2 M1)', () => {
  // A resource exists only where its Condition holds, and IAM names are per account (the pages cited at namesStillHeld):
  // the same name leaving one account and made in another meets nowhere.
  const role = (name: string, condition?: string) => ({ Type: 'AWS::IAM::Role', ...(condition ? { Condition: condition } : {}), Properties: { RoleName: name, AssumeRolePolicyDocument: { Statement: [] } } });
  const inAccount = (id: string) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id] });
  const withConditions = (conditions: Record<string, unknown>, resources: CfnTemplate['Resources']): CfnTemplate => ({ ...template(resources), Conditions: conditions });

  it('a role moving from one account to another under a new logical id goes through; made in an account where the other still is, it is refused there', () => {
    const conditions = { In111111111111: inAccount('111111111111'), In666666666666: inAccount('666666666666') };
    const deployed = withConditions(conditions, { RoleIn111111111111: role('acme-source-333333333333', 'In111111111111') });
    const moved = withConditions(conditions, { RoleIn666666666666: role('acme-source-333333333333', 'In666666666666') });
    expect(templateReplacements('acme-source-identity', deployed, moved).refused).toEqual([]);
    // In both accounts now under the new id: in 111111111111 the old one still holds the name.
    const both = withConditions({ ...conditions, InEither: { 'Fn::Or': [{ Condition: 'In111111111111' }, { Condition: 'In666666666666' }] } }, { RoleInEither: role('acme-source-333333333333', 'InEither') });
    expect(templateReplacements('acme-source-identity', deployed, both).refused).toEqual([
      'StackSet acme-source-identity: AWS::IAM::Role RoleInEither is added in account 111111111111 with the RoleName "acme-source-333333333333" that RoleIn111111111111, which this update removes, holds until the update\'s cleanup: ' +
        'CloudFormation creates the new resource first, the name is taken, and the update fails in account 111111111111. Way out: keep the logical id RoleIn111111111111, or deploy in two steps, first without the resource, then with it',
    ]);
  });

  it('two kept logical ids trading an account (one turned off there, the other on) under one name are refused in that account', () => {
    const conditions = (a: string, b: string) => ({ InA: inAccount(a), InB: inAccount(b) });
    const deployed = withConditions(conditions('111111111111', '222222222222'), { A: role('acme-x', 'InA'), B: role('acme-x', 'InB') });
    const traded = withConditions(conditions('333333333333', '111111111111'), { A: role('acme-x', 'InA'), B: role('acme-x', 'InB') });
    expect(templateReplacements('s', deployed, traded).refused).toEqual([expect.stringMatching(/^StackSet s: AWS::IAM::Role B is added in account 111111111111 with the RoleName "acme-x" that A, which this update removes there or renames, holds/)]);
  });

  it("the example's web-app moved to a new source account (staging runs only web-app): staging's source role moves between source accounts, and no StackSet is refused", () => {
    expect(WEB_APP_MOVED.match(/shared2/g)).toHaveLength(2);
    const moved = compileText(WEB_APP_MOVED);
    const roleNames = (t: CfnTemplate) => new Map(Object.entries(t.Resources).flatMap(([id, r]) => (r.Type === 'AWS::IAM::Role' ? [[id, JSON.stringify((r.Properties as { RoleName?: unknown }).RoleName)] as const] : [])));
    const before = roleNames(templateOf(example, 'source-identity'));
    const after = roleNames(templateOf(moved, 'source-identity'));
    // The case: a role id dropped and a new id with its name (staging's source role, now in 666666666666).
    const dropped = [...before].filter(([id]) => !after.has(id));
    expect(dropped.some(([, name]) => [...after].some(([id, n]) => !before.has(id) && n === name))).toBe(true);
    for (const stage of example.stages) {
      const next = moved.stages.find((x) => x.id === stage.id);
      if (next) expect(templateReplacements(stage.id, renderTemplate(stage.definition), renderTemplate(next.definition), { deployed: stage.targets.map((a) => a.id), desired: next.targets.map((a) => a.id) }).refused, stage.id).toEqual([]);
    }
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
  const env = useLocalAws({ beforeEach: async () => createStackSetRoles(example.org, env.aws(), (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!) });
  const options = { pollMs: 10 };

  it('an AZ-ID edit of a running CI network and a reworded managed policy: plan shows the refusals, deploy refuses before any operation', async () => {
    await deploy(example, env.aws(), options);
    const zones = edited(ZONES, `${ZONES}      availabilityZoneIds: [euw1-az3, euw1-az1]\n`);
    // A wording change in the code, as a later xstack would compile it (the compiled files are read-only: a copy).
    const identity = templatePath(zones.stages.find((s) => s.module === 'ci-identity')!);
    const next: CompiledOrg = { ...zones, files: new Map(zones.files).set(identity, zones.files.get(identity)!.replace(/Description: "Permissions of role ([^"]*)"/g, 'Description: "What role $1 may do"')) };

    const plans = await plan(next, env.aws(), options);
    const network = plans.find((p) => p.stackSet === 'acme-ci-network')!;
    expect(network.refusedReplacements?.map((r) => r.split(' is replaced')[0])).toEqual(
      ['NatGateway NatGateway', 'Subnet CiSubnet1', 'Subnet CiSubnet2', 'Subnet NatSubnet'].map((id) => `StackSet acme-ci-network: AWS::EC2::${id}`),
    );
    const reworded = plans.find((p) => p.stackSet === 'acme-ci-identity')!;
    expect(reworded.refusedReplacements?.[0]).toMatch(/^StackSet acme-ci-identity: AWS::IAM::ManagedPolicy \w+ keeps its custom name/);
    expect(plans.filter((p) => p.stackSet !== 'acme-ci-network' && p.stackSet !== 'acme-ci-identity').every((p) => p.refusedReplacements === undefined)).toBe(true);
    const text = formatPlan(plans, { accountNames: new Map(), colour: false });
    expect(text).toContain('    ✗ deploy refuses: StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet1 is replaced');

    const aws = env.aws();
    await expect(deploy(next, aws, options)).rejects.toMatchObject({ code: 'REFUSED_REPLACEMENT', message: expect.stringMatching(/^nothing was changed: (.*\n {2}StackSet acme-ci-(identity: AWS::IAM::ManagedPolicy|network: AWS::EC2::(NatGateway|Subnet))){2}/s) });
    expect(aws.log.mutating).toBe(0);
    // A third zone with nat on is refused too (the NAT subnet's CIDR, its gateway's address); the way out's first step is not.
    const third = (await plan(edited(ZONES, '      availabilityZones: 3\n'), env.aws(), options)).flatMap((p) => p.refusedReplacements ?? []);
    expect(third.map((r) => r.split(/ is (replaced|created)/)[0])).toEqual(['StackSet acme-ci-network: AWS::EC2::NatGateway NatGateway', 'StackSet acme-ci-network: AWS::EC2::Subnet CiSubnet3']);
    expect((await plan(edited(ZONES, `${ZONES}      nat: false\n`), env.aws(), options)).flatMap((p) => p.refusedReplacements ?? [])).toEqual([]);
  });

  it("web-app moved to a new source account (review s59-day2 M1): plan refuses nothing, as the source roles' names are held account by account over the StackSet's instances, and deploy goes through", async () => {
    await deploy(example, env.aws(), options);
    const moved = compileText(WEB_APP_MOVED);
    const plans = await plan(moved, env.aws(), options);
    expect(plans.find((p) => p.stackSet === 'acme-source-identity')?.addAccounts).toEqual(['666666666666']);
    expect(plans.flatMap((p) => p.refusedReplacements ?? [])).toEqual([]);
    await expect(deploy(moved, env.aws(), options)).resolves.toBeDefined();
  });

  it("a StackSet of the org's name that xstack did not create (no xstack:stackset tag) is not compared: its template refuses nothing, and deploy leaves it alone as before (m4)", async () => {
    const admin = env.aws();
    const name = 'acme-ci-identity';
    // Another tool's StackSet: the same logical ids and names, other policy descriptions, which would be refused were it xstack's.
    const theirs = bodyOf(example, 'ci-identity').replace(/Description: "Permissions of role ([^"]*)"/g, 'Description: "Another tool\'s $1"');
    expect(bodyReplacements(name, theirs, bodyOf(example, 'ci-identity')).refused.length).toBeGreaterThan(0);
    await admin.cloudFormation().send(new CreateStackSetCommand({ StackSetName: name, TemplateBody: theirs, Capabilities: ['CAPABILITY_NAMED_IAM'] }));

    const planned = (await plan(example, env.aws(), options)).find((p) => p.stackSet === name)!;
    expect(planned.foreign).toMatch(/^StackSet acme-ci-identity exists but xstack did not create it/);
    expect(planned.refusedReplacements).toBeUndefined();
    const run = await deploy(example, env.aws(), options);
    expect(run.stages.find((x) => x.stackSet === name)).toMatchObject({ result: 'failed', reasons: [planned.foreign] });
    expect((await admin.cloudFormation().send(new DescribeStackSetCommand({ StackSetName: name }))).StackSet?.TemplateBody).toBe(theirs);
  });
});

describe('a role an update deletes while another StackSet\'s managed policy is attached to it (review s32-day2 M2)', () => {
  const setsOf = (before: CompiledOrg, after: CompiledOrg) =>
    after.stages.map((st) => {
      const was = before.stages.find((b) => b.id === st.id);
      return { name: `acme-${st.id}`, wave: after.rollout.waveOf.get(st.id)!, deployed: was && renderTemplate(was.definition), desired: renderTemplate(st.definition) };
    });

  it("switching to deploymentTargets.instanceRoles: pipeline-identity deletes <prefix>-deploy-target in wave 1 while pipeline-foundation's artifacts policy, moved in wave 3, is attached to it", () => {
    const before = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    const after = compileOrg(parseOrg(`${EXAMPLE}deploymentTargets:\n  instanceRoles: [app-server]\n`, 'parameters/example.yaml'));
    const warnings = rolesDeletedWhileAttached(setsOf(before, after));
    expect([...warnings.keys()]).toEqual(['acme-pipeline-identity']);
    expect(warnings.get('acme-pipeline-identity')).toEqual([
      expect.stringMatching(/^StackSet acme-pipeline-identity's update deletes role acme-deploy-target \(DeployTargetRole, wave 1\) while managed policy acme-deploy-target-artifacts of StackSet acme-pipeline-foundation \(DeployTargetArtifactsPolicy, wave \d\) is still attached to it: IAM refuses/),
    ]);
    // Nothing changes: nothing said; and the way back (the role made again, the policy attached to it) deletes no role.
    expect(rolesDeletedWhileAttached(setsOf(before, before)).size).toBe(0);
    expect(rolesDeletedWhileAttached(setsOf(after, before)).size).toBe(0);
  });

  it("an instance profile the update deletes is a warning, naming it: the deployment targets' when the org names instanceRoles, the CI host's when CI moves to EKS (review s59-day2 m2)", () => {
    const before = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    const roles = compileOrg(parseOrg(`${EXAMPLE}deploymentTargets:\n  instanceRoles: [app-server]\n`, 'parameters/example.yaml'));
    const eks = compileOrg(parseOrg(EXAMPLE.replace('  ci:\n    account: tools\n', '  ci:\n    account: tools\n    eks: { mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }\n'), 'parameters/example.yaml'));
    const warned = (after: CompiledOrg, module: string) => templateReplacements(`acme-${module}`, templateOf(before, module), templateOf(after, module)).warnings.filter((w) => w.includes('InstanceProfile'));
    expect(warned(roles, 'pipeline-identity')).toEqual([expect.stringMatching(/^StackSet acme-pipeline-identity: AWS::IAM::InstanceProfile DeployTargetInstanceProfile \("acme-deploy-target"\) is deleted by this update, and IAM deletes it under any instance still running with it/)]);
    expect(warned(eks, 'ci-identity')).toEqual([expect.stringMatching(/^StackSet acme-ci-identity: AWS::IAM::InstanceProfile CiInstanceProfile \("acme-ci-instance"\) is deleted by this update/)]);
    // Kept: nothing said.
    expect(warned(before, 'ci-identity')).toEqual([]);
    // Replaced under its id, its name changed (a new prefix): the one deployed is deleted as well (review s59-second-read m4).
    const profile = (name: string) => ({ Type: 'AWS::IAM::InstanceProfile', Properties: { InstanceProfileName: name, Roles: [{ Ref: 'R' }] } });
    expect(templateReplacements('s', template({ P: profile('acme-ci-instance') }), template({ P: profile('corp-ci-instance') })).warnings).toEqual([
      expect.stringMatching(/^StackSet s: AWS::IAM::InstanceProfile P \("acme-ci-instance"\) is replaced, and the one deployed deleted, by this update/),
    ]);
  });

  it('the update that only deletes runs last (deferredRemovals), and then nothing is in its way; not when it changes what it keeps, or a policy keeps the attachment', () => {
    const before = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    const after = compileOrg(parseOrg(`${EXAMPLE}deploymentTargets:\n  instanceRoles: [app-server]\n`, 'parameters/example.yaml'));
    const sets = setsOf(before, after);
    const deferred = deferredRemovals(sets);
    expect([...deferred]).toEqual([['acme-pipeline-identity', ['acme-pipeline-foundation']]]);
    expect(rolesDeletedWhileAttached(sets, deferred).size).toBe(0);
    expect(deferredRemovals(setsOf(before, before)).size).toBe(0);
    expect(deferredRemovals(setsOf(after, before)).size).toBe(0);
    // The update also changes a resource it keeps: a later StackSet might read the change, so it stays in its wave.
    const changed = sets.map((x) => {
      if (x.name !== 'acme-pipeline-identity') return x;
      const [id, kept] = Object.entries(x.desired.Resources)[0];
      return { ...x, desired: { ...x.desired, Resources: { ...x.desired.Resources, [id]: { ...kept, Properties: { ...kept.Properties, Description: 'changed' } } } } };
    });
    expect(deferredRemovals(changed).size).toBe(0);
    expect(rolesDeletedWhileAttached(changed).size).toBe(1);
    // pipeline-foundation's compiled template still attaches its policy to the role: running last would not help.
    const kept = sets.map((x) => (x.name === 'acme-pipeline-foundation' ? { ...x, desired: x.deployed! } : x));
    expect(deferredRemovals(kept).size).toBe(0);
    // The run after one whose pipeline-foundation update failed part-way: its StackSet holds the new template, which
    // attaches nothing, but an instance not CURRENT may still run the old one: deferred again; once settled, not.
    const failedBefore = (settled: boolean) => sets.map((x) => (x.name === 'acme-pipeline-foundation' ? { ...x, deployed: x.desired, settled } : x));
    expect([...deferredRemovals(failedBefore(false)).keys()]).toEqual(['acme-pipeline-identity']);
    expect(deferredRemovals(failedBefore(true)).size).toBe(0);
    // An unsettled StackSet is waited for when it has managed policies attached to roles (its stacks may run an
    // earlier template attaching one to the role), not when it has none (review s33-diff 3).
    const withPolicies = sets.map((x) => (x.name === 'acme-pipelines' ? { ...x, settled: false } : x));
    expect(deferredRemovals(withPolicies).get('acme-pipeline-identity')).toEqual(['acme-pipeline-foundation', 'acme-pipelines']);
    const noPolicies = sets.map((x) => (x.name === 'acme-source-events' ? { ...x, settled: false } : x));
    expect(Object.values(sets.find((x) => x.name === 'acme-source-events')!.deployed!.Resources).some((r) => r.Type === 'AWS::IAM::ManagedPolicy' && (r.Properties as { Roles?: unknown[] }).Roles?.length)).toBe(false);
    expect([...deferredRemovals(noPolicies).get('acme-pipeline-identity')!]).toEqual(['acme-pipeline-foundation']);
    // An output it keeps changes (an export a later StackSet may import): not only a removal (review s33-diff 5).
    const outputChanged = sets.map((x) => {
      if (x.name !== 'acme-pipeline-identity') return x;
      const [name, output] = Object.entries(x.desired.Outputs!)[0];
      return { ...x, desired: { ...x.desired, Outputs: { ...x.desired.Outputs, [name]: { ...output, Description: 'changed' } } } };
    });
    expect(deferredRemovals(outputChanged).size).toBe(0);
    // Another StackSet's update creates a role under the name it deletes: that create would meet the name (review
    // s33-diff 6).
    const taken = sets.map((x) => {
      if (x.name !== 'acme-pipelines') return x;
      const role = Object.values(before.stages.find((st) => st.id === 'pipeline-identity') ? renderTemplate(before.stages.find((st) => st.id === 'pipeline-identity')!.definition).Resources : {}).find((r) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties).includes('deploy-target'))!;
      return { ...x, desired: { ...x.desired, Resources: { ...x.desired.Resources, MovedDeployTargetRole: role } } };
    });
    expect(deferredRemovals(taken).size).toBe(0);
  });
});

describe("a deployment group whose tag set changes (review s32-day2 M4)", () => {
  it("a second pipeline in web-app's accounts: its deployment group selects by Application=web-app there from now on, which plan warns of", () => {
    const alone = compileOrg(parseOrg(EXAMPLE.replace(/\n  payments-api:\n    repository: payments-api\n    branches:\n      dev: develop\n      prod: main\n    deploy:\n      type: codedeploy\n/, '\n'), 'parameters/example.yaml'));
    const both = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    const body = (c: CompiledOrg) => c.files.get('templates/pipelines.yaml')!;
    const found = bodyReplacements('acme-pipelines', body(alone), body(both));
    expect(found.refused).toEqual([]);
    // In dev and prod, where the two now share; not in staging, where web-app stays alone.
    expect(found.warnings).toEqual([expect.stringMatching(/^StackSet acme-pipelines: AWS::CodeDeploy::DeploymentGroup WebAppDeploymentGroup selects its instances by other tags in accounts 222222222222, 444444444444: .*tag those instances as the new set reads before deploying/)]);
    expect(bodyReplacements('acme-pipelines', body(both), body(both)).warnings).toEqual([]);
  });

  it('read account by account (review s32-diff 1): the shared set growing to one more environment warns for that account though the group reads the same; the pipeline given that environment warns for none', () => {
    const compile = (text: string) => compileOrg(parseOrg(text, 'parameters/example.yaml')).files.get('templates/pipelines.yaml')!;
    const base = compile(EXAMPLE);
    // payments-api added in staging: web-app now shares there too, which only WebAppShares' accounts say.
    const grown = compile(EXAMPLE.replace('    branches:\n      dev: develop\n      prod: main\n    deploy:\n      type: codedeploy\nstackSets:', '    branches:\n      dev: develop\n      staging: release\n      prod: main\n    deploy:\n      type: codedeploy\nstackSets:'));
    expect(grown).not.toBe(base);
    // And nothing for PaymentsApiDeploymentGroup, whose environment value's text changed with the account added: in
    // dev and prod it selects as before, and in staging it did not exist.
    expect(bodyReplacements('acme-pipelines', base, grown).warnings).toEqual([expect.stringMatching(/^StackSet acme-pipelines: AWS::CodeDeploy::DeploymentGroup WebAppDeploymentGroup selects its instances by other tags in account 333333333333: /)]);
  });

  it('not in an account the StackSet adds or leaves, whose group is made or deleted, not changed (review s59-day2 m1)', () => {
    const compiled = (text: string) => compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const base = compiled(EXAMPLE);
    // staging removed: web-app's group goes with staging's stack; the others select as before.
    const noStaging = compiled(EXAMPLE.replace('  staging:\n    id: "333333333333"\n    role: pipeline\n    environment: staging\n', '').replace('      staging: release\n', ''));
    const body = (c: CompiledOrg) => c.files.get('templates/pipelines.yaml')!;
    const targets = (c: CompiledOrg) => c.stages.find((s) => s.id === 'pipelines')!.targets.map((a) => a.id);
    expect(targets(noStaging)).toEqual(['222222222222', '444444444444']);
    const accounts = { deployed: targets(base), desired: targets(noStaging) };
    expect(bodyReplacements('acme-pipelines', body(base), body(noStaging), accounts).warnings).toEqual([]);
    // Read without the accounts (every account the templates choose by), staging's group reads as changed: what deploy
    // and plan no longer say, as they pass them.
    expect(bodyReplacements('acme-pipelines', body(base), body(noStaging)).warnings).toEqual([expect.stringMatching(/in account 333333333333: /)]);
  });
});
