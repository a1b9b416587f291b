/**
 * Named bundles of IAM actions, each with the AWS page that says why these and
 * no others. Templates grant bundles, never ad-hoc action lists.
 */
import type { CiRuntime } from '../org/model';

export interface Grant {
  readonly name: string;
  readonly actions: readonly string[];
  readonly doc: string;
  /** Why a resource of `*` is unavoidable, for bundles whose actions have no resource-level permissions. */
  readonly resourceStarReason?: string;
}

/**
 * What the CodeCommit source action does with the repository on the pipeline's behalf: the six actions of the
 * action's own page, "Service role permissions: CodeCommit action" ("When CodePipeline runs the action, the
 * CodePipeline service role policy requires the following permissions": CancelUploadArchive, GetBranch, GetCommit,
 * GetRepository, GetUploadArchiveStatus, UploadArchive;
 * https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html). In a cross-account
 * source action the calls are made as the action's RoleArn, the source role. The same page ties GetRepository to the
 * full-clone format (CODEBUILD_CLONE_REF), and aws-cdk's CodeCommitSourceAction grants the other five only; xstack's
 * actions write CODE_ZIP, but the permissions section lists it without that qualification, and it reads the
 * metadata of the same repositories the other five already read, so it is granted rather than found missing on the
 * first real run (review s21-tpl T2).
 */
