/**
 * Evaluates a stage's template in its target accounts into plain values:
 * pseudo parameters, Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split,
 * Fn::Select, the template's conditions on the account (Fn::If, Fn::Equals,
 * Fn::Or, Fn::And, Fn::Not, AWS::NoValue), and Fn::ImportValue (the export of
 * a stage of the same account, evaluated there). What only exists after
 * deployment (a key's id) stays symbolic but unique:
 * `arn:<partition>:kms:<region>:<account>:key/{pipeline-foundation/ArtifactKey}`.
 */
import { renderTemplate, type CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';

export type Value = string | Value[];

/** `AWS::NoValue`: dropped from the list or object that holds it. */
const NO_VALUE = '\u0000NoValue';
/** A value as a flat list of strings, without AWS::NoValue. */
export function flatValues(v: Value): string[] {
  const out: string[] = [];
  addFlat(v, out);
  return out;
}

/** A function of the module, not a closure made for each value (values are flattened for every account); holes skipped, as forEach does. */
function addFlat(x: Value, out: string[]): void {
  if (!Array.isArray(x)) {
    if (x !== NO_VALUE) out.push(x);
    return;
  }
  for (let i = 0; i < x.length; i++) if (i in x) addFlat(x[i], out);
}
const TRUE = 'true';
const FALSE = 'false';
const present = (values: readonly Value[]) => (values.includes(NO_VALUE) ? values.filter((v) => v !== NO_VALUE) : (values as Value[]));

/**
 * Something of a stage's template, made once for all its target accounts:
 * `at(account)` is its value deployed there, and `fixed` is set when no
 * account changes it (the value is then shared, never copied). A
 * 1,000-account stage walks each expression once instead of 1,000 times.
 */
export interface PerAccount<T> {
  readonly fixed?: T;
  at(account: string): T;
}
export type Compiled = PerAccount<Value>;
/** A value no account changes: one object, its `at` shared by all (tens of thousands are made for a large org). */
class Fixed<T> implements PerAccount<T> {
  constructor(readonly fixed: T) {}
  at(): T {
    return this.fixed;
  }
}
export const fixed = <T>(value: T): PerAccount<T> => new Fixed(value);
export const varying = <T>(at: (account: string) => T): PerAccount<T> => ({ at });
export const map = <T, R>(c: PerAccount<T>, f: (v: T) => R): PerAccount<R> => (c.fixed !== undefined ? fixed(f(c.fixed)) : varying((a) => f(c.at(a))));
/**
 * Several parts combined: fixed when every part is; otherwise made again for
 * an account only when a part differs from the previous account's (accounts
 * are visited one after the other), so what they receive alike is one value.
 */
export function all<T, R>(parts: readonly PerAccount<T>[], f: (values: T[]) => R): PerAccount<R> {
  if (parts.every((p) => p.fixed !== undefined)) return fixed(f(parts.map((p) => p.fixed!)));
  let last: { account: string; values: T[]; made: R } | undefined;
  return varying((a) => {
    // Asked again for the same account (statements sharing an expression): nothing to walk.
    if (last?.account === a) return last.made;
    // Each part asked once; a list is made only from the first part that differs from the previous account's.
    let values: T[] | undefined;
    for (let i = 0; i < parts.length; i++) {
      const v = parts[i].at(a);
      if (values) values.push(v);
      else if (!last || v !== last.values[i]) (values = last ? last.values.slice(0, i) : []).push(v);
    }
    if (!values) {
      last!.account = a;
      return last!.made;
    }
    last = { account: a, values, made: f(values) };
    return last.made;
  });
}

/** Whether a list item is `Fn::If [condition, item, AWS::NoValue]`, an item only some accounts keep (account-switch.ts). */
const keptInSomeAccounts = (e: unknown): boolean => ((e as { 'Fn::If'?: [string, unknown, unknown] } | null)?.['Fn::If']?.[2] as { Ref?: string } | null)?.Ref === 'AWS::NoValue';

/** The accounts a condition of the shape `Fn::Equals [AWS::AccountId, id]`, or an Fn::Or of such, holds in; undefined for any other shape. */
function accountSetOf(expression: unknown): Set<string> | undefined {
  const e = expression as Record<string, unknown[]>;
  const equals = e['Fn::Equals'];
  if (equals && (equals[0] as { Ref?: string })?.Ref === 'AWS::AccountId' && typeof equals[1] === 'string') return new Set([equals[1]]);
  if (Array.isArray(e['Fn::Or'])) {
    const out = new Set<string>();
    for (const part of e['Fn::Or']) {
      const inner = accountSetOf(part);
      if (!inner) return undefined;
      for (const a of inner) out.add(a);
    }
    return out;
  }
  return undefined;
}

/** A `${name}` reference of Fn::Sub as `split('.')` reads its first two parts: `Role.Arn` → Role and Arn (no list made for it). */
export function splitReference(reference: string): { id: string; attribute: string | undefined } {
  const dot = reference.indexOf('.');
  if (dot < 0) return { id: reference, attribute: undefined };
  const next = reference.indexOf('.', dot + 1);
  return { id: reference.slice(0, dot), attribute: reference.slice(dot + 1, next < 0 ? undefined : next) };
}

/** Resource types whose Ref is a name the template sets, and the property that sets it. */
const NAMED: Record<string, string> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::CodeDeploy::Application': 'ApplicationName',
  'AWS::CodeDeploy::DeploymentGroup': 'DeploymentGroupName',
  'AWS::CodePipeline::Pipeline': 'Name',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
};

