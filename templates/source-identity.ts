/**
 * Stage 2, each source account: one cross-account source role per pipeline
 * account, each trusting only that account's pipeline role and granted only
 * what the CodeCommit source action does for that account (the repositories
 * its pipelines read, its artifact bucket, its artifact key), so the dev
 * pipeline can never reach prod's artifacts or key; and the role EventBridge
 * uses to forward repository events to the pipeline accounts' buses, and the
 * dead-letter queue of the forwarding rules (src/cfn/dead-letter.ts). Each
 * source role, the forwarder and the queue is a unit of the `source-identity` family
 * (src/stages/family.ts, src/stages/plan.ts).
 *
 * A role and its grants are one stack, so that removing a pipeline account
 * removes both in one update (CloudFormation deletes the policy before the
 * role; a policy in a later stage would still be attached, and the role's
 * deletion would fail with DeleteConflict). The grants name the artifact key
 * by account and alias, not by its ARN, which only exists after the key
 * (stage 3), whose policy names this role.
 */
import type Resource from 'cloudform-types/types/resource';
import { eventsDeadLetterQueue } from '../src/cfn/dead-letter';
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { logicalId, role } from '../src/cfn/resources';
import { newRecord, type OutputSpec, type ParameterSpec, type TemplateDefinition } from '../src/cfn/template';
import type { Form } from '../src/forms';
import { ARTIFACT_BUCKET_LIST, ARTIFACT_OBJECT_WRITE, CODECOMMIT_SOURCE_ACTION, EVENTS_PUT, KMS_ARTIFACT_DATA_KEY, STS_ASSUME_ROLE } from '../src/iam/grants';
import { policyDocument, rolesByArn, serviceTrust, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface EventForwarding {
  /** How the forwarder's policy names the pipeline accounts' buses. */
  form: Form;
  /** Pipeline accounts that receive this account's repository events (explicit form). */
  busAccountIds: readonly string[];
}

export interface SourceIdentityInput {
  names: Names;
  /**
   * Pipeline account → the repositories of this account its pipelines read; one source role each. `artifactFolders`:
   * where other source accounts feed that pipeline account too, the folders of its artifact bucket this account's
   * pipelines write (naming.ts artifactFolder), to which the role's object grant is held (src/stages/plan.ts
   * sharedArtifactFolders); else the whole bucket, all of whose artifacts are this account's pipelines'.
   */
  consumers: ReadonlyArray<readonly [pipelineAccountId: string, repositories: readonly string[], artifactFolders?: readonly string[]]>;
  /** The forwarder, in the first template of a source account only. */
  forwarding?: EventForwarding;
  /**
   * The forwarding rules' dead-letter queue (src/cfn/dead-letter.ts), one a source account: a unit of its own, so that
   * the forwarder's unit and its pack group keep their size (a group of 249 source roles and the forwarder is
   * CloudFormation's 500 resources to the one, src/stages/plan.ts SOURCE_ROLES_PER_TEMPLATE).
   */
  deadLetterQueue?: boolean;
}

/** Per pipeline account: the source role's logical id (its ARN is known by name: Names.sourceRole). */
export const sourceRoleIds = (accountId: string) => ({
  role: logicalId('SourceRole', accountId),
});

export function sourceIdentity(input: SourceIdentityInput): TemplateDefinition {
  const { names, forwarding } = input;
  const parameters: Record<string, ParameterSpec> = {};
  // Keyed by logical ids of its own: a newRecord (src/cfn/template.ts says why).
  const resources = newRecord<Resource>();
  const outputs: Record<string, OutputSpec> = {};

  for (const [account, repositories, folders] of input.consumers) {
    const ids = sourceRoleIds(account);
    // That account's bucket, and its bucket only: the name is the org's, the owner pinned by aws:ResourceAccount.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
    const bucket = arn(`s3:::${names.artifactBucket(account, '${AWS::Region}')}`);
    const objects = folders
      ? folders.map((folder) => arn(`s3:::${names.artifactBucket(account, '${AWS::Region}')}/${folder}/*`))
      : arn(`s3:::${names.artifactBucket(account, '${AWS::Region}')}/*`);
    const ownedByAccount = { StringEquals: { 'aws:ResourceAccount': account } };
    Object.assign(
      resources,
      role(ids.role, {
        name: names.sourceRole(account),
        description: `Assumed by pipeline account ${account} to run the CodeCommit source action`,
        // https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html
        trust: policyDocument([
          statement({
            sid: 'PipelineRoleAssumes',
            ...rolesByArn(arn(`iam::${account}:root`), arn(`iam::${account}:role/${names.pipelineRole()}`)),
            actions: STS_ASSUME_ROLE.actions,
          }),
        ]),
        policies: [
          {
            name: 'source-action',
            document: policyDocument([
              statement({
                sid: 'CodeCommitSourceAction',
                actions: CODECOMMIT_SOURCE_ACTION.actions,
                resources: repositories.map((r) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`)),
              }),
              statement({ sid: 'WriteArtifacts', actions: ARTIFACT_OBJECT_WRITE.actions, resources: objects, conditions: ownedByAccount }),
              statement({ sid: 'ListArtifactBucket', actions: ARTIFACT_BUCKET_LIST.actions, resources: bucket, conditions: ownedByAccount }),
              statement({
                // That account's artifact key, by its alias: an alias is the account's own, and
                // kms:ResourceAliases matches the key it points to.
                // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases
                // "It might take up to five minutes for tag and alias changes to affect KMS key authorization"
                // (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html): README, first rollout.
                sid: 'UseArtifactKey',
                actions: KMS_ARTIFACT_DATA_KEY.actions,
                resources: arn(`kms:\${AWS::Region}:${account}:key/*`),
                conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [names.artifactKeyAlias()] } },
              }),
            ]),
          },
        ],
      }),
    );
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
    Object.assign(
      resources,
      role('EventForwarderRole', {
        name: names.eventForwarderRole(),
        description: 'EventBridge forwards CodeCommit repository events to the pipeline accounts with this role',
        // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
        trust: serviceTrust('events.amazonaws.com', {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': arn(`events:\${AWS::Region}:\${AWS::AccountId}:rule/${names.forwardingRulePattern()}`) },
        }),
        policies: [{ name: 'put-events-on-pipeline-buses', document: policyDocument([busStatement]) }],
      }),
    );
    outputs.EventForwarderRoleArn = { description: 'ARN of the event forwarding role', value: getAtt('EventForwarderRole', 'Arn') };
  }

  // Where the forwarding rules put what they could not deliver.
  if (input.deadLetterQueue) Object.assign(resources, eventsDeadLetterQueue({ queueName: names.forwardingDeadLetterQueue(), sid: 'ForwardingRulesDeadLetters', namePattern: names.forwardingRulePattern() }));

  return {
    description: `xstack source-identity: cross-account source roles with their grants${forwarding ? ', and the event forwarder' : ''}, of this source account`,
    parameters,
    resources,
    outputs,
  };
}
