/**
 * `xstack bootstrap`: what a rollout needs before the first StackSet, and
 * nothing more.
 *
 * SELF_MANAGED: the administration role in the administrator account (the
 * caller's) and, in every target account, the execution role, whose policy is
 * derived from the compiled templates (execution-policy.ts) instead of the
 * AdministratorAccess of AWS's sample template.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
 *
 * SERVICE_MANAGED: read-only checks that trusted access and (DELEGATED_ADMIN)
 * the delegated administrator are in place, and that no target is the
 * management account. Each failing check names the missing step.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html
 *
 * Idempotent: every step reads first and changes only what differs; `dryRun`
 * reads and reports without changing anything.
 */
import {
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListPolicyVersions,
  paginateListRoleTags,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  DeleteRolePolicyCommand,
  paginateListRolePolicies,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { DescribeOrganizationCommand, paginateListAccounts, paginateListAWSServiceAccessForOrganization, paginateListDelegatedAdministrators } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { templatePath, type CompiledOrg } from '../compile';
import { LIMITS, raiseAdvice } from '../limits';
import { DEFAULT_STACKSETS } from '../org/load';
import { needsTemplateBucket } from '../limits';
import { foreignBucket, templateBucketName, templateBucketState } from './template-store';
import { checkAccountQuotas, checkRoom, declaredQuotas, readAccountSummary } from './account-quotas';
import { iamEntitiesByAccount, noIamEntities, type IamEntities } from './iam-entities';
import { errorName, XstackError } from '../errors';
import { layoutPath, stackSetsElsewhereError } from '../stages/layout';
import { organizationHeldPolicies, type OrganizationHeldPolicy } from '../stages/plan';
import type { Org } from '../org/model';
import { BOOTSTRAP_ACCESS_FILE, setupReaderRefused } from '../setup';
import { setupVerdict } from './setup-verdict';
import { ADJUSTABLE_IAM_QUOTAS, FIXED_IAM_QUOTAS, IAM_QUOTAS_DOC, quotaOf } from '../checks/iam-quotas';
import { isOptInRegion } from '../aws/partitions';
import { ADMINISTRATION_POLICY, nameProblem, Names, RULES } from '../naming';
import { AssumeRoleError, isRootRefusal, isSourceIdentityRefusal, ROOT_CALLER_ADVICE, type Aws } from './clients';
import { BOUNDED_ROLES_SID, executionPolicy, forAccount, packPolicies, resolvePolicy, type ExecutionStatement, type IamStatement } from './execution-policy';
import { DescribeOrganizationsAccessCommand, DescribeStackSetCommand, ListStackInstancesCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import type { CfnTemplate } from '../cfn/template';
import { fromYaml } from '../yaml';
import { callAs, listOrgStackSets, sleep as pause } from './stacksets';
import { sha256 } from '../hash';
import { globRegExp } from '../checks/service-authorization';
import { executionQuotaProblems } from '../checks/execution-quota';
import { readerPolicy, readerPolicyName } from './reader-policy';
import { isNoSuchEntity, namedExistingRoles } from './existing-roles';
import { MANAGEMENT_ACCOUNT_FIX, managementAccountText, OrganizationReads, type Management } from './org-reads';
import type { PlainStatement } from '../checks/documents';
import { CARRIED_SOURCE_IDENTITY_ONLY, STS_SET_SOURCE_IDENTITY } from '../iam/grants';
import { createTagList, ensureBucketTags, ensurePolicyTags, ensureRoleTags, MAX_IAM_TAGS, tagsText, type OrgTags } from './bootstrap-tags';

export interface BootstrapOptions {
  /** Read and report only. */
  dryRun?: boolean;
  /**
   * Role assumed in each target account to create the execution role there
   * (it does not exist yet). Organizations creates OrganizationAccountAccessRole
   * in accounts it creates:
   * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
   */
  accessRoleName?: string;
  onStep?: (step: BootstrapStep) => void;
  /** How bootstrap waits between tries while IAM propagates (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** The endpoint is an emulator's, whose accounts are no one's: where the layout file records the StackSets is not asked. */
  emulator?: boolean;
  /**
   * Rewrite an existing execution role's trust as xstack's one statement even when that removes principals or
   * statements it holds now (trustDropped); without it, such a rewrite is refused as a `missing` step.
   */
  replaceExecutionTrust?: boolean;
  /**
   * Rewrite an existing administration role's trust as CloudFormation's alone even where it lets in others now
   * (administrationTrustDropped); without it, such a trust stops bootstrap before any write, as a `missing` step.
   */
  replaceAdministrationTrust?: boolean;
  /**
   * Also trust the caller on the execution role, which `destroy --delete-retained` deletes with (the artifact keys'
   * policy lets only it and the key administrators schedule a key's deletion). Without it the execution role trusts
   * the administration role alone, and the caller only the reader role (reader-policy.ts).
   */
  allowDeleteRetained?: boolean;
  /**
   * SERVICE_MANAGED with iamQuotas: the role bootstrap reads each target account's IAM quotas with (iam:GetAccountSummary)
   * instead of the setup template's reader `<prefix>-xstack-reader`. SELF_MANAGED bootstrap makes its reader and
   * refuses the option.
   */
  outputReaderRoleName?: string;
}

export interface BootstrapStep {
  account: string;
  what: string;
  /**
   * `ok`: already as wanted; `change`: made (or, dry run, would be made); `missing`: a check that failed
   * (SERVICE_MANAGED), or what bootstrap leaves for a person to decide (an execution role's trust it would not
   * rewrite, policies on it that xstack did not give it).
   */
  status: 'ok' | 'change' | 'missing';
  detail?: string;
}

/** StackSets' service principal in Organizations (trusted access, delegated administrators). */
export const STACKSETS_SERVICE_PRINCIPAL = 'member.org.stacksets.cloudformation.amazonaws.com';
/** IAM keeps at most five versions of a managed policy (same page). */
const POLICY_VERSIONS = 5;

/**
 * IAM is eventually consistent: "Any change that you make in IAM (or other AWS services) takes time to become
 * visible from all possible endpoints … Such changes include creating or updating users, groups, roles, or policies
 * … be sure to verify that the changes have been propagated before production workflows depend on them."
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
 */
export const IAM_CONSISTENCY_DOC = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency';
/** Waits between tries of a call on a role or policy this run created (about 30 s in all): IAM usually needs seconds. */
const NOT_YET_SEEN_WAITS_MS = [1000, 2000, 4000, 8000, 15000];
/** Waits between tries of sts:AssumeRole into a reader role whose trust this run wrote, and of the first read with it (about 60 s in all). */
const ASSUMABLE_WAITS_MS = [2000, 4000, 8000, 15000, 15000, 15000];


/**
 * `call`, tried again after each of `waits` while `delayed(error)` says IAM has not yet seen what this run made (see
 * IAM_CONSISTENCY_DOC); past the last wait, `givenUp(error)` is thrown (the error itself by default). Any other error
 * is thrown at once.
 */
async function whileNotSeen<T>(waits: readonly number[], sleep: (ms: number) => Promise<void>, delayed: (error: unknown) => boolean, call: () => Promise<T>, givenUp: (error: unknown) => unknown = (e) => e): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!delayed(error)) throw error;
      if (attempt >= waits.length) throw givenUp(error);
      await sleep(waits[attempt]);
    }
  }
}

/**
 * `call`, on a role or policy this run created (`created`): while IAM answers NoSuchEntity for it (not yet seen),
 * tried again after each of NOT_YET_SEEN_WAITS_MS. On anything else, or on what an earlier run made, once:
 * NoSuchEntity there is an answer, not a delay.
 */
const onceSeen = <T>(created: boolean, sleep: (ms: number) => Promise<void>, call: () => Promise<T>): Promise<T> =>
  whileNotSeen(NOT_YET_SEEN_WAITS_MS, sleep, (error) => created && (error as { name?: string }).name === 'NoSuchEntityException', call);

/**
 * Whether IAM refused a trust policy for a principal it cannot see (yet): it stores a role principal as the role's
 * unique id ("When you save the policy, AWS transforms the ARN to a unique principal ID",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles), so a
 * trust naming a role created seconds ago can be refused with MalformedPolicyDocument "Invalid principal in policy"
 * until IAM sees it (IAM_CONSISTENCY_DOC). The execution trust names the administration role in its condition only
 * (executionTrust), which IAM does not look up, so this is a guard, not a wait every run meets (review s27-bootstrap m1).
 */
const invalidPrincipal = (error: unknown): boolean =>
  (error as { name?: string }).name === 'MalformedPolicyDocumentException' && /Invalid principal/i.test((error as Error).message ?? '');

/**
 * A trust policy write: while `principalCreated` (it names a role this run created) and IAM answers "Invalid
 * principal" (invalidPrincipal), tried again after each of ASSUMABLE_WAITS_MS (about a minute, as such refusals were
 * reported to last: hashicorp/terraform#4709, opstrace/opstrace#88); then the error, saying so. Otherwise once: a
 * principal IAM refuses that this run did not create is really not there.
 */
const trustWritten = <T>(principalCreated: boolean, sleep: (ms: number) => Promise<void>, call: () => Promise<T>): Promise<T> =>
  whileNotSeen(
    ASSUMABLE_WAITS_MS,
    sleep,
    (error) => principalCreated && invalidPrincipal(error),
    call,
    (error) =>
      new XstackError(
        'IAM_NOT_PROPAGATED',
        `${(error as Error).message}: IAM still refuses the administration role this run created as a principal after about a minute (${IAM_CONSISTENCY_DOC}); run bootstrap again in a few minutes, which finishes what this run started`,
        { cause: error },
      ),
  );

const document = (statements: object[]) => ({ Version: '2012-10-17', Statement: statements });
const sameDocument = (a: string | undefined, b: object) => a !== undefined && JSON.stringify(JSON.parse(decodeURIComponent(a))) === JSON.stringify(b);

/**
 * The administration role's trust: CloudFormation, for StackSets of this
 * account only (aws:SourceAccount / aws:SourceArn, against the confused deputy;
 * same page as above). In a Region that is disabled by default, CloudFormation
 * comes as that Region's own service principal too: "to deploy stack instances
 * into a target account that resides in a Region that's disabled by default,
 * you will also need to include the regional service principal for that
 * Region" (same page), `cloudformation.<region>.amazonaws.com`. `regions`: the
 * Regions of the StackSets and of their instances; `kept`: the Regions whose principal the trust names already (another
 * org sharing the role may deploy in one: see regionalPrincipals), kept as they are.
 */
export function administrationTrust(partition: string, adminAccount: string, regions: readonly string[] = [], kept: readonly string[] = []) {
  const regional = [...new Set([...regions.filter(isOptInRegion), ...kept])].sort().map((r) => `cloudformation.${r}.amazonaws.com`);
  return document([
    {
      Effect: 'Allow',
      Principal: { Service: regional.length > 0 ? ['cloudformation.amazonaws.com', ...regional] : 'cloudformation.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': adminAccount }, StringLike: { 'aws:SourceArn': `arn:${partition}:cloudformation:*:${adminAccount}:stackset/*` } },
    },
  ]);
}

/**
 * The Regions of the `cloudformation.<region>.amazonaws.com` principals an administration role's trust names now: two
 * orgs (two prefixes) may share the default administration role, each with its own Regions, and a bootstrap of one
 * must not take away the other's.
 */
export function regionalPrincipals(trustDocument: string | undefined): string[] {
  if (!trustDocument) return [];
  const statements = ([] as unknown[]).concat((JSON.parse(decodeURIComponent(trustDocument)) as { Statement?: unknown }).Statement ?? []);
  const services = statements.flatMap((st) => ([] as string[]).concat((st as { Principal?: { Service?: string | string[] } }).Principal?.Service ?? []));
  return services.flatMap((service) => /^cloudformation\.([a-z0-9-]+)\.amazonaws\.com$/.exec(service)?.[1] ?? []);
}

/** The Sids of the administration policy's one statement: the execution role listed in each account, or in the org's. */
const ADMINISTRATION_SIDS = { listed: 'AssumeExecutionRoles', inTheOrg: 'AssumeExecutionRolesInTheOrg', outsideTheOrg: 'AssumeExecutionRolesOutsideTheOrg' } as const;

/**
 * The administration role may assume the execution role in the target
 * accounts, and nothing else: one ARN per account while that fits IAM's
 * quota of a role's inline policies (10,240 characters, about 140 accounts:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), all of the role's inline policies
 * together: `budget` is what the others (another org's, AWS's sample one) leave.
 * Past it, the execution role's name in any account, "if you want to specify
 * all target accounts" (stacksets-prereqs-self-managed.html, above), held to
 * the accounts of the org by aws:ResourceOrgID, which is in the request
 * context whenever the resource's account is a member of an organization and
 * is not among the actions the key does not support (STS is not):
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid
 * That key "is included in the request context only if the account that owns the resource is a member of an
 * organization" (same page), and SELF_MANAGED StackSets deploy to accounts outside it too ("any AWS account in which
 * you have permissions to create an IAM role", stacksets-prereqs-self-managed.html): target accounts bootstrap found
 * outside the organization (`outside`, accountsOutsideTheOrg) are named one by one in a statement of their own
 * (review s27-bootstrap m8).
 * The execution role's trust still names this role: both sides must allow.
 */
export function administrationPolicy(partition: string, executionRoleName: string, accounts: string[], organizationId?: string, budget: number = FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit, outside: readonly string[] = []) {
  const listed = document([{ Sid: ADMINISTRATION_SIDS.listed, Effect: 'Allow', Action: 'sts:AssumeRole', Resource: accounts.map((a) => `arn:${partition}:iam::${a}:role/${executionRoleName}`) }]);
  if (JSON.stringify(listed).length <= budget) return listed;
  if (!organizationId) {
    const limit = FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit;
    const others = budget < limit ? ` (the role's other inline policies take ${limit - budget} of them)` : '';
    throw new XstackError(
      'ADMIN_POLICY_TOO_LONG',
      `the administration role's policy naming the execution role in each of the ${accounts.length} target accounts takes ${JSON.stringify(listed).length} characters, over ${budget < limit ? `the ${budget} left of ` : ''}IAM's ${limit} for a role's inline policies${others} (${IAM_QUOTAS_DOC}), and the organization's id, which would hold the policy to the org's accounts instead, is unknown: set organization.id in the org file (aws organizations describe-organization), or run bootstrap where organizations:DescribeOrganization is allowed`,
    );
  }
  const inTheOrg = document([
    {
      Sid: ADMINISTRATION_SIDS.inTheOrg,
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: `arn:${partition}:iam::*:role/${executionRoleName}`,
      Condition: { StringEquals: { 'aws:ResourceOrgID': organizationId } },
    },
    ...(outside.length > 0 ? [{ Sid: ADMINISTRATION_SIDS.outsideTheOrg, Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [...outside].sort().map((a) => `arn:${partition}:iam::${a}:role/${executionRoleName}`) }] : []),
  ]);
  const length = JSON.stringify(inTheOrg).length;
  if (length > budget) {
    throw new XstackError(
      'ADMIN_POLICY_TOO_LONG',
      `the administration role's policy naming the execution role in the organization ${organizationId} and, one by one, in the ${outside.length} target accounts outside it takes ${length} characters, over ${budget < FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit ? `the ${budget} left of ` : ''}IAM's ${FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit} for a role's inline policies (${IAM_QUOTAS_DOC}); nothing was changed: deploy the accounts outside the organization from an org file of their own`,
    );
  }
  return inTheOrg;
}

/**
 * The target accounts that are not members of the organization, by its account list (organizations:ListAccounts,
 * which "can be called only from the organization's management account or by a member account that is a delegated
 * administrator": https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html); `unknown`
 * with the reason where it cannot be read. Read when the administration policy needs aws:ResourceOrgID, and to name an
 * account outside the organization when its access role is refused (accessRoleRefused).
 */
export async function accountsOutsideTheOrg(aws: Aws, accounts: readonly string[]): Promise<{ outside: string[] } | { unknown: string }> {
  const members = await organizationMembers(aws);
  return members instanceof Set ? { outside: accounts.filter((a) => !members.has(a)) } : members;
}

/**
 * A policy held to the organization (aws:ResourceOrgID, stages/plan.ts organizationHeldPolicies) allows nothing in a
 * target account outside it, and nothing fails at deploy: a push never arrives, a role is never assumed. Each such
 * policy is a step, `missing` naming the accounts outside; one step `missing` when the organization's accounts cannot
 * be read. SERVICE_MANAGED refuses every account outside the organization already (checkServiceManaged).
 */
export function organizationHeldSteps(org: Org, held: readonly OrganizationHeldPolicy[], admin: string, membership: { outside: string[] } | { unknown: string }): BootstrapStep[] {
  const what = (h: OrganizationHeldPolicy) => `${h.what}: accounts it reaches in the organization`;
  if (!('outside' in membership)) {
    return held.map((h) => ({
      account: admin,
      what: what(h),
      status: 'missing',
      detail: `not checked (organizations:ListAccounts, ${membership.unknown}): the policy is held to organization ${org.organizationId} by aws:ResourceOrgID, and allows nothing in an account outside it; allow organizations:ListAccounts to this identity, or run from the management account or a delegated administrator`,
    }));
  }
  const outside = new Set(membership.outside);
  return held.map((h): BootstrapStep => {
    const out = h.accounts.filter((a) => outside.has(a.id));
    if (out.length === 0) return { account: admin, what: what(h), status: 'ok' };
    return {
      account: admin,
      what: what(h),
      status: 'missing',
      detail:
        `${org.file}: ${out.map((a) => `${a.name} (${a.id})`).join(', ')} ${out.length === 1 ? 'is not a member' : 'are not members'} of organization ${org.organizationId} (Organizations ListAccounts does not list ${out.length === 1 ? 'it' : 'them'}), ` +
        'and the policy is held to it by aws:ResourceOrgID, which is in a request "only if the account that owns the resource is a member of an organization" ' +
        '(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid): nothing it allows reaches them, and no deploy fails to say so; ' +
        'invite them into the organization, or deploy them from an org file of their own',
    };
  });
}

/**
 * The organization's accounts, read once per run (per `Aws`): ListAccounts pages hold at most 20 accounts
 * (MaxResults "Maximum value of 20", same page), so a refused access role in each of many accounts would otherwise
 * read every page again, and Organizations throttles ("You have sent too many requests in too short a period of time").
 */
const membersRead = new WeakMap<Aws, Promise<Set<string> | { unknown: string }>>();
function organizationMembers(aws: Aws): Promise<Set<string> | { unknown: string }> {
  let read = membersRead.get(aws);
  if (!read) {
    // A failure (throttling among them) is not kept: the next check asks again.
    read = everyPage(paginateListAccounts({ client: aws.organizations() }, {}), (page) => (page.Accounts ?? []).map((a) => a.Id!)).then(
      (ids) => new Set(ids),
      (error: { name?: string; message?: string }) => {
        membersRead.delete(aws);
        return { unknown: `${error.name}: ${error.message}` };
      },
    );
    membersRead.set(aws, read);
  }
  return read;
}

