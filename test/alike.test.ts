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
import { literalValues, type ValuesOf } from '../src/checks/service-authorization';
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
        // Held to the artifact key by its alias, as templates/source-identity.ts writes it (rule XS017 asks it of key/*).
        { Sid: 'UseArtifactKey', Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:${id}:key/*` }, Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/acme-artifacts' } } },
        ...extra,
      ],
    },
  },
});

const templateOf = (resources: Record<string, unknown>) => ({ AWSTemplateFormatVersion: '2010-09-09', Description: 't', Resources: resources }) as unknown as CfnTemplate;
const policies = (make: (id: string, i: number) => unknown) => templateOf(Object.fromEntries(IDS.map((id, i) => [`SourceRole${id}SourceActionIn900000000000`, make(id, i)])));
/**
 * The findings with the template's classes, each checked to read exactly as without them: the classes read from the
 * JSON, and from the written text, as the compile reads them.
 */
const findings = (template: CfnTemplate, valuesOf: ValuesOf = literalValues) => {
  const alone = checkPolicies(template, { valuesOf }).map(formatFinding);
  const byClass = checkPolicies(template, { valuesOf, alike: alikeResources(template) }).map(formatFinding);
  expect(byClass).toEqual(alone);
  const written = toYamlWithResources(template);
  expect(checkPolicies(template, { valuesOf, text: written.text, alike: alikeResources(template, written) }).map(formatFinding)).toEqual(alone);
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

  it("a character past U+FFFF, which the writer writes as \\U and eight hex digits, joined to the digits after it: the written text is not read, each resource its own (review s48-diff M1)", () => {
    const ids = ['600123456789', '600987654321'];
    // U+1F600 is written \U0001f600: its last digits and nine more make a 12-digit run, 600 and the id's last nine.
    const withEmoji = (id: string) => ({ ...policyFor(id), Metadata: { note: `\u{1F600}${id.slice(3)}` } });
    const template = templateOf(Object.fromEntries(ids.map((id) => [`SourceRole${id}SourceActionIn900000000000`, withEmoji(id)])));
    const written = toYamlWithResources(template);
    expect(written.text).toContain(`\\U0001f600${ids[0].slice(3)}`);
    expect(alikeResources(template, written).members).toBe(0);
    expect(alikeResources(template).members).toBe(0);
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
    const wildcard = policies((id, i) => policyFor(id, i === 3 ? [{ Sid: 'More', Effect: 'Allow', Action: 's3:*', Resource: 'arn:${AWS::Partition}:s3:::b/k', Condition: { StringEquals: { 'aws:ResourceAccount': id } } }] : []));
    expect(findings(wildcard)).toEqual(['XS001 SourceRole100000000004SourceActionIn900000000000 More: Action::s3:*: wildcard action in an Allow']);
    // The same text but another account's id where a member names its own: told apart.
    const otherId = policies((id, i) => policyFor(i === 1 ? IDS[0] : id));
    expect(alikeResources(otherId).first('SourceRole100000000002SourceActionIn900000000000')).toBe('SourceRole100000000002SourceActionIn900000000000');
    // A change of the same length past the id's last place (a text as long as the first's, alike up to there).
    const read = (action: string) => [{ Sid: 'Read', Effect: 'Allow', Action: action, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:app' } }];
    const sameLength = policies((id, i) => policyFor(id, read(i === 2 ? 'codecommit:GetRepositor*' : 'codecommit:GetRepository')));
    expect(findings(sameLength)).toEqual(['XS001 SourceRole100000000003SourceActionIn900000000000 Read: Action::codecommit:GetRepositor*: wildcard action in an Allow']);
  });

  it("a member's id stands only where the first's stands alone: beside a digit (a longer number), or named by the first elsewhere, it is text that keeps them apart", () => {
    const bucket = (name: string) => [{ Sid: 'Read', Effect: 'Allow', Action: 'codecommit:GetRepository', Resource: `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${name}` }];
    // Each resource's id with a digit after it, or before it, in a name: not where the id stands, so their texts differ there.
    expect(alikeResources(policies((id) => policyFor(id, bucket(`app-${id}0`)))).members).toBe(0);
    expect(alikeResources(policies((id) => policyFor(id, bucket(`app-0${id}`)))).members).toBe(0);
    // Every resource names the second's id: the second's text then holds its id where the first's does not hold the
    // first's, and is no member (the others are: what they name of the second's is the same text in each).
    const second = policies((id) => policyFor(id, bucket(`app-${IDS[1]}`)));
    const alike = alikeResources(second);
    expect(alike.first('SourceRole100000000002SourceActionIn900000000000')).toBe('SourceRole100000000002SourceActionIn900000000000');
    expect(alike.first('SourceRole100000000003SourceActionIn900000000000')).toBe('SourceRole100000000001SourceActionIn900000000000');
  });

  it('what the checks read besides the policies keeps resources apart: a member without the recorded exception the first has, of another type, or under another Condition is checked, and reported, on its own', () => {
    const describe = [{ Sid: 'Describe', Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }];
    const reason = { xstack: { exceptions: [{ rule: 'XS002', statement: 'Describe', reason: 'DescribeInstances takes no resource' }] } };
    const unrecorded = policies((id, i) => ({ ...policyFor(id, describe), ...(i === 2 ? {} : { Metadata: reason }) }));
    expect(findings(unrecorded)).toEqual(['XS002 SourceRole100000000003SourceActionIn900000000000 Describe: Resource::*: resource "*" without a recorded reason in the resource metadata']);
    // The same document as a queue's policy: a resource policy, whose statements must name a principal.
    const queue = policies((id, i) => (i === 3 ? { ...policyFor(id), Type: 'AWS::SQS::QueuePolicy' } : policyFor(id)));
    const queueFindings = findings(queue);
    expect(queueFindings.length).toBeGreaterThan(0);
    for (const f of queueFindings) expect(f).toMatch(/^XS\d{3} SourceRole100000000004SourceActionIn900000000000 /);
    // Values resolved where each resource exists, as stageValues reads them (its Condition): a key's ARN where the
    // resource has no Condition, a bucket's where its Condition holds (a parameter the org sets per account, say).
    const key = [{ Sid: 'Key', Effect: 'Allow', Action: 'kms:Decrypt', Resource: { Ref: 'ArtifactKey' } }];
    const where =
      (template: CfnTemplate, differs: (condition: unknown) => boolean): ValuesOf =>
      (expression, resource) =>
        (expression as { Ref?: string } | null)?.Ref === 'ArtifactKey' ? [differs(template.Resources[resource!].Condition) ? 'arn:aws:s3:::artifacts' : 'arn:aws:kms:eu-west-1:123456789012:key/k'] : literalValues(expression, resource);
    const expected = [
      'XS012 SourceRole100000000002SourceActionIn900000000000 Key: Resource::arn:aws:s3:::artifacts: matches no resource type of kms:Decrypt; expected arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}',
      'XS012 SourceRole100000000002SourceActionIn900000000000 Key: Action::kms:Decrypt: no resource of the statement is a key of kms:Decrypt: it grants nothing',
    ];
    // Another Condition than the first's.
    const other = policies((id, i) => ({ ...policyFor(id, key), ...(i === 1 ? { Condition: 'InProduction' } : {}) }));
    expect(findings(other, where(other, (c) => c === 'InProduction'))).toEqual(expected);
    // A Condition each names by its id (the accounts each exists in): no class.
    const own = policies((id) => ({ ...policyFor(id, key), Condition: `In${id}` }));
    expect(alikeResources(own).members).toBe(0);
    expect(findings(own, where(own, (c) => c === `In${IDS[1]}`))).toEqual(expected);
  });

  it("a role's name and the roles a policy is attached to (grants.ts reads them) keep resources apart where they differ in more than the id, read as JSON or as written", () => {
    const alike = policies((id) => policyFor(id));
    const roles = policies((id, i) => ({ ...policyFor(id), Properties: { ...policyFor(id).Properties, Roles: [{ Ref: i === 2 ? 'SomeoneElse' : `SourceRole${id}In900000000000` }] } }));
    const role = (id: string, i: number) => ({ Type: 'AWS::IAM::Role', Properties: { RoleName: i === 3 ? 'acme-renamed' : `acme-source-${id}`, AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [] } } });
    const roleNames = templateOf(Object.fromEntries(IDS.map((id, i) => [`SourceRole${id}In900000000000`, role(id, i)])));
    for (const template of [alike, roles, roleNames]) {
      const written = toYamlWithResources(template);
      const members = alikeResources(template).members;
      expect(alikeResources(template, written).members).toBe(members);
      expect(members).toBe(template === alike ? 3 : 2);
    }
    expect(alikeResources(roles).first('SourceRole100000000003SourceActionIn900000000000')).toBe('SourceRole100000000003SourceActionIn900000000000');
    expect(alikeResources(roleNames).first('SourceRole100000000004In900000000000')).toBe('SourceRole100000000004In900000000000');
  });

  it('a class whose first resource has a finding is checked member by member: every finding for its own resource, in order', () => {
    const template = policies((id) => policyFor(id, [], ['codecommit:Get*']));
    expect(alikeResources(template).members).toBe(3);
    expect(findings(template)).toEqual(IDS.map((id) => `XS001 SourceRole${id}SourceActionIn900000000000 CodeCommitSourceAction: Action::codecommit:Get*: wildcard action in an Allow`));
    // A finding of the Service Authorization Reference's checks likewise.
    const misspelt = policies((id) => policyFor(id, [], ['codecommit:GetBrnach']));
    expect(alikeResources(misspelt).members).toBe(3);
    expect(findings(misspelt)).toEqual(IDS.map((id) => `XS010 SourceRole${id}SourceActionIn900000000000 CodeCommitSourceAction: Action::codecommit:GetBrnach: codecommit has no action GetBrnach`));
    // A role whose trust has a finding and whose inline policy, read after it, has none: its class is still checked member by member.
    const roles = templateOf(
      Object.fromEntries(
        IDS.map((id) => [
          `SourceRole${id}In900000000000`,
          {
            Type: 'AWS::IAM::Role',
            Properties: {
              RoleName: `acme-source-${id}`,
              AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'Trust', Effect: 'Allow', Principal: { Service: 'codepipeline.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
              Policies: [{ PolicyName: 'source-action', PolicyDocument: policyFor(id).Properties.PolicyDocument }],
            },
          },
        ]),
      ),
    );
    expect(alikeResources(roles).members).toBe(3);
    const trustFindings = findings(roles);
    expect(trustFindings.length).toBeGreaterThan(0);
    for (const id of IDS) expect(trustFindings.filter((f) => f.includes(` SourceRole${id}In900000000000 Trust: `))).toEqual(trustFindings.filter((f) => f.includes(' SourceRole100000000001In900000000000 Trust: ')).map((f) => f.replace('100000000001', id)));
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
    // A Ref beside a Sub that names nothing by the id: the resolver reads the Ref.
    const refBeside = policies((id) => policyFor(id, statement({ 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*', Ref: `Key${id}` })));
    expect(alikeResources(refBeside).members).toBe(0);
    // Fn::If on a condition named by the id, or with a branch that names something by it; a Sub with its own variables.
    const ifNamed = policies((id) => policyFor(id, statement({ 'Fn::If': [`In${id}`, 'arn:aws:kms:eu-west-1:100000000000:key/a', 'arn:aws:kms:eu-west-1:100000000000:key/b'] })));
    expect(alikeResources(ifNamed).members).toBe(0);
    const ifBranch = policies((id) => policyFor(id, statement({ 'Fn::If': ['Always', { Ref: `Key${id}` }, { Ref: 'AWS::NoValue' }] })));
    expect(alikeResources(ifBranch).members).toBe(0);
    const subVariables = policies((id) => policyFor(id, statement({ 'Fn::Sub': ['${Key}', { Key: { Ref: `Key${id}` } }] })));
    expect(alikeResources(subVariables).members).toBe(0);
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
    // A second class in the stage, each of whose members is past the quota: measured by its own first resource.
    const large = Object.fromEntries(IDS.map((id) => [`Large${id}Policy`, new ManagedPolicy({ ManagedPolicyName: `acme-large-${id}`, PolicyDocument: document(id, 6_200) })]));
    const changed = stages.map((s) => (s === identity ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, ...extra, ...large } } } : s));
    const templates = new Map(changed.map((s) => [s.id, renderTemplate(s.definition)]));
    const alike = new Map(changed.map((s) => [s.id, alikeResources(templates.get(s.id)!)]));
    expect(alike.get('pipeline-identity')!.members).toBe(5);
    const problems = iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates), alike);
    expect(problems).toEqual(iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates)));
    expect(problems).toEqual(
      ['Extra100000000003Policy', ...IDS.map((id) => `Large${id}Policy`)].map((id) => expect.stringMatching(new RegExp(`^pipeline-identity @ 222222222222: ${id}: \\d{4} characters of a managed policy, over IAM's quota of 6144`))),
    );
  });
});
