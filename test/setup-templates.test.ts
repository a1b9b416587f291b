/**
 * The setup templates of dist/<org>/setup/ (src/setup.ts), which a user deploys once by hand, against what xstack
 * does with them. moto evaluates no IAM, so the proof is made here: every IAM call bootstrap makes through the access
 * role on moto is recorded and judged against the access role's compiled policy, and every read the reader policy
 * derives for an account (src/deploy/reader-policy.ts) against the SERVICE_MANAGED reader role's. The judge is IAM's
 * rule for one identity policy within its own account: allowed when an Allow statement names the action, a resource
 * pattern matches the ARN (`*` any run of characters, `?` one) and each of its conditions holds
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); a condition this judge
 * does not read fails the test rather than pass.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compileOrg, type CompiledOrg } from '../src/compile';
import { bootstrap } from '../src/deploy/bootstrap';
import { setupVerdict } from '../src/deploy/setup-verdict';
import type { Aws } from '../src/deploy/clients';
import { readerPolicy } from '../src/deploy/reader-policy';
import { actionData } from '../src/checks/iam-data';
import { globRegExp } from '../src/checks/service-authorization';
import { checkPolicies } from '../src/checks/policy-checks';
import { formatFinding } from '../src/checks/rules';
import type { CfnTemplate } from '../src/cfn/template';
import { parseOrg } from '../src/org/load';
import { BOOTSTRAP_ACCESS_FILE, READER_ROLE_FILE } from '../src/setup';
import { fromYaml, toYaml } from '../src/yaml';
import { sha256 } from '../src/hash';
import { compileFile, tempDir } from './helpers';
import { useLocalAws } from './support/local-aws';
import { entitiesInUse, refusedCall, refusedToRole } from './support/iam-models';
import { deploySetup } from './support/setup-stack';

interface PolicyStatement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
/** IAM's wildcard match (`*` any run of characters, `?` one), as the compiler's checks read it. */
const glob = (pattern: string, value: string) => globRegExp(pattern).test(value);

/** The one managed policy of a setup template, its Fn::Sub values written for `account` in partition aws. */
function setupPolicy(compiled: CompiledOrg, file: string, account: string): PolicyStatement[] {
  const template = fromYaml(compiled.files.get(file)!) as { Resources: Record<string, { Type: string; Properties: { PolicyDocument?: { Statement: unknown[] } } }> };
  const policies = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy');
  expect(policies).toHaveLength(1);
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const sub = (value as { 'Fn::Sub'?: unknown })['Fn::Sub'];
      if (typeof sub === 'string') return sub.replaceAll('${AWS::Partition}', 'aws').replaceAll('${AWS::AccountId}', account);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  const statements = resolve(policies[0].Properties.PolicyDocument!.Statement) as PolicyStatement[];
  expect(JSON.stringify(statements)).not.toContain('${');
  return statements;
}

/** The statement that allows the request, or undefined. */
function allowedBy(statements: readonly PolicyStatement[], action: string, resource: string, context: Record<string, string> = {}): PolicyStatement | undefined {
  const holds = (condition: PolicyStatement['Condition']) =>
    Object.entries(condition ?? {}).every(([operator, keys]) => {
      expect(['ArnLike', 'StringEquals'], 'a condition operator this judge reads').toContain(operator);
      const test = operator === 'ArnLike' ? glob : (p: string, v: string) => p === v;
      return Object.entries(keys).every(([key, patterns]) => context[key] !== undefined && list(patterns).some((p) => test(p, context[key])));
    });
  return statements.find((s) => s.Effect === 'Allow' && list(s.Action).includes(action) && list(s.Resource).some((r) => glob(r, resource)) && holds(s.Condition));
}

interface IamCall {
  account: string;
  command: string;
  input: Record<string, unknown>;
}

/**
 * Every IAM call made with an assumed role's credentials (bootstrap makes those in target accounts only, through the
 * access role: bootstrap.ts credentialsOf), with the account of the role: AssumeRole's answers, by access key.
 */
