/**
 * plan says what deploy will do (review s43-plan's invariant, widened in s44): on each shape of change below, plan,
 * then deploy the same org file against the StackSets layer in front of moto's server (deploy-faults.test.ts says
 * what the layer models), and compare (`disagreements`):
 * - every operation deploy makes is one plan listed: its kind and its accounts;
 * - every StackSet plan changes gets an operation (of the stages deploy ran);
 * - deploy's waves are plan's: each StackSet in the wave plan gives it, one whose update plan says runs last
 *   (`runsLast`) in a wave after every other;
 * - an instance plan removes first (`removeFirst`) is deleted in its stage's wave, before its template update; one
 *   plan removes (`removeAccounts`) in the removals after every wave;
 * - a StackSet plan says waits for others of its family (`movesAfter`) starts its template update after their last
 *   request; and one deploy holds back until another of its wave has ended is one plan said waits for it (a move, or
 *   a part of its family with instances to apply again, moves.ts settlingOrder). Read from the layer's requests,
 *   in waves after the first only: there every stage's first request is its DescribeStackSet the moment it starts.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import type { CompiledOrg } from '../src/compile';
import { deploy, plan, type StackSetPlan } from '../src/deploy/deployer';
import type { DeployEvent, RunSummary } from '../src/deploy/events';
import { FAMILY_ORG, FAMILY_ORG_TWO_ACCOUNTS, REGION, SMALL, compileYaml, failed, faultRollouts, operationLine, pollMs, serviceManaged, small, withDevelopers, withHalfAtATime, withLayout, withoutEnv2 } from './support/fault-rollouts';
import { createStackSetRoles } from './support/stackset-roles';

const { env, awsVia, awsOnce, prepare, organization, smallWithInstanceRole, deployUntilDone } = faultRollouts();

type Options = { pollMs: number; outputReaderRoleName?: string };

/** What one plan, then one deploy of the same org file, said and did. */
interface Observed {
  plans: StackSetPlan[];
  /** deploy's events, each with how many of the run's requests the layer had answered when it came. */
  events: Array<{ event: DeployEvent; at: number }>;
  /** The layer's requests from deploy's start. */
  requests: typeof env.proxy.requests;
  summary: RunSummary;
}

async function planThenDeploy(compiled: CompiledOrg, options: Options = { pollMs }, aws = awsVia): Promise<Observed> {
  const plans = await plan(compiled, aws(), options);
  const from = env.proxy.requests.length;
  const events: Observed['events'] = [];
  const summary = await deploy(compiled, aws(), { ...options, onEvent: (event) => events.push({ event, at: env.proxy.requests.length - from }) });
  return { plans, events, requests: env.proxy.requests.slice(from), summary };
}

type Operation = Extract<DeployEvent, { type: 'operation' }>;

