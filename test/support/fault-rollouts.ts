/**
 * What the rollout tests through the StackSets layer share (deploy-faults*.test.ts): the small org they deploy, and,
 * per test file, moto's server with the layer in front of it and the steps every test takes on them (reset and
 * prepare, deploy until done, check that it converged). Three files, so that vitest runs them side by side.
 */
import { CreateStackInstancesCommand, DeleteStackInstancesCommand, DescribeStackSetOperationCommand, ListStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { CreateAccountCommand, CreateOrganizationalUnitCommand, CreateOrganizationCommand, ListRootsCommand, MoveAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
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
/** generateOrgYaml's text without the pipeline account env0002 (100000000002) and its branches. */
export const withoutEnv2 = (text: string) => text.replace(/  env0002:\n(    .*\n)+/, '').replace(/      env0002: \S+\n/g, '');
/** A run's operation event as one line, `stage: action [accounts]`, as the invariant tests compare and print them. */
export const operationLine = (o: { stage: string; action: string; accounts: readonly string[] }) => `${o.stage}: ${o.action} [${o.accounts.join(', ')}]`;
/** The manifest's SHA-256 of each file the compile writes, by path: what verify compares with (`xstack verify ORG_FILE` reads them so). */
export const manifestHashes = (compiled: CompiledOrg): Map<string, string> =>
  new Map(Object.entries((JSON.parse(compiled.files.get('manifest.json')!) as { files: Record<string, { sha256: string }> }).files).map(([path, f]) => [path, f.sha256]));
/** A generated org file without its `lib` repository and pipeline. */
export const withoutLib = (text: string) =>
  text.replace(/  lib:\n    account: source\n/, '').replace(/  lib:\n    repository: lib\n    branches:\n(      .*\n)+    deploy:\n(      .*\n)+/, '');

/** Three pipelines of one source account in one pipeline account, for a layout (withLayout) to put in parts of the pipelines family. */
export const FAMILY_ORG =
  'organization:\n  id: o-bench12345\n  partition: aws\n  region: us-east-1\nprefix: big\naccounts:\n' +
  '  alpha:\n    id: "900000000001"\n    role: source\n  env0001:\n    id: "100000000001"\n    role: pipeline\n    environment: env0001\n' +
  'repositories:\n  app-a:\n    account: alpha\n  app-b:\n    account: alpha\n  app-c:\n    account: alpha\n' +
  'pipelines:\n' +
  ['a', 'b', 'c'].map((x) => `  app-${x}:\n    repository: app-${x}\n    branches:\n      env0001: main\n    deploy:\n      type: codedeploy\n`).join('');
/** FAMILY_ORG with a second pipeline account that app-b alone deploys to: once app-b moves, big-pipelines-2 no longer targets env0002. */
export const FAMILY_ORG_TWO_ACCOUNTS = FAMILY_ORG.replace('repositories:', '  env0002:\n    id: "100000000002"\n    role: pipeline\n    environment: env0002\nrepositories:').replace(
  '  app-b:\n    repository: app-b\n    branches:\n      env0001: main\n',
  '  app-b:\n    repository: app-b\n    branches:\n      env0002: main\n',
);
/** `text` compiled with a layout that puts the pipelines `parts` name (`app-a`, …) in the parts of the pipelines family, in order. */
export const withLayout = (text: string, ...parts: string[][]) =>
  compileOrg({ ...parseOrg(text, 'generated.yaml'), layout: new Map([['pipelines', new Map(parts.map((units, i) => [i + 1, units.map((u) => `pipeline ${u}`)]))]]) });

/** generateOrgYaml's org as SERVICE_MANAGED, its accounts (source, then the pipeline accounts in order) given ids and OUs. */
export const serviceManaged = (text: string, accounts: Array<{ id: string; ou: string }>) => {
  const [source, ...pipeline] = accounts;
  let out = text
    .replace('repositories:', 'stackSets:\n  permissionModel: SERVICE_MANAGED\nrepositories:')
    .replace('id: "900000000000"\n    role: source', `id: "${source.id}"\n    role: source\n    organizationalUnit: ${source.ou}`);
  pipeline.forEach((a, i) => {
    out = out.replace(`id: "${100000000001 + i}"\n    role: pipeline`, `id: "${a.id}"\n    role: pipeline\n    organizationalUnit: ${a.ou}`);
  });
  return out;
};

/** Registers the file's hooks (useLocalAws) and gives the steps bound to its local AWS. */
export function faultRollouts() {
  // No reset before each test: each test's prepare() resets them, with the faults it runs under.
  const env = useLocalAws({ proxy: true, reset: false });

  const awsVia = (endpoint = env.endpoint, region = REGION) => env.aws(region, endpoint);
  /**
   * Clients that try each call once, for a run that meets moto's failed update of a KMS key (smallWithInstanceRole's
   * switch to deploymentTargets.instanceRoles): moto then answers DescribeStacks of that stack with HTTP 500 (the
   * key's Fn::GetAtt), which the SDK's retry (8 attempts, with backoff) asked again, 3-5 s each time, to the same
   * answer. Only under faults the SDK does not retry (the layer's throttle, serverError, dropConnection or
   * throttleNext would be retried by `awsVia`'s clients, and not by these).
   */
  const awsOnce = (endpoint = env.endpoint, region = REGION) => new Aws({ region, endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });

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

  /** A fresh moto Organization whose accounts each sit in an OU of their own. */
  async function organization() {
    await env.local.reset();
    env.proxy.reset({ seed: 1 });
    const organizations = new OrganizationsClient({ region: REGION, endpoint: env.local.endpoint, credentials: LOCAL_CREDENTIALS });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const root = (await organizations.send(new ListRootsCommand({}))).Roots![0].Id!;
    const placed = async (name: string) => {
      const id = (await organizations.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }))).CreateAccountStatus!.AccountId!;
      const ou = (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId: root, Name: name }))).OrganizationalUnit!.Id!;
      await organizations.send(new MoveAccountCommand({ AccountId: id, SourceParentId: root, DestinationParentId: ou }));
      return { id, ou };
    };
    return { organizations, root, placed };
  }

  /**
   * SERVICE_MANAGED, deployed: an organization with a source, a dev and a prod account, each in an OU of its own, and
   * the two-pipeline-account org deployed through them (the reader role xstack-output-reader): what the tests of
   * accounts that leave or sleep start from.
   */
  async function serviceManagedDeployed() {
    const { organizations, root, placed } = await organization();
    const accounts = [await placed('source'), await placed('dev'), await placed('prod')];
    const options = { pollMs, outputReaderRoleName: 'xstack-output-reader' };
    const compiled = compileYaml(serviceManaged(generateOrgYaml(2), accounts));
    expect(failed(await deploy(compiled, awsVia(), options))).toEqual([]);
    return { organizations, root, accounts, options, compiled };
  }

  /**
   * `account`'s instance of `stackSet` as an earlier xstack made it: through the account's OU, not the root (deleted
   * through the root, then created again), each operation waited for.
   */
  async function createdThroughOu(stackSet: string, root: string, account: { id: string; ou: string }) {
    const cfn = awsVia().cloudFormation();
    const settled = async (started: Promise<{ OperationId?: string }>) => {
      const OperationId = (await started).OperationId!;
      for (;;) {
        const status = (await cfn.send(new DescribeStackSetOperationCommand({ StackSetName: stackSet, OperationId, CallAs: 'SELF' }))).StackSetOperation?.Status;
        if (status === 'SUCCEEDED') return;
        if (status !== 'QUEUED' && status !== 'RUNNING') throw new Error(`operation ${OperationId} ${status}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const targets = (ou: string) => ({ StackSetName: stackSet, DeploymentTargets: { OrganizationalUnitIds: [ou], Accounts: [account.id], AccountFilterType: 'INTERSECTION' as const }, Regions: [REGION], CallAs: 'SELF' as const });
    await settled(cfn.send(new DeleteStackInstancesCommand({ ...targets(root), RetainStacks: false })));
    await settled(cfn.send(new CreateStackInstancesCommand(targets(account.ou))));
  }

  /** The small org deployed, and the org's own instance role app-server in each pipeline account (deploy reads it there before any operation: existing-roles.ts). */
  async function smallWithInstanceRole(): Promise<void> {
    await prepare(small);
    await deployUntilDone(small, 1);
    const { CreateRoleCommand } = await import('@aws-sdk/client-iam');
    const aws = awsVia(env.local.endpoint);
    for (const account of ['100000000001', '100000000002']) {
      const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
      await aws.iam(await aws.assume(`arn:aws:iam::${account}:role/AWSCloudFormationStackSetExecutionRole`)).send(new CreateRoleCommand({ RoleName: 'app-server', AssumeRolePolicyDocument: trust }));
    }
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

  return { env, awsVia, awsOnce, prepare, probeContext, keptRepository, organization, serviceManagedDeployed, createdThroughOu, smallWithInstanceRole, deployUntilDone, expectConverged, callsFrom, killingAws };
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
