/**
 * destroy does what its list before the question says (destroyPlan, shown by formatDestroyRemovals and approveDestroy):
 * on each shape of deployed org below, destroyPlan, then destroy with the same org file and options against the
 * StackSets layer in front of moto's server (deploy-faults.test.ts says what the layer models), and compare
 * (`disagreements`):
 * - every operation destroy makes is on a StackSet the list removes, never on one it keeps (`kept`);
 * - the StackSets destroy acts on are the list's, in its order, each once (its operations together), as far as destroy
 *   got (a failure that is not `stranded` stops the removals after it: those are `not-run`);
 * - a plain delete names only accounts listed for the StackSet that the list neither keeps the stack of (`keepStacks`)
 *   nor says no operation reaches (`unreachable`, its own or an earlier StackSet's: "other StackSets' in that account
 *   are not sent"); a RetainStacks delete only `keepStacks` accounts; no operation names an unreachable account;
 * - of a StackSet destroy reached, every `keepStacks` account gets a RetainStacks delete, every other listed account it
 *   can reach a plain one, and the StackSet a delete-stack-set unless an instance stays (unreachable) or its removal
 *   failed;
 * - destroy's summary says `kept` of the StackSets the list keeps, and of no other.
 */
import { CreateStackInstancesCommand, CreateStackSetCommand } from '@aws-sdk/client-cloudformation';
import { CreateOrganizationalUnitCommand, MoveAccountCommand, RemoveAccountFromOrganizationCommand } from '@aws-sdk/client-organizations';
import { describe, expect, it } from 'vitest';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import type { CompiledOrg } from '../src/compile';
import type { Aws } from '../src/deploy/clients';
import { deploy, destroy, destroyPlan, type DestroyOptions, type DestroyPlan } from '../src/deploy/deployer';
import type { DeployEvent, RunSummary } from '../src/deploy/events';
import { OrganizationReads } from '../src/deploy/org-reads';
import { formatDestroyRemovals } from '../src/deploy/plan-text';
import { refusedAssume } from './support/iam-models';
import { SMALL, compileYaml, failed, faultRollouts, operationLine, pollMs, serviceManaged, small, withDevelopers, withoutEnv2 } from './support/fault-rollouts';

const { env, awsVia, prepare, organization, serviceManagedDeployed, createdThroughOu, deployUntilDone } = faultRollouts();

type Operation = Extract<DeployEvent, { type: 'operation' }>;

/** What one destroyPlan, then one destroy of the same org file, said and did. */
interface Observed {
  planned: DestroyPlan;
  operations: Operation[];
  summary: RunSummary;
}

async function planThenDestroy(compiled: CompiledOrg, options: DestroyOptions = {}, aws: () => Aws = awsVia, betweenListAndRun?: () => void): Promise<Observed> {
  const planned = await destroyPlan(compiled, aws(), { pollMs, ...options });
  betweenListAndRun?.();
  // The list as approveDestroy prints it: one entry a StackSet, in the order given.
  expect(formatDestroyRemovals(planned.remove, { accountNames: new Map(), deleteRetained: false })).toHaveLength(planned.remove.length);
  const operations: Operation[] = [];
  const summary = await destroy(compiled, aws(), { pollMs, ...options, onEvent: (e) => e.type === 'operation' && operations.push(e) });
  return { planned, operations, summary };
}

/**
 * Where destroy and its list disagree, one line each (empty: they agree). The accounts no operation reaches for a
 * StackSet are those its entry says: its own `unreachable`, and those it `held`s for an earlier StackSet's (review
 * s44-destroy D2: the list once said only the earlier entry's "other StackSets' in that account are not sent").
 */
