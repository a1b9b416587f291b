/** plan / deploy / destroy / verify for the CLI: sets up AWS (or the local emulator), renders events and results. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { CompiledOrg } from '../compile';
import { systemErrorReason, XstackError } from '../errors';
import { Names } from '../naming';
import { Aws } from './clients';
import { deploy, destroy, destroyPlan, executionRoleLockedError, noInstanceKeptError, plan, refusedMovesError, verify, verifyExitCode, type DestroyOptions, type StackSetPlan, type VerifyResult } from './deployer';
import { KEY_DELETION_WINDOW_DAYS } from './retained';
import { failsStage, formatDestroyRemovals, formatPlan, planExitCode } from './plan-text';
import { OrganizationReads } from './org-reads';
import { liveStacks } from './stacksets';
import type { DeployEvent, RunSummary, StageResult, StageSummary } from './events';
import { existingRolesRefusal } from './existing-roles';
import { replacementsRefusal } from './replacements';
import { makeOrgRolesLocally } from './local-roles';
import { bootstrap, bootstrapState, refuseReaderRoleOption, type BootstrapState, type BootstrapStep } from './bootstrap';
import { boundaryPendingNote, staleBootstrapNote, tagsPendingNote, unreadableBootstrapNote } from './execution-trust';
import { checkEndpointServices, refuseEndpointServices, type EndpointServiceCheck } from './endpoint-services';
import { LOCAL_CREDENTIALS, runningSharedAws, startLocalAws, type LocalAws } from './local';
import { layoutChange, layoutPath, recordLayout, unrecordedHomeNote, type StackSetsHome } from '../stages/layout';
import { OutputError, signalExitCode } from '../write';
import { isAwsEndpoint } from '../aws/endpoint';

const SYMBOL: Record<StageResult, string> = { created: '+', updated: '~', 'instances-removed': '-', unchanged: '=', failed: '✗', 'not-run': '·', deleted: '-', kept: '·' };

/** Each result as the summary counts it ("2 updated, 1 with instances removed"), in this order. */
const COUNTED: Array<[StageResult, string]> = [
  ['created', 'created'],
  ['updated', 'updated'],
  ['instances-removed', 'with instances removed'],
  ['unchanged', 'unchanged'],
  ['deleted', 'deleted'],
  ['kept', 'kept'],
  ['failed', 'failed'],
  ['not-run', 'not-run'],
];

/** How a stage's line names its result. */
const RESULT_TEXT: Partial<Record<StageResult, string>> = { 'instances-removed': 'instances removed' };

const secondsSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)}s`;

/** The accounts of an operation: by name and id when there are a few, else how many. */
function accountsText(ids: readonly string[], names: ReadonlyMap<string, string>): string {
  if (ids.length === 0) return '';
  if (ids.length > 3) return ` (${ids.length} accounts)`;
  return ` (${ids.map((id) => (names.has(id) ? `${names.get(id)} ${id}` : id)).join(', ')})`;
}

/** A phase's heading: a wave, or the removals after every wave. */
const phaseText = (e: Extract<DeployEvent, { type: 'wave' | 'removals' }>) =>
  e.type === 'wave' ? `wave ${e.wave}/${e.of}` : 'removals, in reverse rollout order';

/** A stage's operation or result, the same words on a terminal and in a log. */
function stageText(e: Extract<DeployEvent, { type: 'operation' | 'stage-done' }>, names: ReadonlyMap<string, string>): string {
  if (e.type === 'operation') return `${e.stage}: ${e.action}${accountsText(e.accounts, names)}`;
  return `${SYMBOL[e.result]} ${e.stage}: ${RESULT_TEXT[e.result] ?? e.result}, ${e.accountsDone} done, ${e.accountsFailed} failed${e.detail ? `: ${e.detail}` : ''}`;
}

/**
 * A line cut to the terminal's width: a line that wrapped would take two rows
 * while the redraw moves up one per line, and the display would garble.
 */
export function fitLine(line: string, columns: number | undefined): string {
  const chars = [...line];
  if (!columns || chars.length < columns) return line;
  return `${chars.slice(0, Math.max(columns - 2, 1)).join('')}…`;
}

/**
 * On a terminal: the current wave as one line per stage, redrawn in place
 * (ANSI cursor movement), finished waves left above it. Otherwise (CI logs):
 * one plain line per event.
 */
function renderTty(started: number, names: ReadonlyMap<string, string>): Renderer {
  const elapsed = () => secondsSince(started);
  let lines = new Map<string, string>();
  let header = '';
  let drawn = 0;
  // The clock goes on between events (an operation takes minutes on AWS); stopped before the summary.
  const clock = setInterval(() => {
    if (drawn === 0) return;
    header = header.replace(/\[[^\]]*\]$/, `[${elapsed()}]`);
    draw();
  }, 1000);
  clock.unref();
  const draw = () => {
    const out = [header, ...lines.values()].map((l) => fitLine(l, process.stdout.columns));
    process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${out.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = out.length;
  };
  const onEvent = (e: DeployEvent) => {
    if (e.type === 'wave' || e.type === 'removals') {
      drawn = 0;
      header = `${phaseText(e)} [${elapsed()}]`;
      lines = new Map(e.stages.map((s) => [s, `  … ${s}: ${e.type === 'wave' ? 'reading' : 'waiting'}`]));
    } else if (e.type === 'operation') {
      lines.set(e.stage, `  … ${stageText(e, names)}`);
    } else if (e.type === 'waiting') {
      lines.set(e.stage, `  … ${e.stage}: waiting for ${e.operationId} (${e.reason})`);
    } else {
      lines.set(e.stage, `  ${stageText(e, names)}`);
    }
    header = header.replace(/\[[^\]]*\]$/, `[${elapsed()}]`);
    draw();
  };
  return { onEvent, stop: () => clearInterval(clock) };
}

interface Renderer {
  onEvent: (e: DeployEvent) => void;
  stop: () => void;
}

function render(started: number, names: ReadonlyMap<string, string>): Renderer {
  if (process.stdout.isTTY) return renderTty(started, names);
  const elapsed = () => secondsSince(started);
  const onEvent = (e: DeployEvent) => {
    const line =
      e.type === 'wave' || e.type === 'removals'
        ? `[${elapsed()}] ${phaseText(e)}: ${e.stages.join(', ')}`
        : e.type === 'waiting'
          ? `[${elapsed()}]   ${e.stage}: waiting for ${e.operationId}: ${e.reason}`
          : `[${elapsed()}]   ${stageText(e, names)}`;
    process.stdout.write(`${line}\n`);
  };
  return { onEvent, stop: () => undefined };
}

/** The summary after a deploy or destroy: one line of counts, then each failure, warning, kept StackSet and stage not run. */
export function formatSummary(s: RunSummary): string {
  const count = (r: StageResult) => s.stages.filter((x) => x.result === r).length;
  const parts = COUNTED.filter(([r]) => count(r) > 0).map(([r, text]) => `${count(r)} ${text}`);
  const lines = [`\nsummary: ${parts.join(', ')} (${s.stages.length} StackSets, ${s.mutatingCalls} mutating calls, ${s.seconds.toFixed(1)}s)`];
  const block = (symbol: string, st: StageSummary, items: readonly string[]) => lines.push(`  ${symbol} ${st.stage} (${st.stackSet}):`, ...items.map((r) => `      ${r}`));
  for (const st of s.stages.filter((x) => x.reasons.length > 0 && x.result === 'failed')) block('✗', st, st.reasons);
  for (const st of s.stages.filter((x) => (x.warnings ?? []).length > 0)) block('!', st, st.warnings!);
  for (const st of s.stages.filter((x) => x.result === 'kept')) lines.push(`  · ${st.stage} (${st.stackSet}) kept: ${st.reasons.join('; ')}`);
  const notRun = s.stages.filter((x) => x.result === 'not-run');
  if (notRun.length > 0) {
    const why = s.stages.some((x) => x.result === 'failed') ? 'a stage before them failed; deploy again to finish' : 'the run stopped before them';
    lines.push(`  · not run (${why}): ${notRun.map((x) => x.stage).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function printPlan(compiled: CompiledOrg, plans: StackSetPlan[], stream: NodeJS.WritableStream = process.stdout): void {
  const colour = (stream as NodeJS.WriteStream).isTTY === true && !process.env.NO_COLOR;
  stream.write(formatPlan(plans, { accountNames: new Map(compiled.org.accounts.map((a) => [a.id, a.name])), colour }));
}

/** Each pipeline account's stacks with their parameters: the wiring, as deployed. */
async function printPipelineStacks(compiled: CompiledOrg, aws: Aws, readerRole: string): Promise<void> {
  for (const account of compiled.org.accounts.filter((a) => a.role === 'pipeline')) {
    const cfn = aws.cloudFormation(await aws.assume(`arn:${compiled.org.partition}:iam::${account.id}:role/${readerRole}`), compiled.org.region);
    const stacks = await liveStacks(cfn);
    process.stdout.write(`\n${account.name} (${account.id}):\n`);
    for (const s of stacks.sort((a, b) => (a.StackName! < b.StackName! ? -1 : 1))) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: s.StackId }))).Stacks?.[0];
      process.stdout.write(`  ${s.StackName} ${stack?.StackStatus}\n`);
      // No parameters: what a stack made is in its outputs (what later stages name).
      for (const o of stack?.Outputs ?? []) process.stdout.write(`    ${o.OutputKey} = ${o.OutputValue}\n`);
    }
  }
}

