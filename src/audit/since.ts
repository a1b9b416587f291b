/**
 * "What changed since the last release", from two compiles: each compile
 * writes its audit model (audit/audit.json: resources, grants, trust
 * entries, access paths, the org file's hash), and `xstack audit --since
 * PREVIOUS` compares the previous one with the current. Deterministic: both
 * sides are sets of sorted lines, and the differences are listed in order.
 *
 * What repeats per account is stored once, with `{account}` and the list of
 * accounts it holds for (a 1,000-account org stays small), and what teams
 * have alike up to their names once more (teams.ts); the comparison expands
 * it again, so a change in one account is a change in one line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256 } from '../hash';
import { listIn } from '../memo';
import { XstackError } from '../errors';
import { CONFLICT_MARKERS } from '../write';
import { conditionClauses, type PrincipalRef, type ResolvedStatement } from './grants';
import { AWS_OWNED_ACCOUNT, pathResult, type AccessAnalysis, type AccessPath, type AccessResult } from './paths';
import { resultsByPath } from './results-by-path';
import { latin1Copy } from './one-byte';
import { classesOf, isReachType, REPLACING, type OrgResource } from './reach';
import type { Resolver } from './resolve';
import { accountOfEnvironment, type Org } from '../org/model';
import type { Stage } from '../stages/model';
import type { CfnTemplate } from '../cfn/template';
import { logicalId as logicalIdOf } from '../cfn/resources';
import type { Section } from './report';
import { ACCOUNT_PLACEHOLDER, shapeFor, teamFold } from './scale';
import { isToken } from './symbolic';
import { accountOf, evaluate, matches } from './evaluate';
import { accountPolicies, targetAccounts, type ExecutionStatement } from '../deploy/execution-policy';
import { TYPE_CHANGE_REFUSED } from '../deploy/replacements';
import { holdsPlaceholder, SOURCE_PLACEHOLDER, TEAM_ID_PLACEHOLDER, TEAM_PLACEHOLDER, writeBack, type Teams } from './teams';

export const MODEL_FILE = 'audit/audit.json';
/** /2: folded by team, with `teams` to read it back, or with `literal` entries (an earlier xstack would misread either); /1 otherwise. */
const FORMAT = 'xstack-audit-model/1';
const FORMAT_WITH_TEAMS = 'xstack-audit-model/2';
const READABLE_FORMATS = [FORMAT, FORMAT_WITH_TEAMS];

interface Folded<T> {
  value: T;
  /** The accounts it holds for: an index into the model's `accountSets` (1,000 ids are written once, not once per entry). */
  accounts: number;
  /** Written as it is for each account: its text holds a placeholder of its own (a branch named `{team}`), so nothing in it is one. */
  literal?: true;
}
interface ResourceFact {
  stage: string;
  logicalId: string;
  type: string;
  /** For the resources "Who can act on each resource" lists; the others are told by logical id and type. */
  arn?: string;
  names: Record<string, string>;
  /**
   * A resource one account makes for each member of a class (a source role
   * per pipeline account): the account that holds it. `{account}` is then
   * the member, in the logical id, ARN and names alike.
   */
  owner?: string;
}
/** A team the model folds by (teams.ts): `{team}`, `{Team}` and `{source}` in an entry stand for the team of the account it is read for. */
interface TeamFact {
  key: string;
  source: string;
  accounts: string[];
}
export interface AuditModel {
  format: string;
  accountSets: string[][];
  teams?: TeamFact[];
  source: { orgFile: string; orgFileSha256: string | null; revision?: string };
  resources: Array<Folded<ResourceFact>>;
  grants: Array<Folded<string>>;
  trust: Array<Folded<string>>;
  /** A path's result; a model written before "undecided" (paths.ts `outsideDecides`) has "allowed" for such a path. */
  paths: Array<Folded<{ path: string; result: 'allowed' | 'refused' | 'undecided' }>>;
  /** Each pipeline's branch in each account it deploys to (review s18-audit M2 c); absent in a model written before. */
  releases?: Array<Folded<ReleaseFact>>;
  /**
   * access.developers.protectedBranches, where the org gives developers access (review s58-audit M1): what tells a branch
   * deployed that only maintainers write from one every developer may push to. Absent in a model written before.
   */
  protectedBranches?: string[];
  /**
   * The StackSet execution role's policy as `xstack bootstrap` writes it in each account, a line for each statement's
   * actions and one for each of its resources (review s30-audit m1); absent in a model written before, and where
   * bootstrap writes none (SERVICE_MANAGED, or a policy not derivable for the org).
   */
  execution?: Array<Folded<string>>;
}

/** What a pipeline deploys in one account: the branch the org file gives, and the branch its trigger rule's pattern names there. */
interface ReleaseFact {
  pipeline: string;
  environment: string;
  branch: string;
  trigger?: string;
}

/** The compile beyond its proof: each pipeline's branch per account, and every resource of every template, go into the model from it. */
export interface ModelSources {
  org: Org;
  stages: readonly Stage[];
  templates: ReadonlyMap<string, CfnTemplate>;
  resolver: Resolver;
  /** The execution role's statements (every account's, each resource's accounts in its scope), where bootstrap writes them. */
  executionRole?: { statements: readonly ExecutionStatement[] } | { error: string };
}

/** Account lists, each written once and referred to by index, in the order they are first used. */
class AccountSets {
  readonly sets: string[][] = [];
  private readonly index = new Map<string, number>();
  /** The index of each list that alone made a set: many entries hold for one list (a stage's targets, a class's members), read once. */
  private readonly ofList = new WeakMap<readonly string[], number>();
  /** A number for each list given, to write the parts of a set as a text (`#3`; an id holds no `#`). */
  private readonly listNumbers = new Map<readonly string[], number>();
  /**
   * The index of the set made of the same parts, in the same order: an entry of every team is its teams' lists, and
   * most entries' parts are another entry's (~3,700 entries, ~540 sets at 250 teams). Written as the parts' text
   * (ids, and lists by number), not as the ids of their union, sorted.
   */
  private readonly ofParts = new Map<string, number>();
  /** The index of the set of `accounts`: ids, and lists of ids (a class's members, shared with the proof, not copied). */
  of(accounts: ReadonlyArray<string | readonly string[]>): number {
    const only = accounts.length === 1 && typeof accounts[0] !== 'string' ? accounts[0] : undefined;
    const known = only && this.ofList.get(only);
    if (known !== undefined) return known;
    let parts = '';
    for (const part of accounts) {
      if (typeof part === 'string') parts += `${part},`;
      else {
        let n = this.listNumbers.get(part);
        if (n === undefined) this.listNumbers.set(part, (n = this.listNumbers.size));
        parts += `#${n},`;
      }
    }
    const same = this.ofParts.get(parts);
    if (same !== undefined) return same;
    const unique = new Set<string>();
    for (const part of accounts) {
      if (typeof part === 'string') unique.add(part);
      else for (let i = 0; i < part.length; i++) unique.add(part[i]); // by index: up to ~1,000 ids, and no iterator result per id
    }
    const list = [...unique].sort();
    const key = list.join(',');
    let i = this.index.get(key);
    if (i === undefined) this.index.set(key, (i = this.sets.push(list) - 1));
    if (only) this.ofList.set(only, i);
    this.ofParts.set(parts, i);
    return i;
  }
}

/** What fold folds: a value made for an account (an id or a class's token), and for a class the members it holds for. */
interface Item<T> {
  value: T;
  account: string;
  accounts?: readonly string[];
  /** The value is already as fold's `general` writes it for `account`, and holds no placeholder of its own. */
  folded?: true;
}

/** A value's key in fold: one to one with the value (a text as it is, an object its JSON text). */
const valueKey = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** A value folded, the accounts it holds for, and whether the item it was first made from was a class's (its account a token). */
interface Entry<T> {
  value: T;
  accounts: Array<string | readonly string[]>;
  byToken: boolean;
}

/** Where a model's items are given to be folded, one by one as they are made. */
type Add<T> = (item: Item<T>) => void;

/**
 * Items folded by their account: the same text with `{account}` is one entry with its accounts, in the order of their
 * JSON text (after `literal ` for a literal one). Items are told apart by `key`, one to one with their value, so a
 * value's JSON is made once per entry, not once per item. `items` gives them to fold as it makes them, not as a list:
 * an item's texts then die young, but for the few that start an entry (~80,000 items, ~3,700 entries at 250 teams).
 */
