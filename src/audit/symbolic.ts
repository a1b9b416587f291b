/**
 * Account tokens: one string standing for every account of a class, so that
 * a 1,000-account org's pipeline accounts, which differ only in their id,
 * are proved once (see classes.ts).
 *
 * A token is two private-use characters, the mark and the class's own
 * character; no org file or template holds them (classes.ts checks). A
 * comparison involving a token is answered for every member's id, or not at
 * all: `same` and `symbolicGlob` give the answer that holds when the token is
 * an opaque unit, and report a lost certainty whenever some member's id
 * could answer otherwise. A proof that lost no certainty holds, step for
 * step, in every account of the class; one that lost some is done again
 * account by account.
 *
 * Deciding a comparison: the opaque answer first; if it is "no", a cheap
 * over-approximation (each token as twelve unknown digits) usually confirms
 * that no id could make it "yes"; only when it cannot, the comparison is
 * made once per member (and remembered): a literal account id compared with
 * a class's token, say, is equal only if that id is a member's.
 */
import { forgetfulStore } from '../memo';

export const TOKEN_MARK = '\uE000';
const FIRST_CLASS = 0xe100;
export const MAX_CLASSES = 0xf000 - FIRST_CLASS;
/** Over-approximation: a character that stands for any digit. */
const SOME_DIGIT = '\uF000';
const ID_LENGTH = 12;

export const tokenFor = (classIndex: number): string => TOKEN_MARK + String.fromCharCode(FIRST_CLASS + classIndex);
export const hasToken = (s: string): boolean => s.includes(TOKEN_MARK);
/** Whether a text already holds a character tokens are made of (no org file or template should). */
export const holdsTokenCharacters = (text: string): boolean => hasToken(text) || text.includes(SOME_DIGIT);
export const isToken = (s: string): boolean => s.length === 2 && s[0] === TOKEN_MARK;

let certain = true;
/** Token → the ids of its class's members. */
let membersOf = new Map<string, readonly string[]>();
/** Comparisons decided member by member: kind → one text → the other → whether every member answers no (no key is built to look one up). */
let decided = new Map<string, Map<string, Map<string, boolean>>>();
/** Lists decided member by member (someForEveryMember): key → the answer every member gives, or 'varies'. */
let decidedLists = new Map<string, boolean | 'varies'>();

/** Starts a proof over these classes; `stillCertain` then says whether it holds in every member. */
export function startProof(classes: Iterable<{ readonly token: string; readonly members: readonly string[] }>): void {
  certain = true;
  membersOf = new Map([...classes].map((c) => [c.token, c.members]));
  decided = new Map();
  decidedLists = new Map();
}
export const stillCertain = (): boolean => certain;

const TOKENS = /\uE000[\uE100-\uEFFF]/g;

/**
 * Whether `test`, made with each member's id for the token, is false for
 * every member. Only strings with the tokens of one class are decided so;
 * two classes at once would need every pair of members.
 */
function falseForEveryMember(kind: string, a: string, b: string, test: (a: string, b: string) => boolean): boolean {
  let byA = decided.get(kind);
  if (!byA) decided.set(kind, (byA = new Map()));
  let byB = byA.get(a);
  if (!byB) byA.set(a, (byB = new Map()));
  let answer = byB.get(b);
  if (answer === undefined) {
    const tokens = new Set([...a.matchAll(TOKENS), ...b.matchAll(TOKENS)].map((m) => m[0]));
    const members = tokens.size === 1 ? membersOf.get([...tokens][0]) : undefined;
    if (!members) answer = false;
    else {
      const token = [...tokens][0];
      answer = members.every((id) => !test(a.replaceAll(token, id), b.replaceAll(token, id)));
    }
    byB.set(b, answer);
  }
  return answer;
}

/**
 * A text once for each member of the classes whose tokens it holds (each token written as a member's id throughout;
 * two classes' tokens, each pair of members): the requests a class's text stands for, for a question asked of some
 * member rather than every member. Started proofs only (startProof names the classes).
 */
