import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { checkServiceAuthorization, SERVICE_AUTHORIZATION_RULES, stageValues } from '../src/checks/service-authorization';
import type { PlainStatement } from '../src/checks/documents';
import { Resolver } from '../src/audit/resolve';
import { renderTemplate } from '../src/cfn/template';
import { compileFile, compileGenerated, ORG_FILES } from './helpers';

/** A template with one identity policy (or, with `kind`, one resource policy) holding `statement`. */
function withStatement(statement: PlainStatement, kind: 'identity' | 'bucket' | 'event-bus' | 'key' = 'identity'): CfnTemplate {
  const s = { Sid: 'S', ...statement };
  const resource = {
    identity: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [s] } } },
    bucket: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'b', PolicyDocument: { Version: '2012-10-17', Statement: [s] } } },
    'event-bus': { Type: 'AWS::Events::EventBusPolicy', Properties: { StatementId: 'x', Statement: s } },
    key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Version: '2012-10-17', Statement: [s] } } },
  }[kind];
  return { AWSTemplateFormatVersion: '2010-09-09', Resources: { Policy: resource } } as unknown as CfnTemplate;
}

const allow = (Action: string | string[], Resource: string | string[], Condition?: PlainStatement['Condition']): PlainStatement => ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) });
const BUCKET = 'arn:aws:s3:::acme-artifacts';
const OBJECTS = `${BUCKET}/*`;
const REPO = 'arn:aws:codecommit:eu-west-1:123456789012:web-app';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/default';

interface Case {
  name: string;
  statement: PlainStatement;
  kind?: 'identity' | 'bucket' | 'event-bus' | 'key';
  /** The findings expected, as `rule item`; none for a good snippet. */
  findings: string[];
}

