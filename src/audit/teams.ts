/**
 * Teams, for the report and the audit model of an org of many: a team is a
 * source account with its repositories, the pipelines that build them and
 * the pipeline accounts those pipelines deploy to. Where every name of a team
 * starts with one key (`payments-source`, `payments-api`, `payments-dev` →
 * `payments`), a row the teams have alike up to that key and their accounts
 * is printed once, with `{team}` for the key (`{Team}` in logical ids) and
 * `{source}` for the team's source account id; the teams table gives each
 * team's values.
 *
 * Presentation only: every row is still made, and every path proved, for
 * each team. A folded row with one team's values written back is exactly
 * that team's row: a text is folded by replacing literal occurrences, which
 * writing back undoes, and a text that holds a placeholder of its own (a
 * branch may be named `{team}`) is never folded.
 */
import { logicalId } from '../cfn/resources';
import type { Org } from '../org/model';
import { tokenise } from './classes';
import { madeOnce } from '../memo';

export const TEAM_PLACEHOLDER = '{team}';
export const TEAM_ID_PLACEHOLDER = '{Team}';
export const SOURCE_PLACEHOLDER = '{source}';
/** Also the account placeholder of scale.ts: a text holding any of them as it is cannot be folded and read back. */
const PLACEHOLDERS = ['{account}', TEAM_PLACEHOLDER, TEAM_ID_PLACEHOLDER, SOURCE_PLACEHOLDER];
export function holdsPlaceholder(text: string): boolean {
  // Each placeholder starts with a brace: read at each brace of the text, not the whole text once per placeholder
  // (this runs on every text of every row, and a path's resource often holds a brace: `{stage/LogicalId}`).
  for (let at = text.indexOf('{'); at >= 0; at = text.indexOf('{', at + 1)) {
    for (let i = 0; i < PLACEHOLDERS.length; i++) if (text.startsWith(PLACEHOLDERS[i], at)) return true;
  }
  return false;
}

export interface Team {
  /** The start every name of the team shares, up to a hyphen. */
  readonly key: string;
  readonly source: { readonly name: string; readonly id: string };
  /** Pipeline account ids, in the org file's order. */
  readonly pipelineAccounts: readonly string[];
  readonly repositories: readonly string[];
  /** `text` with this team's key and source account id as placeholders. */
  toPlaceholders(text: string): string;
  /** Whether `toPlaceholders` finds the team's key in `text` (the same scan). */
  keyIn(text: string): boolean;
  /** An account of the team by its name in the org file. */
  nameOf(id: string): string;
  /** An account of the team by its name with the team's key as the placeholder: `{team}-prod`. */
  accountName(id: string): string;
}

export interface Teams {
  /** The teams folded by, in the org file's order. */
  readonly list: readonly Team[];
  /** Source accounts whose names share no key (or that share an account): their rows are printed as they are. */
  readonly unfolded: readonly string[];
  /** The team an account (its id) belongs to. */
  teamOf(account: string): Team | undefined;
  /** The one team a text names, as `toPlaceholders` reads it; undefined for none or several. */
  namedIn(text: string): Team | undefined;
}

/** A team's placeholders written back: what a folded text reads for one of the team's accounts. */
export function writeBack(text: string, team: { key: string; source: string }): string {
  if (!text.includes('{')) return text;
  return text.replaceAll(TEAM_PLACEHOLDER, team.key).replaceAll(TEAM_ID_PLACEHOLDER, logicalId(team.key)).replaceAll(SOURCE_PLACEHOLDER, team.source);
}

/**
 * The org's teams that can be folded: each source account whose names
 * (repositories, pipelines, environments, pipeline accounts) share a key,
 * with no account of another team and a key no other team has. Undefined
 * when fewer than two are left: nothing is folded by team.
 */
export function findTeams(org: Org): Teams | undefined {
  // Asked of one org by the compile, the proof and the report's scale (each source account's names are read against
  // every account): found once an org, which is read-only (model.ts) after it is loaded.
  if (teamsFound.has(org)) return teamsFound.get(org);
  const teams = teamsOf(org);
  teamsFound.set(org, teams);
  return teams;
}

const teamsFound = new WeakMap<Org, Teams | undefined>();

