/**
 * AWS clients the way AWS users expect them: the SDK's default credential
 * chain (environment, profiles, SSO), `--profile`, `--region`, and the standard
 * AWS_ENDPOINT_URL, which the SDK reads itself. Every client counts its calls
 * by command; throttling is retried by the SDK's adaptive retry strategy and
 * nowhere else. Where a service's own reference says LimitExceededException is
 * a quota of resources, not a rate (CloudFormation, IAM, KMS), that strategy is
 * `QuotaIsNotThrottling`; the other clients' services never send the name (see
 * `Aws`), so the SDK's default is theirs.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AdaptiveRetryStrategy } from '@smithy/core/retry';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';
import { XstackError } from '../errors';

type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** One hour: the most a role-chained session may last. */
const ASSUMED_SESSION_SECONDS = 3600;
/** Fresh credentials this long before the old ones expire, as the SDK's own providers do. */
export const REFRESH_BEFORE_MS = 300_000;

/** Credentials of one role, refreshed by the SDK, that say which role they are (so that a refusal can name it). */
export type RoleCredentials = AwsCredentialIdentityProvider & { readonly roleArn: string };

/** The role behind credentials, when they are a role's (`assumeRefreshing`). */
export const roleOf = (credentials: unknown): string | undefined =>
  typeof credentials === 'function' && typeof (credentials as Partial<RoleCredentials>).roleArn === 'string' ? (credentials as RoleCredentials).roleArn : undefined;

/**
 * Whether STS refused an AssumeRole because the caller is an account's root user, whom it never lets assume a role:
 * AccessDenied "Roles may not be assumed by root accounts." (STS's answer as callers meet it: kubeflow/testing#961,
 * kubernetes/kubectl#1243; no AWS page quotes it). Its code is a refused trust's, its remedy is not: other credentials.
 */
export const isRootRefusal = (error: unknown): boolean => {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return name === 'AccessDenied' && /may not be assumed by root accounts/i.test(message ?? '');
};

/** What to do when the caller is the root user: said wherever xstack assumes a role. */
export const ROOT_CALLER_ADVICE = "the credentials are an account's root user, which STS never lets assume a role: run xstack as an IAM role or user (an IAM Identity Center session, say) that may assume it";

/**
 * Whether STS refused an AssumeRole for the source identity the caller's session carries: "permissions for
 * sts:SetSourceIdentity are required in both the permissions policy of the principal who is assuming the role and in the
 * role trust policy of the target role. Otherwise, the assume role operation will fail"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html); STS's answer
 * names the action, "is not authorized to perform: sts:SetSourceIdentity on resource: …" (as callers meet it:
 * MaterializeInc/materialize#37427, noqdev/iambic#357). Its remedy is the role's trust, or the caller's policy, not
 * the role's existence.
 */
export const isSourceIdentityRefusal = (error: unknown): boolean => {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return name === 'AccessDenied' && /sts:SetSourceIdentity/.test(message ?? '');
};

/** What to do when STS refused the carried source identity: said wherever xstack assumes a role (review s57-bootstrap M1). */
export const SOURCE_IDENTITY_ADVICE =
  "the session carries a source identity (its identity provider set one), which STS carries into every role it assumes, so the role's trust and the caller's own policy must both allow sts:SetSourceIdentity. xstack's roles allow the identity a session carries: run 'xstack bootstrap' for a reader or execution role written before, deploy this compile's setup/bootstrap-access.yaml again for its access role; a role of another's making (OrganizationAccountAccessRole) needs a trust statement allowing it (README \"What the identity running bootstrap needs\"), or run xstack from a session without a source identity";

/**
 * STS refused (or failed) an AssumeRole: raised from the credential provider,
 * before the call that needed the credentials is sent, so the call's own
 * service never answered. Names the role and STS's reason.
 */
export class AssumeRoleError extends XstackError {
  /** `whenRefused`: what gets past it, said after STS's reason when STS refused (AccessDenied). */
  constructor(
    readonly roleArn: string,
    cause: unknown,
    whenRefused?: string,
  ) {
    const { name, message } = cause as { name?: string; message?: string };
    const advice = isRootRefusal(cause) ? `; ${ROOT_CALLER_ADVICE}` : isSourceIdentityRefusal(cause) ? `; ${SOURCE_IDENTITY_ADVICE}` : whenRefused && name === 'AccessDenied' ? `; ${whenRefused}` : '';
    super('ASSUME_ROLE_FAILED', `could not assume role ${roleArn}: ${name ?? 'Error'}: ${message ?? String(cause)}${advice}`, { cause });
  }
}

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
  'DeleteLogGroupCommand',
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

