/**
 * What `destroy` leaves behind on purpose (DeletionPolicy: Retain): the
 * artifact buckets and keys, deleted only when asked (`--delete-retained`):
 * buckets emptied of every version and deleted, keys scheduled for deletion
 * after KMS's shortest waiting period. Repositories, the source of truth, are
 * never deleted by xstack.
 */
import { ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { CfnTemplate } from '../cfn/template';
import type { Aws } from './clients';

export const DELETABLE_RETAINED_TYPES = ['AWS::S3::Bucket', 'AWS::KMS::Key'] as const;
export type RetainedType = (typeof DELETABLE_RETAINED_TYPES)[number];

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html */
export const KEY_DELETION_WINDOW_DAYS = 7;

export interface RetainedResource {
  account: string;
  logicalId: string;
  type: RetainedType;
  physicalId: string;
}

/** Logical ids of the retained buckets and keys of a template. */
export function retainedDeletable(template: CfnTemplate): Array<[logicalId: string, type: RetainedType]> {
  return Object.entries(template.Resources).flatMap(([id, r]) =>
    r.DeletionPolicy === 'Retain' && (DELETABLE_RETAINED_TYPES as readonly string[]).includes(r.Type) ? [[id, r.Type as RetainedType] as [string, RetainedType]] : [],
  );
}

export async function deleteRetained(aws: Aws, credentials: AwsCredentialIdentity, resource: RetainedResource): Promise<void> {
  if (resource.type === 'AWS::KMS::Key') {
    await aws.kms(credentials).send(new ScheduleKeyDeletionCommand({ KeyId: resource.physicalId, PendingWindowInDays: KEY_DELETION_WINDOW_DAYS }));
    return;
  }
  const s3 = aws.s3(credentials);
  const Bucket = resource.physicalId;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    // DeleteObjects takes at most 1,000 keys a call.
    for (let i = 0; i < objects.length; i += 1000) await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects.slice(i, i + 1000), Quiet: true } }));
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
  await s3.send(new DeleteBucketCommand({ Bucket }));
}
