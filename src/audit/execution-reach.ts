/**
 * What the StackSet execution role may not do, proved by the access proof's
 * own evaluator (evaluate.ts) over the policy `xstack bootstrap` gives it:
 * requests on names outside the org's (another team's role, the execution
 * role itself and its own managed policies, the administration and
 * account-access roles, the key administrators, a bucket, repository,
 * pipeline or rule that is not the org's) must be refused. The policy names
 * some of the org's resources by the shapes of their names (naming.ts
 * `shapes`), so each kind of name is also asked about under another org's
 * prefix that begins with this one's (`<prefix>x-…`), which a pattern that
 * dropped the prefix, or the hyphen after it, would reach; and under this
 * org's own prefix for a pipeline or account the org does not have
 * (`<prefix>-zz-trigger`, `<prefix>-source-legacy`, a role on path
 * `/<prefix>-zz/`), which another team or tool may have named so. Those of
 * another pipeline are refused while the policy names pipelines exactly, and
 * reached by design when it names them by shape (execution-policy.ts
 * `executionPolicyOf`, which says why): the report lists them as such. The
 * rest, `<prefix>-source-legacy` and every pathed name among them, are refused
 * in either case. What the role may do on
 * resources with generated ids (EC2, KMS keys) is account-wide by necessity
 * and is said next to its statement instead (execution-policy.ts).
 */
import { accountPolicies, forAccount, resolvePolicy, type ExecutionStatement, type PipelineNames } from '../deploy/execution-policy';
import { tokeniseList } from './classes';
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
  /** Allowed, and why that is by design: the pipeline names' shapes reach it (`byShape` requests, when the policy uses them). */
  byDesign?: string;
}

/** An outside request; `byShape`: the name is of a form the pipeline names' shapes take (naming.ts `shapes(true)`). */
interface OutsideRequest {
  action: string;
  resource: string;
  byShape?: true;
}

/** Requests on names the org does not own, in one target account. */
function outsideRequests(org: Org, account: string): OutsideRequest[] {
  const { partition: p, region: r } = org;
  const role = (name: string) => `arn:${p}:iam::${account}:role/${name}`;
  const policy = (name: string) => `arn:${p}:iam::${account}:policy/${name}`;
  const own = new Names(org.prefix);
  // The org file's existing roles the templates attach nothing to: the role has nothing on them (the reader role reads them).
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
    // The CI network's flow-log group is named (review s37-execution X2): no other log group is the role's to delete or expire.
    ...['logs:DeleteLogGroup', 'logs:PutRetentionPolicy'].map((action) => ({ action, resource: `arn:${p}:logs:${r}:${account}:log-group:someone-elses-log-group` })),
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
    ...ownPrefixRequests(org, account),
  ];
}

/**
 * Names with this org's prefix that the org does not give: a pipeline it does not have (`zz`), an account-keyed
 * name that is no account id (`<prefix>-source-legacy`), and names on a path or another event bus that fit a shape
 * only because IAM's wildcards match `/`.
 */
function ownPrefixRequests(org: Org, account: string): OutsideRequest[] {
  const { partition: p, region: r, prefix } = org;
  const role = (name: string) => `arn:${p}:iam::${account}:role/${name}`;
  const policy = (name: string) => `arn:${p}:iam::${account}:policy/${name}`;
  const rule = (name: string) => `arn:${p}:events:${r}:${account}:rule/${name}`;
  const own = new Names(prefix);
  const other = 'zz';
  const roleActions = ['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole'];
  const byShape: OutsideRequest[] = [
    ...[own.triggerRole(other), own.codeDeployRole(other)].flatMap((name) => roleActions.map((action) => ({ action, resource: role(name) }))),
    ...[own.pipelinePolicy(other), rolePolicy(own.triggerRole(other), 'start'), rolePolicy(own.codeDeployRole(other), 'find')].map((name) => ({ action: 'iam:CreatePolicyVersion', resource: policy(name) })),
    { action: 'codepipeline:DeletePipeline', resource: `arn:${p}:codepipeline:${r}:${account}:${own.pipeline(other)}` },
    { action: 'codedeploy:DeleteApplication', resource: `arn:${p}:codedeploy:${r}:${account}:application:${own.codeDeployApplication(other)}` },
    { action: 'events:PutTargets', resource: rule(own.triggerRule(other)) },
  ];
  // A name of 11 characters on path `/<prefix>-source-/`: 12 characters after `<prefix>-source-`, a `/` among them.
  const sourcePathed = `${own.sourceRole('')}/${'x'.repeat(11)}`;
  const never: OutsideRequest[] = [
    ...[own.sourceRole('legacy'), sourcePathed, `${prefix}-${other}/x-trigger`, `${prefix}-${other}/x-codedeploy`].flatMap((name) => roleActions.map((action) => ({ action, resource: role(name) }))),
    ...[rolePolicy(own.sourceRole('legacy'), 'x'), `${sourcePathed}-x`, `${prefix}-${other}/x-pipeline`, `${prefix}-${other}/x-trigger-start`].map((name) => ({ action: 'iam:CreatePolicyVersion', resource: policy(name) })),
    // A rule on another event bus (`rule/<bus>/<name>`), and a rule named like a forwarding rule without its hash.
    ...[`${prefix}-${other}/x-trigger`, `${prefix}-codecommit-fwd-legacy`].map((name) => ({ action: 'events:PutTargets', resource: rule(name) })),
  ];
  return [...byShape.map((q) => ({ ...q, byShape: true as const })), ...never];
}

