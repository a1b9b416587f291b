/**
 * The reader role (SELF_MANAGED): what plan, deploy and destroy read in a target account before and after the
 * StackSets' operations, and nothing else. Bootstrap creates it in each target account beside the execution role and
 * trusts with it the identities that run xstack, so that the execution role trusts the administration role alone:
 * a role that can write IAM (the execution role creates the templates' roles) is administrator in effect, and a
 * trust naming every identity that ever ran bootstrap handed that to each of them (review s27-bootstrap M2). The
 * reads are derived from the compile, as the execution policy is: each action on the resources the deployer reads
 * with it (deployer.ts accountClient and target, retained.ts, existing-roles.ts), by name where IAM can name them.
 */
import type { CompiledOrg } from '../compile';
import { renderedTemplate } from '../cfn/template';
import { Names } from '../naming';
import { FIXED_IAM_QUOTAS } from '../checks/iam-quotas';
import { LIMITS } from '../limits';
import { namedExistingRoles, roleNameOf } from '../iam/role-path';
import { kmsBucketsIn, namedRetained, namedRoles } from '../cfn/retained-names';
import { attachmentsOf } from '../iam/attached-policies';

export interface ReaderStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: { StringEquals: { 'aws:ResourceAccount': string } };
}

export interface ReaderPolicy {
  Version: '2012-10-17';
  Statement: ReaderStatement[];
}

/** The inline policy's name on the reader role: one per org prefix, as the role is. */
export const readerPolicyName = (prefix: string) => `${new Names(prefix).outputReaderRole()}-reads`;

/**
 * The reader's policy in one account. Every action here only reads (the Service Authorization Reference's access
 * level List or Read: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html,
 * list_amazons3.html, list_awscodecommit.html, list_awsidentityandaccessmanagementiam.html).
 */