function teamsOf(org: Org): Teams | undefined {
  const candidates = org.accounts
    .filter((a) => a.role === 'source')
    .map((source) => {
      const repositories = org.repositories.filter((r) => r.account === source.name).map((r) => r.name);
      const pipelines = org.pipelines.filter((p) => repositories.includes(p.repository));
      const environments = new Set(pipelines.flatMap((p) => p.branches.map(([environment]) => environment)));
      const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline' && environments.has(a.environment ?? ''));
      const key = sharedKey([source.name, ...repositories, ...pipelines.map((p) => p.name), ...environments, ...pipelineAccounts.map((a) => a.name)]);
      return { source, repositories, pipelineAccounts, key };
    });
  // An account in two candidates, or a key (or its logical-id form) in two, puts each of them out.
  const count = (values: string[]) => values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>());
  const accountUses = count(candidates.flatMap((c) => [c.source.id, ...c.pipelineAccounts.map((a) => a.id)]));
  const keyUses = count(candidates.flatMap((c) => (c.key === undefined ? [] : [c.key, `id:${logicalId(c.key)}`])));
  const foldable = (c: (typeof candidates)[number]) =>
    c.key !== undefined && keyUses.get(c.key) === 1 && keyUses.get(`id:${logicalId(c.key)}`) === 1 && [c.source.id, ...c.pipelineAccounts.map((a) => a.id)].every((id) => accountUses.get(id) === 1);
  const names = new Map(org.accounts.map((a) => [a.id, a.name]));
  const teams = candidates.filter(foldable).map((c) => makeTeam(c.key!, c.source, c.pipelineAccounts.map((a) => a.id), c.repositories, names));
  if (teams.length < 2) return undefined;
  const byAccount = new Map<string, Team>();
  for (const t of teams) for (const id of [t.source.id, ...t.pipelineAccounts]) byAccount.set(id, t);
  const byKey = new Map(teams.map((t) => [t.key, t]));
  const byLogicalId = new Map(teams.map((t) => [logicalId(t.key), t]));
  // What the scan for a key looks at: the lengths of keys, and the characters they start with (a flag per UTF-16 code, read for every character of a text).
  const starts = new Uint8Array(0x10000);
  for (const k of [...byKey.keys(), ...byLogicalId.keys()]) starts[k.charCodeAt(0)] = 1;
  const lengths = {
    keys: [...new Set([...byKey.keys()].map((k) => k.length))],
    ids: [...new Set([...byLogicalId.keys()].map((k) => k.length))],
    starts,
  };
  return {
    list: teams,
    unfolded: candidates.filter((c) => !foldable(c)).map((c) => c.source.name),
    teamOf: (account) => byAccount.get(account),
    namedIn: (text) => teamNamedIn(text, byKey, byLogicalId, byAccount, lengths),
  };
}

/** The longest start, ending before a hyphen, that every name has followed by that hyphen; undefined when there is none. */
function sharedKey(names: readonly string[]): string | undefined {
  let key = names[0];
  for (;;) {
    const cut = key.lastIndexOf('-');
    if (cut <= 0) return undefined;
    key = key.slice(0, cut);
    if (names.every((n) => n.startsWith(`${key}-`))) return key;
  }
}

const isWordChar = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

// The two tests of replaceKey, made once rather than as closures on every call (it runs ~200,000 times at 250 teams).
const isKeyWordAt = (at: number, end: number, text: string) => !isWordChar(text[at - 1]) && text[end] === '-';
const isIdWordAt = (_at: number, end: number, text: string) => !isLower(text[end]);

/**
 * Where a team's key is found, and the one place that finds it (a scan: it
 * runs on every text of every team's rows): each occurrence of the key as a
 * word of a name (after a non-alphanumeric character or at the start, before
 * a hyphen) becomes {team}, then each of its logical-id form before a
 * non-lowercase character {Team}.
 */
function replaceKey(text: string, key: string, id: string): string {
  return replaceWhere(replaceWhere(text, key, isKeyWordAt, TEAM_PLACEHOLDER), id, isIdWordAt, TEAM_ID_PLACEHOLDER);
}

/**
 * `text` with `word` written as `placeholder` wherever `where(at, end, text)` says (asked left to right, past each one
 * replaced); `left.any` set where it leaves one (src/checks/alike.ts asks it).
 */
