/**
 * IAM and STS behaviour moto does not show, modelled on an `Aws` by middleware on the clients it makes (nothing is
 * forwarded anywhere else; moto answers every call the model lets through):
 *
 * - `shortPages`: every IAM List* call asks for one item a page (MaxItems 1), as IAM may answer anyway: "IAM might
 *   return fewer than the MaxItems number of results even when there are more results available. We recommend that
 *   you check IsTruncated after every call to ensure that you receive all your results."
 *   https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html (IsTruncated)
 * - `eventuallyConsistent`: a role or policy created in the run is not yet seen by the next calls on it, which answer
 *   NoSuchEntity ("The request was rejected because it referenced a resource entity that does not exist"), and STS
 *   refuses AssumeRole into a role whose trust was just written (AccessDenied, "User: … is not authorized to perform:
 *   sts:AssumeRole on resource: …"), for the first N calls of each: "Changes that I make are not always immediately
 *   visible … Such changes include creating or updating users, groups, roles, or policies"
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
 *   Likewise `readRefused`: CloudFormation refuses ListStacks made with a role's credentials (a role whose new policy
 *   IAM has not propagated), AccessDenied "User: … is not authorized to perform: cloudformation:ListStacks"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html) or AccessDeniedException
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html); every such read is recorded
 *   with the role whose credentials made it (`reads`).
 * - `invalidPrincipal`: a trust policy written (CreateRole, UpdateAssumeRolePolicy) naming a role the run created, in
 *   any account, is refused for the first N calls with MalformedPolicyDocument "Invalid principal in policy": IAM
 *   stores a role principal as the role's unique id, so it must see the role first ("When you save the policy, AWS
 *   transforms the ARN to a unique principal ID",
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles), and a
 *   new role is not seen at once (same eventual-consistency page); reported for about a minute in
 *   hashicorp/terraform#4709 and opstrace/opstrace#88.
 * - `createdTwice`: a create made, its answer lost, the SDK's resend refused EntityAlreadyExists (see it).
 * - `entitiesInUse`: GetAccountSummary counts roles, policies and instance profiles moto does not hold (see it).
 * - `quotaReached`: IAM refuses a create as past a quota (see it).
 * - `refusedCall`: IAM refuses one action to the caller (AccessDenied), as it does one no policy of the caller allows;
 *   `refusedToRole`: to a role in the target accounts' clients, naming its session.
 * - `refusedStackSetsCall`: StackSets answers the caller's own call as made by no delegated administrator.
 * - `refusedAssume`: STS refuses AssumeRole into the roles `refused` names (AccessDenied), as it does for
 *   OrganizationAccountAccessRole in an account Organizations did not create, where the role does not exist ("The
 *   role … trusts the management account", CreateAccount's RoleName,
 *   https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html), or from an account other
 *   than the management account; and in an account that is suspended or closed ("When an account is closed or
 *   suspended, the CloudFormation StackSets administration role can no longer access the StacksSets execution role in
 *   that account", https://repost.aws/knowledge-center/cloudformation-removal-stacksets; what STS answers there exactly
 *   is a verify-once item of README's "Not yet").
 * - `carriedSourceIdentity`: the caller's session carries a source identity, which STS carries into every AssumeRole:
 *   "The value that is set persists when a role is used to assume another role", and "permissions for
 *   sts:SetSourceIdentity are required in both the permissions policy of the principal who is assuming the role and in
 *   the role trust policy of the target role. Otherwise, the assume role operation will fail"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html). The role's trust
 *   is read from moto and asked through the proof's IAM evaluator with aws:SourceIdentity in the request; a trust that
 *   does not allow sts:SetSourceIdentity is refused as STS words it (AccessDenied, "User: … is not authorized to
 *   perform: sts:SetSourceIdentity on resource: …", MaterializeInc/materialize#37427). A role moto does not hold is
 *   left to moto. The caller's own policy is taken as allowing it.
 * - `accountStates`: Organizations' DescribeAccount answers the accounts it names with their State, as it does to the
 *   management account or a delegated administrator:
 *   "Retrieves Organizations-related information about the specified account. This operation can be called only from
 *   the organization's management account or by a member account that is a delegated administrator"
 *   (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html); a closed account is
 *   SUSPENDED ("When the close account request completes, the status will change to SUSPENDED",
 *   https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html). moto answers every account
 *   ACTIVE, or not at all outside an organization. Each DescribeAccount asked is recorded (`asked`).
 */
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { evaluate, GrantIndex } from '../../src/audit/evaluate';
import type { ResolvedStatement } from '../../src/audit/grants';
import type { Aws } from '../../src/deploy/clients';