/**
 * The trust of the execution role and of the reader role: the administrator account, conditioned on the principal.
 * The execution role's names the administration role (CloudFormation), and the caller only with
 * --allow-delete-retained; the reader role's names the identities that run xstack (reader-policy.ts).
 * aws:PrincipalArn is a role's IAM ARN, path included (see callerPrincipal), and ArnEquals compares it whole.
 *
 * A second statement takes the source identity a caller's session carries (review s57-bootstrap M1): an identity
 * provider that sets one has it carried into every role the session assumes next, and "permissions for
 * sts:SetSourceIdentity are required in both the permissions policy of the principal who is assuming the role and in the
 * role trust policy of the target role. Otherwise, the assume role operation will fail"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html), so without it
 * such a caller could not read (plan, deploy) nor bootstrap. Only a carried identity (CARRIED_SOURCE_IDENTITY_ONLY),
 * never one the caller picks. It names no aws:PrincipalArn list: sts:SetSourceIdentity is a permissions-only action,
 * checked within the AssumeRole the first statement must allow as well, so it lets in no one that statement does not,
 * and the list is not written twice against the trust's length quota (refuseOversizedTrust).
 */
export function executionTrust(partition: string, adminAccount: string, principals: string[]) {
  const root = `arn:${partition}:iam::${adminAccount}:root`;
  return document([
    { Effect: 'Allow', Principal: { AWS: root }, Action: 'sts:AssumeRole', Condition: { ArnEquals: { 'aws:PrincipalArn': [...new Set(principals)].sort() } } },
    { Effect: 'Allow', Principal: { AWS: root }, Action: STS_SET_SOURCE_IDENTITY.actions[0], Condition: CARRIED_SOURCE_IDENTITY_ONLY },
  ]);
}

/** The role of an STS assumed-role session ARN (arn:P:sts::A:assumed-role/NAME/SESSION), which carries no path. */
export function assumedRole(arn: string): { partition: string; account: string; name: string } | undefined {
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return session ? { partition: session[1], account: session[2], name: session[3] } : undefined;
}

/**
 * The caller as the execution role's trust must name it: as aws:PrincipalArn
 * sees it. "For IAM roles, the request context returns the ARN of the role,
 * not the ARN of the user that assumed the role"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
 * and a role's ARN carries the role's path, `arn:P:iam::A:role/<path>/<name>`
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns):
 * an IAM Identity Center role lives under /aws-reserved/sso.amazonaws.com/<region>/.
 * The session ARN drops the path, so the role is read back with iam:GetRole,
 * whose Role.Arn has it (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html).
 * Any other caller ARN (an IAM user, the root) is taken as it is.
 */
export async function callerPrincipal(iam: IAMClient, callerArn: string): Promise<string> {
  const role = assumedRole(callerArn);
  if (!role) return callerArn;
  try {
    const arn = (await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role?.Arn;
    if (arn) return arn;
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    throw new XstackError(
      'CALLER_ROLE_UNREADABLE',
      `bootstrap trusts the identity running it by its role's ARN, path included (aws:PrincipalArn), which the session ARN ${callerArn} does not carry, and iam:GetRole on role ${role.name} failed (${name}: ${message}): allow iam:GetRole on that role, or run bootstrap as a principal that may`,
      { cause: error },
    );
  }
  throw new XstackError('CALLER_ROLE_UNREADABLE', `iam:GetRole on role ${role.name} (the caller ${callerArn}) returned no ARN`);
}

/** One statement of a trust policy, as IAM gives it back (single values may be strings or lists). */
type TrustStatement = PlainStatement;

const trustStatements = (trustDocument: string): TrustStatement[] => statementsOf<TrustStatement>(trustDocument);

/**
 * Whether an ARN is a principal of the account: its IAM ARN (a role, a user, the root), or an STS one, which
 * callerPrincipal writes as it is for a caller that is not a role session (`arn:P:sts::A:federated-user/NAME`): either
 * is what bootstrap itself wrote into the trust for a caller of the administrator account.
 */
const ofAccount = (arn: string, partition: string, account: string): boolean => arn.startsWith(`arn:${partition}:iam::${account}:`) || arn.startsWith(`arn:${partition}:sts::${account}:`);

/**
 * The principals an execution role's trust already names in the administrator
 * account (its aws:PrincipalArn list), so that bootstrap adds to them: run by
 * another operator or a CI role, it locks out none it trusted before.
 */
export function trustedPrincipals(trustDocument: string | undefined, partition: string, adminAccount: string): string[] {
  if (!trustDocument) return [];
  return trustStatements(trustDocument).flatMap((statement) => ([] as unknown[]).concat(statement.Condition?.ArnEquals?.['aws:PrincipalArn'] ?? []).map(String).filter((arn) => ofAccount(arn, partition, adminAccount)));
}

/** A policy value that is exactly one string, written as a string or a list of one. */
const single = (value: unknown): string | undefined => (typeof value === 'string' ? value : Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' ? value[0] : undefined);
const exactKeys = (value: object | undefined, keys: readonly string[]) => value !== undefined && Object.keys(value).sort().join() === [...keys].sort().join();

/**
 * Whether a trust statement is one executionTrust writes for this administrator account: Allow, principal the account's
 * root, and either sts:AssumeRole under that one aws:PrincipalArn condition (whatever its list), or sts:SetSourceIdentity
 * under CARRIED_SOURCE_IDENTITY_ONLY alone (written since the fifty-seventh session; a trust without it is xstack's too).
 * Nothing else: xstack has written no other form.
 */
function isXstackTrustStatement(statement: TrustStatement, partition: string, adminAccount: string): boolean {
  const principal = statement.Principal as Record<string, unknown> | undefined;
  const fromAdministratorAccount =
    exactKeys(statement, ['Effect', 'Principal', 'Action', 'Condition']) &&
    statement.Effect === 'Allow' &&
    typeof principal === 'object' &&
    exactKeys(principal, ['AWS']) &&
    single(principal.AWS) === `arn:${partition}:iam::${adminAccount}:root`;
  if (!fromAdministratorAccount) return false;
  const { Null } = CARRIED_SOURCE_IDENTITY_ONLY;
  if (single(statement.Action) === 'sts:AssumeRole') return exactKeys(statement.Condition, ['ArnEquals']) && exactKeys(statement.Condition!.ArnEquals, ['aws:PrincipalArn']);
  return (
    single(statement.Action) === STS_SET_SOURCE_IDENTITY.actions[0] &&
    exactKeys(statement.Condition, ['Null']) &&
    exactKeys(statement.Condition!.Null, Object.keys(Null)) &&
    single(statement.Condition!.Null['aws:SourceIdentity']) === Null['aws:SourceIdentity']
  );
}

/** A statement's principals as one text each (`AWS` ones as their ARN, others with their kind). */
function principalsOf(statement: TrustStatement): string[] {
  const principal = statement.Principal ?? statement.NotPrincipal;
  if (typeof principal === 'string') return [principal];
  return Object.entries((principal ?? {}) as Record<string, unknown>).flatMap(([kind, values]) => ([] as string[]).concat(values as string | string[]).map((v) => (kind === 'AWS' ? v : `${kind} ${v}`)));
}

/**
 * What writing the execution role's trust as executionTrust would take away from the trust it has now: each statement
 * that is not xstack's own (another administrator account, the administrator account's root with no condition, as
 * AWS's sample template trusts it, a service, a federated provider, a Deny), by its principals, and the
 * aws:PrincipalArn values of xstack's statement outside the administrator account, which trustedPrincipals does not
 * carry over. The self-managed page lets a target account's execution role serve more than one administrator account
 * or administration role ("Which users and groups can perform stack set operations in which target accounts",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html), and
 * UpdateAssumeRolePolicy replaces the whole document ("Updates the policy that grants an IAM entity permission to
 * assume a role", https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html): whoever those
 * statements let in would be locked out.
 */
export function trustDropped(trustDocument: string | undefined, partition: string, adminAccount: string): string[] {
  if (!trustDocument) return [];
  return trustStatements(trustDocument).flatMap((statement) => {
    if (isXstackTrustStatement(statement, partition, adminAccount)) {
      const arns = ([] as unknown[]).concat(statement.Condition!.ArnEquals?.['aws:PrincipalArn'] ?? []).map(String);
      return arns.filter((arn) => !ofAccount(arn, partition, adminAccount)).map((arn) => `aws:PrincipalArn ${arn} (outside the administrator account ${adminAccount})`);
    }
    return [droppedText(statement)];
  });
}

/** A trust statement a rewrite would drop, in words: its effect, principals, Sid, and what lets them in. */
function droppedText(statement: TrustStatement): string {
  const principals = principalsOf(statement);
  const effect = statement.Effect === 'Deny' ? 'Deny ' : '';
  const root = statement.Effect !== 'Deny' && !statement.Condition && principals.some((p) => /^arn:[^:]+:iam::\d{12}:root$/.test(p) || /^\d{12}$/.test(p));
  const how = statement.Condition ? `under its condition on ${Object.values(statement.Condition).flatMap((c) => Object.keys(c)).join(', ')}` : root ? 'with no condition: any principal of that account its own policies allow' : 'with no condition';
  return `${effect}${principals.join(', ') || 'no principal'}${statement.Sid ? ` (statement ${statement.Sid})` : ''} ${how}`;
}

/**
 * What writing the administration role's trust as administrationTrust would take away from the trust it has now: each
 * statement other than an Allow of CloudFormation's service principals (`cloudformation.amazonaws.com` and the
 * regional ones), by its principals. This role assumes the execution role in every target account, so whoever else
 * its trust lets in (a person, another tool's role, another account) would gain that with the policy bootstrap writes
 * next; and UpdateAssumeRolePolicy replaces the whole document (same page as above), locking them out. CloudFormation's
 * own statement, AWS's sample template's (no condition), is narrowed to StackSets of this account, which is what the
 * role is for (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html).
 */
export function administrationTrustDropped(trustDocument: string | undefined): string[] {
  if (!trustDocument) return [];
  return trustStatements(trustDocument).flatMap((statement) => (isCloudFormationAllow(statement) ? [] : [droppedText(statement)]));
}

const CLOUDFORMATION_PRINCIPAL = /^Service cloudformation(\.[a-z0-9-]+)?\.amazonaws\.com$/;
const isCloudFormationAllow = (statement: TrustStatement) => {
  const principals = principalsOf(statement);
  return statement.Effect === 'Allow' && statement.Principal !== undefined && principals.length > 0 && principals.every((p) => CLOUDFORMATION_PRINCIPAL.test(p));
};

/**
 * CloudFormation's statements that writing administrationTrust would widen: one under a condition with a clause
 * xstack's has not (none, AWS's sample template, or some of xstack's own are fine), such as StackSets named one by one. AWS recommends that narrower form:
 * "Specify your associated StackSets ARNs for finer control", and "The most effective way to protect against the
 * confused deputy problem is to use the aws:SourceArn global condition context key with the full ARN of the resource"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html, confused
 * deputy). Rewritten as xstack's, it would admit every StackSet of the account (review s27-bootstrap M3).
 */
export function administrationTrustNarrower(trustDocument: string | undefined, partition: string, adminAccount: string): string[] {
  if (!trustDocument) return [];
  const ours = (administrationTrust(partition, adminAccount).Statement as Array<{ Condition: Record<string, Record<string, unknown>> }>)[0].Condition;
  // Each of its clauses one of xstack's, so that xstack's is as narrow or narrower (an earlier xstack's, or AWS's
  // aws:SourceAccount alone).
  const within = (condition: Record<string, Record<string, unknown>>) =>
    Object.entries(condition).every(([operator, keys]) => Object.entries(keys).every(([key, value]) => JSON.stringify(ours[operator]?.[key]) === JSON.stringify(value)));
  return trustStatements(trustDocument).flatMap((statement) => {
    if (!isCloudFormationAllow(statement) || statement.Condition === undefined || within(statement.Condition as Record<string, Record<string, unknown>>)) return [];
    return [`${principalsOf(statement).join(', ')}${statement.Sid ? ` (statement ${statement.Sid})` : ''} under its condition ${JSON.stringify(statement.Condition)}`];
  });
}

export const executionPolicyName = (prefix: string, n: number) => new Names(prefix).executionPolicy(n);
/** The description bootstrap gives every execution policy it creates: another org's, on a shared role, is known by it. */
export const EXECUTION_POLICY_DESCRIPTION = 'xstack: the StackSet execution role, derived from the compiled templates';

/** Bootstrap's --output-reader-role is SERVICE_MANAGED's alone: refused before anything runs (the CLI checks it first too). */
export function refuseReaderRoleOption(compiled: CompiledOrg, outputReaderRoleName: string | undefined): void {
  if (compiled.org.stackSets.permissionModel === 'SELF_MANAGED' && outputReaderRoleName !== undefined) {
    throw new XstackError('READER_ROLE_NOT_TAKEN', `bootstrap takes --output-reader-role with SERVICE_MANAGED StackSets only (to read the target accounts' IAM quotas with): with SELF_MANAGED it makes the reader role ${new Names(compiled.org.prefix).outputReaderRole()} itself; leave the option out`);
  }
}

export async function bootstrap(compiled: CompiledOrg, aws: Aws, options: BootstrapOptions = {}): Promise<BootstrapStep[]> {
  const names = new Names(compiled.org.prefix);
  refuseReaderRoleOption(compiled, options.outputReaderRoleName);
  const steps: BootstrapStep[] = [];
  const report = (step: BootstrapStep) => {
    steps.push(step);
    options.onStep?.(step);
  };
  const identity = await aws.sts().send(new GetCallerIdentityCommand({}));
  if (!identity.Account || !identity.Arn) throw new XstackError('NO_IDENTITY', 'could not tell which account the credentials belong to');
  // The administration role and the template bucket belong where the StackSets live: made anywhere else, they serve
  // no deploy of this org, which is refused there (deployer.ts startRun).
  const recorded = compiled.org.layoutRecord?.stackSetsHome;
  const elsewhere = recorded && !options.emulator ? stackSetsElsewhereError(compiled.org, recorded, { account: identity.Account, region: aws.options.region }) : undefined;
  if (elsewhere) throw elsewhere;
  if (!recorded && !options.emulator) await announceAdministrator(compiled, aws, { account: identity.Account, region: aws.options.region }, report);
  // Either model: the templates' org-scoped statements are past their thresholds whichever it is (review s42-bootstrap m1).
  await refuseOtherOrganization(compiled, aws);
  if (compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED') {
    const { management, outside } = await checkServiceManaged(compiled, aws, identity.Account, report, options.emulator === true);
    const quotas = await serviceManagedQuotas(compiled, aws, [...(management ? [management] : []), ...outside], options.outputReaderRoleName, report).catch(async (error: unknown) =>
      Promise.reject(
        options.outputReaderRoleName === undefined
          ? await setupRoleRefused(error, compiled, aws, names.outputReaderRole(), 'READER_ROLE_POLICY_REFUSED', `Bootstrap reads the target accounts' IAM quotas and the room they leave through ${names.outputReaderRole()}, the setup template's role (iamQuotas declared since it was deployed, or an xstack whose bootstrap reads more, change its policy)`)
          : error,
      ),
    );
    if (quotas === 'refused') return steps;
  }
  // A refused administration role stops bootstrap before any write, the template bucket's too (review s22-diff D4).
  else if (
    (await bootstrapSelfManaged(compiled, aws, identity.Account, await callerPrincipal(aws.iam(), identity.Arn), options, report).catch(async (error: unknown) =>
      Promise.reject(
        options.accessRoleName === names.bootstrapAccessRole()
          ? await setupRoleRefused(error, compiled, aws, names.bootstrapAccessRole(), 'ACCESS_ROLE_POLICY_REFUSED', `Bootstrap reaches the target accounts through ${names.bootstrapAccessRole()}, the setup template's role (tags declared, another execution role name, or an xstack whose bootstrap reads or writes more change its policy)`)
          : error,
      ),
    )) === 'refused'
  )
    return steps;
  await ensureTemplateBucket(compiled, aws, identity.Account, Boolean(options.dryRun), report, options.sleep ?? pause);
  return steps;
}

/**
 * IAM refusing a call made through one of the setup template's roles (dist/<org>/setup/: SELF_MANAGED, the access role
 * `--access-role <prefix>-xstack-access` names; SERVICE_MANAGED, the reader role): its policy is that of the compile it
 * was deployed from, which the user deploys, not xstack, so a compile that since changed the file is refused until the
 * setup StackSet runs the new one (review s33-setup M1). The role's setup tag in that account says whether it does
 * (setup-verdict.ts). Any other error is passed on as it is.
 */
async function setupRoleRefused(error: unknown, compiled: CompiledOrg, aws: Aws, role: string, code: string, how: string): Promise<unknown> {
  if (error instanceof XstackError || !['AccessDenied', 'AccessDeniedException'].includes(errorName(error) ?? '')) return error;
  // Only a call made as that role: IAM names the caller, "User: arn:…:sts::<account>:assumed-role/<role>/<session> is
  // not authorized to perform: …"; the caller's own calls in the administrator account are not the template's.
  const account = new RegExp(`:sts::(\\d{12}):assumed-role/${role}/`).exec((error as Error).message ?? '')?.[1];
  if (account === undefined) return error;
  const { org } = compiled;
  const iam = aws.iam(aws.assumeRefreshing(`arn:${org.partition}:iam::${account}:role/${role}`, undefined, org.region), org.region);
  return new XstackError(code, `${(error as Error).message}. ${how}: ${await setupVerdict(iam, org.name, compiled.setup, account)}`, { cause: error });
}

/**
 * SERVICE_MANAGED: the IAM quotas the org file declares, read in each target account as SELF_MANAGED bootstrap reads
 * them (quotasRefused), through the setup template's reader role, which with iamQuotas declared may
 * iam:GetAccountSummary (templates/service-managed-reader.ts): the StackSets' own roles are AWS's, and bootstrap writes
 * nothing in the target accounts. Nothing is read when the org file declares none, nor in the management account,
 * where "CloudFormation doesn't deploy stack instances" (API_DeploymentTargets.html), the setup template's neither.
 */
async function serviceManagedQuotas(compiled: CompiledOrg, aws: Aws, unreachable: readonly string[], readerRoleName: string | undefined, report: (s: BootstrapStep) => void): Promise<'refused' | undefined> {
  const { org } = compiled;
  if (declaredQuotas(org).length === 0) return undefined;
  const reader = readerRoleName ?? new Names(org.prefix).outputReaderRole();
  const credentials = new Map<string, AwsCredentialIdentityProvider>();
  const credentialsOf = (account: string) =>
    credentials.get(account) ?? credentials.set(account, aws.assumeRefreshing(`arn:${org.partition}:iam::${account}:role/${reader}`, undefined, org.region)).get(account)!;
  // A reader STS refuses (not deployed yet, or not trusting this identity) leaves that account's quotas unread: a
  // missing step saying how to read them, and bootstrap goes on (the template bucket, the other accounts).
  const unread = (error: unknown) =>
    !(error instanceof AssumeRoleError)
      ? undefined
      : `not read: ${error.message}; ${
          readerRoleName === undefined
            ? setupReaderRefused(org.name, "bootstrap assumes to read each target account's IAM quotas (iamQuotas)", ', or pass --output-reader-role naming a role this identity may assume there that may iam:GetAccountSummary')
            : `the role --output-reader-role names must be assumable by this identity in every target account and may iam:GetAccountSummary`
        }`;
  // Not the management account nor one outside the organization: no StackSet instance is made there, the setup
  // template's neither (each reported above).
  // The room for the templates' entities too (the StackSets' own execution role is AWS's, there after the first deploy),
  // which the reader may read by name with iamQuotas declared (templates/service-managed-reader.ts).
  const templateEntities = iamEntitiesByAccount(compiled);
  const madeIn = (account: string) => templateEntities.get(account) ?? noIamEntities();
  return quotasRefused(compiled, targetAccounts(compiled).filter((a) => !unreachable.includes(a)), credentialsOf, report, aws, unread, madeIn);
}

/**
 * Until a deploy records where the org's StackSets live (layout.ts stackSetsHome), the account bootstrap runs in is
 * still a choice; the first deploy makes it for good, as every later run elsewhere is refused and moving means destroy
 * first (review s32-walkthrough M2). Said while it is open, and louder in the management account: "We recommend that
 * you use the management account and its users and roles for tasks that must be performed only by that account … SCPs
 * do not work to restrict any users or roles in the management account"
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_best-practices_mgmt-acct.html).
 */
async function announceAdministrator(compiled: CompiledOrg, aws: Aws, here: { account: string; region: string }, report: (s: BootstrapStep) => void) {
  const management = await new OrganizationReads(() => aws.organizations()).managementAccount().catch((): Management => ({ unknown: '' }));
  const inManagement = 'id' in management && management.id === here.account;
  const serviceManaged = compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED';
  const advice = !inManagement
    ? ''
    : serviceManaged
      ? `; it is the organization's management account, which AWS advises to keep for what only it can do and which SCPs do not restrict (${MANAGEMENT_ACCOUNT_DOC}): a member account registered as the StackSets delegated administrator (stackSets.callAs: DELEGATED_ADMIN) can be the administrator account instead`
      : `; it is the organization's management account, which AWS advises to keep for what only it can do and which SCPs do not restrict (${MANAGEMENT_ACCOUNT_DOC}): a member account can be the administrator account instead, reaching the target accounts through an --access-role that trusts it, which the setup template dist/${compiled.org.name}/${BOOTSTRAP_ACCESS_FILE} makes (README, "Setup templates")`;
  report({
    account: here.account,
    what: `the StackSets administrator account: ${here.account}, Region ${here.region} (no deploy has recorded one yet)`,
    status: 'ok',
    detail: `the first deploy from here records this account and Region in ${layoutPath(compiled.org.file)} (org.administratorAccount, org.stackSetsRegion), and every later plan, deploy, verify and bootstrap of the org must run here; moving them means destroy from here first${advice}`,
  });
}

/**
 * The administrator account's template bucket, only when a template is over
 * the 51,200 bytes CloudFormation takes inline (template-store.ts): private,
 * SSE-S3, TLS only, objects expiring after 90 days (CloudFormation reads a
 * template when the StackSet call is made and keeps its own copy).
 */
export async function ensureTemplateBucket(compiled: CompiledOrg, aws: Aws, admin: string, dry: boolean, report: (s: BootstrapStep) => void, sleep: (ms: number) => Promise<void> = pause) {
  const large = compiled.stages.filter((stage) => needsTemplateBucket(compiled.files.get(templatePath(stage))!));
  if (large.length === 0) return;
  const { org } = compiled;
  // In the Region the StackSets live in (--region), where deploy looks for it.
  const region = aws.options.region;
  const bucket = templateBucketName(org.prefix, admin, region);
  // The org file's prefix was checked with the org's region (org/load.ts); --region may name a longer one.
  const invalid = nameProblem(RULES.bucket, bucket);
  if (invalid) throw new XstackError('TEMPLATE_BUCKET_NAME', `${invalid}: the prefix '${org.prefix}' and --region ${region} make a template bucket name S3 rejects; use a shorter prefix, or the org's region`);
  const s3 = aws.s3(undefined, region);
  const what = `template bucket ${bucket} (${large.length} template${large.length === 1 ? '' : 's'} over ${LIMITS.templateBodyBytes} bytes: ${large.map((l) => l.id).join(', ')})`;
  // Owned by the administrator account, or refused: the name is predictable (template-store.ts).
  const state = await templateBucketState(s3, bucket, admin);
  if (state === 'foreign') throw foreignBucket(bucket, admin);
  if (state === 'present') {
    report({ account: admin, what, status: 'ok' });
    // Present is not finished: a run that failed after CreateBucket (an SCP refusing s3:PutBucketPolicy, Ctrl-C) left
    // it without some of its settings, which this run still applies; then the org's tags (a refusal of those is a
    // missing step, after the settings that keep it private).
    await ensureBucketSettings(s3, bucket, admin, org.partition, aws.options.endpoint, dry, report);
    return ensureBucketTags(s3, bucket, admin, org.tags, { account: admin, dry, report });
  }
  const tags = createTagList(org.tags);
  report({ account: admin, what, status: 'change', ...(tags ? { detail: `create, tagged ${tagsText(org.tags)}` } : {}) });
  if (dry) return;
  // "Bucket configurations have an eventual consistency model" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel):
  // a call just after CreateBucket (this run's, or another's in between) may still be answered NoSuchBucket, tried
  // again a while (review s45-bootstrap B2, s45-diff D11).
  const created = <T>(call: () => Promise<T>) => whileNotSeen(NOT_YET_SEEN_WAITS_MS, sleep, (error) => (error as { name?: string }).name === 'NoSuchBucket', call);
  try {
    // Tagged with the create call, for an SCP that refuses an untagged s3:CreateBucket (bootstrap-tags.ts).
    const configuration = { ...(region === 'us-east-1' ? {} : { LocationConstraint: region as BucketLocationConstraint }), ...(tags ? { Tags: tags } : {}) };
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(Object.keys(configuration).length > 0 ? { CreateBucketConfiguration: configuration } : {}) }));
  } catch (error) {
    // "You must have the s3:TagResource permission to create a general purpose bucket with tags" (bootstrap-tags.ts).
    if (tags && (error as { name?: string }).name === 'AccessDenied') {
      throw new XstackError('TEMPLATE_BUCKET_CREATE', `template bucket ${bucket}: S3 refused to create it with the org file's tags (${(error as Error).message}); with tags, creating it needs s3:TagResource as well as s3:CreateBucket: grant both to the identity that bootstraps (or an SCP on aws:RequestTag refused the tags), then run bootstrap again`, { cause: error });
    }
    // BucketAlreadyExists: "The requested bucket name is not available. The bucket namespace is shared by all
    // users of the system": another account took the name since the check. https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
    if ((error as { name?: string }).name === 'BucketAlreadyExists') throw foreignBucket(bucket, admin);
    if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
    // Ours already (a run in between): its tags as for any existing bucket.
    await ensureBucketSettings(s3, bucket, admin, org.partition, aws.options.endpoint, dry, report, created);
    return ensureBucketTags(s3, bucket, admin, org.tags, { account: admin, dry, report });
  }
  await ensureBucketSettings(s3, bucket, admin, org.partition, aws.options.endpoint, dry, report, created);
}

