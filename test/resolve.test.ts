import { describe, expect, it } from 'vitest';
import { Resolver } from '../src/audit/resolve';
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

  it('records the condition as read, as `holds` does', () => {
    const r = resolver();
    r.accountsWith('s', 'InNamed');
    expect([...r.usedConditions('s')]).toEqual(['Named']);
  });
});
