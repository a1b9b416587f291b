/**
 * Tied tokens (src/audit/symbolic.ts): classes whose members are tuples, a team's pipeline account id (the class's
 * own token), its source account's id, its key and the key's logical-id form, fuzzed against a reference that writes
 * each member's whole tuple and compares plainly: whenever an answer leaves the proof certain, it must be the answer
 * for every member (every pair of members when two classes meet). Globs and the reference as symbolic-fuzz.test.ts's:
 * IAM's `*` and `?` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String),
 * a Resource element's within an ARN's segments (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 *
 * Each case draws its members' keys one of four ways: all of one length, of different lengths, one a prefix of
 * another (`t1`, `t1-a`), or with hyphens where another has none (now and then one team's environments, members that
 * share a source account and key); its ids over the digits 0-2 (ids and literal digits
 * collide), its texts from those tokens, fragments of the members' values (a key, a logical id, a part of an id) and
 * characters of both cases. Each case starts one proof and asks 1-4 questions of mixed kinds, so that what the engine
 * remembers member by member is read back by later questions. In a quarter of the cases the second class is an
 * account class of today's, beside the first's tied tokens.
 */
import { describe, expect, it } from 'vitest';
import { random } from './support/seeded-random';
import { matches, matchesResource } from '../src/audit/evaluate';
import { logicalId } from '../src/cfn/resources';
import {
  decidedByMembers,
  type Flags,
  forEachMember,
  type ProofClass,
  same,
  sameIgnoringCase,
  someForEveryMember,
  startProof,
  stillCertain,
  symbolicGlob,
  writtenApart,
} from '../src/audit/symbolic';
import { referenceGlob, referenceMatch } from './support/reference-glob';
import { A, AK, AL, AS, B, BK, teamClass, type Team } from './support/tied-teams';

/** Team A: its pipeline account (own token), source account, key, logical id. Team B: its pipeline account and key. */
const TOKENS = [A, AS, AK, AL, B, BK];

type Op =
  | { kind: 'same'; a: string; b: string }
  | { kind: 'same ignoring case'; a: string; b: string }
  | { kind: 'glob'; pattern: string; value: string; flags: Flags }
  | { kind: 'list'; patterns: string[]; value: string; flags: Flags }
  | { kind: 'equal list'; items: string[]; value: string }
  | { kind: 'equal list ignoring case'; items: string[]; value: string }
  | { kind: 'numeric'; items: string[]; value: string }
  | { kind: 'each member'; text: string }
  | { kind: 'apart'; texts: string[] };

const lessThan = (item: string, value: string) => /^\d+$/.test(item) && /^\d+$/.test(value) && Number(value) < Number(item);
const MATCHERS: Record<Flags, (pattern: string, value: string) => boolean> = { '': (p, v) => matches(p, v), i: (p, v) => matches(p, v, true), r: matchesResource };

/**
 * The two classes of a case, as a proof takes them. `plainB`: the second an account class of today's, without tied
 * tokens (its key token then of no class: a certain answer must hold whatever it stands for, the reference's key too).
 */
function classesOf(a: readonly Team[], b: readonly Team[], plainB: boolean): ProofClass[] {
  return [
    teamClass(a),
    { token: B, members: b.map((t) => t.account), ...(plainB ? {} : { tied: [{ token: BK, kind: 'key' as const, values: b.map((t) => t.key) }] }) },
  ];
}

/** A text as team `a` of the first class and team `b` of the second write it. */
const written = (s: string, a: Team, b: Team) =>
  s.replaceAll(A, a.account).replaceAll(AS, a.source).replaceAll(AK, a.key).replaceAll(AL, logicalId(a.key)).replaceAll(B, b.account).replaceAll(BK, b.key);

function reference(op: Op, a: Team, b: Team): boolean {
  const at = (s: string) => written(s, a, b);
  switch (op.kind) {
    case 'same':
      return at(op.a) === at(op.b);
    case 'same ignoring case':
      return at(op.a).toLowerCase() === at(op.b).toLowerCase();
    case 'glob':
      return referenceGlob(at(op.pattern), at(op.value), op.flags);
    case 'list':
      return op.patterns.some((p) => referenceMatch(at(p), at(op.value), op.flags));
    case 'equal list':
      return op.items.some((x) => at(x) === at(op.value));
    case 'equal list ignoring case':
      return op.items.some((x) => at(x).toLowerCase() === at(op.value).toLowerCase());
    case 'numeric':
      return op.items.some((x) => lessThan(at(x), at(op.value)));
    case 'each member':
      throw new Error('asked apart');
    case 'apart': {
      // Texts apart as written, apart as this pair of members writes them.
      const texts = [...new Set(op.texts)];
      return new Set(texts.map(at)).size === texts.length;
    }
  }
}

