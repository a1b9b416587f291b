/**
 * Stage 2, each source account: the role pipeline accounts assume for the
 * CodeCommit source action (trust only; its grants come in source-access, once
 * the artifact keys exist), and the role EventBridge uses to forward
 * repository events to the pipeline accounts' buses.
 */
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import type { Form } from '../src/forms';
import { EVENTS_PUT, STS_ASSUME_ROLE } from '../src/iam/grants';
import { policyDocument, serviceTrust, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface SourceIdentityInput {
  names: Names;
  /** How the source role's trust names the pipeline roles. */
  trust: Form;
  /** How the forwarder's policy names the pipeline accounts' buses. */
  forwarding: Form;
  /** Pipeline accounts that receive this account's repository events (explicit form). */
  busAccountIds: readonly string[];
}

export function sourceIdentity(input: SourceIdentityInput): TemplateDefinition {
  const { names, trust, forwarding } = input;
  const trustStatement =
    trust.kind === 'explicit'
      ? statement({ sid: 'PipelineRolesAssume', principal: { AWS: ref('PipelineRoleArns') }, actions: STS_ASSUME_ROLE.actions })
      : statement({
          // Compact form (the list would pass IAM's trust-policy size): any principal of
          // the org whose role has the pipeline role's name, and nothing else.
          sid: 'PipelineRolesAssume',
          principal: { AWS: '*' },
          actions: STS_ASSUME_ROLE.actions,
          conditions: {
            StringEquals: { 'aws:PrincipalOrgID': trust.organizationId },
            ArnLike: { 'aws:PrincipalArn': arn(`iam::*:role/${names.pipelineRole()}`) },
          },
        });
  const busStatement =
    forwarding.kind === 'explicit'
      ? statement({
          sid: 'PutEventsOnPipelineBuses',
          actions: EVENTS_PUT.actions,
          resources: input.busAccountIds.map((id) => arn(`events:\${AWS::Region}:${id}:event-bus/default`)),
        })
      : statement({
          sid: 'PutEventsOnPipelineBuses',
          actions: EVENTS_PUT.actions,
          resources: [arn('events:${AWS::Region}:*:event-bus/default')],
          conditions: { StringEquals: { 'aws:ResourceOrgID': forwarding.organizationId } },
        });

  return {
    description: 'xstack source-identity: cross-account source role and event forwarder of this source account',
    parameters:
      trust.kind === 'explicit'
        ? { PipelineRoleArns: { type: 'CommaDelimitedList', description: 'ARNs of the CodePipeline service roles allowed to assume the source role' } }
        : {},
    resources: {
      SourceRole: role({
        name: names.sourceRole(),
        description: 'Assumed by pipeline accounts to run the CodeCommit source action; grants in source-access',
        trust: policyDocument([trustStatement]),
      }),
      EventForwarderRole: role({
        name: names.eventForwarderRole(),
        description: 'EventBridge forwards CodeCommit repository events to the pipeline accounts with this role',
        // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
        trust: serviceTrust('events.amazonaws.com', {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': arn(`events:\${AWS::Region}:\${AWS::AccountId}:rule/${names.forwardingRulePattern()}`) },
        }),
        inlinePolicies: [{ name: 'put-events-on-pipeline-buses', document: policyDocument([busStatement]) }],
      }),
    },
    outputs: {
      SourceRoleArn: { description: 'ARN of the cross-account source role', value: getAtt('SourceRole', 'Arn'), principalOf: 'SourceRole' },
      SourceRoleName: { description: 'Name of the cross-account source role', value: ref('SourceRole') },
      EventForwarderRoleArn: {
        description: 'ARN of the event forwarding role',
        value: getAtt('EventForwarderRole', 'Arn'),
        principalOf: 'EventForwarderRole',
      },
    },
  };
}
