/**
 * Stage 3, every pipeline account: the artifact key and bucket, and the event
 * bus policy, each naming the source accounts' roles (created in stage 2) as
 * principals, and the dead-letter queue of the account's trigger rules
 * (src/cfn/dead-letter.ts). Key and bucket are retained: they hold the
 * pipeline's history.
 *
 * No parameters: this account's own roles are known by name, and the source
 * roles by their account and this account's id (`<prefix>-source-<this
 * account>`), so one template serves every pipeline account unchanged; only
 * which source accounts feed which pipeline accounts may differ, chosen by
 * the template's conditions (src/cfn/account-switch.ts).
 */
import Alias from 'cloudform-types/types/kms/alias';
import Key from 'cloudform-types/types/kms/key';
import Bucket, { type ServerSideEncryptionRule } from 'cloudform-types/types/s3/bucket';
import BucketPolicy from 'cloudform-types/types/s3/bucketPolicy';
import EventBusPolicy from 'cloudform-types/types/events/eventBusPolicy';
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import { eventsDeadLetterQueue } from '../src/cfn/dead-letter';
import { retain } from '../src/cfn/extensions';
import { exceptionMetadata, suppressChecks } from '../src/cfn/resources';
import type { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import { arn, getAtt, ref, sub } from '../src/cfn/intrinsics';
import type { TemplateDefinition } from '../src/cfn/template';
import { ARTIFACT_BUCKET_LIST, ARTIFACT_OBJECT_WRITE, AWS_OWNED_BUCKET_REASON, AWS_OWNED_BUCKETS, CODECOMMIT_BRANCH_EVENT, CODEDEPLOY_AGENT_DOWNLOAD, CODEDEPLOY_AGENT_INSTALL, S3_ACCESS_LOG_DELIVERY, EVENTS_PUT, KMS_ARTIFACT_DATA_KEY, KMS_DECRYPT_VIA_S3, KMS_KEY_ADMINISTRATION } from '../src/iam/grants';
import { policyDocument, rolesByArn, statement, type Statement } from '../src/iam/policy';
import { roleNameOf } from '../src/iam/role-path';
import type { Names } from '../src/naming';

export interface PipelineFoundationInput {
  names: Names;
  /** Role name (or pattern) CloudFormation deploys with: it must be able to manage the key it creates. */
  executionRoleName: string;
  /** Roles that may administer the key, as they follow role/ in their ARN (path included), matched by ArnLike: `*` and `?` are wildcards. */
  keyAdministratorRoles: readonly string[];
  /** Days a superseded artifact version is kept. */
  noncurrentVersionDays: number;
  /** Days an artifact is kept at all. */
  artifactDays: number;
  /** Days an access log is kept. */
  accessLogDays: number;
  /**
   * Per source account, its roles as principals: the item itself where it
   * feeds every target account, else an Fn::If that drops it elsewhere.
   */
  sourcePrincipals: (arnOf: (sourceAccountId: string) => IntrinsicFunction) => Array<IntrinsicFunction>;
  /**
   * The source roles' grant on the artifact objects (review s59-proof M1). `wholeBucket`: as sourcePrincipals, each
   * source account in the pipeline accounts it alone feeds, whose bucket holds its own pipelines' artifacts only.
   * `byFolder`: each source account in the pipeline accounts it shares with another, on its own pipelines' artifact
   * folders only (`item` drops the statement where it feeds none of those), so that no source account's role reads or
   * replaces another's source.
   */
  artifactWriters: {
    wholeBucket: (arnOf: (sourceAccountId: string) => IntrinsicFunction) => Array<IntrinsicFunction>;
    /** The whole-bucket statement kept only in the pipeline accounts one source account alone feeds (elsewhere none of its principals is). */
    wholeBucketItem: <T>(statement: T) => T | IntrinsicFunction;
    byFolder: ReadonlyArray<{ sourceAccountId: string; sid: string; folders: readonly string[]; item: <T>(statement: T) => T | IntrinsicFunction }>;
  };
  /**
   * The deployment targets' instance roles of this account, as they follow role/ in their ARN: xstack's own (a name),
   * or existing ones the org names (`name` or `path/name`, src/iam/role-path.ts).
   */
  deployTargetRoles: readonly string[];
}

const BLOCK_PUBLIC_ACCESS = { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true };

/**
 * A bucket's default encryption rule that also refuses uploads encrypted with a customer-provided key (SSE-C). S3 blocks
 * SSE-C by itself only in buckets made since April 2026 and in older ones of accounts that held no SSE-C object
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html), and not in
 * new buckets of Middle East (Bahrain) and (UAE) ("All newly created buckets in all AWS Regions except Middle East
 * (Bahrain) and Middle East (UAE) will have SSE-C disabled by default",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-s3-c-encryption-setting-faq.html); written here, a
 * bucket S3 left open is blocked by its stack's create or next update. The bucket policy's encryption Deny cannot do it:
 * an SSE-C upload sends no x-amz-server-side-encryption header. BlockedEncryptionTypes
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-blockedencryptiontypes.html)
 * is newer than cloudform-types' ServerSideEncryptionRule, hence the widened type.
 */
const refusingSseC = (rule: ServerSideEncryptionRule): ServerSideEncryptionRule =>
  ({ ...rule, BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } }) as ServerSideEncryptionRule;

