/** The organization as the compiler sees it, after validation. */
import type { Partition } from '../aws/partitions';
import type { Layout, RecordedOrg } from '../stages/layout';

/**
 * The account the access proof stands for "an account outside the org" with (src/services/needs.ts): one the org file
 * may not name, or each refusal asked from outside would be asked of one of its own accounts (review s59-day2 n1).
 */
export const OTHER_ACCOUNT = '999999999999';

/** `tools`: runs CI and/or holds the identities that reach the repositories; hosts no repository or pipeline. */
export type AccountRole = 'source' | 'pipeline' | 'tools';

export interface Account {
  readonly name: string;
  /** Always a 12-digit string: as a number, leading zeros would vanish. */
  readonly id: string;
  readonly role: AccountRole;
  /** Set for pipeline accounts only: the environment the account runs (dev, staging, prod, …). */
  readonly environment?: string;
  /**
   * Where the account sits: its OU, or the root. Optional and not read by deploy, which creates SERVICE_MANAGED
   * instances through the organization's root (src/deploy/org-reads.ts OrganizationReads.rootId); accepted so that org files that name
   * it still load.
   */
  readonly organizationalUnit?: string;
}

export interface Repository {
  readonly name: string;
  /** Name of the source account that hosts it. */
  readonly account: string;
  readonly description?: string;
  /**
   * The name it was first deployed under, when it has been renamed since: its logical id and layout unit stay that
   * name's, so CloudFormation renames it in place (CodeCommit's UpdateRepositoryName) and its history stays.
   */
  readonly renamedFrom?: string;
}

/** The name a repository's logical id and layout unit are made of: the one it was first deployed under. */
export const deployedName = (r: Repository): string => r.renamedFrom ?? r.name;

export interface CodeDeployStage {
  readonly type: 'codedeploy';
  readonly deploymentConfig: string;
  /** EC2 instances tagged `<ec2TagKey>=<environment>` form the deployment group. */
  readonly ec2TagKey: string;
  /**
   * And, where set, tagged `<applicationTagKey>=<pipeline name>` too: the org file's `deploy.applicationTagKey`, or
   * `Application` (`applicationTagDefaulted`) where the pipeline shares a pipeline account with another pipeline of the
   * same `ec2TagKey`, whose instances its environment tag alone would also select.
   */
  readonly applicationTagKey?: string;
  readonly applicationTagDefaulted?: true;
  /**
   * With `applicationTagDefaulted`: the environments where the pipeline shares its account, the only ones whose
   * deployment group also selects by the application's tag, so that a pipeline added in one environment changes no
   * other environment's instances (review s32-day2 M4). A key the org file names applies in every environment.
   */
  readonly sharedEnvironments?: readonly string[];
}

export interface Pipeline {
  readonly name: string;
  readonly repository: string;
  /** Environment → the branch that environment's pipeline tracks. Order as in the file. */
  readonly branches: ReadonlyArray<readonly [environment: string, branch: string]>;
  readonly deploy: CodeDeployStage;
}

/** Who may assume the developer role: roles of one account of the org, by name pattern. */
export interface RoleSource {
  readonly account: string;
  /** Role name patterns (IAM ArnLike): e.g. AWSReservedSSO_Developer_* for an IAM Identity Center permission set. */
  readonly roleNames: readonly string[];
  /** Roles provisioned by IAM Identity Center live under the path aws-reserved/sso.amazonaws.com/. */
  readonly sso: boolean;
  /** Roles assumed through SAML or OIDC federation (their sessions carry no MFA context). */
  readonly federated: boolean;
  /**
   * Session tag keys the roles' sessions carry as transitive (an identity provider's TransitiveTagKeys): a chained
   * AssumeRole passes them on and needs sts:TagSession on both sides, which the people roles' trusts then allow for
   * these keys only. Empty: none, and sts:TagSession is not allowed.
   */
  readonly transitiveTagKeys: readonly string[];
}

