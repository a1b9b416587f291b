/**
 * What each AWS service needs for one pipeline in one environment, as data:
 * one entry per path (who, which actions, on what, in which request
 * context), each with the AWS page it comes from. The templates grant these
 * bundles (src/iam/grants.ts) and the access proof (src/audit/paths.ts)
 * requires every entry, on both sides, for every pipeline and environment, so
 * a grant that goes missing fails the compile rather than the first run.
 */
import {
  CODECOMMIT_BRANCH_WRITES,
  CODECOMMIT_DEVELOPER,
  CODECOMMIT_PULL,
  ARTIFACT_BUCKET_LIST,
  ARTIFACT_BUCKET_READ,
  ARTIFACT_OBJECT_READ_WRITE,
  ARTIFACT_OBJECT_WRITE,
  CODECOMMIT_SOURCE_ACTION,
  CODEDEPLOY_AGENT_DOWNLOAD,
  CODEPIPELINE_START,
  EVENTS_PUT,
  KMS_ARTIFACT_DATA_KEY,
  KMS_DECRYPT_VIA_S3,
  STS_ASSUME_ROLE,
  STS_ASSUME_ROLE_CHAINED,
  type Grant,
} from '../iam/grants';

export type Principal = { kind: 'aws'; arn: string } | { kind: 'service'; service: string };

/** Everything a need names, resolved for one pipeline in one pipeline account. */
export interface PipelineEnvironment {
  partition: string;
  region: string;
  sourceAccount: string;
  pipelineAccount: string;
  repositoryArn: string;
  pipelineArn: string;
  artifactBucketArn: string;
  /** The source artifact this pipeline writes (an object of the artifact bucket). */
  sourceArtifact: string;
  artifactKeyArn: string;
  artifactKeyAlias: string;
  pipelineRole: string;
  sourceRole: string;
  forwarderRole: string;
  forwardingRuleArn: string;
  triggerRole: string;
  triggerRuleArn: string;
  deployTargetRole: string;
}

export interface ServiceNeed {
  /** Stable id, used by tests and the report. */
  id: string;
  /** What the path is for, in words. */
  purpose: string;
  /** The AWS page that says the service needs this. */
  doc: string;
  grant: Grant;
  principal: (e: PipelineEnvironment) => Principal;
  resource: (e: PipelineEnvironment) => string;
  /** Whose account the resource is in. */
  side: 'source' | 'pipeline';
  context?: (e: PipelineEnvironment) => Record<string, string[]>;
  /**
   * A need of the deployment targets' instance role: one path per role when the
   * org names several existing ones; `trust` marks the role's trust, which is
   * the org's own (outside the templates) when the roles are existing ones.
   */
  deployTarget?: 'trust' | 'grant';
}

const role = (arn: string): Principal => ({ kind: 'aws', arn });
const service = (name: string): Principal => ({ kind: 'service', service: name });
/** The source artifact is written SSE-KMS: the bucket policy refuses anything else. One object for every path (a large org has thousands). */
const ENCRYPTED_WITH_KMS = { 's3:x-amz-server-side-encryption': ['aws:kms'] };
const encryptedWithKms = () => ENCRYPTED_WITH_KMS;

