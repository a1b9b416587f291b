/**
 * What `destroy` leaves behind on purpose (DeletionPolicy Retain or RetainExceptOnCreate, alike once the create
 * that made a resource succeeded: src/cfn/extensions.ts `retain`), and how a
 * later deploy gets past it:
 * - repositories, the source of truth, are never deleted by xstack, and the
 *   StackSet that holds them (nothing else) is kept by `destroy`: they never
 *   leave CloudFormation, and the next deploy finds them in place (adopted);
 * - the artifact and access-log buckets, the artifact keys and the CI
 *   network's flow-log group are retained unless `--delete-retained` (buckets
 *   emptied of every version and deleted, keys scheduled for deletion after
 *   KMS's shortest waiting period, the log group deleted with its records); a deploy
 *   after a destroy that kept them needs the org file's next `bucketGeneration`
 *   (fresh bucket names, src/naming.ts), and `plan` lists the earlier ones.
 */
import { ListStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetRepositoryCommand } from '@aws-sdk/client-codecommit';
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DeleteBucketCommand, DeleteObjectsCommand, GetBucketEncryptionCommand, HeadBucketCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { conditionHolds } from '../cfn/account-switch';
import { namedRetained, type NamedRetained } from '../cfn/retained-names';
import { keptOnDelete } from '../cfn/deletion-policy';
import type { CfnTemplate } from '../cfn/template';
import { errorName, XstackError } from '../errors';
import { AssumeRoleError, roleOf, type Aws } from './clients';
import { isInstanceStackOf } from './stacksets';

export const DELETABLE_RETAINED_TYPES = ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Logs::LogGroup'] as const;
export type RetainedType = (typeof DELETABLE_RETAINED_TYPES)[number];

/** https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html */
export const KEY_DELETION_WINDOW_DAYS = 7;

export interface RetainedResource {
  account: string;
  logicalId: string;
  type: RetainedType;
  physicalId: string;
}

/** What xstack never deletes: a stage holding nothing else outlives `destroy`, its StackSet and instances kept. */
const NEVER_DELETED_TYPES: readonly string[] = ['AWS::CodeCommit::Repository'];

export function keptByDestroy(template: CfnTemplate): boolean {
  const resources = Object.values(template.Resources);
  return resources.length > 0 && resources.every((r) => keptOnDelete(r.DeletionPolicy) && NEVER_DELETED_TYPES.includes(r.Type));
}

/** Logical ids of the retained buckets, keys and log groups of a template. */
export function retainedDeletable(template: CfnTemplate): Array<[logicalId: string, type: RetainedType]> {
  return Object.entries(template.Resources).flatMap(([id, r]) =>
    keptOnDelete(r.DeletionPolicy) && (DELETABLE_RETAINED_TYPES as readonly string[]).includes(r.Type) ? [[id, r.Type as RetainedType] as [string, RetainedType]] : [],
  );
}

type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** Where a target account's resources live: the org's region, whatever `--region` says about the StackSets. */
export { encryptsWithKms, kmsBucketsIn, namedRetained, retainedUnderFixedName, type NamedRetained } from '../cfn/retained-names';

export interface Target {
  account: string;
  region: string;
  partition: string;
  credentials: Credentials;
  /**
   * Said after a refused read: how the reader role's policy is kept current, where xstack does not write it. Asked
   * only once a read is refused (it may read the account: the setup role's tag).
   */
  refusedAdvice?: () => Promise<string>;
}

/** A refused read's way out, with the target's own advice when it has one. */
export const grantOrName = async (target: Target, grant: string) => `${grant}, or name a role that has it with --output-reader-role${target.refusedAdvice ? `; ${await target.refusedAdvice()}` : ''}`;

/**
 * What an instance's removal leaves in its account: the template's retained resources there (DeletionPolicy Retain
 * or RetainExceptOnCreate: "To keep a resource when its stack is deleted, specify Retain for that resource",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html), the
 * named ones by the name they have there. Once the instance is gone `destroy --delete-retained` no longer reaches
 * them, and the account added back meets the named ones ("already exists").
 */