async function confirm(question: string, output: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output });
  const answer = await rl.question(question);
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

/** Who and where a change is made as: shown before anything is changed. */
async function callerLine(aws: Aws, region: string): Promise<string> {
  const identity = await aws.sts().send(new GetCallerIdentityCommand({}));
  return `as ${identity.Arn} (account ${identity.Account}), StackSets in ${region}`;
}

/**
 * deploy: the plan first, then a question, as cdk deploy does with
 * --require-approval any-change
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.cloud_assembly_schema.RequireApproval.html).
 * Without a terminal to ask on, changes need --yes or --require-approval never.
 */
async function approveDeploy(compiled: CompiledOrg, aws: Aws, region: string, options: Parameters<typeof plan>[2], json: boolean): Promise<void> {
  const plans = await plan(compiled, aws, { ...options, onEvent: undefined });
  const changes = plans.filter((p) => p.action !== 'unchanged');
  const stream = json ? process.stderr : process.stdout;
  // Nothing to ask about; a stage deploy will fail is still shown before it does (review s43-diff m2).
  if (changes.length === 0) {
    if (plans.some(failsStage)) printPlan(compiled, plans, stream);
    return;
  }
  printPlan(compiled, plans, stream);
  // A deploy that would refuse is not asked about: the refusal, as deploy words it.
  const refusal = planRefusal(plans);
  if (refusal) throw refusal;
  const accounts = new Set(changes.flatMap((p) => [...p.addAccounts, ...p.removeAccounts, ...(p.removeFirst ?? []), ...(p.updateAccounts ?? []), ...p.retryAccounts.map((r) => r.account)]));
  const who = await callerLine(aws, region);
  const what = `${changes.length} StackSet${changes.length === 1 ? '' : 's'} of ${compiled.org.file}${accounts.size ? ` in ${accounts.size} account${accounts.size === 1 ? '' : 's'}` : ''}`;
  if (!process.stdin.isTTY) {
    throw new XstackError('NOT_CONFIRMED', `deploy would change ${what} ${who}; there is no terminal to ask on, so nothing was changed: pass --yes (or --require-approval never) to deploy without asking`);
  }
  if (!(await confirm(`\nDeploy: change ${what} ${who}? Type 'yes': `, stream))) throw new XstackError('NOT_CONFIRMED', 'deploy was not confirmed; nothing was changed');
}

/**
 * What deploy would refuse before any operation, as it words it and in its order (deployer.ts deploy: moves,
 * replacements, a locked execution role, no instance kept, missing roles), read from the plan: what
 * --require-approval any-change throws instead of asking (review s43-plan m3).
 */
