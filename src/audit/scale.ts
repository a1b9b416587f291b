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

export const describePrincipal = (p: PrincipalRef) =>
  p.kind === 'aws' ? p.arn : p.kind === 'service' ? `service ${p.service}` : p.kind === 'federated' ? `users of identity provider ${p.provider}` : '* (any principal)';

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
  const ofAccount = new Map<string, TeamAccounts>();
  return {
    teams,
    of(account) {
      const team = teams.teamOf(account);
      if (!team) return ofClass.get(account);
      let made = ofAccount.get(account);
      if (!made) ofAccount.set(account, (made = { team, accounts: [account] }));
      return made;
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
  /**
   * Its cells when the row, merged or not, holds for one account (of each team it names): a path's label naming its
   * environment, where `cells` says "each environment" (review s18-audit m3).
   */
  single?: string[];
}

/**
 * A row as merged, by the item it was first made from: its cells are made again (`row`, then shapedCells) for the one
 * entry of a group that is printed. Kept for every entry, they outlived most of a table's making (~57,000 rows at 250
 * teams), nearly all for nothing.
 */
interface Merged<T> {
  item: T;
  /** Merged by account: its account is the placeholder. */
  byAccount: boolean;
  count: number;
  team?: Team;
  /** The entries whose cells read as its do folded; none for a literal row. */
  alike?: Alike<T>;
  /**
   * The team's accounts it holds for (ids): the list its first row's account stands for (TeamFold `of`), shared with
   * every row of that account, until a row adds one (then its own copy, `ownAccounts`). A list read so is never
   * changed, so its accounts' names are made once per list (`namesOf`), not once per entry (~58,000 at 250 teams).
   */
  teamAccounts: readonly string[];
  ownAccounts?: string[];
  /** The account its row was made for. */
  account: string;
}

/**
 * The entries of rows whose cells read alike folded (KeyNode): one per team (or none), then, once every row is read,
 * grouped by the accounts of its team each holds for. An entry keeps no text of its own.
 */
interface Alike<T> {
  byTeam: Map<Team | undefined, Merged<T>>;
  byNames?: Map<string, Array<Merged<T>>>;
}

/** A team's accounts in the team's order (its source account, then its pipeline accounts as in the org file), each named by `name`. */
function accountNames(team: Team, accounts: readonly string[], name = team.accountName): string[] {
  const names = accounts.includes(team.source.id) ? [name(team.source.id)] : [];
  for (const id of team.pipelineAccounts) if (accounts.includes(id)) names.push(name(id));
  return names;
}

/**
 * Rows by how their cells read folded, cell by cell: a node for each folded cell, the rows alike at the node of their
 * last cell, so two rows meet exactly when their folded cells are equal one by one. Found so, no key text is made of a
 * row's cells joined (then folded, copied and hashed whole): ~9 million characters at 250 teams for the access matrix
 * alone, most of them two-byte (a class's token is), where a cell of a row often is the same text as another row's
 * (a class's principal, a resource), which folds to itself or is hashed once.
 */
interface KeyNode<T> {
  /**
   * Its one child while it has one (`only`), by its cell (`cell`); its children by cell (`next`) from its second on.
   * Most nodes have one (a row's first cells mostly decide the rest): its cell is compared with a row's, equal exactly
   * when a map would find it, rather than a freshly folded cell hashed whole to look it up (~100,000 at 250 teams).
   */
  cell?: string;
  only?: KeyNode<T>;
  next?: Map<string, KeyNode<T>>;
  alike?: Alike<T>;
}

/** The child of `node` for `cell`, found or made. */
function childOf<T>(node: KeyNode<T>, cell: string): KeyNode<T> {
  if (node.next) {
    let child = node.next.get(cell);
    if (!child) node.next.set(cell, (child = {}));
    return child;
  }
  if (!node.only) {
    node.cell = cell;
    return (node.only = {});
  }
  if (node.cell === cell) return node.only;
  const child: KeyNode<T> = {};
  node.next = new Map([
    [node.cell!, node.only],
    [cell, child],
  ]);
  node.cell = node.only = undefined;
  return child;
}

/** A cell as folded: with its row's account as the placeholder (`account`, when given), then the team's placeholders. */
function foldedCell(cell: string, account: string | undefined, team: Team | undefined): string {
  const general = account === undefined ? cell : generalise(cell, account);
  return team ? team.toPlaceholders(general) : general;
}

/** The cells of the row before, as folded, by column: a table's rows in turn often hold the same principal, resource or purpose. */
interface LastRow {
  account?: string;
  team?: Team;
  cells: string[];
  folded: string[];
}

/** The rows alike with one whose cells are `cells` (folded for `account` and `team`), found or made in `keys`. */
function alikeIn<T>(keys: KeyNode<T>, last: LastRow, cells: readonly string[], account: string | undefined, team: Team | undefined): Alike<T> {
  if (last.account !== account || last.team !== team) {
    last.account = account;
    last.team = team;
    last.cells.length = 0;
  }
  let node = keys;
  for (let c = 0; c < cells.length; c++) {
    const cell = last.cells[c] === cells[c] ? last.folded[c] : (last.folded[c] = foldedCell((last.cells[c] = cells[c]), account, team));
    node = childOf(node, cell);
  }
  return (node.alike ??= { byTeam: new Map() });
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
 * with another. `row` is asked again for the rows printed: it gives the same row for an item each time.
 */
export function mergeAccountRows<T>(items: readonly T[], row: (item: T) => Row, fold?: TeamFold): string[][] {
  // Entries in the order they are first met, found by how their cells read folded and their team (none for rows of no team).
  const entries: Array<Merged<T>> = [];
  const keys: KeyNode<T> = {};
  const last: LastRow = { cells: [], folded: [] };
  // Loops by index: the first tables are made before this is optimised, when each step of an iterator makes an object (~35,000 rows at 250 teams).
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const { cells, account, merge, accounts = 1, team: rowTeam } = row(item);
    const inTeam = inTeamAccounts(cells, account, rowTeam, fold);
    if (inTeam === LITERAL) {
      entries.push({ item, byAccount: false, count: accounts, teamAccounts: NO_ACCOUNTS, account });
      continue;
    }
    const team = rowTeam ?? inTeam?.team;
    const byAccount = account !== '' && (merge || inTeam !== undefined) && team?.source.id !== account;
    // Rows of a team are keyed by their text with the team's placeholders: a team's values written back into it give
    // exactly the text it was made from (teams.ts), so two rows of one team read the same folded exactly when they do unfolded.
    const alike = alikeIn(keys, last, cells, byAccount ? account : undefined, team);
    const entry = alike.byTeam.get(team);
    const teamAccounts = inTeam?.accounts ?? NO_ACCOUNTS;
    if (entry) {
      entry.count += accounts;
      if (teamAccounts !== entry.teamAccounts) addAccounts(entry, teamAccounts);
    } else {
      const made: Merged<T> = { item, byAccount, count: accounts, team, alike, teamAccounts, account };
      alike.byTeam.set(team, made);
      entries.push(made);
    }
  }
  // Rows of no team (and each literal one) stand alone; a team's row joins the teams' that read the same folded, for the same accounts of each.
  const groups: Array<Array<Merged<T>>> = [];
  const namesOf = new Map<Team, Map<readonly string[], string>>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!entry.team) {
      groups.push([entry]);
      continue;
    }
    let ofTeam = namesOf.get(entry.team);
    if (!ofTeam) namesOf.set(entry.team, (ofTeam = new Map()));
    let names = ofTeam.get(entry.teamAccounts);
    if (names === undefined) ofTeam.set(entry.teamAccounts, (names = accountNames(entry.team, entry.teamAccounts).join(',')));
    const byNames = (entry.alike!.byNames ??= new Map());
    const group = byNames.get(names);
    if (group) group.push(entry);
    else {
      const made = [entry];
      byNames.set(names, made);
      groups.push(made);
    }
  }
  return groups.map((group) => {
    const [first] = group;
    const { team } = first;
    const { cells: made, single } = row(first.item);
    if (group.length > 1) {
      const names = accountNames(team!, first.teamAccounts);
      const cells = names.length === 1 && single ? single.map((c) => team!.toPlaceholders(generalise(c, first.account))) : shapedCells(made, first).map(team!.toPlaceholders);
      return withNote(cells, `the same ${names.length > 0 ? `for ${names.join(', ')} ` : ''}in ${teamsPhrase(fold!.teams, group.map((e) => e.team!))}`);
    }
    if (first.count === 1) return single ?? made;
    // One team's rows (its accounts by their own names), or rows of accounts outside the teams.
    const names = team ? accountNames(team, first.teamAccounts, team.nameOf) : [];
    const cells = names.length === 1 && single ? single.map((c) => generalise(c, first.account)) : shapedCells(made, first);
    return withNote(cells, names.length > 0 ? `the same for ${names.join(', ')}` : `the same in each of ${first.count} accounts`);
  });
}