/** JSON with every object's keys sorted: a policy S3 gives back in another key order is the same policy. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

/** A bucket setting as read, or undefined when S3 answers that it has none (`absent`: the error's name). */
async function readSetting<T>(read: () => Promise<T>, absent: string): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as { name?: string }).name === absent) return undefined;
    throw error;
  }
}

const TEMPLATE_LIFECYCLE_RULE = { ID: 'expire-templates', Status: 'Enabled', Filter: { Prefix: 'templates/' }, Expiration: { Days: 90 } } as const;
const BLOCK_ALL = { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true };

/**
 * The template bucket's settings, each read and put only when it differs: public access blocked, SSE-S3, templates
 * expiring after 90 days, TLS only. Run on every bootstrap, not only after CreateBucket, so that a run that stopped
 * between CreateBucket and the last put is finished by the next. A setting S3 has none of answers with its own error
 * (GetPublicAccessBlock NoSuchPublicAccessBlockConfiguration, GetBucketEncryption
 * ServerSideEncryptionConfigurationNotFoundError, GetBucketLifecycleConfiguration NoSuchLifecycleConfiguration,
 * GetBucketPolicy NoSuchBucketPolicy: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList).
 * Lifecycle rules and policy statements of others are kept: only xstack's own rule and statement are written.
 */
