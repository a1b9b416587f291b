/**
 * The org's permissions boundary (org file `permissionsBoundary`): a customer managed policy, of one name in every
 * account, that every IAM role the templates create carries as its boundary. Organizations that let a pipeline or a
 * StackSet create roles often require one with a service control policy that refuses `iam:CreateRole` (and
 * `iam:PutRolePermissionsBoundary`) unless the request's `iam:PermissionsBoundary` is theirs
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PermissionsBoundary);
 * without this setting the first role of the first wave is refused.
 *
 * - Written as it follows `policy/` in the policy's ARN: `name`, or `path/name` for a policy made with a path
 *   (IAM identifiers: `arn:<partition>:iam::123456789012:policy/division_abc/subdivision_xyz/UsersManageOwnCredentials`,
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns). The ARN is made
 *   per account and partition (`arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/<value>`), as IAM Identity Center
 *   does for a permission set's boundary by name and path ("You must have an IAM policy that matches the name and path
 *   in each AWS account", https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_PermissionsBoundary.html).
 * - AWS::IAM::Role `PermissionsBoundary`: "The ARN of the policy used to set the permissions boundary for the role"
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html).
 * - Limits, from CreatePolicy (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html): PolicyName
 *   1 to 128 characters of [\w+=,.@-]; Path "/" alone or beginning and ending with "/", of ASCII "!" to DEL, no "*".
 * - A boundary only takes permissions away: "A permissions boundary policy defines the maximum permissions that
 *   identity-based policies can grant to an entity, but does not grant permissions" (PutRolePermissionsBoundary,
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePermissionsBoundary.html). The access proof reads
 *   the roles' own policies, not the boundary's text, which is the org's: a path it refuses stays refused, and a path
 *   it allows also needs the boundary to allow it (the audit report says so).
 */
import type Resource from 'cloudform-types/types/resource';
import { arn } from '../cfn/intrinsics';
import { plain, type TemplateDefinition } from '../cfn/template';

const NAME_MAX = 128;
const PATH_MAX = 512;
const NAME_CHARS = /^[\w+=,.@-]+$/;
const PATH_CHARS = /^[\x21-\x7f]+$/;

export const BOUNDARY_EXPECTED =
  'a customer managed policy present in every account, as it follows policy/ in its ARN: its name (up to 128 of letters, digits and +=,.@_-), after its path if it has one, e.g. boundaries/workload-boundary';
/** The shape the JSON schema can check; `boundaryProblem` says what is wrong. */
export const BOUNDARY_PATTERN = /^(?:[!-\x7f]+\/)?[\w+=,.@-]{1,128}$/;

/** What is wrong with a boundary written `path/name`, or undefined. */
export function boundaryProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.startsWith('arn:')) {
    const after = /:policy\/(.+)$/.exec(value)?.[1];
    if (/^arn:[^:]+:iam::aws:policy\//.test(value)) return `'${value}' is an AWS managed policy; the boundary is a customer managed policy of the org, by name in every account`;
    return `'${value}' is an ARN; write the part after policy/${after ? `: '${after}'` : ''} (the ARN is made in each account)`;
  }
  if (value.startsWith('/')) return `'${value}' starts with '/'; write the path without its leading slash, as it follows policy/ in the ARN: '${value.replace(/^\/+/, '')}'`;
  if (value.endsWith('/')) return `'${value}' ends with '/'; the policy's name follows its path (path/name)`;
  const name = value.slice(value.lastIndexOf('/') + 1);
  if (name.length > NAME_MAX) return `policy name '${name}' is ${name.length} characters; IAM allows ${NAME_MAX}`;
  if (!NAME_CHARS.test(name)) return `policy name '${name}' has a character IAM does not allow in a policy name (letters, digits and +=,.@_-)`;
  if (!value.includes('/')) return undefined;
  const path = `/${value.slice(0, value.lastIndexOf('/'))}/`;
  if (path.length > PATH_MAX) return `its path ${path.slice(0, 40)}… is ${path.length} characters with its slashes; IAM allows ${PATH_MAX}`;
  if (!PATH_CHARS.test(path)) return `its path '${path}' has a space or a character outside ASCII, which IAM does not allow in a path`;
  if (path.includes('*')) return `its path '${path}' has a '*', which IAM does not allow in a path`;
  if (path.includes('//')) return `its path '${path}' has an empty segment ('//')`;
  // The ARN is written through Fn::Sub, which would read ${…} as a variable.
  if (path.includes('${')) return `its path '${path}' contains '\${', which CloudFormation's Fn::Sub would read as a variable`;
  return undefined;
}

/** The boundary's ARN in the account a stack runs in, as the templates write it (Fn::Sub). */
export const boundaryArn = (boundary: string) => arn(`iam::\${AWS::AccountId}:policy/${boundary}`);

/** The boundary's ARN in one account, as IAM compares it with `iam:PermissionsBoundary`. */
export const boundaryArnIn = (boundary: string, partition: string, account: string) => `arn:${partition}:iam::${account}:policy/${boundary}`;

const ROLE = 'AWS::IAM::Role';

/**
 * `definition` with every role it creates bounded by `boundary` (none: the definition itself). A copy: the
 * definition's resources are left as they were, and the property is the role's last.
 */
export function withPermissionsBoundary(definition: TemplateDefinition, boundary: string | undefined): TemplateDefinition {
  if (boundary === undefined || !Object.values(definition.resources).some((r) => r.Type === ROLE)) return definition;
  const resources: Record<string, Resource> = {};
  for (const [id, resource] of Object.entries(definition.resources)) {
    if (resource.Type !== ROLE) {
      resources[id] = resource;
      continue;
    }
    const bounded = Object.assign(Object.create(Object.getPrototypeOf(resource) as object) as Resource, resource);
    bounded.Properties = { ...resource.Properties, PermissionsBoundary: boundaryArn(boundary) };
    resources[id] = bounded;
  }
  return { ...definition, resources };
}

/** The roles of a rendered template that carry no boundary, or another one than `boundary` (the compile's check that every role has it). */
export function unboundedRoles(resources: Readonly<Record<string, { Type: string; Properties?: Record<string, unknown> }>>, boundary: string): string[] {
  const expected = JSON.stringify(plain(boundaryArn(boundary)));
  return Object.entries(resources)
    .filter(([, r]) => r.Type === ROLE && JSON.stringify(r.Properties?.PermissionsBoundary) !== expected)
    .map(([id]) => id);
}
