/**
 * The template bucket's answers as S3 gives them (HeadObject: 404 for a missing key, 403 to a caller that may not
 * read it, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), scripted: moto evaluates no IAM, so
 * it cannot refuse a read to a caller that may write.
 */
import { HeadBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, needsTemplateBucket, utf8BytesOver } from '../src/limits';
import { Aws } from '../src/deploy/clients';
import { foreignBucket, templateBucketName, templateBucketProblem, templateBucketState, templateSource, type TemplateStore } from '../src/deploy/template-store';
import { startRefusingAws, type RefusingAws } from './support/refusing-aws';

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

  it("utf8BytesOver (the text's length deciding where it can) answers as the bytes measured, at and around both of its bounds", () => {
    const limit = 300;
    // Each a UTF-16 unit count and a character of 1, 2 or 3 bytes a unit, a surrogate pair (2 a unit) or a lone surrogate (written as U+FFFD, 3).
    const pieces = ['x', 'é', '€', '😀', '\ud800'];
    for (const piece of pieces) {
      for (const units of [limit / 3 - 1, limit / 3, limit / 3 + 1, limit / 2, limit / 2 + 1, limit - 1, limit, limit + 1]) {
        for (const fill of ['x', '€']) {
          const text = `${piece.repeat(Math.floor(units / piece.length))}${fill.repeat(units % piece.length)}`;
          expect(utf8BytesOver(text, limit), `${JSON.stringify(piece)} × ${units}`).toBe(Buffer.byteLength(text) > limit);
        }
      }
    }
    // The bounds themselves: a third of the limit in three-byte characters is the limit, not over it; one unit more is.
    expect(utf8BytesOver('€'.repeat(limit / 3), limit)).toBe(false);
    expect(utf8BytesOver(`${'€'.repeat(limit / 3)}x`, limit)).toBe(true);
    expect(utf8BytesOver('x'.repeat(limit), limit)).toBe(false);
    expect(utf8BytesOver('x'.repeat(limit + 1), limit)).toBe(true);
  });
});

/**
 * The name is global: a bucket of it in another Region answers HeadBucket with S3's redirect (301) or a generic 400,
 * each with the bucket's Region (API_HeadBucket.html, as test/support/refusing-aws.ts answers `moved-…` and `bad-…`);
 * bootstrap and deploy refuse it as another's, as they do a 403, not with the SDK's raw error (review s42-bootstrap m3).
 */
