/**
 * Each account the org file names as a home of developers' or maintainers' roles (access.developers.assumedBy,
 * maintainers): the caller's side of their path into the source accounts. IAM checks both sides of a cross-account
 * AssumeRole ("the administrator of the trusting account ... and the administrator of the trusted account must grant
 * the user permission to switch to the role": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html),
 * and the source accounts' roles (templates/access-roles.ts) are only the trusting side. This stage makes the trusted
 * side a customer managed policy, `<prefix>-assume-developer` (and `-assume-maintainer`), that an IAM Identity Center
 * permission set takes by name ("You must have an IAM policy that matches the name and path in each AWS account where
 * you want to deploy your permission set",
 * https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CustomerManagedPolicyReference.html), or an
 * administrator attaches to the roles `roleNames` names: xstack attaches it to nothing, the roles being the org's own
 * (review s27-access M3). It grants what the people roles' trusts admit: sts:AssumeRole on the role of each source
 * account, and sts:SetSourceIdentity there, which the chained session needs on both sides and the trust admits for a
 * source identity the session already carries (src/iam/grants.ts STS_ASSUME_ROLE_CHAINED).
 */
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import { arn } from '../src/cfn/intrinsics';
import type { TemplateDefinition } from '../src/cfn/template';
import { STS_ASSUME_ROLE, STS_SET_SOURCE_IDENTITY, STS_TAG_SESSION } from '../src/iam/grants';
import { policyDocument, statement } from '../src/iam/policy';
import { LIMITS } from '../src/limits';
import type { Names } from '../src/naming';
import type { RoleSource } from '../src/org/model';
import { sourceArns } from './access-roles';

export interface AccessCallersInput {
  names: Names;
  partition: string;
  /** The source accounts, each with a developer role and, where the org names maintainers, a maintainer role. */
  sourceAccountIds: readonly string[];
  /** The organization's id, where the org file gives it: past a managed policy's size, the roles are named by it. */
  organizationId?: string;
  /**
   * The policies to make, one for each kind of role, with the condition name (AccountSwitch) of the accounts it is made
   * in, none where all the targets need it; and the role sources of that kind whose sessions carry transitive session
   * tags (transitiveTagKeys) with their accounts' ids: sts:TagSession too, for their roles only.
   */
  policies: ReadonlyArray<{ role: CallerRole; condition?: string; tagged: ReadonlyArray<{ source: RoleSource; accountId: string }> }>;
}

export type CallerRole = 'developer' | 'maintainer';

/** A policy's logical id: the proof takes it as attached to the role sources of its kind (src/audit/grants.ts callerPolicyOf). */
export const callerPolicyId = (role: CallerRole) => `Assume${role === 'developer' ? 'Developer' : 'Maintainer'}Policy`;

/** The kind of role a logical id of this template stands for, or undefined. */
export const callerPolicyOf = (logicalId: string): CallerRole | undefined => (['developer', 'maintainer'] as const).find((role) => callerPolicyId(role) === logicalId);

/**
 * Whether the policy letting a role assume `roleName` in each source account names the role in any account of the
 * organization instead of each by its ARN: past 90 % of IAM's 6,144 characters for a managed policy
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), so that it does not grow with the
 * source accounts. `statements` name the roles (here up to three, with sts:TagSession; the CI role's policy one,
 * templates/ci-identity.ts), each ARN quoted, with a comma between: what the document takes, near enough. The compile
 * refuses it without the organization's id (src/stages/plan.ts).
 */
export function namedByOrganization(roleName: string, { partition, sourceAccountIds }: Pick<AccessCallersInput, 'partition' | 'sourceAccountIds'>, statements = 3): { byOrganization: boolean; chars: number } {
  const chars = statements * sourceAccountIds.reduce((n, id) => n + `arn:${partition}:iam::${id}:role/${roleName}`.length + 3, 0) + 500;
  return { byOrganization: chars > LIMITS.managedPolicyChars * 0.9, chars };
}

