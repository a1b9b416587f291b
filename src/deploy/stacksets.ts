/**
 * One StackSet in AWS: read its state, run an operation on it and wait for
 * it. CloudFormation allows one operation per StackSet at a time; operation
 * ids are the change's content hash plus the StackSet's last operation (see
 * `operationId`), so a retried request finds its own operation and a change
 * made again later gets a new one.
 */
import {
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  DeleteStackInstancesCommand,
  DeleteStackSetCommand,
  DescribeStackSetCommand,
  DescribeStackSetOperationCommand,
  DescribeStacksCommand,
  ListStackInstancesCommand,
  ListStackResourcesCommand,
  ListStackSetsCommand,
  ListStackSetOperationResultsCommand,
  ListStackSetOperationsCommand,
  ListStacksCommand,
  UpdateStackInstancesCommand,
  UpdateStackSetCommand,
  StackStatus,
  type StackSet,
  type Stack,
  type StackSummary,
  type Tag,
  type CloudFormationClient,
  type StackSetOperationPreferences,
  type StackSetOperationSummary,
} from '@aws-sdk/client-cloudformation';
import { errorName, XstackError } from '../errors';
import type { StackSetSettings } from '../org/model';
import { sha256 } from '../hash';
import { listIn } from '../memo';
import { LIMITS } from '../limits';
import type { TemplateSource } from './template-store';
import type { InstanceOperationBudget } from './instance-budget';
import { isOrgStackSetName } from '../stages/model';
import { createTags, STACKSET_TAG, WAVE_TAG } from '../aws/tags';
import { grouped } from '../count';

export interface ActualInstance {
  account: string;
  stackId?: string;
  status?: string;
  detailedStatus?: string;
  statusReason?: string;
  /**
   * SERVICE_MANAGED: the root or OU the instance was created through
   * (StackInstanceSummary.OrganizationalUnitId: "The organization root ID or
   * organizational unit (OU) IDs that you specified for DeploymentTargets",
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html).
   * Updates and deletes name it: xstack creates through the organization's
   * root (deployer.ts reachedThrough); an instance an earlier xstack created
   * through an OU is still named by that OU.
   */
  organizationalUnit?: string;
  /** "The last unique ID of a StackSet operation performed on a stack instance" (StackInstanceSummary.LastOperationId). */
  lastOperationId?: string;
}

export interface ActualStackSet {
  exists: boolean;
  templateBody?: string;
  /** The rollout wave of its last create or template update (its xstack:wave tag). */
  wave?: number;
  /** Its tags, xstack's, the org file's and any added by others, which a tag update must repeat (src/aws/tags.ts updateTags). */
  tags?: Tag[];
  /** Created by xstack (tagged xstack:stackset). */
  xstack?: boolean;
  instances: Map<string, ActualInstance>;
  /**
   * Accounts where an operation of this run ended, which the instance list
   * still did not show after LAG_READS more reads (readStackSet), with that
   * operation's id: what is listed for them may be from before it.
   */
  lagging?: Map<string, string>;
  /**
   * Instances in Regions other than the org's (ListStackInstances lists every Region's), which `instances` leaves
   * out: none of xstack's (it creates in the org's Region only), and reached by any template update all the same
   * (UpdateStackSet without Regions updates every instance). The deployer refuses the stage (deployer.ts
   * otherRegionsText).
   */
  elsewhere?: Array<{ account: string; region: string; status?: string }>;
  /**
   * What DescribeStackSet says it was made with: its permission model, and (SELF_MANAGED) the roles every later operation
   * on it uses until an UpdateStackSet names others
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSet.html;
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html, ExecutionRoleName).
   */
  permissionModel?: string;
  administrationRoleArn?: string;
  executionRoleName?: string;
  /**
   * Set when someone turned managed execution on (xstack never does): StackSets then queues an operation requested
   * while another runs instead of refusing it, which the deployer's race checks rely on (deployer.ts managedExecutionText).
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ManagedExecution.html
   */
  managedExecution?: true;
}

/** An operation's failure as the summary gives it: the operation, then one line per account. */
export const operationFailedText = (stackSet: string, operationId: string, failures: readonly string[]) =>
  `StackSet ${stackSet} operation ${operationId} failed:\n${failures.map((f) => `  ${f}`).join('\n')}`;

export class OperationFailedError extends XstackError {
  constructor(
    readonly stackSet: string,
    readonly operationId: string,
    readonly failures: string[],
    /** The account each failure line is of (by index), where it is one account's: the deployer adds what its stack needs. */
    readonly accounts: ReadonlyArray<string | undefined> = [],
  ) {
    super('OPERATION_FAILED', operationFailedText(stackSet, operationId, failures));
  }
}

/** Operation statuses that count as done well; anything else is a failure or still going. */
const SUCCEEDED = new Set(['SUCCEEDED']);
const RUNNING = new Set(['RUNNING', 'QUEUED', 'STOPPING']);
/** Instance statuses that count as healthy. ROLLBACK and the like are failures, not "*_COMPLETE". */
export const HEALTHY_INSTANCE = new Set(['CURRENT']);


export interface StackSetContext {
  cfn: CloudFormationClient;
  name: string;
  region: string;
  settings: StackSetSettings;
  /** The org file's tags, in its order (src/aws/tags.ts): every StackSet of the org carries them. */
  tags: ReadonlyArray<readonly [string, string]>;
  partition: string;
  adminAccountId?: string;
  pollMs: number;
  /** The longest one operation is waited for (waitFor); none: until it ends. */
  maxWaitMs?: number;
  onWait?: (operationId: string, reason: string) => void;
  /** How a template body reaches CloudFormation: inline, or by URL from the template bucket (template-store.ts). */
  templateSource: (templateBody: string) => Promise<TemplateSource>;
  /** The run's share of the concurrent instance-operation quota (instance-budget.ts); none: no limit kept. */
  budget?: InstanceOperationBudget;
  /** Operation ids CloudFormation refused because another operation came first: never sent again. */
  refusedIds?: Set<string>;
  /**
   * The StackSet's StackSetId as this run last read or created it: unique to
   * one incarnation of the name (a StackSet deleted and created again gets
   * another), and part of every operation id (operationId).
   */
  stackSetId?: string;
  /**
   * What this run's operations that ended did, by account, until a read of
   * the instance list shows it (readStackSet): the operation's id, whether it
   * deleted the instance, and whether the reads gave up waiting for it.
   */
  landed?: Map<string, Landed>;
  /**
   * The run's first DescribeStackSet answers, by StackSet name (describeStackSet): given only to a read that no
   * operation of this run on the StackSet can have preceded (deployer.ts `beforeOperations`), whose answer it fills or
   * gives. Unset: every read asks CloudFormation.
   */
  firstReads?: FirstReads;
  /**
   * A destroy's: its instance deletes carry it in their operation ids (`xs-destroy-instances-…`, DESTROY_DELETES), so a
   * later destroy --delete-retained tells its own earlier deletes from a deploy's removal of an account, which keeps
   * what the account's stacks retain (deployer.ts findRetained).
   */
  destroying?: boolean;
}

/** The operation ids of a destroy's instance deletes start so (StackSetContext `destroying`). */
export const DESTROY_DELETES = 'xs-destroy-instances-';

/** DescribeStackSet's answer by StackSet name, undefined for none (StackSetNotFoundException, or DELETED). */
export type FirstReads = Map<string, StackSet | undefined>;

interface Landed {
  operationId: string;
  deleted: boolean;
  /** Its CreationTimestamp ("The time at which the operation was initiated", API_StackSetOperation.html), when AWS gave one. */
  createdAt?: Date;
  givenUp?: true;
}

/** When each operation other than this run's that an instance lists was created (operationsCreated); undefined: not known. */
type OperationsCreated = Map<string, Date | undefined>;

/** A pause of `ms`: the polls between reads, and the waits deploy and bootstrap make. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const callAs = (s: StackSetSettings) => (s.permissionModel === 'SERVICE_MANAGED' ? { CallAs: s.callAs } : {});

export function operationPreferences(s: StackSetSettings, region: string): StackSetOperationPreferences {
  const p = s.operationPreferences;
  return {
    RegionOrder: [region],
    ...(p.maxConcurrentCount !== undefined ? { MaxConcurrentCount: p.maxConcurrentCount } : {}),
    ...(p.maxConcurrentPercentage !== undefined ? { MaxConcurrentPercentage: p.maxConcurrentPercentage } : {}),
    ...(p.failureToleranceCount !== undefined ? { FailureToleranceCount: p.failureToleranceCount } : {}),
    ...(p.failureTolerancePercentage !== undefined ? { FailureTolerancePercentage: p.failureTolerancePercentage } : {}),
    ...(p.regionConcurrencyType ? { RegionConcurrencyType: p.regionConcurrencyType } : {}),
    ...(p.concurrencyMode ? { ConcurrencyMode: p.concurrencyMode } : {}),
  };
}

/**
 * Reads that CloudFormation documents as eventually consistent, or that lag
 * in practice, are read again this many times, pollMs·2^n apart (75 s in all
 * at the default poll interval), before what they show is taken as it is:
 * ListStackSetOperations and ListStackSetOperationResults "provide eventually
 * consistent reads meaning it may take some time but will eventually return
 * the most up-to-date data"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperations.html,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperationResults.html),
 * and ListStackInstances has been seen not to list an instance right after
 * the operation that created it (hashicorp/terraform-provider-aws#40649).
 */
