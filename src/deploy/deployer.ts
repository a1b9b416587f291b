/**
 * The stateless reconciler. The truth is what CloudFormation reports: for each
 * wave of the stage graph, compare each StackSet's template and instance list
 * with the compile, act only on the difference, wait, go on. No template
 * takes parameters (each chooses its account's values itself), so a StackSet
 * needs at most one operation per kind of change whatever its account count:
 * one template update, one create for all new accounts, one update for all
 * accounts whose last operation failed, one delete for all removed ones (and,
 * where an account left a family part for another, one delete of those
 * first: leftFor); and
 * nothing is read in the target accounts but, for instances about to be
 * created, whether a retained resource is in the way, and, before any
 * operation, whether the roles the org file names are as named in the pipeline
 * accounts whose key policy this run writes (existing-roles.ts: one GetRole per
 * account and role name). A second run with nothing changed makes no mutating
 * call and reads each StackSet and its instance list; an interrupted run is
 * finished by running again.
 */
import { compareText } from '../order';
import { markHeld, Strandings } from './held';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { DescribeStackInstanceCommand, type CloudFormationClient, type StackSummary } from '@aws-sdk/client-cloudformation';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { renderedTemplate, renderTemplate } from '../cfn/template';
import { checkExistingRoles, existingRolesRefusal, findingsText, namedExistingRoles, roleNamedExists, type RoleFinding } from './existing-roles';
import { attachmentFindingText, attachmentsOf, missingAttachments, type Attachment } from './role-attachments';
import { namedRoles } from '../cfn/retained-names';
import { bucketDefaultKey, deletedInstanceStacks, deleteRetained, grantOrName, encryptsWithKms, KEY_DELETION_WINDOW_DAYS, kmsBucketsIn, keptByDestroy, leftByRemoval, namedRetained, retainedDeletable, retainedExists, type NamedRetained, type RetainedResource, type Target } from './retained';
import { isDeepStrictEqual } from 'node:util';
import { listIn } from '../memo';
import { globRegExp } from '../checks/service-authorization';
import { needsTemplateBucket } from '../limits';
import { codeCommitAdvice } from './service-advice';
import { Names } from '../naming';
import { bodyReplacements, deferredRemovals, deletingRemovals, replacementsRefusal, rolesDeletedWhileAttached, type Replacements, type StackSetTemplates } from './replacements';
import { creatingAccounts, familyMoves, heldNameAdvice, MOVE_FIX, moveOrder, moveText, NAME_HELD_AFTER_DELETE, RETAINED_MOVE_WHY, settlingOrder, type FamilyMove, type FamilyPart, type MoveOrder } from './moves';
import type { CfnTemplate } from '../cfn/template';
import type { CompiledOrg } from '../compile';
import type { Org } from '../org/model';
import { errorName, XstackError } from '../errors';
import { stackSetsElsewhereError, type StackSetsHome } from '../stages/layout';
import { setupReaderRefused } from '../setup';
import { setupVerdict } from './setup-verdict';
import { fromYaml } from '../yaml';
import { createTags, updateTags } from '../aws/tags';
import { AssumeRoleError, roleOf, type Aws } from './clients';
import { sha256 } from '../hash';
import { desiredStackSets, type DesiredStackSet } from './desired';
import { templateBucketName, templateBucketProblem, templateSource, type TemplateStore } from './template-store';
import { InstanceOperationBudget } from './instance-budget';
import { cannotTell, MANAGEMENT_ACCOUNT_FIX, managementAccountText, OrganizationReads } from './org-reads';
import type { BootstrapState } from './bootstrap';
import { unreachedThroughRoles, untrustedAccount, withExecutionRoleAdvice } from './execution-trust';
import { targetAccounts } from './execution-policy';
import type { DeployEvent, Listener, RunSummary, StageResult, StageSummary } from './events';
import {
  callAs,
  createdByXstack,
  createStackSet,
  deleteStackSet,
  deployedTemplate,
  describeStackSet,
  HEALTHY_INSTANCE,
  inoperable,
  instanceOperations,
  lagWindow,
  instanceResources,
  instanceStack,
  instanceStackDeleted,
  isInstanceStackOf,
  liveStacks,
  stackResources,
  stackSetOperations,
  listOrgStackSets,
  OperationFailedError,
  operationFailedText,
  operationPreferences,
  readStackSet,
  rolesChange,
  runOperation,
  sleep,
  suspended,
  BUSY_ATTEMPTS,
  MAX_OUS_PER_OPERATION,
  QUIET_BUSY_ATTEMPTS,
  StackSetBusyError,
  waitForOperation as runOperationWait,
  operationFailures,
  operationAccounts,
  accountList,
  DESTROY_DELETES,
  type ActualInstance,
  type ActualStackSet,
  type Operation,
  type FirstReads,
  type Reach,
  type StackSetContext,
} from './stacksets';

export interface DeployOptions {
  /**
   * Role assumed in a target account to read it (stacks, retained resources, the roles the org file names) and, with
   * destroy --delete-retained, to delete what it retains (default: SELF_MANAGED, the reader role bootstrap makes to
   * read, and the StackSet execution role to delete).
   */
  outputReaderRoleName?: string;
  pollMs?: number;
  /** How long to wait for one StackSet operation before the stage fails, the operation left running (stacksets.ts waitFor); none: until it ends. */
  maxWaitMs?: number;
  onEvent?: Listener;
  /** Called after each completed wave, and waited for; tests use it to interrupt a rollout, or to change AWS meanwhile. */
  afterWave?: (wave: number) => void | Promise<void>;
  /** What was not checked and why (the CLI prints each on stderr); the run goes on. */
  onNote?: (note: string) => void;
  /**
   * Called once deploy has refused nothing and before its first operation (the CLI records the org's layout then), with
   * where the StackSets live (none against an emulator).
   */
  beforeFirstOperation?: (home: StackSetsHome | undefined) => void;
  /**
   * The endpoint is an emulator's (--local, --endpoint, AWS_ENDPOINT_URL), whose accounts are no one's: where the
   * StackSets live is neither compared with the layout file's record nor given to beforeFirstOperation.
   */
  emulator?: boolean;
  /** How deploy waits out a moving resource's held name (moves.ts NAME_HELD_AFTER_DELETE); tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Stack instances this run's operations may run on at once (instance-budget.ts). Default: StackSets' quota,
   * LIMITS.concurrentStackInstanceOperationsPerRegion; tests give a small one.
   */
  instanceOperationQuota?: number;
  /**
   * Organizations' answers to start from (the CLI gives a command's question and its run the same: destroy's list, and
   * plan before deploy's question, read each account's state and place once for both, and the run does what they
   * showed; at 1,000 accounts, a thousand DescribeAccount calls fewer). Default: a run's own.
   */
  organization?: OrganizationReads;
  /**
   * What the last bootstrap set up, as the caller read it before any operation (bootstrap.ts bootstrapState): an
   * instance StackSets could not reach through its execution role is told what to do in the same terms
   * (execution-trust.ts). Unread: the advice covers both a bootstrap not run and IAM not propagated yet.
   */
  bootstrap?: BootstrapState;
  /**
   * `--retain-failed-stacks`: an instance a delete left INOPERABLE is removed with RetainStacks, its stack left in
   * the account to delete by hand, instead of failing the removal until a delete passes (removeFrom). Off by
   * default: AWS's way past a failed instance delete is to fix the cause and delete again (stacksets.ts `inoperable`).
   */
  retainFailedStacks?: boolean;
}

interface Run {
  compiled: CompiledOrg;
  aws: Aws;
  options: DeployOptions;
  adminAccountId: string;
  /** A destroy's run: its instance deletes are marked so (StackSetContext `destroying`). */
  destroying?: boolean;
  /** Where this run's StackSets are (the caller's account, --region); none against an emulator. */
  home?: StackSetsHome;
  /** The administrator account's template bucket, for templates too large to pass inline. */
  templates: TemplateStore;
  accountClients: Map<string, CloudFormationClient>;
  /** Each target account's live stacks, listed once a run where creates are checked (keptStacksIn). */
  accountStacks: Map<string, Promise<StackSummary[]>>;
  accountCredentials: Map<string, AwsCredentialIdentityProvider>;
  /** The same for the role destroy --delete-retained deletes with (deleterRole), where it is not the reader. */
  deleterCredentials: Map<string, AwsCredentialIdentityProvider>;
  /** Shared by every stage of every wave: their operations together stay within the quota. */
  budget: InstanceOperationBudget;
  /**
   * The administrator account's CloudFormation client, one for the run: its credentials are resolved once (a
   * profile with role_arn is one AssumeRole, an MFA prompt one prompt), and its adaptive retry's token bucket paces
   * every StackSet's calls together against CloudFormation's throttling: "adaptive mode assumes that you are pooling
   * clients based on the scope at which the backend service may throttle requests" (one account and Region here),
   * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
   */
  cfn: CloudFormationClient;
  /** Organizations, read once a run per question (SERVICE_MANAGED: the root, where accounts are now). */
  organization: OrganizationReads;
  /** Accounts Organizations reports not ACTIVE, among those whose instances the run removes (noteInactive). */
  inactive: Set<string>;
  /** Each StackSet's DescribeStackSet answer as this run first read it, for the reads before its operations (beforeOperations). */
  firstReads: FirstReads;
  /** After a refused read through the setup template's reader role: whether the account runs this compile's file, by account. */
  setupVerdicts: Map<string, Promise<string>>;
  /** Accounts where this run removed an instance whose stack was deleted outside StackSets and created it again, each with those stages. */
  madeAgain: Map<string, Set<string>>;
  /** Accounts where a removal of this run left an instance no operation reaches, each with its StackSet (StrandedError). */
  stranded: Map<string, string>;
}

async function startRun(compiled: CompiledOrg, aws: Aws, options: DeployOptions): Promise<Run> {
  const identity = await aws.sts().send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new XstackError('NO_IDENTITY', 'could not tell which account the credentials belong to');
  const { org } = compiled;
  // In the Region the StackSets live in (--region), beside the calls that name it.
  const region = aws.options.region;
  const templates: TemplateStore = { s3: aws.s3(undefined, region), bucket: templateBucketName(org.prefix, identity.Account, region), region, partition: org.partition };
  const home = options.emulator ? undefined : { account: identity.Account, region, permissionModel: org.stackSets.permissionModel };
  const recorded = org.layoutRecord?.stackSetsHome;
  const elsewhere = home && recorded ? stackSetsElsewhereError(org, recorded, home) : undefined;
  if (elsewhere) throw elsewhere;
  return { compiled, aws, options, adminAccountId: identity.Account, ...(home ? { home } : {}), templates, accountClients: new Map(), accountStacks: new Map(), accountCredentials: new Map(), deleterCredentials: new Map(), budget: new InstanceOperationBudget(options.instanceOperationQuota), cfn: aws.cloudFormation(), organization: options.organization ?? new OrganizationReads(() => aws.organizations()), inactive: new Set(), firstReads: new Map(), setupVerdicts: new Map(), madeAgain: new Map(), stranded: new Map() };
}

/**
 * SERVICE_MANAGED: "CloudFormation doesn't deploy stack instances to the organization management account, even if the
 * organization management account is in your organization or in an OU in your organization"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html). The org's stages
 * that target it, with the org file's account; or why this caller cannot tell which account it is.
 */
async function managementTargeted(run: Run): Promise<{ account: { name: string; id: string }; stages: string[] } | { unknown: string } | undefined> {
  const { org, stages } = run.compiled;
  if (org.stackSets.permissionModel !== 'SERVICE_MANAGED') return undefined;
  const management = await run.organization.managementAccount();
  if ('unknown' in management) return management;
  const targeting = stages.filter((st) => st.targets.some((a) => a.id === management.id));
  if (targeting.length === 0) return undefined;
  return { account: targeting[0].targets.find((a) => a.id === management.id)!, stages: targeting.map((st) => st.id) };
}

const targetingText = (stages: string[]) => (stages.length === 1 ? `stage ${stages[0]} targets it` : `stages ${stages.join(', ')} target it`);

/**
 * plan and deploy: an operation in the management account creates nothing, and no run ever would, so every stage
 * that targets it is refused before any operation. An organization this caller cannot read is a note, and the
 * rollout goes on unchecked.
 */
async function refuseManagementAccount(run: Run): Promise<void> {
  const found = await managementTargeted(run);
  if (!found) return;
  if ('unknown' in found) {
    run.options.onNote?.(
      `could not read the organization (${found.unknown}), so whether a stage targets its management account, where SERVICE_MANAGED StackSets never deploy, is not checked: a stage that targets it would create nothing there, and fail once its re-reads never show the instances`,
    );
    return;
  }
  throw new XstackError('MANAGEMENT_ACCOUNT_TARGETED', `nothing was changed: ${managementAccountText(run.compiled.org.file, found.account)}, and ${targetingText(found.stages)}: ${MANAGEMENT_ACCOUNT_FIX}`);
}

/**
 * verify: an instance in the management account can never exist, so verify would call it missing on every run of an
 * org file that plan and deploy refuse. Refused as they refuse it, naming the stages and the way out; an organization
 * this caller cannot read is a note that a missing instance may be that.
 */
async function refuseVerifyOfManagementAccount(run: Run): Promise<void> {
  const found = await managementTargeted(run);
  if (!found) return;
  if ('unknown' in found) {
    run.options.onNote?.(
      `could not read the organization (${found.unknown}), so whether a stage targets its management account, where SERVICE_MANAGED StackSets never deploy, is not checked: an instance verify reports missing may be in the management account, where no deploy creates one`,
    );
    return;
  }
  throw new XstackError(
    'MANAGEMENT_ACCOUNT_TARGETED',
    `nothing was verified: ${managementAccountText(run.compiled.org.file, found.account)}, and ${targetingText(found.stages)}, so no deploy can create ${found.stages.length === 1 ? 'its instance' : 'their instances'} there (plan and deploy refuse this org file) and verify would report ${found.stages.length === 1 ? 'it' : 'them'} missing on every run: ${MANAGEMENT_ACCOUNT_FIX}`,
  );
}

/**
 * destroy: removes the instances each StackSet holds, read from CloudFormation, and none can be in the management
 * account; so a stage that targets it is no reason to stop, only a note that there is nothing of it there to remove.
 * An organization that cannot be read says nothing (nothing destroy does depends on it).
 */
async function noteManagementAccountForDestroy(run: Run): Promise<void> {
  const found = await managementTargeted(run).catch(() => undefined);
  if (!found || 'unknown' in found) return;
  run.options.onNote?.(
    `${managementAccountText(run.compiled.org.file, found.account)}, and ${targetingText(found.stages)}: no deploy created instances there, so destroy has none there to remove; it removes the instances each StackSet holds`,
  );
}

const context = (run: Run, desired: DesiredStackSet): StackSetContext => contextFor(run, desired.name, desired.stage.id);

/**
 * `ctx` reading DescribeStackSet through the run's first answers (stacksets.ts describeStackSet): one DescribeStackSet
 * per StackSet for all the reads before its stage's first operation, instead of one each for the family order, the
 * replacement check, the existing-roles pre-flight and the stage's first read. Their answer is still current at the
 * stage's first read: no operation of a run touches a StackSet before its own stage (a family part's instances that
 * another part waits for are deleted in the part's own stage, leftFor; removed StackSets after every wave), so only
 * another tool or deploy can have changed it meanwhile, which an operation id or a raced operation then tells
 * (RaceCount) as it would a change between any read and the operation it decides. Every read after the first asks
 * CloudFormation: the stage's own after its operations, and every other command's.
 */
const beforeOperations = (run: Run, ctx: StackSetContext): StackSetContext => Object.assign(ctx, { firstReads: run.firstReads });

function contextFor(run: Run, name: string, stage: string): StackSetContext {
  const { org } = run.compiled;
  return {
    cfn: run.cfn,
    name,
    region: org.region,
    settings: org.stackSets,
    tags: org.tags,
    partition: org.partition,
    adminAccountId: run.adminAccountId,
    pollMs: run.options.pollMs ?? 5_000,
    ...(run.options.maxWaitMs !== undefined ? { maxWaitMs: run.options.maxWaitMs } : {}),
    onWait: (operationId, reason) => run.options.onEvent?.({ type: 'waiting', stage, operationId, reason }),
    templateSource: (body) => templateSource(run.templates, name, body),
    budget: run.budget,
    refusedIds: new Set(),
    ...(run.destroying ? { destroying: true } : {}),
  };
}

/**
 * The role plan, deploy and destroy read each target account with: --output-reader-role, or the reader role
 * `<prefix>-xstack-reader`, which reads only (reader-policy.ts): SELF_MANAGED, bootstrap makes it there and it trusts
 * the identities that ran bootstrap; SERVICE_MANAGED, the setup template dist/<org>/setup/reader-role.yaml makes it
 * (src/setup.ts), trusting the roles its parameters name.
 */
const readerRole = (run: Run) => run.options.outputReaderRoleName ?? new Names(run.compiled.org.prefix).outputReaderRole();

/**
 * The role destroy --delete-retained deletes with: --output-reader-role, or, SELF_MANAGED, the execution role. The
 * artifact key's policy lets only it and the key administrators schedule the key's deletion (templates/pipeline-
 * foundation.ts AdministerKey), so the reader role, which reads only, cannot; the execution role trusts the caller
 * only after bootstrap --allow-delete-retained.
 */
const deleterRole = (run: Run) => {
  if (run.options.outputReaderRoleName !== undefined) return run.options.outputReaderRoleName;
  if (run.compiled.org.stackSets.permissionModel === 'SELF_MANAGED') return run.compiled.org.stackSets.executionRoleName;
  // SERVICE_MANAGED: AWS's execution role trusts StackSets alone, and the setup template's reader role reads only.
  throw new XstackError('NO_DELETER_ROLE', 'destroy --delete-retained with SERVICE_MANAGED StackSets needs --output-reader-role naming a role in each target account that this identity may assume, that may delete the retained buckets, keys and log group, and that is among keyAdministratorRoles (the artifact keys\' policy lets no other schedule their deletion); the reader role reads only');
};

/**
 * destroy --delete-retained: the deleting role, checked before anything is deleted. A role named with
 * --output-reader-role must be one the artifact keys' policy admits (its AdministerKey statement: the execution role
 * and keyAdministratorRoles, by ArnLike on aws:PrincipalArn, templates/pipeline-foundation.ts), else each key would
 * stay after its instance went, ScheduleKeyDeletion refused (review s34-sm-day2 m4). Read from this compile's
 * template, which the deployed keys carry once deploy has run it.
 */
function checkDeleterRole(run: Run): void {
  const deleter = deleterRole(run);
  if (run.options.outputReaderRoleName === undefined) return;
  const { executionRoleName } = run.compiled.org.stackSets;
  const admitted = [executionRoleName, ...run.compiled.org.keyAdministratorRoles];
  // ArnLike: "Each of the six colon-delimited components of the ARN is checked separately and each can include
  // multi-character match wildcards (*) or single-character match wildcards (?)"
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN):
  // here within the resource component, `role/` and the path and name after it, slashes included (src/iam/role-path.ts).
  if (admitted.some((pattern) => globRegExp(pattern).test(deleter))) return;
  throw new XstackError(
    'DELETER_NOT_KEY_ADMINISTRATOR',
    `nothing was deleted: destroy --delete-retained deletes with --output-reader-role ${deleter}, which the artifact keys' policy does not let schedule their deletion ` +
      `(it admits ${admitted.join(', ')}: the execution role and keyAdministratorRoles), so every key would stay after its instance went; ` +
      `name a role that is among them, or add ${deleter} to keyAdministratorRoles in ${run.compiled.org.file} and deploy before destroying`,
  );
}

/**
 * What gets past a refused reader role of xstack's own: SELF_MANAGED, bootstrap's trusts only the identities that ran
 * bootstrap (it adds its caller); SERVICE_MANAGED, the setup template's trusts the roles its parameters name.
 */
const readerRefusedAdvice = (run: Run): string | undefined => {
  if (run.options.outputReaderRoleName !== undefined) return undefined;
  const { org } = run.compiled;
  return org.stackSets.permissionModel === 'SELF_MANAGED'
    ? `the reader role, which plan, deploy and destroy assume to read each target account, trusts the identities that have run 'xstack bootstrap' only: run bootstrap once as this identity (it adds its caller to the trust), or pass --output-reader-role naming a role this identity may assume in every target account; this identity's own policy must allow sts:AssumeRole on that role too (an xstack before the reader role read with the execution role, which a policy written then may name instead)`
    : setupReaderRefused(org.name, 'plan, deploy and destroy assume to read each target account', ', or pass --output-reader-role naming a role this identity may assume in every target account');
};

/** What gets past a refused execution role for destroy --delete-retained: it trusts the administration role alone unless told. */
const deleterRefusedAdvice = (run: Run): string | undefined =>
  run.options.outputReaderRoleName === undefined && run.compiled.org.stackSets.permissionModel === 'SELF_MANAGED'
    ? `destroy --delete-retained deletes with the execution role (the artifact keys' policy lets only it and the key administrators schedule their deletion), which trusts the administration role alone: run 'xstack bootstrap --allow-delete-retained' as this identity first (the next bootstrap without it removes the trust again), or pass --output-reader-role naming a role this identity may assume that may delete them and is among keyAdministratorRoles (the keys' policy admits no other)`
    : undefined;

/** Credentials of the reader role in a target account: one refreshing provider per account and run. */
function accountCredentials(run: Run, account: string): AwsCredentialIdentityProvider {
  let credentials = run.accountCredentials.get(account);
  if (!credentials) {
    // Through STS in the org's Region, which the account has enabled (clients.ts assumeRefreshing).
    credentials = run.aws.assumeRefreshing(`arn:${run.compiled.org.partition}:iam::${account}:role/${readerRole(run)}`, undefined, run.compiled.org.region, readerRefusedAdvice(run));
    run.accountCredentials.set(account, credentials);
  }
  return credentials;
}

/** Credentials of the deleting role in a target account (deleterRole), one provider per account and run. */
function deleterCredentials(run: Run, account: string): AwsCredentialIdentityProvider {
  if (deleterRole(run) === readerRole(run)) return accountCredentials(run, account);
  let credentials = run.deleterCredentials.get(account);
  if (!credentials) {
    credentials = run.aws.assumeRefreshing(`arn:${run.compiled.org.partition}:iam::${account}:role/${deleterRole(run)}`, undefined, run.compiled.org.region, deleterRefusedAdvice(run));
    run.deleterCredentials.set(account, credentials);
  }
  return credentials;
}

/** Where a target account's resources are: its own credentials, the org's region (not `--region`). */
const target = (run: Run, account: string): Target => ({
  account,
  region: run.compiled.org.region,
  partition: run.compiled.org.partition,
  credentials: accountCredentials(run, account),
  ...(setupReader(run) ? { refusedAdvice: () => staleSetupAdvice(run, account) } : {}),
});

/** The reader is the SERVICE_MANAGED setup template's (src/setup.ts), which the user deploys, not xstack. */
const setupReader = (run: Run) => run.options.outputReaderRoleName === undefined && run.compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED';

/**
 * A read the setup template's reader is refused: its policy is a compile's reads (reader-policy.ts), so a compile
 * that added a repository, bucket or named role is refused until the setup StackSet runs the new file
 * (review s33-setup M1). The role's setup tag says which file the account runs (setup-verdict.ts), read once per
 * account and run, only after a refusal.
 */
function staleSetupAdvice(run: Run, account: string): Promise<string> {
  let verdict = run.setupVerdicts.get(account);
  if (!verdict) {
    const iam = run.aws.iam(accountCredentials(run, account), run.compiled.org.region);
    verdict = setupVerdict(iam, run.compiled.org.name, run.compiled.setup, account);
    run.setupVerdicts.set(account, verdict);
  }
  return verdict;
}

function accountClient(run: Run, account: string): CloudFormationClient {
  let client = run.accountClients.get(account);
  if (!client) {
    client = run.aws.cloudFormation(accountCredentials(run, account), run.compiled.org.region);
    run.accountClients.set(account, client);
  }
  return client;
}

/** A stack of the StackSet that is not its instance: an earlier removal with RetainStacks left it (its id, and its name). */
type KeptStack = { type: 'AWS::CloudFormation::Stack'; name: string; logicalId: string };
/** A role of a name the template gives, in the account outside any stack of the StackSet (retained-names.ts namedRoles). */
type LeftRole = { type: 'AWS::IAM::Role'; name: string; logicalId: string };
export type Found = (NamedRetained | KeptStack | LeftRole) & { account: string };

/**
 * Stacks of this StackSet in an account where it has no instance: an earlier removal with RetainStacks left them
 * ("Removes the stack instances from the specified stack set, but doesn't delete the stacks",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html), and they keep
 * their resources' names, roles included, which a create there meets ("already exists"). The account's live stacks
 * are listed once a run (every page, liveStacks), through the reader role.
 */