async function ensureBucketSettings(
  s3: S3Client,
  bucket: string,
  admin: string,
  partition: string,
  endpoint: string | undefined,
  dry: boolean,
  report: (s: BootstrapStep) => void,
  /** Each call, as the bucket's state allows it (just created: tried again while S3 has not seen it yet). */
  seen: <T>(call: () => Promise<T>) => Promise<T> = (call) => call(),
) {
  // S3Client's send as its promise form, each command's output typed as send types it (the callback forms unused).
  const send = ((command: Parameters<S3Client['send']>[0]) => seen(() => s3.send(command))) as S3Client['send'];
  // CreateBucket has no ExpectedBucketOwner (API_CreateBucket.html); every call after it does (template-store.ts).
  const owned = { Bucket: bucket, ExpectedBucketOwner: admin };
  const change = (setting: string, detail: string) => report({ account: admin, what: `template bucket ${bucket}: ${setting}`, status: 'change', detail });

  const block = await readSetting(() => send(new GetPublicAccessBlockCommand(owned)), 'NoSuchPublicAccessBlockConfiguration');
  const blocked = block?.PublicAccessBlockConfiguration;
  if (!Object.entries(BLOCK_ALL).every(([k, v]) => blocked?.[k as keyof typeof BLOCK_ALL] === v)) {
    change('public access block', blocked ? 'block all four kinds of public access' : 'create');
    if (!dry) await send(new PutPublicAccessBlockCommand({ ...owned, PublicAccessBlockConfiguration: BLOCK_ALL }));
  }

  const encryption = await readSetting(() => send(new GetBucketEncryptionCommand(owned)), 'ServerSideEncryptionConfigurationNotFoundError');
  const rules = encryption?.ServerSideEncryptionConfiguration?.Rules ?? [];
  if (!(rules.length === 1 && rules[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm === 'AES256')) {
    change('default encryption', `SSE-S3${rules.length > 0 ? ` (was ${rules.map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).join(', ')})` : ''}`);
    if (!dry) await send(new PutBucketEncryptionCommand({ ...owned, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  }

  const lifecycleRead = await readSetting(() => send(new GetBucketLifecycleConfigurationCommand(owned)), 'NoSuchLifecycleConfiguration');
  const lifecycle = lifecycleRead?.Rules ?? [];
  const ours = lifecycle.find((r) => r.ID === TEMPLATE_LIFECYCLE_RULE.ID);
  if (!ours || ours.Status !== 'Enabled' || ours.Filter?.Prefix !== 'templates/' || ours.Expiration?.Days !== 90) {
    change('lifecycle rule expire-templates', ours ? 'update: templates/ expire after 90 days' : 'create: templates/ expire after 90 days');
    const others = lifecycle.filter((r) => r.ID !== TEMPLATE_LIFECYCLE_RULE.ID);
    // The configuration's own setting kept with the other rules (PutBucketLifecycleConfiguration replaces the whole).
    const minimumSize = lifecycleRead?.TransitionDefaultMinimumObjectSize;
    if (!dry) await send(new PutBucketLifecycleConfigurationCommand({ ...owned, ...(minimumSize ? { TransitionDefaultMinimumObjectSize: minimumSize } : {}), LifecycleConfiguration: { Rules: [...others, TEMPLATE_LIFECYCLE_RULE] as LifecycleRule[] } }));
  }

  // TLS only: against AWS every call is HTTPS. The local emulator is reached over plain HTTP and enforces
  // bucket policies, so there the statement would refuse xstack itself: left out, and said so.
  if (endpoint?.startsWith('http:')) {
    report({ account: admin, what: `template bucket ${bucket}: TLS-only bucket policy left out`, status: 'ok', detail: `the endpoint ${endpoint} is plain HTTP (the local emulator)` });
    return;
  }
  const bucketArn = `arn:${partition}:s3:::${bucket}`;
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
  const tlsOnly = { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
  const text = (await readSetting(() => send(new GetBucketPolicyCommand(owned)), 'NoSuchBucketPolicy'))?.Policy;
  const parsed = text ? (JSON.parse(text) as { Id?: string; Statement?: Array<{ Sid?: string }> }) : undefined;
  const statements = ([] as Array<{ Sid?: string }>).concat(parsed?.Statement ?? []);
  const current = statements.find((st) => st.Sid === tlsOnly.Sid);
  if (current && canonical(current) === canonical(tlsOnly)) return;
  change('TLS-only bucket policy', current ? 'update statement DenyInsecureTransport' : text ? 'add statement DenyInsecureTransport' : 'create');
  const policy = { Version: '2012-10-17', ...(parsed?.Id ? { Id: parsed.Id } : {}), Statement: [...statements.filter((st) => st.Sid !== tlsOnly.Sid), tlsOnly] };
  if (!dry) await send(new PutBucketPolicyCommand({ ...owned, Policy: JSON.stringify(policy) }));
}

/**
 * Credentials of the role bootstrap reaches a target account through, assumed through STS in the org's Region
 * (clients.ts assumeRefreshing), whose refusal says what the default role is and what to do instead.
 */
function accessRole(aws: Aws, org: CompiledOrg['org'], admin: string, account: string, named: string | undefined, organization: OrganizationReads): AwsCredentialIdentityProvider {
  const provider = aws.assumeRefreshing(`arn:${org.partition}:iam::${account}:role/${named ?? DEFAULT_ACCESS_ROLE}`, undefined, org.region);
  return async () => {
    try {
      return await provider();
    } catch (error) {
      throw await accessRoleRefused(error, aws, account, admin, named, organization, new Names(org.prefix).bootstrapAccessRole());
    }
  };
}

/**
 * STS refused an account's access role, and Organizations reports the account not ACTIVE (DescribeAccount's State,
 * org-reads.ts): no role of it can be assumed. "When an account is closed or suspended, the CloudFormation StackSets
 * administration role can no longer access the StacksSets execution role in that account"
 * (https://repost.aws/knowledge-center/cloudformation-removal-stacksets); SUSPENDED: "the account is unusable because
 * AWS has restricted access" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html).
 * Bootstrap passes such an account by, says so, and goes on with the others (review s42-bootstrap M1).
 */
export class AccountNotActive extends XstackError {
  constructor(
    readonly account: string,
    readonly state: string,
    readonly role: string,
    cause: unknown,
  ) {
    super('ACCOUNT_NOT_ACTIVE', `account ${account} is ${state} in AWS Organizations (DescribeAccount), and STS refused its access role ${role}: no role of an account that is not ACTIVE can be assumed`, { cause });
  }
}

const DEFAULT_ACCESS_ROLE = 'OrganizationAccountAccessRole';
const MANAGEMENT_ACCOUNT_DOC = 'https://docs.aws.amazon.com/organizations/latest/userguide/orgs_best-practices_mgmt-acct.html';
const INVITED_ACCOUNT_ROLE_DOC = 'https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html';
/**
 * The role AWS Control Tower's Account Factory has Organizations create instead of the default, in every account it
 * makes or enrolls: "The name of the role is AWSControlTowerExecution" and "The AWSControlTowerExecution role must be
 * present in all enrolled accounts" (https://docs.aws.amazon.com/controltower/latest/userguide/roles-how.html). It
 * trusts the management account, as the default role does.
 */
const CONTROL_TOWER_ACCESS_ROLE = 'AWSControlTowerExecution';

/**
 * An AccessDenied assuming the access role, with why: OrganizationAccountAccessRole is made only in an account
 * Organizations creates, and "trusts the management account, allowing users in the management account to assume the
 * role" (CreateAccount's RoleName, https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html;
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html): an invited account
 * has none, and another administrator account is not trusted. Any other failure is passed on as it is.
 */
async function accessRoleRefused(error: unknown, aws: Aws, account: string, admin: string, named: string | undefined, organization: OrganizationReads, setupRole: string): Promise<unknown> {
  const cause = error instanceof AssumeRoleError ? (error.cause as { name?: string } | undefined) : undefined;
  // The root user is refused whatever the role, and a carried source identity by the role's trust as it is (AssumeRoleError
  // says what to do in both): no advice about the role's existence.
  if (!(error instanceof AssumeRoleError) || cause?.name !== 'AccessDenied' || isRootRefusal(cause) || isSourceIdentityRefusal(cause)) return error;
  const role = named ?? DEFAULT_ACCESS_ROLE;
  // A suspended, closed or closing account refuses every role, and no advice about the role helps. DescribeAccount
  // answers the management account and delegated administrators only: where it cannot tell (or fails), the advice below.
  const state = await organization.state(account).catch(() => undefined);
  if (state !== undefined && state !== 'ACTIVE') return new AccountNotActive(account, state, error.roleArn, error);
  // An account id that is not the organization's (a typo, an example's id) has no role of the organization's making:
  // said first, where the caller may list the members (review s32-walkthrough m5). A list without the caller's own
  // account is no organization's (one the caller may list holds it): not judged.
  const membership = await accountsOutsideTheOrg(aws, [account, admin]);
  if ('outside' in membership && membership.outside.includes(account) && !membership.outside.includes(admin)) {
    return new XstackError(
      'ACCESS_ROLE_REFUSED',
      `${error.message}. Account ${account} is not a member of this organization (Organizations ListAccounts does not list it): check its id in the org file. An account outside the organization has no role Organizations made; if the id is right, create a role there that trusts account ${admin}, the one bootstrap runs in, and pass its name with --access-role (the same name in every target account)${role === DEFAULT_ACCESS_ROLE ? '' : `, or create ${role} there`}`,
      { cause: error },
    );
  }
  // By the role's name, not by whether it was given: the CLI passes the default by name (--access-role's default).
  if (named && named !== DEFAULT_ACCESS_ROLE) {
    // The setup template's role is there where the setup StackSet has an instance, which it targets account by account
    // (README "Setup templates"): an account the org file gained has none until one is added (review s45-setup S1). The
    // management account never has one: "CloudFormation doesn't deploy stack instances to the organization management
    // account" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html), so there
    // the template is a stack of its own (review s57-bootstrap m1).
    const management = named === setupRole ? await organization.managementAccount().catch((): Management => ({ unknown: '' })) : undefined;
    const setup =
      named !== setupRole
        ? ''
        : management && 'id' in management && management.id === account
          ? `; it is the setup template's role, and account ${account} is the organization's management account, where a SERVICE_MANAGED StackSet puts no instance: create the setup template there as a stack of its own (aws cloudformation create-stack in account ${account}, with the setup StackSet's template and parameters and --capabilities CAPABILITY_NAMED_IAM, README "Setup templates")`
          : `; it is the setup template's role: if the setup StackSet has no instance in account ${account} yet (an account the org file gained), add one (aws cloudformation create-stack-instances naming the account, README "Setup templates")`;
    return new XstackError('ACCESS_ROLE_REFUSED', `${error.message}. Bootstrap reaches account ${account} through role ${named} (--access-role): it must exist there and trust account ${admin}, the one bootstrap runs in${setup}`, { cause: error });
  }
  const management = await new OrganizationReads(() => aws.organizations()).managementAccount().catch(() => ({ unknown: '' }));
  const trusted = 'id' in management ? `the management account (${management.id})` : 'the management account';
  const inManagement = 'id' in management && management.id === admin;
  // Control Tower's role trusts the management account only, as the default does: from elsewhere it is refused too.
  const controlTower = `${CONTROL_TOWER_ACCESS_ROLE}, which Control Tower's Account Factory creates in each account it makes or enrolls, trusting the management account`;
  // Invited accounts: "You have to do this manually … We recommend that you use the same name,
  // OrganizationAccountAccessRole" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html).
  const invited = `if account ${account} was invited into the organization rather than created by it, create ${DEFAULT_ACCESS_ROLE} there by hand, trusting the management account (${INVITED_ACCOUNT_ROLE_DOC})`;
  const wayOut = inManagement
    ? `${invited}; in an AWS Control Tower landing zone pass --access-role ${controlTower}; otherwise pass --access-role naming a role that exists in every target account and trusts this account`
    : `run bootstrap from the management account (in an AWS Control Tower landing zone with --access-role ${controlTower}), or pass --access-role naming a role that exists in every target account and trusts account ${admin}`;
  return new XstackError(
    'ACCESS_ROLE_REFUSED',
    `${error.message}. Bootstrap reaches target accounts through ${DEFAULT_ACCESS_ROLE} unless --access-role names another; that role exists only in accounts AWS Organizations created (not in invited ones) and trusts only ${trusted}${inManagement ? '' : `; this is account ${admin}`}: ${wayOut}`,
    { cause: error },
  );
}

/**
 * Each target account's IAM summary, read before any write (account-quotas.ts): the quotas the org file declares,
 * where it declares some (an account whose own quota is lower refuses the run, nothing written, as a template it cannot
 * hold would fail partway through the rollout); and the room left under the quotas of roles, customer managed policies
 * and instance profiles for what `madeIn` an account (review s45-bootstrap B3): an account without it refuses the run
 * the same way. `madeIn` undefined: the quotas the org file declares only, nothing read when it declares none.
 */
async function quotasRefused(
  compiled: CompiledOrg,
  accounts: readonly string[],
  credentialsOf: (account: string) => AwsCredentialIdentityProvider | undefined,
  report: (s: BootstrapStep) => void,
  aws: Aws,
  unreachable: (error: unknown) => string | undefined = () => undefined,
  madeIn?: (account: string) => IamEntities,
): Promise<'refused' | undefined> {
  const declared = declaredQuotas(compiled.org);
  if (declared.length === 0 && !madeIn) return undefined;
  let refused = false;
  await inTurn(accounts, ACCOUNTS_AT_ONCE, report, async (account, report) => {
    const iam = aws.iam(credentialsOf(account), compiled.org.region);
    // Where the role that reads them may not be assumed and the caller says how to go on: a missing step, the other
    // accounts still read (SERVICE_MANAGED: the setup template's reader, which bootstrap does not make; SELF_MANAGED:
    // an account that is not ACTIVE).
    const summary = await readAccountSummary(iam).catch((error: unknown) => {
      const unread = unreachable(error);
      if (unread !== undefined) return { unread };
      throw error;
    });
    // Unread, the room is not said again: the account's other steps say why it is not set up (SELF_MANAGED), and a
    // SERVICE_MANAGED read is made for declared quotas only.
    if ('unread' in summary) {
      if (declared.length > 0) report({ account, what: QUOTAS_STEP, status: 'missing', detail: summary.unread as string });
      return;
    }
    if (declared.length > 0) {
      const { held, short } = await checkAccountQuotas(iam, declared, summary);
      if (short.length > 0) refused = true;
      report({ account, what: QUOTAS_STEP, status: short.length > 0 ? 'missing' : 'ok', detail: short.length > 0 ? `${short.join('; ')}; nothing was changed` : `held: ${held.join(', ')}` });
    }
    if (!madeIn) return;
    const { room, short } = await checkRoom(iam, summary, madeIn(account), { partition: compiled.org.partition, account });
    if (short.length > 0) refused = true;
    const detail = short.length > 0 ? `${short.join('; ')}; nothing was changed` : `room (in the account + to make, of the quota): ${room.length > 0 ? room.join(', ') : 'nothing to make'}`;
    report({ account, what: ROOM_STEP, status: short.length > 0 ? 'missing' : 'ok', detail });
  });
  return refused ? 'refused' : undefined;
}

const QUOTAS_STEP = 'IAM quotas the org file declares (iamQuotas)';
const ROOM_STEP = 'room under IAM quotas for the roles, customer managed policies and instance profiles this org makes';

/** Accounts any stage deploys to. */
const targetAccounts = (compiled: CompiledOrg) => [...new Set(compiled.stages.flatMap((s) => s.targets.map((a) => a.id)))].sort();

async function bootstrapSelfManaged(compiled: CompiledOrg, aws: Aws, admin: string, caller: string, options: BootstrapOptions, report: (s: BootstrapStep) => void): Promise<'refused' | undefined> {
  const { org } = compiled;
  const s = org.stackSets;
  const accounts = targetAccounts(compiled);
  const adminRoleArn = `arn:${org.partition}:iam::${admin}:role/${s.administrationRoleName}`;
  const dry = Boolean(options.dryRun);
  const iam = aws.iam();
  const held = organizationHeldPolicies(org);
  if (held.length > 0) for (const step of organizationHeldSteps(org, held, admin, await accountsOutsideTheOrg(aws, [...new Set(held.flatMap((h) => h.accounts.map((a) => a.id)))]))) report(step);
  // The compiled templates and the ones the org's StackSets hold now: a deploy that removes names (a renamed pipeline
  // removes its old ones) or accounts deletes them with these roles, so they stay until a bootstrap after that deploy.
  const deployed = await deployedOrgTemplates(compiled, aws);
  // Accounts with an instance the org file no longer targets: still assumed (the deploy deletes their instances with
  // the execution role there, which keeps the policy an earlier bootstrap gave it); not otherwise touched.
  const leavingAccounts = [...new Set(deployed.flatMap((d) => d.accounts))].filter((a) => !accounts.includes(a)).sort();
  if (leavingAccounts.length > 0) {
    report({
      account: admin,
      what: `administration role still assumes the execution role in ${leavingAccounts.join(', ')}`,
      status: 'ok',
      detail: 'accounts the org file no longer targets, with instances the next deploy deletes; their execution roles are left as they are, and the next bootstrap after that deploy drops them',
    });
  }
  // Each deployed template with the accounts of its instances: its names are kept in those accounts' policies only.
  const statements = executionPolicy(compiled, deployed.map((d) => ({ template: d.template, accounts: d.accounts })));
  const organization = new OrganizationReads(() => aws.organizations());
  const credentialsOf = (account: string): AwsCredentialIdentityProvider | undefined => (account === admin ? undefined : accessRole(aws, org, admin, account, options.accessRoleName, organization));
  // Target accounts passed by as not ACTIVE (AccountNotActive): nothing is set up there, so the record is not written.
  const notActive = new Set<string>();
  // A StackSet's TemplateBody is its latest template; an instance that is not CURRENT may still run an earlier one,
  // whose names the next deploy's retry removes with this role. The names the policy grants now are kept, read before
  // any change, until every instance is CURRENT.
  const behind = deployed.filter((d) => d.notCurrent.length > 0);
  const keptByAccount = new Map<string, IamStatement[]>();
  if (behind.length > 0) {
    await inTurn(accounts, ACCOUNTS_AT_ONCE, report, async (account) => {
      const accountIam = aws.iam(credentialsOf(account), org.region);
      const wanted = resolvePolicy(forAccount(statements, account), { partition: org.partition, account, region: org.region }).Statement;
      let granted: IamStatement[];
      try {
        granted = await attachedPackStatements(accountIam, account, compiled);
      } catch (error) {
        // An account not ACTIVE is passed by where the accounts are set up, said there; it keeps no other from being
        // set up (review s42-bootstrap M1, s45-diff D2).
        if (error instanceof AccountNotActive) return;
        throw error;
      }
      const kept = keptStatements(granted, wanted);
      if (kept.length > 0) keptByAccount.set(account, kept);
    });
  }
  // The union may need more managed policies than the compile alone (checked at compile): refused before any change.
  const compiledStatements = executionPolicy(compiled);
  // The org's permissions boundary, while deployed roles lack it: granted without the condition for now (execution-policy.ts
  // boundedRoleActions), recorded as such, so that plan and deploy ask for a bootstrap once the deploy has given it to them.
  const boundaryPending = compiledStatements.some((st) => st.Sid === BOUNDED_ROLES_SID) && !statements.some((st) => st.Sid === BOUNDED_ROLES_SID);
  if (boundaryPending) {
    report({
      account: admin,
      what: 'execution roles: the permissions boundary condition',
      status: 'ok',
      detail: `deferred: roles the StackSets deploy now lack the boundary ${org.permissionsBoundary}, so the role writes IAM checks against it (iam:CreateRole, the boundary, policy, trust and delete writes) are granted without the condition until they have it; run bootstrap again after the next deploy (plan and deploy say so until then)`,
    });
  }
  for (const account of accounts.length > 0 ? accounts : [admin]) {
    const problems = executionQuotaProblems(org, [...statements, ...(keptByAccount.get(account) ?? [])], [account]);
    if (problems.length === 0) continue;
    const kept = leavingResources(compiledStatements, statements, accounts);
    throw new XstackError(
      'EXECUTION_POLICY_UNION_TOO_LARGE',
      `${problems.join('; ')}. Bootstrap keeps, besides this compile's names, what the org's StackSets still create until a deploy removes it (${kept.length} resources${keptByAccount.size > 0 ? ', and the names granted now while instances are not CURRENT' : ''}), and together they do not fit; nothing was changed: deploy the removal in smaller steps (remove part, bootstrap, deploy, bootstrap, then the rest)`,
    );
  }
  const quotasNotRead = (error: unknown) => (error instanceof AccountNotActive ? `not read: ${error.message}; bootstrap sets up nothing there` : undefined);
  // What the account is to hold: the templates' roles, policies and instance profiles, and bootstrap's own (the execution
  // and reader roles, the execution policy's packs, as ensureExecutionPolicies derives them; in the administrator
  // account when it is a target too, the administration role, review s47-diff n5). An administrator account that is no
  // target is not read: its one role's create is told by createRefused if IAM refuses it, before any other write.
  const templateEntities = iamEntitiesByAccount(compiled);
  const madeIn = (account: string): IamEntities => {
    const templates = templateEntities.get(account) ?? noIamEntities();
    const resolved = resolvePolicy(forAccount(statements, account), { partition: org.partition, account, region: org.region });
    const packs = packPolicies([...resolved.Statement, ...(keptByAccount.get(account) ?? [])]).length;
    const administration = account === admin ? [s.administrationRoleName] : [];
    return {
      roles: new Set([...templates.roles, s.executionRoleName, new Names(org.prefix).outputReaderRole(), ...administration]),
      policies: new Set([...templates.policies, ...Array.from({ length: packs }, (_, i) => executionPolicyName(org.prefix, i + 1))]),
      instanceProfiles: templates.instanceProfiles,
    };
  };
  if ((await quotasRefused(compiled, accounts, credentialsOf, report, aws, quotasNotRead, madeIn)) === 'refused') return 'refused';
  const sleep = options.sleep ?? pause;
  // A tag step left `missing` (past IAM's 50) keeps the org's tags out of the record (ensureBootstrapTag).
  let tagsLeft = false;
  const reported = report;
  report = (step) => {
    if (step.status === 'missing' && step.what.endsWith(': tags')) tagsLeft = true;
    reported(step);
  };
  const adminTrust = (current: string | undefined): TrustOrRefusal => {
    const dropped = administrationTrustDropped(current);
    const narrower = administrationTrustNarrower(current, org.partition, admin);
    if (dropped.length > 0 && !options.replaceAdministrationTrust) return { refused: administrationTrustRefusal(s.administrationRoleName, dropped) };
    if (narrower.length > 0 && !options.replaceAdministrationTrust) return { refused: administrationTrustWideningRefusal(s.administrationRoleName, admin, narrower) };
    const document = administrationTrust(org.partition, admin, [org.region, aws.options.region], regionalPrincipals(current));
    const details = [
      ...(dropped.length > 0 ? [`no longer trusts (--replace-administration-trust): ${dropped.join('; ')}`] : []),
      ...(narrower.length > 0 ? [`trusts every StackSet of ${admin} now (--replace-administration-trust), instead of: ${narrower.join('; ')}`] : []),
    ];
    return { document, ...(details.length > 0 ? { detail: details.join('; ') } : {}) };
  };
  const adminRole = await ensureRole(iam, admin, s.administrationRoleName, adminTrust, { dry, report, sleep, principalCreated: false, tags: org.tags, reservedKeys: [bootstrapTag(org.prefix)] });
  // Nothing is written after a refusal (and nothing was before): the role's policy, and execution roles trusting it,
  // would hand every target account to whoever else its trust lets in.
  if (adminRole === 'refused') return 'refused';
  const adminWrites = { dry, report, sleep, roleCreated: adminRole === 'created' };
  const legacyRemoved = await ensureAdministrationPolicy(iam, admin, compiled, [...accounts, ...leavingAccounts].sort(), org.organizationId ?? (await organizationIdOf(aws)), adminWrites, (targets) => accountsOutsideTheOrg(aws, targets));
  if (adminRole !== 'created') await reportAdministrationPoliciesNotOurs(iam, admin, compiled, report);

  const leaving = leavingResources(compiledStatements, statements, accounts);
  if (leaving.length > 0) {
    report({
      account: admin,
      what: `execution policy keeps what the deployed StackSets still create (${deployed.map((d) => d.stackSet).join(', ')})`,
      status: 'ok',
      detail: `not in this compile, kept so that the deploy removing them may delete them; the next bootstrap after that deploy drops them: ${leaving.join(', ')}`,
    });
  }
  const trustWritten = new Set<string>();
  const policyWritten = new Set<string>();
  const trustRefused = new Set<string>();
  // Accounts whose execution policies were not written, past the role's quota of managed policies (ensureExecutionPolicies).
  const policiesRefused = new Set<string>();
  const readerName = new Names(org.prefix).outputReaderRole();
  const label = (p: string) => `${p} (${p === adminRoleArn ? 'administration role' : p === caller ? 'running this bootstrap' : 'an earlier caller'})`;
  /**
   * The reader role of an account, trusting who its trust names now, the callers an earlier bootstrap trusted on the
   * execution role (`formerCallers`), and this caller; its policy written unless its trust is refused (returned).
   */
  const ensureReader = async (accountIam: IAMClient, account: string, formerCallers: readonly string[], report: (s: BootstrapStep) => void): Promise<RoleChange> => {
    const readerTrust = (current: string | undefined): TrustOrRefusal => {
      const principals = [...new Set([...trustedPrincipals(current, org.partition, admin), ...formerCallers, caller])].sort();
      const dropped = trustDropped(current, org.partition, admin);
      if (dropped.length > 0 && !options.replaceExecutionTrust) return { refused: readerTrustRefusal(dropped) };
      const document = executionTrust(org.partition, admin, principals);
      refuseOversizedTrust(compiled, account, readerName, document, principals);
      return { document, detail: [`trusts ${principals.map(label).join(', ')}`, ...(dropped.length > 0 ? [`no longer trusts (--replace-execution-trust): ${dropped.join('; ')}`] : [])].join('; ') };
    };
    const readerRole = await ensureRole(accountIam, account, readerName, readerTrust, { dry, report, sleep, principalCreated: false, tags: org.tags, description: READER_ROLE_DESCRIPTION });
    if (readerRole === 'refused') return readerRole;
    if (await ensureInlinePolicy(accountIam, account, readerName, readerPolicyName(org.prefix), readerPolicy(compiled, account), { dry, report, sleep, roleCreated: readerRole === 'created' })) policyWritten.add(account);
    if (readerRole !== 'same') trustWritten.add(account);
    return readerRole;
  };
  // The identities an earlier bootstrap trusted on an account's execution role besides the administration role: it can
  // write IAM, so whoever may act as it is administrator of the account in effect (review s27-bootstrap M2). They are
  // trusted on the reader role instead, which reads only, so that plan and deploy run as they did.
  const callersOn = (executionRole: RoleRead) =>
    trustedPrincipals(executionRole.current, org.partition, admin).filter((p) => p !== adminRoleArn && !(options.allowDeleteRetained && p === caller));
  const setUpAccount = async (account: string, report: (s: BootstrapStep) => void) => {
    const accountIam = aws.iam(credentialsOf(account), org.region);
    // The reader role is written first: a reader trust past IAM's quota stops the run before the execution role's
    // trust drops anyone, and a reader whose trust is refused (changed by hand) keeps them on the execution role.
    const executionRead = await readRole(accountIam, s.executionRoleName);
    const formerCallers = callersOn(executionRead);
    const readerRole = await ensureReader(accountIam, account, formerCallers, report);
    const keptCallers = readerRole === 'refused' ? formerCallers : [];
    if (readerRole === 'refused') trustRefused.add(account);
    const trust = (current: string | undefined): TrustOrRefusal => {
      const principals = [...new Set([adminRoleArn, ...keptCallers, ...(options.allowDeleteRetained ? [caller] : [])])].sort();
      const dropped = trustDropped(current, org.partition, admin);
      if (dropped.length > 0 && !options.replaceExecutionTrust) return { refused: trustRefusal(admin, principals, dropped) };
      const document = executionTrust(org.partition, admin, principals);
      const details = [
        `trusts ${principals.map(label).join(', ')}`,
        ...(keptCallers.length > 0 ? [`still trusts the earlier callers while role ${readerName} is left as it is (above)`] : []),
        ...(formerCallers.length > 0 && keptCallers.length === 0
          ? [`no longer trusts ${formerCallers.join(', ')}, which ran bootstrap before: they read with role ${readerName} now; destroy --delete-retained deletes with this role, which trusts its caller only after bootstrap --allow-delete-retained`]
          : []),
        ...(dropped.length > 0 ? [`no longer trusts (--replace-execution-trust): ${dropped.join('; ')}`] : []),
      ];
      return { document, detail: details.join('; ') };
    };
    // Each execution role's trust names the administration role, which this run may have just created.
    const executionRole = await ensureRole(accountIam, account, s.executionRoleName, trust, { dry, report, sleep, principalCreated: adminRole === 'created', tags: org.tags }, executionRead);
    if (executionRole === 'refused') {
      trustRefused.add(account);
      // Its trust is not xstack's: xstack's policies are not given to whoever else it lets in; what the role holds is still said.
      await reportPoliciesNotOurs(accountIam, account, compiled, new Set((await attachedPolicies(accountIam, s.executionRoleName)).map((p) => p.PolicyArn!)), report);
      return;
    }
    const kept = keptByAccount.get(account) ?? [];
    if (kept.length > 0) {
      report({
        account,
        what: 'execution policy keeps the names it grants now',
        status: 'ok',
        detail: `instances not CURRENT in ${behind.map((d) => `${d.stackSet} (${d.notCurrent.join(', ')})`).join(', ')}: names kept until every instance is CURRENT (they may still run an earlier template, whose names the next deploy removes): ${[...new Set(kept.flatMap((k) => k.Resource))].sort().join(', ')}`,
      });
    }
    if ((await ensureExecutionPolicies(accountIam, account, compiled, statements, kept, { dry, report, sleep, roleCreated: executionRole === 'created' })) === 'refused') policiesRefused.add(account);
  };
  await inTurn(accounts, ACCOUNTS_AT_ONCE, report, async (account, report) => {
    try {
      await setUpAccount(account, report);
    } catch (error) {
      if (!(error instanceof AccountNotActive)) throw error;
      notActive.add(account);
      report({ account, what: `roles ${s.executionRoleName} and ${readerName}`, status: 'missing', detail: targetNotActiveText(error, org.file) });
    }
  });
  // Accounts the org file no longer targets keep their execution role as it is (above), and get a reader: deploy and
  // destroy read the instances still there with it (review s28-reader m2). After the target accounts, which none of
  // them may keep from being set up (review s42-bootstrap M1).
  await inTurn(leavingAccounts, ACCOUNTS_AT_ONCE, report, async (account, report) => {
    const accountIam = aws.iam(credentialsOf(account), org.region);
    try {
      if ((await ensureReader(accountIam, account, callersOn(await readRole(accountIam, s.executionRoleName)), report)) === 'refused') trustRefused.add(account);
    } catch (error) {
      if (!(error instanceof AccountNotActive)) throw error;
      report({ account, what: `role ${readerName}`, status: 'ok', detail: leavingNotActiveText(error) });
    }
  });
  // Last, once every account is as wanted: what plan and deploy compare with (bootstrapState).
  if (trustRefused.size === 0 && notActive.size === 0 && policiesRefused.size === 0) await ensureBootstrapTag(iam, admin, compiled, legacyRemoved, adminWrites, boundaryPending, tagsLeft);
  else {
    const why = [
      ...(trustRefused.size > 0 ? [`the execution role's or the reader role's trust was left as it is in ${[...trustRefused].sort().join(', ')} (above), where this org's policies were not given to it`] : []),
      ...(notActive.size > 0 ? [`${[...notActive].sort().join(', ')} ${notActive.size === 1 ? 'is' : 'are'} not ACTIVE in AWS Organizations, and nothing was set up there (above)`] : []),
      ...(policiesRefused.size > 0 ? [`the execution policies of ${[...policiesRefused].sort().join(', ')} were not written, past the role's quota of managed policies (above)`] : []),
    ];
    report({
      account: admin,
      what: `role ${s.administrationRoleName}: tag ${bootstrapTag(org.prefix)}`,
      status: 'missing',
      detail: `not written: ${why.join('; ')}; written by the first run that sets up every account`,
    });
  }
  // Accounts the org file no longer targets too: the deploy that deletes their instances reads them with the reader.
  const readers = [...accounts, ...leavingAccounts].sort().filter((a) => trustWritten.has(a) || policyWritten.has(a));
  if (!dry) await awaitAssumable(aws, org, readers, { trust: trustWritten, policy: policyWritten }, sleep, report);
}

/**
 * A target account passed by as not ACTIVE (AccountNotActive): nothing of the org's was set up there, and what to do. A
 * closed account is SUSPENDED for 90 days ("After 90 days, you can't reopen an account",
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html), and the deploy that removes it
 * from the org file removes its instances keeping their stacks (RetainStacks, README "Suspended accounts").
 */
const targetNotActiveText = (error: AccountNotActive, file: string) =>
  `not set up: ${error.message}, so its execution role, execution policies and reader role were neither read nor written, and the StackSets' instances there fail or are skipped. ` +
  `If the account was closed, remove it from ${file} and deploy within 90 days of its closing (the deploy removes its instances keeping their stacks), then run bootstrap again; if it is reactivated, run bootstrap again`;

/** An account the org file no longer targets passed by as not ACTIVE: its instances go without its reader. */
const leavingNotActiveText = (error: AccountNotActive) =>
  `not written: ${error.message}. The org file no longer targets it: the next deploy removes its instances keeping their stacks (RetainStacks), and skips its reads there while Organizations reports it not ACTIVE (README, "Suspended accounts")`;

/**
 * Target accounts worked on at once: one at a time, 1,000 accounts took about an hour (review s15-bootstrap m5);
 * each is its own IAM client and credentials, and IAM's throttling (ThrottlingException) is retried by the SDK
 * with backoff (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html), so a few at once.
 */
const ACCOUNTS_AT_ONCE = 4;

/**
 * `work` for each account, at most `limit` at once, each one's steps handed on in the accounts' order (as one at a
 * time gave them): an account's steps wait until those of every account before it are out. A failure stops new
 * accounts from starting; those under way finish, their steps are handed on, and the failure of the first account
 * (in order) that failed is thrown: every step is idempotent, so the next run finishes the rest.
 */
export async function inTurn(accounts: readonly string[], limit: number, report: (s: BootstrapStep) => void, work: (account: string, report: (s: BootstrapStep) => void) => Promise<void>): Promise<void> {
  const steps: BootstrapStep[][] = accounts.map(() => []);
  const done: boolean[] = accounts.map(() => false);
  const failures = new Map<number, unknown>();
  let next = 0;
  let out = 0;
  const handOn = () => {
    for (; out < accounts.length && done[out]; out++) for (const step of steps[out].splice(0)) report(step);
  };
  const worker = async () => {
    while (next < accounts.length && failures.size === 0) {
      const i = next++;
      try {
        await work(accounts[i], (step) => void steps[i].push(step));
      } catch (error) {
        failures.set(i, error);
      } finally {
        done[i] = true;
        handOn();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, accounts.length) }, worker));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
}

/**
 * Before a deploy depends on them (IAM_CONSISTENCY_DOC: "verify that the changes have been propagated"): each
 * reader role whose trust or policy this run created or changed (`written`), assumed by the caller, whom that trust
 * names (aws:PrincipalArn), through STS in the org's Region, as plan and deploy will assume it, then read with
 * (policyInEffect). A refusal (AccessDenied) is tried again for about a minute (ASSUMABLE_WAITS_MS); once one account
 * has used it all up, the others are tried once each. What this proves is the reader's trust and policy as STS and
 * CloudFormation see them, not the administration role nor the managed policies' new versions, which only
 * CloudFormation exercises.
 */
async function awaitAssumable(aws: Aws, org: CompiledOrg['org'], accounts: readonly string[], written: { trust: ReadonlySet<string>; policy: ReadonlySet<string> }, sleep: (ms: number) => Promise<void>, report: (s: BootstrapStep) => void) {
  let waits = ASSUMABLE_WAITS_MS;
  let readWaits = ASSUMABLE_WAITS_MS;
  const reader = new Names(org.prefix).outputReaderRole();
  const what = `role ${reader}: assumable by the caller (sts:AssumeRole)`;
  const policyWhat = `policy ${reader}/${readerPolicyName(org.prefix)}: in effect (cloudformation:ListStacks with the role's credentials)`;
  const outcomes: Array<{ account: string; tries: number; credentials?: AwsCredentialIdentity; error?: { name?: string; message?: string } }> = [];
  for (const account of accounts) {
    const role = `arn:${org.partition}:iam::${account}:role/${reader}`;
    for (let attempt = 0; ; attempt++) {
      try {
        outcomes.push({ account, tries: attempt + 1, credentials: await aws.assume(role, undefined, org.region) });
        break;
      } catch (error) {
        const { name, message } = error as { name?: string; message?: string };
        // The root user is refused at once and for good: no wait helps.
        if (isRootRefusal(error)) waits = [];
        // A trust an earlier run wrote (only the policy changed) has had its time to propagate: a refusal is an answer.
        if (name === 'AccessDenied' && written.trust.has(account) && attempt < waits.length) {
          await sleep(waits[attempt]);
          continue;
        }
        if (name === 'AccessDenied' && written.trust.has(account)) waits = [];
        outcomes.push({ account, tries: attempt + 1, error: { name, message } });
        break;
      }
    }
  }
  // Refused in every account, after a minute: most likely by design, a caller whose own policy does not allow
  // sts:AssumeRole on the reader roles (one that deploys with --output-reader-role); not a failure of bootstrap,
  // said so. The root user is refused in other words (isRootRefusal), and can assume no role at all: said as it is.
  const byDesign = outcomes.length > 0 && outcomes.every((o) => o.error?.name === 'AccessDenied' && !isRootRefusal(o.error));
  // Without the role's credentials there is nothing to read with: said where the trust's step is.
  const unread = "; the role's policy was not checked either (bootstrap reads with the role's credentials)";
  for (const { account, tries, credentials, error } of outcomes) {
    // A trust this run did not write is an earlier run's (a policy-only change): its propagation is that run's.
    const trust = written.trust.has(account) ? 'the new trust' : 'the trust an earlier bootstrap wrote';
    if (!error) {
      report({ account, what, status: 'ok', ...(tries > 1 ? { detail: `after ${tries} tries: IAM took a moment to propagate ${trust} (${IAM_CONSISTENCY_DOC})` } : {}) });
      const read = await policyInEffect(aws, org, credentials!, readWaits, sleep);
      const policy = written.policy.has(account) ? "the role's new policy" : "the role's policy";
      if (!read.error) {
        report({ account, what: policyWhat, status: 'ok', ...(read.tries > 1 ? { detail: `after ${read.tries} tries: IAM took a moment to propagate ${policy} (${IAM_CONSISTENCY_DOC})` } : {}) });
        continue;
      }
      readWaits = [];
      const { name, message } = read.error;
      report({
        account,
        what: policyWhat,
        status: 'missing',
        detail:
          name === 'AccessDenied' || name === 'AccessDeniedException'
            ? `CloudFormation refuses it (${message}) after about a minute: IAM has not propagated ${policy} yet (${IAM_CONSISTENCY_DOC}), or a service control policy or a permissions boundary on the role denies it. Plan, deploy and destroy read this account with this role, and are refused until it is in effect: wait a few minutes before running them (a bootstrap that changes nothing does not check again); if they are still refused, look for such a deny`
            : `${name}: ${message}`,
      });
      continue;
    }
    const refused = `STS refuses it (${error.message})`;
    if (isRootRefusal(error)) {
      report({ account, what, status: 'missing', detail: `${refused}: ${ROOT_CALLER_ADVICE}; deploy, plan and destroy assume roles too${unread}` });
      continue;
    }
    report({
      account,
      what,
      ...(byDesign
        ? { status: 'ok' as const, detail: `not confirmed: ${refused} in every account, so the caller's own policy most likely does not allow sts:AssumeRole on the reader roles (one written for an xstack before the reader role may name the execution role instead): allow it on role ${reader}, or deploy needs --output-reader-role for its reads; if it does allow it, IAM has not propagated ${trust} yet (${IAM_CONSISTENCY_DOC}): wait a minute before deploying${unread}` }
        : {
            status: 'missing' as const,
            detail:
              error.name === 'AccessDenied'
                ? `${refused}: IAM has not propagated ${trust} yet (${IAM_CONSISTENCY_DOC}), or the caller's own policy does not allow sts:AssumeRole on it (deploy needs that too, to look for retained resources). Wait a minute before deploying (a bootstrap that changes nothing does not check again: plan and deploy are refused with the reason while it holds)${unread}`
                : `${error.name}: ${error.message}${unread}`,
          }),
    });
  }
}

/**
 * Whether a reader role's policy is in effect (IAM_CONSISTENCY_DOC: a role's new policy, as its trust, takes a while to
 * be seen from every endpoint): one read that every reader policy allows, cloudformation:ListStacks, which takes no
 * resource type (reader-policy.ts FindInstanceStacks on "*"; Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html, ListStacks), its
 * first page only (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStacks.html), with the
 * role's credentials, through CloudFormation in the org's Region at the run's endpoint, as the deployer reads
 * (deployer.ts accountClient). A refusal is tried again after each of `waits`: IAM's AccessDenied, "User: … is not
 * authorized to perform: cloudformation:ListStacks" (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html),
 * or the AccessDeniedException CloudFormation lists among its common errors ("You do not have sufficient access to
 * perform this action", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html). Any other
 * error is returned at once.
 */
async function policyInEffect(aws: Aws, org: CompiledOrg['org'], credentials: AwsCredentialIdentity, waits: readonly number[], sleep: (ms: number) => Promise<void>): Promise<{ tries: number; error?: { name?: string; message?: string } }> {
  const cfn = aws.cloudFormation(credentials, org.region);
  for (let attempt = 0; ; attempt++) {
    try {
      await cfn.send(new ListStacksCommand({}));
      return { tries: attempt + 1 };
    } catch (error) {
      const { name, message } = error as { name?: string; message?: string };
      if ((name === 'AccessDenied' || name === 'AccessDeniedException') && attempt < waits.length) {
        await sleep(waits[attempt]);
        continue;
      }
      return { tries: attempt + 1, error: { name, message } };
    }
  }
}

export interface DeployedTemplate {
  stackSet: string;
  template: CfnTemplate;
  accounts: string[];
  /** Accounts whose instance is not CURRENT: its stack may still run an earlier template than `template`. */
  notCurrent: string[];
}

/**
 * The templates this org's StackSets hold now, as CloudFormation keeps them (DescribeStackSet's TemplateBody, a
 * template given by URL included): the StackSets of the org's prefix that xstack created (tagged xstack:stackset), as
 * the deployer finds them (stacksets.ts listOrgStackSets), removed stages' StackSets among them. Read in the
 * administrator account (--region, where the StackSets live), dry run or not.
 */
export async function deployedOrgTemplates(compiled: CompiledOrg, aws: Aws): Promise<DeployedTemplate[]> {
  const { prefix, stackSets: settings } = compiled.org;
  const cfn = aws.cloudFormation();
  const out: DeployedTemplate[] = [];
  try {
    for (const name of await listOrgStackSets(cfn, settings, prefix)) {
      let stackSet;
      try {
        stackSet = (await cfn.send(new DescribeStackSetCommand({ StackSetName: name, ...callAs(settings) }))).StackSet;
      } catch (error) {
        if ((error as { name?: string }).name === 'StackSetNotFoundException') continue; // deleted since the list
        throw error;
      }
      if (!stackSet?.TemplateBody || stackSet.Status === 'DELETED' || !stackSet.Tags?.some((t) => t.Key === 'xstack:stackset')) continue;
      // The accounts of its instances: an account removed from the org file keeps its instance until the deploy deletes it.
      const accounts = new Set<string>();
      const notCurrent = new Set<string>();
      let token: string | undefined;
      do {
        const page = await cfn.send(new ListStackInstancesCommand({ StackSetName: name, NextToken: token, ...callAs(settings) }));
        for (const i of page.Summaries ?? []) {
          if (!i.Account) continue;
          accounts.add(i.Account);
          // OUTDATED (an operation failed or stopped before it) or INOPERABLE: the stack may run an older template
          // than TemplateBody (API_StackInstanceSummary.html).
          if (i.Status !== 'CURRENT') notCurrent.add(i.Account);
        }
        token = page.NextToken;
      } while (token);
      out.push({ stackSet: name, template: fromYaml(stackSet.TemplateBody) as CfnTemplate, accounts: [...accounts].sort(), notCurrent: [...notCurrent].sort() });
    }
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    throw new XstackError(
      'DEPLOYED_TEMPLATES_UNREADABLE',
      `bootstrap keeps in the execution role's policy the names the org's StackSets still create, so that a deploy removing them (a renamed pipeline) may delete them, and could not read those StackSets' templates (${name}: ${message}): allow cloudformation:ListStackSets, DescribeStackSet and ListStackInstances in the administrator account`,
      { cause: error },
    );
  }
  return out;
}

/**
 * The resources (Sub form) `kept` names beyond `needed` in some account's own policy (forAccount): names on their way
 * out, or the shapes that now cover them; a name that moves to another account is on its way out of the first.
 */
function leavingResources(needed: readonly ExecutionStatement[], kept: readonly ExecutionStatement[], accounts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const account of accounts) {
    const own = new Set(forAccount(needed, account).flatMap((s) => s.Resource));
    for (const s of forAccount(kept, account)) for (const r of s.Resource) if (!own.has(r)) out.add(r);
  }
  return [...out].sort();
}

/**
 * The administration role's tag that records what bootstrap last set up for an org (SELF_MANAGED): one per prefix, as
 * two orgs may share the default administration role and each records its own.
 */
export const bootstrapTag = (prefix: string) => `xstack:bootstrap:${prefix}`;
/** The one tag an earlier xstack wrote for every org on the role (the last bootstrap's, whichever org ran it). */
export const LEGACY_BOOTSTRAP_TAG = 'xstack:bootstrap';

/**
 * The reader role as bootstrap writes it (its policy, reader-policy.ts, and its trust, executionTrust): a new version
 * makes every earlier bootstrap stale. 2: its S3 statements held to the account's own buckets (aws:ResourceAccount),
 * narrower than version 1's, so that a deployed reader gets the condition at the next bootstrap. 3: its trust (and the
 * execution role's) takes the source identity a caller's session carries, so that a deployed reader lets such a caller
 * in after the next bootstrap.
 */
const READER_VERSION = 3;

/**
 * What a SELF_MANAGED bootstrap sets up for a compile, as one digest: the target accounts, the role names and the
 * execution role's derived policy. A compile with a new account, resource type or resource name has another: its
 * execution roles are missing or would be refused what the new templates create, on AWS, after earlier waves have
 * changed (moto evaluates no IAM, so no local run shows it). The compile's own needs only: what bootstrap also keeps
 * for the deployed templates (names and accounts a deploy is about to remove) is left out, so that a bootstrap made
 * before the deploy that removes them is current for this compile, and stays so after that deploy (the policy then
 * only broader, until the next bootstrap drops them); a bootstrap without this compile's new names is stale.
 */
export function bootstrapDigest(compiled: CompiledOrg): string {
  const { stackSets } = compiled.org;
  // The statements as IAM gets them (resolvePolicy), with the accounts each name is granted in: a reason's wording is
  // not a change bootstrap would make.
  const policy = executionPolicy(compiled).map(({ Sid, Effect, Action, Resource, Condition, scope }) => ({
    Sid,
    Effect,
    Action,
    Resource,
    ...(Condition ? { Condition } : {}),
    ...(scope ? { scope: Resource.map((r) => (scope.get(r) ? [...scope.get(r)!].sort() : '*')) } : {}),
  }));
  // The reader roles' policies (reader-policy.ts): their buckets and repositories are named in the execution policy too,
  // so a change to them is a change to it; the roles the org file names are not (the reader alone reads them), so they
  // are here, with the reader's own name and version: a bootstrap from before the reader role existed is stale (its
  // deploys would assume a role that is not there), as is one from before a key administrator was added (its reader
  // could not read the new role: review s28-reader M1).
  const reader = { role: new Names(compiled.org.prefix).outputReaderRole(), version: READER_VERSION, reads: namedExistingRoles(compiled.org).map((r) => r.role).sort() };
  // The quotas the org file declares, which bootstrap checks in each account (quotasRefused): a raised declaration is a
  // bootstrap to run, so that plan and deploy do not roll out what an account's IAM refuses. Left out when none is
  // declared, so that the digest of an org declaring none is what it was before the check.
  const declared = declaredQuotas(compiled.org);
  const quotas = declared.length > 0 ? { iamQuotas: Object.fromEntries(declared) } : {};
  return sha256(JSON.stringify({ accounts: targetAccounts(compiled), administrationRole: stackSets.administrationRoleName, executionRole: stackSets.executionRoleName, policy, reader, ...quotas }));
}

/** The role's tags (none when it does not exist). */
async function roleTags(iam: IAMClient, role: string): Promise<Map<string, string>> {
  try {
    return new Map((await everyPage(paginateListRoleTags({ client: iam }, { RoleName: role }), (page) => page.Tags ?? [])).map((t) => [t.Key!, t.Value ?? '']));
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchEntityException') return new Map();
    throw error;
  }
}

/**
 * The digest the last bootstrap recorded for this org: its own tag, or, for an org bootstrapped by an earlier xstack,
 * the one tag that xstack wrote when it holds this compile's digest (the digest names the accounts and roles, so
 * another org's is another). Another value there may be another org's: not this org's to judge.
 */
function stampOf(tags: ReadonlyMap<string, string>, compiled: CompiledOrg): string | undefined {
  const own = tags.get(bootstrapTag(compiled.org.prefix));
  if (own !== undefined) return own;
  return tags.get(LEGACY_BOOTSTRAP_TAG) === bootstrapDigest(compiled) ? bootstrapDigest(compiled) : undefined;
}

/**
 * This org's tag, and the earlier xstack's one tag removed when it is this org's record (this compile's digest, or the
 * run removed this org's policy under the earlier name, which that xstack wrote in the same run): another org's stays.
 */
async function ensureBootstrapTag(iam: IAMClient, admin: string, compiled: CompiledOrg, legacyRemoved: boolean, { dry, report, sleep, roleCreated }: Writes, boundaryPending = false, tagsLeft = false) {
  const role = compiled.org.stackSets.administrationRoleName;
  const key = bootstrapTag(compiled.org.prefix);
  // The org file's tags, recorded only once every role and policy has them (a tag step left `missing` leaves them out).
  const digest = bootstrapDigest(compiled) + (boundaryPending ? BOUNDARY_PENDING : '') + (tagsLeft ? '' : tagsStamp(compiled));
  const tags = roleCreated ? new Map<string, string>() : await roleTags(iam, role);
  const what = `role ${role}: tag ${key}`;
  if (tags.get(key) === digest) report({ account: admin, what, status: 'ok' });
  else if (!tags.has(key) && tags.size >= MAX_IAM_TAGS) {
    // TagRole past IAM's 50 fails the whole request (API_TagRole.html): said, with what to do, not IAM's LimitExceeded.
    report({ account: admin, what, status: 'missing', detail: `not written: the role has ${tags.size} tags, IAM's most; remove one it no longer needs, then run bootstrap again (until then plan and deploy cannot tell whether bootstrap is current)` });
  } else {
    report({ account: admin, what, status: 'change', detail: 'what this bootstrap set up, for plan and deploy to compare with' });
    if (!dry) await onceSeen(roleCreated, sleep, () => iam.send(new TagRoleCommand({ RoleName: role, Tags: [{ Key: key, Value: digest }] })));
  }
  const legacy = tags.get(LEGACY_BOOTSTRAP_TAG);
  if (legacy === undefined || (legacy !== digest && !legacyRemoved)) return;
  report({ account: admin, what: `role ${role}: tag ${LEGACY_BOOTSTRAP_TAG}`, status: 'change', detail: `remove: an earlier xstack's record of this org, now ${key}` });
  if (!dry) await iam.send(new UntagRoleCommand({ RoleName: role, TagKeys: [LEGACY_BOOTSTRAP_TAG] }));
}

/**
 * Whether the last bootstrap set up what this compile needs (SELF_MANAGED; SERVICE_MANAGED roles are AWS's):
 * `stale` when the administration role's tag records another digest, `unknown` when it records none (no role yet,
 * a role made by hand, or by an xstack before the tag), `unreadable` when IAM refused to read its tags (the caller
 * lacks iam:ListRoleTags on it): plan and deploy say so, since they cannot tell a stale bootstrap. `boundary-pending`:
 * made for this compile, but with the permissions boundary condition deferred while deployed roles lacked the boundary
 * (boundaryPendingNote says to bootstrap again after the deploy).
 */
export type BootstrapState = 'current' | 'boundary-pending' | 'tags-pending' | 'stale' | 'unknown' | 'unreadable' | 'not-applicable';

/** What a bootstrap's record gains when it granted the execution role's role writes without the boundary condition, deployed roles lacking it. */
const BOUNDARY_PENDING = ':boundary-pending';

/**
 * What a bootstrap's record gains once the org file's tags are on every role and managed policy it made
 * (bootstrap-tags.ts): their digest, keys in order, apart from the policy's, so that a change of tags alone reads as
 * `tags-pending` (nothing is refused for it) and not as a stale policy. Nothing for an org file without tags: its
 * record is as before.
 */
export function tagsStamp(compiled: CompiledOrg): string {
  const tags = compiled.org.tags;
  if (tags.length === 0) return '';
  return `:tags-${sha256(JSON.stringify([...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).slice(0, 16)}`;
}
const TAGS_STAMP = /:tags-[0-9a-f]{16}$/;

export async function bootstrapState(compiled: CompiledOrg, aws: Aws): Promise<BootstrapState> {
  if (compiled.org.stackSets.permissionModel !== 'SELF_MANAGED') return 'not-applicable';
  let stamp: string | undefined;
  try {
    stamp = stampOf(await roleTags(aws.iam(), compiled.org.stackSets.administrationRoleName), compiled);
  } catch (error) {
    // Refused (IAM's AccessDenied, "User: … is not authorized to perform: iam:ListRoleTags",
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): said before the rollout.
    // Anything else (no credentials, no network) fails the run's next call, which says it.
    return /^AccessDenied/.test((error as { name?: string }).name ?? '') ? 'unreadable' : 'unknown';
  }
  if (stamp === undefined) return 'unknown';
  const digest = bootstrapDigest(compiled);
  const tags = TAGS_STAMP.exec(stamp)?.[0] ?? '';
  const policy = stamp.slice(0, stamp.length - tags.length);
  const state = policy === digest ? 'current' : policy === digest + BOUNDARY_PENDING ? 'boundary-pending' : 'stale';
  return state === 'current' && tags !== tagsStamp(compiled) ? 'tags-pending' : state;
}

/**
 * The org file's `organization.id` against the organization the administrator account is in, where Organizations
 * tells (DescribeOrganization: "Retrieves information about the organization that the user's account belongs to",
 * "You can call this operation from any account in a organization",
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html): the statements xstack conditions on
 * `aws:ResourceOrgID` or `aws:PrincipalOrgID` with that id (the administration role's past its quota, the event
 * forwarder's, the callers' policies) would match no request of another organization, and pushes would be dropped
 * without an error (review s32-walkthrough m6). Refused before any change; where it cannot be read, not judged. Both
 * permission models: the forwarder's and the callers' statements are org-scoped past their thresholds whichever it is
 * (stages/plan.ts organizationHeldPolicies), and "you can define the aws:PrincipalOrgID condition and set the value to
 * your organization ID … Your organization ID is what sets the access control"
 * (https://aws.amazon.com/blogs/security/control-access-to-aws-resources-by-using-the-aws-organization-of-iam-principals/;
 * review s42-bootstrap m1).
 */
async function refuseOtherOrganization(compiled: CompiledOrg, aws: Aws): Promise<void> {
  const declared = compiled.org.organizationId;
  if (declared === undefined) return;
  const actual = await organizationIdOf(aws);
  if (actual === undefined || actual === declared) return;
  throw new XstackError(
    'ORGANIZATION_MISMATCH',
    `${compiled.org.recordedFile}: organization.id is ${declared}, but the account bootstrap runs in is a member of organization ${actual} (DescribeOrganization); the policies conditioned on that id would match none of its requests, so nothing was changed: set organization.id: ${actual}, or run from an account of ${declared}`,
  );
}

/** The caller's organization, when the org file does not say and Organizations tells any member account (DescribeOrganization); undefined where it may not. */
async function organizationIdOf(aws: Aws): Promise<string | undefined> {
  try {
    return (await aws.organizations().send(new DescribeOrganizationCommand({}))).Organization?.Id;
  } catch {
    return undefined;
  }
}

/**
 * The execution role's trust grows by one principal for each identity that runs bootstrap, and IAM refuses a trust
 * policy past its quota (2,048 characters unless raised, white space not counted:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): said before any change, with the way out.
 */
function refuseOversizedTrust(compiled: CompiledOrg, account: string, role: string, document: object, principals: readonly string[]): void {
  const chars = JSON.stringify(document).length;
  const limit = quotaOf(compiled.org, 'roleTrustPolicyChars');
  if (chars <= limit) return;
  throw new XstackError(
    'TRUST_POLICY_TOO_LONG',
    `role ${role} in account ${account}: its trust would name ${principals.length} principals in ${chars} characters, over IAM's quota of ${limit} (${IAM_QUOTAS_DOC}); its trust was left as it is. ` +
      `Remove the principals that no longer run xstack from its aws:PrincipalArn list (bootstrap adds, never removes), or, ` +
      `once AWS has raised the quota (it approves up to ${ADJUSTABLE_IAM_QUOTAS.roleTrustPolicyChars.approved} automatically), set iamQuotas.roleTrustPolicyChars in the org file`,
  );
}

/** A trust to write and what to say about it, or why the one the role has is left as it is (a `missing` step). */
type TrustOrRefusal = { document: object; detail?: string } | { refused: string };
/** A role's trust as it should be, given the one it has (none when the role is new). */
type TrustFor = (current: string | undefined) => TrustOrRefusal;

/** Why an execution role's trust is left as it is: what the rewrite would drop, and the two ways on. */
function trustRefusal(admin: string, principals: readonly string[], dropped: readonly string[]): string {
  return (
    `its trust policy lets in what xstack's would not: ${dropped.join('; ')}. Bootstrap writes the trust as xstack's statements alone (account ${admin}, for ${principals.join(', ')}, and the source identity their sessions carry), ` +
    `which would lock those out (another administrator account, or an administration role of another tool, using this role); left as it is, and xstack's execution policies not attached to it. ` +
    `Check who uses the role, then run bootstrap with --replace-execution-trust to replace its trust, or set stackSets.executionRoleName in the org file to a role of xstack's own (bootstrap creates it)`
  );
}

/** Why a reader role's trust is left as it is (it was changed by hand): it is the org's own, so only the flag rewrites it. */
function readerTrustRefusal(dropped: readonly string[]): string {
  return `its trust policy lets in what xstack's would not: ${dropped.join('; ')}; left as it is, and its policy not written. Check who uses the role, then run bootstrap with --replace-execution-trust, which rewrites this role's trust too`;
}

function administrationTrustRefusal(role: string, dropped: readonly string[]): string {
  return (
    `its trust policy lets in more than CloudFormation: ${dropped.join('; ')}. This role assumes the execution role in every target account, so bootstrap writes nothing while others may assume it: ` +
    `not its policy, not its trust (which would lock them out), and no execution role. Check who uses the role, then run bootstrap with --replace-administration-trust to replace its trust with CloudFormation's alone, ` +
    `or set stackSets.administrationRoleName in the org file to a role of xstack's own (bootstrap creates it; ${role} is left as it is)`
  );
}

function administrationTrustWideningRefusal(role: string, admin: string, narrower: readonly string[]): string {
  return (
    `its trust admits CloudFormation more narrowly than xstack's would: ${narrower.join('; ')}. Written as xstack's (aws:SourceArn of every StackSet of account ${admin}), it would let every StackSet of the account use this role, which assumes the execution role in every target account, so bootstrap writes nothing. ` +
    `Run bootstrap with --replace-administration-trust to widen it to xstack's, or set stackSets.administrationRoleName in the org file to a role of xstack's own (bootstrap creates it; ${role} is left as it is)`
  );
}

/** What a step that writes in this run has: dry run or not, where it reports, and how it waits while IAM propagates. */
interface Writes {
  dry: boolean;
  report: (s: BootstrapStep) => void;
  sleep: (ms: number) => Promise<void>;
  /** The role the step writes on was created in this run (IAM may not show it yet: onceSeen). */
  roleCreated: boolean;
}

/** Whether the role was created, its trust updated, left as it was, or left because its trust may not be rewritten (dry run: what would be). */
type RoleChange = 'created' | 'updated' | 'same' | 'refused';

/** How a role's trust is written: `principalCreated` when it names a role this run created (trustWritten). */
interface TrustWrites {
  dry: boolean;
  report: (s: BootstrapStep) => void;
  sleep: (ms: number) => Promise<void>;
  principalCreated: boolean;
  /** The org file's tags: the role is created with them, and an existing one given those it lacks (bootstrap-tags.ts). */
  tags: OrgTags;
  /** Keys this run adds to the role after its tags (the administration role's record): kept room for among IAM's 50. */
  reservedKeys?: readonly string[];
  /** The role's description when created. */
  description?: string;
}

const ROLE_DESCRIPTION = 'xstack: StackSets (xstack bootstrap)';
const READER_ROLE_DESCRIPTION = 'xstack: plan, deploy and destroy read the account with it (xstack bootstrap)';

/** A role as GetRole reads it: whether it exists, its trust policy and its path. */
interface RoleRead {
  exists: boolean;
  current?: string;
  path: string;
}

async function readRole(iam: IAMClient, name: string): Promise<RoleRead> {
  try {
    const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
    return { exists: true, current: role?.AssumeRolePolicyDocument, path: role?.Path ?? '/' };
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
    return { exists: false, path: '/' };
  }
}

/** `read`: the role as this run already read it (readRole), so that it is not read twice. */
async function ensureRole(iam: IAMClient, account: string, name: string, trustFor: TrustFor, { dry, report, sleep, principalCreated, tags, reservedKeys = [], description = ROLE_DESCRIPTION }: TrustWrites, read?: RoleRead): Promise<RoleChange> {
  const { exists, current, path } = read ?? (await readRole(iam, name));
  // A role's ARN holds its path, arn:<partition>:iam::<account>:role/<path><name>
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns), and GetRole finds a
  // role by name at any path (Role.Path, https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html). The
  // deployer passes AdministrationRoleARN, and the execution roles' trusts name the administration role, without a
  // path, and StackSets takes the execution role by name: a role made by hand at another path would be named by
  // an ARN that is not its own, and every instance would fail to assume it (review s27-bootstrap m2).
  if (exists && path !== '/') {
    report({ account, what: `role ${name}`, status: 'missing', detail: `it exists at path ${path}, while StackSets and xstack name it by an ARN without a path (role/${name}), which is not this role's (role${path}${name}): delete it and run bootstrap again, or name another role in the org file's stackSets settings` });
    return 'refused';
  }
  const trust = trustFor(current);
  if ('refused' in trust) {
    report({ account, what: `role ${name}`, status: 'missing', detail: trust.refused });
    return 'refused';
  }
  if (!exists) {
    const created = createTagList(tags);
    report({ account, what: `role ${name}`, status: 'change', detail: ['create', created ? `tagged ${tagsText(tags)}` : undefined, trust.detail].filter(Boolean).join('; ') });
    if (!dry) await trustWritten(principalCreated, sleep, () => iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust.document), Description: description, ...(created ? { Tags: created } : {}) }))).catch(createRefused(account, `role ${name}`));
    return 'created';
  }
  let change: RoleChange = 'same';
  if (sameDocument(current, trust.document)) report({ account, what: `role ${name}`, status: 'ok', ...(trust.detail ? { detail: trust.detail } : {}) });
  else {
    report({ account, what: `role ${name}`, status: 'change', detail: ['update trust policy', trust.detail].filter(Boolean).join('; ') });
    if (!dry) await trustWritten(principalCreated, sleep, () => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust.document) })));
    change = 'updated';
  }
  await ensureRoleTags(iam, name, tags, { account, dry, report }, reservedKeys);
  return change;
}

