/**
 * The pre-flight read of the roles the org file names but xstack does not create (src/deploy/existing-roles.ts),
 * against moto's server: plan shows what is wrong, deploy refuses it before any StackSet operation, and a deploy
 * with the roles where the org file says goes on. moto does not check a key policy's principals (KMS does: CreateKey,
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), so without the check these rollouts would
 * pass here and fail on AWS; the StackSets layer models that refusal (test/support/stacksets-proxy.ts).
 */
import { readFileSync } from 'node:fs';
import { CreateRoleCommand, DeleteRoleCommand } from '@aws-sdk/client-iam';
import { ListStackSetsCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { deploy, plan } from '../src/deploy/deployer';
import { formatPlan } from '../src/deploy/plan-text';
import { parseOrg } from '../src/org/load';
import { createStackSetRoles } from './support/stackset-roles';
import { useLocalAws } from './support/local-aws';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
/** Two instance roles, one with a path; a key administrator with a path, and a pattern (never read). */
const TEXT =
  EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', 'keyAdministratorRoles:\n  - admins/platform-admin\n  - aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*\n') +
  'deploymentTargets:\n  instanceRoles: [service-role/app-server, batch-worker]\n';
const compiled = compileOrg(parseOrg(TEXT, 'parameters/example.yaml'));
const PIPELINE = { dev: '222222222222', staging: '333333333333', prod: '444444444444' } as const;

const env = useLocalAws({ beforeEach: async () => createStackSetRoles(compiled.org, env.aws(), await adminAccount(), { orgRoles: false }) });
const adminAccount = async () => (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
const options = { pollMs: 10 };

async function iamIn(account: string) {
  const aws = env.aws();
  return aws.iam(await aws.assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
}

const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
async function createRole(account: string, path: string, name: string) {
  await (await iamIn(account)).send(new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: trust }));
}

/** Every named role in every pipeline account, where the org file says, but for `except` (`account:name` → path, or null for none). */
async function createRoles(except: Record<string, string | null> = {}) {
  const wanted: Array<[string, string]> = [['/service-role/', 'app-server'], ['/', 'batch-worker'], ['/admins/', 'platform-admin']];
  for (const account of Object.values(PIPELINE)) {
    for (const [path, name] of wanted) {
      const other = except[`${account}:${name}`];
      if (other === null) continue;
      await createRole(account, other ?? path, name);
    }
  }
}

const stackSetsIn = async () => ((await env.aws().cloudFormation().send(new ListStackSetsCommand({}))).Summaries ?? []).map((s) => s.StackSetName);

describe('the roles the org file names, read before any StackSet operation', { timeout: 240_000 }, () => {
  it('present where the org file says: the deploy goes on, having read each role once in each pipeline account', async () => {
    await createRoles();
    const aws = env.aws();
    const notes: string[] = [];
    const summary = await deploy(compiled, aws, { ...options, onNote: (n) => notes.push(n) });
    expect(summary.stages.filter((s) => s.result === 'failed')).toEqual([]);
    expect(summary.stages.map((s) => s.result)).toEqual(compiled.stages.map(() => 'created'));
    // One GetRole per (pipeline account, role name): 3 × 3; the pattern is not read.
    expect(summary.calls.GetRoleCommand).toBe(9);
    expect(notes).toEqual([]);
    const planned = await plan(compiled, env.aws(), options);
    expect(planned.filter((p) => p.missingRoles)).toEqual([]);
  });

  it('missing, or on another path: plan says so on the foundation, and deploy refuses in one error before any CreateStackSet', async () => {
    await createRoles({
      [`${PIPELINE.prod}:app-server`]: null,
      [`${PIPELINE.dev}:batch-worker`]: '/other/',
      [`${PIPELINE.staging}:batch-worker`]: '/other/',
      // Another path only in case: IAM keeps the case of a path, and the ARN the key policy writes has the org file's
      // (review s41-mutations-3 ER3).
      [`${PIPELINE.staging}:app-server`]: '/Service-Role/',
      [`${PIPELINE.dev}:platform-admin`]: '/',
      [`${PIPELINE.prod}:platform-admin`]: null,
    });
    // In the accounts' order, each role's answer once with every account that gave it.
    const refusing = [
      "accounts dev (222222222222), staging (333333333333): deploymentTargets.instanceRoles 'batch-worker': role batch-worker is at path /other/ instead of /; write 'other/batch-worker' in the org file",
      "account dev (222222222222): keyAdministratorRoles 'admins/platform-admin': role platform-admin is at path / instead of /admins/; write 'platform-admin' in the org file",
      "account staging (333333333333): deploymentTargets.instanceRoles 'service-role/app-server': role app-server is at path /Service-Role/ instead of /service-role/; write 'Service-Role/app-server' in the org file",
      "account prod (444444444444): deploymentTargets.instanceRoles 'service-role/app-server': no role app-server in the account (GetRole: NoSuchEntity); create it at path /service-role/, or leave it out of the org file",
    ];
    const note =
      "account prod (444444444444): keyAdministratorRoles 'admins/platform-admin': no role platform-admin in the account (GetRole: NoSuchEntity); it administers no artifact key there until a role of that name is made at path /admins/";

    const planNotes: string[] = [];
    const planned = await plan(compiled, env.aws(), { ...options, onNote: (n) => planNotes.push(n) });
    const foundation = planned.find((p) => p.stage === 'pipeline-foundation')!;
    expect(foundation.missingRoles).toEqual(refusing);
    expect(planned.filter((p) => p.stage !== 'pipeline-foundation' && p.missingRoles)).toEqual([]);
    expect(planNotes).toEqual([note]);
    const text = formatPlan(planned, { accountNames: new Map(compiled.org.accounts.map((a) => [a.id, a.name])), colour: false });
    for (const line of refusing) expect(text).toContain(`\n    ✗ deploy refuses, a role its key policy names is not there as named: ${line}\n`);

    const aws = env.aws();
    const notes: string[] = [];
    let started = false;
    const refusal = await deploy(compiled, aws, { ...options, onNote: (n) => notes.push(n), beforeFirstOperation: () => (started = true) }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(refusal?.code).toBe('EXISTING_ROLES_NOT_FOUND');
    expect(refusal?.message.split('\n')).toEqual([
      'nothing was changed: the org file names roles that are not there as named:',
      ...refusing.map((l) => `  ${l}`),
      expect.stringMatching(/^ {2}pipeline-foundation names these roles in its artifact key policy by ARN, path included, and KMS refuses a key policy whose principals do not exist \(CreateKey, https:\/\/docs\.aws\.amazon\.com\/kms\/latest\/APIReference\/API_CreateKey\.html\)/),
    ]);
    expect(notes).toEqual([note]);
    expect(started).toBe(false);
    expect(aws.log.mutating).toBe(0);
    expect(aws.log.calls.CreateStackSetCommand).toBeUndefined();
    expect(aws.log.calls.CreateStackInstancesCommand).toBeUndefined();
    expect(aws.log.calls.GetRoleCommand).toBe(9);
    expect(await stackSetsIn()).toEqual([]);
  });

  it('a role gone since the last rollout: a run that leaves pipeline-foundation as it is reads no role; one that writes its key policy again finds it', async () => {
    await createRoles();
    await deploy(compiled, env.aws(), options);
    const iam = await iamIn(PIPELINE.staging);
    // moto lets a role with attached policies go only once they are detached; deleting it is all this needs.
    await iam.send(new DeleteRoleCommand({ RoleName: 'batch-worker' })).catch(async () => {
      const { ListAttachedRolePoliciesCommand, DetachRolePolicyCommand } = await import('@aws-sdk/client-iam');
      for (const p of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'batch-worker' }))).AttachedPolicies ?? []) {
        await iam.send(new DetachRolePolicyCommand({ RoleName: 'batch-worker', PolicyArn: p.PolicyArn }));
      }
      await iam.send(new DeleteRoleCommand({ RoleName: 'batch-worker' }));
    });
    // Nothing to change: the deployed key policies are not sent again, and a no-op run stays O(StackSets) (issue 12).
    const quiet = env.aws();
    const unchanged = await plan(compiled, quiet, options);
    expect(unchanged.find((p) => p.stage === 'pipeline-foundation')).toMatchObject({ action: 'unchanged' });
    expect(unchanged.flatMap((p) => p.missingRoles ?? [])).toEqual([]);
    expect(quiet.log.calls.GetRoleCommand).toBeUndefined();
    // A change to pipeline-foundation's template updates every instance, and with it each key policy: every account is read.
    const changed = compileOrg(parseOrg(`${TEXT}bucketGeneration: 2\n`, 'parameters/example.yaml'));
    const planned = await plan(changed, env.aws(), options);
    const foundation = planned.find((p) => p.stage === 'pipeline-foundation')!;
    expect(foundation.templateChanged).toBe(true);
    expect(foundation.missingRoles).toEqual([
      "account staging (333333333333): deploymentTargets.instanceRoles 'batch-worker': no role batch-worker in the account (GetRole: NoSuchEntity); create it at path /, or leave it out of the org file",
    ]);
    const text = formatPlan(planned, { accountNames: new Map(), colour: false });
    expect(text).toContain('✗ deploy refuses, a role its key policy names is not there as named: account staging (333333333333)');
    const aws = env.aws();
    await expect(deploy(changed, aws, options)).rejects.toMatchObject({ code: 'EXISTING_ROLES_NOT_FOUND' });
    expect(aws.log.mutating).toBe(0);
  });
});
