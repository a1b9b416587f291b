/**
 * Tied tokens (src/audit/symbolic.ts): a class whose members are tuples, a team's pipeline account id (the class's
 * own token), its source account's id, its key and the key's logical-id form, each member writing its whole tuple.
 * The cases here are the ones the module's comment argues, one by one; symbolic-fuzz-tied.test.ts fuzzes them.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, GrantIndex, type Request } from '../src/audit/evaluate';
import type { ResolvedStatement } from '../src/audit/grants';
import {
  forEachMember,
  hasNameToken,
  hasToken,
  isPlainKey,
  isToken,
  nameTokenFor,
  type ProofClass,
  same,
  sameIgnoringCase,
  someForEveryMember,
  startProof,
  stillCertain,
  symbolicGlob,
  tokenFor,
  type TokenKind,
  writtenApart,
} from '../src/audit/symbolic';
import { A, AK, AL, AS, B, BK, teamClass, type Team } from './support/tied-teams';

const team = (n: number, key: string): Team => ({ account: `1000000000${String(n).padStart(2, '0')}`, source: `2000000000${String(n).padStart(2, '0')}`, key });
const otherClass = (teams: readonly Team[]): ProofClass => ({
  token: B,
  members: teams.map((t) => `3${t.account.slice(1)}`),
  tied: [{ token: BK, kind: 'key', values: teams.map((t) => t.key) }],
});
/** Starts a proof of one team class (and another's, if given). */
const prove = (teams: readonly Team[], others?: readonly Team[]) => startProof([teamClass(teams), ...(others ? [otherClass(others)] : [])]);

describe('startProof: a tuple outside what the answers rest on starts the proof uncertain', () => {
  const one = (kind: TokenKind, values: string[], token = nameTokenFor(0)): ProofClass => ({ token: A, members: ['100000000001', '100000000002'], tied: [{ token, kind, values }] });
  it.each([
    ['a key in capitals', one('key', ['t1', 'T2'])],
    ['a key of digits alone', one('key', ['t1', '17'])],
    ['an empty key', one('key', ['t1', ''])],
    ['a logical id with a hyphen', one('logical', ['T1', 'T-2'])],
    ['an account id of eleven digits', one('account', ['20000000001', '200000000002'], tokenFor(1))],
    ['an account id twice in one member', one('account', ['200000000001', '100000000002'], tokenFor(1))],
    ['a value missing', one('key', ['t1'])],
    ['a name token in an account slot', one('account', ['200000000001', '200000000002'], nameTokenFor(0))],
    ['an account token in a name slot', one('key', ['t1', 't2'], tokenFor(1))],
    ['one token tied twice', { token: A, members: ['100000000001'], tied: [{ token: A, kind: 'account' as const, values: ['200000000001'] }] }],
  ])('%s', (_, c) => {
    startProof([c]);
    expect(stillCertain()).toBe(false);
  });

  it('two classes sharing an account id', () => {
    startProof([teamClass([team(1, 't1')]), { token: B, members: [team(1, 't1').source] }]);
    expect(stillCertain()).toBe(false);
  });

  it("members sharing a value: a team's three pipeline accounts, each a member, with its source account and key", () => {
    const envs = ['100000000001', '100000000002', '100000000003'];
    startProof([
      {
        token: A,
        members: envs,
        tied: [
          { token: AS, kind: 'account', values: envs.map(() => '200000000001') },
          { token: AK, kind: 'key', values: envs.map(() => 't1') },
        ],
      },
    ]);
    expect(stillCertain()).toBe(true);
    expect(same(`arn:aws:iam::${A}:role/x`, `arn:aws:iam::${AS}:role/x`)).toBe(false);
    expect(stillCertain()).toBe(true);
  });

  it('a readable tuple, and account classes without tied tokens, start certain', () => {
    prove([team(1, 't1'), team(2, 'team-two')], [team(3, 'x')]);
    expect(stillCertain()).toBe(true);
    startProof([{ token: A, members: ['100000000001', '100000000001'] }]);
    expect(stillCertain()).toBe(true);
  });
});

