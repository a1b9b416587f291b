/**
 * Stage 4, each source account: what each pipeline account's source role may
 * do, now that the pipeline accounts' buckets and keys exist: the CodeCommit
 * source action on the repositories that account's pipelines read, writing
 * artifacts into that account's bucket and data-key use of that account's key
 * only. Each side (these policies, and the bucket and key policies of stage 3)
 * grants the same paths.
 */
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import { arn, ref } from '../src/cfn/intrinsics';
import { logicalId } from '../src/cfn/resources';
import type { OutputSpec, ParameterSpec, TemplateDefinition } from '../src/cfn/template';
import { ARTIFACT_BUCKET_LIST, ARTIFACT_OBJECT_WRITE, CODECOMMIT_SOURCE_ACTION, KMS_ARTIFACT_DATA_KEY } from '../src/iam/grants';
import { policyDocument, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface SourceAccessInput {
  names: Names;
  /** Pipeline account → the repositories of this account its pipelines read. */
  consumers: ReadonlyArray<readonly [pipelineAccountId: string, repositories: readonly string[]]>;
}

export const sourceAccessIds = (accountId: string) => ({
  keyParameter: `ArtifactKeyArn${accountId}`,
  bucketParameter: `ArtifactBucketArn${accountId}`,
  objectsParameter: `ArtifactObjectsArn${accountId}`,
  policy: logicalId('SourceAccess', accountId),
  roleOutput: `SourceRoleArn${accountId}`,
});

export function sourceAccess({ names, consumers }: SourceAccessInput): TemplateDefinition {
  const parameters: Record<string, ParameterSpec> = {};
  const resources: Record<string, ManagedPolicy> = {};
  const outputs: Record<string, OutputSpec> = {};
  for (const [account, repositories] of consumers) {
    const ids = sourceAccessIds(account);
    parameters[ids.objectsParameter] = { type: 'String', description: `Object ARN (bucket/*) of the artifact bucket of pipeline account ${account}` };
    parameters[ids.keyParameter] = { type: 'String', description: `ARN of the artifact key of pipeline account ${account}` };
    parameters[ids.bucketParameter] = { type: 'String', description: `ARN of the artifact bucket of pipeline account ${account}` };
    resources[ids.policy] = new ManagedPolicy({
      ManagedPolicyName: names.sourceAccessPolicy(account),
      Description: `CodeCommit source action for pipeline account ${account}: read its repositories, write its artifacts`,
      Roles: [names.sourceRole(account)],
      PolicyDocument: policyDocument([
        statement({
          sid: 'CodeCommitSourceAction',
          actions: CODECOMMIT_SOURCE_ACTION.actions,
          resources: repositories.map((r) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`)),
        }),
        statement({
          sid: 'WriteArtifacts',
          actions: ARTIFACT_OBJECT_WRITE.actions,
          resources: ref(ids.objectsParameter),
          // The bucket of that pipeline account, not a bucket of the same name elsewhere.
          // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
          conditions: { StringEquals: { 'aws:ResourceAccount': account } },
        }),
        statement({
          sid: 'ListArtifactBucket',
          actions: ARTIFACT_BUCKET_LIST.actions,
          resources: ref(ids.bucketParameter),
          conditions: { StringEquals: { 'aws:ResourceAccount': account } },
        }),
        statement({ sid: 'UseArtifactKey', actions: KMS_ARTIFACT_DATA_KEY.actions, resources: ref(ids.keyParameter) }),
      ]),
    });
    outputs[ids.roleOutput] = {
      // Consumed by that account's pipelines: wiring it from here (not from source-identity)
      // orders every pipeline after the grants its first run needs.
      description: `ARN of the source role of pipeline account ${account}, once its grants exist`,
      value: arn(`iam::\${AWS::AccountId}:role/${names.sourceRole(account)}`),
    };
  }
  return {
    description: 'xstack source-access: grants of the cross-account source roles on repositories, artifact buckets and keys',
    parameters,
    resources,
    outputs,
  };
}
