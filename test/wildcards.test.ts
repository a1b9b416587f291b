/**
 * Rule XS017: a wildcard inside a name (an Allow's Resource ARN, or a value of ArnLike, ArnEquals or StringLike) must be
 * one src/iam/wildcards.ts lists for its statement, with what bounds it (review s59-proof m2: the proof counts a
 * pattern as used when it matches one path's resource, so a grant widened to every repository of the account
 * compiled green; and M2's remainder: a widening that does not keep a name's start fits no "someone else" sample).
 * IAM reads `*` and `?` in an ARN's segments and in ArnLike / ArnEquals / StringLike values:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkTemplate, wildcardsOf } from '../src/checks/rules';
import type { CfnTemplate } from '../src/cfn/template';
import { loadOrgFile } from '../src/org/load';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { BOUNDED_WILDCARDS, holdsWildcard } from '../src/iam/wildcards';
import { compileFile, ORG_FILES } from './helpers';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { renderTemplate } from '../src/cfn/template';
import { wildcardRows, wildcardsUsedIn } from '../src/audit/wildcard-rows';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';

type Json = Record<string, any>;

const sub = (text: string) => ({ 'Fn::Sub': text });
const PARTITION = '${AWS::Partition}';
const REGION = '${AWS::Region}';
const ACCOUNT = '${AWS::AccountId}';

/** XS017's findings in every stage of `stages`, as `stage resource statement item`. */
const xs017 = (stages: Stage[]) =>
  stages.flatMap((s) =>
    checkTemplate({ Resources: s.definition.resources } as unknown as CfnTemplate)
      .filter((f) => f.rule === 'XS017')
      .map((f) => `${s.id} ${f.resource} ${f.statement} ${f.item}`),
  );
const resourcesOf = (stages: Stage[], stage: string) => stages.find((s) => s.id === stage)!.definition.resources as unknown as Record<string, { Type: string; Properties: Json }>;
const statementOf = (document: Json, sid: string): Json => {
  const found = (document.Statement as Json[]).find((s) => s.Sid === sid);
  expect(found, sid).toBeDefined();
  return found!;
};