/** Where deploy and its plan disagree, one line each (empty: they agree). */
function disagreements({ plans, events, requests, summary }: Observed): string[] {
  const out: string[] = [];
  const planOf = (stage: string) => plans.find((p) => p.stage === stage || (p.action === 'delete' && `(removed) ${p.stackSet}` === stage));
  const within = (accounts: readonly string[], allowed: readonly string[]) => accounts.every((a) => allowed.includes(a));
  const retried = (p: StackSetPlan) => p.retryAccounts.filter((r) => !r.cannotUpdate && !r.unreachable).map((r) => r.account);
  const recreated = (p: StackSetPlan) => p.retryAccounts.filter((r) => r.recreate).map((r) => r.account);

  // Each operation with the wave it came in (0: the removals after every wave), by the events before it.
  const waveEvents = events.flatMap(({ event, at }) => (event.type === 'wave' ? [{ ...event, at }] : []));
  const removalsAt = events.find(({ event }) => event.type === 'removals')?.at;
  let wave = -1;
  const operations: Array<Operation & { wave: number; index: number; afterFailedUpdate: readonly string[] }> = [];
  // A template update that failed for some instances (CloudFormation keeps the template) is followed in the same run by
  // their update again: deploy's answer to a failure no plan foresees, for the accounts the update was sent to.
  const failedUpdate = new Map<string, readonly string[]>();
  events.forEach(({ event }, index) => {
    if (event.type === 'wave') wave = event.wave;
    else if (event.type === 'removals') wave = 0;
    else if (event.type === 'waiting' && event.reason.startsWith('template update failed for some instances')) {
      failedUpdate.set(event.stage, operations.findLast((o) => o.stage === event.stage && o.action === 'update-template')?.accounts ?? []);
    } else if (event.type === 'operation') operations.push({ ...event, wave, index, afterFailedUpdate: failedUpdate.get(event.stage) ?? [] });
  });
  const said = operationLine;

  // Every operation is one plan listed, of its kind, for its accounts, in its phase.
  for (const o of operations) {
    const p = planOf(o.stage);
    if (!p) {
      out.push(`${said(o)}: no plan for the stage`);
      continue;
    }
    const listed = (() => {
      switch (o.action) {
        case 'create-stack-set':
          return p.action === 'create';
        case 'delete-stack-set':
          return p.action === 'delete';
        case 'update-template':
          // To the accounts plan says it updates (updateAccounts: every instance kept but an INOPERABLE one), all of them.
          return (p.templateChanged || p.rolesChange !== undefined || p.tagsChange !== undefined) && within(o.accounts, p.updateAccounts ?? []) && within(p.updateAccounts ?? [], o.accounts);
        case 'create-instances':
          return within(o.accounts, [...p.addAccounts, ...retried(p)]);
        case 'update-instances':
          return within(o.accounts, [...retried(p), ...o.afterFailedUpdate]);
        case 'delete-instances (stack deleted outside StackSets)':
          return within(o.accounts, recreated(p));
        case 'delete-instances (retain stacks)':
          // RetainStacks ones among its keepStacks.
          return within(o.accounts, (p.keepStacks ?? []).map((k) => k.account));
        case 'delete-instances':
          return within(o.accounts, [...p.removeAccounts, ...(p.removeFirst ?? [])]);
        default:
          return false;
      }
    })();
    if (!listed) out.push(`${said(o)}: not in its plan`);
    // Removals: a removed StackSet's, and instances plan removes after every wave, come after every wave; an early
    // removal (removeFirst) in its stage's wave, before its template update.
    if (o.action.startsWith('delete-instances') && o.action !== 'delete-instances (stack deleted outside StackSets)') {
      const first = within(o.accounts, p.removeFirst ?? []) && p.action !== 'delete';
      if (first !== (o.wave > 0)) out.push(`${said(o)}: in ${o.wave > 0 ? `wave ${o.wave}` : 'the removals after every wave'}, but plan removes ${first ? 'first, before its template update' : 'after every wave'}`);
      const update = operations.find((u) => u.stage === o.stage && u.action === 'update-template');
      if (first && update && update.index < o.index) out.push(`${said(o)}: after its template update, but plan removes it first`);
    } else if ((o.wave === 0) !== (o.action === 'delete-stack-set')) out.push(`${said(o)}: in ${o.wave > 0 ? `wave ${o.wave}` : 'the removals after every wave'}`);
  }

  // Every StackSet plan changes gets an operation, of the stages deploy ran. After a failed stage deploy stops before
  // the removals: a change that is only instances to remove after every wave is not made then.
  const stopped = failed(summary).length > 0;
  for (const p of plans.filter((x) => x.action !== 'unchanged')) {
    const result = summary.stages.find((s) => s.stage === p.stage || s.stage === `(removed) ${p.stackSet}`)?.result;
    if (result === undefined) out.push(`${p.stackSet}: plan says ${p.action}, and deploy's summary has no stage of it`);
    if (result === 'not-run' || result === undefined) continue;
    const inWaves = p.templateChanged || p.rolesChange || p.tagsChange || p.addAccounts.length > 0 || retried(p).length > 0 || (p.removeFirst ?? []).length > 0;
    if (stopped && !inWaves) continue;
    // A stage plan says fails for a retained name in the way of a create (plan-text's ✗) fails before any operation,
    // naming each of them (its type and name, as plan gives them first).
    const reasons = summary.stages.find((s) => s.stage === p.stage)?.reasons.join('\n') ?? '';
    if (result === 'failed' && p.collisions.length > 0 && p.collisions.every((c) => reasons.includes(c.split(' ').slice(0, 2).join(' ')))) continue;
    if (!operations.some((o) => planOf(o.stage) === p)) out.push(`${p.stackSet}: plan says ${p.action}, deploy made no operation (${result})`);
  }

  // deploy's waves: each compiled wave's StackSets but those plan says run last, then those, a wave for each compiled
  // wave that has any; as far as deploy got.
  const inPlan = plans.filter((p) => p.action !== 'delete');
  const numbers = [...new Set(inPlan.map((p) => p.wave!))].sort((a, b) => a - b);
  const expected = [false, true].flatMap((last) => numbers.map((n) => inPlan.filter((p) => p.wave === n && !!p.runsLast === last).map((p) => p.stage).sort())).filter((w) => w.length > 0);
  const got = waveEvents.map((w) => [...w.stages].sort());
  const shown = (ws: string[][]) => ws.map((w) => w.join(' ')).join(' | ');
  if (got.length === 0 || shown(got) !== shown(expected.slice(0, got.length)) || (!stopped && got.length !== expected.length)) out.push(`deploy's waves ${shown(got)}; plan's ${shown(expected)}`);

  // Within a wave after the first: a StackSet plan says waits for others (movesAfter) updates its template after their
  // last request; and one that starts only after another has ended is one plan said waits for it.
  const familyOf = (stackSet: string) => stackSet.replace(/-\d+$/, '');
  waveEvents.forEach((w, i) => {
    const end = waveEvents[i + 1]?.at ?? removalsAt ?? requests.length;
    const log = requests.slice(w.at, end);
    const first = (name: string, action?: string) => log.findIndex((r) => r.stackSet === name && (!action || r.action === action));
    const last = (name: string) => log.findLastIndex((r) => r.stackSet === name);
    for (const id of w.stages) {
      const p = planOf(id)!;
      const update = first(p.stackSet, 'UpdateStackSet');
      for (const before of p.movesAfter ?? []) if (update >= 0 && last(before) > update) out.push(`${p.stackSet}: its template update before ${before}'s last request, but plan says it waits for it`);
      if (i === 0) continue;
      const start = first(p.stackSet);
      for (const other of w.stages.filter((x) => x !== id)) {
        const q = planOf(other)!;
        const mutated = log.some((r) => r.stackSet === q.stackSet && !/^(Describe|List)/.test(r.action));
        if (!mutated || start < 0 || start < last(q.stackSet)) continue;
        const settling = familyOf(q.stackSet) === familyOf(p.stackSet) && (retried(q).length > 0 || (q.removeFirst ?? []).length > 0);
        if (!(p.movesAfter ?? []).includes(q.stackSet) && !settling) out.push(`${p.stackSet}: started after ${q.stackSet} ended (wave ${w.wave}), but plan says it waits for nothing of it`);
      }
    }
  });
  return out;
}

