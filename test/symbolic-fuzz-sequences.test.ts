/**
 * The class proof's comparisons (src/audit/symbolic.ts) fuzzed as a proof asks them: several questions in one proof,
 * against the same reference as symbolic-fuzz.test.ts (each member's id written for the token, compared plainly).
 * symbolic.ts remembers what it worked out member by member for the rest of a proof (`decided`, `decidedLists`,
 * reset by startProof), so a question read from the memo of an earlier, different one gives a wrong certain answer;
 * and a certainty lost earlier must stay lost. symbolic-fuzz.test.ts starts a proof per question, so it sees
 * neither (review s50-mutations-9: every memo-key mutation survived it).
 *
 * Each case starts one proof and asks 2-5 questions of mixed kinds (equality, a glob with each of the flags '', 'i',
 * 'r', evaluate.ts's `matches`/`matchesResource`, a list of globs, a list for equality, a Numeric list decided member
 * by member), most of them made from an earlier question: the same texts asked as another kind or with other flags,
 * the same items in another list (reordered, one split in two, two joined, one dropped or added), a text that
 * differs in one character (a digit, a letter's case, a token for an id or an id for a token), the same question
 * again. Ids use all ten digits: each case draws its ids and literal digits mostly from two or three digits (all ten
 * in some), so that ids, literal digits and partial ids collide, as symbolic-fuzz's 0-2 do. Letters come in both
 * cases, for the case-insensitive globs. Two families of cases (see `cases`): every kind on texts of every shape, and
 * ARN-like texts asked under each flag in turn.
 *
 * Mutation round 9's memo mutations this catches (each applied alone, this file run): the memo of comparisons keyed
 * without its kind (S4), without its flags (S45), without its second text (S5c); the list memo keyed without its kind
 * (S35), with items joined as they are (S37), without its value (S39); a list question that forgets an uncertainty
 * (S25, S34). Not S38 (items' lengths written without a separator): only lists built to collide read alike then
 * (classes.test.ts has one).
 */
import { describe, expect, it } from 'vitest';
import { random } from './support/seeded-random';
import { matches, matchesResource } from '../src/audit/evaluate';
import { decidedByMembers, type Flags, same, someForEveryMember, startProof, stillCertain, symbolicGlob, tokenFor } from '../src/audit/symbolic';
import { referenceGlob, referenceMatch } from './support/reference-glob';

const T = tokenFor(0);
const U = tokenFor(1);
const DIGITS = [...'0123456789'];
const FLAGS: readonly Flags[] = ['', 'i', 'r'];


type Numeric = '<' | '>';
type Op =
  | { kind: 'same'; a: string; b: string }
  | { kind: 'glob'; pattern: string; value: string; flags: Flags }
  | { kind: 'match'; pattern: string; value: string; flags: Flags }
  | { kind: 'list'; patterns: string[]; value: string; flags: Flags }
  | { kind: 'equal list'; items: string[]; value: string }
  | { kind: 'numeric'; items: string[]; value: string; op: Numeric };
type Kind = Op['kind'];
const KINDS: readonly Kind[] = ['same', 'glob', 'match', 'list', 'equal list', 'numeric'];

// The reference: test/support/reference-glob.ts.
/** evaluate.ts's Numeric operators: the request's number (`value`) against the policy's (`item`); a text that is no number matches nothing. */
const numeric = (op: Numeric) => (item: string, value: string) => {
  const [x, y] = [Number(value), Number(item)];
  return !Number.isNaN(x) && !Number.isNaN(y) && (op === '<' ? x < y : x > y);
};
const MATCHERS: Record<Flags, (pattern: string, value: string) => boolean> = { '': (p, v) => matches(p, v), i: (p, v) => matches(p, v, true), r: matchesResource };

function reference(op: Op, t: string, u: string): boolean {
  const at = (s: string) => s.replaceAll(T, t).replaceAll(U, u);
  switch (op.kind) {
    case 'same':
      return at(op.a) === at(op.b);
    case 'glob':
      return referenceGlob(at(op.pattern), at(op.value), op.flags);
    case 'match':
      return referenceMatch(at(op.pattern), at(op.value), op.flags);
    case 'list':
      return op.patterns.some((p) => referenceMatch(at(p), at(op.value), op.flags));
    case 'equal list':
      return op.items.some((x) => at(x) === at(op.value));
    case 'numeric':
      return op.items.some((x) => numeric(op.op)(at(x), at(op.value)));
  }
}