describe('XS017: wildcards inside names are listed, with what bounds them', () => {
  const org = loadOrgFile('parameters/example.yaml');

  it('passes every template of the committed orgs and the test orgs', () => {
    for (const file of ORG_FILES) expect(xs017(planStages(loadOrgFile(file))), file).toEqual([]);
  });

  it('refuses a developer grant widened to every repository of the account (review s59-proof m2, mutation M19)', () => {
    const stages = planStages(org);
    const policies = Object.entries(resourcesOf(stages, 'access-roles')).filter(([id, r]) => id.startsWith('DeveloperRole') && r.Type === 'AWS::IAM::ManagedPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const [, p] of policies) {
      (p.Properties.PolicyDocument.Statement as Json[]).push({ Sid: 'WorkOnRepositories', Effect: 'Allow', Action: ['codecommit:GitPull'], Resource: sub(`arn:${PARTITION}:codecommit:${REGION}:${ACCOUNT}:*`) });
    }
    const found = xs017(stages);
    expect(found.length).toBe(policies.length);
    for (const f of found) expect(f).toMatch(/^access-roles DeveloperRole\S+ WorkOnRepositories Resource::arn:\$\{AWS::Partition\}:codecommit:\$\{AWS::Region\}:\$\{AWS::AccountId\}:\*$/);
  });

  // Each a widening the s59 proof review made; the first three keep no name's start a sample fits (M2's remainder).
  const WIDENINGS: Array<{ what: string; mutate: (stages: Stage[]) => void; item: RegExp }> = [
    {
      what: "the source roles' trust ArnEquals role/acme-pipeline made ArnLike role/*-pipeline",
      mutate: (stages) => {
        for (const [id, r] of Object.entries(resourcesOf(stages, 'source-identity'))) {
          if (!id.startsWith('SourceRole') || r.Type !== 'AWS::IAM::Role') continue;
          const s = statementOf(r.Properties.AssumeRolePolicyDocument, 'PipelineRoleAssumes');
          const named: string = s.Condition.ArnEquals['aws:PrincipalArn']['Fn::Sub'];
          delete s.Condition.ArnEquals;
          s.Condition.ArnLike = { 'aws:PrincipalArn': sub(named.replace('role/acme-pipeline', 'role/*-pipeline')) };
        }
      },
      item: /^source-identity SourceRole\d+In\d+ PipelineRoleAssumes Condition::ArnLike:aws:PrincipalArn::arn:\$\{AWS::Partition\}:iam::\d{12}:role\/\*-pipeline$/,
    },
    {
      what: "a deployment role's trust deploymentgroup:acme-web-app/* made deploymentgroup:*-web-app/*",
      mutate: (stages) => {
        const s = statementOf(resourcesOf(stages, 'pipelines').WebAppCodeDeployRole.Properties.AssumeRolePolicyDocument, 'TrustService');
        s.Condition.ArnLike['aws:SourceArn'] = sub(`arn:${PARTITION}:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:*-web-app/*`);
      },
      item: /^pipelines WebAppCodeDeployRole TrustService Condition::ArnLike:aws:SourceArn::.*deploymentgroup:\*-web-app\/\*$/,
    },
    {
      what: 'the trigger rules\' dead-letter queue rule/acme-*-trigger made rule/*-trigger',
      mutate: (stages) => {
        const s = statementOf(resourcesOf(stages, 'pipeline-foundation').EventsDeadLetterQueuePolicy.Properties.PolicyDocument, 'TriggerRulesDeadLetters');
        s.Condition.ArnLike['aws:SourceArn'] = sub(`arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/*-trigger`);
      },
      item: /^pipeline-foundation EventsDeadLetterQueuePolicy TriggerRulesDeadLetters Condition::ArnLike:aws:SourceArn::.*:rule\/\*-trigger$/,
    },
    {
      what: "the event forwarder's trust rule/acme-codecommit-fwd-* made rule/acme-*",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'source-identity')).find(([id]) => id.startsWith('EventForwarderRole'))!;
        statementOf(r.Properties.AssumeRolePolicyDocument, 'TrustService').Condition.ArnLike['aws:SourceArn'] = sub(`arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/acme-*`);
      },
      item: /^source-identity EventForwarderRole\S* TrustService Condition::ArnLike:aws:SourceArn::.*:rule\/acme-\*$/,
    },
    {
      what: "the source role's key grant without the alias that holds key/* to the artifact key",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'source-identity')).find(([id, r]) => id.startsWith('SourceRole') && r.Type === 'AWS::IAM::ManagedPolicy' && JSON.stringify(r).includes('UseArtifactKey'))!;
        delete statementOf(r.Properties.PolicyDocument, 'UseArtifactKey').Condition;
      },
      item: /^source-identity SourceRole\S+ UseArtifactKey Resource::arn:\$\{AWS::Partition\}:kms:\$\{AWS::Region\}:\d{12}:key\/\*$/,
    },
    {
      what: "the pipeline role's artifact grant widened to every bucket of the org's prefix",
      mutate: (stages) => {
        const s = statementOf(resourcesOf(stages, 'pipelines').WebAppPipelinePolicy.Properties.PolicyDocument, 'ReadWriteArtifacts');
        s.Resource = sub(`arn:${PARTITION}:s3:::acme-*/*`);
      },
      item: /^pipelines WebAppPipelinePolicy ReadWriteArtifacts Resource::arn:\$\{AWS::Partition\}:s3:::acme-\*\/\*$/,
    },
  ];
  for (const w of WIDENINGS) {
    it(`refuses ${w.what}`, () => {
      expect(xs017(planStages(org))).toEqual([]);
      const stages = planStages(org);
      w.mutate(stages);
      const found = xs017(stages);
      expect(found.length, found.join('\n')).toBeGreaterThan(0);
      for (const f of found) expect(f).toMatch(w.item);
    });
  }

  it('reads values under Fn::If and in lists, asks neither Deny nor the narrowing operators, and counts ? as a wildcard', () => {
    const items = (s: Json) => wildcardsOf(s).map((w) => w.item);
    const ifList = { 'Fn::If': ['InA', [sub('arn:${AWS::Partition}:iam::111111111111:role/a-*')], { Ref: 'AWS::NoValue' }] };
    expect(items({ Sid: 'X', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': ifList } } })).toEqual([
      'Condition::ArnLike:aws:PrincipalArn::arn:${AWS::Partition}:iam::111111111111:role/a-*',
    ]);
    expect(items({ Sid: 'X', Effect: 'Allow', Action: 's3:GetObject', Resource: ['arn:aws:s3:::b/k?', 'arn:aws:s3:::b/k'] })).toEqual(['Resource::arn:aws:s3:::b/k?']);
    expect(items({ Sid: 'X', Effect: 'Allow', Action: 's3:GetObject', Resource: sub('arn:${AWS::Partition}:s3:::b/k'), Condition: { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::1:role/*' }, StringNotLike: { 'aws:userid': '*' } } })).toEqual([]);
    expect(items({ Sid: 'X', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k', Condition: { 'ForAnyValue:StringLikeIfExists': { 'aws:TagKeys': 'a*' } } })).toEqual(['Condition::ForAnyValue:StringLikeIfExists:aws:TagKeys::a*']);
    const deny = { Resources: { P: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'D', Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*/*' }] } } } } } as unknown as CfnTemplate;
    expect(checkTemplate(deny).filter((f) => f.rule === 'XS017')).toEqual([]);
    const notResource = { Resources: { P: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'N', Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::b/k' }] } } } } } as unknown as CfnTemplate;
    expect(checkTemplate(notResource).filter((f) => f.rule === 'XS017').map((f) => f.item)).toEqual(['NotResource']);
    expect(holdsWildcard('arn:${AWS::Partition}:s3:::b')).toBe(false);
  });

  it("lists each shape's statements, and a shape for one statement does not admit it in another", () => {
    const s = (sid: string) => ({ Sid: sid, Effect: 'Allow', Action: 'ssm:UpdateInstanceInformation', Resource: sub('arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*') });
    expect(wildcardsOf(s('SessionManagerRegisters'))[0].bounded).toBeDefined();
    expect(wildcardsOf(s('SomethingElse'))[0].bounded).toBeUndefined();
    for (const w of BOUNDED_WILDCARDS) {
      expect(holdsWildcard(w.shape) || w.shape.includes('<role pattern>'), w.shape).toBe(true);
      expect(w.reason.length, w.shape).toBeGreaterThan(40);
    }
  });

  it("the compile's table, gathered by the checks a class of alike resources once, is what a read of every statement finds", () => {
    for (const c of [compileFile('parameters/example.yaml'), compileFile('parameters/govcloud.yaml'), compileOrg(parseOrg(generateTeamsOrgYaml(12, { ci: true }), 'teams.yaml'))]) {
      const md = c.files.get('audit/report.md')!;
      const table = md.slice(md.indexOf('Wildcards inside names'), md.indexOf('<a id="accounts">'));
      const rows = wildcardRows(wildcardsUsedIn(c.stages.map((s) => renderTemplate(s.definition))));
      expect(rows.length).toBeGreaterThan(5);
      for (const r of rows) expect(table).toContain(`| ${r[0]} | ${r[1]} | ${r[2]} |`);
      expect(table.split('\n').filter((l) => l.startsWith('| `')).length).toBe(rows.length);
    }
  });

  it('the audit report lists each wildcard the example uses, once, with its statements and reason', () => {
    const report = readFileSync('dist/example/audit/report.md', 'utf8');
    const table = report.slice(report.indexOf('Wildcards inside names'), report.indexOf('<a id="accounts">'));
    const row = table.split('\n').find((l) => l.startsWith('| `arn:${AWS::Partition}:kms:${AWS::Region}:<account>:key/*`'));
    expect(row).toBeDefined();
    expect(row).toContain('| UseArtifactKey |');
    expect(row).toContain('kms:ResourceAliases');
    expect(table.split('\n').filter((l) => l.includes('instance/*`')).length).toBe(1);
  });
});