export function leftByRemoval(template: CfnTemplate, account: string, region: string, partition: string): string[] {
  const named = namedRetained(template, account, region, partition);
  // Keys and log groups have names AWS makes: by logical id.
  const unnamed = retainedDeletable(template).filter(([id, type]) => {
    const condition = template.Resources[id].Condition;
    return type !== 'AWS::S3::Bucket' && (!condition || conditionHolds(template.Conditions, condition, account));
  });
  return [...named.map((r) => `${r.type} ${r.name} (${r.logicalId})`), ...unnamed.map(([id, type]) => `${type} ${id}`)];
}

/**
 * Whether a named resource already exists, read with the target's reader
 * credentials. Only a service's own answer counts: credentials that cannot be
 * had (AssumeRole refused) are an `AssumeRoleError` naming the role, and a
 * refused read is an error naming the role and the action, never "it exists".
 */
export async function retainedExists(aws: Aws, target: Target, resource: NamedRetained): Promise<boolean> {
  // The credentials first: a refused AssumeRole surfaces here, before any service call (AssumeRoleError names the role).
  if (typeof target.credentials === 'function') await target.credentials();
  try {
    if (resource.type === 'AWS::S3::Bucket') await aws.s3(target.credentials, target.region).send(new HeadBucketCommand({ Bucket: resource.name }));
    else await aws.codeCommit(target.credentials, target.region).send(new GetRepositoryCommand({ repositoryName: resource.name }));
    return true;
  } catch (error) {
    if (error instanceof AssumeRoleError) throw error;
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number; headers?: Record<string, string> } };
    // Bucket names are global, and HeadBucket names a bucket's Region to anyone who asks: "regardless of the
    // permissions on the bucket, you will receive a response header with the correct bucket location";
    // "If the bucket doesn't exist or you don't have permission to access it, the HEAD request returns a
    // generic 400 Bad Request, 403 Forbidden, or 404 Not Found HTTP status code"
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html). So an answer other than 404 that
    // carries x-amz-bucket-region is a bucket under that name: one the reader may not list (403: another account's;
    // the reader role, the default reader, may list every name the org's templates give a bucket there), or one in
    // another Region, which S3 answers with a redirect the client does not follow (301), or a 400 (review s24-models
    // m5: inference from the page's sentence, which names the header for any answer). A 403 without it says nothing
    // about the bucket: a refusal, reported below.
    const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
    if (resource.type === 'AWS::S3::Bucket' && status !== 404 && e.$response?.headers?.['x-amz-bucket-region']) return true;
    // Answered 200 with a body the SDK could not read (moto's GetRepository dates, as `xstack local` meets them; the
    // tests' StackSets layer gives them as AWS does): the resource is there.
    if (e.$response?.statusCode === 200) return true;
    if (e.name === 'NotFound' || e.name === 'NoSuchBucket' || e.name === 'RepositoryDoesNotExistException' || e.$metadata?.httpStatusCode === 404) return false;
    // A repository is per account and Region: a refusal is the reader's missing permission, not a repository elsewhere.
    // CodeCommit's AccessDeniedException: https://docs.aws.amazon.com/codecommit/latest/APIReference/CommonErrors.html
    if (e.name === 'AccessDeniedException' || e.$metadata?.httpStatusCode === 403) throw await refusedRead(target, resource, e);
    throw error;
  }
}

/**
 * Whether bucket `bucket` of the target account is encrypted by default with KMS key `keyId` (the key's id, its
 * physical id in a stack): `absent` when there is no such bucket, `other` when its default is S3's own keys or another
 * KMS key, `key` when it names this key by id or ARN, and a reason when that cannot be told (a refusal, or a key named
 * by alias). Read with GetBucketEncryption, which needs s3:GetEncryptionConfiguration and answers the bucket's
 * ApplyServerSideEncryptionByDefault (SSEAlgorithm, KMSMasterKeyID: "You can specify the key ID, key alias, or the
 * Amazon Resource Name (ARN) of the KMS key", https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html). "aws:kms" without a key
 * is the AWS managed key aws/s3.
 */
