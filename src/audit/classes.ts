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
import { holdsTokenCharacters, MAX_CLASSES, tokenFor } from './symbolic';

export interface AccountClass {
  readonly token: string;
  /** Account ids, in the org file's order. */
  readonly members: readonly string[];
}

/** How many accounts something proved once stands for: its class's members, or one. */
export const weight = (x: { readonly accounts?: readonly string[] }): number => x.accounts?.length ?? 1;

/** `text` with `account` written as `token`. */
export const tokenise = (text: string, account: string, token: string): string => (text.includes(account) ? text.replaceAll(account, token) : text);

/** Each list of a record (a path's context, a statement's condition keys) with `account` written as `token`. */
export const tokeniseLists = (record: Record<string, string[]>, account: string, token: string): Record<string, string[]> =>
  Object.fromEntries(Object.entries(record).map(([key, list]) => [key, list.map((text) => tokenise(text, account, token))]));

const NO_CLASSES: ReadonlyMap<string, AccountClass> = new Map();

/**
 * Account id → its class, for the accounts that share one with another.
 * `resolver` must have compiled every policy statement and output of
 * `stages` (the conditions they read are read here).
 */
export function classifyAccounts(org: Org, stages: readonly Stage[], templates: (stageId: string) => CfnTemplate, resolver: Resolver): ReadonlyMap<string, AccountClass> {
  // Accounts named by the access settings get paths of their own, beside the pipelines'.
  const { developers, ci } = org.access;
  const named = new Set([...(ci ? [ci.account] : []), ...(developers?.assumedBy.map((s) => s.account) ?? [])]);
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
  // Scanning the templates is only worth it when some accounts could share a class (an org of teams has none).
  if (![...byKey.values()].some((members) => members.length > 1)) return NO_CLASSES;
  // Tokens must be new characters: a value or template holding them would be misread as one.
  if (holdsTokenCharacters(JSON.stringify(org))) return NO_CLASSES;
  const excluded = new Set<string>();
  // A stage of one account puts it in a class of its own; the org's values, in every template, were checked above.
  for (const stage of stages.filter((s) => s.targets.length > 1)) {
    const { Conditions: _byAccount, ...rest } = templates(stage.id);
    // A class's statements are a member's with its id as the token; a target whose id the template itself names is not
    // (its conditions name every account whose value they choose: those are keyed by whether they hold).
    const named = new Set<string>();
    if (holdsTokenCharactersOrIds(rest, named)) return NO_CLASSES;
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

const listIn = <T>(map: Map<string, T[]>, key: string): T[] => {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
};

/** The key described above. */
function classKey(account: string, pipelines: readonly string[], stages: readonly KeyedStage[]): string {
  const parts = [`pipelines ${pipelines.join(',')}`];
  for (const { stage, holding } of stages) parts.push(`stage ${stage.id}`, ...(holding.get(account) ?? []).map((name) => `holds ${name}`));
  return parts.join('\n');
}

/**
 * Whether a template's texts (its keys and values, as its JSON holds them) hold a token character; if not, every
 * 12-digit string inside their digit runs, the account ids they could name, is added to `ids`. Read in place: a large
 * org's templates are megabytes of JSON. (Unlike its JSON text, an escaped control character is no digits.)
 */
function holdsTokenCharactersOrIds(value: unknown, ids: Set<string>): boolean {
  if (typeof value === 'string') return textHoldsTokenCharactersOrIds(value, ids);
  if (typeof value === 'number') return textHoldsTokenCharactersOrIds(JSON.stringify(value), ids);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => holdsTokenCharactersOrIds(item, ids));
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    // JSON leaves out what it cannot write, key and all.
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    if (textHoldsTokenCharactersOrIds(key, ids) || holdsTokenCharactersOrIds(item, ids)) return true;
  }
  return false;
}

function textHoldsTokenCharactersOrIds(text: string, ids: Set<string>): boolean {
  if (holdsTokenCharacters(text)) return true;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    run = c >= 48 && c <= 57 ? run + 1 : 0;
    if (run >= 12) ids.add(text.slice(i - 11, i + 1));
  }
  return false;
}
