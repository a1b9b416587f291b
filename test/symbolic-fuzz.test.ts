/**
 * The class proof's comparisons (src/audit/symbolic.ts), fuzzed against a
 * reference that writes each member's id for the token and compares plainly:
 * whenever an answer leaves the proof certain, it must be the answer for
 * every member (every pair of members when two classes meet). Globs are
 * IAM's: `*` any run of characters, `?` any one, line breaks included
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String);
 * a Resource element's (flags 'r') within an ARN's colon-separated segments, a `*` that ends its segment across them
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 * Ids over the digits 0-2 so that ids, literal digits and partial ids collide.
 */
import { describe, expect, it } from 'vitest';
import { random } from './support/seeded-random';
import { matches, matchesResource } from '../src/audit/evaluate';
import { type Flags, prefixOf, same, someForEveryMember, startProof, stillCertain, symbolicGlob, tokenFor } from '../src/audit/symbolic';
import { referenceGlob, referenceMatch } from './support/reference-glob';

const T = tokenFor(0);
const U = tokenFor(1);


type Op =
  | { kind: 'same'; a: string; b: string }
  | { kind: 'glob'; pattern: string; value: string; flags: Flags }
  | { kind: 'list'; patterns: string[]; value: string; flags: Flags }
  | { kind: 'equal list'; items: string[]; value: string };

const MATCHERS: Record<Flags, (pattern: string, value: string) => boolean> = { '': (p, v) => matches(p, v), i: (p, v) => matches(p, v, true), r: matchesResource };

function reference(op: Op, t: string, u: string): boolean {
  const at = (s: string) => s.replaceAll(T, t).replaceAll(U, u);
  if (op.kind === 'same') return at(op.a) === at(op.b);
  if (op.kind === 'glob') return referenceGlob(at(op.pattern), at(op.value), op.flags);
  if (op.kind === 'list') return op.patterns.some((p) => referenceMatch(at(p), at(op.value), op.flags));
  return op.items.some((x) => at(x) === at(op.value));
}

/** What the evaluator asks: evaluate.ts's `matches`, and a list decided for every member as its `anyMatches` does. */
function answer(op: Op): boolean {
  if (op.kind === 'same') return same(op.a, op.b);
  if (op.kind === 'glob') return symbolicGlob(op.pattern, op.value, op.flags);
  if (op.kind === 'list') return someForEveryMember(`like/${op.flags}`, op.patterns, op.value, MATCHERS[op.flags]);
  return someForEveryMember('=', op.items, op.value, same);
}

const flagsOf = (x: number): Flags => (x < 0.25 ? 'i' : x < 0.6 ? 'r' : '');

function cases(count: number, seed: number) {
  const rnd = random(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rnd() * xs.length)];
  const id = () => Array.from({ length: 12 }, () => pick(['0', '1', '1', '2'])).join('');
  const members = () => [...new Set(Array.from({ length: 1 + Math.floor(rnd() * 3) }, id))];
  const atoms = ['a', 'A', 'b', ':', '-', '0', '1', '2', '11', '111111', '\n', T, T, U];
  const text = (max: number, ids: string[], wild: boolean) => {
    let s = '';
    for (let i = Math.floor(rnd() * max); i > 0; i--) s += rnd() < 0.08 ? pick(ids).slice(0, 1 + Math.floor(rnd() * 12)) : pick(wild ? [...atoms, '*', '*', '?'] : atoms);
    return s;
  };
  /** A pattern made from the value: a member's id (or part of it) for the token, then a wildcard or two; never half a token. */
  const derive = (value: string, ids: string[]) => {
    const chars = [...value.replaceAll(T, pick(ids).slice(0, rnd() < 0.7 ? 12 : Math.floor(rnd() * 12)))];
    for (let e = Math.floor(rnd() * 3); e > 0 && chars.length; e--) {
      const at = Math.floor(rnd() * chars.length);
      const w = rnd();
      if (w < 0.4) chars.splice(at, 1 + Math.floor(rnd() * 4), '*');
      else if (w < 0.7) chars.splice(at, 1, '?');
      else chars.splice(at, 0, pick(['1', '0', '*']));
    }
    return chars.join('').replace(/\uE000(?![\uE100-\uEFFF])/g, '').replace(/(?<!\uE000)[\uE100-\uEFFF]/g, '');
  };
  const out: Array<{ classes: Array<{ token: string; members: string[] }>; op: Op }> = [];
  for (let c = 0; c < count; c++) {
    const classes = [
      { token: T, members: members() },
      { token: U, members: members() },
    ];
    const ids = classes.flatMap((k) => k.members);
    let op: Op;
    if (rnd() < 0.5) {
      const value = pick(['a:', '', '1', 'b-', 'arn::', 'a\n']) + (rnd() < 0.5 ? T : pick(ids)) + pick(['', ':x', '1', '-a', T, `:${T}`, U]);
      const w = rnd();
      if (w < 0.25) op = { kind: 'same', a: value, b: derive(value, ids).replaceAll('*', '').replaceAll('?', '') };
      else if (w < 0.6) {
        const pattern = derive(value, ids);
        op = { kind: 'glob', pattern: /[*?]/.test(pattern) ? pattern : `${pattern}*`, value, flags: flagsOf(rnd()) };
      } else if (w < 0.85) op = { kind: 'list', patterns: classes[0].members.map(() => derive(value, ids)), value, flags: flagsOf(rnd()) };
      else op = { kind: 'equal list', items: classes[0].members.map((m) => value.replaceAll(T, m)).slice(0, 1 + Math.floor(rnd() * 3)), value };
    } else {
      const w = rnd();
      const value = text(7, ids, false);
      if (w < 0.3) op = { kind: 'same', a: text(6, ids, false), b: value };
      else if (w < 0.75) {
        let pattern = text(6, ids, true);
        if (rnd() < 0.4) pattern = `${pattern.replace(/[*?]/g, '')}*`;
        op = { kind: 'glob', pattern: /[*?]/.test(pattern) ? pattern : `${pattern}${pick(['*', '?'])}`, value, flags: flagsOf(rnd()) };
      } else if (w < 0.9) op = { kind: 'list', patterns: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => text(5, ids, true)), value, flags: flagsOf(rnd()) };
      else op = { kind: 'equal list', items: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => text(5, ids, false)), value };
    }
    out.push({ classes, op });
  }
  return out;
}