function recordTargetAccountIam(aws: Aws, calls: IamCall[]): Aws {
  const accountOfKey = new Map<string, string>();
  const makeSts = aws.sts.bind(aws);
  aws.sts = (...args: Parameters<Aws['sts']>) => {
    const client = makeSts(...args);
    client.middlewareStack.add(
      ((next: (a: { input: Record<string, unknown> }) => Promise<{ output: { Credentials?: { AccessKeyId?: string } } }>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        const out = await next(args);
        if (context.commandName === 'AssumeRoleCommand') accountOfKey.set(out.output.Credentials!.AccessKeyId!, (args.input.RoleArn as string).split(':')[4]);
        return out;
      }) as never,
      { step: 'initialize', name: 'accountOfKey' },
    );
    return client;
  };
  const makeIam = aws.iam.bind(aws);
  aws.iam = (...args: Parameters<Aws['iam']>) => {
    const client = makeIam(...args);
    if (args[0] === undefined) return client;
    client.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (a: { input: Record<string, unknown> }) => {
        const key = (await client.config.credentials()).accessKeyId;
        calls.push({ account: accountOfKey.get(key) ?? `unknown key ${key}`, command: context.commandName!.replace(/Command$/, ''), input: a.input });
        return next(a);
      }) as never,
      { step: 'initialize', name: 'recordTargetAccountIam' },
    );
    return client;
  };
  return aws;
}

/** A recorded call as IAM authorizes it: the action, the resource's ARN, and the request's condition keys. */
function request(call: IamCall): { action: string; resource: string; context: Record<string, string> } {
  const { account, command, input } = call;
  const resource =
    typeof input.RoleName === 'string'
      ? `arn:aws:iam::${account}:role/${input.RoleName}`
      : typeof input.PolicyArn === 'string'
        ? input.PolicyArn
        : typeof input.PolicyName === 'string'
          ? `arn:aws:iam::${account}:policy/${input.PolicyName}`
          : typeof input.InstanceProfileName === 'string'
            ? `arn:aws:iam::${account}:instance-profile/${input.InstanceProfileName}`
            : '*';
  return { action: `iam:${command}`, resource, context: typeof input.PolicyArn === 'string' && typeof input.RoleName === 'string' ? { 'iam:PolicyARN': input.PolicyArn } : {} };
}

const env = useLocalAws();

// The example, with IAM quotas (bootstrap reads each target account's first) and tags (bootstrap tags its roles and
// policies, and reads their tags) declared.
const declared = compileOrg(parseOrg(`${readFileSync('parameters/example.yaml', 'utf8')}\niamQuotas:\n  rolesPerAccount: 1000\ntags:\n  CostCenter: "4711"\n`, 'declared.yaml'));