export class Resolver {
  private readonly templates: Map<string, CfnTemplate>;
  private readonly byId: ReadonlyMap<string, Stage>;
  /** Stage → output → account → value. */
  private readonly outputs = new Map<string, Map<string, Map<string, Value>>>();
  /** Per stage: the template's expressions (objects, by identity) as compiled. */
  private readonly compiled = new Map<string, WeakMap<object, Compiled>>();
  /** Per stage: the conditions the expressions compiled so far read. */
  private readonly used = new Map<string, Set<string>>();
  /** Stage → condition name → its value in each account. */
  private readonly conditions = new Map<string, Map<string, Compiled>>();
  /** Stage → condition → the target accounts it holds in. */
  private readonly where = new Map<string, Map<string, readonly string[]>>();
  /** Stage → condition → the accounts it names (accountSetOf), null for a condition of another shape: read once per condition, not per list item that asks. */
  private readonly accountSets = new Map<string, Map<string, ReadonlySet<string> | null>>();
  private readonly targets = new Map<string, { ids: readonly string[]; position: ReadonlyMap<string, number> }>();
  /** Fn::Sub text → its pieces (see sub). */
  private readonly subPieces = new Map<string, string[]>();
  /** Stage → Fn::Sub text → it compiled there. */
  private readonly subs = new Map<string, Map<string, Compiled>>();
  private exporters?: Map<string, Array<{ stage: string; output: string; targets: ReadonlySet<string> }>>;

  /** `templates`: the stages' rendered templates where the caller has them; the rest are rendered on first use. */
  constructor(
    readonly org: Org,
    stages: readonly Stage[],
    templates: ReadonlyMap<string, CfnTemplate> = new Map(),
  ) {
    this.byId = new Map(stages.map((s) => [s.id, s]));
    this.templates = new Map(templates);
  }

  template(stageId: string): CfnTemplate {
    let t = this.templates.get(stageId);
    if (!t) {
      t = renderTemplate(this.byId.get(stageId)!.definition);
      this.templates.set(stageId, t);
    }
    return t;
  }

  stage(stageId: string): Stage {
    return this.byId.get(stageId)!;
  }

  /** The conditions of a stage that the expressions compiled so far read (each account's value chosen by them). */
  usedConditions(stageId: string): ReadonlySet<string> {
    return this.used.get(stageId) ?? new Set();
  }