export interface DeveloperAccess {
  readonly assumedBy: readonly RoleSource[];
  /** Branches nobody may push to directly, merge into or delete with the developer role. */
  readonly protectedBranches: readonly string[];
  /**
   * Who may write the protected branches: a maintainer role in each source account, the developer role's grants
   * without its Deny ("only a subset of senior developers can push or merge changes to that branch",
   * https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html). Empty: no role xstack
   * makes may release to a protected branch.
   */
  readonly maintainers: readonly RoleSource[];
  /**
   * Whether the developer and maintainer roles may list the source account's repositories (codecommit:ListRepositories,
   * which takes no resource type, so on "*"): the console's repository list; git needs none of it. Default true.
   */
  readonly listRepositories: boolean;
}

export interface CiNetwork {
  readonly cidr: string;
  readonly availabilityZones: number;
  /**
   * Seed 000's design, the default: CI subnets route to a NAT gateway in a
   * separate public subnet. false: isolated, VPC endpoints only (S3, ECR and
   * Session Manager's added beside CodeCommit and STS, each with a policy
   * where AWS accepts one: src/services/vpc-endpoints.ts).
   */
  readonly nat: boolean;
  /**
   * The CI subnets' zones by AZ ID (use1-az1), one per subnet, where the
   * interface endpoints' services are offered; without it, the first zones
   * `Fn::GetAZs` names in the CI account.
   */
  readonly availabilityZoneIds?: readonly string[];
}

/**
 * What the CI runs on, and so what may assume the CI role: EC2 instances
 * (an instance profile), or pods of an EKS cluster's service account, through
 * EKS Pod Identity or IAM roles for service accounts (IRSA).
 */
export type CiRuntime =
  | { readonly kind: 'ec2' }
  | { readonly kind: 'eks-pod-identity'; readonly cluster: string; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'eks-irsa'; readonly oidcIssuer: string; readonly namespace: string; readonly serviceAccount: string };

export interface CiAccess {
  readonly runtime: CiRuntime;
  /** Name of the account whose EC2 instances (the CI) clone with the CI role. */
  readonly account: string;
  readonly network?: CiNetwork;
}

export interface Access {
  readonly developers?: DeveloperAccess;
  readonly ci?: CiAccess;
}

export interface OperationPreferences {
  readonly maxConcurrentCount?: number;
  readonly maxConcurrentPercentage?: number;
  readonly failureToleranceCount?: number;
  readonly failureTolerancePercentage?: number;
  readonly regionConcurrencyType?: 'SEQUENTIAL' | 'PARALLEL';
  readonly concurrencyMode?: 'STRICT_FAILURE_TOLERANCE' | 'SOFT_FAILURE_TOLERANCE';
}

export interface StackSetSettings {
  readonly permissionModel: 'SELF_MANAGED' | 'SERVICE_MANAGED';
  readonly administrationRoleName: string;
  /** Role name (SELF_MANAGED) or name pattern (SERVICE_MANAGED) CloudFormation deploys with in each account. */
  readonly executionRoleName: string;
  readonly callAs: 'SELF' | 'DELEGATED_ADMIN';
  readonly operationPreferences: OperationPreferences;
}

