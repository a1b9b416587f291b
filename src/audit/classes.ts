/**
 * Account classes: pipeline accounts whose grants and access paths are the
 * same once their own id is written as a token. A class is proved once, with
 * its token for the id (symbolic.ts says when that proof holds for every
 * member), instead of once per account.
 *
 * What an account's grants are made of, and so its class key: the stages
 * deployed to it; for each condition on the account its policies or outputs
 * read (src/cfn/account-switch.ts), whether it holds there (the stage's
 * conditions that do, since the others do not); and the
 * pipelines that run in it (its access paths). The templates are one per
 * stage, the same for every account, so an account whose id a template
 * deployed to it names literally, outside its conditions, is left out.
 */
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';
import type { Resolver } from './resolve';
import { listIn } from '../memo';
import { latin1 } from './one-byte';
import { holdsTokenCharacter, holdsTokenCharacters, isAnyToken, MAX_CLASSES, piecesOf, type TiedToken, TOKEN_MARK, tokenFor } from './symbolic';

export interface AccountClass {
  readonly token: string;
  /** Account ids, in the org file's order. */
  readonly members: readonly string[];
  /** Tokens tied to the class's own, a value per member (symbolic.ts): a class of teams's (paths.ts proveByTeams); none of an account class. */
  readonly tied?: readonly TiedToken[];
}

/** How many accounts something proved once stands for: its class's members, or one. */
export const weight = (x: { readonly accounts?: readonly string[] }): number => x.accounts?.length ?? 1;

/** `text` with `account` written as `token`. */
export const tokenise = (text: string, account: string, token: string): string => (text.includes(account) ? text.replaceAll(account, token) : text);

/**
 * Whether `text` with `account` written as `token` reads `written`, as `tokenise` would write it (each occurrence,
 * left to right, none overlapping the one before), compared in place rather than written.
 */
export function readsTokenised(written: string, text: string, account: string, token: string): boolean {
  let i = 0;
  let j = 0;
  for (let at = text.indexOf(account); ; at = text.indexOf(account, i)) {
    // The text before the next occurrence (or to its end), as it stands.
    const end = at < 0 ? text.length : at;
    if (written.length - j < end - i) return false;
    for (; i < end; i++, j++) if (text.charCodeAt(i) !== written.charCodeAt(j)) return false;
    if (at < 0) return j === written.length;
    if (!written.startsWith(token, j)) return false;
    i += account.length;
    j += token.length;
  }
}

/**
 * A list with `account` written as `token`: the list itself when none of its texts names the account, as
 * most of a class's statements' lists (nothing mutates them).
 */
export const tokeniseList = (list: string[], account: string, token: string): string[] =>
  names(list, account) ? list.map((text) => tokenise(text, account, token)) : list;

/** Whether some text of a list names `account` (a loop: asked of every list of every class statement and path). */
function names(list: readonly string[], account: string): boolean {
  for (const text of list) if (text.includes(account)) return true;
  return false;
}

/** Each list of a record (a path's context, a statement's condition keys) with `account` written as `token`; the record itself when none names it. */
export function tokeniseLists(record: Record<string, string[]>, account: string, token: string): Record<string, string[]> {
  let named = false;
  for (const key in record) if ((named = names(record[key], account))) break;
  if (!named) return record;
  // The keys in their order, as Object.entries gives them.
  const out: Record<string, string[]> = {};
  for (const key in record) out[key] = tokeniseList(record[key], account, token);
  return out;
}

const NO_CLASSES: ReadonlyMap<string, AccountClass> = new Map();

/**
 * Account id → its class, for the accounts that share one with another.
 * `resolver` must have compiled every policy statement and output of
 * `stages` (the conditions they read are read here).
 */
