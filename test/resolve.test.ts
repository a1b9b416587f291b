import { describe, expect, it } from 'vitest';
import { flatValues, Resolver, splitReference } from '../src/audit/resolve';
import type { CfnTemplate } from '../src/cfn/template';
import type { Org } from '../src/org/model';
import type { Stage } from '../src/stages/model';

describe('where a condition holds', () => {
  const targets = ['100000000003', '100000000001', '100000000002'];
  const equals = (id: string) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id] });
  const template = {
    Conditions: {
      // Named accounts, one of them no target of the stage, listed out of target order.
      Named: { 'Fn::Or': [equals('100000000002'), equals('900000000000'), equals('100000000003')] },
      // Any other shape is asked of each target.
      NotNamed: { 'Fn::Not': [{ Condition: 'Named' }] },
    },
    Resources: {
      InNamed: { Type: 'AWS::SNS::Topic', Condition: 'Named' },
      InOthers: { Type: 'AWS::SNS::Topic', Condition: 'NotNamed' },
      Everywhere: { Type: 'AWS::SNS::Topic' },
    },
  } as unknown as CfnTemplate;
  const stage = { id: 's', targets: targets.map((id) => ({ id })) } as unknown as Stage;
  const resolver = () => new Resolver({ region: 'us-east-1', partition: 'aws' } as Org, [stage], new Map([['s', template]]));

  it('answers as `holds` in each target, in target order, for named accounts and any other condition', () => {
    const r = resolver();
    for (const condition of ['Named', 'NotNamed']) expect(r.accountsWhere('s', condition)).toEqual(targets.filter((a) => r.holds('s', condition, a)));
    expect(r.accountsWhere('s', 'Named')).toEqual(['100000000003', '100000000002']);
    expect(r.accountsWith('s', 'InOthers')).toEqual(['100000000001']);
    expect(r.accountsWith('s', 'Everywhere')).toEqual(targets);
  });

  it('reads a condition of any other shape as CloudFormation does: an Fn::Or of conditions holds where one does, an Fn::And where all do, an Fn::Or mixing accounts and a condition is no account set (review s41-mutations-3 R1, R3)', () => {
    const withMore = {
      ...template,
      Conditions: {
        ...template.Conditions,
        First: equals('100000000001'),
        Either: { 'Fn::Or': [{ Condition: 'First' }, { Condition: 'Named' }] },
        Both: { 'Fn::And': [{ Condition: 'Named' }, { 'Fn::Not': [equals('100000000002')] }] },
        Mixed: { 'Fn::Or': [equals('100000000002'), { Condition: 'First' }] },
      },
    } as unknown as CfnTemplate;
    const r = new Resolver({ region: 'us-east-1', partition: 'aws' } as Org, [stage], new Map([['s', withMore]]));
    expect(r.accountsWhere('s', 'Either')).toEqual(targets);
    expect(r.accountsWhere('s', 'Both')).toEqual(['100000000003']);
    expect(r.accountsWhere('s', 'Mixed')).toEqual(['100000000001', '100000000002']);
    for (const condition of ['Either', 'Both', 'Mixed']) expect(r.accountsWhere('s', condition), condition).toEqual(targets.filter((a) => r.holds('s', condition, a)));
  });

  it('records the condition as read, as `holds` does', () => {
    const r = resolver();
    r.accountsWith('s', 'InNamed');
    expect([...r.usedConditions('s')]).toEqual(['Named']);
  });
});