/** What the evaluator asks: symbolic.ts directly, evaluate.ts's `matches`/`matchesResource`, a list as its `anyMatches`, `valueMatches` and `numericMatches` do. */
function answer(op: Op): boolean {
  switch (op.kind) {
    case 'same':
      return same(op.a, op.b);
    case 'glob':
      return symbolicGlob(op.pattern, op.value, op.flags);
    case 'match':
      return MATCHERS[op.flags](op.pattern, op.value);
    case 'list':
      return someForEveryMember(`like/${op.flags}`, op.patterns, op.value, MATCHERS[op.flags]);
    case 'equal list':
      return someForEveryMember('=', op.items, op.value, same);
    case 'numeric':
      return decidedByMembers(`numeric ${op.op}`, op.items, op.value, numeric(op.op));
  }
}

/** A question's texts: the items (or the one pattern, or equality's first text) and the value. */
function textsOf(op: Op): { items: string[]; value: string; flags: Flags } {
  switch (op.kind) {
    case 'same':
      return { items: [op.a], value: op.b, flags: '' };
    case 'glob':
    case 'match':
      return { items: [op.pattern], value: op.value, flags: op.flags };
    case 'list':
      return { items: op.patterns, value: op.value, flags: op.flags };
    case 'equal list':
    case 'numeric':
      return { items: op.items, value: op.value, flags: '' };
  }
}

/** A text's units: a token (its mark and class character) is one, every other character one. */
const unitsOf = (s: string): string[] => s.match(/\uE000[\uE100-\uEFFF]|[^]/g) ?? [];
const show = (s: string) => s.replaceAll(T, '<T>').replaceAll(U, '<U>');
const showOp = (op: Op) => JSON.parse(JSON.stringify(op, (_, v) => (typeof v === 'string' ? show(v) : v)));

interface Case {
  classes: Array<{ token: string; members: string[] }>;
  questions: Op[];
}

/**
 * `mixed`: every kind of question, on texts of every shape. `readings`: ARN-like texts asked as globs, evaluate.ts's
 * matches and lists, mostly again with other flags: a Resource's reading ('r') and a condition's ('' and 'i') differ
 * only where a `*` may cross a colon, which mixed texts rarely reach.
 */