describe('setup: the access role bootstrap reaches a SELF_MANAGED target account through (review s32-walkthrough M2)', () => {

  it.each([
    ['the example org', compileFile('parameters/example.yaml')],
    ['the example org with iamQuotas and tags', declared],
  ])('%s: every IAM call bootstrap makes in a target account, a first run and a second, is allowed by the compiled policy', async (_, compiled) => {
    const calls: IamCall[] = [];
    const aws = recordTargetAccountIam(env.aws(), calls);
    const admin = (await aws.sts().send(new GetCallerIdentityCommand({}))).Account!;
    expect((await bootstrap(compiled, aws)).filter((s) => s.status === 'missing')).toEqual([]);
    expect((await bootstrap(compiled, aws)).filter((s) => s.status === 'missing')).toEqual([]);
    const targets = [...new Set(compiled.stages.flatMap((s) => s.targets.map((t) => t.id)))].filter((a) => a !== admin);
    expect(new Set(calls.map((c) => c.account))).toEqual(new Set(targets));
    // The writes the first run makes are among them, so the judgement below is of bootstrap's real work.
    const commands = new Set(calls.map((c) => c.command));
    for (const command of ['CreateRole', 'PutRolePolicy', 'CreatePolicy', 'AttachRolePolicy', 'GetRole', 'ListAttachedRolePolicies', 'GetAccountSummary']) expect(commands, command).toContain(command);
    for (const command of ['ListRoleTags', 'ListPolicyTags']) expect(commands.has(command), command).toBe(compiled === declared);
    // An account near its quotas: the org's roles, policies and instance profiles read by name (account-quotas.ts checkRoom).
    const near = Object.fromEntries(targets.map((a) => [a, { Roles: 995, Policies: 1495, InstanceProfiles: 1000 }]));
    await bootstrap(compiled, entitiesInUse(recordTargetAccountIam(env.aws(), calls), near));
    const read = new Set(calls.map((c) => c.command));
    for (const command of ['GetPolicy', 'GetInstanceProfile']) expect(read, command).toContain(command);
    expect(calls.filter((c) => c.command === 'GetRole' && c.input.RoleName === 'acme-pipeline').length).toBeGreaterThan(0);
    for (const call of calls) {
      const { action, resource, context } = request(call);
      expect(allowedBy(setupPolicy(compiled, BOOTSTRAP_ACCESS_FILE, call.account), action, resource, context), `${call.account}: ${action} on ${resource} ${JSON.stringify(context)}`).toBeDefined();
    }
  });

  it("refuses what bootstrap does not do: another role or policy, AWS's managed policies on the execution role, an inline policy on it", () => {
    const compiled = compileFile('parameters/example.yaml');
    const account = '222222222222';
    const policy = setupPolicy(compiled, BOOTSTRAP_ACCESS_FILE, account);
    const execution = `arn:aws:iam::${account}:role/${compiled.org.stackSets.executionRoleName}`;
    const pack = `arn:aws:iam::${account}:policy/acme-stackset-execution-1`;
    expect(allowedBy(policy, 'iam:AttachRolePolicy', execution, { 'iam:PolicyARN': pack })).toBeDefined();
    expect(allowedBy(policy, 'iam:AttachRolePolicy', execution, { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' })).toBeUndefined();
    expect(allowedBy(policy, 'iam:AttachRolePolicy', execution, { 'iam:PolicyARN': `arn:aws:iam::${account}:policy/other-admin` })).toBeUndefined();
    expect(allowedBy(policy, 'iam:AttachRolePolicy', `arn:aws:iam::${account}:role/acme-pipeline`, { 'iam:PolicyARN': pack })).toBeUndefined();
    expect(allowedBy(policy, 'iam:PutRolePolicy', execution)).toBeUndefined();
    expect(allowedBy(policy, 'iam:CreateRole', `arn:aws:iam::${account}:role/anything-else`)).toBeUndefined();
    expect(allowedBy(policy, 'iam:CreatePolicyVersion', `arn:aws:iam::${account}:policy/acme-xstack-access-writes`)).toBeUndefined();
    expect(allowedBy(policy, 'iam:CreatePolicyVersion', pack)).toBeDefined();
    // Another account's roles: none (each ARN names the account the stack runs in).
    expect(allowedBy(policy, 'iam:CreateRole', `arn:aws:iam::333333333333:role/${compiled.org.stackSets.executionRoleName}`)).toBeUndefined();
    // Only what bootstrap calls in a target account (review s33-setup m3): no untagging, the execution role's policy
    // listings on it alone, tags only where the org file declares them (the example declares none).
    const reader = `arn:aws:iam::${account}:role/acme-xstack-reader`;
    expect(allowedBy(policy, 'iam:UntagRole', execution)).toBeUndefined();
    expect(allowedBy(policy, 'iam:ListAttachedRolePolicies', execution)).toBeDefined();
    expect(allowedBy(policy, 'iam:ListAttachedRolePolicies', reader)).toBeUndefined();
    for (const action of ['iam:TagRole', 'iam:ListRoleTags']) expect(allowedBy(policy, action, execution), action).toBeUndefined();
    expect(allowedBy(policy, 'iam:TagPolicy', pack)).toBeUndefined();
    // A role of that name on a path is read (bootstrap says where it is), not written (review s33-setup m2).
    expect(allowedBy(policy, 'iam:GetRole', `arn:aws:iam::${account}:role/team/${compiled.org.stackSets.executionRoleName}`)).toBeDefined();
    expect(allowedBy(policy, 'iam:UpdateAssumeRolePolicy', `arn:aws:iam::${account}:role/team/${compiled.org.stackSets.executionRoleName}`)).toBeUndefined();
  });

  it("a call the deployed access role's policy refuses says, from the role's setup tag, whether the account runs this compile's file (review s33-setup M1)", async () => {
    // IAM's refusal names the caller: here the access role's session in the first target account bootstrap reads (111111111111).
    const asAccessRole = () => refusedToRole(env.aws(), 'iam', 'GetAccountSummaryCommand', 'iam:GetAccountSummary', 'acme-xstack-access');
    const refusal = (message: string) => expect(bootstrap(declared, asAccessRole(), { accessRoleName: 'acme-xstack-access' })).rejects.toMatchObject({ code: 'ACCESS_ROLE_POLICY_REFUSED', message: expect.stringContaining(message) });
    const reaches = "Bootstrap reaches the target accounts through acme-xstack-access, the setup template's role (tags declared, another execution role name, or an xstack whose bootstrap reads or writes more change its policy): ";
    // No setup role to read (moto's STS assumes a role that does not exist): the advice stays conditional.
    await refusal(`${reaches}the role acme-xstack-access is the setup template's, whose policy is that of the compile it was deployed from, and it could not read its own tag xstack:setup-sha256 in account 111111111111 (NoSuchEntityException)`);
    await refusal('if a compile changed dist/declared/setup/bootstrap-access.yaml since, update the setup StackSet with this compile\'s dist/declared/setup/bootstrap-access.yaml (aws cloudformation update-stack-set, README "Setup templates")');
    // The example's file, deployed before iamQuotas and tags were declared: an earlier compile's.
    const example = compileFile('parameters/example.yaml');
    const targets = [...new Set(declared.stages.flatMap((s) => s.targets.map((a) => a.id)))];
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    expect(example.setup.digest).not.toBe(declared.setup.digest);
    await deploySetup(env.aws(), example, targets, admin);
    await refusal(
      `${reaches}the role acme-xstack-access in account 111111111111 was made from another compile's dist/declared/setup/bootstrap-access.yaml (its tag xstack:setup-sha256 is ${example.setup.digest.slice(0, 12)}…, this compile's ${declared.setup.digest.slice(0, 12)}…): update the setup StackSet with this compile's dist/declared/setup/bootstrap-access.yaml (aws cloudformation update-stack-set, README "Setup templates"), then run this again`,
    );
    // This compile's file: the refusal is something else's.
    await deploySetup(env.aws(), declared, targets, admin);
    await refusal(`${reaches}the role acme-xstack-access in account 111111111111 is this compile's dist/declared/setup/bootstrap-access.yaml (its tag xstack:setup-sha256 is ${declared.setup.digest.slice(0, 12)}…): if the setup StackSet's update is still running or ended minutes ago, IAM may not apply its policy yet, so wait for it and run this again; if the call is still refused, something else refuses it`);
    // Through another access role, or a refusal of another caller (the caller's own calls in the administrator
    // account): IAM's refusal as it is (review s33-diff 8).
    await expect(bootstrap(declared, asAccessRole(), { accessRoleName: 'OrganizationAccountAccessRole' })).rejects.not.toMatchObject({ code: 'ACCESS_ROLE_POLICY_REFUSED' });
    await expect(bootstrap(declared, asAccessRole(), { accessRoleName: 'OrganizationAccountAccessRole' })).rejects.toThrow(/not authorized to perform: iam:GetAccountSummary/);
    const other = bootstrap(declared, refusedCall(env.aws(), 'GetAccountSummaryCommand', 'iam:GetAccountSummary'), { accessRoleName: 'acme-xstack-access' });
    await expect(other).rejects.toThrow(/assumed-role\/Operator\/someone is not authorized to perform: iam:GetAccountSummary/);
    await expect(bootstrap(declared, refusedCall(env.aws(), 'GetAccountSummaryCommand', 'iam:GetAccountSummary'), { accessRoleName: 'acme-xstack-access' })).rejects.not.toMatchObject({ code: 'ACCESS_ROLE_POLICY_REFUSED' });
  });

  it.each([
    ['SELF_MANAGED', () => compileFile('parameters/example.yaml'), 'BootstrapAccessRole'],
    ['SERVICE_MANAGED', () => compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('permissionModel: SELF_MANAGED', 'permissionModel: SERVICE_MANAGED').replace(/^ {2}(administrationRoleName|executionRoleName):.*\n/gm, ''), 'service.yaml')), 'ReaderRole'],
  ] as const)("%s: the setup role's tag xstack:setup-sha256 is the SHA-256 of the file without that tag (review s34-diff m8)", (_model, compile, roleId) => {
    const compiled = compile();
    const template = fromYaml(compiled.files.get(compiled.setup.path)!) as CfnTemplate;
    const properties = template.Resources[roleId].Properties as { Tags?: Array<{ Key: string; Value: string }> };
    expect(properties.Tags).toEqual([{ Key: 'xstack:setup-sha256', Value: compiled.setup.digest }]);
    delete properties.Tags;
    expect(sha256(toYaml(template))).toBe(compiled.setup.digest);
  });

  it('the SERVICE_MANAGED reader template passes cfn-lint and checkov (review s33-diff 12)', () => {
    const text = readFileSync('parameters/example.yaml', 'utf8').replace('permissionModel: SELF_MANAGED', 'permissionModel: SERVICE_MANAGED').replace(/^ {2}(administrationRoleName|executionRoleName):.*\n/gm, '');
    const dir = tempDir('reader-setup');
    writeFileSync(join(dir, 'reader-role.yaml'), compileOrg(parseOrg(text, 'service.yaml')).files.get(READER_ROLE_FILE)!);
    const lint = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', ['--regions', 'eu-west-1', '--', join(dir, 'reader-role.yaml')], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    const scan = spawnSync(process.env.XSTACK_CHECKOV ?? '.venv/bin/checkov', ['-d', dir, '--framework', 'cloudformation', '-o', 'json', '--quiet', '--skip-download'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    const summary = (JSON.parse(scan.stdout) as { summary: { passed: number; failed: number; skipped: number; parsing_errors: number } }).summary;
    expect(summary).toMatchObject({ failed: 0, parsing_errors: 0, skipped: 0 });
    expect(summary.passed).toBeGreaterThan(5);
  }, 60_000);

  it('trusts the roles the parameters name, through their account root held by aws:PrincipalArn, and takes the source identity their sessions carry; the SELF_MANAGED example has no reader template', () => {
    const compiled = compileFile('parameters/example.yaml');
    expect(compiled.files.has(READER_ROLE_FILE)).toBe(false);
    const template = fromYaml(compiled.files.get(BOOTSTRAP_ACCESS_FILE)!) as { Parameters: Record<string, unknown>; Resources: { BootstrapAccessRole: { Properties: { RoleName: string; AssumeRolePolicyDocument: unknown } } } };
    expect(Object.keys(template.Parameters)).toEqual(['AdministratorAccountId', 'TrustedRoleArns']);
    expect(template.Resources.BootstrapAccessRole.Properties.RoleName).toBe('acme-xstack-access');
    expect(template.Resources.BootstrapAccessRole.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TrustXstackCallers',
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AdministratorAccountId}:root' } },
          Action: 'sts:AssumeRole',
          Condition: { ArnEquals: { 'aws:PrincipalArn': { Ref: 'TrustedRoleArns' } } },
        },
        {
          Sid: 'CarryCallersSourceIdentity',
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AdministratorAccountId}:root' } },
          Action: 'sts:SetSourceIdentity',
          Condition: { Null: { 'aws:SourceIdentity': 'false' } },
        },
      ],
    });
  });
});

