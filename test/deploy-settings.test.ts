// The StackSet settings the org file gives besides its templates (review s18-deployer M1): the SELF_MANAGED roles and
// the permission model. DescribeStackSet returns both (API_StackSet.html); an UpdateStackSet is the only way to change
// the roles ("If you do not specify a customized execution role, CloudFormation performs the update using the role
// previously associated with the StackSet", API_UpdateStackSet.html), and PermissionModel cannot change once the
// StackSet has instances (same page). moto keeps what it was sent, which is what is checked here.
import { DescribeStackSetCommand, UpdateStackSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { deploy, destroy, destroyPlan, mayPutKeyPolicy, plan, verify } from '../src/deploy/deployer';
import { bootstrap } from '../src/deploy/bootstrap';
import { formatPlan } from '../src/deploy/plan-text';
import { parseOrg } from '../src/org/load';
import { recordOf, type StackSetsHome } from '../src/stages/layout';
import type { CompiledOrg } from '../src/compile';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { manifestHashes } from './support/fault-rollouts';
import { createStackSetRoles } from './support/stackset-roles';
import { useLocalAws } from './support/local-aws';

const env = useLocalAws({ proxy: true, reset: false });
const REGION = 'us-east-1';
const compileYaml = (text: string) => compileOrg(parseOrg(text, 'generated.yaml'));

/** A two-account org on an emptied local AWS, its StackSet roles made: the administrator account's client and id with it. */
async function freshOrg() {
  await env.local.reset();
  env.proxy.reset({ seed: 1 });
  const org = compileYaml(generateOrgYaml(2));
  const direct = env.aws(REGION, env.local.endpoint);
  const admin = (await direct.sts().send(new GetCallerIdentityCommand({}))).Account!;
  await createStackSetRoles(org.org, direct, admin);
  return { org, direct, admin };
}

describe('StackSet settings besides the templates', () => {
  it('roles renamed in the org file reach every StackSet, templates changed or not, once the deployed key policy admits the new execution role; another permission model is refused before any operation', async () => {
    const { org: first, direct, admin } = await freshOrg();
    expect((await deploy(first, env.aws(REGION), { pollMs: 5 })).stages.every((s) => s.result === 'created')).toBe(true);

    // Renamed at once: the deployed artifact key policy admits the old execution role, not XsExec, which CloudFormation
    // would update the key as (KMS refuses what the key policy does not allow, key-policies.html; moto does not): refused.
    const settings = `stackSets:\n  executionRoleName: XsExec\n  administrationRoleName: XsAdmin\n`;
    const atOnce = compileYaml(`${generateOrgYaml(2)}${settings}`);
    await createStackSetRoles(atOnce.org, direct, admin);
    const lockedPlan = await plan(atOnce, env.aws(REGION), { pollMs: 5 });
    expect(lockedPlan.filter((p) => p.executionRoleLocked).map((p) => p.stackSet)).toEqual(['big-pipeline-foundation']);
    const lockedText = formatPlan(lockedPlan, { colour: false, accountNames: new Map() });
    expect(lockedText).toContain('✗ deploy refuses: StackSet big-pipeline-foundation: the execution role is renamed AWSCloudFormationStackSetExecutionRole → XsExec, and the key policy its stacks hold (ArtifactKey) lets');
    expect(lockedText).toContain('Rename in two deploys: first, with executionRoleName: AWSCloudFormationStackSetExecutionRole, add XsExec to keyAdministratorRoles and deploy');
    // Refused for the whole run before any operation: no StackSet, of any wave, takes the new role.
    await expect(deploy(atOnce, env.aws(REGION), { pollMs: 5 })).rejects.toMatchObject({ code: 'EXECUTION_ROLE_LOCKED', message: expect.stringContaining(lockedPlan.find((p) => p.executionRoleLocked)!.executionRoleLocked!) });
    for (const p of lockedPlan) {
      expect((await env.aws(REGION).cloudFormation().send(new DescribeStackSetCommand({ StackSetName: p.stackSet }))).StackSet!.ExecutionRoleName, p.stackSet).toBe('AWSCloudFormationStackSetExecutionRole');
    }

    // The two deploys: the new role a key administrator first, as the old one; then the rename. A pattern that
    // matches the new name (as a key administrator may be) admits it as its name would.
    const keyAdministrator = `keyAdministratorRoles:\n  - Xs*\n`;
    expect((await deploy(compileYaml(`${generateOrgYaml(2)}${keyAdministrator}`), env.aws(REGION), { pollMs: 5 })).stages.every((s) => s.result !== 'failed')).toBe(true);
    const renamed = compileYaml(`${generateOrgYaml(2)}${keyAdministrator}${settings}`);
    const planned = await plan(renamed, env.aws(REGION), { pollMs: 5 });
    expect(planned.filter((p) => p.executionRoleLocked)).toEqual([]);
    // Only pipeline-foundation's template names the execution role: every other StackSet changes by its roles alone.
    for (const p of planned) {
      expect(p.action, p.stackSet).toBe('update');
      expect(p.rolesChange, p.stackSet).toBe(`administration role arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole → arn:aws:iam::${admin}:role/XsAdmin, execution role AWSCloudFormationStackSetExecutionRole → XsExec`);
    }
    expect(planned.filter((p) => p.templateChanged).map((p) => p.stackSet)).toEqual(['big-pipeline-foundation']);
    expect(formatPlan(planned, { colour: false, accountNames: new Map() })).toContain('    roles (sent with an UpdateStackSet, which updates every instance it keeps): administration role');
    const second = await deploy(renamed, env.aws(REGION), { pollMs: 5 });
    expect(second.stages.map((s) => s.result)).toEqual(planned.map(() => 'updated'));
    const cfn = env.aws(REGION).cloudFormation();
    for (const p of planned) {
      const held = (await cfn.send(new DescribeStackSetCommand({ StackSetName: p.stackSet }))).StackSet!;
      expect([held.ExecutionRoleName, held.AdministrationRoleARN], p.stackSet).toEqual(['XsExec', `arn:aws:iam::${admin}:role/XsAdmin`]);
    }
    // Settled: the next run changes nothing.
    expect((await plan(renamed, env.aws(REGION), { pollMs: 5 })).map((p) => p.action)).toEqual(planned.map(() => 'unchanged'));

    const serviceManaged = compileYaml(`${generateOrgYaml(2)}stackSets:\n  permissionModel: SERVICE_MANAGED\n`);
    const refusedPlan = await plan(serviceManaged, env.aws(REGION), { pollMs: 5 });
    for (const p of refusedPlan) expect(p.otherPermissionModel, p.stackSet).toBe(`StackSet ${p.stackSet} was created SELF_MANAGED, and the org file says SERVICE_MANAGED: AWS cannot change the permission model of a StackSet with instances, so nothing was sent to it; run destroy with the org file as it was (stackSets.permissionModel: SELF_MANAGED), then deploy`);
    expect(formatPlan(refusedPlan, { colour: false, accountNames: new Map() })).toContain('✗ deploy refuses: StackSet big-pipelines was created SELF_MANAGED');
    // Nothing is sent to them: no change, each with the stop line (review s43-plan n2, s43-diff n3).
    expect(refusedPlan.map((p) => p.action)).toEqual(refusedPlan.map(() => 'unchanged'));
    expect(formatPlan(refusedPlan, { colour: false, accountNames: new Map() })).toContain(`; ${refusedPlan.length} stages fail (✗ above)`);
    const refused = await deploy(serviceManaged, env.aws(REGION), { pollMs: 5 });
    expect(refused.mutatingCalls).toBe(0);
    expect(refused.stages[0]).toMatchObject({ stage: 'pipeline-identity', result: 'failed', reasons: [refusedPlan[0].otherPermissionModel] });
  }, 180_000);
});

describe('a StackSet someone turned managed execution on for (review s57-deploy m4)', () => {
  // With it, StackSets queues an operation requested while another runs instead of refusing it
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ManagedExecution.html), and the deployer's
  // race path needs that refusal. moto's StackSet answers no ManagedExecution: the StackSets layer gives it
  // (managedExecutionOn), as DescribeStackSet does on AWS (API_StackSet.html).
  it('plan fails its stage (✗), deploy sends it nothing and fails that stage saying how to turn it off, verify names it; turned off, the next deploy adds the new account', async () => {
    const { org } = await freshOrg();
    expect((await deploy(org, env.aws(REGION), { pollMs: 5 })).stages.every((s) => s.result === 'created')).toBe(true);
    const name = 'big-pipelines';
    env.proxy.managedExecutionOn(name);
    const grown = compileYaml(generateOrgYaml(3));
    const planned = await plan(grown, env.aws(REGION), { pollMs: 5 });
    const refused = planned.find((p) => p.stackSet === name)!;
    expect(refused.managedExecution).toContain(`StackSet ${name} has managed execution turned on (xstack never turns it on)`);
    expect(refused.managedExecution).toContain(`aws cloudformation update-stack-set --stack-set-name ${name} --use-previous-template --managed-execution Active=false`);
    expect(refused.managedExecution).toContain('--administration-role-arn <its administration role> --execution-role-name <its execution role>');
    // Left alone: no change of its own is planned, only the ✗.
    expect([refused.action, refused.addAccounts]).toEqual(['unchanged', []]);
    expect(planned.filter((p) => p.managedExecution).map((p) => p.stackSet)).toEqual([name]);
    expect(formatPlan(planned, { colour: false, accountNames: new Map() })).toContain(`✗ deploy refuses: StackSet ${name} has managed execution turned on`);

    env.proxy.requests.length = 0;
    const run = await deploy(grown, env.aws(REGION), { pollMs: 5 });
    expect(run.stages.find((s) => s.stackSet === name)).toMatchObject({ result: 'failed', reasons: [refused.managedExecution] });
    const sentTo = env.proxy.requests.filter((r) => r.stackSet === name && !/^(Describe|List)/.test(r.action)).map((r) => r.action);
    expect(sentTo).toEqual([]);
    const differences = (await verify(grown, env.aws(REGION), manifestHashes(grown), { pollMs: 5 })).differences;
    expect(differences).toContain(`${name}: ${refused.managedExecution}`);
    // Refused for another reason besides (another permission model): plan says that one, as deploy's stage does, not
    // managed execution too (mutations-12: plan's managedExecution not guarded by the others).
    const otherModel = (await plan(compileYaml(`${generateOrgYaml(3)}stackSets:\n  permissionModel: SERVICE_MANAGED\n`), env.aws(REGION), { pollMs: 5 })).find((p) => p.stackSet === name)!;
    expect([otherModel.otherPermissionModel?.startsWith(`StackSet ${name} was created SELF_MANAGED`), otherModel.managedExecution]).toEqual([true, undefined]);

    env.proxy.managedExecutionOn(name, false);
    const after = await deploy(grown, env.aws(REGION), { pollMs: 5 });
    expect(after.stages.find((s) => s.stackSet === name)?.result).toBe('updated');
    expect((await plan(grown, env.aws(REGION), { pollMs: 5 })).map((p) => p.action)).toEqual(planned.map(() => 'unchanged'));
  }, 180_000);
});

