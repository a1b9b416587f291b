/**
 * The reader's check for retained resources (retainedExists) reads only a
 * service's own answer as "there": a refused AssumeRole or a refused read is an
 * error naming the role and the cause, never a retained collision. Against the
 * refusing endpoint of test/support/refusing-aws.ts (moto allows every call).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Aws } from '../src/deploy/clients';
import { checkExistingRoles, roleNamedExists } from '../src/deploy/existing-roles';
import { bucketDefaultKey, deleteRetained, retainedExists, type NamedRetained, type Target } from '../src/deploy/retained';
import { isInstanceStackOf } from '../src/deploy/stacksets';
import { startRefusingAws, type RefusingAws } from './support/refusing-aws';

let fake: RefusingAws;
beforeAll(async () => {
  fake = await startRefusingAws();
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.calls.length = 0;
});

const aws = () => new Aws({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' }, maxAttempts: 1 });
const READER = 'arn:aws:iam::222222222222:role/Reader';
const target = (client: Aws, roleArn = READER): Target => ({ account: '222222222222', region: 'eu-west-1', partition: 'aws', credentials: client.assumeRefreshing(roleArn) });
const bucket = (name: string): NamedRetained => ({ logicalId: 'ArtifactBucket', type: 'AWS::S3::Bucket', name });
const repository = (name: string): NamedRetained => ({ logicalId: 'RepoApp', type: 'AWS::CodeCommit::Repository', name });

describe('retainedExists', () => {
  it('a refused AssumeRole is an error naming the role and STS\'s reason, and no service is asked', async () => {
    const client = aws();
    const denied = 'arn:aws:iam::222222222222:role/DeniedReader';
    for (const resource of [bucket('acme-artifacts-222222222222-eu-west-1'), repository('app')]) {
      const check = retainedExists(client, target(client, denied), resource);
      await expect(check).rejects.toMatchObject({ code: 'ASSUME_ROLE_FAILED', roleArn: denied });
      await expect(check).rejects.toThrow(`could not assume role ${denied}: AccessDenied: User: arn:aws:sts::999999999999:assumed-role/Operator/someone is not authorized to perform: sts:AssumeRole on resource: ${denied}`);
    }
    expect(fake.calls.filter((c) => !c.startsWith('sts '))).toEqual([]);
  });

  it('HeadBucket 403, 400 or a redirect (301) with the bucket\'s Region: the name is taken (a bucket is there); 404: not there', async () => {
    const client = aws();
    expect(await retainedExists(client, target(client), bucket('taken-acme-artifacts'))).toBe(true);
    expect(await retainedExists(client, target(client), bucket('bad-acme-artifacts'))).toBe(true);
    expect(await retainedExists(client, target(client), bucket('moved-acme-artifacts'))).toBe(true);
    expect(await retainedExists(client, target(client), bucket('acme-artifacts-222222222222-eu-west-1'))).toBe(false);
  });

  it('HeadBucket 403 that names no Region is a refusal, named with the role and the action, not a bucket', async () => {
    const client = aws();
    const check = retainedExists(client, target(client), bucket('refused-acme-artifacts'));
    await expect(check).rejects.toMatchObject({ code: 'RETAINED_CHECK_REFUSED' });
    await expect(check).rejects.toThrow(/^account 222222222222: could not tell whether AWS::S3::Bucket refused-acme-artifacts \(ArtifactBucket\) is left from an earlier destroy: arn:aws:iam::222222222222:role\/Reader may not s3:ListBucket \(HeadBucket\)/);
  });

  it('GetRepository AccessDeniedException (400 or 403) is a refusal naming the role and codecommit:GetRepository; a missing repository is not there', async () => {
    const client = aws();
    for (const name of ['denied-app', 'denied-403-app']) {
      const check = retainedExists(client, target(client), repository(name));
      await expect(check).rejects.toMatchObject({ code: 'RETAINED_CHECK_REFUSED' });
      await expect(check).rejects.toThrow(
        new RegExp(`^account 222222222222: could not tell whether AWS::CodeCommit::Repository ${name} \\(RepoApp\\) is left from an earlier destroy: arn:aws:iam::222222222222:role/Reader may not codecommit:GetRepository \\(AccessDeniedException: User: .* is not authorized to perform: codecommit:GetRepository`),
      );
    }
    expect(await retainedExists(client, target(client), repository('app'))).toBe(false);
  });
});

/** The same reader, asked for the roles the org file names (existing-roles.ts): only IAM's own answer counts. */
describe('checkExistingRoles', () => {
  const account = { id: '222222222222', name: 'dev' };

  it('a refused GetRole is an error naming the reader role, the action and the ARN with its path, not a missing role', async () => {
    const client = aws();
    const check = checkExistingRoles(client, [account], [{ role: 'service-role/denied-app', kind: 'deploymentTargets.instanceRoles' }], () => target(client));
    await expect(check).rejects.toMatchObject({ code: 'EXISTING_ROLE_CHECK_REFUSED' });
    await expect(check).rejects.toThrow(
      /^account 222222222222: could not tell whether the role service-role\/denied-app the org file names exists: arn:aws:iam::222222222222:role\/Reader may not iam:GetRole on it \(AccessDenied: User: .* is not authorized to perform: iam:GetRole.*\); grant iam:GetRole on arn:aws:iam::222222222222:role\/denied-app and arn:aws:iam::222222222222:role\/\*\/denied-app \(the role at any path/,
    );
  });

  it('a refused AssumeRole names the role and asks IAM nothing', async () => {
    const client = aws();
    const denied = 'arn:aws:iam::222222222222:role/DeniedReader';
    const check = checkExistingRoles(client, [account], [{ role: 'app-server', kind: 'deploymentTargets.instanceRoles' }], () => target(client, denied));
    await expect(check).rejects.toMatchObject({ code: 'ASSUME_ROLE_FAILED', roleArn: denied });
    expect(fake.calls.filter((c) => c.startsWith('iam '))).toEqual([]);
  });

  it('NoSuchEntity is a missing role: refusing for an instance role, a note for a key administrator; one GetRole per role name', async () => {
    const client = aws();
    const findings = await checkExistingRoles(
      client,
      [account],
      [
        { role: 'app-server', kind: 'deploymentTargets.instanceRoles' },
        { role: 'app-server', kind: 'keyAdministratorRoles' },
      ],
      () => target(client),
    );
    expect(findings.map((f) => [f.role.kind, f.found, f.refuses])).toEqual([
      ['deploymentTargets.instanceRoles', 'missing', true],
      ['keyAdministratorRoles', 'missing', false],
    ]);
    expect(fake.calls.filter((c) => c.startsWith('iam '))).toEqual(['iam GetRole']);
  });
});

describe('deleteRetained (destroy --delete-retained)', () => {
  it("a bucket whose objects DeleteObjects does not all delete is named with the keys S3 refused, not left to DeleteBucket's bare BucketNotEmpty (review s18-deployer m4)", async () => {
    const sent: string[] = [];
    // S3 answers 200 to a quiet DeleteObjects that failed some keys, listing only those (API_DeleteObjects.html).
    const s3 = {
      send: async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        if (command.constructor.name === 'ListObjectVersionsCommand') return { Versions: [{ Key: 'a.zip', VersionId: 'v1' }, { Key: 'held.zip', VersionId: 'v2' }], IsTruncated: false };
        if (command.constructor.name === 'DeleteObjectsCommand') return { Errors: [{ Key: 'held.zip', VersionId: 'v2', Code: 'AccessDenied', Message: 'Access Denied because object protected by object lock.' }] };
        return {};
      },
    };
    const aws = { s3: () => s3 } as unknown as Aws;
    const target: Target = { account: '222222222222', region: 'eu-west-1', partition: 'aws', credentials: {} as Target['credentials'] };
    await expect(deleteRetained(aws, target, { account: target.account, logicalId: 'ArtifactBucket', type: 'AWS::S3::Bucket', physicalId: 'acme-artifacts-222222222222-eu-west-1' })).rejects.toThrow(
      'bucket acme-artifacts-222222222222-eu-west-1: 1 object could not be deleted (held.zip (version v2): AccessDenied Access Denied because object protected by object lock.), so the bucket stays; delete them by hand, then the bucket',
    );
    expect(sent).toEqual(['ListObjectVersionsCommand', 'DeleteObjectsCommand']);
  });

  /** A client whose answers are scripted by command name: a function throws its error, anything else is returned. */
  const scripted = (answers: Record<string, unknown>, sent: string[]) => ({
    send: async (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      const answer = answers[command.constructor.name];
      if (answer instanceof Error) throw answer;
      return answer ?? {};
    },
  });
  const named = (name: string, message = name) => Object.assign(new Error(message), { name });
  const target: Target = { account: '222222222222', region: 'eu-west-1', partition: 'aws', credentials: {} as Target['credentials'] };
  const key = { account: target.account, logicalId: 'ArtifactKey', type: 'AWS::KMS::Key' as const, physicalId: '1234abcd-12ab-34cd-56ef-1234567890ab' };

  it('what an earlier run already deleted is done, so a second run finishes (review s21 F3): a key already scheduled, a key gone, a log group gone, a bucket gone', async () => {
    const sent: string[] = [];
    // KMS refuses to schedule a key again (KMSInvalidStateException); its state says it is PendingDeletion.
    const pending = { kms: () => scripted({ ScheduleKeyDeletionCommand: named('KMSInvalidStateException', 'is pending deletion'), DescribeKeyCommand: { KeyMetadata: { KeyState: 'PendingDeletion' } } }, sent) } as unknown as Aws;
    await deleteRetained(pending, target, key);
    expect(sent).toEqual(['ScheduleKeyDeletionCommand', 'DescribeKeyCommand']);
    const gone = { kms: () => scripted({ ScheduleKeyDeletionCommand: named('NotFoundException') }, []) } as unknown as Aws;
    await deleteRetained(gone, target, key);
    const logs = { logs: () => scripted({ DeleteLogGroupCommand: named('ResourceNotFoundException') }, []) } as unknown as Aws;
    await deleteRetained(logs, target, { account: target.account, logicalId: 'FlowLogGroup', type: 'AWS::Logs::LogGroup', physicalId: 'flow' });
    const s3 = { s3: () => scripted({ ListObjectVersionsCommand: named('NoSuchBucket') }, []) } as unknown as Aws;
    await deleteRetained(s3, target, { account: target.account, logicalId: 'ArtifactBucket', type: 'AWS::S3::Bucket', physicalId: 'acme-artifacts-222222222222-eu-west-1' });
  });

  it('a key in another state KMS refuses (disabled for import, unavailable) is an error, not taken for one already scheduled', async () => {
    const refused = named('KMSInvalidStateException', 'is pending import');
    const aws = { kms: () => scripted({ ScheduleKeyDeletionCommand: refused, DescribeKeyCommand: { KeyMetadata: { KeyState: 'PendingImport' } } }, []) } as unknown as Aws;
    await expect(deleteRetained(aws, target, key)).rejects.toBe(refused);
    const denied = named('AccessDeniedException');
    await expect(deleteRetained({ kms: () => scripted({ ScheduleKeyDeletionCommand: denied }, []) } as unknown as Aws, target, key)).rejects.toBe(denied);
  });
});