/** Whether the policy was written (dry run: would be). */
async function ensureInlinePolicy(iam: IAMClient, account: string, role: string, name: string, policy: object, { dry, report, sleep, roleCreated }: Writes): Promise<boolean> {
  let current: string | undefined;
  try {
    current = (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
  }
  if (sameDocument(current, policy)) {
    report({ account, what: `policy ${role}/${name}`, status: 'ok' });
    return false;
  }
  report({ account, what: `policy ${role}/${name}`, status: 'change', detail: current ? 'update' : 'create' });
  if (!dry) await onceSeen(roleCreated, sleep, () => iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: name, PolicyDocument: JSON.stringify(policy) })));
  return true;
}

/** The name an earlier xstack gave the administration role's inline policy, one for every org sharing the role. */
export const LEGACY_ADMINISTRATION_POLICY = ADMINISTRATION_POLICY;

/**
 * Whether the policy an earlier xstack wrote under LEGACY_ADMINISTRATION_POLICY is this org's, as administrationPolicy
 * wrote it: its one statement names this org's execution role in this org's accounts only (`accounts`: the targets and
 * the accounts with instances), or, past the quota, in this org's organization. Anything else (another org's accounts,
 * a statement added by hand) is not this org's to replace.
 */
export function isOwnLegacyPolicy(policy: { Statement?: unknown }, partition: string, executionRoleName: string, accounts: ReadonlySet<string>, organizationId?: string): boolean {
  const statements = ([] as unknown[]).concat(policy.Statement ?? []) as Array<{ Sid?: string; Resource?: string | string[]; Condition?: { StringEquals?: Record<string, string> } }>;
  if (statements.length !== 1) return false;
  const [statement] = statements;
  const resources = ([] as string[]).concat(statement.Resource ?? []);
  if (statement.Sid === ADMINISTRATION_SIDS.listed) {
    // Exactly this org's accounts: another org whose accounts are a part of this one's wrote a policy that every
    // account of it would pass one by one (review s15-merged F4); a policy of this org's from before its accounts
    // changed is left and reported, which is the safe side.
    const named = new Set<string>();
    const ours = resources.every((r) => {
      const arn = /^arn:([^:]+):iam::(\d{12}):role\/(.+)$/.exec(r);
      if (arn !== null) named.add(arn[2]);
      return arn !== null && arn[1] === partition && arn[3] === executionRoleName && accounts.has(arn[2]);
    });
    return ours && named.size === accounts.size;
  }
  return (
    statement.Sid === ADMINISTRATION_SIDS.inTheOrg &&
    organizationId !== undefined &&
    resources.length === 1 &&
    resources[0] === `arn:${partition}:iam::*:role/${executionRoleName}` &&
    statement.Condition?.StringEquals?.['aws:ResourceOrgID'] === organizationId
  );
}