export function readerPolicy(compiled: Pick<CompiledOrg, 'org' | 'stages'>, account: string): ReaderPolicy {
  const { partition: P, region: R, prefix, bucketGeneration } = compiled.org;
  const names = new Names(prefix, bucketGeneration);
  const stages = compiled.stages.filter((s) => s.targets.some((t) => t.id === account));
  const buckets = new Set<string>();
  const earlierKmsBuckets = new Set<string>();
  const repositories = new Set<string>();
  const ownRoles = new Set<string>();
  for (const stage of stages) {
    // Rendered once for all the accounts bootstrap writes a reader policy in.
    const template = renderedTemplate(stage.definition);
    for (const r of namedRetained(template, account, R, P)) {
      if (r.type === 'AWS::CodeCommit::Repository') repositories.add(r.name);
      else for (const name of bucketNames(names, r.name)) buckets.add(name);
    }
    if (bucketGeneration > 1) for (const r of kmsBucketsIn(template, account, R, P)) for (const name of bucketNames(names, r.name)) earlierKmsBuckets.add(name);
    for (const r of namedRoles(template, account, R, P)) ownRoles.add(r.name);
  }
  const statements: ReaderStatement[] = [
    // ListStacks takes no resource type ("*" only: list_awscloudformation.html, ListStacks): the stacks an earlier
    // removal kept and those an earlier destroy deleted are found by name in its answer (stacksets.ts liveStacks,
    // deletedInstanceStacks).
    { Sid: 'FindInstanceStacks', Effect: 'Allow', Action: ['cloudformation:ListStacks'], Resource: ['*'] },
    // The org's StackSets' stacks only: a stack's ARN is stack/<name>/<id> (list_awscloudformation.html, resource type
    // stack), StackSets names them StackSet-<StackSet>-<uuid> (stacksets.ts isInstanceStackOf) and every StackSet of
    // the org <prefix>-<stage>, so stack/StackSet-<prefix>-*/* is each of them, in any state (a deleted stack's
    // resources are read to find what it retained: deployer.ts findRetained).
    {
      Sid: 'ReadInstanceStacks',
      Effect: 'Allow',
      Action: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources'],
      Resource: [`arn:${P}:cloudformation:${R}:${account}:stack/StackSet-${prefix}-*/*`],
    },
  ];
  // HeadBucket needs s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html): each bucket
  // the templates name in this account, and its names of the earlier bucket generations, which plan looks for.
  // A bucket name is global and its ARN names no account: each S3 statement is held to this account's buckets
  // (aws:ResourceAccount, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount;
  // checks/rules.ts XS014). HeadBucket still names another account's bucket's Region "regardless of the permissions
  // on the bucket" (retained.ts retainedExists), so a name another account holds is still found taken.
  const ownBuckets = { StringEquals: { 'aws:ResourceAccount': account } };
  if (buckets.size > 0) statements.push({ Sid: 'SeeRetainedBuckets', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [...buckets].sort().map((b) => `arn:${P}:s3:::${b}`), Condition: ownBuckets });
  // destroy --delete-retained keeps an account's artifact key while an earlier generation's artifact bucket encrypted
  // with it stays (deployer.ts earlierBucketsUnderKey), told by GetBucketEncryption, which needs
  // s3:GetEncryptionConfiguration (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html).
  if (earlierKmsBuckets.size > 0) statements.push({ Sid: 'SeeEarlierBucketsKeys', Effect: 'Allow', Action: ['s3:GetEncryptionConfiguration'], Resource: [...earlierKmsBuckets].sort().map((b) => `arn:${P}:s3:::${b}`), Condition: ownBuckets });
  if (repositories.size > 0) statements.push({ Sid: 'SeeRetainedRepositories', Effect: 'Allow', Action: ['codecommit:GetRepository'], Resource: [...repositories].sort().map((r) => `arn:${P}:codecommit:${R}:${account}:${r}`) });
  // The roles the org file names and the artifact key policy names, read in the accounts whose template writes that
  // key (existing-roles.ts; deployer.ts existingRoleFindings reads them in pipeline-foundation's accounts). By name at
  // any path: IAM authorizes GetRole against the role's ARN, path included, and a role on another path than the org
  // file says is the very case the read is there to name.
  const roleNames = [...new Set(namedExistingRoles(compiled.org).map((r) => roleNameOf(r.role)))].sort();
  if (roleNames.length > 0 && stages.some((s) => s.module === 'pipeline-foundation')) {
    statements.push({ Sid: 'SeeExistingRoles', Effect: 'Allow', Action: ['iam:GetRole'], Resource: roleNames.flatMap((n) => [`arn:${P}:iam::${account}:role/${n}`, `arn:${P}:iam::${account}:role/*/${n}`]) });
  }
  // The roles the templates make in this account, by name: deploy reads whether one is there before it makes a stack
  // deleted outside StackSets again (deployer.ts rolesLeftIn; a role its failed delete left, retained-names.ts namedRoles).
  // GetRole takes the resource type role, arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}
  // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
  // the templates' roles are at path /, so their names are their ARNs' whole resource part.
  if (ownRoles.size > 0) statements.push({ Sid: 'SeeOwnRoles', Effect: 'Allow', Action: ['iam:GetRole'], Resource: [...ownRoles].sort().map((n) => `arn:${P}:iam::${account}:role/${n}`) });
  // The managed policies of this account that its templates attach by name to roles they do not make in the same
  // template (role-attachments.ts): verify, and deploy after it made a role again, list the roles each is attached to.
  const policies = [...new Set((attachmentsOf(compiled).get(account) ?? []).map((a) => a.policyArn))].sort();
  if (policies.length > 0) statements.push({ Sid: 'SeePolicyAttachments', Effect: 'Allow', Action: ['iam:ListEntitiesForPolicy'], Resource: policies });
  return withinQuota({ Version: '2012-10-17', Statement: statements }, { repositories: `arn:${P}:codecommit:${R}:${account}:*`, ownRoles: `arn:${P}:iam::${account}:role/${ownRolePattern(prefix, ownRoles)}`, policies: `arn:${P}:iam::${account}:policy/${prefix}-*`, roles: `arn:${P}:iam::${account}:role/*` });
}

/**
 * The reader's policy for every target account in one document, for the SERVICE_MANAGED setup template
 * (templates/service-managed-reader.ts), where one template serves every account and no instance carries a value of
 * its own: each account's policy with its account id written `${AWS::AccountId}` and its partition
 * `${AWS::Partition}`, for Fn::Sub, and the accounts' statements joined by Sid. An account's own names then read the
 * same in each (its buckets, stacks and roles), and the names that differ by account (the repositories of each source
 * account) are read by name in every account, where a name an account does not hold reads nothing. Within a managed
 * policy's 6,144 characters (the same quotas page), past which the repositories, then the roles, are read as every one
 * of the account's, as withinQuota does.
 */