export async function bucketDefaultKey(aws: Aws, target: Target, bucket: string, keyId: string): Promise<'absent' | 'other' | 'key' | { unknown: string }> {
  if (typeof target.credentials === 'function') await target.credentials();
  try {
    const answer = await aws.s3(target.credentials, target.region).send(new GetBucketEncryptionCommand({ Bucket: bucket, ExpectedBucketOwner: target.account }));
    const keys = (answer.ServerSideEncryptionConfiguration?.Rules ?? []).flatMap((rule) => {
      const d = rule.ApplyServerSideEncryptionByDefault;
      return d?.SSEAlgorithm?.startsWith('aws:kms') && d.KMSMasterKeyID ? [d.KMSMasterKeyID] : [];
    });
    if (keys.some((k) => k === keyId || k.endsWith(`:key/${keyId}`))) return 'key';
    const alias = keys.find((k) => k.startsWith('alias/') || k.includes(':alias/'));
    return alias === undefined ? 'other' : { unknown: `its default encryption names key ${alias}, an alias` };
  } catch (error) {
    if (error instanceof AssumeRoleError) throw error;
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    // Before S3 encrypted every bucket by default a bucket could have no default encryption at all (also a 404).
    if (e.name === 'ServerSideEncryptionConfigurationNotFoundError') return 'other';
    if (e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404) return 'absent';
    // 403: the reader may not s3:GetEncryptionConfiguration, or the bucket is another account's (ExpectedBucketOwner).
    return { unknown: `${roleOf(target.credentials) ?? 'the reader credentials'} could not read its default encryption (${e.name ?? 'Error'}: ${e.message ?? ''}): the reader role gains s3:GetEncryptionConfiguration on these names from bucketGeneration 2 on, so run xstack bootstrap if it has not run since; a bucket of that name another account owns answers the same, and then delete the key by hand once you have checked` };
  }
}

const READ_ACTION = { 'AWS::S3::Bucket': 's3:ListBucket (HeadBucket)', 'AWS::CodeCommit::Repository': 'codecommit:GetRepository' } as const;

const refusedRead = async (target: Target, resource: NamedRetained, e: { name?: string; message?: string }) =>
  new XstackError(
    'RETAINED_CHECK_REFUSED',
    `account ${target.account}: could not tell whether ${resource.type} ${resource.name} (${resource.logicalId}) is left from an earlier destroy: ${roleOf(target.credentials) ?? 'the reader credentials'} may not ${READ_ACTION[resource.type]} (${e.name ?? 'Error'}: ${e.message ?? ''}); ${await grantOrName(target, 'grant it')}`,
    { cause: e },
  );

/**
 * Deletes one retained resource; one already deleted (an earlier run of the same destroy got that far) is done, so
 * that running destroy again finishes what an interrupted or partly failed run left.
 */
export async function deleteRetained(aws: Aws, target: Target, resource: RetainedResource, keyDeletionDays = KEY_DELETION_WINDOW_DAYS): Promise<void> {
  const { credentials, region } = target;
  if (resource.type === 'AWS::KMS::Key') {
    const kms = aws.kms(credentials, region);
    try {
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: resource.physicalId, PendingWindowInDays: keyDeletionDays }));
    } catch (error) {
      // An Organization may require a longer waiting period: AWS's sample SCP denies ScheduleKeyDeletion under 30 days
      // on kms:ScheduleKeyDeletionPendingWindowInDays ("You can use the kms:ScheduleKeyDeletionPendingWindowInDays
      // condition key to further constrain the values", API_ScheduleKeyDeletion.html, PendingWindowInDays).
      if (errorName(error) === 'AccessDeniedException' && /service control policy/i.test((error as Error).message ?? '')) {
        const hint = keyDeletionDays < 30 ? '; run destroy --delete-retained again with --key-deletion-days up to 30' : '';
        const refused = new Error(`${(error as Error).message} (a service control policy refuses it: one may require a longer waiting period through kms:ScheduleKeyDeletionPendingWindowInDays${hint})`, { cause: error });
        refused.name = 'AccessDeniedException';
        throw refused;
      }
      // A key already scheduled is refused as KMSInvalidStateException ("The request was rejected because the state of
      // the specified resource is not valid for this request"); one past its waiting period is gone (NotFoundException)
      // (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html, Errors). Only the key's own
      // state says it is the first: any other refusal stands.
      if (errorName(error) === 'NotFoundException') return;
      if (errorName(error) !== 'KMSInvalidStateException') throw error;
      const state = (await kms.send(new DescribeKeyCommand({ KeyId: resource.physicalId }))).KeyMetadata?.KeyState;
      if (state !== 'PendingDeletion' && state !== 'PendingReplicaDeletion') throw error;
    }
    return;
  }
  // A log group's physical id is its name (Ref, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html);
  // "Deletes the specified log group and permanently deletes all the archived log events associated with the log group"
  // (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html); one already deleted
  // is ResourceNotFoundException (same page, Errors).
  if (resource.type === 'AWS::Logs::LogGroup') {
    await aws.logs(credentials, region).send(new DeleteLogGroupCommand({ logGroupName: resource.physicalId })).catch(unless('ResourceNotFoundException'));
    return;
  }
  // A bucket already deleted: NoSuchBucket, "The specified bucket does not exist"
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
  await emptyAndDeleteBucket(aws, target, resource.physicalId).catch(unless('NoSuchBucket'));
}