function fold<T, V = T>(
  sets: AccountSets,
  items: (add: Add<T>) => void,
  general: (value: T, account: string) => T,
  key: (value: T) => string = valueKey,
  // What an entry's value is written as in the model (its items may be a cheaper form of it: a path as one text).
  written: (value: T) => V = (value) => value as unknown as V,
): Array<Folded<V>> {
  // An entry's accounts as its items give them: a class's members are one list, not copied id by id (up to ~1,000 ids an item).
  const folded = new Map<string, Entry<T>>();
  const literals = new Map<string, Entry<T>>();
  items((item) => {
    const literal = !item.folded && placeholderIn(item.value);
    const value = literal || item.folded ? item.value : general(item.value, item.account);
    const entries = literal ? literals : folded;
    const k = key(value);
    const entry = entries.get(k) ?? entries.set(k, { value, accounts: [], byToken: isToken(item.account) }).get(k)!;
    entry.accounts.push(item.accounts ?? item.account);
  });
  // Sorted by JSON text, made here once per entry. An entry first made for a class's token has texts made from its
  // texts, which V8 keeps two-byte: copied one-byte where they can be, else the model's whole JSON is two-byte (one-byte.ts).
  const listed = (entries: ReadonlyMap<string, Entry<T>>, literal: boolean) =>
    [...entries.values()].map((e) => {
      const value = e.byToken ? latin1Copy(written(e.value)) : written(e.value);
      return { value, accounts: e.accounts, literal, text: `${literal ? 'literal ' : ''}${JSON.stringify(value)}` };
    });
  const sorted = [...listed(folded, false), ...listed(literals, true)].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return sorted.map(({ value, accounts, literal }) => ({ value, accounts: sets.of(accounts), ...(literal ? { literal: true as const } : {}) }));
}

/**
 * Whether a value's JSON text holds a placeholder, read from its texts: a placeholder is letters in braces, which
 * JSON neither escapes nor makes of its own punctuation, so it is in the JSON text exactly when it is in a text of it.
 */