describe('a later wave reads its StackSet when its stage starts', () => {
  it("another writer's template change during earlier waves is put right, not read as unchanged from the run's first answer (review s18-deployer m1)", async () => {
    const { org, direct, admin } = await freshOrg();
    await deploy(org, env.aws(REGION), { pollMs: 5 });
    const cfn = env.aws(REGION).cloudFormation();
    const name = 'big-pipelines';
    expect(org.rollout.waveOf.get('pipelines')).toBeGreaterThan(1);
    const body = (await cfn.send(new DescribeStackSetCommand({ StackSetName: name }))).StackSet!.TemplateBody!;
    let other: Promise<unknown> | undefined;
    const again = await deploy(org, env.aws(REGION), {
      pollMs: 5,
      // After the first wave, another deploy (an older pipeline's) puts its template on the last wave's StackSet.
      afterWave: async (wave) => {
        if (wave === 1) {
          other = direct.cloudFormation().send(
            new UpdateStackSetCommand({ StackSetName: name, TemplateBody: `${body}# another deploy's template\n`, Capabilities: ['CAPABILITY_NAMED_IAM'], AdministrationRoleARN: `arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole`, ExecutionRoleName: 'AWSCloudFormationStackSetExecutionRole' }),
          );
          await other;
        }
      },
    });
    await other;
    expect(again.stages.find((s) => s.stage === 'pipelines')?.result).toBe('updated');
    expect((await cfn.send(new DescribeStackSetCommand({ StackSetName: name }))).StackSet!.TemplateBody).toBe(body);
  }, 180_000);
});

