/**
 * CloudFormation properties newer than the resource specification cloudform-types
 * was generated from. They are added here, typed, rather than through `any` at the
 * call sites.
 */
import Pipeline, { type PipelineProperties } from 'cloudform-types/types/codePipeline/pipeline';
import type Resource from 'cloudform-types/types/resource';
import { ResourceBase } from 'cloudform-types/types/resource';
import type { IntrinsicFunction } from 'cloudform-types/types/dataTypes';

/** https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codepipeline-pipeline.html */
export interface PipelineV2Properties extends PipelineProperties {
  PipelineType: 'V1' | 'V2';
  ExecutionMode?: 'QUEUED' | 'SUPERSEDED' | 'PARALLEL';
}

export function pipelineV2(properties: PipelineV2Properties): Pipeline {
  return new Pipeline(properties);
}

/** https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html */
export type ReplacePolicy = 'Delete' | 'Retain' | 'Snapshot';

/**
 * Keeps a stateful resource (repository, bucket, key) when its stack is deleted
 * or when an update would replace it.
 */
export function retain<R extends Resource>(resource: R): R & { UpdateReplacePolicy: ReplacePolicy } {
  return Object.assign(resource, { DeletionPolicy: 'Retain' as Resource['DeletionPolicy'], UpdateReplacePolicy: 'Retain' as const });
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