export function forEachMember(text: string): string[] {
  const token = text.match(TOKENS)?.[0];
  if (token === undefined) return [text];
  const members = membersOf.get(token) ?? [];
  return members.flatMap((id) => forEachMember(text.replaceAll(token, id)));
}

/** Every token as twelve "some digit" characters. */
const expand = (s: string) => s.replace(TOKENS, SOME_DIGIT.repeat(ID_LENGTH));
const isDigit = (c: string) => c >= '0' && c <= '9';

/*
 * `expand` read without being made: the comparisons below are asked for
 * statements of every request, and expanding both texts for each made most
 * of the proof's garbage.
 */
const MARK = TOKEN_MARK.charCodeAt(0);
const SOME = SOME_DIGIT.charCodeAt(0);
const isTokenAt = (s: string, i: number) => s.charCodeAt(i) === MARK && s.charCodeAt(i + 1) >= FIRST_CLASS && s.charCodeAt(i + 1) < SOME;
const isDigitOrSome = (c: number) => c === SOME || (c >= 48 && c <= 57);

/** The length of `expand(s)`. */
function expandedLength(s: string): number {
  let length = s.length;
  for (let i = s.indexOf(TOKEN_MARK); i >= 0; i = s.indexOf(TOKEN_MARK, i + 1)) if (isTokenAt(s, i)) length += ID_LENGTH - 2;
  return length;
}

/**
 * Whether the first `length` characters of `expand(a)` and `expand(b)` are
 * alike for some ids: each pair the same character, or a "some digit" facing
 * a digit or another.
 */
function compatibleStart(a: string, b: string, length: number): boolean {
  // Position in each text, and how many "some digit" characters of the token just read are still to come.
  let i = 0;
  let j = 0;
  let restA = 0;
  let restB = 0;
  for (let n = 0; n < length; n++) {
    let x = SOME;
    let y = SOME;
    if (restA > 0) restA--;
    else if (isTokenAt(a, i)) ((restA = ID_LENGTH - 1), (i += 2));
    else x = a.charCodeAt(i++);
    if (restB > 0) restB--;
    else if (isTokenAt(b, j)) ((restB = ID_LENGTH - 1), (j += 2));
    else y = b.charCodeAt(j++);
    if (x !== y && !(isDigitOrSome(x) && isDigitOrSome(y) && (x === SOME || y === SOME))) return false;
  }
  return true;
}

/** Whether some choice of ids for the tokens makes `a` and `b` equal. */
function couldBeEqual(a: string, b: string): boolean {
  const length = expandedLength(a);
  return length === expandedLength(b) && compatibleStart(a, b, length);
}

/** Whether some choice of ids for the tokens makes `value` start with `prefix`. */
function couldStartWith(value: string, prefix: string): boolean {
  const length = expandedLength(prefix);
  return length <= expandedLength(value) && compatibleStart(prefix, value, length);
}

/**
 * Whether `a` and `b` are the same text around their tokens, with a token of
 * one class facing a token of another somewhere: classes share no member, so
 * the two are different for every choice of members. Asked of most
 * comparisons of two classes' texts, so read in place, without copies.
 */
function differentClassesAligned(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let differ = false;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    // A mark that starts no token is no text of an org's; read as the general case does.
    if ((x === MARK && !isTokenAt(a, i)) || (y === MARK && !isTokenAt(b, i))) return differentClassesAlignedByCopies(a, b);
    if (x === MARK || y === MARK) {
      if (x !== y) return false;
      differ ||= a.charCodeAt(i + 1) !== b.charCodeAt(i + 1);
      i++;
    } else if (x !== y) return false;
  }
  return differ;
}

function differentClassesAlignedByCopies(a: string, b: string): boolean {
  const ta = a.match(TOKENS);
  const tb = b.match(TOKENS);
  if (!ta || !tb || ta.length !== tb.length || a.replace(TOKENS, TOKEN_MARK) !== b.replace(TOKENS, TOKEN_MARK)) return false;
  return ta.some((t, i) => t !== tb[i]);
}

