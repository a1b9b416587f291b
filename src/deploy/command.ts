/** plan / deploy / destroy / verify for the CLI: sets up AWS (or the local emulator), renders events and results. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { DescribeStacksCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import type { CompiledOrg } from '../compile';
import { XstackError } from '../errors';
import { Aws } from './clients';
import { deploy, destroy, plan, verify, type StackSetPlan } from './deployer';
import type { DeployEvent, RunSummary } from './events';
import { bootstrap, type BootstrapStep } from './bootstrap';
import { LOCAL_CREDENTIALS, startLocalAws, type LocalAws } from './local';

const SYMBOL: Record<string, string> = { created: '+', updated: '~', unchanged: '=', failed: '✗', 'not-run': '·', deleted: '-' };

const secondsSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)}s`;

/** A stage's operation or result, the same words on a terminal and in a log. */
function stageText(e: Extract<DeployEvent, { type: 'operation' | 'stage-done' }>): string {
  if (e.type === 'operation') return `${e.stage}: ${e.action}${e.accounts.length ? ` (${e.accounts.length} account${e.accounts.length === 1 ? '' : 's'})` : ''}`;
  return `${SYMBOL[e.result]} ${e.stage}: ${e.result}, ${e.accountsDone} done, ${e.accountsFailed} failed${e.detail ? `: ${e.detail}` : ''}`;
}

/**
 * On a terminal: the current wave as one line per stage, redrawn in place
 * (ANSI cursor movement), finished waves left above it. Otherwise (CI logs):
 * one plain line per event.
 */
function renderTty(started: number) {
  const elapsed = () => secondsSince(started);
  let lines = new Map<string, string>();
  let header = '';
  let drawn = 0;
  const draw = () => {
    const out = [header, ...lines.values()];
    process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${out.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = out.length;
  };
  return (e: DeployEvent) => {
    if (e.type === 'wave') {
      drawn = 0;
      header = `wave ${e.wave}/${e.of} [${elapsed()}]`;
      lines = new Map(e.stages.map((s) => [s, `  … ${s}: reading`]));
    } else if (e.type === 'operation') {
      lines.set(e.stage, `  … ${stageText(e)}`);
    } else if (e.type === 'waiting') {
      lines.set(e.stage, `  … ${e.stage}: waiting for ${e.operationId} (${e.reason})`);
    } else {
      lines.set(e.stage, `  ${stageText(e)}`);
    }
    header = header.replace(/\[[^\]]*\]$/, `[${elapsed()}]`);
    draw();
  };
}

function render(started: number) {
  if (process.stdout.isTTY) return renderTty(started);
  const elapsed = () => secondsSince(started);
  return (e: DeployEvent) => {
    const line =
      e.type === 'wave'
        ? `[${elapsed()}] wave ${e.wave}/${e.of}: ${e.stages.join(', ')}`
        : e.type === 'waiting'
          ? `[${elapsed()}]   ${e.stage}: waiting for ${e.operationId}: ${e.reason}`
          : `[${elapsed()}]   ${stageText(e)}`;
    process.stdout.write(`${line}\n`);
  };
}

function printSummary(s: RunSummary): void {
  const count = (r: string) => s.stages.filter((x) => x.result === r).length;
  const parts = ['created', 'updated', 'unchanged', 'deleted', 'failed', 'not-run'].filter((r) => count(r) > 0).map((r) => `${count(r)} ${r}`);
  process.stdout.write(`\nsummary: ${parts.join(', ')} (${s.stages.length} StackSets, ${s.mutatingCalls} mutating calls, ${s.seconds.toFixed(1)}s)\n`);
  for (const st of s.stages.filter((x) => x.reasons.length > 0 && x.result === 'failed')) {
    process.stdout.write(`  ✗ ${st.stage} (${st.stackSet}):\n${st.reasons.map((r) => `      ${r}`).join('\n')}\n`);
  }
}

function printPlan(plans: StackSetPlan[]): void {
  for (const p of plans) {
    process.stdout.write(`${{ create: '+', update: '~', delete: '-', unchanged: '=' }[p.action]} ${p.stackSet}: ${p.action}\n`);
    if (p.action === 'unchanged') continue;
    if (p.addAccounts.length) process.stdout.write(`    instances to add: ${p.addAccounts.join(', ')}\n`);
    if (p.removeAccounts.length) process.stdout.write(`    instances to remove (after every create and update, in reverse rollout order): ${p.removeAccounts.join(', ')}\n`);
    for (const r of p.retryAccounts) process.stdout.write(`    instance to apply again: ${r.account} is ${r.status}${r.reason ? `: ${r.reason}` : ''}\n`);
    for (const c of p.collisions) process.stdout.write(`    ✗ retained by an earlier destroy, creation will fail: ${c}\n`);
    if (p.templateChanged && p.templateDiff) process.stdout.write(p.templateDiff.replace(/^/gm, '    ').trimEnd() + '\n');
    for (const c of p.parameterChanges) process.stdout.write(`    ${c.account} ${c.parameter}: ${c.from ?? '(none)'} → ${c.to}\n`);
  }
  const changes = plans.filter((p) => p.action !== 'unchanged');
  const n = (a: string) => plans.filter((p) => p.action === a).length;
  process.stdout.write(`\nplan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete, ${n('unchanged')} unchanged${changes.length ? '' : ' — no changes'}\n`);
}