type Middleware = (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: Record<string, unknown> }) => Promise<unknown>;

/** An error as the SDK throws a service's: its name the error code, with the HTTP status. */
const refusal = (name: string, status: number, message: string) => Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

const notAuthorized = (role: string) => refusal('AccessDenied', 403, `User: arn:aws:sts::123456789012:assumed-role/Operator/someone is not authorized to perform: sts:AssumeRole on resource: ${role}`);

let models = 0;

/**
 * `aws.iam`, `aws.sts` and `aws.cloudFormation` with middleware on every client they make (`iam` makes one per
 * client: one account's; `cfn` is given the credentials and Region the client was made with).
 */
function withMiddleware(aws: Aws, iam?: (credentials: unknown) => Middleware, sts?: Middleware, cfn?: (credentials: unknown, region: string) => Middleware): Aws {
  // Each model's middleware under a name of its own: models may be stacked on one Aws.
  const n = ++models;
  if (cfn) {
    const make = aws.cloudFormation.bind(aws);
    aws.cloudFormation = (...args: Parameters<Aws['cloudFormation']>) => {
      const client = make(...args);
      client.middlewareStack.add(cfn(args[0], args[1] ?? aws.options.region) as never, { step: 'initialize', name: `cfnModel${n}` });
      return client;
    };
  }
  if (iam) {
    const make = aws.iam.bind(aws);
    aws.iam = (...args: Parameters<Aws['iam']>) => {
      const client = make(...args);
      client.middlewareStack.add(iam(args[0]) as never, { step: 'initialize', name: `iamModel${n}` });
      return client;
    };
  }
  if (sts) {
    const make = aws.sts.bind(aws);
    aws.sts = (...args: Parameters<Aws['sts']>) => {
      const client = make(...args);
      client.middlewareStack.add(sts as never, { step: 'initialize', name: `stsModel${n}` });
      return client;
    };
  }
  return aws;
}

/** IAM's List* calls one item a page. */
export function shortPages(aws: Aws): Aws {
  return withMiddleware(aws, () => (next, context) => (args) => {
    if (context.commandName?.startsWith('List') && args.input.MaxItems === undefined) args.input.MaxItems = 1;
    return next(args);
  });
}

export interface Propagation {
  /** Calls that answer NoSuchEntity for a role or policy created in the run, by command name: how many each. */
  notYetSeen?: Partial<Record<'ListAttachedRolePoliciesCommand' | 'AttachRolePolicyCommand' | 'UpdateAssumeRolePolicyCommand', number>>;
  /** Trust policies naming a role created in the run (any account's client): how many writes of each are refused. */
  invalidPrincipal?: number;
  /** AssumeRole calls refused (AccessDenied) into each account's execution role (ARN ending in `role/<executionRole>`). */
  assumeRefused?: { executionRole: string; times: number; accounts?: readonly string[] };
  /** ListStacks with the credentials of `role` (an AssumeRole's, in any account or those of `accounts`) refused `times` times each, as `name`. */
  readRefused?: { role: string; times: number; accounts?: readonly string[]; name?: 'AccessDenied' | 'AccessDeniedException' };
  /** Every ListStacks made with credentials an AssumeRole returned, as `ListStacksCommand <role ARN> <the client's Region>`. */
  reads?: string[];
  /** Every refusal the model gave, as `command target`. */
  refused: string[];
}