describe('what a name token is', () => {
  it('a token, but no account token: no account principal, no plain key', () => {
    expect([hasToken(AK), isToken(AK), hasNameToken(AK)]).toEqual([true, false, true]);
    expect([hasToken(A), isToken(A), hasNameToken(`arn:${A}`)]).toEqual([true, true, false]);
    prove([team(1, 't1'), team(2, 't12')]);
    for (const key of [AK, `arn:aws:iam::${AS}:role/${AK}-developer`, `arn:aws:iam::111111111111:role/acme-${AK}`, `arn:aws:iam::${AK}:role/x`]) expect(isPlainKey(key), key).toBe(false);
    expect(isPlainKey(`arn:aws:iam::${AS}:role/developer`)).toBe(true);
  });

  it('forEachMember writes each member\'s whole tuple, and each pair of two classes\' members', () => {
    prove([team(1, 't1'), team(2, 't-two')], [team(3, 'x')]);
    expect(forEachMember(`arn:aws:iam::${AS}:role/${AK}-${AL}-${A}`)).toEqual([
      'arn:aws:iam::200000000001:role/t1-T1-100000000001',
      'arn:aws:iam::200000000002:role/t-two-TTwo-100000000002',
    ]);
    expect(forEachMember(`${AK}/${BK}`)).toEqual(['t1/x', 't-two/x']);
  });
});

describe('writtenApart: keys a map can look up exactly', () => {
  const developer = (account: string, key: string) => `arn:aws:iam::${account}:role/${key}-developer`;
  it('apart for every member: each class\'s keys, literal keys of no member', () => {
    prove([team(1, 't1'), team(2, 't12')], [team(3, 't1-x')]);
    expect(writtenApart([developer(AS, AK), developer(A, AK), developer(B, BK), AS, A, B, developer('999999999999', 'ops'), `arn:aws:iam::${A}:role/${AL}`])).toBe(true);
  });

  it('not apart: a literal key a member writes, a key two members write, two classes in one key, a token of no class', () => {
    prove([team(1, 't1'), team(2, 't12')], [team(3, 't1-x')]);
    // Team t1's own key written out.
    expect(writtenApart([developer(AS, AK), developer(team(1, 't1').source, 't1')])).toBe(false);
    expect(writtenApart([A, team(2, '').account])).toBe(false);
    // `<K>-x-developer` for t1 and `<J>-developer` for t1-x.
    expect(writtenApart([`role/${AK}-x-developer`, `role/${BK}-developer`])).toBe(false);
    expect(writtenApart([`${AK}/${BK}`])).toBe(false);
    expect(writtenApart([`role/${nameTokenFor(9)}`])).toBe(false);
    // Apart as long as no member writes one as the other.
    expect(writtenApart([`role/${AK}-x-developer`, `role/${AK}-developer`])).toBe(true);
    expect(writtenApart([`role/${AK}2`, `role/${AK}`])).toBe(false);
  });
});

describe('equality', () => {
  it('keys of different lengths: decided from the text around the token, else member by member', () => {
    prove([team(1, 'ta'), team(2, 't-a')]);
    expect(same(`${AK}-a`, 'ta-b')).toBe(false);
    expect(stillCertain()).toBe(true);
    // 'ta-a' is the first member's.
    expect(same(`${AK}-a`, 'ta-a')).toBe(false);
    expect(stillCertain()).toBe(false);
  });

  it('a key that is a prefix of another, and hyphens: `a-<K>` and `<K>` written alike', () => {
    prove([team(1, 'b'), team(2, 'a-b')]);
    expect(same(`a-${AK}`, 'a-a-b')).toBe(false);
    expect(stillCertain()).toBe(false);
    prove([team(1, 'b')], [team(2, 'a-b')]);
    expect(same(`a-${AK}`, BK)).toBe(false);
    expect(stillCertain()).toBe(false);
  });

  it('two account tokens facing are apart in every member; two name tokens facing are not', () => {
    prove([team(1, 't1'), team(2, 't2')], [team(3, 't1')]);
    expect(same(`arn:aws:iam::${A}:role/${AK}`, `arn:aws:iam::${AS}:role/${AK}`)).toBe(false);
    expect(stillCertain()).toBe(true);
    // Both classes have a team t1.
    expect(same(`arn:aws:iam::111111111111:role/${AK}`, `arn:aws:iam::111111111111:role/${BK}`)).toBe(false);
    expect(stillCertain()).toBe(false);
    // A key starting with a digit is its own logical id.
    prove([team(1, '1a'), team(2, 't2')]);
    expect(same(AK, AL)).toBe(false);
    expect(stillCertain()).toBe(false);
  });

  it('in lower case, a logical id compared as each member writes it: `T017` equals `t017`', () => {
    prove([team(1, 't017'), team(2, 't018')]);
    expect(someForEveryMember('=i', [AL.toLowerCase()], `${AK}`.toLowerCase(), sameIgnoringCase)).toBe(true);
    expect(stillCertain()).toBe(true);
    // `same` on the lowered texts would write `T017` against `t017`: what sameIgnoringCase is for.
    prove([team(1, 't017')]);
    expect(someForEveryMember('=i', [AL], 't017', sameIgnoringCase)).toBe(true);
    expect(stillCertain()).toBe(true);
    expect(someForEveryMember('=i', [AL], 't018', sameIgnoringCase)).toBe(false);
    expect(stillCertain()).toBe(true);
  });
});