describe('setup: the SERVICE_MANAGED reader role (review s32-walkthrough M3)', () => {
  const text = readFileSync('parameters/example.yaml', 'utf8')
    .replace('permissionModel: SELF_MANAGED', 'permissionModel: SERVICE_MANAGED')
    .replace(/^ {2}(administrationRoleName|executionRoleName):.*\n/gm, '');
  const compiled = compileOrg(parseOrg(text, 'service.yaml'));
  const accounts = [...new Set(compiled.stages.flatMap((s) => s.targets.map((t) => t.id)))].sort();

  it('allows, in every target account, every read the reader policy derives for that account', () => {
    expect(compiled.files.has(BOOTSTRAP_ACCESS_FILE)).toBe(false);
    expect(accounts.length).toBeGreaterThan(3);
    let judged = 0;
    for (const account of accounts) {
      const setup = setupPolicy(compiled, READER_ROLE_FILE, account);
      for (const st of readerPolicy(compiled, account).Statement) {
        for (const action of st.Action) {
          for (const resource of st.Resource) {
            // A pattern of the derived policy (a bucket's earlier generations) is judged by a name it matches.
            const arn = resource.replaceAll('*', 'x1');
            expect(allowedBy(setup, action, resource === '*' ? '*' : arn, { 'aws:ResourceAccount': account }), `${account}: ${action} on ${resource}`).toBeDefined();
            judged++;
          }
        }
      }
    }
    expect(judged).toBeGreaterThan(accounts.length * 3);
  });

  it("a bucket of another account is not read: the S3 reads are held to the account's own (aws:ResourceAccount)", () => {
    const policy = setupPolicy(compiled, READER_ROLE_FILE, accounts[1]);
    const bucket = `arn:aws:s3:::acme-artifacts-${accounts[1]}-${compiled.org.region}`;
    expect(allowedBy(policy, 's3:ListBucket', bucket, { 'aws:ResourceAccount': accounts[1] })).toBeDefined();
    expect(allowedBy(policy, 's3:ListBucket', bucket, { 'aws:ResourceAccount': '999999999999' })).toBeUndefined();
  });

  it("xstack's own policy rules find nothing in either setup template, the two '*' resources recorded with their reasons", () => {
    for (const [org, file] of [[compiled, READER_ROLE_FILE], [declared, BOOTSTRAP_ACCESS_FILE], [compileFile('parameters/example.yaml'), BOOTSTRAP_ACCESS_FILE]] as const) {
      const template = fromYaml(org.files.get(file)!) as CfnTemplate;
      expect(checkPolicies(template).map(formatFinding), file).toEqual([]);
    }
    expect(compiled.files.get(READER_ROLE_FILE)).toContain('rule: XS002');
    expect(declared.files.get(BOOTSTRAP_ACCESS_FILE)).toContain('rule: XS002');
  });

  it('grants reads only: each action of access level List or Read (Service Authorization Reference)', () => {
    for (const st of setupPolicy(compiled, READER_ROLE_FILE, accounts[0])) {
      for (const action of list(st.Action)) expect(['List', 'Read'], action).toContain(actionData(action)?.accessLevel);
    }
  });

  it("may read its own role in every target account: the setup tag a refused read looks up to say which compile's file the account runs (src/deploy/setup-verdict.ts; review s42-mutations-4 SMR3)", () => {
    // moto evaluates no IAM: the rollout test's verdicts read the tag whatever this policy says, so it is judged here.
    expect(compiled.setup.role).toBe('acme-xstack-reader');
    for (const account of accounts) {
      expect(allowedBy(setupPolicy(compiled, READER_ROLE_FILE, account), 'iam:GetRole', `arn:aws:iam::${account}:role/${compiled.setup.role}`), account).toBeDefined();
    }
  });

  it("names no other account: a source account's repository is read in the account the stack runs in only", () => {
    const [source] = compiled.org.accounts.filter((a) => a.role === 'source');
    const repository = compiled.org.repositories[0];
    const policy = setupPolicy(compiled, READER_ROLE_FILE, '999999999999');
    expect(allowedBy(policy, 'codecommit:GetRepository', `arn:aws:codecommit:${compiled.org.region}:999999999999:${repository.name}`)).toBeDefined();
    expect(allowedBy(policy, 'codecommit:GetRepository', `arn:aws:codecommit:${compiled.org.region}:${source.id}:${repository.name}`)).toBeUndefined();
  });
});