/** A catch that takes the error named as done, and throws any other. */
const unless =
  (name: string) =>
  (error: unknown): void => {
    if (errorName(error) !== name) throw error;
  };

/**
 * S3 deletes a bucket only once it holds nothing: "All objects (including all object versions and delete markers) in
 * the bucket must be deleted before the bucket itself can be deleted"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html). Each call names the account the bucket was
 * retained in as its owner: bucket names are global and freed by a delete, so a retained bucket deleted by hand may
 * be another account's by now, and S3 then refuses the call (403) rather than empty that one ("We recommend using
 * bucket owner condition whenever you perform a supported S3 operation and know the account ID of the expected bucket
 * owner", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html; review s47-deploy-api 4).
 */
async function emptyAndDeleteBucket(aws: Aws, target: Target, Bucket: string): Promise<void> {
  const s3 = aws.s3(target.credentials, target.region);
  const ExpectedBucketOwner = target.account;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, ExpectedBucketOwner, KeyMarker: keyMarker, VersionIdMarker: versionMarker })).catch((error: unknown) => {
      // S3 answers a wrong owner as it answers a read this identity may not make (403): both said, nothing deleted.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 403) throw error;
      const message = `S3 refused to list it with ExpectedBucketOwner ${target.account}: either another account owns a bucket of this name now (the retained one deleted by hand, its name taken: not this org's to empty), or this identity may not s3:ListBucketVersions it; nothing in it was deleted`;
      throw Object.assign(new Error(message, { cause: error }), { name: errorName(error) ?? 'AccessDenied' });
    });
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    // DeleteObjects takes at most 1,000 keys a call. It answers 200 even when some keys fail: "In quiet mode, the
    // response includes only keys for which the delete operation encountered an error"
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html), so those are named here, not left
    // to a bare BucketNotEmpty from DeleteBucket (an object under Object Lock, or one this identity may not delete).
    for (let i = 0; i < objects.length; i += 1000) {
      const out = await s3.send(new DeleteObjectsCommand({ Bucket, ExpectedBucketOwner, Delete: { Objects: objects.slice(i, i + 1000), Quiet: true } }));
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        const shown = errors.slice(0, 3).map((e) => `${e.Key}${e.VersionId ? ` (version ${e.VersionId})` : ''}: ${e.Code ?? 'error'}${e.Message ? ` ${e.Message}` : ''}`);
        throw new Error(`bucket ${Bucket}: ${errors.length} object${errors.length === 1 ? '' : 's'} could not be deleted (${shown.join('; ')}${errors.length > 3 ? '; …' : ''}), so the bucket stays; delete them by hand, then the bucket`);
      }
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
  await s3.send(new DeleteBucketCommand({ Bucket, ExpectedBucketOwner }));
}

/**
 * The ids of a StackSet's stacks in an account deleted since `since`: what an earlier run of destroy deleted and
 * whose retained resources it may not have deleted yet. ListStacks keeps them: "Summary information for stacks that
 * have been deleted is kept for 90 days after the stack is deleted", each with its DeletionTime
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStacks.html), and ListStackResources
 * reads their resources by id: "For deleted stacks, ListStackResources returns resource information for up to 90 days
 * after the stack has been deleted" (API_ListStackResources.html). A stack without a DeletionTime is not taken.
 */
export async function deletedInstanceStacks(cfn: CloudFormationClient, stackSet: string, since: Date): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'], NextToken: token }));
    for (const s of page.StackSummaries ?? []) {
      if (s.StackStatus !== 'DELETE_COMPLETE' || !s.StackId || !s.StackName || !isInstanceStackOf(s.StackName, stackSet)) continue;
      if (s.DeletionTime && s.DeletionTime.getTime() >= since.getTime()) ids.push(s.StackId);
    }
    token = page.NextToken;
  } while (token);
  return ids;
}