export function classifyAccounts(org: Org, stages: readonly Stage[], templates: (stageId: string) => CfnTemplate, resolver: Resolver): ReadonlyMap<string, AccountClass> {
  // Accounts named by the access settings get paths of their own, beside the pipelines'.
  const { developers, ci } = org.access;
  const named = new Set([...(ci ? [ci.account] : []), ...[...(developers?.assumedBy ?? []), ...(developers?.maintainers ?? [])].map((s) => s.account)]);
  const pipelinesOf = new Map<string, string[]>();
  for (const p of org.pipelines) for (const [environment] of p.branches) listIn(pipelinesOf, environment).push(p.name);
  const stagesOf = new Map<string, KeyedStage[]>();
  for (const stage of stages) {
    const keyed = { stage, holding: resolver.conditionsHoldingIn(stage.id) };
    for (const a of stage.targets) listIn(stagesOf, a.id).push(keyed);
  }

  const byKey = new Map<string, string[]>();
  for (const account of org.accounts) {
    if (account.role !== 'pipeline' || named.has(account.name)) continue;
    const key = classKey(account.id, pipelinesOf.get(account.environment ?? '') ?? [], stagesOf.get(account.id) ?? []);
    const members = byKey.get(key);
    if (members) members.push(account.id);
    else byKey.set(key, [account.id]);
  }
  // The accounts that could share a class: scanning the templates is only worth it when there are some.
  const candidates = new Set<string>();
  for (const members of byKey.values()) if (members.length > 1) for (const id of members) candidates.add(id);
  if (candidates.size === 0) return NO_CLASSES;
  // Tokens must be new characters: a value or template holding them would be misread as one.
  if (holdsTokenCharacters(JSON.stringify(org))) return NO_CLASSES;
  const excluded = new Set<string>();
  // A stage of one account puts it in a class of its own; the org's values, in every template, were checked above.
  for (const stage of stages.filter((s) => s.targets.length > 1)) {
    const { Conditions: _byAccount, ...rest } = templates(stage.id);
    // A stage deployed to no candidate (a source account's) names no id that could take one out of its class:
    // only its token characters are looked for, in place (half the templates' text of an org of teams is theirs).
    if (!stage.targets.some((a) => candidates.has(a.id))) {
      if (tokenCharactersWithin(rest)) return NO_CLASSES;
      continue;
    }
    const text = JSON.stringify(rest);
    if (holdsTokenCharacters(text)) return NO_CLASSES;
    // A class's statements are a member's with its id as the token; a target whose id the template itself names is not
    // (its conditions name every account whose value they choose: those are keyed by whether they hold).
    const named = idsWithin(text);
    for (const a of stage.targets) if (named.has(a.id)) excluded.add(a.id);
  }
  for (const [key, members] of byKey) byKey.set(key, members.filter((id) => !excluded.has(id)));

  const classes = new Map<string, AccountClass>();
  let index = 0;
  for (const members of byKey.values()) {
    if (members.length < 2) continue;
    if (index === MAX_CLASSES) return NO_CLASSES;
    const c: AccountClass = { token: tokenFor(index++), members };
    for (const id of members) classes.set(id, c);
  }
  return classes;
}

interface KeyedStage {
  stage: Stage;
  /** Account → the conditions its policies and outputs read that hold there, in a fixed order (the others do not). */
  holding: ReadonlyMap<string, readonly string[]>;
}

/** The key described above. */
function classKey(account: string, pipelines: readonly string[], stages: readonly KeyedStage[]): string {
  const parts = [`pipelines ${pipelines.join(',')}`];
  for (const { stage, holding } of stages) parts.push(`stage ${stage.id}`, ...(holding.get(account) ?? []).map((name) => `holds ${name}`));
  return parts.join('\n');
}