/**
 * Whether some item of a list passes `test` against `value` (a statement's
 * resources, a condition's values), answered for the list as a whole: a
 * list that names each member's own resource (a source account's policy
 * listing the buses of the pipeline accounts it feeds) holds for every
 * member, though no one item does. The opaque answer first; only when it is
 * uncertain, the list is asked once per member of the one class the texts
 * hold (and remembered), and the answer is certain when every member gives
 * the same. `test` must be the comparison itself (same, or a glob), which
 * answers texts without tokens concretely; `kind` names it, for the memo
 * (equality and a glob differ on the same texts).
 */
export function someForEveryMember(kind: string, items: readonly string[], value: string, test: (item: string, value: string) => boolean): boolean {
  const before = certain;
  certain = true;
  let found = false;
  for (const item of items) {
    if (test(item, value)) {
      found = true;
      break;
    }
  }
  // Found with the tokens as units, or not found with no id able to decide otherwise: the same for every member.
  if (found || certain) {
    certain = before;
    return found;
  }
  certain = before;
  return decidedByMembers(kind, items, value, test);
}

/**
 * Whether `test` holds for some item, decided member by member with each member's id for the token: certain when
 * every member gives the same answer, else the proof is not. For a comparison a token cannot take part in as a unit
 * (a Numeric operator: a token is no number, each member's id is one; review s37-evaluator E3).
 */
export function decidedByMembers(kind: string, items: readonly string[], value: string, test: (item: string, value: string) => boolean): boolean {
  const before = certain;
  const key = listKey(kind, items, value);
  let answer = decidedLists.get(key);
  if (answer === undefined) {
    // Only texts with the tokens of one class are decided so: two classes at once would need every pair of members.
    const tokens = new Set([value, ...items].flatMap((s) => s.match(TOKENS) ?? []));
    const [token] = tokens;
    const members = tokens.size === 1 ? membersOf.get(token) : undefined;
    const each = members?.map((id) => items.some((item) => test(item.replaceAll(token, id), value.replaceAll(token, id))));
    answer = !each ? 'varies' : each.every((x) => x) ? true : each.every((x) => !x) ? false : 'varies';
    decidedLists.set(key, answer);
  }
  certain = before && answer !== 'varies';
  return answer === true;
}

/**
 * The memo's key of a list question, one text for each distinct question:
 * each item written after its length, so that no item's characters (a
 * separator among them) can make two lists read alike. `kind` is one of the
 * callers' fixed names, none holding U+0001.
 */
function listKey(kind: string, items: readonly string[], value: string): string {
  let key = `${kind}\u0001`;
  for (const item of items) key += `${item.length}:${item}`;
  return `${key}\u0001${value}`;
}

/** String equality; with a token on either side, certain only when no id could decide otherwise. */
export function same(a: string, b: string): boolean {
  if (a === b) return true;
  if ((hasToken(a) || hasToken(b)) && couldBeEqual(a, b) && !differentClassesAligned(a, b) && !falseForEveryMember('=', a, b, (x, y) => x === y)) certain = false;
  return false;
}

/*
 * A glob becomes a regular expression's source in one pass of `replace` over what it does not take as it is (the
 * wildcards, and the characters a regular expression reads as its own, escaped), not a replace per character: a
 * large org has thousands of distinct patterns.
 */
const GLOB_SPECIAL = /[.+^${}()|[\]\\*?]/g;
const escaped = (c: string) => `\\${c}`;
/**
 * How a glob reads: '' a string (StringLike: `*` and `?` anywhere), 'i' an action (case-insensitive), 'r' a Resource
 * element's ARN: "You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts
 * separated by colons) ... If the * wildcard is the last character of a resource ARN segment, it can expand to match
 * beyond the colon boundaries" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html):
 * a `?`, and a `*` inside a segment, take no colon (review s37-evaluator E4).
 */
