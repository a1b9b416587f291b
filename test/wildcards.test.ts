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
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { BOUNDED_WILDCARDS, holdsWildcard, wildcardContext } from '../src/iam/wildcards';
import type { Org } from '../src/org/model';
import { compileFile, ORG_FILES } from './helpers';
import { compileOrg } from '../src/compile';
import { renderTemplate } from '../src/cfn/template';
import { setupTemplate } from '../src/setup';
import { wildcardRows, wildcardsUsedIn } from '../src/audit/wildcard-rows';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';

type Json = Record<string, any>;

const sub = (text: string) => ({ 'Fn::Sub': text });
const PARTITION = '${AWS::Partition}';
const REGION = '${AWS::Region}';
const ACCOUNT = '${AWS::AccountId}';

/** XS017's findings in every stage of `stages`, as `stage resource statement item`, read with the org's names (`org`) as the compile reads them. */
const xs017 = (stages: Stage[], org: Org = loadOrgFile('parameters/example.yaml')) =>
  stages.flatMap((s) =>
    checkTemplate(renderTemplate(s.definition), { ctx: wildcardContext(org) })
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

  it('passes every template of the committed orgs, and SERVICE_MANAGED at a later bucket generation with role paths and patterns, setup template included (review s60-xs017 M3)', () => {
    for (const file of ORG_FILES) {
      const o = loadOrgFile(file);
      expect(xs017(planStages(o), o), file).toEqual([]);
    }
    const example = readFileSync('parameters/example.yaml', 'utf8');
    const serviceManaged = example
      .replace(/  permissionModel: SELF_MANAGED\n  administrationRoleName: .*\n/, '  permissionModel: SERVICE_MANAGED\n')
      .replace('keyAdministratorRoles:\n  - platform-admin\n', 'keyAdministratorRoles:\n  - platform-admin\n  - "aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*"\n  - service-role/key-admin\ndeploymentTargets:\n  instanceRoles: [service-role/app-server]\nbucketGeneration: 3\n');
    expect(serviceManaged).toContain('bucketGeneration: 3');
    expect(serviceManaged).toContain('permissionModel: SERVICE_MANAGED');
    const c = compileOrg(parseOrg(serviceManaged, 'sm.yaml'));
    expect(c.files.get('audit/report.md')).toContain('`arn:${AWS::Partition}:s3:::acme-<name>-g*`');
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
  // `org`: the org the widening is made in (the example when left out).
  const WIDENINGS: Array<{ what: string; org?: () => Org; mutate: (stages: Stage[]) => void; item: RegExp }> = [
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
    // Review s60-xs017: a name a wildcard follows shortened (M1), a bound's condition emptied (M2), ForAllValues (m1), a `*` a Join puts in (m2).
    {
      what: "the developer trust's AWSReservedSSO_Developer_* shortened to AWSReservedSSO_*",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'access-roles')).find(([id]) => id.startsWith('DeveloperRoleIn'))!;
        const s = statementOf(r.Properties.AssumeRolePolicyDocument, 'DevelopersAssume');
        s.Condition.ArnLike['aws:PrincipalArn'] = (s.Condition.ArnLike['aws:PrincipalArn'] as Json[]).map((v) => sub((v['Fn::Sub'] as string).replace('AWSReservedSSO_Developer_*', 'AWSReservedSSO_*')));
      },
      item: /^access-roles DeveloperRoleIn\d+ DevelopersAssume Condition::ArnLike:aws:PrincipalArn::.*\/AWSReservedSSO_\*$/,
    },
    {
      what: "the CloudWatch agent's log groups /gov/* shortened to /gov*",
      org: () => loadOrgFile('parameters/govcloud.yaml'),
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'pipeline-identity')).find(([, r]) => JSON.stringify(r).includes('AgentLogGroups'))!;
        statementOf(r.Properties.PolicyDocument, 'AgentLogGroups').Resource = sub(`arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:/gov*`);
      },
      item: /^pipeline-identity \S+ AgentLogGroups Resource::.*:log-group:\/gov\*$/,
    },
    ...[
      { form: 'ForAllValues:StringEquals', condition: { 'ForAllValues:StringEquals': { 'kms:ResourceAliases': ['alias/acme-artifacts'] } } },
      { form: 'ForAnyValue:StringEqualsIfExists', condition: { 'ForAnyValue:StringEqualsIfExists': { 'kms:ResourceAliases': ['alias/acme-artifacts'] } } },
      { form: 'ForAllValues:StringLike alias/acme-*', condition: { 'ForAllValues:StringLike': { 'kms:ResourceAliases': ['alias/acme-*'] } } },
    ].map(({ form, condition }) => ({
      what: `the source role's key/* held by ${form}, which a key without the alias passes`,
      mutate: (stages: Stage[]) => {
        const [, r] = Object.entries(resourcesOf(stages, 'source-identity')).find(([id, r]) => id.startsWith('SourceRole') && r.Type === 'AWS::IAM::ManagedPolicy' && JSON.stringify(r).includes('UseArtifactKey'))!;
        statementOf(r.Properties.PolicyDocument, 'UseArtifactKey').Condition = condition;
      },
      item: /^source-identity SourceRole\S+ UseArtifactKey (Resource::arn:\$\{AWS::Partition\}:kms:\$\{AWS::Region\}:\d{12}:key\/\*|Condition::ForAllValues:StringLike:kms:ResourceAliases::alias\/acme-\*)$/,
    })),
    ...[
      { form: 'StringEqualsIfExists', condition: { StringEqualsIfExists: { 'aws:ResourceOrgID': 'o-bench12345' } } },
      { form: 'StringNotEquals another organization', condition: { StringNotEquals: { 'aws:ResourceOrgID': 'o-other' } } },
      { form: 'its own policy variable', condition: { StringEquals: { 'aws:ResourceOrgID': '${aws:ResourceOrgID}' } } },
      { form: 'another organization', condition: { StringEquals: { 'aws:ResourceOrgID': 'o-other12345' } } },
    ].map(({ form, condition }) => ({
      what: `the developers' AssumeRole on big-developer in any account held by ${form}`,
      org: () => parseOrg(generateTeamsOrgYaml(100), 'teams.yaml'),
      mutate: (stages: Stage[]) => {
        const s = statementOf(resourcesOf(stages, 'access-callers').AssumeDeveloperPolicy.Properties.PolicyDocument, 'AssumeRole');
        expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': 'o-bench12345' } });
        s.Condition = condition;
      },
      item: /^access-callers AssumeDeveloperPolicy AssumeRole Resource::arn:\$\{AWS::Partition\}:iam::\*:role\/big-developer$/,
    })),
    // Review s60-second-read: another field's role (M1), another alias (m1), a * a function puts in a Join (m2).
    {
      what: "the key's AdministerKey given the developers' permission set",
      mutate: (stages) => {
        const s = statementOf(resourcesOf(stages, 'pipeline-foundation').ArtifactKey.Properties.KeyPolicy, 'AdministerKey');
        s.Condition.ArnLike['aws:PrincipalArn'] = [...(s.Condition.ArnLike['aws:PrincipalArn'] as Json[]), sub(`arn:${PARTITION}:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_*`)];
      },
      item: /^pipeline-foundation ArtifactKey AdministerKey Condition::ArnLike:aws:PrincipalArn::.*AWSReservedSSO_Developer_\*$/,
    },
    {
      what: "the developers' trust given the maintainers' permission set, a role the org file names for another field",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'access-roles')).find(([id]) => id.startsWith('DeveloperRoleIn'))!;
        const s = statementOf(r.Properties.AssumeRolePolicyDocument, 'DevelopersAssume');
        s.Condition.ArnLike['aws:PrincipalArn'] = [...(s.Condition.ArnLike['aws:PrincipalArn'] as Json[]), sub(`arn:${PARTITION}:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Maintainer_*`)];
      },
      item: /^access-roles DeveloperRoleIn\d+ DevelopersAssume Condition::ArnLike:aws:PrincipalArn::.*AWSReservedSSO_Maintainer_\*$/,
    },
    {
      what: "the source role's key/* held by another alias beside the org's",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'source-identity')).find(([id, r]) => id.startsWith('SourceRole') && r.Type === 'AWS::IAM::ManagedPolicy' && JSON.stringify(r).includes('UseArtifactKey'))!;
        statementOf(r.Properties.PolicyDocument, 'UseArtifactKey').Condition = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/acme-artifacts', 'alias/other-team'] } };
      },
      item: /^source-identity SourceRole\S+ UseArtifactKey Resource::arn:\$\{AWS::Partition\}:kms:\$\{AWS::Region\}:\d{12}:key\/\*$/,
    },
    {
      what: "the developers' repositories widened to every repository of the account by an Fn::Select in an Fn::Join",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'access-roles')).find(([id, r]) => id.startsWith('DeveloperRole') && r.Type === 'AWS::IAM::ManagedPolicy')!;
        statementOf(r.Properties.PolicyDocument, 'WorkOnRepositories').Resource = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codecommit:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { 'Fn::Select': [0, ['*']] }]] };
      },
      item: /^access-roles DeveloperRole\S+ WorkOnRepositories Resource::arn:\$\{…\}:codecommit:\$\{…\}:\$\{…\}:\*$/,
    },
    {
      what: "the developers' repositories widened to every repository of the account by an Fn::Join",
      mutate: (stages) => {
        const [, r] = Object.entries(resourcesOf(stages, 'access-roles')).find(([id, r]) => id.startsWith('DeveloperRole') && r.Type === 'AWS::IAM::ManagedPolicy')!;
        statementOf(r.Properties.PolicyDocument, 'WorkOnRepositories').Resource = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codecommit:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', '*']] };
      },
      item: /^access-roles DeveloperRole\S+ WorkOnRepositories Resource::arn:\$\{…\}:codecommit:\$\{…\}:\$\{…\}:\*$/,
    },
  ];
  for (const w of WIDENINGS) {
    it(`refuses ${w.what}`, () => {
      const o = w.org?.() ?? org;
      expect(xs017(planStages(o), o)).toEqual([]);
      const stages = planStages(o);
      w.mutate(stages);
      const found = xs017(stages, o);
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
      expect(holdsWildcard(w.shape) || /<(developer role|maintainer role|person role|key administrator)>/.test(w.shape), w.shape).toBe(true);
      expect(w.reason.length, w.shape).toBeGreaterThan(40);
    }
  });

  it("the compile's table, gathered by the checks a class of alike resources once, is what a read of every statement finds", () => {
    for (const c of [compileFile('parameters/example.yaml'), compileFile('parameters/govcloud.yaml'), compileOrg(parseOrg(generateTeamsOrgYaml(12, { ci: true }), 'teams.yaml'))]) {
      const md = c.files.get('audit/report.md')!;
      const table = md.slice(md.indexOf('Wildcards inside names'), md.indexOf('<a id="accounts">'));
      // The stages' templates and the setup template, as the compile checks them.
      const rows = wildcardRows(wildcardsUsedIn([...c.stages.map((s) => renderTemplate(s.definition)), setupTemplate(c.org, c.stages).template], wildcardContext(c.org)), c.org.prefix, new Set(c.org.accounts.map((a) => a.id)));
      expect(rows.length).toBeGreaterThan(5);
      for (const r of rows) expect(table).toContain(`| ${r[0]} | ${r[1]} | ${r[2]} |`);
      expect(table.split('\n').filter((l) => l.startsWith('| `')).length).toBe(rows.length);
    }
  });

  it("the report writes each wildcard as the templates write it: a role placeholder as the org's role patterns, a <name> as the names, account ids folded, past four texts a count (review s60-second-read m7)", () => {
    const report = readFileSync('dist/example/audit/report.md', 'utf8');
    const table = report.slice(report.indexOf('Wildcards inside names'), report.indexOf('<a id="accounts">'));
    const writtenOf = (shape: string) => table.split('\n').find((l) => l.startsWith(`| \`${shape}\` |`))?.split(' | ')[1];
    // The example's developers and maintainers are permission sets: their roles' ARN patterns, at either path form.
    expect(writtenOf('arn:${AWS::Partition}:iam::<account>:role/<developer role>')).toBe(
      '`arn:${AWS::Partition}:iam::<account>:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Developer_*`; `arn:${AWS::Partition}:iam::<account>:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_*`',
    );
    expect(writtenOf('arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:acme-<name>/*')).toBe(
      '`arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:acme-payments-api/*`; `arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:acme-web-app/*`',
    );
    expect(writtenOf('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/acme-*-trigger')).toBe('the shape');
    expect(table).not.toMatch(/\d{12}/);

    // Six pipelines' deployment groups: four shown, two counted; one text for every account's.
    const entry = BOUNDED_WILDCARDS.find((w) => w.shape.includes('deploymentgroup:'))!;
    const texts = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((n) => ['111111111111', '222222222222'].map((a) => `arn:${PARTITION}:codedeploy:${REGION}:${a}:deploymentgroup:acme-${n}/*`));
    const [row] = wildcardRows(new Map([[entry, { sids: new Set(['TrustService']), texts: new Set(texts) }]]), 'acme', new Set(['111111111111', '222222222222']));
    expect(row[1]).toBe(['a', 'b', 'c', 'd'].map((n) => `\`arn:${PARTITION}:codedeploy:${REGION}:<account>:deploymentgroup:acme-${n}/*\``).join('; ') + '; and 2 more');
    // Twelve digits that are no account of the org's are a name's, and stay (review s61-second-read m6).
    const named = `arn:${PARTITION}:codedeploy:${REGION}:111111111111:deploymentgroup:acme-app-202612081234/*`;
    const [own] = wildcardRows(new Map([[entry, { sids: new Set(['TrustService']), texts: new Set([named]) }]]), 'acme', new Set(['111111111111']));
    expect(own[1]).toBe(`\`arn:${PARTITION}:codedeploy:${REGION}:<account>:deploymentgroup:acme-app-202612081234/*\``);
  });

  it('the audit report lists each wildcard the example uses, once, with its statements and reason', () => {
    const report = readFileSync('dist/example/audit/report.md', 'utf8');
    const table = report.slice(report.indexOf('Wildcards inside names'), report.indexOf('<a id="accounts">'));
    const row = table.split('\n').find((l) => l.startsWith('| `arn:${AWS::Partition}:kms:${AWS::Region}:<account>:key/*`'));
    // The org's prefix written in: the shape as this org's templates may write it.
    expect(table).toContain('| `arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/acme-*-trigger` |');
    expect(row).toBeDefined();
    expect(row).toContain('| UseArtifactKey |');
    expect(row).toContain('kms:ResourceAliases');
    expect(table.split('\n').filter((l) => l.includes('instance/*`')).length).toBe(1);
  });
});
