/**
 * Resources alike up to their team (src/checks/alike.ts TeamClasses: a team's unit repeated for each team, the same
 * but for the team's key, its logical-id form and its account ids) are checked once per class: the checks' findings
 * and IAM's quota problems read exactly as when every resource is checked on its own, whatever differs between teams.
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { alikeResources, importsReadingOnlyTheId, NO_CLASSES, type AlikeResources } from '../src/checks/alike';
import { checkPolicies } from '../src/checks/policy-checks';
import { formatFinding } from '../src/checks/rules';
import { literalValues, stageValues } from '../src/checks/service-authorization';
import { iamQuotaProblems } from '../src/checks/iam-quotas';
import { Resolver } from '../src/audit/resolve';
import { findTeams, type Teams } from '../src/audit/teams';
import { parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { toYamlWithResources } from '../src/yaml';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';

interface Compiled {
  org: Org;
  stages: Stage[];
  templates: Map<string, CfnTemplate>;
  teams: Teams;
}

function compiled(orgYaml: string, change: (templates: Map<string, CfnTemplate>) => void = () => {}): Compiled {
  const org = parseOrg(orgYaml, 'teams.yaml');
  const stages = planStages(org);
  // Copies, changed below: a rendering is known to yaml.ts as the text its family wrote while packing (rememberWritten),
  // and a rendering is never changed after; a copy is written from what it holds.
  const templates = new Map(stages.map((s) => [s.id, structuredClone(renderTemplate(s.definition))]));
  change(templates);
  return { org, stages, templates, teams: findTeams(org)! };
}

/**
 * Every stage's findings and the org's IAM quota problems with the classes alike up to the team, each checked to read
 * exactly as with every resource on its own and as with the classes by one id only; the classes returned.
 */
function checkedAlike({ org, stages, templates, teams }: Compiled): { classes: Map<string, AlikeResources>; findings: string[] } {
  const classes = new Map<string, AlikeResources>();
  const byId = new Map<string, AlikeResources>();
  const findings = (alike: ReadonlyMap<string, AlikeResources>) => {
    // A resolver a run: a check's values resolved alike whichever ran first.
    const resolver = new Resolver(org, stages, templates);
    return stages.flatMap((s) => {
      const template = templates.get(s.id)!;
      return checkPolicies(template, { valuesOf: stageValues(resolver, s, template), text: toYamlWithResources(template).text, alike: alike.get(s.id) ?? NO_CLASSES }).map((f) => `${s.id}: ${formatFinding(f)}`);
    });
  };
  const resolver = new Resolver(org, stages, templates);
  for (const s of stages) {
    const template = templates.get(s.id)!;
    const written = toYamlWithResources(template);
    // As the compile finds them: an import read where its value is one but for the account's id.
    classes.set(s.id, alikeResources(template, written, teams, importsReadingOnlyTheId(resolver, s.id, s.targets.map((a) => a.id))));
    byId.set(s.id, alikeResources(template, written));
    // The classes by one id (grants.ts reads them) are the same with the teams' or without.
    const withTeams = classes.get(s.id)!;
    const withoutTeams = byId.get(s.id)!;
    expect(withTeams.members).toBe(withoutTeams.members);
    for (const id of Object.keys(template.Resources)) expect(withTeams.first(id)).toBe(withoutTeams.first(id));
    // And the same read from the resources' JSON.
    expect(alikeResources(template, undefined, teams, importsReadingOnlyTheId(resolver, s.id, s.targets.map((a) => a.id))).teamMembers).toBe(withTeams.teamMembers);
  }
  const alone = findings(new Map());
  expect(findings(byId)).toEqual(alone);
  expect(findings(classes)).toEqual(alone);
  const quotas = (alike?: Map<string, AlikeResources>) => iamQuotaProblems(org, stages, templates, new Resolver(org, stages, templates), alike);
  expect(quotas(classes)).toEqual(quotas());
  return { classes, findings: alone };
}

/** The resources of `stage` that stand alone, by their class's first (`measuredAs`) and as no other's first. */
function standingAlone(template: CfnTemplate, alike: AlikeResources): Set<string> {
  const ids = Object.keys(template.Resources);
  const firsts = new Set(ids.filter((id) => alike.measuredAs(id) !== id).map((id) => alike.measuredAs(id)));
  return new Set(ids.filter((id) => alike.measuredAs(id) === id && !firsts.has(id)));
}

const teamResources = (template: CfnTemplate, keyId: string) => Object.keys(template.Resources).filter((id) => id.startsWith(keyId) && template.Resources[id].Type.startsWith('AWS::IAM::'));