export type Flags = '' | 'i' | 'r';
/**
 * Regular expressions made once per pattern, by flags (the pattern itself the key: nothing is made to look one up);
 * module-wide, so forgotten whole past PATTERNS_KEPT, as evaluate.ts's ARN splits are: a process compiling many orgs
 * does not keep every org's patterns.
 */
type RegExps = Record<Flags, ReturnType<typeof forgetfulStore<string, RegExp>>>;
const PATTERNS_KEPT = 100_000;
const regExps = (): RegExps => ({ '': forgetfulStore(PATTERNS_KEPT), i: forgetfulStore(PATTERNS_KEPT), r: forgetfulStore(PATTERNS_KEPT) });
const atomic = regExps();
const over = regExps();
/** `make` a function of the module, not a closure: asked for every glob the proof matches (hundreds of thousands), made once per pattern. */
const cached = (cache: RegExps, flags: Flags, pattern: string, make: (pattern: string, flags: Flags) => RegExp) => {
  let re = cache[flags].get(pattern);
  if (!re) cache[flags].set(pattern, (re = make(pattern, flags)));
  return re;
};

/** `prefix*`, the usual form (`bucket/*`, `role/prefix-*`): its prefix, matched without a regular expression (a large org has thousands of distinct ones); undefined for any other pattern, the empty one included. */
export const prefixOf = (pattern: string): string | undefined => {
  const star = pattern.indexOf('*');
  return star >= 0 && star === pattern.length - 1 && !pattern.includes('?') ? pattern.slice(0, -1) : undefined;
};

/**
 * Regular-expression flags for a glob: `*` is any run of characters and `?`
 * any one, line breaks included (`s`), as `startsWith` reads a `prefix*`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
 * (StringLike: a multi-character match wildcard `*` and a single-character one `?`, anywhere in the string).
 */
const globFlags = (flags: Flags) => (flags === 'i' ? 'is' : 's');

/** Whether the `*` at `at` ends its ARN segment (the pattern's end or a colon follows it, past any more `*`). */
function endsSegment(pattern: string, at: number): boolean {
  let next = at + 1;
  while (pattern[next] === '*') next++;
  return next === pattern.length || pattern[next] === ':';
}

/** A wildcard's regular expression: `any` is what `?` takes, read as an ARN segment's under 'r'. */
const wildcard = (c: '*' | '?', flags: Flags, pattern: string, at: number, any: string): string => {
  if (flags !== 'r') return c === '*' ? `${any}*` : any;
  const inSegment = any === '.' ? '[^:]' : `${any.slice(0, -1)}:]`;
  return c === '?' ? inSegment : endsSegment(pattern, at) ? `${any}*` : `${inSegment}*`;
};

/**
 * Glob matching (`*`, `?`) with tokens. Tokens as units: `*` may take whole
 * tokens, one `?` none (twelve in a row, one), a token matches only itself; a match found so holds for
 * any ids. Otherwise the pattern is tried against the value with every token
 * as twelve unknown digits, a pattern digit matching an unknown one: if even
 * that fails, no id makes it match. If it succeeds, each member's id is
 * tried; a member that matches makes the answer depend on the id, and
 * certainty is lost. A `prefix*` pattern is the same test as a prefix.
 */
export function symbolicGlob(pattern: string, value: string, flags: Flags): boolean {
  const prefix = flags === 'i' ? undefined : prefixOf(pattern);
  if (prefix !== undefined ? value.startsWith(prefix) : unitsGlob(pattern, flags).test(value)) return true;
  const couldMatch = prefix !== undefined ? couldStartWith(value, prefix) : looseGlob(pattern, flags).test(expand(value));
  if (couldMatch && !falseForEveryMember(`${flags}~`, pattern, value, (p, v) => concreteGlob(p, flags).test(v))) certain = false;
  return false;
}

/** Whether the pattern matches with tokens as units (`?` takes none of a token): a match that holds for any ids. */
export const unitsMatch = (pattern: string, value: string, flags: Flags = ''): boolean => unitsGlob(pattern, flags).test(value);