export function readerPolicyForEveryAccount(compiled: Pick<CompiledOrg, 'org' | 'stages'>): ReaderPolicy {
  const { partition } = compiled.org;
  const accounts = [...new Set(compiled.stages.flatMap((s) => s.targets.map((t) => t.id)))].sort();
  const joined = new Map<string, ReaderStatement>();
  for (const account of accounts) {
    for (const st of readerPolicy(compiled, account).Statement) {
      const resources = st.Resource.map((r) => r.replaceAll(account, '${AWS::AccountId}').replace(`arn:${partition}:`, 'arn:${AWS::Partition}:'));
      const into = joined.get(st.Sid);
      const condition = st.Condition && { StringEquals: { 'aws:ResourceAccount': '${AWS::AccountId}' } };
      joined.set(st.Sid, into ? { ...into, Resource: [...new Set([...into.Resource, ...resources])].sort() } : { ...st, Resource: resources, ...(condition ? { Condition: condition } : {}) });
    }
  }
  const order = ['FindInstanceStacks', 'ReadInstanceStacks', 'SeeRetainedBuckets', 'SeeEarlierBucketsKeys', 'SeeRetainedRepositories', 'SeeExistingRoles', 'SeeOwnRoles', 'SeePolicyAttachments'];
  const statements = [...joined.values()].sort((a, b) => order.indexOf(a.Sid) - order.indexOf(b.Sid));
  return withinQuota({ Version: '2012-10-17', Statement: statements }, { repositories: `arn:\${AWS::Partition}:codecommit:${compiled.org.region}:\${AWS::AccountId}:*`, ownRoles: `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${ownRolePattern(compiled.org.prefix, new Set(statements.find((st) => st.Sid === 'SeeOwnRoles')?.Resource.map((r) => r.slice(r.indexOf(':role/') + ':role/'.length)) ?? []))}`, policies: `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/${compiled.org.prefix}-*`, roles: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*' }, LIMITS.managedPolicyChars);
}

/** The templates' roles of an account as one pattern: every role of the org's prefix (Names gives each `<prefix>-…`), or every role where one is not. */
const ownRolePattern = (prefix: string, roles: ReadonlySet<string>): string => ([...roles].every((n) => n.startsWith(`${prefix}-`)) ? `${prefix}-*` : '*');

/**
 * A bucket's name and those it had in earlier generations (naming.ts): `<base>`, then `<base>-g2` …, so `<base>` and
 * `<base>-g*`, two resources whatever the generation (up to 999), where naming each would grow with it.
 */
function bucketNames(names: Names, name: string): string[] {
  const [base] = names.earlierBucketNames(name);
  return base === undefined ? [name] : [base, `${base}-g*`];
}

/**
 * The policy within IAM's 10,240 characters of a role's inline policies (white space not counted; this is the role's
 * only one: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). A source account holds as
 * many repositories as the org file gives it (and a role for each pipeline account it serves), and a pipeline account's
 * key policy names as many key administrators as KMS takes (hundreds), each named here, and as many pipeline policies
 * as it runs pipelines: past the quota, the repositories are read as every repository of the account, then the
 * templates' roles as every role of the org's prefix, then the policies as every policy of the org's prefix, then the
 * roles the org file names as every role of the account, which GetRepository, GetRole and ListEntitiesForPolicy only
 * read (review s28-reader m5).
 */
function withinQuota(policy: ReaderPolicy, every: { repositories: string; ownRoles: string; policies: string; roles: string }, limit: number = FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit): ReaderPolicy {
  const fits = (p: ReaderPolicy) => JSON.stringify(p).length <= limit;
  const collapse = (from: ReaderPolicy, sid: string, resource: string): ReaderPolicy => ({ ...from, Statement: from.Statement.map((s) => (s.Sid === sid ? { ...s, Resource: [resource] } : s)) });
  if (fits(policy)) return policy;
  const everyRepository = collapse(policy, 'SeeRetainedRepositories', every.repositories);
  if (fits(everyRepository)) return everyRepository;
  const everyOwnRole = collapse(everyRepository, 'SeeOwnRoles', every.ownRoles);
  if (fits(everyOwnRole)) return everyOwnRole;
  const everyPolicy = collapse(everyOwnRole, 'SeePolicyAttachments', every.policies);
  if (fits(everyPolicy)) return everyPolicy;
  const everyRole = collapse(everyPolicy, 'SeeExistingRoles', every.roles);
  if (!fits(everyRole)) throw new Error(`internal: the reader role's policy is over ${limit} characters with every repository, policy and role of the account`);
  return everyRole;
}