/** Each pipeline account's stacks with their parameters: the wiring, as deployed. */
async function printPipelineStacks(compiled: CompiledOrg, aws: Aws, readerRole: string): Promise<void> {
  for (const account of compiled.org.accounts.filter((a) => a.role === 'pipeline')) {
    const cfn = aws.cloudFormation(await aws.assume(`arn:${compiled.org.partition}:iam::${account.id}:role/${readerRole}`), compiled.org.region);
    const stacks = (await cfn.send(new ListStacksCommand({}))).StackSummaries?.filter((s) => s.StackStatus !== 'DELETE_COMPLETE') ?? [];
    process.stdout.write(`\n${account.name} (${account.id}):\n`);
    for (const s of stacks.sort((a, b) => (a.StackName! < b.StackName! ? -1 : 1))) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: s.StackId }))).Stacks?.[0];
      process.stdout.write(`  ${s.StackName} ${stack?.StackStatus}\n`);
      for (const p of stack?.Parameters ?? []) process.stdout.write(`    ${p.ParameterKey} = ${p.ParameterValue}\n`);
    }
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(question);
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

function readManifestHashes(file: string): Map<string, string> {
  let manifest: { files?: Record<string, { sha256: string }> };
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new XstackError('NO_MANIFEST', `cannot read the manifest ${file}: ${(error as Error).message}; run 'make compile' or pass --manifest`);
  }
  return new Map(Object.entries(manifest.files ?? {}).map(([path, f]) => [path, f.sha256]));
}

const STEP_SYMBOL = { ok: '=', change: '+', missing: '✗' } as const;
const printStep = (s: BootstrapStep) => process.stdout.write(`${STEP_SYMBOL[s.status]} ${s.account} ${s.what}${s.detail ? `: ${s.detail}` : ''}\n`);

export async function awsCommand(command: 'plan' | 'deploy' | 'destroy' | 'verify' | 'bootstrap', compiled: CompiledOrg, flags: Set<string>, options: Map<string, string>): Promise<number> {
  const started = Date.now();
  let local: LocalAws | undefined;
  try {
    if (flags.has('--local')) {
      local = await startLocalAws();
      process.stdout.write(`local AWS (moto) at ${local.endpoint}\n`);
    }
    const aws = new Aws({
      region: options.get('--region') ?? compiled.org.region,
      profile: options.get('--profile'),
      endpoint: local?.endpoint ?? options.get('--endpoint'),
      ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
    });
    const readerRole = options.get('--output-reader-role');
    const deployOptions = { outputReaderRoleName: readerRole, pollMs: local ? 50 : 5_000, onEvent: flags.has('--json') ? undefined : render(started) };
    if (command === 'bootstrap') {
      const steps = await bootstrap(compiled, aws, { dryRun: flags.has('--dry-run'), accessRoleName: options.get('--access-role'), onStep: flags.has('--json') ? undefined : printStep });
      const changes = steps.filter((s) => s.status === 'change').length;
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify({ steps }, null, 2)}\n`);
      else process.stdout.write(`\nbootstrap: ${changes} change(s)${flags.has('--dry-run') ? ' to make (dry run)' : ''}, ${steps.filter((s) => s.status === 'missing').length} missing\n`);
      return steps.some((s) => s.status === 'missing') ? 1 : 0;
    }
    if (local) {
      // The same bootstrap as on AWS (moto lets the caller into every account, as OrganizationAccountAccessRole would).
      process.stdout.write('bootstrap (local):\n');
      const steps = await bootstrap(compiled, aws, { onStep: (s) => s.status !== 'ok' && printStep(s) });
      if (steps.some((s) => s.status === 'missing')) throw new XstackError('BOOTSTRAP_FAILED', 'bootstrap found a missing step (above)');
    }
    if (command === 'plan') {
      const plans = await plan(compiled, aws, deployOptions);
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify({ stackSets: plans }, null, 2)}\n`);
      else printPlan(plans);
      const changes = plans.some((p) => p.action !== 'unchanged');
      return flags.has('--detailed-exitcode') && changes ? 2 : 0;
    }
    if (command === 'verify') {
      const hashes = readManifestHashes(options.get('--manifest') ?? join('dist', compiled.org.name, 'manifest.json'));
      const result = await verify(compiled, aws, hashes, deployOptions);
      if (flags.has('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const d of result.differences) process.stdout.write(`✗ ${d}\n`);
        for (const d of result.drift) process.stdout.write(`  drift: ${d}\n`);
        process.stdout.write(`\nverify: ${result.differences.length === 0 ? 'deployed StackSets match the manifest' : `${result.differences.length} difference(s)`}\n`);
      }
      return result.differences.length > 0 || result.drift.some((d) => d.includes('has drifted')) ? 2 : 0;
    }
    if (command === 'destroy' && !flags.has('--yes') && !local) {
      const what = flags.has('--delete-retained') ? ' and delete its artifact buckets (emptied) and keys (scheduled, 7 days)' : '';
      if (!(await confirm(`Destroy every StackSet of ${compiled.org.file}${what}? Type 'yes': `))) {
        throw new XstackError('NOT_CONFIRMED', 'destroy needs confirmation: answer yes, or pass --yes');
      }
    }
    const result =
      command === 'deploy' ? await deploy(compiled, aws, deployOptions) : await destroy(compiled, aws, { ...deployOptions, deleteRetained: flags.has('--delete-retained') });
    if (flags.has('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else printSummary(result);
    const failed = result.stages.some((s) => s.result === 'failed');
    if (local && command === 'deploy' && !failed) await printPipelineStacks(compiled, aws, readerRole ?? compiled.org.stackSets.executionRoleName);
    return failed ? 1 : 0;
  } finally {
    await local?.stop();
  }
}