/**
 * The pattern with its tokens as units. Twelve `?` in a row may take a whole token, which stands for twelve digits
 * (bootstrap's `<prefix>-source-????????????`, naming.ts `shapes`): a yes so found holds for every member, whose id
 * those twelve `?` match as well.
 */
const unitsGlob = (pattern: string, flags: Flags) => cached(atomic, flags, pattern, unitsRegExp);
function unitsRegExp(pattern: string, flags: Flags): RegExp {
  // A token (the mark and its class's character) literally.
  const source = pattern.replace(UNITS_SPECIAL, (c, at: number) =>
    c[0] === TOKEN_MARK
      ? c
      : c === '*' || c === '?'
        ? wildcard(c, flags, pattern, at, c === '*' ? '.' : NOT_TOKEN)
        : c.length === ID_LENGTH
          ? `(?:${TOKEN_MARK}[\\uE100-\\uEFFF]|${flags === 'r' ? '[^:\\uE000-\\uEFFF]' : NOT_TOKEN}{${ID_LENGTH}})`
          : escaped(c),
  );
  return new RegExp(`^${source}$`, globFlags(flags));
}
/** A character of no token: what `?` takes with tokens as units. */
const NOT_TOKEN = '[^\\uE000-\\uEFFF]';
const UNITS_SPECIAL = new RegExp(`\\?{${ID_LENGTH}}|${TOKEN_MARK}[^]?|${GLOB_SPECIAL.source}`, 'g');

const LOOSE_SPECIAL = new RegExp(`[0-9${SOME_DIGIT}]|${GLOB_SPECIAL.source}`, 'g');
/** The pattern over expanded texts, a pattern digit matching an unknown one. */
const looseGlob = (pattern: string, flags: Flags) => cached(over, flags, pattern, looseRegExp);
function looseRegExp(pattern: string, flags: Flags): RegExp {
  const expanded = expand(pattern);
  const source = expanded.replace(LOOSE_SPECIAL, (c, at: number) =>
    c === '*' || c === '?' ? wildcard(c, flags, expanded, at, '.') : c === SOME_DIGIT ? '[0-9\\uF000]' : isDigit(c) ? `[${c}\\uF000]` : escaped(c),
  );
  return new RegExp(`^${source}$`, globFlags(flags));
}

const concrete = regExps();
/** A glob pattern without tokens as a regular expression (`i`: case-insensitive, for actions). */
export const concreteGlob = (pattern: string, flags: Flags): RegExp => cached(concrete, flags, pattern, concreteRegExp);
const concreteRegExp = (pattern: string, flags: Flags): RegExp =>
  new RegExp(`^${pattern.replace(GLOB_SPECIAL, (c, at: number) => (c === '*' || c === '?' ? wildcard(c, flags, pattern, at, '.') : escaped(c)))}$`, globFlags(flags));

/**
 * Whether a token in `s` stands where lookups by exact equality can see it:
 * nowhere (no token), as the whole string (an account), as the whole
 * account field of an ARN (`arn:<partition>:iam::<token>:role/x`), or at the
 * very end, after a character that is not a digit (a name that carries a
 * member's id, `…:role/acme-source-<token>`): two keys with their token at the
 * end are equal for a member exactly when their texts before it are equal.
 */
export function isPlainKey(s: string): boolean {
  const at = s.indexOf(TOKEN_MARK);
  if (at < 0) return true;
  if (s.indexOf(TOKEN_MARK, at + 1) >= 0) return false;
  if (isToken(s)) return true;
  // The fifth colon-separated field, exactly.
  let colons = 0;
  for (let i = 0; i < at; i++) if (s[i] === ':') colons++;
  if (at + 2 === s.length && at > 0 && !isDigit(s[at - 1])) return true;
  return colons === 4 && s[at - 1] === ':' && (at + 2 === s.length || s[at + 2] === ':');
}
