/**
 * Values that differ between the target accounts of one template, chosen by
 * the template itself: a StackSet has one parameter set for every instance
 * (no per-account overrides), so an account's own value comes from a
 * condition on `AWS::AccountId`, written out for an auditor to read.
 *
 * - One named condition per set of accounts that share a value:
 *   `Account<Name>`: `Fn::Equals [AWS::AccountId, id]` for one account, else
 *   `Fn::Or` of those, ten at a time (Fn::Or takes 2 to 10 conditions).
 * - A value every target shares is written as itself; otherwise
 *   `Fn::Join ['', [Fn::If [<set>, value, ''], …]]`, one Fn::If per distinct
 *   value, exactly one of which holds in any target account.
 * - A list item present in some accounts only: `Fn::If [<set>, item, AWS::NoValue]`.
 *
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html
 */
import { IntrinsicFunction, type Value } from 'cloudform-types/types/dataTypes';
import { ref } from './intrinsics';
import { logicalId as pascal } from './resources';
import { sha256 } from '../hash';
import { newRecord } from './template';
import { LIMITS } from '../limits';

/** Fn::Or and Fn::And take between 2 and 10 conditions. */
const MAX_OR = 10;

const isAccount = (id: string) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id] });

export class AccountSwitch {
  private readonly conditions = new Map<string, unknown>();
  /** Sorted account ids → the condition that holds in exactly those accounts. */
  private readonly sets = new Map<string, string>();
  private readonly targets: ReadonlySet<string>;
  private readonly names: ReadonlyMap<string, string>;

  private readonly taken: ReadonlyMap<string, unknown>;

  /**
   * `targets`: the template's target accounts, with their names in the org file (a condition of one account is named
   * after it). `taken`: the template's other conditions, by name: one of this switch's takes such a name only where it
   * says the same (`AccountDev`), and is numbered around it otherwise.
   */
  constructor(targets: ReadonlyArray<{ readonly id: string; readonly name: string }>, taken: ReadonlyMap<string, unknown> = new Map()) {
    this.targets = new Set(targets.map((t) => t.id));
    this.names = new Map(targets.map((t) => [t.id, t.name]));
    this.taken = taken;
  }

  /** The name of a condition true in exactly `accounts` of the targets; undefined when they are all the targets. */
  when(label: string, accounts: readonly string[]): string | undefined {
    const ids = [...new Set(accounts)].filter((a) => this.targets.has(a)).sort();
    if (ids.length === this.targets.size) return undefined;
    if (ids.length === 0) throw new Error(`internal: condition ${label} holds in no target account`);
    const key = ids.join(',');
    const known = this.sets.get(key);
    if (known) return known;
    const base = withinLimit(ids.length === 1 ? `Account${pascal(this.names.get(ids[0])!)}` : startingWithLetter(pascal(label)));
    const expression = anyOf(ids.map(isAccount));
    const takenOtherwise = (name: string) => this.taken.has(name) && JSON.stringify(this.taken.get(name)) !== JSON.stringify(expression);
    let name = base;
    for (let n = 2; this.conditions.has(name) || takenOtherwise(name); n++) name = `${base}${n}`;
    this.conditions.set(name, expression);
    this.sets.set(key, name);
    return name;
  }

  /** One string per target account, as one expression (`label` names the conditions, e.g. `BranchOfWebApp`). */
  value(label: string, byAccount: ReadonlyMap<string, string>): Value<string> {
    const groups = new Map<string, string[]>();
    for (const id of this.targets) {
      const v = byAccount.get(id);
      if (v === undefined) throw new Error(`internal: ${label} has no value for target ${id}`);
      const group = groups.get(v);
      if (group) group.push(id);
      else groups.set(v, [id]);
    }
    if (groups.size === 1) return [...groups.keys()][0];
    const choices = [...groups].map(([v, ids]) => new IntrinsicFunction('Fn::If', [this.when(`${label} ${v}`, ids)!, v, '']));
    return new IntrinsicFunction('Fn::Join', ['', choices]);
  }

  /** A list item present only in `accounts` (in every target: the item itself). */
  item<T>(label: string, accounts: readonly string[], item: T): T | IntrinsicFunction {
    const name = this.when(label, accounts);
    return name ? new IntrinsicFunction('Fn::If', [name, item as Value<unknown>, ref('AWS::NoValue')]) : item;
  }

  /**
   * The Conditions section, in the order the conditions were made. Assigned one by one, not Object.fromEntries: that
   * keeps a record of a thousand conditions (one per pipeline account) in V8's fast mode, copying its property
   * descriptors for each one added (30 MB allocated at 1,000 accounts); a newRecord, a dictionary from the start,
   * whose condition names take no hidden class from the plain object's (template.ts newRecord).
   */
  section(): Record<string, unknown> {
    const section = newRecord<unknown>();
    for (const [name, expression] of this.conditions) section[name] = expression;
    return section;
  }
}

/**
 * A condition's name starts with a letter, as the names xstack writes do: a label made from a name that starts with
 * a digit (a pipeline `9app`) is read as the accounts it holds in. Appending a number, as for a name already taken,
 * could never make one start with a letter.
 */