export const CODECOMMIT_SOURCE_ACTION: Grant = {
  name: 'codecommit-source-action',
  actions: [
    'codecommit:GetBranch',
    'codecommit:GetCommit',
    'codecommit:GetRepository',
    'codecommit:UploadArchive',
    'codecommit:GetUploadArchiveStatus',
    'codecommit:CancelUploadArchive',
  ],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html',
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

/**
 * The pipeline role reads and writes artifacts of its own pipelines: the
 * object actions of AWS's minimum CodePipeline service-role policy (each
 * pinned to the account by aws:ResourceAccount in the templates).
 */
export const ARTIFACT_OBJECT_READ_WRITE: Grant = {
  name: 'artifact-object-read-write',
  actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:PutObjectAcl'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html',
};

/** The bucket actions of AWS's minimum CodePipeline service-role policy. */
export const ARTIFACT_BUCKET_READ: Grant = {
  name: 'artifact-bucket-read',
  actions: ['s3:GetBucketAcl', 's3:GetBucketLocation', 's3:GetBucketVersioning'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html',
};

/**
 * The source role lists the artifact bucket, as AWS's cross-account walkthrough
 * grants the other account on the bucket (its object grants are s3:Get*,
 * s3:Put*, narrowed here to ARTIFACT_OBJECT_WRITE).
 */
export const ARTIFACT_BUCKET_LIST: Grant = {
  name: 'artifact-bucket-list',
  actions: ['s3:ListBucket'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html',
};

/** S3 server access logging writes log objects into the destination bucket. */
export const S3_ACCESS_LOG_DELIVERY: Grant = {
  name: 's3-access-log-delivery',
  actions: ['s3:PutObject'],
  doc: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html',
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

/**
 * A developer's chained session (Identity Center or another identity provider, then this role) keeps the source
 * identity its first session was given, and then "permissions for sts:SetSourceIdentity are required in both the
 * permissions policy of the principal who is assuming the role and in the role trust policy of the target role.
 * Otherwise, the assume role operation will fail": so the developer role's trust allows it, under the same conditions.
 * It sets only who CloudTrail records; no xstack policy reads it.
 */
export const STS_ASSUME_ROLE_CHAINED: Grant = {
  name: 'sts-assume-role-chained',
  actions: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
  doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html#id_credentials_temp_control-access_monitor-perms',
};

/**
 * Session tags a developer's first session carries as transitive (an identity provider's TransitiveTagKeys, the org
 * file's `transitiveTagKeys`) go on into the chained AssumeRole: "Transitive tags persist during role chaining"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining), and passing
 * session tags needs "the following permissions-only action in your policy: sts:TagSession"
 * (id_session-tags.html#id_session-tags_permissions-required), in the role's trust and the caller's policy alike (the
 * field reports grants.ts cites for the CI below). The trust allows it for the keys the org names only.
 */
export const STS_TAG_SESSION: Grant = {
  name: 'sts-tag-session',
  actions: ['sts:TagSession'],
  doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining',
};

/**
 * The source identity part of STS_ASSUME_ROLE_CHAINED: a trust allows it only for one the calling session carries
 * (CARRIED_SOURCE_IDENTITY_ONLY; access-roles.ts, and bootstrap's roles: bootstrap-access.ts, bootstrap.ts).
 */
export const STS_SET_SOURCE_IDENTITY: Grant = {
  name: 'sts-set-source-identity',
  actions: ['sts:SetSourceIdentity'],
  doc: STS_ASSUME_ROLE_CHAINED.doc,
};

/**
 * The condition of a trust's sts:SetSourceIdentity: a source identity carried from the caller's session only, never one
 * the caller picks now. aws:SourceIdentity "is included in the request context after a source identity has been set"
 * on the calling session (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceidentity),
 * and once set "The value that is set cannot be changed during the role session"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html), so it stays what
 * the identity provider set (review s27-access M2).
 */
export const CARRIED_SOURCE_IDENTITY_ONLY = { Null: { 'aws:SourceIdentity': 'false' } } as const;

/**
 * The CI role assumes each source account's reader role from a session EKS Pod Identity made, and that session
 * carries EKS's tags onward: "All of the session tags that are added by EKS Pod Identity are transitive; the tag keys
 * and values are passed to any AssumeRole actions that your workloads use to switch roles into another account"
 * (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html#pod-id-abac-chaining). IAM: "Transitive tags
 * persist during role chaining" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_role-chaining),
 * and to pass session tags "In addition to the action that matches the API operation, you must have the following
 * permissions-only action in your policy: sts:TagSession" (id_session-tags.html#id_session-tags_permissions-required). The IAM
 * page does not say in so many words that inherited tags count; the field reports do: a chained AssumeRole from a Pod
 * Identity session "is not authorized to perform: sts:TagSession" where the next role's trust lacks it, and where that
 * trust names an account root the caller's own policy must allow it as well (aws/eks-pod-identity-agent#80,
 * mattrobinsonsre/terrapod#1546). So sts:TagSession beside sts:AssumeRole on every side of that hop: the reader role's
 * trust, the CI role's policy, and the CI network's STS endpoint policy, which "controls which principals can use the
 * endpoint and which AWS STS actions they can perform"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sts_vpc_endpoint_policies.html).
 * Not narrowed by sts:TransitiveTagKeys to the six keys pod-id-abac lists (eks-cluster-arn, eks-cluster-name,
 * kubernetes-namespace, kubernetes-service-account, kubernetes-pod-name, kubernetes-pod-uid): that set is EKS's to
 * extend, a key added later would refuse every clone, and the narrowing would protect nothing here, since the reader
 * role ends the chain (its policy allows no sts:AssumeRole) and no xstack policy reads aws:PrincipalTag.
 */
export const STS_ASSUME_ROLE_TRANSITIVE_TAGS: Grant = {
  name: 'sts-assume-role-transitive-tags',
  actions: ['sts:AssumeRole', 'sts:TagSession'],
  doc: 'https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html#pod-id-abac-chaining',
};

/**
 * What the CI role assumes each reader role with, by what made the CI role's session. Only EKS Pod Identity tags it
 * (STS_ASSUME_ROLE_TRANSITIVE_TAGS). IRSA does not: EKS's comparison of the two says of IRSA "AWS STS session tags are
 * not supported" (https://docs.aws.amazon.com/eks/latest/userguide/service-accounts.html#service-accounts-iam-compare);
 * AssumeRoleWithWebIdentity takes tags only from the token's https://aws.amazon.com/tags claim (id_session-tags.html),
 * which a Kubernetes service-account token does not carry (aws/amazon-eks-pod-identity-webhook#103). Nor, as far as
 * AWS documents, does EC2: IAM's session-tagging operations are calls whose caller passes the tags, and no page puts
 * session tags on an instance profile's credentials.
 */
export function ciAssumeReaderGrant(runtime: CiRuntime['kind']): Grant {
  return runtime === 'eks-pod-identity' ? STS_ASSUME_ROLE_TRANSITIVE_TAGS : STS_ASSUME_ROLE;
}

/** The keys an EC2 instance's role credentials put in a request, and the version IMDSv2 delivers (ciAssumeReaderConditions). */
export const EC2_ROLE_DELIVERY = 'ec2:RoleDelivery';
export const IMDSV2_ROLE_DELIVERY = '2.0';
export const EC2_INSTANCE_SOURCE_VPC = 'aws:Ec2InstanceSourceVpc';

/**
 * The credentials the CI role may assume each reader role with, on EC2 (review s30-ci m1, m2); none on EKS, whose Pod
 * Identity and IRSA credentials carry neither key:
 * - `ec2:RoleDelivery` ≥ 2.0: "the version of the instance metadata service in the signed request with the IAM role
 *   credentials for Amazon EC2", "included in the request context whenever the role session is created by an Amazon
 *   EC2 instance" (IAM's own example denies `NumericLessThan … 2.0`). So only credentials an instance took through
 *   IMDSv2 assume a reader role, however the host was launched (the launch template only sets HttpTokens required).
 * - With a CI network, `aws:SourceVpc` equal to the policy variable `${aws:Ec2InstanceSourceVpc}`, "the VPC to which
 *   Amazon EC2 IAM role credentials were delivered to. You can use this key in a policy with the aws:SourceVPC global
 *   key to check if a call is made from a VPC … that matches the VPC where a credential was delivered to". Its STS
 *   endpoint has private DNS (templates/ci-network.ts), so the host's AssumeRole goes through it, and "The
 *   aws:SourceVpc context key is included in the request context only if the requester uses a VPC endpoint": the
 *   same credentials used anywhere else (copied off the host, or from another VPC) carry no such match. Written as an
 *   IAM policy variable: it reaches IAM as it is (the statement is no Fn::Sub).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2-role-delivery
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2instancesourcevpc
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcevpc
 */
export function ciAssumeReaderConditions(runtime: CiRuntime['kind'], network: boolean): Record<string, Record<string, string>> | undefined {
  if (runtime !== 'ec2') return undefined;
  return {
    NumericGreaterThanEquals: { [EC2_ROLE_DELIVERY]: IMDSV2_ROLE_DELIVERY },
    ...(network ? { StringEquals: { 'aws:SourceVpc': `\${${EC2_INSTANCE_SOURCE_VPC}}` } } : {}),
  };
}

export const EVENTS_PUT: Grant = {
  name: 'events-put',
  actions: ['events:PutEvents'],
  doc: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html',
};

/**
 * The one event the pipelines' path carries, CodeCommit's on a branch change: what the forwarding and trigger rules
 * match (`source` and `detail-type`) and the pipeline accounts' bus policy admits (`events:source`,
 * `events:detail-type`). "To match against specific events, include a detail-type attribute ... { "source":
 * ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"] }"
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-codecommit.html).
 */
export const CODECOMMIT_BRANCH_EVENT = { source: 'aws.codecommit', detailType: 'CodeCommit Repository State Change' } as const;

/**
 * What EventBridge does with an event it could not deliver to a rule's target, when the target names a dead-letter
 * queue: "grants the EventBridge service permissions to use the SendMessage operation" on the queue, in the queue's
 * policy, with the rule as aws:SourceArn. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms
 */
export const EVENTS_DEAD_LETTER: Grant = {
  name: 'events-dead-letter',
  actions: ['sqs:SendMessage'],
  doc: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms',
};

export const CODEPIPELINE_START: Grant = {
  name: 'codepipeline-start',
  actions: ['codepipeline:StartPipelineExecution'],
  doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cfn.html',
};

/**
 * What the pipeline's CodeDeploy action calls on the application and deployment group: the service role's
 * CodeDeploy statement of the CodePipeline guide, as aws-cdk's CodeDeployServerDeployAction grants it. The action's
 * own page also lists GetDeploymentGroup, ListDeployments, ListDeploymentGroups and ListDeploymentConfigs
 * (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeDeploy.html), which neither of
 * those grants nor AWS says the action calls at run time: left out, and in the README's list to verify once.
 */
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

/**
 * The CodeDeploy agent on each deployment target downloads the revision from
 * the artifact bucket with the instance profile's credentials (the managed
 * policy AmazonEC2RoleforAWSCodeDeploy grants the same reads, on every bucket).
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html
 */
export const CODEDEPLOY_AGENT_DOWNLOAD: Grant = {
  name: 'codedeploy-agent-download',
  actions: ['s3:GetObject', 's3:GetObjectVersion'],
  doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html',
};

/**
 * The CodeDeploy agent is installed and updated from AWS's resource kit
 * bucket of the Region, `aws-codedeploy-<region>` ("Make sure to give access
 * to the Amazon S3 buckets that contain the CodeDeploy agent. Otherwise, an
 * error might occur when the CodeDeploy agent is installed or updated on the
 * instances."). Read only, and objects only: the installer and the package
 * manager fetch known keys (`latest/install`, `latest/LATEST_VERSION`, the
 * packages), nothing lists the bucket.
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html
 */
export const CODEDEPLOY_AGENT_INSTALL: Grant = {
  name: 'codedeploy-agent-install',
  actions: ['s3:GetObject'],
  doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html',
};

/**
 * Buckets that are AWS's own, not the org's, which identity policies may
 * name: the bucket-owner pin (aws:ResourceAccount, rule XS014) cannot hold
 * for them, since no account of the org owns them and AWS publishes no owner
 * account. Each with the page that names it; written as its ARN's
 * `Fn::Sub` text, as the templates write it.
 *
 * The CodeDeploy resource kit: one bucket per Region, `aws-codedeploy-<region>`
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/resource-kit.html).
 * GovCloud follows the same pattern: "aws-codedeploy-us-gov-west-1", in that
 * partition's ARNs (https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-codedeploy.html),
 * and so does China, "aws-codedeploy-cn-north-1"
 * (https://docs.amazonaws.cn/en_us/codedeploy/latest/userguide/resource-kit.html).
 */
export const AWS_OWNED_BUCKETS = {
  codeDeployResourceKit: {
    objects: 'arn:${AWS::Partition}:s3:::aws-codedeploy-${AWS::Region}/*',
    /** The bucket as the proof resolves it, for one partition and Region. */
    objectsIn: (partition: string, region: string) => `arn:${partition}:s3:::aws-codedeploy-${region}/*`,
    doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/resource-kit.html',
  },
} as const;

/** The reason recorded (Metadata.xstack.exceptions, XS014) on a statement that reads an AWS-owned bucket. */
export const AWS_OWNED_BUCKET_REASON =
  'aws-codedeploy-<region> is AWS\'s CodeDeploy resource kit bucket, not the org\'s: no account of the org owns it and AWS publishes no owner account, so aws:ResourceAccount cannot pin it; the statement reads objects of that one bucket name only, in the partition and Region of the stack';

/**
 * The revision is SSE-KMS with the artifact key: S3 asks KMS to decrypt on the
 * agent's behalf, so Decrypt through S3 only (kms:ViaService).
 */
export const KMS_DECRYPT_VIA_S3: Grant = {
  name: 'kms-decrypt-via-s3',
  actions: ['kms:Decrypt'],
  doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service',
};

/**
 * Session Manager on an instance: the SSM Agent registers the instance and
 * sends its heartbeat (ssm:UpdateInstanceInformation), then opens the
 * session's channels (SESSION_MANAGER_CHANNELS). AWS's minimal
 * instance-profile policy for Session Manager lists exactly these
 * (without session logging to S3 or KMS encryption, which xstack does not
 * configure), in place of AmazonSSMManagedInstanceCore, which also reads
 * every SSM parameter of the account and runs State Manager, Inventory and
 * Patch Manager. The Service Authorization Reference gives
 * UpdateInstanceInformation the resource type `instance`
 * (arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}), so the
 * templates name the account's instances of the Region.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
 */
export const SESSION_MANAGER_INSTANCE: Grant = {
  name: 'session-manager-instance',
  actions: ['ssm:UpdateInstanceInformation'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html',
};

/**
 * Session Manager's data and control channels, opened by the SSM Agent
 * through the ssmmessages endpoint (the rest of AWS's minimal
 * Session Manager instance-profile policy).
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
 */
export const SESSION_MANAGER_CHANNELS: Grant = {
  name: 'session-manager-channels',
  actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html',
  resourceStarReason:
    'the ssmmessages actions have no resource type in the Service Authorization Reference (Amazon Session Manager Message Gateway Service); AWS accepts only "*" for them, and the channels open only to this instance\'s own sessions',
};

/**
 * The deployment targets install and update the CodeDeploy agent through
 * Systems Manager: a State Manager association (or a one-time Run Command)
 * of the AWS-ConfigureAWSPackage document with the AWSCodeDeployAgent
 * Distributor package. The SSM Agent reads the instance's associations
 * (ListInstanceAssociations: "required for State Manager to function") and
 * reports their status (UpdateInstanceAssociationStatus, and the association
 * compliance PutComplianceItems), reads the document it runs, gets the
 * package's manifest (GetManifest) and reports the install
 * (PutConfigurePackageResult); a one-time install arrives as a command through
 * ec2messages ("required to send and receive commands"). Left out of
 * AmazonSSMManagedInstanceCore: Parameter Store reads (ssm:GetParameter(s)),
 * Patch Manager (GetDeployablePatchSnapshotForInstance), Inventory
 * (PutInventory) and the associations made with the legacy InstanceId
 * parameter (ListAssociations, UpdateAssociationStatus), none of which xstack uses.
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/codedeploy-agent-operations-install-ssm.html
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UpdateAssociationStatus.html
 */
export const SSM_AGENT_ASSOCIATIONS: Grant = {
  name: 'ssm-agent-associations',
  // DescribeAssociation is left out too: the agent calls it only for the legacy ListAssociations path
  // (aws/amazon-ssm-agent, agent/association/service/service.go).
  actions: ['ssm:ListInstanceAssociations', 'ssm:UpdateInstanceAssociationStatus', 'ssm:PutComplianceItems'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html',
};

/**
 * Of SSM_AGENT_ASSOCIATIONS, the call whose request names the association as
 * well as the instance (resource types `association` and `instance`): the
 * templates grant it on the account's associations in a statement of its own
 * (the others have no `association` type), and the proof asks it of both.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
 */
export const SSM_AGENT_ASSOCIATION_STATUS: Grant = {
  name: 'ssm-agent-association-status',
  actions: ['ssm:UpdateInstanceAssociationStatus'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UpdateInstanceAssociationStatus.html',
};

/**
 * The SSM documents the install reads, AWS-owned (no account in their ARNs).
 * The association reads the document it runs, AWS-ConfigureAWSPackage
 * (GetDocument only: agent/association/service/service.go). The package
 * itself is read through GetManifest, or, where that answers
 * ResourceNotFoundException, as a document: DescribeDocument and GetDocument
 * on AWSCodeDeployAgent (agent/plugins/configurepackage/configurepackage.go
 * selectService, documentarchive.go; aws/amazon-ssm-agent). AWS keeps its own
 * Distributor packages as document attachments ("the packages for
 * Distributor … that are owned by AWS", ssm-agent-minimum-s3-permissions).
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/distributor-working-with-packages-deploy.html
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html
 */
export const SSM_RUN_DOCUMENT: Grant = {
  name: 'ssm-run-document',
  actions: ['ssm:GetDocument'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/distributor-working-with-packages-deploy.html',
};
export const SSM_PACKAGE_DOCUMENT: Grant = {
  name: 'ssm-package-document',
  actions: ['ssm:DescribeDocument', 'ssm:GetDocument'],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html',
};

/** The two documents' ARNs. */
export const CONFIGURE_PACKAGE_DOCUMENT_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-ConfigureAWSPackage';
export const CODEDEPLOY_AGENT_PACKAGE_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWSCodeDeployAgent';
/**
 * With `deploymentTargets.cloudWatchAgent`, the CloudWatch agent by AWS's Systems Manager route, as the CodeDeploy
 * agent's: the Distributor package AmazonCloudWatchAgent (read as a document, as AWSCodeDeployAgent is, SSM_PACKAGE_DOCUMENT)
 * run by AWS-ConfigureAWSPackage, then the AmazonCloudWatch-ManageAgent document a State Manager association runs
 * (the SSM Agent reads an association's document, SSM_RUN_DOCUMENT; review s31-cwagent M2): aws/amazon-ssm-agent
 * agent/plugins/configurepackage/configurepackage.go (a package GetManifest does not know is read as a document:
 * DescribeDocument, GetDocument) and agent/association/service/service.go (GetDocument of the association's document).
 * The role's page: "One role or user enables CloudWatch agent to be installed on a server and send metrics"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html).
 */
export const CLOUDWATCH_AGENT_PACKAGE_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AmazonCloudWatchAgent';
export const CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AmazonCloudWatch-ManageAgent';
/** SSM documents of AWS's own the templates name (no account in their ARNs): `xstack explain` answers them as AWS's. */
export const AWS_OWNED_DOCUMENTS: readonly string[] = [CONFIGURE_PACKAGE_DOCUMENT_ARN, CODEDEPLOY_AGENT_PACKAGE_ARN, CLOUDWATCH_AGENT_PACKAGE_ARN, CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN];

/** What the SSM Agent calls to install a Distributor package and to receive a command: none has a resource type. */
export const SSM_AGENT_PACKAGES_AND_COMMANDS: Grant = {
  name: 'ssm-agent-packages-and-commands',
  actions: [
    'ssm:GetManifest',
    'ssm:PutConfigurePackageResult',
    'ec2messages:AcknowledgeMessage',
    'ec2messages:DeleteMessage',
    'ec2messages:FailMessage',
    'ec2messages:GetEndpoint',
    'ec2messages:GetMessages',
    'ec2messages:SendReply',
  ],
  doc: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html',
  resourceStarReason:
    'ssm:GetManifest, ssm:PutConfigurePackageResult and the ec2messages actions have no resource type in the Service Authorization Reference; AWS accepts only "*" for them',
};

/**
 * Docker's login to the account's private registry. GetAuthorizationToken
 * has no resource type in the Service Authorization Reference, so "*" is the
 * only resource IAM accepts for it; the token it returns opens only the
 * repositories the role may read (ECR_IMAGE_PULL).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
 */
export const ECR_AUTHORIZATION_TOKEN: Grant = {
  name: 'ecr-authorization-token',
  actions: ['ecr:GetAuthorizationToken'],
  doc: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html',
  resourceStarReason:
    'ecr:GetAuthorizationToken has no resource type in the Service Authorization Reference; AWS accepts only "*" for it, and the token only opens repositories the role may pull from',
};

/**
 * Pulling an image from a private repository: the manifest and the layers'
 * download URLs ("ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, and
 * ecr:GetAuthorizationToken"; the managed AmazonEC2ContainerRegistryPullOnly
 * grants the same, on every repository). No push, no listing.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html
 */
export const ECR_IMAGE_PULL: Grant = {
  name: 'ecr-image-pull',
  actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html',
};

/**
 * The repositories of one ECR namespace in this account and Region, as `arn()` text: ECR_IMAGE_PULL's actions take the
 * `repository` resource type, `arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}` (Service
 * Authorization Reference), so a pull can be held to the namespace (Names.ciImageRepositories), not every repository.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
 */
export const ecrRepositoriesUnder = (namespace: string) => `ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${namespace}/*`;

/**
 * Docker fetches an image's layers from ECR's layer bucket of the Region, an
 * AWS-owned bucket, with the URL GetDownloadUrlForLayer returns: "the
 * pre-signed Amazon S3 download URL corresponding to an image layer", signed
 * by ECR, not by the host's role (so a query-string-authenticated request,
 * s3:authType REST-QUERY-STRING). ECR's page gives the bucket as
 * `prod-<region>-starport-layer-bucket` in its "minimum Amazon S3 bucket
 * permissions" for an S3 gateway endpoint policy (its example also allows
 * s3:PutObject, for pushes, which an isolated CI host does not make).
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policy-s3-sigv4-conditions.html
 */
export const ECR_IMAGE_LAYER_DOWNLOAD: Grant = {
  name: 'ecr-image-layer-download',
  actions: ['s3:GetObject'],
  doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms',
};

/** ECR's layer bucket of the stack's Region, as the S3 gateway endpoint policy writes it, and as the proof resolves it. */
export const ECR_IMAGE_LAYERS: {
  readonly objects: string;
  readonly objectsIn: (partition: string, region: string) => string;
  readonly presigned: Readonly<Record<string, string[]>>;
} = {
  objects: 'arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*',
  objectsIn: (partition: string, region: string) => `arn:${partition}:s3:::prod-${region}-starport-layer-bucket/*`,
  /** A presigned URL authenticates in its query string. */
  presigned: { 's3:authType': ['REST-QUERY-STRING'] },
};

/**
 * The CloudWatch agent on the deployment targets (`deploymentTargets.cloudWatchAgent`): what AWS's page has an EC2
 * instance's role hold for it, the AWS managed CloudWatchAgentServerPolicy ("In the list of policies, select the check
 * box next to CloudWatchAgentServerPolicy"), written out instead of attached, the agent's own calls of it (not its
 * X-Ray actions, which the same page adds with AWSXRayDaemonWriteAccess for traces), each on what it is for: the
 * managed policy's logs statement is on "*" (every log group of the account, its retention too), which neither the
 * access proof nor the report could read. The agent writes the log groups its configuration names, creating them
 * (logs:CreateLogGroup when a group is missing; retention with `retention_in_days`): here only those named under the
 * org's log group prefix (Names.agentLogGroups).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent-commandline.html
 */
const CLOUDWATCH_AGENT_DOC = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent-commandline.html';

/**
 * A log group of the agent's: created when missing, its retention set with `retention_in_days` (the `log-group`
 * resource type). Not logs:DescribeLogStreams, which the managed policy has and the agent does not call: it learns of a
 * missing stream from CreateLogStream and PutLogEvents (aws/amazon-cloudwatch-agent plugins/outputs/cloudwatchlogs;
 * review s31-cwagent m1).
 */
export const CLOUDWATCH_AGENT_LOG_GROUPS: Grant = {
  name: 'cloudwatch-agent-log-groups',
  actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
  doc: CLOUDWATCH_AGENT_DOC,
};

/** A stream of one of the agent's log groups: created and written (the `log-stream` resource type). */
export const CLOUDWATCH_AGENT_LOG_STREAMS: Grant = {
  name: 'cloudwatch-agent-log-streams',
  actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  doc: CLOUDWATCH_AGENT_DOC,
};

/** The agent's metrics namespace when its configuration names none ("namespace", default CWAgent). */
export const CLOUDWATCH_AGENT_NAMESPACE = 'CWAgent';

/** The agent's metrics, in its namespace only (the condition key cloudwatch:namespace). */
export const CLOUDWATCH_AGENT_METRICS: Grant = {
  name: 'cloudwatch-agent-metrics',
  actions: ['cloudwatch:PutMetricData'],
  doc: CLOUDWATCH_AGENT_DOC,
  resourceStarReason:
    `a metric has no ARN: cloudwatch:PutMetricData's one resource type (dataset) is optional and not a metric's, so IAM takes "*"; held by the condition cloudwatch:namespace to the agent's namespace, ${CLOUDWATCH_AGENT_NAMESPACE}, so it cannot write another service's or team's metrics`,
};

/** What the agent reads to describe its host and to find its log groups: list actions without a resource type. */
export const CLOUDWATCH_AGENT_DESCRIBE: Grant = {
  name: 'cloudwatch-agent-describe',
  actions: ['ec2:DescribeTags', 'ec2:DescribeVolumes', 'logs:DescribeLogGroups'],
  doc: CLOUDWATCH_AGENT_DOC,
  resourceStarReason:
    'ec2:DescribeTags, ec2:DescribeVolumes and logs:DescribeLogGroups have no resource type in the Service Authorization Reference, so IAM takes only "*": the agent reads its instance\'s tags and volumes (its metrics\' dimensions) and the names and retention of the log groups it writes; none of them changes anything',
};

/** The agent's configuration in Parameter Store: "the policies created by Amazon support only files with names that start with AmazonCloudWatch-". */
export const CLOUDWATCH_AGENT_CONFIG: Grant = {
  name: 'cloudwatch-agent-config',
  actions: ['ssm:GetParameter'],
  doc: CLOUDWATCH_AGENT_DOC,
};

/**
 * VPC Flow Logs writes a VPC's flow records into a CloudWatch Logs group, with the flow log's role. AWS's page gives
 * the role's minimum: "The IAM policy that's attached to your IAM role must include at least the following
 * permissions": logs:CreateLogGroup, CreateLogStream, PutLogEvents, DescribeLogGroups, DescribeLogStreams
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html). No page says which of them the
 * delivery calls when the group exists, and a refused one fails nowhere visible (the flow log is created, its
 * DeliverLogsStatus reads FAILED, "Access error"): all five are granted, each on the narrowest resource IAM takes for
 * it (review s21-tpl T1). These four on the CI network's own log group (its ARN, which covers its streams).
 */
export const FLOW_LOGS_DELIVERY: Grant = {
  name: 'flow-logs-delivery',
  actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
  doc: 'https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html',
};

/** The fifth of that minimum: a list of the account's log groups, which IAM authorizes on "*" only. */
export const FLOW_LOGS_FIND_GROUP: Grant = {
  name: 'flow-logs-find-group',
  actions: ['logs:DescribeLogGroups'],
  doc: 'https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html',
  resourceStarReason:
    'logs:DescribeLogGroups supports no resource-level permissions (the Service Authorization Reference lists no resource type for it; AWS accepts only "*"); AWS\'s flow-log role page lists it in the minimum the role must hold. It reads log group names and settings, no log data',
};

/** CodeDeploy finds the EC2 instances of a deployment group by their tags. */
export const CODEDEPLOY_EC2_TARGETS: Grant = {
  name: 'codedeploy-ec2-targets',
  actions: ['ec2:DescribeInstances', 'ec2:DescribeInstanceStatus', 'tag:GetResources'],
  doc: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html',
  resourceStarReason:
    'ec2:DescribeInstances, ec2:DescribeInstanceStatus and tag:GetResources support no resource-level permissions; AWS accepts only "*" for them',
};

/**
 * What CI reads of a repository, read-only. A clone or fetch needs GitPull alone ("GitPull … apply to any Git client
 * command where data is retrieved from CodeCommit", the permissions reference below). The four API reads are kept on
 * purpose for CI tools that look a branch or commit up through CodeCommit's API (the AWS CLI, SDKs, branch discovery in
 * build tools), which the CI network's `codecommit` endpoint serves (src/services/vpc-endpoints.ts): repository and
 * branch metadata, no file content, on the org's repositories only (review s15-needs F7).
 */
export const CODECOMMIT_PULL: Grant = {
  name: 'codecommit-pull',
  actions: ['codecommit:GitPull', 'codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetRepository', 'codecommit:ListBranches'],
  doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/auth-and-access-control-permissions-reference.html',
};

/**
 * A developer's git and console work on the repositories: read, push, branches, pull requests and their review. No
 * repository administration. The console also checks permission-only actions, which no API call names: code browsing
 * (GetTree, GetObjectIdentifier, GetReferences, GetCommitHistory) and the pull-request pages (BatchGetPullRequests,
 * GetCommitsFromMergeBase, GetMergeCommit, the merge conflicts, comments and approval states), all read-only
 * ("This is an IAM policy permission only, not an API action that you can call",
 * https://docs.aws.amazon.com/codecommit/latest/userguide/auth-and-access-control-permissions-reference.html).
 */
export const CODECOMMIT_DEVELOPER: Grant = {
  name: 'codecommit-developer',
  actions: [
    'codecommit:GetTree',
    'codecommit:GetObjectIdentifier',
    'codecommit:GetReferences',
    'codecommit:GetCommitHistory',
    'codecommit:BatchGetPullRequests',
    'codecommit:GetCommitsFromMergeBase',
    'codecommit:GetMergeCommit',
    'codecommit:DescribeMergeConflicts',
    'codecommit:BatchDescribeMergeConflicts',
    'codecommit:GetComment',
    'codecommit:GetCommentsForComparedCommit',
    'codecommit:GetPullRequestApprovalStates',
    'codecommit:EvaluatePullRequestApprovalRules',
    'codecommit:GetPullRequestOverrideState',
    'codecommit:GitPull',
    'codecommit:GitPush',
    'codecommit:GetRepository',
    'codecommit:BatchGetRepositories',
    'codecommit:GetBranch',
    'codecommit:ListBranches',
    'codecommit:CreateBranch',
    'codecommit:DeleteBranch',
    'codecommit:GetCommit',
    'codecommit:BatchGetCommits',
    'codecommit:CreateCommit',
    'codecommit:GetDifferences',
    'codecommit:GetFile',
    'codecommit:GetFolder',
    'codecommit:GetBlob',
    'codecommit:PutFile',
    'codecommit:CreatePullRequest',
    'codecommit:GetPullRequest',
    'codecommit:ListPullRequests',
    'codecommit:DescribePullRequestEvents',
    'codecommit:UpdatePullRequestTitle',
    'codecommit:UpdatePullRequestDescription',
    'codecommit:UpdatePullRequestStatus',
    'codecommit:GetCommentsForPullRequest',
    'codecommit:PostCommentForPullRequest',
    // Review (review s18-access M2): approving (without it a rule's approvals can never be met by the org's developers),
    // replies, comments on compared commits, reactions, a file's history. An approver is the role session, whose name
    // the caller picks, so an approval rule is no two-person check on its own: the maintainer role gates protected
    // branches (README "Who releases").
    // Editing or deleting a comment is its author's alone ("Only comment authors can modify or delete their comments",
    // CommentNotCreatedByCallerException, https://docs.aws.amazon.com/codecommit/latest/APIReference/API_UpdateComment.html).
    // Overriding approval rules, and writing rules, stay out: they undo review. Approving:
    // https://docs.aws.amazon.com/codecommit/latest/APIReference/API_UpdatePullRequestApprovalState.html
    'codecommit:UpdatePullRequestApprovalState',
    'codecommit:PostCommentReply',
    'codecommit:PostCommentForComparedCommit',
    'codecommit:UpdateComment',
    'codecommit:DeleteCommentContent',
    'codecommit:GetCommentReactions',
    'codecommit:PutCommentReaction',
    'codecommit:ListFileCommitHistory',
    'codecommit:GetMergeConflicts',
    'codecommit:GetMergeOptions',
    'codecommit:MergePullRequestByFastForward',
    'codecommit:MergePullRequestBySquash',
    'codecommit:MergePullRequestByThreeWay',
  ],
  doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/auth-and-access-control-permissions-reference.html',
};

/** The console's repository list. */
export const CODECOMMIT_LIST_REPOSITORIES: Grant = {
  name: 'codecommit-list-repositories',
  actions: ['codecommit:ListRepositories'],
  doc: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html',
  resourceStarReason:
    'the console\'s repository list (git needs none of it): codecommit:ListRepositories supports no resource-level permissions, so AWS accepts only "*", and it shows the name of every repository of the account; access.developers.listRepositories: false leaves it out',
};

/**
 * Writes that change a branch; denied on protected branches through codecommit:References. Every CodeCommit action
 * the Service Authorization Reference lists at the Write level with that key (a test holds the list to it): the API's
 * CreateBranch too, which would otherwise make a protected branch that does not exist yet at any commit, and with it
 * run its pipeline. https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html
 */
export const CODECOMMIT_BRANCH_WRITES: Grant = {
  name: 'codecommit-branch-writes',
  actions: [
    'codecommit:GitPush',
    'codecommit:CreateBranch',
    'codecommit:DeleteBranch',
    'codecommit:PutFile',
    'codecommit:DeleteFile',
    'codecommit:CreateCommit',
    'codecommit:CreateUnreferencedMergeCommit',
    'codecommit:MergeBranchesByFastForward',
    'codecommit:MergeBranchesBySquash',
    'codecommit:MergeBranchesByThreeWay',
    'codecommit:MergePullRequestByFastForward',
    'codecommit:MergePullRequestBySquash',
    'codecommit:MergePullRequestByThreeWay',
  ],
  doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html',
};

/**
 * Services whose role assumption may not carry aws:SourceAccount/aws:SourceArn,
 * so a condition on them could lock the service out; their trusts go without,
 * each with a recorded reason. EC2 puts neither into the request when it
 * assumes an instance role (prowler-cloud/prowler#2810 and #7021). CodePipeline
 * has no confused-deputy page, and its documented service-role trust carries
 * no condition (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-service-role-cli.html).
 */
export const SERVICES_WITHOUT_SOURCE_CONTEXT: ReadonlySet<string> = new Set(['ec2.amazonaws.com', 'codepipeline.amazonaws.com']);
/**
 * Said of who EC2 gives the role to, not of who may use it: whoever controls an instance with the profile acts as the
 * role, as any process there "retrieves the security credentials provided by the role from the instance metadata"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html); the audit
 * report names those operators (src/audit/scope.ts).
 */
export const EC2_TRUST_REASON =
  'EC2 sends no aws:SourceAccount/aws:SourceArn when it assumes an instance role; EC2 gives the role only to an instance profile of this account, and whoever controls an instance with that profile (a session, a command, the instance metadata) acts as it';