/** The observation's operations, `stage: action [accounts]` each, in order. */
const operationsOf = (o: Observed) => o.events.flatMap(({ event: e }) => (e.type === 'operation' ? [operationLine(e)] : []));
const TAGS = 'tags:\n  CostCenter: "4711"\n';

describe('plan says what deploy does: every operation one plan listed, every change planned made, in the order plan gives', () => {
  it('a template change, an account added, one removed while suspended, a tag change (review s43-plan: the invariant)', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    env.proxy.suspend('100000000002');
    // Account 2 leaves (suspended, its instances CURRENT), account 3 comes, the pipelines' template and the tags change.
    const target = compileYaml(`${withoutEnv2(withHalfAtATime(generateOrgYaml(3)))}${TAGS}`);
    expect(target.org.accounts.map((a) => a.id)).not.toContain('100000000002');
    const o = await planThenDeploy(target);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(operationsOf(o)).toContain('pipelines: delete-instances (retain stacks) [100000000002]');
    expect(operationsOf(o)).toContain('pipelines: create-instances [100000000003]');
  });

  it('a pipeline moved to another part of its family, in its wave: the part it enters waits for the part it leaves, as plan says (movesAfter)', async () => {
    const before = withLayout(FAMILY_ORG, ['app-a'], ['app-b', 'app-c']);
    await prepare(before);
    await deployUntilDone(before, 1);
    const after = withLayout(FAMILY_ORG, ['app-a', 'app-b'], ['app-c']);
    const o = await planThenDeploy(after);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.find((p) => p.stackSet === 'big-pipelines')?.movesAfter).toEqual(['big-pipelines-2']);
    expect(after.rollout.waveOf.get('pipelines')).toBeGreaterThan(1);
  });

  it("a pipeline that was its account's last in the part it leaves: plan removes that instance first (removeFirst), and deploy does, in the wave, before the part's template update", async () => {
    const before = withLayout(FAMILY_ORG_TWO_ACCOUNTS, ['app-a'], ['app-b', 'app-c']);
    await prepare(before);
    await deployUntilDone(before, 1);
    const after = withLayout(FAMILY_ORG_TWO_ACCOUNTS, ['app-a', 'app-b'], ['app-c']);
    const o = await planThenDeploy(after);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.find((p) => p.stackSet === 'big-pipelines-2')).toMatchObject({ removeFirst: ['100000000002'], removeAccounts: [] });
    expect(operationsOf(o)).toContain('pipelines-2: delete-instances [100000000002]');
  });

  it("an update deferred after the last wave (switching to deploymentTargets.instanceRoles: pipeline-identity deletes a role pipeline-foundation's policy is attached to): plan says runsLast, and deploy's waves put it last", async () => {
    await smallWithInstanceRole();
    const switched = compileYaml(`${SMALL}deploymentTargets:\n  instanceRoles: [app-server]\n`);
    // awsOnce: moto's failed key update below answers DescribeStacks with HTTP 500, the same on every attempt.
    const o = await planThenDeploy(switched, { pollMs }, awsOnce);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.find((p) => p.stage === 'pipeline-identity')?.runsLast).toMatch(/^its template update runs after the last wave/);
    // moto cannot update pipeline-foundation's KMS key (deploy-faults-changes says why): the run stops in its wave,
    // before the deferred one. What is compared is what deploy got to: its waves, as plan gives them, and its operations.
    expect(failed(o.summary).map((x) => x.stage)).toEqual(['pipeline-foundation']);
    expect(o.events.filter(({ event }) => event.type === 'wave').map(({ event }) => event.type === 'wave' && event.of)).toContain(switched.rollout.waves.length + 1);
  });

  it('SERVICE_MANAGED (targets through OUs): an account added, one removed, a template change and a tag change', async () => {
    const { placed } = await organization();
    const accounts = [await placed('source'), await placed('dev'), await placed('prod'), await placed('test')];
    const options = { pollMs, outputReaderRoleName: 'xstack-output-reader' };
    expect(failed(await deploy(compileYaml(serviceManaged(generateOrgYaml(2), accounts)), awsVia(), options))).toEqual([]);
    // prod leaves, test comes.
    const target = compileYaml(`${serviceManaged(withoutEnv2(withHalfAtATime(generateOrgYaml(3))), accounts)}${TAGS}`);
    expect(target.org.accounts.map((a) => a.id)).not.toContain(accounts[2].id);
    const o = await planThenDeploy(target, options);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(operationsOf(o)).toContain(`pipelines: delete-instances [${accounts[2].id}]`);
    expect(operationsOf(o)).toContain(`pipelines: create-instances [${accounts[3].id}]`);
  });

  /** The small org deployed, then its tag change failed in the first wave: pipeline-identity in one account (the other cancelled: failure tolerance 0) and the repositories' StackSet; the later waves not run. */
  async function tagChangeFailedInFirstWave() {
    await prepare(small);
    await deployUntilDone(small, 1);
    const tagged = compileYaml(`${SMALL}${TAGS}`);
    env.proxy.failIn('100000000001', true, 'big-pipeline-identity');
    env.proxy.failIn('900000000000', true, 'big-source-repositories');
    expect(failed(await deploy(tagged, awsVia(), { pollMs })).map((x) => x.stackSet).sort()).toEqual(['big-pipeline-identity', 'big-source-repositories']);
    env.proxy.failIn('100000000001', false, 'big-pipeline-identity');
    env.proxy.failIn('900000000000', false, 'big-source-repositories');
    return tagged;
  }

  it('an instance to apply again whose stack was deleted outside StackSets since: removed and created again (its template keeps no named resource)', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    const tagged = compileYaml(`${SMALL}${TAGS}`);
    // The tag change fails in the last wave for the source account's event rules, whose stack is then deleted by hand.
    env.proxy.failIn('900000000000', true, 'big-source-events');
    expect(failed(await deploy(tagged, awsVia(), { pollMs })).map((x) => x.stackSet)).toEqual(['big-source-events']);
    env.proxy.failIn('900000000000', false, 'big-source-events');
    await env.proxy.stackDeletedByHand('big-source-events', '900000000000', REGION);
    expect(env.proxy.keptByHandDeletes).toEqual([]);
    const o = await planThenDeploy(tagged);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.find((p) => p.stage === 'source-events')?.retryAccounts.map((r) => [r.account, r.status, !!r.recreate])).toEqual([['900000000000', 'OUTDATED', true]]);
    expect(operationsOf(o).sort()).toEqual([
      'source-events: create-instances [900000000000]',
      'source-events: delete-instances (stack deleted outside StackSets) [900000000000]',
    ]);
  });

  it('the repositories stack deleted outside StackSets: its repositories stay (RetainExceptOnCreate), so plan names them in the way of the instance to create again and deploy refuses before touching it, the two agreeing (review s48-layers L1)', async () => {
    const tagged = await tagChangeFailedInFirstWave();
    await env.proxy.stackDeletedByHand('big-source-repositories', '900000000000', REGION);
    expect(env.proxy.keptByHandDeletes).toEqual(['900000000000/app', '900000000000/lib']);
    const o = await planThenDeploy(tagged);
    const repositories = o.plans.find((p) => p.stage === 'source-repositories')!;
    expect(repositories.retryAccounts).toEqual([expect.objectContaining({ account: '900000000000', recreate: true })]);
    expect(repositories.collisions).toEqual([expect.stringMatching(/^AWS::CodeCommit::Repository app /), expect.stringMatching(/^AWS::CodeCommit::Repository lib /)]);
    const reason = failed(o.summary).find((x) => x.stackSet === 'big-source-repositories')?.reasons.join('\n') ?? '';
    expect(reason).toContain('big-source-repositories: cannot create instances while what is left of an earlier stack (a destroy, a removal, or a stack deleted outside StackSets) holds their names:\n');
    expect(reason).toMatch(/AWS::CodeCommit::Repository app \(\w+\) in account 900000000000\n/);
    expect(reason).toContain('or its stack was deleted outside StackSets');
    expect(o.requests.filter((r) => r.stackSet === 'big-source-repositories' && /^(Delete|Create)StackInstances$/.test(r.action))).toEqual([]);
    // The first wave's other StackSet, OUTDATED after the failed update in its first account, is applied again beside it
    // there (the account the failure cancelled was applied in the failed run's retry, before the failed one's: review
    // s50-deployer D2).
    expect(o.plans.find((p) => p.stage === 'pipeline-identity')?.retryAccounts.map((r) => [r.account, r.status, !!r.recreate])).toEqual([['100000000001', 'OUTDATED', false]]);
    expect(operationsOf(o).filter((x) => x.startsWith('pipeline-identity:'))).toEqual(['pipeline-identity: update-instances [100000000001]']);
    // The later waves' tag change, which the failed first wave held back, is planned (and not run: the run stops there).
    expect(o.plans.filter((p) => p.tagsChange).map((p) => p.stage).sort()).toEqual(small.stages.filter((st) => small.rollout.waveOf.get(st.id)! > 1).map((st) => st.id).sort());
    expect(disagreements(o)).toEqual([]);
  });

  it('stages removed from the org file (their StackSets deleted) with an account (its instances deleted), after every wave', async () => {
    const before = compileYaml(withDevelopers(SMALL));
    await prepare(before);
    await deployUntilDone(before, 1);
    const o = await planThenDeploy(compileYaml(generateOrgYaml(1)));
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.filter((p) => p.action === 'delete').map((p) => p.stackSet).sort()).toEqual(['big-access-callers', 'big-access-roles']);
    expect(operationsOf(o)).toContain('(removed) big-access-roles: delete-stack-set []');
    expect(operationsOf(o)).toContain('pipelines: delete-instances [100000000002]');
  });

  it('the administration role renamed: every StackSet updated for its roles alone', async () => {
    await prepare(small);
    await deployUntilDone(small, 1);
    const renamed = compileYaml(`${SMALL}stackSets:\n  administrationRoleName: XsAdmin\n`);
    const direct = awsVia(env.local.endpoint);
    await createStackSetRoles(renamed.org, direct, (await direct.sts().send(new GetCallerIdentityCommand({}))).Account!);
    const o = await planThenDeploy(renamed);
    expect(failed(o.summary)).toEqual([]);
    expect(disagreements(o)).toEqual([]);
    expect(o.plans.every((p) => p.rolesChange !== undefined && !p.templateChanged)).toBe(true);
  });
});
