/**
 * EventBridge's quota of rules per event bus, checked at compile time as
 * IAM's are (iam-quotas.ts): the rules every stage puts on each bus of each
 * account, resolved per account (a family's rules exist only in the accounts
 * of their unit's condition), the source accounts' forwarding rules and the
 * pipeline accounts' trigger rules alike. Past the quota the compile fails
 * naming the account, the count, the quota and the org-file setting that
 * declares a raised one; nothing is emitted whose PutRule EventBridge would
 * refuse halfway through a rollout.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 *
 * The count is of the rules a compile leaves. A deploy that replaces rules
 * (a renamed branch: a forwarding rule under a new name and logical id)
 * creates the new ones before CloudFormation deletes the old ("it first
 * creates a new resource and then deletes the old resource"; a removed one
 * is deleted in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, "removing old
 * resources" after the update), so a bus at its quota can still refuse such
 * an update.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html
 * https://repost.aws/knowledge-center/cloudformation-stack-cleanup-stuck
 */
import type { CfnTemplate } from '../cfn/template';
import { flatValues, type Resolver } from '../audit/resolve';
import { defaultRulesPerBus, EVENTBRIDGE_QUOTAS_DOC } from '../limits';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';

/** The quota in force for an org's accounts: what its file says AWS raised, else AWS's default in the org's Region. */
export const rulesPerBusOf = (org: Org): number => org.eventBridgeQuotas.rulesPerBus ?? defaultRulesPerBus(org.region);

/** A rule's bus as `EventBusName` names it: a name, or the ARN of a bus of the account (a rule without it is on the default bus). */
function busName(value: string): string {
  const at = value.lastIndexOf(':event-bus/');
  return at < 0 ? value : value.slice(at + ':event-bus/'.length);
}

export function eventBridgeQuotaProblems(org: Org, stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver): string[] {
  /** Account → bus → stage → its rules there. */
  const rules = new Map<string, Map<string, Map<string, number>>>();
  const add = (account: string, bus: string, stage: string) => {
    const buses = rules.get(account) ?? rules.set(account, new Map()).get(account)!;
    const byStage = buses.get(bus) ?? buses.set(bus, new Map()).get(bus)!;
    byStage.set(stage, (byStage.get(stage) ?? 0) + 1);
  };
  for (const stage of stages) {
    // Keys, not entries: no pair made for each resource of each stage, most of them no rule.
    const resources = templates.get(stage.id)!.Resources;
    for (const logicalId of Object.keys(resources)) {
      const resource = resources[logicalId];
      if (resource.Type !== 'AWS::Events::Rule') continue;
      const busProperty = (resource.Properties as { EventBusName?: unknown } | undefined)?.EventBusName;
      const bus = busProperty === undefined ? undefined : resolver.compile(stage.id, busProperty);
      for (const account of resolver.accountsWith(stage.id, logicalId)) add(account, bus ? busName(flatValues(bus.at(account)).join('')) : 'default', stage.id);
    }
  }

  const limit = rulesPerBusOf(org);
  const declared = org.eventBridgeQuotas.rulesPerBus !== undefined;
  const accountName = new Map(org.accounts.map((a) => [a.id, a.name]));
  const problems: string[] = [];
  for (const [account, buses] of rules) {
    for (const [bus, byStage] of buses) {
      const n = [...byStage.values()].reduce((a, b) => a + b, 0);
      if (n <= limit) continue;
      const byWhom = [...byStage].map(([stage, k]) => `${stage}: ${k}`).join(', ');
      const quota = declared ? `the quota of ${limit} rules per event bus the org file declares (eventBridgeQuotas.rulesPerBus)` : `EventBridge's quota of ${limit} rules per event bus`;
      problems.push(
        `account ${accountName.get(account) ?? account} (${account}): ${n} EventBridge rules on its ${bus} event bus in ${org.region} made by xstack (${byWhom}), beside any the account already has, over ${quota} (${EVENTBRIDGE_QUOTAS_DOC}); ` +
          `AWS raises it on request (Service Quotas: Amazon EventBridge, Number of rules): ask for at least ${n} plus the account's own rules on that bus, then set eventBridgeQuotas.rulesPerBus in the org file`,
      );
    }
  }
  return problems;
}