async function keptStacksIn(run: Run, stackSet: string, account: string): Promise<KeptStack[]> {
  let listed = run.accountStacks.get(account);
  if (!listed) {
    listed = liveStacks(accountClient(run, account)).catch(async (error: unknown) => {
      // A refused read names the role and the action, as the retained-resource checks do (retained.ts refusedRead);
      // a refused AssumeRole names itself.
      if (error instanceof AssumeRoleError || (errorName(error) !== 'AccessDenied' && errorName(error) !== 'AccessDeniedException')) throw error;
      throw new XstackError(
        'RETAINED_CHECK_REFUSED',
        `account ${account}: could not tell whether a stack an earlier removal kept is in the way of the instances to create there: ${roleOf(accountCredentials(run, account)) ?? 'the reader credentials'} may not cloudformation:ListStacks (${(error as Error).message}); ${await grantOrName(target(run, account), 'grant it')}`,
        { cause: error },
      );
    });
    run.accountStacks.set(account, listed);
  }
  const found = (await listed).filter((s) => s.StackName !== undefined && s.StackId !== undefined && isInstanceStackOf(s.StackName, stackSet));
  if (found.length === 0) return [];
  // The stack of an instance the list does not show yet is that instance's, not a kept one: ListStackInstances is
  // eventually consistent, and an operation of an earlier, interrupted run may still be making it. Asked only when
  // such a stack is found: DescribeStackInstance answers StackInstanceNotFoundException where there is no instance
  // ("The specified stack instance doesn't exist",
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackInstance.html).
  const { region, stackSets } = run.compiled.org;
  try {
    await run.cfn.send(new DescribeStackInstanceCommand({ StackSetName: stackSet, StackInstanceAccount: account, StackInstanceRegion: region, ...callAs(stackSets) }));
    return [];
  } catch (error) {
    // No such StackSet either (a stack an earlier StackSet of this name left): kept all the same.
    if (errorName(error) !== 'StackInstanceNotFoundException' && errorName(error) !== 'StackSetNotFoundException') throw error;
  }
  return found.map((s) => ({ type: 'AWS::CloudFormation::Stack', name: s.StackId!, logicalId: s.StackName! }));
}

/**
 * Retained resources (an earlier destroy left them) in the accounts a stage is
 * about to be created in: `inTheWay`, under the names its template gives
 * (creation would fail with "already exists"), and `earlier`, buckets of
 * earlier bucket generations (left behind, not in the way).
 */
async function retainedIn(run: Run, desired: DesiredStackSet, accounts: string[], roles = false): Promise<{ inTheWay: Found[]; earlier: Found[] }> {
  const template = renderTemplate(desired.stage.definition);
  const { region, partition, prefix, bucketGeneration } = run.compiled.org;
  const names = new Names(prefix, bucketGeneration);
  const inTheWay: Found[] = [];
  const earlier: Found[] = [];
  for (const account of accounts) {
    for (const kept of await keptStacksIn(run, desired.name, account)) inTheWay.push({ ...kept, account });
    if (roles) inTheWay.push(...(await rolesLeftIn(run, template, account)));
    for (const r of namedRetained(template, account, region, partition)) {
      if (await retainedExists(run.aws, target(run, account), r)) inTheWay.push({ ...r, account });
      if (r.type !== 'AWS::S3::Bucket') continue;
      for (const name of names.earlierBucketNames(r.name)) {
        const old = { ...r, name };
        if (await retainedExists(run.aws, target(run, account), old)) earlier.push({ ...old, account });
      }
    }
  }
  return { inTheWay, earlier };
}

/**
 * The roles of the names the template gives in an account, found there before its stack is made again (a stack
 * deleted outside StackSets): a role its delete could not delete, kept by `delete-stack --retain-resources`
 * (retained-names.ts namedRoles), or one made by hand under the name, which CloudFormation's create would meet
 * ("already exists"). Read only where a stack is made again, so a first rollout and a no-op run read nothing more. A
 * read the reader may not make is a note: the create then says the same if a role is there.
 */
async function rolesLeftIn(run: Run, template: CfnTemplate, account: string): Promise<Found[]> {
  const { region, partition } = run.compiled.org;
  const found: Found[] = [];
  for (const r of namedRoles(template, account, region, partition)) {
    try {
      if (await roleNamedExists(run.aws, target(run, account), r.name)) found.push({ type: 'AWS::IAM::Role', name: r.name, logicalId: r.logicalId, account });
    } catch (error) {
      if (!(error instanceof XstackError) || error.code !== 'NAMED_ROLE_CHECK_REFUSED') throw error;
      run.options.onNote?.(`${error.message.split('\n')[0]}; run xstack bootstrap again to grant it (bootstrap writes the reader's policy), or expect the create to fail with "already exists" if a role of that name is there`);
      return found;
    }
  }
  return found;
}

const retainedText = (c: Found) =>
  c.type === 'AWS::CloudFormation::Stack'
    ? `stack ${c.name} of this StackSet in account ${c.account}, outside the StackSet (an earlier removal with RetainStacks left it; it keeps its resources' names)`
    : c.type === 'AWS::IAM::Role'
      ? `role ${c.name} (${c.logicalId}) in account ${c.account}, outside any stack (kept by a delete-stack --retain-resources, or made by hand)`
      : `${c.type} ${c.name} (${c.logicalId}) in account ${c.account}`;
/**
 * Named resources a template update adds in an account that has an instance, found already there: a repository the
 * org file dropped leaves its stack and stays in its account (RetainExceptOnCreate, "behaves like Retain for stack
 * operations, except for the stack operation that initially created the resource",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html), so naming it again makes the
 * update's create meet it ("already exists") in every run. Added is decided account by account, by logical id and name:
 * a unit's resource whose condition now holds in an account where it did not (a repository moved back to the account
 * it left, whose logical id never changed: review s32-day2 M1) is added there as much as a new logical id is. Read
 * only where the update adds such a resource, so a run that adds none reads nothing more.
 */
async function retainedAdded(run: Run, desired: DesiredStackSet, actual: ActualStackSet): Promise<Found[]> {
  if (!actual.exists || actual.templateBody === undefined || sha256(actual.templateBody) === desired.templateSha) return [];
  const deployed = fromYaml(actual.templateBody) as CfnTemplate;
  deployed.Resources ??= {};
  const template = renderTemplate(desired.stage.definition);
  const { region, partition } = run.compiled.org;
  const wanted = new Set(desired.stage.targets.map((a) => a.id));
  const key = (r: NamedRetained) => `${r.logicalId}\n${r.name}`;
  const found: Found[] = [];
  for (const i of actual.instances.values()) {
    // A suspended account cannot be read, and an INOPERABLE instance is not updated (stacksets.ts `inoperable`).
    if (!wanted.has(i.account) || suspended(i) || inoperable(i)) continue;
    const before = new Set(namedRetained(deployed, i.account, region, partition).map(key));
    for (const r of namedRetained(template, i.account, region, partition)) {
      if (!before.has(key(r)) && (await retainedExists(run.aws, target(run, i.account), r))) found.push({ ...r, account: i.account });
    }
  }
  return found;
}


/** What gets a deploy past each kind of retained resource in the way (README "destroy, then deploy"), one way per kind. */
export function wayPast(org: Pick<Org, 'file' | 'bucketGeneration' | 'region'>, found: readonly Found[]): string[] {
  const { file, bucketGeneration, region } = org;
  const out: string[] = [];
  if (found.some((c) => c.type === 'AWS::S3::Bucket')) {
    out.push(
      `a bucket: empty and delete it in its account (the name may take a while to become free again); ` +
        `or set 'bucketGeneration: ${bucketGeneration + 1}' in ${file}, which leaves these with their data but gives every pipeline account's buckets fresh names, replacing the buckets of the accounts already deployed`,
    );
  }
  for (const c of found.filter((f) => f.type === 'AWS::CloudFormation::Stack')) {
    out.push(
      `a stack left outside the StackSet: delete it with 'aws cloudformation delete-stack --stack-name ${c.name} --region ${region}' with account ${c.account}'s credentials ` +
        '(its resources under DeletionPolicy Retain stay, and keep their names: those named above too)',
    );
  }
  const repositories = found.filter((c) => c.type === 'AWS::CodeCommit::Repository');
  if (repositories.length > 0) {
    // Often there is no stack to import it into (a create after a removal or a hand delete); README "a repository
    // removed from the org file" gives the way with its history, and why an import into a StackSet's stack is unproven.
    // update-repository-name "Renames a repository" (https://docs.aws.amazon.com/cli/latest/reference/codecommit/update-repository-name.html;
    // the API's UpdateRepositoryName, https://docs.aws.amazon.com/codecommit/latest/APIReference/API_UpdateRepositoryName.html).
    const renames = repositories
      .map((c) => `'aws codecommit update-repository-name --old-name ${c.name} --new-name ${c.name}-kept --region ${region}' with account ${c.account}'s credentials`)
      .join(', ');
    out.push(
      'a repository (its stack was removed with --release-repositories, its account left the org file, the org file dropped it, or its stack was deleted outside StackSets): ' +
        `rename it out of the way (${renames}; any free name will do), deploy, which creates it empty, then push the kept one's history to it ('git push --mirror'; README: "a repository removed from the org file"); ` +
        'or leave it out of the org file; xstack never deletes a repository',
    );
  }
  const roles = found.filter((c) => c.type === 'AWS::IAM::Role');
  if (roles.length > 0) {
    // DeleteRole takes nothing attached ("remove the following attached items: Inline policies (DeleteRolePolicy),
    // Attached managed policies (DetachRolePolicy), Instance profile (RemoveRoleFromInstanceProfile)",
    // https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html); the stack made again makes the role anew.
    out.push(
      `a role: with the account's credentials, detach its managed policies ('aws iam list-attached-role-policies' then 'aws iam detach-role-policy'), delete its inline ones ('aws iam list-role-policies' then 'aws iam delete-role-policy'), take it out of any instance profile ('aws iam list-instance-profiles-for-role' then 'aws iam remove-role-from-instance-profile'), then 'aws iam delete-role' (${roles.map((c) => `--role-name ${c.name} in account ${c.account}`).join(', ')}); deploy again, which makes it anew with the policies the templates give it`,
    );
  }
  return out;
}

/**
 * Refuses to create instances whose retained resources are still there (CloudFormation would fail each with "already
 * exists"): before the StackSet's create-instances operation, after its template update if it had one, and after
 * the earlier waves; plan names the same collisions before any of it.
 */
async function refuseCollisions(run: Run, desired: DesiredStackSet, accounts: string[], roles = false): Promise<void> {
  const { inTheWay } = await retainedIn(run, desired, accounts, roles);
  if (inTheWay.length > 0) throw collisionError(run, desired, inTheWay, 'cannot create instances while what is left of an earlier stack (a destroy, a removal, or a stack deleted outside StackSets) holds their names');
}

function collisionError(run: Run, desired: DesiredStackSet, inTheWay: Found[], what: string): XstackError {
  return new XstackError(
    'RETAINED_COLLISION',
    `${desired.name}: ${what}:\n${inTheWay.map((c) => `  ${retainedText(c)}`).join('\n')}\n` +
      wayPast(run.compiled.org, inTheWay)
        .map((w) => `  ${w}`)
        .join('\n'),
  );
}

/**
 * The roles the org file names but xstack does not create, read before any operation in each pipeline account where
 * this run writes pipeline-foundation's key policy (existing-roles.ts): every account its StackSet targets when the
 * template changed, else those about to get an instance or to have a failed one applied again. An unchanged instance
 * sends no key policy (CloudFormation updates a resource only for a changed property), so a role gone since the last
 * rollout is found by the run that next changes it; and a run with nothing to change reads no account, so a no-op
 * re-run stays O(StackSets) (issue 12). A key administrator that is not there is a note (one per role, its accounts
 * listed); what refuses is returned.
 */
async function existingRoleFindings(run: Run, desiredList: readonly DesiredStackSet[], read?: Map<string, ActualStackSet>): Promise<RoleFinding[]> {
  const roles = namedExistingRoles(run.compiled.org);
  if (roles.length === 0) return [];
  const accounts = new Map<string, DesiredStackSet['stage']['targets'][number]>();
  for (const desired of desiredList) {
    if (desired.stage.module !== 'pipeline-foundation') continue;
    const actual = await readStackSet(beforeOperations(run, context(run, desired)));
    // Kept for plan, which makes no operation after it and reads each StackSet once (review s33-diff 13).
    read?.set(desired.name, actual);
    const templateChanged = !actual.exists || sha256(actual.templateBody ?? '') !== desired.templateSha;
    // Not where no operation of this run goes, as deploy itself decides: an account Organizations still reports
    // suspended (StackSets skips it, and no AssumeRole reaches it) or an INOPERABLE instance (excluded from updates).
    const asleep = await stillSuspended(run, actual.instances.values());
    for (const account of desired.stage.targets) {
      const instance = actual.instances.get(account.id);
      if (instance && (asleep.has(account.id) || inoperable(instance))) continue;
      if (templateChanged || !instance || !HEALTHY_INSTANCE.has(instance.status ?? '')) accounts.set(account.id, account);
    }
  }
  if (accounts.size === 0) return [];
  // An account whose reader STS refuses and Organizations reports suspended or closing is left out, said so
  // (suspendedRefusal); any other refusal stops the run, as before.
  const leftOut = async (account: string, error: unknown) => {
    const suspended = await suspendedRefusal(run, account, error);
    if (suspended) run.options.onNote?.(`account ${account}: Organizations reports it suspended or closing, and STS refused the reader role there: the roles the org file names are not checked in it`);
    return suspended;
  };
  const findings = await checkExistingRoles(run.aws, [...accounts.values()], roles, (account) => target(run, account), leftOut);
  for (const note of findingsText(findings.filter((f) => !f.refuses))) run.options.onNote?.(note);
  return findings.filter((f) => f.refuses);
}

/** An instance to delete once every create and update is done: accounts the org no longer targets. */
interface Removal {
  stage: string;
  stackSet: string;
  wave: number;
  instances: ActualInstance[];
  /** The stage is gone from the org file: the StackSet goes too, once empty. */
  stackSetToo: boolean;
}

/**
 * Accounts whose instance must be applied again: not CURRENT (a failed or
 * interrupted operation, or an account suspended at the time). Not an
 * INOPERABLE one: AWS excludes those from updates (stacksets.ts `inoperable`).
 * Not one in `asleep` (stillSuspended).
 */
function instancesToUpdate(desired: DesiredStackSet, actual: ActualStackSet, asleep: ReadonlySet<string>): string[] {
  return desired.stage.targets
    .map((a) => a.id)
    .filter((id) => {
      const instance = actual.instances.get(id);
      return instance && !HEALTHY_INSTANCE.has(instance.status ?? '') && !inoperable(instance) && !asleep.has(id);
    });
}

/**
 * Targeted instances a failed delete left INOPERABLE (not in `asleep`): AWS excludes them from updates, and documents
 * the way out, "You might need to perform a DeleteStackInstances operation, with RetainStacks set to true, to delete
 * the stack instance, and then delete the stack manually"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceComprehensiveStatus.html). Once
 * their stack is gone (deleted by hand, as INOPERABLE_NOTE and stackWayOut say), they take the way of a stack deleted
 * outside StackSets (stacksDeletedOutside): removed keeping nothing, and created again (review s50-deployer D1).
 */
function inoperableTargets(desired: DesiredStackSet, actual: ActualStackSet, asleep: ReadonlySet<string>): ActualInstance[] {
  return desired.stage.targets.flatMap((a) => {
    const instance = actual.instances.get(a.id);
    return instance && inoperable(instance) && !asleep.has(a.id) ? [instance] : [];
  });
}

/**
 * An instance to apply again whose create failed: it lists no stack (StackInstanceSummary StackId, "The ID of the
 * stack instance"; "A stack instance can exist without a stack—for example, if the stack couldn't be created for some
 * reason", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstance.html). It is retried
 * with CreateStackInstances, whose OperationId documents it: "Repeating this StackSet operation with a new operation ID
 * retries all stack instances whose status is OUTDATED"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html). UpdateStackInstances'
 * OperationId has no such sentence, and its page says "You can only update stack instances in AWS Regions and accounts
 * where they already exist; to create additional stack instances, use CreateStackInstances"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackInstances.html): whether it makes
 * a stack that is not there is not said. An instance that lists a stack (a failed update, or a create whose stack was
 * made, then rolled back) goes to UpdateStackInstances as before (README, "Not yet", verify).
 */
const createFailed = (i: ActualInstance) => i.stackId === undefined || i.stackId === '';

/**
 * Instances to apply again whose own stack is gone, deleted outside StackSets (by hand, or by the delete-stack the way
 * out of a ROLLBACK_FAILED stack names), while StackSets still lists them with that stack's id. What
 * UpdateStackInstances or UpdateStackSet does with such an instance AWS does not say (it documents that "A stack
 * instance can exist without a stack", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstance.html,
 * and that UpdateStackInstances updates "stack instances in Amazon Web Services Regions and accounts where they already
 * exist"); retried that way on every run, it could fail its StackSet's update on every run, with no way out named
 * (review s43-resume R1). So the deployer takes the documented way: the instance is removed keeping its stack
 * (DeleteStackInstances RetainStacks, "Removes the stack instances from the specified stack set, but doesn't delete
 * the stacks", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html: here
 * there is none left to keep) and created again (CreateStackInstances). Read through the reader role, only for the
 * instances a run applies again: a run with none reads nothing. A stack that cannot be read is left to the retry.
 */
async function stacksDeletedOutside(run: Run, instances: readonly ActualInstance[]): Promise<ActualInstance[]> {
  const out: ActualInstance[] = [];
  for (const i of instances) {
    if (createFailed(i)) continue;
    // A read refused or failed (an AWS answer, a role not assumed) leaves it to the retry; anything else is a fault.
    const deleted = await instanceStackDeleted(accountClient(run, i.account), i.stackId!).catch((error: unknown) => {
      if (error instanceof AssumeRoleError || (error as { $metadata?: unknown }).$metadata !== undefined) return false;
      throw error;
    });
    if (deleted) out.push(i);
  }
  return out;
}

/**
 * Accounts whose instances StackSets skipped as suspended (SKIPPED_SUSPENDED_ACCOUNT) and that Organizations still
 * reports not ACTIVE (DescribeAccount, org-reads.ts `active`): an update would be skipped again, so none is sent, and a
 * run with nothing else to do makes no mutating call. Once Organizations reports the account ACTIVE, its instances are
 * applied again. Where Organizations cannot tell (a caller that may not read it), they are applied again on every run,
 * as the only way to find the account active.
 */
async function stillSuspended(run: Run, instances: Iterable<ActualInstance>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const i of instances) if (suspended(i) && (await run.organization.active(i.account)) === false) out.add(i.account);
  return out;
}

/**
 * Instances a part no longer targets (their units left it: moved to another
 * part, or gone) in accounts where another part of its family creates
 * resources this run: such a stack may still hold a name the other part
 * creates there. Deleted before that part starts, like a removal but earlier
 * (the account's units are gone from this part, so nothing of the org uses
 * them), and before this part's template update, which would otherwise reach
 * a stack where none of the template's resources applies (README "Not yet").
 * Not an instance whose removal keeps its stack (keepsStack: a suspended
 * account's, or an INOPERABLE one under --retain-failed-stacks), which would
 * keep the name too. An INOPERABLE one is deleted again here: if that fails,
 * the stage fails before the other part starts.
 */
function leftFor(run: Run, desired: DesiredStackSet, actual: ActualStackSet, accounts: ReadonlySet<string> | undefined): ActualInstance[] {
  if (!accounts || accounts.size === 0) return [];
  const wanted = new Set(desired.stage.targets.map((a) => a.id));
  return [...actual.instances.values()].filter((i) => !wanted.has(i.account) && accounts.has(i.account) && !keepsStack(run, i)).sort((a, b) => compareText(a.account, b.account));
}

/**
 * Instances a removal deletes with RetainStacks: true ("Removes the stack instances from the specified stack set, but
 * doesn't delete the stacks", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html),
 * leaving the stack in the account. A suspended account's, as AWS leaves no other way: "When an account is closed or
 * suspended ... you must perform the DeleteStackInstances operation with the RetainStacks option"
 * (https://repost.aws/knowledge-center/cloudformation-removal-stacksets). An INOPERABLE one's only when the caller
 * asked (--retain-failed-stacks): else it is deleted again, plainly (stacksets.ts `inoperable`).
 */
const keepsStack = (run: Run, i: ActualInstance) => skippedByStackSets(run, i) || (run.options.retainFailedStacks === true && inoperable(i));

/** An instance StackSets skips: skipped as suspended already, or in an account Organizations reports not ACTIVE (noteInactive). */
const skippedByStackSets = (run: Run, i: ActualInstance) => suspended(i) || run.inactive.has(i.account);

/**
 * Records which of these instances' accounts Organizations reports not ACTIVE (suspended, closing, closed), read
 * before a removal decides how to delete them: an instance still CURRENT in an account suspended since would otherwise
 * get a plain delete StackSets skips, then RetainStacks, and plan would say its stack goes (review s43-plan M2). Read
 * only for the instances a run removes, each account once (OrganizationReads); one Organizations cannot tell of is
 * taken as read from StackSets.
 */
async function noteInactive(run: Run, instances: Iterable<ActualInstance>): Promise<void> {
  for (const i of instances) if (!suspended(i) && !run.inactive.has(i.account) && (await run.organization.active(i.account)) === false) run.inactive.add(i.account);
}

/** noteInactive for the instances of `actual` in accounts `desired` no longer targets. */
const noteLeavingInactive = (run: Run, desired: DesiredStackSet, actual: ActualStackSet) => {
  const wanted = new Set(desired.stage.targets.map((a) => a.id));
  return noteInactive(run, [...actual.instances.values()].filter((i) => !wanted.has(i.account)));
};

/**
 * A template update none of whose instances stays (review s37-deployer D1): every instance the StackSet has that an
 * update reaches is in an account the org file no longer targets for it (its only account replaced, say). Narrowed to
 * the kept accounts there are none to name, and "To update all the stack instances associated with this stack set,
 * don't specify the Accounts or Regions" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html):
 * the new template would run in the leaving accounts first, where it was not compiled for (a unit that now covers
 * every target has no condition, and bootstrap grants that account's execution role what was deployed there), and what
 * it created there under RetainExceptOnCreate would stay after the removal. Refused before any operation, with the two
 * deploys that get past it. A suspended account's instance (skipped by StackSets), an INOPERABLE one (left out of
 * updates), or one deleted before the update (`removedFirst`, leftFor) is not reached, and does not count.
 */
function noInstanceKept(run: Run, desired: DesiredStackSet, actual: ActualStackSet, removedFirst: readonly string[]): string | undefined {
  if (!actual.exists || actual.templateBody === undefined || sha256(actual.templateBody) === desired.templateSha) return undefined;
  const wanted = new Set(desired.stage.targets.map((a) => a.id));
  // As deploy's update reads them (reconcile): every instance but an INOPERABLE one, less those a family part deletes
  // before its update (leftFor); kept, those the org file still targets (a suspended one too: the update is narrowed to
  // it, and StackSets skips it).
  const updated = [...actual.instances.values()].filter((i) => !inoperable(i) && !removedFirst.includes(i.account));
  if (updated.some((i) => wanted.has(i.account))) return undefined;
  // Sent to every instance: harm only where it runs (StackSets skips a suspended account, also one still CURRENT there).
  const reached = updated.filter((i) => !skippedByStackSets(run, i)).map((i) => i.account);
  if (reached.length === 0) return undefined;
  const coming = desired.stage.targets.map((a) => a.id).filter((id) => !actual.instances.has(id));
  const way =
    coming.length > 0
      ? `before the instances to create (${accountList(coming)}), as a template compiled for other accounts, and resources it creates there would stay after the removal. Deploy in two steps: first with the new accounts beside the old ones in the org file, then without the old ones`
      : `as a template compiled for other accounts, and resources it creates there would stay after the removal; the instances it keeps are INOPERABLE, which AWS leaves out of updates: remove those accounts from the org file and deploy (their instances are deleted), then add them back`;
  return `StackSet ${desired.name}: its template changes, and every instance an update would reach is in an account the org file no longer targets for it (${accountList([...reached].sort(compareText))}): the template update would run there first, ${way}`;
}

/** A template update's targets for the kept instances only: their accounts, and under SERVICE_MANAGED the OUs they were created through (undefined past MAX_OUS_PER_OPERATION). */
async function keptTargets(run: Run, ctx: StackSetContext, actual: ActualStackSet, kept: readonly string[]): Promise<{ accounts: string[]; organizationalUnits?: string[] } | undefined> {
  if (ctx.settings.permissionModel === 'SELF_MANAGED') return { accounts: [...kept] };
  const reach = await reachedThrough(run, ctx, kept.map((id) => actual.instances.get(id)!));
  const organizationalUnits = [...new Set(kept.map((id) => reach.organizationalUnits.get(id)!))].sort();
  return organizationalUnits.length > MAX_OUS_PER_OPERATION ? undefined : { accounts: [...kept], organizationalUnits };
}

/**
 * Where each of these instances is reached (SERVICE_MANAGED): the root or OU
 * CloudFormation lists for it, else (an instance to create) the organization's
 * root. Under INTERSECTION an OU reaches only the accounts that "belong to the
 * specified OUs" now, so an instance created through an OU is lost to xstack
 * once its account moves out of it (or leaves the organization); the root
 * holds every member account wherever it moves ("accounts within these OUs and
 * their child OUs"), so instances xstack creates are reached by every later
 * run. https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html
 */
async function reachedThrough(run: Run, ctx: StackSetContext, instances: Iterable<Pick<ActualInstance, 'account' | 'organizationalUnit'>>): Promise<Reach> {
  const organizationalUnits = new Map<string, string>();
  if (ctx.settings.permissionModel === 'SERVICE_MANAGED') {
    for (const i of instances) organizationalUnits.set(i.account, i.organizationalUnit ?? (await run.organization.rootId()));
  }
  return { settings: ctx.settings, organizationalUnits };
}

/**
 * Why no operation reaches this instance any more, or undefined: its account
 * has left the organization (ListParents), which not even the root then
 * holds; or it was created through an OU (by an xstack before it created
 * through the root) that the account has since left. `root`: instances
 * created through it are not looked up for the second (every member account
 * is in it). AWS does not document whether an instance created through an
 * OU is reached through the root instead (README, VERIFY), so xstack does
 * not try.
 */
