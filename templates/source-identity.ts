/**
 * Stage 2, each source account: one cross-account source role per pipeline
 * account, each trusting only that account's pipeline role (so the dev
 * pipeline can never reach prod's artifacts or key; their grants come in
 * source-access, once the artifact keys exist), and the role EventBridge uses
 * to forward repository events to the pipeline accounts' buses. Many pipeline
 * accounts split over several templates (`SOURCE_ROLES_PER_TEMPLATE`); the
 * forwarder is in the first.
 */
import type Resource from 'cloudform-types/types/resource';
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { logicalId, role } from '../src/cfn/resources';
import type { OutputSpec, ParameterSpec, TemplateDefinition } from '../src/cfn/template';
import type { Form } from '../src/forms';
import { EVENTS_PUT, STS_ASSUME_ROLE } from '../src/iam/grants';
import { policyDocument, serviceTrust, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface EventForwarding {
  /** How the forwarder's policy names the pipeline accounts' buses. */
  form: Form;
  /** Pipeline accounts that receive this account's repository events (explicit form). */
  busAccountIds: readonly string[];
}

export interface SourceIdentityInput {
  names: Names;
  /** Pipeline accounts whose source roles this template holds. */
  pipelineAccountIds: readonly string[];
  /** The forwarder, in the first template of a source account only. */
  forwarding?: EventForwarding;
}

/** Per pipeline account: the parameter its pipeline role arrives in, the source role's logical id and outputs. */
export const sourceRoleIds = (accountId: string) => ({
  pipelineRoleParameter: `PipelineRoleArn${accountId}`,
  role: logicalId('SourceRole', accountId),
  arnOutput: `SourceRoleArn${accountId}`,
});

export function sourceIdentity(input: SourceIdentityInput): TemplateDefinition {
  const { names, forwarding } = input;
  const parameters: Record<string, ParameterSpec> = {};
  const resources: Record<string, Resource> = {};
  const outputs: Record<string, OutputSpec> = {};

  for (const account of input.pipelineAccountIds) {
    const ids = sourceRoleIds(account);
    parameters[ids.pipelineRoleParameter] = { type: 'String', description: `ARN of the CodePipeline service role of pipeline account ${account}` };
    Object.assign(resources, role(ids.role, {
      name: names.sourceRole(account),
      description: `Assumed by pipeline account ${account} to run the CodeCommit source action; grants in source-access`,
      // https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html
      trust: policyDocument([statement({ sid: 'PipelineRoleAssumes', principal: { AWS: ref(ids.pipelineRoleParameter) }, actions: STS_ASSUME_ROLE.actions })]),
    }));;
    outputs[ids.arnOutput] = { description: `ARN of the source role of pipeline account ${account}`, value: getAtt(ids.role, 'Arn'), principalOf: ids.role };
  }

  if (forwarding) {
    const busStatement =
      forwarding.form.kind === 'explicit'
        ? statement({
            sid: 'PutEventsOnPipelineBuses',
            actions: EVENTS_PUT.actions,
            resources: forwarding.busAccountIds.map((id) => arn(`events:\${AWS::Region}:${id}:event-bus/default`)),
          })
        : statement({
            sid: 'PutEventsOnPipelineBuses',
            actions: EVENTS_PUT.actions,
            resources: [arn('events:${AWS::Region}:*:event-bus/default')],
            conditions: { StringEquals: { 'aws:ResourceOrgID': forwarding.form.organizationId } },
          });
    Object.assign(resources, role('EventForwarderRole', {
      name: names.eventForwarderRole(),
      description: 'EventBridge forwards CodeCommit repository events to the pipeline accounts with this role',
      // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
      trust: serviceTrust('events.amazonaws.com', {
        StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
        ArnLike: { 'aws:SourceArn': arn(`events:\${AWS::Region}:\${AWS::AccountId}:rule/${names.forwardingRulePattern()}`) },
      }),
      policies: [{ name: 'put-events-on-pipeline-buses', document: policyDocument([busStatement]) }],
    }));;
    outputs.EventForwarderRoleArn = { description: 'ARN of the event forwarding role', value: getAtt('EventForwarderRole', 'Arn'), principalOf: 'EventForwarderRole' };
  }

  return {
    description: `xstack source-identity: cross-account source roles${forwarding ? ' and event forwarder' : ''} of this source account`,
    parameters,
    resources,
    outputs,
  };
}