export function planRefusal(plans: readonly StackSetPlan[]): Error | undefined {
  const refusals: Array<[keyof StackSetPlan & ('refusedMoves' | 'refusedReplacements' | 'executionRoleLocked' | 'noInstanceKept' | 'missingRoles'), (lines: string[]) => Error]> = [
    ['refusedMoves', refusedMovesError],
    ['refusedReplacements', replacementsRefusal],
    ['executionRoleLocked', executionRoleLockedError],
    ['noInstanceKept', noInstanceKeptError],
    ['missingRoles', existingRolesRefusal],
  ];
  for (const [field, refusal] of refusals) {
    const lines = plans.flatMap((p) => p[field] ?? []);
    if (lines.length > 0) return refusal(lines);
  }
  return undefined;
}

/**
 * verify's last line: its differences, its drifted instances with the way out (deploy does not undo drift: a stack
 * update with its template unchanged changes nothing; review s44-verify-plan V7, the line said "match" beside exit 2),
 * and the StackSets whose drift it could not tell. StackSet drift detection "performs drift detection on the stack
 * associated with each stack instance" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackSetDrift.html),
 * whose resources' drift DescribeStackResourceDrifts then returns (API_DetectStackDrift.html).
 */
export function verifySummary(result: VerifyResult): string {
  const { differences, drifted, driftUnknown, unread } = result;
  const matched = differences.length === 0 ? 'deployed StackSets match the manifest' : `${differences.length} difference(s)`;
  const drift =
    drifted.length > 0
      ? `; ${drifted.length} instance${drifted.length === 1 ? '' : 's'} drifted (changed outside CloudFormation, above), which deploy does not undo: aws cloudformation describe-stack-resource-drifts --stack-name with ${drifted.length === 1 ? 'its stack' : 'each stack'} named above, in ${drifted.length === 1 ? 'its' : 'the instance\'s'} account and Region, says what changed, to undo there`
      : '';
  const unknown = driftUnknown.length > 0 ? `; drift unknown for ${driftUnknown.join(', ')}` : '';
  const notRead = unread.length > 0 ? `; ${unread.length} account${unread.length === 1 ? '' : 's'} whose roles' managed policies could not be read (above)` : '';
  return `verify: ${matched}${drift}${unknown}${notRead}`;
}

/** destroy: every StackSet it removes, with its accounts, and who and where, before the question. */
async function approveDestroy(compiled: CompiledOrg, aws: Aws, region: string, options: DestroyOptions, json: boolean): Promise<void> {
  const stream = json ? process.stderr : process.stdout;
  const who = await callerLine(aws, region);
  // As deployed, not as compiled: StackSets of stages gone from the org file, and instances in accounts it no longer names.
  const { remove, kept } = await destroyPlan(compiled, aws, options);
  const listing = formatDestroyRemovals(remove, { accountNames: new Map(compiled.org.accounts.map((a) => [a.id, a.name])), deleteRetained: options.deleteRetained === true, region, callAs: compiled.org.stackSets.callAs });
  const flowLogs = compiled.stages.some((s) => s.module === 'ci-network');
  const next = `'bucketGeneration: ${compiled.org.bucketGeneration + 1}' in ${compiled.org.file}`;
  const retained = options.deleteRetained
    ? `and DELETE the artifact and access-log buckets (emptied, every version)${flowLogs ? " and the CI network's flow-log group" : ''} and schedule the artifact keys for deletion (${options.keyDeletionDays ?? KEY_DELETION_WINDOW_DAYS} days; a key stays while its artifact bucket does); repositories stay (a deploy after this should use ${next}: S3 may take 48-72 hours to let the names be used again)`
    : `artifact and access-log buckets and keys${flowLogs ? ", and the CI network's flow-log group," : ''} stay (a deploy after this needs ${next}), without their bucket policies, so the artifact buckets' access logs are no longer delivered; repositories stay`;
  const ciHost = flowLogs || compiled.stages.some((s) => s.module === 'ci-identity') ? '\nterminate the CI host (and anything in the CI subnets) first: a security group in use cannot be deleted, and a deleted instance profile breaks a running host' : '';
  const keptText = kept.map((k) => `\nkept: ${k.stackSet}: ${k.why}`).join('');
  stream.write(`destroy would remove, in this order, ${who}:\n${listing.join('\n')}\n${retained}.${keptText}${ciHost}\n`);
  if (!process.stdin.isTTY) throw new XstackError('NOT_CONFIRMED', 'destroy needs confirmation and there is no terminal to ask on; nothing was changed: pass --yes');
  if (!(await confirm(`Destroy these ${listing.length} StackSets ${who}? Type 'yes': `, stream))) {
    throw new XstackError('NOT_CONFIRMED', 'destroy was not confirmed; nothing was changed');
  }
}