/** A count of calls by key: true while `key` has been counted fewer than `limit` times before. */
const counter = () => {
  const counts = new Map<string, number>();
  return (key: string, limit: number) => {
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    return n < limit;
  };
};

/** The run's new roles and policies, not seen at once (see the file's comment). */
export function eventuallyConsistent(aws: Aws, model: Propagation): Aws {
  const refuseAssume = counter();
  const refuseRead = counter();
  // The role each AssumeRole's credentials are (by access key id), so that a read with them is known by its role.
  const roleOfKey = new Map<string, string>();
  // Role names created through any client: a trust written in another account names them by ARN.
  const createdRoles = new Set<string>();
  return withMiddleware(
    aws,
    // One client, one account: what it created, and how often each call on it was refused.
    () => {
      const created = new Set<string>();
      const refuse = counter();
      const refuseTrust = counter();
      return (next, context) => async (args) => {
        const name = context.commandName ?? '';
        const role = args.input.RoleName as string | undefined;
        const trust = (name === 'CreateRoleCommand' ? args.input.AssumeRolePolicyDocument : name === 'UpdateAssumeRolePolicyCommand' ? args.input.PolicyDocument : undefined) as string | undefined;
        const principal = trust && [...trust.matchAll(/"(arn:[^"]+:iam::\d{12}:role\/([^"]+))"/g)].find((m) => createdRoles.has(m[2]));
        if (principal && model.invalidPrincipal && refuseTrust(`${name} ${role} ${principal[1]}`, model.invalidPrincipal)) {
          model.refused.push(`${name} ${role} names ${principal[1]}`);
          throw refusal('MalformedPolicyDocumentException', 400, `Invalid principal in policy: "AWS":"${principal[1]}"`);
        }
        const target = name === 'AttachRolePolicyCommand' ? (args.input.PolicyArn as string | undefined) : role;
        const limit = model.notYetSeen?.[name as keyof NonNullable<Propagation['notYetSeen']>];
        if (limit && target && created.has(target) && refuse(`${name} ${target}`, limit)) {
          model.refused.push(`${name} ${target}`);
          throw refusal('NoSuchEntityException', 404, `The ${name === 'AttachRolePolicyCommand' ? 'policy' : 'role'} ${target} cannot be found.`);
        }
        const out = (await next(args)) as { output?: { Policy?: { Arn?: string } } };
        if (name === 'CreateRoleCommand' && role) {
          created.add(role);
          createdRoles.add(role);
        }
        if (name === 'CreatePolicyCommand' && out.output?.Policy?.Arn) created.add(out.output.Policy.Arn);
        return out;
      };
    },
    (next, context) => async (args) => {
      const arn = args.input.RoleArn as string | undefined;
      const assume = model.assumeRefused;
      const inScope = (arn: string) => !assume?.accounts || assume.accounts.some((a) => arn.includes(`::${a}:role/`));
      if (context.commandName === 'AssumeRoleCommand' && assume && arn?.endsWith(`:role/${assume.executionRole}`) && inScope(arn) && refuseAssume(`AssumeRole ${arn}`, assume.times)) {
        model.refused.push(`AssumeRoleCommand ${arn}`);
        throw notAuthorized(arn);
      }
      const out = (await next(args)) as { output?: { Credentials?: { AccessKeyId?: string } } };
      const key = out.output?.Credentials?.AccessKeyId;
      if (context.commandName === 'AssumeRoleCommand' && arn && key) roleOfKey.set(key, arn);
      return out;
    },
    (credentials, region) => (next, context) => async (args) => {
      const key = (credentials as { accessKeyId?: string } | undefined)?.accessKeyId;
      const arn = key === undefined ? undefined : roleOfKey.get(key);
      if (context.commandName !== 'ListStacksCommand' || !arn) return next(args);
      model.reads?.push(`ListStacksCommand ${arn} ${region}`);
      const read = model.readRefused;
      const inScope = !read?.accounts || read.accounts.some((a) => arn.includes(`::${a}:role/`));
      if (read && arn.endsWith(`:role/${read.role}`) && inScope && refuseRead(`ListStacks ${arn}`, read.times)) {
        model.refused.push(`ListStacksCommand ${arn}`);
        const name = read.name ?? 'AccessDenied';
        const account = /::(\d{12}):role\//.exec(arn)?.[1];
        throw refusal(name, name === 'AccessDenied' ? 403 : 400, `User: arn:aws:sts::${account}:assumed-role/${read.role}/xstack is not authorized to perform: cloudformation:ListStacks on resource: * because no identity-based policy allows the cloudformation:ListStacks action`);
      }
      return next(args);
    },
  );
}

/**
 * IAM refuses `action` (the SDK's `command`) to `role` in the clients of `service` made with a role's credentials (a
 * target account's, as the deployer and bootstrap make them), as it does a role whose policy lacks the action (a
 * setup template's role deployed from an earlier compile): AccessDenied naming the role's session, "User: arn:aws:sts::
 * <account>:assumed-role/<role>/<session> is not authorized to perform: <action> on resource: …"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
export function refusedToRole(aws: Aws, service: 'iam' | 'cloudFormation', command: string, action: string, role: string): Aws {
  const { sts, accountOf } = assumedAccounts('refusedToRole');
  const model = (credentials: unknown): Middleware => (next, context) => async (args) => {
    if (credentials === undefined || context.commandName !== command) return next(args);
    throw refusal('AccessDenied', 403, `User: arn:aws:sts::${await accountOf(credentials)}:assumed-role/${role}/xstack is not authorized to perform: ${action} on resource: *`);
  };
  return service === 'iam' ? withMiddleware(aws, model, sts) : withMiddleware(aws, undefined, sts, model);
}

/** The account of each assumed role's credentials, from AssumeRole's answers (an STS middleware records them). */
function assumedAccounts(model: string): { sts: Middleware; accountOf: (credentials: unknown) => Promise<string> } {
  const accountOfKey = new Map<string, string>();
  const sts: Middleware = (next, context) => async (args) => {
    const out = (await next(args)) as { output?: { Credentials?: { AccessKeyId?: string } } };
    const key = out.output?.Credentials?.AccessKeyId;
    if (context.commandName === 'AssumeRoleCommand' && key) accountOfKey.set(key, String(args.input.RoleArn).split(':')[4]);
    return out;
  };
  const accountOf = async (credentials: unknown) => {
    const resolved = (typeof credentials === 'function' ? await (credentials as () => Promise<{ accessKeyId: string }>)() : credentials) as { accessKeyId: string };
    const account = accountOfKey.get(resolved.accessKeyId);
    if (account === undefined) throw new Error(`${model}: credentials ${resolved.accessKeyId} come from no AssumeRole this model saw`);
    return account;
  };
  return { sts, accountOf };
}

/**
 * IAM counts entities moto does not hold in the accounts `extra` names (assumed roles' clients): GetAccountSummary's
 * `Roles`, `Policies` and `InstanceProfiles` that many higher, as in an account that already holds others' roles and
 * policies (another tool's, a team's own), which count against the same quotas: "Roles: The number of IAM roles in the
 * AWS account", "Policies: The number of customer managed policies in the AWS account"
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html). Their quotas stay moto's, AWS's
 * defaults (RolesQuota 1000, PoliciesQuota 1500, InstanceProfilesQuota 1000). `own`: the account the caller's own
 * credentials are in (the administrator account), for a count there too.
 */
export function entitiesInUse(aws: Aws, extra: Record<string, Partial<Record<'Roles' | 'Policies' | 'InstanceProfiles', number>>>, own?: string): Aws {
  const { sts, accountOf } = assumedAccounts('entitiesInUse');
  return withMiddleware(
    aws,
    (credentials) => (next, context) => async (args) => {
      const out = (await next(args)) as { output?: { SummaryMap?: Record<string, number> } };
      if (context.commandName !== 'GetAccountSummaryCommand') return out;
      const account = credentials === undefined ? own : await accountOf(credentials);
      const more = account !== undefined ? extra[account] : undefined;
      const summary = out.output?.SummaryMap;
      if (more && summary) for (const [key, n] of Object.entries(more)) summary[key] = (summary[key] ?? 0) + n;
      return out;
    },
    sts,
  );
}

/**
 * IAM makes what the first `command` (CreateRoleCommand, CreatePolicyCommand) asks, and the answer is lost: the SDK's
 * resend meets EntityAlreadyExists, 409 ("The request was rejected because it attempted to create a resource that
 * already exists", https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, Errors), as a second
 * bootstrap's create in between would. IAM's creates take no idempotency token. Each refusal is recorded in `refused`.
 */
export function createdTwice(aws: Aws, command: string, refused: string[] = []): Aws {
  let done = false;
  return withMiddleware(aws, () => (next, context) => async (args) => {
    if (done || context.commandName !== command) return next(args);
    done = true;
    await next(args);
    const name = String(args.input.RoleName ?? args.input.PolicyName);
    refused.push(`${command} ${name}`);
    // IAM's words as commonly reported (no page quotes them; review s48-layers L8).
    throw refusal('EntityAlreadyExistsException', 409, command === 'CreateRoleCommand' ? `Role with name ${name} already exists.` : `A policy called ${name} already exists. Duplicate names are not allowed.`);
  });
}

/**
 * IAM refuses the first `command` (CreateRoleCommand, CreatePolicyCommand) as past a quota: LimitExceeded, 409 ("The
 * request was rejected because it attempted to create resources beyond the current Amazon Web Services account
 * limits. The error message describes the limit exceeded",
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html, Errors), with `message` in the words IAM
 * gives, "Cannot exceed quota for <quota>: <value>" ("… InstanceProfilesPerAccount: 1000", ansible/workshops#1801;
 * "… PoliciesPerRole: 10", aws/eks-hybrid#741; RolesPerAccount, openshift/release#69365). moto creates past any
 * quota. Each refusal is recorded in `refused`.
 */
export function quotaReached(aws: Aws, command: string, message: string, refused: string[] = []): Aws {
  let done = false;
  return withMiddleware(aws, () => (next, context) => async (args) => {
    if (done || context.commandName !== command) return next(args);
    done = true;
    refused.push(`${command} ${String(args.input.RoleName ?? args.input.PolicyName)}`);
    throw refusal('LimitExceededException', 409, message);
  });
}

/**
 * CloudFormation answers `command` (ListStackSetsCommand, …) made with the caller's own credentials with a
 * ValidationError of `message`, as StackSets answers a caller it takes for neither the management account nor a
 * delegated administrator ("Account used is not a delegated administrator", hashicorp/terraform-provider-aws#37069;
 * "You must be the management account or delegated admin account …", #32536).
 */
export function refusedStackSetsCall(aws: Aws, command: string, message: string): Aws {
  return withMiddleware(aws, undefined, undefined, (credentials) => (next, context) => async (args) => {
    if (credentials !== undefined || context.commandName !== command) return next(args);
    throw refusal('ValidationError', 400, message);
  });
}

/** STS refuses AssumeRole into every role whose ARN `refused` matches (AccessDenied). */
export function refusedAssume(aws: Aws, refused: RegExp): Aws {
  return withMiddleware(aws, undefined, (next, context) => async (args) => {
    const arn = args.input.RoleArn as string | undefined;
    if (context.commandName === 'AssumeRoleCommand' && arn && refused.test(arn)) throw notAuthorized(arn);
    return next(args);
  });
}

/**
 * The caller is an account's root user: STS refuses every AssumeRole, whatever the role's trust, with AccessDenied
 * "Roles may not be assumed by root accounts." (STS's answer as callers meet it, kubeflow/testing#961 and
 * kubernetes/kubectl#1243; no AWS page quotes it).
 */
export function rootCaller(aws: Aws): Aws {
  return withMiddleware(aws, undefined, (next, context) => async (args) => {
    if (context.commandName === 'AssumeRoleCommand') throw refusal('AccessDenied', 403, 'Roles may not be assumed by root accounts.');
    return next(args);
  });
}

/**
 * IAM refuses `command` (the SDK's name, e.g. `ListRoleTagsCommand`) to the caller, as it refuses an action no policy
 * of the caller allows: AccessDenied, 403, "User: … is not authorized to perform: iam:… on resource: …"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
export function refusedCall(aws: Aws, command: string, action: string): Aws {
  return withMiddleware(aws, () => (next, context) => async (args) => {
    if (context.commandName === command) {
      throw refusal('AccessDenied', 403, `User: arn:aws:sts::123456789012:assumed-role/Operator/someone is not authorized to perform: ${action} on resource: ${String(args.input.RoleName ?? '*')} because no identity-based policy allows the ${action} action`);
    }
    return next(args);
  });
}

/**
 * The `nth` call (from 1) of CreatePolicyVersion on IAM clients refused as a second operator's bootstrap makes it
 * refused: the policy has its five versions again, one written between this run's delete of the oldest and its create.
 * IAM lists LimitExceeded (409) among CreatePolicyVersion's errors, and not ConcurrentModification, which it lists for
 * CreatePolicy (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html#API_CreatePolicyVersion_Errors;
 * the status from AWS's service model). The message is IAM's as callers meet it ("A managed policy can have up to 5
 * versions. Before you create a new version, you must delete an existing version.", 99designs/iamy#21).
 */
export function refusedPolicyVersion(aws: Aws, nth: number, message = 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.'): Aws {
  let n = 0;
  return withMiddleware(aws, () => (next, context) => async (args) => {
    // Also what a document over the size quota gets: LimitExceeded "Cannot exceed quota for PolicySize: 6144" (LBHackney-IT/Data-Platform#2116).
    if (context.commandName === 'CreatePolicyVersionCommand' && ++n === nth) throw refusal('LimitExceededException', 409, message);
    return next(args);
  });
}

/** Organizations' DescribeAccount answers each account of `states` with that State (see the file's comment), or fails with that error; others go to moto. */
export function accountStates(aws: Aws, states: Record<string, string | Error>, asked: string[] = []): Aws {
  const make = aws.organizations.bind(aws);
  aws.organizations = () => {
    const client = make();
    const model: Middleware = (next, context) => async (args) => {
      if (context.commandName !== 'DescribeAccountCommand') return next(args);
      const id = String(args.input.AccountId);
      asked.push(id);
      const state = states[id];
      if (state instanceof Error) throw state;
      return state === undefined ? next(args) : { output: { Account: { Id: id, State: state }, $metadata: {} }, response: {} };
    };
    client.middlewareStack.add(model as never, { step: 'initialize', name: 'accountStates' });
    return client;
  };
  return aws;
}

/**
 * S3 just after CreateBucket: "Bucket configurations have an eventual consistency model"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel), and callers meet NoSuchBucket
 * (404) on a call made right after a create that succeeded (redpanda-data/redpanda#8490, aws-ia/taskcat#421): the
 * `calls` calls on a bucket after this client's CreateBucket of it are answered so, each recorded in `refused`.
 */
export function bucketNotYetSeen(aws: Aws, calls: number, refused: string[] = []): Aws {
  const make = aws.s3.bind(aws);
  const created = new Map<string, number>();
  aws.s3 = (...args: Parameters<Aws['s3']>) => {
    const client = make(...args);
    const model: Middleware = (next, context) => async (args) => {
      const name = context.commandName ?? '';
      const bucket = String(args.input.Bucket ?? '');
      const left = created.get(bucket) ?? 0;
      if (name !== 'CreateBucketCommand' && left > 0) {
        created.set(bucket, left - 1);
        refused.push(`${name} ${bucket}`);
        throw refusal('NoSuchBucket', 404, 'The specified bucket does not exist');
      }
      const out = await next(args);
      if (name === 'CreateBucketCommand') created.set(bucket, calls);
      return out;
    };
    client.middlewareStack.add(model as never, { step: 'initialize', name: 'bucketNotYetSeen' });
    return client;
  };
  return aws;
}

interface TrustDocument {
  Statement: Array<{ Effect: string; Principal?: Record<string, string | string[]> | string; Action?: string | string[]; Condition?: Record<string, Record<string, string | string[]>> }>;
}

/** The account of a role's ARN. */
const accountOfRole = (role: string): string => /::(\d{12}):role\//.exec(role)?.[1] ?? '';

/** A trust document's statements of AWS principals (or `*`) as the proof's evaluator takes them, on `role`. */
export function trustGrants(trust: TrustDocument, role: string): ResolvedStatement[] {
  const list = (v: string | string[] | undefined) => ([] as string[]).concat(v ?? []);
  const account = accountOfRole(role);
  const ofAws = trust.Statement.filter((s) => typeof s.Principal === 'string' || list(s.Principal?.AWS).length > 0);
  return ofAws.map((s, i) => ({
    stage: 'trust',
    account,
    policy: `trust/${i}`,
    kind: 'trust',
    effect: s.Effect as 'Allow' | 'Deny',
    principals: typeof s.Principal === 'string' ? [{ kind: 'any' as const }] : list(s.Principal?.AWS).map((arn) => ({ kind: 'aws' as const, arn })),
    actions: list(s.Action),
    resources: [role],
    conditions: Object.fromEntries(Object.entries(s.Condition ?? {}).map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, list(v)]))])),
  }));
}