async function whyUnreachable(run: Run, ctx: StackSetContext, i: ActualInstance, root?: string): Promise<string | undefined> {
  if (ctx.settings.permissionModel !== 'SERVICE_MANAGED' || !i.organizationalUnit) return undefined;
  const where = await run.organization.placement(i.account);
  if ('unknown' in where) return undefined;
  const through = `its instance in ${ctx.name} was created through ${i.organizationalUnit}`;
  if ('gone' in where) {
    const back = i.organizationalUnit === root ? 'the organization' : i.organizationalUnit;
    return (
      `${through}, and the account is no longer in the organization: INTERSECTION reaches only accounts that belong to the OUs named, and a SERVICE_MANAGED StackSet takes no account ids alone, ` +
      `so no operation reaches it. AWS documents no way to remove such an instance with automatic deployment off (README, VERIFY): bring the account back into ${back} and run deploy; ` +
      // "After 90 days, you can't reopen an account" (https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html).
      'an account closed more than 90 days ago cannot come back, and then only AWS Support can remove the instance'
    );
  }
  if (i.organizationalUnit === root || where.ancestors.includes(i.organizationalUnit)) return undefined;
  return (
    `${through}, and the account has moved out of it (now under ${where.ancestors.join(' < ')}): INTERSECTION reaches only accounts that belong to the OUs named, so no operation reaches it. ` +
    `Move the account back into ${i.organizationalUnit} (or an OU inside it), run deploy, which then updates or deletes the instance, and move it on; ` +
    `an instance deleted and created again is created through the organization root, and reached wherever the account moves`
  );
}

/** Of these instances, those no operation reaches (whyUnreachable), by account, each with why. */
async function unreachable(run: Run, ctx: StackSetContext, instances: ActualInstance[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ctx.settings.permissionModel !== 'SERVICE_MANAGED' || instances.every((i) => !i.organizationalUnit)) return out;
  const root = await run.organization.rootId();
  for (const i of instances) {
    const why = await whyUnreachable(run, ctx, i, root);
    if (why) out.set(i.account, why);
  }
  return out;
}

const instanceText = (id: string, region: string, i: ActualInstance | undefined) =>
  `account ${id} ${region}: ${i?.status ?? 'missing'}${i?.detailedStatus && i.detailedStatus !== i.status ? ` (${i.detailedStatus})` : ''}${i?.statusReason ? `: ${i.statusReason}` : ''}`;

/** Why an instance read after this run's operation cannot be judged: the list did not show that operation on it (stacksets.ts readStackSet). */
const laggingText = (ctx: StackSetContext, operationId: string) =>
  `ListStackInstances did not show operation ${operationId} on it in ${lagWindow(ctx)}: what it lists may be from before that operation, ` +
  'or the operation did not reach the account; run deploy again to read it afresh' +
  // Through the root with INTERSECTION, an account outside the organization is no target and shows no instance, run
  // after run (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html).
  (ctx.settings.permissionModel === 'SERVICE_MANAGED' ? ", and if it never shows, check that the account is a member of the organization (xstack bootstrap names those that are not): SERVICE_MANAGED StackSets reach member accounts only" : '');

const SUSPENDED_NOTE =
  'the account was suspended, so StackSets skipped it; it does not stop the rollout, and deploy applies its instance again once Organizations reports the account ACTIVE ' +
  '(every deploy, where the caller may not read Organizations). ' +
  'Removed from the org file, its instance is deleted and its stack left in the account';

const INOPERABLE_NOTE =
  'a delete failed and left this instance INOPERABLE, which AWS excludes from updates: fix what made the delete fail and delete its stack in the account ' +
  '(the way its stack needs, below), then deploy again, which removes the instance (RetainStacks: nothing is left to keep) and creates it anew in this StackSet alone; ' +
  'or remove the account from the org file and deploy, which deletes the instance again (as a last resort, --retain-failed-stacks removes it keeping its stack, to delete by hand)';

/** Why a stack stays in its account after its instance was deleted with RetainStacks. */
function stackLeftText(stackSet: string, region: string, i: ActualInstance, inactive: ReadonlySet<string>): string {
  const why = suspended(i)
    ? 'the account is suspended (SKIPPED_SUSPENDED_ACCOUNT), and StackSets cannot delete a stack in it'
    : inactive.has(i.account)
      ? 'Organizations reports the account not ACTIVE (suspended or closing), and StackSets cannot delete a stack in it'
    : `a delete failed and left the instance INOPERABLE${i.statusReason ? ` (${i.statusReason})` : ''}, and --retain-failed-stacks removed it keeping its stack`;
  return `account ${i.account} ${region}: instance removed from ${stackSet} with RetainStacks, so its stack ${i.stackId ?? `StackSet-${stackSet}-…`} stays in the account: ${why}. Delete that stack in the account by hand once it can be reached`;
}

/**
 * The stacks a removal has left in their accounts (instances deleted with RetainStacks), recorded as each such
 * delete ends: once an instance is gone from its StackSet no later run can name its stack, so the caller tells
 * them whether the removal then finishes or a later step of it (another delete, the check that the instances are
 * gone, DeleteStackSet) fails.
 */
class StacksLeft {
  private readonly left = new Map<string, ActualInstance>();
  constructor(
    private readonly stackSet: string,
    private readonly region: string,
    private readonly inactive: ReadonlySet<string>,
    private readonly onNote?: (note: string) => void,
  ) {}

  /** Each also said at once (onNote): a run killed before its summary would otherwise lose it (review s43-resume R5). */
  add(instances: readonly ActualInstance[]): void {
    for (const i of instances) {
      if (!this.left.has(i.account)) this.onNote?.(stackLeftText(this.stackSet, this.region, i, this.inactive));
      this.left.set(i.account, i);
    }
  }

  has(account: string): boolean {
    return this.left.has(account);
  }

  /** One warning per stack left, with where, why and what to do (stackLeftText). */
  warnings(): string[] {
    return [...this.left.values()].map((i) => stackLeftText(this.stackSet, this.region, i, this.inactive));
  }
}

const stacksLeft = (run: Run, stackSet: string) => new StacksLeft(stackSet, run.compiled.org.region, run.inactive, run.options.onNote);

/** A summary with these warnings, in order, if there are any. */
function withWarnings(summary: StageSummary, ...groups: Array<readonly string[] | undefined>): StageSummary {
  const warnings = groups.flatMap((g) => g ?? []);
  return warnings.length > 0 ? { ...summary, warnings } : summary;
}

/** A failure line as the summary gives it: an account StackSets could not reach through its execution role says what gets past it. */
const advised = (run: Run, line: string) => codeCommitAdvice(heldNameAdvice(withExecutionRoleAdvice(run.compiled, run.options.bootstrap, line)));

/**
 * What gets past an instance's stack when no StackSets operation can: for an instance an operation left FAILED or
 * INOPERABLE, its stack as its own account reports it (DescribeStacks, then ListStackResources for the resources in
 * `<X>_FAILED`), read through the reader role (accountClient, as the checks for retained resources read), and the
 * command for the stack's status. Undefined when there is nothing to add (no such stack: a failed create's stack is
 * deleted). A stack that could not be read is said to be so, with why, and no way out is guessed. CloudFormation gives
 * these states as statuses, so nothing here reads a reason's text.
 */
async function stackWayOut(run: Run, stackSet: string, i: ActualInstance | undefined): Promise<string | undefined> {
  if (!i || (i.detailedStatus !== 'FAILED' && !inoperable(i))) return undefined;
  const { region } = run.compiled.org;
  let stack;
  try {
    stack = await instanceStack(accountClient(run, i.account), stackSet, i.stackId);
  } catch (error) {
    const e = error as Error;
    const through = `through role ${readerRole(run)}`;
    return (
      `its stack's status could not be read ${through} in account ${i.account} (${e.name}: ${e.message}), so no way past it is named here: ` +
      `read stack ${i.stackId ?? `StackSet-${stackSet}-…`} in that account's CloudFormation (${region})`
    );
  }
  // Its own stack answered neither by its id nor by name: deleted outside StackSets long enough ago that CloudFormation
  // no longer answers it ("Deleted stacks: You must specify the unique stack ID", and deleted stacks are listed "for 90
  // days", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html, API_ListStacks.html),
  // which stacksDeletedOutside cannot tell from a stack it may not read (review s43-diff m6).
  if (!stack) {
    if (!i.stackId) return undefined;
    return (
      `its stack ${i.stackId} is not in account ${i.account} (CloudFormation answers it neither by its id nor as a stack of this StackSet by name: deleted outside StackSets, over 90 days ago?): ` +
      `remove the instance keeping its stack, 'aws cloudformation delete-stack-instances --stack-set-name ${stackSet} --accounts ${i.account} --regions ${region} --retain-stacks' (SERVICE_MANAGED: --deployment-targets with the account and its OU, and --call-as), then deploy again, which creates it anew`
    );
  }
  const as = `with account ${i.account}'s credentials`;
  // StackSets lists no stack for this instance (its create failed), yet the account has an active stack of this
  // StackSet: not the instance's, but one an earlier removal with RetainStacks left there ("Removes the stack instances
  // from the specified stack set, but doesn't delete the stacks",
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html). It keeps its
  // resources' custom names ("Resource names must be unique across all your active stacks",
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html), which the create
  // then meets ("already exists").
  // Said so too when the instance's own stack is gone (deleted by hand: DescribeStacks by id answers it DELETE_COMPLETE,
  // and the stack found is another of this StackSet), so that another stack is never called the instance's; what the
  // instance's own stack needs then is not guessed (review s26-diff m2).
  const ownGone = stack.ownDeleted === true;
  if ((i.stackId === undefined && !inoperable(i)) || ownGone) {
    const [own, meets] = ownGone
      ? [`the instance's own stack ${i.stackId} is deleted`, 'which a create of this StackSet\'s stack in that account meets']
      : ['the instance has no stack of its own', 'which this create meets'];
    return (
      `${own}, but stack ${stack.stackId} (${stack.status}) of this StackSet is still in account ${i.account}, outside the StackSet: ` +
      `an earlier removal with RetainStacks (xstack's, of a suspended account or under --retain-failed-stacks, or another tool's) left it, and it keeps its resources' names, ${meets} ("already exists"). ` +
      `Delete it with 'aws cloudformation delete-stack --stack-name ${stack.stackId} --region ${region}' ${as} (its resources under DeletionPolicy Retain stay, and keep their names), then deploy again`
    );
  }
  const state = `its stack ${stack.stackId} is ${stack.status}${stack.reason ? ` (${stack.reason})` : ''}`;
  const failed = (status: string) => stack.failedResources.filter((r) => r.status === status).map((r) => r.logicalId);
  switch (stack.status) {
    // "A stack in the UPDATE_ROLLBACK_FAILED state can't be updated, but it can be rolled back to a working state
    // (UPDATE_ROLLBACK_COMPLETE) ... If you can't fix the error, you can force the rollback to complete. CloudFormation
    // skips each resource that fails to roll back"
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-continueupdaterollback.html);
    // ResourcesToSkip: "A list of the logical IDs of the resources that CloudFormation skips during the continue update
    // rollback operation" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html),
    // those in UPDATE_FAILED.
    case 'UPDATE_ROLLBACK_FAILED': {
      const skip = failed('UPDATE_FAILED');
      const skipText = skip.length > 0 ? `; if a resource cannot be restored, add --resources-to-skip ${skip.join(' ')} (those whose rollback failed; skipped ones are left as they are)` : '';
      return `${state}, which no update gets past: fix what its events name, then run 'aws cloudformation continue-update-rollback --stack-name ${stack.stackId} --region ${region}' ${as}${skipText}, then deploy again`;
    }
    // A create whose rollback failed: such a stack can only be deleted. DeleteStack's RetainResources applies "For
    // stacks in the DELETE_FAILED state" only (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html),
    // and "Some resources must be empty before they can be deleted. For example, you must delete all objects in an
    // Amazon S3 bucket" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails).
    case 'ROLLBACK_FAILED':
      return (
        `${state}, which no StackSets operation gets past: empty the buckets its events name, then run 'aws cloudformation delete-stack --stack-name ${stack.stackId} --region ${region}' ${as} ` +
        `(should that end DELETE_FAILED, run it again adding --retain-resources with the resources that could not be deleted), then deploy again, which removes the instance, its stack gone, and creates it anew (its resources under DeletionPolicy Retain stay and keep their names: deploy names them and refuses first while they are in the way)`
      );
    // RetainResources: "For stacks in the DELETE_FAILED state, a list of resource logical IDs that are associated with
    // the resources you want to retain. During deletion, CloudFormation deletes the stack but doesn't delete the
    // retained resources" (API_DeleteStack.html, above).
    case 'DELETE_FAILED': {
      const keep = failed('DELETE_FAILED');
      const keepText =
        keep.length > 0
          ? ` (or add --retain-resources ${keep.join(' ')}, the resources that could not be deleted, which then stay in the account outside CloudFormation)`
          : ' (or add --retain-resources with the resources its events show could not be deleted)';
      return `${state}: empty what its events name, then run 'aws cloudformation delete-stack --stack-name ${stack.stackId} --region ${region}' ${as}${keepText}, then deploy again`;
    }
    default:
      return state;
  }
}

/**
 * Why a removal failed: StackSets could not delete these instances (DeleteStackInstances `operationId` failed), and
 * they stay in the StackSet, INOPERABLE, so the next deploy (or destroy) deletes them again. Each line is the
 * instance as listed now with what gets past it; the last, what to do. StackSets' troubleshooting page, "Stack instance
 * deletion fails": fix the cause, then "perform the stack instance deletion again"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-troubleshooting.html#stack-instance-delete-fails).
 */
async function deleteFailedError(run: Run, ctx: StackSetContext, operationId: string, still: ActualInstance[]): Promise<XstackError> {
  const { region } = run.compiled.org;
  const lines: string[] = [];
  for (const i of still) {
    const line = instanceText(i.account, region, i);
    // StackSets' reason for an execution role it could not assume (execution-trust.ts): for a removal, a bootstrap
    // made for the org file without the account has taken its trust away.
    // SELF_MANAGED only: bootstrap makes that execution role; with SERVICE_MANAGED StackSets make their own, which no
    // bootstrap writes (review s34-sm-day2 m3): "StackSets with service-managed permissions creates an execution role
    // named stacksets-exec-* in each target account"
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html).
    const selfManaged = run.compiled.org.stackSets.permissionModel === 'SELF_MANAGED';
    const way =
      selfManaged && untrustedAccount(line)
        ? `bootstrap no longer trusts or permits account ${i.account} (run for an org file without it?): run bootstrap with an org file that still targets it, deploy, then bootstrap with this one`
        : await stackWayOut(run, ctx.name, i);
    lines.push(`  ${line.replace(/\.$/, '')}${way ? `: ${way}` : ''}`);
  }
  const refusedRole =
    run.compiled.org.stackSets.permissionModel === 'SELF_MANAGED'
      ? 'A delete the execution role was refused (AccessDenied, not authorized) needs the trust and permissions a bootstrap for an org file without the account takes away: run bootstrap with the org file that still targets it, deploy, then bootstrap. '
      : "A delete StackSets' own execution role was refused (AccessDenied, not authorized): check the service control policies on the account and its OUs, and whether Organizations reports the account suspended or closed. ";
  return new XstackError(
    'INSTANCES_DELETE_FAILED',
    `StackSet ${ctx.name}: DeleteStackInstances operation ${operationId} failed, and these instances stay in the StackSet; the next run (deploy or destroy) deletes them again:\n${lines.join('\n')}\n` +
      `Fix the cause shown, then run again. ${refusedRole}` +
      'As a last resort, --retain-failed-stacks removes an INOPERABLE instance keeping its stack, which is then yours to delete by hand',
  );
}

/**
 * An operation's failure with, after each failed account's line that has no other advice (advised), what its stack
 * needs (stackWayOut), the StackSet read once for the instances. Any other error, or one whose StackSet cannot be
 * read, as it is.
 */
async function withStackWayOuts(run: Run, stackSet: string, error: unknown): Promise<unknown> {
  if (!(error instanceof OperationFailedError) || !error.accounts.some((a) => a !== undefined)) return error;
  let actual: ActualStackSet;
  try {
    actual = await readStackSet(contextFor(run, stackSet, stackSet));
  } catch {
    return error;
  }
  const lines: string[] = [];
  for (const [n, line] of error.failures.entries()) {
    const account = error.accounts[n];
    const way = account === undefined || unreachedThroughRoles(run.compiled, line) ? undefined : await stackWayOut(run, stackSet, actual.instances.get(account));
    lines.push(way ? `${line.replace(/\.$/, '')}: ${way}` : line);
  }
  return new OperationFailedError(error.stackSet, error.operationId, lines, error.accounts);
}

/** Why a stage failed: the error, an operation's failures each advised (advised). */
function reasonOf(run: Run, error: unknown): string {
  if (!(error instanceof OperationFailedError)) return (error as Error).message;
  return operationFailedText(error.stackSet, error.operationId, error.failures.map((f) => advised(run, f)));
}

const failedWith = (run: Run, stage: string, stackSet: string, error: unknown): StageSummary => ({ stage, stackSet, result: 'failed', reasons: [reasonOf(run, error)], ...(error instanceof StrandedError ? { stranded: [...error.accounts] } : {}) });

/**
 * A StackSet of the org's name that xstack did not create (it tags each of its own xstack:stackset, stacksets.ts):
 * another tool's, which an update would take over, replacing its template in every account it deploys to.
 */
const foreign = (actual: ActualStackSet) => actual.exists && !actual.xstack;
const foreignText = (name: string) =>
  `StackSet ${name} exists but xstack did not create it (it has no xstack:stackset tag): updating or deleting it would take over another tool's StackSet in every account it deploys to, so it is left alone; choose another prefix in the org file, or remove that StackSet`;

/**
 * A StackSet with instances outside the org's Region (stacksets.ts `elsewhere`): refused before any operation. xstack
 * reads and judges only the org Region's instances, while UpdateStackSet without Regions "updates the stack set and
 * associated stack instances" in every Region
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html), and xstack's
 * OperationPreferences name only the org's Region in RegionOrder ("The order of the Regions where you want to perform
 * the stack operation", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html).
 * Left alone, a template update would reach stacks xstack never reads, and DeleteStackSet would later fail
 * StackSetNotEmpty on them. Refusing (rather than an update narrowed to the org's Region) keeps every instance of an
 * xstack StackSet one xstack judges, and says what put the others there.
 */
function otherRegionsText(run: Run, name: string, elsewhere: NonNullable<ActualStackSet['elsewhere']>): string {
  const { region } = run.compiled.org;
  const pairs = [...elsewhere].sort((a, b) => a.region.localeCompare(b.region) || a.account.localeCompare(b.account)).map((i) => `  account ${i.account} ${i.region}: ${i.status ?? 'no status'}`);
  const regions = [...new Set(elsewhere.map((i) => i.region))].sort();
  const serviceManaged = run.compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED';
  return (
    `StackSet ${name} has instances in Regions other than ${region}, the org file's region, which xstack neither reads nor judges and which any update of its template would reach; nothing was sent to it:\n${pairs.join('\n')}\n` +
    `If they are xstack's from before the org file's region changed, run destroy with the org file as it was (its region ${regions.join(', ')}), then deploy; ` +
    `otherwise remove them (aws cloudformation delete-stack-instances --stack-set-name ${name} --regions ${regions.join(' ')} ` +
    `${serviceManaged ? '--deployment-targets <the OU each was created through, and its accounts> --call-as <as the org file says>' : '--accounts <the accounts above>'} --no-retain-stacks, or --retain-stacks to keep their stacks), then deploy again`
  );
}

/**
 * A StackSet made with another permission model than the org file's: refused before any operation. "You cannot modify
 * PermissionModel if there are stack instances associated with your stack set"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html), and the operations of one
 * model (Accounts; DeploymentTargets with CallAs) are not the other's.
 */
function permissionModelText(run: Run, name: string, actual: ActualStackSet): string | undefined {
  const wanted = run.compiled.org.stackSets.permissionModel;
  if (!actual.exists || actual.permissionModel === undefined || actual.permissionModel === wanted) return undefined;
  return `StackSet ${name} was created ${actual.permissionModel}, and the org file says ${wanted}: AWS cannot change the permission model of a StackSet with instances, so nothing was sent to it; run destroy with the org file as it was (stackSets.permissionModel: ${actual.permissionModel}), then deploy`;
}

/**
 * A StackSet someone turned managed execution on for (xstack never does; review s57-deploy m4): refused before any
 * operation. With it, "StackSets performs non-conflicting operations concurrently and queues conflicting operations"
 * and "If there are already running or queued operations, StackSets queues all incoming operations"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ManagedExecution.html): an operation xstack
 * requests while another runs is queued rather than refused with OperationInProgressException, so it would run after the
 * other one on what xstack read before it, where the race path (runOperation) reads again and decides anew. "You can't
 * modify your StackSet's execution configuration while there are running or queued operations", so the advice says
 * when to turn it off. An UpdateStackSet must name its parameters (UsePreviousValue), the capabilities and a customized
 * administration role again (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html).
 */
function managedExecutionText(run: Run, name: string, actual: ActualStackSet): string | undefined {
  if (!actual.exists || !actual.managedExecution) return undefined;
  const serviceManaged = run.compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED';
  return (
    `StackSet ${name} has managed execution turned on (xstack never turns it on): StackSets then queues an operation requested while another runs, instead of refusing it, and xstack relies on that refusal to read the StackSet again before it decides, so nothing was sent to it; ` +
    `once no operation on it runs or is queued, turn it off (aws cloudformation update-stack-set --stack-set-name ${name} --use-previous-template --managed-execution Active=false --capabilities CAPABILITY_NAMED_IAM ` +
    `--parameters <each of its parameters as ParameterKey=<key>,UsePreviousValue=true> ${serviceManaged ? '--call-as <as the org file says>' : '--administration-role-arn <its administration role> --execution-role-name <its execution role>'}), then deploy again`
  );
}

/**
 * A renamed execution role (SELF_MANAGED) that the deployed artifact key policies do not admit: CloudFormation updates
 * every resource of the stacks as the role the UpdateStackSet names, and "Unless the key policy explicitly allows it,
 * you cannot use IAM policies to allow access to a KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html),
 * so the new role's PutKeyPolicy would be refused and the stage fail in every account, in every run (review s32-day2
 * M3). The way is two deploys, the first as the old role naming the new one a key administrator (AdministerKey's
 * aws:PrincipalArn, which KMS reads at each request, existence unchecked). Read from the deployed template.
 */
function executionRoleLockedText(run: Run, name: string, held: { executionRoleName?: string; templateBody?: string }): string | undefined {
  const { permissionModel, executionRoleName } = run.compiled.org.stackSets;
  const before = held.executionRoleName;
  if (permissionModel !== 'SELF_MANAGED' || before === undefined || before === executionRoleName || held.templateBody === undefined) return undefined;
  const deployed = fromYaml(held.templateBody) as CfnTemplate;
  const keys = Object.entries(deployed.Resources ?? {}).filter(([, r]) => r.Type === 'AWS::KMS::Key' && !mayPutKeyPolicy((r.Properties as { KeyPolicy?: unknown } | undefined)?.KeyPolicy, executionRoleName));
  if (keys.length === 0) return undefined;
  return (
    `StackSet ${name}: the execution role is renamed ${before} → ${executionRoleName}, and the key policy its stacks hold (${keys.map(([id]) => id).join(', ')}) lets ${before} and the key administrators change it, not ${executionRoleName}: ` +
    `KMS would refuse the new role's update of the key, in every account and every run, so nothing was sent. Rename in two deploys: first, with executionRoleName: ${before}, add ${executionRoleName} to keyAdministratorRoles and deploy; ` +
    `then set executionRoleName: ${executionRoleName}, run bootstrap, and deploy (keyAdministratorRoles may then drop it)`
  );
}

/**
 * The StackSets whose roles the org file renames (SELF_MANAGED: rolesChange), each as `<StackSet>: <change>`, read
 * before any operation: the desired ones through the run's first reads, and `removed`, those of stages gone from it.
 */
async function renamedRoles(run: Run, desiredList: readonly DesiredStackSet[], deployed: readonly string[], removed: ReadonlyArray<{ name: string; actual: ActualStackSet }>): Promise<string[]> {
  if (run.compiled.org.stackSets.permissionModel !== 'SELF_MANAGED') return [];
  const renamed: string[] = [];
  for (const d of desiredList) {
    if (!deployed.includes(d.name)) continue;
    const ctx = beforeOperations(run, context(run, d));
    const held = await describeStackSet(ctx);
    if (!held || !createdByXstack(held)) continue;
    const change = rolesChange(ctx, { exists: true, instances: new Map(), administrationRoleArn: held.AdministrationRoleARN, executionRoleName: held.ExecutionRoleName });
    if (change) renamed.push(`${d.name}: ${change}`);
  }
  for (const { name, actual } of removed) {
    const change = rolesChange(contextFor(run, name, `(removed) ${name}`), actual);
    if (change) renamed.push(`${name}: ${change}`);
  }
  return renamed;
}

/**
 * Renamed StackSets roles and a removal in one deploy, refused before any operation (review s57-removal M2). A removal
 * runs as the roles its StackSet holds: the new ones once this run's update has sent them (it names the kept accounts
 * only, and "Even if the stack set operation created by updating the stack set fails (completely or partially, below or
 * above a specified failure tolerance), the stack set is updated with your changes",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html), the old ones in a
 * StackSet whose stage left the org file, which is sent none. Bootstrap for the new names sets up the accounts the org
 * file targets, and lets the administration role assume the new execution role only: either way the delete meets a
 * role it cannot assume, in every run. Returns the lines of the refusal, none when there is nothing to refuse. The
 * kept StackSets' instances are read only when a rename is found; a StackSet of a stage gone from the org file is read
 * whenever there is one (its held roles may be the rename), and read again after the waves for its removal.
 */