/** The role's inline policies, parsed (none when the role does not exist). */
async function inlinePolicies(iam: IAMClient, role: string): Promise<Map<string, { Statement?: unknown }>> {
  const out = new Map<string, { Statement?: unknown }>();
  try {
    for (const name of await everyPage(paginateListRolePolicies({ client: iam }, { RoleName: role }), (page) => page.PolicyNames ?? [])) {
      const text = (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument;
      if (text) out.set(name, JSON.parse(decodeURIComponent(text)) as { Statement?: unknown });
    }
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
  }
  return out;
}

/**
 * This org's inline policy on the administration role (Names.administrationPolicy, per prefix: two orgs may share the
 * default role, and each writes only its own), sized to what the role's other inline policies leave of IAM's quota
 * (they count together, IAM_QUOTAS_DOC). The policy an earlier xstack wrote under the one name every org used is
 * replaced when it is this org's (isOwnLegacyPolicy): the new one is written first, so that the StackSets never lose
 * the grant, unless both would not fit together. Returns whether it was removed.
 */
export async function ensureAdministrationPolicy(iam: IAMClient, admin: string, compiled: CompiledOrg, accounts: string[], organizationId: string | undefined, writes: Writes, membership?: (accounts: readonly string[]) => Promise<{ outside: string[] } | { unknown: string }>): Promise<boolean> {
  const { org } = compiled;
  const role = org.stackSets.administrationRoleName;
  const name = new Names(org.prefix).administrationPolicy();
  const others = writes.roleCreated ? new Map<string, { Statement?: unknown }>() : await inlinePolicies(iam, role);
  const legacy = others.get(LEGACY_ADMINISTRATION_POLICY);
  const ownLegacy = legacy !== undefined && isOwnLegacyPolicy(legacy, org.partition, org.stackSets.executionRoleName, new Set(accounts), organizationId);
  others.delete(name);
  if (ownLegacy) others.delete(LEGACY_ADMINISTRATION_POLICY);
  const budget = FIXED_IAM_QUOTAS.roleInlinePolicyChars.limit - [...others.values()].reduce((n, p) => n + JSON.stringify(p).length, 0);
  let policy = administrationPolicy(org.partition, org.stackSets.executionRoleName, accounts, organizationId, budget);
  // Held to the organization's accounts (aws:ResourceOrgID): the target accounts outside it are named one by one.
  if ((policy.Statement[0] as { Sid?: string } | undefined)?.Sid === ADMINISTRATION_SIDS.inTheOrg) {
    const members = membership ? await membership(accounts) : { unknown: 'not read' };
    if ('outside' in members) {
      if (members.outside.length > 0) writes.report({ account: admin, what: `role ${role}: target accounts outside organization ${organizationId}`, status: 'ok', detail: `named one by one, as aws:ResourceOrgID holds only for the organization's members: ${members.outside.join(', ')}` });
      policy = administrationPolicy(org.partition, org.stackSets.executionRoleName, accounts, organizationId, budget, members.outside);
    } else {
      writes.report({
        account: admin,
        what: `role ${role}: target accounts in organization ${organizationId}`,
        status: 'ok',
        detail: `not confirmed (organizations:ListAccounts, ${members.unknown}): the execution role is assumed in the organization's accounts only (aws:ResourceOrgID), so a target account outside it would fail every instance there; run bootstrap from the management account or a delegated administrator to have them named one by one`,
      });
    }
  }
  const removeLegacy = async () => {
    writes.report({ account: admin, what: `policy ${role}/${LEGACY_ADMINISTRATION_POLICY}`, status: 'change', detail: `delete: an earlier xstack's policy for this org's accounts, now ${name}` });
    if (!writes.dry) await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: LEGACY_ADMINISTRATION_POLICY }));
  };
  const together = ownLegacy && JSON.stringify(policy).length + JSON.stringify(legacy).length <= budget;
  if (ownLegacy && !together) await removeLegacy();
  try {
    await ensureInlinePolicy(iam, admin, role, name, policy, writes);
  } catch (error) {
    // Deleted first for room (the two do not fit the role's inline policies together): put the earlier one back,
    // so that a refused write does not leave the administration role assuming no execution role (review s15-merged F5).
    if (ownLegacy && !together && !writes.dry) {
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: LEGACY_ADMINISTRATION_POLICY, PolicyDocument: JSON.stringify(legacy) })).catch(() => undefined);
    }
    throw error;
  }
  if (together) await removeLegacy();
  if (legacy !== undefined && !ownLegacy) {
    writes.report({
      account: admin,
      what: `policy ${role}/${LEGACY_ADMINISTRATION_POLICY}`,
      status: 'ok',
      detail: `left as it is: written by an earlier xstack, and not for this org's accounts only (another org sharing the role, or accounts since removed); that org's next bootstrap replaces it, or delete it by hand once every org sharing the role has run this version's`,
    });
  }
  return ownLegacy;
}