function disagreements({ planned, operations, summary }: Observed): string[] {
  const out: string[] = [];
  const stackSetOf = (stage: string) => summary.stages.find((s) => s.stage === stage)?.stackSet ?? stage.replace(/^\(removed\) /, '');
  const resultOf = (stackSet: string) => summary.stages.find((s) => s.stackSet === stackSet)?.result;
  const kept = new Set(planned.kept.map((k) => k.stackSet));
  const accountsOf = (xs: ReadonlyArray<{ account: string }> | undefined) => (xs ?? []).map((x) => x.account);
  const unreached = new Map(planned.remove.map((r) => [r.stackSet, new Set([...accountsOf(r.unreachable), ...accountsOf(r.held)])]));
  const within = (accounts: readonly string[], allowed: readonly string[]) => accounts.every((a) => allowed.includes(a));

  for (const o of operations) {
    const name = stackSetOf(o.stage);
    const r = planned.remove.find((x) => x.stackSet === name);
    if (kept.has(name)) out.push(`${operationLine(o)}: on ${name}, which the list keeps`);
    if (!r) {
      if (!kept.has(name)) out.push(`${operationLine(o)}: ${name} is not in the list`);
      continue;
    }
    const cannot = unreached.get(name)!;
    const keep = accountsOf(r.keepStacks);
    const plain = r.accounts.filter((a) => !keep.includes(a) && !cannot.has(a));
    const named = o.accounts.filter((a) => cannot.has(a));
    if (named.length > 0) out.push(`${operationLine(o)}: names ${named.join(', ')}, which the list says no operation reaches`);
    const listed = (() => {
      if (o.action === 'delete-instances') return within(o.accounts, plain);
      if (o.action === 'delete-instances (retain stacks)') return within(o.accounts, keep);
      if (o.action === 'delete-stack-set') return o.accounts.length === 0;
      // --delete-retained: never in an account whose stack stays.
      if (o.action.startsWith('delete-retained ')) return !o.accounts.some((a) => keep.includes(a));
      return false;
    })();
    if (!listed) out.push(`${operationLine(o)}: not as the list says (${r.accounts.length} instances [${r.accounts.join(', ')}], keepStacks [${keep.join(', ')}], unreachable [${[...cannot].join(', ')}])`);
  }

  // The StackSets acted on, in order, each once: the list's, but those destroy did not run (after a failure) and those
  // whose every instance no operation reaches (nothing is sent, and the StackSet stays).
  const acted = operations.map((o) => stackSetOf(o.stage)).filter((x, i, xs) => i === 0 || xs[i - 1] !== x);
  if (new Set(acted).size !== acted.length) out.push(`destroy came back to a StackSet after another: ${acted.join(' | ')}`);
  const reached = planned.remove.filter((r) => resultOf(r.stackSet) !== 'not-run' && !(r.accounts.length > 0 && r.accounts.every((a) => unreached.get(r.stackSet)!.has(a))));
  if (acted.join(' | ') !== reached.map((r) => r.stackSet).join(' | ')) out.push(`destroy acted on ${acted.join(' | ')}; the list, as far as destroy got: ${reached.map((r) => r.stackSet).join(' | ')}`);

  // Of each StackSet reached: every listed account gets the delete the list says, and the StackSet goes unless an
  // instance stays or the removal failed.
  for (const r of reached) {
    const on = operations.filter((o) => stackSetOf(o.stage) === r.stackSet);
    const sent = (action: string) => new Set(on.filter((o) => o.action === action).flatMap((o) => o.accounts));
    const cannot = unreached.get(r.stackSet)!;
    const keep = accountsOf(r.keepStacks);
    for (const a of keep.filter((x) => !sent('delete-instances (retain stacks)').has(x))) out.push(`${r.stackSet}: ${a} is listed as removed keeping its stack, and got no RetainStacks delete`);
    for (const a of r.accounts.filter((x) => !keep.includes(x) && !cannot.has(x) && !sent('delete-instances').has(x))) out.push(`${r.stackSet}: ${a} is listed to remove, and got no delete`);
    const stays = r.accounts.some((a) => cannot.has(a));
    const deleted = on.some((o) => o.action === 'delete-stack-set');
    if (stays && deleted) out.push(`${r.stackSet}: deleted, but the list says an instance of it stays`);
    if (!stays && !deleted && resultOf(r.stackSet) !== 'failed') out.push(`${r.stackSet}: listed to remove, destroy did not delete it (${resultOf(r.stackSet)})`);
  }

  // destroy's summary keeps what the list keeps, as far as destroy got.
  const keptByDestroy = summary.stages.filter((s) => s.result === 'kept').map((s) => s.stackSet);
  const keptReached = [...kept].filter((k) => resultOf(k) !== 'not-run');
  if ([...keptByDestroy].sort().join() !== keptReached.sort().join()) out.push(`destroy kept ${keptByDestroy.join(', ') || 'nothing'}; the list keeps ${[...kept].join(', ') || 'nothing'}`);
  return out;
}

