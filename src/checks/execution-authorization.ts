/**
 * The StackSet execution role's policy, read the way IAM reads it: every action it grants must exist (XS010), and
 * some statement that grants it must give it a resource of a type the action takes, or "*" where it takes none
 * (XS012), as the Service Authorization Reference says: "If there is no value for this column, you must specify all
 * resources ("*") to which the policy applies in the Resource element of your policy statement"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * A handler action granted only on ARNs it cannot match is refused on the first real deploy (moto evaluates no IAM
 * policy, so no local run shows it), hence a compile failure here. The policy's statements are the templates' roles'
 * rules (service-authorization.ts) asked of one statement at a time, and an action counts as granted when any of its
 * Allow statements serves it: the policy gives one action on several statements (a service's named ARNs, its
 * generated ids). Denies are not asked: one that matches nothing takes nothing away.
 *
 * A statement's condition is read too (XS011, XS013): the role's writes on the org's roles are held to the org's
 * permissions boundary (execution-policy.ts boundedRoleActions), and a key the reference does not list for one of
 * the statement's actions is absent from its requests, so "the values do not match and the condition is false"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html): that
 * action would be refused wherever the handler calls it.
 *
 * What it does not see (it can pass a policy IAM would still refuse somewhere, never fail a good one): the accounts a
 * statement is scoped to (an action served in one account by a statement of another passes), and the resources of a
 * statement with a wildcard action (`cloudformation:*`, whose resource service-authorization.ts does not match).
 */
import { resolvePolicy, type ExecutionStatement } from '../deploy/execution-policy';
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import { checkServiceAuthorization } from './service-authorization';

/**
 * A service-linked role lives on the path `/aws-service-role/<service principal>/`, as AWS's own grants of the action
 * show (`role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery`,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-Firehose.html); xstack gives its
 * roles no path, so iam:CreateServiceLinkedRole on the org's role names has the `role` type's form and matches nothing.
 */
const CREATE_SERVICE_LINKED_ROLE = 'iam:CreateServiceLinkedRole';
const servesServiceLinkedRoles = (resources: readonly string[]) => resources.some((r) => r === '*' || r.includes(':role/aws-service-role/'));

/** A sample account: the statements' `${AWS::AccountId}` only has to have an account's form. */
const SAMPLE_ACCOUNT = '123456789012';

/** What IAM would not authorize in the execution role's policy, one problem per action; none when it all can be. */
export function executionAuthorizationProblems(org: Org, statements: readonly ExecutionStatement[]): string[] {
  const resolved = resolvePolicy(statements, { partition: org.partition, account: SAMPLE_ACCOUNT, region: org.region }).Statement;
  const served = new Map<string, boolean>();
  const undefinedActions = new Map<string, string>();
  const conditionProblems: string[] = [];
  for (const statement of resolved) {
    if (statement.Effect !== 'Allow') continue;
    const template: CfnTemplate = {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: 'the execution role policy',
      Resources: { ExecutionPolicy: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [statement] } } } },
    };
    const findings = checkServiceAuthorization(template);
    const unmatched = new Set(findings.filter((f) => f.rule === 'XS012' && f.item.startsWith('Action::')).map((f) => f.item.slice('Action::'.length)));
    for (const f of findings) if (f.rule === 'XS010') undefinedActions.set(f.item.slice('Action::'.length), `${statement.Sid}: ${f.message}`);
    // XS011: a key the action's requests never carry (no condition on it can match); XS013: an operator the key's type does not take.
    const fix = { XS011: 'grant it without the condition', XS013: "use an operator of the key's type" } as const;
    for (const f of findings) if (f.rule === 'XS011' || f.rule === 'XS013') conditionProblems.push(`${statement.Sid}: ${f.message}, so IAM would refuse it where CloudFormation's handler calls it; ${fix[f.rule]}`);
    for (const action of statement.Action) {
      const ok = !unmatched.has(action) && (action !== CREATE_SERVICE_LINKED_ROLE || servesServiceLinkedRoles(statement.Resource));
      served.set(action, (served.get(action) ?? false) || ok);
    }
  }
  const role = `StackSet execution role ${org.stackSets.executionRoleName}`;
  return [
    ...conditionProblems.map((why) => `${role}: the condition of ${why} (src/deploy/execution-policy.ts)`),
    ...[...undefinedActions].map(([action, why]) => `${role}: ${action} is not an IAM action (${why}); leave it out of the policy (src/deploy/execution-policy.ts)`),
    ...[...served]
      .filter(([action, ok]) => !ok && !undefinedActions.has(action))
      .map(([action]) =>
        action === CREATE_SERVICE_LINKED_ROLE
          ? `${role}: ${action} is granted only on role ARNs without the path /aws-service-role/<service principal>/ that every service-linked role has, so IAM would refuse it where CloudFormation's handler calls it; grant it on that path with iam:AWSServiceName, or leave out the property that needs it (src/deploy/optional-handler-actions.ts)`
          : `${role}: ${action} is granted only on resources of types it does not take, so IAM would refuse it where CloudFormation's handler calls it; grant it on its resource type's ARN, or on "*" where the Service Authorization Reference lists none (src/deploy/execution-policy.ts)`,
      ),
  ].sort();
}