async function renamedRolesWithRemovals(run: Run, desiredList: readonly DesiredStackSet[], deployed: readonly string[]): Promise<string[]> {
  if (run.compiled.org.stackSets.permissionModel !== 'SELF_MANAGED') return [];
  const gone = deployed.some((name) => !desiredList.some((d) => d.name === name));
  const removed = gone ? await removedStackSets(run, [...desiredList], deployed) : [];
  const renamed = await renamedRoles(run, desiredList, deployed, removed);
  if (renamed.length === 0) return [];
  const removals = removed.map(({ name, actual }) => `${name} (its stage left the org file): its instances in ${byAccount(actual).map((i) => i.account).join(', ')}`);
  for (const d of desiredList) {
    if (!deployed.includes(d.name)) continue;
    const targets = new Set(d.stage.targets.map((a) => a.id));
    const actual = await readStackSet(beforeOperations(run, context(run, d)));
    const leaving = byAccount(actual).filter((i) => !targets.has(i.account));
    if (leaving.length > 0) removals.push(`${d.name}: its instances in ${leaving.map((i) => i.account).join(', ')}`);
  }
  if (removals.length === 0) return [];
  return [
    ...renamed.map((r) => `renamed: ${r}`),
    ...removals.map((r) => `removed: ${r}`),
    `a removal runs as the roles its StackSet holds, and bootstrap for the new names lets the administration role assume the new execution role only, in the accounts the org file targets: these removals would fail in every run. ${RENAME_THEN_REMOVE}`,
  ];
}

const RENAME_THEN_REMOVE =
  "Deploy the removals with stackSets' administrationRoleName and executionRoleName as they were first (if bootstrap already ran with the new names, run it once more with that org file), then rename, run bootstrap, and deploy";

export const renamedRolesWithRemovalsError = (lines: readonly string[]) =>
  new XstackError('ROLES_RENAMED_WITH_REMOVALS', `nothing was changed: this org file renames the StackSets roles and removes instances in one deploy:\n${lines.map((l) => `  ${l}`).join('\n')}`);

/**
 * destroy sends no roles: each StackSet's instances are deleted as the roles it holds. Where the org file names
 * others, bootstrap for them (SELF_MANAGED) has made the held ones unusable or soon will (renamedRolesWithRemovals):
 * refused before any removal, saying the two ways (review s57-removal M2).
 */
async function refuseDestroyWithRenamedRoles(run: Run, order: { removed: ReadonlyArray<{ name: string; actual: ActualStackSet }>; desired: readonly DesiredStackSet[]; deployed: readonly string[] }): Promise<void> {
  const renamed = await renamedRoles(run, order.desired, order.deployed, order.removed);
  if (renamed.length === 0) return;
  throw new XstackError(
    'ROLES_RENAMED',
    `nothing was removed: the org file names other StackSets roles than these StackSets hold:\n${renamed.map((r) => `  ${r}`).join('\n')}\n  destroy deletes as the roles each StackSet holds, which bootstrap for the new names no longer lets the administration role use. ` +
      `Either deploy first (it sends the new roles), then destroy; or set stackSets' names back to those the StackSets hold (if bootstrap already ran with the new names, run it once more with that org file), then destroy`,
  );
}

/**
 * Whether a key policy lets a role of this name change it (CloudFormation updates a key's policy with PutKeyPolicy,
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html): an Allow of kms:PutKeyPolicy (or kms:*) whose principals
 * or aws:PrincipalArn values name the role, by name or by a pattern (keyAdministratorRoles may be patterns). Other
 * statements (the data-key grants) do not count, whatever roles they name.
 */
export function mayPutKeyPolicy(policy: unknown, roleName: string): boolean {
  const statements = ((policy as { Statement?: unknown } | undefined)?.Statement ?? []) as Array<{ Effect?: string; Action?: unknown; Principal?: unknown; Condition?: Record<string, Record<string, unknown>> }>;
  return (Array.isArray(statements) ? statements : [statements]).some((st) => {
    const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).map(String);
    if (st.Effect !== 'Allow' || !actions.some((a) => /^(\*|kms:\*|kms:PutKeyPolicy)$/i.test(a))) return false;
    // A negated operator (ArnNotLike, StringNotEquals) names the roles it keeps out, not those it lets in (review s42-diff D4).
    const arns = Object.entries(st.Condition ?? {}).flatMap(([operator, keys]) => (/^(Arn|String)(?!Not)/.test(operator) ? Object.entries(keys ?? {}).filter(([k]) => k.toLowerCase() === 'aws:principalarn').map(([, v]) => v) : []));
    const named = JSON.stringify([st.Principal, arns]).match(/:role\/[^"]*/g) ?? [];
    return named.some((n) => globRegExp(n.slice(':role/'.length)).test(roleName));
  });
}

/**
 * The StackSet holds the template this run sent, or the stage stops: a template passed by URL is read by CloudFormation
 * from the administrator account's bucket when the call is made (TemplateURL: "The URL of a file that contains the
 * template body", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html; what
 * DescribeStackSet returns as TemplateBody is "The structure that contains the body of the template that was used to
 * create or update the StackSet", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSet.html), and any writer of that bucket could have replaced
 * the object between its put and that read (review s32-escalation M2); or another writer updated the StackSet since.
 * Either way its instances run, or are about to run, a template the compile did not make, which no later operation
 * of this run should build on.
 */
function templateAsSent(name: string, desired: DesiredStackSet, held: ActualStackSet): void {
  if (held.templateBody === undefined || sha256(held.templateBody) === desired.templateSha) return;
  // Not its bytes, which CloudFormation is not documented to keep (README "Not yet", template equality): its content.
  if (sameTemplate(held.templateBody, desired.templateBody)) return;
  throw new XstackError(
    'TEMPLATE_NOT_AS_SENT',
    `StackSet ${name} holds a template other than the one this run sent (SHA-256 ${sha256(held.templateBody)}, sent ${desired.templateSha}): ` +
      `another writer updated it, or${needsTemplateBucket(desired.templateBody) ? ` the object at its TemplateURL in the template bucket was replaced before CloudFormation read it (check who may write that bucket, and its CloudTrail data events),` : ''} ` +
      `so its instances may run a template the compile did not make; nothing more was sent to it: compare it with the compile (xstack verify), then deploy again`,
  );
}

/** Two template bodies that read as the same template (YAML or JSON, any layout): what a normalised copy still is. */
function sameTemplate(a: string, b: string): boolean {
  try {
    return isDeepStrictEqual(fromYaml(a), fromYaml(b));
  } catch {
    return false;
  }
}

/** A stage's result once an operation changed its template or instances: a StackSet it created stays created. */
const changedBy = (result: StageResult): StageResult => (result === 'created' ? 'created' : 'updated');

/**
 * A stage's result once its instances in accounts it no longer targets are deleted: a stage nothing else changed
 * had instances removed, not an update (its template and every other instance are as they were).
 */
const removedFrom = (result: StageResult): StageResult => (result === 'unchanged' ? 'instances-removed' : result);

/**
 * `order.onRead`: told, once the StackSet is read, whether it has instances to
 * apply again (moves.ts settlingOrder waits on it). `order.clearFor`: accounts
 * where a part that waits for this one creates resources (moves.ts): this
 * part's instances there that it no longer targets are deleted first, before
 * its template update, instead of after every create and update.
 */
type StageOrder = { onRead?: (retrying: boolean) => void; clearFor?: ReadonlySet<string> };

async function deployStage(run: Run, desired: DesiredStackSet, removals: Removal[], order: StageOrder = {}): Promise<StageSummary> {
  const left = stacksLeft(run, desired.name);
  try {
    return await reconcileStage(run, desired, removals, order, left);
  } catch (error) {
    // A stack its early removal (leftFor) left in an account is told even when the stage then fails.
    return withWarnings(failedWith(run, desired.stage.id, desired.name, await withStackWayOuts(run, desired.name, error)), left.warnings());
  }
}

async function reconcileStage(run: Run, desired: DesiredStackSet, removals: Removal[], order: StageOrder, stacksLeftBehind: StacksLeft): Promise<StageSummary> {
  const ctx = context(run, desired);
  const emit = run.options.onEvent ?? (() => {});
  const stage = desired.stage.id;
  // The first read from the run's first answer (beforeOperations) in the first wave, read moments before; a stage of a
  // later wave, which may start hours later, asks CloudFormation again (DescribeStackSet "Returns the description of the
  // specified StackSet" as it is then, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackSet.html):
  // another writer's template change meanwhile would otherwise read as "unchanged", with no operation of ours to tell
  // it (review s18-deployer m1). Every later read asks CloudFormation.
  if ((run.compiled.rollout.waveOf.get(stage) ?? 1) > 1) run.firstReads.delete(desired.name);
  let actual = await readStackSet(beforeOperations(run, ctx));
  delete ctx.firstReads;
  // Read once: a StackSet created below has no instances.
  await noteLeavingInactive(run, desired, actual);
  const left = leftFor(run, desired, actual, order.clearFor);
  const asleep = await stillSuspended(run, actual.instances.values());
  order.onRead?.(actual.exists && (instancesToUpdate(desired, actual, asleep).length > 0 || left.length > 0));
  /** Why the StackSet as read is not this stage's to change (another tool's, in other Regions, another permission model, managed execution on). */
  const notOurs = (): StageSummary | undefined => {
    const reason = foreign(actual)
      ? foreignText(desired.name)
      : actual.elsewhere
        ? otherRegionsText(run, desired.name, actual.elsewhere)
        : (permissionModelText(run, desired.name, actual) ?? managedExecutionText(run, desired.name, actual));
    return reason === undefined ? undefined : { stage, stackSet: desired.name, result: 'failed', reasons: [reason] };
  };
  const leftAlone = notOurs();
  if (leftAlone) return leftAlone;
  let result: StageResult = 'unchanged';
  const races = new RaceCount(ctx);
  /** False when another operation came first: the StackSet is read again and the stage's operations computed anew. */
  const operate = async (op: Operation, accounts: string[], action: string = op.action): Promise<boolean> => {
    emit({ type: 'operation', stage, action, accounts });
    const outcome = await runOperation(ctx, op, accounts);
    if ('raced' in outcome) return races.count(outcome);
    result = changedBy(result);
    return true;
  };

  /** The StackSet made where it is missing, or as read: why it is not this stage's, if it is not (another tool's took its name meanwhile, say). */
  const created = async (): Promise<StageSummary | undefined> => {
    if (actual.exists) return notOurs();
    emit({ type: 'operation', stage, action: 'create-stack-set', accounts: [] });
    const wave = run.compiled.rollout.waveOf.get(stage)!;
    if (await createStackSet(ctx, desired.templateBody, wave)) {
      result = 'created';
      // Passed by URL: what CloudFormation read from the bucket is checked against the compile before any instance runs it.
      if (needsTemplateBucket(desired.templateBody)) templateAsSent(ctx.name, desired, await readStackSet(ctx));
      // As created: its tags too, so that the tag check below finds nothing to send again (and keeps xstack:stackset).
      actual = { exists: true, templateBody: desired.templateBody, wave, xstack: true, tags: createTags(ctx.name, wave, ctx.tags), instances: new Map() };
      return undefined;
    }
    actual = await readStackSet(ctx); // another deploy created it first, or another tool
    return notOurs();
  };
  const takenMeanwhile = await created();
  if (takenMeanwhile) return takenMeanwhile;
  const { region } = run.compiled.org;
  const wanted = new Set(desired.stage.targets.map((a) => a.id));
  // A stack left behind (an account suspended meanwhile, or an instance that turned INOPERABLE under
  // --retain-failed-stacks, removed keeping its stack) keeps its names: said, like an end-of-run removal's.
  if (left.length > 0) {
    await removeFrom(run, ctx, stage, left, false, stacksLeftBehind);
    result = removedFrom(result);
    actual = await readStackSet(ctx);
  }

  /** The template, then the instances, from `actual`: false when an operation was raced (above). */
  const reconcile = async (): Promise<boolean> => {
    // A template update sends the org file's roles too (stacksets.ts selfManagedRoles): roles renamed are one as well.
    // And the org file's tags: UpdateStackSet is the only call that changes a StackSet's (and so its stacks' and resources') tags.
    const tagging = updateTags(actual.tags ?? [], run.compiled.rollout.waveOf.get(stage)!, run.compiled.org.tags);
    if (sha256(actual.templateBody ?? '') !== desired.templateSha || rolesChange(ctx, actual) || tagging.change) {
      const inTheWay = await retainedAdded(run, desired, actual);
      if (inTheWay.length > 0) throw collisionError(run, desired, inTheWay, 'cannot update its template while resources it adds are already in their accounts, kept when the org file dropped them or by an earlier destroy');
      try {
        // Past the 50 tags a StackSet may have (tags others added): the org file's cannot be set, said; the wave alone waits, the update goes on without it.
        if (tagging.tooMany && tagging.change) throw new XstackError('STACKSET_TAGS', `StackSet ${ctx.name}: the org file's tags (${tagging.change}) cannot be set: ${tagging.tooMany}; remove tags others added to it, or some of the org file's`);
        const tags = tagging.tags;
        // Every instance but an INOPERABLE one, which UpdateStackSet leaves out (stacksets.ts `inoperable`).
        const updated = [...actual.instances.values()].filter((i) => !inoperable(i)).map((i) => i.account);
        // SELF_MANAGED, with instances this run removes at its end: the new template only where it is wanted. Sent to
        // every instance, it would run in a leaving account too, where a unit that now covers all of the StackSet's
        // targets has no condition, and that account's execution role is not granted its names (bootstrap writes an
        // account's policy from the templates deployed to it: execution-policy.ts forAccount). "To update all the
        // stack instances associated with this stack set, don't specify the Accounts or Regions"; with them, the
        // others are marked OUTDATED and keep their template until deleted (API_UpdateStackSet.html).
        // SERVICE_MANAGED names the kept accounts with the OUs they are reached through (INTERSECTION), within the 50
        // OUs an operation takes; past them, every instance, as before (README).
        const kept = updated.filter((id) => wanted.has(id));
        const narrowed = kept.length > 0 && kept.length < updated.length ? await keptTargets(run, ctx, actual, kept) : undefined;
        const update: Operation = { action: 'update-template', templateBody: desired.templateBody, ...(tags ? { tags } : {}), ...narrowed };
        if (!(await operate(update, narrowed ? kept : updated))) return false;
      } catch (error) {
        // CloudFormation keeps the new template even so; the instances it failed for are OUTDATED and are
        // applied again below.
        if (!(error instanceof OperationFailedError)) throw error;
        // The StackSet holds the new template: the stage changed, whatever the instances read below.
        result = changedBy(result);
        emit({ type: 'waiting', stage, operationId: error.operationId, reason: `template update failed for some instances; applying them again: ${error.failures.join('; ')}` });
      }
      actual = await readStackSet(ctx);
      templateAsSent(ctx.name, desired, actual);
    }
    // An instance no operation reaches (its account left the OU it was created through) is not sent: it fails the stage, saying why.
    const retry = instancesToUpdate(desired, actual, asleep);
    const stuck = inoperableTargets(desired, actual, asleep);
    const lost = await unreachable(run, ctx, [...retry.map((id) => actual.instances.get(id)!), ...stuck]);
    let again = retry.filter((id) => !lost.has(id));
    // One whose stack was deleted outside StackSets is removed, then created below as a missing one (stacksDeletedOutside);
    // so is an INOPERABLE one whose stack is gone (inoperableTargets), where an operation reaches it (review s50-diff m4).
    const gone = await stacksDeletedOutside(run, [...again.map((id) => actual.instances.get(id)!), ...stuck.filter((i) => !lost.has(i.account))]);
    if (gone.length > 0) {
      // What the deleted stack retained is in the way of the new one: refused before the instance is touched, so that
      // a re-run meets the same state (review s43-plan M1).
      // And a role its delete left (DeleteRole refuses a role with policies attached; --retain-resources then keeps it).
      await refuseCollisions(run, desired, gone.map((i) => i.account), true);
      for (const op of instanceOperations(await reachedThrough(run, ctx, gone), 'delete-instances', gone.map((i) => i.account), { retainStacks: true })) {
        if (!(await operate(op, op.accounts, 'delete-instances (stack deleted outside StackSets)'))) return false;
      }
      actual = await readStackSet(ctx);
      again = again.filter((id) => actual.instances.has(id));
      for (const i of gone) (run.madeAgain.get(i.account) ?? run.madeAgain.set(i.account, new Set()).get(i.account)!).add(stage);
    }
    const missing = desired.stage.targets.map((a) => a.id).filter((id) => !actual.instances.has(id));
    // A failed create is retried as CreateStackInstances documents, the rest with UpdateStackInstances (createFailed).
    const recreate = again.filter((id) => createFailed(actual.instances.get(id)!));
    // The instances an operation never reached (CANCELLED, PENDING) in an operation before the one of those it failed in
    // (FAILED): under a failure tolerance of 0 an account that fails again cancels the accounts it has not reached, and
    // AWS documents no order in which an operation takes its accounts (nor keeps one: SERVICE_MANAGED batches by OU), so
    // an operation of their own is what keeps it from stopping the others' retry (review s50-deployer D2, s50-diff m1;
    // StackInstanceComprehensiveStatus: "CANCELLED: ... the failure tolerance of the StackSet operation has been
    // exceeded", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceComprehensiveStatus.html).
    const failedHere = (id: string) => actual.instances.get(id)!.detailedStatus === 'FAILED';
    const update = again.filter((id) => !recreate.includes(id));
    const updateRounds = [update.filter((id) => !failedHere(id)), update.filter(failedHere)];
    // Those just removed for a stack deleted outside StackSets were checked before it (review s43-diff n5).
    const unchecked = missing.filter((id) => !gone.some((g) => g.account === id));
    if (unchecked.length > 0) await refuseCollisions(run, desired, unchecked);
    // Every account in one operation of each kind (SERVICE_MANAGED: 50 OUs an operation); the org's operation preferences pace it.
    // Creates reach an account through the organization root, retried creates and updates through the instance's own root or OU.
    for (const op of instanceOperations(await reachedThrough(run, ctx, missing.map((account) => ({ account }))), 'create-instances', missing)) {
      if (!(await operate(op, op.accounts))) return false;
    }
    // Failed creates after the updates: their cause is in the account (a retained name, a missing role) and likely to
    // fail them again, which with a failure tolerance of 0 stops the operation and the stage: it then stops no other
    // account's retry.
    for (const round of updateRounds) {
      for (const op of instanceOperations(await reachedThrough(run, ctx, actual.instances.values()), 'update-instances', round)) {
        if (!(await operate(op, op.accounts))) return false;
      }
    }
    for (const op of instanceOperations(await reachedThrough(run, ctx, actual.instances.values()), 'create-instances', recreate)) {
      if (!(await operate(op, op.accounts))) return false;
    }
    return true;
  };
  // After a race the StackSet is read again before anything is sent: the other operation may have made some of this
  // stage's changes, or others, or deleted it (stacksets.ts stackSetGone: made again). RaceCount ends this after
  // BUSY_ATTEMPTS races.
  while (!(await reconcile())) {
    actual = await readStackSet(ctx);
    const notThisStages = await created();
    if (notThisStages) return notThisStages;
  }
  if (result !== 'unchanged') actual = await readStackSet(ctx);
  const extra = [...actual.instances.keys()].filter((id) => !wanted.has(id)).sort();
  if (extra.length > 0) removals.push({ stage, stackSet: desired.name, wave: run.compiled.rollout.waveOf.get(stage)!, instances: extra.map((id) => actual.instances.get(id)!), stackSetToo: false });

  const instances = desired.stage.targets.map((a) => [a.id, actual.instances.get(a.id)] as const);
  const skipped = instances.filter(([, i]) => i && !HEALTHY_INSTANCE.has(i.status ?? '') && suspended(i)).map(([id, i]) => `${instanceText(id, region, i)}: ${SUSPENDED_NOTE}`);
  const warnings = [...stacksLeftBehind.warnings(), ...skipped];
  const lagging = (id: string) => actual.lagging?.get(id);
  const failing = instances.filter(([id, i]) => !i || lagging(id) || (!HEALTHY_INSTANCE.has(i.status ?? '') && !suspended(i)));
  const lost = await unreachable(run, ctx, failing.flatMap(([, i]) => i ?? []));
  const unhealthy: string[] = [];
  for (const [id, i] of failing) {
    // Unreachable first: its way out (move the account back) is the one that helps; another read would not.
    const why = lost.get(id) ?? (lagging(id) ? laggingText(ctx, lagging(id)!) : undefined);
    if (why) {
      unhealthy.push(`${instanceText(id, region, i)}: ${why}`);
      continue;
    }
    const text = instanceText(id, region, i);
    // An account StackSets could not reach through its roles has its advice (advised); any other failed instance, what its stack needs.
    const notes = [i && inoperable(i) ? INOPERABLE_NOTE : undefined, unreachedThroughRoles(run.compiled, text) ? undefined : await stackWayOut(run, desired.name, i)].filter((n) => n !== undefined);
    unhealthy.push(notes.length > 0 ? `${text.replace(/\.$/, '')}: ${notes.join('; ')}` : advised(run, text));
  }
  const warned = warnings.length > 0 ? { warnings } : {};
  if (unhealthy.length > 0) return { stage, stackSet: desired.name, result: 'failed', reasons: unhealthy, ...warned };

  // Said now, as the stage's line would otherwise read "unchanged" for a stage whose instances go at the end.
  const pending = extra.length > 0 ? [`instances in ${extra.join(', ')} to remove once every wave is done`] : [];
  const detail = [...warnings, ...pending];
  emit({ type: 'stage-done', stage, result, accountsDone: desired.stage.targets.length - skipped.length, accountsFailed: 0, ...(detail.length > 0 ? { detail: detail.join('; ') } : {}) });
  return { stage, stackSet: desired.name, result, reasons: [], ...warned };
}

/** The org's StackSets (by prefix), listed once a run. */
const orgStackSets = (run: Run) => listOrgStackSets(run.cfn, run.compiled.org.stackSets, run.compiled.org.prefix);

/** How a run treats the parts of its families (moves.ts), worked out once, before any operation. */
interface FamilyOrder {
  /** Resources this compile would move from one part of a family to another. */
  moves: FamilyMove[];
  /** Moves no deploy can make (retained, or no order lets them through), each with why: deploy refuses the org file. */
  refused: MoveOrder['blocked'];
  /** StackSet → the StackSets of its wave it waits for, as moved resources enter it (moveOrder). */
  waitsFor: MoveOrder['waitsFor'];
  /** StackSet → how long it then waits, as a moving resource's name is held after its delete (moveOrder). */
  holds: MoveOrder['holds'];
  /** StackSet that creates resources → the parts it waits for if they have instances to apply again (settlingOrder). */
  settling: Map<string, string[]>;
  /** StackSet → accounts where its instances it no longer targets are deleted first (deployStage `clearFor`). */
  clearFor: Map<string, Set<string>>;
}

/**
 * The family order, from the deployed templates of every family that has, or
 * had, more than one StackSet (read once each).
 */
async function familyOrder(run: Run, desired: readonly DesiredStackSet[], deployed: readonly string[]): Promise<FamilyOrder> {
  const { prefix } = run.compiled.org;
  const waveOf = new Map(desired.map((d) => [d.name, run.compiled.rollout.waveOf.get(d.stage.id)!]));
  const families = new Map<string, { desired: DesiredStackSet[]; stackSets: Set<string> }>();
  const familyOf = (id: string) => families.get(id) ?? families.set(id, { desired: [], stackSets: new Set() }).get(id)!;
  for (const d of desired) {
    const f = familyOf(d.stage.part?.family ?? d.stage.id);
    f.desired.push(d);
    f.stackSets.add(d.name);
  }
  // A family's parts are <prefix>-<family>, <prefix>-<family>-2, …
  for (const name of deployed) families.get(name.slice(prefix.length + 1).replace(/-\d+$/, ''))?.stackSets.add(name);
  const moves: FamilyMove[] = [];
  const settling = new Map<string, string[]>();
  /** For each part: the accounts where it creates resources. */
  const creating = new Map<string, string[]>();
  for (const f of families.values()) {
    if (f.stackSets.size < 2) continue;
    const parts: FamilyPart[] = [];
    for (const name of [...f.stackSets].sort()) {
      const d = f.desired.find((x) => x.name === name);
      const body = deployed.includes(name) ? await deployedTemplate(beforeOperations(run, contextFor(run, name, d?.stage.id ?? `(removed) ${name}`))) : undefined;
      const part: FamilyPart = { stackSet: name, deployed: body === undefined ? undefined : (fromYaml(body) as CfnTemplate), desired: d && renderTemplate(d.stage.definition) };
      parts.push(part);
      if (d) creating.set(name, creatingAccounts(part, d.stage.targets.map((a) => a.id)));
    }
    moves.push(...familyMoves(parts));
    for (const [part, before] of settlingOrder(parts, (name) => waveOf.get(name))) settling.set(part, before);
  }
  const { waitsFor, holds, blocked } = moveOrder(moves, (stackSet) => waveOf.get(stackSet));
  const refused = [...moves.filter((m) => m.retained).map((m) => ({ ...m, why: RETAINED_MOVE_WHY })), ...blocked].sort((a, b) => compareText(a.logicalId, b.logicalId));
  // The parts resources leave, and those a creating part waits for: their instances where the creating parts create.
  const clearFor = new Map<string, Set<string>>();
  const clear = (part: string, creator: string) => {
    const accounts = clearFor.get(part) ?? clearFor.set(part, new Set()).get(part)!;
    for (const id of creating.get(creator) ?? []) accounts.add(id);
  };
  for (const m of moves) if (!m.retained) clear(m.from, m.to);
  for (const [creator, parts] of settling) for (const part of parts) clear(part, creator);
  return { moves, refused, waitsFor, holds, settling, clearFor };
}

/**
 * The replacements of every deployed StackSet whose template this run changes (replacements.ts), from its template as
 * CloudFormation holds it, before any operation, so that an update CloudFormation would refuse in one StackSet stops
 * the run before any other changes: one DescribeStackSet each, which the stage's first read uses again
 * (beforeOperations). Not a StackSet xstack did not create (no xstack:stackset tag): deploy leaves it alone (foreign),
 * so its template refuses nothing.
 */
async function replacementsBeforeAnyOperation(run: Run, desiredList: readonly DesiredStackSet[], deployed: readonly string[], clearFor: ReadonlyMap<string, ReadonlySet<string>>): Promise<Replacements & { locked: string[]; noneKept: string[]; deferred: Map<string, string[]> }> {
  const out: Replacements & { locked: string[]; noneKept: string[]; deferred: Map<string, string[]> } = { refused: [], warnings: [], locked: [], noneKept: [], deferred: new Map() };
  const bodies = new Map<string, string | undefined>();
  for (const d of desiredList) {
    if (!deployed.includes(d.name)) continue;
    const held = await describeStackSet(beforeOperations(run, context(run, d)));
    if (!held || !createdByXstack(held)) continue;
    const body = held.TemplateBody;
    bodies.set(d.name, body);
    const locked = executionRoleLockedText(run, d.name, { executionRoleName: held.ExecutionRoleName, templateBody: body });
    if (locked) out.locked.push(locked);
    if (body === undefined || sha256(body) === d.templateSha) continue;
    // Its instances, read as the stage's first read (beforeOperations), for a template update that keeps none of them.
    const actual = await readStackSet(beforeOperations(run, context(run, d)));
    await noteLeavingInactive(run, d, actual);
    const noneKept = noInstanceKept(run, d, actual, leftFor(run, d, actual, clearFor.get(d.name)).map((i) => i.account));
    if (noneKept) out.noneKept.push(noneKept);
    const found = bodyReplacements(d.name, body, d.templateBody, { deployed: [...actual.instances.keys()], desired: d.stage.targets.map((a) => a.id) });
    out.refused.push(...found.refused);
    out.warnings.push(...found.warnings);
  }
  const sets = roleSets(run, desiredList, bodies);
  out.deferred = await deferredStackSets(run, desiredList, sets, deployed);
  for (const warnings of rolesDeletedWhileAttached(sets, out.deferred).values()) out.warnings.push(...warnings);
  return out;
}

/**
 * Each StackSet's templates for the role checks (replacements.ts rolesDeletedWhileAttached, deferredRemovals): as
 * deployed (`bodies`, by name; a StackSet absent there is not deployed) and as compiled, with its wave. A template
 * unchanged is the compiled one, not parsed again.
 */
function roleSets(run: Run, desiredList: readonly DesiredStackSet[], bodies: ReadonlyMap<string, string | undefined>): StackSetTemplates[] {
  return desiredList.map((d) => {
    const desired = renderedTemplate(d.stage.definition);
    const body = bodies.get(d.name);
    const deployed = body === undefined ? undefined : sha256(body) === d.templateSha ? desired : (fromYaml(body) as CfnTemplate);
    return { name: d.name, wave: run.compiled.rollout.waveOf.get(d.stage.id) ?? 1, deployed, desired };
  });
}

/**
 * The StackSets whose template update deploy runs after every wave rather than in its own (replacements.ts
 * deferredRemovals: an update that only deletes, among it a role a later StackSet's policy is attached to until that
 * StackSet's update; review s32-day2 M2, switching to deploymentTargets.instanceRoles), by name. Not a family's part
 * (a family's parts run in an order of their own), and not one with an instance to create: a later StackSet's new
 * instance in that account would need its roles first. Read with the stage's first read (beforeOperations).
 */
async function deferredStackSets(run: Run, desiredList: readonly DesiredStackSet[], sets: StackSetTemplates[], deployed: readonly string[], read: ReadonlyMap<string, ActualStackSet> = new Map()): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const candidates = deletingRemovals(sets);
  if (candidates.length === 0) return out;
  // Each StackSet read once here, or not at all where the caller has read it (plan's first reads; review s33-diff 13).
  const reads = new Map<string, Promise<ActualStackSet>>([...read].map(([name, actual]) => [name, Promise.resolve(actual)]));
  const actualOf = (d: DesiredStackSet) => reads.get(d.name) ?? reads.set(d.name, readStackSet(beforeOperations(run, context(run, d)))).get(d.name)!;
  // A StackSet this run removes is read by nobody here, and holds its attachments until the removals after every
  // wave: with one, nothing is deferred (the warning stays).
  if (deployed.some((name) => !desiredList.some((d) => d.name === name))) return out;
  // Whether the StackSets that could hold on to a deleted role are settled: read only where an update deletes one.
  const from = Math.min(...candidates.map((x) => x.wave));
  const current = new Map<string, boolean>();
  for (const y of sets) {
    if (!y.deployed || y.wave < from) continue;
    const d = desiredList.find((x) => x.name === y.name)!;
    const actual = await actualOf(d);
    current.set(y.name, [...actual.instances.values()].every((i) => i.status === 'CURRENT'));
    // An instance in an account the StackSet leaves keeps its template until the removals after every wave.
    y.settled = current.get(y.name)! && [...actual.instances.keys()].every((account) => d.stage.targets.some((a) => a.id === account));
  }
  for (const [name, waitsFor] of deferredRemovals(sets)) {
    const d = desiredList.find((x) => x.name === name)!;
    if (d.stage.part || d.stage.placement) continue;
    // Its own instances all there and CURRENT: one to create or apply again would leave a later StackSet's instance
    // in that account without what it needs until the last wave.
    const actual = await actualOf(d);
    if (current.get(name) && d.stage.targets.every((a) => actual.instances.has(a.id))) out.set(name, waitsFor);
  }
  return out;
}

