/**
 * What each AWS service needs for one pipeline in one environment, as data:
 * one entry per path (who, which actions, on what, in which request
 * context), each with the AWS page it comes from. The templates grant these
 * bundles (src/iam/grants.ts) and the access proof (src/audit/paths.ts)
 * requires every entry, on both sides, for every pipeline and environment, so
 * a grant that goes missing fails the compile rather than the first run.
 */
import {
  CODECOMMIT_BRANCH_EVENT,
  CLOUDWATCH_AGENT_CONFIG,
  CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN,
  CLOUDWATCH_AGENT_PACKAGE_ARN,
  CLOUDWATCH_AGENT_DESCRIBE,
  CLOUDWATCH_AGENT_LOG_GROUPS,
  CLOUDWATCH_AGENT_LOG_STREAMS,
  CLOUDWATCH_AGENT_METRICS,
  CLOUDWATCH_AGENT_NAMESPACE,
  ciAssumeReaderGrant,
  EC2_INSTANCE_SOURCE_VPC,
  EC2_ROLE_DELIVERY,
  IMDSV2_ROLE_DELIVERY,
  CODECOMMIT_BRANCH_WRITES,
  CODECOMMIT_DEVELOPER,
  CODECOMMIT_PULL,
  ARTIFACT_BUCKET_LIST,
  ARTIFACT_BUCKET_READ,
  ARTIFACT_OBJECT_READ_WRITE,
  ARTIFACT_OBJECT_WRITE,
  CODECOMMIT_SOURCE_ACTION,
  AWS_OWNED_BUCKETS,
  CODEDEPLOY_AGENT_DOWNLOAD,
  CODEDEPLOY_AGENT_INSTALL,
  CODEDEPLOY_EC2_TARGETS,
  CODEDEPLOY_PIPELINE_ACTION,
  CODECOMMIT_LIST_REPOSITORIES,
  FLOW_LOGS_DELIVERY,
  FLOW_LOGS_FIND_GROUP,
  KMS_KEY_ADMINISTRATION,
  S3_ACCESS_LOG_DELIVERY,
  CODEPIPELINE_START,
  ECR_AUTHORIZATION_TOKEN,
  ECR_IMAGE_PULL,
  EVENTS_DEAD_LETTER,
  EVENTS_PUT,
  KMS_ARTIFACT_DATA_KEY,
  KMS_DECRYPT_VIA_S3,
  ECR_IMAGE_LAYER_DOWNLOAD,
  ECR_IMAGE_LAYERS,
  SESSION_MANAGER_CHANNELS,
  SESSION_MANAGER_INSTANCE,
  CODEDEPLOY_AGENT_PACKAGE_ARN,
  CONFIGURE_PACKAGE_DOCUMENT_ARN,
  SSM_AGENT_ASSOCIATION_STATUS,
  SSM_AGENT_ASSOCIATIONS,
  SSM_AGENT_PACKAGES_AND_COMMANDS,
  SSM_PACKAGE_DOCUMENT,
  SSM_RUN_DOCUMENT,
  STS_ASSUME_ROLE,
  STS_ASSUME_ROLE_CHAINED,
  STS_SET_SOURCE_IDENTITY,
  STS_TAG_SESSION,
  type Grant,
} from '../iam/grants';
import { listsKey, serviceData } from '../checks/iam-data';
import { OTHER_ACCOUNT, type CiRuntime } from '../org/model';

/** `any`: a request whose signer is not the org's (a URL an AWS service presigns), asked of a network path only. */
export type Principal = { kind: 'aws'; arn: string } | { kind: 'service'; service: string } | { kind: 'any' };

/** Everything a need names, resolved for one pipeline in one pipeline account. */
export interface PipelineEnvironment {
  partition: string;
  region: string;
  /** The org's prefix, which starts every name the org gives (naming.ts). */
  prefix: string;
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
  /** The dead-letter queue of the source account's forwarding rules, and of the pipeline account's trigger rules (src/cfn/dead-letter.ts). */
  sourceDeadLetterQueueArn: string;
  pipelineDeadLetterQueueArn: string;
  deployTargetRole: string;
  /** CodeDeploy's service role of this pipeline, and its application, deployment group and deployment configuration. */
  codeDeployRole: string;
  codeDeployApplicationArn: string;
  deploymentGroupArn: string;
  deploymentConfigArn: string;
  /** The CodeDeploy agent's installer in AWS's resource kit bucket of the Region (an object of an AWS-owned bucket). */
  agentInstaller: string;
}

/** An entry of any of the tables below: one path, resolved against `E`, with the AWS page it comes from. */
export interface Need<E> {
  /** Stable id, used by tests and the report. */
  id: string;
  /** The AWS page that says the service (or person) needs this. */
  doc: string;
  grant: Grant;
  principal: (e: E) => Principal;
  resource: (e: E) => string;
  context?: (e: E) => Record<string, string[]>;
  /**
   * Must be refused, not allowed: an explicit Deny's work, or what a used statement's condition is there to keep out
   * (the converse check cannot see a condition taken away).
   */
  denied?: boolean;
  /**
   * The principal's own permissions are outside the templates (an IAM Identity Center or federated role, or someone
   * else's role): the proof takes its identity side as allowing everything, so only the resource side can refuse.
   */
  identityManagedElsewhere?: boolean;
  /**
   * The resource's policy is outside the templates (AWS's own bucket, another key, a bucket of the artifact bucket's
   * name in another account): the proof takes it as allowing everything, so only the identity side can refuse.
   */
  resourceManagedElsewhere?: boolean;
}

/** What a sample of someone else's role, rule or deployment group ends in. */
export const SOMEONE_ELSES = 'someone-elses';

/**
 * Someone else's role beside one of the org's, in the same account and path: what a trust, key, bucket or bus policy
 * that admits an account root narrowed by `aws:PrincipalArn` to the org's role must keep out. Its name is the org's
 * role's with `-someone-elses` after it (`acme-pipeline-someone-elses`), so that it fits every pattern of the name's
 * literal start (review s59-proof M2): ArnEquals `role/acme-pipeline` widened to ArnLike `role/acme-*` (or
 * `role/acme-pipeline*`) admits it, and the refusal asked with it fails the compile. ArnLike: "Each of the six
 * colon-delimited components of the ARN is checked separately and each can include multi-character match wildcards"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN);
 * aws:PrincipalArn of a role's session is the role's ARN, so a pattern admits every role whose name fits it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
 * Never a role the org makes: naming.ts's role names that take a pipeline's name end in `-codedeploy` or `-trigger`,
 * the source roles in an account id, and the others are fixed. A sample past IAM's 64 characters (a long prefix) is
 * a role no one can make: its refusal then guards the condition's breadth only. A name that ends in an account id
 * (`acme-source-222222222222`) takes it before the id (`acme-source-someone-elses-222222222222`, still no source role:
 * theirs are `<prefix>-source-` and an id alone), so the id stays at the end, where the proof by class reads it as a key
 * (symbolic.ts isPlainKey).
 */
export const someoneElsesRole = (arn: string) => arn.replace(/(-\d{12})?$/, (id) => `-${SOMEONE_ELSES}${id}`);

/**
 * An EventBridge rule of the account that is not the org's (naming.ts: forwarding rules are `<prefix>-codecommit-fwd-…`,
 * trigger rules `<prefix>-<pipeline>-trigger`), named to fit the org's prefix (`rule/acme-someone-elses`): what a
 * condition `aws:SourceArn` on the org's rules (an exact rule, or a pattern such as `rule/acme-codecommit-fwd-*`) must
 * keep out, and what the condition widened to `rule/<prefix>-*` admits. `rule` is any rule ARN of the account.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
 */
export const someoneElsesRule = (rule: string, prefix: string) => rule.replace(/[^/]+$/, `${prefix}-${SOMEONE_ELSES}`);

/** An account outside the org, for what must be refused from anywhere else (the org file may not name it: org/model.ts). */
export { OTHER_ACCOUNT };

/** The account a path names for a resource of AWS's own (AWS publishes no owner account): never an account of the org. */
export const AWS_OWNED_ACCOUNT = 'aws';

const PRINCIPAL_ARN_DOC = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn';
/** "Bucket owner condition ensures that the buckets you use in your S3 operations belong to the AWS accounts that you expect." */
const RESOURCE_ACCOUNT_DOC = 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html';

/** An entry that says what the path is for, in words (the access table's are worded per source account, src/audit/paths.ts). */
export interface PurposedNeed<E> extends Need<E> {
  purpose: string;
}