describe('the keys\' waiting period (review s31-destroy m1)', () => {
  const target: Target = { account: '222222222222', region: 'eu-west-1', partition: 'aws', credentials: {} as Target['credentials'] };
  const key = { account: target.account, logicalId: 'ArtifactKey', type: 'AWS::KMS::Key' as const, physicalId: '1234abcd-12ab-34cd-56ef-1234567890ab' };
  const kmsAnswering = (answer: (input: { PendingWindowInDays?: number }) => unknown, windows: Array<number | undefined>) =>
    ({
      kms: () => ({
        send: async (command: { input: { PendingWindowInDays?: number } }) => {
          windows.push(command.input.PendingWindowInDays);
          const out = answer(command.input);
          if (out instanceof Error) throw out;
          return out;
        },
      }),
    }) as unknown as Aws;

  it('7 days unless asked; --key-deletion-days sets it; an SCP refusal names the condition key and the option', async () => {
    const windows: Array<number | undefined> = [];
    await deleteRetained(kmsAnswering(() => ({}), windows), target, key);
    await deleteRetained(kmsAnswering(() => ({}), windows), target, key, 30);
    expect(windows).toEqual([7, 30]);
    // As AWS words a refusal by an SCP (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_access-denied-error-messages.html).
    const scp = Object.assign(new Error('User: arn:aws:sts::222222222222:assumed-role/x/y is not authorized to perform: kms:ScheduleKeyDeletion on resource: arn:aws:kms:eu-west-1:222222222222:key/1234 with an explicit deny in a service control policy'), { name: 'AccessDeniedException' });
    const error = await deleteRetained(kmsAnswering(() => scp, []), target, key).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AccessDeniedException' });
    expect((error as Error).message).toContain('kms:ScheduleKeyDeletionPendingWindowInDays; run destroy --delete-retained again with --key-deletion-days up to 30');
    // Any other refusal is passed on as it is.
    const other = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    await expect(deleteRetained(kmsAnswering(() => other, []), target, key)).rejects.toBe(other);
  });
});