const hashesOf = (manifest: { files?: Record<string, { sha256: string }> }) => new Map(Object.entries(manifest.files ?? {}).map(([path, f]) => [path, f.sha256]));

function readManifestHashes(file: string): Map<string, string> {
  try {
    return hashesOf(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    // A file system error in words ("there is no such file"), as for the org file; a JSON error as JSON.parse says it.
    throw new XstackError('NO_MANIFEST', `cannot read the manifest ${file}: ${systemErrorReason(error) ?? (error as Error).message}; pass the manifest of what was deployed, or leave --manifest out to compare with the org file as it is now`);
  }
}

/**
 * What verify compares with: --manifest FILE, or else the compile of the org
 * file as it is now (what deploy deploys), never a dist/ that may predate an
 * edit; a stale dist/<org>/manifest.json is mentioned on stderr.
 */
function expectedHashes(compiled: CompiledOrg, manifestFile: string | undefined): Map<string, string> {
  if (manifestFile) return readManifestHashes(manifestFile);
  const fresh = compiled.files.get('manifest.json')!;
  const committed = join('dist', compiled.org.name, 'manifest.json');
  if (existsSync(committed) && readFileSync(committed, 'utf8') !== fresh) {
    process.stderr.write(`note: ${committed} is older than ${compiled.org.file}; verify compares with ${compiled.org.file} as it is now (run 'xstack compile' to update dist/)\n`);
  }
  return hashesOf(JSON.parse(fresh));
}

/**
 * SELF_MANAGED: the execution roles and policies are bootstrap's, made for one compile (bootstrap.ts bootstrapDigest).
 * Bootstrap comes first, always: a new account has no execution role, and the policy names only what the compiled
 * templates and the StackSets' deployed ones create, so on AWS new instances are refused after earlier waves have
 * changed. What a deploy removes keeps its permissions (bootstrap reads the deployed templates): CloudFormation ends
 * an update complete though a delete in its cleanup failed (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html;
 * such deletes skipped, aws/aws-cdk-cli#1564, as src/deploy/moves.ts notes), which would leave those resources live
 * outside any stack. The digest is this compile's needs only, so a policy still holding names a deploy has since
 * removed is not stale (only broader, until the next bootstrap). Plan and deploy never refuse. Roles
 * bootstrap did not tag (made by hand, or by an earlier xstack) are not judged.
 */
function checkBootstrap(compiled: CompiledOrg, state: BootstrapState): void {
  if (state === 'stale') process.stderr.write(`${staleBootstrapNote(compiled)}\n`);
  if (state === 'unreadable') process.stderr.write(`${unreadableBootstrapNote(compiled)}\n`);
  if (state === 'boundary-pending') process.stderr.write(`${boundaryPendingNote(compiled)}\n`);
  if (state === 'tags-pending') process.stderr.write(`${tagsPendingNote(compiled)}\n`);
}

/**
 * The Region's VPC endpoint services against what the templates create (endpoint-services.ts), on AWS only: the
 * local emulator offers every service and takes every policy. A read that failed is a note on stderr, and nothing is
 * refused for it.
 */
async function endpointServices(compiled: CompiledOrg, aws: Aws): Promise<EndpointServiceCheck> {
  const check = await checkEndpointServices(compiled, aws);
  for (const note of check.notes) process.stderr.write(`note: ${note}\n`);
  return check;
}

/** plan's lines for what deploy would refuse: after the plan, which is shown all the same. */
const endpointProblemText = (check: EndpointServiceCheck) => check.problems.map((p) => `✗ deploy refuses: ${p}\n`).join('');

const STEP_SYMBOL = { ok: '=', change: '+', missing: '✗' } as const;
const printStep = (s: BootstrapStep, stream: NodeJS.WritableStream = process.stdout) => stream.write(`${STEP_SYMBOL[s.status]} ${s.account} ${s.what}${s.detail ? `: ${s.detail}` : ''}\n`);

/** The command line as given (its options name the account, Region and endpoint to run again in), each word quoted for a POSIX shell where it needs it. */
const commandAsGiven = () => ['xstack', ...process.argv.slice(2)].map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`)).join(' ');

/**
 * Ctrl-C (SIGINT) or SIGTERM during a rollout: an operation StackSets has started goes on without the caller (the
 * operation runs in AWS; the caller only polls DescribeStackSetOperation), and the next run waits for it ("Another
 * operation is currently in progress for this StackSet. Only one operation can be performed for a stack set at a given
 * time", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html, Errors;
 * stacksets.ts waits it out) and finishes the rest, so
 * the run says that, once, and ends with 128 + the signal. Without it the run ended mid-progress line, saying nothing.
 * Returns what removes the listeners.
 */
function sayWhenInterrupted(command: 'deploy' | 'destroy', local: LocalAws | undefined, stop: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    // This run's own emulator stops with it, and its StackSets with it; xstack local's keeps them, as AWS does.
    const said =
      local && !local.shared
        ? `the local AWS this run started has stopped with it, and all it held is gone: run '${commandAsGiven()}' again to start over`
        : `StackSet operations already started go on in ${local ? "xstack local's AWS" : 'AWS'}; run '${commandAsGiven()}' again: it waits for them, then finishes the ${command === 'deploy' ? 'rollout' : 'removal'}`;
    process.stderr.write(`\nxstack: stopped by ${signal}; ${said}\n`);
    process.exit(signalExitCode(signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

export async function awsCommand(command: 'plan' | 'deploy' | 'destroy' | 'verify' | 'bootstrap', compiled: CompiledOrg, flags: Set<string>, options: Map<string, string>): Promise<number> {
  const started = Date.now();
  // A stale layout is refused before anything else (with --frozen-layout recordLayout never writes).
  if (command === 'deploy' && flags.has('--frozen-layout')) recordLayout(compiled.org, compiled.layout, { frozen: true, command: 'deploy' });
  // Refused before a local AWS starts, whose line on stdout would come first (a refused command writes nothing there).
  if (command === 'bootstrap') refuseReaderRoleOption(compiled, options.get('--output-reader-role'));
  let local: LocalAws | undefined;
  let stopRenderer: (() => void) | undefined;
  try {
    if (flags.has('--local')) {
      // A new, empty emulator has nothing deployed to verify or destroy: only xstack local's holds a deploy.
      if ((command === 'verify' || command === 'destroy') && !(await runningSharedAws())) {
        throw new XstackError('NO_LOCAL_AWS', `--local: no 'xstack local' is running, so nothing is deployed locally to ${command}; start one with 'xstack local' (in another terminal), deploy --local to it, then ${command} --local`);
      }
      local = await startLocalAws();
      // On stderr with --json: stdout holds the JSON document only.
      (flags.has('--json') ? process.stderr : process.stdout).write(`local AWS (moto) at ${local.endpoint}${local.shared ? " (xstack local's)" : ''}\n`);
    }
    const aws = new Aws({
      region: options.get('--region') ?? compiled.org.region,
      profile: options.get('--profile'),
      endpoint: local?.endpoint ?? options.get('--endpoint'),
      ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
    });
    const readerRole = options.get('--output-reader-role');
    const renderer = flags.has('--json') ? undefined : render(started, new Map(compiled.org.accounts.map((a) => [a.id, a.name])));
    stopRenderer = renderer?.stop;
    // deploy's plan and deploy itself may note the same thing: said once.
    const noted = new Set<string>();
    const onNote = (note: string) => {
      if (noted.has(note)) return;
      noted.add(note);
      process.stderr.write(`note: ${note}\n`);
    };
    // An endpoint other than AWS's own is an emulator's (xstack local, moto): its accounts are not where the org lives.
    const endpoint = options.get('--endpoint') ?? process.env.AWS_ENDPOINT_URL;
    const emulator = Boolean(local || (endpoint && !isAwsEndpoint(endpoint)));
    // One set of Organizations' answers for the command: a question's reads are its run's (DeployOptions.organization).
    const organization = new OrganizationReads(() => aws.organizations());
    // An emulator (this run's, xstack local's, or any --endpoint not AWS's) finishes an operation in milliseconds: asked
    // every 50 ms, not at AWS's pace of minutes an operation.
    const maxWait = options.get('--max-wait');
    const deployOptions = { outputReaderRoleName: readerRole, pollMs: emulator ? 50 : 5_000, ...(maxWait ? { maxWaitMs: Number(maxWait) * 60_000 } : {}), onEvent: renderer?.onEvent, onNote, retainFailedStacks: flags.has('--retain-failed-stacks'), emulator, organization };
    if (command === 'bootstrap') {
      const steps = await bootstrap(compiled, aws, { dryRun: flags.has('--dry-run'), accessRoleName: options.get('--access-role'), replaceExecutionTrust: flags.has('--replace-execution-trust'), replaceAdministrationTrust: flags.has('--replace-administration-trust'), allowDeleteRetained: flags.has('--allow-delete-retained'), outputReaderRoleName: readerRole, onStep: flags.has('--json') ? undefined : printStep, emulator });
      const changes = steps.filter((s) => s.status === 'change').length;
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify({ steps }, null, 2)}\n`);
      else process.stdout.write(`\nbootstrap: ${changes} change(s)${flags.has('--dry-run') ? ' to make (dry run)' : ''}, ${steps.filter((s) => s.status === 'missing').length} missing\n`);
      return steps.some((s) => s.status === 'missing') ? 1 : 0;
    }
    if (local) {
      // The same bootstrap as on AWS (moto lets the caller into every account, as OrganizationAccountAccessRole would).
      // On stderr with --json: stdout holds the JSON document only.
      const info = flags.has('--json') ? process.stderr : process.stdout;
      // The heading with the first step it shows: a server bootstrapped before shows none (review s43-readme-run N3).
      let headed = false;
      const heading = () => {
        if (!headed) info.write('bootstrap (local):\n');
        headed = true;
      };
      const steps = await bootstrap(compiled, aws, { onStep: (s) => s.status !== 'ok' && (heading(), printStep(s, info)), emulator });
      if (steps.some((s) => s.status === 'missing')) throw new XstackError('BOOTSTRAP_FAILED', 'bootstrap found a missing step (above)');
      const made = await makeOrgRolesLocally(compiled, aws);
      if (made.length > 0) {
        heading();
        info.write(`+ the roles the org file names as existing, made in the emulator's new accounts (on AWS they are the org's): ${made.join(', ')}\n`);
      }
    }
    // The local run bootstrapped just now; on AWS, a bootstrap made for another compile is said before any operation.
    const bootstrapped = !local && (command === 'plan' || command === 'deploy') ? await bootstrapState(compiled, aws) : undefined;
    if (bootstrapped) checkBootstrap(compiled, bootstrapped);
    if (command === 'plan') {
      const plans = await plan(compiled, aws, { ...deployOptions, bootstrap: bootstrapped });
      // After the plan's reads: an endpoint that cannot be reached is said once, as the plan's own failure.
      const endpoints = local ? undefined : await endpointServices(compiled, aws);
      const change = layoutChange(compiled.org.layout, compiled.layout);
      if (change) process.stderr.write(`note: ${layoutPath(compiled.org.file)} does not hold this compile: ${change.count}${change.named}; deploy and compile write it\n`);
      // What only deploy records (where the StackSets live, their permission model): written even when nothing else
      // changes, so said here too (review s43-plan m4). An emulator's run records neither.
      const unrecorded = emulator ? undefined : unrecordedHomeNote(compiled.org);
      if (unrecorded) process.stderr.write(`${unrecorded}\n`);
      const problems = endpoints?.problems ?? [];
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify({ stackSets: plans, ...(problems.length > 0 ? { problems } : {}) }, null, 2)}\n`);
      else {
        printPlan(compiled, plans);
        if (endpoints) process.stdout.write(endpointProblemText(endpoints));
      }
      // Deploy refuses an org whose endpoint services are missing (✗ above): as a stage it would fail, 2 (review s44-diff M5).
      return flags.has('--detailed-exitcode') ? (problems.length > 0 ? 2 : planExitCode(plans)) : 0;
    }
    if (command === 'verify') {
      const hashes = expectedHashes(compiled, options.get('--manifest'));
      const result = await verify(compiled, aws, hashes, deployOptions);
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const d of result.differences) process.stdout.write(`✗ ${d}\n`);
        for (const d of result.drift) process.stdout.write(`  drift: ${d}\n`);
        for (const u of result.unread) process.stdout.write(`? not read: ${u}\n`);
        process.stdout.write(`\n${verifySummary(result)}\n`);
      }
      return verifyExitCode(result);
    }
    // The local emulator (this run's, or xstack local's) holds nothing of anyone's: nothing to ask about.
    const region = options.get('--region') ?? compiled.org.region;
    const days = options.get('--key-deletion-days');
    const destroyOptions: DestroyOptions = { ...deployOptions, deleteRetained: flags.has('--delete-retained'), releaseRepositories: flags.has('--release-repositories'), ...(days ? { keyDeletionDays: Number(days) } : {}) };
    if (command === 'destroy' && !flags.has('--yes') && !local) await approveDestroy(compiled, aws, region, destroyOptions, flags.has('--json'));
    // Before the plan and the question: a deploy CloudFormation would fail halfway through is not asked about.
    if (command === 'deploy' && !local) refuseEndpointServices(await endpointServices(compiled, aws));
    if (command === 'deploy' && !flags.has('--yes') && !local) await approveDeploy(compiled, aws, region, deployOptions, flags.has('--json'));
    // Before the first operation, and only then (a refused move leaves the file as it was, for the fix it names):
    // what is deployed is what the layout records, so that the next compile keeps it, and where its StackSets live.
    // A layout file that cannot be written stops the deploy here: what it rolled out would be recorded nowhere, and a
    // compile from another checkout could place its units elsewhere (pipelines made anew, repository moves refused).
    const recordLayoutOnce = (home: StackSetsHome | undefined) => {
      let recorded: ReturnType<typeof recordLayout>;
      try {
        recorded = recordLayout(compiled.org, compiled.layout, { frozen: flags.has('--frozen-layout'), command: 'deploy', ...(home ? { home } : {}) });
      } catch (error) {
        // A write that failed (a full disk) stops the deploy as a read-only file does (review s46-diff m2).
        if (error instanceof OutputError) throw new XstackError('LAYOUT_NOT_WRITTEN', `${error.message}; nothing was changed in AWS: deploy again once it can be written`);
        throw error;
      }
      const { message, warning } = recorded;
      if (warning) {
        throw new XstackError('LAYOUT_NOT_WRITTEN', `${warning.replace(/^warning: /, '')}; nothing was changed in AWS: deploy from a writable checkout (or commit the layout file and deploy with --frozen-layout)`);
      }
      if (message) process.stderr.write(`${message}\n`);
    };
    const stopListening = sayWhenInterrupted(command, local, () => {
      stopRenderer?.();
      void local?.stop();
    });
    let result: RunSummary;
    try {
      // The bootstrap state read above: a failure to reach an account through its execution role is said in its terms.
      result = command === 'deploy' ? await deploy(compiled, aws, { ...deployOptions, beforeFirstOperation: recordLayoutOnce, bootstrap: bootstrapped }) : await destroy(compiled, aws, destroyOptions);
    } finally {
      stopListening();
    }
    if (flags.has('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      renderer?.stop();
      process.stdout.write(formatSummary(result));
    }
    const failed = result.stages.some((s) => s.result === 'failed');
    if (local && command === 'deploy' && !failed && !flags.has('--json')) await printPipelineStacks(compiled, aws, readerRole ?? new Names(compiled.org.prefix).outputReaderRole());
    return failed ? 1 : 0;
  } finally {
    stopRenderer?.();
    await local?.stop();
  }
}