describe('where the StackSets live, recorded in the layout file (review s18-deployer M1 fix 2, m5)', () => {
  /** The org as compiled beside a layout file that records `home` as where its StackSets live. */
  const recordedAt = (compiled: CompiledOrg, home: StackSetsHome): CompiledOrg => ({ ...compiled, org: { ...compiled.org, layoutRecord: recordOf(compiled.org, home) } });

  it('a first deploy gives its account and Region to be recorded (none against an emulator); plan, deploy, destroy and bootstrap in another account or Region are refused before any StackSet call, naming both and the way out', async () => {
    const { org, admin } = await freshOrg();
    const given: Array<StackSetsHome | undefined> = [];
    expect((await deploy(org, env.aws(REGION), { pollMs: 5, beforeFirstOperation: (home) => given.push(home) })).stages.every((s) => s.result === 'created')).toBe(true);
    await deploy(org, env.aws(REGION), { pollMs: 5, emulator: true, beforeFirstOperation: (home) => given.push(home) });
    expect(given).toEqual([{ account: admin, region: REGION, permissionModel: 'SELF_MANAGED' }, undefined]);

    // Recorded where it runs: nothing refused, nothing to change.
    expect((await deploy(recordedAt(org, { account: admin, region: REGION }), env.aws(REGION), { pollMs: 5 })).mutatingCalls).toBe(0);
    const elsewhere = [
      { home: { account: '999999999999', region: REGION }, now: `as account ${admin} (its credentials: another --profile or role?)` },
      { home: { account: admin, region: 'eu-west-1' }, now: `in Region ${REGION} (--region, else the org file's organization.region)` },
    ];
    for (const { home, now } of elsewhere) {
      const compiled = recordedAt(org, home);
      const refusal =
        `nothing was changed: the layout file generated.layout.json records that the StackSets of generated.yaml live in administrator account ${home.account}, Region ${home.region} ` +
        `(org.administratorAccount, org.stackSetsRegion, recorded by deploy), but this run is ${now}. StackSets belong to the account and Region that created them`;
      const runs: Array<(aws: ReturnType<typeof env.aws>) => Promise<unknown>> = [
        (aws) => plan(compiled, aws, { pollMs: 5 }),
        (aws) => deploy(compiled, aws, { pollMs: 5 }),
        (aws) => destroyPlan(compiled, aws, { pollMs: 5 }),
        (aws) => destroy(compiled, aws, { pollMs: 5 }),
        // bootstrap too: its administration role and template bucket would serve no deploy there.
        (aws) => bootstrap(compiled, aws, { sleep: async () => undefined }),
      ];
      for (const run of runs) {
        const aws = env.aws(REGION);
        const error = await run(aws).then(() => undefined, (e: Error) => e);
        expect(error?.message).toContain(refusal);
        expect(error?.message).toContain(`Run with credentials of account ${home.account} and --region ${home.region}. If the org has really moved: destroy it from there first, then delete "administratorAccount" and "stackSetsRegion" from generated.layout.json`);
        expect(Object.keys(aws.log.calls)).toEqual(['GetCallerIdentityCommand']);
      }
    }
    // The permission model the StackSets were created with, recorded: another is refused before any StackSet call, as
    // from a delegated administrator the run would not list them (review s42-day2 D1).
    const switched = recordedAt(compileYaml(`${generateOrgYaml(2)}stackSets:\n  permissionModel: SERVICE_MANAGED\n`), { account: admin, region: REGION, permissionModel: 'SELF_MANAGED' });
    // destroy and bootstrap too, as in another account or Region (review s43-mutations-5 LY8: bootstrap's check read only those).
    const switchedRuns: Array<(aws: ReturnType<typeof env.aws>) => Promise<unknown>> = [
      (aws) => plan(switched, aws, { pollMs: 5 }),
      (aws) => deploy(switched, aws, { pollMs: 5 }),
      (aws) => destroyPlan(switched, aws, { pollMs: 5 }),
      (aws) => destroy(switched, aws, { pollMs: 5 }),
      (aws) => bootstrap(switched, aws, { sleep: async () => undefined }),
    ];
    for (const run of switchedRuns) {
      const aws = env.aws(REGION);
      await expect(run(aws)).rejects.toMatchObject({ code: 'STACKSETS_ELSEWHERE', message: expect.stringContaining('were created SELF_MANAGED (org.stackSetsPermissionModel, recorded by deploy), and the org file says SERVICE_MANAGED') });
      expect(Object.keys(aws.log.calls)).toEqual(['GetCallerIdentityCommand']);
    }
    // Against an emulator the record is not compared: its accounts are no one's.
    expect((await deploy(recordedAt(org, { account: '999999999999', region: 'eu-west-1' }), env.aws(REGION), { pollMs: 5, emulator: true })).mutatingCalls).toBe(0);
    expect((await bootstrap(recordedAt(org, { account: '999999999999', region: 'eu-west-1' }), env.aws(REGION), { emulator: true, dryRun: true, sleep: async () => undefined })).length).toBeGreaterThan(0);
  }, 180_000);
});