/** TLS only, for a bucket and its objects. https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html */
const denyInsecureTransport = (bucket: string) =>
  statement({
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    principal: '*',
    actions: ['s3:*'],
    resources: [getAtt(bucket, 'Arn'), sub(`\${${bucket}.Arn}/*`)],
    conditions: { Bool: { 'aws:SecureTransport': 'false' } },
  });

export function pipelineFoundation(input: PipelineFoundationInput): TemplateDefinition {
  const { names } = input;
  // This account's own roles by what follows role/ in their ARN, path included (an existing role's path is in its ARN):
  // pipeline-identity creates xstack's, the org names existing ones.
  const ownRole = (name: string) => arn(`iam::\${AWS::AccountId}:role/${name}`);
  // The source accounts' roles by ARN, not by the unique id a Principal stores (src/iam/policy.ts).
  const sourceRoots = input.sourcePrincipals((source) => arn(`iam::${source}:root`));
  const sourceRoleIn = (source: string) => arn(`iam::${source}:role/${names.sourceRole('${AWS::AccountId}')}`);
  const sourceRoles = rolesByArn(sourceRoots, input.sourcePrincipals(sourceRoleIn));
  const wholeBucketRoots = input.artifactWriters.wholeBucket((source) => arn(`iam::${source}:root`));
  const forwarders = input.sourcePrincipals((source) => arn(`iam::${source}:role/${names.eventForwarderRole()}`));
  // This account's roles that use the key, xstack's and the org's alike, are admitted as the account's root narrowed by
  // their ARNs (aws:PrincipalArn, which a role made again under its name shares), the form the other accounts' roles
  // take: a role named as principal is stored by its unique id, so "if you delete and recreate the role … the
  // relationship is broken" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles),
  // and pipeline-identity, another StackSet, makes xstack's roles (deploy makes them again when that instance's stack
  // was deleted outside StackSets) without writing this policy again (review s50-templates N1; s21-tpl T4 for the org's
  // roles). A root principal of the key's own account makes KMS ask the role's identity policy too: PipelinePolicy's
  // UseArtifactKey and DeployTargetArtifactsPolicy grant it (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
  // Those are managed policies of later stages attached by name, which must be detached before a role can be deleted
  // and which nothing attaches again: a role made again needs them attached again as well, which deploy (after it made
  // the role again) and verify name (src/deploy/role-attachments.ts; review s50-diff M1).
  const thisAccountsRoles = (names: readonly string[]) => rolesByArn(arn('iam::${AWS::AccountId}:root'), names.map(ownRole));
  const deployTargetPrincipals = thisAccountsRoles(input.deployTargetRoles);
  const adminRoleArns = [input.executionRoleName, ...input.keyAdministratorRoles].map((r) => arn(`iam::\${AWS::AccountId}:role/${r}`));

  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  const viaS3 = sub('s3.${AWS::Region}.amazonaws.com');
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
      ...thisAccountsRoles([names.pipelineRole()]),
      actions: KMS_ARTIFACT_DATA_KEY.actions,
      resources: '*',
    }),
    statement({
      // The CodeDeploy agent on the deployment targets reads the revision through S3, never
      // through KMS directly. KMS counts an IAM policy only where the key policy allows it, so
      // the role is named here. https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
      sid: 'DeployTargetsDecryptViaS3',
      ...deployTargetPrincipals,
      actions: KMS_DECRYPT_VIA_S3.actions,
      resources: '*',
      conditions: { ...deployTargetPrincipals.conditions, StringEquals: { 'kms:ViaService': viaS3 } },
    }),
    statement({
      sid: 'SourceRolesUseKey',
      ...sourceRoles,
      actions: KMS_ARTIFACT_DATA_KEY.actions,
      resources: '*',
    }),
  ]);

  const objects = sub('${ArtifactBucket.Arn}/*');
  const accessLogPolicy = policyDocument([
    denyInsecureTransport('AccessLogBucket'),
    statement({
      sid: 'S3DeliversAccessLogs',
      principal: { Service: 'logging.s3.amazonaws.com' },
      actions: S3_ACCESS_LOG_DELIVERY.actions,
      resources: sub('${AccessLogBucket.Arn}/artifacts/*'),
      // Read by the bucket's ARN, this policy follows the artifact bucket, whose logging is switched on first. No S3
      // page says whether PutBucketLogging checks the destination's policy (review s61-templates m1, unsettled); AWS
      // CDK's Bucket writes the same order (its allowLogDelivery, under S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY).
      conditions: { ArnLike: { 'aws:SourceArn': getAtt('ArtifactBucket', 'Arn') }, StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
    }),
  ]);
  const bucketPolicy = policyDocument([
    denyInsecureTransport('ArtifactBucket'),
    statement({
      // Only a request that names another encryption is refused: one without the header gets the bucket's default
      // (SSE-KMS with ArtifactKey, below). A plain StringNotEquals would also refuse every UploadPart of a multipart
      // upload, which s3:PutObject authorizes and which carries no encryption header (S3 API reference, UploadPart),
      // since a negated operator holds when the key is absent:
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
      sid: 'DenyOtherEncryption',
      effect: 'Deny',
      principal: '*',
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' }, Null: { 's3:x-amz-server-side-encryption': 'false' } },
    }),
    // Where a pipeline account is fed by several, none of these principals is kept there, and a statement with an empty
    // Principal is refused ("You must use the Principal element in resource-based policies",
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html): the statement goes
    // with them (review s59-second-read B1).
    ...(wholeBucketRoots.length > 0
      ? [
          input.artifactWriters.wholeBucketItem(
            statement({
              sid: 'SourceRolesWriteArtifacts',
              ...rolesByArn(wholeBucketRoots, input.artifactWriters.wholeBucket(sourceRoleIn)),
              actions: ARTIFACT_OBJECT_WRITE.actions,
              resources: [objects],
            }),
          ) as Statement,
        ]
      : []),
    // The items are Fn::If where a source account shares only some of its pipeline accounts: a statement the policy
    // keeps in those accounts alone, as a list item of the template ("AWS::NoValue … removes the corresponding resource
    // property", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html).
    ...input.artifactWriters.byFolder.map((w) =>
      w.item(
        statement({
          sid: w.sid,
          ...rolesByArn(arn(`iam::${w.sourceAccountId}:root`), sourceRoleIn(w.sourceAccountId)),
          actions: ARTIFACT_OBJECT_WRITE.actions,
          resources: w.folders.map((folder) => sub(`\${ArtifactBucket.Arn}/${folder}/*`)),
        }),
      ) as Statement,
    ),
    statement({
      sid: 'SourceRolesListBucket',
      ...sourceRoles,
      actions: ARTIFACT_BUCKET_LIST.actions,
      resources: [getAtt('ArtifactBucket', 'Arn')],
    }),
  ]);

  const { Sid: _unused, ...busStatement } = statement({
    sid: 'CodeCommitEvents',
    actions: EVENTS_PUT.actions,
    resources: arn('events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
    // events:source and events:detail-type are multivalued (one PutEvents call carries several
    // entries; ArrayOfString in the Service Authorization Reference): a set operator, as AWS's own
    // cross-account bus example writes events:source (its global page writes events:detail-type
    // with StringEquals, the same for one value; the check XS013 reads the reference's type), and
    // Null so that a request without a key does not pass ForAllValues vacuously. The detail-type
    // admits the branch-change event alone, not CodeCommit's pull-request and comment events
    // (review s35-templates m1).
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ...rolesByArn(sourceRoots, forwarders, {
      'ForAllValues:StringEquals': { 'events:source': [CODECOMMIT_BRANCH_EVENT.source], 'events:detail-type': [CODECOMMIT_BRANCH_EVENT.detailType] },
      Null: { 'events:source': 'false', 'events:detail-type': 'false' },
    }),
  });

  return {
    description: 'xstack pipeline-foundation: artifact key, artifact bucket, event bus policy and events dead-letter queue of this pipeline account',
    parameters: {},
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
      ArtifactBucket: retain(
        new Bucket({
          BucketName: sub(names.artifactBucket('${AWS::AccountId}', '${AWS::Region}')),
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              refusingSseC({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: getAtt('ArtifactKey', 'Arn') }, BucketKeyEnabled: true }),
            ],
          },
          PublicAccessBlockConfiguration: BLOCK_PUBLIC_ACCESS,
          VersioningConfiguration: { Status: 'Enabled' },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          LoggingConfiguration: { DestinationBucketName: ref('AccessLogBucket'), LogFilePrefix: 'artifacts/' },
          LifecycleConfiguration: {
            Rules: [
              {
                // CodePipeline writes every execution's artifacts under new keys and never overwrites
                // them: without an expiry of current objects they would stay forever.
                Id: 'expire-artifacts',
                Status: 'Enabled',
                ExpirationInDays: input.artifactDays,
                NoncurrentVersionExpiration: { NoncurrentDays: input.noncurrentVersionDays },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
            ],
          },
        }),
      ),
      // Server access logs of the artifact bucket. S3 delivers them only to a bucket encrypted with
      // SSE-S3 (SSE-KMS is not supported for log delivery), written by the logging service alone.
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
      AccessLogBucket: suppressChecks(
        retain(
          new Bucket({
            BucketName: sub(names.accessLogBucket('${AWS::AccountId}', '${AWS::Region}')),
            BucketEncryption: { ServerSideEncryptionConfiguration: [refusingSseC({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } })] },
            PublicAccessBlockConfiguration: BLOCK_PUBLIC_ACCESS,
            VersioningConfiguration: { Status: 'Enabled' },
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
            LifecycleConfiguration: {
              Rules: [
                {
                  Id: 'expire-access-logs',
                  Status: 'Enabled',
                  ExpirationInDays: input.accessLogDays,
                  NoncurrentVersionExpiration: { NoncurrentDays: 30 },
                },
              ],
            },
          }),
        ),
        [
          {
            id: 'CKV_AWS_18',
            reason: 'This bucket is the destination of the artifact bucket\'s server access logs; logging it into itself would log its own log deliveries without end, and a further bucket would need the same exception',
          },
        ],
      ),
      AccessLogBucketPolicy: new BucketPolicy({ Bucket: ref('AccessLogBucket'), PolicyDocument: accessLogPolicy }),
      // The Description stays as it was: IAM replaces a managed policy whose description changes, and
      // a replacement of this named policy would fail on its own name (plan/deploy refuse it: src/deploy/replacements.ts).
      DeployTargetArtifactsPolicy: new ManagedPolicy({
        ManagedPolicyName: names.deployTargetPolicy(),
        Description: 'The CodeDeploy agent on the deployment targets downloads revisions from this account\'s artifact bucket',
        // Roles takes names, not paths or ARNs (src/iam/role-path.ts).
        Roles: input.deployTargetRoles.map(roleNameOf),
        PolicyDocument: policyDocument([
          statement({
            // No s3:ListBucket, unlike AWS's AmazonEC2RoleforAWSCodeDeploy: the targets would see every pipeline's
            // artifact names. The cost: a revision the lifecycle deleted is refused as 403, not 404 (GetObject's
            // Permissions, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html; README "How far back a
            // rollback reaches"; review s56-templates m1).
            sid: 'DownloadRevisions',
            actions: CODEDEPLOY_AGENT_DOWNLOAD.actions,
            resources: objects,
            // This account's bucket only, even if a bucket of that name were another account's.
            // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
            conditions: { StringEquals: { 'aws:ResourceAccount': ref('AWS::AccountId') } },
          }),
          statement({
            sid: 'DecryptRevisionsViaS3',
            actions: KMS_DECRYPT_VIA_S3.actions,
            resources: getAtt('ArtifactKey', 'Arn'),
            conditions: { StringEquals: { 'kms:ViaService': viaS3 } },
          }),
          statement({
            // The agent itself is installed and updated from AWS's resource kit bucket of this Region:
            // "Make sure to give access to the Amazon S3 buckets that contain the CodeDeploy agent.
            // Otherwise, an error might occur when the CodeDeploy agent is installed or updated on the
            // instances." A signed request from this role to a bucket of another account needs this
            // Allow even though the bucket is public. Objects of that one bucket only, read only.
            // https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html
            // Bucket names by Region (GovCloud too: aws-codedeploy-us-gov-west-1), src/iam/grants.ts AWS_OWNED_BUCKETS:
            // https://docs.aws.amazon.com/codedeploy/latest/userguide/resource-kit.html
            // No aws:ResourceAccount: the bucket is AWS's (recorded below as the exception to XS014).
            sid: 'InstallCodeDeployAgent',
            actions: CODEDEPLOY_AGENT_INSTALL.actions,
            resources: sub(AWS_OWNED_BUCKETS.codeDeployResourceKit.objects),
          }),
        ]),
      }).metadata(exceptionMetadata([{ rule: 'XS014', statement: 'InstallCodeDeployAgent', reason: AWS_OWNED_BUCKET_REASON }])),
      ArtifactBucketPolicy: new BucketPolicy({ Bucket: ref('ArtifactBucket'), PolicyDocument: bucketPolicy }),
      CodeCommitEventsBusPolicy: new EventBusPolicy({
        EventBusName: 'default',
        StatementId: `${names.prefix}-codecommit-events`,
        Statement: busStatement,
      }),
      // Where the pipelines' trigger rules put what they could not deliver (src/cfn/dead-letter.ts): one a pipeline account.
      ...eventsDeadLetterQueue({ queueName: names.triggerDeadLetterQueue(), sid: 'TriggerRulesDeadLetters', namePattern: names.triggerRule('*') }),
    },
    outputs: {
      ArtifactBucketName: { description: 'Name of the artifact bucket', value: ref('ArtifactBucket') },
      ArtifactBucketArn: { description: 'ARN of the artifact bucket', value: getAtt('ArtifactBucket', 'Arn') },
      ArtifactObjectsArn: { description: 'ARN of the artifact bucket\'s objects', value: objects },
      AccessLogBucketName: { description: 'Name of the bucket holding the artifact bucket\'s server access logs', value: ref('AccessLogBucket') },
      // Imported by the pipelines of this account: a cross-account source action needs the key's ARN, not an alias.
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-codepipeline-pipeline-encryptionkey.html
      ArtifactKeyArn: {
        description: 'ARN of the artifact key (the artifact store names the key ARN, never an alias)',
        value: getAtt('ArtifactKey', 'Arn'),
        export: names.artifactKeyExport(),
      },
    },
  };
}