const CASES: Record<string, Case[]> = {
  XS010: [
    { name: 'a documented action', statement: allow('s3:GetObject', OBJECTS), findings: [] },
    { name: 'actions are case-insensitive', statement: allow('S3:getobject', OBJECTS), findings: [] },
    { name: 'a wildcard that matches actions (in a Deny)', statement: { Effect: 'Deny', Action: 'codecommit:Merge*', Resource: REPO }, findings: [] },
    { name: 'a misspelt action', statement: allow('s3:GetObjekt', OBJECTS), findings: ['XS010 Action::s3:GetObjekt'] },
    { name: 'an unknown service', statement: allow('codecomit:GitPull', REPO), findings: ['XS010 Action::codecomit:GitPull'] },
    { name: 'a wildcard that matches nothing', statement: { Effect: 'Deny', Action: 'codecommit:Frobnicate*', Resource: REPO }, findings: ['XS010 Action::codecommit:Frobnicate*'] },
    { name: 'an action without its service', statement: allow('GetObject', OBJECTS), findings: ['XS010 Action::GetObject'] },
  ],
  XS011: [
    { name: 'global keys apply to every action', statement: allow('codecommit:GitPull', REPO, { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } }), findings: [] },
    { name: 'a global key with a tag name', statement: allow('codecommit:GitPull', REPO, { StringEquals: { 'aws:PrincipalTag/team': 'web' } }), findings: [] },
    { name: 'an action key', statement: allow('s3:PutObject', OBJECTS, { StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } }), findings: [] },
    { name: 'a key of the action\'s resource type (kms:ResourceAliases on key)', statement: allow('kms:Decrypt', KEY, { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/acme' } }), findings: [] },
    {
      name: 'IfExists: one action of the statement is enough',
      statement: { Effect: 'Deny', Action: ['codecommit:GitPush', 'codecommit:GetBranch'], Resource: REPO, Condition: { StringEqualsIfExists: { 'codecommit:References': 'refs/heads/main' } } },
      findings: [],
    },
    // IAM's cross-service keys of an EC2 role session: global, though the reference lists them under no STS action (review s30-ci m2).
    { name: 'a cross-service key (ec2:RoleDelivery on sts:AssumeRole)', statement: allow('sts:AssumeRole', 'arn:aws:iam::123456789012:role/r', { NumericGreaterThanEquals: { 'ec2:RoleDelivery': '2.0' } }), findings: [] },
    { name: 'a cross-service key with a String operator', statement: allow('sts:AssumeRole', 'arn:aws:iam::123456789012:role/r', { StringEquals: { 'ec2:RoleDelivery': '2.0' } }), findings: ['XS013 Condition::StringEquals::ec2:RoleDelivery'] },
    { name: 'an EC2 key that is not cross-service (ec2:InstanceType on sts:AssumeRole)', statement: allow('sts:AssumeRole', 'arn:aws:iam::123456789012:role/r', { StringEquals: { 'ec2:InstanceType': 't3.micro' } }), findings: ['XS011 Condition::StringEquals::ec2:InstanceType'] },
    { name: 'a misspelt global key', statement: allow('s3:GetObject', OBJECTS, { StringEquals: { 'aws:PrincipalOrgId2': 'o-abc' } }), findings: ['XS011 Condition::StringEquals::aws:PrincipalOrgId2'] },
    { name: 'a service key that does not exist', statement: allow('s3:GetObject', OBJECTS, { StringEquals: { 's3:x-amz-encryption': 'aws:kms' } }), findings: ['XS011 Condition::StringEquals::s3:x-amz-encryption'] },
    { name: 'another service\'s key', statement: allow('s3:GetObject', OBJECTS, { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } }), findings: ['XS011 Condition::StringEquals::kms:ViaService'] },
    {
      name: 'a key that only some actions of the statement have, without IfExists',
      statement: { Effect: 'Deny', Action: ['codecommit:GitPush', 'codecommit:GetBranch'], Resource: REPO, Condition: { StringEquals: { 'codecommit:References': 'refs/heads/main' } } },
      findings: ['XS011 Condition::StringEquals::codecommit:References'],
    },
    { name: 'a key the action does not have, even with IfExists', statement: allow('codecommit:GitPull', REPO, { StringEqualsIfExists: { 'codecommit:References': 'refs/heads/main' } }), findings: ['XS011 Condition::StringEqualsIfExists::codecommit:References'] },
  ],
  XS012: [
    { name: 'an object ARN for an object action', statement: allow('s3:GetObject', OBJECTS), findings: [] },
    { name: 'a bucket ARN for a bucket action', statement: allow('s3:GetBucketVersioning', BUCKET), findings: [] },
    { name: 'bucket and objects for both kinds', statement: allow(['s3:GetObject', 's3:GetBucketLocation'], [BUCKET, OBJECTS]), findings: [] },
    { name: '"*" for an action without resource types', statement: allow('ec2:DescribeInstances', '*'), findings: [] },
    { name: 'a wildcard account', statement: allow('events:PutEvents', 'arn:aws:events:eu-west-1:*:event-bus/default'), findings: [] },
    { name: 'a role name pattern', statement: allow('sts:AssumeRole', 'arn:aws-us-gov:iam::123456789012:role/acme-*'), findings: [] },
    { name: 'what the compiler cannot know matches any ARN', statement: allow('kms:Decrypt', 'arn:aws:kms:eu-west-1:123456789012:key/{pipeline-foundation/ArtifactKey}'), findings: [] },
    { name: 'a resource policy\'s own resources', statement: { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/r' }, Action: 'events:PutEvents', Resource: BUS }, kind: 'event-bus', findings: [] },
    { name: 'a key policy\'s "*" is its key', statement: { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/r' }, Action: 'kms:Decrypt', Resource: '*' }, kind: 'key', findings: [] },
    { name: 'an ARN partly unknown is still checked where it is known', statement: allow('kms:Decrypt', 'arn:aws:s3:::{pipeline-foundation/ArtifactBucket}'), findings: ['XS012 Resource::arn:aws:s3:::{pipeline-foundation/ArtifactBucket}', 'XS012 Action::kms:Decrypt'] },
    { name: 'a bucket ARN for an object action', statement: allow('s3:GetObject', BUCKET), findings: ['XS012 Resource::arn:aws:s3:::acme-artifacts', 'XS012 Action::s3:GetObject'] },
    { name: 'objects for a bucket action', statement: allow('s3:GetBucketVersioning', OBJECTS), findings: ['XS012 Resource::arn:aws:s3:::acme-artifacts/*', 'XS012 Action::s3:GetBucketVersioning'] },
    { name: 'an alias ARN where the action takes a key', statement: allow('kms:Decrypt', 'arn:aws:kms:eu-west-1:123456789012:alias/acme'), findings: ['XS012 Resource::arn:aws:kms:eu-west-1:123456789012:alias/acme', 'XS012 Action::kms:Decrypt'] },
    { name: 'a malformed account field', statement: allow('codecommit:GitPull', 'arn:aws:codecommit:eu-west-1:12345:web-app'), findings: ['XS012 Resource::arn:aws:codecommit:eu-west-1:12345:web-app', 'XS012 Action::codecommit:GitPull'] },
    { name: 'an action without resource types given an ARN', statement: allow('ec2:DescribeInstances', REPO), findings: ['XS012 Resource::' + REPO, 'XS012 Action::ec2:DescribeInstances'] },
    { name: 'one action of two without its resource', statement: allow(['s3:GetObject', 's3:GetBucketLocation'], OBJECTS), findings: ['XS012 Action::s3:GetBucketLocation'] },
    // A run of resources sharing an ARN's head (partition to account) has it matched once per format: a resource whose head differs from the one before is matched anew.
    {
      name: 'a resource among others whose account field differs',
      statement: allow('iam:PassRole', ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::12345:role/b', 'arn:aws:iam::123456789012:role/c']),
      findings: ['XS012 Resource::arn:aws:iam::12345:role/b'],
    },
    {
      name: 'a resource whose account differs after one with a bad account',
      statement: allow('iam:PassRole', ['arn:aws:iam::12345:role/a', 'arn:aws:iam::123456789012:role/b']),
      findings: ['XS012 Resource::arn:aws:iam::12345:role/a'],
    },
    {
      name: 'resources of one head, one of another type',
      statement: allow('iam:PassRole', ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:user/b', 'arn:aws:iam::123456789012:role/c']),
      findings: ['XS012 Resource::arn:aws:iam::123456789012:user/b'],
    },
    {
      name: 'a wildcard head after a literal one',
      statement: allow('iam:PassRole', ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::*:role/b', 'arn:aws:iam::1234567890123:role/c']),
      findings: ['XS012 Resource::arn:aws:iam::1234567890123:role/c'],
    },
  ],
  XS013: [
    { name: 'a set operator on a multivalued key', statement: { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/r' }, Action: 'events:PutEvents', Resource: BUS, Condition: { 'ForAllValues:StringEquals': { 'events:source': 'aws.codecommit' }, Null: { 'events:source': 'false' } } }, kind: 'event-bus', findings: [] },
    { name: 'Arn and String operators on an ARN key', statement: allow('s3:GetObject', OBJECTS, { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:*:rule/x' }, StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/x' } }), findings: [] },
    { name: 'Bool on a boolean key', statement: { Effect: 'Deny', Action: 's3:GetObject', Resource: OBJECTS, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }, findings: [] },
    { name: 'Numeric on a number key, IfExists allowed', statement: allow('s3:GetObject', OBJECTS, { NumericLessThanIfExists: { 'aws:MultiFactorAuthAge': '3600' } }), findings: [] },
    { name: 'IpAddress on an address key', statement: allow('s3:GetObject', OBJECTS, { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }), findings: [] },
    { name: 'a plain operator on a multivalued key (V2 of the review)', statement: { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/r' }, Action: 'events:PutEvents', Resource: BUS, Condition: { StringEquals: { 'events:source': 'aws.codecommit' } } }, kind: 'event-bus', findings: ['XS013 Condition::StringEquals::events:source'] },
    { name: 'a set operator on a single-valued key', statement: allow('s3:GetObject', OBJECTS, { 'ForAnyValue:StringEquals': { 'aws:PrincipalAccount': '123456789012' } }), findings: ['XS013 Condition::ForAnyValue:StringEquals::aws:PrincipalAccount'] },
    { name: 'an Arn operator on a string key', statement: allow('s3:GetObject', OBJECTS, { ArnEquals: { 'aws:SourceAccount': '123456789012' } }), findings: ['XS013 Condition::ArnEquals::aws:SourceAccount'] },
    { name: 'a String operator on a boolean key', statement: allow('s3:GetObject', OBJECTS, { StringEquals: { 'aws:SecureTransport': 'true' } }), findings: ['XS013 Condition::StringEquals::aws:SecureTransport'] },
    { name: 'Bool on an ARN key', statement: allow('s3:GetObject', OBJECTS, { Bool: { 'aws:SourceArn': 'true' } }), findings: ['XS013 Condition::Bool::aws:SourceArn'] },
    { name: 'Bool compares with true or false only', statement: allow('s3:GetObject', OBJECTS, { Bool: { 'aws:SecureTransport': 'yes' } }), findings: ['XS013 Condition::Bool::aws:SecureTransport'] },
    { name: 'Null with IfExists', statement: allow('s3:GetObject', OBJECTS, { NullIfExists: { 'aws:SourceArn': 'false' } }), findings: ['XS013 Condition::NullIfExists'] },
    { name: 'an operator IAM does not have', statement: allow('s3:GetObject', OBJECTS, { StringEqualz: { 'aws:SourceAccount': '123456789012' } }), findings: ['XS013 Condition::StringEqualz'] },
  ],
};

const found = (c: Case) => checkServiceAuthorization(withStatement(c.statement, c.kind)).map((f) => `${f.rule} ${f.item}`);

describe('service authorization checks (XS010-XS013), good and bad snippets per rule', () => {
  for (const rule of SERVICE_AUTHORIZATION_RULES) {
    describe(`${rule.id}: ${rule.description}`, () => {
      const cases = CASES[rule.id];
      it('has good and bad cases', () => {
        expect(cases.some((c) => c.findings.length === 0)).toBe(true);
        expect(cases.some((c) => c.findings.length > 0)).toBe(true);
      });
      for (const c of cases) it(`${c.findings.length ? 'refuses' : 'accepts'} ${c.name}`, () => expect(found(c)).toEqual(c.findings));
    });
  }

  it('cites a source for every rule', () => {
    for (const rule of SERVICE_AUTHORIZATION_RULES) expect(rule.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it('names the statement and says what was expected', () => {
    const [f] = checkServiceAuthorization(withStatement(allow('kms:Decrypt', 'arn:aws:kms:eu-west-1:123456789012:alias/acme')));
    expect(f).toMatchObject({ rule: 'XS012', resource: 'Policy', statement: 'S' });
    expect(f.message).toContain('arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}');
  });
});

  it('checks each distinct statement once, and gives each statement the findings of its own', () => {
    // Read part by part, the two statements are the same three texts: only where the actions end tells them apart.
    const statements: PlainStatement[] = [
      { Sid: 'Two', ...allow(['s3:GetObject', 's3:PutObject'], [OBJECTS]) },
      { Sid: 'One', ...allow(['s3:GetObject'], ['s3:PutObject', OBJECTS]) },
      { Sid: 'TwoAgain', ...allow(['s3:GetObject', 's3:PutObject'], [OBJECTS]) },
      { Sid: 'OneAgain', ...allow(['s3:GetObject'], ['s3:PutObject', OBJECTS]) },
    ];
    const template = withStatement(statements[0]);
    (template.Resources.Policy.Properties as { PolicyDocument: { Statement: PlainStatement[] } }).PolicyDocument.Statement = statements;
    expect(checkServiceAuthorization(template).map((f) => `${f.statement} ${f.rule} ${f.item}`)).toEqual(['One XS012 Resource::s3:PutObject', 'OneAgain XS012 Resource::s3:PutObject']);
  });

  it('reads the values of Null and Bool conditions, which statements otherwise alike differ in', () => {
    const statements: PlainStatement[] = [
      { Sid: 'BoolGood', ...allow('s3:GetObject', OBJECTS, { Bool: { 'aws:SecureTransport': 'true' } }) },
      { Sid: 'BoolBad', ...allow('s3:GetObject', OBJECTS, { Bool: { 'aws:SecureTransport': 'yes' } }) },
      { Sid: 'NullGood', ...allow('s3:GetObject', OBJECTS, { NullIfExists: { 'aws:SourceArn': 'false' } }) },
      { Sid: 'NullBad', ...allow('s3:GetObject', OBJECTS, { NullIfExists: { 'aws:SourceArn': 'no' } }) },
      { Sid: 'StringA', ...allow('s3:GetObject', OBJECTS, { StringEquals: { 'aws:PrincipalOrgID': 'o-a' } }) },
      { Sid: 'StringB', ...allow('s3:GetObject', OBJECTS, { StringEquals: { 'aws:PrincipalOrgID': 'o-b' } }) },
    ];
    const template = withStatement(statements[0]);
    (template.Resources.Policy.Properties as { PolicyDocument: { Statement: PlainStatement[] } }).PolicyDocument.Statement = statements;
    expect(checkServiceAuthorization(template).map((f) => `${f.statement} ${f.rule} ${f.message}`)).toEqual([
      'BoolBad XS013 Bool compares with true or false, not yes',
      'NullGood XS013 Null checks whether the key exists; IfExists contradicts it',
      'NullBad XS013 Null checks whether the key exists; IfExists contradicts it',
      'NullBad XS013 Null compares with true or false, not no',
    ]);
  });

describe('the example orgs against the service authorization data', () => {
  for (const file of ORG_FILES) {
    it(`${file}: every statement of every template passes, with its values resolved per account`, () => {
      const { org, stages } = compileFile(file);
      const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const resolver = new Resolver(org, stages, templates);
      let statements = 0;
      for (const stage of stages) {
        const template = templates.get(stage.id)!;
        expect(checkServiceAuthorization(template, stageValues(resolver, stage, template)), stage.id).toEqual([]);
        statements += Object.values(template.Resources).length;
      }
      expect(statements).toBeGreaterThan(30);
    });
  }

  it('finds the review\'s V2 again if the event-bus policy goes back to StringEquals on events:source', () => {
    const { stages } = compileFile('parameters/example.yaml');
    const template = renderTemplate(stages.find((s) => s.id === 'pipeline-foundation')!.definition);
    const bus = Object.values(template.Resources).find((r) => r.Type === 'AWS::Events::EventBusPolicy')!;
    const statement = (bus.Properties as { Statement: PlainStatement }).Statement;
    expect(checkServiceAuthorization(template)).toEqual([]);
    statement.Condition = { StringEquals: { 'events:source': 'aws.codecommit' } };
    expect(checkServiceAuthorization(template).map((f) => `${f.rule} ${f.item}`)).toEqual(['XS013 Condition::StringEquals::events:source']);
  });

  it('checks a resolved value of each account shape: an imported ARN of the wrong type is found', () => {
    const { org, stages } = compileGenerated(3);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const stage = stages.find((s) => s.id === 'pipelines')!;
    const template = templates.get(stage.id)!;
    // The key's statement imports the key's ARN from this account's pipeline-foundation; resolved, it is a KMS key ARN.
    expect(JSON.stringify(template)).toContain('{"Fn::ImportValue":"big-artifact-key-arn"}');
    expect(checkServiceAuthorization(template, stageValues(new Resolver(org, stages, templates), stage, template))).toEqual([]);
    // Point it at the bucket instead: the resolved value is now an S3 ARN for kms actions.
    const json = JSON.stringify(template).replaceAll('{"Fn::ImportValue":"big-artifact-key-arn"}', '{"Fn::Sub":"arn:${AWS::Partition}:s3:::big-artifacts-${AWS::AccountId}-${AWS::Region}"}');
    const wrong = JSON.parse(json) as CfnTemplate;
    const findings = checkServiceAuthorization(wrong, stageValues(new Resolver(org, stages, new Map([...templates, [stage.id, wrong]])), stage, wrong));
    expect(findings.map((f) => f.rule)).toContain('XS012');
    expect(findings.find((f) => f.item.startsWith('Resource::'))!.item).toMatch(/^Resource::arn:aws:s3:::/);
  });
});
