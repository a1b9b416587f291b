// The StackSet settings the org file gives besides its templates (review s18-deployer M1): the SELF_MANAGED roles and
// the permission model. DescribeStackSet returns both (API_StackSet.html); an UpdateStackSet is the only way to change
// the roles ("If you do not specify a customized execution role, CloudFormation performs the update using the role
// previously associated with the StackSet", API_UpdateStackSet.html), and PermissionModel cannot change once the
// StackSet has instances (same page). moto keeps what it was sent, which is what is checked here.
import { DescribeStackSetCommand, UpdateStackSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { deploy, plan } from '../src/deploy/deployer';
import { formatPlan } from '../src/deploy/plan-text';
import { parseOrg } from '../src/org/load';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { createStackSetRoles } from './support/stackset-roles';
import { useLocalAws } from './support/local-aws';

const env = useLocalAws({ proxy: true, reset: false });
const REGION = 'us-east-1';
const compileYaml = (text: string) => compileOrg(parseOrg(text, 'generated.yaml'));

describe('StackSet settings besides the templates', () => {
  it('roles renamed in the org file reach every StackSet, templates changed or not; another permission model is refused before any operation', async () => {
    await env.local.reset();
    env.proxy.reset({ seed: 1 });
    const direct = env.aws(REGION, env.local.endpoint);
    const admin = (await direct.sts().send(new GetCallerIdentityCommand({}))).Account!;
    const first = compileYaml(generateOrgYaml(2));
    await createStackSetRoles(first.org, direct, admin);
    expect((await deploy(first, env.aws(REGION), { pollMs: 5 })).stages.every((s) => s.result === 'created')).toBe(true);

    const renamed = compileYaml(`${generateOrgYaml(2)}stackSets:\n  executionRoleName: XsExec\n  administrationRoleName: XsAdmin\n`);
    await createStackSetRoles(renamed.org, direct, admin);
    const planned = await plan(renamed, env.aws(REGION), { pollMs: 5 });
    // Only pipeline-foundation's template names the execution role: every other StackSet changes by its roles alone.
    for (const p of planned) {
      expect(p.action, p.stackSet).toBe('update');
      expect(p.rolesChange, p.stackSet).toBe(`administration role arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole → arn:aws:iam::${admin}:role/XsAdmin, execution role AWSCloudFormationStackSetExecutionRole → XsExec`);
    }
    expect(planned.filter((p) => p.templateChanged).map((p) => p.stackSet)).toEqual(['big-pipeline-foundation']);
    expect(formatPlan(planned, { colour: false, accountNames: new Map() })).toContain('    roles (sent with an UpdateStackSet, which updates every instance): administration role');
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
    const refused = await deploy(serviceManaged, env.aws(REGION), { pollMs: 5 });
    expect(refused.mutatingCalls).toBe(0);
    expect(refused.stages[0]).toMatchObject({ stage: 'pipeline-identity', result: 'failed', reasons: [refusedPlan[0].otherPermissionModel] });
  }, 180_000);
});

describe('a later wave reads its StackSet when its stage starts', () => {
  it("another writer's template change during earlier waves is put right, not read as unchanged from the run's first answer (review s18-deployer m1)", async () => {
    await env.local.reset();
    env.proxy.reset({ seed: 1 });
    const org = compileYaml(generateOrgYaml(2));
    const direct = env.aws(REGION, env.local.endpoint);
    const admin = (await direct.sts().send(new GetCallerIdentityCommand({}))).Account!;
    await createStackSetRoles(org.org, direct, admin);
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
