/**
 * What the StackSet execution role may not do, proved by the access proof's
 * own evaluator (evaluate.ts) over the policy `xstack bootstrap` gives it:
 * requests on names outside the org's (another team's role, the execution
 * role itself, the account-access role, a bucket, repository, pipeline or
 * rule that is not the org's) must be refused. What the role may do on
 * resources with generated ids (EC2, KMS keys) is account-wide by necessity
 * and is said next to its statement instead (execution-policy.ts).
 */
import type { ExecutionStatement } from '../deploy/execution-policy';
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
  const others = [role('admin'), role('OrganizationAccountAccessRole'), role(org.stackSets.executionRoleName)];
  return [
    ...others.flatMap((arn) => ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRole', 'iam:PassRole'].map((action) => ({ action, resource: arn }))),
    { action: 'iam:CreatePolicyVersion', resource: `arn:${p}:iam::${account}:policy/someone-elses-policy` },
    { action: 's3:DeleteBucket', resource: `arn:${p}:s3:::someone-elses-bucket` },
    { action: 's3:PutBucketPolicy', resource: `arn:${p}:s3:::someone-elses-bucket` },
    { action: 'codecommit:DeleteRepository', resource: `arn:${p}:codecommit:${r}:${account}:someone-elses-repository` },
    { action: 'codepipeline:DeletePipeline', resource: `arn:${p}:codepipeline:${r}:${account}:someone-elses-pipeline` },
    { action: 'events:PutRule', resource: `arn:${p}:events:${r}:${account}:rule/someone-elses-rule` },
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