describe('who may change a key policy, as the renamed-execution-role check reads it (review s32-diff 5)', () => {
  const arn = (name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}` });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AdministerKey', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: ['kms:PutKeyPolicy', 'kms:DescribeKey'], Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': [arn('OldExec'), arn('Admins-*')] } } },
      { Sid: 'DeployTargetsDecryptViaS3', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: ['kms:Decrypt'], Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': [arn('app-server')] } } },
    ],
  };
  it('a role the policy lets PutKeyPolicy, by name or pattern, may; one named only in another grant may not', () => {
    expect(mayPutKeyPolicy(policy, 'OldExec')).toBe(true);
    expect(mayPutKeyPolicy(policy, 'Admins-exec')).toBe(true);
    expect(mayPutKeyPolicy(policy, 'app-server')).toBe(false);
    expect(mayPutKeyPolicy(policy, 'NewExec')).toBe(false);
  });
  it('a role a negated operator names is kept out by it, not let in (review s42-diff D4)', () => {
    const keptOut = { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { ArnNotLike: { 'aws:PrincipalArn': [arn('NewExec')] } } }] };
    expect(mayPutKeyPolicy(keptOut, 'NewExec')).toBe(false);
    // Every negated operator IAM has for an ARN, the IfExists forms included (review s43-mutations-5 KP2).
    const under = (operator: string, name = 'NewExec') => ({ Statement: [{ ...keptOut.Statement[0], Condition: { [operator]: { 'aws:PrincipalArn': [arn(name)] } } }] });
    for (const operator of ['ArnNotEquals', 'StringNotEquals', 'StringNotLike', 'StringNotEqualsIgnoreCase', 'ArnNotLikeIfExists', 'StringNotEqualsIfExists']) expect(mayPutKeyPolicy(under(operator), 'NewExec'), operator).toBe(false);
    // The String operators name the roles they let in as the Arn ones do (review s43-mutations-5 KP3).
    for (const operator of ['StringEquals', 'StringLike', 'StringEqualsIfExists', 'ArnEquals', 'ArnLikeIfExists']) expect(mayPutKeyPolicy(under(operator), 'NewExec'), operator).toBe(true);
    expect(mayPutKeyPolicy(under('StringLike', 'New*'), 'NewExec')).toBe(true);
  });
});