export const LAG_READS = 4;

export const lagWindow = (ctx: StackSetContext) => `${LAG_READS + 1} reads over ${(ctx.pollMs * (2 ** LAG_READS - 1)) / 1000} s`;

/** Reads until `shown` holds, or LAG_READS more times, pollMs·2^n apart. */
async function readUntil<T>(ctx: StackSetContext, read: () => Promise<T>, shown: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let n = 0; n < LAG_READS && !shown(value); n++) {
    await sleep(ctx.pollMs * 2 ** n);
    value = await read();
  }
  return value;
}

/**
 * Whether a read shows what an operation did to an account: its instance carries the operation's id, or one created
 * after ours (operationsCreated), or (a delete) is gone.
 */
function shows(actual: ActualStackSet, account: string, landed: Landed, others: OperationsCreated): boolean {
  const instance = actual.instances.get(account);
  // An endpoint that lists no LastOperationId (the local emulator) cannot be told apart: taken as read.
  if (instance && instance.lastOperationId === undefined) return true;
  // AWS does not say whether an operation that skipped a suspended account sets its LastOperationId ("The last unique
  // ID of a StackSet operation performed on a stack instance", API_StackInstanceSummary.html; "SKIPPED_SUSPENDED_ACCOUNT:
  // The operation ... has been skipped because the account was suspended", API_StackInstanceComprehensiveStatus.html):
  // taken as shown, as the stage counts such an instance a warning whichever operation skipped it last.
  if (instance && !landed.deleted && suspended(instance)) return true;
  if (!instance) return landed.deleted;
  return instance.lastOperationId === landed.operationId || cameAfter(others.get(instance.lastOperationId!), landed);
}

const cameAfter = (created: Date | undefined, ours: Landed) => created !== undefined && ours.createdAt !== undefined && created.getTime() > ours.createdAt.getTime();

/**
 * Adds to `others` when each operation was created that a waiting account's instance lists instead of ours: one
 * DescribeStackSetOperation per id ("strongly consistent reads",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackSetOperation.html), its
 * CreationTimestamp ("The time at which the operation was initiated",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html). LastOperationId is "The
 * last unique ID of a StackSet operation performed on a stack instance"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html): an operation
 * someone else starts right after ours (another deploy, which the README says ends both correct) replaces our id, and
 * the instance would otherwise be waited for in vain, then fail the stage (review s18-deployer m2). Compared with our
 * operation's creation, not its end: operations on one StackSet run in the order they were requested, one at a time, or
 * with managed execution "queues conflicting operations ... in request order"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ManagedExecution.html), so one requested
 * while ours ran still comes after it (review s19 m2). One created before ours is older: the list is from before ours,
 * and is waited for as before.
 */
async function operationsCreated(ctx: StackSetContext, actual: ActualStackSet, waiting: ReadonlyArray<[string, Landed]>, others: OperationsCreated): Promise<void> {
  const ids = new Set<string>();
  for (const [account, landed] of waiting) {
    const id = actual.instances.get(account)?.lastOperationId;
    if (id !== undefined && landed.createdAt !== undefined && !others.has(id)) ids.add(id);
  }
  for (const id of ids) others.set(id, (await operationStatus(ctx, id)).createdAt);
}

/**
 * The StackSet and its instances. After operations of this run ended, an
 * instance is judged only once the list shows that operation's id as its
 * LastOperationId (StackInstanceSummary: "The last unique ID of a StackSet
 * operation performed on a stack instance",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html),
 * or the id of an operation created after ours (operationsCreated),
 * or, deleted, no longer lists it: read again as LAG_READS says, then taken
 * as it is, those accounts returned as `lagging`.
 */
export async function readStackSet(ctx: StackSetContext): Promise<ActualStackSet> {
  const landed = ctx.landed ?? new Map<string, Landed>();
  const others: OperationsCreated = new Map();
  const waiting = (a: ActualStackSet) => [...landed].filter(([account, l]) => !l.givenUp && !shows(a, account, l, others));
  const read = async () => {
    const listed = await readOnce(ctx);
    await operationsCreated(ctx, listed, waiting(listed), others);
    return listed;
  };
  const actual = await readUntil(ctx, read, (a) => !a.exists || waiting(a).length === 0);
  for (const [, l] of waiting(actual)) l.givenUp = true;
  const lagging = new Map<string, string>();
  for (const [account, l] of landed) {
    if (shows(actual, account, l, others)) landed.delete(account);
    else lagging.set(account, l.operationId);
  }
  return lagging.size > 0 ? { ...actual, lagging } : actual;
}

/**
 * The StackSet as DescribeStackSet gives it, undefined when there is none (not found, or DELETED); from
 * `ctx.firstReads` when that holds it, and kept there when it does not.
 */
export async function describeStackSet(ctx: StackSetContext): Promise<StackSet | undefined> {
  if (ctx.firstReads?.has(ctx.name)) return ctx.firstReads.get(ctx.name);
  let found: StackSet | undefined;
  try {
    const out = await ctx.cfn.send(new DescribeStackSetCommand({ StackSetName: ctx.name, ...callAs(ctx.settings) }));
    found = out.StackSet?.Status === 'DELETED' ? undefined : (out.StackSet ?? {});
  } catch (error) {
    if (errorName(error) !== 'StackSetNotFoundException') throw notDelegatedAdministrator(error, ctx.settings) ?? error;
  }
  ctx.firstReads?.set(ctx.name, found);
  return found;
}

/** Whether xstack created the StackSet: it tags each of its own xstack:stackset (createStackSet). */
export const createdByXstack = (stackSet: StackSet) => stackSet.Tags?.some((t) => t.Key === STACKSET_TAG) ?? false;

