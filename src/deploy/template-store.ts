/**
 * Where a StackSet's template comes from. CloudFormation takes a template
 * inline up to 51,200 bytes (TemplateBody) and from S3 up to 1 MB
 * (TemplateURL): "The URL must point to a template (max size: 1 MB) that's
 * located in an Amazon S3 bucket",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html
 * A template of a large org (conditions naming each account's values) can
 * be larger than the inline limit; it goes through a bucket of the
 * administrator account that `xstack bootstrap` creates, keyed by its
 * SHA-256, so an upload never overwrites another template. It is put by
 * every operation that sends it, never taken as already there (a put
 * replaces the object: "Amazon S3 never adds partial objects; if you receive
 * a success response, Amazon S3 added the entire object to the bucket",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html): the key is
 * known from the compile (manifest.json lists each template's SHA-256), so
 * an object a writer of the bucket put there before would be applied to the
 * org's stacks (review s32-escalation M2). What CloudFormation then read is
 * checked against the compile after the operation (deployer.ts).
 *
 * Its name can be derived by anyone, so it is trusted by owner, not by name:
 * every call to it says which account must own it (ExpectedBucketOwner), and
 * S3 refuses the call if another account does: "We recommend using bucket
 * owner condition whenever you perform a supported S3 operation and know the
 * account ID of the expected bucket owner."
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
 * ExpectedBucketOwner: "If the account ID that you provide does not match the
 * actual owner of the bucket, the request fails with the HTTP status code 403
 * Forbidden (access denied)." (HeadBucket, HeadObject, PutObject, and each
 * PutBucket* call bootstrap makes: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html)
 */
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Partition } from '../aws/partitions';
import { XstackError } from '../errors';
import { sha256 } from '../hash';
import { LIMITS, needsTemplateBucket } from '../limits';
import { Names } from '../naming';

/** One bucket per administrator account and region (naming.ts, where the org file's prefix is checked against S3's rules for it). */
export const templateBucketName = (prefix: string, adminAccount: string, region: string): string => new Names(prefix).templateBucket(adminAccount, region);

/** The account that must own a template bucket: the administrator account its name was made for. */
export function templateBucketOwner(bucket: string): string {
  const owner = /-xstack-templates-(\d{12})-[a-z0-9-]+$/.exec(bucket)?.[1];
  if (!owner) throw new Error(`${bucket} is not a name templateBucketName makes`);
  return owner;
}

const DNS_SUFFIX: Record<Partition, string> = { aws: 'amazonaws.com', 'aws-us-gov': 'amazonaws.com', 'aws-cn': 'amazonaws.com.cn' };

/** Virtual-hosted–style URL. https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html */
export const templateUrl = (bucket: string, key: string, region: string, partition: Partition): string => `https://${bucket}.s3.${region}.${DNS_SUFFIX[partition]}/${key}`;

export const templateKey = (stackSet: string, templateBody: string): string => `templates/${stackSet}/${sha256(templateBody)}.yaml`;

export type TemplateSource = { TemplateBody: string } | { TemplateURL: string };

export interface TemplateStore {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  readonly partition: Partition;
}

/** The template inline when it fits, else put in the administrator account's bucket and named by URL. */
export async function templateSource(store: TemplateStore, stackSet: string, templateBody: string): Promise<TemplateSource> {
  if (!needsTemplateBucket(templateBody)) return { TemplateBody: templateBody };
  const key = templateKey(stackSet, templateBody);
  const ExpectedBucketOwner = templateBucketOwner(store.bucket);
  try {
    await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: templateBody, ContentType: 'application/x-yaml', ExpectedBucketOwner }));
  } catch (putError) {
    const name = (putError as { name?: string }).name;
    // PermanentRedirect (301): "The bucket that you are attempting to access must be addressed using the specified
    // endpoint" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorCodeBilling.html), a bucket of the name in
    // another Region, which templateBucketState tells as another's (review s42-bootstrap m3).
    // S3 answers a wrong-Region request with a 400 too (IllegalLocationConstraintException, AuthorizationHeaderMalformed,
    // same table): any answer naming the bucket's Region is checked the same way.
    if (name !== 'NoSuchBucket' && name !== 'AccessDenied' && name !== 'PermanentRedirect' && bucketRegionOf(putError) === undefined) throw putError;
    const state = await templateBucketState(store.s3, store.bucket, ExpectedBucketOwner);
    throw state === 'foreign' ? foreignBucket(store.bucket, ExpectedBucketOwner) : missingBucket(store.bucket, stackSet, templateBody, state);
  }
  // The put passed, so the bucket is the administrator's and the key is there: a HeadObject refused (403) means the
  // caller may write the template but not read it ("You must have READ access to the object",
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). CloudFormation fetches a TemplateURL with the
  // caller's access: its refusal is only "TemplateURL must reference a valid S3 object to which you have access" (AWS
  // documents no more; the wording is the field's: serverless/serverless#2775, aws/copilot-cli#1695), so the missing
  // permission is named here, before any operation.
  try {
    await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key, ExpectedBucketOwner }));
  } catch (error) {
    if (statusOf(error) === 403) throw unreadableTemplate(store, key, stackSet);
    throw error;
  }
  return { TemplateURL: templateUrl(store.bucket, key, store.region, store.partition) };
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