function cases(count: number, seed: number, family: 'mixed' | 'readings'): Case[] {
  const rnd = random(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rnd() * xs.length)];
  const below = (n: number) => Math.floor(rnd() * n);
  const out: Case[] = [];
  for (let c = 0; c < count; c++) {
    // Two or three digits for this case's ids and literal digits (all ten now and then), so that they collide.
    const alphabet = rnd() < 0.15 ? DIGITS : [...new Set(Array.from({ length: 2 + below(2) }, () => pick(DIGITS)))];
    const digit = () => (rnd() < 0.8 ? pick(alphabet) : pick(DIGITS));
    const id = () => Array.from({ length: 12 }, digit).join('');
    const members = (max: number) => [...new Set(Array.from({ length: 1 + below(max) }, id))];
    const ofT = members(3);
    // Classes share no member (classes.ts: an account is in one class).
    const ofU: string[] = [];
    for (let n = 1 + below(2), tries = 0; ofU.length < n && tries < 20; tries++) {
      const m = id();
      if (!ofT.includes(m) && !ofU.includes(m)) ofU.push(m);
    }
    if (ofU.length === 0) ofU.push(DIGITS.map((d) => d.repeat(12)).find((m) => !ofT.includes(m)) ?? '');
    const classes = [
      { token: T, members: ofT },
      { token: U, members: ofU },
    ];
    const ids = classes.flatMap((k) => k.members);
    /** An id that differs from a member's in one digit (any of the ten). */
    const nearId = () => {
      const chars = [...pick(ids)];
      chars[below(12)] = pick(DIGITS);
      return chars.join('');
    };
    /** A member's id mostly; else one a digit off it, or part of one. */
    const idish = () => {
      const w = rnd();
      return w < 0.55 ? pick(classes[0].members) : w < 0.7 ? pick(ids) : w < 0.88 ? nearId() : pick(ids).slice(0, 1 + below(12));
    };
    const atoms = () => pick(['a', 'A', 'b', 'B', ':', ':', '-', '/', digit(), digit(), `${digit()}${digit()}`, digit().repeat(6), '\n', T, T, U]);
    const text = (max: number, wild: boolean) => {
      let s = '';
      for (let i = below(max); i > 0; i--) s += rnd() < 0.1 ? idish() : wild && rnd() < 0.25 ? pick(['*', '*', '?']) : atoms();
      return s;
    };
    const value = () =>
      rnd() < 0.7
        ? pick(['a:', '', digit(), 'b-', 'B-', 'arn::', 'A:', 'a\n']) + (rnd() < 0.6 ? T : idish()) + pick(['', ':x', digit(), '-a', '-A', T, `:${T}`, `${digit()}:${T}`, `:${digit()}${T}`, U, `:${idish()}`])
        : text(7, false);
    /** A text one unit off: a digit or letter changed (a letter's case among them), a token for an id or the other way, a unit dropped or added. */
    const oneOff = (s: string): string => {
      const units = unitsOf(s);
      const at = below(units.length + 1);
      const unit = units[at];
      const w = rnd();
      if (unit === undefined || w < 0.12) units.splice(at, 0, pick([digit(), 'a', 'A', ':', T, '*', '?']));
      else if (w < 0.22) units.splice(at, 1);
      else if (unit === T || unit === U) units[at] = rnd() < 0.6 ? idish() : unit === T ? U : T;
      else if (/[0-9]/.test(unit)) units[at] = rnd() < 0.15 ? T : pick(DIGITS);
      else if (/[a-z]/i.test(unit)) units[at] = unit === unit.toLowerCase() ? unit.toUpperCase() : unit.toLowerCase();
      else units[at] = pick([digit(), 'a', 'A', ':', '-', '*', '?']);
      return units.join('');
    };
    /** A pattern made from the value: a member's id (or part of it) for the token, a letter's case flipped, then a wildcard or two. */
    const derive = (v: string) => {
      const units = unitsOf(v).flatMap((u) => (u === T && rnd() < 0.6 ? [...pick(ids).slice(0, rnd() < 0.7 ? 12 : below(12))] : [u]));
      for (let e = below(4); e > 0 && units.length; e--) {
        const at = below(units.length);
        const w = rnd();
        if (w < 0.35) units.splice(at, 1 + below(4), '*');
        else if (w < 0.6) units.splice(at, 1, '?');
        else if (w < 0.75 && /[a-z]/i.test(units[at])) units[at] = units[at] === units[at].toLowerCase() ? units[at].toUpperCase() : units[at].toLowerCase();
        else units.splice(at, 0, pick([digit(), '*']));
      }
      return units.join('');
    };
    /** A pattern that keeps one run of the value's units (a token, say) between wildcards, or a digit and a wildcard. */
    const around = (v: string) => {
      const units = unitsOf(v);
      const tokens = units.flatMap((u, i) => (u === T || u === U ? [i] : []));
      const from = tokens.length > 0 && rnd() < 0.6 ? pick(tokens) : below(units.length + 1);
      const kept = units.slice(from, from + 1 + below(3)).join('');
      return pick(['', '*', '?*', '*?', `${digit()}*`, '?']) + kept + pick(['*', '', '?', `*${digit()}`, `${digit()}*`]);
    };
    const pattern = (v: string) => {
      const w = rnd();
      const p = w < 0.55 ? derive(v) : w < 0.8 ? around(v) : text(6, true);
      return /[*?]/.test(p) || rnd() < 0.15 ? p : `${p}${pick(['*', '?', ''])}`;
    };
    /** Colon-separated segments: a token alone or beside a digit, text, an id. */
    const segment = () => pick([T, T, `${T}${digit()}`, `${digit()}${T}`, `${T}${T}`, 'a', `a${T}`, '', idish(), U]);
    const arn = () => Array.from({ length: 1 + below(3) }, segment).join(':');
    /** A pattern from some of the value's segments (in order, not always from its first), each with its start or end made a wildcard, perhaps a `*` for the rest. */
    const arnPattern = (v: string) => {
      const segments = v.split(':');
      const from = below(segments.length);
      const kept = segments.slice(from, from + 1 + below(segments.length - from)).map((s) => {
        const units = unitsOf(s);
        const cut = below(units.length + 1);
        const start = rnd() < 0.5 ? pick(['?', '*', '?*', `${digit()}*`, digit(), '*?']) + units.slice(cut).join('') : s;
        return rnd() < 0.3 ? start + pick(['*', '?']) : start;
      });
      return (from > 0 && rnd() < 0.5 ? pick(['*', '*:', '?*']) : '') + kept.join(':') + (rnd() < 0.6 ? pick(['*', ':*', '*?']) : '');
    };
    const numbers = () => Array.from({ length: 1 + below(3) }, () => (rnd() < 0.15 ? T : idish()));

    /** A question of this kind over these texts. */
    const ask = (kind: Kind, items: string[], v: string, flags: Flags): Op => {
      const one = () => pick(items) ?? '';
      switch (kind) {
        case 'same':
          return { kind, a: one(), b: v };
        case 'glob':
        case 'match':
          return { kind, pattern: one(), value: v, flags };
        case 'list':
          return { kind, patterns: items, value: v, flags };
        case 'equal list':
          return { kind, items, value: v };
        case 'numeric':
          return { kind, items, value: v, op: pick(['<', '>']) };
      }
    };
    const fresh = (): Op => {
      const kind = family === 'readings' ? pick(['glob', 'match', 'list'] as const) : pick(KINDS);
      const flags = pick(FLAGS);
      if (kind === 'numeric') return ask(kind, numbers(), rnd() < 0.7 ? T : idish(), flags);
      // Short texts from few characters, a token on both sides.
      if (family === 'mixed' && kind !== 'equal list' && rnd() < 0.3) {
        const short = (wild: boolean) => Array.from({ length: 1 + below(5) }, () => pick(wild ? ['*', '*', '?', digit(), ':', 'a', 'A', T] : [digit(), ':', 'a', 'A', T, T])).join('');
        return ask(kind, Array.from({ length: 1 + below(2) }, () => short(kind !== 'same')), short(false), flags);
      }
      // ARN-like texts, where a Resource's segments and a condition's free `*` read the same glob differently.
      if (family === 'readings' || (kind !== 'equal list' && rnd() < 0.3)) {
        const v = arn();
        return ask(kind, Array.from({ length: 1 + below(2) }, () => (kind === 'same' ? arn() : arnPattern(v))), v, flags);
      }
      const v = value();
      if (kind === 'same') return { kind, a: rnd() < 0.6 ? derive(v).replace(/[*?]/g, '') : text(6, false), b: v };
      if (kind === 'equal list') return ask(kind, Array.from({ length: 1 + below(3) }, () => (rnd() < 0.5 ? v.replaceAll(T, pick(classes[0].members)) : oneOff(v))), v, flags);
      if (kind === 'list') return ask(kind, Array.from({ length: 1 + below(3) }, () => pattern(v)), v, flags);
      return ask(kind, [pattern(v)], v, flags);
    };
    /** The same items in another list. */
    const relist = (items: string[]): string[] => {
      const xs = [...items];
      const w = rnd();
      if (w < 0.2) {
        for (let i = xs.length - 1; i > 0; i--) {
          const j = below(i + 1);
          [xs[i], xs[j]] = [xs[j], xs[i]];
        }
      } else if (w < 0.45) {
        // One item split in two: the joined items read the same.
        const at = below(xs.length);
        const units = unitsOf(xs[at] ?? '');
        const cut = below(units.length + 1);
        xs.splice(at, 1, units.slice(0, cut).join(''), units.slice(cut).join(''));
      } else if (w < 0.6 && xs.length > 1) {
        const at = below(xs.length - 1);
        xs.splice(at, 2, xs[at] + xs[at + 1]);
      } else if (w < 0.7 && xs.length > 1) xs.splice(below(xs.length), 1);
      else if (w < 0.85) xs.splice(below(xs.length + 1), 0, rnd() < 0.5 ? idish() : oneOff(pick(xs) ?? ''));
      else if (xs.length > 0) {
        const at = below(xs.length);
        xs[at] = oneOff(xs[at]);
      }
      return xs;
    };
    /** A question made from an earlier one. */
    const variant = (op: Op): Op => {
      const { items, value: v, flags } = textsOf(op);
      const w = family === 'readings' ? rnd() * 0.7 : rnd();
      // The same question again: the memo's answer must be the one worked out.
      if (w < 0.08) return op;
      // The same texts with other flags, or as another kind.
      if (w < (family === 'readings' ? 0.45 : 0.25)) return ask(op.kind === 'glob' || op.kind === 'match' || op.kind === 'list' ? op.kind : pick(['glob', 'match'] as const), items, v, pick(FLAGS.filter((f) => f !== flags)));
      if (w < 0.4) return ask(pick(KINDS), items, v, pick(FLAGS));
      // The value one character off.
      if (w < 0.6) return ask(op.kind, items, oneOff(v), flags);
      // An item one character off, or the same items in another list.
      if (w < 0.8) return ask(op.kind === 'same' || op.kind === 'glob' || op.kind === 'match' ? pick(['list', 'equal list', 'numeric'] as const) : op.kind, rnd() < 0.3 ? items.map((x) => (rnd() < 0.5 ? oneOff(x) : x)) : relist(items), v, flags);
      // The two sides swapped: the value as the pattern, an item as the value.
      if (w < 0.9) return ask(op.kind, [v], pick(items) ?? '', flags);
      // The same items against the other class's token, or a member's id for the token.
      return ask(op.kind, items, rnd() < 0.5 ? v.replaceAll(T, U) : v.replaceAll(T, pick(ids)), flags);
    };
    const questions: Op[] = [fresh()];
    for (let n = 1 + below(4); n > 0; n--) questions.push(rnd() < 0.8 ? variant(pick(questions)) : fresh());
    out.push({ classes, questions });
  }
  return out;
}

