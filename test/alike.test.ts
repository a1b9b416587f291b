/**
 * Resources alike but for their member account's id are checked once per class (src/checks/alike.ts): a class is
 * only what provably answers alike, and whatever differs in more than the id is checked, and reported, on its own.
 */
import { describe, expect, it } from 'vitest';
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import type { CfnTemplate } from '../src/cfn/template';
import { renderTemplate } from '../src/cfn/template';
import { alikeResources } from '../src/checks/alike';
import { toYamlWithResources } from '../src/yaml';
import { checkPolicies } from '../src/checks/policy-checks';
import { formatFinding } from '../src/checks/rules';
import { literalValues } from '../src/checks/service-authorization';
import { iamQuotaProblems } from '../src/checks/iam-quotas';
import { Resolver } from '../src/audit/resolve';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';

const IDS = ['100000000001', '100000000002', '100000000003', '100000000004'];

/** A source role's managed policy for pipeline account `id`, as a family writes one per account; `statements` added to its own. */
const policyFor = (id: string, extra: object[] = [], actions = ['codecommit:GetBranch', 'codecommit:GetCommit']) => ({
  Type: 'AWS::IAM::ManagedPolicy',
  Properties: {
    ManagedPolicyName: `acme-source-${id}-source-action`,
    Roles: [{ Ref: `SourceRole${id}In900000000000` }],
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'CodeCommitSourceAction', Effect: 'Allow', Action: actions, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:app' } },
        { Sid: 'UseArtifactKey', Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:${id}:key/*` } },
        ...extra,
      ],
    },
  },
});

const templateOf = (resources: Record<string, unknown>) => ({ AWSTemplateFormatVersion: '2010-09-09', Description: 't', Resources: resources }) as unknown as CfnTemplate;
const policies = (make: (id: string, i: number) => unknown) => templateOf(Object.fromEntries(IDS.map((id, i) => [`SourceRole${id}SourceActionIn900000000000`, make(id, i)])));
/** The findings with the template's classes, each checked to read exactly as without them. */
const findings = (template: CfnTemplate) => {
  const alone = checkPolicies(template, literalValues).map(formatFinding);
  const byClass = checkPolicies(template, literalValues, undefined, alikeResources(template)).map(formatFinding);
  expect(byClass).toEqual(alone);
  return byClass;
};

describe('alike resources', () => {
  it("a \\u escape's digits joined to the digits after it make no member id: such a resource stands alone (U+0010 before eight digits reads 0010 and them as one 12-digit run)", () => {
    const ids = ['001012345678', '001098765432'];
    const withControl = (id: string) => ({ ...policyFor(id), Metadata: { note: `\u0010${id.slice(4)}` } });
    const template = templateOf(Object.fromEntries(ids.map((id) => [`SourceRole${id}SourceActionIn900000000000`, withControl(id)])));
    expect(JSON.stringify(template)).toContain(`\\u0010${ids[0].slice(4)}`);
    // Read as JSON (the written text holds the same escape, so it is read as JSON too): each resource its own.
    expect(alikeResources(template).members).toBe(0);
    expect(alikeResources(template, toYamlWithResources(template)).members).toBe(0);
  });

  it('resources the same but for their member id are one class, whose members take the first one\'s answer', () => {
    const template = policies((id) => policyFor(id));
    const alike = alikeResources(template);
    expect(alike.members).toBe(3);
    for (const id of IDS) expect(alike.first(`SourceRole${id}SourceActionIn900000000000`)).toBe('SourceRole100000000001SourceActionIn900000000000');
    expect(findings(template)).toEqual([]);
  });

  it('a member with an extra action is no member: its finding is reported for it (and a statement more, or a changed one, likewise)', () => {
    const misspelt = policies((id, i) => policyFor(id, [], i === 2 ? ['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetBrnach'] : undefined));
    expect(alikeResources(misspelt).members).toBe(2);
    expect(findings(misspelt)).toEqual(['XS010 SourceRole100000000003SourceActionIn900000000000 CodeCommitSourceAction: Action::codecommit:GetBrnach: codecommit has no action GetBrnach']);
    const wildcard = policies((id, i) => policyFor(id, i === 3 ? [{ Sid: 'More', Effect: 'Allow', Action: 's3:*', Resource: 'arn:${AWS::Partition}:s3:::b/*', Condition: { StringEquals: { 'aws:ResourceAccount': id } } }] : []));
    expect(findings(wildcard)).toEqual(['XS001 SourceRole100000000004SourceActionIn900000000000 More: Action::s3:*: wildcard action in an Allow']);
    // The same text but another account's id where a member names its own: told apart.
    const otherId = policies((id, i) => policyFor(i === 1 ? IDS[0] : id));
    expect(alikeResources(otherId).first('SourceRole100000000002SourceActionIn900000000000')).toBe('SourceRole100000000002SourceActionIn900000000000');
  });

  it('a class whose first resource has a finding is checked member by member: every finding for its own resource, in order', () => {
    const template = policies((id) => policyFor(id, [], ['codecommit:Get*']));
    expect(alikeResources(template).members).toBe(3);
    expect(findings(template)).toEqual(IDS.map((id) => `XS001 SourceRole${id}SourceActionIn900000000000 CodeCommitSourceAction: Action::codecommit:Get*: wildcard action in an Allow`));
  });

  it('no class where a policy names something by the id, uses an intrinsic that could read its digits, or the id is the sample one', () => {
    const statement = (resource: unknown) => [{ Sid: 'S', Effect: 'Allow', Action: 'kms:Decrypt', Resource: resource }];
    const byRef = policies((id) => policyFor(id, statement({ Ref: `Key${id}` })));
    expect(alikeResources(byRef).members).toBe(0);
    const bySub = policies((id) => policyFor(id, statement({ 'Fn::Sub': `\${Key${id}.Arn}` })));
    expect(alikeResources(bySub).members).toBe(0);
    const joined = policies((id) => policyFor(id, statement({ 'Fn::Join': ['', ['arn:aws:kms:eu-west-1:', id, ':key/*']] })));
    expect(alikeResources(joined).members).toBe(0);
    // An intrinsic beside another key is still read as that intrinsic (src/audit/resolve.ts).
    const beside = policies((id) => policyFor(id, statement({ 'Fn::Sub': `\${Key${id}.Arn}`, Note: 'x' })));
    expect(alikeResources(beside).members).toBe(0);
    const sample = templateOf({ P123456789012: policyFor('123456789012'), P100000000001: policyFor('100000000001') });
    expect(alikeResources(sample).members).toBe(0);
    // What no check reads (the roles a policy is attached to, by the id) does not keep a class apart.
    expect(alikeResources(policies((id) => policyFor(id))).members).toBe(3);
  });

  it("read from the compile's text (yaml.ts toYamlWithResources), the same classes as from the resources' JSON; a text holding a \\u escape is read as JSON", () => {
    const classes = (template: CfnTemplate, written?: ReturnType<typeof toYamlWithResources>) => {
      const alike = alikeResources(template, written);
      return { members: alike.members, firsts: Object.keys(template.Resources).map((id) => alike.first(id)) };
    };
    const statement = (resource: unknown) => [{ Sid: 'S', Effect: 'Allow', Action: 'kms:Decrypt', Resource: resource }];
    const templates = [
      policies((id) => policyFor(id)),
      policies((id, i) => policyFor(id, [], i === 2 ? ['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetBrnach'] : undefined)),
      policies((id, i) => policyFor(i === 1 ? IDS[0] : id)),
      policies((id) => policyFor(id, statement({ Ref: `Key${id}` }))),
      // Beyond ASCII (written as a \u escape): read as JSON.
      policies((id) => policyFor(id, statement(`arn:aws:s3:::zürich-${id}/*`))),
    ];
    for (const template of templates) expect(classes(template, toYamlWithResources(template))).toEqual(classes(template));
    expect(classes(templates[0], toYamlWithResources(templates[0])).members).toBe(3);
    expect(classes(templates[4], toYamlWithResources(templates[4])).members).toBe(3);
    // What the text holds beyond what the checks read (a name holding more than the id) keeps a resource apart.
    const renamed = policies((id, i) => ({ ...policyFor(id), Properties: { ...policyFor(id).Properties, ManagedPolicyName: i === 3 ? 'other' : `acme-${id}` } }));
    expect(alikeResources(renamed).members).toBe(3);
    expect(alikeResources(renamed, toYamlWithResources(renamed)).members).toBe(2);
  });

  it('IAM quotas: a member whose policy is larger is measured on its own, and reported', () => {
    const org = parseOrg(
      ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:', '  src: { id: "111111111111", role: source }', '  dev: { id: "222222222222", role: pipeline, environment: dev }', 'repositories:', '  app: { account: src }', 'pipelines:', '  app: { repository: app, branches: { dev: main }, deploy: { type: codedeploy } }', ''].join('\n'),
      'alike.yaml',
    );
    const stages = planStages(org);
    const identity = stages.find((s) => s.id === 'pipeline-identity')!;
    const document = (id: string, pad: number) => ({ Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bucket-${id}/${'x'.repeat(pad)}` }] });
    const extra = Object.fromEntries(IDS.map((id, i) => [`Extra${id}Policy`, new ManagedPolicy({ ManagedPolicyName: `acme-extra-${id}`, PolicyDocument: document(id, i === 2 ? 6_200 : 100) })]));
    const changed = stages.map((s) => (s === identity ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, ...extra } } } : s));
    const templates = new Map(changed.map((s) => [s.id, renderTemplate(s.definition)]));
    const alike = new Map(changed.map((s) => [s.id, alikeResources(templates.get(s.id)!)]));
    expect(alike.get('pipeline-identity')!.members).toBe(2);
    const problems = iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates), alike);
    expect(problems).toEqual(iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates)));
    expect(problems).toEqual([expect.stringMatching(/^pipeline-identity @ 222222222222: Extra100000000003Policy: \d{4} characters of a managed policy, over IAM's quota of 6144/)]);
  });
});
