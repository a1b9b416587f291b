/**
 * AWS clients the way AWS users expect them: the SDK's default credential
 * chain (environment, profiles, SSO), `--profile`, `--region`, and the standard
 * AWS_ENDPOINT_URL, which the SDK reads itself. Every client counts its calls
 * by command; throttling is retried by the SDK's adaptive retry strategy and
 * nowhere else.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

export interface AwsOptions {
  region: string;
  profile?: string;
  /** Overrides AWS_ENDPOINT_URL (used by the local emulator). */
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  maxAttempts?: number;
}

export const MUTATING_COMMANDS = new Set([
  'CreateStackSetCommand',
  'UpdateStackSetCommand',
  'DeleteStackSetCommand',
  'CreateStackInstancesCommand',
  'UpdateStackInstancesCommand',
  'DeleteStackInstancesCommand',
  'StopStackSetOperationCommand',
  'DeleteObjectsCommand',
  'DeleteBucketCommand',
  'ScheduleKeyDeletionCommand',
]);

type WithMiddleware = { middlewareStack: { add: (mw: never, options: { step: 'initialize'; name: string }) => void } };

export class CallLog {
  readonly calls: Record<string, number> = {};
  get mutating(): number {
    return Object.entries(this.calls).reduce((n, [name, count]) => n + (MUTATING_COMMANDS.has(name) ? count : 0), 0);
  }
  attach<C extends WithMiddleware>(client: C): C {
    const mw = (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const name = context.commandName ?? 'unknown';
      this.calls[name] = (this.calls[name] ?? 0) + 1;
      return next(args);
    };
    client.middlewareStack.add(mw as never, { step: 'initialize', name: 'xstackCallLog' });
    return client;
  }
}

export class Aws {
  constructor(
    readonly options: AwsOptions,
    readonly log: CallLog = new CallLog(),
  ) {}

  private config(credentials?: AwsCredentialIdentity) {
    const { region, profile, endpoint, maxAttempts } = this.options;
    return {
      region,
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ?? this.options.credentials ? { credentials: credentials ?? this.options.credentials } : profile ? { profile } : {}),
      retryMode: 'adaptive',
      maxAttempts: maxAttempts ?? 8,
    };
  }

  cloudFormation(credentials?: AwsCredentialIdentity): CloudFormationClient {
    return this.log.attach(new CloudFormationClient(this.config(credentials)));
  }

  iam(credentials?: AwsCredentialIdentity): IAMClient {
    return this.log.attach(new IAMClient(this.config(credentials)));
  }

  s3(credentials?: AwsCredentialIdentity): S3Client {
    // Path-style: bucket names as paths work against any endpoint, the local emulator included.
    return this.log.attach(new S3Client({ ...this.config(credentials), forcePathStyle: Boolean(this.options.endpoint) }));
  }

  kms(credentials?: AwsCredentialIdentity): KMSClient {
    return this.log.attach(new KMSClient(this.config(credentials)));
  }

  sts(): STSClient {
    return this.log.attach(new STSClient(this.config()));
  }

  /** Credentials of a role in another account (outputs are read there). */
  async assume(roleArn: string): Promise<AwsCredentialIdentity> {
    const out = await this.sts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'xstack' }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  }
}