/**
 * The policy letting a role assume `roleName` in each source account: each role by its ARN, or, past the size
 * (namedByOrganization), the role's name in any account of the organization, held there by aws:ResourceOrgID, which
 * STS requests carry (the administration policy relies on the same: src/deploy/bootstrap.ts administrationPolicy).
 */
export function assumePolicyDocument(roleName: string, input: Pick<AccessCallersInput, 'partition' | 'sourceAccountIds' | 'organizationId'>, tagged: AccessCallersInput['policies'][number]['tagged'] = []) {
  const { byOrganization } = namedByOrganization(roleName, input);
  if (byOrganization && !input.organizationId) throw new Error(`internal: ${roleName} named by organization without its id`);
  const resources = byOrganization ? [arn(`iam::*:role/${roleName}`)] : input.sourceAccountIds.map((id) => arn(`iam::${id}:role/${roleName}`));
  return policyDocument([
    statement({ sid: 'AssumeRole', actions: STS_ASSUME_ROLE.actions, resources, ...(byOrganization ? { conditions: { StringEquals: { 'aws:ResourceOrgID': input.organizationId! } } } : {}) }),
    // The chained session's source identity needs sts:SetSourceIdentity on both sides (grants.ts STS_ASSUME_ROLE_CHAINED).
    // The role's trust admits only one the session already carries (templates/access-roles.ts CarrySourceIdentity);
    // the same condition here would decide nothing the trust does not, and the proof keeps no condition that decides
    // nothing (test/condition-coverage.test.ts).
    // Named by organization, this statement and CarrySessionTags carry no aws:ResourceOrgID (review s39-conditions m3):
    // both are permission-only actions STS checks inside the AssumeRole, which that condition already holds to the
    // organization, and no AWS page says a permission-only action's request context holds the resource's keys (the
    // global condition keys page lists where aws:ResourceOrgID is absent by service and API: neither is named, nor is it
    // said present). Absent, StringEquals would refuse every chained session that carries a source identity or tags.
    statement({ sid: 'CarrySourceIdentity', actions: STS_SET_SOURCE_IDENTITY.actions, resources }),
    // The transitive session tags of the sources whose keys the org file names, for their roles only (one name for every
    // source of the kind: a permission set references one policy name in every account it is assigned in, review
    // s28-callers M2). The trust holds the keys (templates/access-roles.ts CarrySessionTags) and these roles too, so the
    // condition repeats it (test/condition-coverage.test.ts REDUNDANT).
    ...(tagged.length > 0
      ? [
          statement({
            sid: 'CarrySessionTags',
            actions: STS_TAG_SESSION.actions,
            resources,
            conditions: { ArnLike: { 'aws:PrincipalArn': tagged.flatMap(({ source, accountId }) => sourceArns(source, accountId).admitted) } },
          }),
        ]
      : []),
  ]);
}

export function accessCallers(input: AccessCallersInput): TemplateDefinition {
  const { names } = input;
  const roleNameOf = (role: CallerRole) => (role === 'developer' ? names.developerRole() : names.maintainerRole());
  const policy = ({ role, condition, tagged }: AccessCallersInput['policies'][number]) => {
    const resource = new ManagedPolicy({
      ManagedPolicyName: names.assumePolicy(role),
      // The Description stays as it is: IAM replaces a managed policy whose description changes, and a replacement of
      // this named policy would fail on its own name (src/deploy/replacements.ts).
      Description: `Lets a ${role}'s role assume ${roleNameOf(role)} in the source accounts (xstack access-callers; attach it to the permission set or role)`,
      PolicyDocument: assumePolicyDocument(roleNameOf(role), input, tagged),
    });
    if (condition) resource.Condition = condition;
    return [callerPolicyId(role), resource] as const;
  };
  return {
    description: "xstack access-callers: the caller's side of the developers' and maintainers' path into the source accounts, as managed policies to attach",
    parameters: {},
    resources: Object.fromEntries(input.policies.map(policy)),
    outputs: {},
  };
}
