/**
 * The template bucket's answers as S3 gives them (HeadObject: 404 for a missing key, 403 to a caller that may not
 * read it, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), scripted: moto evaluates no IAM, so
 * it cannot refuse a read to a caller that may write.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { LIMITS, needsTemplateBucket } from '../src/limits';
import { templateBucketName, templateSource, type TemplateStore } from '../src/deploy/template-store';

const refused = (status: number) => Object.assign(new Error(status === 404 ? 'NotFound' : 'Forbidden'), { name: status === 404 ? 'NotFound' : 'Forbidden', $metadata: { httpStatusCode: status } });

/** A bucket that answers HeadObject with each status of `heads` in turn (200 once they run out), and takes every put. */
function scripted(heads: number[]): { store: TemplateStore; calls: string[] } {
  const calls: string[] = [];
  const s3 = {
    send: async (command: unknown) => {
      if (command instanceof HeadObjectCommand) {
        calls.push('HeadObject');
        const status = heads.shift() ?? 200;
        if (status !== 200) throw refused(status);
        return {};
      }
      if (command instanceof PutObjectCommand) {
        calls.push('PutObject');
        return {};
      }
      throw new Error(`unexpected ${String(command)}`);
    },
  } as unknown as S3Client;
  return { store: { s3, bucket: templateBucketName('acme', '111111111111', 'eu-west-1'), region: 'eu-west-1', partition: 'aws' }, calls };
}

const large = `Resources:\n${'#'.repeat(LIMITS.templateBodyBytes)}\n`;

describe('a template over the inline limit goes through the template bucket', () => {
  it('put by every operation, even when an object is at its key (a writer of the bucket may have put another template there: review s32-escalation M2), then passed by URL', async () => {
    const { store, calls } = scripted([200]);
    expect(await templateSource(store, 'acme-pipelines', large)).toEqual({ TemplateURL: expect.stringMatching(/^https:\/\/acme-xstack-templates-111111111111-eu-west-1\.s3\.eu-west-1\.amazonaws\.com\/templates\/acme-pipelines\/[0-9a-f]{64}\.yaml$/) });
    expect(calls).toEqual(['PutObject', 'HeadObject']);
  });

  it('put, but unreadable (403): refused before any operation, naming s3:GetObject on the templates', async () => {
    const { store, calls } = scripted([403]);
    await expect(templateSource(store, 'acme-pipelines', large)).rejects.toMatchObject({
      code: 'TEMPLATE_BUCKET_UNREADABLE',
      message: expect.stringContaining('grant s3:GetObject on arn:aws:s3:::acme-xstack-templates-111111111111-eu-west-1/templates/* to the identity that deploys'),
    });
    expect(calls).toEqual(['PutObject', 'HeadObject']);
  });
});

describe("CloudFormation's limit for a template passed inline: 51,200 bytes (cloudformation-limits.html; review s40-mutations 8)", () => {
  it('51,200 bytes go inline, 51,201 through the template bucket: the number written out, not read from LIMITS, so a changed limit fails here', () => {
    expect(needsTemplateBucket('x'.repeat(51_200))).toBe(false);
    expect(needsTemplateBucket('x'.repeat(51_201))).toBe(true);
  });

  it('counts bytes of UTF-8, not characters: 25,600 two-byte characters are 51,200 bytes, one more is over, though either is far fewer characters', () => {
    expect(Buffer.byteLength('é'.repeat(25_600))).toBe(51_200);
    expect(needsTemplateBucket('é'.repeat(25_600))).toBe(false);
    expect(needsTemplateBucket('é'.repeat(25_601))).toBe(true);
    // One byte over at the end: a three-byte character where an ASCII one would have fit.
    expect(needsTemplateBucket(`${'x'.repeat(51_197)}€`)).toBe(false);
    expect(needsTemplateBucket(`${'x'.repeat(51_198)}€`)).toBe(true);
  });
});
