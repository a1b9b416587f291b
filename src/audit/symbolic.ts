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
/** Comparisons decided member by member: key → whether every member answers no. */
let decided = new Map<string, boolean>();
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
  const key = `${kind}\u0001${a}\u0001${b}`;
  let answer = decided.get(key);
  if (answer === undefined) {
    const tokens = new Set([...a.matchAll(TOKENS), ...b.matchAll(TOKENS)].map((m) => m[0]));
    const members = tokens.size === 1 ? membersOf.get([...tokens][0]) : undefined;
    if (!members) answer = false;
    else {
      const token = [...tokens][0];
      answer = members.every((id) => !test(a.replaceAll(token, id), b.replaceAll(token, id)));
    }
    decided.set(key, answer);
  }
  return answer;
}

/** Every token as twelve "some digit" characters. */
const expand = (s: string) => s.replace(TOKENS, SOME_DIGIT.repeat(ID_LENGTH));
const isDigit = (c: string) => c >= '0' && c <= '9';
const compatible = (x: string, y: string) => x === y || ((x === SOME_DIGIT || isDigit(x)) && (y === SOME_DIGIT || isDigit(y)) && (x === SOME_DIGIT || y === SOME_DIGIT));

/** Whether some choice of ids for the tokens makes `a` and `b` equal. */
function couldBeEqual(a: string, b: string): boolean {
  const x = expand(a);
  const y = expand(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!compatible(x[i], y[i])) return false;
  return true;
}

/**
 * Whether `a` and `b` are the same text around their tokens, with a token of
 * one class facing a token of another somewhere: classes share no member, so
 * the two are different for every choice of members.
 */
function differentClassesAligned(a: string, b: string): boolean {
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
  const key = `${kind}\u0001${items.join('\u0002')}\u0001${value}`;
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

/** String equality; with a token on either side, certain only when no id could decide otherwise. */
export function same(a: string, b: string): boolean {
  if (a === b) return true;
  if ((hasToken(a) || hasToken(b)) && couldBeEqual(a, b) && !differentClassesAligned(a, b) && !falseForEveryMember('=', a, b, (x, y) => x === y)) certain = false;
  return false;
}

const escape = (c: string) => c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
const atomic = new Map<string, RegExp>();
const over = new Map<string, RegExp>();
const cached = (cache: Map<string, RegExp>, key: string, make: () => RegExp) => {
  let re = cache.get(key);
  if (!re) cache.set(key, (re = make()));
  return re;
};

/**
 * Glob matching (`*`, `?`) with tokens. Tokens as units: `*` may take whole
 * tokens, `?` none, a token matches only itself; a match found so holds for
 * any ids. Otherwise the pattern is tried against the value with every token
 * as twelve unknown digits, a pattern digit matching an unknown one: if even
 * that fails, no id makes it match. If it succeeds, each member's id is
 * tried; a member that matches makes the answer depend on the id, and
 * certainty is lost.
 */
export function symbolicGlob(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const flags = caseInsensitive ? 'i' : '';
  const units = cached(atomic, `${flags}\u0000${pattern}`, () => {
    let source = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === TOKEN_MARK) {
        source += pattern.slice(i, i + 2); // the mark and its class's character, literally
        i++;
      } else source += c === '*' ? '.*' : c === '?' ? '[^\\uE000-\\uEFFF]' : escape(c);
    }
    return new RegExp(`^${source}$`, flags);
  });
  if (units.test(value)) return true;
  const loose = cached(over, `${flags}\u0000${pattern}`, () => {
    let source = '';
    for (const c of expand(pattern)) source += c === '*' ? '.*' : c === '?' ? '.' : c === SOME_DIGIT ? '[0-9\\uF000]' : isDigit(c) ? `[${c}\\uF000]` : escape(c);
    return new RegExp(`^${source}$`, flags);
  });
  if (loose.test(expand(value)) && !falseForEveryMember(`${flags}~`, pattern, value, (p, v) => concreteGlob(p, flags).test(v))) certain = false;
  return false;
}

const concrete = new Map<string, RegExp>();
/** A glob pattern without tokens as a regular expression (`i`: case-insensitive, for actions). */
export const concreteGlob = (pattern: string, flags: '' | 'i'): RegExp =>
  cached(concrete, `${flags}\u0000${pattern}`, () => new RegExp(`^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escape(c))).join('')}$`, flags));

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
