import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { analyseAccess, type AccessAnalysis } from '../src/audit/paths';
import { buildReport } from '../src/audit/report';
import { toMarkdown } from '../src/audit/render';
import { readsTokenised, readsWrittenInTurn, tokenise, weight, writerInTurn } from '../src/audit/classes';
import { collectGrants, type ResolvedStatement } from '../src/audit/grants';
import { evaluate, GrantIndex, literalMatches, matches } from '../src/audit/evaluate';
import { Resolver } from '../src/audit/resolve';
import { forEachMember, isPlainKey, same, someForEveryMember, startProof, stillCertain, symbolicGlob, tokenFor, unitsMatch } from '../src/audit/symbolic';
import { parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import { orderStages } from '../src/stages/graph';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { classesOf, orgResources } from '../src/audit/reach';
import { auditModel, compareModels } from '../src/audit/since';
import { findTeams, type Teams } from '../src/audit/teams';
import { readFileSync } from 'node:fs';
import { alikeResources, type AlikeResources } from '../src/checks/alike';
import yaml from 'js-yaml';

const T = tokenFor(0);
const U = tokenFor(1);

describe('comparisons with an account token', () => {
  const decide = (members: string[], compare: () => boolean) => {
    startProof([{ token: T, members }, { token: U, members: ['300000000000'] }]);
    const answer = compare();
    return { answer, certain: stillCertain() };
  };

  it('a token equals itself, and a literal id only when that id is a member', () => {
    expect(decide(['100000000001'], () => same(`arn:aws:iam::${T}:role/x`, `arn:aws:iam::${T}:role/x`))).toEqual({ answer: true, certain: true });
    expect(decide(['100000000001', '100000000002'], () => same(T, '900000000000'))).toEqual({ answer: false, certain: true });
    expect(decide(['100000000001', '100000000002'], () => same(T, '100000000002'))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000001'], () => same(`arn:aws:iam::${T}:role/x`, 'arn:aws:iam::100000000001:role/y'))).toEqual({ answer: false, certain: true });
  });

  it("a Numeric condition on an id-valued key is decided member by member: certain when every member answers alike, else not (review s37-evaluator E3: a token read as 'no number' answered no for all)", () => {
    const bucket = { stage: 'x', account: '111111111111', policy: 'Bucket/NumericAllow', kind: 'bucket' as const, effect: 'Allow' as const, principals: [{ kind: 'any' as const }], actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'], conditions: { NumericEquals: { 'aws:PrincipalAccount': ['222222222222'] } } };
    const role = `arn:aws:iam::${T}:role/r`;
    const identity = { stage: 'x', account: T, policy: 'Role/Get', kind: 'identity' as const, effect: 'Allow' as const, attachedTo: role, principals: [], actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'], conditions: {} };
    const ask = () => evaluate(new GrantIndex([bucket, identity] as ResolvedStatement[]), { principal: { kind: 'aws', arn: role }, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', resourceAccount: '111111111111' }).allowed;
    // One member is the account the condition names, the other not: no answer holds for both.
    expect(decide(['222222222222', '333333333333'], ask).certain).toBe(false);
    // Every member is it (a class of one), or none is: certain, and as each member's own request answers.
    expect(decide(['222222222222'], ask)).toEqual({ answer: true, certain: true });
    expect(decide(['333333333333', '444444444444'], ask)).toEqual({ answer: false, certain: true });
  });

  describe('what the evaluator asks of a class principal, decided member by member (review s50-mutations-9)', () => {
    const role = `arn:aws:iam::${T}:role/r`;
    const members = ['100000000001', '100000000002'];
    type Statement = Partial<ResolvedStatement> & Pick<ResolvedStatement, 'account' | 'kind'>;
    const statement = (s: Statement): ResolvedStatement => ({ stage: 'x', policy: `${s.kind}/S`, effect: 'Allow', principals: [], actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'], conditions: {}, ...s }) as ResolvedStatement;
    const identity = (account = T, arn = role, resources = ['arn:aws:s3:::b/*']) => statement({ account, kind: 'identity', attachedTo: arn, resources });
    const bucket = (conditions: ResolvedStatement['conditions'], account = '111111111111', principals: ResolvedStatement['principals'] = [{ kind: 'any' }]) => statement({ account, kind: 'bucket', principals, conditions });
    const ask = (statements: ResolvedStatement[], request: { principal?: string; resource?: string; resourceAccount?: string } = {}) => () =>
      evaluate(new GrantIndex(statements), { principal: { kind: 'aws', arn: request.principal ?? role }, action: 's3:GetObject', resource: request.resource ?? 'arn:aws:s3:::b/k', resourceAccount: request.resourceAccount ?? '111111111111' }).allowed;

    it('two operators on the same values are each decided for itself', () => {
      // ArnLike admits each member's role (the second by its `?`); StringEquals only 100000000001's.
      const roles = ['arn:aws:iam::100000000001:role/r', 'arn:aws:iam::10000000000?:role/r'];
      expect(decide(members, ask([bucket({ ArnLike: { 'aws:PrincipalArn': roles }, StringEquals: { 'aws:PrincipalArn': roles } }), identity()])).certain).toBe(false);
      // Every member's id is below 200000000000, none above.
      const limit = ['200000000000'];
      expect(decide(members, ask([bucket({ NumericLessThan: { 'aws:PrincipalAccount': limit }, NumericGreaterThan: { 'aws:PrincipalAccount': limit } }), identity()]))).toEqual({ answer: false, certain: true });
    });

    it("a list naming each member's account, or a resource pattern naming each member's, holds for every member", () => {
      expect(decide(members, ask([bucket({ StringEquals: { 'aws:PrincipalAccount': members } }), identity()]))).toEqual({ answer: true, certain: true });
      // The identity statement of a class of one names its member's own bucket.
      const own = identity(T, role, [`arn:aws:s3:::b-${T}/*`]);
      expect(decide(['100000000001'], ask([{ ...bucket({}), resources: ['arn:aws:s3:::*'] }, own], { resource: 'arn:aws:s3:::b-100000000001/k' }))).toEqual({ answer: true, certain: true });
    });

    it("a token in the policy's value of a Numeric condition is each member's id: a number", () => {
      const other = 'arn:aws:iam::050000000000:role/r';
      const asked = ask([bucket({ NumericLessThan: { 'aws:PrincipalAccount': [T] } }, T), identity('050000000000', other)], { principal: other, resourceAccount: T });
      expect(decide(['100000000001'], asked)).toEqual({ answer: true, certain: true });
    });

    it("the principal's account against a literal account, and a literal principal against the class's: each answered for some members only", () => {
      // In 100000000001's own account its identity policy suffices; 100000000002 needs a bucket policy that there is not.
      expect(decide(members, ask([identity()], { resourceAccount: '100000000001' })).certain).toBe(false);
      // A bucket policy naming 100000000001's role, not 100000000002's.
      expect(decide(members, ask([bucket({}, '111111111111', [{ kind: 'aws', arn: 'arn:aws:iam::100000000001:role/r' }]), identity()])).certain).toBe(false);
      expect(decide(members, ask([bucket({}, '111111111111', [{ kind: 'aws', arn: '100000000001' }]), identity()])).certain).toBe(false);
    });
  });

  it('strings that line up differently are equal for some ids only: certainty is lost exactly then', () => {
    // `<id>1` and `1<id>` are equal when the id is all ones.
    expect(decide(['111111111111', '100000000002'], () => same(`${T}1`, `1${T}`))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000001', '100000000002'], () => same(`${T}1`, `1${T}`))).toEqual({ answer: false, certain: true });
    // Texts of different lengths once the token is twelve digits never meet; a token against a token of the same class lines up digit for digit.
    expect(decide(['111111111111'], () => same(`${T}1`, '111111111111'))).toEqual({ answer: false, certain: true });
    expect(decide(['111111111111', '111111111112'], () => same(`${T}:${T}`, `111111111111:${T}`))).toEqual({ answer: false, certain: false });
    // Two classes at once are not decided member by member.
    expect(decide(['111111111111'], () => same(`${T}3`, `3${U}`))).toEqual({ answer: false, certain: false });
    // Unless they face each other in the same text: classes share no member, so the two always differ.
    expect(decide(['111111111111'], () => same(`arn:aws:iam::${T}:role/p`, `arn:aws:iam::${U}:role/p`))).toEqual({ answer: false, certain: true });
    expect(decide(['111111111111'], () => same(`arn:aws:iam::900000000000:role/s-${T}`, `arn:aws:iam::900000000000:role/s-${U}`))).toEqual({ answer: false, certain: true });
    // One pair facing a token of another class is enough, wherever it is; a mark that starts no token is read as text.
    expect(decide(['111111111111'], () => same(`${T}:${T}`, `${T}:${U}`))).toEqual({ answer: false, certain: true });
    expect(decide(['111111111111'], () => same(`\uE000x${T}`, `\uE000x${U}`))).toEqual({ answer: false, certain: true });
  });

  it('globs: `*` takes a whole id; `?` and literal digits that could meet an id lose certainty when a member matches', () => {
    expect(decide(['100000000001'], () => symbolicGlob('arn:aws:iam::*:role/x', `arn:aws:iam::${T}:role/x`, ''))).toEqual({ answer: true, certain: true });
    expect(decide(['100000000001'], () => symbolicGlob(`arn:aws:s3:::big-artifacts-${T}-*/*`, `arn:aws:s3:::big-artifacts-${T}-us-east-1/a`, ''))).toEqual({ answer: true, certain: true });
    const pattern = 'arn:aws:s3:::big-artifacts-1000000000?7-us-east-1/*';
    const value = `arn:aws:s3:::big-artifacts-${T}-us-east-1/a`;
    expect(decide(['100000000001', '100000000002'], () => symbolicGlob(pattern, value, ''))).toEqual({ answer: false, certain: true });
    expect(decide(['100000000001', '100000000017'], () => symbolicGlob(pattern, value, ''))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000001'], () => symbolicGlob('arn:aws:s3:::other-*', value, ''))).toEqual({ answer: false, certain: true });
    // A `prefix*` pattern whose digits could meet the token's: decided by the members' ids, as any other glob.
    const prefix = 'arn:aws:s3:::big-artifacts-100000000001*';
    expect(decide(['100000000001', '100000000002'], () => symbolicGlob(prefix, value, ''))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000002', '100000000003'], () => symbolicGlob(prefix, value, ''))).toEqual({ answer: false, certain: true });
    expect(decide(['100000000002'], () => symbolicGlob(`arn:aws:s3:::big-artifacts-${T}-us-east-1/b*`, value, ''))).toEqual({ answer: false, certain: true });
    // The prefix may end inside the token's digits, or run past the value.
    expect(decide(['100000000002'], () => symbolicGlob('a:1000*', `a:${T}`, ''))).toEqual({ answer: false, certain: false });
    expect(decide(['900000000002'], () => symbolicGlob('a:1000*', `a:${T}`, ''))).toEqual({ answer: false, certain: true });
    expect(decide(['100000000002'], () => symbolicGlob('a:1000000000021*', `a:${T}`, ''))).toEqual({ answer: false, certain: true });
  });

  it('a list naming each member its own resource holds for every member, though no one item does; for some members only, certainty is lost', () => {
    const bus = (id: string) => `arn:aws:events:us-east-1:${id}:event-bus/default`;
    const buses = [bus('100000000001'), bus('100000000002')];
    // A source account's forwarder lists the bus of each pipeline account it feeds.
    expect(decide(['100000000001', '100000000002'], () => someForEveryMember('=', buses, bus(T), same))).toEqual({ answer: true, certain: true });
    expect(decide(['100000000001', '100000000003'], () => someForEveryMember('=', buses, bus(T), same))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000003', '100000000004'], () => someForEveryMember('=', buses, bus(T), same))).toEqual({ answer: false, certain: true });
    // An item that holds with the token as a unit answers at once, whatever the other items would.
    expect(decide(['100000000001', '100000000003'], () => someForEveryMember('=', [bus('100000000001'), bus(T)], bus(T), same))).toEqual({ answer: true, certain: true });
  });

  it('a list decided for every member by a glob is not taken for the same list compared by equality', () => {
    const items = ['a:100000000001:x', 'a:1000000000*:x'];
    const glob = (p: string, v: string) => symbolicGlob(p, v, '') || (!p.includes('\uE000') && !v.includes('\uE000') && new RegExp(`^${p.replaceAll('*', '.*')}$`).test(v));
    const both = decide(['100000000001', '100000000002'], () => {
      const byGlob = { answer: someForEveryMember('like', items, `a:${T}:x`, glob), certain: stillCertain() };
      const byEquality = someForEveryMember('=', items, `a:${T}:x`, same);
      return byGlob.answer && byGlob.certain && !byEquality;
    });
    // The glob holds for every member; equality holds for 100000000001 only: uncertain, so the proof is redone account by account.
    expect(both).toEqual({ answer: true, certain: false });
  });

  it('two lists are remembered apart even when one holds the character the other would be joined by', () => {
    const glob = (p: string, v: string) => symbolicGlob(p, v, '') || (!p.includes('\uE000') && !v.includes('\uE000') && new RegExp(`^${p.replaceAll('*', '.*')}$`).test(v));
    const value = `${T}\u0002${T}`;
    // Every member's id starts with 1000000000: the list holds for both.
    const two = ['1000000000*', '*1'];
    // The two joined by U+0002, one pattern: it holds where the id ends in 1 too, for 100000000001 only.
    const one = [two.join('\u0002')];
    const answers = decide(['100000000001', '100000000002'], () => {
      const ofTwo = someForEveryMember('like', two, value, glob) && stillCertain();
      const ofOne = someForEveryMember('like', one, value, glob);
      return ofTwo && !ofOne;
    });
    expect(answers).toEqual({ answer: true, certain: false });
  });

  it('lookup keys: a token only as a whole account, as the account field of an ARN, or at the end after a non-digit', () => {
    expect(isPlainKey(T)).toBe(true);
    expect(isPlainKey(`arn:aws:iam::${T}:role/big-pipeline`)).toBe(true);
    expect(isPlainKey('arn:aws:iam::900000000000:role/big-pipeline')).toBe(true);
    // A name that carries a member's id: the source role of each pipeline account.
    expect(isPlainKey(`arn:aws:iam::900000000000:role/big-source-${T}`)).toBe(true);
    expect(isPlainKey(`arn:aws:iam::${T}:role/big-pipeline-${T}`)).toBe(false);
    expect(isPlainKey(`arn:aws:s3:::big-${T}-us-east-1`)).toBe(false);
    expect(isPlainKey(`arn:aws:s3:::big-1${T}`)).toBe(false);
    expect(isPlainKey(`1${T}`)).toBe(false);
    // Nor in a later field (a literal key could name a member there unseen), nor beside other characters of the account field.
    expect(isPlainKey(`arn:aws:logs:us-east-1:900000000000:log-group:${T}:x`)).toBe(false);
    expect(isPlainKey(`arn:aws:iam::x${T}:role/r`)).toBe(false);
  });

  it('a proof remembers each comparison by its kind and both its texts: another text, or another kind, is decided for itself (review s50-mutations-9)', () => {
    // The token against a non-member, then against a member: the second is not read from the first.
    expect(decide(['100000000001', '100000000002'], () => same(T, '900000000000') || same(T, '100000000002'))).toEqual({ answer: false, certain: false });
    // As a Resource's, the `*` after `1` stays within the first segment, where no member's id follows it: no for every member.
    // As text, it reaches past the colon, where each member's does: no longer no for every member.
    const [pattern, value] = [`1*${T}*`, `${T}1:${T}`];
    const both = decide(['100000000001', '110000000002'], () => {
      const asResource = !symbolicGlob(pattern, value, 'r') && stillCertain();
      return asResource && !symbolicGlob(pattern, value, '');
    });
    expect(both).toEqual({ answer: true, certain: false });
  });

  it('a list is remembered by its items, however their characters would join, and by the value it is asked of (review s50-mutations-9)', () => {
    const members = ['100000000001', '100000000002'];
    const bus = (id: string) => `arn:aws:events:us-east-1:${id}:event-bus/default`;
    // Each a list whose items, joined as they are or each after its length without a separator, read as the first's.
    for (const other of [
      ['1', '00000000001', '100000000002'],
      ['2', '0000000001', '100000000002'],
    ]) {
      // The first holds for every member; the other for 100000000002 only.
      expect(decide(members, () => someForEveryMember('=', members, T, same) && someForEveryMember('=', other, T, same)), other.join(' ')).toEqual({ answer: false, certain: false });
    }
    // The same list asked of another value: decided for that value.
    const items = [bus('100000000001'), bus('100000000002'), 'k-100000000001'];
    expect(decide(members, () => someForEveryMember('=', items, bus(T), same) && someForEveryMember('=', items, `k-${T}`, same))).toEqual({ answer: false, certain: false });
  });

  it('a certainty lost earlier in a proof stays lost, whatever a later list answers for every member (review s50-mutations-9)', () => {
    const members = ['100000000001', '100000000002'];
    const bus = (id: string) => `arn:aws:events:us-east-1:${id}:event-bus/default`;
    const lost = () => same(T, '100000000002');
    // A list found with the token as a unit.
    expect(decide(members, () => lost() || someForEveryMember('=', [T], T, same))).toEqual({ answer: true, certain: false });
    // A list decided member by member.
    expect(decide(members, () => lost() || someForEveryMember('=', members.map(bus), bus(T), same))).toEqual({ answer: true, certain: false });
  });

  it('any digit of a token may be any digit of an id: ids with nines and zeros (review s50-mutations-9)', () => {
    expect(decide(['999999999999', '100000000002'], () => same(T, '999999999999'))).toEqual({ answer: false, certain: false });
    expect(decide(['900000000002'], () => symbolicGlob('a:9*', `a:${T}`, ''))).toEqual({ answer: false, certain: false });
  });

  it('a case-insensitive glob is decided member by member without regard to case (review s50-mutations-9)', () => {
    // `A*1` matches `a<id>` for an id ending in 1, in any case: the answer depends on the id.
    expect(decide(['100000000001', '100000000002'], () => symbolicGlob('A*1', `a${T}`, 'i'))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000002'], () => symbolicGlob('A*1', `a${T}`, 'i'))).toEqual({ answer: false, certain: true });
  });

  it("a Resource's `*` that ends its segment after a token reaches past colons when the token is twelve unknown digits too (review s50-mutations-9)", () => {
    // For member 100000000001 the pattern matches: `a*` ends its segment, so `*` takes `:q`.
    expect(decide(['100000000001'], () => symbolicGlob(`arn:${T}:a*:b`, 'arn:100000000001:a:q:b', 'r'))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000002'], () => symbolicGlob(`arn:${T}:a*:b`, 'arn:100000000001:a:q:b', 'r'))).toEqual({ answer: false, certain: true });
  });

  it('a pattern with a token against a text without one is decided member by member (review s50-mutations-9)', () => {
    expect(decide(['100000000001', '100000000002'], () => matches(`arn:aws:s3:::b-${T}/*`, 'arn:aws:s3:::b-100000000001/k'))).toEqual({ answer: false, certain: false });
    expect(decide(['100000000002', '100000000003'], () => matches(`arn:aws:s3:::b-${T}/*`, 'arn:aws:s3:::b-100000000001/k'))).toEqual({ answer: false, certain: true });
  });

  it("the converse check's match with tokens as units reads a Resource's segments: its `?` takes no colon (review s50-mutations-9)", () => {
    expect(literalMatches(`arn:aws:s3:::b-${T}/a?b`, `arn:aws:s3:::b-${T}/a:b`)).toBe(false);
    expect(literalMatches(`arn:aws:s3:::b-${T}/a?b`, `arn:aws:s3:::b-${T}/a-b`)).toBe(true);
  });

  it("a text with two classes' tokens stands for each pair of members; a text without one, for itself (review s50-mutations-9)", () => {
    startProof([{ token: T, members: ['100000000001', '100000000002'] }, { token: U, members: ['300000000000'] }]);
    expect(forEachMember(`arn:aws:events:us-east-1:${T}:rule/${U}-${T}`).sort()).toEqual([
      'arn:aws:events:us-east-1:100000000001:rule/300000000000-100000000001',
      'arn:aws:events:us-east-1:100000000002:rule/300000000000-100000000002',
    ]);
    expect(forEachMember('arn:aws:s3:::b')).toEqual(['arn:aws:s3:::b']);
  });

  it('a mark that starts no token is read as text, where the texts around two classes\' tokens may still meet (review s50-mutations-9)', () => {
    // `<T>1` and `1<U>` are equal for 120000000000 and 200000000001.
    startProof([{ token: T, members: ['120000000000'] }, { token: U, members: ['200000000001'] }]);
    expect([same(`\uE000x${T}1`, `\uE000x1${U}`), stillCertain()]).toEqual([false, false]);
  });
});

describe('proving pipeline accounts by class', () => {
  // 200 pipeline accounts: past the explicit lists, so the source account's policies use the org-scoped form.
  const org = parseOrg(generateOrgYaml(200), 'generated-200.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const report = (a: AccessAnalysis) => reportOf(org, stages, templates, a);

  it('gives the same proof and the same report as account by account, from one class', () => {
    const byClass = analyseAccess(org, stages, templates, { byClass: true });
    const byAccount = analyseAccess(org, stages, templates, { byClass: false });
    expect(byAccount.problems).toEqual([]);
    expect(byClass.problems).toEqual([]);
    // One class of all 200 accounts: each path and statement of a pipeline account is there once.
    const classed = byClass.paths.filter((p) => p.accounts);
    expect(classed.length).toBeGreaterThan(0);
    expect(classed.every((p) => p.accounts!.length === 200)).toBe(true);
    expect(byClass.results.length).toBeLessThan(byAccount.results.length / 100);
    expect(byClass.results.reduce((n, r) => n + weight(r.path), 0)).toBe(byAccount.results.length);
    expect(byClass.grants.reduce((n, g) => n + weight(g), 0)).toBe(byAccount.grants.length);
    expect(byClass.results.every((r) => r.allowed === !r.path.denied)).toBe(true);
    expect(report(byClass)).toBe(report(byAccount));
  });

  it('is what a compile of a large org does by default', () => {
    const a = analyseAccess(org, stages, templates);
    expect(a.paths.every((p) => p.accounts?.length === 200 || !p.group)).toBe(true);
    expect(a.grants.filter((g) => g.accounts).length).toBeGreaterThan(0);
  });

  it("a statement made for one member that differs from the others' only in a condition value is not merged into the class's: its refusal is found, as account by account (review s40-mutations 6)", () => {
    const odd = '100000000007';
    const copy = new Map(templates);
    const identity = structuredClone(templates.get('source-identity')!);
    const policy = identity.Resources[`SourceRole${odd}SourceActionIn900000000000`].Properties as { PolicyDocument: { Statement: Array<{ Sid: string; Condition: Record<string, Record<string, unknown>> }> } };
    const useKey = policy.PolicyDocument.Statement.find((st) => st.Sid === 'UseArtifactKey')!;
    useKey.Condition['ForAnyValue:StringEquals']['kms:ResourceAliases'] = ['alias/another-key'];
    copy.set('source-identity', identity);
    const byClass = analyseAccess(org, stages, copy, { byClass: true });
    const byAccount = analyseAccess(org, stages, copy, { byClass: false });
    const refused = (a: AccessAnalysis) => a.results.filter((r) => !r.allowed && !r.path.denied).map((r) => r.path.purpose);
    expect(refused(byAccount).length).toBeGreaterThan(0);
    expect(refused(byAccount).every((purpose) => purpose.includes('in env0007'))).toBe(true);
    expect(refused(byClass)).toEqual(refused(byAccount));
    expect(byClass.problems).toEqual(byAccount.problems);
  });

  it("one member's statement twice does not stand for another member's that lacks it: the class proof finds what account by account finds (review s49-mutations-8)", () => {
    const copy = new Map(templates);
    const identity = structuredClone(templates.get('source-identity')!);
    const statements = (id: string) => (identity.Resources[`SourceRole${id}SourceActionIn900000000000`].Properties as { PolicyDocument: { Statement: Array<{ Sid?: string }> } }).PolicyDocument.Statement;
    const doubled = statements('100000000150');
    doubled.push(structuredClone(doubled.find((st) => st.Sid === 'WriteArtifacts')!));
    const lacking = statements('100000000149');
    lacking.splice(lacking.findIndex((st) => st.Sid === 'WriteArtifacts'), 1);
    copy.set('source-identity', identity);
    const byAccount = analyseAccess(org, stages, copy, { byClass: false });
    expect(byAccount.problems.length).toBeGreaterThan(0);
    expect(byAccount.problems.some((p) => p.includes('100000000149'))).toBe(true);
    // No class statement of WriteArtifacts claims member 149's.
    const { grants } = collectGrants(org, stages, new Resolver(org, stages, copy), true);
    expect(grants.filter((g) => g.madeFor !== undefined && g.policy.endsWith('/WriteArtifacts'))).toEqual([]);
    expect(analyseAccess(org, stages, copy, { byClass: true }).problems).toEqual(byAccount.problems);
  });

  it('an account wired differently gets a class of its own, and what is wrong in it is found', () => {
    const odd = '100000000007';
    const wrongRole = 'arn:aws:iam::900000000000:role/someone-else';
    const rewired = withSourceRoleIn(templates, odd, wrongRole);
    const { classes } = collectGrants(org, stages, new Resolver(org, stages, rewired), true);
    expect(classes.has(odd)).toBe(false);
    expect(new Set(classes.values()).size).toBe(1);
    expect(classes.get('100000000008')!.members.length).toBe(199);
    const a = analyseAccess(org, stages, rewired, { byClass: true });
    expect(a.problems.length).toBeGreaterThan(0);
    // Every problem is the odd account's, and each says what is missing or extra.
    for (const p of a.problems) expect(p).toMatch(/env0007|100000000007/);
    expect(a.problems.join('\n')).toContain(`may not s3:PutObject on arn:aws:s3:::big-artifacts-${odd}-us-east-1/big-app/SourceArti/Ab1Cd2E`);
    expect(a.problems.join('\n')).toContain(`to ${wrongRole}, which no declared access path needs`);
    expect(a.problems).toEqual(analyseAccess(org, stages, rewired, { byClass: false }).problems);
  });

  it('an account a template names outside its conditions (in a key or a value) is proved on its own; a token character in a template stops the class proof', () => {
    // In an identity policy of the pipeline accounts (a bucket policy names its own bucket only: grants.ts refuseOtherResources).
    const classesWith = ({ Principal: _, ...statement }: Record<string, unknown>) =>
      collectGrants(org, stages, new Resolver(org, stages, withIdentityStatement(templates, statement)), true).classes;
    const inValue = classesWith({ Sid: 'NamesOne', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::x-100000000009/*' });
    expect(inValue.has('100000000009')).toBe(false);
    expect(inValue.get('100000000008')!.members.length).toBe(199);
    // Within a longer run of digits too: every 12 of them in a row could be an id.
    expect(classesWith({ Sid: 'Run', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::x-9100000000017/*' }).has('100000000017')).toBe(false);
    const inKey = { Sid: 'InKey', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::x/*', Condition: { StringEquals: { 'x:100000000012': 'y' } } };
    expect(classesWith(inKey).has('100000000012')).toBe(false);
    expect(classesWith({ Sid: 'NamesNone', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::x-10000000000/*' }).get('100000000008')!.members.length).toBe(200);
    expect(classesWith({ Sid: `Odd${T}`, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::x/*' }).size).toBe(0);
  });

  it('a pattern that matches some members and not others is proved account by account', () => {
    // Deny writes to the artifact buckets of accounts 100000000007, ...17, ..., ...97: the opaque token
    // matches none of them, so only the certainty check keeps the class proof from missing it.
    const pattern = 'arn:aws:s3:::big-artifacts-1000000000?7-us-east-1/*';
    const denying = withBucketStatement(templates, { Sid: 'DenySome', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: pattern });
    const a = analyseAccess(org, stages, denying, { byClass: true });
    const accounts = new Set(a.problems.map((p) => /big-artifacts-(\d{12})/.exec(p)?.[1]));
    expect([...accounts].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `1000000000${i}7`));
    expect(a.problems.every((p) => p.includes('denied by ArtifactBucketPolicy/DenySome'))).toBe(true);
  });

  it('the converse check reads a class token as a unit: a resource no member uses (`??` is no 12-digit id) fails by class as it does account by account', () => {
    const widened = new Map(templates);
    const foundation = structuredClone(templates.get('pipeline-foundation')!);
    const statements = (foundation.Resources.ArtifactBucketPolicy.Properties as { PolicyDocument: { Statement: Array<{ Sid: string; Resource: unknown }> } }).PolicyDocument.Statement;
    const write = statements.find((x) => x.Sid === 'SourceRolesWriteArtifacts')!;
    write.Resource = [write.Resource, 'arn:aws:s3:::big-artifacts-??-us-east-1/*'];
    widened.set('pipeline-foundation', foundation);
    const byClass = analyseAccess(org, stages, widened, { byClass: true }).problems;
    const byAccount = analyseAccess(org, stages, widened, { byClass: false }).problems;
    expect(byAccount.length).toBe(200);
    expect(byAccount.every((p) => p.includes('on arn:aws:s3:::big-artifacts-??-us-east-1/* to ') && p.includes('which no declared access path needs'))).toBe(true);
    expect(byClass).toEqual(byAccount);
  });

  it("a principal that carries a member's id inside its name, not at its end, is no key a lookup by class can trust: proved account by account (paths.ts exactLookups; review s50-mutations-9)", () => {
    // A Deny for a role of each pipeline account named `big-<id>-x`: tokenised, its ARN holds the token twice.
    const denying = withBucketStatement(templates, { Sid: 'DenyOdd', Effect: 'Deny', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/big-${AWS::AccountId}-x' } }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::big-artifacts-*' });
    const a = analyseAccess(org, stages, denying, { byClass: true });
    expect(a.problems).toEqual([]);
    expect(a.paths.some((p) => p.accounts)).toBe(false);
    expect(a.grants.filter((g) => g.policy === 'ArtifactBucketPolicy/DenyOdd').map((g) => g.account)).toHaveLength(200);
  });

  it('a pattern no member can match keeps the class proof', () => {
    // In an identity policy: a bucket policy names its own bucket only (grants.ts refuseOtherResources).
    const denying = withIdentityStatement(templates, { Sid: 'DenyOthers', Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::big-artifacts-2000000000?7-us-east-1/*' });
    const a = analyseAccess(org, stages, denying, { byClass: true });
    expect(a.problems).toEqual([]);
    expect(a.paths.some((p) => p.accounts?.length === 200)).toBe(true);
  });
});

describe("a source account's alike resources, read by class from their first and second (grants.ts AlikeStatement)", () => {
  const org = parseOrg(generateOrgYaml(200), 'generated-200.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const alikeOf = (t: ReadonlyMap<string, CfnTemplate>) => new Map([...t].map(([id, template]) => [id, alikeResources(template)]));
  /** The grants by class with the templates' alike resources, which must be those collected without them. */
  const grantsBothWays = (t: ReadonlyMap<string, CfnTemplate>, o: Org = org, st: readonly Stage[] = stages) => {
    const resolver = () => new Resolver(o, st, t);
    const read = collectGrants(o, st, resolver(), true, alikeOf(t)).grants;
    expect(read).toEqual(collectGrants(o, st, resolver(), true).grants);
    return read;
  };
  /** source-identity with each resource of a member (by its logical id and the member's id) changed by `change`. */
  const withSourceResources = (change: (logicalId: string, properties: Record<string, unknown>, id: string) => void) => {
    const identity = structuredClone(templates.get('source-identity')!);
    for (const [logicalId, r] of Object.entries(identity.Resources)) {
      const id = /^SourceRole(\d{12})/.exec(logicalId)?.[1];
      if (id) change(logicalId, r.Properties as Record<string, unknown>, id);
    }
    return new Map([...templates, ['source-identity', identity]]);
  };
  /** source-identity with each source role's policy changed by `change` (given its member account's id). */
  const withSourcePolicies = (change: (statements: Array<Record<string, unknown>>, id: string) => void, extra: Record<string, unknown> = {}) => {
    const identity = structuredClone(templates.get('source-identity')!);
    Object.assign(identity.Resources, extra);
    for (const [logicalId, r] of Object.entries(identity.Resources)) {
      const id = /^SourceRole(\d{12})SourceActionIn/.exec(logicalId)?.[1];
      if (id) change((r.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement, id);
    }
    return new Map([...templates, ['source-identity', identity]]);
  };

  it('each source role and its policy are one class statement each, as resolved one by one', () => {
    expect(alikeResources(templates.get('source-identity')!).members).toBeGreaterThan(100);
    const grants = grantsBothWays(templates);
    const made = grants.filter((g) => g.madeFor);
    expect(made.length).toBeGreaterThan(0);
    expect(made.every((g) => g.stage === 'source-identity' && g.account === '900000000000')).toBe(true);
    expect(grants.filter((g) => g.account === '900000000000' && g.policy.startsWith('SourceRole'))).toEqual(made);
  });

  it("a later member whose role is named otherwise stands alone (alike.ts compares role names), and its policy, alike, is read with that role resolved: its statements on their own", () => {
    const odd = 'SourceRole100000000150In900000000000';
    const renamed = new Map(templates);
    const identity = structuredClone(templates.get('source-identity')!);
    (identity.Resources[odd].Properties as { RoleName: string }).RoleName = 'big-source-renamed';
    renamed.set('source-identity', identity);
    expect(alikeResources(identity).first(odd)).toBe(odd);
    expect(alikeResources(identity).first('SourceRole100000000150SourceActionIn900000000000')).not.toBe('SourceRole100000000150SourceActionIn900000000000');
    const grants = grantsBothWays(renamed);
    expect(grants.some((g) => g.attachedTo?.endsWith(':role/big-source-renamed'))).toBe(true);
    expect(grants.some((g) => g.madeFor && g.policy.includes('SourceAction'))).toBe(false);
  });

  it("a later member's role, named as its first's but for the id (alike.ts compares role names), is not resolved to be read by class (grants.ts roleNaming)", () => {
    const resolver = new Resolver(org, stages, templates);
    const compiled: unknown[] = [];
    const compile = resolver.compile.bind(resolver);
    resolver.compile = (stageId, expression) => (compiled.push(expression), compile(stageId, expression));
    const grants = collectGrants(org, stages, resolver, true, alikeOf(templates)).grants;
    expect(grants).toEqual(collectGrants(org, stages, new Resolver(org, stages, templates), true).grants);
    const read = JSON.stringify(compiled);
    // The first's and second's roles are read, a later member's neither as its trust policy's resource nor as its policy's role.
    expect(read).toContain('"Fn::GetAtt":["SourceRole100000000001In900000000000","Arn"]');
    expect(read).not.toContain('"Fn::GetAtt":["SourceRole100000000150In900000000000","Arn"]');
    expect(read).not.toContain('"Ref":"SourceRole100000000150In900000000000"');
  });

  it("a later member's roles named by a text, or by a role whose name is no text, are read by class as resolved one by one", () => {
    const byText = withSourceResources((logicalId, p, id) => {
      if (logicalId.includes('SourceAction')) p.Roles = [`big-source-${id}`];
    });
    expect(grantsBothWays(byText).some((g) => g.madeFor && g.policy.endsWith('/WriteArtifacts'))).toBe(true);
    const joined = withSourceResources((logicalId, p, id) => {
      if (!logicalId.includes('SourceAction')) p.RoleName = { 'Fn::Join': ['-', ['big-source', id]] };
    });
    const grants = grantsBothWays(joined);
    expect(grants.some((g) => g.madeFor && g.policy.endsWith('/WriteArtifacts'))).toBe(true);
    expect(grants.some((g) => g.madeFor && g.policy.endsWith('/PipelineRoleAssumes'))).toBe(true);
  });

  it("a later member's role the org names with a path (deploymentTargets.instanceRoles) is read as resolved: its policy's statements on their own", () => {
    const pathed: Org = { ...org, deploymentTargets: { ...org.deploymentTargets, instanceRoles: ['team/big-source-100000000150'] } };
    const grants = grantsBothWays(templates, pathed);
    expect(grants.some((g) => g.attachedTo?.endsWith(':role/team/big-source-100000000150'))).toBe(true);
    expect(grants.some((g) => g.madeFor && g.policy.includes('SourceAction'))).toBe(false);
  });

  it('a later member whose account is in no class (wired otherwise) is read as resolved', () => {
    const rewired = withSourceRoleIn(templates, '100000000007', 'arn:aws:iam::900000000000:role/someone-else');
    expect(alikeResources(rewired.get('source-identity')!).first('SourceRole100000000007In900000000000')).not.toBe('SourceRole100000000007In900000000000');
    const grants = grantsBothWays(rewired);
    expect(grants.some((g) => g.policy.startsWith('SourceRole100000000007'))).toBe(true);
  });

  it("a statement whose reference brings in the first member's id (the same in every member's) is no class statement, as resolved one by one", () => {
    const first = '100000000001';
    const bucket = { Type: 'AWS::S3::Bucket', Properties: { BucketName: `shared-${first}` } };
    const named = withSourcePolicies((statements) => statements.push({ Sid: 'Shared', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${SharedBucket}/*' } }), { SharedBucket: bucket });
    const grants = grantsBothWays(named);
    const shared = grants.filter((g) => g.policy.endsWith('/Shared'));
    expect(shared.length).toBe(200);
    expect(shared.every((g) => !g.madeFor)).toBe(true);
    expect(grants.some((g) => g.madeFor && g.policy.endsWith('/WriteArtifacts'))).toBe(true);
  });

  it('an id beside digits or beside another of its own (no class statement reads it alone) is read as resolved', () => {
    const besideDigits = withSourcePolicies((statements, id) => statements.push({ Sid: 'Digits', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::x-${id}7/*` }));
    grantsBothWays(besideDigits);
    const twice = withSourcePolicies((statements, id) => statements.push({ Sid: 'Twice', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::x-${id}${id}/*` }));
    grantsBothWays(twice);
    // Alike in the template (a reference beside the id), a digit beside it once resolved: its class statement is made as resolved one by one.
    const seven = { Seven: { Type: 'AWS::S3::Bucket', Properties: { BucketName: '7' } } };
    const resolvedBeside = withSourcePolicies((statements, id) => statements.push({ Sid: 'Beside', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::x-${id}\${Seven}/*` } }), seven);
    expect(grantsBothWays(resolvedBeside).some((g) => g.madeFor && g.policy.endsWith('/Beside'))).toBe(true);
  });

  it("a later member's statements are not compiled: they are read from its first's and second's class statements", () => {
    // The expressions compiled that hold member 150's artifact bucket: its policy's, which the path reads without compiling.
    const compiledFor150 = (alike?: ReadonlyMap<string, AlikeResources>) => {
      const resolver = new Resolver(org, stages, templates);
      const compile = resolver.compile.bind(resolver);
      let count = 0;
      resolver.compile = (stageId, expression) => {
        if (JSON.stringify(expression).includes('big-artifacts-100000000150-')) count++;
        return compile(stageId, expression);
      };
      collectGrants(org, stages, resolver, true, alike);
      return count;
    };
    expect(compiledFor150()).toBeGreaterThan(0);
    expect(compiledFor150(alikeOf(templates))).toBe(0);
  });

  it('where no two accounts share a class (a template holds a token character), every statement is resolved as it is', () => {
    const foundation = structuredClone(templates.get('pipeline-foundation')!);
    Object.assign(foundation, { Metadata: { Note: '\uE000' } });
    const marked = new Map([...templates, ['pipeline-foundation', foundation]]);
    expect(collectGrants(org, stages, new Resolver(org, stages, marked), true, alikeOf(marked)).classes.size).toBe(0);
    const grants = grantsBothWays(marked);
    expect(grants.filter((g) => g.policy.startsWith('SourceRole')).every((g) => !g.madeFor && g.stage === 'source-identity')).toBe(true);
  });

  it("a later member's policy attached to another member's role stands alone (alike.ts compares Roles) and is read as resolved: that role's, naming both", () => {
    const identity = structuredClone(templates.get('source-identity')!);
    const policy = 'SourceRole100000000150SourceActionIn900000000000';
    (identity.Resources[policy].Properties as { Roles: unknown[] }).Roles = [{ Ref: 'SourceRole100000000001In900000000000' }];
    expect(alikeResources(identity).first(policy)).toBe(policy);
    const grants = grantsBothWays(new Map([...templates, ['source-identity', identity]]));
    const moved = grants.filter((g) => g.policy.startsWith(policy));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((g) => !g.madeFor && g.attachedTo === 'arn:aws:iam::900000000000:role/big-source-100000000001')).toBe(true);
  });

  it("a later member's role named otherwise stands alone (alike.ts compares RoleName), its policy on a role of the member's usual name: its trust policy (of the renamed role) is read as resolved", () => {
    const identity = structuredClone(templates.get('source-identity')!);
    const role = 'SourceRole100000000150In900000000000';
    const policy = 'SourceRole100000000150SourceActionIn900000000000';
    (identity.Resources[role].Properties as { RoleName: string }).RoleName = 'big-source-renamed';
    identity.Resources.Spare = {
      Type: 'AWS::IAM::Role',
      Properties: { RoleName: 'big-source-100000000150', AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' }, Action: 'sts:AssumeRole' }] } },
    };
    (identity.Resources[policy].Properties as { Roles: unknown[] }).Roles = [{ Ref: 'Spare' }];
    expect(alikeResources(identity).first(role)).toBe(role);
    const grants = grantsBothWays(new Map([...templates, ['source-identity', identity]]));
    const trust = grants.filter((g) => g.kind === 'trust' && g.policy.startsWith(role));
    expect(trust.length).toBeGreaterThan(0);
    expect(trust.every((g) => !g.madeFor && g.resources.includes('arn:aws:iam::900000000000:role/big-source-renamed'))).toBe(true);
  });

  it("a member of the class without a source role leaves each source statement the members' one by one; with a later member in no class too, that one does not stand in for it", () => {
    const without150 = structuredClone(templates.get('source-identity')!);
    delete without150.Resources.SourceRole100000000150In900000000000;
    delete without150.Resources.SourceRole100000000150SourceActionIn900000000000;
    const byClass = (grants: ResolvedStatement[]) => grants.filter((g) => g.madeFor && g.policy.startsWith('SourceRole'));
    expect(byClass(grantsBothWays(new Map([...templates, ['source-identity', without150]])))).toEqual([]);
    // 100000000007 wired otherwise: in no class, its source role and policy still alike, past the second.
    const rewired = withSourceRoleIn(templates, '100000000007', 'arn:aws:iam::900000000000:role/someone-else');
    rewired.set('source-identity', without150);
    expect(collectGrants(org, stages, new Resolver(org, stages, rewired), true).classes.has('100000000007')).toBe(false);
    expect(alikeResources(without150).first('SourceRole100000000007In900000000000')).toBe('SourceRole100000000001In900000000000');
    expect(byClass(grantsBothWays(rewired))).toEqual([]);
  });

  it("a member's id within a longer number a reference brings into every member's statement (its resource, condition or principal): no class statement, as resolved one by one", () => {
    // In no template text (alike.ts keeps member 150 in the class), in every resolved one.
    const within = { Within: { Type: 'AWS::S3::Bucket', Properties: { BucketName: '9100000000150' } } };
    const inResource = withSourcePolicies(
      (statements, id) => statements.push({ Sid: 'Within', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::x-${id}-\${Within}/*` } }),
      within,
    );
    const inCondition = withSourcePolicies(
      (statements, id) =>
        statements.push({ Sid: 'Within', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::x-${id}/*`, Condition: { StringEquals: { 's3:ExistingObjectTag/batch': { Ref: 'Within' } } } }),
      within,
    );
    const inPrincipal = structuredClone(templates.get('source-identity')!);
    Object.assign(inPrincipal.Resources, within);
    for (const [logicalId, r] of Object.entries(inPrincipal.Resources)) {
      if (!/^SourceRole\d{12}In/.test(logicalId)) continue;
      (r.Properties as { AssumeRolePolicyDocument: { Statement: unknown[] } }).AssumeRolePolicyDocument.Statement.push({
        Sid: 'Within', Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::900000000000:role/batch-${Within}' } }, Action: 'sts:AssumeRole',
      });
    }
    for (const t of [inResource, inCondition, new Map([...templates, ['source-identity', inPrincipal]])]) {
      expect(alikeResources(t.get('source-identity')!).first('SourceRole100000000150In900000000000')).toBe('SourceRole100000000001In900000000000');
      const grants = grantsBothWays(t);
      expect(grants.filter((g) => g.policy.endsWith('/Within')).length).toBe(200);
      expect(grants.some((g) => g.madeFor && g.policy.endsWith('/Within'))).toBe(false);
    }
  });

  /** The org with member 110000000015 for 100000000099: '1' before member 100000000150's id reads, as twelve digits, as 110000000015. */
  const withMember110000000015 = () => {
    const other = parseOrg(generateOrgYaml(200).replaceAll('100000000099', '110000000015'), 'generated-200.yaml');
    const otherStages = planStages(other);
    return { other, otherStages, otherTemplates: new Map(otherStages.map((s) => [s.id, renderTemplate(s.definition)])) };
  };

  it("a digit before the id where it and the id's first eleven digits are another member's id: no class statement, as resolved one by one", () => {
    const { other, otherStages, otherTemplates } = withMember110000000015();
    const identity = otherTemplates.get('source-identity')!;
    identity.Resources.One = { Type: 'AWS::S3::Bucket', Properties: { BucketName: '1' } };
    for (const [logicalId, r] of Object.entries(identity.Resources)) {
      const id = /^SourceRole(\d{12})SourceActionIn/.exec(logicalId)?.[1];
      if (!id) continue;
      (r.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument.Statement.push({
        Sid: 'Beside', Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::x-${id}-\${One}${id}/*` },
      });
    }
    expect(alikeResources(identity).first('SourceRole100000000150SourceActionIn900000000000')).toBe('SourceRole100000000001SourceActionIn900000000000');
    const grants = grantsBothWays(otherTemplates, other, otherStages);
    expect(grants.some((g) => !g.madeFor && g.policy === 'SourceRole100000000150SourceActionIn900000000000/Beside')).toBe(true);
    expect(grants.some((g) => g.madeFor && g.policy.endsWith('/Beside'))).toBe(false);
  });

  it("a digit before the id in every class policy's role name (not compared by alike.ts) where it and the id's first eleven digits are another member's id: no class statement, as resolved one by one", () => {
    const { other, otherStages, otherTemplates } = withMember110000000015();
    const identity = otherTemplates.get('source-identity')!;
    let n = 0;
    for (const [logicalId, r] of Object.entries(identity.Resources)) {
      const id = /^SourceRole(\d{12})In/.exec(logicalId)?.[1];
      if (!id) continue;
      const p = r.Properties as { RoleName: string; AssumeRolePolicyDocument: { Statement: Array<Record<string, unknown>> } };
      p.RoleName = `big-source-${id}-1${id}`;
      // Each role's trust its own (no class of alike roles): only the policies attached to them are read by class.
      p.AssumeRolePolicyDocument.Statement[0].Sid = `PipelineRoleAssumes${'x'.repeat(++n)}`;
    }
    expect(alikeResources(identity).first('SourceRole100000000150In900000000000')).toBe('SourceRole100000000150In900000000000');
    expect(alikeResources(identity).first('SourceRole100000000150SourceActionIn900000000000')).toBe('SourceRole100000000001SourceActionIn900000000000');
    const grants = grantsBothWays(otherTemplates, other, otherStages);
    expect(grants.some((g) => !g.madeFor && g.attachedTo === 'arn:aws:iam::900000000000:role/big-source-100000000150-1100000000150')).toBe(true);
    expect(grants.some((g) => g.madeFor && g.kind === 'identity' && g.policy.startsWith('SourceRole'))).toBe(false);
  });

  it("a later member's policy attached to two roles (its own and the first's) stands alone, another member's policy gone: each role's statements as resolved", () => {
    const identity = structuredClone(templates.get('source-identity')!);
    const policy = 'SourceRole100000000150SourceActionIn900000000000';
    (identity.Resources[policy].Properties as { Roles: unknown[] }).Roles = [{ Ref: 'SourceRole100000000150In900000000000' }, { Ref: 'SourceRole100000000001In900000000000' }];
    delete identity.Resources.SourceRole100000000149SourceActionIn900000000000;
    expect(alikeResources(identity).first(policy)).toBe(policy);
    const grants = grantsBothWays(new Map([...templates, ['source-identity', identity]]));
    expect(grants.some((g) => g.policy.startsWith(policy) && g.attachedTo === 'arn:aws:iam::900000000000:role/big-source-100000000001')).toBe(true);
    expect(grants.some((g) => g.madeFor && g.kind === 'identity' && g.policy.startsWith('SourceRole'))).toBe(false);
  });

  it("a label naming a member of the classes (a Sid with another pipeline account's id) is compared member by member, as resolved one by one", () => {
    const also = withSourcePolicies((statements) => statements.push({ Sid: 'Also100000000003', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::x/*' }));
    const grants = grantsBothWays(also);
    expect(grants.filter((g) => g.policy.endsWith('/Also100000000003')).length).toBeGreaterThan(0);
  });

  it('is what the compile uses', () => {
    const withAlike = analyseAccess(org, stages, templates, { byClass: true, alike: alikeOf(templates) });
    const without = analyseAccess(org, stages, templates, { byClass: true });
    expect(withAlike.problems).toEqual([]);
    expect(reportOf(org, stages, templates, withAlike)).toBe(reportOf(org, stages, templates, without));
  });
});

describe('proving by class, with several classes and access settings', () => {
  // The example org (developers and CI in the tools account) with 200 more pipeline accounts: web-app runs in
  // every one, payments-api in every other one. Two classes: with both pipelines (100, and dev and prod of the
  // example), with web-app only (100, and staging).
  const example = yaml.load(readFileSync('parameters/example.yaml', 'utf8')) as {
    accounts: Record<string, unknown>;
    pipelines: Record<string, { branches: Record<string, string> }>;
  };
  for (let i = 1; i <= 200; i++) {
    const name = `env${String(i).padStart(3, '0')}`;
    example.accounts[name] = { id: String(600000000000 + i), role: 'pipeline', environment: name };
    example.pipelines['web-app'].branches[name] = 'main';
    if (i % 2 === 0) example.pipelines['payments-api'].branches[name] = 'main';
  }
  const org = parseOrg(yaml.dump(example), 'example-plus-200.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));

  it('gives the same report as account by account', () => {
    const byClass = analyseAccess(org, stages, templates, { byClass: true });
    const byAccount = analyseAccess(org, stages, templates, { byClass: false });
    expect(byAccount.problems).toEqual([]);
    const sizes = [...new Set(byClass.paths.flatMap((p) => (p.accounts ? [p.accounts] : [])))].map((a) => a.length).sort((x, y) => x - y);
    expect(sizes).toEqual([101, 102]);
    // The developers' and CI's paths (tools and source accounts, no class) are proved as before.
    expect(byClass.paths.filter((p) => !p.accounts)).toEqual(byAccount.paths.filter((p) => !p.group));
    expect(byClass.results.reduce((n, r) => n + weight(r.path), 0)).toBe(byAccount.results.length);
    expect(reportOf(org, stages, templates, byClass)).toBe(reportOf(org, stages, templates, byAccount));
  });
});

describe('an org of teams: the environments of each team are a class', () => {
  // Each team's source account forwards to its own three pipeline accounts, listing their buses: decided for the list as a whole.
  const org = parseOrg(generateTeamsOrgYaml(6), 'teams-6.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const byClass = analyseAccess(org, stages, templates, { byClass: true });
  const byAccount = analyseAccess(org, stages, templates, { byClass: false });
  // With the templates: each pipeline's branch per account and every template's resource are compared too.
  const compiled = { org, stages, templates, resolver: new Resolver(org, stages, templates) };
  const modelOf = (a: AccessAnalysis, teams?: Teams) => auditModel(org.file, { orgFileSha256: null }, orgResources(org, stages, templates, classesOf(a)), a, teams, compiled);

  it('proves the three environments of each team once, with the same results as account by account', () => {
    expect(byAccount.problems).toEqual([]);
    expect(byClass.problems).toEqual([]);
    const classes = [...new Set(byClass.paths.flatMap((p) => (p.accounts ? [p.accounts.join()] : [])))];
    expect(classes).toHaveLength(6);
    expect(byClass.results.length).toBeLessThan(byAccount.results.length / 2);
    expect(byClass.results.reduce((n, r) => n + weight(r.path), 0)).toBe(byAccount.results.length);
    expect(byClass.grants.reduce((n, g) => n + weight(g), 0)).toBe(byAccount.grants.length);
  });

  it('a token character in a template deployed to source accounts only (read in place, not as text) stops the class proof', () => {
    const source = stages.find((s) => s.module === 'source-identity' && s.targets.length > 1 && s.targets.every((a) => a.role === 'source'))!;
    const classesWith = (change: (t: CfnTemplate) => void) => {
      const copy = new Map(templates);
      const t = structuredClone(templates.get(source.id)!);
      change(t);
      copy.set(source.id, t);
      return collectGrants(org, stages, new Resolver(org, stages, copy), true).classes;
    };
    expect(classesWith(() => {}).size).toBe(18);
    const [first] = Object.keys(templates.get(source.id)!.Resources);
    expect(classesWith((t) => (t.Resources[`Odd${T}`] = t.Resources[first])).size).toBe(0);
    expect(classesWith((t) => ((t.Resources[first] as { Metadata?: unknown }).Metadata = { Note: [`x\uF000`] })).size).toBe(0);
  });

  it('writes an audit model that reads the same as account by account: no change between the two', () => {
    const changes = compareModels(modelOf(byAccount), modelOf(byClass));
    expect(changes.grants).toEqual({ added: [], removed: [] });
    expect(changes.trust).toEqual({ added: [], removed: [] });
    expect(changes.paths).toEqual({ added: [], removed: [], newlyAllowed: [], newlyRefused: [], newlyUndecided: [] });
    // A source role made for each member is listed in the source account that holds it, under its own name.
    expect(changes.resources).toEqual([]);
    // Tokens are the proof's own characters: none is written into the model.
    expect(JSON.stringify(modelOf(byClass))).not.toMatch(/[\uE000-\uF8FF]/);
  });

  it('folded by team as well (teams.ts), the model by class reads the same as account by account, and as unfolded', () => {
    const teams = findTeams(org)!;
    const none = { resources: [], releases: [], grants: { added: [], removed: [] }, trust: { added: [], removed: [] }, paths: { added: [], removed: [], newlyAllowed: [], newlyRefused: [], newlyUndecided: [] }, conditions: [] };
    expect(compareModels(modelOf(byAccount, teams), modelOf(byClass, teams))).toEqual(none);
    expect(compareModels(modelOf(byAccount), modelOf(byClass, teams))).toEqual(none);
    expect(JSON.stringify(modelOf(byClass, teams))).not.toMatch(/[\uE000-\uF8FF]/);
  });
});

/** The audit report in Markdown, from an analysis. */
const reportOf = (org: Org, stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, access: AccessAnalysis) =>
  toMarkdown(buildReport({ org, stages, templates, rollout: orderStages(stages), access, files: new Map(), svg: '' }));

/** The foundation naming another role than the source role in one account, chosen as the template chooses per-account values: by a condition on the account. */
function withSourceRoleIn(templates: ReadonlyMap<string, CfnTemplate>, account: string, role: string): Map<string, CfnTemplate> {
  const copy = new Map(templates);
  const foundation = structuredClone(templates.get('pipeline-foundation')!);
  foundation.Conditions = { ...foundation.Conditions, OddAccount: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, account] } };
  const json = JSON.stringify(foundation).replaceAll(
    '{"Fn::Sub":"arn:${AWS::Partition}:iam::900000000000:role/big-source-${AWS::AccountId}"}',
    `{"Fn::If":["OddAccount","${role}",{"Fn::Sub":"arn:\${AWS::Partition}:iam::900000000000:role/big-source-\${AWS::AccountId}"}]}`,
  );
  expect(json).not.toBe(JSON.stringify(foundation));
  copy.set('pipeline-foundation', JSON.parse(json) as CfnTemplate);
  return copy;
}

/** `statement` added to a policy of pipeline-foundation: its artifact bucket's, or the deployment targets' managed policy. */
function withStatementIn(policyId: 'ArtifactBucketPolicy' | 'DeployTargetArtifactsPolicy', templates: ReadonlyMap<string, CfnTemplate>, statement: Record<string, unknown>): Map<string, CfnTemplate> {
  const copy = new Map(templates);
  const foundation = structuredClone(templates.get('pipeline-foundation')!);
  const policy = foundation.Resources[policyId].Properties as { PolicyDocument: { Statement: unknown[] } };
  policy.PolicyDocument.Statement.push(statement);
  copy.set('pipeline-foundation', foundation);
  return copy;
}
const withBucketStatement = (templates: ReadonlyMap<string, CfnTemplate>, statement: Record<string, unknown>) => withStatementIn('ArtifactBucketPolicy', templates, statement);
const withIdentityStatement = (templates: ReadonlyMap<string, CfnTemplate>, statement: Record<string, unknown>) => withStatementIn('DeployTargetArtifactsPolicy', templates, statement);

describe("a class's token as twelve `?`", () => {
  it('twelve `?` in a row take a whole token (it stands for twelve digits), and match a member id as they would; fewer or more do not take it alone (review s36-delta n2)', () => {
    const role = (name: string) => `arn:aws:iam::900000000000:role/${name}`;
    expect(unitsMatch(role('acme-source-????????????'), role(`acme-source-${T}`))).toBe(true);
    expect(unitsMatch(role('acme-source-????????????-*'), role(`acme-source-${T}-x`))).toBe(true);
    expect(unitsMatch(role('acme-source-????????????'), role('acme-source-100000000001'))).toBe(true);
    expect(unitsMatch(role('acme-source-???????????'), role(`acme-source-${T}`))).toBe(false);
    expect(unitsMatch(role('acme-source-?'), role(`acme-source-${T}`))).toBe(false);
    // Twelve `?` take a whole token or twelve characters of no token, not a token and ten more.
    expect(unitsMatch('a????????????', `a${T}0123456789`)).toBe(false);
    expect(unitsMatch('a????????????', 'a012345678901')).toBe(true);
  });
});

describe('readsTokenised: a text compared with its tokenised form in place (review s45-diff D6)', () => {
  it('answers as comparing with tokenise(text) would, over texts built from the account, its pieces and the token (seeded)', () => {
    const account = '111122223333';
    const token = '\uE000\uE101';
    const pieces = [account, '1111', '2222', '3333', '1', ':', 'arn:aws:iam::', token, '/role/x', ''];
    let seed = 45;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const textOf = () => Array.from({ length: next(6) }, () => pieces[next(pieces.length)]).join('');
    let agreeing = 0;
    for (let n = 0; n < 20_000; n++) {
      const text = textOf();
      const tokenised = tokenise(text, account, token);
      // Its own tokenised form, another text's, and near misses of its own (a character dropped or changed).
      const candidates = [tokenised, tokenise(textOf(), account, token), tokenised.slice(1), `${tokenised}x`, tokenised.replace(token, account)];
      for (const written of candidates) {
        expect(readsTokenised(written, text, account, token), JSON.stringify({ written, text })).toBe(written === tokenised);
        if (written === tokenised) agreeing++;
      }
    }
    expect(agreeing).toBeGreaterThan(20_000);
  });
});

describe('readsWrittenInTurn: a text written in turn with a member\'s values (reach.ts writerFor), compared in place', () => {
  // As writerFor writes: each token in turn, replaced throughout.
  const inTurn = (values: ReadonlyArray<readonly [string, string]>, text: string) => values.reduce((s, [token, value]) => s.replaceAll(token, value), text);
  const [A, B, C, D] = [0, 1, 2, 3].map((i) => tokenFor(200 + i));
  const MARK = '\uE000';
  const PAST_MARK = B[1];

  it('reads as writing in turn then comparing would, where it reads in place, over seeded texts and values', () => {
    // Values that keep writing in turn the same as at once (ids, names, a token written for none), and those that do not.
    const values = ['111122223333', 't001', 'a1b2c3', D, '', A, `x${MARK}`, `${PAST_MARK}y`, `${MARK}${PAST_MARK}`];
    const pieces = [A, B, C, D, MARK, PAST_MARK, 'arn:aws:iam::', ':role/', '1111', 'x', ''];
    let seed = 53;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const textOf = () => Array.from({ length: next(7) }, () => pieces[next(pieces.length)]).join('');
    let inPlace = 0;
    let refused = 0;
    for (let n = 0; n < 5_000; n++) {
      const tokens = [A, B, C].slice(0, 1 + next(3));
      const written: Array<[string, string]> = tokens.map((token) => [token, values[next(values.length)]]);
      const reads = readsWrittenInTurn(written, new Map());
      if (!reads) {
        refused++;
        continue;
      }
      inPlace++;
      for (let k = 0; k < 4; k++) {
        const text = textOf();
        const own = inTurn(written, text);
        // Its own written form, another text's, and near misses of it (a character dropped or added, a token left as it is).
        for (const candidate of [own, inTurn(written, textOf()), own.slice(1), `${own}x`, text]) {
          expect(reads(text, candidate), JSON.stringify({ written, text, candidate })).toBe(candidate === own);
        }
      }
    }
    expect(inPlace).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(1_000);
  });

  it('reads texts whose pieces hold Latin-1 and wider characters as writing in turn then comparing would (pieces are copied one-byte where they can be)', () => {
    // A piece cut from a text holding tokens is copied one-byte when each of its characters is Latin-1: a copy that
    // dropped or changed a character (a wider one written as Latin-1) would read a text otherwise than writing it does.
    const values = ['111122223333', 't001', 'é1', 'Ā', '中文', D];
    const pieces = [A, B, C, 'arn:aws:iam::', ':role/', 'é', 'ÿ-x', 'Ā', '中', '😀', '\u0100\u00ff', 'x'];
    let seed = 55;
    const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 8) % n);
    const textOf = () => Array.from({ length: 1 + next(6) }, () => pieces[next(pieces.length)]).join('');
    let wide = 0;
    for (let n = 0; n < 2_000; n++) {
      const tokens = [A, B, C].slice(0, 1 + next(3));
      const written: Array<[string, string]> = tokens.map((token) => [token, values[next(values.length)]]);
      const reads = readsWrittenInTurn(written, new Map());
      expect(reads).toBeDefined();
      const text = textOf();
      const own = inTurn(written, text);
      if (/[^\x00-\xff]/.test(text.replace(/\uE000./g, ''))) wide++;
      // Its own written form; the same with a wider character as a Latin-1 copy would mangle it (its low byte), a
      // Latin-1 one as a wider one or as UTF-8 misread; another text's.
      const mangled = [own.replaceAll('Ā', '\u0000'), own.replaceAll('中', '-'), own.replaceAll('😀', '\u003d\u0000'), own.replaceAll('é', '\u0129'), own.replaceAll('é', 'Ã©'), own.replaceAll('ÿ', '\u0178')];
      for (const candidate of [own, ...mangled, inTurn(written, textOf())]) {
        expect(reads!(text, candidate), JSON.stringify({ written, text, candidate })).toBe(candidate === own);
      }
    }
    expect(wide).toBeGreaterThan(500);
  });

  it('writerInTurn writes each text as writing in turn does, at once where the reader reads in place, over seeded texts and values', () => {
    const values = ['111122223333', 't001', 'a1b2c3', D, '', A, `x${MARK}`, `${PAST_MARK}y`, `${MARK}${PAST_MARK}`];
    const pieces = [A, B, C, D, MARK, PAST_MARK, `${MARK}${MARK}`, 'arn:aws:iam::', ':role/', '1111', 'x', ''];
    let seed = 54;
    const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 8) % n);
    let atOnce = 0;
    let changed = 0;
    for (let n = 0; n < 3_000; n++) {
      const tokens = [A, B, C].slice(0, 1 + next(3));
      const written: Array<[string, string]> = tokens.map((token) => [token, values[next(values.length)]]);
      if (readsWrittenInTurn(written, new Map())) atOnce++;
      const write = writerInTurn(written);
      for (let k = 0; k < 4; k++) {
        const text = Array.from({ length: next(7) }, () => pieces[next(pieces.length)]).join('');
        const own = inTurn(written, text);
        expect(write(text), JSON.stringify({ written, text })).toBe(own);
        if (own !== text) changed++;
      }
    }
    expect(atOnce).toBeGreaterThan(500);
    expect(atOnce).toBeLessThan(2_500);
    expect(changed).toBeGreaterThan(3_000);
  });

  it('gives no reader where writing in turn differs from writing at once', () => {
    // An empty value joins a mark to the character after a token: a token written after it.
    const emptied: Array<[string, string]> = [[A, ''], [B, 'b']];
    expect(inTurn(emptied, `${MARK}${A}${PAST_MARK}`)).toBe('b');
    expect(readsWrittenInTurn(emptied, new Map())).toBeUndefined();
    // A value that is a token written after it is written again.
    expect(inTurn([[A, B], [B, 'b']], A)).toBe('b');
    expect(readsWrittenInTurn([[A, B], [B, 'b']], new Map())).toBeUndefined();
    // A value ending with a mark makes a token of the character after it.
    expect(readsWrittenInTurn([[A, `x${MARK}`], [B, 'b']], new Map())).toBeUndefined();
    // A token written twice, or a text that is no token.
    expect(readsWrittenInTurn([[A, 'a'], [A, 'b']], new Map())).toBeUndefined();
    expect(readsWrittenInTurn([['t001', 'a']], new Map())).toBeUndefined();
    // A member's account class's token, written for none of them, and ids and names: read in place.
    expect(readsWrittenInTurn([[A, D], [B, '111122223333'], [C, 't001']], new Map())).toBeDefined();
  });
});
