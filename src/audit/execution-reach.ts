/**
 * What the StackSet execution role may not do, proved by the access proof's
 * own evaluator (evaluate.ts) over the policy `xstack bootstrap` gives it:
 * requests on names outside the org's (another team's role, the execution
 * role itself and its own managed policies, the administration and
 * account-access roles, the key administrators, a bucket, repository,
 * pipeline or rule that is not the org's) must be refused. The policy names
 * the org's resources by the shapes of their names (naming.ts `shapes`,
 * `<prefix>-*-trigger`), so each shape is also asked about under another
 * org's prefix that begins with this one's (`<prefix>x-…`): a pattern that
 * dropped the prefix, or the hyphen after it, would reach it. What the role may do on
 * resources with generated ids (EC2, KMS keys) is account-wide by necessity
 * and is said next to its statement instead (execution-policy.ts).
 */
import type { ExecutionStatement } from '../deploy/execution-policy';
import { isRolePattern, roleNameOf } from '../iam/role-path';
import { Names, rolePolicy } from '../naming';
import type { Org } from '../org/model';
import { evaluate, GrantIndex, type Request } from './evaluate';
import type { ResolvedStatement } from './grants';
import { hasToken } from './symbolic';

export interface OutsideResult {
  action: string;
  resource: string;
  /** Refused, as it must be; otherwise the statement that allows it. */
  allowedBy?: string;
}

/** Requests on names the org does not own, in one target account. */
function outsideRequests(org: Org, account: string): Array<{ action: string; resource: string }> {
  const { partition: p, region: r } = org;
  const role = (name: string) => `arn:${p}:iam::${account}:role/${name}`;
  const policy = (name: string) => `arn:${p}:iam::${account}:policy/${name}`;
  const own = new Names(org.prefix);
  // The org file's existing roles the templates attach nothing to: the role only reads them (SeeExistingRoles).
  const instanceRoles = new Set((org.deploymentTargets.instanceRoles ?? []).map(roleNameOf));
  const keyAdministrators = org.keyAdministratorRoles.filter((name) => !isRolePattern(name) && !instanceRoles.has(roleNameOf(name)));
  const others = [role('admin'), role('OrganizationAccountAccessRole'), role(org.stackSets.executionRoleName), role(org.stackSets.administrationRoleName), ...keyAdministrators.map(role)];
  // Another org's names, of every shape this org's names take, under a prefix that begins with this one's.
  const another = new Names(`${org.prefix}x`);
  return [
    ...[...new Set(others)].flatMap((arn) => ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRole', 'iam:PassRole'].map((action) => ({ action, resource: arn }))),
    // The execution role's own managed policies (xstack bootstrap): a new version of one would be a new policy for the role.
    ...['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:DeletePolicy'].map((action) => ({ action, resource: policy(own.executionPolicy(1)) })),
    { action: 'iam:CreatePolicyVersion', resource: policy('someone-elses-policy') },
    { action: 's3:DeleteBucket', resource: `arn:${p}:s3:::someone-elses-bucket` },
    { action: 's3:PutBucketPolicy', resource: `arn:${p}:s3:::someone-elses-bucket` },
    { action: 'codecommit:DeleteRepository', resource: `arn:${p}:codecommit:${r}:${account}:someone-elses-repository` },
    { action: 'codepipeline:DeletePipeline', resource: `arn:${p}:codepipeline:${r}:${account}:someone-elses-pipeline` },
    { action: 'events:PutRule', resource: `arn:${p}:events:${r}:${account}:rule/someone-elses-rule` },
    ...[another.pipelineRole(), another.sourceRole(account), another.codeDeployRole('app'), another.triggerRole('app'), another.deployTargetRole()].flatMap((name) =>
      ['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy'].map((action) => ({ action, resource: role(name) })),
    ),
    ...[another.pipelinePolicy('app'), another.deployTargetPolicy(), rolePolicy(another.sourceRole(account), 'source-action'), rolePolicy(another.codeDeployRole('app'), 'find'), rolePolicy(another.triggerRole('app'), 'start')].map((name) => ({
      action: 'iam:CreatePolicyVersion',
      resource: policy(name),
    })),
    { action: 'iam:AddRoleToInstanceProfile', resource: `arn:${p}:iam::${account}:instance-profile/${another.deployTargetRole()}` },
    ...[another.triggerRule('app'), another.forwardingRule('app', 'main', 1)].map((name) => ({ action: 'events:PutTargets', resource: `arn:${p}:events:${r}:${account}:rule/${name}` })),
    { action: 'codepipeline:UpdatePipeline', resource: `arn:${p}:codepipeline:${r}:${account}:${another.pipeline('app')}` },
    { action: 'codedeploy:DeleteApplication', resource: `arn:${p}:codedeploy:${r}:${account}:application:${another.codeDeployApplication('app')}` },
    { action: 'codedeploy:DeleteDeploymentGroup', resource: `arn:${p}:codedeploy:${r}:${account}:deploymentgroup:${another.codeDeployApplication('app')}/${another.codeDeployGroup('app')}` },
    { action: 's3:PutBucketPolicy', resource: `arn:${p}:s3:::${another.artifactBucket(account, r)}` },
    { action: 'kms:UpdateAlias', resource: `arn:${p}:kms:${r}:${account}:${another.artifactKeyAlias()}` },
  ];
}

/** Each outside request, evaluated against the execution role's policy as it is in `account`. */
export function executionRoleOutsideReach(org: Org, statements: readonly ExecutionStatement[], account: string): OutsideResult[] {
  const roleArn = `arn:${org.partition}:iam::${account}:role/${org.stackSets.executionRoleName}`;
  const sub = (s: string) => s.replaceAll('${AWS::Partition}', org.partition).replaceAll('${AWS::AccountId}', account).replaceAll('${AWS::Region}', org.region);
  const requests = outsideRequests(org, account);
  const asked = requests.some((r) => hasToken(r.resource)) ? undefined : new Set(requests.map((r) => r.resource));
  const grants: ResolvedStatement[] = statements.map((s) => ({
    stage: 'bootstrap',
    account,
    policy: `execution role/${s.Sid}`,
    kind: 'identity',
    effect: 'Allow',
    attachedTo: roleArn,
    principals: [],
    actions: s.Action,
    resources: asked ? resourcesAsked(s.Resource.map(sub), asked) : s.Resource.map(sub),
    conditions: {},
  }));
  const index = new GrantIndex(grants);
  return requests.map(({ action, resource }) => {
    const request: Request = { principal: { kind: 'aws', arn: roleArn }, action, resource, resourceAccount: account, context: {} };
    const d = evaluate(index, request, org.organizationId);
    return { action, resource, ...(d.allowed ? { allowedBy: d.grantedBy.map((g) => g.policy).join(', ') } : {}) };
  });
}

/**
 * Of a statement's resources, those that may match a resource asked about:
 * IAM's only wildcards in a resource ARN are `*` and `?`
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
 * "Using wildcards in resource ARNs"), so one without them matches only
 * itself (evaluate.ts's `matches`, when neither side holds a class token), so of the thousands of names a
 * statement lists (every team's roles), only those asked about are kept,
 * and each request reads a few instead of all. A statement with a token is
 * kept whole, as it is then compared member by member.
 */
function resourcesAsked(resources: string[], asked: ReadonlySet<string>): string[] {
  if (resources.some(hasToken)) return resources;
  return resources.filter((r) => r.includes('*') || r.includes('?') || asked.has(r));
}
