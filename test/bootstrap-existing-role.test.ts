/**
 * `xstack bootstrap` meeting an execution role it did not make (review s21-dep F1), against moto's server: the name is
 * the one AWS tells every target account to use ("The role in each of your target accounts should be named
 * AWSCloudFormationStackSetExecutionRole", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html),
 * and the sample template that page links attaches AdministratorAccess to it. moto's server knows AWS's managed
 * policies only when asked (MOTO_IAM_LOAD_MANAGED_POLICIES, read by moto's settings.load_iam_aws_managed_policies),
 * so the tests that attach AdministratorAccess start their own server with them; the administration role's trust and
 * path, which no AWS managed policy takes part in, run on a server without (as deploy-bootstrap.test.ts does). With
 * them, moto builds every AWS managed policy in each account and partition a call reaches, and again at each reset:
 * those two tests, bootstrapping every target account, took 165 s of the file's 205 in the clean-clone CI.
 */
import { AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, GetRoleCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { bootstrap, bootstrapState } from '../src/deploy/bootstrap';
import { templatePath } from '../src/compile';
import { needsTemplateBucket } from '../src/limits';
import { compileFile, compileGenerated, LARGE_TEMPLATE_ACCOUNTS } from './helpers';
import { runCli } from './support/run-cli';
import { useLocalAws, type LocalAwsEnv } from './support/local-aws';

const account = '222222222222';
const role = 'AWSCloudFormationStackSetExecutionRole';
const administratorAccess = 'arn:aws:iam::aws:policy/AdministratorAccess';

/**
 * The execution role in account 222222222222 as the sample template linked from
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html makes it
 * (ManagedPolicyArns AdministratorAccess, Principal AWS the administrator account), trusted by another administrator
 * account too, with an inline policy of its own.
 */
async function sampleRole(env: LocalAwsEnv) {
  const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
  const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
  const before = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:root` }, Action: 'sts:AssumeRole' },
      { Sid: 'OtherAdministrator', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' },
    ],
  };
  await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(before) }));
  await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: administratorAccess }));
  await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'ops-extra', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }) }));
  return { admin, iam, before };
}

describe("xstack bootstrap on moto, meeting an execution role it did not make (AWS's managed policies loaded)", () => {
  const env = useLocalAws({ awsManagedPolicies: true });

  it("SELF_MANAGED: an execution role made before, as AWS's sample template makes it (AdministratorAccess; trusting the administrator account's root) and trusted by another administrator account too: every policy xstack did not give it and every principal the rewrite would drop is missing, in --dry-run too, and nothing of it changed; --replace-execution-trust replaces the trust, saying whom it drops; detached by hand, the next run is all ok (review s21-dep F1)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const administrationRole = compiled.org.stackSets.administrationRoleName;
    const { admin, iam, before } = await sampleRole(env);
    const trustNow = async () => JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!)) as typeof before;
    const attachedNow = async () => ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []).map((a) => a.PolicyName!).sort();
    const inlineNow = async () => (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? [];

    for (const dryRun of [true, false]) {
      const aws = env.aws();
      const steps = await bootstrap(compiled, aws, { dryRun });
      const missing = steps.filter((s) => s.status === 'missing');
      expect(missing.map((s) => `${s.account} ${s.what}`), `dry run ${dryRun}`).toEqual([
        `${account} role ${role}`,
        `${account} managed policy ${administratorAccess} on ${role}`,
        `${account} inline policy ${role}/ops-extra`,
        `${admin} role ${administrationRole}: tag xstack:bootstrap:acme`,
      ]);
      const [trust, adminAccess, inline] = missing;
      expect(trust.detail).toMatch(
        new RegExp(
          `^its trust policy lets in what xstack's would not: arn:aws:iam::${admin}:root with no condition: any principal of that account its own policies allow; arn:aws:iam::999999999999:root \\(statement OtherAdministrator\\) with no condition: any principal of that account its own policies allow\\. .*would lock those out .*left as it is, and xstack's execution policies not attached to it\\. .*--replace-execution-trust .*stackSets\\.executionRoleName`,
        ),
      );
      expect(adminAccess.detail).toMatch(/^AWS's AdministratorAccess, every action on every resource .*: the role is then not least privilege, and the audit report's execution role reach does not hold in account 222222222222\. Detach it by hand .*--policy-arn arn:aws:iam::aws:policy\/AdministratorAccess\), or set stackSets\.executionRoleName .*; xstack never detaches or deletes what it did not make$/);
      expect(inline.detail).toMatch(/^xstack writes no inline policy on the execution role.*not least privilege.*delete-role-policy --role-name AWSCloudFormationStackSetExecutionRole --policy-name ops-extra\)/);
      // The other accounts are set up as ever.
      expect(steps.filter((s) => s.account !== account && s.account !== admin && s.status === 'missing')).toEqual([]);
      expect(steps.some((s) => s.account === account && /stackset-execution/.test(s.what))).toBe(false);
      // The reader role, which reads only, is set up there all the same: plan reads the account with it.
      expect(steps.find((s) => s.account === account && s.what === 'role acme-xstack-reader')?.status).toBe('change');
      // Nothing of that role changed: its trust, AdministratorAccess, its inline policy; no pack of xstack attached to it.
      expect(await trustNow()).toEqual(before);
      expect(await attachedNow()).toEqual(['AdministratorAccess']);
      expect(await inlineNow()).toEqual(['ops-extra']);
      if (dryRun) for (const call of ['CreateRoleCommand', 'UpdateAssumeRolePolicyCommand', 'AttachRolePolicyCommand', 'DetachRolePolicyCommand', 'DeleteRolePolicyCommand', 'TagRoleCommand']) expect(aws.log.calls[call] ?? 0, call).toBe(0);
    }
    expect(await bootstrapState(compiled, env.aws())).toBe('unknown');

    const replaced = await bootstrap(compiled, env.aws(), { replaceExecutionTrust: true });
    expect(replaced.find((s) => s.account === account && s.what === `role ${role}`)).toMatchObject({
      status: 'change',
      detail: expect.stringMatching(new RegExp(`^update trust policy; trusts .*; no longer trusts \\(--replace-execution-trust\\): arn:aws:iam::${admin}:root with no condition: .*; arn:aws:iam::999999999999:root \\(statement OtherAdministrator\\) with no condition: any principal of that account its own policies allow$`)),
    });
    expect((await trustNow()).Statement).toEqual([
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:root` }, Action: 'sts:AssumeRole', Condition: { ArnEquals: { 'aws:PrincipalArn': expect.arrayContaining([`arn:aws:iam::${admin}:role/${administrationRole}`]) } } },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:root` }, Action: 'sts:SetSourceIdentity', Condition: { Null: { 'aws:SourceIdentity': 'false' } } },
    ]);
    // What xstack did not make is still reported, and still there: never detached.
    expect(replaced.filter((s) => s.status === 'missing').map((s) => s.what)).toEqual([`managed policy ${administratorAccess} on ${role}`, `inline policy ${role}/ops-extra`]);
    expect(await attachedNow()).toEqual(expect.arrayContaining(['AdministratorAccess', 'acme-stackset-execution-1']));
    expect(await inlineNow()).toEqual(['ops-extra']);
    expect(await bootstrapState(compiled, env.aws())).toBe('current');

    await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: administratorAccess }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: 'ops-extra' }));
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status !== 'ok')).toEqual([]);
  });

  it('the CLI: bootstrap --dry-run prints the refusal and AdministratorAccess, exit 1; --replace-execution-trust reaches bootstrap (its step says whom the trust no longer lets in)', async () => {
    await sampleRole(env);
    const dry = await runCli(['bootstrap', 'parameters/example.yaml', '--dry-run'], env.endpoint);
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stdout).toContain(`✗ ${account} role ${role}: its trust policy lets in what xstack's would not: `);
    expect(dry.stdout).toContain(`✗ ${account} managed policy ${administratorAccess} on ${role}: AWS's AdministratorAccess, every action on every resource`);
    const replaced = await runCli(['bootstrap', 'parameters/example.yaml', '--replace-execution-trust'], env.endpoint);
    // AdministratorAccess and the inline policy are still there: still exit 1.
    expect(replaced.code, replaced.stderr).toBe(1);
    expect(replaced.stdout).toMatch(new RegExp(`^\\+ ${account} role ${role}: update trust policy; trusts .*; no longer trusts \\(--replace-execution-trust\\): .*arn:aws:iam::999999999999:root`, 'm'));
    expect(replaced.stdout).not.toContain(`✗ ${account} role ${role}:`);
  });

  it("SELF_MANAGED: the administration role's other policies: AWS's sample AssumeRole-AWSCloudFormationStackSetExecutionRole is left and said; AdministratorAccess and any other inline policy are missing, with the command that removes each; nothing of theirs changed", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const administrationRole = compiled.org.stackSets.administrationRoleName;
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const iam = env.aws().iam();
    const cloudFormation = { Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' };
    await iam.send(new CreateRoleCommand({ RoleName: administrationRole, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [cloudFormation] }) }));
    // As the sample template linked from stacksets-prereqs-self-managed.html writes it.
    const sample = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: ['arn:*:iam::*:role/AWSCloudFormationStackSetExecutionRole'] }] };
    await iam.send(new PutRolePolicyCommand({ RoleName: administrationRole, PolicyName: 'AssumeRole-AWSCloudFormationStackSetExecutionRole', PolicyDocument: JSON.stringify(sample) }));
    await iam.send(new PutRolePolicyCommand({ RoleName: administrationRole, PolicyName: 'ops', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/*' }] }) }));
    // Named as another org's xstack policy, but not written as one: it assumes OrganizationAccountAccessRole anywhere (review s22-diff D5).
    await iam.send(new PutRolePolicyCommand({ RoleName: administrationRole, PolicyName: 'ops-assume-execution-roles', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/OrganizationAccountAccessRole' }] }) }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: administrationRole, PolicyArn: administratorAccess }));

    const steps = await bootstrap(compiled, env.aws());
    const about = (what: string) => steps.find((s) => s.account === admin && s.what === what);
    expect(about(`inline policy ${administrationRole}/AssumeRole-AWSCloudFormationStackSetExecutionRole`)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^left as it is: it only assumes roles named as an execution role/) });
    expect(about(`inline policy ${administrationRole}/ops`)).toMatchObject({ status: 'missing', detail: expect.stringMatching(new RegExp(`^it grants more than assuming an execution role, .*aws iam delete-role-policy --role-name ${administrationRole} --policy-name ops\\)`)) });
    expect(about(`managed policy ${administratorAccess} on ${administrationRole}`)).toMatchObject({ status: 'missing', detail: expect.stringMatching(new RegExp(`^AWS's AdministratorAccess, every action on every resource: .*aws iam detach-role-policy --role-name ${administrationRole} --policy-arn ${administratorAccess}\\)`)) });
    expect(steps.filter((s) => s.status === 'missing').map((s) => s.what).sort()).toEqual([`inline policy ${administrationRole}/ops`, `inline policy ${administrationRole}/ops-assume-execution-roles`, `managed policy ${administratorAccess} on ${administrationRole}`]);
    // Nothing of theirs was removed; this org's own policy sits beside them.
    expect(((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: administrationRole }))).AttachedPolicies ?? []).map((a) => a.PolicyArn)).toEqual([administratorAccess]);
    expect(((await iam.send(new ListRolePoliciesCommand({ RoleName: administrationRole }))).PolicyNames ?? []).sort()).toEqual(['AssumeRole-AWSCloudFormationStackSetExecutionRole', 'acme-assume-execution-roles', 'ops', 'ops-assume-execution-roles']);

    // Once they are removed by hand, the next run is all ok but for the sample policy, which it only tells of.
    await iam.send(new DetachRolePolicyCommand({ RoleName: administrationRole, PolicyArn: administratorAccess }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: administrationRole, PolicyName: 'ops' }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: administrationRole, PolicyName: 'ops-assume-execution-roles' }));
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
  });
});

describe('xstack bootstrap on moto, meeting an administration or execution role it did not make: its trust and path', () => {
  const env = useLocalAws();

  it("SELF_MANAGED: an administration role whose trust lets in more than CloudFormation stops bootstrap before any write (in --dry-run too): no trust rewrite, no policy, no execution role anywhere; AWS's sample trust (CloudFormation, no condition) is narrowed as ever; --replace-administration-trust rewrites it, saying whom it drops", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const administrationRole = compiled.org.stackSets.administrationRoleName;
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const iam = env.aws().iam();
    // As the sample template linked from stacksets-prereqs-self-managed.html makes it, plus a way in for an ops role.
    const cloudFormation = { Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' };
    const before = { Version: '2012-10-17', Statement: [cloudFormation, { Sid: 'Ops', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:role/ops` }, Action: 'sts:AssumeRole' }] };
    await iam.send(new CreateRoleCommand({ RoleName: administrationRole, AssumeRolePolicyDocument: JSON.stringify(before) }));
    const trustNow = async () => JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: administrationRole }))).Role!.AssumeRolePolicyDocument!)) as typeof before;

    for (const dryRun of [true, false]) {
      const aws = env.aws();
      const steps = await bootstrap(compiled, aws, { dryRun });
      expect(steps.filter((s) => s.status !== 'ok').map((s) => `${s.status} ${s.account} ${s.what}`), `dry run ${dryRun}`).toEqual([`missing ${admin} role ${administrationRole}`]);
      expect(steps.find((s) => s.status === 'missing')!.detail).toMatch(
        new RegExp(`^its trust policy lets in more than CloudFormation: arn:aws:iam::${admin}:role/ops \\(statement Ops\\) with no condition\\. .*writes nothing while others may assume it.*--replace-administration-trust .*stackSets\\.administrationRoleName`),
      );
      for (const call of ['CreateRoleCommand', 'UpdateAssumeRolePolicyCommand', 'PutRolePolicyCommand', 'CreatePolicyCommand', 'AttachRolePolicyCommand', 'TagRoleCommand']) expect(aws.log.calls[call] ?? 0, call).toBe(0);
      expect(await trustNow()).toEqual(before);
    }

    // An org with a template over 51,200 bytes (it needs the template bucket): the refusal stops that write too (review s22-diff D4).
    const large = compileGenerated(LARGE_TEMPLATE_ACCOUNTS);
    expect(large.stages.filter((stage) => needsTemplateBucket(large.files.get(templatePath(stage))!)).map((stage) => stage.id)).toEqual(['source-identity']);
    const aws = env.aws();
    expect((await bootstrap(large, aws)).filter((s) => s.status === 'missing').map((s) => s.what)).toEqual([`role ${large.org.stackSets.administrationRoleName}`]);
    for (const call of ['CreateBucketCommand', 'PutPublicAccessBlockCommand', 'PutBucketEncryptionCommand', 'PutBucketLifecycleConfigurationCommand', 'PutBucketPolicyCommand']) expect(aws.log.calls[call] ?? 0, call).toBe(0);

    // The CLI passes the flag on; the step names whom the trust no longer lets in.
    const replaced = await runCli(['bootstrap', 'parameters/example.yaml', '--replace-administration-trust'], env.endpoint);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(new RegExp(`^\\+ ${admin} role ${administrationRole}: update trust policy; no longer trusts \\(--replace-administration-trust\\): arn:aws:iam::${admin}:role/ops \\(statement Ops\\) with no condition$`, 'm'));
    const [only, ...others] = (await trustNow()).Statement;
    expect(others).toEqual([]);
    expect(only).toMatchObject({ Principal: { Service: 'cloudformation.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': admin } } });

    // AWS's sample trust alone is CloudFormation's: narrowed to this account's StackSets with no flag and no refusal.
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: administrationRole, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [cloudFormation] }) }));
    const narrowed = await bootstrap(compiled, env.aws());
    expect(narrowed.find((s) => s.what === `role ${administrationRole}`)).toMatchObject({ status: 'change', detail: 'update trust policy' });
    expect(narrowed.filter((s) => s.status === 'missing')).toEqual([]);

    // CloudFormation for named StackSets only, as AWS's page suggests "for finer control": xstack's trust would widen
    // it to every StackSet of the account, so bootstrap refuses, writing nothing; the flag widens it, saying so.
    const oneStackSet = { ...cloudFormation, Condition: { StringEquals: { 'aws:SourceAccount': admin }, ArnLike: { 'aws:SourceArn': `arn:aws:cloudformation:eu-west-1:${admin}:stackset/acme-pipelines:*` } } };
    const finer = { Version: '2012-10-17', Statement: [oneStackSet] };
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: administrationRole, PolicyDocument: JSON.stringify(finer) }));
    const refusedAws = env.aws();
    const refused = await bootstrap(compiled, refusedAws);
    expect(refused.filter((s) => s.status === 'missing').map((s) => s.what)).toEqual([`role ${administrationRole}`]);
    expect(refused.find((s) => s.status === 'missing')!.detail).toMatch(/^its trust admits CloudFormation more narrowly than xstack's would: Service cloudformation\.amazonaws\.com under its condition .*stackset\/acme-pipelines:\*.*every StackSet of the account.*--replace-administration-trust/);
    expect(refusedAws.log.calls.UpdateAssumeRolePolicyCommand ?? 0).toBe(0);
    expect(await trustNow()).toEqual(finer);
    const widened = await bootstrap(compiled, env.aws(), { replaceAdministrationTrust: true });
    expect(widened.find((s) => s.what === `role ${administrationRole}`)?.detail).toMatch(new RegExp(`^update trust policy; trusts every StackSet of ${admin} now \\(--replace-administration-trust\\), instead of: Service cloudformation\\.amazonaws\\.com under its condition `));
    // xstack's own trust, read back, is no narrower than itself: a later bootstrap leaves it.
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
  });

  it('SELF_MANAGED: an administration or execution role made by hand at a path other than / is refused, named with its path, nothing written to it: StackSets and xstack name it by an ARN without one (review s27-bootstrap m2)', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const { administrationRoleName, executionRoleName } = compiled.org.stackSets;
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const iam = env.aws().iam();
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    await iam.send(new CreateRoleCommand({ RoleName: administrationRoleName, Path: '/stacksets/', AssumeRolePolicyDocument: trust }));
    const aws = env.aws();
    const steps = await bootstrap(compiled, aws);
    expect(steps.filter((st) => st.status === 'missing')).toEqual([
      {
        account: admin,
        what: `role ${administrationRoleName}`,
        status: 'missing',
        detail: `it exists at path /stacksets/, while StackSets and xstack name it by an ARN without a path (role/${administrationRoleName}), which is not this role's (role/stacksets/${administrationRoleName}): delete it and run bootstrap again, or name another role in the org file's stackSets settings`,
      },
    ]);
    for (const call of ['UpdateAssumeRolePolicyCommand', 'PutRolePolicyCommand', 'CreatePolicyCommand', 'AttachRolePolicyCommand', 'TagRoleCommand']) expect(aws.log.calls[call] ?? 0, call).toBe(0);
    // The execution role the same, in its account.
    await iam.send(new DeleteRoleCommand({ RoleName: administrationRoleName }));
    const target = compiled.stages.flatMap((st) => st.targets)[0].id;
    const targetIam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${target}:role/OrganizationAccountAccessRole`));
    await targetIam.send(new CreateRoleCommand({ RoleName: executionRoleName, Path: '/stacksets/', AssumeRolePolicyDocument: trust }));
    const again = await bootstrap(compiled, env.aws());
    expect(again.filter((st) => st.status === 'missing' && st.account === target).map((st) => [st.what, st.detail?.slice(0, 40)])).toEqual([[`role ${executionRoleName}`, 'it exists at path /stacksets/, while Sta']]);
  });
});