/** plan's words for a deferred update (deferredStackSets), with the StackSets it waits for. */
const deferredText = (waitsFor: readonly string[]) =>
  `its template update runs after the last wave, not in its own: it only deletes, among it a role that ${waitsFor.join(', ')} may still have a managed policy attached to until ${waitsFor.length === 1 ? 'its' : 'their'} update, and IAM refuses to delete a role with a policy attached (DeleteRole); what it keeps stays as deployed`;

const finished = (s: StageSummary) => s.result !== 'failed' && s.result !== 'not-run';

/**
 * StackSets of this org (prefix and xstack's tag) whose stage is gone from the
 * org file, with the wave they were created in.
 */
async function removedStackSets(run: Run, desired: DesiredStackSet[], deployed: readonly string[]): Promise<Array<{ name: string; actual: ActualStackSet }>> {
  const wanted = new Set(desired.map((d) => d.name));
  const out: Array<{ name: string; actual: ActualStackSet }> = [];
  for (const name of deployed) {
    if (wanted.has(name)) continue;
    const actual = await readStackSet(contextFor(run, name, `(removed) ${name}`));
    if (actual.exists && actual.xstack) out.push({ name, actual });
  }
  return out;
}

/**
 * Deletes instances (all or some), then, when asked, the StackSet itself.
 * Instances whose removal keeps their stacks (keepsStack: a suspended
 * account's, and an INOPERABLE one under --retain-failed-stacks) go with
 * RetainStacks: their stacks stay, and `left` records each as its delete
 * ends, so that the caller tells them even when a later step fails
 * (StacksLeft). Every other instance, an INOPERABLE one included, gets a plain
 * delete, once a run. A delete StackSets skipped (an account suspended since
 * its instance's last operation: "StackSets will skip target AWS accounts
 * that are suspended" in CREATE, UPDATE and DELETE operations, flagging the
 * instance SKIPPED_SUSPENDED_ACCOUNT,
 * https://www.amazonaws.cn/en/new/2023/amazon-cloudformation-stacksets-reduces-stack-set-deployment-time-with-skip-suspended-account/)
 * leaves its instance: read again, it goes with RetainStacks in the same run,
 * once. A delete that failed leaves its instance INOPERABLE: under
 * --retain-failed-stacks it goes the same way; else the removal fails with
 * StackSets' reasons and the way past each (deleteFailedError), the instance
 * left in the StackSet for the next run to delete again, and DeleteStackSet
 * is not attempted. Only then is the delete judged (expectDeleted).
 */
async function removeFrom(run: Run, ctx: StackSetContext, stage: string, instances: ActualInstance[], stackSetToo: boolean, left: StacksLeft): Promise<void> {
  const emit = run.options.onEvent ?? (() => {});
  const races = new RaceCount(ctx);
  await noteInactive(run, instances);
  const keep = (i: ActualInstance) => keepsStack(run, i);
  let ran = false;
  let failure: OperationFailedError | undefined;
  // Accounts a plain delete was sent to in an operation that failed, and those of them still there after it: deleted
  // once a run (not again after a race or in a later round), and judged once every round is done.
  const sentInFailure = new Set<string>();
  const failed = new Map<string, ActualInstance>();
  let current = instances;
  let lost = new Map<string, string>();
  // Whether the StackSet was there when last read: one another run deleted meanwhile is not deleted again.
  let exists = true;
  for (;;) {
    // One no operation reaches (whyUnreachable), or in an account where an earlier removal left one, is not sent;
    // expectDeleted then says why it is still there.
    lost = await notSent(run, ctx, current);
    const sendable = current.filter((i) => !lost.has(i.account));
    const reach = await reachedThrough(run, ctx, sendable);
    const kept = sendable.filter(keep);
    const operations = [
      ...instanceOperations(reach, 'delete-instances', sendable.filter((i) => !keep(i)).map((i) => i.account)),
      ...instanceOperations(reach, 'delete-instances', kept.map((i) => i.account), { retainStacks: true }),
    ];
    let raced = false;
    for (const op of operations) {
      emit({ type: 'operation', stage, action: op.retainStacks ? 'delete-instances (retain stacks)' : 'delete-instances', accounts: op.accounts });
      let outcome;
      try {
        outcome = await runOperation(ctx, op, op.accounts);
      } catch (error) {
        // A failed delete leaves its instances INOPERABLE (read below): kept under --retain-failed-stacks, else the
        // removal fails once this round's other operations are done.
        if (op.retainStacks || !(error instanceof OperationFailedError)) throw error;
        failure = error;
        for (const account of op.accounts) sentInFailure.add(account);
        ran = true;
        continue;
      }
      if ('raced' in outcome) {
        races.count(outcome);
        raced = true;
        break;
      }
      ran = true;
      if (op.retainStacks) left.add(kept.filter((i) => op.accounts.includes(i.account)));
    }
    // Read again: after a race the other operation may have deleted some, or left some INOPERABLE; after our own
    // deletes, some may have been skipped or failed (above).
    const fresh = await readStackSet(ctx);
    // Gone since it was read, then made again under the name by another tool (its first read was checked): left
    // alone as any StackSet of another tool's, never deleted (review s49-diff M2).
    if (foreign(fresh)) throw new XstackError('FOREIGN_STACKSET', `${ctx.name} was deleted during the removal, and another StackSet now holds its name: ${foreignText(ctx.name)}`);
    exists = fresh.exists;
    const still = current.flatMap((i) => fresh.instances.get(i.account) ?? []);
    for (const i of still) if (sentInFailure.has(i.account) && !keep(i) && !lost.has(i.account)) failed.set(i.account, i);
    if (raced) {
      current = still.filter((i) => !failed.has(i.account));
      continue;
    }
    // Once each: those now kept (skipped as suspended; INOPERABLE under --retain-failed-stacks) go with RetainStacks.
    // An INOPERABLE one otherwise is not deleted again in this run: its failure is told, and the next run retries.
    current = still.filter((i) => keep(i) && !left.has(i.account) && !lost.has(i.account));
    if (current.length === 0) break;
  }
  // Judged after every round, so that a later round (a suspended account's RetainStacks) does not hide it.
  const failedHere = [...failed.values()].filter((i) => !left.has(i.account));
  if (failure && failedHere.length > 0) throw await deleteFailedError(run, ctx, failure.operationId, failedHere);
  if (ran || lost.size > 0) {
    await expectDeleted(run, ctx, instances).catch((error: unknown) => {
      throw failure ?? error;
    });
  }
  if (stackSetToo && exists) {
    emit({ type: 'operation', stage, action: 'delete-stack-set', accounts: [] });
    await deleteStackSet(ctx);
  }
}

/** A removal's end: `left` holds every stack it left in an account, whether it finished or failed (`error`). */
interface Removed {
  left: StacksLeft;
  error?: unknown;
}

async function tryRemoval(run: Run, ctx: StackSetContext, stage: string, instances: ActualInstance[], stackSetToo: boolean): Promise<Removed> {
  const left = stacksLeft(run, ctx.name);
  try {
    await removeFrom(run, ctx, stage, instances, stackSetToo, left);
    return { left };
  } catch (error) {
    return { left, error };
  }
}

/** A removal's summary: `done` if it finished, else its failure; either way after `earlier` warnings, each stack it left. */
const removalSummary = (run: Run, done: StageSummary, removed: Removed, earlier?: readonly string[]): StageSummary =>
  withWarnings(removed.error === undefined ? done : failedWith(run, done.stage, done.stackSet, removed.error), earlier, removed.left.warnings());

/**
 * Races of one stage on its StackSet: each is another operation that came
 * first, after which the stage reads the StackSet again and starts anew.
 * Each round needs another operation to have run, so only another deployer
 * that keeps starting them keeps a stage going round: after BUSY_ATTEMPTS
 * the stage stops with StackSetBusyError naming that operation. A refusal
 * with no other operation seen (busy for a moment after this run's own) is
 * no race: it has the larger bound QUIET_BUSY_ATTEMPTS.
 */
class RaceCount {
  private races = 0;
  private quiet = 0;
  constructor(private readonly ctx: StackSetContext) {}
  /** False (go round again), or throws when the StackSet stayed busy too long. */
  count(outcome: { raced: string; reason: string; other: boolean }): false {
    this.ctx.onWait?.(outcome.raced, `${outcome.reason}: reading the StackSet again before starting anew`);
    if (outcome.other && ++this.races >= BUSY_ATTEMPTS) throw new StackSetBusyError(this.ctx.name, outcome.raced);
    if (!outcome.other && ++this.quiet >= QUIET_BUSY_ATTEMPTS) throw new StackSetBusyError(this.ctx.name, undefined, this.quiet);
    return false;
  }
}

/**
 * A delete that succeeded without deleting (an INTERSECTION whose OUs the
 * account is not in targets nothing, and the operation still succeeds) is an
 * error naming each account and the root or OU its instance was created
 * through, not a silent success the next run plans again; one no operation
 * can reach is said to be so (INSTANCES_UNREACHABLE), with why and the way out.
 */
async function expectDeleted(run: Run, ctx: StackSetContext, instances: ActualInstance[]): Promise<void> {
  const after = await readStackSet(ctx);
  const still = instances.flatMap((i) => after.instances.get(i.account) ?? []);
  if (still.length === 0) return;
  const why = await notSent(run, ctx, still);
  const ouText = (i: ActualInstance) => (ctx.settings.permissionModel === 'SERVICE_MANAGED' ? ` (created through ${i.organizationalUnit ?? 'an OU CloudFormation does not list'})` : '');
  const lines = still.map((i) => `  account ${i.account} ${run.compiled.org.region}${ouText(i)}${why.has(i.account) ? `: ${why.get(i.account)}` : ''}`);
  if (why.size === still.length) {
    for (const i of still) if (!run.stranded.has(i.account)) run.stranded.set(i.account, ctx.name);
    const held = still.some((i) => run.stranded.get(i.account) !== ctx.name);
    throw new StrandedError(`${ctx.name}: ${held ? 'these instances stay, each for the reason given' : 'no operation can reach these instances, so they stay'}:\n${lines.join('\n')}`, still.map((i) => i.account));
  }
  // SERVICE_MANAGED: an account that left the OU its instance was created through after this run read where it sits
  // (the organization is read once a run) is matched by no INTERSECTION ("Only accounts that are both specified in the
  // Accounts property and belong to the specified OUs will be targeted",
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html), and the delete
  // succeeds doing nothing.
  const readAgain =
    ctx.settings.permissionModel === 'SERVICE_MANAGED'
      ? 'run deploy again: it reads the StackSet and the organization anew, and an account that has left the OU its instance was created through is then named, with the way out'
      : 'run deploy again: it reads the StackSet anew and deletes what is still there';
  throw new XstackError('INSTANCES_NOT_DELETED', `${ctx.name}: DeleteStackInstances succeeded, but these instances are still there (in ${lagWindow(ctx)}):\n${lines.join('\n')}\n${readAgain}`);
}

/**
 * A removal that deleted every instance some operation reaches and left only those none does (whyUnreachable), or
 * those in an account where such a one stays (notSent): the instances left touch no other account, so the run's other
 * removals go on (review s34-sm-day2 M1: one account gone from the organization blocked the removal of every earlier
 * stage, and destroy of the whole org), and their own instances in those accounts are not sent (run.stranded).
 */
class StrandedError extends XstackError {
  constructor(
    message: string,
    readonly accounts: readonly string[],
  ) {
    super('INSTANCES_UNREACHABLE', message);
  }
}

/**
 * Of a removal's instances, those it sends nothing for, by account, each with why: no operation reaches it
 * (whyUnreachable), or a removal earlier in this run (of a later stage) left an instance in the account that none
 * reaches, whose stack may still use what this one's holds (IAM refuses to delete a role that still has policies
 * attached, DeleteConflict: https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html).
 */
async function notSent(run: Run, ctx: StackSetContext, instances: ActualInstance[]): Promise<Map<string, string>> {
  const out = await unreachable(run, ctx, instances);
  for (const i of instances) {
    const by = run.stranded.get(i.account);
    if (by !== undefined && by !== ctx.name && !out.has(i.account)) {
      out.set(i.account, `not sent: ${by}'s instance in this account stays (no operation reaches it), and its stack may still use what this one holds; once that instance is gone, deploy again`);
    }
  }
  return out;
}

/** A StackSet's instances, by account id. */
const byAccount = (actual: ActualStackSet): ActualInstance[] => [...actual.instances.values()].sort((a, b) => compareText(a.account, b.account));

/**
 * Deletions after every create and update, in reverse rollout order: later
 * stages attach policies to earlier stages' roles, and IAM refuses to delete
 * a role that still has them (DeleteConflict,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html).
 * A removed stage is placed by the wave it was created in (its tag).
 */
async function runRemovals(run: Run, removals: Removal[], summaries: Map<string, StageSummary>): Promise<void> {
  const order = [...removals].sort((a, b) => b.wave - a.wave || compareText(a.stackSet, b.stackSet));
  if (order.length > 0) run.options.onEvent?.({ type: 'removals', stages: order.map((r) => r.stage) });
  let failed: string | undefined;
  for (const r of order) {
    const previous = summaries.get(r.stage);
    if (failed) {
      summaries.set(r.stage, notRemoved(r, previous, failed));
      continue;
    }
    const removed = await tryRemoval(run, contextFor(run, r.stackSet, r.stage), r.stage, r.instances, r.stackSetToo);
    const done: StageSummary = { stage: r.stage, stackSet: r.stackSet, result: r.stackSetToo ? 'deleted' : removedFrom(previous?.result ?? 'unchanged'), reasons: [] };
    // Whatever the removal's end: the stage's earlier warnings, then every stack it left in an account.
    const summary = removalSummary(run, done, removed, previous?.warnings);
    summaries.set(r.stage, summary);
    run.options.onEvent?.(removalDone(summary, r, removed.left.warnings()));
    // An earlier stage's deletion would meet what this one still holds: stop; a re-run goes on from here. Unless all it
    // holds is in accounts no operation reaches (StrandedError): the other removals go on, and send nothing there.
    if (removed.error !== undefined && !(removed.error instanceof StrandedError)) failed = r.stage;
  }
}

/** A removal not attempted because an earlier one failed: a removed stage's is not run; a kept stage says which instances stay. */
function notRemoved(r: Removal, previous: StageSummary | undefined, failed: string): StageSummary {
  if (r.stackSetToo || !previous) return { stage: r.stage, stackSet: r.stackSet, result: 'not-run', reasons: [] };
  const accounts = r.instances.map((i) => i.account).join(', ');
  return withWarnings(previous, previous.warnings, [`instances in ${accounts}, which the org file no longer targets, were not removed: the removal of ${failed} failed first; deploy again to remove them`]);
}

/** The progress line of a removal, after every wave: what it did to the stage, and the stacks it left (`left`). */
function removalDone(summary: StageSummary, r: Removal, left: readonly string[]): DeployEvent {
  const failed = summary.result === 'failed';
  const accounts = r.instances.map((i) => i.account).join(', ');
  const done = r.stackSetToo ? `StackSet deleted${accounts ? `, with its instances in ${accounts}` : ''}` : `instances removed from ${accounts}`;
  const detail = [failed ? summary.reasons.join('; ') : done, ...left].join('; ');
  // A stranded removal deleted all but the instances it names (review s35-diff m4); any other failure is counted whole.
  const accountsFailed = !failed ? 0 : (summary.stranded?.length ?? r.instances.length);
  return { type: 'stage-done', stage: r.stage, result: summary.result, accountsDone: r.instances.length - accountsFailed, accountsFailed, detail };
}

/**
 * The stages of one wave, concurrently but for two orders: a stage some moved
 * resource enters starts once the stages it leaves have ended (moves.ts
 * moveOrder), and a stage that creates resources once the parts of its family
 * that turn out to have instances to apply again have (settlingOrder). A
 * stage whose predecessor did not finish is not run, saying why.
 */
async function runWave(
  run: Run,
  ids: readonly string[],
  desired: ReadonlyMap<string, DesiredStackSet>,
  order: Pick<FamilyOrder, 'waitsFor' | 'holds' | 'settling' | 'clearFor'>,
  removals: Removal[],
): Promise<PromiseSettledResult<StageSummary>[]> {
  const stageOf = new Map([...desired.values()].map((d) => [d.name, d.stage.id]));
  const started = new Map<string, Promise<StageSummary>>();
  const reads = new Map<string, { retrying: Promise<boolean>; tell: (retrying: boolean) => void }>();
  const readOf = (id: string) => {
    if (!reads.has(id)) {
      let tell!: (retrying: boolean) => void;
      reads.set(id, { retrying: new Promise<boolean>((resolve) => (tell = resolve)), tell });
    }
    return reads.get(id)!;
  };
  const start = (id: string): Promise<StageSummary> => {
    if (!started.has(id)) started.set(id, deployAfter(id));
    return started.get(id)!;
  };
  const ended = (id: string) => start(id).catch((error: Error): StageSummary => ({ stage: id, stackSet: desired.get(id)!.name, result: 'failed', reasons: [error.message] }));
  const notStarted = (id: string, why: string): StageSummary => ({ stage: id, stackSet: desired.get(id)!.name, result: 'not-run', reasons: [`not started: ${why}; the next deploy goes on from here`] });
  const deployAfter = async (id: string): Promise<StageSummary> => {
    const d = desired.get(id)!;
    for (const before of order.waitsFor.get(d.name) ?? []) {
      if (!finished(await ended(stageOf.get(before)!))) return notStarted(id, `resources move to it from ${before}, which did not finish, so it may still hold their names`);
    }
    const hold = order.holds.get(d.name);
    if (hold) {
      const { move } = hold;
      run.options.onNote?.(`${d.name} waits ${hold.ms / 1000} s before its update: ${move.type} ${move.logicalId} moves to it from ${move.from}, and its name is refused for a while after the delete there (${NAME_HELD_AFTER_DELETE[move.type].doc})`);
      await (run.options.sleep ?? sleep)(hold.ms);
    }
    for (const before of order.settling.get(d.name) ?? []) {
      const other = stageOf.get(before)!;
      void ended(other);
      if ((await readOf(other).retrying) && !finished(await ended(other))) {
        return notStarted(id, `${before}, of its family, did not finish applying instances again, which may still hold resources this StackSet creates`);
      }
    }
    try {
      return await deployStage(run, d, removals, { onRead: (retrying) => readOf(id).tell(retrying), clearFor: order.clearFor.get(d.name) });
    } finally {
      // Failed before its read: whoever waits on it waits for its end (and finds it failed).
      readOf(id).tell(true);
    }
  };
  return Promise.allSettled(ids.map(start));
}

