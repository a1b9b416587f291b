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
      // Read without their toJSON (plainIntrinsic): a payload JSON leaves out, a name that is no ordinary key, one nested in another; a subclass's own toJSON is asked.
      oddIntrinsics: [new IntrinsicFunction('Ref', undefined), new IntrinsicFunction('__proto__', { a: 1 }), new IntrinsicFunction('Fn::If', ['C', new IntrinsicFunction('Ref', 'Y'), 1])],
      overridden: new (class extends IntrinsicFunction {
        override toJSON() {
          return { Changed: true };
        }
      })('Ref', 'Z'),
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

  it('with a renaming, is the renaming applied top-down to the plain copy, as a second walk over it would', () => {
    // Renames a lone Ref and an Fn::GetAtt's resource, not walking into them; any other object is walked on, as family.ts's renaming does.
    const renameWalk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) return node.forEach(renameWalk);
      const o = node as Record<string, unknown>;
      if (typeof o.Ref === 'string' && Object.keys(o).length === 1) o.Ref = `${o.Ref}Renamed`;
      else if (Array.isArray(o['Fn::GetAtt'])) o['Fn::GetAtt'][0] = `${o['Fn::GetAtt'][0]}Renamed`;
      else for (const key in o) renameWalk(o[key]);
    };
    const value = {
      ref: new IntrinsicFunction('Ref', 'A'),
      insideIntrinsic: new IntrinsicFunction('Fn::If', ['Cond', new IntrinsicFunction('Ref', 'I'), new IntrinsicFunction('Fn::GetAtt', ['J', { Ref: 'K' }])]),
      // Not a lone Ref: walked on, so the Ref inside it is renamed.
      notLone: { Ref: 'B', Other: { Ref: 'C' } },
      // Ref dropped by the copy (undefined): the copy holds only Other, walked on.
      dropped: { Ref: undefined, Other: [{ Ref: 'D' }] },
      // An Fn::GetAtt is not walked into: the Ref inside it stays.
      nested: { 'Fn::GetAtt': ['E', { Ref: 'E' }] },
      list: [new IntrinsicFunction('Fn::GetAtt', ['F', 'Arn']), { Ref: 'G' }, 'H'],
    };
    const twoWalks = plain<Record<string, unknown>>(value);
    renameWalk(twoWalks);
    const renamed = plain(value, { keys: new Set(['Ref', 'Fn::GetAtt']), rename: renameWalk });
    expect(renamed).toEqual(twoWalks);
    expect(JSON.stringify(renamed)).toContain('CRenamed');
    expect(JSON.stringify(renamed)).toContain('{"Ref":"IRenamed"},{"Fn::GetAtt":["JRenamed",{"Ref":"K"}]}');
    expect(JSON.stringify(renamed)).toContain('["ERenamed",{"Ref":"E"}]');
  });
});
