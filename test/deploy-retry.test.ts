/**
 * The clients as clients.ts makes them, against a tiny endpoint on 127.0.0.1 that answers each call from a script.
 * CloudFormation: StackSets' quota refusal (LimitExceededException) comes back at the first attempt, for stacksets.ts
 * to pace (LIMIT_ATTEMPTS), while throttling is still retried by the SDK's adaptive retry. IAM and KMS: their
 * LimitExceededException is a quota of resources too (clients.ts `Aws` cites the pages), so it comes back at once;
 * their throttling, under another name, is still retried.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { CreatePolicyVersionCommand } from '@aws-sdk/client-iam';
import { CreateAliasCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Aws } from '../src/deploy/clients';
import { LOCAL_CREDENTIALS } from '../src/deploy/local';

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** The awsQuery error document (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html). */
const errorXml = (code: string, status = 400): Answer => ({
  status,
  contentType: 'text/xml',
  body: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${code} (scripted)</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
});

/** KMS speaks awsJson1.1: the error's name in `__type`. */
const errorJson = (type: string): Answer => ({ status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: type, message: `${type} (scripted)` }) });

const CFN_SUCCESS: Answer = {
  status: 200,
  contentType: 'text/xml',
  body: '<CreateStackInstancesResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackInstancesResult><OperationId>op-1</OperationId></CreateStackInstancesResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></CreateStackInstancesResponse>',
};

/** What the server answers, in order; then `success` for every later call. */
let script: Answer[] = [];
let success: Answer = CFN_SUCCESS;
let requests = 0;
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const answer = script.shift() ?? success;
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  script = [];
  success = CFN_SUCCESS;
  requests = 0;
});

const aws = (maxAttempts?: number) => new Aws({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts });
const cloudFormation = (maxAttempts?: number) => aws(maxAttempts).cloudFormation();
const create = new CreateStackInstancesCommand({ StackSetName: 's', Accounts: ['111111111111'], Regions: ['us-east-1'], OperationId: 'op-1' });

describe("the CloudFormation client's retries", () => {
  it('LimitExceededException (a StackSets quota, not a rate) is not retried by the SDK: one attempt, the error to the caller', async () => {
    script = [errorXml('LimitExceededException')];
    await expect(cloudFormation().send(create)).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { attempts: 1 } });
    expect(requests).toBe(1);
  });

  it('throttling is still retried by the SDK, then the call goes through', async () => {
    for (const code of ['Throttling', 'ThrottlingException']) {
      script = [errorXml(code)];
      requests = 0;
      const out = await cloudFormation().send(create);
      expect(out.OperationId, code).toBe('op-1');
      expect(out.$metadata.attempts, code).toBe(2);
      expect(requests, code).toBe(2);
    }
  });

  it('a quota refusal leaves the adaptive send rate alone: calls after several of them are sent at once', async () => {
    // One attempt a call: the SDK's retries out of the way, what is left is its rate limiter.
    const cfn = cloudFormation(1);
    for (let i = 0; i < 5; i++) {
      script = [errorXml('LimitExceededException')];
      await cfn.send(create).catch(() => undefined);
    }
    script = [];
    const started = Date.now();
    for (let i = 0; i < 10; i++) await cfn.send(create);
    // Had they counted as throttling, the token bucket would be on, filling at its floor of 0.5 a second.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("the IAM client's retries", () => {
  const IAM_SUCCESS: Answer = {
    status: 200,
    contentType: 'text/xml',
    body: '<CreatePolicyVersionResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreatePolicyVersionResult><PolicyVersion><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion></PolicyVersion></CreatePolicyVersionResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></CreatePolicyVersionResponse>',
  };
  // bootstrap.ts's call: a managed policy holds at most five versions, past which IAM refuses with LimitExceeded.
  const createVersion = new CreatePolicyVersionCommand({ PolicyArn: 'arn:aws:iam::111111111111:policy/p', PolicyDocument: '{}', SetAsDefault: true });

  it("LimitExceeded (IAM's account limits, its wire code with HTTP 409) is not retried by the SDK: one attempt, the error to the caller", async () => {
    success = IAM_SUCCESS;
    script = [errorXml('LimitExceeded', 409)];
    await expect(aws().iam().send(createVersion)).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { attempts: 1 } });
    expect(requests).toBe(1);
  });

  it("ConcurrentModification (IAM: 'Wait a few minutes and submit your request again', HTTP 409) is retried by the SDK as a transient error, then the call goes through (review s47-deploy-api 3)", async () => {
    success = IAM_SUCCESS;
    script = [errorXml('ConcurrentModification', 409), errorXml('ConcurrentModification', 409)];
    const out = await aws().iam().send(createVersion);
    expect(out.PolicyVersion?.VersionId).toBe('v2');
    expect(out.$metadata.attempts).toBe(3);
    // Past the client's attempts, the error to the caller.
    script = Array.from({ length: 3 }, () => errorXml('ConcurrentModification', 409));
    await expect(aws(3).iam().send(createVersion)).rejects.toMatchObject({ name: 'ConcurrentModificationException', $metadata: { attempts: 3 } });
  });

  it('throttling is still retried by the SDK, then the call goes through', async () => {
    success = IAM_SUCCESS;
    script = [errorXml('Throttling')];
    const out = await aws().iam().send(createVersion);
    expect(out.PolicyVersion?.VersionId).toBe('v2');
    expect(out.$metadata.attempts).toBe(2);
    expect(requests).toBe(2);
  });
});

describe("the KMS client's retries", () => {
  const KEY = 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const json = (body: object): Answer => ({ status: 200, contentType: 'application/x-amz-json-1.1', body: JSON.stringify(body) });

  it('ThrottlingException (KMS\'s request-rate refusal) is still retried by the SDK: retained.ts\'s ScheduleKeyDeletion goes through', async () => {
    success = json({ KeyId: KEY, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    script = [errorJson('ThrottlingException'), errorJson('ThrottlingException')];
    const out = await aws().kms().send(new ScheduleKeyDeletionCommand({ KeyId: KEY, PendingWindowInDays: 7 }));
    expect(out.KeyState).toBe('PendingDeletion');
    expect(out.$metadata.attempts).toBe(3);
    expect(requests).toBe(3);
  });

  it("LimitExceededException (KMS's resource quota, e.g. aliases per key) is not retried by the SDK: one attempt, the error to the caller", async () => {
    success = json({});
    script = [errorJson('LimitExceededException')];
    await expect(aws().kms().send(new CreateAliasCommand({ AliasName: 'alias/a', TargetKeyId: KEY }))).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { attempts: 1 } });
    expect(requests).toBe(1);
  });
});