export async function deploy(compiled: CompiledOrg, aws: Aws, options: DeployOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const run = await startRun(compiled, aws, options);
  await refuseManagementAccount(run);
  const desiredList = desiredStackSets(compiled);
  const desired = new Map(desiredList.map((d) => [d.stage.id, d]));
  // The summary lists stages in the compile's order, whatever order they ran in.
  const summaries = new Map<string, StageSummary>(
    compiled.stages.map((s) => [s.id, { stage: s.id, stackSet: desired.get(s.id)!.name, result: 'not-run' as StageResult, reasons: [] }]),
  );
  const removals: Removal[] = [];
  let failed = false;
  const deployed = await orgStackSets(run);
  const { refused, waitsFor, holds, settling, clearFor } = await familyOrder(run, desiredList, deployed);
  if (refused.length > 0) throw refusedMovesError(refused.map((m) => `${moveText(m)}: ${m.why}`));
  const replacing = await replacementsBeforeAnyOperation(run, desiredList, deployed, clearFor);
  for (const warning of replacing.warnings) options.onNote?.(warning);
  if (replacing.refused.length > 0) throw replacementsRefusal(replacing.refused);
  // A renamed execution role the deployed key policy does not let change it: refused for the whole run, before any
  // StackSet is sent the new role (every StackSet's UpdateStackSet carries it, the earlier waves' too).
  if (replacing.locked.length > 0) throw executionRoleLockedError(replacing.locked);
  if (replacing.noneKept.length > 0) throw noInstanceKeptError(replacing.noneKept);
  const renamedRemovals = await renamedRolesWithRemovals(run, desiredList, deployed);
  if (renamedRemovals.length > 0) throw renamedRolesWithRemovalsError(renamedRemovals);
  const missingRoles = await existingRoleFindings(run, desiredList);
  if (missingRoles.length > 0) throw existingRolesRefusal(findingsText(missingRoles));
  options.beforeFirstOperation?.(run.home);
  // An update that only deletes what a later StackSet still holds on to runs after every wave (deferredStackSets),
  // read again then: its first read was taken before the waves.
  // Each compiled wave's deferred stages one wave of their own, in the compiled order: one may wait on another.
  const deferred = new Set(desiredList.filter((d) => replacing.deferred.has(d.name)).map((d) => d.stage.id));
  for (const d of desiredList) if (replacing.deferred.has(d.name)) run.firstReads.delete(d.name);
  const kept = compiled.rollout.waves.map((w) => w.filter((id) => !deferred.has(id)));
  const waves = [...kept, ...compiled.rollout.waves.map((w) => w.filter((id) => deferred.has(id)))].filter((w) => w.length > 0);
  for (let i = 0; i < waves.length; i++) {
    options.onEvent?.({ type: 'wave', wave: i + 1, of: waves.length, stages: waves[i] });
    const results = await runWave(run, waves[i], desired, { waitsFor, holds, settling, clearFor }, removals);
    results.forEach((r, j) => {
      const id = waves[i][j];
      const summary: StageSummary =
        r.status === 'fulfilled' ? r.value : { stage: id, stackSet: desired.get(id)!.name, result: 'failed', reasons: [(r.reason as Error).message] };
      summaries.set(id, summary);
      if (summary.result === 'failed') options.onEvent?.({ type: 'stage-done', stage: id, result: 'failed', accountsDone: 0, accountsFailed: summary.reasons.length, detail: summary.reasons.join('; ') });
    });
    // Every later wave depends on this one: stop here rather than build on a failure.
    if ([...summaries.values()].some((s) => s.result === 'failed')) {
      failed = true;
      break;
    }
    await options.afterWave?.(i + 1);
  }
  if (!failed) {
    for (const { name, actual } of await removedStackSets(run, desiredList, deployed)) {
      const stage = `(removed) ${name}`;
      removals.push({ stage, stackSet: name, wave: actual.wave ?? Number.MAX_SAFE_INTEGER, instances: byAccount(actual), stackSetToo: true });
    }
    await runRemovals(run, removals, summaries);
    await checkAttachmentsMadeAgain(run, summaries);
  }
  return { stages: [...summaries.values()], calls: { ...aws.log.calls }, mutatingCalls: aws.log.mutating, seconds: (Date.now() - started) / 1000 };
}

/**
 * After a run that made instances again (their stacks deleted outside StackSets): the managed policies other stages
 * attach by name to the roles of those accounts (role-attachments.ts), which had to be detached before the roles could
 * be deleted and which no unchanged stack attaches again. Each role that lacks one fails the stage whose template holds
 * the policy, naming the command that attaches it: deploy cannot (the reader role only reads, and the execution role
 * trusts StackSets alone), and a later run that makes nothing again does not read them (a no-op run stays
 * O(StackSets), issue 12): verify does, in every account. A read that fails is a note, not the run's error: every
 * operation is done by then.
 */
async function checkAttachmentsMadeAgain(run: Run, summaries: Map<string, StageSummary>): Promise<void> {
  if (run.madeAgain.size === 0) return;
  const byAccount = attachmentsOf(run.compiled);
  const accounts = run.compiled.org.accounts.map((a) => a.id).filter((id) => run.madeAgain.has(id));
  const unread = async (account: string, error: unknown) => {
    run.options.onNote?.(`account ${account}: whether the roles made again there still have the managed policies other stages attach to them could not be read (${(error as Error).message.split('\n')[0]}); xstack verify reads them`);
    return true;
  };
  const findings = await missingAttachments(run.aws, byAccount, accounts, (account) => target(run, account), unread);
  for (const f of findings) {
    const text = attachmentFindingText(f, (stage) => summaries.get(stage)?.stackSet ?? stage);
    for (const stage of new Set(f.lacking.map((a) => a.stage))) {
      const summary = summaries.get(stage);
      if (!summary) continue;
      summary.result = 'failed';
      summary.reasons.push(text);
      run.options.onEvent?.({ type: 'stage-done', stage, result: 'failed', accountsDone: 0, accountsFailed: 1, detail: text });
    }
  }
}

/** REFUSED_MOVE as deploy refuses it, from plan's lines too (StackSetPlan refusedMoves): the first ten, then a count. */
export function refusedMovesError(lines: readonly string[]): XstackError {
  const shown = lines.slice(0, 10).map((l) => `  ${l}`);
  if (lines.length > shown.length) shown.push(`  … and ${lines.length - shown.length} more (plan --json lists every one)`);
  return new XstackError('REFUSED_MOVE', `nothing was changed: this org file moves resources between the StackSets of one family that no deploy can move:\n${shown.join('\n')}\n  ${MOVE_FIX}`);
}

export const executionRoleLockedError = (lines: readonly string[]) => new XstackError('EXECUTION_ROLE_LOCKED', `nothing was changed:\n${lines.map((l) => `  ${l}`).join('\n')}`);

export const noInstanceKeptError = (lines: readonly string[]) => new XstackError('NO_INSTANCE_KEPT', `nothing was changed:\n${lines.map((l) => `  ${l}`).join('\n')}`);

export interface StackSetPlan {
  stage: string;
  stackSet: string;
  /** The rollout wave it is deployed in (a removed StackSet's as deployed: its removal's order); `runsLast` says a later one. */
  wave?: number;
  /** `delete`: the stage is gone from the org file; its instances and the StackSet go, after everything else. */
  action: 'create' | 'update' | 'unchanged' | 'delete';
  templateChanged: boolean;
  templateDiff?: string;
  addAccounts: string[];
  removeAccounts: string[];
  /**
   * The accounts whose instances its UpdateStackSet updates, when the template, the roles or the tags change: every
   * instance it keeps but an INOPERABLE one, which UpdateStackSet leaves out (deployer.ts reconcileStage). What the
   * approval question counts beside the instances added, removed and applied again (review s43-plan).
   */
  updateAccounts?: string[];
  /**
   * Instances deleted before this StackSet's template update, not after every create and update: accounts it no
   * longer targets where another part of its family creates resources (deployer.ts `leftFor`).
   */
  removeFirst?: string[];
  /**
   * Instances that are not CURRENT (a failed or interrupted operation): deploy applies them again, but for an
   * INOPERABLE one (`cannotUpdate`), which AWS excludes from updates: its reason says what gets past it. `recreate`:
   * its stack was deleted outside StackSets, so deploy removes the instance and creates it again (stacksDeletedOutside).
   * `unreachable`: no operation reaches it (SERVICE_MANAGED: why), so deploy does not send it and the stage fails.
   */
  retryAccounts: Array<{ account: string; status: string; reason?: string; cannotUpdate?: true; recreate?: true; unreachable?: string }>;
  /** Set when a StackSet of this name exists that xstack did not create: deploy leaves it alone, and its stage fails saying so. */
  foreign?: string;
  /** Set when the StackSet has instances in Regions other than the org's: deploy refuses its stage before any operation (otherRegionsText). */
  otherRegions?: string;
  /** Set when deploy runs its template update after the last wave (deferredStackSets), with why. */
  runsLast?: string;
  /** Set when the StackSet was made with another permission model than the org file's: deploy refuses its stage (permissionModelText). */
  otherPermissionModel?: string;
  /** Set when someone turned the StackSet's managed execution on: deploy refuses its stage (managedExecutionText). */
  managedExecution?: string;
  /** Set when the execution role is renamed and the deployed key policy does not admit the new one: deploy refuses its stage (executionRoleLockedText). */
  executionRoleLocked?: string;
  /** Set when the template changes and every instance the update would reach is one to remove: deploy refuses the org file before any operation (noInstanceKept). */
  noInstanceKept?: string;
  /** SELF_MANAGED roles it holds that are not the org file's (`old → new`): deploy sends them with an UpdateStackSet. */
  rolesChange?: string;
  /** The org file's tags the StackSet does not have as they are, in words (`+Key=value`, `Key: old → new`, `-Key`): sent with an UpdateStackSet. */
  tagsChange?: string;
  /** The org file's tags past the 50 a StackSet may have (tags others added): deploy fails the stage before its update. */
  tagsRefused?: string;
  /** A template over the inline limit whose bucket is missing or another's (template-store.ts): deploy fails the stage. */
  templateBucket?: string;
  /**
   * Of the instances to remove, those removed with RetainStacks, their stacks left in their accounts (`keepsStack`):
   * a suspended account's, and an INOPERABLE one's under --retain-failed-stacks; `why` says which.
   */
  keepStacks?: Array<{ account: string; why: string }>;
  /**
   * Of the instances to remove, those no operation reaches (whyUnreachable: SERVICE_MANAGED, the account gone from the
   * organization or out of the OU the instance was created through), with why: deploy sends nothing for them and
   * fails the removal (INSTANCES_UNREACHABLE), and sends nothing to those accounts for the stages it removes after
   * (`held`).
   */
  unreachable?: Array<{ account: string; why: string }>;
  /**
   * Of the instances to remove, those deploy holds (notSent): in an account where a StackSet it removes from before this
   * one (`by`, a later wave's; held.ts) leaves an instance no operation reaches, whose stack may still use what this
   * one holds.
   */
  held?: Array<{ account: string; by: string }>;
  /** Retained resources (left by an earlier destroy) that the instances to add would meet. */
  collisions: string[];
  /** What gets past the collisions. */
  collisionFixes?: string[];
  /** Resources that would enter this StackSet from another part of its family and that no deploy can move (moves.ts): deploy refuses the org file. */
  refusedMoves?: string[];
  /** Resources entering this StackSet from another part of its family that deploy moves (moves.ts moveOrder). */
  moves?: string[];
  /** The StackSets those resources leave, updated before this one. */
  movesAfter?: string[];
  /** Seconds this StackSet then waits, as a moving resource's name is held after its delete (moves.ts NAME_HELD_AFTER_DELETE). */
  movesHoldSeconds?: number;
  /** Buckets of earlier bucket generations in the accounts to add: retained by an earlier destroy, no longer used. */
  retained?: string[];
  /**
   * What the instances to remove leave in their accounts (retained.ts `leftByRemoval`), as the StackSet's deployed
   * template names them: but for instances removed keeping their stacks (`keepStacks`), whose whole stack stays.
   */
  leftBehind?: Array<{ account: string; resources: string[] }>;
  /**
   * Template updates CloudFormation refuses or cannot finish (replacements.ts): a custom-named resource replaced, a
   * subnet created on a CIDR a live subnet holds; each with its way out. Deploy refuses the org file before any operation.
   */
  refusedReplacements?: string[];
  /** Replacements that go through but leave something behind (an unnamed security group replaced). */
  replacementWarnings?: string[];
  /**
   * pipeline-foundation: roles the org file names that are not in its accounts as named (missing, or on another path),
   * one line per role and answer (existing-roles.ts): deploy refuses the org file before any operation.
   */
  missingRoles?: string[];
}

/** What deploy would do, from the same comparison, making no mutating call. */
export async function plan(compiled: CompiledOrg, aws: Aws, options: DeployOptions = {}): Promise<StackSetPlan[]> {
  const run = await startRun(compiled, aws, options);
  await refuseManagementAccount(run);
  const plans: StackSetPlan[] = [];
  const desiredList = desiredStackSets(compiled);
  const deployed = await orgStackSets(run);
  const { moves, refused, holds, clearFor } = await familyOrder(run, desiredList, deployed);
  // Logical ids are unique within a family, not across families: a move is its id with its two StackSets.
  const moveKey = (m: FamilyMove) => `${m.from}|${m.to}|${m.logicalId}`;
  const refusedKeys = new Set(refused.map(moveKey));
  const actuals = new Map<string, ActualStackSet>();
  const missingRoles = await existingRoleFindings(run, desiredList, actuals);
  const bodies = new Map<string, string | undefined>();
  // Each StackSet's wave, as runRemovals orders removals by it.
  const waves = new Map<string, number>();
  for (const desired of desiredList) {
    waves.set(desired.name, run.compiled.rollout.waveOf.get(desired.stage.id)!);
    // plan makes no operation: every read is a first one (beforeOperations), and each StackSet is read once.
    const actual = actuals.get(desired.name) ?? (await readStackSet(beforeOperations(run, context(run, desired))));
    actuals.set(desired.name, actual);
    if (actual.exists && !foreign(actual)) bodies.set(desired.name, actual.templateBody);
    const asleep = await stillSuspended(run, actual.instances.values());
    const templateChanged = !actual.exists || sha256(actual.templateBody ?? '') !== desired.templateSha;
    const addAccounts: string[] = [];
    const retryAccounts: StackSetPlan['retryAccounts'] = [];
    for (const account of desired.stage.targets) {
      const instance = actual.instances.get(account.id);
      if (!instance) addAccounts.push(account.id);
      else if (inoperable(instance)) retryAccounts.push({ account: account.id, status: 'INOPERABLE', reason: INOPERABLE_NOTE, cannotUpdate: true });
      else if (!HEALTHY_INSTANCE.has(instance.status ?? '') && !asleep.has(account.id)) retryAccounts.push({ account: account.id, status: instance.status ?? 'UNKNOWN', ...(instance.statusReason ? { reason: advised(run, instance.statusReason) } : {}) });
    }
    // Read as deploy reads them: one no operation reaches is not sent, and fails the stage (review s43-plan m6); one
    // whose stack was deleted outside StackSets is removed and created again, and what that stack retained is checked
    // with the instances to add (review s43-plan M1).
    // An INOPERABLE one, whose way past is to remove it and create it again once its stack is gone, the same (review s50-diff m4).
    const stuck = inoperableTargets(desired, actual, asleep);
    const sentAgain = (r: StackSetPlan['retryAccounts'][number]) => !r.cannotUpdate || stuck.some((i) => i.account === r.account);
    for (const u of await unreachableRemovals(run, context(run, desired), actual, retryAccounts.filter(sentAgain).map((r) => r.account), 'the instances to apply again')) {
      retryAccounts.find((r) => r.account === u.account)!.unreachable = u.why;
    }
    // An INOPERABLE instance whose stack is gone is removed and created again too (inoperableTargets): no longer one deploy cannot update.
    const gone = new Set(
      (await stacksDeletedOutside(run, retryAccounts.filter((r) => sentAgain(r) && !r.unreachable).map((r) => actual.instances.get(r.account)!))).map((i) => i.account),
    );
    for (const r of retryAccounts) {
      if (!gone.has(r.account)) continue;
      r.recreate = true;
      if (r.cannotUpdate) {
        delete r.cannotUpdate;
        r.reason = 'its stack was deleted: deploy removes the instance and creates it anew';
      }
    }
    await noteLeavingInactive(run, desired, actual);
    const removeFirst = leftFor(run, desired, actual, clearFor.get(desired.name)).map((i) => i.account);
    // A set: with 1,000 targets, a scan of them for each instance is a million comparisons a StackSet.
    const targeted = new Set(desired.stage.targets.map((a) => a.id));
    const removeAccounts = [...actual.instances.keys()].filter((id) => !targeted.has(id) && !removeFirst.includes(id)).sort();
    const keepStacks = keptStacks(run, actual, removeAccounts);
    const leftBehind = leftByRemovals(run, actual, [...removeFirst, ...removeAccounts], keepStacks);
    const unreachableHere = await unreachableRemovals(run, context(run, desired), actual, [...removeFirst, ...removeAccounts]);
    const created = [...addAccounts, ...gone];
    const found = created.length > 0 ? await retainedIn(run, desired, created) : { inTheWay: [], earlier: [] };
    // A template update that adds a named resource already in an account with an instance (a repository dropped and named again).
    // Not for a foreign StackSet (no xstack tag): every id would count as added; deploy only says "foreign".
    const addedInTheWay = foreign(actual) ? [] : await retainedAdded(run, desired, actual);
    found.inTheWay.push(...addedInTheWay);
    const moving = refused.filter((m) => m.to === desired.name).map((m) => `${moveText(m)}: ${m.why}`);
    const entering = moves.filter((m) => m.to === desired.name && !refusedKeys.has(moveKey(m)));
    const fixes = found.inTheWay.length > 0 ? wayPast(run.compiled.org, found.inTheWay) : [];
    const roles = rolesChange(context(run, desired), actual);
    const tagged = actual.exists && !foreign(actual) ? updateTags(actual.tags ?? [], run.compiled.rollout.waveOf.get(desired.stage.id)!, run.compiled.org.tags) : {};
    const otherModel = permissionModelText(run, desired.name, actual);
    const queued = otherModel === undefined && !foreign(actual) && !actual.elsewhere ? managedExecutionText(run, desired.name, actual) : undefined;
    // A template deploy sends through the bucket, which must be the administrator's: read for each StackSet whose
    // changed template goes through it (review s43-plan m5).
    const bucket = templateChanged && !foreign(actual) && !actual.elsewhere && !otherModel && !queued ? await templateBucketProblem(run.templates, desired.name, desired.templateBody) : {};
    if (bucket.note) run.options.onNote?.(bucket.note);
    const bucketProblem = bucket.fails;
    // As deploy: a StackSet xstack did not create is left alone, its key policy never read (review s43-plan n1).
    const locked = actual.exists && !foreign(actual) ? executionRoleLockedText(run, desired.name, actual) : undefined;
    const noneKept = foreign(actual) ? undefined : noInstanceKept(run, desired, actual, removeFirst);
    // An INOPERABLE instance in a targeted account is no change deploy makes: its stage fails (plan-text's ✗ says so).
    // A StackSet deploy leaves alone, failing its stage (foreign, other Regions, another permission model, managed
    // execution on), gets no operation: no change, its ✗ says why (review s43-plan n2).
    const leftAlone = foreign(actual) || actual.elsewhere !== undefined || otherModel !== undefined || queued !== undefined;
    const changed =
      !leftAlone && (templateChanged || roles !== undefined || tagged.change !== undefined || addAccounts.length > 0 || removeAccounts.length > 0 || removeFirst.length > 0 || retryAccounts.some((r) => !r.cannotUpdate && !r.unreachable));
    const replacing = actual.exists && !foreign(actual) && actual.templateBody !== undefined && templateChanged ? bodyReplacements(desired.name, actual.templateBody, desired.templateBody, { deployed: [...actual.instances.keys()], desired: desired.stage.targets.map((a) => a.id) }) : undefined;
    const rolesHere = desired.stage.module === 'pipeline-foundation' ? findingsText(missingRoles.filter((f) => desired.stage.targets.some((a) => a.id === f.account.id))) : [];
    // As reconcileStage sends it: to the instances it keeps (the early removals, leftFor's, are of accounts not
    // targeted), INOPERABLE ones left out.
    // Not where the stage fails before its update (tags past 50, a name the update adds in the way, the template
    // bucket): none is sent.
    // SERVICE_MANAGED past the 50 OUs an operation takes, deploy's update reaches every instance (keptTargets): rare, not counted.
    const beforeUpdate = (tagged.change !== undefined && tagged.tooMany !== undefined) || addedInTheWay.length > 0 || bucketProblem !== undefined;
    const updateAccounts =
      actual.exists && changed && !beforeUpdate && (templateChanged || roles !== undefined || tagged.change !== undefined)
        ? [...actual.instances.values()].filter((i) => !inoperable(i) && targeted.has(i.account)).map((i) => i.account).sort()
        : [];
    const entry: StackSetPlan = {
      stage: desired.stage.id,
      stackSet: desired.name,
      wave: waves.get(desired.name)!,
      action: !actual.exists ? 'create' : changed ? 'update' : 'unchanged',
      templateChanged,
      ...(templateChanged ? { templateDiff: await templateDiff(actual.templateBody, desired.templateBody) } : {}),
      addAccounts,
      removeAccounts,
      ...(updateAccounts.length > 0 ? { updateAccounts } : {}),
      ...(removeFirst.length > 0 ? { removeFirst } : {}),
      retryAccounts,
      ...(keepStacks.length > 0 ? { keepStacks } : {}),
      ...(unreachableHere.length > 0 ? { unreachable: unreachableHere } : {}),
      ...(foreign(actual) ? { foreign: foreignText(desired.name) } : {}),
      ...(actual.elsewhere ? { otherRegions: otherRegionsText(run, desired.name, actual.elsewhere) } : {}),
      ...(otherModel ? { otherPermissionModel: otherModel } : {}),
      ...(queued ? { managedExecution: queued } : {}),
      ...(bucketProblem ? { templateBucket: bucketProblem } : {}),
      ...(locked ? { executionRoleLocked: locked } : {}),
      ...(noneKept ? { noInstanceKept: noneKept } : {}),
      ...(roles ? { rolesChange: roles } : {}),
      ...(tagged.change ? { tagsChange: tagged.change } : {}),
      // deploy fails the stage before its update (STACKSET_TAGS in reconcileStage): said as such (review s43-plan m2).
      ...(tagged.change && tagged.tooMany ? { tagsRefused: `the org file's tags (${tagged.change}) cannot be set: ${tagged.tooMany}; remove tags others added to it, or some of the org file's` } : {}),
      collisions: found.inTheWay.map(retainedText),
      ...(moving.length > 0 ? { refusedMoves: moving } : {}),
      ...(entering.length > 0 ? { moves: entering.map(moveText), movesAfter: [...new Set(entering.map((m) => m.from))].sort(), ...heldSeconds(holds.get(desired.name)) } : {}),
      ...(fixes.length > 0 ? { collisionFixes: fixes } : {}),
      ...(found.earlier.length > 0 ? { retained: found.earlier.map(retainedText) } : {}),
      ...(leftBehind.length > 0 ? { leftBehind } : {}),
      ...(rolesHere.length > 0 ? { missingRoles: rolesHere } : {}),
      ...(replacing?.refused.length ? { refusedReplacements: replacing.refused } : {}),
      ...(replacing?.warnings.length ? { replacementWarnings: replacing.warnings } : {}),
    };
    plans.push(leftAlone ? sentNothing(entry) : entry);
  }
  // Roles an update deletes while another StackSet's policy is attached to them: said with the StackSet that deletes
  // them, unless deploy runs that update last, which it says instead.
  const sets = roleSets(run, desiredList, bodies);
  const deferred = await deferredStackSets(run, desiredList, sets, deployed, actuals);
  for (const [name, waitsFor] of deferred) {
    const p = plans.find((x) => x.stackSet === name);
    if (p) p.runsLast = deferredText(waitsFor);
  }
  for (const [name, warnings] of rolesDeletedWhileAttached(sets, deferred)) {
    const p = plans.find((x) => x.stackSet === name);
    if (p) p.replacementWarnings = [...(p.replacementWarnings ?? []), ...warnings];
  }
  for (const { name, actual } of await removedStackSets(run, desiredList, deployed)) {
    const removeAccounts = [...actual.instances.keys()].sort();
    await noteInactive(run, actual.instances.values());
    const keepStacks = keptStacks(run, actual, removeAccounts);
    const leftBehind = leftByRemovals(run, actual, removeAccounts, keepStacks);
    const unreachableHere = await unreachableRemovals(run, contextFor(run, name, `(removed) ${name}`), actual, removeAccounts);
    waves.set(name, actual.wave ?? Number.MAX_SAFE_INTEGER);
    plans.push({
      stage: `(removed) ${name}`,
      stackSet: name,
      ...(actual.wave !== undefined ? { wave: actual.wave } : {}),
      action: 'delete',
      templateChanged: false,
      addAccounts: [],
      removeAccounts,
      retryAccounts: [],
      ...(keepStacks.length > 0 ? { keepStacks } : {}),
      ...(unreachableHere.length > 0 ? { unreachable: unreachableHere } : {}),
      ...(leftBehind.length > 0 ? { leftBehind } : {}),
      collisions: [],
    });
  }
  markHeld(plans, waves);
  if (plans.some((p) => p.removeAccounts.length > 0 || (p.removeFirst ?? []).length > 0)) noteStatesUnread(run, 'deploy');
  return plans;
}

/**
 * The plan of a StackSet deploy leaves alone, failing its stage (foreign, other Regions, another permission model,
 * managed execution on):
 * none of the template change, instances, roles or tags of a change it does not make, which --json would read as one
 * (review s43-plan n2, its JSON half); its ✗ says why. The run's refusals before any operation are kept: deploy makes them
 * for such a StackSet too (but a foreign one, for which none is read).
 */
function sentNothing(p: StackSetPlan): StackSetPlan {
  const kept = ['foreign', 'otherRegions', 'otherPermissionModel', 'managedExecution', 'missingRoles', 'executionRoleLocked', 'noInstanceKept', 'refusedReplacements', 'replacementWarnings', 'refusedMoves'] as const;
  const plan: StackSetPlan = { stage: p.stage, stackSet: p.stackSet, ...(p.wave !== undefined ? { wave: p.wave } : {}), action: p.action, templateChanged: false, addAccounts: [], removeAccounts: [], retryAccounts: [], collisions: [] };
  for (const field of kept) if (p[field] !== undefined) Object.assign(plan, { [field]: p[field] });
  return plan;
}

/**
 * plan: of the instances to remove (these accounts'), those no operation reaches, as deploy finds them (review
 * s34-sm-day2 m6); the earlier stages' instances deploy then holds in those accounts are markHeld's. An organization
 * this caller cannot read (ListRoots, ListParents) is a note, not a failed plan (review s35-diff m1): deploy reads it
 * again.
 */
