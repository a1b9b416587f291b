import { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import Role from 'cloudform-types/types/iam/role';
import { describe, expect, it } from 'vitest';
import { plain } from '../src/cfn/template';

const jsonRoundTrip = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('plain, the copy a template is rendered from', () => {
  it('is exactly what a JSON round trip gives', () => {
    const sparse = [1, 2, 3];
    delete sparse[1];
    const value = {
      role: new Role({ RoleName: 'r', AssumeRolePolicyDocument: { Statement: [] }, Description: undefined }).dependsOn(['Other']),
      intrinsics: [new IntrinsicFunction('Ref', 'X'), new IntrinsicFunction('Fn::GetAtt', ['X', 'Arn']), { nested: new IntrinsicFunction('Fn::Sub', 'a ${X}') }],
      dropped: { u: undefined, f: () => 1, s: Symbol('s') },
      inLists: [undefined, () => 1, Symbol('s'), NaN, Infinity, -0],
      sparse,
      boxed: [Object('text'), Object(2), Object(false)],
      date: new Date(Date.UTC(2026, 11, 1)),
      toJsonNotAFunction: { toJSON: 'a value, not a method' },
      toJsonGivesToJson: { toJSON: () => ({ toJSON: () => 'asked once only' }) },
      json: JSON.parse('{"__proto__": {"own": true}}'),
      empty: [{}, []],
    };
    expect(JSON.stringify(plain(value))).toBe(JSON.stringify(jsonRoundTrip(value)));
    expect(plain(value)).toEqual(jsonRoundTrip(value));
  });

  it('asks primitives for nothing: a toJSON on String.prototype is not called, as JSON.stringify does not call it', () => {
    const proto = String.prototype as unknown as { toJSON?: () => string };
    proto.toJSON = () => 'changed';
    try {
      expect(plain({ s: 'text' })).toEqual(jsonRoundTrip({ s: 'text' }));
    } finally {
      delete proto.toJSON;
    }
  });

  it('is a fresh copy', () => {
    const value = { list: [{ a: 1 }] };
    const copy = plain<typeof value>(value);
    expect(copy.list).not.toBe(value.list);
    expect(copy.list[0]).not.toBe(value.list[0]);
  });
});