async function readOnce(ctx: StackSetContext): Promise<ActualStackSet> {
  const found = await describeStackSet(ctx);
  if (!found) return { exists: false, instances: new Map() };
  ctx.stackSetId = found.StackSetId;
  const templateBody = found.TemplateBody;
  const tagged = found.Tags?.find((t) => t.Key === WAVE_TAG)?.Value;
  const wave = tagged === undefined ? undefined : Number(tagged);
  const xstack = createdByXstack(found);
  const tags: Tag[] = (found.Tags ?? []).map((t) => ({ Key: t.Key!, Value: t.Value ?? '' }));
  // The instance list is all a rollout reads per StackSet (paginated): instances carry no parameter overrides, so
  // there is nothing per instance to describe. https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackInstances.html
  const instances = new Map<string, ActualInstance>();
  const elsewhere: NonNullable<ActualStackSet['elsewhere']> = [];
  let token: string | undefined;
  do {
    const page = await ctx.cfn.send(new ListStackInstancesCommand({ StackSetName: ctx.name, NextToken: token, ...callAs(ctx.settings) }));
    for (const s of page.Summaries ?? []) {
      if (!s.Account) continue;
      if (s.Region !== ctx.region) {
        elsewhere.push({ account: s.Account, region: s.Region ?? 'no Region listed', ...(s.Status ? { status: s.Status } : {}) });
        continue;
      }
      instances.set(s.Account, {
        account: s.Account,
        stackId: s.StackId,
        status: s.Status,
        detailedStatus: s.StackInstanceStatus?.DetailedStatus,
        statusReason: s.StatusReason,
        ...(s.OrganizationalUnitId ? { organizationalUnit: s.OrganizationalUnitId } : {}),
        ...(s.LastOperationId ? { lastOperationId: s.LastOperationId } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return {
    exists: true,
    templateBody,
    wave,
    xstack,
    tags,
    instances,
    ...(elsewhere.length > 0 ? { elsewhere } : {}),
    ...(found.PermissionModel ? { permissionModel: found.PermissionModel } : {}),
    ...(found.AdministrationRoleARN ? { administrationRoleArn: found.AdministrationRoleARN } : {}),
    ...(found.ExecutionRoleName ? { executionRoleName: found.ExecutionRoleName } : {}),
    ...(found.ManagedExecution?.Active ? { managedExecution: true as const } : {}),
  };
}

/** A StackSet's template as CloudFormation holds it; undefined if there is no such StackSet. */
export async function deployedTemplate(ctx: StackSetContext): Promise<string | undefined> {
  return (await describeStackSet(ctx))?.TemplateBody;
}

/**
 * Names of the active StackSets of this org (removed stages included): `<prefix>-<stage id>`
 * (isOrgStackSetName), not every name that begins with `<prefix>-`, which would take in
 * another org's whose prefix begins so (`acme-team-pipelines` for `acme`).
 */
export async function listOrgStackSets(cfn: CloudFormationClient, settings: StackSetSettings, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    // moto ignores the Status filter: filtered here as well.
    const page = await cfn.send(new ListStackSetsCommand({ Status: 'ACTIVE', NextToken: token, ...callAs(settings) })).catch((error: unknown) => {
      throw notDelegatedAdministrator(error, settings) ?? error;
    });
    for (const s of page.Summaries ?? []) if (s.Status === 'ACTIVE' && s.StackSetName && isOrgStackSetName(s.StackSetName, prefix)) names.push(s.StackSetName);
    token = page.NextToken;
  } while (token);
  return names.sort();
}

/**
 * StackSets refusing the caller as no delegated administrator (its first calls of a run: ListStackSets, DescribeStackSet,
 * CreateStackSet). Two answers, each with causes AWS does not name (review s34-service-managed M1, s34-late m2):
 * - "Account used is not a delegated administrator" (callAs DELEGATED_ADMIN): also what StackSets answers an identity
 *   without organizations:ListDelegatedAdministrators, "instead of indicating that there are not sufficient
 *   permissions" (hashicorp/terraform-provider-aws#37069; "Make sure your delegated administrators have
 *   organizations:ListDelegatedAdministrators permissions",
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html);
 * - "You must be the management account or delegated admin account of an organization before operating a
 *   SERVICE_MANAGED stack set" (callAs SELF from a member account; hashicorp/terraform-provider-aws#32536).
 */
export function notDelegatedAdministrator(error: unknown, settings: StackSetSettings): XstackError | undefined {
  const message = (error as Error | undefined)?.message ?? '';
  if (settings.permissionModel !== 'SERVICE_MANAGED' || !/not a delegated administrator|must be the (management|master) account or delegated admin/i.test(message)) return undefined;
  const register = "this account is not registered as StackSets' delegated administrator (aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id <this account>, in the management account)";
  const causes =
    settings.callAs === 'DELEGATED_ADMIN'
      ? `three causes: this identity may not call organizations:ListDelegatedAdministrators (StackSets needs it, and answers so without it); ${register}; or this is the management account, where stackSets.callAs must be SELF`
      : "one cause with two ways out: with callAs SELF the caller must be the management account; run there, or, from a delegated administrator, set stackSets.callAs: DELEGATED_ADMIN (registered with aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id <this account>, in the management account)";
  return new XstackError('NOT_DELEGATED_ADMINISTRATOR', `StackSets refused the call as made by neither the management account nor a delegated administrator (${message}), which has ${causes}; xstack bootstrap checks this`, { cause: error });
}

/**
 * CreateStackSet refused at the administrator account's quota of StackSets: what it is, and the ways out. Service-managed
 * StackSets "are created in the management account, including StackSets that are created by delegated administrators"
 * (CreateStackSet's CallAs, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html):
 * theirs are the StackSets to look at, the quota's account an inference (AWS does not say which account's counts).
 */
function stackSetQuotaReached(name: string, settings: StackSetSettings, error: unknown): XstackError {
  const where =
    settings.permissionModel === 'SERVICE_MANAGED'
      ? "the management account, where service-managed StackSets are created (a delegated administrator's included), has"
      : 'the administrator account has';
  return new XstackError(
    'STACKSET_QUOTA_REACHED',
    `CloudFormation refused to create StackSet ${name}: ${where} reached its quota of StackSets ("${(error as Error).message}"; ` +
      `${grouped(LIMITS.stackSetsPerAdministrator)} by default, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html). ` +
      `Every StackSet in the account and Region counts, other tools' too, not only this org's: delete those no longer used, or request an increase in Service Quotas; then deploy again (what is deployed stays)`,
    { cause: error },
  );
}

/**
 * Creates the StackSet; false when it exists already, and the caller reads it
 * again (its `foreign` check still keeps another tool's StackSet alone). Two of
 * CreateStackSet's errors say so
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html, Errors):
 * NameAlreadyExistsException, "The specified name is already in use" (another
 * deploy created it first), and CreatedButModifiedException, "The specified
 * resource exists, but has been changed". The SDK fills ClientRequestToken
 * itself (an idempotency token, the same on each retry of one call), so a
 * create retried after a lost answer is one CloudFormation knows ("so that
 * CloudFormation knows that you're not attempting to create another StackSet
 * with the same name", same page, ClientRequestToken); once that StackSet has
 * changed, the retry meets the second. LimitExceededException, "The quota for
 * the resource has already been reached" (StackSets per administrator account,
 * which other tools' StackSets in the account count against too, not only the
 * org's, which the compile checks), does not free itself: thrown, saying so.
 * The wave is kept as a tag: once the stage is gone from the org file, it
 * still says when to delete the StackSet (reverse rollout order).
 */
export async function createStackSet(ctx: StackSetContext, templateBody: string, wave: number): Promise<boolean> {
  const s = ctx.settings;
  const template = await ctx.templateSource(templateBody);
  try {
    ctx.stackSetId = (await sendCreate()).StackSetId;
    return true;
  } catch (error) {
    if (EXISTS_ALREADY.includes(errorName(error) ?? '')) return false;
    if (errorName(error) === 'LimitExceededException') throw stackSetQuotaReached(ctx.name, s, error);
    throw notDelegatedAdministrator(error, s) ?? error;
  }
  async function sendCreate() {
    return ctx.cfn.send(
    new CreateStackSetCommand({
      StackSetName: ctx.name,
      ...template,
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      PermissionModel: s.permissionModel,
      ...(s.permissionModel === 'SELF_MANAGED'
        ? selfManagedRoles(ctx)
        : // Off: the org file, not an OU's membership, says which accounts get a stage.
          { AutoDeployment: { Enabled: false }, ...callAs(s) }),
      Tags: createTags(ctx.name, wave, ctx.tags),
    }),
  );
  }
}

const EXISTS_ALREADY = ['NameAlreadyExistsException', 'CreatedButModifiedException'];

/**
 * Operation ids. CloudFormation treats OperationId as an idempotency token and
 * refuses one it has seen (OperationIdAlreadyExistsException):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackInstances.html
 * The id is the change's content hash plus the StackSet's last operation: a
 * retried request of one attempt (the SDK's own retry after a dropped
 * connection, or a second deploy doing the same thing at the same time) sends
 * the same id and finds the operation it started; the same change made again
 * later (a revert re-applied, a retry after a failure) comes after another
 * operation and gets a new id. The StackSetId is in it too: a StackSet
 * deleted and created again under its name (destroy, then deploy) has no
 * operations, so its first change would otherwise send the very id of the
 * first incarnation's first change, and AWS does not say whether it still
 * remembers that one (it names no scope for the token).
 */
export const operationId = (stackSet: string, stackSetId: string, action: string, payload: unknown, lastOperationId: string): string =>
  `xs-${action}-${sha256(`${stackSet}\u0000${stackSetId}\u0000${action}\u0000${JSON.stringify(payload)}\u0000${lastOperationId}`).slice(0, 40)}`;

/**
 * A change of instances. SERVICE_MANAGED operations name the OUs their
 * accounts are reached through (absent for SELF_MANAGED, so that its
 * operation ids stay as they were); a delete of instances whose stacks
 * StackSets cannot delete (`unreachable`) retains them.
 */
export type InstancesOperation = {
  action: 'create-instances' | 'update-instances' | 'delete-instances';
  accounts: string[];
  organizationalUnits?: string[];
  retainStacks?: true;
};

/**
 * `accounts` on a template update: the instances to update, the others left on the template they run (StackSets
 * marks them OUTDATED), for a StackSet some of whose instances the run removes after it; SERVICE_MANAGED names the
 * OUs they are reached through too ("[Service-managed permissions] The Organizations accounts in which to update
 * associated stack instances", UpdateStackSet's DeploymentTargets,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html).
 */
export type Operation =
  | { action: 'update-template'; templateBody: string; tags?: Tag[]; accounts?: readonly string[]; organizationalUnits?: readonly string[] }
  | InstancesOperation;

/**
 * SELF_MANAGED StackSets take account ids; SERVICE_MANAGED ones take "The
 * organization root ID or organizational unit (OU) IDs where you want to
 * perform stack operations. CloudFormation will perform operations on
 * accounts within these OUs and their child OUs", narrowed to exactly these
 * accounts: "INTERSECTION: ... Only accounts that are both specified in the
 * Accounts property and belong to the specified OUs will be targeted" (belong
 * now: an account moved out of an OU is no longer reached through it, which
 * is why xstack creates through the root); "When performing create operations, if you specify both
 * OrganizationalUnitIds and Accounts, you must also specify the
 * AccountFilterType property".
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html
 * DeleteStackInstances and UpdateStackInstances take the same DeploymentTargets
 * ("[Service-managed permissions] The Organizations accounts from which to
 * delete stack instances. You can specify Accounts or DeploymentTargets, but
 * not both"), https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html
 */
function targets(op: { accounts: readonly string[]; organizationalUnits?: readonly string[] }) {
  if (!op.organizationalUnits) return { Accounts: [...op.accounts] };
  return { DeploymentTargets: { OrganizationalUnitIds: [...op.organizationalUnits], Accounts: [...op.accounts], AccountFilterType: 'INTERSECTION' as const } };
}

/**
 * "The maximum number of organizational units (OUs) supported by a
 * CreateStackInstances operation is 50." (the same on UpdateStackInstances and
 * DeleteStackInstances)
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html
 */
export const MAX_OUS_PER_OPERATION = 50;

/**
 * Where the accounts of a change are reached: SERVICE_MANAGED, account id → the
 * root or OU named for it (deployer.ts reachedThrough); SELF_MANAGED, none.
 */
export interface Reach {
  settings: StackSetSettings;
  organizationalUnits: ReadonlyMap<string, string>;
}

/** The root or OU an account's instances are reached through: an error naming the account when none is known. */
function ouOf(organizationalUnits: ReadonlyMap<string, string>, account: string): string {
  const ou = organizationalUnits.get(account);
  if (!ou) throw new XstackError('NO_ORGANIZATIONAL_UNIT', `account ${account}: SERVICE_MANAGED StackSets reach an account through the organization root or an OU, and none is known for it`);
  return ou;
}

/**
 * The accounts of one kind of change as the operations that carry them, each
 * of at most `instanceQuota` accounts: the instance-operations quota
 * (instance-budget.ts) counts every instance an operation targets, so one of
 * more would never start (review s29-deployer m1; SERVICE_MANAGED too, review
 * s57-deploy m1). SELF_MANAGED: accounts by id, no other limit stated, so one
 * operation up to the quota. SERVICE_MANAGED: as few as keep each within
 * MAX_OUS_PER_OPERATION OUs, an OU split only past the quota (one operation
 * when every account is reached through the root, up to the quota). An OU in
 * two operations is sound: each names its accounts with AccountFilterType
 * INTERSECTION, "Only accounts that are both specified in the Accounts property
 * and belong to the specified OUs will be targeted"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html).
 */
export function operationBatches(ctx: Reach, accounts: readonly string[], instanceQuota: number = LIMITS.concurrentStackInstanceOperationsPerRegion): string[][] {
  if (ctx.settings.permissionModel === 'SELF_MANAGED') return withinQuota(accounts, instanceQuota);
  if (accounts.length === 0) return [];
  const byOu = new Map<string, string[]>();
  for (const a of accounts) {
    const ou = ouOf(ctx.organizationalUnits, a);
    const list = byOu.get(ou);
    if (list) list.push(a);
    else byOu.set(ou, [a]);
  }
  const ous = [...byOu.keys()].sort();
  const batches: string[][] = [];
  for (let i = 0; i < ous.length; i += MAX_OUS_PER_OPERATION) batches.push(...withinQuota(ous.slice(i, i + MAX_OUS_PER_OPERATION).flatMap((ou) => byOu.get(ou)!), instanceQuota));
  return batches;
}

/** `accounts` in order, in slices of at most `quota`. */
function withinQuota(accounts: readonly string[], quota: number): string[][] {
  const slices: string[][] = [];
  for (let i = 0; i < accounts.length; i += quota) slices.push(accounts.slice(i, i + quota));
  return slices;
}

/** The operations of one kind of change, each with the OUs its accounts are reached through (SERVICE_MANAGED). */
export function instanceOperations(
  ctx: Reach,
  action: InstancesOperation['action'],
  accounts: readonly string[],
  options: { retainStacks?: true } = {},
): InstancesOperation[] {
  return operationBatches(ctx, accounts).map((batch) => ({
    action,
    accounts: batch,
    ...(ctx.settings.permissionModel === 'SERVICE_MANAGED' ? { organizationalUnits: [...new Set(batch.map((a) => ouOf(ctx.organizationalUnits, a)))].sort() } : {}),
    ...options,
  }));
}

/**
 * StackInstanceComprehensiveStatus, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceComprehensiveStatus.html:
 * "SKIPPED_SUSPENDED_ACCOUNT: The operation in the specified account and
 * Region has been skipped because the account was suspended at the time of
 * the operation."
 */
export const suspended = (i: ActualInstance) => i.detailedStatus === 'SKIPPED_SUSPENDED_ACCOUNT';

/**
 * Same page: "INOPERABLE: A DeleteStackInstances operation has failed and left
 * the stack in an unstable state. Stacks in this state are excluded from
 * further UpdateStackSet operations. You might need to perform a
 * DeleteStackInstances operation, with RetainStacks set to true, to delete
 * the stack instance, and then delete the stack manually." Only UpdateStackSet
 * is excluded, and RetainStacks is a "might": StackSets' troubleshooting page
 * gives, for "Stack instance deletion fails", to fix the cause and "perform the
 * stack instance deletion again"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-troubleshooting.html#stack-instance-delete-fails),
 * so deploy deletes such an instance again, plainly (deployer.ts removeFrom).
 */
export const inoperable = (i: ActualInstance) => i.status === 'INOPERABLE' || i.detailedStatus === 'INOPERABLE';

/**
 * SELF_MANAGED: the roles, on every UpdateStackSet too. AdministrationRoleARN:
 * "If you specified a customized administrator role when you created the stack
 * set, you must specify a customized administrator role, even if it is the
 * same customized administrator role used with this stack set previously."
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html
 * Sending the ARN is passing the role: "When a user passes a role ARN as a parameter to any API that uses the role to
 * assign permissions to the service, the service checks whether that user has the iam:PassRole permission"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html), so the identity that deploys needs
 * iam:PassRole on this role, the default name too (README "deploy", review s21 F2).
 */
export const selfManagedRoles = (ctx: StackSetContext) =>
  ctx.settings.permissionModel === 'SELF_MANAGED'
    ? { AdministrationRoleARN: `arn:${ctx.partition}:iam::${ctx.adminAccountId}:role/${ctx.settings.administrationRoleName}`, ExecutionRoleName: ctx.settings.executionRoleName }
    : {};

/**
 * The roles a SELF_MANAGED StackSet holds, where they are not the org file's: `old → new` for each, else undefined. An
 * unchanged template sends no UpdateStackSet, so without this a renamed role would reach only the StackSets whose
 * template changed, and every later CreateStackInstances on the others would use the old role (review s18-deployer M1).
 */
export function rolesChange(ctx: StackSetContext, actual: ActualStackSet): string | undefined {
  if (!actual.exists || ctx.settings.permissionModel !== 'SELF_MANAGED') return undefined;
  const wanted = selfManagedRoles(ctx) as { AdministrationRoleARN: string; ExecutionRoleName: string };
  const changes = [
    actual.administrationRoleArn !== undefined && actual.administrationRoleArn !== wanted.AdministrationRoleARN ? `administration role ${actual.administrationRoleArn} → ${wanted.AdministrationRoleARN}` : '',
    actual.executionRoleName !== undefined && actual.executionRoleName !== wanted.ExecutionRoleName ? `execution role ${actual.executionRoleName} → ${wanted.ExecutionRoleName}` : '',
  ].filter(Boolean);
  return changes.length > 0 ? changes.join(', ') : undefined;
}

/**
 * Another deploy keeps starting operations on this StackSet: stop rather than
 * race it. Without `operationId`: CloudFormation kept answering that an
 * operation was in progress while listing none running.
 */
export class StackSetBusyError extends XstackError {
  constructor(readonly stackSet: string, operationId: string | undefined, times?: number) {
    super(
      'STACKSET_BUSY',
      operationId
        ? `another deploy holds ${stackSet}: operation ${operationId} started while this one waited; run deploy again when it is done`
        : `${stackSet}: CloudFormation refused ${times} operations in a row with OperationInProgressException while listing no running operation on it; run deploy again later`,
    );
  }
}

/**
 * The newest of a StackSet's operations, every page read: ListStackSetOperations promises no order, and "If the
 * number of available results exceeds this maximum, the response includes a NextToken value"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperations.html), so the newest
 * may be on any page. Read from the first page only, the anchor of the operation id would change between runs once
 * the history passes a page, and a retried attempt would no longer send the same id (review s24 m3).
 */
export async function lastOperation(ctx: StackSetContext): Promise<{ id: string; status: string } | undefined> {
  let newest: { id: string; status: string; at: number } | undefined;
  for await (const op of stackSetOperations(ctx)) {
    const at = op.CreationTimestamp?.getTime() ?? 0;
    if (op.OperationId && (!newest || at > newest.at || (at === newest.at && op.OperationId > newest.id))) newest = { id: op.OperationId, status: op.Status ?? 'UNKNOWN', at };
  }
  return newest;
}

/** How often a stage starts again after other operations came first on its StackSet, before giving up. */
export const BUSY_ATTEMPTS = 5;

/**
 * How often a stage starts again after OperationInProgressException with no
 * other operation listed running: the StackSet busy for a moment after this
 * run's own operation, or another's not listed yet (ListStackSetOperations is
 * eventually consistent). Not a race, so a bound of its own; each round
 * pauses a poll interval first.
 */
export const QUIET_BUSY_ATTEMPTS = 20;

/**
 * How often an operation refused with LimitExceededException ("The quota for
 * the resource has already been reached", CreateStackInstances' Errors,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html)
 * is asked for, the same request a poll interval apart, before the stage
 * fails. The quota of stack instances in operations at once is the
 * administrator account's, across all StackSets (instance-budget.ts), so
 * other tools' operations fill it too, and this run's budget cannot see
 * them. The SDK does not retry it (clients.ts QuotaIsNotThrottling), so
 * these asks are all the waiting there is: 36, three minutes at deploy's
 * 5-second poll, about what the SDK's eight attempts with backoff took for
 * each of the five asks before.
 */
export const LIMIT_ATTEMPTS = 36;

/**
 * An operation ended (`operationId`), or another operation came first
 * (`raced`: OperationInProgressException, after waiting for it, or
 * StaleRequestException or StackInstanceNotFoundException; `other`: false when
 * no other operation was seen).
 * A raced operation was computed from a read that may be out of date: the
 * caller reads the StackSet again and computes its operations anew, never
 * resending this one.
 */
export type OperationOutcome = { operationId: string } | { raced: string; reason: string; other: boolean };

/**
 * Runs one operation and waits for it to end. `accounts`: the instances it
 * concerns (a template update: every instance of the StackSet but the
 * INOPERABLE ones), which the run's budget of concurrent instance operations
 * holds while it runs.
 */
export async function runOperation(ctx: StackSetContext, op: Operation, accounts: readonly string[]): Promise<OperationOutcome> {
  const idAction = ctx.destroying && op.action === 'delete-instances' ? 'destroy-instances' : op.action;
  let base: string;
  try {
    const last = await lastOperation(ctx);
    base = operationId(ctx.name, ctx.stackSetId ?? (await stackSetIdOf(ctx)), idAction, op, last?.id ?? '');
  } catch (error) {
    if (errorName(error) === 'StackSetNotFoundException') return stackSetGone(ctx);
    throw error;
  }
  let id = freshId(ctx, base);
  const template = op.action === 'update-template' ? await ctx.templateSource(op.templateBody) : undefined;
  const common = () => ({ StackSetName: ctx.name, OperationId: id, OperationPreferences: operationPreferences(ctx.settings, ctx.region), ...callAs(ctx.settings) });
  const start = async () => {
    switch (op.action) {
      case 'update-template':
        return ctx.cfn.send(
          new UpdateStackSetCommand({
            ...common(),
            ...selfManagedRoles(ctx),
            ...template,
            Capabilities: ['CAPABILITY_NAMED_IAM'],
            ...(op.tags ? { Tags: op.tags } : {}),
            // "If you specify accounts, you must also specify the Amazon Web Services Regions in which to update stack
            // set instances" (API_UpdateStackSet.html, Accounts).
            ...(op.accounts ? { ...targets({ accounts: op.accounts, organizationalUnits: op.organizationalUnits }), Regions: [ctx.region] } : {}),
          }),
        );
      case 'create-instances':
        return ctx.cfn.send(new CreateStackInstancesCommand({ ...common(), ...targets(op), Regions: [ctx.region] }));
      case 'update-instances':
        return ctx.cfn.send(new UpdateStackInstancesCommand({ ...common(), ...targets(op), Regions: [ctx.region] }));
      case 'delete-instances':
        return ctx.cfn.send(new DeleteStackInstancesCommand({ ...common(), ...targets(op), Regions: [ctx.region], RetainStacks: op.retainStacks ?? false }));
    }
  };
  // Every instance it targets, one Region each (instance-budget.ts).
  const held = <T>(f: () => Promise<T>) => (ctx.budget ? ctx.budget.hold(accounts.length, f) : f());
  /** Ended well: what it did, for the reads after it to show (readStackSet). */
  const ended = (operationId: string, createdAt: Date | undefined): OperationOutcome => {
    ctx.landed ??= new Map();
    for (const account of accounts) ctx.landed.set(account, { operationId, deleted: op.action === 'delete-instances', ...(createdAt ? { createdAt } : {}) });
    return { operationId };
  };
  let limited = 0;
  /**
   * Old operations answered for this attempt's ids and set aside (below): each run inside the list's lag that failed
   * left one more (`-r1`, `-r2`, …), so a few are; not more, so that a clock off by more than the Date header's second,
   * making each failure of this run's own look old, sends the change again at most that many times.
   */
  let setAside = 0;
  for (let attempt = 1; ; attempt++) {
    // When this attempt's request was first sent, on AWS's clock as the SDK knows it, set once any wait for the
    // instance budget is over. The pinned SDK (@aws-sdk/core 3.981, AwsSdkSigV4Signer successHandler and errorHandler)
    // sets its systemClockOffset from every answer's Date header, which counts whole seconds (RFC 9110 IMF-fixdate):
    // this may read up to about a second early. So an operation dated within that second before the attempt passes for
    // one it made (below). An old one of this id with a revert between them (the case to refuse) is not that recent
    // unless the revert took under a second, while a StackSet operation takes minutes (queueing, the administration
    // role, each account's stack: test/support/operation-time.ts, whose overhead figure is an assumption). Its test
    // ("its guard") runs operations of 1.5 s.
    let attemptAt = Number.POSITIVE_INFINITY;
    try {
      // AWS answers with the id it was given; the local emulator with one of its own.
      const started = await held(async () => {
        attemptAt = Date.now() + ((ctx.cfn.config as { systemClockOffset?: number }).systemClockOffset ?? 0);
        const answered = (await start()).OperationId ?? id;
        return { id: answered, createdAt: await waitForOperation(ctx, answered) };
      });
      return ended(started.id, started.createdAt);
    } catch (error) {
      // A failure of an operation created before this attempt: AWS answered this id with an earlier operation of it (one
      // a list that lagged did not show: "eventually consistent reads", API_ListStackSetOperations.html), as the layer's
      // replayReturnsOriginal reads a used idempotency token (VERIFY). That failure is not this attempt's: "Repeating
      // this StackSet operation with a new operation ID retries all stack instances whose status is OUTDATED"
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html), so a new id
      // (review s50-deployer D3). Read only when the operation failed: an old one that succeeded did what this attempt
      // asks, and is taken as it is. The new id is this attempt's (`-r<n>`), which a run before may have used as well:
      // that one's old operation is set aside the same way, up to MAX_SET_ASIDE.
      if (error instanceof OperationFailedError && setAside < MAX_SET_ASIDE && Number.isFinite(attemptAt)) {
        const { createdAt } = await operationStatus(ctx, error.operationId);
        if (createdAt && createdAt.getTime() < attemptAt) {
          setAside++;
          ctx.onWait?.(error.operationId, 'CloudFormation answered with an earlier operation of this id, which failed; starting the change again under a new id');
          id = freshId(ctx, `${base}-r${attempt}`);
          continue;
        }
      }
      const name = errorName(error);
      if (name === 'OperationIdAlreadyExistsException' || name === 'OperationInProgressException') {
        // This attempt's own request, re-sent (the SDK's retry after a lost answer), or another deploy making the same
        // change: wait for it, its failures kept. A request re-sent while its operation runs meets
        // OperationInProgressException rather than OperationIdAlreadyExists (hashicorp/terraform-provider-aws#28675);
        // DescribeStackSetOperation ("strongly consistent reads", API_DescribeStackSetOperation.html) tells ours apart.
        const { status, createdAt } = await operationStatus(ctx, id);
        if (RUNNING.has(status)) {
          ctx.onWait?.(id, 'this change was started by an earlier request');
          return ended(id, await held(() => waitForOperation(ctx, id)));
        }
        // Ended already, and this attempt's own: the SDK sent the request more than once ($metadata.attempts) and the
        // operation was created after the attempt began, so an earlier try of it was handled, its answer lost, and the
        // operation (one that fails as a whole, or has no instance to run on) ended before the retry. Its outcome is
        // this attempt's: the change is not sent a second time (OperationId "also functions as an idempotency token, to
        // ensure that CloudFormation performs the stack set operation only once, even if you retry the request multiple
        // times", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html;
        // review s26-deployer m3). Either sign alone is not
        // enough: a first try refused as throttled is retried too, and an old operation of this id (a list that
        // lagged) was created before.
        if (name === 'OperationIdAlreadyExistsException' && sdkAttempts(error) > 1 && createdAt && createdAt.getTime() >= attemptAt) {
          ctx.onWait?.(id, 'this change was started by an earlier request, which has ended');
          return ended(id, await held(() => waitForOperation(ctx, id)));
        }
        // Finished long ago (a change made before, then reverted), or not found on this StackSet (used by an earlier
        // StackSet of this name, should AWS remember ids past DeleteStackSet), so not ours: a new attempt, a new id.
        if (name === 'OperationIdAlreadyExistsException') {
          id = freshId(ctx, `${base}-r${attempt}`);
          continue;
        }
      }
      if (name === 'OperationInProgressException') {
        ctx.refusedIds?.add(id);
        // Never a blind retry: wait for the running operation, then pause (the list is eventually consistent, and
        // the StackSet may be reported busy for a moment after its operation ended); the caller then reads again.
        const running = (await namedOperation(ctx, error)) ?? (await runningOperation(ctx));
        if (running) {
          ctx.onWait?.(running, 'another operation is running on this StackSet');
          await waitForOperation(ctx, running, { failOnError: false });
        }
        await sleep(ctx.pollMs);
        if (running) return { raced: running, reason: 'another operation was running on this StackSet', other: true };
        return { raced: (await lastOperation(ctx))?.id ?? 'unknown', reason: 'the StackSet was busy, with no other operation listed running', other: false };
      }
      if (name === 'LimitExceededException') {
        if (++limited >= LIMIT_ATTEMPTS) {
          // AWS's own message first: the error is generic ("The quota for the resource has already been reached"), and
          // covers quotas that do not free themselves too (stack instances per StackSet, StackSets per administrator
          // account), which only its message can name.
          const told = ((error as Error | undefined)?.message ?? '').trim().replace(/\.$/, '');
          throw new XstackError(
            'LIMIT_EXCEEDED',
            `StackSet ${ctx.name}: CloudFormation refused operation ${id} ${limited} times, a poll interval apart, with LimitExceededException: ` +
              `${told ? `"${told}"` : 'no message given'}. A quota stayed reached: if it is the administrator account's stack instances in operations at once (10,000 a Region, every StackSet's and every tool's operations counted), ` +
              `run deploy again once other operations have ended; if it is one that does not free itself (the message names it), raise it in Service Quotas or remove what fills it, then deploy again`,
            { cause: error },
          );
        }
        ctx.onWait?.(id, "a quota was reached (LimitExceededException; other tools' StackSet operations count toward the instances in operations at once): asking again");
        await sleep(ctx.pollMs);
        continue;
      }
      if (name === 'InvalidOperationException') throw invalidOperationError(ctx, op, id, error);
      if (name === 'StaleRequestException') {
        // "Another operation has been performed on this StackSet since the specified operation was performed"
        // (Errors of UpdateStackSet, CreateStackInstances, UpdateStackInstances, DeleteStackInstances:
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html,
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html).
        // As with OperationInProgress: read again, compute again, and start with an id never sent.
        ctx.refusedIds?.add(id);
        return { raced: (await lastOperation(ctx))?.id ?? 'unknown', reason: 'another operation was performed on this StackSet since it was read', other: true };
      }
      if (name === 'StackInstanceNotFoundException') {
        // "The specified stack instance doesn't exist": an Error of UpdateStackInstances and UpdateStackSet
        // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackInstances.html,
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html; the pinned SDK's
        // @throws lists it for those two, not for CreateStackInstances or DeleteStackInstances, taken the same way
        // should it come). The instance list the operation was computed from is out of date (another deploy, or a
        // person, deleted the instance since; or a list that lags, hashicorp/terraform-provider-aws#40649): as with
        // StaleRequest, read again, compute again, and start with an id never sent. A race: RaceCount bounds it.
        ctx.refusedIds?.add(id);
        return { raced: (await lastOperation(ctx))?.id ?? 'unknown', reason: 'an instance the operation names is gone since the StackSet was read', other: true };
      }
      if (name === 'StackSetNotFoundException') {
        ctx.refusedIds?.add(id);
        return stackSetGone(ctx);
      }
      throw error;
    }
  }
}

/** How many times the SDK sent the request that ended in this error (its retry strategy's `$metadata.attempts`). */
const sdkAttempts = (error: unknown): number => (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;

/** Old failed operations set aside in one runOperation (runOperation's `setAside`). */
const MAX_SET_ASIDE = 3;

/** `id`, or, if CloudFormation refused it in this run because another operation came first, `id-s<n>`: never the same request twice. */
function freshId(ctx: StackSetContext, id: string): string {
  if (!ctx.refusedIds?.has(id)) return id;
  let n = 1;
  while (ctx.refusedIds.has(`${id}-s${n}`)) n++;
  return `${id}-s${n}`;
}

/**
 * StackSetNotFoundException, "The specified StackSet doesn't exist", before or as an operation starts: an Error of
 * ListStackSetOperations, UpdateStackSet, CreateStackInstances, UpdateStackInstances and DeleteStackInstances
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html, Errors; and
 * API_CreateStackInstances.html, API_UpdateStackSet.html, API_ListStackSetOperations.html). Deleted since this run read
 * it (another destroy, a person), so nothing was started: as with a race, the caller reads it again and computes anew
 * (deploy creates it again; a removal finds nothing left to remove). The id read before is the old StackSet's.
 */
function stackSetGone(ctx: StackSetContext): OperationOutcome {
  ctx.stackSetId = undefined;
  return { raced: 'none', reason: 'the StackSet is gone since this run read it (deleted by another run or a person)', other: true };
}

/** The StackSetId, for a context that has not read the StackSet yet (a removal's). */
async function stackSetIdOf(ctx: StackSetContext): Promise<string> {
  const out = await ctx.cfn.send(new DescribeStackSetCommand({ StackSetName: ctx.name, ...callAs(ctx.settings) }));
  ctx.stackSetId = out.StackSet?.StackSetId;
  if (!ctx.stackSetId) throw new XstackError('NO_STACKSET_ID', `StackSet ${ctx.name}: DescribeStackSet gave no StackSetId`);
  return ctx.stackSetId;
}

/**
 * DescribeStackSetOperation's status of an operation, or NOT_FOUND for
 * OperationNotFoundException ("The specified ID refers to an operation that
 * doesn't exist", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackSetOperation.html),
 * with its StatusReason from the same answer: StackSetOperation's "The status
 * of the operation in details"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html;
 * `StackSetOperation.StatusReason` in the pinned @aws-sdk/client-cloudformation, models_0.d.ts).
 * An operation that fails as a whole (the administration role not assumed,
 * a template StackSets refuses) may list no account's result: this reason is
 * then all AWS says about it (operationFailures).
 */
async function operationStatus(ctx: StackSetContext, id: string): Promise<{ status: string; reason?: string; createdAt?: Date }> {
  try {
    const out = await ctx.cfn.send(new DescribeStackSetOperationCommand({ StackSetName: ctx.name, OperationId: id, ...callAs(ctx.settings) }));
    const { StatusReason: reason, CreationTimestamp: createdAt } = out.StackSetOperation ?? {};
    return { status: out.StackSetOperation?.Status ?? 'UNKNOWN', ...(reason ? { reason } : {}), ...(createdAt ? { createdAt } : {}) };
  } catch (error) {
    if (errorName(error) === 'OperationNotFoundException') return { status: NOT_FOUND };
    throw error;
  }
}

const NOT_FOUND = 'NOT_FOUND';

/**
 * An operation still RUNNING, QUEUED or STOPPING, read page by page until one
 * is found or the pages end: ListStackSetOperations promises no order, so it
 * may be on any page. "This API provides eventually consistent reads", so one
 * that has just started may not be listed yet.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperations.html
 */
async function runningOperation(ctx: StackSetContext): Promise<string | undefined> {
  for await (const op of stackSetOperations(ctx)) if (op.OperationId && RUNNING.has(op.Status ?? '')) return op.OperationId;
  return undefined;
}

/**
 * The StackSet's operations, a page read only when the one before is used up (a caller that stops early reads no more).
 * Pages of the most MaxResults takes, 100 ("The maximum number of results to be returned with a single call",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperations.html): every page is read before each operation (lastOperation), and a StackSet's
 * history grows with every deploy and drift detection (review s26-deployer m4).
 */
export async function* stackSetOperations(ctx: StackSetContext): AsyncGenerator<StackSetOperationSummary> {
  let token: string | undefined;
  do {
    const page = await ctx.cfn.send(new ListStackSetOperationsCommand({ StackSetName: ctx.name, NextToken: token, MaxResults: 100, ...callAs(ctx.settings) }));
    yield* page.Summaries ?? [];
    token = page.NextToken;
  } while (token);
}

/**
 * The operation an OperationInProgressException's message names at its end,
 * if DescribeStackSetOperation (strongly consistent) knows it: AWS has been
 * seen to answer "Another Operation on StackSet <arn> is in progress:
 * <operation-id>". Not a documented contract (the message is also seen
 * without the id, ansible-collections/community.aws#1790): without it the
 * caller falls back to the eventually consistent list (runningOperation).
 */
async function namedOperation(ctx: StackSetContext, error: unknown): Promise<string | undefined> {
  const id = /is in progress: ([A-Za-z0-9-]+)\.?\s*$/.exec((error as Error | undefined)?.message ?? '')?.[1];
  if (!id) return undefined;
  return (await operationStatus(ctx, id)).status === NOT_FOUND ? undefined : id;
}

/**
 * Polls for an operation that was just started or listed: one CloudFormation
 * does not know is taken as not visible yet for NOT_FOUND_POLLS polls, then
 * as an error. (DescribeStackSetOperation "provides strongly consistent
 * reads", API_DescribeStackSetOperation.html, so this is a guard, cheap if
 * it never fires.)
 */
export const NOT_FOUND_POLLS = 10;

/** Its CreationTimestamp once it SUCCEEDED, if AWS gave one (StackSetOperation.CreationTimestamp, API_StackSetOperation.html). */
export async function waitForOperation(ctx: StackSetContext, id: string, options = { failOnError: true }): Promise<Date | undefined> {
  try {
    return await waitFor(ctx, id, options);
  } catch (error) {
    if (errorName(error) === 'StackSetNotFoundException') throw goneWhileWaitingError(ctx, id, error);
    throw error;
  }
}

/**
 * Refused with InvalidOperationException, "The specified operation isn't valid", an Error of UpdateStackSet,
 * CreateStackInstances, UpdateStackInstances and DeleteStackInstances (AWS's service model, and
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html). The pages say no
 * more of when; the likeliest cause is the StackSet changed under the run (an inference). No operation was started,
 * so this is no race to retry blindly: the stage stops, and the next run reads the StackSet afresh.
 */
function invalidOperationError(ctx: StackSetContext, op: Operation, id: string, cause: unknown): XstackError {
  const told = ((cause as Error | undefined)?.message ?? '').trim().replace(/\.$/, '');
  return new XstackError(
    'INVALID_OPERATION',
    `StackSet ${ctx.name}: CloudFormation refused ${API_ACTION[op.action]} (operation ${id}) with InvalidOperationException${told ? ` ("${told}")` : ''}: ` +
      `StackSets took the operation as not valid for the StackSet as it is now, most likely because another deploy, a person or another tool changed it since this run read it. ` +
      `No operation was started, and this stage stopped there. Check who else changes StackSet ${ctx.name} (aws cloudformation list-stack-set-operations --stack-set-name ${ctx.name} --region ${ctx.region}), ` +
      `then run the command again, which reads the StackSet afresh`,
    { cause },
  );
}

/**
 * StackSetNotFoundException, "The specified stack set doesn't exist", while waiting for an operation: an Error of
 * DescribeStackSetOperation and ListStackSetOperationResults (AWS's service model;
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackSetOperation.html). The StackSet
 * was deleted meanwhile, by another run or a person (an inference: the pages say no more). The operation's outcome is
 * unknown, so the stage stops; the next run reads the StackSet afresh, and creates it again if it is gone.
 */
function goneWhileWaitingError(ctx: StackSetContext, id: string, cause: unknown): XstackError {
  const told = ((cause as Error | undefined)?.message ?? '').trim().replace(/\.$/, '');
  return new XstackError(
    'STACKSET_GONE_WHILE_WAITING',
    `StackSet ${ctx.name}: CloudFormation answered StackSetNotFoundException${told ? ` ("${told}")` : ''} while this run waited for operation ${id} on it: ` +
      `the StackSet was deleted meanwhile (by another destroy, or a person), so what the operation did is unknown, and this stage stopped there. ` +
      `Check who else changes or deletes StackSet ${ctx.name}, then run the command again, which reads it afresh (deploy creates it again if it is gone)`,
    { cause },
  );
}

/** The API call each operation is sent as. */
const API_ACTION: Record<Operation['action'], string> = {
  'update-template': 'UpdateStackSet',
  'create-instances': 'CreateStackInstances',
  'update-instances': 'UpdateStackInstances',
  'delete-instances': 'DeleteStackInstances',
};

async function waitFor(ctx: StackSetContext, id: string, options: { failOnError: boolean }): Promise<Date | undefined> {
  const started = Date.now();
  for (let notFound = 0; ; ) {
    const { status, reason, createdAt } = await operationStatus(ctx, id);
    if (SUCCEEDED.has(status)) return createdAt;
    if (RUNNING.has(status) && ctx.maxWaitMs !== undefined && Date.now() - started >= ctx.maxWaitMs) throw waitedTooLongError(ctx, id, status, Date.now() - started);
    if (RUNNING.has(status) || (status === NOT_FOUND && ++notFound < NOT_FOUND_POLLS)) {
      await sleep(ctx.pollMs);
      continue;
    }
    if (status === NOT_FOUND) {
      throw new XstackError('OPERATION_NOT_FOUND', `StackSet ${ctx.name}: CloudFormation knew no operation ${id} in ${notFound} polls ${ctx.pollMs / 1000} s apart (OperationNotFoundException), though it had started or listed it; run deploy again`);
    }
    if (!options.failOnError) return undefined;
    const { failures, accounts } = await operationFailures(ctx, id, status, reason);
    throw new OperationFailedError(ctx.name, id, failures, accounts);
  }
}

/**
 * An operation still RUNNING, QUEUED or STOPPING past --max-wait (review s57-deploy m3). The pages give none of these
 * statuses a maximum duration ("QUEUED: [Service-managed permissions] For automatic deployments that require a sequence
 * of operations, the operation is queued to be performed", "STOPPING: The operation is in the process of stopping, at
 * user request", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html), and an
 * operation with one account at a time may rightly run for hours, so there is no bound unless one is given. The run stops
 * waiting, not the operation: the next run meets it as another operation in progress and waits for it
 * (OperationInProgressException), or finds it ended. The advice to stop it instead: StopStackSetOperation "will cancel
 * all the unstarted stack instance deployments and wait for those are in-progress to complete"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StopStackSetOperation.html).
 */
function waitedTooLongError(ctx: StackSetContext, id: string, status: string, waitedMs: number): XstackError {
  const minutes = Math.round(waitedMs / 60_000);
  return new XstackError(
    'WAITED_TOO_LONG',
    `StackSet ${ctx.name}: operation ${id} is still ${status} after ${minutes < 1 ? 'less than a minute' : `${minutes} minute${minutes === 1 ? '' : 's'}`} of waiting (--max-wait), so this run stopped waiting for it and this stage stopped there; ` +
      `the operation goes on. See it with aws cloudformation describe-stack-set-operation --stack-set-name ${ctx.name} --operation-id ${id} --region ${ctx.region}` +
      `${ctx.settings.permissionModel === 'SERVICE_MANAGED' ? ' --call-as <as the org file says>' : ''}, ` +
      `and run the command again, which waits for it${status === 'STOPPING' ? '' : ' (or stop it first with aws cloudformation stop-stack-set-operation, the same arguments)'}`,
  );
}

/** Account ids in a line of text: the first 8, then how many more. */
export const accountList = (ids: readonly string[]): string => (ids.length > 8 ? `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more` : ids.join(', '));

/**
 * Every account an operation's results name, whatever each result's status ("Account: [Self-managed permissions] The
 * name of the AWS account for this operation result", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationResultSummary.html),
 * every page read.
 */
export async function operationAccounts(ctx: StackSetContext, id: string): Promise<string[]> {
  const accounts = new Set<string>();
  let token: string | undefined;
  do {
    const page = await ctx.cfn.send(new ListStackSetOperationResultsCommand({ StackSetName: ctx.name, OperationId: id, NextToken: token, ...callAs(ctx.settings) }));
    for (const r of page.Summaries ?? []) if (r.Account) accounts.add(r.Account);
    token = page.NextToken;
  } while (token);
  return [...accounts];
}

/**
 * The accounts an operation that did not succeed failed or cancelled, with their reasons: its results, read until they
 * list any (LAG_READS). First, when DescribeStackSetOperation gave one, the operation's own StatusReason (operationStatus),
 * a line of no account: the deployer advises it as it does each account's (deployer.ts reasonOf).
 */
export async function operationFailures(ctx: StackSetContext, id: string, status: string, reason?: string): Promise<{ failures: string[]; accounts: Array<string | undefined> }> {
  const read = async () => {
    const failures: string[] = [];
    const accounts: Array<string | undefined> = [];
    const cancelled = new Map<string, string[]>();
    let listed = 0;
    let token: string | undefined;
    do {
      const page = await ctx.cfn.send(new ListStackSetOperationResultsCommand({ StackSetName: ctx.name, OperationId: id, NextToken: token, ...callAs(ctx.settings) }));
      for (const r of page.Summaries ?? []) {
        listed++;
        if (r.Status === 'SUCCEEDED') continue;
        const line = `${r.Region}: ${r.Status}: ${r.StatusReason ?? 'no reason given'}`;
        if (r.Status === 'CANCELLED' && r.Account) listIn(cancelled, line).push(r.Account);
        else {
          failures.push(`account ${r.Account} ${line}`);
          accounts.push(r.Account);
        }
      }
      token = page.NextToken;
    } while (token);
    // The accounts an operation cancelled, one line for each reason: "CANCELLED: ... the failure tolerance of the stack set
    // operation has been exceeded" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationResultSummary.html),
    // so a first deploy to N accounts, one at a time, that fails in one says so once, not N-1 times (review s37-deployer D2).
    for (const [line, ids] of cancelled) {
      if (ids.length === 1) failures.push(`account ${ids[0]} ${line}`);
      else failures.push(`${ids.length} accounts ${line}: ${accountList(ids)}`);
      accounts.push(ids.length === 1 ? ids[0] : undefined);
    }
    return { failures, accounts, listed };
  };
  const { failures, accounts, listed } = await readUntil(ctx, read, (r) => r.listed > 0);
  const own = reason ? [`operation ${id}: ${status}: ${reason}`] : [];
  if (failures.length > 0 || own.length > 0) return { failures: [...own, ...failures], accounts: [...own.map(() => undefined), ...accounts] };
  return { failures: [`operation ended ${status}${listed === 0 ? ` (ListStackSetOperationResults listed no account in ${lagWindow(ctx)})` : ''}`], accounts: [] };
}

/**
 * Deletes the StackSet, its instances gone. DeleteStackSet's Errors
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackSet.html):
 * "OperationInProgress – Another operation is currently in progress for this
 * stack set. Only one operation can be performed for a stack set at a given
 * time": the running operation is waited for, then DeleteStackSet asked
 * again, within the bounds an operation has (waitWhileBusy); "StackSetNotEmpty
 * – You can't yet delete this stack set, because it still contains one or
 * more stack instances": read again and asked again as LAG_READS says, then
 * an error naming the instances listed. StackSetNotFoundException: another
 * run deleted it first, so it is deleted (as hashicorp/terraform-provider-aws
 * resourceStackSetDelete takes it).
 */
export async function deleteStackSet(ctx: StackSetContext): Promise<void> {
  const busy = { races: 0, quiet: 0 };
  for (let notEmpty = 0; ; ) {
    try {
      await ctx.cfn.send(new DeleteStackSetCommand({ StackSetName: ctx.name, ...callAs(ctx.settings) }));
      return;
    } catch (error) {
      const name = errorName(error);
      if (name === 'StackSetNotFoundException') return;
      if (name === 'OperationInProgressException') {
        await waitWhileBusy(ctx, error, busy);
        continue;
      }
      if (name !== 'StackSetNotEmptyException') throw error;
      const actual = await readOnce(ctx);
      if (!actual.exists) return;
      if (notEmpty >= LAG_READS) throw notEmptyError(ctx, actual, notEmpty + 1, error);
      await sleep(ctx.pollMs * 2 ** notEmpty++);
    }
  }
}

/**
 * After OperationInProgressException on DeleteStackSet: waits for the running
 * operation, then a poll interval (the StackSet may be reported busy for a
 * moment after it ended). The bounds are a stage's (RaceCount, deployer.ts):
 * BUSY_ATTEMPTS operations of others, QUIET_BUSY_ATTEMPTS refusals with none
 * listed running.
 */
async function waitWhileBusy(ctx: StackSetContext, error: unknown, busy: { races: number; quiet: number }): Promise<void> {
  const running = (await namedOperation(ctx, error)) ?? (await runningOperation(ctx));
  if (running) {
    ctx.onWait?.(running, 'another operation is running on this StackSet');
    await waitForOperation(ctx, running, { failOnError: false });
    if (++busy.races >= BUSY_ATTEMPTS) throw new StackSetBusyError(ctx.name, running);
  } else if (++busy.quiet >= QUIET_BUSY_ATTEMPTS) {
    throw new StackSetBusyError(ctx.name, undefined, busy.quiet);
  }
  await sleep(ctx.pollMs);
}

/** DeleteStackSet still refused with StackSetNotEmptyException after LAG_READS reads: the instances listed in this Region, or that none is. */
function notEmptyError(ctx: StackSetContext, actual: ActualStackSet, times: number, cause: unknown): XstackError {
  const listed = [...actual.instances.values()].map((i) => `  account ${i.account} ${ctx.region}: ${i.status ?? 'no status'}`);
  const elsewhere = (actual.elsewhere ?? []).map((i) => `  account ${i.account} ${i.region}: ${i.status ?? 'no status'}`);
  const what =
    listed.length > 0
      ? `it still holds these instances (created since this run read it, by another deploy?):\n${[...listed, ...elsewhere].join('\n')}`
      : elsewhere.length > 0
        ? `it holds instances in Regions other than ${ctx.region}, which xstack does not manage (delete them with delete-stack-instances in their Regions):\n${elsewhere.join('\n')}`
        : `ListStackInstances lists none (a list that lags)`;
  return new XstackError(
    'STACKSET_NOT_EMPTY',
    `StackSet ${ctx.name}: DeleteStackSet refused with StackSetNotEmptyException ${times} times over ${(ctx.pollMs * (2 ** LAG_READS - 1)) / 1000} s, the StackSet read again each time; ${what}\nRun the command again once they are removed`,
    { cause },
  );
}

/**
 * The stack a StackSet made in an account is named `StackSet-<StackSet>-<uuid>` (StackSets' naming, as the stacks
 * show it; the local emulator names it `StackSet:<StackSet>`). Matched whole, so that the stacks of a StackSet whose
 * name begins with this one's (`<prefix>-ci` and `<prefix>-ci-network`) are never taken for its own.
 */
export function isInstanceStackOf(stackName: string, stackSet: string): boolean {
  if (stackName === `StackSet:${stackSet}`) return true;
  const rest = stackName.startsWith(`StackSet-${stackSet}-`) ? stackName.slice(`StackSet-${stackSet}-`.length) : undefined;
  return rest !== undefined && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(rest);
}

/**
 * The instance's stack in its own account. StackSets name it
 * `StackSet-<name>-<uuid>`; the local emulator reports an instance StackId
 * that does not resolve and names the stack `StackSet:<name>`, so a stack that
 * cannot be found by id is looked up by that name.
 */
export async function findInstanceStack(cfn: CloudFormationClient, stackSet: string, stackId: string | undefined, { live = false } = {}) {
  return (await lookForInstanceStack(cfn, stackSet, stackId, live)).stack;
}

/** findInstanceStack, saying too whether the instance's own stack, by its id, is one CloudFormation answers deleted. */
async function lookForInstanceStack(cfn: CloudFormationClient, stackSet: string, stackId: string | undefined, live: boolean): Promise<{ stack?: Stack; ownDeleted: boolean }> {
  let ownDeleted = false;
  if (stackId) {
    try {
      const found = (await cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0];
      // By its id a deleted stack is still answered, DELETE_COMPLETE ("Deleted stacks: You must specify the unique
      // stack ID", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html): what
      // `live` asks for is then looked for by name, where a stack an earlier RetainStacks removal left would be
      // (review s26-deployer m5). Retained resources are read from a deleted stack too (instanceResources).
      ownDeleted = found?.StackStatus === 'DELETE_COMPLETE';
      if (found && !(live && ownDeleted)) return { stack: found, ownDeleted: false };
    } catch (error) {
      if (errorName(error) !== 'ValidationError') throw error;
    }
  }
  // No StackStatusFilter, unlike liveStacks (display only): a status AWS adds after the pinned SDK's list would be left
  // out by one, and what is found here decides an operation (review s57-deploy m5 weighed the pages of deleted stacks
  // this reads against that, on a path taken only when the instance's stack is not found by its id).
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStacksCommand({ NextToken: token }));
    const found = (page.StackSummaries ?? []).find(
      (s) => s.StackStatus !== 'DELETE_COMPLETE' && s.StackName !== undefined && isInstanceStackOf(s.StackName, stackSet),
    );
    if (found) return { stack: (await cfn.send(new DescribeStacksCommand({ StackName: found.StackId }))).Stacks?.[0], ownDeleted };
    token = page.NextToken;
  } while (token);
  return { ownDeleted };
}

/**
 * An instance's stack as its account's CloudFormation reports it: its id, status and status reason, and the logical
 * ids of its resources in `<X>_FAILED` (ListStackResources, every page), which name what a way out skips or keeps
 * (deployer.ts stackWayOut). Undefined when the account has no such stack (a failed create's stack is deleted).
 */
export interface InstanceStack {
  stackId: string;
  status: string;
  reason?: string;
  failedResources: Array<{ logicalId: string; status: string }>;
  /** The instance's own stack is deleted (by hand), so this is another stack of the StackSet, found by name. */
  ownDeleted?: boolean;
}

/**
 * Whether the instance's own stack is gone: CloudFormation answers it, by its id, DELETE_COMPLETE (deleted outside
 * StackSets: by hand, or by the delete-stack the deployer names for a ROLLBACK_FAILED stack). An id CloudFormation
 * does not answer (ValidationError) is not taken as deleted.
 */
export async function instanceStackDeleted(cfn: CloudFormationClient, stackId: string): Promise<boolean> {
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0]?.StackStatus === 'DELETE_COMPLETE';
  } catch (error) {
    if (errorName(error) !== 'ValidationError') throw error;
    return false;
  }
}

