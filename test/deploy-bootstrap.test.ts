/**
 * The execution role's derived policy (pure) and `xstack bootstrap` against
 * moto's server: SELF_MANAGED roles created and kept, SERVICE_MANAGED checks.
 */
import { AttachRolePolicyCommand, CreatePolicyCommand, IAMClient, CreatePolicyVersionCommand, CreateRoleCommand, GetAccountSummaryCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, ListRoleTagsCommand, PutRolePolicyCommand, TagRoleCommand, UntagRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateAccountCommand, CreateOrganizationCommand, DescribeOrganizationCommand, EnableAWSServiceAccessCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg, type CompiledOrg } from '../src/compile';
import { organizationHeldPolicies } from '../src/stages/plan';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { accountsOutsideTheOrg, attachedPackStatements, organizationHeldSteps, administrationPolicy, administrationTrust, bootstrap, ensureAdministrationPolicy, inTurn, isOwnLegacyPolicy, bootstrapDigest, bootstrapState, bootstrapTag, delegatedAdministratorStep, deployedOrgTemplates, EXECUTION_POLICY_DESCRIPTION, executionTrust, keptStatements, packWriteOrder, STACKSETS_SERVICE_PRINCIPAL, trustDropped, trustedAccessStep, type BootstrapStep } from '../src/deploy/bootstrap';
import { isOptInRegion, PARTITION_REGIONS } from '../src/aws/partitions';
import { Aws } from '../src/deploy/clients';
import { readerPolicy } from '../src/deploy/reader-policy';
import { checkAccountQuotas, checkRoom } from '../src/deploy/account-quotas';
import { iamEntitiesByAccount } from '../src/deploy/iam-entities';
import type { AdjustableIamQuota } from '../src/limits';
import { Names } from '../src/naming';
import { deploy, plan } from '../src/deploy/deployer';
import { executionPolicy, executionPolicyFor, forAccount, packPolicies, resolvePolicy, type ExecutionStatement } from '../src/deploy/execution-policy';
import { executionRoleOutsideReach } from '../src/audit/execution-reach';
import { executionPolicyPacks } from '../src/checks/execution-quota';
import { RESOURCE_PERMISSIONS } from '../src/deploy/resource-permissions';
import { serviceData } from '../src/checks/iam-data';
import { parseOrg } from '../src/org/load';
import { compileFile, compileGenerated, LARGE_TEMPLATE_ACCOUNTS, ORG_FILES } from './helpers';
import { useLocalAws } from './support/local-aws';
import { accountStates, bucketNotYetSeen, createdTwice, entitiesInUse, quotaReached, eventuallyConsistent, refusedAssume, refusedCall, refusedPolicyVersion, refusedStackSetsCall, refusedToRole, rootCaller, shortPages } from './support/iam-models';
import { deploySetup } from './support/setup-stack';
import { unreadableBootstrapNote } from '../src/deploy/execution-trust';
import { templateBucketName } from '../src/deploy/template-store';
import { CreateBucketCommand, GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import { SERVICE_ORG } from './support/service-managed-org';

/** The handler actions that serve only an optional property (optional-handler-actions.ts), which no compiled template sets. */
const OPTIONAL_ONLY = new Set([
  'codecommit:CreateCommit',
  's3:GetObject',
  's3:GetObjectVersion',
  'codedeploy:CreateDeployment',
  'codedeploy:RegisterApplicationRevision',
  'codedeploy:StopDeployment',
  'codedeploy:RegisterOnPremisesInstance',
  'codepipeline:StartPipelineExecution',
  'codepipeline:DisableStageTransition',
  'codepipeline:EnableStageTransition',
  'codestar-connections:PassConnection',
  'iam:AttachGroupPolicy',
  'iam:DetachGroupPolicy',
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'logs:PutResourcePolicy',
  'logs:DeleteResourcePolicy',
  'logs:PutIndexPolicy',
  'logs:DeleteIndexPolicy',
  'logs:PutDataProtectionPolicy',
  'logs:AssociateKmsKey',
  'logs:DisassociateKmsKey',
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'firehose:TagDeliveryStream',
  'iam:CreateServiceLinkedRole',
  ...['Create', 'Delete'].map((verb) => `s3:${verb}BucketMetadataTableConfiguration`),
  ...['Annotation', 'Inventory', 'Journal'].map((table) => `s3:UpdateBucketMetadata${table}TableConfiguration`),
  'vpc-lattice:CreateServiceNetworkVpcEndpointAssociation',
  'vpce:AllowMultiRegion',
  ...['CreateNamespace', 'CreateTable', 'CreateTableBucket', 'GetTable', 'GetTableMetadataLocation', 'PutTableBucketPolicy', 'PutTableEncryption', 'PutTablePolicy', 'UpdateTableMetadataLocation'].map((a) => `s3tables:${a}`),
]);

/** Whether IAM defines an action (a registry schema lists a few it does not, `s3:REST.PUT.OBJECT`: they authorize nothing). */
const isIamAction = (action: string) => serviceData(action.split(':')[0])?.action(action.split(':')[1]) !== undefined;

const orgs: Array<[string, CompiledOrg]> = [...ORG_FILES.map((f) => [f, compileFile(f)] as [string, CompiledOrg]), ['generated-3', compileGenerated(3)]];

/** IAM's wildcard match of a policy's Resource against an ARN (`*` any run of characters, `?` one). */
const arnMatches = (pattern: string, arn: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(arn);
/**
 * Whether a resolved policy allows `action` on `arn`, the resource owned by `resourceAccount` where that differs from
 * the policy's own account (S3 ARNs name no account). Actions match as IAM matches them (`s3:*`); of conditions, the
 * one on aws:ResourceAccount is evaluated, every other taken to hold, so that "refused" is never owed to one.
 */
const allows = (policy: ReturnType<typeof resolvePolicy>, action: string, arn: string, resourceAccount?: string) =>
  (policy.Statement as ExecutionStatement[]).some(
    (s) => s.Action.some((a) => arnMatches(a, action)) && s.Resource.some((r) => arnMatches(r, arn)) && resourceAccountHolds(s.Condition, resourceAccount ?? /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(arn)?.[1]),
  );
const resourceAccountHolds = (condition: ExecutionStatement['Condition'], resourceAccount: string | undefined) => {
  const notEquals = condition?.StringNotEquals?.['aws:ResourceAccount'];
  const present = condition?.Null?.['aws:ResourceAccount'] === 'false';
  if (present && resourceAccount === undefined) return false;
  return notEquals === undefined || resourceAccount !== notEquals;
};

describe('the execution role policy derived from the compiled templates', () => {
  for (const [file, compiled] of orgs) {
    it(`${file}: every action any template's resource types need is granted; none that only an optional property the templates leave out needs`, () => {
      const statements = executionPolicy(compiled);
      const granted = new Set(statements.flatMap((s) => s.Action));
      const types = new Set(compiled.stages.flatMap((s) => Object.values(renderTemplate(s.definition).Resources).map((r) => r.Type)));
      expect(types.size).toBeGreaterThan(10);
      for (const type of types) for (const action of RESOURCE_PERMISSIONS[type]) if (!OPTIONAL_ONLY.has(action)) expect(granted.has(action), `${type}: ${action}`).toBe(isIamAction(action));
      for (const action of OPTIONAL_ONLY) expect(granted.has(action), action).toBe(false);
      // Two wildcards, each with its reason: every CloudFormation action ("full AWS CloudFormation permissions", the
      // StackSets guide), on the org's instance stacks only; and every S3 action the same guide says StackSets needs,
      // never on a resource of the target account itself.
      const wildcards = statements.filter((s) => s.Action.some((a) => a.includes('*')));
      expect(wildcards.map((s) => [s.Action, s.Resource, s.Condition])).toEqual([
        [['cloudformation:*'], [`arn:\${AWS::Partition}:cloudformation:\${AWS::Region}:\${AWS::AccountId}:stack/StackSet-${compiled.org.prefix}-*`], undefined],
        [['s3:*'], ['*'], { StringNotEquals: { 'aws:ResourceAccount': '${AWS::AccountId}' }, Null: { 'aws:ResourceAccount': 'false' } }],
      ]);
      expect(wildcards[0].reason).toMatch(/full AWS CloudFormation permissions/);
      expect(wildcards[1].reason).toMatch(/You must add the S3 service action and resources to AWSCloudFormationStackSetExecutionRole/);
      for (const a of ['cloudformation:ValidateTemplate', 'cloudformation:DescribeStackDriftDetectionStatus', 'cloudformation:ListStacks']) expect(granted.has(a), a).toBe(true);
    });

    it(`${file}: the events dead-letter queue's handler actions (queue and queue policy) on that queue's ARN only, in every account that has one`, () => {
      const { prefix, partition, region } = compiled.org;
      const statements = executionPolicy(compiled);
      const policy = resolvePolicy(statements, { partition, account: '111111111111', region });
      const queue = (name: string) => `arn:${partition}:sqs:${region}:111111111111:${name}`;
      for (const action of [...RESOURCE_PERMISSIONS['AWS::SQS::Queue'], ...RESOURCE_PERMISSIONS['AWS::SQS::QueuePolicy']]) {
        // A source account's (forwarding rules) and a pipeline account's (trigger rules).
        for (const name of [`${prefix}-forward-dlq`, `${prefix}-events-dlq`]) expect(allows(policy, action, queue(name)), `${action} ${name}`).toBe(true);
        expect(allows(policy, action, queue('someone-elses')), action).toBe(false);
      }
      expect(statements.find((s) => s.Sid === 'SqsNamed')?.Resource).toEqual([`${prefix}-events-dlq`, `${prefix}-forward-dlq`].map((name) => `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${name}`));
    });

    it(`${file}: nothing outside the org's names; every broader statement says why`, () => {
      const { prefix, repositories } = compiled.org;
      const statements = executionPolicy(compiled);
      const resolved = resolvePolicy(statements, { partition: compiled.org.partition, account: '111111111111', region: compiled.org.region }).Statement as ExecutionStatement[];
      for (const [i, s] of resolved.entries()) {
        if (statements[i].reason) {
          expect(statements[i].reason!.length, s.Sid).toBeGreaterThan(30);
          continue;
        }
        for (const r of s.Resource) {
          const name = r.replace(/^arn:[^:]+:[^:]+:[^:]*:[^:]*:/, '').replace(/^(role|policy|instance-profile|rule|event-bus|alias|stack|application:|deploymentgroup:|log-group:)\/?/, '');
          const own = name.startsWith(`${prefix}-`) || name.startsWith(`StackSet-${prefix}-`) || repositories.some((x) => x.name === name) || name === 'default';
          expect(own, `${s.Sid}: ${r}`).toBe(true);
        }
      }
      // Writes on "*" only where the Service Authorization Reference gives the action no resource type, so IAM accepts
      // nothing else (execution-authorization.test.ts): an event bus policy's, in the accounts that need it, with its
      // reason; the log deliveries of a flow log and a log group are for destinations the templates do not use
      // (optional-handler-actions.ts). kms:CreateKey has its own statement.
      const writesOnStar = statements.filter((s) => s.Sid !== 'KmsCreateKey' && s.Resource.includes('*') && s.Action.some((a) => /:(Create|Delete|Put|Update|Attach|Detach|Tag|Untag|Modify|Pass|Remove)/.test(a)));
      expect(writesOnStar.flatMap((s) => s.Action).sort()).toEqual(['events:PutPermission', 'events:RemovePermission']);
      for (const s of writesOnStar) {
        expect(s.scope?.get('*')?.size, s.Sid).toBeGreaterThan(0);
        expect(s.reason, s.Sid).toMatch(/no resource type/);
      }
      const policy = resolvePolicy(statements, { partition: compiled.org.partition, account: '111111111111', region: compiled.org.region });
      const p = compiled.org.partition;
      expect(allows(policy, 'iam:CreateRole', `arn:${p}:iam::111111111111:role/${prefix}-pipeline`)).toBe(compiled.stages.some((s) => s.id === 'pipeline-identity'));
      for (const [action, arn] of [
        ['iam:CreateRole', `arn:${p}:iam::111111111111:role/admin`],
        ['iam:PutRolePolicy', `arn:${p}:iam::111111111111:role/OrganizationAccountAccessRole`],
        ['iam:AttachRolePolicy', `arn:${p}:iam::111111111111:role/${compiled.org.stackSets.executionRoleName}`],
        ['iam:PassRole', `arn:${p}:iam::111111111111:role/admin`],
        ['s3:DeleteBucket', `arn:${p}:s3:::someone-elses-bucket`],
        ['s3:PutObject', `arn:${p}:s3:::someone-elses-bucket/key`],
        ['s3:PutBucketPolicy', `arn:${p}:s3:::someone-elses-bucket`],
        ['codecommit:DeleteRepository', `arn:${p}:codecommit:${compiled.org.region}:111111111111:not-ours`],
        ['iam:CreateRole', `arn:${p}:iam::222222222222:role/${prefix}-pipeline`],
      ]) {
        expect(allows(policy, action, arn), `${action} ${arn}`).toBe(false);
      }
      // The S3 StackSets needs (StackSetsService): in another account's bucket, whose own policy must admit the role too;
      // in a bucket of this account, only what the statements for the org's own buckets grant.
      expect(allows(policy, 's3:PutObject', `arn:${p}:s3:::stacksets-bucket/key`, '999999999999')).toBe(true);
      expect(allows(policy, 's3:PutObject', `arn:${p}:s3:::someone-elses-bucket/key`, '111111111111')).toBe(false);
      // A call whose request names no resource account (the account's own S3 settings) passes no negated condition.
      expect(allows(policy, 's3:PutAccountPublicAccessBlock', '*')).toBe(false);
    });
  }

  it("bucket generation 2: the execution role has nothing on generation 1's names (plan reads them with the reader role: reader-policy.ts)", () => {
    const example = readFileSync('parameters/example.yaml', 'utf8');
    const statements = executionPolicy(compileOrg(parseOrg(`${example}\nbucketGeneration: 2\n`, 'example.yaml')));
    expect(statements.filter((s) => s.Resource.some((r) => /-\$\{AWS::Region\}(\/\*)?$/.test(r) && r.includes(':s3:::')))).toEqual([]);
  });

  it("each account's policy names only what its own instances create: repositories in their source account, a pipeline's names where it runs, EC2 where the CI network is", () => {
    const compiled = compileFile('parameters/example.yaml');
    const { org } = compiled;
    const statements = executionPolicy(compiled);
    const own = (account: string) => forAccount(statements, account);
    const resources = (account: string, sid: string) => own(account).find((s) => s.Sid === sid)?.Resource ?? [];
    const accountId = (name: string) => org.accounts.find((a) => a.name === name)!.id;
    for (const account of org.accounts) {
      const repositories = org.repositories.filter((r) => r.account === account.name).map((r) => `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${r.name}`);
      expect(resources(account.id, 'CodecommitNamed'), account.name).toEqual(repositories.sort());
      for (const pipeline of org.pipelines) {
        const runsHere = pipeline.branches.some(([environment]) => environment === account.environment);
        const arn = `arn:\${AWS::Partition}:codepipeline:\${AWS::Region}:\${AWS::AccountId}:${org.prefix}-${pipeline.name}`;
        expect(resources(account.id, 'CodepipelineNamed').includes(arn), `${pipeline.name} in ${account.name}`).toBe(runsHere);
      }
      // The CI network's VPC, subnets and endpoints (generated ids): the CI account's policy only.
      expect(own(account.id).some((s) => s.Sid === 'Ec2GeneratedIds'), account.name).toBe(account.id === accountId(org.access.ci!.account));
    }
    // A pipeline that skips an environment: its names are not in that environment's account.
    const skipping = org.pipelines.find((p) => org.accounts.some((a) => a.role === 'pipeline' && !p.branches.some(([e]) => e === a.environment)));
    expect(skipping).toBeDefined();
    // Unscoped: what every account's policy holds (the stacks, the read-only actions, the Denies).
    for (const sid of ['InstanceStacks', 'ReadOnlyWithoutResourceTypes', 'IamNoPathedNames']) for (const account of org.accounts) expect(own(account.id).some((s) => s.Sid === sid), `${sid} in ${account.name}`).toBe(true);
    // "*" is read-only: creating a VPC or an Elastic IP takes their resource types (vpc, elastic-ip), so it is on this
    // account's EC2 ARNs where EC2 resources are made; kms:CreateKey, which has none, only where a key is made.
    const readOnly = statements.find((s) => s.Sid === 'ReadOnlyWithoutResourceTypes')!;
    expect(readOnly.Action.filter((a) => !/^[a-z0-9-]+:(Describe|List|Get|ValidateTemplate)/.test(a))).toEqual([]);
    expect(statements.find((s) => s.Sid === 'Ec2GeneratedIds')!.Action).toEqual(expect.arrayContaining(['ec2:CreateVpc', 'ec2:AllocateAddress']));
    for (const account of org.accounts) {
      expect(own(account.id).some((s) => s.Sid === 'KmsCreateKey'), `KmsCreateKey in ${account.name}`).toBe(account.role === 'pipeline');
      // The roles the org file names are read with the reader role (reader-policy.ts), never with this one.
      expect(own(account.id).some((s) => s.Sid === 'SeeExistingRoles'), `SeeExistingRoles in ${account.name}`).toBe(false);
      expect(readerPolicy(compiled, account.id).Statement.some((s) => s.Sid === 'SeeExistingRoles'), `reader's SeeExistingRoles in ${account.name}`).toBe(account.role === 'pipeline');
    }
  });

  it("the CI network's log group writes on its own group alone, whose name ends in its stack's id (review s37-execution X2); a deployed template's unnamed group keeps them account-wide in its accounts only", () => {
    const compiled = compileFile('parameters/example.yaml');
    const ci = compiled.org.accounts.find((a) => a.name === 'tools')!.id;
    const network = compiled.stages.find((st) => st.id === 'ci-network')!;
    const group = (name: string) => `arn:aws:logs:eu-west-1:${ci}:log-group:${name}`;
    const at = (statements: ExecutionStatement[], account: string) => resolvePolicy(forAccount(statements, account), { partition: 'aws', account, region: 'eu-west-1' });
    const now = at(executionPolicy(compiled), ci);
    for (const action of ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy']) {
      expect(allows(now, action, group('acme-ci-flow-logs-51af3dc0-da77-11e4-872e-1234567890ab')), action).toBe(true);
      expect(allows(now, action, group('someone-elses-log-group')), action).toBe(false);
      expect(allows(now, action, group('/aws/lambda/acme-ci-flow-logs-x')), action).toBe(false);
    }
    // As deployed before the group had a name: its writes stay account-wide, in the CI account only, until a deploy replaces it.
    const before = renderTemplate(network.definition);
    delete (before.Resources.FlowLogGroup.Properties as Record<string, unknown>).LogGroupName;
    const statements = executionPolicy(compiled, [{ template: before, accounts: [ci] }]);
    expect(allows(at(statements, ci), 'logs:DeleteLogGroup', group('StackSet-acme-ci-network-x-FlowLogGroup-y'))).toBe(true);
    expect(forAccount(statements, ci).find((s) => s.Sid === 'LogsUnnamed')?.reason).toMatch(/earlier xstack left unnamed/);
    const other = compiled.org.accounts.find((a) => a.role === 'pipeline')!.id;
    expect(forAccount(statements, other).some((s) => s.Sid === 'LogsUnnamed')).toBe(false);
    // A compiled template's unnamed group is no deployed one's: refused, never granted account-wide (review s38-lead-diff m1).
    expect(() => executionPolicyFor([{ template: before, accounts: [ci] }], 'acme')).toThrow(/AWS::Logs::LogGroup FlowLogGroup: its LogGroupName is not a fixed name/);
  });

  it("a deployed template's names are kept only in the accounts of its instances (a renamed pipeline's old names where its old instance runs)", () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const base = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const renamed = compileOrg(parseOrg(text.replace(/\npipelines:\n {2}web-app:/, '\npipelines:\n  web-frontend:'), 'parameters/example.yaml'));
    const pipelines = base.stages.find((st) => st.module === 'pipeline')!;
    // As if only dev's instance still ran the old template.
    const statements = executionPolicy(renamed, [{ template: renderTemplate(pipelines.definition), accounts: ['222222222222'] }]);
    const pipelineArn = (name: string) => `arn:\${AWS::Partition}:codepipeline:\${AWS::Region}:\${AWS::AccountId}:acme-${name}`;
    const named = (account: string) => forAccount(statements, account).find((x) => x.Sid === 'CodepipelineNamed')?.Resource ?? [];
    expect(named('222222222222')).toContain(pipelineArn('web-app'));
    expect(named('444444444444')).not.toContain(pipelineArn('web-app'));
    for (const account of ['222222222222', '333333333333', '444444444444']) expect(named(account), account).toContain(pipelineArn('web-frontend'));
    // Given alone (no accounts), a template's names are in every account's policy.
    expect(forAccount(executionPolicy(renamed, [renderTemplate(pipelines.definition)]), '444444444444').find((x) => x.Sid === 'CodepipelineNamed')!.Resource).toContain(pipelineArn('web-app'));
  });

  it("an earlier xstack's shared administration policy is this org's only when it names exactly this org's accounts (another org's, of a part of them, is left)", () => {
    const legacy = (accounts: string[]) => ({ Statement: [{ Sid: 'AssumeExecutionRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: accounts.map((a) => `arn:aws:iam::${a}:role/AWSCloudFormationStackSetExecutionRole`) }] });
    const ours = new Set(['111111111111', '222222222222', '333333333333']);
    expect(isOwnLegacyPolicy(legacy([...ours]), 'aws', 'AWSCloudFormationStackSetExecutionRole', ours)).toBe(true);
    expect(isOwnLegacyPolicy(legacy(['111111111111', '222222222222']), 'aws', 'AWSCloudFormationStackSetExecutionRole', ours)).toBe(false);
    expect(isOwnLegacyPolicy(legacy([...ours, '999999999999']), 'aws', 'AWSCloudFormationStackSetExecutionRole', ours)).toBe(false);
    expect(isOwnLegacyPolicy(legacy([...ours]), 'aws', 'OtherExecutionRole', ours)).toBe(false);
    const orgWide = { Statement: [{ Sid: 'AssumeExecutionRolesInTheOrg', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/AWSCloudFormationStackSetExecutionRole', Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } } }] };
    expect(isOwnLegacyPolicy(orgWide, 'aws', 'AWSCloudFormationStackSetExecutionRole', ours, 'o-a1b2c3d4e5')).toBe(true);
    expect(isOwnLegacyPolicy(orgWide, 'aws', 'AWSCloudFormationStackSetExecutionRole', ours, 'o-zzzzzzzzzz')).toBe(false);
  });

  it('target accounts a few at once, their steps handed on in the accounts\' order; a failure stops new accounts and is the first failing account\'s', async () => {
    const accounts = Array.from({ length: 10 }, (_, i) => String(100000000000 + i));
    let running = 0;
    let most = 0;
    const steps: string[] = [];
    const report = (s: BootstrapStep) => void steps.push(`${s.account} ${s.what}`);
    await inTurn(accounts, 4, report, async (account, own) => {
      most = Math.max(most, ++running);
      own({ account, what: 'first', status: 'ok' });
      await new Promise((r) => setTimeout(r, (Number(account.slice(-1)) * 7) % 10));
      own({ account, what: 'second', status: 'ok' });
      running--;
    });
    expect(most).toBe(4);
    expect(steps).toEqual(accounts.flatMap((a) => [`${a} first`, `${a} second`]));
    const started: string[] = [];
    const failed = inTurn(accounts, 4, () => undefined, async (account) => {
      started.push(account);
      await new Promise((r) => setTimeout(r, account.endsWith('2') ? 1 : 5));
      if (account.endsWith('2') || account.endsWith('3')) throw new Error(`failed in ${account}`);
    });
    await expect(failed).rejects.toThrow('failed in 100000000002');
    expect(started.length).toBeLessThan(accounts.length);
  });

  it("replacing an earlier xstack's administration policy too large to keep beside the new one: a refused write puts the earlier one back (review s15-merged F5)", async () => {
    const accounts = Array.from({ length: 80 }, (_, i) => String(300000000000 + i));
    const base = compileFile('parameters/example.yaml');
    const { org } = base;
    const legacy = { Version: '2012-10-17', Statement: [{ Sid: 'AssumeExecutionRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: accounts.map((a) => `arn:aws:iam::${a}:role/${org.stackSets.executionRoleName}`) }] };
    // IAM as this role holds it: the earlier policy; the write of the new one refused.
    const inline = new Map<string, string>([['assume-execution-roles', JSON.stringify(legacy)]]);
    const calls: string[] = [];
    const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    iam.middlewareStack.add(
      (_next, context) => async (args) => {
        const input = args.input as { PolicyName?: string; PolicyDocument?: string };
        calls.push(`${context.commandName} ${input.PolicyName ?? ''}`);
        switch (context.commandName) {
          case 'ListRolePoliciesCommand':
            return { output: { PolicyNames: [...inline.keys()], IsTruncated: false, $metadata: {} } } as never;
          case 'GetRolePolicyCommand': {
            const text = inline.get(input.PolicyName!);
            if (!text) throw Object.assign(new Error('no such policy'), { name: 'NoSuchEntityException' });
            return { output: { PolicyDocument: encodeURIComponent(text), $metadata: {} } } as never;
          }
          case 'DeleteRolePolicyCommand':
            inline.delete(input.PolicyName!);
            return { output: { $metadata: {} } } as never;
          case 'PutRolePolicyCommand':
            if (input.PolicyName !== 'assume-execution-roles') throw Object.assign(new Error('refused by an SCP'), { name: 'AccessDenied' });
            inline.set(input.PolicyName!, input.PolicyDocument!);
            return { output: { $metadata: {} } } as never;
        }
        throw new Error(`unexpected ${context.commandName}`);
      },
      { step: 'initialize' },
    );
    const writes = { dry: false, report: () => undefined, sleep: async () => undefined, roleCreated: false };
    await expect(ensureAdministrationPolicy(iam, '000000000000', base, accounts, undefined, writes)).rejects.toThrow('refused by an SCP');
    expect(calls).toContain('DeleteRolePolicyCommand assume-execution-roles');
    expect(inline.get('assume-execution-roles')).toBe(JSON.stringify(legacy));
  });

  it("the room under IAM's quotas (checkRoom): from the summary alone while all the org makes fits; past it, each entity read by name and the missing ones counted; a read IAM refuses is thrown", async () => {
    const error = (name: string) => Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode: name === 'AccessDenied' ? 403 : 404 } });
    const account = (SummaryMap: Record<string, number>, existing: string[], refused?: string) => {
      const reads: string[] = [];
      const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
      iam.middlewareStack.add(
        (_next, context) => async (args) => {
          if (context.commandName === 'GetAccountSummaryCommand') return { output: { SummaryMap, $metadata: {} } } as never;
          const input = args.input as Record<string, string>;
          const name = input.RoleName ?? input.InstanceProfileName ?? input.PolicyArn;
          reads.push(`${context.commandName} ${name}`);
          if (context.commandName === refused) throw error('AccessDenied');
          if (!existing.includes(name)) throw error('NoSuchEntity');
          return { output: { $metadata: {} } } as never;
        },
        { step: 'initialize' },
      );
      return { iam, reads };
    };
    const made = { roles: new Set(['r1', 'r2', 'r3']), policies: new Set(['p1']), instanceProfiles: new Set<string>() };
    const at = { partition: 'aws-us-gov', account: '123456789012' };
    const summary = { Roles: 997, RolesQuota: 1000, Policies: 10, PoliciesQuota: 1500, InstanceProfiles: 999, InstanceProfilesQuota: 1000 };
    const fits = account(summary, []);
    // Instance profiles: none to make, nothing said of them.
    expect(await checkRoom(fits.iam, summary, made, at)).toEqual({ room: ['roles 997 + 3 of 1000', 'customer managed policies 10 + 1 of 1500'], short: [] });
    expect(fits.reads).toEqual([]);
    const tight = { ...summary, Roles: 998 };
    const oneThere = account(tight, ['r2']);
    expect(await checkRoom(oneThere.iam, tight, made, at)).toEqual({ room: ['roles 998 + 2 of 1000', 'customer managed policies 10 + 1 of 1500'], short: [] });
    expect(oneThere.reads).toEqual(['GetRoleCommand r1', 'GetRoleCommand r2', 'GetRoleCommand r3']);
    const noneThere = await checkRoom(account(tight, []).iam, tight, made, at);
    expect(noneThere.short).toEqual([expect.stringMatching(/^the account holds 998 roles of its quota of 1000 \(GetAccountSummary: Roles, RolesQuota\), and this org makes 3 more here that are not there yet \(r1, r2, r3\): past 2 of them IAM refuses/)]);
    // A policy by its ARN in the account's partition.
    const policies = { ...summary, Policies: 1500 };
    const policyThere = account(policies, [`arn:aws-us-gov:iam::123456789012:policy/p1`]);
    expect((await checkRoom(policyThere.iam, policies, made, at)).room).toContain('customer managed policies 1500 + 0 of 1500');
    // A read IAM refuses is thrown, as the summary's is (bootstrap tells a setup role's refusal: setupRoleRefused).
    await expect(checkRoom(account(tight, [], 'GetRoleCommand').iam, tight, made, at)).rejects.toMatchObject({ name: 'AccessDenied' });
    // At the quota already: every missing one is refused.
    const atQuota = { ...summary, Roles: 1000 };
    expect((await checkRoom(account(atQuota, ['r1']).iam, atQuota, made, at)).short).toEqual([expect.stringMatching(/makes 2 more here that are not there yet \(r2, r3\): IAM refuses the create of each with LimitExceeded/)]);
    // A summary without a kind's keys says nothing of its room.
    expect(await checkRoom(account({}, []).iam, {}, made, at)).toEqual({ room: [], short: [] });
  });

  it("an account's quotas against the declared ones (GetAccountSummary's SummaryMap): held at or above, short below, and short where the summary has no such key (nothing says the account holds it)", async () => {
    const summaryOf = (SummaryMap: Record<string, number>) => {
      const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
      iam.middlewareStack.add(() => async () => ({ output: { SummaryMap, $metadata: {} } }) as never, { step: 'initialize' });
      return iam;
    };
    const declared: Array<[AdjustableIamQuota, number]> = [['roleTrustPolicyChars', 4096], ['managedPoliciesPerRole', 20], ['rolesPerAccount', 2000]];
    const raised = await checkAccountQuotas(summaryOf({ AssumeRolePolicySizeQuota: 4096, AttachedPoliciesPerRoleQuota: 25, RolesQuota: 5000 }), declared);
    expect(raised).toEqual({ held: ['iamQuotas.roleTrustPolicyChars 4096 (IAM: 4096)', 'iamQuotas.managedPoliciesPerRole 20 (IAM: 25)', 'iamQuotas.rolesPerAccount 2000 (IAM: 5000)'], short: [] });
    const partly = await checkAccountQuotas(summaryOf({ AssumeRolePolicySizeQuota: 4096, AttachedPoliciesPerRoleQuota: 10 }), declared);
    expect(partly.held).toEqual(['iamQuotas.roleTrustPolicyChars 4096 (IAM: 4096)']);
    expect(partly.short).toEqual([
      expect.stringMatching(/^the org file declares iamQuotas\.managedPoliciesPerRole 20, and IAM reports AttachedPoliciesPerRoleQuota 10 for this account .* or declare 10 in the org file$/),
      expect.stringMatching(/^the org file declares iamQuotas\.rolesPerAccount 2000, and IAM reports no RolesQuota for this account .* past its default would be refused .* or declare 1000 in the org file$/),
    ]);
    // Each quota against its own key (review s41-mutations-3 AQ2): the SummaryMap also holds the account's counts (Roles,
    // Policies, InstanceProfiles) and other quotas (PolicyVersionsInUseQuota, AttachedPoliciesPerUserQuota, …), none of
    // which may decide. Held where only the quota keys are high enough, short where only they are too low.
    const every: Array<[AdjustableIamQuota, number]> = [['rolesPerAccount', 2000], ['instanceProfilesPerAccount', 2000], ['customerManagedPoliciesPerAccount', 2000], ['managedPoliciesPerRole', 20], ['roleTrustPolicyChars', 4096]];
    const quotaKeys = { RolesQuota: 2000, InstanceProfilesQuota: 2000, PoliciesQuota: 2000, AttachedPoliciesPerRoleQuota: 20, AssumeRolePolicySizeQuota: 4096 };
    const otherKeys = ['Roles', 'InstanceProfiles', 'Policies', 'PolicyVersionsInUseQuota', 'AttachedPoliciesPerUserQuota', 'AttachedPoliciesPerGroupQuota', 'PolicySizeQuota', 'UsersQuota', 'GroupsQuota'];
    const others = (n: number) => Object.fromEntries(otherKeys.map((k) => [k, n]));
    expect(await checkAccountQuotas(summaryOf({ ...quotaKeys, ...others(1) }), every)).toEqual({ held: every.map(([q, n]) => `iamQuotas.${q} ${n} (IAM: ${n})`), short: [] });
    const justBelow = Object.fromEntries(Object.entries(quotaKeys).map(([k, n]) => [k, n - 1]));
    const low = await checkAccountQuotas(summaryOf({ ...justBelow, ...others(100_000) }), every);
    expect(low.held).toEqual([]);
    expect(low.short.map((line) => /IAM reports (\w+) (\d+) for this account/.exec(line)?.slice(1))).toEqual([['RolesQuota', '1999'], ['InstanceProfilesQuota', '1999'], ['PoliciesQuota', '1999'], ['AttachedPoliciesPerRoleQuota', '19'], ['AssumeRolePolicySizeQuota', '4095']]);
  });

  it("past the listed form, the organization's members are read (ListAccounts): accounts outside it are named and said; where the list cannot be read, said not confirmed (review s27-bootstrap m8)", async () => {
    const accounts = Array.from({ length: 200 }, (_, i) => String(300000000000 + i));
    const base = compileFile('parameters/example.yaml');
    const role = base.org.stackSets.executionRoleName;
    const written = new Map<string, string>();
    const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    iam.middlewareStack.add(
      (_next, context) => async (args) => {
        const input = args.input as { PolicyName?: string; PolicyDocument?: string };
        if (context.commandName === 'ListRolePoliciesCommand') return { output: { PolicyNames: [], IsTruncated: false, $metadata: {} } } as never;
        if (context.commandName === 'GetRolePolicyCommand') throw Object.assign(new Error('no such policy'), { name: 'NoSuchEntityException' });
        if (context.commandName === 'PutRolePolicyCommand') return (written.set(input.PolicyName!, input.PolicyDocument!), { output: { $metadata: {} } }) as never;
        throw new Error(`unexpected ${context.commandName}`);
      },
      { step: 'initialize' },
    );
    const steps: BootstrapStep[] = [];
    const writes = { dry: false, report: (s: BootstrapStep) => void steps.push(s), sleep: async () => undefined, roleCreated: false };
    const asked: string[][] = [];
    await ensureAdministrationPolicy(iam, '000000000000', base, accounts, 'o-a1b2c3d4e5', writes, async (targets) => (asked.push([...targets]), { outside: ['300000000007'] }));
    expect(asked).toEqual([accounts]);
    const policy = JSON.parse(written.get('acme-assume-execution-roles')!);
    expect(policy.Statement.map((st: { Sid: string }) => st.Sid)).toEqual(['AssumeExecutionRolesInTheOrg', 'AssumeExecutionRolesOutsideTheOrg']);
    expect(policy.Statement[1].Resource).toEqual([`arn:aws:iam::300000000007:role/${role}`]);
    expect(steps.find((s) => s.what.endsWith('target accounts outside organization o-a1b2c3d4e5'))?.detail).toBe("named one by one, as aws:ResourceOrgID holds only for the organization's members: 300000000007");

    steps.length = 0;
    await ensureAdministrationPolicy(iam, '000000000000', base, accounts, 'o-a1b2c3d4e5', writes, async () => ({ unknown: 'AccessDeniedException: not the management account' }));
    expect(JSON.parse(written.get('acme-assume-execution-roles')!).Statement.map((st: { Sid: string }) => st.Sid)).toEqual(['AssumeExecutionRolesInTheOrg']);
    expect(steps.find((s) => s.what.endsWith('target accounts in organization o-a1b2c3d4e5'))?.detail).toMatch(/^not confirmed \(organizations:ListAccounts, AccessDeniedException: not the management account\): .* run bootstrap from the management account or a delegated administrator/);

    // Within the listed form, nothing is read.
    asked.length = 0;
    await ensureAdministrationPolicy(iam, '000000000000', base, accounts.slice(0, 5), 'o-a1b2c3d4e5', writes, async (targets) => (asked.push([...targets]), { outside: [] }));
    expect(asked).toEqual([]);
  });

  it('packs into managed policies IAM accepts (6,144 characters each, at most 10 on a role)', () => {
    for (const [, compiled] of orgs) {
      const policy = resolvePolicy(executionPolicy(compiled), { partition: compiled.org.partition, account: '111111111111', region: compiled.org.region });
      const packs = packPolicies(policy.Statement);
      expect(packs.length).toBeLessThanOrEqual(10);
      for (const pack of packs) expect(JSON.stringify({ Version: '2012-10-17', Statement: pack }).length).toBeLessThanOrEqual(6144);
      expect(packs.flat()).toEqual(policy.Statement);
    }
  });

  it("an optional property's handler actions are granted when a template sets it, for its type only (a repository's initial commit, a pipeline run after an update, a deployment with its group, a connection)", () => {
    const compiled = compileFile('parameters/example.yaml');
    const granted = (change: (type: string, properties: Record<string, unknown>) => Record<string, unknown> | undefined) => {
      const stages = compiled.stages.map((stage) => {
        const resources = Object.fromEntries(
          Object.entries(stage.definition.resources).map(([id, r]) => {
            const res = r as { Type: string; Properties?: Record<string, unknown> };
            const properties = change(res.Type, res.Properties ?? {});
            return [id, properties ? { ...res, Properties: properties } : r];
          }),
        );
        return { ...stage, definition: { ...stage.definition, resources } };
      });
      return new Set(executionPolicy({ ...compiled, stages } as CompiledOrg).flatMap((s) => s.Action));
    };
    const none = granted(() => undefined);
    for (const action of OPTIONAL_ONLY) expect(none.has(action), action).toBe(false);
    const code = granted((type, p) => (type === 'AWS::CodeCommit::Repository' ? { ...p, Code: { S3: { Bucket: 'b', Key: 'k.zip' } } } : undefined));
    expect(['codecommit:CreateCommit', 's3:GetObject', 's3:GetObjectVersion'].filter((a) => code.has(a))).toHaveLength(3);
    expect(code.has('codepipeline:StartPipelineExecution')).toBe(false);
    const restart = (value: unknown) => granted((type, p) => (type === 'AWS::CodePipeline::Pipeline' ? { ...p, RestartExecutionOnUpdate: value } : undefined));
    expect(restart(true).has('codepipeline:StartPipelineExecution')).toBe(true);
    expect(restart(false).has('codepipeline:StartPipelineExecution')).toBe(false);
    expect(restart({ 'Fn::If': ['C', true, false] }).has('codepipeline:StartPipelineExecution')).toBe(true);
    const deployment = granted((type, p) => (type === 'AWS::CodeDeploy::DeploymentGroup' ? { ...p, Deployment: { Revision: { RevisionType: 'S3' } } } : undefined));
    expect(deployment.has('codedeploy:CreateDeployment') && deployment.has('codedeploy:RegisterApplicationRevision')).toBe(true);
    expect(deployment.has('codecommit:CreateCommit')).toBe(false);
    // A connection named in one account's branch of an Fn::If still counts.
    const connection = granted((type, p) =>
      type === 'AWS::CodePipeline::Pipeline' ? { ...p, Stages: [{ Name: 'Source', Actions: [{ 'Fn::If': ['C', { Name: 'S', Configuration: { ConnectionArn: 'x' } }, { Ref: 'AWS::NoValue' }] }] }] } : undefined,
    );
    expect(connection.has('codestar-connections:PassConnection')).toBe(true);
    // A flow log's S3 and Firehose delivery, for another destination than CloudWatch Logs only (review s30-execution E1).
    const flowLogTo = (destination: unknown) => granted((type, p) => (type === 'AWS::EC2::FlowLog' ? { ...p, LogDestinationType: destination } : undefined));
    const delivery = ['logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'iam:CreateServiceLinkedRole'];
    for (const destination of ['s3', 'kinesis-data-firehose', { 'Fn::If': ['C', 's3', 'cloud-watch-logs'] }]) expect(delivery.filter((a) => flowLogTo(destination).has(a)), JSON.stringify(destination)).toEqual(delivery);
    expect(delivery.filter((a) => flowLogTo('cloud-watch-logs').has(a))).toEqual([]);
    // A log group's data protection policy and KMS key (E2).
    const group = (properties: Record<string, unknown>) => granted((type, p) => (type === 'AWS::Logs::LogGroup' ? { ...p, ...properties } : undefined));
    const audit = group({ DataProtectionPolicy: { Name: 'p' } });
    expect(['logs:PutDataProtectionPolicy', 'logs:CreateLogDelivery', 'firehose:TagDeliveryStream'].filter((a) => audit.has(a))).toHaveLength(3);
    expect(audit.has('logs:AssociateKmsKey')).toBe(false);
    expect(['logs:AssociateKmsKey', 'logs:DisassociateKmsKey'].filter((a) => group({ KmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/k' }).has(a))).toHaveLength(2);
    // A bucket's metadata tables, both the s3tables side and the bucket's own configuration writes (E7).
    const tables = granted((type, p) => (type === 'AWS::S3::Bucket' ? { ...p, MetadataConfiguration: { JournalTableConfiguration: {} } } : undefined));
    expect(tables.has('s3:CreateBucketMetadataTableConfiguration') && tables.has('s3tables:CreateTable')).toBe(true);
  });

  it('a resource type with no known handler permissions is an error naming it and the way to fix it', () => {
    const compiled = compileGenerated(1);
    const stage = compiled.stages[0];
    const broken = { ...compiled, stages: [{ ...stage, definition: { ...stage.definition, resources: { ...stage.definition.resources, X: { Type: 'AWS::Made::Up', Properties: {} } } } }] };
    expect(() => executionPolicy(broken as never)).toThrow(/AWS::Made::Up has no known handler permissions; regenerate src\/deploy\/resource-permissions\.ts/);
  });
});

// One attempt a call: moto answers DescribeOrganizationsAccess, an action it lacks, with HTTP 500, which the SDK's
// retry (8 attempts, with backoff) asked again for 3-5 s in each SERVICE_MANAGED bootstrap, to the same answer (the
// step then reads Organizations' list, as the tests expect). moto neither throttles nor fails a call for a while.
const env = useLocalAws({ maxAttempts: 1 });

/**
 * Organizations' ListAccounts answers with `members` (moto's organization holds the caller's account alone, and its
 * CreateAccount picks ids the org file cannot name): the organization of an org file whose accounts are members.
 */
/** Organizations' DescribeOrganization names `management` as the management account (moto names the organization's creator). */
function managedBy(aws: Aws, management: string): Aws {
  const make = aws.organizations.bind(aws);
  aws.organizations = () => {
    const client = make();
    client.middlewareStack.add(
      ((next: (args: unknown) => Promise<{ output: { Organization?: Record<string, unknown> } }>, context: { commandName?: string }) => async (args: unknown) => {
        const answer = await next(args);
        if (context.commandName === 'DescribeOrganizationCommand' && answer.output.Organization) answer.output.Organization = { ...answer.output.Organization, MasterAccountId: management };
        return answer;
      }) as never,
      { step: 'initialize', name: 'managedBy' },
    );
    return client;
  };
  return aws;
}

function listedMembers(aws: Aws, members: readonly string[]): Aws {
  const make = aws.organizations.bind(aws);
  aws.organizations = () => {
    const client = make();
    client.middlewareStack.add(
      ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) =>
        context.commandName === 'ListAccountsCommand' ? { output: { Accounts: members.map((Id) => ({ Id })) }, response: {} } : next(args)) as never,
      { step: 'initialize', name: 'listedMembers' },
    );
    return client;
  };
  return aws;
}

describe('the execution role outside the org\'s names, proved by the access proof\'s evaluator', () => {
  for (const [file, compiled] of orgs) {
    it(`${file}: every request on another name is refused, and the report says so`, () => {
      const account = compiled.stages[0].targets[0].id;
      const results = executionRoleOutsideReach(compiled.org, executionPolicy(compiled), account);
      expect(results.length).toBeGreaterThan(15);
      expect(results.filter((r) => r.allowedBy)).toEqual([]);
      expect(results.map((r) => r.resource)).toContain(`arn:${compiled.org.partition}:iam::${account}:role/${compiled.org.stackSets.executionRoleName}`);
      expect(compiled.files.get('audit/report.md')).toContain('proved refused by the access proof');
    });
  }

  it('a statement that reaches beyond the names is found, naming it', () => {
    const [, compiled] = orgs[0];
    const account = compiled.stages[0].targets[0].id;
    const broad: ExecutionStatement = { Sid: 'TooBroad', Effect: 'Allow', Action: ['iam:PutRolePolicy'], Resource: ['arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*'] };
    const results = executionRoleOutsideReach(compiled.org, [...executionPolicy(compiled), broad], account);
    expect(results.filter((r) => r.allowedBy).map((r) => `${r.action} ${r.resource.split('/').pop()} ${r.allowedBy}`)).toEqual([
      'iam:PutRolePolicy admin execution role/TooBroad',
      'iam:PutRolePolicy OrganizationAccountAccessRole execution role/TooBroad',
      `iam:PutRolePolicy ${compiled.org.stackSets.executionRoleName} execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.stackSets.administrationRoleName} execution role/TooBroad`,
      'iam:PutRolePolicy platform-admin execution role/TooBroad',
      // Another org's names of each shape of role name (prefix `${prefix}x`).
      `iam:PutRolePolicy ${compiled.org.prefix}x-pipeline execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}x-source-${account} execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}x-app-codedeploy execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}x-app-trigger execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}x-deploy-target execution role/TooBroad`,
      // This org's prefix on names it does not give: another pipeline's, a source role that is no account's, names on a path.
      `iam:PutRolePolicy ${compiled.org.prefix}-zz-trigger execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}-zz-codedeploy execution role/TooBroad`,
      `iam:PutRolePolicy ${compiled.org.prefix}-source-legacy execution role/TooBroad`,
      // (role/<prefix>-source-/xxxxxxxxxxx is refused by the IamNoPathedNames Deny, which wins over TooBroad.)
      `iam:PutRolePolicy x-trigger execution role/TooBroad`,
      `iam:PutRolePolicy x-codedeploy execution role/TooBroad`,
    ]);
  });

  it('a statement naming an outside name among the org\'s own is found, among thousands of names', () => {
    const [, compiled] = orgs[0];
    const account = compiled.stages[0].targets[0].id;
    const names = Array.from({ length: 2000 }, (_, i) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/team-${i}`);
    const named: ExecutionStatement = { Sid: 'NamesAdmin', Effect: 'Allow', Action: ['iam:DeleteRole'], Resource: [...names, 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin'] };
    const results = executionRoleOutsideReach(compiled.org, [...executionPolicy(compiled), named], account);
    expect(results.filter((r) => r.allowedBy).map((r) => `${r.action} ${r.resource.split('/').pop()} ${r.allowedBy}`)).toEqual(['iam:DeleteRole admin execution role/NamesAdmin']);
  });
});

describe('the names kept while instances are not CURRENT (pure)', () => {
  it('keeps what the new policy drops, with its actions; not what it still grants by name or by shape with those actions; a second run keeps the same', () => {
    const current = [
      { Sid: 'IamNamed', Effect: 'Allow' as const, Action: ['iam:DeleteRole', 'iam:GetRole'], Resource: ['arn:aws:iam::1:role/acme-web-app-trigger', 'arn:aws:iam::1:role/acme-web-frontend-trigger', 'arn:aws:iam::1:role/acme-x-codedeploy'] },
      { Sid: 'IamNoPathedNames', Effect: 'Deny' as const, Action: ['iam:DeleteRole'], Resource: ['arn:aws:iam::1:role/acme-*/*'] },
    ];
    const wanted = [
      { Sid: 'IamNamed', Effect: 'Allow' as const, Action: ['iam:DeleteRole', 'iam:GetRole'], Resource: ['arn:aws:iam::1:role/acme-web-frontend-trigger'] },
      { Sid: 'IamShapes', Effect: 'Allow' as const, Action: ['iam:DeleteRole', 'iam:GetRole'], Resource: ['arn:aws:iam::1:role/acme-*-codedeploy'] },
      { Sid: 'IamRead', Effect: 'Allow' as const, Action: ['iam:GetRole'], Resource: ['arn:aws:iam::1:role/*'] },
    ];
    const kept = keptStatements(current, wanted);
    expect(kept).toEqual([{ Sid: 'KeptIamNamed', Effect: 'Allow', Action: ['iam:DeleteRole', 'iam:GetRole'], Resource: ['arn:aws:iam::1:role/acme-web-app-trigger'] }]);
    expect(keptStatements([...wanted, ...kept], wanted)).toEqual(kept);
  });
});

describe('the order packs are written in (pure)', () => {
  const st = (sid: string, resource: string) => ({ Sid: sid, Effect: 'Allow' as const, Action: ['iam:GetRole'], Resource: [resource] });
  it('a pack that gains what another loses goes first; otherwise by number; new packs before the ones they take from', () => {
    const [a, b, c] = [st('A', 'arn:aws:iam::1:role/a'), st('B', 'arn:aws:iam::1:role/b'), st('C', 'arn:aws:iam::1:role/c')];
    expect(packWriteOrder([[a, b], [c]], [[a, b], [c]])).toEqual([0, 1]);
    // The policy grew: b moves from pack 1 to pack 2, c from pack 2 to a new pack 3.
    expect(packWriteOrder([[a, b], [c], []], [[a], [b], [c]])).toEqual([2, 1, 0]);
    // It shrank: c moves from pack 3 down to pack 2 (pack 3 is then detached).
    expect(packWriteOrder([[a], [b], [c]], [[a], [b, c]])).toEqual([0, 1]);
    // Two statements swapping packs: no order keeps both, so by number.
    expect(packWriteOrder([[a], [b]], [[b], [a]])).toEqual([0, 1]);
  });
});

describe('policies held to the organization, against the accounts they reach (pure; review s39-readme)', () => {
  it('are the forwarder past a managed policy of explicit buses and the callers past one of explicit roles; none below, none without organization.id', () => {
    expect(organizationHeldPolicies(compileFile('parameters/example.yaml').org)).toEqual([]);
    // 103 pipeline accounts fed by one source account in us-east-1 stay explicit, 104 switch (README, "Not yet").
    expect(organizationHeldPolicies(compileGenerated(103).org)).toEqual([]);
    const forwarder = organizationHeldPolicies(compileGenerated(104).org);
    expect(forwarder.map((h) => [h.what, h.accounts.length])).toEqual([["the event forwarder of source account source (events:PutEvents on the pipeline accounts' buses)", 104]]);
    // The same compile chose the org-scoped form (its note), so the two measures are one.
    expect(compileGenerated(104).stages.flatMap((s) => s.notes).some((n) => n.includes('event forwarder policy: explicit form would need'))).toBe(true);
    const teams = compileOrg(parseOrg(generateTeamsOrgYaml(100), 'teams.yaml')).org;
    expect(organizationHeldPolicies(teams).map((h) => [h.what, h.accounts.length])).toEqual([["the developers' policy (access-callers: sts:AssumeRole of big-developer in the source accounts)", 100]]);
    expect(organizationHeldPolicies({ ...teams, organizationId: undefined })).toEqual([]);
  });

  it('each is a step: ok when every account it reaches is a member, missing naming those outside, missing when the members cannot be read', () => {
    const org = compileGenerated(104).org;
    const held = organizationHeldPolicies(org);
    const what = "the event forwarder of source account source (events:PutEvents on the pipeline accounts' buses): accounts it reaches in the organization";
    expect(organizationHeldSteps(org, held, '555555555555', { outside: [] })).toEqual([{ account: '555555555555', what, status: 'ok' }]);
    expect(organizationHeldSteps(org, held, '555555555555', { outside: ['100000000002', '999999999999'] })).toEqual([
      {
        account: '555555555555',
        what,
        status: 'missing',
        detail: expect.stringMatching(/^generated-104\.yaml: env0002 \(100000000002\) is not a member of organization o-bench12345 \(Organizations ListAccounts does not list it\), and the policy is held to it by aws:ResourceOrgID, .*: nothing it allows reaches them, and no deploy fails to say so; invite them into the organization, or deploy them from an org file of their own$/),
      },
    ]);
    expect(organizationHeldSteps(org, held, '555555555555', { unknown: 'AccessDeniedException: no' })).toEqual([
      { account: '555555555555', what, status: 'missing', detail: expect.stringMatching(/^not checked \(organizations:ListAccounts, AccessDeniedException: no\): the policy is held to organization o-bench12345 by aws:ResourceOrgID/) },
    ]);
  });
});

describe('the administration role (pure)', () => {
  const accounts = (n: number) => Array.from({ length: n }, (_, i) => String(200000000000 + i));
  const chars = (policy: object) => JSON.stringify(policy).length;

  it("names each target account's execution role while the list fits IAM's 10,240 characters of inline policy", () => {
    const policy = administrationPolicy('aws', 'AWSCloudFormationStackSetExecutionRole', accounts(100), 'o-a1b2c3d4e5');
    expect(policy.Statement).toEqual([
      { Sid: 'AssumeExecutionRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: accounts(100).map((a) => `arn:aws:iam::${a}:role/AWSCloudFormationStackSetExecutionRole`) },
    ]);
    expect(chars(policy)).toBeLessThanOrEqual(10240);
  });

  it("past it (1,000 accounts), the role's name in the org's accounts only (aws:ResourceOrgID), within the quota", () => {
    const policy = administrationPolicy('aws-us-gov', 'xs-exec', accounts(1000), 'o-a1b2c3d4e5');
    expect(policy.Statement).toEqual([
      { Sid: 'AssumeExecutionRolesInTheOrg', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws-us-gov:iam::*:role/xs-exec', Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } } },
    ]);
    expect(chars(policy)).toBeLessThan(10240);
  });

  it("with the role's other inline policies taking part of the quota (another org's, AWS's sample one), what they leave decides", () => {
    expect(administrationPolicy('aws', 'xs-exec', accounts(60), 'o-a1b2c3d4e5').Statement[0]).toHaveProperty('Sid', 'AssumeExecutionRoles');
    expect(administrationPolicy('aws', 'xs-exec', accounts(60), 'o-a1b2c3d4e5', 2000).Statement[0]).toHaveProperty('Sid', 'AssumeExecutionRolesInTheOrg');
    expect(() => administrationPolicy('aws', 'xs-exec', accounts(60), undefined, 2000)).toThrow(/over the 2000 left of IAM's 10240 for a role's inline policies \(the role's other inline policies take 8240 of them\)/);
  });

  it("past it, target accounts outside the organization (aws:ResourceOrgID is not in their requests) named one by one beside it; too many of them refused, saying why (review s27-bootstrap m8)", () => {
    const policy = administrationPolicy('aws', 'xs-exec', accounts(1000), 'o-a1b2c3d4e5', undefined, ['999999999999', '888888888888']);
    expect(policy.Statement).toEqual([
      { Sid: 'AssumeExecutionRolesInTheOrg', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/xs-exec', Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } } },
      { Sid: 'AssumeExecutionRolesOutsideTheOrg', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ['arn:aws:iam::888888888888:role/xs-exec', 'arn:aws:iam::999999999999:role/xs-exec'] },
    ]);
    // Within the listed form's reach the outside accounts change nothing: every account is named anyway.
    expect(administrationPolicy('aws', 'xs-exec', accounts(3), 'o-a1b2c3d4e5', undefined, ['200000000001']).Statement).toHaveLength(1);
    expect(() => administrationPolicy('aws', 'xs-exec', accounts(1000), 'o-a1b2c3d4e5', undefined, accounts(300))).toThrow(
      /^the administration role's policy naming the execution role in the organization o-a1b2c3d4e5 and, one by one, in the 300 target accounts outside it takes \d{5} characters, over IAM's 10240 .* deploy the accounts outside the organization from an org file of their own$/,
    );
  });

  it('past it with no organization id known, refused before any change, saying how to give one', () => {
    expect(() => administrationPolicy('aws', 'AWSCloudFormationStackSetExecutionRole', accounts(200))).toThrow(/200 target accounts takes 1\d{4} characters, over IAM's 10240 .* set organization\.id in the org file/);
  });

  it("trusts CloudFormation's regional principal as well in a Region disabled by default, and only there", () => {
    const principals = (regions: string[]) => (administrationTrust('aws', '111111111111', regions).Statement[0] as { Principal: { Service: unknown } }).Principal.Service;
    expect(principals(['eu-west-1', 'eu-west-1'])).toBe('cloudformation.amazonaws.com');
    expect(principals(['af-south-1', 'eu-west-1'])).toEqual(['cloudformation.amazonaws.com', 'cloudformation.af-south-1.amazonaws.com']);
    expect(principals(['me-south-1', 'ap-east-1'])).toEqual(['cloudformation.amazonaws.com', 'cloudformation.ap-east-1.amazonaws.com', 'cloudformation.me-south-1.amazonaws.com']);
    // The opt-in list names only Regions xstack knows (src/aws/partitions.ts).
    for (const region of ['af-south-1', 'ap-east-1', 'mx-central-1']) expect(PARTITION_REGIONS.aws).toContain(region);
    expect(PARTITION_REGIONS.aws.filter(isOptInRegion)).toHaveLength(15);
    // The other way (review s57-bootstrap m3): a Region added to PARTITION_REGIONS is opt-in unless it is one of the
    // 17 enabled by default, those launched before March 20, 2019 (manage-acct-regions.html), written out here.
    const enabledByDefault = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1', 'sa-east-1'];
    expect(PARTITION_REGIONS.aws.filter((region) => !enabledByDefault.includes(region) && !isOptInRegion(region))).toEqual([]);
    expect(enabledByDefault.filter(isOptInRegion)).toEqual([]);
  });
});

describe("the execution role's trust, and what rewriting it would drop (pure)", () => {
  const admin = '123456789012';
  const root = `arn:aws:iam::${admin}:root`;
  const adminRole = `arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole`;
  const trust = (...statements: object[]) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  const xstack = (arns: string[], extra: object = {}) => ({ Effect: 'Allow', Principal: { AWS: root }, Action: 'sts:AssumeRole', Condition: { ArnEquals: { 'aws:PrincipalArn': arns }, ...extra } });

  it("xstack's own statement, whoever of the administrator account it names, drops nothing; none when the role is new", () => {
    expect(trustDropped(JSON.stringify(executionTrust('aws', admin, [adminRole, `arn:aws:iam::${admin}:role/ci/deployer`])), 'aws', admin)).toEqual([]);
    expect(trustDropped(trust({ ...xstack([adminRole]), Action: ['sts:AssumeRole'], Principal: { AWS: [root] } }), 'aws', admin)).toEqual([]);
    expect(trustDropped(undefined, 'aws', admin)).toEqual([]);
  });

  it("the source identity statement is xstack's only as executionTrust writes it: a carried identity, from the administrator account (review s57-bootstrap M1)", () => {
    const carried = { Effect: 'Allow', Principal: { AWS: root }, Action: 'sts:SetSourceIdentity', Condition: { Null: { 'aws:SourceIdentity': 'false' } } };
    expect(JSON.parse(JSON.stringify(executionTrust('aws', admin, [adminRole]))).Statement).toEqual([xstack([adminRole]), carried]);
    expect(trustDropped(trust(xstack([adminRole]), { ...carried, Action: ['sts:SetSourceIdentity'], Principal: { AWS: [root] } }), 'aws', admin)).toEqual([]);
    expect(
      trustDropped(
        trust(
          { ...carried, Condition: undefined },
          { ...carried, Condition: { Null: { 'aws:SourceIdentity': 'true' } } },
          { ...carried, Condition: { Null: { 'aws:SourceIdentity': 'false', 'aws:PrincipalTag/x': 'false' } } },
          { ...carried, Principal: { AWS: 'arn:aws:iam::999999999999:root' } },
          { ...carried, Action: 'sts:TagSession' },
        ),
        'aws',
        admin,
      ),
    ).toEqual([
      `${root} with no condition: any principal of that account its own policies allow`,
      `${root} under its condition on aws:SourceIdentity`,
      `${root} under its condition on aws:SourceIdentity, aws:PrincipalTag/x`,
      'arn:aws:iam::999999999999:root under its condition on aws:SourceIdentity',
      `${root} under its condition on aws:SourceIdentity`,
    ]);
  });

  it("anything else is named: AWS's sample trust (the administrator account's root, no condition), another administrator account, a service, a Deny, a condition added by hand, a principal of another account", () => {
    expect(trustDropped(trust({ Effect: 'Allow', Principal: { AWS: root }, Action: 'sts:AssumeRole' }), 'aws', admin)).toEqual([`${root} with no condition: any principal of that account its own policies allow`]);
    expect(
      trustDropped(
        trust(
          xstack([adminRole, 'arn:aws:iam::999999999999:role/x']),
          { Sid: 'Other', Effect: 'Allow', Principal: { AWS: '999999999999' }, Action: 'sts:AssumeRole' },
          { Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' },
          { Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } } },
          xstack([adminRole], { StringEquals: { 'sts:ExternalId': 'x' } }),
        ),
        'aws',
        admin,
      ),
    ).toEqual([
      `aws:PrincipalArn arn:aws:iam::999999999999:role/x (outside the administrator account ${admin})`,
      '999999999999 (statement Other) with no condition: any principal of that account its own policies allow',
      'Service cloudformation.amazonaws.com with no condition',
      'Deny * under its condition on aws:MultiFactorAuthPresent',
      `${root} under its condition on aws:PrincipalArn, sts:ExternalId`,
    ]);
  });
});

/** `aws` with every stack instance in `account` listed OUTDATED (ListStackInstances), as after a deploy that failed there. */
function listedOutdated(aws: Aws, account: string): Aws {
  const cloudFormation = aws.cloudFormation.bind(aws);
  aws.cloudFormation = (...args: Parameters<typeof cloudFormation>) => {
    const client = cloudFormation(...args);
    client.middlewareStack.add(
      (next, context) => async (input) => {
        const result = await next(input);
        const output = result.output as { Summaries?: Array<{ Account?: string; Status?: string }> };
        if (context.commandName === 'ListStackInstancesCommand') for (const i of output.Summaries ?? []) if (i.Account === account) i.Status = 'OUTDATED';
        return result;
      },
      { step: 'initialize' },
    );
    return client;
  };
  return aws;
}

/**
 * The example bootstrapped with nothing missing, and IAM in its account 222222222222 through the access role: its
 * execution role's name, and a policy document to attach there by hand.
 */
async function bootstrappedExample() {
  const compiled = compileFile('parameters/example.yaml');
  expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
  const account = '222222222222';
  const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
  const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }] });
  return { compiled, account, role: 'AWSCloudFormationStackSetExecutionRole', iam, document };
}

describe('xstack bootstrap on moto', () => {
  it('SELF_MANAGED: the administration role and each account\'s execution role with the derived policies; a second run changes nothing; deploy works after it', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const dry = env.aws();
    const planned = await bootstrap(compiled, dry, { dryRun: true });
    expect(dry.log.calls.CreateRoleCommand ?? 0).toBe(0);
    expect(planned.filter((s) => s.status === 'change').map((s) => `${s.account} ${s.what}`)).toContain('555555555555 role AWSCloudFormationStackSetExecutionRole');

    expect(await bootstrapState(compiled, env.aws())).toBe('unknown');
    const first = await bootstrap(compiled, env.aws());
    expect(first.filter((s) => s.status === 'missing')).toEqual([]);
    // What it set up is recorded on the administration role, and a compile with one more account is another.
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
    // A caller that may not read the tags cannot tell a stale bootstrap, and is told so before any operation.
    expect(await bootstrapState(compiled, refusedCall(env.aws(), 'ListRoleTagsCommand', 'iam:ListRoleTags'))).toBe('unreadable');
    expect(unreadableBootstrapNote(compiled)).toMatch(/^note: could not read the tags of role AWSCloudFormationStackSetAdministrationRole \(iam:ListRoleTags\).*run 'xstack bootstrap parameters\/example.yaml/);
    const grown = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('repositories:', '  qa:\n    id: "666666666666"\n    role: pipeline\n    environment: qa\nrepositories:').replace(/(\n\s+)dev: develop/, '$1dev: develop$1qa: develop'), 'parameters/example.yaml'));
    expect(grown.stages.flatMap((s) => s.targets.map((a) => a.id))).toContain('666666666666');
    expect(await bootstrapState(grown, env.aws())).toBe('stale');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const adminRole = await env.aws().iam().send(new GetRoleCommand({ RoleName: 'AWSCloudFormationStackSetAdministrationRole' }));
    expect(JSON.stringify(adminRole.Role?.AssumeRolePolicyDocument)).toContain('cloudformation.amazonaws.com');
    for (const account of ['111111111111', '222222222222', '555555555555']) {
      const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
      const role = await iam.send(new GetRoleCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole' }));
      expect(decodeURIComponent(String(role.Role?.AssumeRolePolicyDocument))).toContain(`arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole`);
      const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole' }))).AttachedPolicies ?? [];
      // The derived policy packed into as many managed policies as IAM's 6,144 characters need, numbered from 1.
      const names = attached.map((a) => a.PolicyName!).sort((x, y) => Number(x.split('-').pop()) - Number(y.split('-').pop()));
      expect(names.length).toBeGreaterThan(0);
      expect(names).toEqual(names.map((_, i) => `acme-stackset-execution-${i + 1}`));
      expect(attached.map((a) => a.PolicyName).join()).not.toMatch(/AdministratorAccess/);
      // Each account's own names: the repositories in the source account's policy only.
      const documents: string[] = [];
      for (const a of attached) {
        const version = (await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn! }))).Policy!.DefaultVersionId!;
        documents.push(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn!, VersionId: version }))).PolicyVersion!.Document!));
      }
      expect(documents.join().includes(`arn:aws:codecommit:${compiled.org.region}:${account}:web-app`), account).toBe(account === '111111111111');
    }
    const second = await bootstrap(compiled, env.aws());
    expect(second.filter((s) => s.status !== 'ok')).toEqual([]);
    const summary = await deploy(compiled, env.aws(), { pollMs: 5 });
    expect(summary.stages.filter((s) => s.result === 'failed')).toEqual([]);
  });

  it('SELF_MANAGED: a renamed pipeline keeps its old names in the execution policy until the deploy has removed them: bootstrap, deploy, bootstrap is safe', async () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const base = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const renamedText = text.replace(/\npipelines:\n {2}web-app:/, '\npipelines:\n  web-frontend:');
    expect(renamedText).not.toBe(text);
    const renamed = compileOrg(parseOrg(renamedText, 'parameters/example.yaml'));
    const pipelineStage = renamed.stages.find((st) => Object.values(renderTemplate(st.definition).Resources).some((r) => r.Type === 'AWS::CodePipeline::Pipeline'))!;
    const account = pipelineStage.targets[0].id;
    const role = 'AWSCloudFormationStackSetExecutionRole';
    /** The execution role's policy in the account, as IAM holds it now. */
    const policyThere = async () => {
      const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
      const statements: ExecutionStatement[] = [];
      for (const a of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []) {
        const version = (await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn! }))).Policy!.DefaultVersionId!;
        const document = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn!, VersionId: version }))).PolicyVersion!.Document!;
        statements.push(...([] as ExecutionStatement[]).concat(JSON.parse(decodeURIComponent(document)).Statement));
      }
      return { Version: '2012-10-17' as const, Statement: statements };
    };
    const region = base.org.region;
    const names = (pipeline: string) => [
      ['codepipeline:DeletePipeline', `arn:aws:codepipeline:${region}:${account}:acme-${pipeline}`],
      ['events:DeleteRule', `arn:aws:events:${region}:${account}:rule/acme-${pipeline}-trigger`],
      ['iam:DeleteRole', `arn:aws:iam::${account}:role/acme-${pipeline}-trigger`],
      ['codedeploy:DeleteApplication', `arn:aws:codedeploy:${region}:${account}:application:acme-${pipeline}`],
    ];
    const allowsAll = (policy: Awaited<ReturnType<typeof policyThere>>, pipeline: string) => names(pipeline).every(([action, arn]) => allows(policy, action, arn));

    expect((await bootstrap(base, env.aws())).filter((st) => st.status === 'missing')).toEqual([]);
    expect((await deploy(base, env.aws(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    expect(allowsAll(await policyThere(), 'web-app')).toBe(true);
    expect(allowsAll(await policyThere(), 'web-frontend')).toBe(false);

    // Bootstrap for the rename: the new names, and the old ones the deployed StackSets still create (said so). Dry run first: the same.
    const dry = await bootstrap(renamed, env.aws(), { dryRun: true });
    const kept = (steps: BootstrapStep[]) => steps.find((st) => st.what.startsWith('execution policy keeps what the deployed StackSets still create'));
    const first = await bootstrap(renamed, env.aws());
    expect(first.filter((st) => st.status === 'missing')).toEqual([]);
    const during = await policyThere();
    expect(allowsAll(during, 'web-frontend')).toBe(true);
    expect(allowsAll(during, 'web-app')).toBe(true);
    expect(kept(dry)?.detail).toContain(`:codepipeline:\${AWS::Region}:\${AWS::AccountId}:acme-web-app`);
    expect(kept(first)?.detail).toEqual(kept(dry)?.detail);
    // What plan and deploy compare with is this compile's: current, though the policy also holds the leaving names.
    expect(await bootstrapState(renamed, env.aws())).toBe('current');
    expect(await bootstrapState(base, env.aws())).toBe('stale');

    expect((await deploy(renamed, env.aws(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    // The pipeline account's instance left OUTDATED (a deploy that failed there runs the old template still): the names
    // the policy grants now stay, said so, until every instance is CURRENT; run twice, the same.
    const outdated = listedOutdated(env.aws(), account);
    for (let run = 0; run < 2; run++) {
      const behind = await bootstrap(renamed, outdated);
      const keptNow = behind.find((st) => st.account === account && st.what === 'execution policy keeps the names it grants now');
      expect(keptNow?.detail).toMatch(/^instances not CURRENT in .*: names kept until every instance is CURRENT/);
      expect(keptNow?.detail).toContain(`arn:aws:codepipeline:${region}:${account}:acme-web-app`);
      const held = await policyThere();
      expect(allowsAll(held, 'web-app')).toBe(true);
      expect(allowsAll(held, 'web-frontend')).toBe(true);
    }
    const after = await bootstrap(renamed, env.aws());
    expect(kept(after)).toBeUndefined();
    const final = await policyThere();
    expect(allowsAll(final, 'web-frontend')).toBe(true);
    expect(names('web-app').filter(([action, arn]) => allows(final, action, arn))).toEqual([]);
    expect(await bootstrapState(renamed, env.aws())).toBe('current');
    expect((await bootstrap(renamed, env.aws())).filter((st) => st.status !== 'ok')).toEqual([]);
  });

  it('SELF_MANAGED: a union of the compile and the deployed templates over the managed-policies quota is refused before any change, saying to deploy the removal in smaller steps', async () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const base = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const renamed = compileOrg(parseOrg(text.replace(/\npipelines:\n {2}web-app:/, '\npipelines:\n  web-frontend:'), 'parameters/example.yaml'));
    expect((await bootstrap(base, env.aws())).filter((st) => st.status === 'missing')).toEqual([]);
    expect((await deploy(base, env.aws(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    const union = executionPolicy(renamed, (await deployedOrgTemplates(renamed, env.aws())).map((d) => ({ template: d.template, accounts: d.accounts })));
    // The account whose own policy (forAccount) needs the most managed policies, one fewer allowed.
    const accounts = [...new Set(renamed.stages.flatMap((s) => s.targets.map((a) => a.id)))];
    const quota = Math.max(...accounts.map((account) => executionPolicyPacks(renamed.org, forAccount(union, account), account).packs.length)) - 1;
    const tight = { ...renamed, org: { ...renamed.org, iamQuotas: { ...renamed.org.iamQuotas, managedPoliciesPerRole: quota } } };
    const aws = env.aws();
    const refused = await bootstrap(tight, aws).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/managed policies .* over IAM's quota of/);
    expect((refused as Error).message).toContain('deploy the removal in smaller steps');
    for (const call of ['CreateRoleCommand', 'PutRolePolicyCommand', 'CreatePolicyCommand', 'CreatePolicyVersionCommand', 'AttachRolePolicyCommand', 'TagRoleCommand']) expect(aws.log.calls[call] ?? 0).toBe(0);
  });

  it("SELF_MANAGED: packs past the ones now derived (the policy shrank) are detached, this org's only; another org's packs on the shared role stay, said ok; look-alikes bootstrap did not make stay, reported missing", async () => {
    const { compiled, account, role, iam, document } = await bootstrappedExample();
    // An earlier bootstrap's 9th pack (exact ARNs took more), a pack of another org (prefix acme-team) on the same default
    // role, as bootstrap makes them (their description); then the same names made by hand: one on a path, one without it.
    const made = [
      { PolicyName: 'acme-stackset-execution-9', Description: EXECUTION_POLICY_DESCRIPTION },
      { PolicyName: 'acme-team-stackset-execution-1', Description: EXECUTION_POLICY_DESCRIPTION },
      { PolicyName: 'acme-stackset-execution-1', Path: '/by-hand/' },
      { PolicyName: 'beta-stackset-execution-1' },
    ];
    for (const policy of made) {
      const arn = (await iam.send(new CreatePolicyCommand({ ...policy, PolicyDocument: document }))).Policy!.Arn!;
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    }
    const steps = await bootstrap(compiled, env.aws());
    expect(steps.filter((s) => s.account === account && s.what.startsWith('detach'))).toEqual([
      { account, what: `detach acme-stackset-execution-9 from ${role}`, status: 'change', detail: expect.stringMatching(/^no longer derived \(the policy now takes \d+\); the policy is kept, unattached$/) },
    ]);
    expect(steps.filter((s) => s.what.startsWith('managed policy') && s.what.endsWith(` on ${role}`))).toEqual([
      { account, what: `managed policy acme-team-stackset-execution-1 on ${role}`, status: 'ok', detail: "another org's execution policy (prefix acme-team) on the role both orgs use: this org's StackSets run with its grants too" },
      { account, what: `managed policy arn:aws:iam::${account}:policy/beta-stackset-execution-1 on ${role}`, status: 'missing', detail: expect.stringMatching(/^not one of the policies xstack derives for this org: .* detach-role-policy --role-name AWSCloudFormationStackSetExecutionRole --policy-arn arn:aws:iam::222222222222:policy\/beta-stackset-execution-1\), or set stackSets\.executionRoleName/) },
      { account, what: `managed policy arn:aws:iam::${account}:policy/by-hand/acme-stackset-execution-1 on ${role}`, status: 'missing', detail: expect.stringMatching(/^named like this org's execution policies, but not one xstack bootstrap made \(on a path, or of another account\)/) },
    ]);
    expect(steps.filter((s) => s.status === 'missing').map((s) => s.what)).toEqual([
      `managed policy arn:aws:iam::${account}:policy/beta-stackset-execution-1 on ${role}`,
      `managed policy arn:aws:iam::${account}:policy/by-hand/acme-stackset-execution-1 on ${role}`,
    ]);
    const attached = ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []).map((a) => a.PolicyArn).sort();
    expect(attached).toEqual(expect.arrayContaining([`arn:aws:iam::${account}:policy/acme-team-stackset-execution-1`, `arn:aws:iam::${account}:policy/by-hand/acme-stackset-execution-1`, `arn:aws:iam::${account}:policy/beta-stackset-execution-1`]));
    expect(attached).not.toContain(`arn:aws:iam::${account}:policy/acme-stackset-execution-9`);
    // Detached by hand, as the steps say: the next run is all ok.
    for (const arn of [`arn:aws:iam::${account}:policy/by-hand/acme-stackset-execution-1`, `arn:aws:iam::${account}:policy/beta-stackset-execution-1`]) await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status !== 'ok')).toEqual([]);
  });

  it("SELF_MANAGED: the execution role's other managed policies count against IAM's quota of policies a role takes: past it, that account is refused before any write, naming them; within it, written (review s45-bootstrap B1)", async () => {
    const { compiled, account, role, iam, document } = await bootstrappedExample();
    const ours = ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []).map((a) => a.PolicyArn!);
    expect(ours.length).toBeGreaterThan(0);
    // One of this org's packs detached (the run must attach it again), and two policies attached by hand.
    await iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: ours[0] }));
    const others: string[] = [];
    for (const name of ['by-hand-1', 'by-hand-2']) {
      const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }))).Policy!.Arn!;
      await iam.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
      others.push(arn);
    }
    const withQuota = (quota: number) => ({ ...compiled, org: { ...compiled.org, iamQuotas: { ...compiled.org.iamQuotas, managedPoliciesPerRole: quota } } });
    // The compile alone fits (its packs), the role does not: its packs and the two others are one over.
    const aws = env.aws();
    const refused = await bootstrap(withQuota(ours.length + 1), aws);
    expect(refused.filter((s) => s.status === 'missing' && s.what === `execution role ${role}: managed policies`)).toEqual([
      {
        account,
        what: `execution role ${role}: managed policies`,
        status: 'missing',
        detail: `not written: this org's execution policy takes ${ours.length} managed policies, and the role holds 2 others (${others.join(', ')}), over IAM's quota of ${ours.length + 1} managed policies attached to a role; AWS raises it up to 25 on request (then set iamQuotas.managedPoliciesPerRole in the org file); detach what the role no longer needs (the steps below name each), or set stackSets.executionRoleName in the org file to a role of this org's own, then run bootstrap again`,
      },
    ]);
    expect(refused.filter((s) => s.account === account && s.what.startsWith('managed policy arn:')).map((s) => s.what)).toEqual(others.map((arn) => `managed policy ${arn} on ${role}`));
    expect(aws.log.calls.AttachRolePolicyCommand ?? 0).toBe(0);
    // Not recorded as set up: plan and deploy would read it current and meet the missing pack mid-rollout (review s45-diff D1).
    expect(refused.find((s) => s.what === 'role AWSCloudFormationStackSetAdministrationRole: tag xstack:bootstrap:acme')).toMatchObject({ status: 'missing', detail: expect.stringContaining(`the execution policies of ${account} were not written, past the role's quota of managed policies`) });
    expect(await bootstrapState(withQuota(ours.length + 1), env.aws())).not.toBe('current');
    // At the quota exactly, the pack is attached again.
    const written = await bootstrap(withQuota(ours.length + 2), env.aws());
    expect(written.filter((s) => s.what === `execution role ${role}: managed policies`)).toEqual([]);
    expect(written).toContainEqual({ account, what: `attach ${ours[0].split('/').pop()} to ${role}`, status: 'change' });
    // With nothing left to attach, nothing IAM could refuse: the quota the org declares is not held against what IAM took (s45-diff D3).
    const again = await bootstrap(withQuota(ours.length + 1), env.aws());
    expect(again.filter((s) => s.what === `execution role ${role}: managed policies`)).toEqual([]);
  });

  it("SELF_MANAGED: the packs granted now, kept while instances are not CURRENT, are read or the run stops: only NoSuchEntity means no execution role, not a refused read (review s45-bootstrap B4)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    const account = '222222222222';
    const credentials = await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`);
    expect((await attachedPackStatements(env.aws().iam(credentials), account, compiled)).length).toBeGreaterThan(0);
    // Read as "no role", a refused GetRole made the kept names none, and bootstrap narrowed the policy under running instances.
    const refused = refusedCall(env.aws(), 'GetRoleCommand', 'iam:GetRole').iam(credentials);
    await expect(attachedPackStatements(refused, account, compiled)).rejects.toMatchObject({ name: 'AccessDenied' });
    const elsewhere = { ...compiled, org: { ...compiled.org, stackSets: { ...compiled.org.stackSets, executionRoleName: 'acme-no-such-role' } } };
    expect(await attachedPackStatements(env.aws().iam(credentials), account, elsewhere)).toEqual([]);
  });

  it("SELF_MANAGED: IAM's lists read page by page (IAM may answer fewer items than asked): with one item a page, a second run still finds every pack attached and changes nothing", async () => {
    const compiled = compileFile('parameters/example.yaml');
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    const again = await bootstrap(compiled, shortPages(env.aws()));
    expect(again.filter((s) => s.status !== 'ok')).toEqual([]);
    expect(await bootstrapState(compiled, shortPages(env.aws()))).toBe('current');
  });

  it('SELF_MANAGED, IAM eventually consistent (modelled): calls on a role or policy the run just created are tried again while IAM answers NoSuchEntity, and each new reader role is assumed before bootstrap ends', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const model = { notYetSeen: { AttachRolePolicyCommand: 2, ListAttachedRolePoliciesCommand: 2 }, assumeRefused: { executionRole: role, times: 2 }, refused: [] as string[] };
    const waits: number[] = [];
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), model), { sleep: async (ms) => void waits.push(ms) });
    expect(steps.filter((s) => s.status === 'missing')).toEqual([]);
    expect(model.refused.filter((r) => r.startsWith('AttachRolePolicyCommand')).length).toBeGreaterThan(2);
    const assumable = steps.filter((s) => s.what === `role ${role}: assumable by the caller (sts:AssumeRole)`);
    expect(assumable.map((s) => s.account).sort()).toEqual(['111111111111', '222222222222', '333333333333', '444444444444', '555555555555'].filter((a) => compiled.stages.some((st) => st.targets.some((t) => t.id === a))));
    for (const s of assumable) expect(s).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^after 3 tries: IAM took a moment to propagate the new trust \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/troubleshoot_general\.html#troubleshoot_general_eventual-consistency\)$/) });
    expect(waits).toEqual(expect.arrayContaining([1000, 2000, 4000]));
    // A second run creates nothing and changes no trust: nothing tried again, nothing assumed.
    const again = await bootstrap(compiled, eventuallyConsistent(env.aws(), { ...model, refused: [] }), { sleep: async () => expect.fail('no wait') });
    expect(again.filter((s) => s.status !== 'ok')).toEqual([]);
    expect(again.some((s) => s.what.includes('assumable'))).toBe(false);
  });

  it('SELF_MANAGED, IAM eventually consistent (modelled): an execution role\'s trust naming the administration role the run just created is written again while IAM answers "Invalid principal" (review s16-models F1)', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const model = { invalidPrincipal: 2, refused: [] as string[] };
    const waits: number[] = [];
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), model), { sleep: async (ms) => void waits.push(ms) });
    expect(steps.filter((s) => s.status === 'missing')).toEqual([]);
    const admin = `arn:aws:iam::${(await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!}:role/${compiled.org.stackSets.administrationRoleName}`;
    // Refused twice in each target account, then created.
    const targets = [...new Set(compiled.stages.flatMap((st) => st.targets.map((t) => t.id)))];
    expect(model.refused.length).toBe(2 * targets.length);
    for (const r of model.refused) expect(r).toBe(`CreateRoleCommand ${compiled.org.stackSets.executionRoleName} names ${admin}`);
    expect(waits).toEqual(expect.arrayContaining([2000, 4000]));
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
  });

  it('SELF_MANAGED: IAM refusing the new administration role as a principal for more than about a minute fails bootstrap saying to run it again', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const waits: number[] = [];
    const run = bootstrap(compiled, eventuallyConsistent(env.aws(), { invalidPrincipal: 100, refused: [] }), { sleep: async (ms) => void waits.push(ms) });
    await expect(run).rejects.toMatchObject({ code: 'IAM_NOT_PROPAGATED', message: expect.stringMatching(/^Invalid principal in policy: .*IAM still refuses the administration role this run created as a principal after about a minute .*run bootstrap again in a few minutes/) });
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(55_000);
  });

  it('SELF_MANAGED: a reader role STS still refuses after about a minute, while others are assumed, is reported missing, saying to wait before deploying; the accounts after it are tried once', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const waits: number[] = [];
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), { assumeRefused: { executionRole: role, times: 100, accounts: ['222222222222'] }, refused: [] }), { sleep: async (ms) => void waits.push(ms) });
    const assumable = steps.filter((s) => s.what.endsWith('assumable by the caller (sts:AssumeRole)'));
    expect(assumable.length).toBeGreaterThan(1);
    for (const s of assumable.filter((x) => x.account !== '222222222222')) expect(s.status).toBe('ok');
    expect(assumable.find((s) => s.account === '222222222222')).toMatchObject({ status: 'missing', detail: expect.stringMatching(/^STS refuses it \(User: .* is not authorized to perform: sts:AssumeRole .*\): IAM has not propagated the new trust yet .* Wait a minute before deploying/) });
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(55_000);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(65_000);
  });

  it('SELF_MANAGED: refused in every account, the caller most likely may not assume the reader roles by design (it reads with --output-reader-role): not a failure, said so (review s15-merged F6)', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const model = { assumeRefused: { executionRole: role, times: 100 }, refused: [] as string[], reads: [] as string[] };
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), model), { sleep: async () => undefined });
    const assumable = steps.filter((s) => s.what.endsWith('assumable by the caller (sts:AssumeRole)'));
    expect(assumable.length).toBeGreaterThan(1);
    for (const s of assumable) expect(s).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^not confirmed: STS refuses it .* in every account, .*--output-reader-role.*; the role's policy was not checked either \(bootstrap reads with the role's credentials\)$/) });
    expect(steps.filter((s) => s.status === 'missing')).toEqual([]);
    // No credentials, no read: the policy's check is said in the trust's step, not made.
    expect(model.reads).toEqual([]);
    expect(steps.some((s) => s.what.includes('in effect'))).toBe(false);
  });

  /** The step that says whether a reader role's policy is in effect, and the accounts bootstrap targets. */
  const policyInEffect = (compiled: CompiledOrg) => `policy ${new Names(compiled.org.prefix).outputReaderRole()}/${new Names(compiled.org.prefix).outputReaderRole()}-reads: in effect (cloudformation:ListStacks with the role's credentials)`;
  const targetsOf = (compiled: CompiledOrg) => [...new Set(compiled.stages.flatMap((st) => st.targets.map((t) => t.id)))].sort();

  it("SELF_MANAGED: each new reader role is read with (cloudformation:ListStacks with its credentials, through CloudFormation in the org's Region) before bootstrap ends, which proves its policy in effect; a re-run that changes nothing reads nothing, one that rewrites a reader's policy reads in that account only (review reader m4)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const targets = targetsOf(compiled);
    // --region us-east-1, not the org's Region: the reads go where the deployer's do.
    expect(compiled.org.region).not.toBe('us-east-1');
    const model = { refused: [] as string[], reads: [] as string[] };
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws('us-east-1'), model), { sleep: async () => expect.fail('no wait') });
    expect(steps.filter((s) => s.status === 'missing')).toEqual([]);
    // One read in each target account, with the credentials STS gave for that account's reader role.
    expect([...model.reads].sort()).toEqual(targets.map((a) => `ListStacksCommand arn:aws:iam::${a}:role/${role} ${compiled.org.region}`));
    const checks = steps.filter((s) => s.what === policyInEffect(compiled));
    expect(checks).toEqual(targets.map((account) => ({ account, what: policyInEffect(compiled), status: 'ok' })));
    // Each right after its role was assumed.
    for (const check of checks) expect(steps[steps.indexOf(check) - 1]).toMatchObject({ account: check.account, what: `role ${role}: assumable by the caller (sts:AssumeRole)`, status: 'ok' });

    const again = { refused: [] as string[], reads: [] as string[] };
    const rerun = await bootstrap(compiled, eventuallyConsistent(env.aws('us-east-1'), again), { sleep: async () => expect.fail('no wait') });
    expect(rerun.filter((s) => s.status !== 'ok')).toEqual([]);
    expect(again.reads).toEqual([]);
    expect(rerun.some((s) => s.what === policyInEffect(compiled) || s.what.includes('assumable'))).toBe(false);

    // The reader's policy changed by hand in one account (its trust as it was): rewritten, and read with there only.
    const account = targets[targets.length - 1];
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
    await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: `${role}-reads`, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudformation:ListStacks', Resource: '*' }] }) }));
    const third = { refused: [] as string[], reads: [] as string[] };
    const rewrite = await bootstrap(compiled, eventuallyConsistent(env.aws('us-east-1'), third), { sleep: async () => expect.fail('no wait') });
    expect(rewrite.filter((s) => s.status !== 'ok')).toEqual([{ account, what: `policy ${role}/${role}-reads`, status: 'change', detail: 'update' }]);
    expect(third.reads).toEqual([`ListStacksCommand arn:aws:iam::${account}:role/${role} ${compiled.org.region}`]);
    expect(rewrite.filter((s) => s.account === account && (s.what === policyInEffect(compiled) || s.what.includes('assumable')))).toEqual([
      { account, what: `role ${role}: assumable by the caller (sts:AssumeRole)`, status: 'ok' },
      { account, what: policyInEffect(compiled), status: 'ok' },
    ]);

    // Again, by a caller that may not assume the reader (it reads with --output-reader-role): the trust is an earlier
    // run's, so STS's refusal is an answer, not IAM's propagation: tried once, no wait.
    await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: `${role}-reads`, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudformation:ListStacks', Resource: '*' }] }) }));
    const refusing = { assumeRefused: { executionRole: role, times: 100 }, refused: [] as string[], reads: [] as string[] };
    const byDesign = await bootstrap(compiled, eventuallyConsistent(env.aws('us-east-1'), refusing), { sleep: async () => expect.fail('no wait') });
    expect(byDesign.find((s) => s.account === account && s.what.includes('assumable'))).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^not confirmed: STS refuses it .* the trust an earlier bootstrap wrote/) });
    expect(refusing.reads).toEqual([]);
  });

  it("SELF_MANAGED: a reader role's new policy CloudFormation still refuses (AccessDeniedException) is read again until it is allowed, and the step says after how many tries, naming IAM's propagation (review reader m4)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const targets = targetsOf(compiled);
    const model = { readRefused: { role, times: 2, name: 'AccessDeniedException' as const }, refused: [] as string[], reads: [] as string[] };
    const waits: number[] = [];
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), model), { sleep: async (ms) => void waits.push(ms) });
    expect(steps.filter((s) => s.status === 'missing')).toEqual([]);
    expect(model.refused.length).toBe(2 * targets.length);
    expect(model.reads.length).toBe(3 * targets.length);
    // The reads' waits only (STS answered at once): 2 s, then 4 s, in each account.
    expect(waits).toEqual(targets.flatMap(() => [2000, 4000]));
    for (const account of targets) {
      expect(steps.find((s) => s.account === account && s.what === policyInEffect(compiled))).toEqual({
        account,
        what: policyInEffect(compiled),
        status: 'ok',
        detail: "after 3 tries: IAM took a moment to propagate the role's new policy (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency)",
      });
    }
  });

  it("SELF_MANAGED: a reader role's policy still refused after about a minute is reported missing, saying to wait before plan and deploy and what else denies it; the accounts after it are read once; the record is written all the same (review reader m4)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = new Names(compiled.org.prefix).outputReaderRole();
    const targets = targetsOf(compiled);
    const refusedIn = '222222222222';
    expect(targets).toContain(refusedIn);
    const model = { readRefused: { role, times: 100, accounts: [refusedIn] }, refused: [] as string[], reads: [] as string[] };
    const waits: number[] = [];
    const steps = await bootstrap(compiled, eventuallyConsistent(env.aws(), model), { sleep: async (ms) => void waits.push(ms) });
    const checks = steps.filter((s) => s.what === policyInEffect(compiled));
    expect(checks.map((s) => s.account)).toEqual(targets);
    for (const s of checks.filter((x) => x.account !== refusedIn)) expect(s).toEqual({ account: s.account, what: policyInEffect(compiled), status: 'ok' });
    expect(checks.find((s) => s.account === refusedIn)).toMatchObject({
      status: 'missing',
      detail: expect.stringMatching(/^CloudFormation refuses it \(User: .* is not authorized to perform: cloudformation:ListStacks .*\) after about a minute: IAM has not propagated the role's new policy yet \(https:\/\/docs\.aws\.amazon\.com\/IAM\/.*\), or a service control policy or a permissions boundary on the role denies it\. Plan, deploy and destroy read this account with this role, and are refused until it is in effect: wait a few minutes before running them/),
    });
    // About a minute in all (ASSUMABLE_WAITS_MS), then the later accounts once each.
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(55_000);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(65_000);
    expect(model.reads.filter((r) => r.includes(`::${refusedIn}:`)).length).toBe(7);
    for (const account of targets.filter((a) => a !== refusedIn)) expect(model.reads.filter((r) => r.includes(`::${account}:`)).length, account).toBe(1);
    // A missing step makes `xstack bootstrap` exit 1 (command.ts). The record of what bootstrap set up is written all the
    // same: IAM holds this compile's roles and policies, only not yet everywhere; a re-run changes nothing, so it
    // neither writes the record again nor reads (as the step says, waiting is what helps).
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
    const again = { refused: [] as string[], reads: [] as string[] };
    expect((await bootstrap(compiled, eventuallyConsistent(env.aws(), again))).filter((s) => s.status !== 'ok')).toEqual([]);
    expect(again.reads).toEqual([]);
  });

  it("SELF_MANAGED, two orgs (two prefixes) sharing the default administration role: each its own inline policy and tag, neither undoing the other's, and a Region principal in the trust is kept", async () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const a = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    const b = compileOrg(parseOrg(text.replace('prefix: acme', 'prefix: beta').replace(/"555555555555"/, '"666666666666"'), 'beta.yaml'));
    const role = a.org.stackSets.administrationRoleName;
    expect(b.org.stackSets.administrationRoleName).toBe(role);
    const iam = env.aws().iam();
    expect((await bootstrap(a, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    // Another org deploying in a Region disabled by default gave the trust that Region's principal.
    const trust = administrationTrust('aws', (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!, ['ap-east-1']);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role, PolicyDocument: JSON.stringify(trust) }));
    expect((await bootstrap(b, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    expect(((await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []).sort()).toEqual(['acme-assume-execution-roles', 'beta-assume-execution-roles']);
    const granted = async (name: string) => JSON.parse(decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument!)).Statement[0].Resource as string[];
    expect(await granted('acme-assume-execution-roles')).toContain('arn:aws:iam::555555555555:role/AWSCloudFormationStackSetExecutionRole');
    expect(await granted('beta-assume-execution-roles')).toContain('arn:aws:iam::666666666666:role/AWSCloudFormationStackSetExecutionRole');
    expect(await bootstrapState(a, env.aws())).toBe('current');
    expect(await bootstrapState(b, env.aws())).toBe('current');
    const after = decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!);
    expect(after).toContain('cloudformation.ap-east-1.amazonaws.com');
    expect((await bootstrap(a, env.aws())).filter((s) => s.status !== 'ok')).toEqual([]);
  });

  it('SELF_MANAGED, an org bootstrapped by the earlier xstack (one policy and one tag for every org): its own are replaced by the per-prefix ones, another org\'s left, said so', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const role = compiled.org.stackSets.administrationRoleName;
    const iam = env.aws().iam();
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    const accounts = [...new Set(compiled.stages.flatMap((s) => s.targets.map((t) => t.id)))].sort();
    // What the earlier xstack left: its policy and tag under the one name, none of this version's.
    const asBefore = async (policyAccounts: string[]) => {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: 'acme-assume-execution-roles' }));
      await iam.send(new UntagRoleCommand({ RoleName: role, TagKeys: [bootstrapTag('acme')] }));
      await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'assume-execution-roles', PolicyDocument: JSON.stringify(administrationPolicy('aws', 'AWSCloudFormationStackSetExecutionRole', policyAccounts)) }));
      await iam.send(new TagRoleCommand({ RoleName: role, Tags: [{ Key: 'xstack:bootstrap', Value: bootstrapDigest(compiled) }] }));
    };
    await asBefore(accounts);
    // The earlier tag with this compile's digest still says current.
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
    const steps = await bootstrap(compiled, env.aws());
    expect(steps.filter((s) => s.status === 'change').map((s) => `${s.what}: ${s.detail}`)).toEqual([
      `policy ${role}/acme-assume-execution-roles: create`,
      `policy ${role}/assume-execution-roles: delete: an earlier xstack's policy for this org's accounts, now acme-assume-execution-roles`,
      `role ${role}: tag xstack:bootstrap:acme: what this bootstrap set up, for plan and deploy to compare with`,
      `role ${role}: tag xstack:bootstrap: remove: an earlier xstack's record of this org, now xstack:bootstrap:acme`,
    ]);
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames).toEqual(['acme-assume-execution-roles']);
    expect(((await iam.send(new ListRoleTagsCommand({ RoleName: role }))).Tags ?? []).map((t) => t.Key)).toEqual(['xstack:bootstrap:acme']);
    // Written for accounts that are not all this org's (another org's, last to run the earlier xstack): left, said so.
    await asBefore([...accounts, '999999999999']);
    const shared = await bootstrap(compiled, env.aws());
    expect(shared.find((s) => s.what === `policy ${role}/assume-execution-roles`)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^left as it is: written by an earlier xstack, and not for this org's accounts only/) });
    expect(((await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []).sort()).toEqual(['acme-assume-execution-roles', 'assume-execution-roles']);
  });

  it("SELF_MANAGED: target accounts are assumed through STS in the org's Region, not --region's (an opt-in --region a target account has not enabled would refuse it)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const aws = env.aws('us-east-1');
    const regions: string[] = [];
    const sts = aws.sts.bind(aws);
    aws.sts = (...args: Parameters<typeof sts>) => {
      const client = sts(...args);
      client.middlewareStack.add(
        (next, context) => async (input) => {
          const role = (input.input as { RoleArn?: string }).RoleArn ?? '';
          if (context.commandName === 'AssumeRoleCommand' && role.endsWith(':role/OrganizationAccountAccessRole')) regions.push(await client.config.region());
          return next(input);
        },
        { step: 'initialize' },
      );
      return client;
    };
    expect((await bootstrap(compiled, aws)).filter((s) => s.status === 'missing')).toEqual([]);
    expect(regions.length).toBeGreaterThan(0);
    expect(new Set(regions)).toEqual(new Set([compiled.org.region]));
  });

  it("the organization's members as Organizations lists them (ListAccounts): the target accounts outside it (review s27-bootstrap m8)", async () => {
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    // Where the list cannot be read the answer is `unknown` (tested with ensureAdministrationPolicy above): moto lists no
    // account in no organization rather than refusing, so only a real organization is read here.
    await new OrganizationsClient(env.aws().clientConfig()).send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    expect(await accountsOutsideTheOrg(env.aws(), [admin, '222222222222', '333333333333'])).toEqual({ outside: ['222222222222', '333333333333'] });
  });

  it("SELF_MANAGED: OrganizationAccountAccessRole refused (an invited account, or not run from the management account): the error says where that role exists, whom it trusts, and --access-role", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    await expect(bootstrap(compiled, refusedAssume(env.aws(), /:role\/OrganizationAccountAccessRole$/))).rejects.toThrow(
      new RegExp(`^could not assume role arn:aws:iam::\\d{12}:role/OrganizationAccountAccessRole: AccessDenied: .*\\. Bootstrap reaches target accounts through OrganizationAccountAccessRole unless --access-role names another; that role exists only in accounts AWS Organizations created \\(not in invited ones\\) and trusts only the management account; this is account ${admin}: run bootstrap from the management account \\(in an AWS Control Tower landing zone with --access-role AWSControlTowerExecution, which Control Tower's Account Factory creates in each account it makes or enrolls, trusting the management account\\), or pass --access-role naming a role that exists in every target account and trusts account ${admin}$`),
    );
    // Run from the management account (moto's organization, made by this caller): the way out is Control Tower's role or one of the org's.
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    // An org file naming another organization than the caller's is refused first, before any change (review s32-walkthrough m6).
    const id = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!.Id!;
    await expect(bootstrap(compiled, env.aws())).rejects.toMatchObject({
      code: 'ORGANIZATION_MISMATCH',
      message: expect.stringContaining(`organization.id is ${compiled.org.organizationId}, but the account bootstrap runs in is a member of organization ${id} (DescribeOrganization)`),
    });
    const inIt = { ...compiled, org: { ...compiled.org, organizationId: id } };
    // The example's accounts are not members of moto's new organization (ListAccounts lists the caller's alone): said
    // first, whatever the role (review s32-walkthrough m5).
    const outside = bootstrap(inIt, refusedAssume(env.aws(), /:role\/OrganizationAccountAccessRole$/));
    await expect(outside).rejects.toMatchObject({ code: 'ACCESS_ROLE_REFUSED' });
    await expect(bootstrap(inIt, refusedAssume(env.aws(), /:role\/OrganizationAccountAccessRole$/))).rejects.toThrow(
      new RegExp(`\\. Account (\\d{12}) is not a member of this organization \\(Organizations ListAccounts does not list it\\): check its id in the org file\\. An account outside the organization has no role Organizations made; if the id is right, create a role there that trusts account ${admin}, the one bootstrap runs in, and pass its name with --access-role \\(the same name in every target account\\)$`),
    );
    await expect(bootstrap(inIt, refusedAssume(env.aws(), /:role\/deployer-access$/), { accessRoleName: 'deployer-access' })).rejects.toThrow(/is not a member of this organization .*, or create deployer-access there$/);
    // Members as Organizations lists them (moto's ListAccounts answered with the org file's accounts): the access role's
    // own advice, with the invited account's way out first.
    const members = (aws: Aws) => listedMembers(aws, [admin, ...inIt.org.accounts.map((a) => a.id)]);
    await expect(bootstrap(inIt, members(refusedAssume(env.aws(), /:role\/OrganizationAccountAccessRole$/)))).rejects.toThrow(
      new RegExp(`trusts only the management account \\(${admin}\\): if account \\d{12} was invited into the organization rather than created by it, create OrganizationAccountAccessRole there by hand, trusting the management account \\(https://docs\\.aws\\.amazon\\.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role\\.html\\); in an AWS Control Tower landing zone pass --access-role AWSControlTowerExecution, which Control Tower's Account Factory creates in each account it makes or enrolls, trusting the management account; otherwise pass --access-role naming a role that exists in every target account and trusts this account$`),
    );
    // The CLI passes --access-role's default by name: the same text, not the one for a role the user chose.
    await expect(bootstrap(inIt, members(refusedAssume(env.aws(), /:role\/OrganizationAccountAccessRole$/)), { accessRoleName: 'OrganizationAccountAccessRole' })).rejects.toThrow(/that role exists only in accounts AWS Organizations created .* AWSControlTowerExecution/);
    // The root user: refused in other words, and no trust would help; said so, not the access role's advice.
    const asRoot = bootstrap(inIt, rootCaller(env.aws()), { accessRoleName: 'OrganizationAccountAccessRole' });
    await expect(asRoot).rejects.toThrow(/Roles may not be assumed by root accounts\.; the credentials are an account's root user, which STS never lets assume a role: run xstack as an IAM role or user/);
    await expect(bootstrap(inIt, rootCaller(env.aws()), { accessRoleName: 'OrganizationAccountAccessRole' })).rejects.not.toThrow(/AWSControlTowerExecution/);
    await expect(bootstrap(inIt, members(refusedAssume(env.aws(), /:role\/deployer-access$/)), { accessRoleName: 'deployer-access' })).rejects.toThrow(
      new RegExp(`Bootstrap reaches account \\d{12} through role deployer-access \\(--access-role\\): it must exist there and trust account ${admin}, the one bootstrap runs in$`),
    );
    // The setup template's role, which the setup StackSet puts account by account: an account without its instance is said so (review s45-setup S1).
    await expect(bootstrap(inIt, members(refusedAssume(env.aws(), /:role\/acme-xstack-access$/)), { accessRoleName: 'acme-xstack-access' })).rejects.toThrow(
      /through role acme-xstack-access \(--access-role\): it must exist there and trust account \d{12}, the one bootstrap runs in; it is the setup template's role: if the setup StackSet has no instance in account \d{12} yet \(an account the org file gained\), add one \(aws cloudformation create-stack-instances naming the account, README "Setup templates"\)$/,
    );
    // A target that is the organization's management account (SELF_MANAGED may target it; bootstrap runs elsewhere):
    // the setup StackSet never has an instance there (API_DeploymentTargets.html), so the advice is a stack of its own
    // (review s57-bootstrap m1).
    const target = inIt.stages.flatMap((st) => st.targets).find((a) => a.id !== admin)!.id;
    await expect(bootstrap(inIt, managedBy(members(refusedAssume(env.aws(), new RegExp(`::${target}:role/acme-xstack-access$`))), target), { accessRoleName: 'acme-xstack-access' })).rejects.toThrow(
      new RegExp(`through role acme-xstack-access \\(--access-role\\): it must exist there and trust account ${admin}, the one bootstrap runs in; it is the setup template's role, and account ${target} is the organization's management account, where a SERVICE_MANAGED StackSet puts no instance: create the setup template there as a stack of its own \\(aws cloudformation create-stack in account ${target}, with the setup StackSet's template and parameters and --capabilities CAPABILITY_NAMED_IAM, README "Setup templates"\\)$`),
    );
  });

  it('before a deploy records the administrator account, bootstrap names the account it makes it, and says so louder in the management account (review s32-walkthrough M2)', async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const announced = (steps: BootstrapStep[]) => steps.filter((s) => s.what.startsWith('the StackSets administrator account'));
    // No organization: named, with no word on the management account.
    const [step] = announced(await bootstrap(compiled, env.aws(), { dryRun: true }));
    expect(step).toEqual({
      account: admin,
      what: `the StackSets administrator account: ${admin}, Region ${compiled.org.region} (no deploy has recorded one yet)`,
      status: 'ok',
      detail: 'the first deploy from here records this account and Region in parameters/example.layout.json (org.administratorAccount, org.stackSetsRegion), and every later plan, deploy, verify and bootstrap of the org must run here; moving them means destroy from here first',
    });
    // The caller made the organization, so it is the management account (DescribeOrganization's MasterAccountId).
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const id = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!.Id!;
    const inIt = { ...compiled, org: { ...compiled.org, organizationId: id } };
    expect(announced(await bootstrap(inIt, env.aws(), { dryRun: true }))[0].detail).toMatch(/; it is the organization's management account, which AWS advises to keep for what only it can do and which SCPs do not restrict \(https:\/\/docs\.aws\.amazon\.com\/organizations\/latest\/userguide\/orgs_best-practices_mgmt-acct\.html\): a member account can be the administrator account instead, reaching the target accounts through an --access-role that trusts it/);
    // Recorded: nothing to announce (a run elsewhere is refused instead, STACKSETS_ELSEWHERE).
    const recorded = { ...inIt, org: { ...inIt.org, layoutRecord: { ...inIt.org.layoutRecord!, stackSetsHome: { account: admin, region: compiled.org.region } } } };
    expect(announced(await bootstrap(recorded, env.aws(), { dryRun: true }))).toEqual([]);
    // An emulator's accounts are no one's: nothing to announce either.
    expect(announced(await bootstrap(inIt, env.aws(), { dryRun: true, emulator: true }))).toEqual([]);
  });

  it('SELF_MANAGED: a statement moving from one pack to another is written into its new pack first, so a run stopped between the two leaves it granted', async () => {
    const compiled = compileFile('parameters/example.yaml');
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    const account = '222222222222';
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
    const arn = (n: number) => `arn:aws:iam::${account}:policy/acme-stackset-execution-${n}`;
    const statements = async (n: number) => {
      const version = (await iam.send(new GetPolicyCommand({ PolicyArn: arn(n) }))).Policy!.DefaultVersionId!;
      return JSON.parse(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn(n), VersionId: version }))).PolicyVersion!.Document!)).Statement as ExecutionStatement[];
    };
    const [one, two] = [await statements(1), await statements(2)];
    // As an earlier bootstrap packed it: pack 2's first statement in pack 1. This run moves it back to pack 2.
    const moved = two[0];
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn(1), PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [...one, moved] }), SetAsDefault: true }));
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn(2), PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: two.slice(1) }), SetAsDefault: true }));
    // The second new version of the run refused (a second operator's bootstrap): the run stops between the two packs, saying what to do.
    await expect(bootstrap(compiled, refusedPolicyVersion(env.aws(), 2))).rejects.toThrow(
      /^account 222222222222: IAM refused a new version of managed policy acme-stackset-execution-\d \(A managed policy can have up to 5 versions\..*\): .*another bootstrap of this org, or someone else, wrote one in between\. Let the other run finish, then run bootstrap again/,
    );
    // The size quota's LimitExceeded is passed on as IAM said it, not taken for another run's version.
    await expect(bootstrap(compiled, refusedPolicyVersion(env.aws(), 1, 'Cannot exceed quota for PolicySize: 6144'))).rejects.toThrow(/^Cannot exceed quota for PolicySize: 6144$/);
    const held = [...(await statements(1)), ...(await statements(2))];
    expect(held.some((s) => JSON.stringify(s) === JSON.stringify(moved))).toBe(true);
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    expect(await statements(2)).toEqual(two);
  });

  it("SELF_MANAGED run by IAM Identity Center and then a CI role: each trusted on the reader role by its role's ARN, path included, neither locking the other out, and neither on the execution role, which trusts the administration role alone; the output says who is trusted (review s27-bootstrap M2)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = '111111111111';
    // The operators' roles in the administrator account, made through the account-access role (moto lets the caller assume it).
    const adminIam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${admin}:role/OrganizationAccountAccessRole`));
    const sso = { name: 'AWSReservedSSO_Admin_0123456789abcdef', path: '/aws-reserved/sso.amazonaws.com/eu-west-1/' };
    const ci = { name: 'deployer', path: '/ci/' };
    const anyone = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:root` }, Action: 'sts:AssumeRole' }] });
    for (const r of [sso, ci]) await adminIam.send(new CreateRoleCommand({ RoleName: r.name, Path: r.path, AssumeRolePolicyDocument: anyone }));
    const as = async (r: typeof sso, session: string) => {
      const assumed = await env.aws().sts().send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${admin}:role${r.path}${r.name}`, RoleSessionName: session }));
      const c = assumed.Credentials!;
      return new Aws({ region: 'eu-west-1', endpoint: env.local.endpoint, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } });
    };
    const ssoUser = await as(sso, 'user@example.com');
    // What STS says of the session: the role's name, no path.
    expect((await ssoUser.sts().send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${admin}:assumed-role/${sso.name}/user@example.com`);
    const ssoArn = `arn:aws:iam::${admin}:role/aws-reserved/sso.amazonaws.com/eu-west-1/${sso.name}`;
    const ciArn = `arn:aws:iam::${admin}:role/ci/deployer`;
    const adminRoleArn = `arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole`;
    const reader = new Names(compiled.org.prefix).outputReaderRole();
    const trusted = async (account: string, role: string) => {
      const got = await env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`)).send(new GetRoleCommand({ RoleName: role }));
      const trust = JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)) as { Statement: Array<{ Principal: unknown; Action: string; Condition: { ArnEquals: Record<string, string[]> } }> };
      // The assumption held by aws:PrincipalArn, and the source identity the caller's session carries.
      expect(trust.Statement.map((x) => [x.Action, x.Principal])).toEqual([
        ['sts:AssumeRole', { AWS: `arn:aws:iam::${admin}:root` }],
        ['sts:SetSourceIdentity', { AWS: `arn:aws:iam::${admin}:root` }],
      ]);
      return trust.Statement[0].Condition.ArnEquals['aws:PrincipalArn'];
    };
    const stepsOf = (steps: BootstrapStep[], role: string) => new Set(steps.filter((x) => x.what === `role ${role}`).map((x) => `${x.status} ${x.detail}`));
    // Each trusted identity said for what it is: the administration role, the caller, or an earlier caller, kept.
    const as_ = (caller: string) => (arn: string) => `${arn} (${arn === adminRoleArn ? 'administration role' : arn === caller ? 'running this bootstrap' : 'an earlier caller'})`;
    const executionOnly = `trusts ${as_('')(adminRoleArn)}`;

    const first = await bootstrap(compiled, ssoUser);
    expect(first.filter((x) => x.status === 'missing')).toEqual([]);
    for (const account of ['222222222222', '555555555555']) {
      expect(await trusted(account, 'AWSCloudFormationStackSetExecutionRole')).toEqual([adminRoleArn]);
      expect(await trusted(account, reader)).toEqual([ssoArn]);
    }
    expect(stepsOf(first, 'AWSCloudFormationStackSetExecutionRole')).toEqual(new Set([`change create; ${executionOnly}`]));
    expect(stepsOf(first, reader)).toEqual(new Set([`change create; trusts ${as_(ssoArn)(ssoArn)}`]));

    const second = await bootstrap(compiled, await as(ci, 'pipeline-run-42'));
    const both = [ciArn, ssoArn].sort();
    for (const account of ['222222222222', '555555555555']) {
      expect(await trusted(account, 'AWSCloudFormationStackSetExecutionRole')).toEqual([adminRoleArn]);
      expect(await trusted(account, reader)).toEqual(both);
    }
    expect(stepsOf(second, reader)).toEqual(new Set([`change update trust policy; trusts ${both.map(as_(ciArn)).join(', ')}`]));
    expect(stepsOf(second, 'AWSCloudFormationStackSetExecutionRole')).toEqual(new Set([`ok ${executionOnly}`]));

    // The SSO user again: nothing to change, and the output still names everyone trusted.
    const third = await bootstrap(compiled, await as(sso, 'user@example.com'));
    expect(stepsOf(third, reader)).toEqual(new Set([`ok trusts ${both.map(as_(ssoArn)).join(', ')}`]));

    // --allow-delete-retained: the caller on the execution role too, for destroy --delete-retained; the next bootstrap
    // without it takes it off again, saying so, and the caller stays on the reader role.
    const deleting = await bootstrap(compiled, await as(ci, 'cleanup'), { allowDeleteRetained: true });
    for (const account of ['222222222222', '555555555555']) expect(await trusted(account, 'AWSCloudFormationStackSetExecutionRole')).toEqual([adminRoleArn, ciArn].sort());
    expect(stepsOf(deleting, 'AWSCloudFormationStackSetExecutionRole')).toEqual(new Set([`change update trust policy; trusts ${[adminRoleArn, ciArn].sort().map(as_(ciArn)).join(', ')}`]));
    const after = await bootstrap(compiled, await as(sso, 'user@example.com'));
    for (const account of ['222222222222', '555555555555']) {
      expect(await trusted(account, 'AWSCloudFormationStackSetExecutionRole')).toEqual([adminRoleArn]);
      expect(await trusted(account, reader)).toEqual(both);
    }
    expect([...stepsOf(after, 'AWSCloudFormationStackSetExecutionRole')]).toEqual([
      `change update trust policy; ${executionOnly}; no longer trusts ${ciArn}, which ran bootstrap before: they read with role ${reader} now; destroy --delete-retained deletes with this role, which trusts its caller only after bootstrap --allow-delete-retained`,
    ]);
  });

  /** The example, with account 222222222222's execution role as an xstack before the reader role left it: trusting an operator who ran bootstrap. */
  async function executionRoleOfAnEarlierBootstrap() {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const account = '222222222222';
    const adminRoleArn = `arn:aws:iam::${admin}:role/AWSCloudFormationStackSetAdministrationRole`;
    const operator = `arn:aws:iam::${admin}:role/ops/operator`;
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
    await iam.send(new CreateRoleCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole', AssumeRolePolicyDocument: JSON.stringify(executionTrust('aws', admin, [adminRoleArn, operator])) }));
    return { compiled, account, adminRoleArn, operator, iam };
  }

  it("an execution role an earlier bootstrap made trusting its callers (before the reader role): the callers move to the reader role, the execution role trusts the administration role alone (review s27-bootstrap M2)", async () => {
    const { compiled, account, adminRoleArn, operator, iam } = await executionRoleOfAnEarlierBootstrap();
    const steps = await bootstrap(compiled, env.aws());
    expect(steps.filter((x) => x.status === 'missing')).toEqual([]);
    const principals = async (role: string) => JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!)).Statement[0].Condition.ArnEquals['aws:PrincipalArn'];
    expect(await principals('AWSCloudFormationStackSetExecutionRole')).toEqual([adminRoleArn]);
    const caller = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Arn!;
    expect(await principals('acme-xstack-reader')).toEqual(expect.arrayContaining([operator]));
    expect((await principals('acme-xstack-reader')).length).toBe(caller === operator ? 1 : 2);
    expect(steps.find((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.detail).toContain(`no longer trusts ${operator}, which ran bootstrap before: they read with role acme-xstack-reader now`);
    // The reader's policy is on it, and reads only.
    const policy = JSON.parse(decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: 'acme-xstack-reader', PolicyName: 'acme-xstack-reader-reads' }))).PolicyDocument!));
    expect(policy).toEqual(readerPolicy(compiled, account));
  });

  it("a reader role whose trust was changed by hand is left as it is, and then the execution role keeps the callers it trusts (they would read with nothing) and bootstrap is not recorded done (review s28-reader m3)", async () => {
    const { compiled, account, adminRoleArn, operator, iam } = await executionRoleOfAnEarlierBootstrap();
    const byHand = { Version: '2012-10-17', Statement: [{ Sid: 'Audit', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] };
    await iam.send(new CreateRoleCommand({ RoleName: 'acme-xstack-reader', AssumeRolePolicyDocument: JSON.stringify(byHand) }));
    const steps = await bootstrap(compiled, env.aws());
    expect(steps.find((x) => x.account === account && x.what === 'role acme-xstack-reader')).toMatchObject({ status: 'missing', detail: expect.stringMatching(/^its trust policy lets in what xstack's would not: arn:aws:iam::999999999999:root \(statement Audit\).*--replace-execution-trust/) });
    const principals = async (role: string) => JSON.parse(decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!)).Statement;
    expect((await principals('AWSCloudFormationStackSetExecutionRole'))[0].Condition.ArnEquals['aws:PrincipalArn']).toEqual(expect.arrayContaining([adminRoleArn, operator]));
    expect(await principals('acme-xstack-reader')).toEqual(byHand.Statement);
    expect(steps.find((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.detail).toContain('still trusts the earlier callers while role acme-xstack-reader is left as it is');
    expect(await bootstrapState(compiled, env.aws())).not.toBe('current');
    // Rewritten with the flag: the callers move, and the run is recorded.
    await bootstrap(compiled, env.aws(), { replaceExecutionTrust: true });
    expect((await principals('AWSCloudFormationStackSetExecutionRole'))[0].Condition.ArnEquals['aws:PrincipalArn']).toEqual([adminRoleArn]);
    expect((await principals('acme-xstack-reader'))[0].Condition.ArnEquals['aws:PrincipalArn']).toEqual(expect.arrayContaining([operator]));
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
  });

  it('an account the org file no longer targets, whose instances the next deploy deletes, gets a reader role too: deploy reads them with it (review s28-reader m2)', async () => {
    const example = compileFile('parameters/example.yaml');
    const grown = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('repositories:', '  qa:\n    id: "666666666666"\n    role: pipeline\n    environment: qa\nrepositories:').replace(/(\n\s+)dev: develop/, '$1dev: develop$1qa: develop'), 'parameters/example.yaml'));
    expect((await bootstrap(grown, env.aws())).filter((x) => x.status === 'missing')).toEqual([]);
    expect((await deploy(grown, env.aws(), { pollMs: 5 })).stages.filter((x) => x.result === 'failed')).toEqual([]);
    // As an xstack before the reader role left it: no reader there.
    const qa = env.aws().iam(await env.aws().assume('arn:aws:iam::666666666666:role/OrganizationAccountAccessRole'));
    await qa.send(new DeleteRolePolicyCommand({ RoleName: 'acme-xstack-reader', PolicyName: 'acme-xstack-reader-reads' }));
    await qa.send(new DeleteRoleCommand({ RoleName: 'acme-xstack-reader' }));
    const steps = await bootstrap(example, env.aws());
    expect(steps.find((x) => x.account === '666666666666' && x.what === 'role acme-xstack-reader')).toMatchObject({ status: 'change', detail: expect.stringMatching(/^create; trusts /) });
    const policy = JSON.parse(decodeURIComponent((await qa.send(new GetRolePolicyCommand({ RoleName: 'acme-xstack-reader', PolicyName: 'acme-xstack-reader-reads' }))).PolicyDocument!));
    expect(policy).toEqual(readerPolicy(example, '666666666666'));
    expect(policy.Statement.map((x: { Sid: string }) => x.Sid)).toEqual(['FindInstanceStacks', 'ReadInstanceStacks']);
    // Assumed, and read with, before bootstrap ends, as a target account's is (review s28-reader m4).
    expect(steps.find((x) => x.account === '666666666666' && x.what === 'role acme-xstack-reader: assumable by the caller (sts:AssumeRole)')?.status).toBe('ok');
    expect(steps.find((x) => x.account === '666666666666' && x.what.startsWith('policy acme-xstack-reader/acme-xstack-reader-reads: in effect'))?.status).toBe('ok');
    // The deploy that deletes qa's instances reads them with it.
    expect((await deploy(example, env.aws(), { pollMs: 5 })).stages.filter((x) => x.result === 'failed')).toEqual([]);
  });

  it("an account the org file no longer targets, suspended (STS refuses its access role, Organizations reports it SUSPENDED): said ok, no reader written, every target account still set up, the record written (review s42-bootstrap M1)", async () => {
    const example = compileFile('parameters/example.yaml');
    const grown = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('repositories:', '  qa:\n    id: "666666666666"\n    role: pipeline\n    environment: qa\nrepositories:').replace(/(\n\s+)dev: develop/, '$1dev: develop$1qa: develop'), 'parameters/example.yaml'));
    expect((await bootstrap(grown, env.aws())).filter((x) => x.status === 'missing')).toEqual([]);
    expect((await deploy(grown, env.aws(), { pollMs: 5 })).stages.filter((x) => x.result === 'failed')).toEqual([]);
    // Closed since: every role of it refused, and Organizations says why.
    const asked: string[] = [];
    const steps = await bootstrap(example, accountStates(refusedAssume(env.aws(), /::666666666666:role\//), { '666666666666': 'SUSPENDED' }, asked));
    expect(steps.filter((x) => x.account === '666666666666')).toEqual([
      {
        account: '666666666666',
        what: 'role acme-xstack-reader',
        status: 'ok',
        detail: expect.stringMatching(/^not written: account 666666666666 is SUSPENDED in AWS Organizations \(DescribeAccount\), and STS refused its access role arn:aws:iam::666666666666:role\/OrganizationAccountAccessRole: no role of an account that is not ACTIVE can be assumed\. The org file no longer targets it: the next deploy removes its instances keeping their stacks \(RetainStacks\)/),
      },
    ]);
    expect(asked).toEqual(['666666666666']);
    for (const account of targetsOf(example)) {
      expect(steps.find((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.status, account).toBe('ok');
      expect(steps.find((x) => x.account === account && x.what === 'role acme-xstack-reader')?.status, account).toBe('ok');
    }
    expect(steps.filter((x) => x.status === 'missing')).toEqual([]);
    expect(await bootstrapState(example, env.aws())).toBe('current');
    // Where Organizations cannot tell (moto here has no organization), the refusal still fails the run, with the
    // access role's advice, but after every target account: a leaving account never keeps them from being set up.
    const seen: BootstrapStep[] = [];
    await expect(bootstrap(example, refusedAssume(env.aws(), /::666666666666:role\//), { onStep: (x) => seen.push(x) })).rejects.toMatchObject({ code: 'ACCESS_ROLE_REFUSED' });
    for (const account of targetsOf(example)) expect(seen.some((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole'), account).toBe(true);
  });

  it("a target account that is suspended while an instance is not CURRENT: the read of the names kept passes it by, and every other account is set up (review s45-diff D2: the read's refusal stopped the whole run)", async () => {
    const example = compileFile('parameters/example.yaml');
    expect((await bootstrap(example, env.aws())).filter((x) => x.status === 'missing')).toEqual([]);
    expect((await deploy(example, env.aws(), { pollMs: 5 })).stages.filter((x) => x.result === 'failed')).toEqual([]);
    // Every instance of 333333333333 listed OUTDATED (a deploy that failed there): bootstrap reads what each account's policy grants now.
    const behind = listedOutdated(accountStates(refusedAssume(env.aws(), /::222222222222:role\//), { '222222222222': 'SUSPENDED' }), '333333333333');
    const steps = await bootstrap(example, behind);
    expect(steps.find((x) => x.account === '222222222222')).toMatchObject({ what: 'roles AWSCloudFormationStackSetExecutionRole and acme-xstack-reader', status: 'missing' });
    for (const account of targetsOf(example).filter((a) => a !== '222222222222')) expect(steps.find((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.status, account).toBe('ok');
  });

  it("a target account that is suspended: a missing step naming its state and what to do, the accounts after it set up, the record not written; once ACTIVE again, the next run sets it up and writes the record (review s42-bootstrap M1)", async () => {
    const example = compileFile('parameters/example.yaml');
    const steps = await bootstrap(example, accountStates(refusedAssume(env.aws(), /::222222222222:role\//), { '222222222222': 'SUSPENDED' }));
    expect(steps.filter((x) => x.account === '222222222222')).toEqual([
      {
        account: '222222222222',
        what: 'roles AWSCloudFormationStackSetExecutionRole and acme-xstack-reader',
        status: 'missing',
        detail: expect.stringMatching(/^not set up: account 222222222222 is SUSPENDED in AWS Organizations \(DescribeAccount\), and STS refused its access role .*: no role of an account that is not ACTIVE can be assumed, so its execution role, execution policies and reader role were neither read nor written.* If the account was closed, remove it from parameters\/example\.yaml and deploy within 90 days of its closing/),
      },
    ]);
    for (const account of targetsOf(example).filter((a) => a !== '222222222222')) {
      expect(steps.find((x) => x.account === account && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.status, account).toBe('change');
      expect(steps.some((x) => x.account === account && x.what.startsWith('managed policy acme-stackset-execution-1') && x.status === 'change'), account).toBe(true);
    }
    expect(steps.find((x) => x.what === 'role AWSCloudFormationStackSetAdministrationRole: tag xstack:bootstrap:acme')).toMatchObject({
      status: 'missing',
      detail: 'not written: 222222222222 is not ACTIVE in AWS Organizations, and nothing was set up there (above); written by the first run that sets up every account',
    });
    expect(await bootstrapState(example, env.aws())).toBe('unknown');
    // Not SUSPENDED alone: an account closing (PENDING_CLOSURE) or not yet activated (PENDING_ACTIVATION) is not
    // ACTIVE either, and is passed by the same way, not given the access role's advice (review s43-mutations-5 BS2).
    const states = { '222222222222': 'PENDING_CLOSURE', '333333333333': 'PENDING_ACTIVATION' };
    const others = await bootstrap(example, accountStates(refusedAssume(env.aws(), /::(222222222222|333333333333):role\//), states));
    for (const [account, state] of Object.entries(states)) {
      expect(others.find((x) => x.account === account && x.what === 'roles AWSCloudFormationStackSetExecutionRole and acme-xstack-reader'), account).toMatchObject({
        status: 'missing',
        detail: expect.stringMatching(new RegExp(`^not set up: account ${account} is ${state} in AWS Organizations \\(DescribeAccount\\), and STS refused its access role `)),
      });
    }
    // A DescribeAccount that fails otherwise (throttled past the SDK's retries) cannot tell either: the access role's
    // advice, not Organizations' error in its place (review s43-mutations-5 BS3).
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    await expect(bootstrap(example, accountStates(refusedAssume(env.aws(), /::222222222222:role\//), { '222222222222': throttled }))).rejects.toMatchObject({
      code: 'ACCESS_ROLE_REFUSED',
      message: expect.stringContaining('could not assume role arn:aws:iam::222222222222:role/OrganizationAccountAccessRole'),
    });
    // With iamQuotas declared, the quotas read before any write passes it by too, and reads the others.
    const held = compileOrg(parseOrg(`${readFileSync('parameters/example.yaml', 'utf8')}iamQuotas: { roleTrustPolicyChars: 2048 }\n`, 'parameters/example.yaml'));
    const quotaSteps = (await bootstrap(held, accountStates(refusedAssume(env.aws(), /::222222222222:role\//), { '222222222222': 'SUSPENDED' }))).filter((x) => x.what === 'IAM quotas the org file declares (iamQuotas)');
    expect(quotaSteps.find((x) => x.account === '222222222222')).toMatchObject({ status: 'missing', detail: expect.stringMatching(/^not read: account 222222222222 is SUSPENDED in AWS Organizations \(DescribeAccount\), .*; bootstrap sets up nothing there$/) });
    expect(quotaSteps.filter((x) => x.account !== '222222222222').map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    // Reactivated: set up by the next run, which records it.
    const again = await bootstrap(example, env.aws());
    expect(again.find((x) => x.account === '222222222222' && x.what === 'role AWSCloudFormationStackSetExecutionRole')?.status).toBe('change');
    expect(await bootstrapState(example, env.aws())).toBe('current');
  });

  it("a reader trust that would grow past IAM's quota (bootstrap adds operators, never removes them) is refused, naming the role, the size and the way out, before the execution role's trust drops them", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const account = '222222222222';
    // Operators of the past, each trusted by its Identity Center role: 30 of them take the trust past 2,048 characters.
    const earlier = Array.from({ length: 30 }, (_, i) => `arn:aws:iam::${admin}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Operator${i}_0123456789abcdef`);
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${admin}:root` }, Action: 'sts:AssumeRole', Condition: { ArnEquals: { 'aws:PrincipalArn': earlier } } }] };
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
    await iam.send(new CreateRoleCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole', AssumeRolePolicyDocument: JSON.stringify(trust) }));
    await expect(bootstrap(compiled, env.aws())).rejects.toThrow(
      /^role acme-xstack-reader in account 222222222222: its trust would name 31 principals in \d{4} characters, over IAM's quota of 2048 \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); its trust was left as it is\. Remove the principals that no longer run xstack/,
    );
    const after = await iam.send(new GetRoleCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole' }));
    expect(JSON.parse(decodeURIComponent(after.Role!.AssumeRolePolicyDocument!))).toEqual(trust);
  });

  it("quotas the org file declares are read in each target account (GetAccountSummary): one raised there and not in the account refuses the run before any write, naming both values; held, said so; none declared, none read (review s27-bootstrap m5)", async () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    // moto's IAM reports AWS's defaults in every account: AssumeRolePolicySizeQuota 2048, AttachedPoliciesPerRoleQuota 10.
    const raised = compileOrg(parseOrg(`${text}iamQuotas: { roleTrustPolicyChars: 4096, managedPoliciesPerRole: 10 }\n`, 'parameters/example.yaml'));
    const aws = env.aws();
    const steps = await bootstrap(raised, aws);
    const quotaSteps = steps.filter((s) => s.what === 'IAM quotas the org file declares (iamQuotas)');
    expect(quotaSteps.map((s) => s.account)).toEqual(['111111111111', '222222222222', '333333333333', '444444444444', '555555555555']);
    for (const step of quotaSteps) {
      expect(step.status).toBe('missing');
      expect(step.detail).toMatch(
        /^the org file declares iamQuotas\.roleTrustPolicyChars 4096, and IAM reports AssumeRolePolicySizeQuota 2048 for this account \(GetAccountSummary\): characters of a role trust policy past 2048 would be refused here with LimitExceeded partway through a rollout \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); request the increase for this account in Service Quotas, or declare 2048 in the org file; nothing was changed$/,
      );
    }
    // Nothing was written: no role, no policy, no tag.
    for (const command of ['CreateRoleCommand', 'PutRolePolicyCommand', 'CreatePolicyCommand', 'TagRoleCommand', 'CreateBucketCommand']) expect(aws.log.calls[command] ?? 0).toBe(0);
    // The summary read once in each target account, for the declared quotas and the room alike.
    expect(aws.log.calls.GetAccountSummaryCommand).toBe(5);
    expect(await bootstrapState(raised, env.aws())).toBe('unknown');

    // Declared at what the accounts hold: read, said held, and the run goes on.
    const held = compileOrg(parseOrg(`${text}iamQuotas: { roleTrustPolicyChars: 2048 }\n`, 'parameters/example.yaml'));
    const heldSteps = await bootstrap(held, env.aws());
    expect(heldSteps.filter((s) => s.status === 'missing')).toEqual([]);
    expect(heldSteps.find((s) => s.account === '222222222222' && s.what === 'IAM quotas the org file declares (iamQuotas)')?.detail).toBe('held: iamQuotas.roleTrustPolicyChars 2048 (IAM: 2048)');
    expect(await bootstrapState(held, env.aws())).toBe('current');
    // The declaration is part of what bootstrap set up: another one is a bootstrap to run; none declared is the org's own digest.
    expect(bootstrapDigest(raised)).not.toBe(bootstrapDigest(held));
    expect(bootstrapDigest(compileFile('parameters/example.yaml'))).not.toBe(bootstrapDigest(held));

    // None declared: no quota step, but the summary is still read once in each target account, for the room the org's
    // roles, policies and instance profiles need there (review s45-bootstrap B3, the test below).
    const plain = env.aws();
    const plainSteps = await bootstrap(compileFile('parameters/example.yaml'), plain);
    expect(plainSteps.filter((s) => s.what === 'IAM quotas the org file declares (iamQuotas)')).toEqual([]);
    expect(plain.log.calls.GetAccountSummaryCommand).toBe(5);
  });

  it("an account without room under IAM's quotas for the roles the org makes there refuses the run before any write, naming the figures; the org's roles already there are counted once (review s45-bootstrap B3)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const staging = '333333333333';
    const roomStep = (steps: BootstrapStep[]) => steps.find((s) => s.account === staging && s.what === 'room under IAM quotas for the roles, customer managed policies and instance profiles this org makes');
    // What moto holds in the account before any run, read as bootstrap reads it.
    const iamIn = async (aws: Aws) => aws.iam(await aws.assume(`arn:aws:iam::${staging}:role/OrganizationAccountAccessRole`));
    const rolesIn = async () => (await (await iamIn(env.aws())).send(new GetAccountSummaryCommand({}))).SummaryMap!.Roles!;
    const before = await rolesIn();
    // The staging account makes 4 roles from the templates and bootstrap's 2 (the execution and reader roles): 6, none there yet.
    const full = entitiesInUse(env.aws(), { [staging]: { Roles: 1000 - before - 5 } });
    const refused = await bootstrap(compiled, full);
    expect(roomStep(refused)).toEqual({
      account: staging,
      what: expect.any(String),
      status: 'missing',
      detail: expect.stringMatching(
        /^the account holds 995 roles of its quota of 1000 \(GetAccountSummary: Roles, RolesQuota\), and this org makes 6 more here that are not there yet \(acme-deploy-target, acme-pipeline, acme-web-app-codedeploy, … 3 more\): past 5 of them IAM refuses the create with LimitExceeded partway through a rollout \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); delete roles the account no longer needs, or request an increase of its quota for this account in Service Quotas, then run bootstrap again; nothing was changed$/,
      ),
    });
    for (const command of ['CreateRoleCommand', 'PutRolePolicyCommand', 'CreatePolicyCommand']) expect(full.log.calls[command] ?? 0).toBe(0);
    expect(await bootstrapState(compiled, env.aws())).toBe('unknown');
    // With room, the figures (one more role): the run goes on, and sets the account up.
    const roomy = await bootstrap(compiled, entitiesInUse(env.aws(), { [staging]: { Roles: 1000 - before - 6 } }));
    expect(roomStep(roomy)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^room \(in the account \+ to make, of the quota\): roles 994 \+ 6 of 1000, customer managed policies \d+ \+ \d+ of 1500, instance profiles \d+ \+ 1 of 1000$/) });
    // The customer managed policies to make: the templates' and the execution policy's packs this run created there.
    const packs = roomy.filter((s) => s.account === staging && s.status === 'change' && /^managed policy acme-stackset-execution-\d+$/.test(s.what)).length;
    expect(packs).toBeGreaterThan(0);
    expect(roomStep(roomy)?.detail).toContain(` + ${iamEntitiesByAccount(compiled).get(staging)!.policies.size + packs} of 1500,`);
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
    // Bootstrap's two roles are there now, and counted in the summary: at 999 (the other 4 past the room), the run reads
    // each of the 6 by name and counts the 4 missing ones only.
    const near = entitiesInUse(env.aws(), { [staging]: { Roles: 1000 - (await rolesIn()) - 4 } });
    const again = await bootstrap(compiled, near);
    expect(roomStep(again)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/: roles 996 \+ 4 of 1000,/) });
  });

  it('an administrator account that is a target too: the administration role counted in its room (review s47-diff n5)', async () => {
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const compiled = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('"555555555555"', `"${admin}"`), 'parameters/example.yaml'));
    const roomIn = (account: string) => (steps: BootstrapStep[]) => steps.find((s) => s.account === account && s.what.startsWith('room under IAM quotas'));
    const roomStep = roomIn(admin);
    const rolesRoom = (step: BootstrapStep | undefined) => /roles (\d+) \+ (\d+) of 1000/.exec(step!.detail!)!.slice(1).map(Number);
    const [inUse, made] = rolesRoom(roomStep(await bootstrap(compiled, env.aws(), { dryRun: true })));
    // The tools account makes one role more when it is the administrator account: the administration role.
    const [, madeAsTarget] = rolesRoom(roomIn('555555555555')(await bootstrap(compileFile('parameters/example.yaml'), env.aws(), { dryRun: true })));
    expect(made).toBe(madeAsTarget + 1);
    // Room for all but one of what the account is to hold: the run refuses there, nothing written, the administration
    // role among what it counts (without it, the room check passed, and the last role create failed partway).
    const full = entitiesInUse(env.aws(), { [admin]: { Roles: 1000 - inUse - made + 1 } }, admin);
    const refused = await bootstrap(compiled, full);
    expect(roomStep(refused)).toMatchObject({ status: 'missing', detail: expect.stringMatching(new RegExp(`^the account holds ${1000 - made + 1} roles of its quota of 1000 .*, and this org makes ${made} more here that are not there yet`)) });
    expect(full.log.calls.CreateRoleCommand ?? 0).toBe(0);
    const again = await bootstrap(compiled, entitiesInUse(env.aws(), { [admin]: { Roles: 1000 - inUse - made } }, admin));
    expect(roomStep(again)?.status).toBe('ok');
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
  });

  it("IAM refusing the administration role's create as past the roles quota (an administrator account that is no target is not read first): IAM_QUOTA_REACHED naming the account, the role and IAM's words, nothing else written; the next run finishes (review s47-diff n5)", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const refused: string[] = [];
    const aws = quotaReached(env.aws(), 'CreateRoleCommand', 'Cannot exceed quota for RolesPerAccount: 1000', refused);
    const run = bootstrap(compiled, aws);
    await expect(run).rejects.toMatchObject({ code: 'IAM_QUOTA_REACHED' });
    await expect(run).rejects.toThrow(
      new RegExp(`^account ${admin}: IAM refused to create role AWSCloudFormationStackSetAdministrationRole: Cannot exceed quota for RolesPerAccount: 1000 \\(https://docs\\.aws\\.amazon\\.com/IAM/latest/UserGuide/reference_iam-quotas\\.html\\)\\. Nothing after it was written in this account; delete what the account no longer needs, or request an increase of the quota for this account in Service Quotas, then run bootstrap again: it finishes what this run started$`),
    );
    expect(refused).toEqual(['CreateRoleCommand AWSCloudFormationStackSetAdministrationRole']);
    // The administration role is bootstrap's first write: nothing was written, in its account or a target account (the
    // refused create is the one CreateRole sent).
    const writes = Object.entries(aws.log.calls).filter(([command, n]) => /^(Create|Put|Attach|Detach|Update|Tag|Untag|Delete)/.test(command) && n > 0);
    expect(writes).toEqual(aws.log.calls.CreateRoleCommand ? [['CreateRoleCommand', 1]] : []);
    expect(await bootstrapState(compiled, env.aws())).toBe('unknown');
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
  });

  it("IAM refusing an execution policy's create past a size quota (PolicySize, which no account's count holds): IAM_QUOTA_REACHED says the quota holds what was sent, not to delete the account's entities (review s48-diff m2)", async () => {
    const run = bootstrap(compileFile('parameters/example.yaml'), quotaReached(env.aws(), 'CreatePolicyCommand', 'Cannot exceed quota for PolicySize: 6144'));
    await expect(run).rejects.toMatchObject({ code: 'IAM_QUOTA_REACHED' });
    await expect(run).rejects.toThrow(/: IAM refused to create managed policy acme-stackset-execution-1: Cannot exceed quota for PolicySize: 6144 \(.*\)\. Nothing after it was written in this account; that quota holds what was sent, not the account: where Service Quotas lets it be raised, request the increase for this account and declare it in the org file \(iamQuotas\); otherwise this is a bug of xstack, which should have kept within it, then run bootstrap again/);
  });

  it.each(['CreateRoleCommand', 'CreatePolicyCommand'])("%s refused EntityAlreadyExists for what the run read missing (made meanwhile, or the SDK's resend after a lost answer): BOOTSTRAP_CONFLICT naming the account and what, the record not written; the next run finishes (review s47-deploy-api 3)", async (command) => {
    const compiled = compileFile('parameters/example.yaml');
    const refused: string[] = [];
    const run = bootstrap(compiled, createdTwice(env.aws(), command, refused));
    await expect(run).rejects.toMatchObject({ code: 'BOOTSTRAP_CONFLICT' });
    const [what] = refused;
    await expect(run).rejects.toThrow(new RegExp(`^account \\d{12}: IAM refused to create (role|managed policy) ${what.split(' ')[1]}, which it holds now though this run read it missing \\(${command === 'CreateRoleCommand' ? 'Role with name \\S+ already exists\\.' : 'A policy called \\S+ already exists\\. Duplicate names are not allowed\\.'}\\): another bootstrap of this org or someone else made it in between, .*; run bootstrap again: it reads the account anew$`));
    expect(await bootstrapState(compiled, env.aws())).toBe('unknown');
    expect((await bootstrap(compiled, env.aws())).filter((s) => s.status === 'missing')).toEqual([]);
    expect(await bootstrapState(compiled, env.aws())).toBe('current');
  });

  it('SELF_MANAGED with the forwarder held to the organization (104 pipeline accounts): a pipeline account Organizations does not list is a missing step naming it (review s39-readme)', async () => {
    const held = compileGenerated(104);
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const notListed = '100000000007';
    const steps = await bootstrap(held, listedMembers(env.aws(), [admin, ...held.org.accounts.map((a) => a.id).filter((id) => id !== notListed)]), { dryRun: true });
    expect(steps.filter((s) => s.what.includes('accounts it reaches in the organization'))).toEqual([
      expect.objectContaining({ status: 'missing', detail: expect.stringContaining(`env0007 (${notListed}) is not a member of organization o-bench12345`) }),
    ]);
  }, 240_000);

  it('the template bucket left half-configured by a run that failed after CreateBucket: the next run applies what is missing, and a third changes nothing', async () => {
    const large = compileGenerated(LARGE_TEMPLATE_ACCOUNTS);
    const aws = env.aws();
    const admin = (await aws.sts().send(new GetCallerIdentityCommand({}))).Account!;
    const bucket = templateBucketName(large.org.prefix, admin, 'eu-west-1');
    const s3 = aws.s3(undefined, 'eu-west-1');
    // The earlier run: CreateBucket, then stopped (an SCP refusing the next put, Ctrl-C) before any setting.
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const bucketSteps = (steps: BootstrapStep[]) => steps.filter((x) => x.what.startsWith('template bucket')).map((x) => `${x.status} ${x.what.replace(bucket, 'B').replace(/ \(.*/, '')}`);
    const dry = await bootstrap(large, env.aws(), { dryRun: true });
    expect(bucketSteps(dry)).toEqual(expect.arrayContaining(['ok template bucket B', 'change template bucket B: public access block', 'change template bucket B: lifecycle rule expire-templates']));
    const next = await bootstrap(large, env.aws());
    expect(bucketSteps(next)).toEqual(bucketSteps(dry));
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules).toEqual([expect.objectContaining({ ID: 'expire-templates', Status: 'Enabled', Filter: { Prefix: 'templates/' }, Expiration: { Days: 90 } })]);
    expect(bucketSteps(await bootstrap(large, env.aws()))).toEqual(['ok template bucket B', 'ok template bucket B: TLS-only bucket policy left out']);
  });

  it('the template bucket just created: a setting S3 answers NoSuchBucket for (not yet seen) is tried again, and every setting is applied in one run (review s45-bootstrap B2)', async () => {
    const large = compileGenerated(LARGE_TEMPLATE_ACCOUNTS);
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const bucket = templateBucketName(large.org.prefix, admin, 'eu-west-1');
    const refused: string[] = [];
    const waits: number[] = [];
    const steps = await bootstrap(large, bucketNotYetSeen(env.aws(), 3, refused), { sleep: async (ms) => void waits.push(ms) });
    expect(steps.filter((x) => x.status === 'missing')).toEqual([]);
    expect(refused).toEqual([`GetPublicAccessBlockCommand ${bucket}`, `GetPublicAccessBlockCommand ${bucket}`, `GetPublicAccessBlockCommand ${bucket}`]);
    expect(waits.slice(-3)).toEqual([1000, 2000, 4000]);
    const s3 = env.aws().s3(undefined, 'eu-west-1');
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules).toEqual([expect.objectContaining({ ID: 'expire-templates' })]);
  });

  it("trusted access is read from CloudFormation's own record (DescribeOrganizationsAccess); Organizations' list of enabled principals only where that cannot be read (review s27-bootstrap M1)", () => {
    const denied = Object.assign(new Error('no'), { name: 'AccessDenied' });
    expect(trustedAccessStep('1', 'SELF', 'ENABLED', false)).toEqual({ account: '1', what: 'trusted access for StackSets', status: 'ok' });
    // Enabled in Organizations only (enable-aws-service-access): CloudFormation's setup never ran.
    const organizationsOnly = trustedAccessStep('1', 'SELF', 'DISABLED', true);
    expect(organizationsOnly.status).toBe('missing');
    expect(organizationsOnly.detail).toBe(
      "CloudFormation reports organization access DISABLED, though Organizations lists StackSets' service principal as enabled: it was enabled there, which skips CloudFormation's own setup; activate it with 'aws cloudformation activate-organizations-access' in the management account, or its CloudFormation console: StackSets, \"Activate trusted access\"",
    );
    expect(trustedAccessStep('1', 'DELEGATED_ADMIN', 'DISABLED_PERMANENTLY', false).detail).toMatch(/^CloudFormation reports organization access DISABLED_PERMANENTLY; activate it with 'aws cloudformation activate-organizations-access' in the management account \(a delegated administrator cannot\)/);
    // CloudFormation's record unreadable: Organizations' list decides, and says what it cannot tell.
    expect(trustedAccessStep('1', 'SELF', denied, true)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^CloudFormation's DescribeOrganizationsAccess could not be read \(AccessDenied\), so Organizations' list was read instead: .*not known/) });
    expect(trustedAccessStep('1', 'SELF', denied, false).status).toBe('missing');
    expect(trustedAccessStep('1', 'SELF', denied, denied)).toMatchObject({ status: 'missing', detail: expect.stringContaining('run bootstrap from the management account') });
  });

  it('SERVICE_MANAGED from an account in no organization: the unreadable organization is a missing step, named, not a raw error', async () => {
    const compiled = compileOrg(parseOrg(SERVICE_ORG, 'service.yaml'));
    const steps = await bootstrap(compiled, env.aws());
    expect(steps.find((s) => s.what === 'organization readable (organizations:DescribeOrganization)')).toMatchObject({
      status: 'missing',
      detail: expect.stringMatching(/^account \d{12} is in no organization \(AWSOrganizationsNotInUseException: .*\): SERVICE_MANAGED StackSets deploy to the accounts of an AWS Organizations organization with all features/),
    });
    expect(steps.find((s) => s.what === 'trusted access for StackSets')?.status).toBe('missing');
  });

  it('SERVICE_MANAGED: read-only checks name the missing step (trusted access, the management account as a target) and that the root deploy creates instances through is readable', async () => {
    const text = SERVICE_ORG;
    const compiled = compileOrg(parseOrg(text, 'service.yaml'));
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    const client = env.aws();
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const before = await bootstrap(compiled, client);
    expect(client.log.mutating).toBe(0);
    expect(before.find((s) => s.what === 'organization root readable (organizations:ListRoots)')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^r-/) });
    const missing = Object.fromEntries(before.filter((s) => s.status === 'missing').map((s) => [s.what, s.detail]));
    expect(missing['trusted access for StackSets']).toMatch(/activate trusted access with AWS Organizations in the management account/);
    expect(missing['management account not targeted']).toMatch(/service\.yaml: account source \(123456789012\) is the organization's management account/);
    await organizations.send(new EnableAWSServiceAccessCommand({ ServicePrincipal: STACKSETS_SERVICE_PRINCIPAL }));
    const after = await bootstrap(compiled, env.aws());
    expect(after.find((s) => s.what === 'trusted access for StackSets')?.status).toBe('ok');
  });

  it('SERVICE_MANAGED: a target account outside the organization, an organization of consolidated billing only, and callAs DELEGATED_ADMIN from the management account are each a missing step naming the fix (review s34-service-managed m4, m5, m7)', async () => {
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'CONSOLIDATED_BILLING' }));
    const delegated = compileOrg(parseOrg(SERVICE_ORG.replace('  permissionModel: SERVICE_MANAGED\n', '  permissionModel: SERVICE_MANAGED\n  callAs: DELEGATED_ADMIN\n'), 'service.yaml'));
    const steps = await bootstrap(delegated, env.aws());
    const missing = Object.fromEntries(steps.filter((s) => s.status === 'missing').map((s) => [s.what, s.detail]));
    // moto's organization holds its management account only: the org file's dev account (222222222222) is none of it.
    expect(steps.find((s) => s.what === 'target account in the organization')).toMatchObject({
      account: '222222222222',
      status: 'missing',
      detail: 'service.yaml: account dev (222222222222) is not a member of this organization (Organizations ListAccounts does not list it): SERVICE_MANAGED StackSets reach member accounts only, and deploy would create nothing there; check its id, or invite it into the organization',
    });
    expect(missing['all features of AWS Organizations']).toBe('the organization has feature set CONSOLIDATED_BILLING: enable all features first (aws organizations enable-all-features in the management account: every invited member account accepts its handshake, then the management account finalizes it), then trusted access for StackSets');
    expect(missing['delegated administrator for StackSets']).toBe('callAs DELEGATED_ADMIN runs from a registered member account, and this is the management account (123456789012), which cannot be one: set stackSets.callAs: SELF, or run from the delegated administrator');
  });

  it("SERVICE_MANAGED: an organization.id that is not the organization DescribeOrganization names is refused before any check, ORGANIZATION_MISMATCH, as SELF_MANAGED is; the caller's own id is not (review s42-bootstrap m1)", async () => {
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const id = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!.Id!;
    const withId = (organizationId: string) => compileOrg(parseOrg(SERVICE_ORG.replace('organization:\n', `organization:\n  id: ${organizationId}\n`), 'service.yaml'));
    const steps: BootstrapStep[] = [];
    await expect(bootstrap(withId('o-wrongwrong1'), env.aws(), { onStep: (s) => steps.push(s) })).rejects.toMatchObject({
      code: 'ORGANIZATION_MISMATCH',
      message: expect.stringContaining(`service.yaml: organization.id is o-wrongwrong1, but the account bootstrap runs in is a member of organization ${id} (DescribeOrganization)`),
    });
    expect(steps.filter((s) => s.what === 'trusted access for StackSets')).toEqual([]);
    const right = await bootstrap(withId(id), env.aws());
    expect(right.find((s) => s.what === 'organization root readable (organizations:ListRoots)')?.status).toBe('ok');
  });

  it('SERVICE_MANAGED: a target account that is a member of the organization is not reported outside it', async () => {
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const member = (await organizations.send(new CreateAccountCommand({ AccountName: 'dev', Email: 'dev@example.com' }))).CreateAccountStatus!.AccountId!;
    const steps = await bootstrap(compileOrg(parseOrg(SERVICE_ORG.replace('id: "222222222222"', `id: "${member}"`), 'service.yaml')), env.aws());
    expect(steps.filter((s) => s.what === 'target account in the organization')).toEqual([]);
    expect(steps.find((s) => s.what === 'all features of AWS Organizations')?.status).toBe('ok');
  });

  it("callAs DELEGATED_ADMIN from a member account: registered is ok; unregistered, the register command, whether Organizations refuses the list (as it does an account that is no delegated administrator) or answers it; refused by IAM, allow the action (review s34-late M1)", async () => {
    // moto's Organizations does not know StackSets' service principal ("You specified an unrecognized service
    // principal"): ListDelegatedAdministrators' answers and refusals are modelled on the client.
    const member = '210987654321';
    const listing = (answer: () => unknown) => {
      const client = new OrganizationsClient(env.aws().clientConfig());
      client.middlewareStack.add(
        ((next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (a: unknown) =>
          context.commandName === 'ListDelegatedAdministratorsCommand' ? { output: { $metadata: {}, ...(answer() as object) }, response: {} } : next(a)) as never,
        { step: 'initialize', name: 'listModel' },
      );
      return client;
    };
    const refusing = (message: string) =>
      listing(() => {
        throw Object.assign(new Error(message), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      });
    const register = `register account ${member} as a delegated administrator in the management account: aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com --account-id ${member}`;
    expect(await delegatedAdministratorStep(listing(() => ({ DelegatedAdministrators: [{ Id: '111111111111' }] })), member, '123456789012')).toEqual({ account: member, what: 'delegated administrator for StackSets', status: 'missing', detail: register });
    expect(await delegatedAdministratorStep(listing(() => ({ DelegatedAdministrators: [{ Id: member }] })), member, '123456789012')).toEqual({ account: member, what: 'delegated administrator for StackSets', status: 'ok' });
    // Organizations' own refusal (prowler-cloud/prowler#2133), then IAM's ("is not authorized to perform").
    const byOrganizations = await delegatedAdministratorStep(refusing("You don't have permissions to access this resource."), member, '123456789012');
    expect(byOrganizations.detail).toContain(`which Organizations answers only to its management account and delegated administrators: ${register}; if it is registered, allow this identity organizations:ListDelegatedAdministrators`);
    const byIam = await delegatedAdministratorStep(refusing(`User: arn:aws:sts::${member}:assumed-role/Deployer/x is not authorized to perform: organizations:ListDelegatedAdministrators`), member, '123456789012');
    expect(byIam.detail).toMatch(/^could not read the delegated administrators \(organizations:ListDelegatedAdministrators: AccessDeniedException: .*\): allow this identity organizations:ListDelegatedAdministrators, which StackSets needs too/);
    expect(byIam.detail).not.toContain('register-delegated-administrator');
  });

  it('SERVICE_MANAGED, callAs DELEGATED_ADMIN: StackSets\' "Account used is not a delegated administrator" is reported with its three causes, ListDelegatedAdministrators among them (review s34-service-managed M1)', async () => {
    await new OrganizationsClient(env.aws().clientConfig()).send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const delegated = compileOrg(parseOrg(SERVICE_ORG.replace('  permissionModel: SERVICE_MANAGED\n', '  permissionModel: SERVICE_MANAGED\n  callAs: DELEGATED_ADMIN\n').replace('id: "123456789012"', 'id: "333333333333"'), 'service.yaml'));
    // StackSets' answer without organizations:ListDelegatedAdministrators (hashicorp/terraform-provider-aws#37069).
    const aws = refusedStackSetsCall(env.aws(), 'ListStackSetsCommand', 'Account used is not a delegated administrator');
    await expect(plan(delegated, aws, { emulator: true })).rejects.toMatchObject({
      code: 'NOT_DELEGATED_ADMINISTRATOR',
      message: expect.stringContaining('this identity may not call organizations:ListDelegatedAdministrators (StackSets needs it, and answers so without it); this account is not registered'),
    });
    // callAs SELF from a member account: StackSets' other answer (hashicorp/terraform-provider-aws#32536).
    const self = compileOrg(parseOrg(SERVICE_ORG.replace('id: "123456789012"', 'id: "333333333333"'), 'service.yaml'));
    const member = refusedStackSetsCall(env.aws(), 'ListStackSetsCommand', 'You must be the management account or delegated admin account of an organization before operating a SERVICE_MANAGED stack set');
    await expect(plan(self, member, { emulator: true })).rejects.toMatchObject({
      code: 'NOT_DELEGATED_ADMINISTRATOR',
      message: expect.stringContaining('with callAs SELF the caller must be the management account; run there, or, from a delegated administrator, set stackSets.callAs: DELEGATED_ADMIN'),
    });
  });

  it("SERVICE_MANAGED with iamQuotas: each target account's quotas are read through the setup template's reader role and held to the declaration; a reader that may not read them says from its setup tag which file it runs", async () => {
    const organizations = new OrganizationsClient(env.aws().clientConfig());
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    // The dev account a member of moto's organization (an account outside it is not read: it gets no instance).
    const dev = (await organizations.send(new CreateAccountCommand({ AccountName: 'dev', Email: 'dev@example.com' }))).CreateAccountStatus!.AccountId!;
    const ORG = SERVICE_ORG.replace('id: "222222222222"', `id: "${dev}"`);
    const what = 'IAM quotas the org file declares (iamQuotas)';
    const withQuotas = (quotas: string) => compileOrg(parseOrg(`${ORG}iamQuotas: ${quotas}\n`, 'service.yaml'));
    // moto's IAM reports AWS's defaults in every account (AssumeRolePolicySizeQuota 2048).
    const raised = withQuotas('{ roleTrustPolicyChars: 4096 }');
    expect(raised.files.get('setup/reader-role.yaml')).toContain('iam:GetAccountSummary');
    const client = env.aws();
    const assumed: string[] = [];
    const assume = client.assumeRefreshing.bind(client);
    client.assumeRefreshing = (...args: Parameters<typeof assume>) => (assumed.push(args[0]), assume(...args));
    const steps = await bootstrap(raised, client);
    // The source account is the organization's management account, where no instance is made: not read (reported).
    expect(steps.filter((s) => s.what === what).map((s) => [s.account, s.status])).toEqual([[dev, 'missing']]);
    expect(steps.find((s) => s.what === what)!.detail).toMatch(/^the org file declares iamQuotas\.roleTrustPolicyChars 4096, and IAM reports AssumeRolePolicySizeQuota 2048 for this account \(GetAccountSummary\)/);
    expect(assumed).toEqual([`arn:aws:iam::${dev}:role/svc-xstack-reader`]);
    expect(client.log.mutating).toBe(0);
    // Held: said so.
    const held = await bootstrap(withQuotas('{ roleTrustPolicyChars: 2048 }'), env.aws());
    expect(held.find((s) => s.what === what)).toMatchObject({ account: dev, status: 'ok', detail: 'held: iamQuotas.roleTrustPolicyChars 2048 (IAM: 2048)' });
    expect(held.filter((s) => s.status === 'missing').map((s) => s.what)).toEqual(['management account not targeted', 'trusted access for StackSets']);
    // Near a quota: the templates' roles read by name through the reader (its template lets it, with iamQuotas declared),
    // each missing one counted: refused while none is there; once they all are (a deployed org, the steady state), the
    // room holds and the run goes on, every time (review s47-diff M1: the reader could not read them, and failed it).
    const quotasHeld = withQuotas('{ roleTrustPolicyChars: 2048 }');
    expect(quotasHeld.files.get('setup/reader-role.yaml')).toContain('ReadOrgEntities');
    const room = 'room under IAM quotas for the roles, customer managed policies and instance profiles this org makes';
    const devIam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${dev}:role/OrganizationAccountAccessRole`));
    const rolesNow = (await devIam.send(new GetAccountSummaryCommand({}))).SummaryMap!.Roles!;
    const templateRoles = [...iamEntitiesByAccount(quotasHeld).get(dev)!.roles];
    const near = () => entitiesInUse(env.aws(), { [dev]: { Roles: 1000 - rolesNow - templateRoles.length + 1 } });
    const short = await bootstrap(quotasHeld, near());
    expect(short.find((s) => s.what === room)).toMatchObject({ account: dev, status: 'missing', detail: expect.stringMatching(new RegExp(`^the account holds ${1000 - templateRoles.length + 1} roles of its quota of 1000 .*, and this org makes ${templateRoles.length} more here that are not there yet`)) });
    for (const RoleName of templateRoles) await devIam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: '{}' }));
    const steady = await bootstrap(quotasHeld, entitiesInUse(env.aws(), { [dev]: { Roles: 1000 - rolesNow - templateRoles.length * 2 + 1 } }));
    expect(steady.find((s) => s.what === room)).toMatchObject({ account: dev, status: 'ok', detail: expect.stringContaining(`roles ${1000 - templateRoles.length + 1} + 0 of 1000`) });
    for (const RoleName of templateRoles) await devIam.send(new DeleteRoleCommand({ RoleName }));
    // None declared: none read, no reader assumed; the reader template reads no quotas.
    const plain = env.aws();
    const none = compileOrg(parseOrg(ORG, 'service.yaml'));
    await bootstrap(none, plain);
    expect(plain.log.calls.GetAccountSummaryCommand ?? 0).toBe(0);
    expect(none.files.get('setup/reader-role.yaml')).not.toContain('iam:GetAccountSummary');
    // No reader there (STS refuses it): that account's quotas unread, a missing step naming the setup file and the
    // way past it; bootstrap goes on (review s34-diff M1).
    const unread = await bootstrap(raised, refusedAssume(env.aws(), /:role\/svc-xstack-reader$/));
    expect(unread.find((s) => s.what === what)).toMatchObject({
      account: dev,
      status: 'missing',
      detail: expect.stringMatching(
        /^not read: could not assume role arn:aws:iam::\d{12}:role\/svc-xstack-reader: AccessDenied: .*; with SERVICE_MANAGED StackSets the reader role, which bootstrap assumes to read each target account's IAM quotas \(iamQuotas\), is made by the setup template dist\/service\/setup\/reader-role\.yaml: deploy it once .*, or pass --output-reader-role naming a role this identity may assume there that may iam:GetAccountSummary;/,
      ),
    });
    // A reader of the org's own (--output-reader-role) reads them instead; SELF_MANAGED bootstrap, which makes its
    // reader, refuses the option.
    const own = env.aws();
    const ownAssumed: string[] = [];
    const ownAssume = own.assumeRefreshing.bind(own);
    own.assumeRefreshing = (...args: Parameters<typeof ownAssume>) => (ownAssumed.push(args[0]), ownAssume(...args));
    expect((await bootstrap(withQuotas('{ roleTrustPolicyChars: 2048 }'), own, { outputReaderRoleName: 'platform-reader' })).find((s) => s.what === what)?.status).toBe('ok');
    expect(ownAssumed).toEqual([`arn:aws:iam::${dev}:role/platform-reader`]);
    await expect(bootstrap(compileFile('parameters/example.yaml'), env.aws(), { outputReaderRoleName: 'platform-reader' })).rejects.toMatchObject({ code: 'READER_ROLE_NOT_TAKEN' });
    // The reader deployed from the compile before iamQuotas was declared: its policy refuses GetAccountSummary (modelled:
    // moto's IAM evaluates no policy), and its setup tag says it is another compile's file.
    await deploySetup(env.aws(), none, [dev], '123456789012');
    const stale = refusedToRole(env.aws(), 'iam', 'GetAccountSummaryCommand', 'iam:GetAccountSummary', 'svc-xstack-reader');
    await expect(bootstrap(withQuotas('{ roleTrustPolicyChars: 2048 }'), stale)).rejects.toMatchObject({
      code: 'READER_ROLE_POLICY_REFUSED',
      message: expect.stringContaining(
        `Bootstrap reads the target accounts' IAM quotas and the room they leave through svc-xstack-reader, the setup template's role (iamQuotas declared since it was deployed, or an xstack whose bootstrap reads more, change its policy): the role svc-xstack-reader in account ${dev} was made from another compile's dist/service/setup/reader-role.yaml (its tag xstack:setup-sha256 is ${none.setup.digest.slice(0, 12)}…`,
      ),
    });
    // So is a refused read by name near a quota (a reader from a setup file before these reads; review s47-diff m3).
    const staleNames = entitiesInUse(refusedToRole(env.aws(), 'iam', 'GetRoleCommand', 'iam:GetRole', 'svc-xstack-reader'), { [dev]: { Roles: 999 } });
    await expect(bootstrap(withQuotas('{ roleTrustPolicyChars: 2048 }'), staleNames)).rejects.toMatchObject({ code: 'READER_ROLE_POLICY_REFUSED', message: expect.stringContaining('not authorized to perform: iam:GetRole') });
  });
});