export const PIPELINE_NEEDS: readonly ServiceNeed[] = [
  {
    id: 'codepipeline-service-role',
    purpose: 'CodePipeline runs as the pipeline role',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-service-role-cli.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('codepipeline.amazonaws.com'),
    resource: (e) => e.pipelineRole,
    side: 'pipeline',
  },
  {
    id: 'source-action-role',
    purpose: 'the pipeline role assumes the source role',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html',
    grant: STS_ASSUME_ROLE,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.sourceRole,
    side: 'source',
  },
  {
    id: 'source-action-repository',
    purpose: 'the source role reads the repository',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
    grant: CODECOMMIT_SOURCE_ACTION,
    principal: (e) => role(e.sourceRole),
    resource: (e) => e.repositoryArn,
    side: 'source',
  },
  {
    id: 'source-action-artifact',
    purpose: 'the source role writes the source artifact',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html',
    grant: ARTIFACT_OBJECT_WRITE,
    principal: (e) => role(e.sourceRole),
    resource: (e) => e.sourceArtifact,
    side: 'pipeline',
    context: encryptedWithKms,
  },
  {
    id: 'source-action-bucket',
    purpose: 'the source role lists the artifact bucket',
    doc: ARTIFACT_BUCKET_LIST.doc,
    grant: ARTIFACT_BUCKET_LIST,
    principal: (e) => role(e.sourceRole),
    resource: (e) => e.artifactBucketArn,
    side: 'pipeline',
  },
  {
    id: 'source-action-key',
    purpose: 'the source role encrypts with the artifact key',
    doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/services-s3.html#s3-customer-cmk-policy',
    grant: KMS_ARTIFACT_DATA_KEY,
    principal: (e) => role(e.sourceRole),
    resource: (e) => e.artifactKeyArn,
    side: 'pipeline',
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`], 'kms:ResourceAliases': [e.artifactKeyAlias] }),
  },
  {
    id: 'artifact-store-objects',
    purpose: 'the pipeline role reads and writes artifacts',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html#how-to-custom-role',
    grant: ARTIFACT_OBJECT_READ_WRITE,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.sourceArtifact,
    side: 'pipeline',
    context: encryptedWithKms,
  },
  {
    id: 'artifact-store-bucket',
    purpose: 'the pipeline role reads the artifact bucket\'s settings',
    doc: ARTIFACT_BUCKET_READ.doc,
    grant: ARTIFACT_BUCKET_READ,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.artifactBucketArn,
    side: 'pipeline',
  },
  {
    id: 'artifact-store-key',
    purpose: 'the pipeline role uses the artifact key',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/S3-artifact-encryption.html',
    grant: KMS_ARTIFACT_DATA_KEY,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.artifactKeyArn,
    side: 'pipeline',
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`], 'kms:ResourceAliases': [e.artifactKeyAlias] }),
  },
  {
    id: 'event-forwarding-bus',
    purpose: 'the source account forwards branch events to the pipeline account',
    doc: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html',
    grant: EVENTS_PUT,
    principal: (e) => role(e.forwarderRole),
    resource: (e) => `arn:${e.partition}:events:${e.region}:${e.pipelineAccount}:event-bus/default`,
    side: 'pipeline',
    context: () => ({ 'events:source': ['aws.codecommit'] }),
  },
  {
    id: 'event-forwarding-role',
    purpose: 'EventBridge runs the forwarding rules as the forwarder role',
    doc: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('events.amazonaws.com'),
    resource: (e) => e.forwarderRole,
    side: 'source',
    context: (e) => ({ 'aws:SourceAccount': [e.sourceAccount], 'aws:SourceArn': [e.forwardingRuleArn] }),
  },
  {
    id: 'trigger-role',
    purpose: 'EventBridge runs the trigger as the trigger role',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cfn.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('events.amazonaws.com'),
    resource: (e) => e.triggerRole,
    side: 'pipeline',
    context: (e) => ({ 'aws:SourceAccount': [e.pipelineAccount], 'aws:SourceArn': [e.triggerRuleArn] }),
  },
  {
    id: 'trigger-start',
    purpose: 'the trigger role starts the pipeline',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cfn.html',
    grant: CODEPIPELINE_START,
    principal: (e) => role(e.triggerRole),
    resource: (e) => e.pipelineArn,
    side: 'pipeline',
  },
  {
    id: 'deploy-target-instance-role',
    purpose: 'EC2 runs the deployment targets as the instance role',
    doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('ec2.amazonaws.com'),
    resource: (e) => e.deployTargetRole,
    side: 'pipeline',
    deployTarget: 'trust',
  },
  {
    id: 'codedeploy-agent-download',
    purpose: 'the CodeDeploy agent downloads the revision',
    doc: CODEDEPLOY_AGENT_DOWNLOAD.doc,
    grant: CODEDEPLOY_AGENT_DOWNLOAD,
    principal: (e) => role(e.deployTargetRole),
    resource: (e) => e.sourceArtifact,
    side: 'pipeline',
    deployTarget: 'grant',
  },
  {
    id: 'codedeploy-agent-decrypt',
    purpose: 'the CodeDeploy agent decrypts the revision through S3',
    doc: KMS_DECRYPT_VIA_S3.doc,
    grant: KMS_DECRYPT_VIA_S3,
    principal: (e) => role(e.deployTargetRole),
    resource: (e) => e.artifactKeyArn,
    side: 'pipeline',
    deployTarget: 'grant',
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`] }),
  },
];

/**
 * Developers and CI reach the repositories with git-remote-codecommit, which
 * signs git's requests with the role it assumes through an AWS CLI profile
 * (role_arn, source_profile or credential_source):
 * https://docs.aws.amazon.com/codecommit/latest/userguide/setting-up-git-remote-codecommit.html
 * Everything a need names, resolved for one source account (and, per entry,
 * one repository, one developer role pattern or one protected branch).
 */
export interface AccessEnvironment {
  sourceAccount: string;
  repositoryArn: string;
  ciInstanceRole: string;
  ciReaderRole: string;
  developerRole: string;
  /** A role the developer trust admits (a sample of one of its patterns). */
  developerSource: string;
  protectedBranch: string;
}

export interface AccessNeed {
  id: string;
  who: 'ci' | 'developers';
  /** What a path of this entry covers: one per source account, repository, developer role, or protected branch. */
  per: 'source account' | 'repository' | 'developer role' | 'protected branch';
  doc: string;
  grant: Grant;
  principal: (e: AccessEnvironment) => Principal;
  resource: (e: AccessEnvironment) => string;
  context?: (e: AccessEnvironment) => Record<string, string[]>;
  /** Must be refused (an explicit Deny), not allowed. */
  denied?: boolean;
  /** The principal's own permissions are outside the templates (an IAM Identity Center or federated role). */
  identityManagedElsewhere?: boolean;
}

const GIT_REMOTE_CODECOMMIT = 'https://docs.aws.amazon.com/codecommit/latest/userguide/setting-up-git-remote-codecommit.html';

export const ACCESS_NEEDS: readonly AccessNeed[] = [
  {
    id: 'ci-assume-reader',
    who: 'ci',
    per: 'source account',
    doc: GIT_REMOTE_CODECOMMIT,
    grant: STS_ASSUME_ROLE,
    principal: (e) => role(e.ciInstanceRole),
    resource: (e) => e.ciReaderRole,
  },
  {
    id: 'ci-pull',
    who: 'ci',
    per: 'repository',
    doc: CODECOMMIT_PULL.doc,
    grant: CODECOMMIT_PULL,
    principal: (e) => role(e.ciReaderRole),
    resource: (e) => e.repositoryArn,
  },
  {
    id: 'developers-assume',
    who: 'developers',
    per: 'developer role',
    doc: GIT_REMOTE_CODECOMMIT,
    grant: STS_ASSUME_ROLE_CHAINED,
    principal: (e) => role(e.developerSource),
    resource: (e) => e.developerRole,
    context: () => ({ 'aws:MultiFactorAuthPresent': ['true'] }),
    identityManagedElsewhere: true,
  },
  {
    id: 'developers-work',
    who: 'developers',
    per: 'repository',
    doc: CODECOMMIT_DEVELOPER.doc,
    grant: CODECOMMIT_DEVELOPER,
    principal: (e) => role(e.developerRole),
    resource: (e) => e.repositoryArn,
    context: () => ({ 'codecommit:References': ['refs/heads/feature/x'] }),
  },
  {
    id: 'developers-protected-branch',
    who: 'developers',
    per: 'protected branch',
    // https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html
    doc: 'https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html',
    grant: CODECOMMIT_BRANCH_WRITES,
    principal: (e) => role(e.developerRole),
    resource: (e) => e.repositoryArn,
    context: (e) => ({ 'codecommit:References': [`refs/heads/${e.protectedBranch}`] }),
    denied: true,
  },
];
