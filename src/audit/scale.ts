/**
 * How the report stays readable, and small, for an org of hundreds of
 * accounts: up to ACCOUNTS_LISTED accounts everything is listed account by
 * account; beyond, what repeats in every account of a stage is shown once,
 * with the account id as a placeholder and the number of accounts it holds
 * for; an org of many teams is folded once more by team (teams.ts).
 * Nothing is dropped: the templates and parameter files hold each account's
 * values, and the access proof still runs for every account.
 */
import type { Org } from '../org/model';
import type { PrincipalRef } from './grants';
import { accountOf } from './evaluate';
import { tokenise } from './classes';
import { findTeams, holdsPlaceholder, teamsPhrase, type Team, type Teams } from './teams';

export const ACCOUNTS_LISTED = 12;
export const ACCOUNT_PLACEHOLDER = '{account}';

/** `text` with one account's id as the placeholder; account ids are 12 digits, so they are found in ARNs and names alike. */
export const generalise = (text: string, account: string) => tokenise(text, account, ACCOUNT_PLACEHOLDER);

/** The accounts of a list, by name, or as "every pipeline account" when that is what they are. */
export function describeAccounts(org: Org, ids: readonly string[]): string {
  const unique = new Set(ids);
  const pipeline = org.accounts.filter((a) => a.role === 'pipeline');
  if (unique.size > 1 && unique.size === pipeline.length && pipeline.every((a) => unique.has(a.id))) return `every pipeline account (${unique.size})`;
  const names = new Map(org.accounts.map((a) => [a.id, a.name]));
  return `${unique.size} account${unique.size === 1 ? '' : 's'}: ${[...unique].map((id) => names.get(id) ?? id).join(', ')}`;
}

export const describePrincipal = (p: PrincipalRef) => (p.kind === 'aws' ? p.arn : p.kind === 'service' ? `service ${p.service}` : '* (any principal)');

/** A statement's principals; a long list of the same role in many accounts becomes one line per role name. */
export function describePrincipals(org: Org, principals: readonly PrincipalRef[]): string {
  if (principals.length <= ACCOUNTS_LISTED) return principals.map(describePrincipal).join(', ');
  const shapes = new Map<string, { arns: string[]; accounts: string[] }>();
  const others: string[] = [];
  for (const p of principals) {
    if (p.kind !== 'aws') {
      others.push(describePrincipal(p));
      continue;
    }
    const account = accountOf(p.arn);
    const shape = generalise(p.arn, account);
    const entry = shapes.get(shape) ?? { arns: [], accounts: [] };
    entry.arns.push(p.arn);
    entry.accounts.push(account);
    shapes.set(shape, entry);
  }
  return [...others, ...[...shapes].map(([shape, { arns, accounts }]) => (arns.length === 1 ? arns[0] : `${shape} for ${describeAccounts(org, accounts)}`))].join(', ');
}

/** The teams the report and the audit model fold by: beyond ACCOUNTS_LISTED accounts, where the org has them. */
export const teamsToFold = (org: Org): Teams | undefined => (org.accounts.length > ACCOUNTS_LISTED ? findTeams(org) : undefined);

/** The team a row's account belongs to, and the accounts the row stands for (a class's token stands for its members). */
export interface TeamAccounts {
  readonly team: Team;
  readonly accounts: readonly string[];
}

/** How rows fold by team: the teams, and a row's account (an id, or a class's token whose members are all of one team) to its team. */
export interface TeamFold {
  readonly teams: Teams;
  of(account: string): TeamAccounts | undefined;
}

/** `classes`: the proof's account classes by member (reach.ts `classesOf`). */
export function teamFold(teams: Teams | undefined, classes: ReadonlyMap<string, { readonly token: string; readonly members: readonly string[] }>): TeamFold | undefined {
  if (!teams) return undefined;
  const ofClass = new Map<string, TeamAccounts>();
  for (const { token, members } of classes.values()) {
    if (ofClass.has(token)) continue;
    const team = teams.teamOf(members[0]);
    if (team && members.every((id) => teams.teamOf(id) === team)) ofClass.set(token, { team, accounts: members });
  }
  return {
    teams,
    of(account) {
      const team = teams.teamOf(account);
      return team ? { team, accounts: [account] } : ofClass.get(account);
    },
  };
}

/**
 * A text as folded for `account` (an id or a class's token): its id as
 * `{account}`, then, in a team, the team's key and source account as the
 * team's placeholders; a team's source account is `{source}`, not `{account}`.
 */
export function shapeFor(text: string, account: string, team: Team | undefined): string {
  if (!team) return generalise(text, account);
  return team.toPlaceholders(team.source.id === account ? text : generalise(text, account));
}

