/**
 * Stage 3, every pipeline account: the artifact key and bucket, and the event
 * bus policy, each naming the source account's roles (created in stage 2) as
 * principals. Key and bucket are retained: they hold the pipeline's history.
 */
import Alias from 'cloudform-types/types/kms/alias';
import Key from 'cloudform-types/types/kms/key';
import Bucket from 'cloudform-types/types/s3/bucket';
import BucketPolicy from 'cloudform-types/types/s3/bucketPolicy';
import EventBusPolicy from 'cloudform-types/types/events/eventBusPolicy';
import { retain } from '../src/cfn/extensions';
import { suppressChecks } from '../src/cfn/resources';
import { arn, getAtt, ref, sub } from '../src/cfn/intrinsics';
import type { TemplateDefinition } from '../src/cfn/template';
import { ARTIFACT_OBJECT_WRITE, EVENTS_PUT, KMS_ARTIFACT_DATA_KEY, KMS_KEY_ADMINISTRATION } from '../src/iam/grants';
import { policyDocument, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface PipelineFoundationInput {
  names: Names;
  /** Role name (or pattern) CloudFormation deploys with: it must be able to manage the key it creates. */
  executionRoleName: string;
  keyAdministratorRoles: readonly string[];
  /** Days a superseded artifact version is kept. */
  noncurrentVersionDays: number;
}

export function pipelineFoundation(input: PipelineFoundationInput): TemplateDefinition {
  const { names } = input;
  const adminRoleArns = [input.executionRoleName, ...input.keyAdministratorRoles].map((r) => arn(`iam::\${AWS::AccountId}:role/${r}`));

  const keyPolicy = policyDocument([
    statement({
      // The account root as principal, narrowed to named roles: KMS refuses a key policy that
      // would lock out its creator, and the StackSet execution role may not be creatable by name
      // (SERVICE_MANAGED roles are stacksets-exec-*). No data-key actions here.
      sid: 'AdministerKey',
      principal: { AWS: arn('iam::${AWS::AccountId}:root') },
      actions: KMS_KEY_ADMINISTRATION.actions,
      resources: '*',
      conditions: { ArnLike: { 'aws:PrincipalArn': adminRoleArns } },
    }),
    statement({
      sid: 'PipelineRoleUsesKey',
      principal: { AWS: ref('PipelineRoleArn') },
      actions: KMS_ARTIFACT_DATA_KEY.actions,
      resources: '*',
    }),
    statement({
      sid: 'SourceRolesUseKey',
      principal: { AWS: ref('SourceRoleArns') },
      actions: KMS_ARTIFACT_DATA_KEY.actions,
      resources: '*',
    }),
  ]);

  const objects = sub('${ArtifactBucket.Arn}/*');
  const bucketPolicy = policyDocument([
    statement({
      sid: 'DenyInsecureTransport',
      effect: 'Deny',
      principal: '*',
      actions: ['s3:*'],
      resources: [getAtt('ArtifactBucket', 'Arn'), objects],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
    statement({
      sid: 'DenyUnencryptedUploads',
      effect: 'Deny',
      principal: '*',
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    }),
    statement({
      sid: 'SourceRolesWriteArtifacts',
      principal: { AWS: ref('SourceRoleArns') },
      actions: ARTIFACT_OBJECT_WRITE.actions,
      resources: [objects],
    }),
  ]);

  const { Sid: _unused, ...busStatement } = statement({
    sid: 'CodeCommitEvents',
    principal: { AWS: ref('EventForwarderRoleArns') },
    actions: EVENTS_PUT.actions,
    resources: arn('events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
    // events:source is multivalued (ArrayOfString in the Service Authorization Reference): it takes a set
    // operator, as AWS's own example writes it; ForAllValues is also true when the key is absent, hence Null.
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    conditions: { 'ForAllValues:StringEquals': { 'events:source': 'aws.codecommit' }, Null: { 'events:source': 'false' } },
  });

  return {
    description: 'xstack pipeline-foundation: artifact key, artifact bucket and event bus policy of this pipeline account',
    parameters: {
      PipelineRoleArn: { type: 'String', description: 'ARN of this account\'s CodePipeline service role' },
      SourceRoleArns: { type: 'CommaDelimitedList', description: 'ARNs of the source accounts\' cross-account source roles' },
      EventForwarderRoleArns: { type: 'CommaDelimitedList', description: 'ARNs of the source accounts\' event forwarding roles' },
    },
    resources: {
      ArtifactKey: retain(
        new Key({
          Description: 'Encrypts the pipeline artifacts of this account',
          Enabled: true,
          EnableKeyRotation: true,
          KeyPolicy: keyPolicy,
        }),
      ),
      ArtifactKeyAlias: new Alias({ AliasName: names.artifactKeyAlias(), TargetKeyId: ref('ArtifactKey') }),
      ArtifactBucket: suppressChecks(
        retain(
          new Bucket({
            BucketName: sub(`${names.prefix}-artifacts-\${AWS::AccountId}-\${AWS::Region}`),
            BucketEncryption: {
              ServerSideEncryptionConfiguration: [
                { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: getAtt('ArtifactKey', 'Arn') }, BucketKeyEnabled: true },
              ],
            },
            PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
            VersioningConfiguration: { Status: 'Enabled' },
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
            LifecycleConfiguration: {
              Rules: [
                {
                  Id: 'expire-superseded-artifacts',
                  Status: 'Enabled',
                  NoncurrentVersionExpiration: { NoncurrentDays: input.noncurrentVersionDays },
                  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
                },
              ],
            },
          }),
        ),
        [
          {
            id: 'CKV_AWS_18',
            reason:
              'Server access logs need a log bucket, which would need the same exception; only the pipeline and source roles named in the bucket policy can reach this bucket, and object-level access is recorded by CloudTrail S3 data events where the organization enables them',
          },
        ],
      ),
      ArtifactBucketPolicy: new BucketPolicy({ Bucket: ref('ArtifactBucket'), PolicyDocument: bucketPolicy }),
      CodeCommitEventsBusPolicy: new EventBusPolicy({
        EventBusName: 'default',
        StatementId: `${names.prefix}-codecommit-events`,
        Statement: busStatement,
      }),
    },
    outputs: {
      ArtifactBucketName: { description: 'Name of the artifact bucket', value: ref('ArtifactBucket') },
      ArtifactBucketArn: { description: 'ARN of the artifact bucket', value: getAtt('ArtifactBucket', 'Arn') },
      ArtifactObjectsArn: { description: 'ARN of the artifact bucket\'s objects', value: objects },
      ArtifactKeyArn: { description: 'ARN of the artifact key (the artifact store names the key ARN, never an alias)', value: getAtt('ArtifactKey', 'Arn') },
    },
  };
}
