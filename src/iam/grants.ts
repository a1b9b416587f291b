/**
 * Named bundles of IAM actions, each with the AWS page that says why these and
 * no others. Templates grant bundles, never ad-hoc action lists.
 */
export interface Grant {
  readonly name: string;
  readonly actions: readonly string[];
  readonly doc: string;
  /** Why a resource of `*` is unavoidable, for bundles whose actions have no resource-level permissions. */
  readonly resourceStarReason?: string;
}

/**
 * What the CodeCommit source action does with the repository on the pipeline's
 * behalf (cf. aws-cdk's CodeCommitSourceAction, which grants the same five).
 */
export const CODECOMMIT_SOURCE_ACTION: Grant = {
  name: 'codecommit-source-action',
  actions: [
    'codecommit:GetBranch',
    'codecommit:GetCommit',
    'codecommit:UploadArchive',
    'codecommit:GetUploadArchiveStatus',
    'codecommit:CancelUploadArchive',
  ],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
};

/**
 * The source role writes the source artifact into the pipeline account's bucket.
 * s3:PutObjectAcl: the action uploads cross-account with the
 * `bucket-owner-full-control` canned ACL, and S3 authorises the ACL header
 * separately from the object.
 */
export const ARTIFACT_OBJECT_WRITE: Grant = {
  name: 'artifact-object-write',
  actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:PutObjectAcl'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html',
};

/** The pipeline role reads and writes artifacts of its own pipelines. */
export const ARTIFACT_OBJECT_READ_WRITE: Grant = {
  name: 'artifact-object-read-write',
  actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
};

export const ARTIFACT_BUCKET_READ: Grant = {
  name: 'artifact-bucket-read',
  actions: ['s3:GetBucketLocation', 's3:GetBucketVersioning'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
};

/** Data-key use of the artifact key through S3 SSE-KMS: no key management, no grants. */
export const KMS_ARTIFACT_DATA_KEY: Grant = {
  name: 'kms-artifact-data-key',
  actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
  doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/services-s3.html#s3-customer-cmk-policy',
};

/**
 * Administration of the artifact key by its own account's deployers. Listed
 * action by action (no `kms:*`): no Decrypt/Encrypt, so administering the key
 * does not read artifacts.
 */
export const KMS_KEY_ADMINISTRATION: Grant = {
  name: 'kms-key-administration',
  actions: [
    'kms:CancelKeyDeletion',
    'kms:CreateAlias',
    'kms:DeleteAlias',
    'kms:DescribeKey',
    'kms:DisableKey',
    'kms:DisableKeyRotation',
    'kms:EnableKey',
    'kms:EnableKeyRotation',
    'kms:GetKeyPolicy',
    'kms:GetKeyRotationStatus',
    'kms:ListResourceTags',
    'kms:PutKeyPolicy',
    'kms:ScheduleKeyDeletion',
    'kms:TagResource',
    'kms:UntagResource',
    'kms:UpdateAlias',
    'kms:UpdateKeyDescription',
  ],
  doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators',
};

export const STS_ASSUME_ROLE: Grant = {
  name: 'sts-assume-role',
  actions: ['sts:AssumeRole'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html',
};

export const EVENTS_PUT: Grant = {
  name: 'events-put',
  actions: ['events:PutEvents'],
  doc: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html',
};

export const CODEPIPELINE_START: Grant = {
  name: 'codepipeline-start',
  actions: ['codepipeline:StartPipelineExecution'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cfn.html',
};

/** What the pipeline's CodeDeploy action calls on the application and deployment group. */
export const CODEDEPLOY_PIPELINE_ACTION: Grant = {
  name: 'codedeploy-pipeline-action',
  actions: [
    'codedeploy:CreateDeployment',
    'codedeploy:GetApplication',
    'codedeploy:GetApplicationRevision',
    'codedeploy:GetDeployment',
    'codedeploy:GetDeploymentConfig',
    'codedeploy:RegisterApplicationRevision',
  ],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
};

/** CodeDeploy finds the EC2 instances of a deployment group by their tags. */
export const CODEDEPLOY_EC2_TARGETS: Grant = {
  name: 'codedeploy-ec2-targets',
  actions: ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus', 'tag:GetResources'],
  doc: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html',
  resourceStarReason:
    'ec2:DescribeInstances, ec2:DescribeInstanceStatus and tag:GetResources support no resource-level permissions; AWS accepts only "*" for them',
};

/** Actions for which AWS accepts no resource narrower than `*` (checked by the least-privilege rules). */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL: ReadonlySet<string> = new Set(CODEDEPLOY_EC2_TARGETS.actions);