/**
 * The SDK's adaptive retry, less one error: @smithy counts LimitExceededException among throttling errors
 * (@smithy/core retry, service-error-classification THROTTLING_ERROR_CODES), so each one would be retried and would
 * lower the client's send rate, for every call of the run. From StackSets it is a quota, not a rate ("The quota for
 * the resource has already been reached", CreateStackInstances' Errors,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html): it goes to the
 * caller at once (stacksets.ts asks again, LIMIT_ATTEMPTS), and the rate limiter never sees it. Throttling
 * (Throttling, ThrottlingException, …) and transient errors are retried as before.
 */
export class QuotaIsNotThrottling implements RetryStrategyV2 {
  readonly mode = 'adaptive';
  private readonly adaptive: AdaptiveRetryStrategy;

  constructor(maxAttempts: number) {
    this.adaptive = new AdaptiveRetryStrategy(maxAttempts);
  }

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.adaptive.acquireInitialRetryToken(scope);
  }

  /**
   * Refusing the token ends the retries: the SDK then throws the call's own error. ConcurrentModificationException is
   * retried as a transient error, with the SDK's backoff: IAM's "The request was rejected because multiple requests to
   * change this object were submitted simultaneously. Wait a few minutes and submit your request again"
   * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, Errors; also CreatePolicy, TagRole,
   * UntagRole, TagPolicy), which the SDK counts as a client error and throws at once (review s47-deploy-api 3).
   */
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    if (info.error?.name === 'LimitExceededException') return Promise.reject(new Error('a quota refusal is not retried by the SDK'));
    if (info.error?.name === 'ConcurrentModificationException') return this.adaptive.refreshRetryTokenForRetry(token as StandardRetryToken, { ...info, errorType: 'TRANSIENT' });
    return this.adaptive.refreshRetryTokenForRetry(token as StandardRetryToken, info);
  }

  recordSuccess(token: RetryToken): void {
    this.adaptive.recordSuccess(token as StandardRetryToken);
  }
}

/**
 * Which clients take `QuotaIsNotThrottling`: those whose service's API reference says LimitExceededException is a
 * quota of resources, and whose request rate is refused under another name (which the SDK still retries):
 * - CloudFormation: see `QuotaIsNotThrottling`.
 * - IAM: "The request was rejected because it attempted to create resources beyond the current Amazon Web Services
 *   account limits. The error message describes the limit exceeded."
 *   (https://docs.aws.amazon.com/botocore/latest/reference/services/iam/client/exceptions/LimitExceededException.html;
 *   the SDK's CreateRole, CreatePolicyVersion, AttachRolePolicy, PutRolePolicy, TagRole… list it). Nothing in IAM's
 *   reference makes it a rate; throttling keeps the names the SDK retries (Throttling, ThrottlingException).
 * - KMS: "If you have exceeded a resource limit, requests to create an additional resource of that type generate an
 *   LimitExceededException error message." (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html).
 *   Its rate refusal is ThrottlingException, not LimitExceededException: "Throttling occurs when AWS KMS rejects a
 *   request that might otherwise be valid, and returns a ThrottlingException error"
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html), so KMS's throttling is still retried.
 * The others keep the SDK's default, as none of them names LimitExceededException: Organizations refuses a rate with
 * TooManyRequestsException ("You have sent too many requests in too short a period of time",
 * https://docs.aws.amazon.com/botocore/latest/reference/services/organizations/client/exceptions/TooManyRequestsException.html),
 * EC2 with RequestLimitExceeded ("If you exceed an API throttling limit, you get the RequestLimitExceeded error code",
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html), S3 with SlowDown ("SlowDown errors can
 * occur when a high request rate triggers one of these mechanisms",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html); the STS SDK models no such error,
 * and CodeCommit's quota errors carry their own names (RepositoryLimitExceededException, …), which the SDK does not
 * count as throttling.
 */
export class Aws {
  constructor(
    readonly options: AwsOptions,
    readonly log: CallLog = new CallLog(),
  ) {}