async function unreachableRemovals(run: Run, ctx: StackSetContext, actual: ActualStackSet, accounts: readonly string[], what = 'the instances to remove', command: 'deploy' | 'destroy' = 'deploy'): Promise<Array<{ account: string; why: string }>> {
  let why: Map<string, string>;
  try {
    why = await unreachable(run, ctx, accounts.map((id) => actual.instances.get(id)!));
  } catch (error) {
    if (!cannotTell(error)) throw error;
    // One text for every StackSet and `what` (the instances to remove, to apply again): the command line says each once.
    run.options.onNote?.(`could not read the organization (${errorName(error)}), so whether ${what} are still reached (an account gone from the organization or out of its OU) is not told: ${command} reads it, and needs organizations:ListRoots and ListParents`);
    return [];
  }
  return [...why].sort(([a], [b]) => compareText(a, b)).map(([account, text]) => ({ account, why: text }));
}

/** What removing the instances in `accounts` leaves there (StackSetPlan `leftBehind`), read from the deployed template. */
function leftByRemovals(run: Run, actual: ActualStackSet, accounts: readonly string[], keepStacks: NonNullable<StackSetPlan['keepStacks']>): NonNullable<StackSetPlan['leftBehind']> {
  if (accounts.length === 0 || actual.templateBody === undefined || foreign(actual)) return [];
  const template = fromYaml(actual.templateBody) as CfnTemplate;
  const { region, partition } = run.compiled.org;
  return accounts.flatMap((account) => {
    if (keepStacks.some((k) => k.account === account)) return [];
    const resources = leftByRemoval(template, account, region, partition);
    return resources.length > 0 ? [{ account, resources }] : [];
  });
}

/** Of `accounts`' instances, those a removal deletes keeping their stacks (`keepsStack`), with why. */
function keptStacks(run: Run, actual: ActualStackSet, accounts: readonly string[]): NonNullable<StackSetPlan['keepStacks']> {
  return accounts.flatMap((account) => {
    const i = actual.instances.get(account);
    if (!i || !keepsStack(run, i)) return [];
    const why = suspended(i)
      ? 'the account is suspended: StackSets cannot reach it'
      : run.inactive.has(account)
        ? 'Organizations reports the account not ACTIVE (suspended or closing): StackSets cannot reach it'
        : 'its delete failed (INOPERABLE) and --retain-failed-stacks was given';
    return [{ account, why }];
  });
}