/** The derived policy as managed policies (it is larger than an inline policy may be), attached to the execution role. */
async function ensureExecutionPolicies(iam: IAMClient, account: string, compiled: CompiledOrg, statements: ExecutionStatement[], kept: readonly IamStatement[], { dry, report, sleep, roleCreated }: Writes): Promise<'refused' | undefined> {
  const { org } = compiled;
  // The account's own policy: the names of the resources its instances create, not every account's (forAccount).
  const resolved = resolvePolicy(forAccount(statements, account), { partition: org.partition, account, region: org.region });
  resolved.Statement.push(...kept);
  const role = org.stackSets.executionRoleName;
  const attached = new Set<string>();
  // A role this run created has nothing attached (and IAM may not show it yet): not listed.
  const existed = !roleCreated && (!dry || (await roleExists(iam, role)));
  if (existed) {
    for (const p of await attachedPolicies(iam, role)) attached.add(p.PolicyArn!);
  }
  const packs = packPolicies(resolved.Statement);
  const ownPack = ownPackNumber(org, account);
  const others = [...attached].filter((arn) => ownPack(arn) === undefined).sort();
  const ours = new Set([...attached].map(ownPack).filter((n) => n !== undefined));
  const toAttach = packs.filter((_, i) => !ours.has(i + 1)).length;
  if (others.length > 0 && toAttach > 0) {
    // IAM's quota of managed policies attached to a role counts every one attached, not only this org's packs, which
    // alone the compile counts (execution-quota.ts): another org's on a role both use, AWS's AdministratorAccess kept,
    // one attached by hand. Past it AttachRolePolicy fails ("Cannot exceed quota for PoliciesPerRole") after the
    // packs are created, and again at every run: refused before any execution policy is written in the account (review
    // s45-bootstrap B1). Until the packs past the ones derived now are detached, after the writes, they count too. With
    // nothing to attach there is nothing IAM could refuse (its quota may be above the one the org declares).
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("Managed policies per role")
    for (let n = 1; n <= packs.length; n++) ours.add(n);
    const quota = quotaOf(org, 'managedPoliciesPerRole');
    if (others.length + ours.size > quota) {
      report({
        account,
        what: `execution role ${role}: managed policies`,
        status: 'missing',
        detail:
          `not written: this org's execution policy takes ${packs.length} managed policies${ours.size > packs.length ? ` (${ours.size} while its packs past them are still attached)` : ''}, and the role holds ${others.length} others (${others.join(', ')}), ` +
          `over IAM's quota of ${quota} managed policies attached to a role${raiseAdvice('managedPoliciesPerRole', quota)}; detach what the role no longer needs (the steps below name each), ` +
          `or set stackSets.executionRoleName in the org file to a role of this org's own, then run bootstrap again`,
      });
      await reportPoliciesNotOurs(iam, account, compiled, attached, report);
      return 'refused';
    }
  }
  // Read every pack first, then write them in an order that never leaves a statement out (packWriteOrder).
  const held: Array<{ name: string; arn: string; defaultVersion?: string; document?: string }> = [];
  for (const [i] of packs.entries()) {
    const name = executionPolicyName(org.prefix, i + 1);
    const arn = `arn:${org.partition}:iam::${account}:policy/${name}`;
    let defaultVersion: string | undefined;
    try {
      defaultVersion = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.DefaultVersionId;
    } catch (error) {
      if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
    }
    const current = defaultVersion ? (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: defaultVersion }))).PolicyVersion?.Document : undefined;
    held.push({ name, arn, defaultVersion, document: current });
  }
  // What the role holds now: the packs attached to it (a pack that exists unattached grants nothing).
  const granted = held.map((h) => (h.document && attached.has(h.arn) ? statementsOf(h.document) : []));
  for (const i of packWriteOrder(granted, packs)) {
    const { name, arn, defaultVersion, document: current } = held[i];
    const pack = packs[i];
    const wanted = document(pack);
    let policyCreated = false;
    if (!defaultVersion) {
      const tags = createTagList(org.tags);
      report({ account, what: `managed policy ${name}`, status: 'change', detail: `create (${pack.length} statements)${tags ? `, tagged ${tagsText(org.tags)}` : ''}` });
      if (!dry) await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(wanted), Description: EXECUTION_POLICY_DESCRIPTION, ...(tags ? { Tags: tags } : {}) })).catch(createRefused(account, `managed policy ${name}`));
      policyCreated = true;
    } else if (sameDocument(current, wanted)) report({ account, what: `managed policy ${name}`, status: 'ok' });
    else {
      report({ account, what: `managed policy ${name}`, status: 'change', detail: 'new default version' });
      if (!dry) {
        const versions = await everyPage(paginateListPolicyVersions({ client: iam }, { PolicyArn: arn }), (page) => page.Versions ?? []);
        const old = versions.filter((v) => !v.IsDefaultVersion).sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0));
        const deletedOldest = versions.length >= POLICY_VERSIONS;
        if (deletedOldest) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: old[0].VersionId }));
        try {
          await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: JSON.stringify(wanted), SetAsDefault: true }));
        } catch (error) {
          // Five versions a policy, and this run deleted the oldest first: another run wrote one in between (IAM lists
          // LimitExceeded, not ConcurrentModification, for CreatePolicyVersion:
          // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html#API_CreatePolicyVersion_Errors).
          // LimitExceeded is also the answer to a document over the policy size ("Cannot exceed quota for PolicySize"):
          // only the versions quota is another run's doing.
          if ((error as { name?: string }).name !== 'LimitExceededException' || !/versions/i.test((error as Error).message ?? '')) throw error;
          throw new XstackError(
            'BOOTSTRAP_CONFLICT',
            `account ${account}: IAM refused a new version of managed policy ${name} (${(error as Error).message}): it has the ${POLICY_VERSIONS} versions a managed policy may have, though this run ${deletedOldest ? 'deleted the oldest just before' : `found ${versions.length}`}, so another bootstrap of this org, or someone else, wrote one in between. Let the other run finish, then run bootstrap again: it reads the policies anew, and every statement is still granted in its old pack or its new one`,
            { cause: error },
          );
        }
      }
    }
    if (!policyCreated) await ensurePolicyTags(iam, name, arn, org.tags, { account, dry, report });
    if (attached.has(arn)) continue;
    report({ account, what: `attach ${name} to ${role}`, status: 'change' });
    if (!dry) await onceSeen(roleCreated || policyCreated, sleep, () => iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn })));
  }
  // This org's packs past the ones derived now (the policy shrank): xstack attached them, and detaching deletes nothing
  // (the policy stays, unattached). Only `policy/<prefix>-stackset-execution-<n>` of this account, by this org's
  // prefix: two orgs may share the default execution role, and another org's packs on it are that org's.
  const own = `arn:${org.partition}:iam::${account}:policy/`;
  const numbered = [...attached].map((arn) => ({ arn, n: ownPack(arn) }));
  for (const { arn } of numbered.filter(({ n }) => n !== undefined && n > packs.length).sort((a, b) => a.n! - b.n!)) {
    report({ account, what: `detach ${arn.slice(own.length)} from ${role}`, status: 'change', detail: `no longer derived (the policy now takes ${packs.length}); the policy is kept, unattached` });
    if (!dry) await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
  }
  if (existed) await reportPoliciesNotOurs(iam, account, compiled, attached, report);
}

/**
 * IAM refusing to create what this run read as missing (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
 * and API_CreatePolicy.html, Errors):
 * - EntityAlreadyExists ("The request was rejected because it attempted to create a resource that already exists"):
 *   another bootstrap of this org or a person made it in between, or the SDK sent the create again after losing the
 *   answer to a first try that made it (IAM's creates take no idempotency token; review s47-deploy-api 3). What it
 *   holds is not known to be what this run wanted, so the account stops there, and a run again reads it anew.
 * - LimitExceeded ("… attempted to create resources beyond the current Amazon Web Services account limits. The error
 *   message describes the limit exceeded"): the room check (quotasRefused) reads the target accounts before any write,
 *   but not an administrator account that is no target, and others may create in between (review s47-diff n5). IAM
 *   names the quota, a count of the account's ("Cannot exceed quota for RolesPerAccount: 1000") or a size of what was
 *   sent ("… PolicySize: 6144", above), and the advice follows it (review s48-diff m2).
 */
const createRefused =
  (account: string, what: string) =>
  (error: unknown): never => {
    if (errorName(error) === 'LimitExceededException')
      throw new XstackError(
        'IAM_QUOTA_REACHED',
        `account ${account}: IAM refused to create ${what}: ${(error as Error).message} (${IAM_QUOTAS_DOC}). Nothing after it was written in this account; ${
          /PerAccount\b/.test((error as Error).message)
            ? 'delete what the account no longer needs, or request an increase of the quota for this account in Service Quotas'
            : 'that quota holds what was sent, not the account: where Service Quotas lets it be raised, request the increase for this account and declare it in the org file (iamQuotas); otherwise this is a bug of xstack, which should have kept within it'
        }, then run bootstrap again: it finishes what this run started`,
        { cause: error },
      );
    if (errorName(error) !== 'EntityAlreadyExistsException') throw error;
    throw new XstackError(
      'BOOTSTRAP_CONFLICT',
      `account ${account}: IAM refused to create ${what}, which it holds now though this run read it missing (${(error as Error).message}): another bootstrap of this org or someone else made it in between, or IAM answered a create the SDK sent again after losing the answer to the first. Nothing after it was written in this account; run bootstrap again: it reads the account anew`,
      { cause: error },
    );
  };

/** This org's execution policy pack a policy ARN names (`policy/<prefix>-stackset-execution-<n>` of the account, on no path): its number. */
function ownPackNumber(org: CompiledOrg['org'], account: string): (arn: string) => number | undefined {
  const names = new Names(org.prefix);
  const own = `arn:${org.partition}:iam::${account}:policy/`;
  return (arn) => (arn.startsWith(own) && !arn.slice(own.length).includes('/') ? names.executionPolicyNumber(arn.slice(own.length)) : undefined);
}

/** An execution policy pack of another org (another prefix): in this account, on no path, created by bootstrap (its description). */
async function otherOrgPack(iam: IAMClient, arn: string, own: string): Promise<string | undefined> {
  const name = arn.startsWith(own) ? arn.slice(own.length) : '';
  const prefix = /^([^/]+)-stackset-execution-[1-9]\d*$/.exec(name)?.[1];
  if (prefix === undefined) return undefined;
  // "This element is included in the response to the GetPolicy operation" (Policy.Description,
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_Policy.html).
  const description = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.Description;
  return description === EXECUTION_POLICY_DESCRIPTION ? prefix : undefined;
}

/** Whether a policy document allows every action on every resource, as AdministratorAccess does. */
const grantsEverything = (policy: { Statement?: unknown }): boolean =>
  ([] as Array<{ Effect?: string; Action?: unknown; Resource?: unknown }>).concat((policy.Statement ?? []) as never).some((st) => st.Effect === 'Allow' && ([] as unknown[]).concat(st.Action).includes('*') && ([] as unknown[]).concat(st.Resource).includes('*'));

/**
 * What the execution role holds that this org's bootstrap did not give it, each a `missing` step naming it: every
 * attached managed policy that is not one of this org's packs, and every inline policy (bootstrap writes none on the
 * execution role). A role's permissions are all its policies together: "AWS evaluates all the permissions granted by
 * the policies for at least one Allow" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html),
 * so with any of them the role may do more than the derived policy, and the audit report's execution role reach does
 * not hold in that account. The name is the one the self-managed page tells every target account to use ("The role
 * in each of your target accounts should be named AWSCloudFormationStackSetExecutionRole",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html), whose sample
 * template attaches AdministratorAccess: such a role is found, not made. Inline policies are listed by
 * ListRolePolicies ("Lists the names of the inline policies that are embedded in the specified IAM role",
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRolePolicies.html), which ListAttachedRolePolicies
 * does not show. Nothing is detached or deleted: xstack removes only what it made. Another org's packs (two orgs may
 * share the default role) are said, `ok`.
 */
async function reportPoliciesNotOurs(iam: IAMClient, account: string, compiled: CompiledOrg, attached: ReadonlySet<string>, report: (s: BootstrapStep) => void) {
  const { org } = compiled;
  const role = org.stackSets.executionRoleName;
  const names = new Names(org.prefix);
  const own = `arn:${org.partition}:iam::${account}:policy/`;
  const ownPack = ownPackNumber(org, account);
  const reach = `the role is then not least privilege, and the audit report's execution role reach does not hold in account ${account}`;
  const instead = `or set stackSets.executionRoleName in the org file to a role of xstack's own (bootstrap creates it); xstack never detaches or deletes what it did not make`;
  for (const arn of [...attached].sort()) {
    const name = arn.split('/').pop()!;
    if (ownPack(arn) !== undefined) continue;
    const otherOrg = await otherOrgPack(iam, arn, own);
    if (otherOrg !== undefined) {
      report({ account, what: `managed policy ${name} on ${role}`, status: 'ok', detail: `another org's execution policy (prefix ${otherOrg}) on the role both orgs use: this org's StackSets run with its grants too` });
      continue;
    }
    const what =
      arn === `arn:${org.partition}:iam::aws:policy/AdministratorAccess`
        ? `AWS's AdministratorAccess, every action on every resource (AWS's sample template for this role attaches it): ${reach}`
        : names.executionPolicyNumber(name) !== undefined
          ? `named like this org's execution policies, but not one xstack bootstrap made (on a path, or of another account): it grants what xstack did not derive, so ${reach}`
          : `not one of the policies xstack derives for this org: it grants what xstack did not derive, so ${reach}`;
    report({ account, what: `managed policy ${arn} on ${role}`, status: 'missing', detail: `${what}. Detach it by hand if nothing else needs it (aws iam detach-role-policy --role-name ${role} --policy-arn ${arn}), ${instead}` });
  }
  for (const [name, policy] of [...(await inlinePolicies(iam, role))].sort(([a], [b]) => a.localeCompare(b))) {
    const what = grantsEverything(policy) ? `it allows every action on every resource, as AdministratorAccess does: ${reach}` : `xstack writes no inline policy on the execution role, and this one grants what xstack did not derive, so ${reach}`;
    report({ account, what: `inline policy ${role}/${name}`, status: 'missing', detail: `${what}. Delete it by hand if nothing else needs it (aws iam delete-role-policy --role-name ${role} --policy-name ${name}), ${instead}` });
  }
}

/**
 * What the administration role holds beyond the policies bootstrap writes (this org's inline policy, and an earlier
 * xstack's that ensureAdministrationPolicy deals with): the role's permissions are all its policies together (same
 * page as reportPoliciesNotOurs), and it is the one StackSets uses in every target account.
 * - An inline policy that only assumes roles named as an execution role, in any account (AWS's sample template's
 *   `AssumeRole-AWSCloudFormationStackSetExecutionRole`, or another org's xstack policy on a shared role): `ok`, said.
 *   Such a role only reaches accounts whose execution role trusts this administrator account.
 * - Any other inline policy and every attached managed policy (bootstrap attaches none): `missing`, with the command
 *   that removes it; xstack removes nothing it did not make.
 */
async function reportAdministrationPoliciesNotOurs(iam: IAMClient, admin: string, compiled: CompiledOrg, report: (s: BootstrapStep) => void) {
  const { org } = compiled;
  const role = org.stackSets.administrationRoleName;
  const ours = new Set([new Names(org.prefix).administrationPolicy(), LEGACY_ADMINISTRATION_POLICY]);
  const instead = `or set stackSets.administrationRoleName in the org file to a role of xstack's own (bootstrap creates it); xstack never detaches or deletes what it did not make`;
  for (const p of await attachedPolicies(iam, role)) {
    const arn = p.PolicyArn!;
    const what = arn === `arn:${org.partition}:iam::aws:policy/AdministratorAccess` ? "AWS's AdministratorAccess, every action on every resource" : 'a managed policy bootstrap did not attach';
    report({
      account: admin,
      what: `managed policy ${arn} on ${role}`,
      status: 'missing',
      detail: `${what}: the administration role needs only to assume the execution role in the target accounts, and StackSets acts with all its policies. Detach it by hand if nothing else needs it (aws iam detach-role-policy --role-name ${role} --policy-arn ${arn}), ${instead}`,
    });
  }
  for (const [name, policy] of [...(await inlinePolicies(iam, role))].sort(([a], [b]) => a.localeCompare(b))) {
    if (ours.has(name)) continue;
    // Another org's xstack policy names its own execution role, one name in each of its statements, which xstack writes
    // as AssumeExecutionRoles (or AssumeExecutionRolesInTheOrg); any other policy must name this org's execution role,
    // or AWS's default (review s22-diff D5: a name alone is no proof).
    const names = isOtherOrgPolicyShape(name, policy) ? undefined : new Set([org.stackSets.executionRoleName, DEFAULT_STACKSETS.executionRoleName]);
    if (onlyAssumesRoles(policy, org.partition, names)) {
      report({ account: admin, what: `inline policy ${role}/${name}`, status: 'ok', detail: `left as it is: it only assumes roles named as an execution role (AWS's sample template writes one such, for every account; another org sharing the role writes its own), which reach only accounts whose execution role trusts this account` });
      continue;
    }
    report({
      account: admin,
      what: `inline policy ${role}/${name}`,
      status: 'missing',
      detail: `${grantsEverything(policy) ? 'it allows every action on every resource' : 'it grants more than assuming an execution role'}, and StackSets acts with all the administration role's policies. Delete it by hand if nothing else needs it (aws iam delete-role-policy --role-name ${role} --policy-name ${name}), ${instead}`,
    });
  }
}

