import { describe, expect, it } from 'vitest';
import { comparedItems, pathReads, statementReads } from '../src/audit/team-reads';
import { principalName, type PrincipalRef, type ResolvedStatement } from '../src/audit/grants';
import type { AccessPath } from '../src/audit/paths';
import { hasToken, nameTokenFor, tokenFor } from '../src/audit/symbolic';
import { random } from './support/seeded-random';

/**
 * team-reads.ts compares a member team's items with its class's first team's texts cut once (each compared token a
 * slot), in place; the plain question it stands for: each text of the first's item is the member's own as it stands,
 * or, holding tokens, reads it once each slot's token is written as the member's value (every other token as it is).
 * Both asked of seeded statements and paths, the member's own made from the first's by writing its values (alike)
 * and then changed in one place (not alike, mostly).
 */
const SLOT_TOKENS = [tokenFor(300), tokenFor(301), nameTokenFor(40), nameTokenFor(41)];
const OTHER_TOKEN = tokenFor(5);
const slots = new Map(SLOT_TOKENS.map((token, slot) => [token, slot]));

/** The plain writing: each slot's token replaced throughout by its value. */
const written = (text: string, values: readonly string[]) => SLOT_TOKENS.reduce((s, token, slot) => s.replaceAll(token, values[slot]), text);
const plainReads = (copy: string, own: string, values: readonly string[]) => copy === own || (hasToken(copy) && written(copy, values) === own);
const plainList = (copy: readonly string[], own: readonly string[], values: readonly string[]) =>
  copy === own || (copy.length === own.length && copy.every((x, i) => plainReads(x, own[i], values)));
function plainRecord(copy: Record<string, string[]>, own: Record<string, string[]>, values: readonly string[]): boolean {
  const keys = Object.keys(copy);
  const ownKeys = Object.keys(own);
  return keys.length === ownKeys.length && keys.every((key, i) => plainReads(key, ownKeys[i], values) && plainList(copy[key], own[ownKeys[i]], values));
}
const plainOptional = (copy: string | undefined, own: string | undefined, values: readonly string[]) => (copy === undefined ? own === undefined : own !== undefined && plainReads(copy, own, values));
const plainPrincipal = (copy: PrincipalRef, own: PrincipalRef, values: readonly string[]) => copy.kind === own.kind && plainReads(principalName(copy), principalName(own), values);
function plainStatement(copy: ResolvedStatement, own: ResolvedStatement, values: readonly string[]): boolean {
  const operators = Object.keys(copy.conditions);
  const ownOperators = Object.keys(own.conditions);
  return (
    copy.kind === own.kind &&
    copy.effect === own.effect &&
    plainReads(copy.account, own.account, values) &&
    plainOptional(copy.attachedTo, own.attachedTo, values) &&
    plainOptional(copy.madeFor, own.madeFor, values) &&
    copy.principals.length === own.principals.length &&
    copy.principals.every((p, i) => plainPrincipal(p, own.principals[i], values)) &&
    plainList(copy.actions, own.actions, values) &&
    plainList(copy.resources, own.resources, values) &&
    operators.length === ownOperators.length &&
    operators.every((operator, i) => plainReads(operator, ownOperators[i], values) && plainRecord(copy.conditions[operator], own.conditions[ownOperators[i]], values))
  );
}
const plainPath = (copy: AccessPath, own: AccessPath, values: readonly string[]) =>
  copy.denied === own.denied &&
  copy.identityManagedElsewhere === own.identityManagedElsewhere &&
  copy.resourceManagedElsewhere === own.resourceManagedElsewhere &&
  copy.outsideDecides === own.outsideDecides &&
  plainOptional(copy.need, own.need, values) &&
  plainPrincipal(copy.principal, own.principal, values) &&
  plainReads(copy.resource, own.resource, values) &&
  plainReads(copy.resourceAccount, own.resourceAccount, values) &&
  plainList(copy.actions, own.actions, values) &&
  (copy.context === undefined ? own.context === undefined : own.context !== undefined && plainRecord(copy.context, own.context, values));