export async function instanceStack(cfn: CloudFormationClient, stackSet: string, stackId: string | undefined): Promise<InstanceStack | undefined> {
  // Found by name instead of by the instance's stack id, it is another stack of the StackSet only if the instance's own
  // is known deleted (DELETE_COMPLETE by its id), not merely an id not found.
  const { stack, ownDeleted } = await lookForInstanceStack(cfn, stackSet, stackId, true);
  if (!stack?.StackId || !stack.StackStatus) return undefined;
  const failedResources: InstanceStack['failedResources'] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack.StackId, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId && r.ResourceStatus?.endsWith('_FAILED')) failedResources.push({ logicalId: r.LogicalResourceId, status: r.ResourceStatus });
    }
    token = page.NextToken;
  } while (token);
  return { stackId: stack.StackId, status: stack.StackStatus, ...(stack.StackStatusReason ? { reason: stack.StackStatusReason } : {}), failedResources, ...(ownDeleted ? { ownDeleted } : {}) };
}

/**
 * The account's stacks that are not deleted, every page. ListStacks: "Summary
 * information for stacks that have been deleted is kept for 90 days after the
 * stack is deleted. If no StackStatusFilter is specified, summary information
 * for all stacks is returned (including existing stacks and stacks that have
 * been deleted)", a page at a time (NextToken).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStacks.html
 */