/** The caller's session carries `identity` (see the file's comment); every refusal is recorded in `refused` as `AssumeRoleCommand <role ARN>`. */
export function carriedSourceIdentity(aws: Aws, identity: string, refused: string[]): Aws {
  // moto's own answers, outside the model: the caller's ARN, and a role's trust read with credentials of its account.
  const sts = aws.sts.bind(aws);
  const iam = aws.iam.bind(aws);
  return withMiddleware(aws, undefined, (next, context) => async (args) => {
    const role = args.input.RoleArn as string | undefined;
    if (context.commandName !== 'AssumeRoleCommand' || !role) return next(args);
    const caller = (await sts().send(new GetCallerIdentityCommand({}))).Arn!;
    const inAccount = (await sts().send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'model' }))).Credentials!;
    const name = role.split('/').at(-1)!;
    const got = await iam({ accessKeyId: inAccount.AccessKeyId!, secretAccessKey: inAccount.SecretAccessKey!, sessionToken: inAccount.SessionToken }).send(new GetRoleCommand({ RoleName: name })).catch(() => undefined);
    const document = got?.Role?.AssumeRolePolicyDocument;
    if (!document) return next(args);
    const trust = JSON.parse(decodeURIComponent(document)) as TrustDocument;
    const allowed = evaluate(new GrantIndex(trustGrants(trust, role)), {
      principal: { kind: 'aws', arn: caller },
      action: 'sts:SetSourceIdentity',
      resource: role,
      resourceAccount: accountOfRole(role),
      identityManagedElsewhere: true,
      context: { 'aws:sourceidentity': [identity] },
    }).allowed;
    if (!allowed) {
      refused.push(`AssumeRoleCommand ${role}`);
      throw refusal('AccessDenied', 403, `User: ${caller} is not authorized to perform: sts:SetSourceIdentity on resource: ${role}`);
    }
    return next(args);
  });
}
