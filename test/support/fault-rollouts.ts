/**
 * What the rollout tests through the StackSets layer share (deploy-faults*.test.ts): the small org they deploy, and,
 * per test file, moto's server with the layer in front of it and the steps every test takes on them (reset and
 * prepare, deploy until done, check that it converged). Three files, so that vitest runs them side by side.
 */
import { ListStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { expect } from 'vitest';
import { generateOrgYaml } from '../../bench/generate-org.mjs';
import { compileOrg, type CompiledOrg } from '../../src/compile';
import { Aws, CallLog, MUTATING_COMMANDS } from '../../src/deploy/clients';
import { deploy } from '../../src/deploy/deployer';
import type { RunSummary } from '../../src/deploy/events';
import { LOCAL_CREDENTIALS } from '../../src/deploy/local';
import { callAs, type StackSetContext } from '../../src/deploy/stacksets';
import { parseOrg } from '../../src/org/load';
import { useLocalAws } from './local-aws';
import { createStackSetRoles } from './stackset-roles';
import type { Faults } from './stacksets-proxy';

export const REGION = 'us-east-1';
export const compileYaml = (text: string) => compileOrg(parseOrg(text, 'generated.yaml'));
/** Two pipeline accounts, one source account: 8 StackSets in 5 waves. */
export const SMALL = generateOrgYaml(2);
export const small = compileYaml(SMALL);

/**
 * An org file whose CodeDeploy deployments run half the targets at a time: a template change to every pipeline
 * account's pipelines stage, and nothing else. Throws on a text with no CodeDeploy deploy stage to change.
 */
export function withHalfAtATime(text: string): string {
  const changed = text.replace('      type: codedeploy\n', '      type: codedeploy\n      deploymentConfig: CodeDeployDefault.HalfAtATime\n');
  if (changed === text) throw new Error('withHalfAtATime: no CodeDeploy deploy stage in the org file');
  return changed;
}
export const pollMs = 5;

export const failed = (s: RunSummary) => s.stages.filter((x) => x.result === 'failed');

/** An org file with developer access from a tools account: the access-roles stage, which the org without it does not have. */
export const withDevelopers = (text: string) =>
  `${text.replace('repositories:', '  tools:\n    id: "800000000000"\n    role: tools\nrepositories:')}access:\n  developers:\n    assumedBy:\n      - account: tools\n        roleNames: ["Developer*"]\n    requireMfa: false\n`;
/** A generated org file without its `lib` repository and pipeline. */
export const withoutLib = (text: string) =>
  text.replace(/  lib:\n    account: source\n/, '').replace(/  lib:\n    repository: lib\n    branches:\n(      .*\n)+    deploy:\n(      .*\n)+/, '');

/** Registers the file's hooks (useLocalAws) and gives the steps bound to its local AWS. */
export function faultRollouts() {
  // No reset before each test: each test's prepare() resets them, with the faults it runs under.
  const env = useLocalAws({ proxy: true, reset: false });

  const awsVia = (endpoint = env.endpoint, region = REGION) => env.aws(region, endpoint);

  async function prepare(compiled: CompiledOrg, faults: Faults = { seed: 1 }): Promise<void> {
    await env.local.reset();
    env.proxy.reset(faults);
    const aws = awsVia(env.local.endpoint);
    await createStackSetRoles(compiled.org, aws, (await aws.sts().send(new GetCallerIdentityCommand({}))).Account!);
  }

  /** A context for operations on a StackSet named `probe` that the tests create themselves (the small org's settings). */
  const probeContext = async (cfn: StackSetContext['cfn'], more: Partial<StackSetContext> = {}): Promise<StackSetContext> => ({
    cfn,
    name: 'probe',
    region: REGION,
    settings: small.org.stackSets,
    tags: [],
    partition: 'aws',
    adminAccountId: (await awsVia().sts().send(new GetCallerIdentityCommand({}))).Account,
    pollMs,
    templateSource: async (body) => ({ TemplateBody: body }),
    ...more,
  });

  /** A repository in the source account outside any stack, as CloudFormation keeps one it no longer manages (moto makes none from a template). */
  async function keptRepository(name: string): Promise<void> {
    const aws = awsVia(env.local.endpoint);
    const { CodeCommitClient, CreateRepositoryCommand } = await import('@aws-sdk/client-codecommit');
    const source = await aws.assume('arn:aws:iam::900000000000:role/AWSCloudFormationStackSetExecutionRole');
    // moto's answer to CreateRepository carries a date the SDK cannot parse; the repository is made all the same.
    await new CodeCommitClient({ region: REGION, endpoint: env.local.endpoint, credentials: source }).send(new CreateRepositoryCommand({ repositoryName: name })).catch((e: Error) => {
      if (!/Deserialization error/.test(e.message)) throw e;
    });
  }

  /** Re-runs deploy until it succeeds; returns how many runs it took. */
  async function deployUntilDone(compiled: CompiledOrg, maxRuns: number, options: { pollMs: number; outputReaderRoleName?: string; retainFailedStacks?: boolean } = { pollMs }): Promise<{ runs: number; last: RunSummary; reasons: string[] }> {
    const reasons: string[] = [];
    for (let runs = 1; runs <= maxRuns; runs++) {
      const last = await deploy(compiled, awsVia(), options);
      if (failed(last).length === 0) return { runs, last, reasons };
      reasons.push(...failed(last).flatMap((s) => s.reasons));
    }
    throw new Error(`deploy did not converge in ${maxRuns} runs:\n${reasons.join('\n')}`);
  }

  /** Every desired instance is CURRENT and no stack was created twice in moto. */
  async function expectConverged(compiled: CompiledOrg, options: { outputReaderRoleName?: string } = {}): Promise<void> {
    const cfn = awsVia().cloudFormation();
    for (const stage of compiled.stages) {
      const name = `${compiled.org.prefix}-${stage.id}`;
      const out = await cfn.send(new ListStackInstancesCommand({ StackSetName: name, ...callAs(compiled.org.stackSets) }));
      const byAccount = new Map((out.Summaries ?? []).map((s) => [s.Account, s.Status]));
      for (const account of stage.targets) expect(byAccount.get(account.id), `${name} @ ${account.id}`).toBe('CURRENT');
      expect(byAccount.size, name).toBe(stage.targets.length);
    }
    expect(env.proxy.creations.length).toBe(new Set(env.proxy.creations).size);
    expect(env.proxy.busy).toBe(0);
    const again = await deploy(compiled, awsVia(), { pollMs, ...options });
    expect(again.mutatingCalls).toBe(0);
  }

  /** Calls the layer saw on one StackSet, from its first mutating one refused with `error`. */
  const callsFrom = (stackSet: string, error: string) => {
    const on = env.proxy.requests.filter((r) => r.stackSet === stackSet);
    return on.slice(on.findIndex((r) => r.error === error));
  };

  /** An Aws whose CloudFormation calls stop for good after the n-th mutating call has been answered: the process "dies" there. */
  const killingAws = (after: number) => new KillingAws(env.proxy.endpoint, after);

  return { env, awsVia, prepare, probeContext, keptRepository, deployUntilDone, expectConverged, callsFrom, killingAws };
}

class KillingAws extends Aws {
  killed = false;
  private mutating = 0;
  constructor(
    endpoint: string,
    private readonly after: number,
  ) {
    super({ region: REGION, endpoint, credentials: LOCAL_CREDENTIALS }, new CallLog());
  }
  override cloudFormation(...args: Parameters<Aws['cloudFormation']>) {
    const client = super.cloudFormation(...args);
    client.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, context: { commandName: string }) => async (a: unknown) => {
        if (this.killed) throw new Error('killed');
        const out = await next(a);
        if (MUTATING_COMMANDS.has(context.commandName) && ++this.mutating >= this.after) this.killed = true;
        return out;
      }) as never,
      { step: 'initialize', name: 'kill', priority: 'high' } as never,
    );
    return client;
  }
}