describe("a template bucket's name taken in another Region", () => {
  let fake: RefusingAws;
  beforeAll(async () => {
    fake = await startRefusingAws();
  });
  afterAll(async () => {
    await fake?.stop();
  });
  const s3 = () => new Aws({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' }, maxAttempts: 1 }).s3();
  const name = (start: string) => `${start}-xstack-templates-111111111111-eu-west-1`;

  it("HeadBucket's redirect (301) or 400 naming the bucket's Region is a bucket another account controls; 403 too; 404 none", async () => {
    expect(await templateBucketState(s3(), name('moved'), '111111111111')).toBe('foreign');
    expect(await templateBucketState(s3(), name('bad'), '111111111111')).toBe('foreign');
    // A 400 from the client's own Region says nothing of the bucket's owner: S3's error, as it came (review s42-diff D2).
    await expect(templateBucketState(s3(), name('here400'), '111111111111')).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect(await templateBucketState(s3(), name('refused'), '111111111111')).toBe('foreign');
    expect(await templateBucketState(s3(), name('acme'), '111111111111')).toBe('missing');
  });

  it("deploy's put answered PermanentRedirect (301, the bucket in another Region) is TEMPLATE_BUCKET_FOREIGN, found by HeadBucket, not the SDK's error", async () => {
    const answer = (name: string, status: number, headers: Record<string, string>) =>
      Object.assign(new Error('The bucket you are attempting to access must be addressed using the specified endpoint.'), { name, $metadata: { httpStatusCode: status }, $response: { statusCode: status, headers } });
    const elsewhere = { 'x-amz-bucket-region': 'us-west-2' };
    /** The put answered `put`, HeadBucket answered a redirect naming us-west-2: the calls made, and what templateSource threw. */
    const putAnswered = async (put: Error) => {
      const calls: string[] = [];
      const client = {
        send: async (command: unknown) => {
          calls.push((command as object).constructor.name);
          if (command instanceof PutObjectCommand) throw put;
          if (command instanceof HeadBucketCommand) throw answer('Unknown', 301, elsewhere);
          throw new Error(`unexpected ${String(command)}`);
        },
        // The SDK's client's Region, a provider (the Region the answers are compared with).
        config: { region: async () => 'eu-west-1' },
      } as unknown as S3Client;
      const store: TemplateStore = { s3: client, bucket: templateBucketName('acme', '111111111111', 'eu-west-1'), region: 'eu-west-1', partition: 'aws' };
      return { calls, error: await templateSource(store, 'acme-pipelines', large).then(() => undefined, (e: unknown) => e) };
    };
    const { calls, error } = await putAnswered(answer('PermanentRedirect', 301, elsewhere));
    // Whole, with its way out for a bucket of one's own in another Region (review s43-mutations-5 TS4).
    expect(error).toMatchObject({
      code: 'TEMPLATE_BUCKET_FOREIGN',
      message:
        'S3 bucket acme-xstack-templates-111111111111-eu-west-1 exists but account 111111111111 does not own it (S3 refused a call with ExpectedBucketOwner 111111111111: Access Denied), may not read it (s3:ListBucket), ' +
        'or it is in another Region than the one its name is made for (S3 answered HeadBucket with that Region): xstack passes no template through a bucket another account controls. ' +
        'If the bucket is yours in another account or Region, delete it; otherwise the name is taken, and templates over 51200 bytes cannot be deployed from this account and Region',
    });
    expect(calls).toEqual(['PutObjectCommand', 'HeadBucketCommand']);
    // By its name without the Region header, and by the header on another error S3 answers a wrong-Region request
    // with (a 400: AuthorizationHeaderMalformed, IllegalLocationConstraintException): asked of HeadBucket the same way
    // (review s43-mutations-5 TS1, TS2).
    for (const put of [answer('PermanentRedirect', 301, {}), answer('AuthorizationHeaderMalformed', 400, elsewhere), answer('IllegalLocationConstraintException', 400, elsewhere)]) {
      const again = await putAnswered(put);
      expect(again.error, put.name).toMatchObject({ code: 'TEMPLATE_BUCKET_FOREIGN' });
      expect(again.calls).toEqual(['PutObjectCommand', 'HeadBucketCommand']);
    }
    // Another error, naming no Region, is S3's as it came: no HeadBucket.
    const other = answer('SlowDown', 503, {});
    expect(await putAnswered(other)).toEqual({ calls: ['PutObjectCommand'], error: other });
  });

  it("plan's reading (templateBucketProblem): a bucket in another Region fails the stage with deploy's refusal, as a missing one does; a 403 is a note; a template passed inline asks nothing; one HeadBucket a store, however many templates ask (review s43-plan m5, s43-diff m1, s44-mutations-6 TS1, TS2, TS4)", async () => {
    /** A store of the bucket named `start-…` through the fake S3, counting the calls. */
    const counted = (start: string) => {
      const client = s3();
      const calls: string[] = [];
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = (command) => {
        calls.push((command as object).constructor.name);
        return send(command);
      };
      return { store: { s3: client, bucket: name(start), region: 'eu-west-1', partition: 'aws' } as TemplateStore, calls };
    };
    for (const start of ['moved', 'bad']) {
      const { store } = counted(start);
      expect(await templateBucketProblem(store, 'acme-pipelines', large), start).toEqual({ fails: foreignBucket(name(start), '111111111111').message });
    }
    const missing = counted('acme');
    expect((await templateBucketProblem(missing.store, 'acme-pipelines', large)).fails).toMatch(/^acme-pipelines: its template is \d+ bytes, over CloudFormation's 51200 for a template passed inline, so it goes through S3 bucket acme-xstack-templates-111111111111-eu-west-1, which does not exist: run 'xstack bootstrap'/);
    // Asked once for the store: a second template (a family's other part) reads the same answer.
    expect((await templateBucketProblem(missing.store, 'acme-pipelines-2', large)).fails).toMatch(/^acme-pipelines-2: its template is/);
    expect(missing.calls).toEqual(['HeadBucketCommand']);
    const refused = counted('refused');
    expect(await templateBucketProblem(refused.store, 'acme-pipelines', large)).toEqual({
      note: `S3 answered HeadBucket of the template bucket ${name('refused')} with 403: either another account owns it (deploy then fails the stage, TEMPLATE_BUCKET_FOREIGN), or this identity may not s3:ListBucket it (deploy's put passes): plan cannot tell which`,
    });
    // Inline: nothing asked, nothing said, whatever the bucket.
    const inline = counted('moved');
    expect(await templateBucketProblem(inline.store, 'acme-pipelines', 'Resources: {}\n')).toEqual({});
    expect(inline.calls).toEqual([]);
  });
});