const NO_ACCOUNTS: readonly string[] = [];

/** `accounts` added to those an entry holds for, each once, in its own copy of the list. */
function addAccounts(entry: Merged<unknown>, accounts: readonly string[]): void {
  for (let a = 0; a < accounts.length; a++) {
    if (entry.teamAccounts.includes(accounts[a])) continue;
    if (!entry.ownAccounts) entry.teamAccounts = entry.ownAccounts = [...entry.teamAccounts];
    entry.ownAccounts.push(accounts[a]);
  }
}

/** A merged row's cells with its account as the placeholder, when merged by account. */
const shapedCells = (cells: string[], { byAccount, account }: Merged<unknown>): string[] => (byAccount ? cells.map((c) => generalise(c, account)) : cells);

const LITERAL = Symbol('literal');

/** The team and accounts a row is made for, undefined outside the teams; LITERAL when a cell holds a placeholder of its own: it is never merged. */
function inTeamAccounts(cells: readonly string[], account: string, rowTeam: Team | undefined, fold: TeamFold | undefined): TeamAccounts | undefined | typeof LITERAL {
  if (cells.some(holdsPlaceholder)) return LITERAL;
  return rowTeam || account === '' ? undefined : fold?.of(account);
}

/** A merged row says where it holds after its last cell. */
function withNote(cells: readonly string[], note: string): string[] {
  const last = cells[cells.length - 1];
  return [...cells.slice(0, -1), `${last === '' ? '' : `${last} `}(${note})`];
}