/** What the evaluator asks (evaluate.ts): the comparison itself, or a list decided for every member as anyMatches and valueMatches do. */
function answer(op: Op): boolean {
  switch (op.kind) {
    case 'same':
      return same(op.a, op.b);
    case 'same ignoring case':
      return sameIgnoringCase(op.a, op.b);
    case 'glob':
      return symbolicGlob(op.pattern, op.value, op.flags);
    case 'list':
      return someForEveryMember(`like/${op.flags}`, op.patterns, op.value, MATCHERS[op.flags]);
    case 'equal list':
      return someForEveryMember('=', op.items, op.value, same);
    case 'equal list ignoring case':
      return someForEveryMember('=i', op.items.map((x) => x.toLowerCase()), op.value.toLowerCase(), sameIgnoringCase);
    case 'numeric':
      return decidedByMembers('numeric <', op.items, op.value, lessThan);
    case 'apart':
      return writtenApart(op.texts);
    case 'each member':
      throw new Error('asked apart');
  }
}

const flagsOf = (x: number): Flags => (x < 0.3 ? 'i' : x < 0.6 ? 'r' : '');

function cases(count: number, seed: number) {
  const rnd = random(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rnd() * xs.length)];
  const id = () => Array.from({ length: 12 }, () => pick(['0', '1', '1', '2'])).join('');
  // A key may start with a digit (`1a`, whose logical id is itself); one of digits alone is none (startProof refuses it).
  const word = (length: number) => pick(['t', 'a', 'x', '1']) + Array.from({ length: length - 1 }, () => pick(['t', 'a', '1', '0', '-'])).join('');
  /** Keys one of four ways (see the file's comment). */
  const keys = (n: number): string[] => {
    const way = rnd();
    if (way < 0.3) {
      const length = 1 + Math.floor(rnd() * 4);
      return Array.from({ length: n }, () => word(length));
    }
    if (way < 0.55) return Array.from({ length: n }, () => word(1 + Math.floor(rnd() * 5)));
    if (way < 0.8) {
      const base = word(1 + Math.floor(rnd() * 3));
      return Array.from({ length: n }, (_, i) => (i === 0 ? base : base + pick(['-', '1', 'a', '-a', '1-'])));
    }
    return Array.from({ length: n }, () => pick(['t1', 't-1', 'ta', 't-a', 'a-t', 'at', '1a', '1-a']));
  };
  // Now and then one team's environments, each a member: one source account and key, an account each.
  const teams = (n: number): Team[] => {
    const made = keys(n).map((key) => ({ account: id(), source: id(), key }));
    return rnd() < 0.25 ? made.map((t) => ({ ...t, source: made[0].source, key: made[0].key })) : made;
  };
  const atoms = ['a', 'A', 't', 'T', '1', '0', '-', ':', '/', 'x', '\n', A, A, AS, AK, AK, AL, AL, B, BK];
  const out: Array<{ teamsA: Team[]; teamsB: Team[]; plainB: boolean; ops: Op[] }> = [];
  for (let c = 0; c < count; c++) {
    const all = teams(2 + Math.floor(rnd() * 3));
    // Usually two classes; now and then the same key in both, or one class's key a prefix of the other's.
    const teamsA = all.slice(0, Math.max(1, all.length - 1));
    const teamsB = all.slice(teamsA.length).concat(rnd() < 0.3 ? [{ account: id(), source: id(), key: pick(teamsA).key + pick(['', '-', '1']) }] : []);
    if (teamsB.length === 0) teamsB.push({ account: id(), source: id(), key: word(2) });
    /** A fragment of some member's values: its key, logical id, or part of an id, whole or cut. */
    const fragment = () => {
      const t = pick([...teamsA, ...teamsB]);
      const v = pick([t.key, logicalId(t.key), t.account, t.source]);
      return rnd() < 0.6 ? v : v.slice(0, 1 + Math.floor(rnd() * v.length));
    };
    const text = (max: number, wild: boolean) => {
      let s = '';
      for (let i = Math.floor(rnd() * max); i > 0; i--) s += rnd() < 0.15 ? fragment() : pick(wild ? [...atoms, '*', '*', '?'] : atoms);
      return s;
    };
    /** A pattern made from a value: some of its tokens written as a member's values, then a wildcard or two. */
    const derive = (value: string) => {
      const a = pick(teamsA);
      const b = pick(teamsB);
      let s = value;
      for (const t of TOKENS) if (rnd() < 0.5) s = s.replaceAll(t, written(t, a, b));
      const chars = s.match(/\uE000[\uE100-\uEFFF]|[^]/g) ?? [];
      for (let e = Math.floor(rnd() * 3); e > 0 && chars.length; e--) {
        const at = Math.floor(rnd() * chars.length);
        const w = rnd();
        if (w < 0.4) chars.splice(at, 1 + Math.floor(rnd() * 3), '*');
        else if (w < 0.7) chars.splice(at, 1, rnd() < 0.8 ? '?' : '????????????');
        else chars.splice(at, 0, pick(['1', 't', '-', '*']));
      }
      // Now and then in other capitals: an action's pattern is compared ignoring case.
      return rnd() < 0.2 ? chars.map((x) => (rnd() < 0.5 ? x.toUpperCase() : x.toLowerCase())).join('') : chars.join('');
    };
    /** A value made from a pattern's text: some of its tokens written as a member's values (the pattern keeps them). */
    const writtenFrom = (text: string) => {
      const a = pick(teamsA);
      const b = pick(teamsB);
      let s = text;
      for (const t of TOKENS) if (rnd() < 0.6) s = s.replaceAll(t, written(t, a, b));
      return s;
    };
    /** The text with one of its tokens for another (a key for its logical id, a class's key for the other's). */
    const swapped = (text: string) => {
      const there = TOKENS.filter((t) => text.includes(t));
      return there.length === 0 ? text : text.replaceAll(pick(there), pick(TOKENS));
    };
    const shaped = () =>
      pick(['arn:aws:iam::', 'arn:aws:s3:::', '', 'x-', 'T']) +
      pick([A, AS, AK, AL, `${AK}-`, `${A}:role/${AK}-`, `${AS}:role/${AL}`, B, BK]) +
      pick(['', 'developer', '-a', ':x', AK, `-${AL}`, BK, `/${A}`]);
    const op = (): Op => {
      const w = rnd();
      const value = rnd() < 0.5 ? shaped() : text(6, false);
      if (w < 0.15) {
        const other = pick([() => derive(value).replace(/[*?]/g, ''), () => text(6, false), () => swapped(value), () => writtenFrom(value)])();
        return { kind: 'same', a: other, b: value };
      }
      if (w < 0.25) return { kind: 'same ignoring case', a: (rnd() < 0.6 ? derive(value).replace(/[*?]/g, '') : text(6, false)).toLowerCase(), b: value };
      if (w < 0.5) {
        const way = rnd();
        // The pattern made from the value, or the value from the pattern (its tokens kept), or apart.
        // Or a `prefix*` of the value's text up to its first token, against the value as a member writes it.
        const upToToken = () => `${value.slice(0, (value.search(/\uE000[\uE100-\uEFFF]/) + 1 || value.length) + 1)}*`;
        const [pattern, asked] =
          way < 0.35
            ? [derive(value), value]
            : way < 0.6
              ? [derive(swapped(value)).replace(/[^*?]+$/, '*'), writtenFrom(value)]
              : way < 0.75
                ? [upToToken(), writtenFrom(value)]
                : [text(6, true), value];
        return { kind: 'glob', pattern: /[*?]/.test(pattern) ? pattern : `${pattern}*`, value: asked, flags: flagsOf(rnd()) };
      }
      if (w < 0.65) return { kind: 'list', patterns: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (rnd() < 0.6 ? derive(value) : text(5, true))), value, flags: flagsOf(rnd()) };
      if (w < 0.75) return { kind: 'equal list', items: teamsA.map((t) => written(value, t, pick(teamsB))).slice(0, 1 + Math.floor(rnd() * 3)), value };
      if (w < 0.82) return { kind: 'equal list ignoring case', items: teamsA.map((t) => written(value, t, pick(teamsB)).toUpperCase()).slice(0, 2), value };
      if (w < 0.85) return { kind: 'apart', texts: [value, ...Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick([() => shaped(), () => writtenFrom(value), () => swapped(value), () => text(4, false)])())] };
      if (w < 0.88) return { kind: 'numeric', items: [pick([A, AS, '111111111111', '1'])], value: pick([A, AS, AK, '2', fragment()]) };
      return { kind: 'each member', text: value };
    };
    out.push({ teamsA, teamsB, plainB: rnd() < 0.25, ops: Array.from({ length: 1 + Math.floor(rnd() * 4) }, op) });
  }
  return out;
}

