/**
 * CloudFormation properties newer than the resource specification cloudform-types
 * was generated from. They are added here, typed, rather than through `any` at the
 * call sites.
 */
import Pipeline, { type PipelineProperties } from 'cloudform-types/types/codePipeline/pipeline';
import type Resource from 'cloudform-types/types/resource';
import { ResourceBase } from 'cloudform-types/types/resource';
import type { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import type { DeletionPolicy } from './deletion-policy';

/** https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codepipeline-pipeline.html */
export interface PipelineV2Properties extends PipelineProperties {
  PipelineType: 'V1' | 'V2';
  ExecutionMode?: 'QUEUED' | 'SUPERSEDED' | 'PARALLEL';
}

export function pipelineV2(properties: PipelineV2Properties): Pipeline {
  return new Pipeline(properties);
}

/**
 * UpdateReplacePolicy takes Delete, Retain or Snapshot, not RetainExceptOnCreate (that value is
 * DeletionPolicy's alone; cfn-lint 1.58's E3036 enumerates exactly these).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html
 */
export type ReplacePolicy = 'Delete' | 'Retain' | 'Snapshot';

/**
 * Keeps a stateful resource (repository, bucket, key) when its stack is deleted
 * or when an update would replace it, unless the operation that created it is
 * rolled back.
 *
 * DeletionPolicy RetainExceptOnCreate: "RetainExceptOnCreate behaves like Retain for stack operations, except for
 * the stack operation that initially created the resource. If the stack operation that created the resource is
 * rolled back, CloudFormation deletes the resource. For all other stack operations, such as stack deletion,
 * CloudFormation retains the resource"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
 * With plain Retain a failed first create (a principal IAM has not propagated yet, a missing permission) keeps
 * what it had made outside any stack, StackSets removes the failed stack, and every later create of that
 * instance fails on a name already taken (a bucket, a repository): the rollout could never finish. AWS's launch
 * note: resources kept during rollbacks "interfere with retries of the stack operation"
 * (https://aws.amazon.com/about-aws/whats-new/2023/07/aws-cloudformation-deletion-policies-dev-test-cycle/).
 *
 * What such a rollback can and cannot delete here:
 * - the artifact key: KMS deletes no key at once; deleting one schedules it (PendingDeletion for a waiting
 *   period of 7-30 days, after which KMS deletes it "and all KMS data associated with it, including all
 *   aliases that refer to it", https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).
 *   Its alias is a resource of its own (ArtifactKeyAlias, no DeletionPolicy), deleted by the same rollback.
 *   The next create makes a new key (keys have no name to collide on) and takes the alias, free again; the
 *   old key waits out its window unused, encrypting nothing.
 * - the buckets: "All objects (including all object versions and delete markers) in the bucket must be
 *   deleted before the bucket itself can be deleted" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html),
 *   so a rollback deletes only an empty one. Within the failed create both are empty in practice: the
 *   artifact bucket gets objects only from pipeline runs, a later stage (pipelines); the access-log bucket
 *   gets only S3's server access logs of requests to the artifact bucket, which are delivered on a best-effort
 *   basis, most "within a few hours" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html),
 *   while the create's own calls on the artifact bucket (its policy) come minutes before the rollback. A
 *   record delivered before the rollback reaches the access-log bucket would keep it, as Retain does (not
 *   seen; README, VERIFY).
 * - repositories: new and empty within the create that made them.
 * Whether StackSets' removal of a failed create's stack is such a rollback is not documented (README, VERIFY).
 *
 * UpdateReplacePolicy stays Retain: it takes no RetainExceptOnCreate (ReplacePolicy above).
 */
export function retain<R extends Resource>(resource: R): R & { UpdateReplacePolicy: ReplacePolicy } {
  // cloudform-types' DeletionPolicy enum predates RetainExceptOnCreate: the value is typed by src/cfn/deletion-policy.ts.
  const deletionPolicy: DeletionPolicy = 'RetainExceptOnCreate';
  return Object.assign(resource, { DeletionPolicy: deletionPolicy as Resource['DeletionPolicy'], UpdateReplacePolicy: 'Retain' as const });
}

/**
 * AWS::EKS::PodIdentityAssociation, newer than cloudform-types' resource specification.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-eks-podidentityassociation.html
 */
export interface PodIdentityAssociationProperties {
  ClusterName: string;
  Namespace: string;
  ServiceAccount: string;
  RoleArn: IntrinsicFunction;
}

class PodIdentityAssociation extends ResourceBase<PodIdentityAssociationProperties> {
  constructor(properties: PodIdentityAssociationProperties) {
    super('AWS::EKS::PodIdentityAssociation', properties);
  }
}

export const eksPodIdentityAssociation = (properties: PodIdentityAssociationProperties): Resource => new PodIdentityAssociation(properties);