  /** Whether a resource of a stage's template exists in `account` (its Condition holds there, or it has none); the condition is recorded as read. */
  exists(stageId: string, logicalId: string, account: string): boolean {
    const condition = this.template(stageId).Resources[logicalId]?.Condition;
    return condition === undefined || this.holds(stageId, condition, account);
  }

  /** The target accounts of a stage a resource exists in, in target order. */
  accountsWith(stageId: string, logicalId: string): readonly string[] {
    const condition = this.template(stageId).Resources[logicalId]?.Condition;
    return condition === undefined ? this.targetsOf(stageId).ids : this.accountsWhere(stageId, condition);
  }

  /**
   * The target accounts of a stage a condition holds in, in target order;
   * asked once per condition. A condition that names its accounts (what
   * account-switch.ts writes) is read from them, not asked of every target.
   */
  accountsWhere(stageId: string, condition: string): readonly string[] {
    let byCondition = this.where.get(stageId);
    if (!byCondition) this.where.set(stageId, (byCondition = new Map()));
    let accounts = byCondition.get(condition);
    if (!accounts) {
      const compiled = this.condition(stageId, condition);
      const named = this.accountSet(stageId, condition);
      const { ids, position } = this.targetsOf(stageId);
      accounts = named
        ? [...named].filter((a) => position.has(a)).sort((a, b) => position.get(a)! - position.get(b)!)
        : ids.filter((a) => compiled.at(a) === TRUE);
      byCondition.set(condition, accounts);
    }
    return accounts;
  }

  /**
   * Target account → the conditions of a stage read so far (usedConditions)
   * that hold there, in name order; an account where none holds is absent.
   * What a stage's values in an account are chosen by, each condition asked once.
   */
  conditionsHoldingIn(stageId: string): ReadonlyMap<string, readonly string[]> {
    const holding = new Map<string, string[]>();
    for (const name of [...this.usedConditions(stageId)].sort()) {
      for (const account of this.accountsWhere(stageId, name)) {
        const names = holding.get(account);
        if (names) names.push(name);
        else holding.set(account, [name]);
      }
    }
    return holding;
  }

  /** A stage's target account ids, and each one's position among them. */
  private targetsOf(stageId: string): { ids: readonly string[]; position: ReadonlyMap<string, number> } {
    let targets = this.targets.get(stageId);
    if (!targets) {
      const ids = this.stage(stageId).targets.map((a) => a.id);
      this.targets.set(stageId, (targets = { ids, position: new Map(ids.map((id, i) => [id, i])) }));
    }
    return targets;
  }

  /** Whether a condition of a stage's template holds in `account`. */
  holds(stageId: string, name: string, account: string): boolean {
    return this.condition(stageId, name).at(account) === TRUE;
  }

  /** Compiles every output of a stage: what other stages and the access paths may read. */
  compileOutputs(stageId: string): void {
    for (const output of Object.values(this.template(stageId).Outputs ?? {})) this.compile(stageId, output.Value);
  }

  /** The value of `expression` in `stage`'s template, deployed in `account`. */
  resolve(stageId: string, account: string, expression: unknown): Value {
    return this.compile(stageId, expression).at(account);
  }

  /** `expression` of `stage`'s template, for any of its accounts. */
  compile(stageId: string, expression: unknown): Compiled {
    if (typeof expression === 'string') return fixed(expression);
    if (typeof expression === 'number' || typeof expression === 'boolean') return fixed(String(expression));
    // An absent field (a policy without `Roles`) has no values.
    if (expression === undefined) return fixed([]);
    if (expression === null || typeof expression !== 'object') return fixed(String(expression));
    let cache = this.compiled.get(stageId);
    if (!cache) this.compiled.set(stageId, (cache = new WeakMap()));
    let c = cache.get(expression);
    if (!c) cache.set(expression, (c = this.compileObject(stageId, expression)));
    return c;
  }

