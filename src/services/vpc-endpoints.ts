/**
 * The VPC endpoints of the CI network, as data: what each service is, what
 * goes through it, and whether AWS accepts an endpoint policy on it, with the
 * page that says so. Every CI network has CODECOMMIT_ENDPOINTS; an isolated
 * one (`network.nat: false`) ISOLATED_ENDPOINTS too. templates/ci-network.ts
 * attaches a policy where one is accepted; the access proof
 * (src/audit/paths.ts) asks each CI path of the endpoint its request goes
 * through; the audit report lists each endpoint with its policy, or the
 * reason it keeps AWS's default.
 *
 * "Not all AWS services support endpoint policies. If an AWS service doesn't
 * support endpoint policies, we allow full access to any endpoint for the
 * service", and in GovCloud "not all Amazon VPC endpoints support Amazon VPC
 * endpoint policies": DescribeVpcEndpointServices answers it per Region
 * (ServiceDetail.VpcEndpointPolicySupported), and plan and deploy ask it before
 * any operation (src/deploy/endpoint-services.ts).
 * https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 * https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-vpc.html
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html
 */
export interface CiNetworkEndpoint {
  /** Logical id in the ci-network template. */
  id: string;
  /** The service, after `com.amazonaws.<region>.` (CodeCommit's take `-fips` in GovCloud: ci-network.ts). */
  service: string;
  type: 'Interface' | 'Gateway';
  /** What the CI host sends through it. */
  purpose: string;
  /** An endpoint policy AWS accepts for the service (the page), or none, and why the endpoint keeps AWS's default. */
  policy: { doc: string } | { none: string };
}

/**
 * Whether a CodeCommit action is git's own (GitPull, GitPush), sent as git over HTTPS to the git-codecommit endpoint;
 * CodeCommit's other actions are its API's, sent to the codecommit endpoint (-fips for both in GovCloud).
 * https://docs.aws.amazon.com/codecommit/latest/userguide/codecommit-and-interface-VPC.html
 */
export const isGitAction = (action: string): boolean => action.toLowerCase().startsWith('codecommit:git');

/**
 * git-remote-codecommit's endpoints, in every CI network: git over HTTPS, CodeCommit's API and STS (the CI assumes
 * each source account's pull-only role), each with a policy admitting only the org's CI roles and repositories.
 * https://docs.aws.amazon.com/codecommit/latest/userguide/codecommit-and-interface-VPC.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_sts_vpce.html
 */
export const CODECOMMIT_ENDPOINTS: readonly CiNetworkEndpoint[] = [
  {
    id: 'GitCodeCommitEndpoint',
    service: 'git-codecommit',
    type: 'Interface',
    purpose: "git over HTTPS: git-remote-codecommit's clones and fetches with each source account's pull-only role",
    policy: { doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/codecommit-and-interface-VPC.html' },
  },
  {
    id: 'CodeCommitEndpoint',
    service: 'codecommit',
    type: 'Interface',
    purpose: "CodeCommit's API (the AWS CLI's or an SDK's calls on the repositories), under the same policy as git's endpoint",
    policy: { doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/codecommit-and-interface-VPC.html' },
  },
  {
    id: 'StsEndpoint',
    service: 'sts',
    type: 'Interface',
    purpose: "the CI role assumes each source account's pull-only role (sts:AssumeRole)",
    policy: { doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_sts_vpce.html' },
  },
];

export const ISOLATED_ENDPOINTS: readonly CiNetworkEndpoint[] = [
  {
    // "We recommend creating a single IAM resource policy and attaching it to both of the Amazon ECR VPC endpoints."
    id: 'EcrApiEndpoint',
    service: 'ecr.api',
    type: 'Interface',
    purpose: 'docker login (ecr:GetAuthorizationToken)',
    policy: { doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-vpc-endpoint-policy' },
  },
  {
    id: 'EcrDockerEndpoint',
    service: 'ecr.dkr',
    type: 'Interface',
    purpose: 'docker pull: the image manifest and the layers\' download URLs (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer)',
    policy: { doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-vpc-endpoint-policy' },
  },
  {
    id: 'SsmEndpoint',
    service: 'ssm',
    type: 'Interface',
    purpose: 'the SSM Agent registers the instance for Session Manager (ssm:UpdateInstanceInformation)',
    policy: { doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html#sysman-endpoint-policies' },
  },
  {
    id: 'SsmMessagesEndpoint',
    service: 'ssmmessages',
    type: 'Interface',
    purpose: 'Session Manager\'s channels (ssmmessages:*)',
    // Systems Manager documents endpoint policies for its ssm endpoint only, and the PrivateLink pages list no support
    // for ssmmessages; a policy on an endpoint whose service takes none is refused ("Service … only supports the
    // full-access endpoint policy", awslabs/landing-zone-accelerator-on-aws#224), so this one keeps AWS's default. Its four actions have no resource type, and the CI role may only open its own instance's channels.
    policy: { none: 'AWS documents no endpoint policy for ssmmessages (only for the ssm endpoint); the endpoint keeps AWS\'s default' },
  },
  {
    id: 'S3GatewayEndpoint',
    service: 's3',
    type: 'Gateway',
    purpose: 'ECR image layers, downloaded from ECR\'s layer bucket of the Region with the URL ECR presigns',
    policy: { doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms' },
  },
];

/** The endpoint of a service name as CloudFormation resolves it (`com.amazonaws.us-gov-west-1.ecr.api`, `cn.com.amazonaws.…`). */
export function endpointServiceOf(serviceName: string): string {
  const match = /^(?:cn\.)?com\.amazonaws\.[^.]+\.(.+)$/.exec(serviceName);
  return match ? match[1] : serviceName;
}

/** A CI network's endpoint by its logical id in the ci-network template. */
export const ciNetworkEndpoint = (id: string): CiNetworkEndpoint | undefined => [...CODECOMMIT_ENDPOINTS, ...ISOLATED_ENDPOINTS].find((e) => e.id === id);
