import { describe, expect, it } from 'vitest';
import { ByResource, ownAsFirsts, type OrgResource, type StatementPlace } from '../src/audit/reach';
import { literalMatches } from '../src/audit/evaluate';
import type { ResolvedStatement } from '../src/audit/grants';
import { tokenFor } from '../src/audit/symbolic';

/**
 * reach.ts's lookups made narrower than what they stand for, each compared with the plain question on seeded inputs:
 * ByResource asks a candidate statement only the patterns that made it one; ownAsFirsts asks in one loop what
 * `onlyOwn` and the origins' comparison asked.
 */
let seed = 54;
// In 32 bits (Math.imul): a product past 2^53 would lose its low bits.
const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 8) % n);
const pick = <T>(list: readonly T[]): T => list[next(list.length)];

const ACCOUNTS = ['111122223333', '444455556666', tokenFor(7)];
function resources(): OrgResource[] {
  const out: OrgResource[] = [];
  const add = (kind: OrgResource['kind'], arn: string, account: string) => out.push({ stage: 's', account, logicalId: `R${out.length}`, type: 'T', kind, arn, names: {} });
  for (const account of ACCOUNTS) {
    for (const name of ['b', 'b-logs', 'b/x', 'c']) add('bucket', `arn:aws:s3:::acme-${name}-${account}`, account);
    add('bucket', `arn:aws:s3:::acme-${account}`, account);
    for (const name of ['default', 'team-1', 'team-10']) add('event-bus', `arn:aws:events:us-east-1:${account}:event-bus/${name}`, account);
    for (const name of ['q', 'q-dlq']) add('queue', `arn:aws:sqs:us-east-1:${account}:${name}`, account);
    add('key', `arn:aws:kms:us-east-1:${account}:key/1234`, account);
  }
  return out;
}

/** A pattern near one of the resources' ARNs: the ARN, a prefix of it, its objects, a wildcard in it, or another text. */
function patternNear(arns: readonly string[]): string {
  const arn = pick(arns);
  const cut = next(arn.length + 1);
  switch (next(9)) {
    case 0:
      return arn;
    case 1:
      return `${arn.slice(0, cut)}*`;
    case 2:
      return `${arn}/*`;
    case 3:
      return `${arn}/${pick(['artifacts/*', 'x', '', 'a?c'])}`;
    case 4:
      return `${arn.slice(0, cut)}?${arn.slice(cut + 1)}`;
    case 5:
      return `${arn.slice(0, cut)}*${arn.slice(cut + next(4))}`;
    case 6:
      return `${arn.slice(0, cut)}`;
    case 7:
      return pick(['*', '*/x', '?', 'arn:aws:s3:::*', 'arn:aws:events:*:*:event-bus/*']);
    default:
      return `${arn.slice(0, cut)}${pick(['-', '/', 'x', ':'])}${arn.slice(cut)}`;
  }
}

describe('ByResource: a candidate asked of the patterns that made it one', () => {
  it('finds, for each resource, the statements one of whose patterns takes it in, as asking all of them does', () => {
    const rs = resources();
    const arns = rs.map((r) => r.arn);
    let found = 0;
    for (let round = 0; round < 40; round++) {
      const grants = Array.from({ length: 60 }, (_, i): ResolvedStatement => {
        // A bus policy's writer with `*` alone, as ByResource takes it (its own account's buses, or every bus); `*` nowhere else
        // (a `*` beside a pattern that makes its statement a bus's candidate takes the bus in: the case below).
        const writesBuses = next(8) === 0;
        const patterns = Array.from({ length: 1 + next(4) }, () => patternNear(arns)).filter((x) => x !== '*');
        return {
          stage: 's',
          account: pick(ACCOUNTS),
          policy: `P${i}`,
          kind: next(2) === 0 ? 'identity' : 'resource',
          effect: 'Allow',
          principals: [],
          actions: writesBuses ? ['events:PutPermission'] : ['s3:GetObject'],
          resources: writesBuses ? ['*'] : patterns.length > 0 ? patterns : ['arn:aws:s3:::none'],
          conditions: {},
          accounts: undefined,
        } as unknown as ResolvedStatement;
      });
      const index = new ByResource(grants, rs);
      for (const r of rs) {
        // As ByResource.get reads a pattern: with tokens as units.
        const takesIn = (x: string) => literalMatches(x, r.arn) || (r.kind === 'bucket' && (literalMatches(x, `${r.arn}/x`) || x.startsWith(`${r.arn}/`)));
        const busWrite = (g: ResolvedStatement) => r.kind === 'event-bus' && g.resources.includes('*') && (g.kind !== 'identity' || g.account === r.account);
        const plain = grants.filter((g) => busWrite(g) || g.resources.some((x) => x !== '*' && takesIn(x)));
        const got = index.get(r);
        expect(got.map((g) => g.policy), r.arn).toEqual(plain.map((g) => g.policy));
        found += got.length;
      }
    }
    // Enough statements found to mean something (and not all of them).
    expect(found).toBeGreaterThan(2_000);
    expect(found).toBeLessThan(40 * 60 * resources().length / 4);
  });

  it('takes in a bus by `*` where another pattern made the statement its candidate', () => {
    const rs = resources();
    const bus = rs.find((r) => r.kind === 'event-bus')!;
    // Not a bus policy's writer: a candidate by its other pattern, which does not take the bus in; `*` does.
    const g = { stage: 's', account: bus.account, policy: 'P', kind: 'identity', effect: 'Allow', principals: [], actions: ['events:PutEvents'], resources: [`${bus.arn.slice(0, -3)}*x`, '*'], conditions: {}, accounts: undefined } as unknown as ResolvedStatement;
    expect(new ByResource([g], rs).get(bus)).toEqual([g]);
  });
});

describe('ownAsFirsts: a member\'s statements on its resource read as the first member\'s', () => {
  it('answers as onlyOwn then comparing the origins did, over seeded lists', () => {
    const classes = [{}, {}] as Array<StatementPlace['c']>;
    const c = classes[0];
    const statements = Array.from({ length: 12 }, (_, i) => ({ policy: `P${i}` }) as unknown as ResolvedStatement);
    let agreed = 0;
    for (let round = 0; round < 3_000; round++) {
      const place = new Map<ResolvedStatement, StatementPlace>();
      // Some statements a member's (of this class or another, at some place), the others no member's.
      for (const g of statements) if (next(3) > 0) place.set(g, { c: pick(classes), m: next(3), k: next(3), list: next(2) === 0 ? 'grants' : 'execution' });
      const m = next(3);
      const origin = (g: ResolvedStatement): unknown => {
        const at = place.get(g);
        return at ? 2 * at.k + (at.list === 'grants' ? 0 : 1) : g;
      };
      const own = Array.from({ length: next(4) }, () => pick(statements));
      // The first's: the member's own origins, often, or another list's.
      const origins = next(2) === 0 ? own.map(origin) : Array.from({ length: next(4) }, () => origin(pick(statements)));
      const onlyOwn = own.every((g) => {
        const at = place.get(g);
        return at === undefined || (at.c === c && at.m === m);
      });
      const mapped = own.map(origin);
      const plain = onlyOwn && mapped.length === origins.length && mapped.every((x, i) => x === origins[i]);
      expect(ownAsFirsts(own, origins, place, c, m)).toBe(plain);
      if (plain) agreed++;
    }
    expect(agreed).toBeGreaterThan(200);
    expect(agreed).toBeLessThan(2_800);
  });
});
