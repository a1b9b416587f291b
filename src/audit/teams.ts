/**
 * Teams, for the report of an org of many: a team is a source account with
 * its repositories, the pipelines that build them and the pipeline accounts
 * those pipelines deploy to. Where every name of a team starts with one key
 * (`payments-source`, `payments-api`, `payments-dev` → `payments`), a row the
 * teams have alike up to that key and their accounts is printed once, with
 * `{team}` for the key (`{Team}` in logical ids) and `{source}` for the team's
 * source account id; the teams table gives each team's values.
 *
 * Presentation only: every row is still made, and every path proved, for
 * each team. A folded row with one team's values written back is exactly
 * that team's row (a text is generalised by replacing literal occurrences,
 * which the placeholders undo), so nothing is lost by folding.
 */
import { logicalId } from '../cfn/resources';
import type { Org } from '../org/model';
import { tokenise } from './classes';
import { ACCOUNTS_LISTED } from './scale';

export const TEAM_PLACEHOLDER = '{team}';
export const TEAM_ID_PLACEHOLDER = '{Team}';
export const SOURCE_PLACEHOLDER = '{source}';

export interface Team {
  /** The start every name of the team shares, up to a hyphen. */
  readonly key: string;
  readonly source: { readonly name: string; readonly id: string };
  /** Pipeline account ids, in the org file's order. */
  readonly pipelineAccounts: readonly string[];
  readonly repositories: readonly string[];
  /** `text` with this team's key and source account id as placeholders. */
  generalise(text: string): string;
}

export interface Teams {
  readonly list: readonly Team[];
  /** The team an account (its id) belongs to. */
  teamOf(account: string): Team | undefined;
  /** The one team a text names (its key as a word before a hyphen, or one of its account ids); undefined for none or several. */
  namedIn(text: string): Team | undefined;
}

/** The teams the report and the audit model fold by: beyond ACCOUNTS_LISTED accounts, where the org has them. */
export const teamsToFold = (org: Org): Teams | undefined => (org.accounts.length > ACCOUNTS_LISTED ? findTeams(org) : undefined);

/** The team of an account id, or of a class's token when its members are all of one team. */
export function teamOfAccountOrClass(teams: Teams | undefined, classes: ReadonlyMap<string, readonly string[]>): (account: string) => Team | undefined {
  if (!teams) return () => undefined;
  const ofClass = new Map<string, Team>();
  for (const [token, members] of classes) {
    const team = teams.teamOf(members[0]);
    if (team && members.every((id) => teams.teamOf(id) === team)) ofClass.set(token, team);
  }
  return (account) => teams.teamOf(account) ?? ofClass.get(account);
}

/** A team's placeholders written back: what a folded text reads for one of the team's accounts. */
export function writeBack(text: string, team: { key: string; source: string }): string {
  if (!text.includes('{')) return text;
  return text.replaceAll(TEAM_PLACEHOLDER, team.key).replaceAll(TEAM_ID_PLACEHOLDER, logicalId(team.key)).replaceAll(SOURCE_PLACEHOLDER, team.source);
}

/**
 * The org's teams, when it is made of at least two that can be folded: each
 * source account a team whose names share a key, no account in two teams,
 * no two teams with one key. Otherwise undefined (nothing is folded by team).
 */
export function findTeams(org: Org): Teams | undefined {
  const sources = org.accounts.filter((a) => a.role === 'source');
  if (sources.length < 2) return undefined;
  const teams: Team[] = [];
  const byAccount = new Map<string, Team>();
  for (const source of sources) {
    const repositories = org.repositories.filter((r) => r.account === source.name).map((r) => r.name);
    const pipelines = org.pipelines.filter((p) => repositories.includes(p.repository));
    const environments = new Set(pipelines.flatMap((p) => p.branches.map(([environment]) => environment)));
    const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline' && environments.has(a.environment ?? ''));
    const key = sharedKey([source.name, ...repositories, ...pipelines.map((p) => p.name), ...environments, ...pipelineAccounts.map((a) => a.name)]);
    if (key === undefined) return undefined;
    const team = makeTeam(key, source, pipelineAccounts.map((a) => a.id), repositories);
    for (const id of [source.id, ...team.pipelineAccounts]) {
      if (byAccount.has(id)) return undefined;
      byAccount.set(id, team);
    }
    teams.push(team);
  }
  const byKey = new Map(teams.map((t) => [t.key, t]));
  const byLogicalId = new Map(teams.map((t) => [logicalId(t.key), t]));
  if (byKey.size < teams.length || byLogicalId.size < teams.length) return undefined;
  return { list: teams, teamOf: (account) => byAccount.get(account), namedIn: (text) => teamNamedIn(text, byKey, byLogicalId, byAccount) };
}

/**
 * Keys are found where `generalise` finds them: hyphen-joined words of a name
 * followed by a hyphen (`big-t001-svc1`), and PascalCase words of a logical
 * id followed by another word (`T001Svc1Pipeline`).
 */
function teamNamedIn(text: string, byKey: ReadonlyMap<string, Team>, byLogicalId: ReadonlyMap<string, Team>, byAccount: ReadonlyMap<string, Team>): Team | undefined {
  const named = new Set<Team>();
  for (const [id] of text.matchAll(/(?<!\d)\d{12}(?!\d)/g)) {
    const team = byAccount.get(id);
    if (team) named.add(team);
  }
  for (const [name] of text.matchAll(/[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+/g)) {
    const words = name.split('-');
    for (let start = 0; start < words.length - 1; start++) {
      for (let end = start + 1; end < words.length; end++) {
        const team = byKey.get(words.slice(start, end).join('-'));
        if (team) named.add(team);
      }
    }
  }
  for (const [id] of text.matchAll(/[A-Z][A-Za-z0-9]*/g)) {
    const starts = [...id.matchAll(/[A-Z]/g)].map((m) => m.index);
    for (let i = 0; i < starts.length; i++) {
      for (let j = i + 1; j <= starts.length; j++) {
        const team = byLogicalId.get(id.slice(starts[i], j < starts.length ? starts[j] : id.length));
        if (team) named.add(team);
      }
    }
  }
  return named.size === 1 ? [...named][0] : undefined;
}

/**
 * A list (a policy's resources) with the values every team has alike up to its
 * names written once, `{team}`…, and "for each of N teams"; a value that not
 * every team has is listed as it is, so the list can be read back exactly.
 */
export function foldByTeam(values: readonly string[], teams: Teams): string[] {
  const groups = new Map<string, { values: string[]; teams: Set<Team> }>();
  const out: Array<string | { shape: string }> = [];
  for (const value of values) {
    const team = teams.namedIn(value);
    const shape = team ? team.generalise(value) : value;
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
    return everyTeamOnce ? [`${x.shape} for each of the ${teams.list.length} teams`] : group.values;
  });
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

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function makeTeam(key: string, source: { name: string; id: string }, pipelineAccounts: string[], repositories: string[]): Team {
  const id = logicalId(key);
  // The key as a word of a name (after a separator or at the start, before its hyphen), and as the start of a word of a logical id.
  const pattern = new RegExp(`(?<![A-Za-z0-9])${escape(key)}(?=-)|${escape(id)}(?![a-z])`, 'g');
  return {
    key,
    source: { name: source.name, id: source.id },
    pipelineAccounts,
    repositories,
    generalise: (text) => tokenise(text, source.id, SOURCE_PLACEHOLDER).replace(pattern, (m) => (m === key ? TEAM_PLACEHOLDER : TEAM_ID_PLACEHOLDER)),
  };
}
