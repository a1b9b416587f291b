/**
 * Partitions and their regions. A region outside its partition cannot host the
 * org: ARNs, service principals and endpoints would not resolve.
 * https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
 */
import { closest } from '../org/schema';

export type Partition = 'aws' | 'aws-us-gov' | 'aws-cn';

export const PARTITION_REGIONS: Readonly<Record<Partition, readonly string[]>> = {
  aws: [
    'af-south-1', 'ap-east-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1',
    'ap-south-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4',
    'ap-southeast-5', 'ap-southeast-7', 'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2',
    'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1',
    'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-west-1',
    'us-west-2',
  ],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
};

export const PARTITIONS = Object.keys(PARTITION_REGIONS) as Partition[];

/**
 * Regions of the aws partition launched after March 20, 2019, "disabled by default": an account must enable each
 * before using it, and services act there as regional service principals (StackSets: stacksets-prereqs-self-managed.html).
 * https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
 */
const OPT_IN_REGIONS: ReadonlySet<string> = new Set([
  'af-south-1', 'ap-east-1', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'ca-west-1', 'eu-central-2', 'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1',
]);
export const isOptInRegion = (region: string): boolean => OPT_IN_REGIONS.has(region);

/**
 * The Regions where "you can create and use CodeCommit repositories": the org's repositories, and so the org, must be
 * in one. Later Regions of the aws partition (eu-central-2, ca-west-1, mx-central-1, ...) are not on the list.
 * https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html
 */
export const CODECOMMIT_REGIONS: ReadonlySet<string> = new Set([
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1',
  'eu-south-1', 'af-south-1', 'il-central-1', 'ap-northeast-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3',
  'me-central-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2', 'ap-east-1', 'sa-east-1', 'me-south-1',
  'ca-central-1', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-gov-east-1',
]);

export function partitionOfRegion(region: string): Partition | undefined {
  return PARTITIONS.find((p) => PARTITION_REGIONS[p].includes(region));
}

/** What is wrong with `region` for an org in `partition` (the org file's region, a command's --region), or undefined. */
export function regionProblem(region: string, partition: Partition): string | undefined {
  if (PARTITION_REGIONS[partition].includes(region)) return undefined;
  const home = partitionOfRegion(region);
  if (home) return `${region} is in partition ${home}, not ${partition}`;
  const suggestion = closest(region, PARTITION_REGIONS[partition]);
  return `${region} is not a known region${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
}

/**
 * GovCloud's CodeCommit has FIPS 140 endpoints (git-codecommit-fips, codecommit-fips):
 * FedRAMP workloads use them. https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html
 * The isolated CI network has only these, and the generated profiles select them
 * (use_fips_endpoint, CODE_COMMIT_ENDPOINT: src/access/profiles.ts).
 */
export const usesFipsCodeCommit = (partition: Partition): boolean => partition === 'aws-us-gov';

/**
 * The git host git-remote-codecommit connects to; it builds
 * `git-codecommit.<region>.amazonaws.com` unless CODE_COMMIT_ENDPOINT names
 * another (aws/git-remote-codecommit, git_remote_codecommit/__init__.py).
 */
export const codeCommitGitHost = (partition: Partition, region: string): string =>
  `git-codecommit${usesFipsCodeCommit(partition) ? '-fips' : ''}.${region}.amazonaws.com`;

/**
 * What AWS's GovCloud pages settle for us-gov-west-1 only, said at compile for an org in us-gov-east-1 (review
 * s45-govcloud G2): GovCloud's CodeDeploy page lists the agent's bucket `aws-codedeploy-us-gov-west-1` alone
 * (https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-codedeploy.html), where the templates read
 * `aws-codedeploy-${AWS::Region}`; CodeCommit's table of Git connection endpoints lists a FIPS Git host in GovCloud for
 * us-gov-west-1 only (https://docs.aws.amazon.com/codecommit/latest/userguide/regions.html), where codeCommitGitHost
 * names `git-codecommit-fips.<region>`. Each with the one check that settles it.
 */
export function unsettledRegionNote(region: string): string | undefined {
  if (region !== 'us-gov-east-1') return undefined;
  return (
    'us-gov-east-1: two things GovCloud\'s pages list for us-gov-west-1 only, to check once before the first deploy: ' +
    'the CodeDeploy agent bucket aws-codedeploy-us-gov-east-1 the deployment targets install from (aws s3 ls s3://aws-codedeploy-us-gov-east-1/latest/ --region us-gov-east-1), ' +
    'and the FIPS Git host git-codecommit-fips.us-gov-east-1.amazonaws.com that xstack profiles and the Jenkins image name (nslookup it); README, "Not yet", GovCloud'
  );
}

/**
 * The part of a Region's AZ IDs before `-az<N>`: `use1` for us-east-1, `apne1`
 * for ap-northeast-1, `usgw1` for us-gov-west-1. AWS's page says "the first
 * three letters of the Region code, followed by the number at the end of the
 * Region code, followed by -az, followed by a number", yet the IDs in use are
 * longer where the direction is (apne1-az4 in ap-northeast-1, cac1-az1 in
 * ca-central-1): the Region code's first part, the initial of each word of the
 * rest (north, south, east, west, central, gov), then the number. moto's EC2
 * emulator derives them the same way.
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html
 */
export function azIdPrefix(region: string): string {
  const parts = region.split('-');
  const words = parts.slice(1, -1).join('').replace(/north|south|east|west|central|gov/g, (word) => word[0]);
  return `${parts[0]}${words}${parts[parts.length - 1]}`;
}