export interface Org {
  /** File the org was read from, as given (errors name it so). */
  readonly file: string;
  /** The same file as outputs record it, the same from any folder (recorded-path.ts). */
  readonly recordedFile: string;
  /** Short name: the file's stem; names the org's folder under dist/. */
  readonly name: string;
  readonly organizationId?: string;
  readonly partition: Partition;
  readonly region: string;
  readonly prefix: string;
  readonly accounts: readonly Account[];
  readonly repositories: readonly Repository[];
  readonly pipelines: readonly Pipeline[];
  readonly stackSets: StackSetSettings;
  /** Roles in each pipeline account that may administer its artifact key, beside the StackSet execution role. */
  readonly keyAdministratorRoles: readonly string[];
  /**
   * The CodeDeploy targets' instance role: xstack's own (`<prefix>-deploy-target`,
   * with its instance profile), or `instanceRoles`, roles that already exist in
   * every pipeline account (their trust and instance profiles are the org's),
   * which xstack only grants the artifact download and key use.
   */
  readonly deploymentTargets: { readonly cloudWatchAgent: boolean; readonly instanceRoles?: readonly string[] };
  /** IAM quotas AWS raised for the org's accounts on request (src/checks/iam-quotas.ts); the defaults otherwise. */
  readonly iamQuotas: Partial<Record<'rolesPerAccount' | 'instanceProfilesPerAccount' | 'customerManagedPoliciesPerAccount' | 'managedPoliciesPerRole' | 'roleTrustPolicyChars', number>>;
  /** StackSets quotas AWS raised for the administrator account (src/checks/stackset-quota.ts); the defaults otherwise. */
  readonly stackSetQuotas: Partial<Record<'stackSetsPerAdministrator' | 'stackInstancesPerStackSet', number>>;
  /** EventBridge quotas AWS raised for the org's accounts in its Region (src/checks/eventbridge-quotas.ts, resource-policy-quotas.ts); the Region's defaults otherwise. */
  readonly eventBridgeQuotas: Partial<Record<'rulesPerBus' | 'busPolicyChars', number>>;
  /**
   * 1 unless the org file says otherwise; from 2 on, the org's buckets get fresh
   * names (`-g<N>`, src/naming.ts), for a deploy after a destroy that retained them.
   */
  readonly bucketGeneration: number;
  /**
   * Days a pipeline execution's artifacts stay in the artifact bucket (DEFAULT_ARTIFACT_RETENTION_DAYS unless the
   * org file says otherwise). CodeDeploy rolls back by deploying "the last known good version of an application
   * revision" as a new deployment (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html),
   * from its place in this bucket: a revision older than this cannot be deployed again.
   */
  readonly artifactRetentionDays: number;
  /**
   * The customer managed policy (`name` or `path/name`, as it follows `policy/` in its ARN) every role the templates
   * create carries as its permissions boundary, present in every account under that name (src/iam/permissions-boundary.ts);
   * none unless the org file says so.
   */
  readonly permissionsBoundary?: string;
  /** Tags every StackSet of the org carries, and so its stacks and the resources that take tags (src/aws/tags.ts), in the org file's order; none unless it says so. */
  readonly tags: ReadonlyArray<readonly [key: string, value: string]>;
  readonly access: Access;
  /** Which part of each family holds each unit, from the layout file beside the org file (src/stages/layout.ts); none before the first compile. */
  readonly layout?: Layout;
  /** What the layout file records of the org at the compile before (prefix, region, …: src/stages/layout.ts); none from a file written before xstack recorded it. */
  readonly layoutRecord?: RecordedOrg;
}

/** Each list's items by name, the first of a name as `find` gives it: made once per list (an org of teams looks up a thousand accounts per pipeline step). */
const nameIndexes = new WeakMap<readonly { readonly name: string }[], ReadonlyMap<string, { readonly name: string }>>();

/** The first item of `items` named `name`, from the list's index; a list changed in place since is searched as it is. */
export function firstNamed<T extends { readonly name: string }>(items: readonly T[], name: string): T | undefined {
  let index = nameIndexes.get(items) as ReadonlyMap<string, T> | undefined;
  if (!index) {
    const made = new Map<string, T>();
    for (const item of items) if (!made.has(item.name)) made.set(item.name, item);
    nameIndexes.set(items, (index = made));
  }
  const found = index.get(name);
  return found?.name === name ? found : items.find((x) => x.name === name);
}

export const accountByName = (org: Org, name: string): Account => {
  const account = firstNamed(org.accounts, name);
  if (!account) throw new Error(`internal: account ${name} was validated but is missing`);
  return account;
};

const environmentIndex = new WeakMap<Org, Map<string, Account>>();

export const accountOfEnvironment = (org: Org, environment: string): Account => {
  let index = environmentIndex.get(org);
  if (!index) {
    index = new Map(org.accounts.filter((a) => a.role === 'pipeline' && a.environment).map((a) => [a.environment!, a]));
    environmentIndex.set(org, index);
  }
  const account = index.get(environment);
  if (!account) throw new Error(`internal: environment ${environment} was validated but has no account`);
  return account;
};

export const repositoryByName = (org: Org, name: string): Repository => {
  const repository = firstNamed(org.repositories, name);
  if (!repository) throw new Error(`internal: repository ${name} was validated but is missing`);
  return repository;
};

/** The role StackSets makes in each target account for service-managed permissions, without a custom execution role template. */
export const SERVICE_MANAGED_EXECUTION_ROLE = 'stacksets-exec-*';

/** Half a year: a service deployed less often than that should set `artifactRetentionDays` (Org). */
export const DEFAULT_ARTIFACT_RETENTION_DAYS = 180;