  private compileObject(stageId: string, expression: object): Compiled {
    if (Array.isArray(expression)) return this.switchedList(stageId, expression) ?? all(expression.map((e) => this.compile(stageId, e)), present);
    const e = expression as Record<string, unknown>;
    if ('Ref' in e) return this.ref(stageId, String(e.Ref));
    if ('Fn::If' in e) {
      const [name, yes, no] = e['Fn::If'] as [string, unknown, unknown];
      return all([this.condition(stageId, name), this.compile(stageId, yes), this.compile(stageId, no)], ([c, y, n]) => (c === TRUE ? y : n));
    }
    if ('Condition' in e && Object.keys(e).length === 1) return this.condition(stageId, String(e.Condition));
    if ('Fn::Equals' in e) return all((e['Fn::Equals'] as unknown[]).map((x) => this.compile(stageId, x)), ([a, b]) => (JSON.stringify(a) === JSON.stringify(b) ? TRUE : FALSE));
    if ('Fn::Or' in e) return all((e['Fn::Or'] as unknown[]).map((x) => this.compile(stageId, x)), (v) => (v.includes(TRUE) ? TRUE : FALSE));
    if ('Fn::And' in e) return all((e['Fn::And'] as unknown[]).map((x) => this.compile(stageId, x)), (v) => (v.every((x) => x === TRUE) ? TRUE : FALSE));
    if ('Fn::Not' in e) return map(this.compile(stageId, (e['Fn::Not'] as unknown[])[0]), (v) => (v === TRUE ? FALSE : TRUE));
    if ('Fn::ImportValue' in e) return this.importValue(stageId, e['Fn::ImportValue']);
    if ('Fn::GetAtt' in e) {
      const [id, attribute] = e['Fn::GetAtt'] as [string, string];
      return this.getAtt(stageId, id, attribute);
    }
    if ('Fn::Sub' in e) {
      // Many statements repeat a text in objects of their own (their roles' ARNs): compiled once per stage and text.
      const text = String(e['Fn::Sub']);
      let byText = this.subs.get(stageId);
      if (!byText) this.subs.set(stageId, (byText = new Map()));
      let c = byText.get(text);
      if (!c) byText.set(text, (c = this.sub(stageId, text)));
      return c;
    }
    if ('Fn::Join' in e) {
      const [delimiter, parts] = e['Fn::Join'] as [string, unknown[]];
      return map(this.compile(stageId, parts), (v) => (v as Value[]).flat().join(delimiter));
    }
    if ('Fn::Split' in e) {
      const [delimiter, source] = e['Fn::Split'] as [string, unknown];
      return map(this.compile(stageId, source), (v) => String(v).split(delimiter));
    }
    if ('Fn::Select' in e) {
      const [index, list] = e['Fn::Select'] as [string, unknown];
      return map(this.compile(stageId, list), (values) => (Array.isArray(values) ? values[Number(index)] : `{select ${index}}`));
    }
    if ('Fn::GetAZs' in e) return fixed([`${this.org.region}a`, `${this.org.region}b`, `${this.org.region}c`]);
    // Plain objects (policy documents, event patterns): resolve their members.
    const keys = Object.keys(e);
    return all(
      keys.map((k) => this.compile(stageId, e[k])),
      (values) => JSON.stringify(Object.fromEntries(keys.flatMap((k, i) => (values[i] === NO_VALUE ? [] : [[k, values[i]]])))),
    );
  }

