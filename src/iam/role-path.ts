/**
 * Roles the org file names but xstack does not create (deploymentTargets.instanceRoles, keyAdministratorRoles), written
 * as they follow `role/` in their ARN: `name`, or `path/name` for a role made with an IAM path
 * (`service-role/app-server` for the role at path `/service-role/` named `app-server`).
 *
 * - A role's ARN carries its path: "arn:${Partition}:iam::123456789012:role/application_abc/component_xyz/S3Access"
 *   (IAM identifiers, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns), and
 *   IAM authorizes an action on a role against that ARN (resource type `role`, `role/${RoleNameWithPath}`,
 *   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 *   `role/app-server` for that role names a principal that does not exist, which a key policy may not: "The principals
 *   in the key policy must exist and be visible to KMS" (CreateKey `Policy`,
 *   https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), so CreateKey fails with
 *   MalformedPolicyDocumentException. A policy naming the role as principal or resource uses `role/<path>/<name>`.
 * - Where CloudFormation wants the role itself it takes the name alone: AWS::IAM::ManagedPolicy `Roles`, "The name
 *   (friendly name, not ARN) of the role to attach the policy to"
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-managedpolicy.html), as
 *   AWS::IAM::InstanceProfile `Roles` takes "The name of the role to associate with the instance profile"
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-instanceprofile.html).
 *   `roleNameOf` gives it.
 * - Limits, from CreateRole (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html): RoleName 1 to 64
 *   characters of [\w+=,.@-]; Path 1 to 512 characters, "/" alone or beginning and ending with "/", of ASCII "!" to "~"
 *   (pattern (\u002F)|(\u002F[\u0021-\u007E]+\u002F)). Role names are unique in an account whatever their path, and
 *   not by case (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names).
 */
import type { Org } from '../org/model';

const NAME_MAX = 64;
const PATH_MAX = 512;
const NAME_CHARS = /^[\w+=,.@-]+$/;
/** With `*` and `?`, the wildcards ArnLike reads (keyAdministratorRoles only). */
const NAME_PATTERN_CHARS = /^[\w+=,.@*?-]+$/;
const PATH_CHARS = /^[\x21-\x7e]+$/;

/** A keyAdministratorRoles entry with `*` or `?`: it names no one role, so nothing reads it as one (GetRole). */
export const isRolePattern = (role: string): boolean => /[*?]/.test(role);

/** The role's name: what CloudFormation's `Roles` properties and IAM's RoleName parameters take. */
export const roleNameOf = (role: string): string => role.slice(role.lastIndexOf('/') + 1);

/** The role's path as IAM's API writes it: `/` alone, or `/service-role/`. */
export const rolePathOf = (role: string): string => (role.includes('/') ? `/${role.slice(0, role.lastIndexOf('/'))}/` : '/');

export const EXISTING_ROLE_EXPECTED = 'an existing IAM role as it follows role/ in its ARN: its name (up to 64 of letters, digits and +=,.@_-), after its path if it has one, e.g. service-role/app-server';
export const KEY_ADMINISTRATOR_EXPECTED = `${EXISTING_ROLE_EXPECTED}; * and ? match as in ArnLike, e.g. aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*`;

/** The shape the JSON schema can check; `existingRoleProblem` says what is wrong. */
export const EXISTING_ROLE_PATTERN = /^(?:[!-~]+\/)?[\w+=,.@-]{1,64}$/;
export const KEY_ADMINISTRATOR_PATTERN = /^(?:[!-~]+\/)?[\w+=,.@*?-]{1,64}$/;

/**
 * What is wrong with a role written `path/name`, or undefined. `patterns`: `*` and `?` are wildcards (a key policy's
 * ArnLike condition); without it a wildcard is refused, since a principal or a `Roles` entry names one role.
 */
export function existingRoleProblem(value: string, patterns: boolean): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('arn:')) {
    const after = /:role\/(.+)$/.exec(value)?.[1];
    return `'${value}' is an ARN; write the part after role/${after ? `: '${after}'` : ''}`;
  }
  if (value.startsWith('/')) return `'${value}' starts with '/'; write the path without its leading slash, as it follows role/ in the ARN: '${value.replace(/^\/+/, '')}'`;
  if (value.endsWith('/')) return `'${value}' ends with '/'; the role's name follows its path (path/name)`;
  const name = roleNameOf(value);
  if (name.length > NAME_MAX) return `role name '${name}' is ${name.length} characters; IAM allows ${NAME_MAX}`;
  if (!(patterns ? NAME_PATTERN_CHARS : NAME_CHARS).test(name)) {
    return patterns && /[*?]/.test(name)
      ? `role name '${name}' has a character IAM does not allow in a role name (letters, digits, +=,.@_- and the wildcards * and ?)`
      : /[*?]/.test(name)
        ? `'${value}' is a pattern; a policy principal and a Roles entry name one role exactly`
        : `role name '${name}' has a character IAM does not allow in a role name (letters, digits and +=,.@_-)`;
  }
  if (patterns && /^[*?]+$/.test(name)) return `'${value}' matches every role${value.includes('/') ? ' under its path' : ''}: each would administer every artifact key; name the roles, or a pattern with a literal part`;
  if (!value.includes('/')) return undefined;
  const path = rolePathOf(value);
  if (path.length > PATH_MAX) return `its path ${path.slice(0, 40)}… is ${path.length} characters with its slashes; IAM allows ${PATH_MAX}`;
  if (!PATH_CHARS.test(path)) return `its path '${path}' has a space or a character outside ASCII ! to ~, which IAM does not allow in a path`;
  if (path.includes('//')) return `its path '${path}' has an empty segment ('//')`;
  // The ARN is written through Fn::Sub, which would read ${…} as a variable.
  if (path.includes('${')) return `its path '${path}' contains '\${', which CloudFormation's Fn::Sub would read as a variable`;
  if (!patterns && /[*?]/.test(path)) return `its path '${path}' has a wildcard; a policy principal and a Roles entry name one role exactly`;
  return undefined;
}