describe('resources alike up to their team', () => {
  it("a team's units, repeated for each team, are classes whose members take their first's answer (and IAM's quotas its measures)", () => {
    const { classes } = checkedAlike(compiled(generateTeamsOrgYaml(4)));
    const members = [...classes.values()].reduce((n, a) => n + a.teamMembers, 0);
    expect(members).toBeGreaterThan(0);
    const pipelines = [...classes.entries()].find(([id]) => id.startsWith('pipelines'))!;
    expect(pipelines[1].measuredAs('T003Svc1TriggerRole')).toBe('T001Svc1TriggerRole');
    // A pipeline's policy imports the artifact key's ARN, which is one text in each pipeline account but for its id.
    expect(pipelines[1].measuredAs('T003Svc1PipelinePolicy')).toBe('T001Svc1PipelinePolicy');
  });

  it('an import whose value differs by account in more than its id keeps the policies that read it apart', () => {
    // The artifact key's export chosen by account: another text in t001's dev account.
    const byAccount = compiled(generateTeamsOrgYaml(4), (templates) => {
      const foundation = templates.get('pipeline-foundation')!;
      const exported = Object.values(foundation.Outputs ?? {}).find((o) => (o.Export as { Name?: unknown } | undefined)?.Name === 'big-artifact-key-arn')!;
      exported.Value = { 'Fn::If': ['AccountT001Dev', 'arn:aws:kms:us-east-1:200000000001:alias/other', exported.Value] };
      foundation.Conditions = { ...foundation.Conditions, AccountT001Dev: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '200000000001'] } };
    });
    const resolver = new Resolver(byAccount.org, byAccount.stages, byAccount.templates);
    const pipelines = byAccount.stages.find((s) => s.id === 'pipelines')!;
    expect(importsReadingOnlyTheId(resolver, pipelines.id, pipelines.targets.map((a) => a.id))('big-artifact-key-arn')).toBe(false);
    const classes = checkedAlike(byAccount).classes.get('pipelines')!;
    expect(classes.measuredAs('T003Svc1PipelinePolicy')).toBe('T003Svc1PipelinePolicy');
    expect(classes.measuredAs('T003Svc1TriggerRole')).toBe('T001Svc1TriggerRole');
  });

  it('teams that are not alike are checked team by team: another length of key, a repository or environment more, a key that starts another, a key inside another word', () => {
    const base = generateTeamsOrgYaml(4);
    // t0002: a key one longer than the others'.
    const longer = compiled(base.replaceAll('t002-', 't0002-'));
    const longerClasses = checkedAlike(longer).classes;
    for (const [stage, template] of longer.templates) {
      const alone = standingAlone(template, longerClasses.get(stage)!);
      for (const id of teamResources(template, 'T0002')) expect(alone.has(id), `${stage} ${id}`).toBe(true);
    }
    // A repository more (t003-svc3, with its pipeline), and an environment more for t004.
    const extraRepository = base.replace('repositories:\n', 'repositories:\n  t003-svc3:\n    account: t003-source\n').replace('pipelines:\n', 'pipelines:\n  t003-svc3:\n    repository: t003-svc3\n    branches:\n      t003-dev: develop\n    deploy:\n      type: codedeploy\n      applicationTagKey: Application\n');
    const extra = compiled(extraRepository);
    const extraClasses = checkedAlike(extra).classes;
    for (const [stage, template] of extra.templates) {
      const alike = extraClasses.get(stage)!;
      for (const id of teamResources(template, 'T003Svc3')) expect(Object.keys(template.Resources).filter((other) => alike.measuredAs(other) === alike.measuredAs(id))).toEqual([id]);
    }
    const extraEnvironment = base.replace('  t004-prod:\n', '  t004-qa:\n    id: "299999999999"\n    role: pipeline\n    environment: t004-qa\n  t004-prod:\n').replace(/(  t004-svc1:\n    repository: t004-svc1\n    branches:\n)/, '$1      t004-qa: qa\n');
    checkedAlike(compiled(extraEnvironment));
    // t01 and t01-x: one key starts the other; neither team's resources are compared.
    const prefixed = compiled(base.replaceAll('t001-', 't01-').replaceAll('t002-', 't01-x-'));
    const prefixedClasses = checkedAlike(prefixed).classes;
    for (const [stage, template] of prefixed.templates) {
      const alone = standingAlone(template, prefixedClasses.get(stage)!);
      for (const id of [...teamResources(template, 'T01Svc'), ...teamResources(template, 'T01X')]) expect(alone.has(id), `${stage} ${id}`).toBe(true);
    }
  });

  it("a team's key inside another word, or another team's key or account named, keeps its resource apart", () => {
    const base = generateTeamsOrgYaml(4);
    // Each team's trigger policy names a bucket holding its key inside a word (xt003y), or team t001's source account.
    const named = (name: (key: string) => string) => (templates: Map<string, CfnTemplate>) => {
      for (const template of templates.values()) {
        for (const key of ['t001', 't002', 't003', 't004']) {
          const policy = template.Resources[`${key.toUpperCase()}Svc1TriggerRoleStartPipeline`] as unknown as { Properties: { PolicyDocument: { Statement: unknown[] } } } | undefined;
          policy?.Properties.PolicyDocument.Statement.push({ Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:\${AWS::Partition}:s3:::${name(key)}/*`, Condition: { StringEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } } });
        }
      }
    };
    // Each name, with the teams whose policies it keeps apart: its own key inside a word (in each, or the same text in
    // each, where only t003 holds its own key so); another team's key or source account (its text then is not its
    // class's); the same other team's key in each (the first's text names another team: no class at all); its own id
    // inside a longer number.
    const cases: Array<[(key: string) => string, string[]]> = [
      [(key) => `x${key}y`, ['t001', 't002', 't003', 't004']],
      [() => 'xt003y', ['t003']],
      [(key) => (key === 't003' ? 't001-data' : `${key}-data`), ['t003']],
      [(key) => (key === 't004' ? 'data-200000000000' : `${key}-data`), ['t004']],
      [() => 't003-data', ['t001', 't002', 't003', 't004']],
      // t003's source account's id beside a digit (a longer number, the same in each): not where its id stands.
      [() => 'data-2000000000080', ['t003']],
      // t003's key's logical-id form before a lowercase letter (where teams.ts does not read it), the same in each: in
      // t003's text, its value outside its marks (review s52-mutations-10).
      [() => 'data-T003y', ['t003']],
    ];
    for (const [name, apart] of cases) {
      const org = compiled(base, named(name));
      const classes = checkedAlike(org).classes;
      for (const [stage, template] of org.templates) {
        if (!Object.keys(template.Resources).some((id) => id.endsWith('Svc1TriggerRoleStartPipeline'))) continue;
        const alike = classes.get(stage)!;
        // The others are members of a class (some stage holds two or more of them).
        const together = ['t001', 't002', 't003', 't004'].filter((key) => !apart.includes(key)).map((key) => `${key.toUpperCase()}Svc1TriggerRoleStartPipeline`).filter((id) => template.Resources[id]);
        if (together.length > 1) expect(new Set(together.map((id) => alike.measuredAs(id))).size, `${stage} ${name('t001')}`).toBe(1);
        for (const key of apart) {
          const id = `${key.toUpperCase()}Svc1TriggerRoleStartPipeline`;
          if (template.Resources[id]) expect(Object.keys(template.Resources).filter((other) => alike.measuredAs(other) === alike.measuredAs(id)), `${stage} ${id}`).toEqual([id]);
        }
      }
    }
  });

  it("a finding in one team's resource is reported for it; where a class's first has one, every member is checked and reported for its own resource, in order", () => {
    const base = generateTeamsOrgYaml(4);
    const wildcard = (keys: string[]) => (templates: Map<string, CfnTemplate>) => {
      for (const template of templates.values()) {
        for (const key of keys) {
          const policy = template.Resources[`${key.toUpperCase()}Svc1TriggerRoleStartPipeline`] as unknown as { Properties: { PolicyDocument: { Statement: Array<{ Action: unknown }> } } } | undefined;
          if (policy) policy.Properties.PolicyDocument.Statement[0].Action = 'codepipeline:Start*';
        }
      }
    };
    const one = checkedAlike(compiled(base, wildcard(['t003'])));
    expect(one.findings.filter((f) => f.includes('XS001'))).toEqual([expect.stringMatching(/^pipelines(-\d+)?: XS001 T003Svc1TriggerRoleStartPipeline StartPipeline: Action::codepipeline:Start\*: wildcard action in an Allow$/)]);
    const every = checkedAlike(compiled(base, wildcard(['t001', 't002', 't003', 't004'])));
    expect(every.findings.filter((f) => f.includes('XS001')).map((f) => f.replace(/^[^:]*: /, ''))).toEqual(['T001', 'T002', 'T003', 'T004'].map((k) => `XS001 ${k}Svc1TriggerRoleStartPipeline StartPipeline: Action::codepipeline:Start*: wildcard action in an Allow`));
  });

  it("IAM's quotas: a class whose every member is over a quota names each member in each of its accounts, as alone", () => {
    // Each team's trigger policy names a pipeline of 6,200 characters: past a managed policy's 6,144 in every account.
    const padded = compiled(generateTeamsOrgYaml(4), (templates) => {
      for (const template of templates.values()) {
        for (const key of ['t001', 't002', 't003', 't004']) {
          const policy = template.Resources[`${key.toUpperCase()}Svc1TriggerRoleStartPipeline`] as unknown as { Properties: { PolicyDocument: { Statement: Array<{ Resource: unknown }> } } } | undefined;
          if (policy) policy.Properties.PolicyDocument.Statement[0].Resource = { 'Fn::Sub': `arn:\${AWS::Partition}:codepipeline:\${AWS::Region}:\${AWS::AccountId}:big-${key}-${'x'.repeat(6_200)}` };
        }
      }
    });
    const { classes } = checkedAlike(padded);
    const pipelines = [...classes.entries()].find(([id]) => id.startsWith('pipelines'))![1];
    expect(pipelines.measuredAs('T004Svc1TriggerRoleStartPipeline')).toBe('T001Svc1TriggerRoleStartPipeline');
    const problems = iamQuotaProblems(padded.org, padded.stages, padded.templates, new Resolver(padded.org, padded.stages, padded.templates), classes);
    // Each team's three pipeline accounts.
    expect(problems.filter((p) => p.includes('Svc1TriggerRoleStartPipeline: ') && p.includes("characters of a managed policy"))).toHaveLength(12);
  });
});

describe("a check that compares a team's text with its own constants passes a class only where its neutral resource passes", () => {
  /** Two or more teams of one source account and one pipeline account each, named by their keys. */
  const teamsOf = (keys: string[]) => {
    const lines = ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:'];
    keys.forEach((key, i) => lines.push(`  ${key}-source: { id: "${100000000001 + 2 * i}", role: source }`, `  ${key}-dev: { id: "${100000000002 + 2 * i}", role: pipeline, environment: ${key}-dev }`));
    lines.push('repositories:', ...keys.map((key) => `  ${key}-app: { account: ${key}-source }`));
    lines.push('pipelines:', ...keys.map((key) => `  ${key}-app: { repository: ${key}-app, branches: { ${key}-dev: main }, deploy: { type: codedeploy } }`), '');
    return findTeams(parseOrg(lines.join('\n'), 'teams.yaml'))!;
  };
  /** A policy per team, in the teams' order, whose statements `statements` writes with the team's key. */
  const policies = (keys: string[], statements: (key: string) => object[], metadata?: object) =>
    ({
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: Object.fromEntries(
        keys.map((key) => [`${key[0].toUpperCase()}${key.slice(1)}Reader`, { Type: 'AWS::IAM::ManagedPolicy', ...(metadata ? { Metadata: metadata } : {}), Properties: { ManagedPolicyName: `acme-${key}-reader`, PolicyDocument: { Version: '2012-10-17', Statement: statements(key) } } }]),
      ),
    }) as unknown as CfnTemplate;
  const same = (template: CfnTemplate, teams: Teams) => {
    const alone = checkPolicies(template, { valuesOf: literalValues }).map(formatFinding);
    expect(checkPolicies(template, { valuesOf: literalValues, alike: alikeResources(template, undefined, teams) }).map(formatFinding)).toEqual(alone);
    const written = toYamlWithResources(template);
    expect(checkPolicies(template, { valuesOf: literalValues, text: written.text, alike: alikeResources(template, written, teams) }).map(formatFinding)).toEqual(alone);
    return alone;
  };

  it("an AWS-owned bucket's ARN that the first team's key makes (aws-codedeploy-…): the others' are not, and are reported", () => {
    const teams = teamsOf(['aws', 'xyz', 'abc']);
    const reason = { xstack: { exceptions: [{ rule: 'XS014', statement: 'ReadKit', reason: "AWS's CodeDeploy resource kit" }] } };
    const template = policies(['aws', 'xyz', 'abc'], (key) => [{ Sid: 'ReadKit', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${key}-codedeploy-\${AWS::Region}/*` } }], reason);
    expect(alikeResources(template, undefined, teams).teamMembers).toBe(2);
    // XS014's findings (these ARNs' wildcards are XS017's too: listed for InstallCodeDeployAgent alone).
    expect(same(template, teams).filter((f) => f.startsWith('XS014 '))).toEqual(['XyzReader', 'AbcReader'].map((id) => `XS014 ${id} ReadKit: Condition::aws:ResourceAccount: S3 access without aws:ResourceAccount: a bucket name may be another account's`));
  });

  it("each class's own neutral resource decides its members: a class whose neutral passes beside one whose neutral does not", () => {
    const teams = teamsOf(['aws', 'xyz', 'abc']);
    const keys = ['aws', 'xyz', 'abc'];
    const reason = { xstack: { exceptions: [{ rule: 'XS014', statement: 'ReadKit', reason: "AWS's CodeDeploy resource kit" }] } };
    const readers = policies(keys, (key) => [{ Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${key}-data/*` }, Condition: { StringEquals: { 'aws:ResourceAccount': '123456789012' } } }]);
    const kits = policies(keys, (key) => [{ Sid: 'ReadKit', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${key}-codedeploy-\${AWS::Region}/*` } }], reason);
    // The kits renamed (`AwsKit`, …) and after the readers, so that the readers' class is asked of first.
    const template = { ...readers, Resources: { ...readers.Resources, ...Object.fromEntries(Object.entries(kits.Resources).map(([id, r]) => [id.replace('Reader', 'Kit'), r])) } } as CfnTemplate;
    // AwsReader stands alone (its key, aws, stands in its text outside its own places): the readers' class is XyzReader's, asked of before AwsKit's.
    expect(alikeResources(template, undefined, teams).teamMembers).toBe(3);
    expect(same(template, teams).filter((f) => f.startsWith('XS014 '))).toEqual(['XyzKit', 'AbcKit'].map((id) => `XS014 ${id} ReadKit: Condition::aws:ResourceAccount: S3 access without aws:ResourceAccount: a bucket name may be another account's`));
  });

  it("an ARN format's literal that the first team's key makes (security-group): the others' ARNs match no format, and are reported", () => {
    const teams = teamsOf(['security', 'qqqqqqqq', 'jjjjjjjj']);
    const template = policies(['security', 'qqqqqqqq', 'jjjjjjjj'], (key) => [{ Sid: 'Tag', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: `arn:aws:ec2:eu-west-1:123456789012:${key}-group/sg-1` }]);
    expect(alikeResources(template, undefined, teams).teamMembers).toBe(2);
    const found = same(template, teams);
    expect(found.filter((f) => f.startsWith('XS012') && f.includes(' Resource::')).map((f) => f.split(' ')[1])).toEqual(['QqqqqqqqReader', 'JjjjjjjjReader']);
  });

  it('a key in an action, an effect or a condition key is no class; in a Sid, a resource or a condition value it is', () => {
    const teams = teamsOf(['t01', 't02', 't03']);
    const statement = (key: string, where: string) => ({
      Sid: where === 'Sid' ? `Read${key.toUpperCase()}` : 'Read',
      Effect: 'Allow',
      Action: where === 'Action' ? `s3:GetObject${key}` : 's3:GetObject',
      Resource: `arn:aws:s3:::${key}-data/*`,
      Condition: { StringEquals: { [where === 'ConditionKey' ? `aws:PrincipalTag/${key}-team` : 'aws:ResourceAccount']: where === 'ConditionValue' ? `${key}-x` : '123456789012' } },
    });
    for (const where of ['Action', 'ConditionKey']) {
      const template = policies(['t01', 't02', 't03'], (key) => [statement(key, where)]);
      expect(alikeResources(template, undefined, teams).teamMembers, where).toBe(0);
      same(template, teams);
    }
    for (const where of ['Sid', 'ConditionValue', 'Resource']) {
      const template = policies(['t01', 't02', 't03'], (key) => [statement(key, where)]);
      expect(alikeResources(template, undefined, teams).teamMembers, where).toBe(2);
      same(template, teams);
    }
  });

  it('a policy that reads more of an account than its id, partition and Region (a parameter, another resource, an import) is no class', () => {
    const teams = teamsOf(['t01', 't02', 't03']);
    // The key in each Sid where teams.ts reads it (`ReadT01`; in `Readt01` it is inside a word, and no resource is
    // in a class whatever it reads: review s52-mutations-10 A12), so that the resource alone decides.
    const template = (resource: unknown) => policies(['t01', 't02', 't03'], (key) => [{ Sid: `Read${key.toUpperCase()}`, Effect: 'Allow', Action: 's3:GetObject', Resource: resource, Condition: { StringEquals: { 'aws:ResourceAccount': '123456789012' } } }]);
    expect(alikeResources(template({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::data-${AWS::AccountId}/*' }), undefined, teams).teamMembers).toBe(2);
    for (const resource of [{ Ref: 'Bucket' }, { 'Fn::GetAtt': ['Bucket', 'Arn'] }, { 'Fn::ImportValue': 'acme-bucket' }, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/*' }]) {
      expect(alikeResources(template(resource), undefined, teams).teamMembers, JSON.stringify(resource)).toBe(0);
    }
  });
});