  /**
   * An Fn::Sub text: literal text and `${name}` references, alternating (its
   * pieces split once per text, shared by the many expressions that repeat
   * it); a list value is written comma-joined.
   */
  private sub(stageId: string, text: string): Compiled {
    let pieces = this.subPieces.get(text);
    if (!pieces) this.subPieces.set(text, (pieces = text.split(/\$\{([^}]+)\}/)));
    const references: Compiled[] = [];
    for (let i = 1; i < pieces.length; i += 2) {
      const { id, attribute } = splitReference(pieces[i]);
      references.push(attribute && !id.startsWith('AWS::') ? this.getAtt(stageId, id, attribute) : this.ref(stageId, pieces[i]));
    }
    // In an account, or (undefined) as the references' fixed values; no closure or record is made per account.
    const written = (account: string | undefined) => {
      let out = pieces[0];
      for (let k = 0; k < references.length; k++) {
        const v = account === undefined ? references[k].fixed! : references[k].at(account);
        // As Array.join writes them: a missing value (Fn::Select past the end) is empty.
        out += (Array.isArray(v) ? v.join(',') : (v ?? '')) + pieces[2 * k + 2];
      }
      return out;
    };
    if (references.every((r) => r.fixed !== undefined)) return fixed(written(undefined));
    // Asked again for the same account (statements sharing an expression): written once.
    let lastAccount: string | undefined;
    let lastMade = '';
    return varying((a) => {
      if (lastAccount !== a) {
        lastMade = written(a);
        lastAccount = a;
      }
      return lastMade;
    });
  }

  /**
   * A list of items each kept only in some accounts (`Fn::If [<accounts>, item,
   * AWS::NoValue]`, as account-switch.ts writes them: a source account's role
   * in the key policy of the pipeline accounts it feeds), read in an account
   * as the items kept there: an index by account, not every item's condition
   * asked in every account. Undefined for any other list.
   */
  private switchedList(stageId: string, list: readonly unknown[]): Compiled | undefined {
    // Most lists (a statement's resources) hold no such item: told without a record made for each of their items.
    if (list.length < 2 || !list.some(keptInSomeAccounts)) return undefined;
    const items = list.map((e) => {
      const branches = (e as { 'Fn::If'?: [string, unknown, unknown] } | null)?.['Fn::If'];
      if (!branches || (branches[2] as { Ref?: string } | null)?.Ref !== 'AWS::NoValue') return { item: e };
      const accounts = this.accountSet(stageId, branches[0]);
      return accounts ? { item: branches[1], condition: branches[0], accounts } : { item: e };
    });
    if (!items.some((x) => x.accounts)) return undefined;
    const compiled = items.map((x) => this.compile(stageId, x.item));
    // Read as the items' conditions would be: recorded as used (account classes key on them).
    for (const x of items) if (x.condition) this.condition(stageId, x.condition);
    const always = items.flatMap((x, i) => (x.accounts ? [] : [i]));
    const positions = new Map<string, number[]>();
    items.forEach((x, i) => {
      for (const a of x.accounts ?? []) (positions.get(a) ?? positions.set(a, [...always]).get(a)!).push(i);
    });
    for (const p of positions.values()) p.sort((x, y) => x - y);
    let last: { account: string; made: Value } | undefined;
    return varying((a) => {
      if (last?.account === a) return last.made;
      last = { account: a, made: present((positions.get(a) ?? always).map((i) => compiled[i].at(a))) };
      return last.made;
    });
  }

  /** A named condition of a stage's template, as 'true' or 'false' in each account; recorded as read. */
  private condition(stageId: string, name: string): Compiled {
    let byName = this.conditions.get(stageId);
    if (!byName) this.conditions.set(stageId, (byName = new Map()));
    let c = byName.get(name);
    if (!c) {
      let used = this.used.get(stageId);
      if (!used) this.used.set(stageId, (used = new Set()));
      used.add(name);
      const expression = this.template(stageId).Conditions?.[name];
      if (expression === undefined) throw new Error(`internal: ${stageId} has no condition ${name}`);
      // "The account is one of these" (what account-switch.ts writes) is a set lookup, not an Fn::Or walked per account.
      const accounts = this.accountSet(stageId, name);
      byName.set(name, (c = accounts ? varying((a) => (accounts.has(a) ? TRUE : FALSE)) : this.compile(stageId, expression)));
    }
    return c;
  }

  /** The accounts a named condition of a stage names (accountSetOf), undefined for a condition of another shape. */
  private accountSet(stageId: string, name: string): ReadonlySet<string> | undefined {
    let byName = this.accountSets.get(stageId);
    if (!byName) this.accountSets.set(stageId, (byName = new Map()));
    let accounts = byName.get(name);
    if (accounts === undefined) byName.set(name, (accounts = accountSetOf(this.template(stageId).Conditions?.[name]) ?? null));
    return accounts ?? undefined;
  }

  /** The value a stage of the same account exports under that name, read there. */
  private importValue(stageId: string, nameExpression: unknown): Compiled {
    const name = this.compile(stageId, nameExpression);
    const exporters = this.exportersByName();
    return varying((account) => {
      const exportName = String(name.at(account));
      const producer = exporters.get(exportName)?.find((x) => x.targets.has(account));
      return producer ? this.output(producer.stage, account, producer.output) : `{import ${exportName}}`;
    });
  }

  /** Export name → the stages that export it, each with the accounts it is deployed in. */
  private exportersByName(): ReadonlyMap<string, Array<{ stage: string; output: string; targets: ReadonlySet<string> }>> {
    if (!this.exporters) {
      this.exporters = new Map();
      for (const [id, stage] of this.byId) {
        let targets: Set<string> | undefined;
        for (const [output, spec] of Object.entries(this.template(id).Outputs ?? {})) {
          const exported = (spec.Export as { Name?: unknown } | undefined)?.Name;
          if (typeof exported !== 'string') continue;
          targets ??= new Set(stage.targets.map((a) => a.id));
          const list = this.exporters.get(exported) ?? this.exporters.set(exported, []).get(exported)!;
          list.push({ stage: id, output, targets });
        }
      }
    }
    return this.exporters;
  }

  private ref(stageId: string, name: string): Compiled {
    switch (name) {
      case 'AWS::AccountId':
        return varying((account) => account);
      case 'AWS::Region':
        return fixed(this.org.region);
      case 'AWS::Partition':
        return fixed(this.org.partition);
      case 'AWS::NoValue':
        return fixed(NO_VALUE);
    }
    const resource = this.template(stageId).Resources[name];
    const property = resource && NAMED[resource.Type];
    const p = (resource?.Properties ?? {}) as Record<string, unknown>;
    if (property && p[property] !== undefined) return this.compile(stageId, p[property]);
    return fixed(`{${stageId}/${name}}`);
  }

  private getAtt(stageId: string, id: string, attribute: string): Compiled {
    const resource = this.template(stageId).Resources[id];
    const { partition, region } = this.org;
    if (resource?.Type === 'AWS::IAM::Role' && attribute === 'Arn') {
      const name = this.ref(stageId, id);
      return varying((account) => `arn:${partition}:iam::${account}:role/${name.at(account)}`);
    }
    if (resource?.Type === 'AWS::S3::Bucket' && attribute === 'Arn') return map(this.ref(stageId, id), (name) => `arn:${partition}:s3:::${name}`);
    if (resource?.Type === 'AWS::KMS::Key' && attribute === 'Arn') return varying((account) => `arn:${partition}:kms:${region}:${account}:key/{${stageId}/${id}}`);
    // A log group's Arn ends in ":*", the form IAM names it by: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
    if (resource?.Type === 'AWS::Logs::LogGroup' && attribute === 'Arn') {
      const name = this.ref(stageId, id);
      return varying((account) => `arn:${partition}:logs:${region}:${account}:log-group:${name.at(account)}:*`);
    }
    return fixed(`{${stageId}/${id}.${attribute}}`);
  }

  /** An output of a stage, as deployed in `account`; every stage wired to it asks again, so each is resolved once. */
  output(stageId: string, account: string, output: string): Value {
    let byOutput = this.outputs.get(stageId);
    if (!byOutput) this.outputs.set(stageId, (byOutput = new Map()));
    let byAccount = byOutput.get(output);
    if (!byAccount) byOutput.set(output, (byAccount = new Map()));
    let v = byAccount.get(account);
    if (v === undefined) {
      const value = this.template(stageId).Outputs?.[output]?.Value;
      v = value === undefined ? `{${stageId}.${output}}` : this.resolve(stageId, account, value);
      byAccount.set(account, v);
    }
    return v;
  }
}