/**
 * Existing roles the org file names twice: one name under two paths (or differing in case) is one role to IAM, whose
 * names are unique in an account whatever their path and not by case. Each pair once, as [first, second].
 */
export function sameRoleTwice(roles: readonly string[]): Array<[string, string]> {
  const seen = new Map<string, string>();
  const out: Array<[string, string]> = [];
  for (const role of roles) {
    const key = roleNameOf(role).toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, role);
    else if (first !== role) out.push([first, role]);
  }
  return out;
}

/**
 * An Identity Center pattern that names one permission set by the suffix IAM Identity Center adds to its roles
 * (`AWSReservedSSO_Developer_*`). A permission set's name may hold `_` (CreatePermissionSet `Name`, pattern
 * `[\w+=,.@-]+`, https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html), so the
 * pattern alone would also admit the roles of `Developer_Contractors` or `Developer_ReadOnly`
 * (`AWSReservedSSO_Developer_Contractors_<suffix>`), and a set made for less would reach the developer or maintainer
 * role. The developer and maintainer trusts (templates/access-roles.ts) therefore also refuse `<pattern>_*`, a role
 * with one more `_` after the named set's, and the proof asks it (src/audit/paths.ts). The suffix Identity Center
 * adds is letters and digits (no page spells it out; were it ever to hold `_`, the set's own users would be refused,
 * loudly, not others admitted) (review s21-tpl T3).
 */
export const namesOnePermissionSet = (pattern: string) => /^AWSReservedSSO_[^*?]+_\*$/.test(pattern);

/** A role ARN's path and name, as a policy's role ARN writes them after `:role/` (`path/name`, or `name`); roleNameOf gives the name alone. */
export const rolePathAndName = (arn: string): string => arn.slice(arn.indexOf(':role/') + ':role/'.length);

export type ExistingRoleKind = 'deploymentTargets.instanceRoles' | 'keyAdministratorRoles';

/** A role as the org file names it (`path/name`), and under which field. */
export interface ExistingRole {
  role: string;
  kind: ExistingRoleKind;
}

/** The roles to read: every instance role, and every key administrator that is not a pattern. */
export function namedExistingRoles(org: Pick<Org, 'deploymentTargets' | 'keyAdministratorRoles'>): ExistingRole[] {
  return [
    ...(org.deploymentTargets.instanceRoles ?? []).map((role) => ({ role, kind: 'deploymentTargets.instanceRoles' as const })),
    ...org.keyAdministratorRoles.filter((role) => !isRolePattern(role)).map((role) => ({ role, kind: 'keyAdministratorRoles' as const })),
  ];
}

/**
 * IAM Identity Center provisions permission-set roles under
 * `aws-reserved/sso.amazonaws.com/<region>/`, except for an instance whose
 * home region is us-east-1, where the region segment is absent. Both forms are
 * admitted. ArnLike's `*` spans `/`, so the region's `*` would also match a
 * deeper path under aws-reserved/sso.amazonaws.com/, which no Identity Center
 * role has: `DEEPER_SSO_PATH` (templates/access-roles.ts) refuses those (review s50-access A1, step 3).
 * What keeps out a role created at Identity Center's own paths is that
 * Identity Center alone makes roles there, which no page states (README,
 * "Not yet": verify once that IAM refuses a role created under that path;
 * review s50-access A1, A2).
 * No AWS reference page spells the path out; AWS's containers blog ("A quick path to
 * Amazon EKS single sign-on using AWS SSO": "If you configure SSO in a Region other than
 * us-east-1, add the Region after sso.amazonaws.com") and
 * https://repost.aws/questions/QUpP-HDDmXT4C1YvjWvoVl_A (confirmed in us-east-1) do.
 */
export const SSO_PATHS = ['aws-reserved/sso.amazonaws.com/', 'aws-reserved/sso.amazonaws.com/*/'] as const;