export interface ServiceNeed extends PurposedNeed<PipelineEnvironment> {
  /**
   * Whose account the resource is in: `aws` for a resource of AWS's own, whose policy is outside the org file (the
   * identity side is proved); `outside` for one in an account outside the org (OTHER_ACCOUNT), with a name of ours.
   */
  side: 'source' | 'pipeline' | 'aws' | 'outside';
  /**
   * Asked once for each pipeline account (or class of them), or each source role, rather than for each of their
   * pipelines: a refusal that names no pipeline's resource holds for all of them alike.
   */
  onceFor?: 'pipeline account' | 'source role';
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
/** A part of a multipart upload: s3:PutObject, the one action of ARTIFACT_OBJECT_WRITE that UploadPart asks. */
const ARTIFACT_OBJECT_PART = subsetOf(ARTIFACT_OBJECT_WRITE, 'artifact-object-part', ['s3:PutObject']);

/**
 * What a dead-letter queue of an account's event rules must let in and keep out (src/cfn/dead-letter.ts): EventBridge
 * sending for the rule, and neither EventBridge sending for another rule of the account (the confused deputy the
 * aws:SourceArn condition is there for) nor a principal of another account. Each is asked once for each source role or
 * pipeline account, with its first pipeline's rule: the queue's one statement names the account's rules by their name
 * pattern, so one rule answers for all of them (that every rule's name fits the pattern is tested on the templates),
 * and an org of teams is spared a path per pipeline and environment.
 */
function deadLetterNeeds(q: {
  id: string;
  rules: string;
  side: 'source' | 'pipeline';
  queue: (e: PipelineEnvironment) => string;
  rule: (e: PipelineEnvironment) => string;
  onceFor: NonNullable<ServiceNeed['onceFor']>;
}): ServiceNeed[] {
  // What AWS's DLQ page shows EventBridge sending: the rule's ARN (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html#eb-dlq-perms).
  const fromRule = (rule: (e: PipelineEnvironment) => string) => (e: PipelineEnvironment) => ({ 'aws:SourceArn': [rule(e)] });
  return [
    {
      id: q.id,
      purpose: `EventBridge puts what ${q.rules} could not deliver in the account's dead-letter queue`,
      doc: EVENTS_DEAD_LETTER.doc,
      grant: EVENTS_DEAD_LETTER,
      principal: () => service('events.amazonaws.com'),
      resource: q.queue,
      side: q.side,
      onceFor: q.onceFor,
      context: fromRule(q.rule),
    },
    {
      id: `${q.id}-other-rule`,
      // The sample rule's name is outside the queue's pattern: a rule of the account named to fit it (anyone's) is
      // admitted by the one ArnLike statement, which the purpose says rather than claim more (review s50-audit n4).
      // The sample starts with the prefix, so the pattern widened to `rule/<prefix>-*` admits it (review s59-proof M2).
      purpose: "EventBridge may not put the events of a rule outside the queue's rule-name pattern in the dead-letter queue (one of the account's rules named to fit it may)",
      doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html',
      grant: EVENTS_DEAD_LETTER,
      principal: () => service('events.amazonaws.com'),
      resource: q.queue,
      side: q.side,
      onceFor: q.onceFor,
      context: fromRule((e) => someoneElsesRule(q.rule(e), e.prefix)),
      denied: true,
    },
    {
      id: `${q.id}-other-account`,
      purpose: 'a principal of another account may not send to the dead-letter queue',
      doc: EVENTS_DEAD_LETTER.doc,
      grant: EVENTS_DEAD_LETTER,
      principal: (e) => role(`arn:${e.partition}:iam::${OTHER_ACCOUNT}:role/someone-elses`),
      resource: q.queue,
      side: q.side,
      onceFor: q.onceFor,
      identityManagedElsewhere: true,
      denied: true,
    },
  ];
}

/** The forwarder role putting on the pipeline account's bus what the bus policy's event conditions must refuse. */
function busEventRefused(id: string, what: string, context: Record<string, string[]>): ServiceNeed[] {
  return [
    {
      id,
      purpose: `the forwarder role may not put ${what} on the pipeline account's bus`,
      doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html',
      grant: EVENTS_PUT,
      principal: (e) => role(e.forwarderRole),
      resource: (e) => `arn:${e.partition}:events:${e.region}:${e.pipelineAccount}:event-bus/default`,
      side: 'pipeline',
      context: () => context,
      onceFor: 'source role',
      denied: true,
    },
  ];
}

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
    id: 'source-action-role-other-role',
    purpose: 'another role of the pipeline account may not assume the source role',
    doc: PRINCIPAL_ARN_DOC,
    grant: STS_ASSUME_ROLE,
    principal: (e) => role(someoneElsesRole(e.pipelineRole)),
    resource: (e) => e.sourceRole,
    side: 'source',
    onceFor: 'source role',
    identityManagedElsewhere: true,
    denied: true,
  },
  {
    id: 'source-action-repository',
    purpose: 'the source role reads the repository',
    doc: 'https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html',
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
    id: 'source-action-artifact-other-role',
    purpose: "another role of the source account may not write the pipeline account's artifacts",
    doc: PRINCIPAL_ARN_DOC,
    grant: ARTIFACT_OBJECT_WRITE,
    principal: (e) => role(someoneElsesRole(e.sourceRole)),
    resource: (e) => e.sourceArtifact,
    side: 'pipeline',
    context: encryptedWithKms,
    onceFor: 'source role',
    identityManagedElsewhere: true,
    denied: true,
  },
  {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html: a part names no server-side encryption (the
    // upload's first request does), so the bucket policy must let a PutObject without the header through.
    id: 'source-action-artifact-part',
    purpose: 'the source role uploads a part of the source artifact, which names no encryption',
    doc: 'https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html',
    grant: ARTIFACT_OBJECT_PART,
    principal: (e) => role(e.sourceRole),
    resource: (e) => e.sourceArtifact,
    side: 'pipeline',
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
    id: 'source-action-bucket-other-role',
    purpose: "another role of the source account may not list the pipeline account's artifact bucket",
    doc: PRINCIPAL_ARN_DOC,
    grant: ARTIFACT_BUCKET_LIST,
    principal: (e) => role(someoneElsesRole(e.sourceRole)),
    resource: (e) => e.artifactBucketArn,
    side: 'pipeline',
    onceFor: 'source role',
    identityManagedElsewhere: true,
    denied: true,
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
    id: 'source-action-key-other-role',
    purpose: "another role of the source account may not use the pipeline account's artifact key",
    doc: PRINCIPAL_ARN_DOC,
    grant: KMS_ARTIFACT_DATA_KEY,
    principal: (e) => role(someoneElsesRole(e.sourceRole)),
    resource: (e) => e.artifactKeyArn,
    side: 'pipeline',
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`], 'kms:ResourceAliases': [e.artifactKeyAlias] }),
    onceFor: 'source role',
    identityManagedElsewhere: true,
    denied: true,
  },
  {
    // The source role's grant names every key of the pipeline account (the key's id is not known before it exists) and
    // narrows it to the artifact key by its alias: another key, whatever its own policy lets the source account do, is
    // refused by the identity side.
    id: 'source-action-key-other-key',
    purpose: 'the source role may not use another key of the pipeline account',
    doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html',
    grant: KMS_ARTIFACT_DATA_KEY,
    principal: (e) => role(e.sourceRole),
    resource: (e) => `arn:${e.partition}:kms:${e.region}:${e.pipelineAccount}:key/someone-elses`,
    side: 'pipeline',
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`], 'kms:ResourceAliases': ['alias/someone-elses'] }),
    onceFor: 'source role',
    resourceManagedElsewhere: true,
    denied: true,
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
    // Bucket names are global: a bucket of the artifact bucket's name in another account (before it exists, or after it
    // is deleted) is refused by aws:ResourceAccount, whatever its own policy lets in.
    id: 'artifact-store-objects-other-account',
    purpose: "the pipeline role may not read or write artifacts in a bucket of the artifact bucket's name owned by another account",
    doc: RESOURCE_ACCOUNT_DOC,
    grant: ARTIFACT_OBJECT_READ_WRITE,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.sourceArtifact,
    side: 'outside',
    context: encryptedWithKms,
    onceFor: 'pipeline account',
    resourceManagedElsewhere: true,
    denied: true,
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
    id: 'artifact-store-bucket-other-account',
    purpose: "the pipeline role may not read the settings of a bucket of the artifact bucket's name owned by another account",
    doc: RESOURCE_ACCOUNT_DOC,
    grant: ARTIFACT_BUCKET_READ,
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.artifactBucketArn,
    side: 'outside',
    onceFor: 'pipeline account',
    resourceManagedElsewhere: true,
    denied: true,
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
    context: () => ({ 'events:source': [CODECOMMIT_BRANCH_EVENT.source], 'events:detail-type': [CODECOMMIT_BRANCH_EVENT.detailType] }),
  },
  {
    // The bus policy admits the source account's root narrowed by aws:PrincipalArn to the forwarder role: any other
    // role of the source account, whose own policies are outside the org file, is kept out by that narrowing alone
    // (review s59-proof M2: without this path, the narrowing could be taken away with the compile green).
    id: 'event-forwarding-bus-other-role',
    purpose: "another role of the source account may not put events on the pipeline account's bus",
    doc: PRINCIPAL_ARN_DOC,
    grant: EVENTS_PUT,
    principal: (e) => role(someoneElsesRole(e.forwarderRole)),
    resource: (e) => `arn:${e.partition}:events:${e.region}:${e.pipelineAccount}:event-bus/default`,
    side: 'pipeline',
    context: () => ({ 'events:source': [CODECOMMIT_BRANCH_EVENT.source], 'events:detail-type': [CODECOMMIT_BRANCH_EVENT.detailType] }),
    onceFor: 'source role',
    identityManagedElsewhere: true,
    denied: true,
  },
  {
    id: 'event-forwarding-bus-other-event',
    purpose: "the forwarder role may not put CodeCommit's other events (pull requests, comments) on the pipeline account's bus",
    doc: 'https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-codecommit.html',
    grant: EVENTS_PUT,
    principal: (e) => role(e.forwarderRole),
    resource: (e) => `arn:${e.partition}:events:${e.region}:${e.pipelineAccount}:event-bus/default`,
    side: 'pipeline',
    context: () => ({ 'events:source': [CODECOMMIT_BRANCH_EVENT.source], 'events:detail-type': ['CodeCommit Pull Request State Change'] }),
    denied: true,
  },
  // What each of the bus policy's event conditions keeps out on its own (review s59-proof m1: dropping the Null guard,
  // or the source's ForAllValues, compiled green). events:source and events:detail-type are multivalued and written
  // ForAllValues, which "returns true if there are no keys in the request"; the Null guard ("false": the key must be
  // there) is what refuses a request without one
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
  // Whether a rule-forwarded push carries these keys at all is the README's open question (the event path's first
  // push, item 2): if it carries only events:SystemMetadata/*, these refusals are what the allowed path would meet.
  ...busEventRefused('event-forwarding-bus-other-source', 'an event of another source, named as CodeCommit\'s branch event,', { 'events:source': [SOMEONE_ELSES], 'events:detail-type': [CODECOMMIT_BRANCH_EVENT.detailType] }),
  ...busEventRefused('event-forwarding-bus-no-source', 'an event whose request names no events:source', { 'events:detail-type': [CODECOMMIT_BRANCH_EVENT.detailType] }),
  ...busEventRefused('event-forwarding-bus-no-detail-type', 'an event whose request names no events:detail-type', { 'events:source': [CODECOMMIT_BRANCH_EVENT.source] }),
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
    id: 'event-forwarding-role-other-rule',
    purpose: 'EventBridge may not run another rule of the source account as the forwarder role',
    doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('events.amazonaws.com'),
    resource: (e) => e.forwarderRole,
    side: 'source',
    // A rule outside the forwarding rules' pattern (`rule/<prefix>-codecommit-fwd-*`) that fits the prefix.
    context: (e) => ({ 'aws:SourceAccount': [e.sourceAccount], 'aws:SourceArn': [someoneElsesRule(e.forwardingRuleArn, e.prefix)] }),
    denied: true,
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
    id: 'trigger-role-other-rule',
    purpose: 'EventBridge may not run another rule as the trigger role',
    doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('events.amazonaws.com'),
    resource: (e) => e.triggerRole,
    side: 'pipeline',
    // A rule named as the trigger rule and more (`rule/acme-web-app-trigger-someone-elses`: no pipeline's trigger rule,
    // which ends in `-trigger`), so the condition widened to any pattern of the rule's literal start admits it (review
    // s59-proof M2).
    context: (e) => ({ 'aws:SourceAccount': [e.pipelineAccount], 'aws:SourceArn': [`${e.triggerRuleArn}-${SOMEONE_ELSES}`] }),
    denied: true,
  },
  ...deadLetterNeeds({
    id: 'event-forwarding-dead-letter',
    rules: 'the forwarding rules',
    side: 'source',
    queue: (e) => e.sourceDeadLetterQueueArn,
    rule: (e) => e.forwardingRuleArn,
    onceFor: 'source role',
  }),
  ...deadLetterNeeds({
    id: 'trigger-dead-letter',
    rules: 'the trigger rule',
    side: 'pipeline',
    queue: (e) => e.pipelineDeadLetterQueueArn,
    rule: (e) => e.triggerRuleArn,
    onceFor: 'pipeline account',
  }),
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
    id: 'codedeploy-deployment',
    purpose: 'the pipeline role starts and follows a deployment of the deployment group',
    doc: CODEDEPLOY_PIPELINE_ACTION.doc,
    grant: subsetOf(CODEDEPLOY_PIPELINE_ACTION, 'codedeploy-pipeline-deployment', ['codedeploy:CreateDeployment', 'codedeploy:GetDeployment']),
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.deploymentGroupArn,
    side: 'pipeline',
  },
  {
    id: 'codedeploy-application',
    purpose: 'the pipeline role registers the revision with the CodeDeploy application',
    doc: CODEDEPLOY_PIPELINE_ACTION.doc,
    grant: subsetOf(CODEDEPLOY_PIPELINE_ACTION, 'codedeploy-pipeline-application', ['codedeploy:GetApplication', 'codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision']),
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.codeDeployApplicationArn,
    side: 'pipeline',
  },
  {
    id: 'codedeploy-deployment-config',
    purpose: 'the pipeline role reads the deployment configuration',
    doc: CODEDEPLOY_PIPELINE_ACTION.doc,
    grant: subsetOf(CODEDEPLOY_PIPELINE_ACTION, 'codedeploy-pipeline-config', ['codedeploy:GetDeploymentConfig']),
    principal: (e) => role(e.pipelineRole),
    resource: (e) => e.deploymentConfigArn,
    side: 'pipeline',
  },
  {
    id: 'codedeploy-service-role',
    purpose: 'CodeDeploy runs the deployment group as its service role',
    doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/security_confused_deputy.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('codedeploy.amazonaws.com'),
    resource: (e) => e.codeDeployRole,
    side: 'pipeline',
    context: (e) => ({ 'aws:SourceAccount': [e.pipelineAccount], 'aws:SourceArn': [e.deploymentGroupArn] }),
  },
  {
    id: 'codedeploy-service-role-other-group',
    purpose: 'CodeDeploy may not run another application\'s deployment group as the service role',
    doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/security_confused_deputy.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('codedeploy.amazonaws.com'),
    resource: (e) => e.codeDeployRole,
    side: 'pipeline',
    // A group of an application named as the pipeline's and more (`deploymentgroup:acme-web-app-someone-elses/x`), so
    // the condition `deploymentgroup:acme-web-app/*` widened to any pattern of its literal start (`deploymentgroup:acme-*`)
    // admits it (review s59-proof M2); no group the org makes (an application's one group is named as the application).
    context: (e) => ({ 'aws:SourceAccount': [e.pipelineAccount], 'aws:SourceArn': [e.codeDeployApplicationArn.replace(/application:(.*)$/, `deploymentgroup:$1-${SOMEONE_ELSES}/x`)] }),
    denied: true,
  },
  {
    id: 'codedeploy-find-targets',
    purpose: 'CodeDeploy finds the deployment group\'s instances by their tags',
    doc: 'https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-service-role.html',
    grant: CODEDEPLOY_EC2_TARGETS,
    principal: (e) => role(e.codeDeployRole),
    resource: () => '*',
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
    id: 'codedeploy-agent-download-other-account',
    purpose: "the deployment targets may not download from a bucket of the artifact bucket's name owned by another account",
    doc: RESOURCE_ACCOUNT_DOC,
    grant: CODEDEPLOY_AGENT_DOWNLOAD,
    principal: (e) => role(e.deployTargetRole),
    resource: (e) => e.sourceArtifact,
    side: 'outside',
    deployTarget: 'grant',
    onceFor: 'pipeline account',
    resourceManagedElsewhere: true,
    denied: true,
  },
  {
    id: 'codedeploy-agent-install',
    purpose: 'the deployment targets install and update the CodeDeploy agent from AWS\'s resource kit bucket',
    doc: CODEDEPLOY_AGENT_INSTALL.doc,
    grant: CODEDEPLOY_AGENT_INSTALL,
    principal: (e) => role(e.deployTargetRole),
    resource: (e) => e.agentInstaller,
    side: 'aws',
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
  {
    id: 'codedeploy-agent-decrypt-direct',
    purpose: 'the deployment targets may not decrypt with the artifact key outside S3',
    doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service',
    grant: KMS_DECRYPT_VIA_S3,
    principal: (e) => role(e.deployTargetRole),
    resource: (e) => e.artifactKeyArn,
    side: 'pipeline',
    deployTarget: 'grant',
    denied: true,
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
  /** What the CI runs on (access.ci), and whether the org has a CI network the EC2 host runs in (access.ci.network). */
  ciRuntime?: CiRuntime['kind'];
  ciNetwork: boolean;
  developerRole: string;
  /** A role the developer trust admits (a sample of one of its patterns). */
  developerSource: string;
  /** A role of the same account and path that none of that account's roleNames admits (otherRoleName). */
  developerOther: string;
  /**
   * Where the pattern names one Identity Center permission set (`AWSReservedSSO_Developer_*`), the role of another set
   * whose name only begins as that one's (`AWSReservedSSO_Developer_x0_x0`, role-path.ts namesOnePermissionSet); ''
   * for other patterns.
   */
  developerOtherSet: string;
  maintainerRole: string;
  /** A role the maintainer trust admits (a sample of one of its patterns), and one of its account it does not. */
  maintainerSource: string;
  maintainerOther: string;
  maintainerOtherSet: string;
  /** The transitive session tag keys the org file names for the developer (maintainer) role source asked from (transitiveTagKeys). */
  developerTagKeys: readonly string[];
  maintainerTagKeys: readonly string[];
  protectedBranch: string;
  /** Whether the org file keeps the console's repository list (access.developers.listRepositories). */
  listRepositories: boolean;
}

export interface AccessNeed extends Need<AccessEnvironment> {
  /** Maintainers: developers' access with maintainers named (access.developers.maintainers). */
  who: 'ci' | 'developers' | 'maintainers';
  /** What a path of this entry covers: one per source account, repository, developer role, or protected branch. */
  per: 'source account' | 'repository' | 'developer role' | 'maintainer role' | 'protected branch';
  /** A CI entry whose actions follow what the CI runs on (`grant` is EC2's), from the function the templates grant with. */
  grantOn?: (runtime: CiRuntime['kind']) => Grant;
  /** Asked only where the environment has what it names (a developer role pattern that names one permission set). */
  when?: (e: AccessEnvironment) => boolean;
}

const GIT_REMOTE_CODECOMMIT = 'https://docs.aws.amazon.com/codecommit/latest/userguide/setting-up-git-remote-codecommit.html';

/** Some of a grant's actions, as one need asks them (a need has one resource, and a grant's actions may be on several types). */
function subsetOf(grant: Grant, name: string, actions: readonly string[]): Grant {
  const missing = actions.filter((a) => !grant.actions.includes(a));
  if (missing.length > 0) throw new Error(`${name}: ${missing.join(', ')} not in ${grant.name}`);
  return { ...grant, name, actions: [...actions] };
}

const CONDITIONAL_BRANCH_DOC = 'https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html';
/** A session tag key no org names: what a caller adding a tag of its own asks with. */
const OTHER_TAG_KEY = 'someone-elses-tag';
/** A session whose identity provider set a source identity, as the proof carries one (aws:SourceIdentity). */
const carriedSourceIdentity = () => ({ 'aws:SourceIdentity': ['developer@example.com'] });

/** The condition key of the branches a CodeCommit request names (`refs/heads/<branch>`). */
export const REFERENCES = 'codecommit:References';
/** The branch people work on, as the proof asks their work: one no protected branch is. */
export const FEATURE_BRANCH = 'refs/heads/feature/x';

/** Where Identity Center makes its roles (src/iam/role-path.ts SSO_PATHS), as a role's ARN holds it. */
const SSO_ROLE_PATH = ':role/aws-reserved/sso.amazonaws.com/';

/**
 * An Identity Center role's ARN one segment deeper than Identity Center makes it: two segments after
 * sso.amazonaws.com/ (`…/<region>/x/<name>`, or `…/x/y/<name>` for the form without a Region, where one segment would
 * be a Region's); '' for another role.
 */
export function deeperSsoRole(arn: string): string {
  const at = arn.indexOf(SSO_ROLE_PATH);
  if (at < 0) return '';
  const name = arn.lastIndexOf('/');
  const segments = arn.slice(at + SSO_ROLE_PATH.length, name + 1).split('/').length - 1;
  return `${arn.slice(0, name)}${segments === 0 ? '/x/y' : '/x'}${arn.slice(name)}`;
}

/**
 * A role people assume from roles of the org's accounts (developers, maintainers: templates/access-roles.ts
 * peopleRole): the roles its trust names assume it, and no other role of their account; it works on the repositories
 * (on a feature branch) and lists them.
 */
function peopleRoleNeeds(
  who: 'developers' | 'maintainers',
  per: 'developer role' | 'maintainer role',
  of: { role: (e: AccessEnvironment) => string; source: (e: AccessEnvironment) => string; other: (e: AccessEnvironment) => string; otherSet: (e: AccessEnvironment) => string; tagKeys: (e: AccessEnvironment) => readonly string[] },
): AccessNeed[] {
  const tagged = (e: AccessEnvironment) => of.tagKeys(e).length > 0;
  const carried = (e: AccessEnvironment) => ({ 'aws:TagKeys': [...of.tagKeys(e)] });
  // The entries asked of the role itself, by a role that would assume it (or pass it tags): whose own policies are
  // outside the org file.
  const onRole = (need: Omit<AccessNeed, 'who' | 'per' | 'resource' | 'identityManagedElsewhere'>): AccessNeed => ({ ...need, who, per, resource: of.role, identityManagedElsewhere: true });
  return [
    onRole({
      // Asked as AWS sees it: a role chained from another role's session carries no aws:MultiFactorAuthPresent
      // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html), so a trust that
      // required it would fail here as it would on AWS.
      id: `${who}-assume`,
      doc: GIT_REMOTE_CODECOMMIT,
      grant: STS_ASSUME_ROLE_CHAINED,
      principal: (e) => role(of.source(e)),
      // A session whose identity provider set a source identity carries it (aws:SourceIdentity): the trust lets it through.
      context: carriedSourceIdentity,
    }),
    onRole({
      // A source identity the caller picks now, its session carrying none: refused, so that none is forged (review s27-access M2).
      id: `${who}-set-fresh-source-identity`,
      doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceidentity',
      grant: STS_SET_SOURCE_IDENTITY,
      principal: (e) => role(of.source(e)),
      denied: true,
    }),
    onRole({
      id: `${who}-assume-other-role`,
      doc: PRINCIPAL_ARN_DOC,
      grant: STS_ASSUME_ROLE_CHAINED,
      principal: (e) => role(of.other(e)),
      denied: true,
      // Its session carrying a source identity too: neither action is allowed to it.
      context: carriedSourceIdentity,
    }),
    onRole({
      // A permission set's name may hold '_': AWSReservedSSO_Developer_* would also match Developer_Contractors' role.
      id: `${who}-assume-other-permission-set`,
      doc: 'https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html',
      grant: STS_ASSUME_ROLE_CHAINED,
      principal: (e) => role(of.otherSet(e)),
      denied: true,
      // Its session carrying a source identity too: neither action is allowed to it.
      context: carriedSourceIdentity,
      when: (e) => of.otherSet(e) !== '',
    }),
    onRole({
      // ArnLike's `*` spans `/`: a role one segment deeper than Identity Center makes its roles matches the admitted
      // `sso.amazonaws.com/*/<set>_*` all the same, and the trust's ArnNotLike refuses it (review s50-access A1, step 3).
      id: `${who}-assume-deeper-sso-path`,
      doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN',
      grant: STS_ASSUME_ROLE_CHAINED,
      principal: (e) => role(deeperSsoRole(of.source(e))),
      denied: true,
      context: carriedSourceIdentity,
      when: (e) => deeperSsoRole(of.source(e)) !== '',
    }),
    // Session tags: the keys the org file names for a source (transitiveTagKeys) go on into the role, for its roles only;
    // any other key, and any key from a source that names none, is refused (grants.ts STS_TAG_SESSION).
    onRole({
      id: `${who}-carry-session-tags`,
      doc: STS_TAG_SESSION.doc,
      grant: STS_TAG_SESSION,
      principal: (e) => role(of.source(e)),
      context: carried,
      when: tagged,
    }),
    onRole({
      id: `${who}-set-other-session-tag`,
      doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tagkeys',
      grant: STS_TAG_SESSION,
      principal: (e) => role(of.source(e)),
      denied: true,
      context: (e) => ({ 'aws:TagKeys': [...of.tagKeys(e), OTHER_TAG_KEY] }),
      when: tagged,
    }),
    onRole({
      id: `${who}-set-session-tags`,
      doc: STS_TAG_SESSION.doc,
      grant: STS_TAG_SESSION,
      principal: (e) => role(of.source(e)),
      denied: true,
      context: () => ({ 'aws:TagKeys': [OTHER_TAG_KEY] }),
      when: (e) => !tagged(e),
    }),
    onRole({
      id: `${who}-carry-session-tags-other-role`,
      doc: PRINCIPAL_ARN_DOC,
      grant: STS_TAG_SESSION,
      principal: (e) => role(of.other(e)),
      denied: true,
      context: carried,
      when: tagged,
    }),
    onRole({
      id: `${who}-carry-session-tags-other-permission-set`,
      doc: 'https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreatePermissionSet.html',
      grant: STS_TAG_SESSION,
      principal: (e) => role(of.otherSet(e)),
      denied: true,
      context: carried,
      when: (e) => tagged(e) && of.otherSet(e) !== '',
    }),
    {
      id: `${who}-work`,
      who,
      per: 'repository',
      doc: CODECOMMIT_DEVELOPER.doc,
      grant: CODECOMMIT_DEVELOPER,
      principal: (e) => role(of.role(e)),
      resource: (e) => e.repositoryArn,
      context: () => ({ [REFERENCES]: [FEATURE_BRANCH] }),
    },
    {
      id: `${who}-list-repositories`,
      who,
      per: 'source account',
      doc: CODECOMMIT_LIST_REPOSITORIES.doc,
      grant: CODECOMMIT_LIST_REPOSITORIES,
      principal: (e) => role(of.role(e)),
      resource: () => '*',
      when: (e) => e.listRepositories,
    },
  ];
}

/**
 * The actions of a grant that write a branch: Write level and `codecommit:References` in the Service Authorization
 * Reference (src/checks/iam-data.ts), https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html
 */
export function branchWritesOf(grant: Grant): string[] {
  return grant.actions.filter(isBranchWrite);
}

/** Whether a CodeCommit action writes a branch (as branchWritesOf reads it). */
export function isBranchWrite(action: string): boolean {
  return namesBranch(action, 'Write');
}

/**
 * Whether a CodeCommit action's entry in the Service Authorization Reference carries `codecommit:References` (of the
 * access level given, if one is), https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html
 */
export function namesBranch(action: string, accessLevel?: string): boolean {
  const [service, name] = action.split(':');
  if (service.toLowerCase() !== 'codecommit' || name === undefined) return false;
  const data = serviceData('codecommit')!.action(name);
  return data !== undefined && (accessLevel === undefined || data.accessLevel === accessLevel) && listsKey(data.conditionKeys, REFERENCES);
}

/**
 * Every branch write the developers' grant holds, on a protected branch, by a people role: refused to developers,
 * allowed to maintainers (https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html).
 */
function protectedBranchWrites(who: 'developers' | 'maintainers', roleOf: (e: AccessEnvironment) => string, denied: boolean): AccessNeed {
  return {
    id: who === 'developers' ? 'developers-protected-branch' : 'maintainers-release',
    who,
    per: 'protected branch',
    doc: CONDITIONAL_BRANCH_DOC,
    grant: { name: `${who === 'developers' ? 'developer' : 'maintainer'}-branch-writes`, actions: branchWritesOf(CODECOMMIT_DEVELOPER), doc: CODECOMMIT_BRANCH_WRITES.doc },
    principal: (e) => role(roleOf(e)),
    resource: (e) => e.repositoryArn,
    context: (e) => ({ 'codecommit:References': [`refs/heads/${e.protectedBranch}`] }),
    ...(denied ? { denied: true } : {}),
  };
}

/**
 * The VPC an EC2 CI host's credentials were delivered to, as the proof names it: the CI network's VPC when the org has
 * one. A stand-in id, as the VPC's own is made at its stack's create; the conditions compare two keys of the same
 * request (grants.ts ciAssumeReaderConditions), so any id proves the same.
 */
export const CI_HOST_VPC = 'vpc-0c1c1c1c1c1c1c1c1';
/** Another VPC (or none) than the CI host's: a request from anywhere else. */
const OTHER_VPC = 'vpc-0e1e1e1e1e1e1e1e1';

/**
 * What the CI role's session puts in a request by what it runs on. On EC2 the credentials are an instance's: IAM
 * puts `ec2:RoleDelivery` (2.0 through IMDSv2, which the launch template requires) and `aws:Ec2InstanceSourceVpc` in
 * every request signed with them; `aws:SourceVpc` only through a VPC endpoint, which the CI network's STS endpoint is
 * for the host inside it (private DNS, templates/ci-network.ts). `from` says where the request is signed: the host in
 * the CI VPC, outside it, or with credentials taken through IMDSv1. EKS's credentials carry none of these keys.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2-role-delivery
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2instancesourcevpc
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcevpc
 */
export function ciSessionContext(e: Pick<AccessEnvironment, 'ciRuntime' | 'ciNetwork'>, from: 'host' | 'outside-vpc' | 'imdsv1' = 'host'): Record<string, string[]> {
  if (e.ciRuntime !== 'ec2') return {};
  return {
    [EC2_ROLE_DELIVERY]: [from === 'imdsv1' ? '1.0' : IMDSV2_ROLE_DELIVERY],
    [EC2_INSTANCE_SOURCE_VPC]: [CI_HOST_VPC],
    ...(e.ciNetwork && from !== 'outside-vpc' ? { 'aws:SourceVpc': [CI_HOST_VPC] } : {}),
  };
}

const ROLE_DELIVERY_DOC = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2-role-delivery';
const INSTANCE_SOURCE_VPC_DOC = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2instancesourcevpc';

/** The EC2 CI host's AssumeRole of a reader role with credentials the CI role's conditions refuse (grants.ts ciAssumeReaderConditions); with a CI network only, where `network`. */
const ciAssumeReaderRefused = (id: string, doc: string, context: NonNullable<AccessNeed['context']>, { network }: { network: boolean }): AccessNeed => ({
  id,
  who: 'ci',
  per: 'source account',
  doc,
  grant: STS_ASSUME_ROLE,
  grantOn: ciAssumeReaderGrant,
  principal: (e) => role(e.ciInstanceRole),
  resource: (e) => e.ciReaderRole,
  context,
  denied: true,
  when: (e) => e.ciRuntime === 'ec2' && (!network || e.ciNetwork),
});

export const ACCESS_NEEDS: readonly AccessNeed[] = [
  {
    id: 'ci-assume-reader',
    who: 'ci',
    per: 'source account',
    doc: GIT_REMOTE_CODECOMMIT,
    grant: STS_ASSUME_ROLE,
    // On EKS Pod Identity the CI role's session tags are transitive: sts:TagSession too (grants.ts).
    grantOn: ciAssumeReaderGrant,
    principal: (e) => role(e.ciInstanceRole),
    resource: (e) => e.ciReaderRole,
    context: (e) => ciSessionContext(e),
  },
  // The EC2 host's credentials taken through IMDSv1 (a host launched without the launch template's HttpTokens
  // required): refused by the CI role's own policy (review s30-ci m2).
  ciAssumeReaderRefused('ci-assume-reader-imdsv1', ROLE_DELIVERY_DOC, (e) => ciSessionContext(e, 'imdsv1'), { network: false }),
  // Used from outside the CI VPC (copied off the host): no aws:SourceVpc (review s30-ci m1).
  ciAssumeReaderRefused('ci-assume-reader-outside-vpc', INSTANCE_SOURCE_VPC_DOC, (e) => ciSessionContext(e, 'outside-vpc'), { network: true }),
  // From another VPC's endpoint: aws:SourceVpc present, and not the VPC the credentials were delivered to.
  ciAssumeReaderRefused('ci-assume-reader-other-vpc', INSTANCE_SOURCE_VPC_DOC, (e) => ({ ...ciSessionContext(e, 'outside-vpc'), 'aws:SourceVpc': [OTHER_VPC] }), { network: true }),
  {
    id: 'ci-assume-reader-other-role',
    who: 'ci',
    per: 'source account',
    doc: PRINCIPAL_ARN_DOC,
    grant: STS_ASSUME_ROLE,
    principal: (e) => role(someoneElsesRole(e.ciInstanceRole)),
    resource: (e) => e.ciReaderRole,
    grantOn: ciAssumeReaderGrant,
    identityManagedElsewhere: true,
    denied: true,
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
  // Developers: their role's trust (and no other role), its work, and no write to a protected branch.
  ...peopleRoleNeeds('developers', 'developer role', { role: (e) => e.developerRole, source: (e) => e.developerSource, other: (e) => e.developerOther, otherSet: (e) => e.developerOtherSet, tagKeys: (e) => e.developerTagKeys }),
  // Not the Deny's own list: every branch write the developers' Allow grants must be refused, so an action granted and
  // missing from the Deny fails the proof.
  protectedBranchWrites('developers', (e) => e.developerRole, true),
  // Maintainers release: "only a subset of senior developers can push or merge changes to that branch" (the page above).
  ...peopleRoleNeeds('maintainers', 'maintainer role', { role: (e) => e.maintainerRole, source: (e) => e.maintainerSource, other: (e) => e.maintainerOther, otherSet: (e) => e.maintainerOtherSet, tagKeys: (e) => e.maintainerTagKeys }),
  {
    // Developers are not maintainers: the maintainer trust's patterns must not admit the developers' roles.
    id: 'maintainers-assume-developer',
    who: 'maintainers',
    per: 'developer role',
    doc: PRINCIPAL_ARN_DOC,
    grant: STS_ASSUME_ROLE_CHAINED,
    principal: (e) => role(e.developerSource),
    resource: (e) => e.maintainerRole,
    identityManagedElsewhere: true,
    denied: true,
    // Its session carrying a source identity too: neither action is allowed to it.
    context: carriedSourceIdentity,
  },
  protectedBranchWrites('maintainers', (e) => e.maintainerRole, false),
];

/** The CodeDeploy agent's installer, `latest/install`, in the Region's resource kit bucket (https://docs.aws.amazon.com/codedeploy/latest/userguide/resource-kit.html). */
export const agentInstallerIn = (partition: string, region: string) => AWS_OWNED_BUCKETS.codeDeployResourceKit.objectsIn(partition, region).replace(/\*$/, 'latest/install');

/**
 * Everything an instance need names, resolved for one account: the instances' role there (the CI host's, or the
 * deployment targets').
 */
export interface InstanceEnvironment {
  partition: string;
  region: string;
  account: string;
  instanceRole: string;
  /** The start of the names of the log groups the deployment targets' CloudWatch agent writes (Names.agentLogGroups). */
  agentLogGroups?: string;
  /** The ECR namespace the CI host pulls its images from (Names.ciImageRepositories). */
  imageRepositories?: string;
}

/** What the SSM Agent on an instance does with the instance role (src/iam/instance-management.ts grants it). */
export interface InstanceNeed extends PurposedNeed<InstanceEnvironment> {
  /** The resource is AWS's own (an AWS-owned SSM document), its policy outside the org file: the role's side is proved. */
  awsOwned?: boolean;
}

/**
 * A sample of what the host names: an instance id, an association id, the repository of the Jenkins image (in the CI
 * namespace), another team's repository of the same account, a layer object.
 */
const SAMPLE_INSTANCE = 'i-0c1c1c1c1c1c1c1c1';
const SAMPLE_ASSOCIATION = '0c1c1c1c-0c1c-0c1c-0c1c-0c1c1c1c1c1c';
const SAMPLE_REPOSITORY = 'jenkins';
const OTHER_REPOSITORY = 'another-team/app';
const SAMPLE_LAYER = 'sha256/0c1c1c1c';

const instanceRole = (e: InstanceEnvironment) => role(e.instanceRole);
const anInstance = (e: InstanceEnvironment) => `arn:${e.partition}:ec2:${e.region}:${e.account}:instance/${SAMPLE_INSTANCE}`;
/** An ARN the templates write as `Fn::Sub` text with the partition and Region, as the proof resolves it. */
const inRegion = (text: string) => (e: InstanceEnvironment) => text.replace('${AWS::Partition}', e.partition).replace('${AWS::Region}', e.region);

/**
 * Session Manager reaches an instance: its SSM Agent registers the instance, then opens the session's channels (AWS's
 * minimal instance-profile policy for Session Manager, src/iam/instance-management.ts sessionManagerStatements). The
 * same two paths for every host xstack gives a role: the CI host and the deployment targets.
 */
function sessionManagerNeeds(idPrefix: string, host: string): readonly [registers: InstanceNeed, channels: InstanceNeed] {
  return [
    {
      id: `${idPrefix}-session-manager`,
      purpose: `Session Manager reaches ${host}: its SSM Agent registers the instance`,
      doc: SESSION_MANAGER_INSTANCE.doc,
      grant: SESSION_MANAGER_INSTANCE,
      principal: instanceRole,
      resource: anInstance,
    },
    {
      id: `${idPrefix}-session-channels`,
      purpose: `Session Manager reaches ${host}: its SSM Agent opens the session's channels`,
      doc: SESSION_MANAGER_CHANNELS.doc,
      // ssmmessages has no resource type (Service Authorization Reference): the request names "*".
      grant: SESSION_MANAGER_CHANNELS,
      principal: instanceRole,
      resource: () => '*',
    },
  ];
}

/**
 * What the CI host itself does with the CI instance role, beside cloning
 * (ACCESS_NEEDS), when the CI runs on EC2 instances with xstack's instance
 * profile. Resolved for the CI account.
 *
 * - Session Manager is how the host is reached: the CI subnets give it no
 *   public address and the CI security group admits nothing inbound, and
 *   xstack hands out no SSH key; so in every network mode (and for a host in
 *   a network of the org's own, which xstack does not see, the same holds).
 * - Its images come from this account's ECR only when the CI network is
 *   isolated: without NAT no other registry, and no package mirror for the
 *   Dockerfile's build, is reachable, so the Jenkins image (dist/<org>/jenkins/)
 *   is built elsewhere and pushed to ECR. With NAT the host may pull from
 *   anywhere, and nothing of xstack's says it uses ECR.
 * - Nothing on the host sends CloudWatch Logs (the Jenkins files configure no
 *   log driver, and no CloudWatch agent runs on the CI host): no Logs need.
 */
export type CiHostEnvironment = InstanceEnvironment;

export interface CiHostNeed extends InstanceNeed {
  /** `ec2`: any CI on EC2; `isolated`: CI on EC2 in an isolated (no-NAT) CI network. */
  when: 'ec2' | 'isolated';
  /**
   * The isolated CI network's VPC endpoint the request goes through (src/services/vpc-endpoints.ts): the proof asks
   * its endpoint policy too. None for a request that does not leave the host (EC2 assuming its role).
   */
  endpoint?: string;
  /**
   * Other endpoints the same request may go through, asked too (a refused need only): ECR's BatchGetImage is an API
   * action as well as docker's registry call, so `aws ecr batch-get-image` goes through ecr.api, whose policy carries
   * the same statement as ecr.dkr's (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).
   */
  alsoThrough?: readonly string[];
  /** Signed by an AWS service, not by the org's role: only the endpoint policy is the org's to prove. */
  networkOnly?: boolean;
}

const [ciHostRegisters, ciHostChannels] = sessionManagerNeeds('ci-host', 'the CI host');

/** Everything a pipeline account's own need (not a pipeline's) names, resolved for one account. */
export interface PipelineAccountEnvironment {
  partition: string;
  region: string;
  account: string;
  artifactBucketArn: string;
  accessLogBucketArn: string;
  artifactKeyArn: string;
  /** One of the roles that administer the artifact key: the StackSet execution role, or one of keyAdministratorRoles. */
  keyAdministrator: string;
  /**
   * A role of the account named after one of the key's administrators or users (otherThan), that none of them is nor
   * matches (samples.ts nameLike): `platform-admin-someone-elses` after `platform-admin`.
   */
  otherRole: string;
}

export interface PipelineAccountNeed extends PurposedNeed<PipelineAccountEnvironment> {
  /** One path per administrator of the key (their own policies are outside the templates: the execution role's is bootstrap's, the others the org's). */
  perKeyAdministrator?: boolean;
  /**
   * One path per role the key policy names for what this need asks (its administrators, or the roles of the account
   * that use it: the pipeline role and the deployment targets' instance roles), each asked by a role named after it
   * (otherRole): the name, or the pattern's text before its first wildcard, then more. So the key policy's narrowing of
   * the account root to that role, widened to a pattern of its literal start (`role/platform-*` for
   * `role/platform-admin`), admits the sample and fails the compile (review s59-proof M2). `purpose` says the path for
   * the role's name and the sample's.
   */
  otherThan?: { roles: 'key administrators' | 'key users'; purpose: (name: string, other: string) => string };
}

/** A sample access log object: S3 names each by the time it delivers it. */
const SAMPLE_ACCESS_LOG = 'artifacts/2026-12-01-00-00-00-0C1C1C1C1C1C1C1C';

/** What each pipeline account's artifact store needs once, whatever its pipelines. */
export const PIPELINE_ACCOUNT_NEEDS: readonly PipelineAccountNeed[] = [
  {
    id: 'access-log-delivery',
    purpose: "S3 server access logging delivers the artifact bucket's access logs",
    doc: S3_ACCESS_LOG_DELIVERY.doc,
    grant: S3_ACCESS_LOG_DELIVERY,
    principal: () => service('logging.s3.amazonaws.com'),
    resource: (e) => `${e.accessLogBucketArn}/${SAMPLE_ACCESS_LOG}`,
    context: (e) => ({ 'aws:SourceArn': [e.artifactBucketArn], 'aws:SourceAccount': [e.account] }),
  },
  {
    id: 'access-log-delivery-other-bucket',
    purpose: "S3 server access logging may not deliver another bucket's logs here",
    doc: S3_ACCESS_LOG_DELIVERY.doc,
    grant: S3_ACCESS_LOG_DELIVERY,
    principal: () => service('logging.s3.amazonaws.com'),
    resource: (e) => `${e.accessLogBucketArn}/${SAMPLE_ACCESS_LOG}`,
    context: (e) => ({ 'aws:SourceArn': [`arn:${e.partition}:s3:::someone-elses-bucket`], 'aws:SourceAccount': [e.account] }),
    denied: true,
  },
  {
    // S3 names the source bucket's owner in aws:SourceAccount: a bucket of the artifact bucket's name in another account
    // (bucket names are global) may not deliver its logs here.
    id: 'access-log-delivery-other-account',
    purpose: "S3 server access logging may not deliver the logs of another account's bucket of the artifact bucket's name here",
    doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html',
    grant: S3_ACCESS_LOG_DELIVERY,
    principal: () => service('logging.s3.amazonaws.com'),
    resource: (e) => `${e.accessLogBucketArn}/${SAMPLE_ACCESS_LOG}`,
    context: (e) => ({ 'aws:SourceArn': [e.artifactBucketArn], 'aws:SourceAccount': [OTHER_ACCOUNT] }),
    denied: true,
  },
  {
    id: 'key-administration',
    purpose: 'administers the artifact key',
    doc: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators',
    grant: KMS_KEY_ADMINISTRATION,
    principal: (e) => role(e.keyAdministrator),
    resource: (e) => e.artifactKeyArn,
    perKeyAdministrator: true,
    identityManagedElsewhere: true,
  },
  {
    // The key admits this account's roles that use it (the pipeline role, the deployment targets') as the account's
    // root narrowed by their ARNs, so that a role re-created by another StackSet keeps the key: KMS then asks the
    // caller's own policies as well, which for any other role of the account are outside the org file, so the key's
    // narrowing alone must refuse it (review s50-templates N1).
    id: 'artifact-key-other-role',
    purpose: 'another role of the pipeline account may not use the artifact key',
    otherThan: { roles: 'key users', purpose: (name, other) => `another role of the pipeline account (${other}, named after ${name}) may not use the artifact key` },
    doc: PRINCIPAL_ARN_DOC,
    grant: KMS_ARTIFACT_DATA_KEY,
    principal: (e) => role(e.otherRole),
    resource: (e) => e.artifactKeyArn,
    context: (e) => ({ 'kms:ViaService': [`s3.${e.region}.amazonaws.com`] }),
    identityManagedElsewhere: true,
    denied: true,
  },
  {
    id: 'key-administration-other-role',
    purpose: 'another role of the pipeline account may not administer the artifact key',
    otherThan: { roles: 'key administrators', purpose: (name, other) => `another role of the pipeline account (${other}, named after ${name}) may not administer the artifact key` },
    doc: PRINCIPAL_ARN_DOC,
    grant: KMS_KEY_ADMINISTRATION,
    principal: (e) => role(e.otherRole),
    resource: (e) => e.artifactKeyArn,
    identityManagedElsewhere: true,
    denied: true,
  },
];

/** Everything a CI network need names, resolved for the CI account. */
export interface CiNetworkEnvironment {
  account: string;
  partition: string;
  region: string;
  flowLogRole: string;
  /** The flow log group's ARN as CloudFormation returns it, ending in `:*`. */
  flowLogGroupArn: string;
}

/** A sample flow log: VPC Flow Logs names the log streams by network interface. */
const SAMPLE_FLOW_LOG = 'fl-0c1c1c1c1c1c1c1c1';
const SAMPLE_LOG_STREAM = 'eni-0c1c1c1c1c1c1c1c1-all';

export type CiNetworkNeed = PurposedNeed<CiNetworkEnvironment>;

/**
 * The CI network's own service paths: VPC Flow Logs delivers the flow records with the flow log role
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html). A log stream is named by its ARN; the
 * log group, for every other action, by its ARN ending in `:*`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html).
 */
export const CI_NETWORK_NEEDS: readonly CiNetworkNeed[] = [
  {
    id: 'ci-network-flow-logs-role',
    purpose: 'VPC Flow Logs delivers the CI network\'s flow records as the flow log role',
    doc: FLOW_LOGS_DELIVERY.doc,
    grant: STS_ASSUME_ROLE,
    principal: () => service('vpc-flow-logs.amazonaws.com'),
    resource: (e) => e.flowLogRole,
    context: (e) => ({ 'aws:SourceAccount': [e.account], 'aws:SourceArn': [`arn:${e.partition}:ec2:${e.region}:${e.account}:vpc-flow-log/${SAMPLE_FLOW_LOG}`] }),
  },
  {
    id: 'ci-network-flow-logs-role-other-account',
    purpose: "VPC Flow Logs may not deliver another account's flow records as the flow log role",
    doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html',
    grant: STS_ASSUME_ROLE,
    principal: () => service('vpc-flow-logs.amazonaws.com'),
    resource: (e) => e.flowLogRole,
    context: (e) => ({ 'aws:SourceAccount': [OTHER_ACCOUNT], 'aws:SourceArn': [`arn:${e.partition}:ec2:${e.region}:${OTHER_ACCOUNT}:vpc-flow-log/${SAMPLE_FLOW_LOG}`] }),
    denied: true,
  },
  {
    id: 'ci-network-flow-logs-streams',
    purpose: 'the flow log role writes the flow records to a log stream of the CI network\'s log group',
    doc: FLOW_LOGS_DELIVERY.doc,
    grant: subsetOf(FLOW_LOGS_DELIVERY, 'flow-logs-streams', ['logs:CreateLogStream', 'logs:PutLogEvents']),
    principal: (e) => role(e.flowLogRole),
    resource: (e) => `${e.flowLogGroupArn.replace(/\*$/, '')}log-stream:${SAMPLE_LOG_STREAM}`,
  },
  {
    id: 'ci-network-flow-logs-group',
    purpose: 'the flow log role reads the log streams of the CI network\'s log group, and may create the group (AWS\'s minimum for the role)',
    doc: FLOW_LOGS_DELIVERY.doc,
    grant: subsetOf(FLOW_LOGS_DELIVERY, 'flow-logs-group', ['logs:CreateLogGroup', 'logs:DescribeLogStreams']),
    principal: (e) => role(e.flowLogRole),
    resource: (e) => e.flowLogGroupArn,
  },
  {
    id: 'ci-network-flow-logs-find-group',
    purpose: "the flow log role lists the account's log groups, as AWS's minimum for the role has it",
    doc: FLOW_LOGS_FIND_GROUP.doc,
    grant: FLOW_LOGS_FIND_GROUP,
    principal: (e) => role(e.flowLogRole),
    resource: () => '*',
  },
];

/** The CI host's IMDS hop limit: the instance and a container on its bridge network (templates/ci-identity.ts, its launch template). */
export const CI_HOST_IMDS_HOP_LIMIT = 2;

export const CI_HOST_NEEDS: readonly CiHostNeed[] = [
  {
    id: 'ci-host-instance-role',
    purpose: 'EC2 runs the CI host as its instance role',
    doc: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html',
    grant: STS_ASSUME_ROLE,
    when: 'ec2',
    principal: () => service('ec2.amazonaws.com'),
    resource: (e) => e.instanceRole,
  },
  { ...ciHostRegisters, when: 'ec2', endpoint: 'ssm' },
  { ...ciHostChannels, when: 'ec2', endpoint: 'ssmmessages' },
  {
    id: 'ci-host-ecr-login',
    purpose: 'the CI host logs in to its account\'s ECR registry',
    doc: 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html',
    grant: ECR_AUTHORIZATION_TOKEN,
    when: 'isolated',
    principal: instanceRole,
    resource: () => '*',
    endpoint: 'ecr.api',
  },
  {
    id: 'ci-host-ecr-pull',
    purpose: 'the CI host pulls its images from its account\'s ECR repositories',
    doc: ECR_IMAGE_PULL.doc,
    grant: ECR_IMAGE_PULL,
    when: 'isolated',
    principal: instanceRole,
    resource: (e) => `arn:${e.partition}:ecr:${e.region}:${e.account}:repository/${e.imageRepositories}/${SAMPLE_REPOSITORY}`,
    // Docker's registry API: https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
    endpoint: 'ecr.dkr',
  },
  {
    // The CI account may hold other teams' images (review s30-ci m4): the host reads its own namespace only.
    id: 'ci-host-ecr-other-repository',
    purpose: "the CI host pulls no image from the account's other ECR repositories",
    doc: ECR_IMAGE_PULL.doc,
    grant: ECR_IMAGE_PULL,
    when: 'isolated',
    principal: instanceRole,
    resource: (e) => `arn:${e.partition}:ecr:${e.region}:${e.account}:repository/${OTHER_REPOSITORY}`,
    endpoint: 'ecr.dkr',
    alsoThrough: ['ecr.api'],
    denied: true,
  },
  {
    id: 'ci-host-ecr-layers',
    purpose: "the CI host downloads its images' layers from ECR's layer bucket, with the URL ECR presigns",
    doc: ECR_IMAGE_LAYER_DOWNLOAD.doc,
    grant: ECR_IMAGE_LAYER_DOWNLOAD,
    when: 'isolated',
    principal: () => ({ kind: 'any' }),
    resource: (e) => ECR_IMAGE_LAYERS.objectsIn(e.partition, e.region).replace(/\*$/, SAMPLE_LAYER),
    context: () => ECR_IMAGE_LAYERS.presigned,
    endpoint: 's3',
    networkOnly: true,
  },
];

const THROUGH_SSM = 'Systems Manager installs the CodeDeploy agent on the deployment targets';
const CLOUDWATCH_THROUGH_SSM = 'Systems Manager installs and configures the CloudWatch agent on the deployment targets';

/**
 * What the deployment targets' SSM Agent does with xstack's instance role (`<prefix>-deploy-target`), resolved for
 * one pipeline account: Session Manager, and the CodeDeploy agent's install and updates through Systems Manager (the
 * AWSCodeDeployAgent Distributor package run by AWS-ConfigureAWSPackage, src/iam/instance-management.ts
 * codeDeployAgentThroughSsmStatements), each path on the resource its request names. Per pipeline account, not per
 * pipeline: the role is the account's.
 *
 * Not for roles the org names instead (deploymentTargets.instanceRoles): xstack grants those only the revision's
 * download, the key's use through S3 and the agent's bucket (PIPELINE_NEEDS); their Systems Manager permissions, like
 * their trust, are the org's own, outside the templates, and the report says so.
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/codedeploy-agent-operations-install-ssm.html
 */
export const DEPLOY_TARGET_NEEDS: readonly InstanceNeed[] = [
  ...sessionManagerNeeds('deploy-target', 'the deployment targets'),
  {
    id: 'deploy-target-agent-associations',
    purpose: `${THROUGH_SSM}: its SSM Agent lists the instance's associations and reports their status and compliance`,
    doc: SSM_AGENT_ASSOCIATIONS.doc,
    grant: SSM_AGENT_ASSOCIATIONS,
    principal: instanceRole,
    resource: anInstance,
  },
  {
    id: 'deploy-target-agent-association-status',
    purpose: `${THROUGH_SSM}: its SSM Agent reports the status of the association`,
    doc: SSM_AGENT_ASSOCIATION_STATUS.doc,
    grant: SSM_AGENT_ASSOCIATION_STATUS,
    principal: instanceRole,
    resource: (e) => `arn:${e.partition}:ssm:${e.region}:${e.account}:association/${SAMPLE_ASSOCIATION}`,
  },
  {
    id: 'deploy-target-configure-package-document',
    purpose: `${THROUGH_SSM}: the association reads the AWS-ConfigureAWSPackage document it runs`,
    doc: SSM_RUN_DOCUMENT.doc,
    grant: SSM_RUN_DOCUMENT,
    principal: instanceRole,
    resource: inRegion(CONFIGURE_PACKAGE_DOCUMENT_ARN),
    awsOwned: true,
  },
  {
    id: 'deploy-target-agent-package-document',
    purpose: `${THROUGH_SSM}: its SSM Agent reads the AWSCodeDeployAgent package as a document`,
    doc: SSM_PACKAGE_DOCUMENT.doc,
    grant: SSM_PACKAGE_DOCUMENT,
    principal: instanceRole,
    resource: inRegion(CODEDEPLOY_AGENT_PACKAGE_ARN),
    awsOwned: true,
  },
  {
    id: 'deploy-target-agent-packages-and-commands',
    purpose: `${THROUGH_SSM}: its SSM Agent gets the package's manifest, reports the install and receives commands`,
    doc: SSM_AGENT_PACKAGES_AND_COMMANDS.doc,
    // None of these actions has a resource type (Service Authorization Reference): the request names "*".
    grant: SSM_AGENT_PACKAGES_AND_COMMANDS,
    principal: instanceRole,
    resource: () => '*',
  },
];

/**
 * A log group and stream the CloudWatch agent writes, under the org's prefix; another's, which it must not; and the
 * group the agent names itself when its configuration names none, "the file path up to the final period" (here
 * /var/log/messages), outside the prefix and so refused (review s31-cwagent M1; README says to name the groups).
 */
const agentLogGroup = (e: InstanceEnvironment) => {
  if (e.agentLogGroups === undefined) throw new Error('the CloudWatch agent needs are asked of the deployment targets only, with their log group prefix');
  return `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:${e.agentLogGroups}web-app/app.log`;
};
const someoneElsesLogGroup = (e: InstanceEnvironment) => `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:/aws/lambda/someone-elses`;
const defaultNamedLogGroup = (e: InstanceEnvironment) => `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:/var/log/messages`;
const streamOf = (group: string) => `${group}:log-stream:${SAMPLE_INSTANCE}`;

/** A log write of the agent's to a group outside the org's prefix, which must be refused. */
function agentWriteRefused(id: string, purpose: string, group: (e: InstanceEnvironment) => string): InstanceNeed {
  return { id, purpose, doc: CLOUDWATCH_AGENT_LOG_STREAMS.doc, grant: { ...CLOUDWATCH_AGENT_LOG_STREAMS, actions: ['logs:PutLogEvents'] }, principal: instanceRole, resource: (e) => streamOf(group(e)), denied: true };
}

/**
 * With deploymentTargets.cloudWatchAgent, the CloudWatch agent on the deployment targets, with their role
 * (src/iam/instance-management.ts cloudWatchAgentStatements, in place of CloudWatchAgentServerPolicy): its own log
 * groups and metrics, allowed; another's log group, another namespace and another parameter, refused, which is what
 * writing the managed policy out is for.
 */
export const CLOUDWATCH_AGENT_NEEDS: readonly InstanceNeed[] = [
  {
    id: 'deploy-target-cloudwatch-log-group',
    purpose: 'the CloudWatch agent on the deployment targets creates its log group and sets its retention',
    doc: CLOUDWATCH_AGENT_LOG_GROUPS.doc,
    grant: CLOUDWATCH_AGENT_LOG_GROUPS,
    principal: instanceRole,
    resource: agentLogGroup,
  },
  {
    id: 'deploy-target-cloudwatch-log-stream',
    purpose: 'the CloudWatch agent on the deployment targets writes its log stream',
    doc: CLOUDWATCH_AGENT_LOG_STREAMS.doc,
    grant: CLOUDWATCH_AGENT_LOG_STREAMS,
    principal: instanceRole,
    resource: (e) => streamOf(agentLogGroup(e)),
  },
  {
    id: 'deploy-target-cloudwatch-metrics',
    purpose: "the CloudWatch agent on the deployment targets puts its metrics, in the agent's namespace",
    doc: CLOUDWATCH_AGENT_METRICS.doc,
    grant: CLOUDWATCH_AGENT_METRICS,
    principal: instanceRole,
    resource: () => '*',
    context: () => ({ 'cloudwatch:namespace': [CLOUDWATCH_AGENT_NAMESPACE] }),
  },
  {
    id: 'deploy-target-cloudwatch-describe',
    purpose: "the CloudWatch agent on the deployment targets reads its instance's tags and volumes and its log groups",
    doc: CLOUDWATCH_AGENT_DESCRIBE.doc,
    grant: CLOUDWATCH_AGENT_DESCRIBE,
    principal: instanceRole,
    resource: () => '*',
  },
  {
    id: 'deploy-target-cloudwatch-config',
    purpose: "the CloudWatch agent on the deployment targets reads its configuration from this account's Parameter Store",
    doc: CLOUDWATCH_AGENT_CONFIG.doc,
    grant: CLOUDWATCH_AGENT_CONFIG,
    principal: instanceRole,
    resource: (e) => `arn:${e.partition}:ssm:${e.region}:${e.account}:parameter/AmazonCloudWatch-linux`,
  },
  {
    id: 'deploy-target-cloudwatch-agent-package',
    purpose: `${CLOUDWATCH_THROUGH_SSM}: its SSM Agent reads the AmazonCloudWatchAgent package as a document`,
    doc: SSM_PACKAGE_DOCUMENT.doc,
    grant: SSM_PACKAGE_DOCUMENT,
    principal: instanceRole,
    resource: inRegion(CLOUDWATCH_AGENT_PACKAGE_ARN),
    awsOwned: true,
  },
  {
    id: 'deploy-target-cloudwatch-manage-document',
    purpose: `${CLOUDWATCH_THROUGH_SSM}: a State Manager association reads the AmazonCloudWatch-ManageAgent document it runs`,
    doc: SSM_RUN_DOCUMENT.doc,
    grant: SSM_RUN_DOCUMENT,
    principal: instanceRole,
    resource: inRegion(CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN),
    awsOwned: true,
  },
  agentWriteRefused('deploy-target-cloudwatch-default-log-group', "the CloudWatch agent on the deployment targets writes no log group it names itself (after the file's path), outside the org's prefix", defaultNamedLogGroup),
  agentWriteRefused('deploy-target-cloudwatch-other-log-group', "the CloudWatch agent on the deployment targets writes no log group outside the org's prefix", someoneElsesLogGroup),
  {
    id: 'deploy-target-cloudwatch-other-retention',
    purpose: "the CloudWatch agent on the deployment targets changes no other log group's retention",
    doc: CLOUDWATCH_AGENT_LOG_GROUPS.doc,
    grant: { ...CLOUDWATCH_AGENT_LOG_GROUPS, actions: ['logs:PutRetentionPolicy'] },
    principal: instanceRole,
    resource: someoneElsesLogGroup,
    denied: true,
  },
  {
    id: 'deploy-target-cloudwatch-other-namespace',
    purpose: "the CloudWatch agent on the deployment targets puts no metric in another namespace",
    doc: CLOUDWATCH_AGENT_METRICS.doc,
    grant: CLOUDWATCH_AGENT_METRICS,
    principal: instanceRole,
    resource: () => '*',
    context: () => ({ 'cloudwatch:namespace': ['AWS/EC2'] }),
    denied: true,
  },
  {
    id: 'deploy-target-cloudwatch-other-parameter',
    purpose: 'the CloudWatch agent on the deployment targets reads no other parameter',
    doc: CLOUDWATCH_AGENT_CONFIG.doc,
    grant: CLOUDWATCH_AGENT_CONFIG,
    principal: instanceRole,
    resource: (e) => `arn:${e.partition}:ssm:${e.region}:${e.account}:parameter/someone-elses-secret`,
    denied: true,
  },
];

/**
 * Requests the isolated CI network's endpoints must refuse, whoever signs them: the point of an isolated network is
 * that nothing on it reaches data outside what the CI host needs (writes to any bucket, reads of any other object).
 */
export interface RefusedThroughNetwork {
  purpose: string;
  endpoint: string;
  action: string;
  resource: (e: CiHostEnvironment) => string;
  context?: Record<string, string[]>;
}

export const REFUSED_THROUGH_ISOLATED_NETWORK: readonly RefusedThroughNetwork[] = [
  // As a presigned URL (query-string authentication), the form the layer reads take: anyone can presign a write to a
  // bucket of theirs, so the endpoint must refuse it by action and bucket, not by how it is signed.
  { purpose: 'nothing in the CI network writes to any S3 bucket', endpoint: 's3', action: 's3:PutObject', resource: (e) => `arn:${e.partition}:s3:::any-bucket-of-any-account/any-key`, context: ECR_IMAGE_LAYERS.presigned },
  { purpose: 'nothing in the CI network reads any other S3 object', endpoint: 's3', action: 's3:GetObject', resource: (e) => `arn:${e.partition}:s3:::any-bucket-of-any-account/any-key`, context: ECR_IMAGE_LAYERS.presigned },
  { purpose: "nothing in the CI network reads ECR's layer bucket with its own credentials", endpoint: 's3', action: 's3:GetObject', resource: (e) => ECR_IMAGE_LAYERS.objectsIn(e.partition, e.region).replace(/\*$/, SAMPLE_LAYER), context: { 's3:authType': ['REST-HEADER'] } },
];
