/**
 * Where a StackSet's template comes from. CloudFormation takes a template
 * inline up to 51,200 bytes (TemplateBody) and from S3 up to 1 MB
 * (TemplateURL): "The URL must point to a template (max size: 1 MB) that's
 * located in an Amazon S3 bucket",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html
 * A template of a large org (conditions naming each account's values) can
 * be larger than the inline limit; it goes through a bucket of the
 * administrator account that `xstack bootstrap` creates, keyed by its
 * SHA-256, so an upload is never repeated and never overwrites another.
 */
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Partition } from '../aws/partitions';
import { XstackError } from '../errors';
import { sha256 } from '../hash';
import { LIMITS, needsTemplateBucket } from '../limits';

/** One bucket per administrator account and region: S3 bucket names are global, so the account and region are in it. */
export const templateBucketName = (prefix: string, adminAccount: string, region: string): string => `${prefix}-xstack-templates-${adminAccount}-${region}`;

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

/** The template inline when it fits, else uploaded (once) and named by URL. */
export async function templateSource(store: TemplateStore, stackSet: string, templateBody: string): Promise<TemplateSource> {
  if (!needsTemplateBucket(templateBody)) return { TemplateBody: templateBody };
  const key = templateKey(stackSet, templateBody);
  try {
    await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
  } catch (error) {
    // A missing key is 404, or 403 to a caller without s3:ListBucket: either way, put it.
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404 && status !== 403) throw error;
    try {
      await store.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: templateBody, ContentType: 'application/x-yaml' }));
    } catch (putError) {
      const name = (putError as { name?: string }).name;
      if (name === 'NoSuchBucket' || name === 'AccessDenied') throw missingBucket(store.bucket, stackSet, templateBody);
      throw putError;
    }
  }
  return { TemplateURL: templateUrl(store.bucket, key, store.region, store.partition) };
}

const missingBucket = (bucket: string, stackSet: string, body: string) =>
  new XstackError(
    'TEMPLATE_BUCKET_MISSING',
    `${stackSet}: its template is ${Buffer.byteLength(body)} bytes, over CloudFormation's ${LIMITS.templateBodyBytes} for a template passed inline, so it goes through S3 bucket ${bucket}, which does not exist or cannot be written: run 'xstack bootstrap' (it creates the bucket)`,
  );

/** Whether the bucket exists (bootstrap's check). */
export async function templateBucketState(s3: S3Client, bucket: string): Promise<'missing' | 'present'> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'present';
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return 'missing';
    throw error;
  }
}