export function replaceWhere(text: string, word: string, where: (at: number, end: number, text: string) => boolean, placeholder: string, left?: { any: boolean }): string {
  let at = text.indexOf(word);
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const end = at + word.length;
    if (where(at, end, text)) {
      out += text.slice(from, at) + placeholder;
      from = end;
      at = text.indexOf(word, end);
    } else {
      if (left) left.any = true;
      at = text.indexOf(word, at + 1);
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

function makeTeam(key: string, source: { name: string; id: string }, pipelineAccounts: string[], repositories: string[], names: ReadonlyMap<string, string>): Team {
  const id = logicalId(key);
  const toPlaceholders = (text: string) => replaceKey(tokenise(text, source.id, SOURCE_PLACEHOLDER), key, id);
  return {
    key,
    source: { name: source.name, id: source.id },
    pipelineAccounts,
    repositories,
    toPlaceholders,
    keyIn: (text) => replaceKey(text, key, id) !== text,
    nameOf: (account) => names.get(account) ?? account,
    accountName: madeOnce((account) => toPlaceholders(names.get(account) ?? account)),
  };
}

/**
 * Candidates are proposed by a scan (a team's account ids; a key's length of
 * text at each start of a word; a logical-id key's length at each capital)
 * and kept where the team's own pattern finds its key, so that a text names
 * a team exactly where `toPlaceholders` would replace something of it.
 */
function teamNamedIn(
  text: string,
  byKey: ReadonlyMap<string, Team>,
  byLogicalId: ReadonlyMap<string, Team>,
  byAccount: ReadonlyMap<string, Team>,
  lengths: { keys: number[]; ids: number[]; starts: Uint8Array },
): Team | undefined {
  // The one team named so far; a second one answers undefined at once. No Set, iterator or list is made per text.
  let named: Team | undefined;
  // Account ids: each run of exactly 12 digits (a longer run holds none).
  for (let at = 0; at < text.length; ) {
    if (!isDigitCode(text.charCodeAt(at))) {
      at++;
      continue;
    }
    const start = at;
    while (at < text.length && isDigitCode(text.charCodeAt(at))) at++;
    if (at - start !== ACCOUNT_ID_LENGTH) continue;
    const team = byAccount.get(text.slice(start, at));
    if (!team || team === named) continue;
    if (named) return undefined;
    named = team;
  }
  let candidates: Set<Team> | undefined;
  const propose = (team: Team | undefined) => {
    if (team && team !== named) (candidates ??= new Set()).add(team);
  };
  for (let at = 0; at < text.length; at++) {
    if (lengths.starts[text.charCodeAt(at)] === 0) continue;
    const c = text[at];
    if (isWordChar(c) && !isWordChar(text[at - 1])) {
      for (let i = 0; i < lengths.keys.length; i++) {
        const n = lengths.keys[i];
        if (text[at + n] === '-') propose(byKey.get(text.slice(at, at + n)));
      }
    }
    if (c >= 'A' && c <= 'Z') for (let i = 0; i < lengths.ids.length; i++) propose(byLogicalId.get(text.slice(at, at + lengths.ids[i])));
  }
  if (candidates) {
    for (const team of candidates) {
      if (!team.keyIn(text)) continue;
      if (named) return undefined;
      named = team;
    }
  }
  return named;
}

const ACCOUNT_ID_LENGTH = 12;
const isDigitCode = (code: number) => code >= 48 && code <= 57;

/** Which teams, as a reader needs them: "each of the 250 teams", or their keys, a run of three or more in the teams table's order as its first and last (`t056 to t083`). */
export function teamsPhrase(teams: Teams, which: readonly Team[]): string {
  if (which.length === teams.list.length) return `each of the ${which.length} teams`;
  const positions = which.map((t) => teams.list.indexOf(t)).sort((a, b) => a - b);
  const runs: number[][] = [];
  for (const p of positions) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1] === p - 1) run.push(p);
    else runs.push([p]);
  }
  const key = (p: number) => teams.list[p].key;
  const named = runs.flatMap((run) => (run.length >= 3 ? [`${key(run[0])} to ${key(run[run.length - 1])}`] : run.map(key)));
  return `each of ${which.length} teams: ${named.join(', ')}`;
}

/**
 * A list (a policy's resources) with the values every team has alike up to its
 * names written once, `{team}`…, and "for each of the N teams"; a value that
 * not every team has is listed as it is, so the list can be read back exactly.
 */
export function foldByTeam(values: readonly string[], teams: Teams): string[] {
  const groups = new Map<string, { values: string[]; teams: Set<Team> }>();
  const out: Array<string | { shape: string }> = [];
  for (const value of values) {
    const team = holdsPlaceholder(value) ? undefined : teams.namedIn(value);
    const shape = team ? team.toPlaceholders(value) : value;
    if (!team || shape === value) {
      out.push(value);
      continue;
    }
    const group = groups.get(shape);
    if (group) {
      group.values.push(value);
      group.teams.add(team);
    } else {
      groups.set(shape, { values: [value], teams: new Set([team]) });
      out.push({ shape });
    }
  }
  return out.flatMap((x) => {
    if (typeof x === 'string') return [x];
    const group = groups.get(x.shape)!;
    const everyTeamOnce = group.teams.size === teams.list.length && group.values.length === teams.list.length;
    return everyTeamOnce ? [`${x.shape} for ${teamsPhrase(teams, teams.list)}`] : group.values;
  });
}