/** A policy named and written as another org's xstack administration policy: each statement one of its Sids, naming one role name. */
function isOtherOrgPolicyShape(name: string, policy: { Statement?: unknown }): boolean {
  if (!name.endsWith(`-${ADMINISTRATION_POLICY}`)) return false;
  const statements = ([] as Array<{ Sid?: string; Resource?: unknown }>).concat((policy.Statement ?? []) as never);
  return statements.every((st) => {
    const roleNames = new Set(([] as unknown[]).concat(st.Resource).map((r) => (typeof r === 'string' ? r.slice(r.indexOf(':role/') + 1) : '')));
    return (st.Sid === ADMINISTRATION_SIDS.listed || st.Sid === ADMINISTRATION_SIDS.inTheOrg || st.Sid === ADMINISTRATION_SIDS.outsideTheOrg) && roleNames.size === 1;
  });
}

/**
 * Whether every statement of a policy is an Allow of sts:AssumeRole alone on roles by name (no path, no wildcard in the
 * name, any account), of `names` where given, with no NotAction/NotResource.
 */
function onlyAssumesRoles(policy: { Statement?: unknown }, partition: string, names?: ReadonlySet<string>): boolean {
  const statements = ([] as Array<Record<string, unknown>>).concat((policy.Statement ?? []) as never);
  const role = new RegExp(`^arn:(?:${partition}|\\*):iam::(?:\\d{12}|\\*):role/([\\w+=,.@-]+)$`);
  const named = (r: unknown) => {
    const m = typeof r === 'string' ? role.exec(r) : null;
    return m !== null && (names === undefined || names.has(m[1]));
  };
  return (
    statements.length > 0 &&
    statements.every(
      (st) =>
        st.Effect === 'Allow' &&
        st.NotAction === undefined &&
        st.NotResource === undefined &&
        ([] as unknown[]).concat(st.Action).every((a) => typeof a === 'string' && a.toLowerCase() === 'sts:assumerole') &&
        ([] as unknown[]).concat(st.Resource).every(named),
    )
  );
}

/** A policy document as IAM gives it back (URL-encoded JSON), as its statements: one statement or a list of them. */
function statementsOf<S = IamStatement>(text: string): S[] {
  return ([] as S[]).concat((JSON.parse(decodeURIComponent(text)) as { Statement?: S | S[] }).Statement ?? []);
}

/** Each (effect, action, resource, condition) a statement grants or denies, as one string. */
const grantsOf = (s: IamStatement): string[] => {
  const condition = JSON.stringify((s as { Condition?: unknown }).Condition ?? null);
  return ([] as string[]).concat(s.Action).flatMap((a) => ([] as string[]).concat(s.Resource).map((r) => `${s.Effect} ${a} ${r} ${condition}`));
};

/**
 * The order to write the packs in (indexes into `wanted`), given what each attached pack grants now (`current`, by the
 * same index; empty when new or unattached): a pack that gains a statement another pack loses is written before that
 * one, so that a run that stops between two packs (an SCP refusal, a ConcurrentModification from a second operator,
 * Ctrl-C) leaves every statement granted, in its old pack or its new one, or both, never in neither; the same for a
 * Deny. Otherwise, by number. A cycle (statements moving both ways between two packs) cannot be ordered so: taken by
 * number, as before.
 */
export function packWriteOrder(current: ReadonlyArray<readonly IamStatement[]>, wanted: ReadonlyArray<readonly IamStatement[]>): number[] {
  const now = wanted.map((_, i) => new Set((current[i] ?? []).flatMap(grantsOf)));
  const next = wanted.map((pack) => new Set(pack.flatMap(grantsOf)));
  // first[a]: the packs to write before pack a, which gain what a loses.
  const first = wanted.map((_, a) => {
    const lost = [...now[a]].filter((g) => !next[a].has(g));
    return new Set(wanted.map((__, b) => b).filter((b) => b !== a && lost.some((g) => next[b].has(g) && !now[b].has(g))));
  });
  const order: number[] = [];
  const done = new Set<number>();
  while (order.length < wanted.length) {
    const ready = wanted.map((_, i) => i).filter((i) => !done.has(i));
    const i = ready.find((a) => [...first[a]].every((b) => done.has(b))) ?? ready[0];
    order.push(i);
    done.add(i);
  }
  return order;
}

/** The statements of this org's packs attached to the execution role in the account now (none when the role is missing). */
export async function attachedPackStatements(iam: IAMClient, account: string, compiled: CompiledOrg): Promise<IamStatement[]> {
  const { org } = compiled;
  const role = org.stackSets.executionRoleName;
  if (!(await roleExists(iam, role))) return [];
  const ownPack = ownPackNumber(org, account);
  const out: IamStatement[] = [];
  for (const p of await attachedPolicies(iam, role)) {
    const arn = p.PolicyArn!;
    if (ownPack(arn) === undefined) continue;
    const version = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.DefaultVersionId;
    if (!version) continue;
    const text = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }))).PolicyVersion?.Document;
    if (!text) continue;
    out.push(...statementsOf(text));
  }
  return out;
}

/**
 * What of the policy granted now (`current`) the one to write (`wanted`) drops: each Allow statement's resources that no
 * Allow of `wanted` names, with that statement's actions, as `Kept<Sid>`.
 */
export function keptStatements(current: readonly IamStatement[], wanted: readonly IamStatement[]): IamStatement[] {
  // A resource is still granted when an Allow of `wanted` names it, or a shape of it (IAM's `*` and `?`), with every
  // action the current statement gives it.
  // A conditioned Allow covers only a statement with the same condition: it grants less than an unconditioned one.
  const conditionOf = (s: IamStatement) => JSON.stringify(s.Condition ?? null);
  const allows = wanted
    .filter((s) => s.Effect === 'Allow')
    .map((s) => ({ actions: new Set(([] as string[]).concat(s.Action)), resources: ([] as string[]).concat(s.Resource).map((r) => globRegExp(r)), condition: conditionOf(s) }));
  const covered = (actions: readonly string[], resource: string, condition: string) =>
    allows.some((a) => (a.condition === 'null' || a.condition === condition) && actions.every((x) => a.actions.has(x)) && a.resources.some((r) => r.test(resource)));
  const sids = new Set<string>();
  // Sids are unique in a policy; one kept again by a later bootstrap keeps its name.
  const unique = (sid: string) => {
    let n = 1;
    while (sids.has(n === 1 ? sid : `${sid}${n}`)) n++;
    const out = n === 1 ? sid : `${sid}${n}`;
    sids.add(out);
    return out;
  };
  return current
    .filter((s) => s.Effect === 'Allow')
    .map((s) => {
      const actions = ([] as string[]).concat(s.Action);
      // A statement kept keeps its condition (the boundary a role is created with): never broader than it was.
      return { Sid: `Kept${(s.Sid ?? '').replace(/^(Kept)+/, '')}`, Effect: 'Allow' as const, Action: actions, Resource: ([] as string[]).concat(s.Resource).filter((r) => !covered(actions, r, conditionOf(s))), ...(s.Condition ? { Condition: s.Condition } : {}) };
    })
    .filter((s) => s.Resource.length > 0)
    .map((s) => ({ ...s, Sid: unique(s.Sid) }));
}

/**
 * Every item of an IAM list, page by page: "IAM might return fewer than the MaxItems number of results even when
 * there are more results available. We recommend that you check IsTruncated after every call to ensure that you
 * receive all your results" (IsTruncated, in every IAM List* response, e.g.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html). The SDK's paginators
 * follow Marker while IsTruncated.
 */
async function everyPage<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[]): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...items(page));
  return out;
}

const attachedPolicies = (iam: IAMClient, role: string) => everyPage(paginateListAttachedRolePolicies({ client: iam }, { RoleName: role }), (page) => page.AttachedPolicies ?? []);

async function roleExists(iam: IAMClient, role: string): Promise<boolean> {
  try {
    await iam.send(new GetRoleCommand({ RoleName: role }));
    return true;
  } catch (error) {
    // Only NoSuchEntity says there is no role (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html,
    // Errors); a refused or throttled read is not one, and read as one it dropped the names kept while instances are
    // not CURRENT (review s45-bootstrap B4).
    if (isNoSuchEntity(error)) return false;
    throw error;
  }
}

/**
 * Read-only: what a SERVICE_MANAGED rollout needs from Organizations, each missing step named. Returns the management
 * account's id when it could be read, and the target accounts outside the organization.
 */
async function checkServiceManaged(compiled: CompiledOrg, aws: Aws, caller: string, report: (s: BootstrapStep) => void, emulator: boolean): Promise<{ management?: string; outside: string[] }> {
  const { org } = compiled;
  const organizations = aws.organizations();
  const read = await new OrganizationReads(() => organizations).managementAccount();
  const management = 'id' in read ? read.id : undefined;
  if (!('id' in read)) report({ account: caller, what: 'organization readable (organizations:DescribeOrganization)', status: 'missing', detail: organizationUnreadable(read, caller) });
  // "CloudFormation doesn't deploy stack instances to the organization management account"
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html
  const named = org.accounts.find((a) => a.id === management);
  if (named) report({ account: management!, what: 'management account not targeted', status: 'missing', detail: `${managementAccountText(org.file, named)}: ${MANAGEMENT_ACCOUNT_FIX}` });
  else if (management) report({ account: management, what: 'management account not targeted', status: 'ok' });
  // "With only consolidated billing features enabled, you can't create a StackSet with service-managed permissions"
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html):
  // trusted access cannot be turned on before all features are (review s34-service-managed m7).
  if ('featureSet' in read && read.featureSet !== undefined) {
    report(
      read.featureSet === 'ALL'
        ? { account: read.id, what: 'all features of AWS Organizations', status: 'ok' }
        : { account: read.id, what: 'all features of AWS Organizations', status: 'missing', detail: `the organization has feature set ${read.featureSet}: enable all features first (aws organizations enable-all-features in the management account: every invited member account accepts its handshake, then the management account finalizes it), then trusted access for StackSets` },
    );
  }
  // A target account outside the organization gets no instance through the root, and nothing says so: AWS targets
  // "only accounts that are both specified in the Accounts property and belong to the specified OUs"
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html, INTERSECTION), so
  // each is named here (review s34-service-managed m5); a list that cannot be read is a missing step of its own.
  const outside = await accountsOutsideTheOrg(aws, targetAccounts(compiled).filter((a) => a !== management));
  if ('outside' in outside) {
    for (const id of outside.outside) {
      const account = org.accounts.find((a) => a.id === id);
      report({ account: id, what: 'target account in the organization', status: 'missing', detail: `${org.file}: account ${account?.name ?? id} (${id}) is not a member of this organization (Organizations ListAccounts does not list it): SERVICE_MANAGED StackSets reach member accounts only, and deploy would create nothing there; check its id, or invite it into the organization` });
    }
  } else {
    report({ account: caller, what: 'target account in the organization', status: 'missing', detail: `not checked (organizations:ListAccounts, ${outside.unknown}): allow it to this identity, or run from the management account or a delegated administrator; an account outside the organization would get no instance, silently` });
  }
  // CloudFormation's own record first: it "can be called either by the management account or the delegated
  // administrator by using the CallAs parameter"
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeOrganizationsAccess.html).
  // An emulator that lacks the action (moto) answers each try the same, and any error reads Organizations' list
  // instead: asked once there (clients.ts oneAttempt).
  const callAs = org.stackSets.callAs;
  const stackSetsAccess = await (emulator ? aws.oneAttempt() : aws)
    .cloudFormation()
    .send(new DescribeOrganizationsAccessCommand({ CallAs: callAs }))
    .then((out) => out.Status ?? 'UNKNOWN', (error: Error) => error);
  // Both lists come in pages ("If more results exist than the specified MaxResults value, a token is included"):
  // https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAWSServiceAccessForOrganization.html
  const access = await allPages(paginateListAWSServiceAccessForOrganization({ client: organizations }, {}), (page) => page.EnabledServicePrincipals ?? []);
  const listed = access instanceof Error ? access : access.some((p) => p.ServicePrincipal === STACKSETS_SERVICE_PRINCIPAL);
  report(trustedAccessStep(management ?? caller, callAs, stackSetsAccess, listed));
  // deploy creates every instance through the organization root (org-reads.ts), read with ListRoots, which answers
  // the management account and delegated administrators only (API_ListRoots.html).
  const root = await new OrganizationReads(() => organizations).rootId().catch((error: Error) => error);
  report(
    !(root instanceof Error)
      ? { account: caller, what: 'organization root readable (organizations:ListRoots)', status: 'ok', detail: root }
      : {
          account: caller,
          what: 'organization root readable (organizations:ListRoots)',
          status: 'missing',
          detail: `deploy creates instances through the organization root and could not read it (${root.name}): run from the management account or a delegated administrator, allowed organizations:ListRoots, ListParents and DescribeAccount`,
        },
  );
  if (org.stackSets.callAs === 'DELEGATED_ADMIN') report(await delegatedAdministratorStep(organizations, caller, management));
  else if (management && caller !== management) {
    report({ account: caller, what: 'caller is the management account', status: 'missing', detail: `callAs SELF runs from the management account (${management}); this is ${caller}: run there, or set stackSets.callAs: DELEGATED_ADMIN` });
  }
  return { management, outside: 'outside' in outside ? outside.outside : [] };
}

/**
 * callAs DELEGATED_ADMIN: whether the caller is registered as StackSets' delegated administrator. Three ways it is not,
 * each its own fix (review s34-service-managed M1, m4):
 * - the caller is the management account, which is never one: RegisterDelegatedAdministrator takes "The account ID
 *   number of the member account" (https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html),
 *   and "If you are signed in to the management account, specify SELF" (CallAs, API_ListStackSets.html);
 * - the list cannot be read: StackSets needs it too, "Make sure your delegated administrators have
 *   organizations:ListDelegatedAdministrators permissions to avoid any potential errors"
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html), and without
 *   it answers "Account used is not a delegated administrator" (hashicorp/terraform-provider-aws#37069);
 * - the list does not name the caller: register it.
 */
export async function delegatedAdministratorStep(organizations: ReturnType<Aws['organizations']>, caller: string, management: string | undefined): Promise<BootstrapStep> {
  const what = 'delegated administrator for StackSets';
  if (caller === management) {
    return { account: caller, what, status: 'missing', detail: `callAs DELEGATED_ADMIN runs from a registered member account, and this is the management account (${caller}), which cannot be one: set stackSets.callAs: SELF, or run from the delegated administrator` };
  }
  const admins = await allPages(paginateListDelegatedAdministrators({ client: organizations }, { ServicePrincipal: STACKSETS_SERVICE_PRINCIPAL }), (page) => page.DelegatedAdministrators ?? []);
  const register = `register account ${caller} as a delegated administrator in the management account: aws organizations register-delegated-administrator --service-principal ${STACKSETS_SERVICE_PRINCIPAL} --account-id ${caller}`;
  if (admins instanceof Error) {
    // IAM's refusal names the action ("is not authorized to perform: organizations:ListDelegatedAdministrators");
    // Organizations' own, to an account that is no delegated administrator of any service, does not ("You don't have
    // permissions to access this resource"; the action "can be called only from the organization's management account
    // or by a member account that is a delegated administrator",
    // https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedAdministrators.html).
    const byIam = /not authorized to perform: organizations:ListDelegatedAdministrators/.test(admins.message ?? '');
    const reason = `organizations:ListDelegatedAdministrators: ${admins.name}: ${admins.message}`;
    return {
      account: caller,
      what,
      status: 'missing',
      detail: byIam
        ? `could not read the delegated administrators (${reason}): allow this identity organizations:ListDelegatedAdministrators, which StackSets needs too (without it StackSets answers "Account used is not a delegated administrator" whether or not account ${caller} is one)`
        : `could not read the delegated administrators (${reason}), which Organizations answers only to its management account and delegated administrators: ${register}; if it is registered, allow this identity organizations:ListDelegatedAdministrators, which StackSets needs too`,
    };
  }
  if (admins.some((a) => a.Id === caller)) return { account: caller, what, status: 'ok' };
  return { account: caller, what, status: 'missing', detail: register };
}

/**
 * The trusted-access step from CloudFormation's record of it (DescribeOrganizationsAccess: ENABLED, DISABLED or
 * DISABLED_PERMANENTLY, or the error reading it) and from Organizations' list of enabled service principals (whether
 * StackSets' is there, or the error reading it). CloudFormation's is the one that counts: AWS "strongly recommend[s]
 * that you enable trusted access by using the AWS CloudFormation Stacksets console. This enables AWS CloudFormation
 * Stacksets to perform required setup tasks"
 * (https://docs.aws.amazon.com/organizations/latest/userguide/services-that-can-integrate-cloudformation.html), so
 * Organizations listing StackSets' principal alone (enable-aws-service-access) is not enough; Organizations' list is
 * read only where CloudFormation's record cannot be (review s27-bootstrap M1).
 */
export function trustedAccessStep(account: string, callAs: 'SELF' | 'DELEGATED_ADMIN', stackSets: string | Error, organizationsLists: boolean | Error): BootstrapStep {
  const what = 'trusted access for StackSets';
  // ActivateOrganizationsAccess takes no CallAs: it is the management account's
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ActivateOrganizationsAccess.html).
  const activate = `'aws cloudformation activate-organizations-access' in the management account${callAs === 'DELEGATED_ADMIN' ? ' (a delegated administrator cannot)' : ''}, or its CloudFormation console: StackSets, "Activate trusted access"`;
  if (typeof stackSets === 'string') {
    if (stackSets === 'ENABLED') return { account, what, status: 'ok' };
    const onlyOrganizations = organizationsLists === true ? ", though Organizations lists StackSets' service principal as enabled: it was enabled there, which skips CloudFormation's own setup" : '';
    return { account, what, status: 'missing', detail: `CloudFormation reports organization access ${stackSets}${onlyOrganizations}; activate it with ${activate}` };
  }
  const unread = `CloudFormation's DescribeOrganizationsAccess could not be read (${stackSets.name}), so Organizations' list was read instead`;
  if (organizationsLists === true) return { account, what, status: 'ok', detail: `${unread}: it lists StackSets' service principal (whether CloudFormation's own setup ran is not known)` };
  if (organizationsLists instanceof Error) {
    return { account, what, status: 'missing', detail: `${unread}, and could not be either (${organizationsLists.name}); run bootstrap from the management account, or check there that trusted access with AWS Organizations is activated: ${activate}` };
  }
  return { account, what, status: 'missing', detail: `${unread}; activate trusted access with AWS Organizations in the management account: ${activate}` };
}

/**
 * Why the organization could not be read (OrganizationReads.managementAccount's `unknown`), as the step to take:
 * DescribeOrganization "can be called from any account in the organization"
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html), so the caller is
 * either in no organization or not allowed the call.
 */
function organizationUnreadable(read: { unknown: string }, caller: string): string {
  if (read.unknown.startsWith('AWSOrganizationsNotInUseException')) {
    return `account ${caller} is in no organization (${read.unknown}): SERVICE_MANAGED StackSets deploy to the accounts of an AWS Organizations organization with all features; run bootstrap in that organization's management account or delegated administrator, or set stackSets.permissionModel: SELF_MANAGED`;
  }
  return `bootstrap reads the organization's management account (where StackSets never deploy, and where callAs SELF runs) and could not (${read.unknown}): allow organizations:DescribeOrganization to the identity running bootstrap, then run it again; the management account was not checked`;
}

/** Every page's items, or the error a page failed with (a caller that may not read the list is told so, not thrown at). */
const allPages = <P, T>(pages: AsyncIterable<P>, items: (page: P) => T[]): Promise<T[] | Error> => everyPage(pages, items).catch((error: unknown) => error as Error);