  /**
   * `region` defaults to the administrator's (`--region`: where the StackSets
   * live); clients in target accounts pass the org's region.
   */
  clientConfig(credentials?: Credentials, region = this.options.region) {
    const { profile, endpoint, maxAttempts } = this.options;
    return {
      region,
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ?? this.options.credentials ? { credentials: credentials ?? this.options.credentials } : profile ? { profile } : {}),
      retryMode: 'adaptive',
      maxAttempts: maxAttempts ?? 8,
    };
  }

  /**
   * The same clients (options and call log), each trying a call once: for a call an emulator answers the same however
   * often it is asked. moto answers an action it lacks with HTTP 500 and a page that is no AWS error, and the SDK
   * counts every 500 as transient (@smithy/core retry, TRANSIENT_ERROR_STATUS_CODES 500, 502, 503, 504): 8 attempts
   * with backoff, seconds of waiting for the same answer. `max_attempts` is "the maximum number attempts to make on a
   * request", 1 being a valid value ("Number greater than 0",
   * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). On AWS a 500 is InternalFailure and a 503
   * ServiceUnavailable, "The request has failed due to a temporary failure of the server"
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html): retried there, so only
   * an emulator's calls take this.
   */
  oneAttempt(): Aws {
    return new Aws({ ...this.options, maxAttempts: 1 }, this.log);
  }

  cloudFormation(credentials?: Credentials, region?: string): CloudFormationClient {
    const config = this.clientConfig(credentials, region);
    return this.log.attach(new CloudFormationClient({ ...config, retryStrategy: new QuotaIsNotThrottling(config.maxAttempts) }));
  }

  /** IAM's LimitExceededException is a quota (see above): not retried by the SDK. */
  iam(credentials?: Credentials, region?: string): IAMClient {
    const config = this.clientConfig(credentials, region);
    return this.log.attach(new IAMClient({ ...config, retryStrategy: new QuotaIsNotThrottling(config.maxAttempts) }));
  }

  s3(credentials?: Credentials, region?: string): S3Client {
    // Path-style: bucket names as paths work against any endpoint, the local emulator included.
    return this.log.attach(new S3Client({ ...this.clientConfig(credentials, region), forcePathStyle: Boolean(this.options.endpoint) }));
  }

  /** KMS's LimitExceededException is a resource quota, its throttling ThrottlingException (see above). */
  kms(credentials?: Credentials, region?: string): KMSClient {
    const config = this.clientConfig(credentials, region);
    return this.log.attach(new KMSClient({ ...config, retryStrategy: new QuotaIsNotThrottling(config.maxAttempts) }));
  }

  /** CloudWatch Logs, for `destroy --delete-retained`'s DeleteLogGroup (retained.ts). */
  logs(credentials?: Credentials, region?: string): CloudWatchLogsClient {
    return this.log.attach(new CloudWatchLogsClient(this.clientConfig(credentials, region)));
  }

  codeCommit(credentials?: Credentials, region?: string): CodeCommitClient {
    return this.log.attach(new CodeCommitClient(this.clientConfig(credentials, region)));
  }

  /** EC2, read by plan and deploy for the Region's VPC endpoint services (endpoint-services.ts). */
  ec2(credentials?: Credentials, region?: string): EC2Client {
    return this.log.attach(new EC2Client(this.clientConfig(credentials, region)));
  }

  /** Organizations, read by SERVICE_MANAGED rollouts (where accounts are) and the suspended-account check. */
  organizations(): OrganizationsClient {
    return this.log.attach(new OrganizationsClient(this.clientConfig()));
  }

  /** STS at its endpoint in `region` (the administrator's, `--region`, unless given). */
  sts(region?: string): STSClient {
    return this.log.attach(new STSClient(this.clientConfig(undefined, region)));
  }

  /**
   * Credentials of a role in another account, once (they expire: see `assumeRefreshing`), through STS in `region`
   * (`--region` unless given).
   */
  async assume(roleArn: string, durationSeconds?: number, region?: string): Promise<AwsCredentialIdentity> {
    const out = await this.sts(region).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'xstack', ...(durationSeconds ? { DurationSeconds: durationSeconds } : {}) }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, ...(c.Expiration ? { expiration: c.Expiration } : {}) };
  }

  /**
   * A provider of a role's credentials in another account that the SDK
   * refreshes itself: a client given a provider memoizes its credentials and
   * calls it again once they are within 5 minutes of `expiration`
   * (@smithy/core memoizeIdentityProvider, EXPIRATION_MS = 300000). A role
   * assumed from a role session is role chaining, capped at one hour:
   * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining
   * `region`: STS's Region (`--region` unless given). A role in a target account is assumed in the org's Region,
   * which every target account has enabled for its instances: "For manually enabled Regions, you must activate the
   * Region in both the account making the request and the account that generates the temporary credentials"
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_enable-regions.html), so an opt-in
   * `--region` that a target account has not enabled would refuse it there.
   */
  assumeRefreshing(roleArn: string, now: () => number = Date.now, region?: string, whenRefused?: string): RoleCredentials {
    // Shared by every client of the account: one AssumeRole per session, not one per client.
    let current: Promise<AwsCredentialIdentity> | undefined;
    const provider = async () => {
      const held = current && (await current.catch(() => undefined));
      if (!held || (held.expiration && held.expiration.getTime() - now() < REFRESH_BEFORE_MS)) {
        current = this.assume(roleArn, ASSUMED_SESSION_SECONDS, region).catch((error: unknown) => {
          throw new AssumeRoleError(roleArn, error, whenRefused);
        });
      }
      return current!;
    };
    return Object.assign(provider, { roleArn });
  }
}