describe('comparisons with account tokens, fuzzed against every member', () => {
  it('a certain answer is the answer for every member (12,000 cases over 3 seeds)', () => {
    const unsound: unknown[] = [];
    let certain = 0;
    let varying = 0;
    for (const seed of [1, 2, 3]) {
      for (const { classes, op } of cases(4000, seed)) {
        startProof(classes);
        const got = answer(op);
        const references = classes[0].members.flatMap((t) => classes[1].members.map((u) => reference(op, t, u)));
        if (references.some((r) => r) && references.some((r) => !r)) varying++;
        if (!stillCertain()) continue;
        certain++;
        if (references.some((r) => r !== got)) unsound.push({ op, classes, got });
      }
    }
    expect(unsound.slice(0, 3)).toEqual([]);
    // The cases reach both sides: answers most of them decide, and many whose truth differs between members.
    expect(certain).toBeGreaterThan(6000);
    expect(varying).toBeGreaterThan(500);
  });

  it('a line break is a character like any other for `*` and `?`, in every form of pattern', () => {
    const members = ['111111111111', '222222222222'];
    for (const [pattern, value, flags] of [
      ['a*', `a\n${T}`, ''],
      ['a*', `a\n${T}`, 'i'],
      ['a*1', `a\n${T}`, ''],
      ['*1*?', `\n${T}`, 'i'],
    ] as const) {
      startProof([{ token: T, members }]);
      const got = symbolicGlob(pattern, value, flags);
      expect(!stillCertain() || got === members.every((m) => referenceGlob(pattern, value.replaceAll(T, m), flags)), `${JSON.stringify(pattern)} ${JSON.stringify(value)}`).toBe(true);
    }
  });

  it("a Resource pattern with a class token keeps its `?` and mid-segment `*` out of colons, the token's twelve `?` too (review s38-lead-diff m4)", () => {
    const members = ['111111111111', '222222222222'];
    for (const [pattern, value] of [
      [`arn:aws:s3:::b-${T}/????????????`, `arn:aws:s3:::b-${T}/12345:789012`],
      [`arn:aws:s3:::b-${T}/????????????`, `arn:aws:s3:::b-${T}/123456789012`],
      [`arn:aws:logs:r:${T}:log-group:x*y`, `arn:aws:logs:r:${T}:log-group:x:log-stream:y`],
      [`arn:aws:logs:r:${T}:log-group:x*`, `arn:aws:logs:r:${T}:log-group:x:log-stream:y`],
      [`arn:aws:iam::????????????:role/r`, `arn:aws:iam::${T}:role/r`],
    ] as const) {
      startProof([{ token: T, members }]);
      const got = matchesResource(pattern, value);
      const expected = members.map((m) => referenceGlob(pattern.replaceAll(T, m), value.replaceAll(T, m), 'r'));
      expect(stillCertain() ? [got, got] : expected, `${pattern} ${value}`).toEqual(expected);
      expect(expected.every((x) => x === expected[0]), `${pattern} ${value}`).toBe(true);
      expect(stillCertain(), `${pattern} ${value}: decided with the token as a unit`).toBe(true);
    }
    startProof([{ token: T, members }]);
    expect(matchesResource(`arn:aws:s3:::b-${T}/????????????`, `arn:aws:s3:::b-${T}/12345:789012`)).toBe(false);
    expect(matchesResource(`arn:aws:logs:r:${T}:log-group:x*y`, `arn:aws:logs:r:${T}:log-group:x:log-stream:y`)).toBe(false);
    expect(matchesResource(`arn:aws:logs:r:${T}:log-group:x*`, `arn:aws:logs:r:${T}:log-group:x:log-stream:y`)).toBe(true);
  });

  it('an empty pattern is no `prefix*`: it matches only the empty text', () => {
    expect(prefixOf('')).toBeUndefined();
    startProof([{ token: T, members: ['111111111111'] }]);
    expect(symbolicGlob('', `x${T}`, '')).toBe(false);
    expect(stillCertain()).toBe(true);
  });
});
