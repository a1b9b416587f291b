/**
 * Evaluates a stage's template in its target accounts into plain values:
 * pseudo parameters, the account's parameter values (wired ones through the
 * producing stage's output, evaluated in the producer's account), Ref,
 * Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::Select. What only exists
 * after deployment (a key's id) stays symbolic but unique:
 * `arn:<partition>:kms:<region>:<account>:key/{pipeline-foundation/ArtifactKey}`.
 */
import { renderTemplate, type CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';

export type Value = string | Value[];

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
export const fixed = <T>(value: T): PerAccount<T> => ({ fixed: value, at: () => value });
export const varying = <T>(at: (account: string) => T): PerAccount<T> => ({ at });
export const map = <T, R>(c: PerAccount<T>, f: (v: T) => R): PerAccount<R> => (c.fixed !== undefined ? fixed(f(c.fixed)) : varying((a) => f(c.at(a))));
/**
 * Several parts combined: fixed when every part is; otherwise made again for
 * an account only when a part differs from the previous account's (accounts
 * are visited one after the other), so what they receive alike is one value.
 */
export function all<T, R>(parts: readonly PerAccount<T>[], f: (values: T[]) => R): PerAccount<R> {
  if (parts.every((p) => p.fixed !== undefined)) return fixed(f(parts.map((p) => p.fixed!)));
  let last: { values: T[]; made: R } | undefined;
  return varying((a) => {
    const values = parts.map((p) => p.at(a));
    if (!last || values.some((v, i) => v !== last!.values[i])) last = { values, made: f(values) };
    return last.made;
  });
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
  private readonly parameters = new Map<string, Compiled>();
  /** Per stage: the template's expressions (objects, by identity) as compiled. */
  private readonly compiled = new Map<string, WeakMap<object, Compiled>>();
  /** Per stage: the parameters the expressions compiled so far read. */
  private readonly used = new Map<string, Set<string>>();

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

  /** The parameters of a stage that the expressions compiled so far read. */
  usedParameters(stageId: string): ReadonlySet<string> {
    return this.used.get(stageId) ?? new Set();
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
    if (Array.isArray(expression)) return all(expression.map((e) => this.compile(stageId, e)), (values) => values);
    const e = expression as Record<string, unknown>;
    if ('Ref' in e) return this.ref(stageId, String(e.Ref));
    if ('Fn::GetAtt' in e) {
      const [id, attribute] = e['Fn::GetAtt'] as [string, string];
      return this.getAtt(stageId, id, attribute);
    }
    if ('Fn::Sub' in e) {
      // Literal text and `${name}` references, alternating; a list value is written comma-joined.
      const parts = String(e['Fn::Sub'])
        .split(/\$\{([^}]+)\}/)
        .map((part, i) => {
          if (i % 2 === 0) return fixed(part);
          const [id, attribute] = part.split('.');
          const v = attribute && !id.startsWith('AWS::') ? this.getAtt(stageId, id, attribute) : this.ref(stageId, part);
          return map(v, (x) => (Array.isArray(x) ? x.join(',') : x));
        });
      return all(parts, (values) => values.join(''));
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
      (values) => JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
    );
  }

  private ref(stageId: string, name: string): Compiled {
    switch (name) {
      case 'AWS::AccountId':
        return varying((account) => account);
      case 'AWS::Region':
        return fixed(this.org.region);
      case 'AWS::Partition':
        return fixed(this.org.partition);
    }
    const stage = this.stage(stageId);
    const spec = stage.definition.parameters[name];
    if (spec) return this.parameter(stage, name, spec.type);
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
    return fixed(`{${stageId}/${id}.${attribute}}`);
  }

  /** A parameter's value in each account, looked up once per account however many expressions name it. */
  private parameter(stage: Stage, name: string, type: string): Compiled {
    const key = `${stage.id}\u0000${name}`;
    let c = this.parameters.get(key);
    if (c) return c;
    let used = this.used.get(stage.id);
    if (!used) this.used.set(stage.id, (used = new Set()));
    used.add(name);
    const values = new Map<string, Value>();
    c = varying((account) => {
      let v = values.get(account);
      if (v === undefined) {
        const source = stage.inputs.get(account)?.[name];
        const list = !source
          ? undefined
          : source.kind === 'value'
            ? source.value.split(',')
            : source.refs.flatMap((r) => {
                const out = this.output(r.stage, r.account, r.output);
                return Array.isArray(out) ? (out.flat() as string[]) : out.split(',');
              });
        v = list === undefined ? `{${stage.id}:${name}}` : type === 'CommaDelimitedList' ? list : list.join(',');
        values.set(account, v);
      }
      return v;
    });
    this.parameters.set(key, c);
    return c;
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