describe('a list of items kept in some accounts (account-switch.ts)', () => {
  const targets = ['100000000001', '100000000002', '100000000003'];
  const stage = { id: 's', targets: targets.map((id) => ({ id })) } as unknown as Stage;
  const equals = (id: string) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id] });
  const template = {
    Conditions: { InOne: equals('100000000001'), InOneOrTwo: { 'Fn::Or': [equals('100000000001'), equals('100000000002')] } },
    Resources: {},
  } as unknown as CfnTemplate;
  const kept = (condition: string, item: string) => ({ 'Fn::If': [condition, item, { Ref: 'AWS::NoValue' }] });

  it('keeps the items of no condition in every account, beside those kept there, in list order (review s41-mutations-3 R4)', () => {
    const r = new Resolver({ region: 'us-east-1', partition: 'aws' } as Org, [stage], new Map([['s', template]]));
    const list = ['always-first', kept('InOneOrTwo', 'one-or-two'), 'always-between', kept('InOne', 'one')];
    expect(targets.map((a) => r.resolve('s', a, list))).toEqual([
      ['always-first', 'one-or-two', 'always-between', 'one'],
      ['always-first', 'one-or-two', 'always-between'],
      ['always-first', 'always-between'],
    ]);
  });
});

describe('AWS::NoValue', () => {
  const targets = ['100000000001', '100000000002'];
  const stage = { id: 's', targets: targets.map((id) => ({ id })) } as unknown as Stage;
  const template = { Conditions: { InOne: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '100000000001'] } }, Resources: {} } as unknown as CfnTemplate;

  it("drops the member of an object it is the value of, in the accounts where it is chosen (review s41-mutations-3 R8)", () => {
    const r = new Resolver({ region: 'us-east-1', partition: 'aws' } as Org, [stage], new Map([['s', template]]));
    const statement = { Effect: 'Allow', Sid: { 'Fn::If': ['InOne', 'OnlyInOne', { Ref: 'AWS::NoValue' }] } };
    expect(targets.map((a) => JSON.parse(String(r.resolve('s', a, statement))))).toEqual([{ Effect: 'Allow', Sid: 'OnlyInOne' }, { Effect: 'Allow' }]);
  });
});

describe('Fn::Sub', () => {
  const targets = ['100000000001', '100000000002'];
  const stage = { id: 's', targets: targets.map((id) => ({ id })) } as unknown as Stage;
  const template = {
    Parameters: {},
    Resources: {
      Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'b' } },
      Listed: { Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::Split': [',', 'a,b'] } } },
      Missing: { Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::Select': ['5', { 'Fn::Split': [',', 'a,b'] }] } } },
    },
  } as unknown as CfnTemplate;
  const resolver = () => new Resolver({ region: 'us-east-1', partition: 'aws' } as Org, [stage], new Map([['s', template]]));

  it('writes each reference in each account, the same text in different objects alike', () => {
    const r = resolver();
    const text = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x-${AWS::Region}';
    for (const a of targets) {
      expect(r.resolve('s', a, { 'Fn::Sub': text })).toBe(`arn:aws:iam::${a}:role/x-us-east-1`);
      expect(r.resolve('s', a, { 'Fn::Sub': text })).toBe(`arn:aws:iam::${a}:role/x-us-east-1`);
    }
    expect(r.compile('s', { 'Fn::Sub': '${Bucket}/${AWS::Region}' }).fixed).toBe('b/us-east-1');
    expect(r.resolve('s', targets[0], { 'Fn::Sub': 'no references' })).toBe('no references');
  });

  it('writes a list value comma-joined, and a missing one (Fn::Select past the end) as nothing', () => {
    const r = resolver();
    expect(r.resolve('s', targets[0], { 'Fn::Sub': '[${Listed}] [${Missing}]' })).toBe('[a,b] []');
  });
});

describe('splitReference', () => {
  it('reads a reference as its first two parts split at dots', () => {
    for (const reference of ['Role', 'Role.Arn', 'Role.Arn.More', 'AWS::AccountId', 'Role.', '.Arn', '', '..', 'a.b.c.d']) {
      const [id, attribute] = reference.split('.');
      expect(splitReference(reference), reference).toEqual({ id, attribute });
    }
  });
});

describe('flatValues', () => {
  it('lists the strings of nested lists in order, without AWS::NoValue and holes', () => {
    expect(flatValues(['a', ['b', ['c', '\u0000NoValue']], , 'd'] as never)).toEqual(['a', 'b', 'c', 'd']);
    expect(flatValues('\u0000NoValue')).toEqual([]);
    expect(flatValues('x')).toEqual(['x']);
  });
});