/**
 * Asks each case's questions in one proof: after each, while the proof is still certain, the answer must be the
 * reference's for every member (every pair of members, a member of each class, where two classes meet); at the end,
 * an answer that differed between members must have left the proof uncertain.
 */
function fuzz(generated: Case[]) {
  const unsound: unknown[] = [];
  const forgotten: unknown[] = [];
  const counts = { questions: 0, checkedLater: 0, varying: 0, certainProofs: 0 };
  for (const { classes, questions: asked } of generated) {
    startProof(classes);
    const pairs = classes[0].members.flatMap((t) => classes[1].members.map((u) => [t, u] as const));
    let varied = false;
    for (const [i, op] of asked.entries()) {
      counts.questions++;
      const got = answer(op);
      const references = pairs.map(([t, u]) => reference(op, t, u));
      if (references.some((r) => r !== references[0])) ((varied = true), counts.varying++);
      if (!stillCertain()) continue;
      if (i > 0) counts.checkedLater++;
      if (references.some((r) => r !== got)) unsound.push({ question: i, classes: classes.map((k) => k.members), asked: asked.slice(0, i + 1).map(showOp), got });
    }
    if (stillCertain()) counts.certainProofs++;
    if (varied && stillCertain()) forgotten.push({ classes: classes.map((k) => k.members), asked: asked.map(showOp) });
  }
  return { unsound, forgotten, counts };
}