function placeholderIn(value: unknown): boolean {
  if (typeof value === 'string') return holdsPlaceholder(value);
  if (typeof value !== 'object' || value === null) return false;
  for (const key in value) if (holdsPlaceholder(key) || placeholderIn((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** A record with each value mapped, its keys in their order, without the lists of its entries. */
function mapValues(record: Record<string, string>, f: (value: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in record) if (Object.hasOwn(record, key)) out[key] = f(record[key]);
  return out;
}

const shown = (p: PrincipalRef) => (p.kind === 'aws' ? p.arn : p.kind === 'service' ? `service ${p.service}` : p.kind === 'federated' ? `federated ${p.provider}` : '*');
const conditionText = (c: ResolvedStatement['conditions']) => conditionClauses(c).join('; ');

/**
 * One line per statement, principal and resource: a principal added to a
 * trust policy is one added line. A statement one account makes for each
 * member of a class (a source role's policy) is folded by the member: its
 * token, not the account that holds it, is what `{account}` stands for.
 */
function grantLines(grants: readonly ResolvedStatement[], trust: boolean, add: Add<string>): void {
  // Loops by index, no generator: this runs once per compile for each of ~10,000 statements at 250 teams, mostly before it is optimised.
  for (let gi = 0; gi < grants.length; gi++) {
    const g = grants[gi];
    if ((g.kind === 'trust') !== trust) continue;
    const account = g.madeFor ?? g.account;
    const principals = g.kind === 'identity' ? [`attached to ${g.attachedTo}`] : g.principals.map(shown);
    const conditions = conditionText(g.conditions);
    const actions = g.actions.join(', ');
    for (let pi = 0; pi < principals.length; pi++) {
      for (let ri = 0; ri < g.resources.length; ri++) {
        add({ value: `${g.stage}: ${g.policy} | ${g.effect} ${principals[pi]} | ${actions} | on ${g.resources[ri]}${conditions ? ` | when ${conditions}` : ''}`, account, accounts: g.accounts });
      }
    }
  }
}

/**
 * The model of a compile. With `teams`, what the teams have alike up to
 * their names is one entry too, as in the report (teams.ts), and the model
 * lists each team's key, source account and accounts to read it back.
 */
export function auditModel(
  orgFile: string,
  source: Omit<AuditModel['source'], 'orgFile'>,
  resources: readonly OrgResource[],
  access: AccessAnalysis,
  teams?: Teams,
  compiled?: ModelSources,
): AuditModel {
  const teamsOf = teamFold(teams, classesOf(access));
  const teamOf = (account: string) => teamsOf?.of(account)?.team;
  const text = (s: string, account: string) => shapeFor(s, account, teamOf(account));
  const sets = new AccountSets();
  const resourceFacts = fold(
    sets,
    (add: Add<ResourceFact>) => {
      for (const r of resources) {
        const fact: ResourceFact = { stage: r.stage, logicalId: r.logicalId, type: r.type, arn: r.arn, names: r.names };
        // Made for a class's members: folded by the member (its token), the holding account written as it is.
        if (r.madeFor !== undefined && r.accounts !== undefined && isToken(r.madeFor)) add({ value: { ...fact, owner: r.account }, account: r.madeFor, accounts: r.accounts });
        else add({ value: fact, account: r.account, accounts: r.accounts });
      }
      if (compiled) templateResourceItems(compiled, teams, add);
    },
    (v, a) => {
      // Written over one copy, which keeps the keys in their order (the model's JSON text), not spread from a part per key.
      const team = teamOf(a);
      const shape = (x: string) => shapeFor(x, a, team);
      const general = { ...v, names: mapValues(v.names, shape) };
      if (v.owner !== undefined) {
        general.logicalId = shape(v.logicalId);
        general.owner = team?.toPlaceholders(v.owner) ?? v.owner;
      } else general.logicalId = team?.toPlaceholders(v.logicalId) ?? v.logicalId;
      if (v.arn !== undefined) general.arn = shape(v.arn);
      return general;
    },
  );
  const releases = compiled && fold(sets, (add: Add<ReleaseFact>) => releaseItems(compiled, add), (v, a) => ({ pipeline: text(v.pipeline, a), environment: text(v.environment, a), branch: text(v.branch, a), ...(v.trigger !== undefined ? { trigger: text(v.trigger, a) } : {}) }));
  const grants = fold(
    sets,
    (add) => {
      grantLines(access.grants, false, add);
      endpointLines(access.network, add);
    },
    text,
  );
  const trust = fold(sets, (add) => grantLines(access.grants, true, add), text);
  const paths = fold(
    sets,
    (add: Add<string>) => {
      pathItems(resultsByPath(access.results), add);
      endpointChecks(access.network, add);
    },
    // A path's line folds as its path does: its result is a word of lowercase letters, before a space (pathLine).
    text,
    undefined,
    pathValue,
  );
  const written = compiled && bootstrapStatements(compiled);
  const execution = compiled && written && fold(sets, (add) => executionItems(compiled, written, teams, add), text);
  const teamFacts = teams?.list.map((t) => ({ key: t.key, source: t.source.id, accounts: [t.source.id, ...t.pipelineAccounts] }));
  const literal = [resourceFacts, grants, trust, paths].some((entries) => entries.some((e) => e.literal));
  return {
    format: teamFacts || literal ? FORMAT_WITH_TEAMS : FORMAT,
    source: { orgFile, ...source },
    accountSets: sets.sets,
    ...(teamFacts ? { teams: teamFacts } : {}),
    resources: resourceFacts,
    grants,
    trust,
    paths,
    ...(releases ? { releases } : {}),
    ...(compiled?.org.access.developers ? { protectedBranches: [...compiled.org.access.developers.protectedBranches] } : {}),
    ...(execution ? { execution } : {}),
  };
}

/** The execution role's statements, every account's, where bootstrap writes its policy; undefined where it writes none. */
function bootstrapStatements({ org, executionRole }: ModelSources): readonly ExecutionStatement[] | undefined {
  return executionRole && 'statements' in executionRole && org.stackSets.permissionModel === 'SELF_MANAGED' ? executionRole.statements : undefined;
}

/**
 * The execution role's policy of each target account, as bootstrap writes it (forAccount's part of the statements,
 * from accountPolicies' groups of alike accounts): a line for each statement's actions and one for each of its
 * resources, in Sub form, so a statement that gains an action or a resource in one account is a changed line there.
 */
function executionItems({ org, stages }: ModelSources, statements: readonly ExecutionStatement[], teams: Teams | undefined, add: Add<string>): void {
  const lines = new ExecutionLineMemo(teamFree(teams));
  for (const group of accountPolicies(statements, targetAccounts(org, stages))) {
    // One item per team of the group (its lines read alike for the team's accounts), folded by team as the rest is.
    const byTeam = new Map<string, string[]>();
    for (const account of group.accounts) listIn(byTeam, teams?.teamOf(account)?.key ?? '').push(account);
    for (const accounts of byTeam.values()) {
      const source = teams?.teamOf(accounts[0])?.source.id === accounts[0];
      for (const s of group.statements) {
        for (const line of lines.of(s)) {
          if (line.folded) add({ value: source ? line.folded.source : line.folded.account, account: accounts[0], accounts, folded: true });
          else add({ value: `in ${accounts[0]}${line.text}`, account: accounts[0], accounts });
        }
      }
    }
  }
}

/** A line of an execution statement after the account that leads it (`in 111111111111`), and, where it folds alike for every team, as folded. */
interface ExecutionLine {
  text: string;
  folded?: { account: string; source: string };
}

/**
 * An execution statement's lines: the account leads each (folded to `{account}`, read back for each), so the same
 * statement in one more account is lines added; its actions are a line of their own, not repeated on each resource's.
 */
export function executionLines(s: ExecutionStatement): string[] {
  const { head, when } = lineParts(s);
  return [actionsLine(head, s), ...s.Resource.map((resource) => resourceLine(head, resource, when))];
}

/** What a statement's lines start with, and what its resources' lines end with (its conditions). */
const lineParts = (s: ExecutionStatement) => ({ head: `: bootstrap: ${s.Sid} | ${s.Effect}`, when: s.Condition ? ` | when ${conditionClauses(executionConditions(s.Condition)).join('; ')}` : '' });
const actionsLine = (head: string, s: ExecutionStatement) => `${head} | ${s.Action.join(', ')}`;
const resourceLine = (head: string, resource: string, when: string) => `${head} | on ${resource}${when}`;

/**
 * Each execution statement's lines (executionLines), each made, and asked whether it folds alike for every team
 * (teamFree), once: accountPolicies gives each group of accounts (a team's source account, its pipeline accounts:
 * ~500 groups at 250 teams) its own statement objects where a statement is scoped, which share the statement's Sid,
 * Effect, Action list, Condition and resource texts, so a line is found by those, not made again for each group.
 */
class ExecutionLineMemo {
  private readonly byActions = new Map<readonly string[], Array<{ s: ExecutionStatement; head: string; when: string; actions: ExecutionLine; byResource: Map<string, ExecutionLine> }>>();
  constructor(private readonly free: (text: string) => boolean) {}

  of(s: ExecutionStatement): ExecutionLine[] {
    const known = listIn(this.byActions, s.Action);
    let memo = known.find((m) => m.s.Sid === s.Sid && m.s.Effect === s.Effect && m.s.Condition === s.Condition);
    if (!memo) {
      const { head, when } = lineParts(s);
      known.push((memo = { s, head, when, actions: this.line(actionsLine(head, s)), byResource: new Map() }));
    }
    const out = [memo.actions];
    for (const resource of s.Resource) {
      let line = memo.byResource.get(resource);
      if (!line) memo.byResource.set(resource, (line = this.line(resourceLine(memo.head, resource, memo.when))));
      out.push(line);
    }
    return out;
  }

  private line(text: string): ExecutionLine {
    return this.free(text) ? { text, folded: { account: `in ${ACCOUNT_PLACEHOLDER}${text}`, source: `in ${SOURCE_PLACEHOLDER}${text}` } } : { text };
  }
}

/**
 * Whether a line's text after its leading account (`in 111111111111`) folds to itself for every account and team:
 * it holds no placeholder of its own, no run of twelve digits (so neither the account it is read for nor a team's
 * source account, which generalise and toPlaceholders write by their ids), and no team's key or logical-id form
 * anywhere (in any context, more than replaceKey asks), nor do `in {account}` and `in {source}` before it. Then
 * shapeFor writes the line `in ` + the account's id as `in {account}` (a team's source account: `in {source}`)
 * followed by the text as it is: the id stands once at its start, and nothing after it is written. Otherwise false,
 * and the line is folded for each team as any other.
 */
export function teamFree(teams: Teams | undefined): (text: string) => boolean {
  const words = new Set<string>();
  for (const t of teams?.list ?? []) words.add(t.key).add(logicalIdOf(t.key));
  // Any of them anywhere, as one expression (a native scan; a loop over each text's characters cost more than the
  // folding it saves on a cold run); none without teams.
  const anyWord = words.size === 0 ? undefined : new RegExp([...words].map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
  const namesNone = (text: string) => anyWord === undefined || !anyWord.test(text);
  return (text) => !holdsPlaceholder(text) && !/\d{12}/.test(text) && namesNone(`in ${ACCOUNT_PLACEHOLDER}${text}`) && namesNone(`in ${SOURCE_PLACEHOLDER}${text}`);
}

/** An execution statement's condition, each value a list of one, as conditionClauses reads a resolved statement's. */
function executionConditions(condition: NonNullable<ExecutionStatement['Condition']>): ResolvedStatement['conditions'] {
  const out: ResolvedStatement['conditions'] = {};
  for (const op in condition) for (const key in condition[op]) (out[op] ??= {})[key] = [condition[op][key]];
  return out;
}

/**
 * The resources of every template that the reach tables do not list (pipelines, rules, policies, endpoints…), by
 * logical id, type and the properties whose change replaces them (review s18-audit M3): with such properties an item
 * per account (as it resolves them); else one for the accounts of one team a resource exists in (a family's resource
 * is its unit's), or one per account when its logical id names an account (folded by that account).
 */
function templateResourceItems({ stages, templates, resolver }: ModelSources, teams: Teams | undefined, add: Add<ResourceFact>): void {
  for (const stage of stages) {
    const resources = templates.get(stage.id)!.Resources;
    for (const id in resources) {
      if (!Object.hasOwn(resources, id) || isReachType(resources[id].Type)) continue;
      const value: ResourceFact = { stage: stage.id, logicalId: id, type: resources[id].Type, names: {} };
      const accounts = resolver.accountsWith(stage.id, id);
      const properties = (resources[id].Properties ?? {}) as Record<string, unknown>;
      const replacing = (REPLACING[value.type] ?? []).filter((p) => properties[p] !== undefined);
      // Made by one account for another (a source role's policy): folded by the account it names, as reach resources are.
      const named = /\d{12}/.exec(id)?.[0];
      if (named !== undefined) {
        for (const account of accounts) {
          const v = { ...value, names: namesIn(resolver, stage.id, account, properties, replacing) };
          add(named === account ? { value: v, account } : { value: { ...v, owner: account }, account: named });
        }
        continue;
      }
      // One item for the accounts of a team that resolve its replacing properties alike (a name may hold an account's id).
      // Nothing to resolve per account where no account changes them (none is set, or each compiles to one value): the
      // team alone tells the groups apart. Compiled only for a resource some account has, as resolving it would be.
      const alike = accounts.length > 0 && replacing.every((p) => resolver.compile(stage.id, properties[p]).fixed !== undefined);
      const shared = alike ? namesIn(resolver, stage.id, accounts[0], properties, replacing) : undefined;
      const groups = new Map<string, { names: Record<string, string>; accounts: string[] }>();
      for (const account of accounts) {
        const team = teams?.teamOf(account)?.key ?? '';
        const names = shared ?? namesIn(resolver, stage.id, account, properties, replacing);
        const key = shared ? team : `${team}\u0000${replacing.map((p) => names[p]).join('\u0000')}`;
        (groups.get(key) ?? groups.set(key, { names, accounts: [] }).get(key)!).accounts.push(account);
      }
      for (const { names, accounts: group } of groups.values()) add({ value: { ...value, names }, account: group[0], accounts: group });
    }
  }
}

/** A resource's replacing properties, as one account resolves them. */
function namesIn(resolver: Resolver, stageId: string, account: string, properties: Record<string, unknown>, replacing: readonly string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const p of replacing) names[p] = String(resolver.resolve(stageId, account, properties[p]));
  return names;
}

/**
 * Each pipeline's branch in each account it deploys to, with the branch its trigger rule's event pattern names there
 * (the template's `detail.referenceName`, resolved for the account), so that `--since` says `web-app prod: main → develop`.
 */
function releaseItems({ org, stages, templates, resolver }: ModelSources, add: Add<ReleaseFact>): void {
  // The stages that target each account, in the stages' order: made once, not once per pipeline (a family stage of
  // hundreds of targets was read for each of hundreds of pipelines).
  const stagesOf = new Map<string, Stage[]>();
  for (const s of stages) for (const t of s.targets) listIn(stagesOf, t.id).push(s);
  for (const p of org.pipelines) {
    const ruleId = `${logicalIdOf(p.name)}TriggerRule`;
    for (const [environment, branch] of p.branches) {
      const account = accountOfEnvironment(org, environment).id;
      // The first stage whose template holds the rule among those that target the account.
      const stage = stagesOf.get(account)?.find((s) => templates.get(s.id)!.Resources[ruleId] !== undefined);
      const pattern = stage && (templates.get(stage.id)!.Resources[ruleId].Properties as { EventPattern?: { detail?: { referenceName?: unknown } } }).EventPattern?.detail?.referenceName;
      const trigger = pattern === undefined ? undefined : [resolver.resolve(stage!.id, account, pattern)].flat().join(', ');
      add({ value: { pipeline: p.name, environment, branch, ...(trigger !== undefined ? { trigger } : {}) }, account });
    }
  }
}

type PathValue = { path: string; result: 'allowed' | 'refused' | 'undecided' };

/**
 * A path and its result as one text, `refused <path>`, which fold takes as it is: no object is made for each of
 * ~24,000 paths at 250 teams, only for an entry (pathValue). The result is one of three words of lowercase letters
 * and the space after it is no part of a name, so the text holds a placeholder, and shapeFor writes it, exactly as
 * the path alone: an id or a team's key or logical-id form stands in the path, read with the same characters around it
 * (a space and the start of a text are alike no word character, no hyphen and no lowercase letter).
 */
export const pathLine = (result: PathValue['result'], path: string) => `${result} ${path}`;
const pathValue = (line: string): PathValue => ({ path: line.slice(line.indexOf(' ') + 1), result: line.slice(0, line.indexOf(' ')) as PathValue['result'] });

/** Each declared path once, its actions together: refused if any of them is. */
function pathItems(byPath: ReadonlyMap<AccessPath, readonly AccessResult[]>, add: Add<string>): void {
  byPath.forEach((results, path) => {
      // Its actions in the order of its results, allowed when each is: as one text, no list made of them.
      let actions = results[0].action;
      let allowed = results[0].allowed;
      for (let i = 1; i < results.length; i++) {
        actions += `, ${results[i].action}`;
        allowed &&= results[i].allowed;
      }
      const context = Object.entries(path.context ?? {}).map(([k, v]) => `${k}=${v.join('|')}`).join(', ');
      // A pipeline's path is named the same in every environment (its account tells them apart), proved by class or not.
      const purpose = path.group?.purpose ?? path.purpose;
      add({
        value: pathLine(pathResult(path, allowed), `${purpose} | ${shown(path.principal)} | ${actions} | on ${path.resource}${context ? ` | with ${context}` : ''}`),
        account: path.group?.account ?? path.resourceAccount,
        accounts: path.accounts,
      });
  });
}

/**
 * The CI network's endpoint policies, a line per statement, principal and
 * resource like any grant; an endpoint that keeps AWS's default is the one
 * line that default is (Allow * | * | on *: full access, as the VPC
 * documentation gives it, https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html),
 * so a policy added to it, or taken away, is a changed line.
 */
function endpointLines(network: AccessAnalysis['network'], add: Add<string>): void {
  if (!network) return;
  for (const e of network.endpoints) {
    if (e.statements) grantLines(e.statements, false, add);
    else add({ value: `${network.stage}: ${e.endpoint} (AWS's default endpoint policy) | Allow * | * | on *`, account: network.account });
  }
}

/**
 * What the proof asked of each endpoint (src/audit/paths.ts throughEndpoints): a path's actions through one endpoint
 * together, as declared paths are, and what the endpoint did ("allowed": it let every action through). The text says
 * what it must do, so a policy widened to let a write through shows as a path newly allowed that must be refused.
 */
function endpointChecks(network: AccessAnalysis['network'], add: Add<string>): void {
  if (!network) return;
  const byPath = new Map<string, { head: string; resource: string; account: string; actions: string[]; letThrough: boolean }>();
  for (const c of network.checks) {
    // A request to AWS's own resources (ECR's layer bucket) has no account of the org's to fold by: the CI network's.
    const head = `through ${c.endpoint}: ${c.purpose} | ${shown(c.request.principal)} | must be ${c.refuse ? 'refused' : 'let through'}`;
    const key = JSON.stringify([head, c.request.resource]);
    const e = byPath.get(key) ?? byPath.set(key, { head, resource: c.request.resource, account: c.request.resourceAccount === AWS_OWNED_ACCOUNT ? network.account : c.request.resourceAccount, actions: [], letThrough: true }).get(key)!;
    e.actions.push(c.request.action);
    e.letThrough &&= c.passed !== c.refuse;
  }
  for (const e of byPath.values()) add({ value: pathLine(e.letThrough ? 'allowed' : 'refused', `${e.head} | ${e.actions.join(', ')} | on ${e.resource}`), account: e.account });
}

/** A folded entry's text read for one account: `{account}` and its team's placeholders written back; a literal entry as it is. */
function readerOf(m: AuditModel): (entry: { literal?: true }, text: string, account: string) => string {
  const teamOf = new Map<string, TeamFact>();
  for (const t of m.teams ?? []) for (const a of t.accounts) teamOf.set(a, t);
  return (entry, text, account) => {
    if (entry.literal) return text;
    const team = teamOf.get(account);
    const at = text.replaceAll(ACCOUNT_PLACEHOLDER, account);
    return team ? writeBack(at, team) : at;
  };
}

/** The model of a previous compile: its dist/<org>/ folder, or its manifest.json (the model's hash is checked against it). */
/** A JSON file of the `--since` folder, read or refused naming it and where it stops being JSON (a conflicted or cut-short file). */
function readJson<T>(previous: string, path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const conflict = CONFLICT_MARKERS.test(text) ? ' (it holds unresolved merge conflicts)' : '';
    throw new XstackError('SINCE_INVALID', `--since ${previous}: ${path} is not valid JSON${conflict}: ${(error as Error).message.replace(/\s+/g, ' ')}; restore the folder (e.g. git checkout -- ${dirname(path)}) or compile that revision again, then compare`);
  }
}

/** The `--since` folder's manifest.json and audit model, for a folder or its manifest given. */
function sinceFiles(previous: string): { folder: string; manifestPath: string; modelPath: string } {
  if (!existsSync(previous)) throw new XstackError('SINCE_INVALID', `--since ${previous}: no such file or folder; expected a dist/<org>/ folder of an earlier compile (or its manifest.json)`);
  const isFolder = statSync(previous).isDirectory();
  // The audit bundle as auditors receive it (review s58-audit m6): its folder, or its audit.json. The compile's
  // manifest.json, beside the bundle's folder in a dist/<org>/, is read where it is there; without it the model's
  // SHA-256 is not checked and the templates are not compared (the report's line says so).
  const bundle = isFolder ? (existsSync(join(previous, basename(MODEL_FILE))) && !existsSync(join(previous, MODEL_FILE)) ? previous : undefined) : basename(previous) === basename(MODEL_FILE) ? dirname(previous) : undefined;
  if (bundle !== undefined) {
    const folder = dirname(bundle);
    const beside = join(folder, 'manifest.json');
    // Only xstack's own manifest: a bundle copied elsewhere may sit beside any file of that name.
    const manifestPath = existsSync(beside) && isManifest(readFileSync(beside, 'utf8')) ? beside : join(bundle, 'manifest.json');
    return { folder, manifestPath, modelPath: join(bundle, basename(MODEL_FILE)) };
  }
  const folder = isFolder ? previous : dirname(previous);
  if (!isFolder && basename(previous) !== 'manifest.json' && !isManifest(readFileSync(previous, 'utf8'))) {
    // An org file given for the compile of it, most often (review s38-cli m12): its name says which folder is meant.
    const stem = /^(.+)\.ya?ml$/i.exec(basename(previous))?.[1];
    throw new XstackError(
      'SINCE_INVALID',
      `--since ${previous} is a file but not an xstack manifest.json; expected a dist/<org>/ folder of an earlier compile or its manifest.json` +
        (stem ? ` (an org file's compile, e.g. --since dist/${stem}/)` : ''),
    );
  }
  return { folder, manifestPath: isFolder ? join(previous, 'manifest.json') : previous, modelPath: join(folder, MODEL_FILE) };
}

const isManifest = (text: string) => {
  try {
    return /^xstack-manifest\//.test(String((JSON.parse(text) as { format?: unknown }).format));
  } catch {
    return false;
  }
};

/**
 * The previous compile's templates by path and SHA-256, as its manifest.json records them (compile.ts manifest):
 * undefined without one, or with no file list. What "Changes since" compares a property changed in place by.
 */
export function previousTemplateHashes(previous: string): ReadonlyMap<string, string> | undefined {
  const { manifestPath } = sinceFiles(previous);
  if (!existsSync(manifestPath)) return undefined;
  const files = readJson<{ files?: Record<string, { sha256?: unknown }> }>(previous, manifestPath, readFileSync(manifestPath, 'utf8')).files;
  if (!files) return undefined;
  return new Map(Object.entries(files).flatMap(([path, f]) => (path.startsWith('templates/') && typeof f?.sha256 === 'string' ? [[path, f.sha256] as const] : [])));
}

/**
 * The templates changed, added and removed between two compiles, by SHA-256: the one line of "Changes since" that
 * sees a property changed in place (review s50-audit M3), which the model's resources (logical id, type, the
 * properties that replace them), grants, trust and paths do not.
 */
function templatesLine(templates: { before?: ReadonlyMap<string, string>; now: ReadonlyMap<string, string> } | undefined): string {
  const unseen =
    'A property changed in place (a bucket\'s public access block or encryption, key rotation, a security group rule or route, the CI host\'s metadata options, a pipeline\'s stages or approvals, a deployment group\'s tags, a DeletionPolicy) is compared by none of the lines below';
  if (!templates?.before) return `Templates: not compared (the previous compile's manifest.json, which records each template's SHA-256, was not found beside its model). ${unseen}: diff the two compiles' templates to see one.`;
  const { before, now } = templates;
  const name = (path: string) => path.replace(/^templates\//, '').replace(/\.yaml$/, '');
  const changed = [...now].filter(([path, sha]) => before.has(path) && before.get(path) !== sha).map(([path]) => name(path)).sort();
  const added = [...now.keys()].filter((path) => !before.has(path)).map(name).sort();
  const removed = [...before.keys()].filter((path) => !now.has(path)).map(name).sort();
  const listedAs = (what: string, names: string[]) => `${names.length} ${what}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
  return `Templates, by SHA-256: ${listedAs('changed', changed)}, ${listedAs('added', added)}, ${listedAs('removed', removed)}. ${unseen}, only by this one: diff ${changed.length > 0 ? 'the changed templates' : 'the templates'} (the two compiles' dist/<org>/templates/) to read what changed in them.`;
}

export function readPreviousModel(previous: string): AuditModel {
  const { folder, manifestPath, modelPath } = sinceFiles(previous);
  if (!existsSync(modelPath)) {
    throw new XstackError('SINCE_INVALID', `--since ${previous}: ${modelPath} not found; expected a dist/<org>/ folder (or its manifest.json), or its audit/ folder (or its audit.json), compiled by an xstack that writes ${MODEL_FILE}`);
  }
  const text = readFileSync(modelPath, 'utf8');
  if (existsSync(manifestPath)) {
    const manifest = readJson<{ files?: Record<string, { sha256: string }> }>(previous, manifestPath, readFileSync(manifestPath, 'utf8'));
    const expected = manifest.files?.[MODEL_FILE]?.sha256;
    if (expected && expected !== sha256(text)) {
      throw new XstackError(
        'SINCE_INVALID',
        `--since ${previous}: ${modelPath} does not match the SHA-256 its manifest.json records, so it is not what that compile wrote ` +
          `(an earlier xstack's 'xstack audit' wrote into dist/<org>/audit/ by default); restore the folder (git checkout -- ${folder}) or compile that revision again, then compare`,
      );
    }
  }
  const model = readJson<AuditModel>(previous, modelPath, text);
  if (!READABLE_FORMATS.includes(model.format)) throw new XstackError('SINCE_INVALID', `--since ${previous}: ${modelPath} has format '${model.format}'; expected one of ${READABLE_FORMATS.map((f) => `'${f}'`).join(', ')}`);
  // Written before 2026-12-01 for an org proved by account class: what a source account makes for each member was
  // folded by the wrong account, the proof's token left in. Compared as it is, every such line would read as changed.
  if (/[\uE000-\uF8FF]/.test(text)) {
    throw new XstackError(
      'SINCE_INVALID',
      `--since ${previous}: ${modelPath} was written by an earlier xstack whose model of an org proved by account class is wrong (it holds the proof's private tokens); compile that revision again with this xstack and compare with its output`,
    );
  }
  const teamsValid = (model.teams ?? []).every((t) => typeof t.key === 'string' && typeof t.source === 'string' && Array.isArray(t.accounts));
  // Only a /2 model without teams needs a look: a literal entry may hold a placeholder's text as it is (a branch named {team}).
  const teamPlaceholder = model.format === FORMAT_WITH_TEAMS && model.teams === undefined ? placeholderOutsideLiterals(model) : undefined;
  if (!teamsValid || teamPlaceholder) {
    throw new XstackError('SINCE_INVALID', `--since ${previous}: ${modelPath} is folded by team (it holds ${teamPlaceholder ?? 'teams'}) but its teams list is ${teamsValid ? 'missing' : 'malformed'}; expected the files as compiled`);
  }
  return model;
}

/** What a compile's manifest.json records of its org (compile.ts); every field may be missing in one an earlier xstack wrote. */
interface RecordedOrg {
  file?: string;
  id?: string | null;
  partition?: string;
  region?: string;
  prefix?: string;
}

/**
 * The previous compile checked to be of this org, and what the report says of it above the changes. Another prefix or
 * partition is another org: every name or ARN differs, and the changes listed would be the two orgs' differences, not a
 * release's (review s38-cli M5), so it is refused; neither can change for a deployed org (the layout file refuses it,
 * src/stages/layout.ts movedOrgProblems). The org file's name, the organization id and the Region can differ for the
 * same org (a file renamed or moved; organization.id added, or the accounts moved to another organization; an org never
 * deployed, moved): compared, and said at the top, since every change they make is listed below.
 */
export function previousOrgNotes(previous: string, model: AuditModel, org: Pick<Org, 'recordedFile' | 'prefix' | 'partition' | 'region' | 'organizationId'>): string[] {
  const { manifestPath } = sinceFiles(previous);
  const recorded = existsSync(manifestPath) ? (readJson<{ organization?: RecordedOrg }>(previous, manifestPath, readFileSync(manifestPath, 'utf8')).organization ?? {}) : {};
  const file = recorded.file ?? model.source.orgFile;
  for (const [field, was, now] of [
    ['prefix', recorded.prefix, org.prefix],
    ['organization.partition', recorded.partition, org.partition],
  ] as const) {
    if (was === undefined || was === now) continue;
    throw new XstackError(
      'SINCE_INVALID',
      `--since ${previous}: that compile is of ${file}, ${field} '${was}', and this one of ${org.recordedFile}, ${field} '${now}': another org, whose every name differs, so its differences would read as changes; ` +
        `give the dist/<org>/ folder of an earlier compile of ${org.recordedFile} (e.g. compile an earlier revision of it: git worktree add ../previous <revision>, then xstack compile there)`,
    );
  }
  const notes: string[] = [];
  if (recorded.prefix === undefined || recorded.partition === undefined) {
    notes.push(`the previous compile's manifest.json (${manifestPath}) ${existsSync(manifestPath) ? 'does not record' : 'is not there to say'} its org's prefix and partition, so they were not compared with this org's (${org.prefix}, ${org.partition}).`);
  }
  if (file !== org.recordedFile) notes.push(`the previous compile is of ${file}, this one of ${org.recordedFile}: read as the same org (the same prefix and partition) with its file renamed or moved.`);
  if (recorded.id !== undefined && (recorded.id ?? undefined) !== org.organizationId) {
    notes.push(`organization.id was ${recorded.id ?? 'not set'} and is ${org.organizationId ?? 'not set'}: the org-scoped conditions that name it change with it.`);
  }
  if (recorded.region !== undefined && recorded.region !== org.region) notes.push(`organization.region was ${recorded.region} and is ${org.region}: every regional resource's ARN changes with it.`);
  return notes;
}

/** A team's placeholder in an entry that is not literal: what only the model's teams can read back. */
function placeholderOutsideLiterals(model: AuditModel): string | undefined {
  const folded = [model.resources, model.grants, model.trust, model.paths].flatMap((entries) => entries.filter((e) => !e.literal).map((e) => JSON.stringify(e.value)));
  return [TEAM_PLACEHOLDER, TEAM_ID_PLACEHOLDER, SOURCE_PLACEHOLDER].find((p) => folded.some((t) => t.includes(p)));
}

const PLACEHOLDERS = [ACCOUNT_PLACEHOLDER, TEAM_PLACEHOLDER, TEAM_ID_PLACEHOLDER, SOURCE_PLACEHOLDER];
/** A folded entry's lines, one per account it holds for (the same line for all when nothing in it depends on the account). */
const expand = (read: ReturnType<typeof readerOf>, entry: { literal?: true }, text: string, accounts: readonly string[]) =>
  !entry.literal && PLACEHOLDERS.some((p) => text.includes(p)) ? accounts.map((a) => read(entry, text, a)) : [text];
const lines = (m: AuditModel, entries: ReadonlyArray<Folded<string>>) => {
  const read = readerOf(m);
  return new Set(entries.flatMap((e) => expand(read, e, e.value, m.accountSets[e.accounts])));
};
const sorted = (xs: Iterable<string>) => [...xs].sort();
const minus = (a: ReadonlySet<string>, b: ReadonlySet<string>) => sorted([...a].filter((x) => !b.has(x)));

interface ResourceChange {
  change: string;
  stage: string;
  resource: string;
  detail: string;
}
/** A resource whose type changed under its logical id (its row's change). */
const TYPE_CHANGED = 'type changed, refused ⚠';

/** Keys, buckets and repositories: replacing one loses what it holds (or, for a repository, its ARN changes). */
const KEEPS_DATA = new Set(['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::CodeCommit::Repository']);

function resourceChanges(before: AuditModel, after: AuditModel): ResourceChange[] {
  const each = (m: AuditModel) => {
    const read = readerOf(m);
    const out = new Map<string, ResourceFact & { account: string }>();
    for (const e of m.resources) {
      for (const account of m.accountSets[e.accounts]) {
        const f = e.value;
        const at = (s: string) => read(e, s, account);
        // Made for each member by another account: listed where it is, under its own logical id.
        const where = f.owner !== undefined ? at(f.owner) : account;
        const logicalId = at(f.logicalId);
        out.set(`${f.stage}\u0000${where}\u0000${logicalId}`, { ...f, logicalId, arn: f.arn === undefined ? '' : at(f.arn), names: Object.fromEntries(Object.entries(f.names).map(([k, v]) => [k, at(v)])), account: where });
      }
    }
    return out;
  };
  const old = each(before);
  const now = each(after);
  const changes: ResourceChange[] = [];
  const removed = [...old].filter(([k]) => !now.has(k));
  const added = [...now].filter(([k]) => !old.has(k));
  const where = (r: ResourceFact & { account: string }) => `${r.logicalId} (${r.type})${r.arn ? ` ${r.arn}` : ''} @ ${r.account}`;
  for (const [k, r] of now) {
    const o = old.get(k);
    if (!o) continue;
    // A model written before the templates' other resources had their replacing properties recorded holds none for them: not a change.
    const recorded = isReachType(o.type) || Object.keys(o.names).length > 0;
    const changed = recorded ? Object.keys({ ...o.names, ...r.names }).filter((p) => o.names[p] !== r.names[p]) : [];
    if (changed.length === 0 && o.type === r.type) continue;
    // A type changed under the logical id is not a replacement: CloudFormation refuses the update (TYPE_CHANGE_REFUSED).
    if (o.type !== r.type) {
      changes.push({ change: TYPE_CHANGED, stage: r.stage, resource: where(r), detail: `type ${o.type} → ${r.type}: ${TYPE_CHANGE_REFUSED}, so deploy refuses this update` });
      continue;
    }
    const detail = changed.map((p) => `${p} ${o.names[p] ?? '(unset)'} → ${r.names[p] ?? '(unset)'}`).join('; ');
    const rename = r.type === 'AWS::CodeCommit::Repository';
    changes.push({
      change: rename ? 'renamed (ARN changes) ⚠' : KEEPS_DATA.has(r.type) ? 'REPLACED ⚠' : 'replaced',
      stage: r.stage,
      resource: where(r),
      detail: `${detail}${rename ? ': policies naming the old ARN stop matching' : ' forces replacement'}`,
    });
  }
  // A removed and an added resource of the same type, stage and account: a changed logical id, which CloudFormation replaces.
  // An update follows the differences between the submitted and the current template, resources told apart by logical id:
  // the old id's resource is deleted, the new one's created (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html).
  // Each removed one, in key order, is paired with the added one whose logical id, then ARN, ends most like its own (a
  // renamed repository or team changes the start): the pairing does not depend on the order the model lists them in.
  removed.sort(([a], [b]) => (a < b ? -1 : 1));
  added.sort(([a], [b]) => (a < b ? -1 : 1));
  const pairedAdded = new Set<string>();
  for (const [k, r] of removed) {
    const twins = added.filter(([ka, a]) => !pairedAdded.has(ka) && a.stage === r.stage && a.account === r.account && a.type === r.type);
    const likeness = ([, a]: (typeof added)[number]) => [commonEnd(a.logicalId, r.logicalId), commonEnd(a.arn ?? '', r.arn ?? '')];
    const twin = twins.reduce<(typeof added)[number] | undefined>((best, x) => {
      if (!best) return x;
      const [l1, a1] = likeness(x);
      const [l0, a0] = likeness(best);
      return l1 > l0 || (l1 === l0 && a1 > a0) ? x : best;
    }, undefined);
    if (twin) {
      pairedAdded.add(twin[0]);
      changes.push({ change: KEEPS_DATA.has(r.type) ? 'REPLACED ⚠' : 'replaced', stage: r.stage, resource: where(twin[1]), detail: `logical id ${r.logicalId} → ${twin[1].logicalId}${r.arn ? ` (${r.arn} → ${twin[1].arn})` : ''}` });
    } else changes.push({ change: 'removed', stage: r.stage, resource: where(r), detail: KEEPS_DATA.has(r.type) ? 'retained resources stay in the account, no longer managed' : '' });
    void k;
  }
  for (const [k, a] of added) if (!pairedAdded.has(k)) changes.push({ change: 'added', stage: a.stage, resource: where(a), detail: '' });
  return changes.sort((x, y) => (x.stage + x.resource < y.stage + y.resource ? -1 : x.stage + x.resource > y.stage + y.resource ? 1 : x.change < y.change ? -1 : 1));
}

/**
 * A path line as shown: a pipeline path is stored under its label for every environment ("(web-app, each environment)",
 * so that it folds); read for one account it names that account's environment, from the model's branches
 * (review s18-audit m3). A model without them shows the stored label.
 */
function labelled(m: AuditModel, lines: ReadonlyMap<string, { account?: string }>): (line: string) => string {
  const read = readerOf(m);
  const environmentOf = new Map<string, string>();
  for (const e of m.releases ?? []) for (const account of m.accountSets[e.accounts]) environmentOf.set(account, read(e, e.value.environment, account));
  return (line) => {
    const account = lines.get(line)?.account;
    const environment = account === undefined ? undefined : environmentOf.get(account);
    return environment === undefined ? line : line.replace(EACH_ENVIRONMENT, `${environment})`);
  };
}
const EACH_ENVIRONMENT = /each environment\)/;

const WHEN = ' | when ';

/**
 * Removed and added lines of one statement, principal, actions and resource (the text before ` | when `), one of each,
 * compared condition by condition. A value "matches more" when the new pattern, read as IAM reads a `*`/`?` pattern,
 * matches the old value's text: `AWSReservedSSO_Dev*` takes in everything `AWSReservedSSO_Developer_*` did, and more.
 */
function conditionChanges(removed: readonly string[], added: readonly string[]): string[] {
  const byHead = (lines: readonly string[]) => {
    const out = new Map<string, string[]>();
    for (const line of lines) {
      const at = line.indexOf(WHEN);
      listIn(out, at < 0 ? line : line.slice(0, at)).push(at < 0 ? '' : line.slice(at + WHEN.length));
    }
    return out;
  };
  const was = byHead(removed);
  const out: string[] = [];
  for (const [head, [now, ...more]] of byHead(added)) {
    const before = was.get(head);
    if (!before || before.length !== 1 || more.length > 0) continue;
    const changes = clauseChanges(parseClauses(before[0]), parseClauses(now));
    if (changes.length > 0) out.push(`${head}: ${changes.join('; ')}`);
  }
  return out;
}

/** `Op key = a | b; Op2 key2 = c` as operator-and-key → values. */
function parseClauses(text: string): Map<string, string[]> {
  const clauses = new Map<string, string[]>();
  for (const clause of text === '' ? [] : text.split('; ')) {
    const at = clause.indexOf(' = ');
    clauses.set(clause.slice(0, at), clause.slice(at + 3).split(' | '));
  }
  return clauses;
}

/**
 * Whether a condition operator reads `*` and `?` as wildcards, and whether it negates: the String…Like and Arn
 * operators do (ArnEquals and ArnLike alike), StringEquals and the others take them literally, and a …Not… operator
 * excludes what its pattern matches, so a wider pattern there excludes more
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 */
function wildcardOperator(operator: string): 'plain' | 'negated' | undefined {
  const base = operator.replace(/^For(AnyValue|AllValues):/, '').replace(/IfExists$/, '');
  if (!/^(StringLike|StringNotLike|ArnLike|ArnNotLike|ArnEquals|ArnNotEquals)$/.test(base)) return undefined;
  return base.includes('Not') ? 'negated' : 'plain';
}

export function clauseChanges(before: ReadonlyMap<string, string[]>, after: ReadonlyMap<string, string[]>): string[] {
  const out: string[] = [];
  for (const [clause, values] of before) if (!after.has(clause)) out.push(`condition ${clause} taken away (it held ${values.join(' | ')})`);
  for (const [clause, values] of after) {
    const old = before.get(clause);
    if (!old) {
      out.push(`condition ${clause} = ${values.join(' | ')} added`);
      continue;
    }
    const kept = new Set(values.filter((v) => old.includes(v)));
    const widened = new Set<string>();
    const patterns = wildcardOperator(clause.split(' ')[0]);
    for (const v of values) {
      if (kept.has(v)) continue;
      const covered = patterns ? old.filter((o) => o !== v && matches(v, o)) : [];
      if (covered.length > 0) {
        widened.add(v);
        out.push(`${clause} pattern widened: ${covered.join(', ')} → ${v} (${patterns === 'negated' ? 'excludes more' : 'matches more'})`);
      } else out.push(`${clause} value added: ${v}`);
    }
    for (const o of old) if (!kept.has(o) && ![...widened].some((v) => matches(v, o))) out.push(`${clause} value dropped: ${o}`);
  }
  return out;
}

interface ReleaseChange {
  change: 'added' | 'removed' | 'changed';
  /** `web-app prod (444444444444)`. */
  pipeline: string;
  detail: string;
}

/**
 * Whether developers may push to a branch, as a model records it: " (protected)", or " (not protected)" with a ⚠ where it
 * was protected before (`was`); nothing where the model records no protected branches (written before, or no developer
 * access).
 */
function protection(m: AuditModel, branch: string, was?: boolean): string {
  if (m.protectedBranches === undefined) return '';
  if (m.protectedBranches.includes(branch)) return ' (protected)';
  return was ? ` (not protected ⚠: developers may push to it)` : ' (not protected)';
}

/** A branch deployed that was protected before and is not now, where both models record the protected branches. */
const LOOSENED = 'not protected ⚠';

/** Each pipeline's branch per account, before and after: `web-app prod (444444444444): branch main (protected) → develop (not protected ⚠: …)`. */
function releaseChanges(before: AuditModel, after: AuditModel): ReleaseChange[] {
  const each = (m: AuditModel) => {
    const read = readerOf(m);
    const out = new Map<string, ReleaseFact & { account: string }>();
    for (const e of m.releases ?? []) {
      for (const account of m.accountSets[e.accounts]) {
        const at = (x: string) => read(e, x, account);
        const f = e.value;
        out.set(`${at(f.pipeline)}\u0000${account}`, { pipeline: at(f.pipeline), environment: at(f.environment), branch: at(f.branch), ...(f.trigger !== undefined ? { trigger: at(f.trigger) } : {}), account });
      }
    }
    return out;
  };
  const old = each(before);
  const now = each(after);
  const name = (r: ReleaseFact & { account: string }) => `${r.pipeline} ${r.environment} (${r.account})`;
  const deploys = (r: ReleaseFact) => `branch ${r.branch}${r.trigger !== undefined && r.trigger !== r.branch ? ` (trigger rule on ${r.trigger})` : ''}`;
  const changes: ReleaseChange[] = [];
  // Both models record the protected branches: a branch deployed is said protected or not on each side, and one that
  // stays deployed while it leaves the list is a change of its own.
  const compared = before.protectedBranches !== undefined && after.protectedBranches !== undefined;
  const wasProtected = (branch: string) => before.protectedBranches?.includes(branch) === true;
  for (const [k, r] of now) {
    const o = old.get(k);
    if (!o) {
      changes.push({ change: 'added', pipeline: name(r), detail: deploys(r) });
      continue;
    }
    const protectionChanged = compared && wasProtected(o.branch) !== after.protectedBranches!.includes(r.branch);
    if (o.branch !== r.branch || o.trigger !== r.trigger || o.environment !== r.environment || protectionChanged) {
      const parts = [
        o.environment !== r.environment ? `environment ${o.environment} → ${r.environment}` : '',
        o.branch !== r.branch
          ? `branch ${o.branch}${compared ? protection(before, o.branch) : ''} → ${r.branch}${compared ? protection(after, r.branch, wasProtected(o.branch)) : ''}`
          : protectionChanged
            ? `branch ${r.branch}:${protection(before, r.branch)} →${protection(after, r.branch, wasProtected(r.branch))}`
            : '',
        o.trigger !== r.trigger ? `trigger rule on ${o.trigger ?? '(none)'} → ${r.trigger ?? '(none)'}` : '',
      ];
      changes.push({ change: 'changed', pipeline: name(r), detail: parts.filter(Boolean).join('; ') });
    }
  }
  for (const [k, o] of old) if (!now.has(k)) changes.push({ change: 'removed', pipeline: name(o), detail: deploys(o) });
  return changes.sort((x, y) => (x.pipeline < y.pipeline ? -1 : x.pipeline > y.pipeline ? 1 : x.change < y.change ? -1 : 1));
}

/** How many characters two texts end with alike. */
function commonEnd(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

export interface ModelChanges {
  resources: ResourceChange[];
  /** Undefined when the previous model has no branches (written before they were recorded). */
  releases?: ReleaseChange[];
  grants: { added: string[]; removed: string[] };
  trust: { added: string[]; removed: string[] };
  /** The execution role's policy by account; a word where one model holds none (written before it was recorded, or SERVICE_MANAGED). */
  execution?: { added: string[]; removed: string[] } | 'not recorded before' | 'not written now';
  paths: { added: string[]; removed: string[]; newlyAllowed: string[]; newlyRefused: string[]; newlyUndecided: string[] };
  /**
   * A statement line removed and one added that differ only in their conditions, read together: each condition value
   * that now matches more (a pattern widened), a value added or dropped, a condition added or taken away
   * (review s18-audit M3), so a widened trust does not read as access removed and other access added.
   */
  conditions: string[];
}

export function compareModels(before: AuditModel, after: AuditModel): ModelChanges {
  const diff = (a: ReadonlyArray<Folded<string>>, b: ReadonlyArray<Folded<string>>) => {
    const x = lines(before, a);
    const y = lines(after, b);
    return { added: minus(y, x), removed: minus(x, y) };
  };
  // Each path line with its result and the account it was read for (one line for all when nothing in it is an account's).
  const results = (m: AuditModel) => {
    const read = readerOf(m);
    const out = new Map<string, { result: string; account?: string }>();
    for (const e of m.paths) {
      const accounts = m.accountSets[e.accounts];
      const lines = expand(read, e, e.value.path, accounts);
      for (let i = 0; i < lines.length; i++) {
        // A line that reads the same for several accounts (a source account's path, each pipeline's) is no one account's.
        const account = lines.length === accounts.length && !out.has(lines[i]) ? accounts[i] : undefined;
        out.set(lines[i], { result: e.value.result, account });
      }
    }
    return out;
  };
  const old = results(before);
  const now = results(after);
  const shownNow = labelled(after, now);
  const shownOld = labelled(before, old);
  const added = sorted([...now.keys()].filter((p) => !old.has(p)));
  const grants = diff(before.grants, after.grants);
  const trust = diff(before.trust, after.trust);
  return {
    execution: before.execution && after.execution ? diff(before.execution, after.execution) : after.execution ? 'not recorded before' : before.execution ? 'not written now' : undefined,
    resources: resourceChanges(before, after),
    ...(before.releases && after.releases ? { releases: releaseChanges(before, after) } : {}),
    grants,
    trust,
    conditions: [...conditionChanges(trust.removed, trust.added), ...conditionChanges(grants.removed, grants.added)],
    paths: {
      added: added.map((p) => `${shownNow(p)} → ${now.get(p)!.result}`),
      removed: sorted([...old.keys()].filter((p) => !now.has(p))).map((p) => `${shownOld(p)} → was ${old.get(p)!.result}`),
      newlyAllowed: sorted([...now].filter(([p, r]) => old.has(p) && old.get(p)!.result !== r.result && r.result === 'allowed').map(([p]) => shownNow(p))),
      newlyRefused: sorted([...now].filter(([p, r]) => old.has(p) && old.get(p)!.result !== r.result && r.result === 'refused').map(([p]) => shownNow(p))),
      newlyUndecided: sorted([...now].filter(([p, r]) => old.has(p) && old.get(p)!.result !== r.result && r.result === 'undecided').map(([p]) => shownNow(p))),
    },
  };
}

/**
 * A removed path, its requests asked again of this compile's policies (review s18-audit M3): a path is named by its
 * sample principal, so a widened pattern removes the old sample's path, whose principal may well still be allowed.
 * Said after the line: "this compile allows it still (…)", "refuses it", "refuses it still", or, for a path that had
 * to be refused, "ALLOWS it ⚠". A line that is not a
 * declared path's (an endpoint's), names no role, or whose resource names no account (S3) is left as it is.
 */
function askedNow(line: string, access: AccessAnalysis, organizationId: string | undefined): string {
  const m = /^(?!through )[^|]+ \| (arn:[^ |]+) \| ([^|]+) \| on ([^ |]+)(?: \| with ([^|]+))? → was (allowed|refused|undecided)$/.exec(line);
  const resourceAccount = m ? accountOf(m[3]) : '';
  if (!m || resourceAccount === '') return line;
  const [, principal, actions, resource, context, was] = m;
  const request = {
    principal: { kind: 'aws' as const, arn: principal },
    resource,
    resourceAccount,
    context: context === undefined ? undefined : Object.fromEntries(context.split(', ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1).split('|')])),
    // A principal with no policy in the templates (an Identity Center role) is proved on the resource side, as the proof does.
    identityManagedElsewhere: !access.grants.some((g) => g.kind === 'identity' && g.attachedTo === principal),
  };
  const decisions = actions.split(', ').map((action) => evaluate(access.index, { ...request, action }, organizationId));
  if (decisions.every((d) => d.allowed)) {
    const by = [...new Set(decisions.flatMap((d) => d.grantedBy.map((g) => `${g.stage}: ${g.policy}`)))].join('; ');
    // An undecided path's resource side admitted it, the principal's own policy outside the org file deciding: asked
    // so again (review s37-diff m5).
    if (was === 'undecided') return `${line}; this compile's resource side admits it still (${by}), its principal's own policy deciding`;
    return was === 'allowed' ? `${line}; this compile allows it still (${by})` : `${line}; ${ALLOWS_NOW} (${by})`;
  }
  return `${line}; this compile refuses it${was === 'refused' ? ' still' : ''}`;
}

/** What askedNow adds to a removed path that had to be refused and whose requests this compile allows. */
const ALLOWS_NOW = 'this compile ALLOWS it ⚠';
/** Such a path's row kind. */
const REMOVED_NOW_ALLOWED = 'removed, now allowed ⚠';

/** access.developers.protectedBranches changed, where both models record it: a branch gone from it is one developers may push to now. */
function protectedBranchesChange(before: AuditModel, after: AuditModel): string | undefined {
  if (before.protectedBranches === undefined || after.protectedBranches === undefined) return undefined;
  const gone = before.protectedBranches.filter((b) => !after.protectedBranches!.includes(b));
  const added = after.protectedBranches.filter((b) => !before.protectedBranches!.includes(b));
  if (gone.length === 0 && added.length === 0) return undefined;
  return `access.developers.protectedBranches: ${[...(added.length ? [`${added.join(', ')} added`] : []), ...(gone.length ? [`${gone.join(', ')} removed ⚠ (developers may push to, merge into and delete ${gone.length === 1 ? 'it' : 'them'} now)`] : [])].join('; ')}.`;
}

/** The report's "Changes since" section. */
export function sinceSections(
  previous: string,
  before: AuditModel,
  after: AuditModel,
  now?: { access: AccessAnalysis; organizationId?: string; templates?: { before?: ReadonlyMap<string, string>; now: ReadonlyMap<string, string> } },
  notes: readonly string[] = [],
): Section[] {
  const compared = compareModels(before, after);
  const c = now ? { ...compared, paths: { ...compared.paths, removed: compared.paths.removed.map((line) => askedNow(line, now.access, now.organizationId)) } } : compared;
  const listTable = (head: string, added: string[], removed: string[]) => ({
    kind: 'table' as const,
    head: ['change', head],
    rows: [...added.map((x) => ['added', x]), ...removed.map((x) => ['removed', x])],
  });
  const count = (n: number, what: string) => `${n} ${n === 1 ? what : what.replace(/y$/, 'ie')}${n === 1 ? '' : 's'}`;
  const replaced = c.resources.filter((r) => r.change.includes('⚠') && r.change !== TYPE_CHANGED);
  // A removed path that had to be refused and whose requests this compile allows (askedNow): a refusal lost under
  // another name (a branch no longer protected, a pattern widened), counted and listed first (review s58-audit M1).
  const nowAllowed = c.paths.removed.filter((line) => line.includes(ALLOWS_NOW));
  const removed = c.paths.removed.filter((line) => !line.includes(ALLOWS_NOW));
  const loosened = c.releases?.filter((r) => r.detail.includes(LOOSENED)).length ?? 0;
  const protectedChange = protectedBranchesChange(before, after);
  const typeChanged = c.resources.filter((r) => r.change === TYPE_CHANGED);
  return [
    {
      id: 'since',
      title: `Changes since ${previous}`,
      level: 2,
      blocks: [
        ...notes.map((text) => ({ kind: 'p' as const, text: `Note: ${text}` })),
        {
          kind: 'p',
          text: `Compared with the previous compile's audit model (${MODEL_FILE}): org file SHA-256 ${before.source.orgFileSha256 ?? '(unknown)'}${before.source.revision ? `, revision ${before.source.revision}` : ''} → ${after.source.orgFileSha256 ?? '(unknown)'}${after.source.revision ? `, revision ${after.source.revision}` : ''}.`,
        },
        {
          kind: 'list',
          items: [
            templatesLine(now?.templates),
            c.releases
              ? `Branches deployed (by pipeline and account): ${c.releases.filter((r) => r.change === 'changed').length} changed, ${c.releases.filter((r) => r.change === 'added').length} added, ${c.releases.filter((r) => r.change === 'removed').length} removed${loosened > 0 ? `; ⚠ ${loosened} now deployed from a branch developers may push to, which was protected` : ''}.`
              : 'Branches deployed: not compared (the previous model does not record them; compile that revision with this xstack to compare them).',
            `${count(c.resources.filter((r) => r.change === 'added').length, 'resource')} added, ${c.resources.filter((r) => r.change === 'removed').length} removed, ${c.resources.filter((r) => r.change.toLowerCase().startsWith('replaced') || r.change.startsWith('renamed')).length} replaced or renamed${replaced.length ? ` (${replaced.length} key, bucket or repository: check before deploying)` : ''}` +
              `${typeChanged.length ? `; ${typeChanged.length} of another type under the same logical id, which CloudFormation refuses (deploy refuses it before any operation)` : ''}.`,
            `${count(c.grants.added.length, 'grant entry')} added, ${c.grants.removed.length} removed; ${count(c.trust.added.length, 'trust entry')} added, ${c.trust.removed.length} removed.`,
            ...(c.execution === undefined
              ? []
              : [
                  typeof c.execution === 'object'
                    ? `The StackSet execution role's policy, as \`xstack bootstrap\` writes it in each account for this compile's templates: ${count(c.execution.added.length, 'statement line')} added${c.execution.added.length > 0 ? ' (run `xstack bootstrap` before the deploy that needs them)' : ''}, ${c.execution.removed.length} removed${c.execution.removed.length > 0 ? ' (the bootstrap after the deploy drops them: bootstrap keeps what the deployed templates still use)' : ''}.`
                    : c.execution === 'not recorded before'
                      ? "The StackSet execution role's policy: not compared (the previous model does not record it; compile that revision with this xstack to compare it)."
                      : "The StackSet execution role's policy: not compared (the previous model records one; this compile has none that `xstack bootstrap` writes, as with SERVICE_MANAGED StackSets).",
                ]),
            ...(c.conditions.length > 0 ? [`${count(c.conditions.length, 'statement')} whose conditions changed, read together under "Conditions changed" (a pattern widened there admits principals it did not; its paths' sample principals are then listed as removed and added).`] : []),
            ...(protectedChange ? [protectedChange] : []),
            `${count(c.paths.added.length, 'access path')} added, ${c.paths.removed.length} removed; ${c.paths.newlyAllowed.length} newly allowed, ${c.paths.newlyRefused.length} newly refused${c.paths.newlyUndecided.length > 0 ? `, ${c.paths.newlyUndecided.length} newly undecided` : ''}.`,
            ...(nowAllowed.length > 0
              ? [`⚠ ${count(nowAllowed.length, 'removed path')} that had to be refused ${nowAllowed.length === 1 ? 'is' : 'are'} allowed by this compile (${nowAllowed.length === 1 ? 'its requests' : 'their requests'} asked again of its policies): a refusal lost under another name, listed first under "Access paths".`]
              : []),
          ],
        },
      ],
    },
    ...(c.releases ? [{ id: 'since-releases', title: 'Branches deployed, by pipeline and account', level: 3 as const, blocks: [{ kind: 'table' as const, head: ['change', 'pipeline, environment (account)', 'detail'], rows: c.releases.map((r) => [r.change, r.pipeline, r.detail]) }] }] : []),
    { id: 'since-resources', title: 'Resources added, removed, replaced', level: 3, blocks: [{ kind: 'table', head: ['change', 'stage', 'resource', 'detail'], rows: c.resources.map((r) => [r.change, r.stage, r.resource, r.detail]) }] },
    ...(c.conditions.length > 0
      ? [{ id: 'since-conditions', title: 'Conditions changed', level: 3 as const, blocks: [{ kind: 'list' as const, items: c.conditions }] }]
      : []),
    { id: 'since-grants', title: 'Grants added and removed', level: 3, blocks: [listTable('statement · effect and principal · actions · resource · conditions', c.grants.added, c.grants.removed)] },
    { id: 'since-trust', title: 'Trust entries added and removed', level: 3, blocks: [listTable('statement · effect and principal · actions · role · conditions', c.trust.added, c.trust.removed)] },
    ...(typeof c.execution === 'object'
      ? [{ id: 'since-execution', title: "The execution role's policy: lines added and removed, by account", level: 3 as const, blocks: [listTable("account · statement · effect · its actions, or a resource with the statement's conditions", c.execution.added, c.execution.removed)] }]
      : []),
    {
      id: 'since-paths',
      title: 'Access paths added, removed, newly allowed or refused',
      level: 3,
      blocks: [
        {
          kind: 'table',
          head: ['change', 'path · principal · actions · resource · context → result'],
          rows: [
            ...nowAllowed.map((p) => [REMOVED_NOW_ALLOWED, p]),
            ...c.paths.added.map((p) => ['added', p]),
            ...removed.map((p) => ['removed', p]),
            ...c.paths.newlyAllowed.map((p) => ['newly allowed', p]),
            ...c.paths.newlyRefused.map((p) => ['newly refused', p]),
            ...c.paths.newlyUndecided.map((p) => ['newly undecided', p]),
          ],
          rowClass: (row) => (row[0] === REMOVED_NOW_ALLOWED ? 'alert' : undefined),
        },
      ],
    },
  ];
}