const operationsOf = (o: Observed) => o.operations.map(operationLine);

describe('destroy does what its list says: every operation on a StackSet it lists, in its order, only the accounts it lists, each as it says', () => {
  it('the whole org; then, with --release-repositories, the repositories it kept', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    const o = await planThenDestroy(small);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.kept.map((k) => k.stackSet)).toEqual(['big-source-repositories']);
    expect(o.planned.remove.map((r) => r.stackSet)).toEqual(['big-source-events', 'big-pipelines', 'big-pipeline-foundation', 'big-source-identity', 'big-pipeline-identity']);
    const released = await planThenDestroy(small, { releaseRepositories: true });
    expect(failed(released.summary)).toEqual([]);
    expect(disagreements(released)).toEqual([]);
    expect(released.planned).toEqual({ remove: [{ stackSet: 'big-source-repositories', accounts: ['900000000000'] }], kept: [] });
  });

  it('stages gone from the org file (removed first, latest wave first), an account it no longer names, and a repositories StackSet gone with its stage (kept; released with --release-repositories)', async () => {
    const before = compileYaml(withDevelopers(SMALL));
    await prepare(before);
    await deployUntilDone(before, 1);
    // Developer access gone (two StackSets), env0002 gone, and the repositories' stage gone from the compile.
    const one = compileYaml(withoutEnv2(SMALL));
    const without: CompiledOrg = {
      ...one,
      stages: one.stages.filter((st) => st.id !== 'source-repositories'),
      rollout: { ...one.rollout, waves: one.rollout.waves.map((w) => w.filter((id) => id !== 'source-repositories')).filter((w) => w.length > 0) },
    };
    const o = await planThenDestroy(without);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.gone).map((r) => r.stackSet)).toEqual(['big-access-callers', 'big-access-roles']);
    expect(o.planned.kept).toEqual([{ stackSet: 'big-source-repositories', why: expect.stringContaining('holds only repositories') }]);
    expect(operationsOf(o)).toContain('pipelines: delete-instances [100000000001, 100000000002]');
    const released = await planThenDestroy(without, { releaseRepositories: true });
    expect(disagreements(released)).toEqual([]);
    expect(released.planned.remove).toEqual([{ stackSet: 'big-source-repositories', accounts: ['900000000000'], gone: true }]);
  });

  it('an account suspended while its instances are CURRENT: each of its instances goes with RetainStacks, every other plainly', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    env.proxy.suspend('100000000002');
    const notes: string[] = [];
    const o = await planThenDestroy(small, { onNote: (n) => notes.push(n) });
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.keepStacks).map((r) => r.stackSet)).toEqual(['big-pipelines', 'big-pipeline-foundation', 'big-pipeline-identity']);
    // Organizations told of the account: no note that it could not.
    expect(notes.filter((n) => n.startsWith('could not ask Organizations'))).toEqual([]);
    expect(operationsOf(o)).toContain('pipelines: delete-instances (retain stacks) [100000000002]');
  });

  it('an account suspended, and a caller Organizations will not tell of it (DescribeAccount refused): the list shows its instances deleted and says, once, that such a stack would stay; destroy skips them, then removes them with RetainStacks (review s44-destroy D1)', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    env.proxy.suspend('100000000002');
    env.proxy.denyOrganizations('DescribeAccount');
    const notes: string[] = [];
    const o = await planThenDestroy(small, { onNote: (n) => notes.push(n) });
    expect(failed(o.summary)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.keepStacks)).toEqual([]);
    expect(notes.filter((n) => n.startsWith('could not ask Organizations whether the accounts are ACTIVE (DescribeAccount: AccessDenied'))).toHaveLength(1);
    expect(notes.join('\n')).toContain("destroy then finds it skipped and removes it keeping its stack, which stays in the account (DescribeAccount answers the organization's management account and a delegated administrator only, given organizations:DescribeAccount)");
    // What the note warns of: the suspended account's instances are kept with their stacks, after the skipped plain delete.
    expect(operationsOf(o)).toContain('pipelines: delete-instances (retain stacks) [100000000002]');
  });

  it("the list and the run given one set of Organizations' answers, as the CLI gives them: each account's state read once, not once for the list and again for destroy; the run does what the list said", async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    env.proxy.suspend('100000000002');
    const asked: string[] = [];
    const organization = new OrganizationReads(() => {
      const client = awsVia().organizations();
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'DescribeAccountCommand') asked.push((args.input as { AccountId: string }).AccountId);
          return next(args);
        },
        { step: 'initialize' },
      );
      return client;
    });
    // Organizations stops answering once the list is read: a run that asked again could not tell the account is
    // suspended, and would first send it a plain delete (StackSets skips it), as the D1 case above does.
    const o = await planThenDestroy(small, { organization }, awsVia, () => env.proxy.denyOrganizations('DescribeAccount')).finally(() => env.proxy.allowOrganizations('DescribeAccount'));
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked).toEqual([...new Set(asked)]);
    expect(o.planned.remove.filter((r) => r.keepStacks).map((r) => r.stackSet)).toEqual(['big-pipelines', 'big-pipeline-foundation', 'big-pipeline-identity']);
    expect(operationsOf(o)).toContain('pipelines: delete-instances (retain stacks) [100000000002]');
    expect(operationsOf(o)).toContain('pipelines: delete-instances [100000000001]');
  });

  it("an account suspended, with --delete-retained: RetainStacks there as listed, and nothing retained deleted in that account (its stacks stay with what they hold)", async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    const account = '100000000002';
    env.proxy.suspend(account);
    // STS refuses every role in the suspended account (the layer's suspension covers StackSets and Organizations only).
    const o = await planThenDestroy(small, { deleteRetained: true }, () => refusedAssume(awsVia(), new RegExp(`::${account}:role/`)));
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.keepStacks).map((r) => r.stackSet)).toEqual(['big-pipelines', 'big-pipeline-foundation', 'big-pipeline-identity']);
    expect(operationsOf(o).filter((x) => /^pipeline-foundation: delete-retained /.test(x)).length).toBeGreaterThan(0);
  });

  /** The small org deployed, then destroyed while deletes in `account` fail: destroy stops at its first StackSet with an instance there, left INOPERABLE. */
  async function stoppedByFailedDelete(account: string): Promise<Observed> {
    await prepare(small);
    await deployUntilDone(small, 1);
    env.proxy.failIn(account);
    const o = await planThenDestroy(small);
    expect(disagreements(o)).toEqual([]);
    expect(failed(o.summary).map((x) => x.stackSet)).toEqual(['big-pipelines']);
    expect(o.summary.stages.filter((x) => x.result === 'not-run').length).toBeGreaterThan(0);
    expect(operationsOf(o)).toContain('pipelines: delete-instances [100000000001, 100000000002]');
    return o;
  }

  it('an INOPERABLE instance (a failed delete stopped an earlier destroy): with --retain-failed-stacks, destroy removes it with RetainStacks, as listed', async () => {
    const account = '100000000002';
    await stoppedByFailedDelete(account);
    env.proxy.failIn(account, false);
    const o = await planThenDestroy(small, { retainFailedStacks: true });
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.keepStacks)).toEqual([{ stackSet: 'big-pipelines', accounts: [account], keepStacks: [{ account, why: expect.stringContaining('INOPERABLE') }] }]);
    expect(operationsOf(o)).toContain(`pipelines: delete-instances (retain stacks) [${account}]`);
  });

  it('an INOPERABLE instance without --retain-failed-stacks: listed as a plain removal; its delete still failing, sent again and destroy stops there; passing, deleted with its stack', async () => {
    const account = '100000000002';
    await stoppedByFailedDelete(account);
    const again = await planThenDestroy(small);
    expect(disagreements(again)).toEqual([]);
    expect(again.planned.remove.filter((r) => r.keepStacks)).toEqual([]);
    expect(failed(again.summary).map((x) => x.stackSet)).toEqual(['big-pipelines']);
    expect(operationsOf(again)).toContain(`pipelines: delete-instances [${account}]`);
    env.proxy.failIn(account, false);
    const o = await planThenDestroy(small);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.keepStacks)).toEqual([]);
    expect(operationsOf(o)).toContain(`pipelines: delete-instances [${account}]`);
  });

  it('SERVICE_MANAGED, an account gone from the organization: its instances listed as no operation reaching them, none sent, every other StackSet and instance removed', async () => {
    const { organizations, accounts, options, compiled } = await serviceManagedDeployed();
    const leaver = accounts[2].id;
    await organizations.send(new RemoveAccountFromOrganizationCommand({ AccountId: leaver }));
    const o = await planThenDestroy(compiled, options);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.unreachable).length).toBeGreaterThan(0);
    expect(o.summary.stages.filter((x) => x.result === 'not-run')).toEqual([]);
    expect(failed(o.summary).every((x) => x.stranded?.join() === leaver)).toBe(true);
  });

  it('SERVICE_MANAGED, an account moved out of the OU its pipelines instance was created through: that instance listed as no operation reaching it, none sent, nor for the earlier StackSets\' instances there, each listed as held', async () => {
    const { organizations, root, placed } = await organization();
    const accounts = [await placed('source'), await placed('dev'), await placed('prod'), await placed('test')];
    const moved = accounts[3];
    const options = { pollMs, outputReaderRoleName: 'xstack-output-reader' };
    const compiled = compileYaml(serviceManaged(generateOrgYaml(3), accounts));
    expect(failed(await deploy(compiled, awsVia(), options))).toEqual([]);
    await createdThroughOu('big-pipelines', root, moved);
    const elsewhere = (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId: root, Name: 'elsewhere' }))).OrganizationalUnit!.Id!;
    await organizations.send(new MoveAccountCommand({ AccountId: moved.id, SourceParentId: moved.ou, DestinationParentId: elsewhere }));
    const o = await planThenDestroy(compiled, options);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.remove.filter((r) => r.unreachable).map((r) => [r.stackSet, r.unreachable!.map((u) => u.account)])).toEqual([['big-pipelines', [moved.id]]]);
    // The earlier StackSets' instances there, each held in its own entry (review s44-destroy D2).
    expect(o.planned.remove.filter((r) => r.held).map((r) => [r.stackSet, r.held])).toEqual(['big-pipeline-foundation', 'big-pipeline-identity'].map((x) => [x, [{ account: moved.id, by: 'big-pipelines' }]]));
    expect(formatDestroyRemovals(o.planned.remove, { accountNames: new Map(), deleteRetained: false }).join('\n')).toContain(
      `      ✗ instance destroy holds, not removing it, so the StackSet stays: ${moved.id} (not in the org file): big-pipelines's instance there stays (no operation reaches it), and its stack may still use what this one holds`,
    );
    expect(failed(o.summary).map((x) => [x.stackSet, x.stranded])).toEqual(['big-pipelines', 'big-pipeline-foundation', 'big-pipeline-identity'].map((x) => [x, [moved.id]]));
    expect(o.summary.stages.filter((x) => x.result === 'not-run')).toEqual([]);
  });

  it("a StackSet of the org's name another tool made, with an instance: kept, nothing sent to it", async () => {
    await prepare(small);
    const name = 'big-pipelines';
    const cfn = awsVia(env.local.endpoint).cloudFormation();
    await cfn.send(new CreateStackSetCommand({ StackSetName: name, TemplateBody: 'Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n' }));
    await cfn.send(new CreateStackInstancesCommand({ StackSetName: name, Accounts: ['100000000001'], Regions: ['us-east-1'] }));
    // Its stage fails (the last wave's), every other is deployed.
    expect(failed(await deploy(small, awsVia(), { pollMs })).map((x) => x.stackSet)).toEqual([name]);
    const o = await planThenDestroy(small);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.planned.kept.map((k) => k.stackSet).sort()).toEqual([name, 'big-source-repositories']);
  });
});