describe("setup: what a refusal through the setup role says of the deployed file (src/deploy/setup-verdict.ts)", () => {
  const setup = { path: 'setup/reader-role.yaml', role: 'acme-xstack-reader', digest: 'a'.repeat(64) };
  const file = 'dist/acme/setup/reader-role.yaml';
  const update = `update the setup StackSet with this compile's ${file} (aws cloudformation update-stack-set, README "Setup templates")`;
  /** An IAM client answering GetRole with `answer`, or refusing it with an error of that name. */
  const iam = (answer: { name: string } | { Role: unknown }) =>
    ({
      send: async () => {
        if ('name' in answer) throw Object.assign(new Error('User: arn:aws:sts::111111111111:assumed-role/acme-xstack-reader/xstack is not authorized to perform: iam:GetRole'), { name: answer.name });
        return answer;
      },
    }) as unknown as IAMClient;

  it("a refused read of the role itself, named AccessDenied as IAM's query API names it, or AccessDeniedException, says a setup file older than the tag; another error only its name (review s42-mutations-4 SVD1)", async () => {
    for (const name of ['AccessDenied', 'AccessDeniedException']) {
      expect(await setupVerdict(iam({ name }), 'acme', setup, '111111111111')).toBe(
        `the role acme-xstack-reader is the setup template's, whose policy is that of the compile it was deployed from, and it could not read its own tag xstack:setup-sha256 in account 111111111111 (${name}; a setup file older than the tag grants no read of the role itself): if a compile changed ${file} since, ${update}`,
      );
    }
    expect(await setupVerdict(iam({ name: 'Throttling' }), 'acme', setup, '111111111111')).toContain('could not read its own tag xstack:setup-sha256 in account 111111111111 (Throttling): if a compile changed');
  });

  it('a role without the tag was made from a setup file without it, not from another compile\'s (review s42-mutations-4 SVD4)', async () => {
    const role = { RoleName: 'acme-xstack-reader', Tags: [{ Key: 'team', Value: 'platform' }] };
    expect(await setupVerdict(iam({ Role: role }), 'acme', setup, '111111111111')).toBe(`the role acme-xstack-reader in account 111111111111 was made from a setup file without the tag xstack:setup-sha256: ${update}, then run this again`);
  });
});
