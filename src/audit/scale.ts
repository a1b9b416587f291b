/**
 * How the report stays readable, and small, for an org of hundreds of
 * accounts: up to ACCOUNTS_LISTED accounts everything is listed account by
 * account; beyond, what repeats in every account of a stage is shown once,
 * with the account id as a placeholder and the number of accounts it holds
 * for. Nothing is dropped: the templates and parameter files hold each
 * account's values, and the access proof still runs for every account.
 */
import type { Org } from '../org/model';
import type { PrincipalRef } from './grants';
import { accountOf } from './evaluate';
import { tokenise } from './classes';
import type { Team } from './teams';

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

/**
 * Rows that differ only in the account they were made for, merged: each row
 * is made with its account as the placeholder when `merge` says so, and a
 * merged row says in how many accounts it holds. An item of an account class
 * has the class's token for its account and counts for each member. With
 * `teamOf`, the rows of teams' accounts merge across teams alike up to
 * their names, with the team's placeholders (teams.ts), and say in how many
 * teams.
 */
export function mergeAccountRows<T>(
  items: readonly T[],
  row: (item: T) => { cells: string[]; account: string; merge: boolean; accounts?: number },
  teamOf: (account: string) => Team | undefined = () => undefined,
): string[][] {
  const rows = new Map<string, { first: string[]; shaped: string[]; count: number; teams: Set<Team> }>();
  for (const item of items) {
    const { cells, account, accounts = 1, ...rest } = row(item);
    // A row of a team's account folds whatever the size of its stage: writing the team's values back gives it again.
    const team = teamOf(account);
    const merge = rest.merge || team !== undefined;
    // A team's source account reads as the team's placeholder for it, not as {account}.
    const shaped = merge && team?.source.id !== account ? cells.map((c) => generalise(c, account)) : cells;
    const key = (team ? shaped.map(team.generalise) : shaped).join('\u0000');
    const entry = rows.get(key);
    if (entry) {
      entry.count += accounts;
      if (team) entry.teams.add(team);
    } else rows.set(key, { first: cells, shaped, count: accounts, teams: new Set(team ? [team] : []) });
  }
  return [...rows.values()].map(({ first, shaped, count, teams }) => {
    if (count === 1) return first;
    // One team: its own names, as before; several: the first team's row, generalised (the others' differ only there).
    const team = teams.size > 1 ? [...teams][0] : undefined;
    const cells = team ? shaped.map(team.generalise) : shaped;
    const where = teams.size <= 1 ? `each of ${count} accounts` : count === teams.size ? `each of ${count} teams` : `each of ${teams.size} teams, ${count} accounts`;
    const last = cells[cells.length - 1];
    return [...cells.slice(0, -1), `${last === '' ? '' : `${last} `}(the same in ${where})`];
  });
}
