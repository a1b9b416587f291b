/**
 * Account classes: pipeline accounts whose grants and access paths are the
 * same once their own id is written as a token. A class is proved once, with
 * its token for the id (symbolic.ts says when that proof holds for every
 * member), instead of once per account.
 *
 * What an account's grants are made of, and so its class key: the stages
 * deployed to it; for each parameter its policies or outputs read, the value
 * with the account's id as the token, or the output it is wired from (an
 * output of the same account is covered by that stage's own key; another
 * account's output is keyed by its value); and the pipelines that run in it
 * (its access paths). The templates are one per stage, the same for every
 * account, so an account whose id a template deployed to it names literally
 * is left out.
 */
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import { outputRefLabel, type OutputRef, type Stage } from '../stages/model';
import type { Resolver, Value } from './resolve';
import { holdsTokenCharacters, MAX_CLASSES, TOKEN_MARK, tokenFor } from './symbolic';

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
 * `stages` (its `used` parameters are read here).
 */
export function classifyAccounts(org: Org, stages: readonly Stage[], templates: (stageId: string) => CfnTemplate, resolver: Resolver): ReadonlyMap<string, AccountClass> {
  // Tokens must be new characters: a value or template holding them would be misread as one.
  if (holdsTokenCharacters(JSON.stringify(org))) return NO_CLASSES;
  const excluded = new Set<string>();
  // Accounts named by the access settings get paths of their own, beside the pipelines'.
  const { developers, ci } = org.access;
  const named = new Set([...(ci ? [ci.account] : []), ...(developers?.assumedBy.map((s) => s.account) ?? [])]);
  for (const a of org.accounts) if (a.role !== 'pipeline' || named.has(a.name)) excluded.add(a.id);
  // A stage of one account puts it in a class of its own; the org's values, in every template, were checked above.
  for (const stage of stages.filter((s) => s.targets.length > 1)) {
    const text = JSON.stringify(templates(stage.id));
    if (holdsTokenCharacters(text)) return NO_CLASSES;
    // A class's statements are a member's with its id as the token; a target whose id the template itself names is not.
    const named = idsWithin(text);
    for (const a of stage.targets) if (named.has(a.id)) excluded.add(a.id);
  }

  const pipelinesOf = new Map<string, string[]>();
  for (const p of org.pipelines) for (const [environment] of p.branches) listIn(pipelinesOf, environment).push(p.name);
  const stagesOf = new Map<string, KeyedStage[]>();
  for (const stage of stages) {
    const keyed = { stage, used: [...resolver.usedParameters(stage.id)].sort() };
    for (const a of stage.targets) listIn(stagesOf, a.id).push(keyed);
  }
  // Another account's output, as text: the same for every account wired to it.
  const texts = new Map<string, string>();
  const outputText = (r: OutputRef) => {
    const label = outputRefLabel(r);
    let text = texts.get(label);
    if (text === undefined) texts.set(label, (text = JSON.stringify(resolver.output(r.stage, r.account, r.output) satisfies Value)));
    return text;
  };

  const byKey = new Map<string, string[]>();
  for (const account of org.accounts) {
    if (excluded.has(account.id)) continue;
    const key = classKey(account.id, pipelinesOf.get(account.environment ?? '') ?? [], stagesOf.get(account.id) ?? [], outputText);
    if (key === undefined) continue;
    const members = byKey.get(key);
    if (members) members.push(account.id);
    else byKey.set(key, [account.id]);
  }
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
  /** The parameters its policies and outputs read, in a fixed order. */
  used: readonly string[];
}

const listIn = <T>(map: Map<string, T[]>, key: string): T[] => {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
};

/** The key described above; undefined when a value already holds a token's characters. */
function classKey(account: string, pipelines: readonly string[], stages: readonly KeyedStage[], outputText: (r: OutputRef) => string): string | undefined {
  const parts = [`pipelines ${pipelines.join(',')}`];
  for (const { stage, used } of stages) {
    parts.push(`stage ${stage.id}`);
    const inputs = stage.inputs.get(account) ?? {};
    for (const name of used) {
      const source = inputs[name];
      if (!source) parts.push(`${name} unset`);
      else if (source.kind === 'value') {
        if (holdsTokenCharacters(source.value)) return undefined;
        parts.push(`${name}=${tokenise(source.value, account, TOKEN_MARK)}`);
      } else {
        const refs: string[] = [];
        for (const r of source.refs) {
          if (r.account === account) {
            refs.push(`${r.stage}.${r.output}@self`);
            continue;
          }
          const value = outputText(r);
          if (holdsTokenCharacters(value)) return undefined;
          // By value only: a member's own source role comes from the template part (and output) that holds it.
          refs.push(`@${r.account}=${tokenise(value, account, TOKEN_MARK)}`);
        }
        parts.push(`${name}<-${refs.join(',')}`);
      }
    }
  }
  return parts.join('\n');
}

/** Every 12-digit string inside the digit runs of `text`: the account ids it could name. */
function idsWithin(text: string): Set<string> {
  const ids = new Set<string>();
  for (const [run] of text.matchAll(/\d{12,}/g)) for (let i = 0; i + 12 <= run.length; i++) ids.add(run.slice(i, i + 12));
  return ids;
}