/**
 * IAM actions by which whoever holds them on a role writes what that role may do (an inline or any managed policy) or
 * who may act as it (its trust): https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html,
 * API_AttachRolePolicy.html, API_UpdateAssumeRolePolicy.html.
 */
export const ROLE_REWRITES = ['iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy'];

/** The execution role's ARN in an account (or a class's token standing for its members). */
export const executionRoleArn = (org: Org, account: string): string => `arn:${org.partition}:iam::${account}:role/${org.stackSets.executionRoleName}`;

/**
 * The execution role's statements in one account as the evaluator reads them: identity statements of the role, of
 * stage `bootstrap`, each named by its Sid, their placeholders resolved as bootstrap resolves them (`resolvePolicy`).
 * `account` may be a class's token: the ARNs then hold it where bootstrap writes each member's id.
 */
export function executionRoleGrants(org: Org, statements: readonly ExecutionStatement[], account: string): ResolvedStatement[] {
  const attachedTo = executionRoleArn(org, account);
  return resolvePolicy(statements, { partition: org.partition, account, region: org.region }).Statement.map((s) => ({
    stage: 'bootstrap',
    account,
    policy: s.Sid,
    kind: 'identity',
    effect: s.Effect,
    attachedTo,
    principals: [],
    actions: s.Action,
    resources: s.Resource,
    conditions: Object.fromEntries(Object.entries(s.Condition ?? {}).map(([operator, keys]) => [operator, Object.fromEntries(Object.entries(keys).map(([key, value]) => [key, [value]]))])),
  }));
}

/**
 * The execution role's policy that `xstack bootstrap` writes in each account the stages target (execution-policy.ts
 * `executionPolicy`, each account's own part `forAccount`), as identity statements of
 * `arn:<partition>:iam::<account>:role/<executionRoleName>`, each named `bootstrap: <Sid>`; a class's once, with its
 * token for the id. Within one account an identity policy's Allow is enough where no resource policy refuses
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html).
 * None with service-managed permissions: bootstrap makes the role only for self-managed ones
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html); otherwise
 * StackSets or the org's custom execution role template makes it
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html), its policies
 * outside the org file.
 */
export function bootstrapGrants(
  org: Org,
  accounts: Iterable<string>,
  statements: readonly ExecutionStatement[],
  classes: ReadonlyMap<string, { token: string; members: readonly string[] }>,
): ResolvedStatement[] {
  if (org.stackSets.permissionModel === 'SERVICE_MANAGED') return [];
  const grants: ResolvedStatement[] = [];
  const done = new Set<string>();
  const targets = new Set(accounts);
  // Each account's part, from its group of alike accounts (accountPolicies walks each scope once), not filtered anew per
  // account. Asked in the org file's order, as the audit model and the report ask it (targetAccounts): accountPolicies
  // keeps its last answer for the same list, so the groups are made once for the three.
  const ownOf = new Map<string, ExecutionStatement[]>();
  const inOrgOrder = org.accounts.map((a) => a.id).filter((id) => targets.has(id));
  for (const group of accountPolicies(statements, inOrgOrder)) for (const account of group.accounts) ownOf.set(account, group.statements);
  for (const account of targets) {
    const of = classes.get(account);
    if (of && done.has(of.token)) continue;
    const own = ownOf.get(account) ?? forAccount(statements, account);
    if (!of) {
      grants.push(...executionRoleGrants(org, own, account));
      continue;
    }
    done.add(of.token);
    // Bootstrap writes a member's own id where the Sub form has ${AWS::AccountId}: the class's token here, as the proof's statements have it.
    for (const g of executionRoleGrants(org, own, of.token)) grants.push({ ...g, resources: tokeniseList(g.resources, account, of.token), accounts: of.members });
  }
  return grants;
}

/** Each outside request, evaluated against the execution role's policy as it is in `account`. */
export function executionRoleOutsideReach(org: Org, statements: readonly ExecutionStatement[], account: string, pipelineNames?: PipelineNames): OutsideResult[] {
  const roleArn = executionRoleArn(org, account);
  const requests = outsideRequests(org, account);
  const asked = requests.some((r) => hasToken(r.resource)) ? undefined : new Set(requests.map((r) => r.resource));
  const grants = executionRoleGrants(org, statements, account).map((g) => (asked ? { ...g, resources: resourcesAsked(g.resources, asked) } : g));
  const index = new GrantIndex(grants);
  const byDesign =
    pipelineNames?.names === 'shapes'
      ? `reached by design: pipeline names by shape, as written out they would need ${Number.isFinite(pipelineNames.exactPacks) ? pipelineNames.exactPacks : 'more'} managed policies, over the role's ${pipelineNames.quota}`
      : undefined;
  return requests.map(({ action, resource, byShape }) => {
    const request: Request = { principal: { kind: 'aws', arn: roleArn }, action, resource, resourceAccount: account, context: {} };
    const d = evaluate(index, request, org.organizationId);
    if (!d.allowed) return { action, resource };
    return { action, resource, allowedBy: d.grantedBy.map((g) => `execution role/${g.policy}`).join(', '), ...(byShape && byDesign ? { byDesign } : {}) };
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