describe('globs', () => {
  it('twelve `?` take an account token, never a name token, even one of twelve characters', () => {
    prove([team(1, 'abcdefghijkl'), team(2, 'abc')]);
    expect(symbolicGlob('role/????????????', `role/${A}`, '')).toBe(true);
    expect(stillCertain()).toBe(true);
    const got = symbolicGlob('role/????????????', `role/${AK}`, '');
    expect(!stillCertain() || got === false).toBe(true);
    expect(stillCertain()).toBe(false);
  });

  it('a `prefix*` with a key of several lengths: a value shorter than the longest can still start with the shortest', () => {
    prove([team(1, 'ta'), team(2, 'tatat')]);
    expect(symbolicGlob(`${AK}*`, 'ta-a', '')).toBe(false);
    expect(stillCertain()).toBe(false);
    prove([team(1, 'tatat'), team(2, 'tatata')]);
    expect(symbolicGlob(`${AK}*`, 'ta-a', '')).toBe(false);
    expect(stillCertain()).toBe(true);
  });

  it("an action's pattern in capitals matches a key's letters", () => {
    prove([team(1, 'ta'), team(2, 'tb')]);
    expect(symbolicGlob('T?', AK, 'i')).toBe(false);
    expect(stillCertain()).toBe(false);
    // Case-sensitive, no key has a capital.
    prove([team(1, 'ta'), team(2, 'tb')]);
    expect(symbolicGlob('T?', AK, '')).toBe(false);
    expect(stillCertain()).toBe(true);
    expect(symbolicGlob('X?', AL, '')).toBe(false);
    expect(stillCertain()).toBe(true);
  });

  it('a key of several lengths in a value is asked member by member', () => {
    prove([team(1, 'ta'), team(2, 't-aa')]);
    expect(symbolicGlob('t?-*', `${AK}-x`, '')).toBe(false);
    expect(stillCertain()).toBe(false);
    // No member's key holds a colon: no for every member, asked so.
    prove([team(1, 'ta'), team(2, 't-aa')]);
    expect(symbolicGlob('t?:*', `${AK}-x`, '')).toBe(false);
    expect(stillCertain()).toBe(true);
    // Every member's answer the same: certain.
    prove([team(1, 'ta'), team(2, 't-aa')]);
    expect(someForEveryMember('like/', ['t*-x'], `${AK}-x`, (p, v) => symbolicGlob(p, v, ''))).toBe(true);
    expect(stillCertain()).toBe(true);
  });
});

describe('the evaluator with tied tokens', () => {
  const role = `arn:aws:iam::${A}:role/r`;
  const statement = (o: Partial<ResolvedStatement>): ResolvedStatement => ({
    stage: 's',
    account: A,
    policy: 'P/x',
    kind: 'identity',
    effect: 'Allow',
    principals: [],
    actions: ['s3:GetObject'],
    resources: ['*'],
    conditions: {},
    attachedTo: role,
    ...o,
  });
  const request = (context?: Record<string, string[]>): Request => ({ principal: { kind: 'aws', arn: role }, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', resourceAccount: A, context });

  it('StringEqualsIgnoreCase on a logical id: as each member writes it, lowered', () => {
    prove([team(1, 't017'), team(2, 't018')]);
    const grants = [statement({ conditions: { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': [AL] } } })];
    expect(evaluate(new GrantIndex(grants), request({ 'aws:PrincipalTag/team': [AK] })).allowed).toBe(true);
    expect(stillCertain()).toBe(true);
  });

  it('Null with a logical id for its value: `True` for a team `true`, asked member by member', () => {
    const deny = (teams: Team[]) => {
      prove(teams);
      const grants = [statement({}), statement({ effect: 'Deny', conditions: { Null: { 's3:x-amz-server-side-encryption': [AL] } } })];
      return !evaluate(new GrantIndex(grants), request()).allowed;
    };
    expect(deny([team(1, 'true')])).toBe(true);
    expect(stillCertain()).toBe(true);
    deny([team(1, 'true'), team(2, 'false')]);
    expect(stillCertain()).toBe(false);
  });
});
