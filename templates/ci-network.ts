/**
 * The CI account, optional: the network seed 000 draws. CI subnets are
 * private (no public IPs, no route to the internet gateway); their default
 * route goes to a NAT gateway in a separate public subnet, so the CI host can
 * pull its image and packages. git reaches CodeCommit through interface
 * endpoints for git-codecommit, codecommit and sts, whose policies admit only
 * the org's CI roles and repositories. `nat: false` makes the network
 * isolated: no internet path at all, and the endpoints a CI host needs to run
 * (S3 gateway, ECR, Session Manager's) beside CodeCommit's and STS's, each
 * with a policy that lets through only what the CI host does, where AWS
 * accepts one (src/services/vpc-endpoints.ts). Flow logs record every flow of
 * the VPC.
 */
import EIP from 'cloudform-types/types/ec2/eip';
import FlowLog from 'cloudform-types/types/ec2/flowLog';
import LogGroup from 'cloudform-types/types/logs/logGroup';
import InternetGateway from 'cloudform-types/types/ec2/internetGateway';
import NatGateway from 'cloudform-types/types/ec2/natGateway';
import Route from 'cloudform-types/types/ec2/route';
import RouteTable from 'cloudform-types/types/ec2/routeTable';
import SecurityGroup from 'cloudform-types/types/ec2/securityGroup';
import Subnet, { type SubnetProperties } from 'cloudform-types/types/ec2/subnet';
import SubnetRouteTableAssociation from 'cloudform-types/types/ec2/subnetRouteTableAssociation';
import VPC from 'cloudform-types/types/ec2/vpc';
import VPCEndpoint from 'cloudform-types/types/ec2/vpcEndpoint';
import VPCGatewayAttachment from 'cloudform-types/types/ec2/vpcGatewayAttachment';
import type Resource from 'cloudform-types/types/resource';
import { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import { arn, getAtt, ref, stackUniqueName, sub } from '../src/cfn/intrinsics';
import { role, suppressChecks } from '../src/cfn/resources';
import { retain } from '../src/cfn/extensions';
import type { TemplateDefinition } from '../src/cfn/template';
import { PolicyError } from '../src/errors';
import { RESOURCE_POLICY_LIMITS, RESOURCE_POLICY_SHARE } from '../src/limits';
import { charsWith } from '../src/iam/policy-size';
import {
  ciAssumeReaderGrant,
  CODECOMMIT_PULL,
  ECR_AUTHORIZATION_TOKEN,
  ECR_IMAGE_LAYER_DOWNLOAD,
  ECR_IMAGE_LAYERS,
  ECR_IMAGE_PULL,
  ecrRepositoriesUnder,
  FLOW_LOGS_DELIVERY, FLOW_LOGS_FIND_GROUP,
  SESSION_MANAGER_INSTANCE,
  STS_ASSUME_ROLE,
} from '../src/iam/grants';
import { policyDocument, serviceTrust, statement, type Conditions, type PolicyDocument } from '../src/iam/policy';
import { CODECOMMIT_ENDPOINTS, isGitAction, ISOLATED_ENDPOINTS, type CiNetworkEndpoint } from '../src/services/vpc-endpoints';
import type { Names } from '../src/naming';
import type { CiNetwork, CiRuntime } from '../src/org/model';

export interface CiNetworkInput {
  names: Names;
  network: CiNetwork;
  /** `com.amazonaws`, every partition xstack compiles for has (in aws-cn, which it refuses, some services take `cn.com.amazonaws`). */
  endpointServicePrefix: string;
  /** Use the `-fips` CodeCommit endpoints (GovCloud). */
  fipsEndpoints: boolean;
  /** Source account id → its repositories. */
  repositories: ReadonlyArray<readonly [accountId: string, repositories: readonly string[]]>;
  /**
   * How the CodeCommit endpoints' policies name what CI may pull: each repository (the default), or every repository
   * of each source account, for an org whose repositories would make the policy too large (`codeCommitEndpointScope`).
   */
  repositoryScope?: 'repositories' | 'accounts';
  /**
   * Past the size at which even the `accounts` scope's per-account lists would not fit (`ciEndpointPrincipals`): the CI
   * reader roles by the organization (aws:PrincipalOrgID, and aws:ResourceOrgID on the STS endpoint) and one role-name
   * pattern, instead of each source account's id and reader role. Only with the `accounts` scope.
   */
  readersByOrganization?: { organizationId: string };
  /** What the CI runs on: its AssumeRole into the reader roles asks sts:TagSession too on EKS Pod Identity (grants.ts ciAssumeReaderGrant). */
  ciRuntime: CiRuntime['kind'];
}

/** What the CodeCommit endpoints let CI pull: each repository, or (`accounts`) every repository of each source account. */
const codeCommitEndpointResources = (input: Pick<CiNetworkInput, 'repositories'>, scope: 'repositories' | 'accounts'): IntrinsicFunction[] =>
  scope === 'accounts'
    ? input.repositories.map(([accountId]) => arn(`codecommit:\${AWS::Region}:${accountId}:*`))
    : input.repositories.flatMap(([accountId, repos]) => repos.map((r) => arn(`codecommit:\${AWS::Region}:${accountId}:${r}`)));

/**
 * Each repository by name while the CodeCommit endpoint's policy so written stays within the share of a VPC endpoint
 * policy's 20,480 characters the compile allows (RESOURCE_POLICY_LIMITS, RESOURCE_POLICY_SHARE; measured as the
 * org's partition and Region resolve it, as resource-policy-quotas.ts measures it); past it, every repository of each
 * source account (`arn:…:codecommit:<region>:<account>:*`), so that the policy grows with the source accounts, not the
 * repositories. Still only the org's CI reader roles may use the endpoint (aws:PrincipalArn), and those roles may pull
 * only the org's repositories (their own policy, access-roles.ts): the endpoint is a second fence, not the first.
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 */
export function codeCommitEndpointScope(input: Pick<CiNetworkInput, 'repositories'>, readerRole: string, at: { partition: string; region: string }): { scope: 'repositories' | 'accounts'; chars: number; limit: number } {
  const limit = Math.floor(RESOURCE_POLICY_LIMITS.endpoint.limit * RESOURCE_POLICY_SHARE);
  const chars = largestCodeCommitEndpointPolicy(codeCommitEndpointResources(input, 'repositories'), input.repositories.map(([id]) => id), readerRole, at);
  return { scope: chars <= limit ? 'repositories' : 'accounts', chars, limit };
}

/**
 * Whether the CodeCommit endpoints' policies, in the `accounts` scope, would still exceed the share of 20,480
 * characters the compile allows with their per-account lists (each source account's `codecommit:<region>:<account>:*`,
 * its id as aws:PrincipalAccount and its reader role as aws:PrincipalArn, about 110 characters an account: about 175
 * source accounts): then they name the reader roles by the organization (`readersByOrganization`). Measured as the
 * template writes them and as resource-policy-quotas.ts measures them (compact JSON, the partition and Region
 * resolved), the larger of the two endpoints', so that an org whose policies fit keeps them as they are. The STS
 * endpoint's per-account list (each reader role, about 50 characters) is smaller, and switches with them.
 */
export function ciEndpointPrincipals(sourceAccountIds: readonly string[], readerRole: string, at: { partition: string; region: string }): { byOrganization: boolean; chars: number; limit: number } {
  const limit = Math.floor(RESOURCE_POLICY_LIMITS.endpoint.limit * RESOURCE_POLICY_SHARE);
  const repositories = codeCommitEndpointResources({ repositories: sourceAccountIds.map((id) => [id, []]) }, 'accounts');
  const chars = largestCodeCommitEndpointPolicy(repositories, sourceAccountIds, readerRole, at);
  return { byOrganization: chars > limit, chars, limit };
}

/**
 * The larger of the two CodeCommit endpoints' policies (git's and the API's) naming `repositories` and admitting each
 * source account's reader role, in characters as resource-policy-quotas.ts measures it: compact JSON, the org's
 * partition and Region resolved.
 */
const largestCodeCommitEndpointPolicy = (repositories: readonly IntrinsicFunction[], sourceAccountIds: readonly string[], readerRole: string, at: { partition: string; region: string }): number => {
  const resolved = { 'AWS::Partition': at.partition, 'AWS::Region': at.region };
  return Math.max(...[true, false].map((git) => charsWith(codeCommitEndpointPolicy(git, repositories, readersByAccount(sourceAccountIds, readerRole)), resolved)));
};

/** The CI reader roles an endpoint policy admits, by account: each source account's id and its reader role. */
const readersByAccount = (sourceAccountIds: readonly string[], readerRole: string): Conditions => ({
  StringEquals: { 'aws:PrincipalAccount': sourceAccountIds },
  ArnLike: { 'aws:PrincipalArn': sourceAccountIds.map((id) => arn(`iam::${id}:role/${readerRole}`)) },
});

/**
 * A CodeCommit endpoint's policy: only the pull actions sent to that endpoint (git's own to git-codecommit, the API's
 * to codecommit), only `repositories`, only the CI reader roles `readers` admits. Endpoint policies name "*" and narrow
 * by condition.
 */
const codeCommitEndpointPolicy = (git: boolean, repositories: readonly IntrinsicFunction[], readers: Conditions) =>
  policyDocument([
    statement({
      sid: 'CiPullsOrgRepositories',
      principal: '*',
      actions: CODECOMMIT_PULL.actions.filter((a) => isGitAction(a) === git),
      resources: repositories,
      conditions: readers,
    }),
  ]);

/** How much longer a CI subnet's prefix is than the network's: room for 16 subnets (a /16 gives /20s). */
export const CI_SUBNET_EXTRA_BITS = 4;

/** Splits the VPC block into subnets CI_SUBNET_EXTRA_BITS longer. */
export function subnetCidrs(cidr: string, count: number): string[] {
  const [address, bitsText] = cidr.split('/');
  const bits = Number(bitsText) + CI_SUBNET_EXTRA_BITS;
  const base = address.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  return Array.from({ length: count }, (_, i) => {
    const n = base + i * size;
    return `${[24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')}/${bits}`;
  });
}

/**
 * The zone of the `index`th subnet: the AZ ID the org file names for it, or
 * else the `index`th zone `Fn::GetAZs` lists in the CI account.
 *
 * Each interface endpoint has a network interface in every CI subnet, and a
 * service is offered in some of a Region's zones only: a subnet in another
 * fails the endpoint ("does not support the Availability Zone of the subnet").
 *   https://docs.aws.amazon.com/vpc/latest/userguide/vpce-interface.html
 *   https://repost.aws/knowledge-center/interface-endpoint-availability-zone
 * DescribeVpcEndpointServices gives a service's zones (ServiceDetail's
 * AvailabilityZones, names in the caller's account; AvailabilityZoneIds in newer SDKs):
 *   https://docs.aws.amazon.com/goto/SdkForJavaScriptV3/ec2-2016-11-15/DescribeVpcEndpointServices
 *   https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-service-detail/availability-zone-ids.html
 * A zone name may stand for a different zone in each account, an AZ ID is the
 * same zone in all; a subnet takes one as AvailabilityZoneId (never beside
 * AvailabilityZone: cfn-lint E3020).
 *   https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnet.html
 */
const availabilityZone = (network: CiNetwork, index: number): Pick<SubnetProperties, 'AvailabilityZone' | 'AvailabilityZoneId'> =>
  network.availabilityZoneIds
    ? { AvailabilityZoneId: network.availabilityZoneIds[index] }
    : { AvailabilityZone: new IntrinsicFunction('Fn::Select', [String(index), { 'Fn::GetAZs': '' }]) };

const serviceName = (input: CiNetworkInput, service: string) => sub(`${input.endpointServicePrefix}.\${AWS::Region}.${service}`);

function interfaceEndpoint(input: CiNetworkInput, service: string, subnets: readonly string[], policy: PolicyDocument | undefined): VPCEndpoint {
  return new VPCEndpoint({
    VpcEndpointType: 'Interface',
    ServiceName: serviceName(input, service),
    VpcId: ref('Vpc'),
    SubnetIds: subnets.map(ref),
    SecurityGroupIds: [ref('EndpointSecurityGroup')],
    PrivateDnsEnabled: true,
    ...(policy ? { PolicyDocument: policy } : {}),
  });
}

/**
 * The isolated network's endpoints let through what the CI host does (src/services/needs.ts CI_HOST_NEEDS), no more.
 * An endpoint policy names "*" and narrows by condition; the interface endpoints admit only principals of this account
 * (aws:PrincipalAccount), on this account's resources.
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalaccount
 */
const OF_THIS_ACCOUNT = { StringEquals: { 'aws:PrincipalAccount': ref('AWS::AccountId') } };

function isolatedEndpointPolicy(endpoint: CiNetworkEndpoint, names: Names): PolicyDocument {
  switch (endpoint.service) {
    case 'ecr.api':
    case 'ecr.dkr':
      // One policy on both ECR endpoints, as ECR recommends: docker login and pulls from this account's CI namespace.
      // https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-vpc-endpoint-policy
      return policyDocument([
        statement({ sid: 'EcrLogin', principal: '*', actions: ECR_AUTHORIZATION_TOKEN.actions, resources: '*', conditions: OF_THIS_ACCOUNT }),
        statement({ sid: 'PullCiImages', principal: '*', actions: ECR_IMAGE_PULL.actions, resources: arn(ecrRepositoriesUnder(names.ciImageRepositories())), conditions: OF_THIS_ACCOUNT }),
      ]);
    case 'ssm':
      // Session Manager's registration of this account's instances; nothing else of Systems Manager (no parameters).
      // https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html#sysman-endpoint-policies
      return policyDocument([
        statement({ sid: 'SessionManagerRegisters', principal: '*', actions: SESSION_MANAGER_INSTANCE.actions, resources: arn('ec2:${AWS::Region}:${AWS::AccountId}:instance/*'), conditions: OF_THIS_ACCOUNT }),
      ]);
    case 's3':
      // Only ECR's image layers, read with the URL ECR presigns (signed by ECR, so no principal of this account: the
      // condition is the query-string authentication of a presigned URL). No write to any bucket, no read of any other.
      // For a gateway endpoint the Principal is "*" ("you cannot limit the Principal element to a specific IAM role").
      // https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms
      // https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html#vpc-endpoint-policies-gateway
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policy-s3-sigv4-conditions.html
      return policyDocument([
        statement({ sid: 'EcrImageLayers', principal: '*', actions: ECR_IMAGE_LAYER_DOWNLOAD.actions, resources: sub(ECR_IMAGE_LAYERS.objects), conditions: { StringEquals: ECR_IMAGE_LAYERS.presigned } }),
      ]);
    default:
      throw new PolicyError(`no endpoint policy for ${endpoint.service}: src/services/vpc-endpoints.ts says AWS accepts one`);
  }
}

export function ciNetwork(input: CiNetworkInput): TemplateDefinition {
  const { network, names } = input;
  // CI subnet i in slot i, the NAT subnet right after them: where every network deployed so far has it. A subnet's
  // CidrBlock is create-only, so moving the NAT subnet would replace it, and with it the NAT gateway, whose
  // replacement CloudFormation creates while the old one still holds the Elastic IP (refused: src/deploy/replacements.ts).
  // A change of availabilityZones with nat on hands the NAT subnet's CIDR to a CI subnet (or back): replacements.ts
  // refuses it too, with the way out (nat off, change the zones, nat on).
  const cidrs = subnetCidrs(network.cidr, network.availabilityZones + (network.nat ? 1 : 0));
  const resources: Record<string, Resource> = {};
  const privateSubnets = Array.from({ length: network.availabilityZones }, (_, i) => `CiSubnet${i + 1}`);

  resources.Vpc = new VPC({ CidrBlock: network.cidr, EnableDnsSupport: true, EnableDnsHostnames: true });
  resources.CiRouteTable = new RouteTable({ VpcId: ref('Vpc') });
  privateSubnets.forEach((id, i) => {
    resources[id] = new Subnet({ VpcId: ref('Vpc'), CidrBlock: cidrs[i], ...availabilityZone(network, i), MapPublicIpOnLaunch: false });
    resources[`${id}RouteTable`] = new SubnetRouteTableAssociation({ SubnetId: ref(id), RouteTableId: ref('CiRouteTable') });
  });

  resources.EndpointSecurityGroup = new SecurityGroup({
    // Create-only: a wording change replaces the group (plan warns: src/deploy/replacements.ts); keep it as deployed.
    GroupDescription: 'HTTPS from the CI network to the CodeCommit and STS endpoints',
    VpcId: ref('Vpc'),
    SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: network.cidr, Description: 'HTTPS from the CI network' }],
    SecurityGroupEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: network.cidr, Description: 'Replies stay in the CI network' }],
  });
  resources.CiSecurityGroup = new SecurityGroup({
    // Create-only: a wording change replaces the group, which CI instances launched outside the stack keep (plan
    // warns: src/deploy/replacements.ts); keep it as deployed.
    GroupDescription: 'CI instances: HTTPS out only',
    VpcId: ref('Vpc'),
    SecurityGroupEgress: [
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        // Isolated, the route table has no internet path: HTTPS reaches only the interface endpoints
        // and, through the gateway endpoint's route, S3 (whose prefix list a template cannot name).
        CidrIp: '0.0.0.0/0',
        Description: network.nat ? 'HTTPS through the NAT gateway and to the VPC endpoints' : 'HTTPS to the VPC endpoints and S3 (no internet route exists)',
      },
    ],
  });

  const ciReaderRoles = input.repositories.map(([accountId]) => arn(`iam::${accountId}:role/${names.ciReaderRole()}`));
  const byOrganization = input.readersByOrganization;
  if (byOrganization && input.repositoryScope !== 'accounts') throw new Error('internal: the CI reader roles named by organization beside each repository by name');
  const repositoryArns = codeCommitEndpointResources(input, input.repositoryScope ?? 'repositories');
  const sourceAccountIds = input.repositories.map(([accountId]) => accountId);
  // Past the size (ciEndpointPrincipals): the reader role's name in any account, held to the organization. An endpoint
  // policy's ARN may have "an account ID or a wildcard character" in its account part, "but not both", and takes no
  // wildcard on aws:PrincipalAccount, a system-generated identifier: the organization by aws:PrincipalOrgID, exact
  // (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html, Considerations). SigV4 callers
  // carry aws:PrincipalOrgID, aws:PrincipalAccount and aws:PrincipalArn in an endpoint policy's request context
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sts_vpc_endpoint_policies.html, "Important
  // considerations"); aws:PrincipalOrgID is there "only if the principal is a member of an organization"
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid).
  // The same page asks a string operator's wildcard for six characters on each side; the role pattern has more, in an
  // ARN operator. Whether git-remote-codecommit's requests carry aws:PrincipalOrgID on the git endpoint is to verify
  // once (README, "Not yet").
  const readerRolesInOrganization = arn(`iam::*:role/${names.ciReaderRole()}`);
  const readers = byOrganization
    ? { StringEquals: { 'aws:PrincipalOrgID': byOrganization.organizationId }, ArnLike: { 'aws:PrincipalArn': readerRolesInOrganization } }
    : readersByAccount(sourceAccountIds, names.ciReaderRole());
  const ciRole = { ArnEquals: { 'aws:PrincipalArn': arn(`iam::\${AWS::AccountId}:role/${names.ciInstanceRole()}`) } };
  const assumeActions = ciAssumeReaderGrant(input.ciRuntime).actions;
  const stsPolicy = policyDocument(
    byOrganization
      ? [
          // Past the size, the reader role's name in the organization's accounts: aws:ResourceOrgID, as the CI role's
          // own policy holds it (templates/ci-identity.ts); "included in the request context only if the account that
          // owns the resource is a member of an organization"
          // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid).
          // The permission-only sts:TagSession (EKS Pod Identity) without it, as in the CI role's policy.
          statement({
            sid: 'CiAssumesReaderRoles',
            principal: '*',
            actions: STS_ASSUME_ROLE.actions,
            resources: readerRolesInOrganization,
            conditions: { ...ciRole, StringEquals: { 'aws:ResourceOrgID': byOrganization.organizationId } },
          }),
          ...(assumeActions.length > STS_ASSUME_ROLE.actions.length
            ? [statement({ sid: 'CiTagsReaderSessions', principal: '*', actions: assumeActions.filter((a) => !STS_ASSUME_ROLE.actions.includes(a)), resources: readerRolesInOrganization, conditions: ciRole })]
            : []),
        ]
      : [statement({ sid: 'CiAssumesReaderRoles', principal: '*', actions: assumeActions, resources: ciReaderRoles, conditions: ciRole })],
  );
  // FIPS endpoints where the partition offers them (GovCloud): https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html
  const fips = input.fipsEndpoints ? '-fips' : '';
  for (const endpoint of CODECOMMIT_ENDPOINTS) {
    const [service, policy] = endpoint.service === 'sts' ? [endpoint.service, stsPolicy] : [`${endpoint.service}${fips}`, codeCommitEndpointPolicy(endpoint.service === 'git-codecommit', repositoryArns, readers)];
    resources[endpoint.id] = interfaceEndpoint(input, service, privateSubnets, policy);
  }
  // Isolated: what the CI host itself needs without an internet path (image pulls, Session Manager; nothing on it sends
  // logs, and the flow logs are delivered by their own service), each endpoint with a policy where AWS accepts one.
  // https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html
  if (!network.nat) {
    for (const endpoint of ISOLATED_ENDPOINTS) {
      const policy = 'doc' in endpoint.policy ? isolatedEndpointPolicy(endpoint, names) : undefined;
      resources[endpoint.id] =
        endpoint.type === 'Gateway'
          ? new VPCEndpoint({ VpcEndpointType: 'Gateway', ServiceName: serviceName(input, endpoint.service), VpcId: ref('Vpc'), RouteTableIds: [ref('CiRouteTable')], ...(policy ? { PolicyDocument: policy } : {}) })
          : interfaceEndpoint(input, endpoint.service, privateSubnets, policy);
    }
  }

  // https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
  // Retained like the buckets (an audit record outlives its stack: `destroy`, the network taken out of the org file).
  // Named `<prefix>-ci-flow-logs-<the stack's unique id>`: the execution role's logs writes reach this org's groups
  // alone (review s37-execution X2: unnamed, they reached every log group of the CI account), and a network made
  // again, in a new stack, never meets the group kept from before (review s17-templates m2).
  resources.FlowLogGroup = suppressChecks(retain(new LogGroup({ LogGroupName: stackUniqueName(names.flowLogGroup()), RetentionInDays: 365 })), [
    {
      id: 'CKV_AWS_158',
      reason: 'CloudWatch Logs encrypts every log group at rest with its own keys; flow records hold addresses and ports, no payload',
    },
  ]);
  Object.assign(resources, role('FlowLogRole', {
    name: names.flowLogRole(),
    description: 'VPC Flow Logs delivers the CI network\'s flow records to its log group with this role',
    trust: serviceTrust('vpc-flow-logs.amazonaws.com', {
      StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
      ArnLike: { 'aws:SourceArn': arn('ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*') },
    }),
    policies: [
      {
        name: 'deliver-flow-logs',
        document: policyDocument([
          statement({ sid: 'DeliverFlowLogs', actions: FLOW_LOGS_DELIVERY.actions, resources: getAtt('FlowLogGroup', 'Arn') }),
          statement({ sid: 'FindLogGroup', actions: FLOW_LOGS_FIND_GROUP.actions, resources: '*' }),
        ]),
      },
    ],
    exceptions: [{ rule: 'XS002', statement: 'FindLogGroup', reason: FLOW_LOGS_FIND_GROUP.resourceStarReason ?? '' }],
  }));
  // The role's policy first: Flow Logs checks it can deliver when the flow log is created.
  resources.FlowLog = new FlowLog({
    ResourceId: ref('Vpc'),
    ResourceType: 'VPC',
    TrafficType: 'ALL',
    LogDestinationType: 'cloud-watch-logs',
    LogGroupName: ref('FlowLogGroup'),
    DeliverLogsPermissionArn: getAtt('FlowLogRole', 'Arn'),
  }).dependsOn('FlowLogRoleDeliverFlowLogs');

  if (network.nat) {
    resources.NatSubnet = new Subnet({ VpcId: ref('Vpc'), CidrBlock: cidrs[network.availabilityZones], ...availabilityZone(network, 0), MapPublicIpOnLaunch: false });
    resources.InternetGateway = new InternetGateway({});
    resources.InternetGatewayAttachment = new VPCGatewayAttachment({ VpcId: ref('Vpc'), InternetGatewayId: ref('InternetGateway') });
    resources.NatRouteTable = new RouteTable({ VpcId: ref('Vpc') });
    resources.NatRouteToInternet = new Route({ RouteTableId: ref('NatRouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: ref('InternetGateway') }).dependsOn('InternetGatewayAttachment');
    resources.NatSubnetRouteTable = new SubnetRouteTableAssociation({ SubnetId: ref('NatSubnet'), RouteTableId: ref('NatRouteTable') });
    resources.NatAddress = new EIP({ Domain: 'vpc' }).dependsOn('InternetGatewayAttachment');
    resources.NatGateway = new NatGateway({ SubnetId: ref('NatSubnet'), AllocationId: getAtt('NatAddress', 'AllocationId') });
    resources.CiRouteToNat = new Route({ RouteTableId: ref('CiRouteTable'), DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: ref('NatGateway') });
  }

  return {
    description: `xstack ci-network: private CI subnets reaching CodeCommit through VPC endpoints${network.nat ? ', internet through a NAT gateway' : ', isolated (no internet path)'}`,
    parameters: {},
    resources,
    outputs: {
      VpcId: { description: 'The CI VPC', value: ref('Vpc') },
      CiSubnetIds: {
        description: network.nat
          ? 'Subnets to run the CI in (no public IPs; default route to the NAT gateway, none to the internet gateway)'
          : 'Subnets to run the CI in (no public IPs, no internet path)',
        value: new IntrinsicFunction('Fn::Join', [',', privateSubnets.map(ref)]),
      },
      CiSecurityGroupId: { description: 'Security group for the CI instances', value: ref('CiSecurityGroup') },
      // The VPC's default group keeps AWS's default rules (all egress, all ingress from itself), which no template
      // property changes; an instance launched without a group gets it (review s30-ci m3). Its id, for the README's
      // revoke commands: "You can change the rules for a default security group. You can't delete a default security
      // group." https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpc.html (DefaultSecurityGroup)
      VpcDefaultSecurityGroupId: {
        description: "The CI VPC's default security group, with AWS's default rules: revoke them (README, Launching the CI host); launch CI instances into CiSecurityGroupId",
        value: getAtt('Vpc', 'DefaultSecurityGroup'),
      },
    },
  };
}