/** Rendered by aws-cdk's CloudFormation diff, loaded only when a plan has a template change. */
async function templateDiff(before: string | undefined, after: string): Promise<string> {
  const { fullDiff, formatDifferences } = await import('@aws-cdk/cloudformation-diff');
  const chunks: string[] = [];
  const stream = { write: (chunk: string) => (chunks.push(chunk), true) };
  formatDifferences(stream as never, fullDiff(before ? (fromYaml(before) as object) : {}, fromYaml(after) as object));
  // eslint-disable-next-line no-control-regex
  return chunks.join('').replace(/\x1b\[[0-9;]*m/g, '');
}

export interface DestroyOptions extends DeployOptions {
  /** Also delete the retained artifact buckets (emptied) and keys (scheduled). Repositories stay whatever this says. */
  deleteRetained?: boolean;
  /** The keys' waiting period, 7 to 30 days (default KEY_DELETION_WINDOW_DAYS). */
  keyDeletionDays?: number;
  /**
   * Also remove the StackSet that holds the repositories (they stay, retained,
   * outside CloudFormation): for leaving xstack. A later deploy meets them.
   */
  releaseRepositories?: boolean;
}

/** Why destroy leaves a stage's StackSet in place, or undefined if it does not. */
export function keptReason(desired: DesiredStackSet, options: Pick<DestroyOptions, 'releaseRepositories'>): string | undefined {
  return keptFor(renderTemplate(desired.stage.definition), options);
}

const KEPT_REPOSITORIES = 'holds only repositories, which xstack never deletes: kept, so the next deploy finds them in place (--release-repositories removes it and leaves them)';

/** Why destroy leaves a StackSet with this template in place, or undefined if it does not (retained.ts keptByDestroy). */
function keptFor(template: CfnTemplate, options: Pick<DestroyOptions, 'releaseRepositories'>): string | undefined {
  return options.releaseRepositories || !keptByDestroy(template) ? undefined : KEPT_REPOSITORIES;
}

/**
 * A StackSet of a stage gone from the org file that destroy keeps: its deployed template holds only repositories, as
 * the org's own repositories StackSet (review s37-destroy-verify V6c: it was deleted, its repositories leaving
 * CloudFormation without --release-repositories).
 */
function keptGone(actual: ActualStackSet, options: Pick<DestroyOptions, 'releaseRepositories'>): string | undefined {
  return actual.templateBody === undefined ? undefined : keptFor(fromYaml(actual.templateBody) as CfnTemplate, options);
}

/**
 * Removes stack instances, then StackSets, in reverse rollout order, starting
 * with the StackSets of stages no longer in the org file. Buckets and keys are
 * retained by their DeletionPolicy, unless `deleteRetained`; the StackSet of
 * the repositories is kept (src/deploy/retained.ts), unless `releaseRepositories`.
 */
/**
 * The StackSets destroy goes through, in its order: those of stages gone from the org file first (latest wave first:
 * nothing current depends on them), then the org's stages in reverse rollout order (read as each is reached).
 */
async function destroyOrder(run: Run): Promise<{ removed: Array<{ name: string; actual: ActualStackSet }>; desired: DesiredStackSet[]; deployed: string[] }> {
  const desiredList = desiredStackSets(run.compiled);
  const deployed = await orgStackSets(run);
  const removed = (await removedStackSets(run, desiredList, deployed)).sort((a, b) => (b.actual.wave ?? Infinity) - (a.actual.wave ?? Infinity) || compareText(a.name, b.name));
  const byStage = new Map(desiredList.map((d) => [d.stage.id, d]));
  return { removed, desired: [...run.compiled.rollout.waves].reverse().flatMap((wave) => wave.map((id) => byStage.get(id)!)), deployed };
}

export async function destroy(compiled: CompiledOrg, aws: Aws, options: DestroyOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const run = await startRun(compiled, aws, options);
  run.destroying = true;
  // No role to delete with (SERVICE_MANAGED without --output-reader-role), or one the keys' policy does not admit:
  // refused before any StackSet is removed.
  if (options.deleteRetained) checkDeleterRole(run);
  await noteManagementAccountForDestroy(run);
  const order = await destroyOrder(run);
  await refuseDestroyWithRenamedRoles(run, order);
  const { removed, desired } = order;
  const summaries: StageSummary[] = [];
  let failed = false;
  // Earlier stages hold what later ones use: after a failure nothing more is removed, so that a re-run finishes from there;
  // but after one that left only instances no operation reaches (`stranded`), the others go on elsewhere (runRemovals).
  const next = async (stage: string, stackSet: string, remove: () => Promise<StageSummary>) => {
    const summary = failed ? { stage, stackSet, result: 'not-run' as const, reasons: [] } : await remove();
    failed ||= summary.result === 'failed' && summary.stranded === undefined;
    summaries.push(summary);
  };
  for (const { name, actual } of removed) {
    const stage = `(removed) ${name}`;
    const keptAsIs = keptGone(actual, options);
    if (keptAsIs) {
      summaries.push({ stage, stackSet: name, result: 'kept', reasons: [keptAsIs] });
      continue;
    }
    const done: StageSummary = { stage, stackSet: name, result: 'deleted', reasons: [] };
    const ctx = contextFor(run, name, stage);
    // With --delete-retained, what its stacks retain too, found by the deployed template's logical ids, in the accounts
    // of its instances and, for an earlier run's deletes, those the org's stages target (where bootstrap made the reader
    // role the search reads with; review s31-destroy M2).
    if (options.deleteRetained) {
      const targets = targetAccounts(run.compiled.org, run.compiled.stages);
      await next(stage, name, () => removeWithRetained(run, { name, stage, ctx, actual, targets }, options).catch((error: unknown) => failedWith(run, stage, name, error)));
    } else await next(stage, name, async () => removalSummary(run, done, await tryRemoval(run, ctx, stage, byAccount(actual), true)));
  }
  for (const d of desired) await next(d.stage.id, d.name, () => destroyStage(run, d, options));
  return { stages: summaries, calls: { ...aws.log.calls }, mutatingCalls: aws.log.mutating, seconds: (Date.now() - started) / 1000 };
}

/** Removes one of the org's stages: its instances and StackSet, and with --delete-retained what they retain. */
async function destroyStage(run: Run, d: DesiredStackSet, options: DestroyOptions): Promise<StageSummary> {
  const id = d.stage.id;
  let removed: Removed | undefined;
  try {
    const ctx = context(run, d);
    const actual = await readStackSet(ctx);
    // Read first: a StackSet that is not deployed is not "kept" (review s37-destroy-verify V6a).
    if (!actual.exists) return { stage: id, stackSet: d.name, result: 'unchanged', reasons: ['not deployed'] };
    const kept = keptReason(d, options);
    if (kept) return { stage: id, stackSet: d.name, result: 'kept', reasons: [kept] };
    // Another tool's StackSet under the org's name: never deleted, nor anything in its stacks (--delete-retained).
    if (foreign(actual)) return { stage: id, stackSet: d.name, result: 'kept', reasons: [foreignText(d.name)] };
    const done: StageSummary = { stage: id, stackSet: d.name, result: 'deleted', reasons: [] };
    if (!options.deleteRetained) return removalSummary(run, done, (removed = await tryRemoval(run, ctx, id, byAccount(actual), true)));
    return await removeWithRetained(run, { name: d.name, stage: id, ctx, actual, template: renderTemplate(d.stage.definition), targets: d.stage.targets.map((a) => a.id) }, options, (r) => (removed = r));
  } catch (error) {
    return withWarnings(failedWith(run, id, d.name, error), removed?.left.warnings());
  }
}

/** What destroy would remove, in its order, and what it would keep: read from AWS, as destroy reads it. */
export interface DestroyPlan {
  /** Each StackSet with the accounts of its instances: those of stages gone from the org file first, then the rest in reverse rollout order. */
  remove: Array<{
    stackSet: string;
    accounts: string[];
    /** A stage gone from the org file: what its stacks retain is found by its deployed template alone (review s31-destroy M2). */
    gone?: true;
    /** Of its instances, those removed with RetainStacks, their stacks (and all they hold) left in their accounts, with why (keptStacks). */
    keepStacks?: Array<{ account: string; why: string }>;
    /** Of its instances, those no operation reaches (SERVICE_MANAGED: whyUnreachable), which destroy cannot remove, with why. */
    unreachable?: Array<{ account: string; why: string }>;
    /**
     * Of its instances, those destroy holds (notSent): in an account where a StackSet it removes before this one (`by`)
     * keeps an instance no operation reaches, whose stack may still use what this one holds.
     */
    held?: Array<{ account: string; by: string }>;
  }>;
  kept: Array<{ stackSet: string; why: string }>;
}

/**
 * What `destroy` would do, making no mutating call: the StackSets of stages
 * gone from the org file (which destroy removes first) and the instances each
 * StackSet has now, in accounts the org file may no longer name, not the
 * compile's targets; and each StackSet it keeps, with why.
 */
export async function destroyPlan(compiled: CompiledOrg, aws: Aws, options: DestroyOptions = {}): Promise<DestroyPlan> {
  const run = await startRun(compiled, aws, options);
  if (options.deleteRetained) checkDeleterRole(run);
  await noteManagementAccountForDestroy(run);
  const plan: DestroyPlan = { remove: [], kept: [] };
  const order = await destroyOrder(run);
  await refuseDestroyWithRenamedRoles(run, order);
  const { removed, desired } = order;
  // As destroy removes them (removeFrom): a stack StackSets cannot reach stays, and an instance no operation reaches is
  // not sent, failing its removal (as plan says for deploy's removals, review s43-plan M2, m6).
  // An instance a StackSet removed earlier keeps (no operation reaches it) holds that account's instances of the later
  // ones, which destroy does not send (notSent), as plan's markHeld says of deploy's removals (review s44-destroy D2).
  const stranded = new Strandings();
  const removal = async (ctx: StackSetContext, actual: ActualStackSet, gone: boolean): Promise<DestroyPlan['remove'][number]> => {
    const accounts = byAccount(actual).map((i) => i.account);
    await noteInactive(run, actual.instances.values());
    const unreachableHere = await unreachableRemovals(run, ctx, actual, accounts, 'the instances to remove', 'destroy');
    const held = stranded.next(ctx.name, accounts, unreachableHere.map((u) => u.account));
    // Not sent at all (notSent comes before any delete): not said to be removed keeping its stack either.
    const notSent = new Set([...unreachableHere, ...held].map((x) => x.account));
    const keepStacks = keptStacks(run, actual, accounts).filter((k) => !notSent.has(k.account));
    return {
      stackSet: ctx.name,
      accounts,
      ...(gone ? { gone: true as const } : {}),
      ...(keepStacks.length > 0 ? { keepStacks } : {}),
      ...(unreachableHere.length > 0 ? { unreachable: unreachableHere } : {}),
      ...(held.length > 0 ? { held } : {}),
    };
  };
  for (const { name, actual } of removed) {
    const kept = keptGone(actual, options);
    if (kept) plan.kept.push({ stackSet: name, why: kept });
    else plan.remove.push(await removal(contextFor(run, name, `(removed) ${name}`), actual, true));
  }
  for (const d of desired) {
    const ctx = context(run, d);
    const actual = await readStackSet(ctx);
    if (!actual.exists) continue;
    const kept = keptReason(d, options);
    if (kept) plan.kept.push({ stackSet: d.name, why: kept });
    else if (foreign(actual)) plan.kept.push({ stackSet: d.name, why: foreignText(d.name) });
    else plan.remove.push(await removal(ctx, actual, false));
  }
  // An account Organizations would not tell of may be suspended: its instances then go as destroy finds them, a plain
  // delete StackSets skips, then RetainStacks, the stacks staying; said once (review s44-destroy D1).
  if (plan.remove.some((r) => r.accounts.length > 0)) noteStatesUnread(run, 'destroy');
  return plan;
}

/**
 * plan and destroy's list, when Organizations refused to tell whether accounts are ACTIVE (DescribeAccount): an instance
 * to remove in a suspended or closing account is shown as deleted, while the run, finding it skipped, removes it with
 * RetainStacks and its stack stays (review s44-destroy D1). Said once a run. DescribeAccount "can be called only from
 * the organization's management account or by a member account that is a delegated administrator"
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html): a SELF_MANAGED
 * administrator in another member account meets this whatever its policy says.
 */
function noteStatesUnread(run: Run, command: 'deploy' | 'destroy'): void {
  const refused = run.organization.refusedStates();
  if (!refused) return;
  run.options.onNote?.(
    `could not ask Organizations whether the accounts are ACTIVE (DescribeAccount: ${refused}), so an instance to remove in a suspended or closing account is shown as deleted: ${command} then finds it skipped and removes it keeping its stack, which stays in the account (DescribeAccount answers the organization's management account and a delegated administrator only, given organizations:DescribeAccount)`,
  );
}

interface FoundRetained {
  found: RetainedResource[];
  notLookedIn: string[];
  /** Accounts outside the org file an earlier delete reached that could not be read, as warnings. */
  unread: string[];
  /** Each bucket's encryption, as the templates give it: under the account's KMS key (the artifact bucket) or S3's own. */
  kmsBuckets: ReadonlyMap<string, boolean>;
  /** The names the KMS-encrypted buckets had in an account in the org's earlier bucket generations. */
  earlierKmsBuckets: (account: string) => string[];
}

/**
 * The physical ids of a stage's retained buckets, keys and log groups, read from its instance stacks before they go.
 * Not those of an instance whose stack destroy leaves in its account (keepsStack: a suspended account's, which cannot
 * be read, or an INOPERABLE one's under --retain-failed-stacks): its resources stay with the stack.
 * And, in each account that has no instance and that the stage targets or an earlier delete of the StackSet reached
 * (the org file may no longer name it), those of the StackSet's stacks deleted since its deletes began (deletesBegan):
 * an earlier destroy deleted them and stopped (interrupted, or a retained resource it could not delete) before it
 * deleted all they retain, and kept the StackSet, so this run finds them again. Every retained resource is found this
 * way, named or not (keys and log groups have names AWS makes), for 90 days after its stack's delete; not in one
 * Organizations reports not ACTIVE (its stack stayed, with RetainStacks), and one outside the org file that cannot be
 * read is a warning.
 */
async function findRetained(run: Run, of: RetainedRemoval, ctx: StackSetContext, actual: ActualStackSet): Promise<FoundRetained> {
  // By the compiled template's logical ids and the deployed one's (the StackSet's TemplateBody): a retained resource
  // whose id the org file or an xstack since has changed is found under its deployed id (review s31-destroy m4).
  const templates = [...(of.template ? [of.template] : []), ...(actual.templateBody === undefined ? [] : [fromYaml(actual.templateBody) as CfnTemplate])];
  const wanted = [...new Map(templates.flatMap((t) => retainedDeletable(t))).entries()];
  const kmsBuckets = new Map<string, boolean>();
  for (const t of templates) {
    for (const [id, r] of Object.entries(t.Resources)) if (r.Type === 'AWS::S3::Bucket') kmsBuckets.set(id, (kmsBuckets.get(id) ?? false) || encryptsWithKms(r));
  }
  const { prefix, bucketGeneration, region, partition } = run.compiled.org;
  const names = new Names(prefix, bucketGeneration);
  const earlierKmsBuckets = (account: string) => [...new Set(templates.flatMap((t) => kmsBucketsIn(t, account, region, partition)).flatMap((r) => names.earlierBucketNames(r.name)))].sort();
  const found: RetainedResource[] = [];
  const notLookedIn: string[] = [];
  const unread: string[] = [];
  const result = { found, notLookedIn, unread, kmsBuckets, earlierKmsBuckets };
  if (wanted.length === 0) return result;
  const add = (account: string, physical: Map<string, string>) => {
    for (const [logicalId, type] of wanted) {
      const physicalId = physical.get(logicalId);
      if (physicalId) found.push({ account, logicalId, type, physicalId });
    }
  };
  // An instance no removal will send (notSent: no operation reaches it, or one that stays in its account may use it)
  // keeps its stack and what the stack retains; its account is not read either, as no role of a closed account gone
  // from the organization can be assumed (review s35-diff M1).
  const unsent = await notSent(run, ctx, [...actual.instances.values()]);
  await noteInactive(run, actual.instances.values());
  for (const [account, instance] of actual.instances) {
    if (keepsStack(run, instance) || unsent.has(account)) continue;
    try {
      add(account, await instanceResources(accountClient(run, account), of.name, instance.stackId));
    } catch (error) {
      // An instance still CURRENT in an account suspended since: not read (review s34-sm-day2 M2); its removal keeps
      // its stack (RetainStacks), and what the stack retains with it.
      if (!(await suspendedRefusal(run, account, error))) throw await unreadableAccount(run, of.name, account, error);
      notLookedIn.push(account);
    }
  }
  // The accounts an earlier destroy's deletes reached, the org file's targets or not (an account dropped from it
  // since: review s37-destroy-verify V2, whose retained resources were left untold), less those with an instance. Only
  // a destroy's (DESTROY_DELETES): a deploy's removal of an account keeps what its stacks retain, on purpose, and is
  // never taken for one (review s37-diff M1).
  const began = await deletesBegan(ctx);
  if (!began) return result;
  const reached = new Set<string>();
  for (const id of began.operations) for (const account of await operationAccounts(ctx, id)) reached.add(account);
  const targets = new Set(of.targets);
  const without = [...new Set([...of.targets, ...[...reached].sort(compareText)])].filter((account) => !actual.instances.has(account));
  for (const account of without) {
    // Not an account Organizations reports not ACTIVE (suspended, closing): its instance went with RetainStacks, its
    // stack and what it retains stay there, and "during this 90-day period, the resources won't be available" in a
    // closed account (https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html): a read
    // refused there would fail every later run (review s21-diff D1).
    if ((await run.organization.active(account)) === false) {
      notLookedIn.push(account);
      continue;
    }
    try {
      const cfn = accountClient(run, account);
      for (const stackId of await deletedInstanceStacks(cfn, of.name, began.since)) add(account, await stackResources(cfn, stackId));
    } catch (error) {
      // An account the org file no longer names may no longer let the reader in (bootstrap keeps no role there): said,
      // with what to delete by hand, rather than failing every later run. Any other error fails the stage, as in an
      // account of the org file's (review s37-diff m4).
      if (targets.has(account) || !(error instanceof AssumeRoleError)) throw await unreadableAccount(run, of.name, account, error);
      unread.push(`account ${account} (not in the org file): what ${of.name}'s stacks deleted there by an earlier destroy retain (${wanted.map(([id, type]) => `${type} ${id}`).join(', ')}) could not be looked for (${errorName(error) ?? 'Error'}: ${(error as Error).message}); they stay in the account, and with the StackSet deleted no later run finds them: delete them by hand`);
    }
  }
  return result;
}

/**
 * Whether `error` is STS refusing the reader role in an account Organizations reports not ACTIVE (suspended, closing):
 * "When an account is closed or suspended, the CloudFormation StackSets administration role can no longer access the
 * StackSets execution role in that account" (https://repost.aws/knowledge-center/cloudformation-removal-stacksets),
 * and no other role of it either ("during this 90-day period, the resources won't be available",
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html). Such an account is not read,
 * said so, rather than failing every run (review s34-sm-day2 M2). Where Organizations cannot be read: false.
 */
async function suspendedRefusal(run: Run, account: string, error: unknown): Promise<boolean> {
  return error instanceof AssumeRoleError && (await run.organization.active(account)) === false;
}

/**
 * The error of a refused read in an account Organizations could not be asked about (the caller may not call
 * DescribeAccount, which works "from the organization's management account or by a member account that is a delegated
 * administrator", https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html): the account
 * may be suspended, where every role is refused and bootstrap cannot help, or its reader may not trust this caller.
 * Both causes, how to tell them apart, and the way past each (review s37-destroy-verify V1: only "run bootstrap" was
 * said, and every run failed the same way).
 */
async function unreadableAccount(run: Run, stackSet: string, account: string, error: unknown): Promise<unknown> {
  if (!(error instanceof AssumeRoleError) || (await run.organization.active(account)) !== undefined) return error;
  return new XstackError(
    'RETAINED_NOT_READ',
    `${stackSet}: what its stack in account ${account} retains could not be read (${error.message}), and whether the account is ACTIVE could not be asked of Organizations: ` +
      `either the account is suspended or closing (AWS then refuses every role in it, and bootstrap cannot help), or its reader role does not trust this caller. ` +
      `Tell them apart with aws organizations describe-account --account-id ${account} from the management account. Suspended: run destroy --delete-retained again from an account Organizations answers ` +
      `(DescribeAccount "can be called only from the organization's management account or by a member account that is a delegated administrator", and xstack does not run as the management account: ` +
      `register this administrator account as one, aws organizations register-delegated-administrator --account-id ${run.adminAccountId ?? 'ACCOUNT'} --service-principal member.org.stacksets.cloudformation.amazonaws.com from the management account, ` +
      `once StackSets' trusted access is on (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html), ` +
      `and let the caller call organizations:DescribeAccount); it then keeps that account's stack and what it retains, and goes on with the others. ` +
      `ACTIVE: run xstack bootstrap for this org, then destroy --delete-retained again. Nothing of ${stackSet} was removed`,
  );
}

/** A StackSet to remove with what its stacks retain: one of the org's stages, or a StackSet whose stage is gone (no compiled template). */
interface RetainedRemoval {
  name: string;
  stage: string;
  ctx: StackSetContext;
  actual: ActualStackSet;
  /** The compiled template; a gone stage's retained resources are found by its deployed template alone. */
  template?: CfnTemplate;
  /** The accounts whose stacks an earlier run may have deleted without deleting what they retain. */
  targets: string[];
}

/** destroy --delete-retained of one StackSet (see the steps below); `onRemoved` hears the instances' removal. */
async function removeWithRetained(run: Run, of: RetainedRemoval, options: DestroyOptions, onRemoved?: (removed: Removed) => void): Promise<StageSummary> {
  const { name, stage, ctx, actual } = of;
  // --delete-retained, in this order, so that nothing is deleted while a stack still uses it and a run stopped at
  // any step is finished by the next:
  // 1. Find the retained buckets, keys and log groups in the instances' stacks, and in the stacks of this StackSet an
  //    earlier run deleted but whose retained resources it did not all delete (findRetained).
  // 2. Delete the instances, the StackSet kept. Their stacks then no longer use what they retain: Retain and
  //    RetainExceptOnCreate "keep a resource when its stack is deleted"
  //    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html),
  //    while the pipeline, bucket policy, alias and flow log that used them are deleted with the stack. Deleting them
  //    first would break a pipeline left running wherever an instance's delete then failed: a key scheduled for
  //    deletion "can't be used in any cryptographic operations"
  //    (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html), a bucket is gone for good
  //    (S3 deletes only an empty bucket, https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html).
  // 3. Delete every retained resource whose stack is gone (not one of a stack left in its account: a suspended
  //    account's, removed with RetainStacks), each tried whatever the others did.
  // 4. Only if all of that succeeded, delete the StackSet. Until then it stays, and with it the record of the
  //    deletes that step 1 of the next run reads the deleted stacks by.
  const { found: retained, notLookedIn, unread, ...encryption } = await findRetained(run, of, ctx, actual);
  // The role that deletes them, assumed in each of their accounts before anything is deleted: refused (the execution
  // role trusts its caller only after bootstrap --allow-delete-retained), the stage fails saying so, its instances and
  // what they retain as they were, and the next run starts from there (review s28-reader m7).
  for (const account of [...new Set(retained.map((r) => r.account))].sort()) await deleterCredentials(run, account)();
  const removed = await tryRemoval(run, ctx, stage, byAccount(actual), false);
  onRemoved?.(removed);
  const remaining = removed.error === undefined ? undefined : await readStackSet(ctx);
  const failures = await deleteEveryRetained(run, stage, retained.filter((r) => !(remaining?.instances.has(r.account) || removed.left.has(r.account))), options.keyDeletionDays, encryption);
  if (removed.error === undefined && failures.length === 0) {
    options.onEvent?.({ type: 'operation', stage, action: 'delete-stack-set', accounts: [] });
    await deleteStackSet(ctx);
  }
  const summary = removalSummary(run, { stage, stackSet: name, result: 'deleted', reasons: [] }, removed, [...notLookedIn.map((account) => notLookedInText(name, account)), ...unread]);
  if (failures.length === 0) return summary;
  const reasons = summary.result === 'failed' ? summary.reasons : [];
  const keys = retained.some((r) => r.type === 'AWS::KMS::Key') ? (options.keyDeletionDays ?? KEY_DELETION_WINDOW_DAYS) : undefined;
  // A retained resource not deleted is a failure of its own, not only stranded instances: the destroy stops here.
  const { stranded: _stranded, ...failing } = summary;
  return { ...failing, result: 'failed', reasons: [...reasons, retainedNotDeletedText(name, failures, keys)] };
}

/** An account findRetained did not look in, as a warning: what its deleted stacks retain stays, and no later run finds it. */
const notLookedInText = (stackSet: string, account: string) =>
  `account ${account}: Organizations reports it not ACTIVE, so what ${stackSet}'s stacks deleted there by an earlier destroy retain (buckets, keys, log groups) was not looked for; ` +
  `they stay in the account, and with the StackSet deleted no later run finds them: should the account be ACTIVE again, delete them by hand (a closed account's resources go with it)`;

/**
 * When the StackSet's latest destroy deletes began: the start of its first DELETE operation of a destroy
 * (DESTROY_DELETES) after its last CREATE or UPDATE (every page of ListStackSetOperations, which promises no order), or
 * undefined when none came after. A stack of the StackSet deleted since then was deleted by this destroy or an earlier
 * run of it, never by one that created or updated the StackSet since (whose retained resources a destroy without
 * --delete-retained meant to keep: that destroy deleted the StackSet, and the next deploy created it again), nor by a
 * deploy's removal of an account, which keeps what the account's stacks retain on purpose: one whose account the org
 * file names again, its create refused as those resources are in the way, would otherwise be a target without an
 * instance whose stack was deleted since (review s57-removal m1). Operations are listed "eventually consistent"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperations.html): an earlier
 * run's are, long before this one reads them.
 */
async function deletesBegan(ctx: StackSetContext): Promise<{ since: Date; operations: string[] } | undefined> {
  const operations: Array<{ id?: string; action: string; created: number }> = [];
  for await (const op of stackSetOperations(ctx)) if (op.Action && op.CreationTimestamp) operations.push({ id: op.OperationId, action: op.Action, created: op.CreationTimestamp.getTime() });
  const lastChange = Math.max(-Infinity, ...operations.filter((op) => op.action === 'CREATE' || op.action === 'UPDATE').map((op) => op.created));
  const deletes = operations.filter((op) => op.action === 'DELETE' && op.created > lastChange && op.id?.startsWith(DESTROY_DELETES));
  if (deletes.length === 0) return undefined;
  return { since: new Date(Math.min(...deletes.map((op) => op.created))), operations: deletes.flatMap((op) => (op.id ? [op.id] : [])).sort(compareText) };
}

/**
 * Deletes each retained resource, whatever became of the others; returns a line for each that failed, with why. The
 * keys last, and an account's key only once no bucket encrypted with it stays: "When a KMS key is deleted, all data
 * that was encrypted under the KMS key is unrecoverable" (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html),
 * and the artifact bucket is SSE-KMS under the account's key (review s31-destroy M1). So is an artifact bucket of an
 * earlier generation that a `bucketGeneration` raised on a deployed org left (the key is not replaced with the
 * bucket): one whose default encryption names the key, or whose encryption cannot be read, keeps it too. One under
 * another key (a generation a plain destroy kept, with its own key) does not. A key so kept is a failure: the
 * StackSet stays, and the next run finds the key again.
 */
async function deleteEveryRetained(run: Run, stage: string, retained: RetainedResource[], keyDeletionDays: number | undefined, encryption: Pick<FoundRetained, 'kmsBuckets' | 'earlierKmsBuckets'>): Promise<string[]> {
  const failures: string[] = [];
  const bucketsLeft = new Map<string, string[]>();
  const isKey = (r: RetainedResource) => r.type === 'AWS::KMS::Key';
  for (const r of [...retained.filter((x) => !isKey(x)), ...retained.filter(isKey)]) {
    const left = isKey(r) ? (bucketsLeft.get(r.account) ?? []) : [];
    if (left.length > 0) {
      failures.push(`account ${r.account}: ${r.type} ${r.physicalId} (${r.logicalId}): kept, not scheduled for deletion: bucket ${left.join(', ')} stays, and its objects are encrypted with this key (they would be unreadable once it is deleted); delete or empty ${left.length === 1 ? 'it' : 'them'} first`);
      continue;
    }
    // A refused read (the reader's AssumeRole) keeps this key and goes on with the others.
    const earlier = isKey(r) ? await earlierBucketsUnderKey(run, r, encryption.earlierKmsBuckets(r.account)).catch((error: Error) => [`whether an earlier bucketGeneration's artifact bucket is under it could not be told (${errorName(error) ?? 'Error'}: ${error.message})`]) : [];
    if (earlier.length > 0) {
      failures.push(
        `account ${r.account}: ${r.type} ${r.physicalId} (${r.logicalId}): kept, not scheduled for deletion: ${earlier.join('; ')}; its objects would be unreadable once the key is deleted: delete the bucket, or copy out what you keep and delete it, then run again`,
      );
      continue;
    }
    run.options.onEvent?.({ type: 'operation', stage, action: `delete-retained ${r.type} ${r.physicalId}`, accounts: [r.account] });
    try {
      await deleteRetained(run.aws, { ...target(run, r.account), credentials: deleterCredentials(run, r.account) }, r, keyDeletionDays);
    } catch (error) {
      // A bucket no template names (it cannot be told) is taken as under the key, which keeps the key.
      if (r.type === 'AWS::S3::Bucket' && encryption.kmsBuckets.get(r.logicalId) !== false) listIn(bucketsLeft, r.account).push(r.physicalId);
      failures.push(`account ${r.account}: ${r.type} ${r.physicalId} (${r.logicalId}): ${errorName(error) ?? 'Error'}: ${(error as Error).message}`);
    }
  }
  return failures;
}

/** Of the earlier generations' artifact bucket names in the key's account, those there under this key, or not told, each with why (read by the reader). */
async function earlierBucketsUnderKey(run: Run, key: RetainedResource, buckets: readonly string[]): Promise<string[]> {
  const under: string[] = [];
  for (const bucket of buckets) {
    const found = await bucketDefaultKey(run.aws, target(run, key.account), bucket, key.physicalId);
    if (found === 'key') under.push(`bucket ${bucket}, of an earlier bucketGeneration, stays and is encrypted by default with this key`);
    else if (typeof found === 'object') under.push(`bucket ${bucket}, of an earlier bucketGeneration, stays, and whether it is encrypted with this key could not be told: ${found.unknown}`);
  }
  return under;
}

const retainedNotDeletedText = (stackSet: string, failures: string[], keyDays?: number) =>
  `${failures.length} retained resource${failures.length === 1 ? '' : 's'} of ${stackSet} could not be deleted, so the StackSet is kept (the next destroy --delete-retained finds them again through it):\n${failures.map((f) => `  ${f}`).join('\n')}\nFix each cause, then run destroy --delete-retained again; where a cause cannot be fixed (objects under an Object Lock retention in compliance mode), a plain destroy deletes the StackSet and keeps them, as destroy keeps what the templates retain` +
  (keyDays === undefined ? '' : `. A key already scheduled for deletion can be kept within its ${keyDays}-day waiting period: aws kms cancel-key-deletion --key-id KEY, then aws kms enable-key --key-id KEY (the key policy allows both to its administrators)`);

export interface VerifyResult {
  /** Each difference between what is deployed and the manifest, in words. */
  differences: string[];
  /** Drift detection: per StackSet, drifted instances, or why it could not run. */
  drift: string[];
  /** StackSets whose drift could not be told (their detection could not start, or ended FAILED or STOPPED). */
  driftUnknown: string[];
  /** The instances drift detection found DRIFTED: `<StackSet> <account> <region>`. */
  drifted: string[];
  /** What could not be read, each with why: the roles' managed policies of an account (checkAttachments). */
  unread: string[];
}

/**
 * verify's exit code: 2 for a difference or a drifted instance; 1 when nothing differs but some StackSet's drift
 * could not be told (verify could not say the org is as compiled); 0 otherwise. An endpoint without drift detection
 * at all (the local emulator) says so and is no such StackSet.
 */
export const verifyExitCode = (result: VerifyResult): number =>
  result.differences.length > 0 || result.drifted.length > 0 ? 2 : result.driftUnknown.length > 0 || result.unread.length > 0 ? 1 : 0;

/**
 * Compares every deployed StackSet's template with the manifest's SHA-256 of
 * that template, and its instances with the accounts the compile targets;
 * then asks CloudFormation for drift where the endpoint supports it.
 * Makes no change (drift detection is an operation, not a change to stacks).
 */
export async function verify(compiled: CompiledOrg, aws: Aws, manifestHashes: ReadonlyMap<string, string>, options: DeployOptions = {}): Promise<VerifyResult> {
  const run = await startRun(compiled, aws, options);
  await refuseVerifyOfManagementAccount(run);
  const differences: string[] = [];
  const drift: string[] = [];
  const driftUnknown: string[] = [];
  const drifted: string[] = [];
  const { region } = compiled.org;
  let driftAvailable = true;
  // An emulator that lacks drift detection answers each try the same (clients.ts oneAttempt): asked once there, with
  // the run's credentials. AWS's endpoints keep the run's client and its retries.
  const driftStarter = run.options.emulator ? run.aws.oneAttempt().cloudFormation(run.cfn.config.credentials) : run.cfn;
  /** Stage → the accounts where its instance runs the compiled template: its managed policies' roles are read there. */
  const deployedIn = new Map<string, Set<string>>();
  for (const desired of desiredStackSets(compiled)) {
    const ctx = context(run, desired);
    const actual = await readStackSet(ctx);
    if (!actual.exists) {
      differences.push(`${desired.name}: not deployed`);
      continue;
    }
    const expected = manifestHashes.get(`templates/${desired.stage.id}.yaml`);
    const deployedSha = sha256(actual.templateBody ?? '');
    if (expected !== deployedSha) differences.push(`${desired.name}: deployed template sha256 ${deployedSha} differs from the manifest's ${expected ?? '(not in manifest)'}`);
    // What else deploy sets or refuses, read as plan reads it (review s44-verify-plan V1-V4: verify called a StackSet
    // clean that plan updates, or whose stage deploy fails): instances in other Regions, another permission model,
    // the org file's roles and tags. Not for a StackSet xstack did not create, whose template already differs.
    if (!foreign(actual)) {
      if (actual.elsewhere) differences.push(`${desired.name}: ${otherRegionsText(run, desired.name, actual.elsewhere)}`);
      const otherModel = permissionModelText(run, desired.name, actual);
      if (otherModel) differences.push(`${desired.name}: ${otherModel}`);
      const queued = managedExecutionText(run, desired.name, actual);
      if (queued) differences.push(`${desired.name}: ${queued}`);
      const roles = rolesChange(ctx, actual);
      // What deploy then does (sends them, or refuses: a locked execution role, tags past 50) is plan's to say.
      if (roles) differences.push(`${desired.name}: its roles are not the org file's (${roles})`);
      const tagged = updateTags(actual.tags ?? [], run.compiled.rollout.waveOf.get(desired.stage.id)!, run.compiled.org.tags);
      if (tagged.change) differences.push(`${desired.name}: its tags are not the org file's (${tagged.change})${tagged.tooMany ? `, and cannot be set: ${tagged.tooMany}` : ''}`);
    }
    for (const account of desired.stage.targets) {
      const instance = actual.instances.get(account.id);
      if (!instance) differences.push(`${desired.name}: no instance in ${account.name} (${account.id}) ${region}`);
      else if (instance.status !== 'CURRENT') differences.push(`${desired.name}: instance in ${account.name} (${account.id}) ${region} ${notCurrent(instance)}`);
      // Where the instance runs the compiled template: its policies are there as compiled (else a difference above).
      if (instance?.status === 'CURRENT' && expected === deployedSha && !foreign(actual)) (deployedIn.get(desired.stage.id) ?? deployedIn.set(desired.stage.id, new Set()).get(desired.stage.id)!).add(account.id);
    }
    for (const extra of [...actual.instances.keys()].filter((id) => !desired.stage.targets.some((a) => a.id === id))) {
      differences.push(`${desired.name}: instance in ${extra}, which the org does not target`);
    }
    if (driftAvailable) {
      // Any error of one StackSet's detection is its drift unknown: the others are still checked and every difference
      // found is kept (review s37-destroy-verify V5: an error while waiting aborted the whole verify).
      const found = await detectDrift(ctx, run.options.emulator === true, driftStarter).catch((error: unknown) => ({
        lines: [`${desired.name}: drift detection did not finish, drift unknown: ${error instanceof XstackError ? '' : `${errorName(error) ?? 'Error'}: `}${(error as Error).message.split('\n')[0]}`],
        unknown: true as const,
        unavailable: false,
        drifted: [],
      }));
      // An endpoint without drift detection (the local emulator) says so once, not per StackSet.
      if (found.unavailable) driftAvailable = false;
      if (found.unknown) driftUnknown.push(desired.name);
      drift.push(...found.lines);
      drifted.push(...(found.drifted ?? []));
    }
  }
  // StackSets of stages gone from the org file, which deploy removes (removedStackSets, as plan and deploy read them):
  // still deployed, they are not what the org file compiles to (review s37-destroy-verify V3: verify called such an org clean).
  const desiredList = desiredStackSets(compiled);
  for (const { name, actual } of await removedStackSets(run, desiredList, await orgStackSets(run))) {
    const accounts = [...actual.instances.keys()].sort(compareText);
    differences.push(`${name}: deployed, but its stage is gone from the org file (${accounts.length > 0 ? `instances in ${accounts.join(', ')}` : 'no instances'}): deploy removes it`);
  }
  const unread: string[] = [];
  differences.push(...(await checkAttachments(run, deployedIn, unread)));
  return { differences, drift, driftUnknown, drifted, unread };
}

/**
 * verify: in every account, whether the managed policies its deployed stages attach by name to roles they do not
 * make are attached to them (role-attachments.ts). No page says that drift detection reads a managed policy's
 * attachments (it checks "Only resource properties explicitly defined in the stack template",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResourceDrift.html), and a role made
 * again by another stack is that stack's resource, in sync. An account whose read fails is named in `unread`, the
 * others still read.
 */
async function checkAttachments(run: Run, deployedIn: ReadonlyMap<string, ReadonlySet<string>>, unread: string[]): Promise<string[]> {
  const byAccount = new Map<string, Attachment[]>();
  for (const [account, attachments] of attachmentsOf(run.compiled)) {
    const deployed = attachments.filter((a) => deployedIn.get(a.stage)?.has(account));
    if (deployed.length > 0) byAccount.set(account, deployed);
  }
  const leftOut = async (account: string, error: unknown) => {
    unread.push(`account ${account}: ${(error as Error).message.split('\n')[0]}`);
    return true;
  };
  const accounts = run.compiled.org.accounts.map((a) => a.id).filter((id) => byAccount.has(id));
  const findings = await missingAttachments(run.aws, byAccount, accounts, (account) => target(run, account), leftOut);
  return findings.map((f) => attachmentFindingText(f, (stage) => desiredStackSets(run.compiled).find((d) => d.stage.id === stage)?.name ?? stage));
}

/**
 * Why an instance that is not CURRENT does not run the template verify just compared: a StackSet's template is its
 * latest, and OUTDATED is "The stack isn't currently up to date with the stack set because either the associated
 * stack failed during a CreateStackSet or UpdateStackSet operation, or the stack was part of a CreateStackSet or
 * UpdateStackSet operation that failed or was stopped before the stack was created or updated"; INOPERABLE, "A
 * DeleteStackInstances operation has failed and left the stack in an unstable state"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html).
 */
function notCurrent(instance: ActualInstance): string {
  // A failed delete's DetailedStatus is INOPERABLE too (API_StackInstanceComprehensiveStatus.html): said once.
  const why = [instance.detailedStatus !== instance.status ? instance.detailedStatus : undefined, instance.statusReason].filter(Boolean).join(': ');
  const state = `is ${instance.status ?? 'of no status'}${why ? ` (${why})` : ''}, so it may not run the deployed template`;
  // Not every such instance is brought to the template by deploying again (review s34-sm-day2 m1): a suspended
  // account's waits for the account, an INOPERABLE one is excluded from updates until it is deleted.
  if (suspended(instance)) return `${state}: ${SUSPENDED_NOTE}`;
  if (inoperable(instance)) return `${state}: ${INOPERABLE_NOTE}`;
  return `${state}: deploy again to bring it to the template`;
}

/**
 * Drift detection on one StackSet, as DetectStackSetDrift describes it: it
 * "returns the OperationId of the StackSet drift detection operation. Use this
 * operation id with DescribeStackSetOperation to monitor the progress", then
 * "Use ListStackInstances to return a list of stack instances belonging to the
 * StackSet, including the drift status" (every page); it takes
 * OperationPreferences like any StackSet operation, so the org's pace it.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackSetDrift.html
 * Only an answer that is no AWS error says the endpoint has no drift
 * detection (the local emulator); a refused start or an operation that ends
 * FAILED or STOPPED is this StackSet's result (drift unknown), and the next
 * StackSet is still checked. `starter` sends the DetectStackSetDrift (at an
 * emulator, a client that tries it once); the reads after it go through ctx.cfn.
 * verify runs one StackSet at a time, so one operation, which the org file's
 * maxConcurrentCount (at most 10,000) keeps within the quota of instances in
 * operations at once (instance-budget.ts).
 */
async function detectDrift(ctx: StackSetContext, emulator: boolean, starter: CloudFormationClient): Promise<{ lines: string[]; unavailable?: boolean; unknown?: true; drifted?: string[] }> {
  const { DescribeStackSetOperationCommand, DetectStackSetDriftCommand, ListStackInstancesCommand } = await import('@aws-sdk/client-cloudformation');
  const firstLine = (error: unknown) => `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message.split('\n')[0]}`;
  let operationId: string | undefined;
  try {
    // CallAs on both: a delegated administrator is refused without it (m9).
    const started = await starter.send(
      new DetectStackSetDriftCommand({ StackSetName: ctx.name, OperationPreferences: operationPreferences(ctx.settings, ctx.region), ...callAs(ctx.settings) }),
    );
    operationId = started.OperationId;
  } catch (error) {
    // An answer that is no AWS error at all (the SDK read no service error from it: the local emulator's page for an
    // action it lacks) says the endpoint has no drift detection. Any AWS error (DetectStackSetDrift's own, AccessDenied,
    // throttling past the SDK's retries, a server error), or no answer, leaves this StackSet's drift unknown.
    // Only at an emulator's endpoint: on AWS such an answer (a proxy's page, a truncated body) is this StackSet's drift
    // unknown, never drift detection off for every StackSet and exit 0 (review s37-destroy-verify V5).
    const e = error as { $fault?: string; $metadata?: { httpStatusCode?: number } };
    if (emulator && e.$fault === undefined && e.$metadata?.httpStatusCode !== undefined) {
      // The SDK's own reading of such a page (an XML parse error) says nothing to the reader: the status is what tells.
      return { lines: [`drift detection not available at this endpoint (DetectStackSetDrift answered HTTP ${e.$metadata.httpStatusCode} with no AWS error); skipped for every StackSet`], unavailable: true };
    }
    // InvalidOperationException, "The specified operation isn't valid", is an Error of DetectStackSetDrift
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackSetDrift.html); the page says no
    // more of when (the StackSet changing under the run is an inference).
    // OperationInProgressException: "You can only run a single drift detection operation on a given stack set at one time"
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackSetDrift.html): one an earlier
    // verify started and was stopped before it ended (a CI timeout) is still running (review s37-destroy-verify V5 c).
    const advice =
      errorName(error) === 'InvalidOperationException'
        ? `: StackSets took drift detection as not valid for the StackSet as it is now (another operation or change on it?); check who else changes ${ctx.name}, then run verify again`
        : errorName(error) === 'OperationInProgressException'
          ? `: another operation on ${ctx.name} is running, perhaps the drift detection of an earlier verify that was stopped before it ended (aws cloudformation list-stack-set-operations --stack-set-name ${ctx.name} names it); run verify again once it has ended`
          : '';
    return { lines: [`${ctx.name}: drift detection could not start (${firstLine(error)}), drift unknown${advice}`], unknown: true };
  }
  // When the detection began: an instance it checked has a LastDriftCheckTimestamp after it.
  let began: Date | undefined;
  const lines: string[] = [];
  let unknown = false;
  // Ended FAILED: the line above says its drift is unknown; only the drifted instances it found are added.
  let failed = false;
  try {
    if (operationId) began = await runOperationWait(ctx, operationId);
  } catch (error) {
    if (!(error instanceof OperationFailedError)) throw error;
    lines.push(`${ctx.name}: drift detection operation ${error.operationId} did not succeed, drift unknown: ${error.failures.join('; ')}`);
    unknown = failed = true;
    // What it checked before it failed is still told: the instances its time marks as checked (review
    // s37-destroy-verify V5 a: a FAILED detection hid the drifted instances it had found). Without its start, nothing.
    began = (await ctx.cfn.send(new DescribeStackSetOperationCommand({ StackSetName: ctx.name, OperationId: error.operationId, ...callAs(ctx.settings) }))).StackSetOperation?.CreationTimestamp;
    if (!began) return { lines, unknown: true };
  }
  // SUCCEEDED is "without exceeding the failure tolerance for the operation"
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html): with the org's
  // tolerance above 0, a detection that failed in some accounts still succeeds, its StackSetDriftDetectionDetails then
  // PARTIAL_SUCCESS ("completed without exceeding the failure tolerance") with FailedStackInstancesCount
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetDriftDetectionDetails.html). Those
  // accounts were not checked: the StackSet's drift is unknown, and they are named (review s29-deployer M1).
  if (operationId && !unknown) {
    const details = (await ctx.cfn.send(new DescribeStackSetOperationCommand({ StackSetName: ctx.name, OperationId: operationId, ...callAs(ctx.settings) }))).StackSetOperation?.StackSetDriftDetectionDetails;
    if (details && (details.DriftDetectionStatus !== 'COMPLETED' || (details.FailedStackInstancesCount ?? 0) > 0)) {
      const { failures } = await operationFailures(ctx, operationId, `SUCCEEDED, drift detection ${details.DriftDetectionStatus}`);
      unknown = true;
      lines.push(`${ctx.name}: drift detection operation ${operationId} checked not every instance (${details.DriftDetectionStatus}, ${details.FailedStackInstancesCount ?? 0} failed, within the failure tolerance), drift unknown: ${failures.join('; ')}`);
    }
  }
  const drifted: string[] = [];
  const unchecked: string[] = [];
  const stale: string[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.cfn.send(new ListStackInstancesCommand({ StackSetName: ctx.name, NextToken: token, ...callAs(ctx.settings) }));
    for (const i of page.Summaries ?? []) {
      // "NOT_CHECKED: CloudFormation hasn't checked if the stack instance differs from its expected StackSet
      // configuration" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html);
      // none at all after a detection is no answer either.
      if (i.DriftStatus === undefined || i.DriftStatus === 'NOT_CHECKED' || i.DriftStatus === 'UNKNOWN') unchecked.push(`${i.Account} ${i.Region}`);
      // A status an earlier detection left: "LastDriftCheckTimestamp: Most recent time when CloudFormation performed a
      // drift detection operation on the stack instance" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html). An instance this one passed
      // over (a skipped suspended account) would read IN_SYNC from months ago (review s37-destroy-verify V4).
      else if (began && (!i.LastDriftCheckTimestamp || i.LastDriftCheckTimestamp < began)) {
        stale.push(`${i.Account} ${i.Region}${i.LastDriftCheckTimestamp ? ` (${i.DriftStatus} as of ${i.LastDriftCheckTimestamp.toISOString()})` : ''}`);
        continue;
      }
      if (i.DriftStatus !== 'DRIFTED') continue;
      drifted.push(`${ctx.name} ${i.Account} ${i.Region}`);
      // Its stack by id, which DescribeStackResourceDrifts takes as its StackName ("the name of the stack", a name or
      // its unique id, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResourceDrifts.html),
      // run in the instance's account and Region: what verify's last line tells to read (review s44-diff W3).
      lines.push(`${ctx.name}: instance in ${i.Account} ${i.Region} has drifted${i.StackId ? `: its stack ${i.StackId}` : ''}`);
    }
    token = page.NextToken;
  } while (token);
  if (unchecked.length > 0 && !failed) {
    unknown = true;
    lines.push(`${ctx.name}: ${unchecked.length} instance${unchecked.length === 1 ? '' : 's'} with no drift status after the detection (${unchecked.join(', ')}), drift unknown there`);
  }
  if (stale.length > 0 && !failed) {
    unknown = true;
    lines.push(`${ctx.name}: ${stale.length} instance${stale.length === 1 ? '' : 's'} this detection did not check, their drift status an earlier one's (${stale.join(', ')}), drift unknown there`);
  }
  return { lines, drifted, ...(unknown ? { unknown: true as const } : {}) };
}

/** The wait moveOrder gave a StackSet for the names held of what moves into it, in seconds (plan's text). */
const heldSeconds = (hold: { ms: number } | undefined): { movesHoldSeconds?: number } => (hold ? { movesHoldSeconds: hold.ms / 1000 } : {});
