/**
 * Stage 4, each source account: what the source role may do, now that the
 * pipeline accounts' buckets and keys exist: the CodeCommit source action on
 * this account's repositories, writing artifacts, and data-key use of each
 * pipeline account's artifact key. Each side (this policy, and the bucket and
 * key policies of stage 3) grants the same paths.
 */
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import { arn, ref } from '../src/cfn/intrinsics';
import type { TemplateDefinition } from '../src/cfn/template';
import type { Form } from '../src/forms';
import { ARTIFACT_OBJECT_WRITE, CODECOMMIT_SOURCE_ACTION, KMS_ARTIFACT_DATA_KEY } from '../src/iam/grants';
import { policyDocument, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface SourceAccessInput {
  names: Names;
  /** Repositories of this account that some pipeline reads. */
  repositories: readonly string[];
  form: Form;
}

export function sourceAccess(input: SourceAccessInput): TemplateDefinition {
  const { names, form } = input;
  const artifactStatements =
    form.kind === 'explicit'
      ? [
          statement({ sid: 'WriteArtifacts', actions: ARTIFACT_OBJECT_WRITE.actions, resources: ref('ArtifactObjectsArns') }),
          statement({ sid: 'UseArtifactKeys', actions: KMS_ARTIFACT_DATA_KEY.actions, resources: ref('ArtifactKeyArns') }),
        ]
      : [
          // Compact form: the lists would pass IAM's managed-policy size. Buckets by the org's
          // naming pattern, keys by their alias, both only inside the org; the pipeline
          // accounts' bucket and key policies still name this role explicitly.
          statement({
            sid: 'WriteArtifacts',
            actions: ARTIFACT_OBJECT_WRITE.actions,
            resources: arn(`s3:::${names.artifactBucketPattern()}/*`),
            conditions: { StringEquals: { 'aws:ResourceOrgID': form.organizationId } },
          }),
          statement({
            sid: 'UseArtifactKeys',
            actions: KMS_ARTIFACT_DATA_KEY.actions,
            resources: arn('kms:${AWS::Region}:*:key/*'),
            conditions: {
              StringEquals: { 'aws:ResourceOrgID': form.organizationId },
              'ForAnyValue:StringEquals': { 'kms:ResourceAliases': names.artifactKeyAlias() },
            },
          }),
        ];

  return {
    description: 'xstack source-access: grants of the cross-account source role on repositories, artifact buckets and keys',
    parameters: {
      SourceRoleName: { type: 'String', description: 'Name of the cross-account source role' },
      ...(form.kind === 'explicit'
        ? {
            ArtifactObjectsArns: { type: 'CommaDelimitedList' as const, description: 'Object ARNs (bucket/*) of the pipeline accounts\' artifact buckets' },
            ArtifactKeyArns: { type: 'CommaDelimitedList' as const, description: 'ARNs of the pipeline accounts\' artifact keys' },
          }
        : {}),
    },
    resources: {
      SourceAccessPolicy: new ManagedPolicy({
        ManagedPolicyName: names.sourceAccessPolicy(),
        Description: 'CodeCommit source action for the pipeline accounts: read the repository, write the artifact',
        Roles: [ref('SourceRoleName')],
        PolicyDocument: policyDocument([
          statement({
            sid: 'CodeCommitSourceAction',
            actions: CODECOMMIT_SOURCE_ACTION.actions,
            resources: input.repositories.map((r) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`)),
          }),
          ...artifactStatements,
        ]),
      }),
    },
    outputs: {
      // Consumed by the pipelines: wiring it from here (not from source-identity) orders every
      // pipeline after the grants its first run needs.
      SourceRoleArn: {
        description: 'ARN of the cross-account source role, once its grants exist',
        value: arn(`iam::\${AWS::AccountId}:role/${names.sourceRole()}`),
      },
    },
  };
}