describe('team-reads: a member team read against its class first team\'s texts cut once', () => {
  const next = random(55);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  // Pieces of texts: slot tokens, another class's token, literal text (Latin-1 and wider too), a lone mark.
  const PIECES = [...SLOT_TOKENS, ...SLOT_TOKENS, OTHER_TOKEN, 'arn:aws:iam::', ':role/', 'acme-', '-src', 'é', '中', '\uE000', '1', ''];
  const textOf = () => Array.from({ length: Math.floor(next() * 5) }, () => pick(PIECES)).join('');
  const listOf = () => Array.from({ length: Math.floor(next() * 3) }, textOf);
  const recordOf = () => Object.fromEntries(Array.from({ length: Math.floor(next() * 3) }, () => [textOf(), listOf()]));
  const principalOf = (): PrincipalRef => pick<() => PrincipalRef>([() => ({ kind: 'aws', arn: textOf() }), () => ({ kind: 'service', service: textOf() }), () => ({ kind: 'any' })])();
  // A member's values: ids and names, a token written as itself (a member without one), an empty value.
  const VALUES = ['111122223333', '444455556666', 't001', 't01', 'T001', '', OTHER_TOKEN, SLOT_TOKENS[0]];
  const valuesOf = () => SLOT_TOKENS.map(() => pick(VALUES));
  const statementOf = (): ResolvedStatement => ({
    stage: 's',
    account: textOf(),
    policy: 'p',
    kind: pick(['identity', 'trust', 'bucket'] as const),
    effect: pick(['Allow', 'Deny'] as const),
    ...(next() < 0.5 ? { attachedTo: textOf() } : {}),
    principals: Array.from({ length: Math.floor(next() * 3) }, principalOf),
    actions: listOf(),
    resources: listOf(),
    conditions: Object.fromEntries(Array.from({ length: Math.floor(next() * 3) }, () => [textOf(), recordOf()])),
    ...(next() < 0.3 ? { madeFor: textOf() } : {}),
  });
  const pathOf = (): AccessPath => ({
    purpose: 'p',
    ...(next() < 0.7 ? { need: textOf() } : {}),
    principal: principalOf(),
    actions: listOf(),
    resource: textOf(),
    resourceAccount: textOf(),
    ...(next() < 0.5 ? { context: recordOf() } : {}),
    ...(next() < 0.3 ? { denied: true } : {}),
    ...(next() < 0.2 ? { outsideDecides: true } : {}),
  });
  /** The member's own: the first's written with its values, its lists the first's own where writing changed none (as writtenList keeps them). */
  const writeList = <L extends readonly string[]>(list: L, values: readonly string[]): L => (list.every((x) => written(x, values) === x) ? list : (list.map((x) => written(x, values)) as unknown as L));
  const writeRecord = (r: Record<string, string[]>, values: readonly string[]) => Object.fromEntries(Object.entries(r).map(([k, v]) => [written(k, values), writeList(v, values)]));
  const writePrincipal = (p: PrincipalRef, values: readonly string[]): PrincipalRef => (p.kind === 'aws' ? { kind: 'aws', arn: written(p.arn, values) } : p.kind === 'service' ? { kind: 'service', service: written(p.service, values) } : p);
  const writeStatement = (g: ResolvedStatement, values: readonly string[]): ResolvedStatement => ({
    ...g,
    account: written(g.account, values),
    ...(g.attachedTo !== undefined ? { attachedTo: written(g.attachedTo, values) } : {}),
    ...(g.madeFor !== undefined ? { madeFor: written(g.madeFor, values) } : {}),
    principals: g.principals.map((p) => writePrincipal(p, values)),
    actions: writeList(g.actions, values),
    resources: writeList(g.resources, values),
    conditions: Object.fromEntries(Object.entries(g.conditions).map(([operator, r]) => [written(operator, values), writeRecord(r, values)])),
  });
  const writePath = (p: AccessPath, values: readonly string[]): AccessPath => ({
    ...p,
    ...(p.need !== undefined ? { need: written(p.need, values) } : {}),
    principal: writePrincipal(p.principal, values),
    actions: writeList(p.actions, values),
    resource: written(p.resource, values),
    resourceAccount: written(p.resourceAccount, values),
    ...(p.context ? { context: writeRecord(p.context, values) } : {}),
  });
  /** One change somewhere: a text, a list's length, a key, a principal's kind, a flag; the first itself; or another item. */
  function changed<T extends object>(item: T, other: () => T): T {
    const copy = structuredClone(item) as Record<string, unknown>;
    const keys = Object.keys(copy).filter((k) => k !== 'stage' && k !== 'policy' && k !== 'purpose');
    const key = pick(keys);
    const value = copy[key];
    switch (Math.floor(next() * 4)) {
      case 0:
        return item;
      case 1:
        return other();
      default:
        if (typeof value === 'string') copy[key] = pick([`${value}x`, value.slice(1), textOf(), value.replace(/\d/, '9')]);
        else if (typeof value === 'boolean') delete copy[key];
        else if (Array.isArray(value)) copy[key] = value.length > 0 && next() < 0.5 ? value.slice(1) : [...value, typeof value[0] === 'object' ? principalOf() : textOf()];
        else if (value && typeof value === 'object') {
          const record = value as Record<string, unknown>;
          if ('kind' in record) copy[key] = principalOf();
          else copy[key] = { ...record, [textOf()]: key === 'conditions' ? recordOf() : listOf() };
        } else copy[key] = textOf();
        return copy as T;
    }
  }

  it('reads each statement as the plain question answers, alike and not', () => {
    let alike = 0;
    let not = 0;
    for (let n = 0; n < 4_000; n++) {
      const first = statementOf();
      const copy = comparedItems(slots).statement(first);
      const values = valuesOf();
      const own = writeStatement(first, values);
      for (const candidate of [own, changed(own, statementOf)]) {
        const expected = plainStatement(first, candidate, values);
        expect(statementReads(copy, candidate, values), JSON.stringify({ first, candidate, values })).toBe(expected);
        if (expected) alike++;
        else not++;
      }
    }
    expect(alike).toBeGreaterThan(4_500);
    expect(not).toBeGreaterThan(1_500);
  });

  it('reads each path as the plain question answers, alike and not', () => {
    let alike = 0;
    let not = 0;
    for (let n = 0; n < 4_000; n++) {
      const first = pathOf();
      const copy = comparedItems(slots).path(first);
      const values = valuesOf();
      const own = writePath(first, values);
      for (const candidate of [own, changed(own, pathOf)]) {
        const expected = plainPath(first, candidate, values);
        expect(pathReads(copy, candidate, values), JSON.stringify({ first, candidate, values })).toBe(expected);
        if (expected) alike++;
        else not++;
      }
    }
    expect(alike).toBeGreaterThan(4_500);
    expect(not).toBeGreaterThan(1_500);
  });
});
