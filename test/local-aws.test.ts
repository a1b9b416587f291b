/**
 * The local AWS users get (src/deploy/local.ts): moto's server with the fixes
 * where moto parts from CloudFormation, the same server the rollout tests
 * run; and `xstack local`, which keeps one running for `--local` to find.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand, DescribeStacksCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeRouteTablesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AttachRolePolicyCommand, CreateRoleCommand, GetPolicyCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, startNewLocalAws, type LocalAws } from '../src/deploy/local';
import { tempDir } from './helpers';

const region = 'eu-west-1';
const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const role = (name: string) => ({ Type: 'AWS::IAM::Role', Properties: { RoleName: name, AssumeRolePolicyDocument: JSON.parse(trust) } });
const policy = (name: string, roles: unknown[]) => ({
  Type: 'AWS::IAM::ManagedPolicy',
  Properties: { ManagedPolicyName: name, Roles: roles, PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } },
});
const body = (resources: Record<string, unknown>) => JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Resources: resources });

describe("the local AWS deletes what CloudFormation's delete handlers delete", () => {
  let local: LocalAws;
  let cfn: CloudFormationClient;
  let iam: IAMClient;
  beforeAll(async () => {
    local = await startNewLocalAws();
    const config = { region, endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS };
    cfn = new CloudFormationClient(config);
    iam = new IAMClient(config);
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
  });
  const status = async (name: string) => (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
  const attached = async (roleName: string) => ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? []).map((p) => p.PolicyName);
  const policyGone = async (arn: string) => iam.send(new GetPolicyCommand({ PolicyArn: arn })).then(() => false, (e: Error) => e.name === 'NoSuchEntityException' || e.name === 'NoSuchEntity');

  it("a managed policy of a deleted stack is detached from every role it is on (another stack's, one attached by hand) and deleted; the roles' stack then goes", async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'roles', TemplateBody: body({ R: role('r-stage-one') }), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    await iam.send(new CreateRoleCommand({ RoleName: 'by-hand', AssumeRolePolicyDocument: trust }));
    await cfn.send(new CreateStackCommand({ StackName: 'grants', TemplateBody: body({ P: policy('p-later-stage', ['r-stage-one']) }), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    const arn = 'arn:aws:iam::123456789012:policy/p-later-stage';
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'by-hand', PolicyArn: arn }));
    expect(await attached('r-stage-one')).toEqual(['p-later-stage']);
    // Reverse order, as destroy goes: the later stage's stack first.
    await cfn.send(new DeleteStackCommand({ StackName: 'grants' }));
    expect(await policyGone(arn)).toBe(true);
    expect(await attached('r-stage-one')).toEqual([]);
    expect(await attached('by-hand')).toEqual([]);
    // moto's own answer without the fix: "Cannot delete entity, must detach all policies first."
    await cfn.send(new DeleteStackCommand({ StackName: 'roles' }));
    const roles = ((await iam.send(new ListRolesCommand({}))).Roles ?? []).map((r) => r.RoleName);
    expect(roles).not.toContain('r-stage-one');
  });

  it('a managed policy in the same stack as its role, and one a template update drops', async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'both', TemplateBody: body({ R: role('r-both'), P: policy('p-both', [{ Ref: 'R' }]), Q: policy('p-dropped', [{ Ref: 'R' }]) }), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    expect((await attached('r-both')).sort()).toEqual(['p-both', 'p-dropped']);
    await cfn.send(new UpdateStackCommand({ StackName: 'both', TemplateBody: body({ R: role('r-both'), P: policy('p-both', [{ Ref: 'R' }]) }), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    expect(await attached('r-both')).toEqual(['p-both']);
    expect(await policyGone('arn:aws:iam::123456789012:policy/p-dropped')).toBe(true);
    await cfn.send(new DeleteStackCommand({ StackName: 'both' }));
    expect(((await iam.send(new ListRolesCommand({}))).Roles ?? []).map((r) => r.RoleName)).not.toContain('r-both');
    expect(await policyGone('arn:aws:iam::123456789012:policy/p-both')).toBe(true);
  });

  it("a request moto routes by a module's name still reaches it, its modules listed once (local.ts, 5)", async () => {
    // The instance metadata path is dispatched to the host instance_metadata, one of moto's module folders; without
    // it in the list, moto takes the request for S3's (NoSuchBucket "latest").
    const answer = await fetch(`${local.endpoint}/latest/meta-data/instance-id`);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toMatch(/^i-/);
  });

  it('a route table goes with its stack, and so the VPC', async () => {
    const ec2 = new EC2Client({ region, endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS });
    const before = ((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).map((v) => v.VpcId);
    const vpc = { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.9.0.0/16' } };
    const subnet = { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.9.1.0/24' } };
    const table = { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } };
    const association = { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: { Ref: 'Subnet' }, RouteTableId: { Ref: 'Table' } } };
    await cfn.send(new CreateStackCommand({ StackName: 'network', TemplateBody: body({ Vpc: vpc, Subnet: subnet, Table: table, Association: association }) }));
    const created = ((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).map((v) => v.VpcId).filter((id) => !before.includes(id));
    expect(created).toHaveLength(1);
    await cfn.send(new DeleteStackCommand({ StackName: 'network' }));
    expect(((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).map((v) => v.VpcId)).not.toContain(created[0]);
    expect(((await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables ?? []).filter((t) => t.VpcId === created[0])).toEqual([]);
    await expect(status('network')).rejects.toThrow();
  });
});

const CLI = resolve('.build/src/cli.js');
const EXAMPLE = 'parameters/example.yaml';

describe('xstack local: one local AWS for every --local command while it runs', () => {
  // Its own temporary folder: the record of the running server is per user there, and a developer's own stays apart.
  const tmp = tempDir('local');
  const env = { PATH: process.env.PATH, HOME: tmp, TMPDIR: tmp, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(tmp, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'credentials'), XSTACK_MOTO_SERVER: resolve(process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server') };
  const xstack = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', env, timeout: 240_000 });
  let server: ChildProcess;
  let printed = '';
  let endpoint = '';
  beforeAll(async () => {
    server = spawn('node', [CLI, 'local'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d) => (printed += d));
    server.stderr!.on('data', (d) => (printed += d));
    const deadline = Date.now() + 60_000;
    while (!/at (http:\/\/127\.0\.0\.1:\d+)/.test(printed)) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`xstack local did not start: ${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    endpoint = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)![1];
  }, 90_000);
  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGTERM');
  });

  it('prints the endpoint to pass and the credentials; a second one is refused naming the first', () => {
    expect(printed).toContain(`--endpoint ${endpoint} with AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing`);
    expect(printed).toContain('--local');
    const second = xstack(['local']);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`a local AWS is already running at ${endpoint}`);
  });

  it('deploy --local, then verify --local finds it deployed, plan --local has nothing to do, destroy --local removes it', { timeout: 600_000 }, () => {
    const deployed = xstack(['deploy', EXAMPLE, '--local', '--yes']);
    expect(deployed.status, deployed.stderr + deployed.stdout).toBe(0);
    expect(deployed.stdout).toContain(`local AWS (moto) at ${endpoint} (xstack local's)`);
    // An emulator of its own would have nothing deployed: every StackSet "not deployed", exit 2.
    const verified = xstack(['verify', EXAMPLE, '--local']);
    expect(verified.stdout, verified.stderr).toContain('verify: deployed StackSets match the manifest');
    expect(verified.status).toBe(0);
    const planned = xstack(['plan', EXAMPLE, '--local', '--detailed-exitcode']);
    expect(planned.status, planned.stdout + planned.stderr).toBe(0);
    // Bootstrapped by the deploy: its steps all ok, so no heading with nothing under it (review s43-readme-run N3, s44-mutations-6 CM5).
    expect(planned.stdout).not.toContain('bootstrap (local):');
    const destroyed = xstack(['destroy', EXAMPLE, '--local', '--yes']);
    expect(destroyed.status, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toMatch(/summary: 9 deleted, 1 kept/);
  });

  it('stops on SIGINT, forgetting its record: verify and destroy --local are then refused (a new emulator holds no deploy), plan --local starts one of its own', async () => {
    const record = join(tmp, `xstack-local-${process.getuid?.()}.json`);
    expect(existsSync(record)).toBe(true);
    const exited = new Promise<number | null>((done) => server.once('exit', (code) => done(code)));
    server.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(record)).toBe(false);
    expect(printed).toContain('local AWS stopped');
    for (const command of ['verify', 'destroy']) {
      const refused = xstack([command, EXAMPLE, '--local', ...(command === 'destroy' ? ['--yes'] : [])]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`--local: no 'xstack local' is running, so nothing is deployed locally to ${command}; start one with 'xstack local'`);
    }
    const planned = xstack(['plan', EXAMPLE, '--local', '--json']);
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stderr).toContain('local AWS (moto) at http://127.0.0.1:');
    expect(planned.stderr).not.toContain(endpoint);
  }, 240_000);
});