const N = 3000;
describe('comparisons with account tokens, several in one proof, fuzzed against every member', () => {
  it('each answer given while the proof is certain is every member’s, and an answer that differs between members leaves the proof uncertain (9,000 proofs over 3 seeds)', () => {
    const { unsound, forgotten, counts } = fuzz([11, 12, 13].flatMap((seed) => cases(N, seed, 'mixed')));
    expect(unsound.slice(0, 3), `${unsound.length} unsound answers`).toEqual([]);
    expect(forgotten.slice(0, 3), `${forgotten.length} proofs certain after an answer that differed between members`).toEqual([]);
    // The cases reach both sides: later questions asked of a proof still certain, and many whose truth differs between
    // members (on writing: 31,616 questions, 16,253 later ones checked, 2,530 varying, 6,211 proofs certain to the end).
    expect(counts.questions).toBeGreaterThan(30_000);
    expect(counts.checkedLater).toBeGreaterThan(13_000);
    expect(counts.varying).toBeGreaterThan(2000);
    expect(counts.certainProofs).toBeGreaterThan(5000);
  });

  it('ARN-like texts asked again with other flags: each reading of a glob is decided for itself (9,000 proofs over 3 seeds)', () => {
    const { unsound, forgotten, counts } = fuzz([21, 22, 23].flatMap((seed) => cases(N, seed, 'readings')));
    expect(unsound.slice(0, 3), `${unsound.length} unsound answers`).toEqual([]);
    expect(forgotten.slice(0, 3), `${forgotten.length} proofs certain after an answer that differed between members`).toEqual([]);
    // (On writing: 31,545 questions, 18,582 later ones checked, 519 varying, 7,268 proofs certain to the end.)
    expect(counts.questions).toBeGreaterThan(30_000);
    expect(counts.checkedLater).toBeGreaterThan(15_000);
    expect(counts.varying).toBeGreaterThan(400);
    expect(counts.certainProofs).toBeGreaterThan(6000);
  });
});