const unreadableTemplate = (store: TemplateStore, key: string, stackSet: string) =>
  new XstackError(
    'TEMPLATE_BUCKET_UNREADABLE',
    `${stackSet}: its template was put in S3 bucket ${store.bucket}, but these credentials may not read it back (HeadObject on ${key}: 403), and CloudFormation reads a TemplateURL with the caller's access: grant s3:GetObject on arn:${store.partition}:s3:::${store.bucket}/templates/* to the identity that deploys, then run again`,
  );

/** Each store's HeadBucket, asked once: plan asks for every changed template over the inline limit (a family's parts). */
const bucketStates = new WeakMap<TemplateStore, Promise<Awaited<ReturnType<typeof headBucket>>>>();

/**
 * What plan says of a template that goes through the bucket (review s43-plan m5): nothing when the bucket is the
 * administrator's; `fails`, deploy's own refusal, which fails the stage at its first operation; `note`, when S3's
 * answer cannot tell. A read, never a put: a bucket the caller may not write (refused PutObject) is deploy's to find.
 */
export async function templateBucketProblem(store: TemplateStore, stackSet: string, templateBody: string): Promise<{ fails?: string; note?: string }> {
  if (!needsTemplateBucket(templateBody)) return {};
  const owner = templateBucketOwner(store.bucket);
  if (!bucketStates.has(store)) bucketStates.set(store, headBucket(store.s3, store.bucket, owner));
  const state = await bucketStates.get(store)!;
  if (state === 'missing') return { fails: missingBucket(store.bucket, stackSet, templateBody, state).message };
  if (state === 'elsewhere') return { fails: foreignBucket(store.bucket, owner).message };
  // A 403 is another account's bucket, or a caller without s3:ListBucket whose put deploy makes and passes: not told
  // apart here, so not a failure (review s43-diff m1).
  if (state === 'refused') {
    return { note: `S3 answered HeadBucket of the template bucket ${store.bucket} with 403: either another account owns it (deploy then fails the stage, TEMPLATE_BUCKET_FOREIGN), or this identity may not s3:ListBucket it (deploy's put passes): plan cannot tell which` };
  }
  return {};
}

const missingBucket = (bucket: string, stackSet: string, body: string, state: 'missing' | 'present') =>
  new XstackError(
    'TEMPLATE_BUCKET_MISSING',
    `${stackSet}: its template is ${Buffer.byteLength(body)} bytes, over CloudFormation's ${LIMITS.templateBodyBytes} for a template passed inline, so it goes through S3 bucket ${bucket}, which ${state === 'missing' ? 'does not exist' : 'cannot be written (s3:PutObject refused)'}: run 'xstack bootstrap' (it creates the bucket)`,
  );

/** The bucket's name is taken by an account other than the administrator's: xstack passes no template through it. */
export const foreignBucket = (bucket: string, owner: string) =>
  new XstackError(
    'TEMPLATE_BUCKET_FOREIGN',
    `S3 bucket ${bucket} exists but account ${owner} does not own it (S3 refused a call with ExpectedBucketOwner ${owner}: Access Denied), may not read it (s3:ListBucket), or it is in another Region than the one its name is made for (S3 answered HeadBucket with that Region): xstack passes no template through a bucket another account controls. If the bucket is yours in another account or Region, delete it; otherwise the name is taken, and templates over ${LIMITS.templateBodyBytes} bytes cannot be deployed from this account and Region`,
  );

/**
 * Whether the administrator account's bucket is there (bootstrap's check):
 * HeadBucket with the owner condition answers 200 for the owner's bucket,
 * 404 for no bucket, and 403 for one another account owns (or, the same
 * answer, one the caller may not list).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
 * Bucket names are global, and a bucket of the name in another Region is answered with the bucket's Region: "You can
 * make a HeadBucket call on any bucket name to any Region in the partition, and regardless of the permissions on the
 * bucket, you will receive a response header with the correct bucket location"; "If the bucket doesn't exist or you
 * don't have permission to access it, the HEAD request returns a generic 400 Bad Request, 403 Forbidden, or 404 Not
 * Found" (same page), or S3's redirect (301), which the SDK's client does not follow. An answer that names another
 * Region than this client's (x-amz-bucket-region) is a bucket there that this call may not use as the administrator's,
 * whose bucket is in this Region (its name says which): another's (review s42-bootstrap m3). One that names this
 * Region (a 400 or a 5xx from the bucket's own Region) says nothing of its owner: thrown (review s42-diff D2).
 */
export async function templateBucketState(s3: S3Client, bucket: string, expectedOwner: string): Promise<'missing' | 'present' | 'foreign'> {
  const state = await headBucket(s3, bucket, expectedOwner);
  return state === 'refused' || state === 'elsewhere' ? 'foreign' : state;
}

/** HeadBucket's answer as templateBucketState reads it, a 403 ('refused') told apart from another Region's bucket. */
async function headBucket(s3: S3Client, bucket: string, expectedOwner: string): Promise<'missing' | 'present' | 'refused' | 'elsewhere'> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: expectedOwner }));
    return 'present';
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return 'missing';
    if (status === 403) return 'refused';
    // S3 names the bucket's Region on nearly every answer: only another Region than this client's says where it is.
    const region = bucketRegionOf(error);
    if (region !== undefined && region !== (await s3.config.region())) return 'elsewhere';
    throw error;
  }
}

/** The Region S3 named in an answer's x-amz-bucket-region header (HeadBucket's, above), if it did. */
const bucketRegionOf = (error: unknown): string | undefined => (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['x-amz-bucket-region'];
