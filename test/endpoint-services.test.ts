// plan and deploy against AWS check the org Region's VPC endpoint services before any operation
// (src/deploy/endpoint-services.ts): a service the Region does not offer, or one given a policy it does not take, is
// refused by deploy and shown by plan; a read that is refused is a note and the deploy goes on; an org without
// endpoints makes no EC2 call. The built CLI against the StackSets layer (test/support/stacksets-proxy.ts, which
// models the Region's endpoint services as its header cites) in front of moto's server, both on 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListStackSetsCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { endpointNotes, endpointProblems, endpointsOf, type EndpointUse } from '../src/deploy/endpoint-services';
import { ISOLATED_ENDPOINTS } from '../src/services/vpc-endpoints';
import { createStackSetRoles } from './support/stackset-roles';
import { useLocalAws } from './support/local-aws';
import { runCli } from './support/run-cli';
import { compileFile, tempDir } from './helpers';

const EXAMPLE = 'parameters/example.yaml';
const GOVCLOUD = 'parameters/govcloud.yaml';
const example = compileFile(EXAMPLE);
const govcloud = compileFile(GOVCLOUD);
const gov = (service: string) => `com.amazonaws.us-gov-west-1.${service}`;
const MUTATING = ['CreateStackSet', 'UpdateStackSet', 'DeleteStackSet', 'CreateStackInstances', 'UpdateStackInstances', 'DeleteStackInstances'];

describe('the VPC endpoints the compiled templates create', () => {
  it('are the CI network\'s, each with its service in the org\'s Region, its policy and its zones where known', () => {
    const uses = endpointsOf(govcloud);
    expect(uses.map((u) => [u.logicalId, u.serviceName, u.type, u.policy]).sort()).toEqual(
      [
        ['CodeCommitEndpoint', gov('codecommit-fips'), 'Interface', true],
        ['GitCodeCommitEndpoint', gov('git-codecommit-fips'), 'Interface', true],
        ['StsEndpoint', gov('sts'), 'Interface', true],
        ...ISOLATED_ENDPOINTS.map((e) => [e.id, gov(e.service), e.type, 'doc' in e.policy]),
      ].sort(),
    );
    expect(new Set(uses.map((u) => `${u.stage} ${u.template}`))).toEqual(new Set(['ci-network templates/ci-network.yaml']));
    // Fn::GetAZs zones are names in the CI account: not known here.
    expect(uses.every((u) => u.zoneIds === undefined)).toBe(true);
    expect(endpointsOf(example).map((u) => u.serviceName).sort()).toEqual(['codecommit', 'git-codecommit', 'sts'].map((s) => `com.amazonaws.eu-west-1.${s}`));
  });

  it("an endpoint whose template leaves VpcEndpointType unset is a Gateway one, CloudFormation's default (review s41-mutations-3 ES1)", () => {
    const c = compileFile(GOVCLOUD);
    const resources = c.stages.find((s) => s.id === 'ci-network')!.definition.resources as Record<string, { Properties: { VpcEndpointType?: string } }>;
    const gateways = Object.entries(resources).filter(([, r]) => r.Properties?.VpcEndpointType === 'Gateway').map(([id]) => id);
    expect(gateways.length).toBeGreaterThan(0);
    for (const id of gateways) delete resources[id].Properties.VpcEndpointType;
    expect(endpointsOf(c).filter((u) => gateways.includes(u.logicalId)).map((u) => u.type)).toEqual(gateways.map(() => 'Gateway'));
  });

  it('an interface endpoint whose subnets name an AZ ID the service is not offered in is a problem naming the zone', () => {
    const use: EndpointUse = { stage: 'ci-network', template: 'templates/ci-network.yaml', logicalId: 'StsEndpoint', serviceName: 'com.amazonaws.eu-west-1.sts', type: 'Interface', policy: true, zoneIds: ['euw1-az1', 'euw1-az3'] };
    const detail = { ServiceName: use.serviceName, ServiceType: [{ ServiceType: 'Interface' as const }], VpcEndpointPolicySupported: true, AvailabilityZoneIds: ['euw1-az1', 'euw1-az2'] };
    expect(endpointProblems(use, detail, 'eu-west-1', EXAMPLE)).toEqual([
      `StsEndpoint (templates/ci-network.yaml, StackSet stage ci-network): com.amazonaws.eu-west-1.sts is not offered in euw1-az3 (it is in euw1-az1, euw1-az2), where its subnets are; set access.ci.network.availabilityZoneIds in ${EXAMPLE} to zones that offer every endpoint service`,
    ]);
    expect(endpointProblems({ ...use, zoneIds: ['euw1-az2'] }, detail, 'eu-west-1', EXAMPLE)).toEqual([]);
  });
});

describe('an endpoint left at AWS\'s default where the Region says its service takes a policy is a note (review s30-ci V1)', () => {
  const use: EndpointUse = { stage: 'ci-network', template: 'templates/ci-network.yaml', logicalId: 'SsmMessagesEndpoint', serviceName: 'com.amazonaws.us-gov-west-1.ssmmessages', type: 'Interface', policy: false };
  const detail = (supported: boolean) => ({ ServiceName: use.serviceName, ServiceType: [{ ServiceType: 'Interface' as const }], VpcEndpointPolicySupported: supported });

  it('ssmmessages, which xstack leaves without one: a note with the reason when the Region takes one, none when it does not', () => {
    const none = ISOLATED_ENDPOINTS.find((e) => e.id === 'SsmMessagesEndpoint')!.policy;
    expect('none' in none).toBe(true);
    expect(endpointNotes(use, detail(true), 'us-gov-west-1')).toEqual([
      `SsmMessagesEndpoint (templates/ci-network.yaml, StackSet stage ci-network): us-gov-west-1 says com.amazonaws.us-gov-west-1.ssmmessages takes a VPC endpoint policy (VpcEndpointPolicySupported: true), and xstack leaves AWS's default full-access one (${(none as { none: string }).none}); a policy of its own can be given in src/services/vpc-endpoints.ts`,
    ]);
    expect(endpointNotes(use, detail(false), 'us-gov-west-1')).toEqual([]);
    // An endpoint with a policy, or one xstack does not declare without one, has no note.
    expect(endpointNotes({ ...use, policy: true }, detail(true), 'us-gov-west-1')).toEqual([]);
    expect(endpointNotes({ ...use, logicalId: 'StsEndpoint' }, detail(true), 'us-gov-west-1')).toEqual([]);
  });
});

