/**
 * Resource-based policies' size limits (RESOURCE_POLICY_LIMITS, src/limits.ts)
 * are checked at compile time, per target account: an org past one fails
 * naming the stage, the account, the resource, the size, the limit, its page
 * and what the policy grows with; the examples and the bench orgs compile.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import BucketPolicy from 'cloudform-types/types/s3/bucketPolicy';
import EventBusPolicy from 'cloudform-types/types/events/eventBusPolicy';
import QueuePolicy from 'cloudform-types/types/sqs/queuePolicy';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { renderTemplate, type CfnTemplate, type TemplateDefinition } from '../src/cfn/template';
import { Resolver } from '../src/audit/resolve';
import { policySizes } from '../src/checks/iam-quotas';
import { resourcePolicyQuotaProblems } from '../src/checks/resource-policy-quotas';
import { compileOrg } from '../src/compile';
import { Names } from '../src/naming';
import { ciNetwork, codeCommitEndpointScope } from '../templates/ci-network';
import type { Org } from '../src/org/model';
import type { Stage } from '../src/stages/model';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileProblems } from './helpers';

const VPC_DOC = 'https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html';
const KMS_DOC = 'https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html';
const S3_DOC = 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html';
const EB_DOC = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html';

/** One pipeline account fed by `sources` source accounts of `repos` repositories each (one pipeline), and `extra`. */
function orgWith(sources: number, repos: number, extra = ''): string {
  const lines = ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:', '  tools: { id: "100000000000", role: tools }'];
  for (let s = 1; s <= sources; s++) lines.push(`  s${s}: { id: "1111111111${String(s).padStart(2, '0')}", role: source }`);
  lines.push('  dev: { id: "222222222222", role: pipeline, environment: dev }', 'repositories:');
  for (let s = 1; s <= sources; s++) for (let r = 1; r <= repos; r++) lines.push(`  s${s}-repo-${String(r).padStart(3, '0')}: { account: s${s} }`);
  lines.push('pipelines:', '  app: { repository: s1-repo-001, branches: { dev: main }, deploy: { type: codedeploy } }');
  return `${lines.join('\n')}\n${extra}`;
}
const CI_LINES = '  ci:\n    account: tools\n    network: { cidr: 10.20.0.0/16, availabilityZones: 2 }\n';
const CI = `access:\n${CI_LINES}`;

/** An org planned and rendered, with `change` applied to one stage's resources. */
function planned(text: string, stageId?: string, add: TemplateDefinition['resources'] = {}): { org: Org; stages: Stage[]; templates: Map<string, CfnTemplate>; resolver: Resolver } {
  const org = parseOrg(text, 'policies.yaml');
  const stages = planStages(org).map((s) => (s.id === stageId ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, ...add } } } : s));
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  return { org, stages, templates, resolver: new Resolver(org, stages, templates) };
}
const problemsOf = (p: ReturnType<typeof planned>) => resourcePolicyQuotaProblems(p.org, p.stages, p.templates, p.resolver);

