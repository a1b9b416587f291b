/**
 * Each source account: EventBridge rules forwarding `CodeCommit Repository
 * State Change` events of each tracked branch to the buses of the pipeline
 * accounts that track it. EventBridge allows 5 targets a rule, so targets come
 * in chunks of 5. Each rule is a unit of the `source-events` family
 * (src/stages/family.ts, src/stages/plan.ts).
 */
import Rule from 'cloudform-types/types/events/rule';
import { deadLetterConfig } from '../src/cfn/dead-letter';
import { arn } from '../src/cfn/intrinsics';
import { newRecord, type TemplateDefinition } from '../src/cfn/template';
import type { Names } from '../src/naming';
import { logicalId } from '../src/cfn/resources';
import { CODECOMMIT_BRANCH_EVENT } from '../src/iam/grants';

export interface ForwardingRule {
  /** Which chunk of 5 targets of its repository and branch (from 1): with them, fixes its name. */
  chunk: number;
  repository: string;
  branch: string;
  targetAccountIds: readonly string[];
}

/** https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const TARGETS_PER_RULE = 5;

export function sourceEvents(names: Names, rules: readonly ForwardingRule[]): TemplateDefinition {
  // Keyed by logical ids of its own: a newRecord (src/cfn/template.ts says why).
  const resources = newRecord<Rule>();
  for (const rule of rules) {
    if (rule.targetAccountIds.length > TARGETS_PER_RULE) {
      throw new Error(`internal: rule ${rule.repository}:${rule.branch} #${rule.chunk} has ${rule.targetAccountIds.length} targets, over ${TARGETS_PER_RULE}`);
    }
    const name = names.forwardingRule(rule.repository, rule.branch, rule.chunk);
    resources[logicalId('ForwardingRule', name.slice(name.lastIndexOf('-fwd-') + 5))] = new Rule({
      Name: name,
      Description: `Forwards pushes to ${rule.repository}:${rule.branch} to ${rule.targetAccountIds.length} pipeline account(s)`,
      State: 'ENABLED',
      EventPattern: {
        source: [CODECOMMIT_BRANCH_EVENT.source],
        'detail-type': [CODECOMMIT_BRANCH_EVENT.detailType],
        resources: [arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${rule.repository}`)],
        detail: { referenceType: ['branch'], event: ['referenceCreated', 'referenceUpdated'], referenceName: [rule.branch] },
      },
      Targets: rule.targetAccountIds.map((id) => ({
        Id: `account-${id}`,
        Arn: arn(`events:\${AWS::Region}:${id}:event-bus/default`),
        RoleArn: arn(`iam::\${AWS::AccountId}:role/${names.eventForwarderRole()}`),
        // A delivery the pipeline account's bus refuses goes to this account's queue (source-identity, beside the forwarder).
        DeadLetterConfig: deadLetterConfig(names.forwardingDeadLetterQueue()),
      })),
    });
  }
  return {
    description: 'xstack source-events: forwards CodeCommit branch events to the pipeline accounts',
    parameters: {},
    resources,
    outputs: {},
  };
}