/** Whether a template's keys or texts (as its JSON text would hold them) hold a character tokens are made of. */
export function tokenCharactersWithin(value: unknown): boolean {
  if (typeof value === 'string') return holdsTokenCharacters(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (tokenCharactersWithin(item)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (holdsTokenCharacters(key) || tokenCharactersWithin(record[key])) return true;
  return false;
}

/** Every 12-digit string inside the digit runs of `text`: the account ids it could name. */
function idsWithin(text: string): Set<string> {
  const ids = new Set<string>();
  forEachIdWithin(text, (id) => ids.add(id));
  return ids;
}

/** Calls `f` with each 12-digit window of each run of 12 or more digits in `text` (a run's windows overlap), in order. */
export function forEachIdWithin(text: string, f: (id: string) => void): void {
  const runs = /\d{12,}/g;
  // exec rather than matchAll: a template's text has thousands of runs, and an iterator makes garbage of its own.
  for (let m = runs.exec(text); m; m = runs.exec(text)) for (let i = 0; i + 12 <= m[0].length; i++) f(m[0].slice(i, i + 12));
}

/**
 * Team classes: teams (teams.ts `findTeams`) whose statements and paths read the same once the team's tuple is
 * written as tokens: its pipeline accounts' ids (one token per environment, in order: the first is the class's own,
 * so a member is a team), its source account's id, its key, the key's logical-id form, and its forwarding rules'
 * hashes (naming.ts `forwardingRule`: a hash of repository and branch, which no key writes). A team whose pipeline
 * accounts are one account class (above) holds that class's token for them: its items holding it stand for each of
 * its pipeline accounts, and are proved once per environment.
 *
 * Alike is decided on the texts themselves (paths.ts), not on how they were made: each value is replaced by a token
 * no text holds, one after another, which writing the tokens back undoes; so a member whose texts read as the class's
 * first team's is, text for text, that team's with its own values.
 */
export interface TeamMember {
  /** Its account class's token, which its statements and paths hold for its pipeline accounts; none where no class holds them. */
  readonly accountToken?: string;
  /** Its pipeline accounts' ids, in the org file's order. */
  readonly pipelines: readonly string[];
  readonly source: string;
  readonly key: string;
  readonly logical: string;
  /** Its forwarding rules' hashes, by repository and branch (each once). */
  readonly hashes: readonly string[];
}

/** The tokens a team class writes for a member's tuple (TeamMember's values, the same places). */
export interface TeamTokens {
  readonly pipelines: readonly string[];
  readonly source: string;
  readonly key: string;
  readonly logical: string;
  readonly hashes: readonly string[];
}

/** `text` with a member's tuple written as tokens, and its account class's token as `accountAs` (one of its pipelines' tokens). */
export function toTeamTokens(text: string, m: TeamMember, t: TeamTokens, accountAs: string): string {
  let s = text;
  if (m.accountToken !== undefined && s.includes(m.accountToken)) s = s.replaceAll(m.accountToken, accountAs);
  if (s.includes(m.source)) s = s.replaceAll(m.source, t.source);
  for (let j = 0; j < m.pipelines.length; j++) if (s.includes(m.pipelines[j])) s = s.replaceAll(m.pipelines[j], t.pipelines[j]);
  // Before the key, which could stand inside a hash (hexadecimal).
  for (let h = 0; h < m.hashes.length; h++) if (s.includes(m.hashes[h])) s = s.replaceAll(m.hashes[h], t.hashes[h]);
  if (s.includes(m.key)) s = s.replaceAll(m.key, t.key);
  if (s.includes(m.logical)) s = s.replaceAll(m.logical, t.logical);
  return s;
}

const MARK_CODE = TOKEN_MARK.charCodeAt(0);

/**
 * Whether `pieces`, each token written as its value (`values`, keyed by tokens, two characters from the mark: atOnce
 * asks it; any other piece as it is), read `own`: compared in place. Only a piece of a token's length and mark is
 * looked up: no other can be a key (most pieces are the literal text between tokens).
 */
function readsWritten(pieces: readonly string[], values: ReadonlyMap<string, string>, own: string): boolean {
  let at = 0;
  for (const piece of pieces) {
    const text = piece.length === 2 && piece.charCodeAt(0) === MARK_CODE ? (values.get(piece) ?? piece) : piece;
    if (!own.startsWith(text, at)) return false;
    at += text.length;
  }
  return at === own.length;
}

/**
 * A reader of texts with tokens written in turn with `values` (each token, in order, replaced by its value, as reach.ts
 * writerFor writes a member's), which tells whether a text so written reads `own` by comparing in place, each text cut
 * at its tokens once (`pieces`), where that is writing them at once (`atOnce`). Undefined otherwise.
 */
export function readsWrittenInTurn(values: ReadonlyArray<readonly [string, string]>, pieces: Map<string, string[]>): ((text: string, own: string) => boolean) | undefined {
  const byToken = atOnce(values);
  return byToken ? (text, own) => readsWritten(pieces.get(text) ?? pieces.set(text, cutOneByte(text)).get(text)!, byToken, own) : undefined;
}

/**
 * A text cut at its tokens (piecesOf), each piece copied one-byte where its characters allow (one-byte.ts): cut from a
 * text holding tokens, which V8 keeps two-byte, a piece stays two-byte, and is compared with every member's own texts
 * (one-byte) a character at a time. The same characters, so the same answers; a text is cut once for every member.
 */
const cutOneByte = (text: string): string[] => piecesOf(text).map(latin1);

/**
 * A writer of texts with tokens written in turn with `values` (each token, in order, replaced throughout by its value):
 * in one pass over a text's tokens where that is writing them at once (`atOnce`), else in turn.
 */
export function writerInTurn(values: ReadonlyArray<readonly [string, string]>): (text: string) => string {
  const byToken = atOnce(values);
  if (!byToken) return (text) => values.reduce((s, [token, value]) => (s.includes(token) ? s.replaceAll(token, value) : s), text);
  // A token is its mark and one character past it: looked up by that character, no text cut out per token.
  const byCharacter = new Map([...byToken].map(([token, value]) => [token.charCodeAt(1), value]));
  return (text) => {
    let out = '';
    let from = 0;
    for (let at = text.indexOf(TOKEN_MARK); at >= 0; at = text.indexOf(TOKEN_MARK, at + 1)) {
      const value = byCharacter.get(text.charCodeAt(at + 1));
      if (value === undefined) continue;
      out += text.slice(from, at) + value;
      from = at + 2;
      at++;
    }
    return from === 0 ? text : out + text.slice(from);
  };
}

/**
 * The tokens of `values` with their values, where writing them in turn is writing each at once; undefined otherwise. A
 * token is a two-character unit (its mark, then a character past it) that two never share, so where the tokens written
 * are such units, distinct, and each value is not empty and holds no such character, or is a token that is none of
 * them (a member's account class's), no value makes or breaks a token written after it.
 */
function atOnce(values: ReadonlyArray<readonly [string, string]>): ReadonlyMap<string, string> | undefined {
  const byToken = new Map(values);
  const ok = byToken.size === values.length && values.every(([token, value]) => isAnyToken(token) && value !== '' && (!holdsTokenCharacter(value) || (isAnyToken(value) && !byToken.has(value))));
  return ok ? byToken : undefined;
}

/** What a team is read by (findTeams's): its key, source account and pipeline accounts, and repositories. */
export interface FoundTeam {
  readonly key: string;
  readonly source: { readonly id: string };
  readonly pipelineAccounts: readonly string[];
  readonly repositories: readonly string[];
}

/** What symbolic.ts takes for a name token's values (tiedTokensReadable): a team with another is left out. */
const KEY = /^(?=.*[^0-9])[a-z0-9-]+$/;
const LOGICAL = /^(?=.*[^0-9])[A-Za-z0-9]+$/;

/**
 * The teams whose pipeline accounts are either exactly one account class (`classes`: classifyAccounts's), in its
 * order, or in none, with their tuple. `hashesOf`: a team's forwarding rules' hashes. findTeams puts out a team whose
 * key, its logical-id form, or an account another team shares, so each value is one team's.
 */
export function teamCandidates(teams: readonly FoundTeam[], classes: ReadonlyMap<string, AccountClass>, logicalIdOf: (key: string) => string, hashesOf: (team: FoundTeam) => string[]): TeamMember[] {
  const out: TeamMember[] = [];
  for (const team of teams) {
    const ids = team.pipelineAccounts;
    const c = ids.length > 0 ? classes.get(ids[0]) : undefined;
    const oneClass = c !== undefined && c.tied === undefined && c.members.length === ids.length && c.members.every((id, i) => id === ids[i]);
    if (ids.length === 0 || !(oneClass || ids.every((id) => !classes.has(id)))) continue;
    const logical = logicalIdOf(team.key);
    const hashes = hashesOf(team);
    if (!KEY.test(team.key) || !LOGICAL.test(logical) || !hashes.every((h) => KEY.test(h))) continue;
    out.push({ ...(oneClass ? { accountToken: c.token } : {}), pipelines: ids, source: team.source.id, key: team.key, logical, hashes });
  }
  return out;
}

/**
 * Groups teams into classes: a team joins the first class (of its `shape`) whose first team it reads as (`alike`).
 * Classes of one team are left out.
 */
export function groupTeams<T>(teams: readonly T[], shape: (team: T) => string, alike: (team: T, first: T) => boolean): T[][] {
  const byShape = new Map<string, T[][]>();
  for (const team of teams) {
    const key = shape(team);
    const classes = byShape.get(key) ?? byShape.set(key, []).get(key)!;
    const c = classes.find((x) => alike(team, x[0]));
    if (c) c.push(team);
    else classes.push([team]);
  }
  return [...byShape.values()].flat().filter((c) => c.length > 1);
}