describe('resource policy sizes at compile time', () => {
  it('the CI network\'s CodeCommit endpoint policies name each repository while that fits (5 source accounts of 60), else every repository of each source account (5 of 80), with a note; a policy over the limit fails the compile', () => {
    const endpointResources = (text: string) => {
      const compiled = compileOrg(parseOrg(text, 'ci.yaml'));
      const network = compiled.stages.find((s) => s.id === 'ci-network')!;
      const policy = (renderTemplate(network.definition).Resources.CodeCommitEndpoint.Properties as { PolicyDocument: { Statement: Array<{ Resource: unknown[] }> } }).PolicyDocument;
      return { resources: policy.Statement[0].Resource, notes: network.notes };
    };
    const byName = endpointResources(orgWith(5, 60, CI));
    expect(byName.resources).toHaveLength(300);
    expect(byName.notes).toEqual([]);
    const byAccount = endpointResources(orgWith(5, 80, CI));
    expect(byAccount.resources).toEqual(Array.from({ length: 5 }, (_, s) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:1111111111${String(s + 1).padStart(2, '0')}:*` })));
    expect(byAccount.notes).toEqual([expect.stringMatching(/^CodeCommit endpoint policies: each repository by name would take about 2\d,\d{3} characters \(the compile allows 19,456 of a VPC endpoint policy's 20,480\); they name every repository of each source account instead/)]);
    expect(compileProblems(orgWith(5, 80, CI), 'ci.yaml')).toEqual([]);
    // The check itself: the endpoint as it would be with every repository named, beside the network's own.
    const named = ciNetwork({ names: new Names('acme'), network: parseOrg(orgWith(5, 80, CI), 'ci.yaml').access.ci!.network!, endpointServicePrefix: 'com.amazonaws', fipsEndpoints: false, repositories: Array.from({ length: 5 }, (_, s) => [`1111111111${String(s + 1).padStart(2, '0')}`, Array.from({ length: 80 }, (_, r) => `s${s + 1}-repo-${String(r + 1).padStart(3, '0')}`)] as const), repositoryScope: 'repositories', ciRuntime: 'ec2' });
    const problems = problemsOf(planned(orgWith(5, 80, CI), 'ci-network', { ByRepository: named.resources.CodeCommitEndpoint }));
    expect(problems).toEqual([
      `ci-network @ tools (100000000000): ByRepository: VPC endpoint policy of 23,031 characters as compact JSON, over 19,456: 95% of the VPC endpoint policy limit of 20,480 characters (including white space, fixed; ${VPC_DOC}), ` +
        'the rest kept for the white space CloudFormation may send, which no page states; it lists 400 resources (codecommit: 400) of 5 accounts, and 10 condition values; ' +
        "it grows with the repositories the CI network may pull from and the source accounts holding them (each source account's id and CI reader role)",
    ]);
  });

  it("the CodeCommit endpoints' switch to every repository of each source account comes exactly where the check would refuse each repository by name: the scope measures the document the template writes", () => {
    const repositoriesOf = (repos: number) => Array.from({ length: 5 }, (_, s) => [`1111111111${String(s + 1).padStart(2, '0')}`, Array.from({ length: repos }, (_, r) => `s${s + 1}-repo-${String(r + 1).padStart(3, '0')}`)] as const);
    const at = { partition: 'aws', region: 'eu-west-1' };
    let repos = 60;
    while (codeCommitEndpointScope({ repositories: repositoriesOf(repos + 1) }, 'acme-ci-reader', at).scope === 'repositories') repos++;
    expect(repos).toBeGreaterThan(60);
    expect(repos).toBeLessThan(80);
    // The largest org kept by name compiles, each repository named.
    const under = planned(orgWith(5, repos, CI));
    const endpoint = (under.templates.get('ci-network')!.Resources.CodeCommitEndpoint.Properties as { PolicyDocument: { Statement: Array<{ Resource: unknown[] }> } }).PolicyDocument;
    expect(endpoint.Statement[0].Resource).toHaveLength(5 * repos);
    expect(problemsOf(under)).toEqual([]);
    // One repository more a source account: the same form, as the template would write it, is over the check's limit.
    const named = ciNetwork({ names: new Names('acme'), network: parseOrg(orgWith(5, repos + 1, CI), 'ci.yaml').access.ci!.network!, endpointServicePrefix: 'com.amazonaws', fipsEndpoints: false, repositories: repositoriesOf(repos + 1), repositoryScope: 'repositories', ciRuntime: 'ec2' });
    const over = planned(orgWith(5, repos + 1, CI), 'ci-network', { ByRepository: named.resources.CodeCommitEndpoint, ByRepositoryGit: named.resources.GitCodeCommitEndpoint });
    const measured = codeCommitEndpointScope({ repositories: repositoriesOf(repos + 1) }, 'acme-ci-reader', at).chars;
    // Both endpoints are over; the API's (four actions to git's one) is the larger, the size the scope measured.
    expect(problemsOf(over)).toEqual([
      expect.stringMatching(new RegExp(`^ci-network @ tools \\(100000000000\\): ByRepository: VPC endpoint policy of ${measured.toLocaleString('en-US')} characters as compact JSON, over 19,456`)),
      expect.stringMatching(/^ci-network @ tools \(100000000000\): ByRepositoryGit: VPC endpoint policy of 19,\d{3} characters as compact JSON, over 19,456/),
    ]);
  });

  it('the artifact key policy names every key administrator: 700 are over KMS\'s 32,768 bytes in each pipeline account', () => {
    const admins = Array.from({ length: 700 }, (_, i) => `key-admin-${String(i).padStart(4, '0')}`).join(', ');
    // Key administrators are named in the key policy only: the execution role grants nothing on them (the reader role
    // reads them: reader-policy.ts), so 700 need no more of its managed policies than the default quota.
    const problems = compileProblems(orgWith(1, 1, `keyAdministratorRoles: [${admins}]\n`), 'kadm.yaml');
    expect(problems).toEqual([
      `pipeline-foundation @ dev (222222222222): ArtifactKey: KMS key policy of 35,125 bytes as compact JSON, over 31,129: 95% of the KMS key policy limit of 32,768 bytes (fixed; ${KMS_DOC}), ` +
        'the rest kept for the white space CloudFormation may send, which no page states; it names 2 principals and 705 condition values: 1 source account feeding this account (root and source role each), ' +
        '700 key administrators (keyAdministratorRoles, beside the StackSet execution role) and 1 deployment-target roles (deploymentTargets.instanceRoles); each of them makes it grow',
    ]);
    expect(compileProblems(orgWith(1, 1, `keyAdministratorRoles: [${admins.split(', ').slice(0, 600).join(', ')}]\n`), 'kadm.yaml')).toEqual([]);
  });

  it('each target account is measured, not the first alone: the key policy over the limit in two pipeline accounts is a problem in each (review s41-mutations-3 RP3)', () => {
    const admins = Array.from({ length: 700 }, (_, i) => `key-admin-${String(i).padStart(4, '0')}`).join(', ');
    const twoPipelineAccounts = orgWith(1, 1, `keyAdministratorRoles: [${admins}]\n`)
      .replace('  dev: { id: "222222222222", role: pipeline, environment: dev }', '  dev: { id: "222222222222", role: pipeline, environment: dev }\n  prod: { id: "333333333333", role: pipeline, environment: prod }')
      .replace('branches: { dev: main }', 'branches: { dev: main, prod: main }');
    const problems = compileProblems(twoPipelineAccounts, 'kadm.yaml');
    expect(problems.map((p) => p.split(': ArtifactKey: ')[0])).toEqual(['pipeline-foundation @ dev (222222222222)', 'pipeline-foundation @ prod (333333333333)']);
  });

  it('the share of the limit is inclusive: a bucket policy of exactly 19,456 bytes (95% of 20,480, rounded down) compiles, one byte more is a problem (review s41-mutations-3 RP1)', () => {
    const policy = (sid: string) =>
      new BucketPolicy({
        Bucket: { Ref: 'ArtifactBucket' } as never,
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::300000000000:root' } }, Action: 's3:GetObject', Resource: { 'Fn::Sub': '${ArtifactBucket.Arn}/*' } }] },
      });
    const withPolicy = (sid: string) => planned(orgWith(1, 1), 'pipeline-foundation', { EdgeBucketPolicy: policy(sid) });
    const probe = withPolicy('S');
    const document = (probe.templates.get('pipeline-foundation')!.Resources.EdgeBucketPolicy as unknown as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument;
    const base = policySizes(probe.resolver, 'pipeline-foundation')(document)('222222222222');
    const sized = (bytes: number) => 'S'.repeat(1 + bytes - base);
    expect(problemsOf(withPolicy(sized(19_456)))).toEqual([]);
    expect(problemsOf(withPolicy(sized(19_457)))).toEqual([expect.stringMatching(/^pipeline-foundation @ dev \(222222222222\): EdgeBucketPolicy: S3 bucket policy of 19,457 bytes as compact JSON, over 19,456: 95% of the S3 bucket policy limit of 20,480 bytes/)]);
  });

  it('a bucket policy over 20 KB fails in the accounts it is deployed in', () => {
    // More source accounts than 20 cannot feed one pipeline account today (managed policies per role), so the
    // statements are added to the stage directly: 120 roots of other accounts, each about 170 bytes of statement.
    const statements = Array.from({ length: 120 }, (_, i) => ({
      Sid: `Extra${i}`,
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${String(300000000000 + i)}:root` } },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: { 'Fn::Sub': '${ArtifactBucket.Arn}/*' },
    }));
    const big = new BucketPolicy({ Bucket: { Ref: 'ArtifactBucket' } as never, PolicyDocument: { Version: '2012-10-17', Statement: statements } });
    const problems = problemsOf(planned(orgWith(1, 1), 'pipeline-foundation', { BigBucketPolicy: big }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^pipeline-foundation @ dev \\(222222222222\\): BigBucketPolicy: S3 bucket policy of 2\\d,\\d{3} bytes as compact JSON, over 19,456: 95% of the S3 bucket policy limit of 20,480 bytes \\("20 KB"; ${S3_DOC.replace(/\./g, '\\.')}\\), .*it names 120 principals: 120 source accounts feeding this account`),
    );
  });

  it('an event bus policy over 10,240 characters fails, and says how to declare a raised size; a declared one lets it compile', () => {
    const principals = Array.from({ length: 230 }, (_, i) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${String(300000000000 + i)}:role/acme-forwarder` }));
    const bus = new EventBusPolicy({
      EventBusName: 'default',
      StatementId: 'acme-many',
      Statement: { Effect: 'Allow', Principal: { AWS: principals }, Action: 'events:PutEvents', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default' } },
    });
    const problems = problemsOf(planned(orgWith(1, 1), 'pipeline-foundation', { ManyBusPolicy: bus }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^pipeline-foundation @ dev \(222222222222\): ManyBusPolicy: EventBridge event bus policy of 11,\d{3} characters as compact JSON, over 9,728: 95% of the EventBridge event bus policy limit of 10,240 characters \(the default, adjustable; https:\/\/docs\.aws\.amazon\.com\/eventbridge\/latest\/userguide\/eb-quota\.html\), .*it names 230 source accounts feeding this account .*then set eventBridgeQuotas\.busPolicyChars in the org file$/,
    );
    expect(problemsOf(planned(orgWith(1, 1, 'eventBridgeQuotas: { busPolicyChars: 20480 }\n'), 'pipeline-foundation', { ManyBusPolicy: bus }))).toEqual([]);
    const declaredTooSmall = problemsOf(planned(orgWith(1, 1, 'eventBridgeQuotas: { busPolicyChars: 10240 }\n'), 'pipeline-foundation', { ManyBusPolicy: bus }));
    expect(declaredTooSmall[0]).toContain(`95% of the EventBridge event bus policy size the org file declares (eventBridgeQuotas.busPolicyChars), 10,240 characters (${EB_DOC})`);
    expect(() => parseOrg(orgWith(1, 1, 'eventBridgeQuotas: { busPolicyChars: 9000 }\n'), 'bus.yaml')).toThrow(/eventBridgeQuotas\.busPolicyChars: 9000 is out of range/);
  });

  it("an SQS queue policy over 8,192 bytes fails, naming the events dead-letter queue's policy as what grew", () => {
    // The dead-letter queue's statement with a SourceArn per rule instead of its pattern: 120 rules of ~80 bytes.
    const rules = Array.from({ length: 120 }, (_, i) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/acme-app${i}-trigger` }));
    const queue = new QueuePolicy({
      Queues: [{ Ref: 'EventsDeadLetterQueue' } as never],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Sid: 'TriggerRulesDeadLetters', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: 'q', Condition: { ArnEquals: { 'aws:SourceArn': rules } } }],
      },
    });
    const problems = problemsOf(planned(orgWith(1, 1), 'pipeline-foundation', { BigQueuePolicy: queue }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^pipeline-foundation @ dev \(222222222222\): BigQueuePolicy: SQS queue policy of \d,\d{3} bytes as compact JSON, over 7,782: 95% of the SQS queue policy limit of 8,192 bytes \(fixed; https:\/\/docs\.aws\.amazon\.com\/AWSSimpleQueueService\/latest\/SQSDeveloperGuide\/quotas-policies\.html\), .*it names 120 condition values; the queue policies xstack writes name their rules by a name pattern/,
    );
    // The queue policies the templates write name the rules by pattern: far inside it.
    expect(problemsOf(planned(orgWith(1, 1)))).toEqual([]);
  });

  it('the examples and the bench orgs are within every limit', () => {
    for (const file of ['parameters/example.yaml', 'parameters/govcloud.yaml']) expect(problemsOf(planned(readFileSync(file, 'utf8'))), file).toEqual([]);
    for (const text of [generateOrgYaml(1000), generateTeamsOrgYaml(250), `${generateTeamsOrgYaml(100)}${CI_LINES}`]) {
      expect(problemsOf(planned(text))).toEqual([]);
    }
  });

  it('an expression reading nothing of an account but its id is measured as it resolves there, once per id length (and as itself for an id not of digits); one reading more, in each account', () => {
    const p = planned(generateTeamsOrgYaml(100));
    const stage = 'pipeline-foundation';
    const document = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'S',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::b-${AWS::AccountId}-${AWS::Region}/*' },
          Condition: { StringEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' }, 'aws:PrincipalTag/team': { 'Fn::If': ['FedByT001Source', 't1', 'another-team'] } } },
        },
      ],
    };
    const written = (account: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S',
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: `arn:${p.org.partition}:s3:::b-${account}-${p.org.region}/*`,
            Condition: { StringEquals: { 'aws:ResourceAccount': account, 'aws:PrincipalTag/team': p.resolver.holds(stage, 'FedByT001Source', account) ? 't1' : 'another-team' } },
          },
        ],
      }).length;
    const fed = p.resolver.accountsWhere(stage, 'FedByT001Source');
    const other = p.stages.find((s) => s.id === stage)!.targets.map((a) => a.id).find((a) => !fed.includes(a))!;
    const size = policySizes(p.resolver, stage)(document);
    for (const account of [fed[0], other, '2001', '2002', '201', 'a"b', fed[0]]) expect(size(account), account).toBe(written(account));
  });

  it('a pipeline account\'s policies are measured as they resolve there: items of other accounts\' source accounts are absent, not counted', () => {
    const p = planned(generateTeamsOrgYaml(100));
    const sizes = policySizes(p.resolver, 'pipeline-foundation');
    const resources = p.templates.get('pipeline-foundation')!.Resources as Record<string, { Properties: Record<string, unknown> }>;
    // Each pipeline account of a team is fed by its team's source account only (compact JSON, as resolved there).
    expect(sizes(resources.ArtifactKey.Properties.KeyPolicy)('200000000001')).toBe(1526);
    expect(sizes(resources.ArtifactBucketPolicy.Properties.PolicyDocument)('200000000001')).toBe(1228);
  });
});