const startingWithLetter = (name: string) => (/^[A-Za-z]/.test(name) ? name : `Accounts${name}`);

/** Room left after a condition's name for the number that tells two of the same base apart. */
const MAX_BASE = LIMITS.logicalIdChars - 5;

/**
 * A condition's name within CloudFormation's 255 characters: a label made from a value (a branch of up to 256
 * characters) is cut, and the cut name ends in a hash of the whole, so that two long labels that begin alike stay two
 * (review s38-names 1).
 */
const withinLimit = (name: string) => (name.length <= MAX_BASE ? name : `${name.slice(0, MAX_BASE - 12)}H${sha256(name).slice(0, 11)}`);

/** Fn::Or over any number of conditions, as a tree of at most ten per Fn::Or; one condition is itself. */
function anyOf(conditions: unknown[]): unknown {
  if (conditions.length === 1) return conditions[0];
  let level = conditions;
  while (level.length > MAX_OR) {
    const next: unknown[] = [];
    for (let i = 0; i < level.length; i += MAX_OR) {
      const chunk = level.slice(i, i + MAX_OR);
      next.push(chunk.length === 1 ? chunk[0] : { 'Fn::Or': chunk });
    }
    level = next;
  }
  return { 'Fn::Or': level };
}

/**
 * Whether a condition of a rendered template holds in an account, for the
 * shapes the templates write (Fn::Equals on AWS::AccountId, Fn::Or, Fn::And,
 * Fn::Not, Condition): for code that reads a template without the audit's
 * resolver (what a deploy would meet in one account).
 */
export function conditionHolds(conditions: Readonly<Record<string, unknown>> | undefined, name: string, accountId: string): boolean {
  const evaluate = (e: unknown): boolean | string => {
    if (typeof e === 'string') return e;
    const o = e as Record<string, unknown[]> & { Ref?: string; Condition?: string };
    if (o.Ref === 'AWS::AccountId') return accountId;
    if (typeof o.Condition === 'string') return conditionHolds(conditions, o.Condition, accountId);
    if (o['Fn::Equals']) return evaluate(o['Fn::Equals'][0]) === evaluate(o['Fn::Equals'][1]);
    if (o['Fn::Or']) return o['Fn::Or'].some((x) => evaluate(x) === true);
    if (o['Fn::And']) return o['Fn::And'].every((x) => evaluate(x) === true);
    if (o['Fn::Not']) return evaluate(o['Fn::Not'][0]) !== true;
    throw new Error(`internal: condition ${name} has a shape xstack does not write: ${JSON.stringify(e)}`);
  };
  const expression = conditions?.[name];
  if (expression === undefined) throw new Error(`internal: no condition ${name}`);
  return evaluate(expression) === true;
}

/**
 * The accounts of `targets` in which a condition of a rendered template holds, evaluated once for all of them (as
 * sets, not account by account): for code that reads a family's template per account at scale (the execution
 * role's policy, one per account). Undefined for a shape xstack does not write (a deployed template of another
 * version may hold one): the caller then takes every target.
 */
export function accountsWhereHolds(conditions: Readonly<Record<string, unknown>> | undefined, name: string, targets: ReadonlySet<string>, memo = new Map<string, ReadonlySet<string> | undefined>()): ReadonlySet<string> | undefined {
  if (memo.has(name)) return memo.get(name);
  const ACCOUNT = Symbol('AWS::AccountId');
  const none: ReadonlySet<string> = new Set();
  // A value: a literal, or the account id; a boolean: the accounts it is true in.
  const value = (e: unknown): string | typeof ACCOUNT | undefined => (typeof e === 'string' ? e : (e as { Ref?: unknown })?.Ref === 'AWS::AccountId' ? ACCOUNT : undefined);
  const holds = (e: unknown): ReadonlySet<string> | undefined => {
    const o = (e ?? {}) as Record<string, unknown[] | undefined> & { Condition?: unknown };
    if (typeof o.Condition === 'string') return accountsWhereHolds(conditions, o.Condition, targets, memo);
    if (o['Fn::Equals']) {
      const [a, b] = o['Fn::Equals'].map(value);
      if (a === undefined || b === undefined) return undefined;
      if (a === ACCOUNT && b === ACCOUNT) return targets;
      if (a === ACCOUNT || b === ACCOUNT) {
        const id = (a === ACCOUNT ? b : a) as string;
        return targets.has(id) ? new Set([id]) : none;
      }
      return a === b ? targets : none;
    }
    const parts = (o['Fn::Or'] ?? o['Fn::And'] ?? o['Fn::Not'])?.map(holds);
    if (!parts || parts.some((p) => p === undefined)) return undefined;
    const sets = parts as ReadonlySet<string>[];
    if (o['Fn::Or']) return new Set(sets.flatMap((s) => [...s]));
    if (o['Fn::And']) return new Set([...targets].filter((id) => sets.every((s) => s.has(id))));
    return new Set([...targets].filter((id) => !sets[0].has(id)));
  };
  memo.set(name, undefined); // a condition that names itself is no shape xstack writes
  const expression = conditions?.[name];
  const out = expression === undefined ? undefined : holds(expression);
  memo.set(name, out);
  return out;
}
