/**
 * The administrator's CloudFormation client as clients.ts makes it, against a tiny CloudFormation on 127.0.0.1 that
 * answers each call from a script: StackSets' quota refusal (LimitExceededException) comes back at the first attempt,
 * for stacksets.ts to pace (LIMIT_ATTEMPTS), while throttling is still retried by the SDK's adaptive retry.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Aws } from '../src/deploy/clients';
import { LOCAL_CREDENTIALS } from '../src/deploy/local';

/** The awsQuery error document (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html). */
const errorXml = (code: string) =>
  `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${code} (scripted)</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`;

const SUCCESS =
  '<CreateStackInstancesResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackInstancesResult><OperationId>op-1</OperationId></CreateStackInstancesResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></CreateStackInstancesResponse>';

/** What the server answers, in order: an error code (400), or success; then success for every later call. */
let script: string[] = [];
let requests = 0;
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const code = script.shift();
      res.writeHead(code ? 400 : 200, { 'content-type': 'text/xml' });
      res.end(code ? errorXml(code) : SUCCESS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  script = [];
  requests = 0;
});

const cloudFormation = (maxAttempts?: number) => new Aws({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts }).cloudFormation();
const create = new CreateStackInstancesCommand({ StackSetName: 's', Accounts: ['111111111111'], Regions: ['us-east-1'], OperationId: 'op-1' });

describe("the CloudFormation client's retries", () => {
  it('LimitExceededException (a StackSets quota, not a rate) is not retried by the SDK: one attempt, the error to the caller', async () => {
    script = ['LimitExceededException'];
    await expect(cloudFormation().send(create)).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { attempts: 1 } });
    expect(requests).toBe(1);
  });

  it('throttling is still retried by the SDK, then the call goes through', async () => {
    for (const code of ['Throttling', 'ThrottlingException']) {
      script = [code];
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
      script = ['LimitExceededException'];
      await cfn.send(create).catch(() => undefined);
    }
    script = [];
    const started = Date.now();
    for (let i = 0; i < 10; i++) await cfn.send(create);
    // Had they counted as throttling, the token bucket would be on, filling at its floor of 0.5 a second.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