describe('comparisons with tied tokens, fuzzed against every member tuple', () => {
  it('a certain answer is the answer for every member (9,000 cases over 3 seeds)', () => {
    const unsound: unknown[] = [];
    let certain = 0;
    let varying = 0;
    let asked = 0;
    for (const seed of [1, 2, 3]) {
      for (const { teamsA, teamsB, plainB, ops } of cases(3000, seed)) {
        startProof(classesOf(teamsA, teamsB, plainB));
        const readable = stillCertain();
        for (const op of ops) {
          if (op.kind === 'each member') {
            // The texts a class's text stands for: each pair of members' writing, once.
            const expected = new Set(teamsA.flatMap((a) => teamsB.map((b) => written(op.text, a, b))));
            if (readable && !(plainB && op.text.includes(BK))) expect(new Set(forEachMember(op.text)), JSON.stringify(op)).toEqual(expected);
            continue;
          }
          const got = answer(op);
          asked++;
          const references = teamsA.flatMap((a) => teamsB.map((b) => reference(op, a, b)));
          // writtenApart's "no" is no claim (it may refuse texts apart in every member); its "yes" is.
          if (op.kind === 'apart') {
            if (readable && got && references.some((r) => !r)) unsound.push({ op, teamsA, teamsB, got });
            continue;
          }
          if (references.some((r) => r) && references.some((r) => !r)) varying++;
          if (!stillCertain()) break;
          certain++;
          if (references.some((r) => r !== got)) unsound.push({ op, teamsA, teamsB, got });
        }
      }
    }
    expect(unsound.slice(0, 3)).toEqual([]);
    // The cases reach both sides: answers most of them decide, and many whose truth differs between members.
    expect(certain).toBeGreaterThan(asked / 2);
    expect(varying).toBeGreaterThan(500);
  });
});
