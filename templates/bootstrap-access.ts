/**
 * Setup, SELF_MANAGED: the role `xstack bootstrap --access-role` reaches each target account through, for an
 * administrator account that is not the management account (review s32-walkthrough M2). Bootstrap's default,
 * OrganizationAccountAccessRole, "trusts the management account" and has administrator permissions
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html, RoleName), and AWS advises
 * to use that account "for tasks that must be performed only by that account"
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_best-practices_mgmt-acct.html). This role trusts
 * the identities that run bootstrap in the administrator account instead, and may write only what bootstrap writes in
 * a target account: the StackSet execution role and its managed policies (this org's packs), and the reader role and
 * its inline policy (src/deploy/bootstrap.ts; test/setup-templates.test.ts checks every call bootstrap makes through
 * it against this policy). Deployed once by the user, not by xstack (it is what lets xstack in): from the management
 * account as a SERVICE_MANAGED StackSet with automatic deployment to the org's OUs, so each account joining them gets
 * it (README, "Setup templates"). One template for every account: each ARN names the account the
 * stack runs in (`${AWS::AccountId}`), and its two parameters are the user's choice, not per-account values.
 *
 * The execution role may create the templates' roles, so a role that writes its policies can hand any permission to
 * whoever the administration role serves: in effect administrator of the account, as the default role is; what this
 * one takes away is every other write (no other role, user or policy, no attaching AWS's managed policies).
 */
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import { CARRIED_SOURCE_IDENTITY_ONLY, STS_ASSUME_ROLE, STS_SET_SOURCE_IDENTITY } from '../src/iam/grants';
import { policyDocument, rolesByArn, statement, type Statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface BootstrapAccessInput {
  names: Names;
  /** The StackSet execution role bootstrap makes in each target account (stackSets.executionRoleName). */
  executionRoleName: string;
  /** The org file declares tags, which bootstrap gives its roles and policies (bootstrap-tags.ts). */
  tags: boolean;
}

/** An IAM resource of the account the stack runs in. */
const here = (resource: string) => arn(`iam::\${AWS::AccountId}:${resource}`);

/** The template's parameters: the administrator account, and the roles there that run bootstrap. */
export const SETUP_PARAMETERS = {
  AdministratorAccountId: {
    type: 'String' as const,
    description: 'The account xstack bootstrap and deploy run in (the StackSets administrator account)',
    allowedPattern: '^\\d{12}$',
  },
  TrustedRoleArns: {
    type: 'CommaDelimitedList' as const,
    description: 'The IAM roles of that account that run xstack (their ARNs, path included), comma-separated',
  },
};

/** Why a setup role reads IAM's account summary on "*": bootstrap checks the account's IAM quotas (account-quotas.ts). */
export const READ_QUOTAS_REASON =
  "iam:GetAccountSummary takes no resource type, so \"*\" (Service Authorization Reference, list_awsidentityandaccessmanagementiam.html): bootstrap reads the account's IAM quotas the org file declares, and the room they leave for what the org makes";

/**
 * Near a quota, which of the org's roles, policies and instance profiles exist already in the account (account-quotas.ts
 * checkRoom): every one of them is named <prefix>-… (naming.ts), at path /. Reads only; another org whose prefix begins
 * with this one's and a hyphen is read too.
 */
export const readOrgEntities = (names: Names): Statement =>
  statement({
    sid: 'ReadOrgEntities',
    actions: ['iam:GetRole', 'iam:GetPolicy', 'iam:GetInstanceProfile'],
    resources: [here(`role/${names.prefix}-*`), here(`policy/${names.prefix}-*`), here(`instance-profile/${names.prefix}-*`)],
  });

/**
 * The trust: the administrator account's roles that run xstack, named by aws:PrincipalArn with the account's root as
 * principal (src/iam/policy.ts rolesByArn: a role recreated under its name still matches); and the source identity such
 * a caller's session carries, as bootstrap's own roles take it (src/deploy/bootstrap.ts executionTrust, which says why
 * that statement names no role).
 */
export const setupTrust = () =>
  policyDocument([
    statement({ sid: 'TrustXstackCallers', actions: STS_ASSUME_ROLE.actions, ...rolesByArn(arn('iam::${AdministratorAccountId}:root'), ref('TrustedRoleArns')) }),
    statement({ sid: 'CarryCallersSourceIdentity', principal: { AWS: arn('iam::${AdministratorAccountId}:root') }, actions: STS_SET_SOURCE_IDENTITY.actions, conditions: { ...CARRIED_SOURCE_IDENTITY_ONLY } }),
  ]);

export function bootstrapAccess({ names, executionRoleName, tags }: BootstrapAccessInput): TemplateDefinition {
  const [execution, reader] = [executionRoleName, names.outputReaderRole()];
  const roles = [here(`role/${execution}`), here(`role/${reader}`)];
  // Bootstrap's managed policies on the execution role, <prefix>-stackset-execution-<n> (naming.ts executionPolicy).
  const packs = here(`policy/${names.executionPolicy(0).slice(0, -1)}*`);
  // Tags on create need the tag action too, and "The iam:TagRole action requires that you also include the
  // iam:ListRoleTags action" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags_roles.html): only with tags.
  const statements: Statement[] = [
    // GetRole at any path as well: bootstrap reads a role by name and says where a role of that name is (bootstrap.ts
    // ensureRole), and IAM authorizes the read against the role's real ARN, path included. And this role itself: a
    // refused call reads its setup tag (src/setup.ts SETUP_DIGEST_TAG) to say whether this file is the one deployed.
    statement({ sid: 'ReadBootstrapRoles', actions: ['iam:GetRole'], resources: [...roles, here(`role/*/${execution}`), here(`role/*/${reader}`), here(`role/${names.bootstrapAccessRole()}`)] }),
    statement({ sid: 'ReadBootstrapRolePolicies', actions: ['iam:GetRolePolicy'], resources: roles }),
    // What else is on the execution role, reported, never removed (bootstrap.ts reportPoliciesNotOurs).
    statement({ sid: 'ReadExecutionRolePolicies', actions: ['iam:ListRolePolicies', 'iam:ListAttachedRolePolicies'], resources: [here(`role/${execution}`)] }),
    statement({ sid: 'WriteBootstrapRoles', actions: ['iam:CreateRole', 'iam:UpdateAssumeRolePolicy', ...(tags ? ['iam:TagRole', 'iam:ListRoleTags'] : [])], resources: roles }),
    // The reader role's one inline policy (reader-policy.ts); bootstrap writes none on the execution role.
    statement({ sid: 'WriteReaderPolicy', actions: ['iam:PutRolePolicy'], resources: [here(`role/${reader}`)] }),
    // Only this org's packs attach to or detach from the execution role: iam:PolicyARN is a condition key of both
    // actions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html),
    // so no AWS managed policy (AdministratorAccess) or other policy can be attached with this role.
    statement({ sid: 'AttachExecutionPolicies', actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'], resources: [here(`role/${execution}`)], conditions: { ArnLike: { 'iam:PolicyARN': packs } } }),
    statement({ sid: 'WriteExecutionPolicies', actions: ['iam:CreatePolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', ...(tags ? ['iam:TagPolicy', 'iam:ListPolicyTags'] : [])], resources: [packs] }),
    // Another org's packs on a shared execution role are told by their description (bootstrap.ts otherOrgPack).
    statement({ sid: 'ReadExecutionPolicies', actions: ['iam:GetPolicy'], resources: [here('policy/*-stackset-execution-*')] }),
    // The account's quotas and its use of them (account-quotas.ts); GetAccountSummary takes no resource type: "*" is its
    // only resource (the same page).
    statement({ sid: 'ReadQuotas', actions: ['iam:GetAccountSummary'], resources: ['*'] }),
    readOrgEntities(names),
  ];
  return {
    description: `xstack setup (SELF_MANAGED): the role xstack bootstrap --access-role ${names.bootstrapAccessRole()} reaches this account through; deploy once, from the management account or the StackSets delegated administrator, to every target account`,
    parameters: SETUP_PARAMETERS,
    resources: role('BootstrapAccessRole', {
      name: names.bootstrapAccessRole(),
      description: `xstack bootstrap's way into this account: writes the StackSet execution role ${executionRoleName}, this org's execution policies and the reader role, nothing else`,
      trust: setupTrust(),
      policies: [{ name: 'writes', document: policyDocument(statements) }],
      exceptions: [{ rule: 'XS002', statement: 'ReadQuotas', reason: READ_QUOTAS_REASON }],
    }),
    outputs: { BootstrapAccessRoleArn: { description: 'The role bootstrap assumes here (--access-role takes its name)', value: getAtt('BootstrapAccessRole', 'Arn') } },
  };
}