describe('isInstanceStackOf', () => {
  it("a StackSet's own stacks only, not those of a StackSet whose name begins with its name", () => {
    expect(isInstanceStackOf('StackSet-acme-ci-4f1d2c3b-1a2b-4c3d-8e9f-0a1b2c3d4e5f', 'acme-ci')).toBe(true);
    expect(isInstanceStackOf('StackSet-acme-ci-network-4f1d2c3b-1a2b-4c3d-8e9f-0a1b2c3d4e5f', 'acme-ci')).toBe(false);
    expect(isInstanceStackOf('StackSet:acme-ci', 'acme-ci')).toBe(true);
    expect(isInstanceStackOf('acme-ci', 'acme-ci')).toBe(false);
  });
});

describe('bucketDefaultKey', () => {
  it("a refused GetBucketEncryption (403) cannot tell, naming the role and the action, so destroy keeps the key; 404 is no bucket", async () => {
    const client = aws();
    const refused = await bucketDefaultKey(client, target(client), 'refused-acme-artifacts', '1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(refused).toEqual({ unknown: expect.stringMatching(/^arn:aws:iam::222222222222:role\/Reader could not read its default encryption \(.*\): the reader role gains s3:GetEncryptionConfiguration on these names from bucketGeneration 2 on, so run xstack bootstrap if it has not run since; /) });
    expect(await bucketDefaultKey(client, target(client), 'acme-artifacts-222222222222-eu-west-1', '1234abcd-12ab-34cd-56ef-1234567890ab')).toBe('absent');
    expect(fake.calls.filter((c) => c.startsWith('s3 '))).toEqual(['s3 GET /refused-acme-artifacts', 's3 GET /acme-artifacts-222222222222-eu-west-1']);
  });
});

/** The same reader, asked whether a role the templates name is left in an account before a stack is made again there (deployer.ts rolesLeftIn). */
describe('roleNamedExists', () => {
  it('NoSuchEntity is no role; a refused GetRole is NAMED_ROLE_CHECK_REFUSED naming the reader, the action and the ARN, not a role there', async () => {
    const client = aws();
    expect(await roleNamedExists(client, target(client), 'acme-pipeline')).toBe(false);
    const check = roleNamedExists(client, target(client), 'denied-pipeline');
    await expect(check).rejects.toMatchObject({ code: 'NAMED_ROLE_CHECK_REFUSED' });
    await expect(check).rejects.toThrow(
      /^account 222222222222: could not tell whether a role denied-pipeline is in the way of the stack to create there: arn:aws:iam::222222222222:role\/Reader may not iam:GetRole on it \(AccessDenied: .*\); grant iam:GetRole on arn:aws:iam::222222222222:role\/denied-pipeline, or name a role that has it/,
    );
  });
});