const env = useLocalAws({ proxy: true, timeout: 60_000 });

/** The built CLI against the layer, credentials for moto, nothing else of the user's environment. */
const xstack = (args: string[]) => runCli(args, env.endpoint);

const mutatingCalls = () => env.proxy.requests.filter((r) => MUTATING.includes(r.action));
const stackSets = async (region: string) => ((await env.aws(region, env.local.endpoint).cloudFormation().send(new ListStackSetsCommand({}))).Summaries ?? []).map((s) => s.StackSetName);

describe('plan and deploy check the Region\'s endpoint services first', { timeout: 240_000 }, () => {
  const ssmRefused = `SsmEndpoint (templates/ci-network.yaml, StackSet stage ci-network): ${gov('ssm')} does not support VPC endpoint policies in us-gov-west-1 (VpcEndpointPolicySupported: false) and xstack gives this endpoint one`;

  it('deploy refuses a policy on a service that takes none, before any mutating call, naming the endpoint and the way out', async () => {
    env.proxy.setEndpointServices({ withoutPolicy: [gov('ssm')] });
    const run = await xstack(['deploy', GOVCLOUD, '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("xstack: nothing was changed: the CI network's VPC endpoints would fail to create:");
    expect(run.stderr).toContain(ssmRefused);
    expect(run.stderr).toContain(`set access.ci.network.nat: true in ${GOVCLOUD}`);
    // Only that endpoint: every other service takes its policy (and ssmmessages gets none).
    expect(run.stderr.match(/does not support VPC endpoint policies/g)).toHaveLength(1);
    expect(env.proxy.ec2Calls.filter((c) => c === 'DescribeVpcEndpointServices')).toHaveLength(new Set(endpointsOf(govcloud).map((u) => u.serviceName)).size);
    expect(mutatingCalls()).toEqual([]);
    expect(await stackSets('us-gov-west-1')).toEqual([]);
  });

  it('plan shows the same as a problem line, and still the plan', async () => {
    env.proxy.setEndpointServices({ withoutPolicy: [gov('ssm')] });
    const run = await xstack(['plan', GOVCLOUD]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/plan: \d+ to create, 0 to update, 0 to delete, 0 unchanged/);
    expect(run.stdout).toContain(`✗ deploy refuses: ${ssmRefused}`);
    const json = await xstack(['plan', GOVCLOUD, '--json']);
    expect((JSON.parse(json.stdout) as { problems: string[] }).problems).toEqual([expect.stringContaining(ssmRefused)]);
  });

  it('deploy refuses an endpoint whose service the Region does not offer', async () => {
    env.proxy.setEndpointServices({ notOffered: [gov('git-codecommit-fips')] });
    const run = await xstack(['deploy', GOVCLOUD, '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `GitCodeCommitEndpoint (templates/ci-network.yaml, StackSet stage ci-network): us-gov-west-1 offers no Interface VPC endpoint service ${gov('git-codecommit-fips')} (DescribeVpcEndpointServices does not list it), so creating the endpoint would fail; access.ci.network makes it: leave access.ci.network out of ${GOVCLOUD}, or use a Region that offers it`,
    );
    expect(mutatingCalls()).toEqual([]);
  });

  it('a refused read is a note naming the permission and the manual check, and the deploy goes on', async () => {
    const aws = env.aws(example.org.region, env.local.endpoint);
    const identity = await aws.sts().send(new GetCallerIdentityCommand({}));
    await createStackSetRoles(example.org, aws, identity.Account!);
    env.proxy.setEndpointServices({ unauthorized: true });
    const run = await xstack(['deploy', EXAMPLE, '--yes']);
    expect(run.stderr).toContain(
      "note: could not check the VPC endpoint services of eu-west-1: UnauthorizedOperation: You are not authorized to perform this operation. (the credentials need ec2:DescribeVpcEndpointServices); endpoint policies and zones are not checked: check them by hand with 'aws ec2 describe-vpc-endpoint-services'",
    );
    expect(run.code).toBe(0);
    expect((await stackSets('eu-west-1')).sort()).toEqual(example.stages.map((s) => `${example.org.prefix}-${s.id}`).sort());
  });

  it('an org whose templates create no VPC endpoint makes no EC2 call; one that does, one call per service', async () => {
    const dir = tempDir('no-endpoints');
    const file = join(dir, 'no-endpoints.yaml');
    const text = readFileSync(EXAMPLE, 'utf8').replace(/\n    network:\n      cidr: [^\n]+\n      availabilityZones: \d+\n/, '\n');
    expect(text).not.toContain('network:');
    writeFileSync(file, text);
    const without = await xstack(['plan', file]);
    expect(without.code).toBe(0);
    expect(env.proxy.ec2Calls).toEqual([]);
    const withEndpoints = await xstack(['plan', EXAMPLE]);
    expect(withEndpoints.code).toBe(0);
    expect(env.proxy.ec2Calls).toEqual(['DescribeVpcEndpointServices', 'DescribeVpcEndpointServices', 'DescribeVpcEndpointServices']);
  });
});