export async function liveStacks(cfn: CloudFormationClient): Promise<StackSummary[]> {
  const stacks: StackSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStacksCommand({ StackStatusFilter: NOT_DELETED, NextToken: token }));
    stacks.push(...(page.StackSummaries ?? []).filter((s) => s.StackStatus !== StackStatus.DELETE_COMPLETE));
    token = page.NextToken;
  } while (token);
  return stacks;
}

// The statuses of the pinned SDK: a status AWS adds later would not be listed (display only; it avoids reading 90 days of deleted stacks).
const NOT_DELETED = Object.values(StackStatus).filter((s) => s !== StackStatus.DELETE_COMPLETE);

/**
 * Physical ids of the resources of an instance's stack, by logical id, every
 * page of ListStackResources: DescribeStackResources answers "Only the first
 * 100 resources ... If your stack has more resources than this, you should
 * use ListStackResources instead."
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResources.html
 */
export async function instanceResources(cfn: CloudFormationClient, stackSet: string, stackId: string | undefined): Promise<Map<string, string>> {
  const stack = await findInstanceStack(cfn, stackSet, stackId);
  return stack?.StackId ? stackResources(cfn, stack.StackId) : new Map();
}

/** The physical ids of a stack's resources by logical id, every page; a deleted stack by its id (API_ListStackResources.html). */
export async function stackResources(cfn: CloudFormationClient, stackId: string): Promise<Map<string, string>> {
  const physical = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackId, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) if (r.LogicalResourceId && r.PhysicalResourceId) physical.set(r.LogicalResourceId, r.PhysicalResourceId);
    token = page.NextToken;
  } while (token);
  return physical;
}
