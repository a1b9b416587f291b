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
 *
 * Tied tokens. A class may hold several tokens that stand together for each
 * member, a tuple (a team: its key, the key's logical-id form, its source
 * account's id, one id per pipeline account): its member i writes the i-th
 * value of every one of its tokens at once. A tied token is of a kind: an
 * `account` (twelve digits, as the class's own token), a `key` (lower-case
 * letters, digits and hyphens) or a `logical` id's form (letters and digits),
 * the two names of any length, their values not all digits. Each answer
 * above stays sound for them:
 * - member by member (falseForEveryMember, decidedByMembers, forEachMember):
 *   each member writes its whole tuple; texts with two classes' tokens stay
 *   undecided, as before;
 * - tokens as units (`same`'s equal texts, unitsRegExp, a `prefix*`): a text
 *   equal to another, or matched by a pattern, with each token a unit only
 *   itself matches (and `*`), is so for every member, whatever its values'
 *   lengths, since the same token is written the same on both sides; twelve
 *   `?` take an account token only, whose every value is twelve characters;
 * - the over-approximation (`expandNamed`, for texts holding a name token):
 *   a name token whose values share one length is that many "some key
 *   character" (or "some letter or digit"); one whose lengths differ is read
 *   from either end up to it (`namedCouldBeEqual`), or, in a value matched
 *   by a pattern, sends the comparison member by member. No value of a kind
 *   is outside its characters, and each "some" character faces only those
 *   it could be, so no "no" it gives is wrong (a literal "some" character in
 *   a text only ever widens what could match);
 * - `differentClassesAligned` (two texts alike but for two account tokens
 *   facing, so different for every choice of members): asked of name tokens,
 *   it answers at the first difference, which must be two account tokens
 *   whose values differ in every choice of members (startProof checks that
 *   a member's ids differ, and that no id is in two classes); a name token
 *   of another length would shift the rest, so name tokens facing decide
 *   nothing;
 * - `isPlainKey`: a text with a name token is no plain key (two keys whose
 *   tokens differ can still be written alike: `a-<K>` and another class's
 *   `<J>`, for keys `b` and `a-b`); `writtenApart` decides such keys by
 *   writing each for every member;
 * - case: a text lowered around a `logical` token is not the lowered text of
 *   a member (its values keep their capitals): compare lowered texts with
 *   `sameIgnoringCase`, which lowers the written texts too.
 * A tuple of values outside their kinds' characters, an account id twice in
 * one member or in two classes, starts the proof uncertain: it is given up,
 * and done account by account.
 */
import { forgetfulStore } from '../memo';

export const TOKEN_MARK = '\uE000';
const FIRST_CLASS = 0xe100;
/** Name tokens' characters, after account tokens'. */
const FIRST_NAME = 0xec00;
const LAST_TOKEN = 0xefff;
export const MAX_CLASSES = FIRST_NAME - FIRST_CLASS;
export const MAX_NAME_TOKENS = LAST_TOKEN + 1 - FIRST_NAME;
/** Over-approximation: a character that stands for any digit. */
const SOME_DIGIT = '\uF000';
/** Over-approximation: any character of a key (a-z, 0-9, -). */
const SOME_KEY_CHARACTER = '\uF001';
/** Over-approximation: any letter or digit (a logical id's). */
const SOME_ALPHANUMERIC = '\uF002';
/** Over-approximation: a name token whose values' lengths differ (read up to, never across). */
const SOME_RUN = '\uF003';
const ID_LENGTH = 12;

/** The class's own token, an account id's (the class index, below MAX_CLASSES). */
export const tokenFor = (classIndex: number): string => TOKEN_MARK + String.fromCharCode(FIRST_CLASS + classIndex);
/** A name token (below MAX_NAME_TOKENS): a team's key, or its logical-id form, tied to a class (startProof). */
export const nameTokenFor = (index: number): string => TOKEN_MARK + String.fromCharCode(FIRST_NAME + index);
export const hasToken = (s: string): boolean => s.includes(TOKEN_MARK);
/** Whether a text already holds a character tokens are made of (no org file or template should). */
export const holdsTokenCharacters = (text: string): boolean => hasToken(text) || text.includes(SOME_DIGIT);
/** Whether `s` is an account token, all of it: a name token stands for no account. */
export const isToken = (s: string): boolean => s.length === 2 && s[0] === TOKEN_MARK && s.charCodeAt(1) < FIRST_NAME;
/** Whether `s` is a token, all of it: an account's or a name's (tokenFor, nameTokenFor). */
export const isAnyToken = (s: string): boolean => s.length === 2 && s[0] === TOKEN_MARK && s.charCodeAt(1) >= FIRST_CLASS && s.charCodeAt(1) <= LAST_TOKEN;
/** Whether `s` holds a character tokens are made of: their mark, or one of the characters after it. */
export const holdsTokenCharacter = (s: string): boolean => TOKEN_CHARACTERS.test(s);
const TOKEN_CHARACTERS = /[\uE000-\uEFFF]/;
/** A text holding tokens, cut into its literal pieces and its tokens (each a piece of its own). */
export const piecesOf = (text: string): string[] => text.split(TOKEN_PIECES).filter((piece) => piece !== '');
const TOKEN_PIECES = /(\uE000[\uE100-\uEFFF])/;

export type TokenKind = 'account' | 'key' | 'logical';
/** A token tied to a class's own: `values[i]` is what member i writes for it. */
export interface TiedToken {
  readonly token: string;
  readonly kind: TokenKind;
  readonly values: readonly string[];
}
/** A class as a proof takes it: its own token, an account's, with its members' ids; and the tokens tied to it. */
export interface ProofClass {
  readonly token: string;
  readonly members: readonly string[];
  readonly tied?: readonly TiedToken[];
}

/** A class's tokens, its own first, and slot by slot each member's value. */
interface Registered {
  readonly tokens: readonly string[];
  readonly values: readonly (readonly string[])[];
  readonly size: number;
}
/** A token's class, slot and kind, and its values' shortest and longest lengths. */
interface TokenInfo {
  readonly of: Registered;
  readonly slot: number;
  readonly kind: TokenKind;
  readonly shortest: number;
  readonly longest: number;
}

let certain = true;
/** Token → its class, slot and kind. */
let tokens = new Map<string, TokenInfo>();
/** Whether some class of the proof has a name token: the over-approximations then read texts holding one otherwise. */
let namesInProof = false;
/** Comparisons decided member by member: kind → one text → the other → whether every member answers no (no key is built to look one up). */
let decided = new Map<string, Map<string, Map<string, boolean>>>();
/** Lists decided member by member (someForEveryMember): key → the answer every member gives, or 'varies'. */
let decidedLists = new Map<string, boolean | 'varies'>();
/** Over-approximating patterns holding a token, with a name token in the proof: made per proof, as the tokens' lengths are. */
let namedLoose = new Map<string, RegExp>();

const VALUES: Record<TokenKind, RegExp> = { account: /^\d{12}$/, key: /^(?=.*[^0-9])[a-z0-9-]+$/, logical: /^(?=.*[^0-9])[A-Za-z0-9]+$/ };

/** Starts a proof over these classes; `stillCertain` then says whether it holds in every member. */
export function startProof(classes: Iterable<ProofClass>): void {
  certain = true;
  tokens = new Map();
  namesInProof = false;
  decided = new Map();
  decidedLists = new Map();
  namedLoose = new Map();
  const all = [...classes];
  for (const c of all) {
    const tied = c.tied ?? [];
    const of: Registered = { tokens: [c.token, ...tied.map((t) => t.token)], values: [c.members, ...tied.map((t) => t.values)], size: c.members.length };
    const kinds: TokenKind[] = ['account', ...tied.map((t) => t.kind)];
    of.tokens.forEach((token, slot) => {
      const lengths = of.values[slot].map((v) => v.length);
      tokens.set(token, { of, slot, kind: kinds[slot], shortest: Math.min(...lengths), longest: Math.max(...lengths) });
    });
    namesInProof ||= kinds.includes('key') || kinds.includes('logical');
  }
  if (all.some((c) => c.tied !== undefined)) certain = tiedTokensReadable(all);
}

/**
 * What the answers of tied tokens rest on: each token of its kind's characters and range, its values one per member,
 * no token in two places; and two account tokens apart in every choice of members (differentClassesAligned): a
 * member's account ids all different, and no id in two classes. Members may share a value (a team's three pipeline
 * accounts, each a member, share its source account and key).
 */
function tiedTokensReadable(classes: readonly ProofClass[]): boolean {
  const seen = new Set<string>();
  const classOfId = new Map<string, ProofClass>();
  for (const c of classes) {
    const slots = [{ token: c.token, kind: 'account' as TokenKind, values: c.members }, ...(c.tied ?? [])];
    for (const t of slots) {
      const code = t.token.length === 2 && t.token[0] === TOKEN_MARK ? t.token.charCodeAt(1) : -1;
      const inRange = t.kind === 'account' ? code >= FIRST_CLASS && code < FIRST_NAME : code >= FIRST_NAME && code <= LAST_TOKEN;
      if (!inRange || seen.has(t.token) || c.members.length === 0 || t.values.length !== c.members.length) return false;
      seen.add(t.token);
      for (const v of t.values) if (!VALUES[t.kind].test(v)) return false;
    }
    const accounts = slots.filter((t) => t.kind === 'account');
    for (let i = 0; i < c.members.length; i++) {
      const ids = accounts.map((t) => t.values[i]);
      if (new Set(ids).size !== ids.length) return false;
      for (const id of ids) {
        if ((classOfId.get(id) ?? c) !== c) return false;
        classOfId.set(id, c);
      }
    }
  }
  return true;
}

export const stillCertain = (): boolean => certain;

const TOKENS = /\uE000[\uE100-\uEFFF]/g;

/** `text` as member `i` of `of` writes it: each of its tokens as the member's value. */
function writeMember(text: string, of: Registered, i: number): string {
  if (of.tokens.length === 1) return text.replaceAll(of.tokens[0], of.values[0][i]);
  return text.replace(TOKENS, (t) => {
    const info = tokens.get(t);
    return info?.of === of ? of.values[info.slot][i] : t;
  });
}

/** The one class whose tokens all the tokens of these texts are, or undefined (none, an unknown one, or two classes). */
function oneClassOf(...texts: string[]): Registered | undefined {
  let of: Registered | undefined;
  for (const text of texts) {
    for (const [t] of text.matchAll(TOKENS)) {
      const info = tokens.get(t);
      if (!info || (of && info.of !== of)) return undefined;
      of = info.of;
    }
  }
  return of;
}

/**
 * Whether `test`, made with each member's values for the tokens, is false for
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
    const of = oneClassOf(a, b);
    answer = false;
    if (of) {
      answer = true;
      for (let i = 0; i < of.size && answer; i++) answer = !test(writeMember(a, of, i), writeMember(b, of, i));
    }
    byB.set(b, answer);
  }
  return answer;
}

/**
 * A text once for each member of the classes whose tokens it holds (each member's values written for its class's
 * tokens throughout; two classes' tokens, each pair of members): the requests a class's text stands for, for a
 * question asked of some member rather than every member. Started proofs only (startProof names the classes).
 */
export function forEachMember(text: string): string[] {
  const token = text.match(TOKENS)?.[0];
  if (token === undefined) return [text];
  const of = tokens.get(token)?.of;
  if (!of) return [];
  const out: string[] = [];
  for (let i = 0; i < of.size; i++) out.push(...forEachMember(writeMember(text, of, i)));
  return out;
}

/**
 * Whether texts apart stay apart for every member: each text with tokens written for each member of its one class,
 * no writing equal to a text without tokens, nor to another text's writing for any member. What exact lookups (a
 * map keyed by the texts: statements by role ARN and account) need of keys with name tokens, which isPlainKey
 * cannot read: a key, written for a member, then finds only what the member's own key finds. Wider than a proof
 * needs (two members of one class are never asked together), in one pass over each class's members; a text with two
 * classes' tokens, or a token of none, is not decided: false. Started proofs only.
 */
export function writtenApart(texts: Iterable<string>): boolean {
  const plain = new Set<string>();
  const named: string[] = [];
  for (const text of new Set(texts)) {
    if (hasToken(text)) named.push(text);
    else plain.add(text);
  }
  // A member's writing → the text written so.
  const writtenFrom = new Map<string, string>();
  for (const text of named) {
    const of = oneClassOf(text);
    if (!of) return false;
    for (let i = 0; i < of.size; i++) {
      const w = writeMember(text, of, i);
      const before = writtenFrom.get(w);
      if (plain.has(w) || (before !== undefined && before !== text)) return false;
      writtenFrom.set(w, text);
    }
  }
  return true;
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
  if (namesInProof && (hasNameToken(a) || hasNameToken(b))) return namedCouldBeEqual(a, b);
  const length = expandedLength(a);
  return length === expandedLength(b) && compatibleStart(a, b, length);
}

/** Whether some choice of ids for the tokens makes `value` start with `prefix`. */
function couldStartWith(value: string, prefix: string): boolean {
  if (namesInProof && (hasNameToken(value) || hasNameToken(prefix))) return namedCouldStartWith(value, prefix);
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
  if (namesInProof && (hasNameToken(a) || hasNameToken(b))) return accountsFirstDiffer(a, b);
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

/*
 * The over-approximations for texts holding a name token (tied tokens, above), read from copies: asked only of a
 * class with name tokens, never of an org of account classes alone.
 */
const isNameTokenAt = (s: string, i: number) => s.charCodeAt(i) === MARK && s.charCodeAt(i + 1) >= FIRST_NAME && s.charCodeAt(i + 1) <= LAST_TOKEN;
/** Whether `s` holds a name token. */
export function hasNameToken(s: string): boolean {
  for (let i = s.indexOf(TOKEN_MARK); i >= 0; i = s.indexOf(TOKEN_MARK, i + 1)) if (isNameTokenAt(s, i)) return true;
  return false;
}

const SOME_FOR: Record<TokenKind, string> = { account: SOME_DIGIT, key: SOME_KEY_CHARACTER, logical: SOME_ALPHANUMERIC };
const RUN = SOME_RUN.charCodeAt(0);

/**
 * `s` with each token as its values' characters: as many "some" characters of its kind as its values are long when
 * they share one length, else one SOME_RUN (a token of no class too); and the lengths its writings range over.
 */
function expandNamed(s: string): { text: string; shortest: number; longest: number } {
  let text = '';
  let shortest = 0;
  let longest = 0;
  let last = 0;
  for (const m of s.matchAll(TOKENS)) {
    text += s.slice(last, m.index);
    shortest += m.index - last;
    longest += m.index - last;
    last = m.index + 2;
    const info = tokens.get(m[0]);
    if (!info) {
      text += SOME_RUN;
      longest = Infinity;
    } else {
      text += info.shortest === info.longest ? SOME_FOR[info.kind].repeat(info.shortest) : SOME_RUN;
      shortest += info.shortest;
      longest += info.longest;
    }
  }
  text += s.slice(last);
  return { text, shortest: shortest + s.length - last, longest: longest + s.length - last };
}

/** Whether a character stands among those a "some" character stands for. */
function someHolds(some: number, c: number): boolean {
  const digit = c >= 48 && c <= 57;
  const lower = c >= 97 && c <= 122;
  if (some === SOME) return digit;
  if (some === SOME + 1) return digit || lower || c === 45;
  return digit || lower || (c >= 65 && c <= 90);
}
const isSome = (c: number) => c >= SOME && c <= SOME + 2;

/** Whether two characters of expanded texts can be the same: equal, or a "some" character facing one it stands for (any two "some" characters share the digits). */
function compatible(x: number, y: number): boolean {
  if (x === y) return true;
  if (isSome(x)) return isSome(y) || someHolds(x, y);
  return isSome(y) && someHolds(y, x);
}

/** Whether two expanded texts are alike character by character from their starts, up to the first run either holds, or the shorter's end. */
function alikeFromStart(x: string, y: string): boolean {
  for (let i = 0; i < x.length && i < y.length; i++) {
    const c = x.charCodeAt(i);
    const d = y.charCodeAt(i);
    if (c === RUN || d === RUN) return true;
    if (!compatible(c, d)) return false;
  }
  return true;
}

/** The same, from their ends. */
function alikeFromEnd(x: string, y: string): boolean {
  for (let i = x.length - 1, j = y.length - 1; i >= 0 && j >= 0; i--, j--) {
    const c = x.charCodeAt(i);
    const d = y.charCodeAt(j);
    if (c === RUN || d === RUN) return true;
    if (!compatible(c, d)) return false;
  }
  return true;
}

/**
 * couldBeEqual with name tokens: their lengths' ranges meet, and the texts are alike from the start up to the first
 * run of either (its characters stand at the same places in both writings) and from the end back to the last.
 */
function namedCouldBeEqual(a: string, b: string): boolean {
  const x = expandNamed(a);
  const y = expandNamed(b);
  if (x.longest < y.shortest || y.longest < x.shortest) return false;
  return alikeFromStart(x.text, y.text) && alikeFromEnd(x.text, y.text);
}

/** couldStartWith with name tokens. */
function namedCouldStartWith(value: string, prefix: string): boolean {
  const p = expandNamed(prefix);
  const v = expandNamed(value);
  return p.shortest <= v.longest && alikeFromStart(p.text, v.text);
}

/** looseGlob's test with name tokens: a value with a run cannot be read by a regular expression, so it could match. */
function namedCouldMatch(pattern: string, value: string, flags: Flags): boolean {
  const v = expandNamed(value);
  if (v.text.includes(SOME_RUN)) return true;
  // A pattern without tokens reads the same in every proof: made once in the process, as looseGlob's are.
  if (!hasToken(pattern)) return cached(namedOver, flags, pattern, namedLooseRegExp).test(v.text);
  const key = `${flags}\u0001${pattern}`;
  let re = namedLoose.get(key);
  if (!re) namedLoose.set(key, (re = namedLooseRegExp(pattern, flags)));
  return re.test(v.text);
}

/** What a token's characters are in a regular expression's class, by kind. */
const CHARACTERS: Record<TokenKind, string> = { account: '0-9', key: 'a-z0-9\\-', logical: 'A-Za-z0-9' };
const SOME_CHARACTERS = '\\uF000-\\uF002';

/**
 * The pattern over expanded texts: a token as its kind's characters or any "some" character, as many as its values'
 * lengths range over (a token of no class, anything); a character of some token's kind as itself or each "some"
 * character standing for it (in either case, for an action's `i`).
 */
function namedLooseRegExp(pattern: string, flags: Flags): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === MARK && isTokenAt(pattern, i)) {
      const info = tokens.get(pattern.slice(i, i + 2));
      source += info ? `[${CHARACTERS[info.kind]}${SOME_CHARACTERS}]{${info.shortest},${info.longest}}` : '[^]*';
      i++;
      continue;
    }
    const x = pattern[i];
    if (x === '*' || x === '?') source += wildcard(x, flags, pattern, i, '.');
    else if (x === '-') source += `[\\-${SOME_KEY_CHARACTER}]`;
    else if (c >= 48 && c <= 57) source += `[${x}${SOME_CHARACTERS}]`;
    else if (c >= 97 && c <= 122) source += `[${x}${SOME_KEY_CHARACTER}${SOME_ALPHANUMERIC}]`;
    else if (c >= 65 && c <= 90) source += flags === 'i' ? `[${x}${SOME_KEY_CHARACTER}${SOME_ALPHANUMERIC}]` : `[${x}${SOME_ALPHANUMERIC}]`;
    else source += x.replace(GLOB_SPECIAL, escaped);
  }
  return new RegExp(`^${source}$`, globFlags(flags));
}

/**
 * differentClassesAligned with name tokens: the texts the same up to their first difference, which is two account
 * tokens (startProof: a member's ids differ, and no id is in two classes, so they are written apart for every choice, at the
 * same place). Past a name token no place is the same in both writings, and the first difference decides.
 */
function accountsFirstDiffer(a: string, b: string): boolean {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.charCodeAt(i);
    if (x === b.charCodeAt(i) && (x !== MARK || a.charCodeAt(i + 1) === b.charCodeAt(i + 1))) {
      if (x === MARK) i++;
      continue;
    }
    return isTokenAt(a, i) && isTokenAt(b, i) && !isNameTokenAt(a, i) && !isNameTokenAt(b, i) && tokens.has(a.slice(i, i + 2)) && tokens.has(b.slice(i, i + 2));
  }
  return false;
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
    const of = oneClassOf(value, ...items);
    const each = of && Array.from({ length: of.size }, (_, i) => items.some((item) => test(writeMember(item, of, i), writeMember(value, of, i))));
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

const equalIgnoringCase = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();
/**
 * Equality in lower case (IAM's case-insensitive comparisons), of texts lowered or not: a text lowered around a
 * `logical` token is not what a member's lowered text is (`T017` keeps its capitals when written), so the texts are
 * compared as `same` does, but each member's written texts lowered again.
 */
export function sameIgnoringCase(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  if ((hasToken(x) || hasToken(y)) && couldBeEqual(x, y) && !differentClassesAligned(x, y) && !falseForEveryMember('=i', x, y, equalIgnoringCase)) certain = false;
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
/** namedLooseRegExp's, of patterns without tokens (namedCouldMatch). */
const namedOver = regExps();
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
 * tokens, one `?` none (twelve in a row, an account token), a token matches only itself; a match found so holds for
 * any ids. Otherwise the pattern is tried against the value with every token
 * as twelve unknown digits, a pattern digit matching an unknown one: if even
 * that fails, no id makes it match. If it succeeds, each member's id is
 * tried; a member that matches makes the answer depend on the id, and
 * certainty is lost. A `prefix*` pattern is the same test as a prefix.
 */
export function symbolicGlob(pattern: string, value: string, flags: Flags): boolean {
  const prefix = flags === 'i' ? undefined : prefixOf(pattern);
  if (prefix !== undefined ? value.startsWith(prefix) : unitsGlob(pattern, flags).test(value)) return true;
  const couldMatch =
    prefix !== undefined
      ? couldStartWith(value, prefix)
      : namesInProof && (hasNameToken(pattern) || hasNameToken(value))
        ? namedCouldMatch(pattern, value, flags)
        : looseGlob(pattern, flags).test(expand(value));
  if (couldMatch && !falseForEveryMember(`${flags}~`, pattern, value, (p, v) => concreteGlob(p, flags).test(v))) certain = false;
  return false;
}

/** Whether the pattern matches with tokens as units (`?` takes none of a token): a match that holds for any ids. */
export const unitsMatch = (pattern: string, value: string, flags: Flags = ''): boolean => unitsGlob(pattern, flags).test(value);

/**
 * The pattern with its tokens as units. Twelve `?` in a row may take a whole account token, which stands for twelve digits
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
          ? `(?:${TOKEN_MARK}[\\uE100-\\uEBFF]|${flags === 'r' ? '[^:\\uE000-\\uEFFF]' : NOT_TOKEN}{${ID_LENGTH}})`
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
 * nowhere (no token), as the whole string (an account token), as the whole
 * account field of an ARN (`arn:<partition>:iam::<token>:role/x`), or at the
 * very end, after a character that is not a digit (a name that carries a
 * member's id, `…:role/acme-source-<token>`): two keys with their token at the
 * end are equal for a member exactly when their texts before it are equal.
 */
export function isPlainKey(s: string): boolean {
  const at = s.indexOf(TOKEN_MARK);
  if (at < 0) return true;
  // A name token's values differ in length and hold hyphens: two keys apart as texts can be written alike.
  if (s.indexOf(TOKEN_MARK, at + 1) >= 0 || isNameTokenAt(s, at)) return false;
  if (isToken(s)) return true;
  // The fifth colon-separated field, exactly.
  let colons = 0;
  for (let i = 0; i < at; i++) if (s[i] === ':') colons++;
  if (at + 2 === s.length && at > 0 && !isDigit(s[at - 1])) return true;
  return colons === 4 && s[at - 1] === ':' && (at + 2 === s.length || s[at + 2] === ':');
}