export interface Row {
  cells: string[];
  /** The account it was made for (an id or a class's token); '' for none. */
  account: string;
  /** Merge it with the rows of other accounts that read the same with the account as the placeholder. */
  merge: boolean;
  /** How many accounts it stands for (a class's members); 1 by default. */
  accounts?: number;
  /** A row of no account that belongs to a team (a team's resource in a family template). */
  team?: Team;
}

interface Merged {
  first: string[];
  /** With the account as the placeholder, when merged by account. */
  shaped: string[];
  count: number;
  team?: Team;
  /** With the team's placeholders too. */
  teamShaped?: string[];
  /** The team's accounts it holds for (ids). */
  teamAccounts: Set<string>;
}

/** A team's accounts in the team's order (its source account, then its pipeline accounts as in the org file), each named by `name`. */
function accountNames(team: Team, accounts: ReadonlySet<string>, name = team.accountName): string[] {
  return [team.source.id, ...team.pipelineAccounts].filter((id) => accounts.has(id)).map((id) => name(id));
}

/**
 * Rows that differ only in the account they were made for, merged: each row
 * is made with its account as the placeholder when `merge` says so, and a
 * merged row says in how many accounts it holds. An item of an account class
 * has the class's token for its account and counts for each member.
 *
 * With `fold`, the rows of each team's accounts are merged within the team
 * (whatever the size of their stage) and say for which of its accounts they
 * hold; then rows alike across teams up to the team's names, and held for
 * the same accounts of each (`{team}-prod`), are one row that says which
 * teams. A row whose text holds a placeholder of its own is never merged
 * with another.
 */
export function mergeAccountRows<T>(items: readonly T[], row: (item: T) => Row, fold?: TeamFold): string[][] {
  // Rows are keyed by their cells' numbers, not their joined text: most cells are the same string objects row after
  // row (a statement's label, its actions), whose hashes V8 keeps, where a joined key would be a new long text to hash.
  const numbers = new Map<string, number>();
  const numbered = (cells: readonly string[]) => {
    let key = '';
    for (const cell of cells) {
      let n = numbers.get(cell);
      if (n === undefined) numbers.set(cell, (n = numbers.size));
      key += `${n},`;
    }
    return key;
  };
  const byTeam = new Map<string, Merged>();
  for (const item of items) {
    const { cells, account, merge, accounts = 1, team: rowTeam } = row(item);
    const literal = cells.some(holdsPlaceholder);
    const inTeam = literal || rowTeam || account === '' ? undefined : fold?.of(account);
    const team = literal ? undefined : (rowTeam ?? inTeam?.team);
    const byAccount = !literal && account !== '' && (merge || inTeam !== undefined) && team?.source.id !== account;
    const shaped = byAccount ? cells.map((c) => generalise(c, account)) : cells;
    const key = literal ? `\u0002${byTeam.size}` : `${team?.key ?? ''}\u0001${numbered(shaped)}`;
    const entry = byTeam.get(key);
    const ids = inTeam?.accounts ?? [];
    if (entry) {
      entry.count += accounts;
      for (const id of ids) entry.teamAccounts.add(id);
    } else byTeam.set(key, { first: cells, shaped, count: accounts, team, teamShaped: team && shaped.map(team.toPlaceholders), teamAccounts: new Set(ids) });
  }
  const groups = new Map<string, Merged[]>();
  for (const [key, entry] of byTeam) {
    const across = entry.team ? `${accountNames(entry.team, entry.teamAccounts).join(',')}\u0001${numbered(entry.teamShaped!)}` : key;
    const group = groups.get(across);
    if (group) group.push(entry);
    else groups.set(across, [entry]);
  }
  return [...groups.values()].map((group) => {
    const [first] = group;
    const { team } = first;
    if (group.length > 1) {
      const names = accountNames(team!, first.teamAccounts);
      return withNote(first.teamShaped!, `the same ${names.length > 0 ? `for ${names.join(', ')} ` : ''}in ${teamsPhrase(fold!.teams, group.map((e) => e.team!))}`);
    }
    if (first.count === 1) return first.first;
    // One team's rows (its accounts by their own names), or rows of accounts outside the teams.
    const names = team ? accountNames(team, first.teamAccounts, team.nameOf) : [];
    return withNote(first.shaped, names.length > 0 ? `the same for ${names.join(', ')}` : `the same in each of ${first.count} accounts`);
  });
}

/** A merged row says where it holds after its last cell. */
function withNote(cells: readonly string[], note: string): string[] {
  const last = cells[cells.length - 1];
  return [...cells.slice(0, -1), `${last === '' ? '' : `${last} `}(${note})`];
}
