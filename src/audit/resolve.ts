/**
 * Evaluates a stage's template in one target account into plain values:
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

export class Resolver {
  private readonly templates: Map<string, CfnTemplate>;
  private readonly byId: ReadonlyMap<string, Stage>;
  private readonly outputs = new Map<string, Value>();

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

  /** The value of `expression` in `stage`'s template, deployed in `account`. */
  resolve(stageId: string, account: string, expression: unknown): Value {
    if (typeof expression === 'string') return expression;
    if (typeof expression === 'number' || typeof expression === 'boolean') return String(expression);
    if (Array.isArray(expression)) return expression.map((e) => this.resolve(stageId, account, e)) as Value[];
    const e = expression as Record<string, unknown>;
    if ('Ref' in e) return this.ref(stageId, account, String(e.Ref));
    if ('Fn::GetAtt' in e) {
      const [id, attribute] = e['Fn::GetAtt'] as [string, string];
      return this.getAtt(stageId, account, id, attribute);
    }
    if ('Fn::Sub' in e) {
      return String(e['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        const [id, attribute] = name.split('.');
        const v = attribute && !id.startsWith('AWS::') ? this.getAtt(stageId, account, id, attribute) : this.ref(stageId, account, name);
        return Array.isArray(v) ? v.join(',') : v;
      });
    }
    if ('Fn::Join' in e) {
      const [delimiter, parts] = e['Fn::Join'] as [string, unknown[]];
      return (this.resolve(stageId, account, parts) as Value[]).flat().join(delimiter);
    }
    if ('Fn::Split' in e) {
      const [delimiter, source] = e['Fn::Split'] as [string, unknown];
      return String(this.resolve(stageId, account, source)).split(delimiter);
    }
    if ('Fn::Select' in e) {
      const [index, list] = e['Fn::Select'] as [string, unknown];
      const values = this.resolve(stageId, account, list);
      return Array.isArray(values) ? values[Number(index)] : `{select ${index}}`;
    }
    if ('Fn::GetAZs' in e) return [`${this.org.region}a`, `${this.org.region}b`, `${this.org.region}c`];
    // Plain objects (policy documents, event patterns): resolve their members.
    return JSON.stringify(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, this.resolve(stageId, account, v)])));
  }

  private ref(stageId: string, account: string, name: string): Value {
    switch (name) {
      case 'AWS::AccountId':
        return account;
      case 'AWS::Region':
        return this.org.region;
      case 'AWS::Partition':
        return this.org.partition;
    }
    const stage = this.stage(stageId);
    const spec = stage.definition.parameters[name];
    if (spec) {
      const source = stage.inputs.get(account)?.[name];
      if (!source) return `{${stageId}:${name}}`;
      const values =
        source.kind === 'value'
          ? source.value.split(',')
          : source.refs.flatMap((r) => {
              const v = this.output(r.stage, r.account, r.output);
              return Array.isArray(v) ? (v.flat() as string[]) : v.split(',');
            });
      return spec.type === 'CommaDelimitedList' ? values : values.join(',');
    }
    const resource = this.template(stageId).Resources[name];
    const p = (resource?.Properties ?? {}) as Record<string, unknown>;
    const named: Record<string, string> = {
      'AWS::IAM::Role': 'RoleName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::IAM::InstanceProfile': 'InstanceProfileName',
      'AWS::CodeDeploy::Application': 'ApplicationName',
      'AWS::CodeDeploy::DeploymentGroup': 'DeploymentGroupName',
      'AWS::CodePipeline::Pipeline': 'Name',
      'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
    };
    const property = resource && named[resource.Type];
    if (property && p[property] !== undefined) return this.resolve(stageId, account, p[property]);
    return `{${stageId}/${name}}`;
  }

  private getAtt(stageId: string, account: string, id: string, attribute: string): Value {
    const resource = this.template(stageId).Resources[id];
    const { partition, region } = this.org;
    if (resource?.Type === 'AWS::IAM::Role' && attribute === 'Arn') return `arn:${partition}:iam::${account}:role/${this.ref(stageId, account, id)}`;
    if (resource?.Type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:${partition}:s3:::${this.ref(stageId, account, id)}`;
    if (resource?.Type === 'AWS::KMS::Key' && attribute === 'Arn') return `arn:${partition}:kms:${region}:${account}:key/{${stageId}/${id}}`;
    return `{${stageId}/${id}.${attribute}}`;
  }

  /** An output of a stage, as deployed in `account`; every stage wired to it asks again, so each is resolved once. */
  output(stageId: string, account: string, output: string): Value {
    const key = `${stageId}\u0000${account}\u0000${output}`;
    let v = this.outputs.get(key);
    if (v === undefined) {
      const value = this.template(stageId).Outputs?.[output]?.Value;
      v = value === undefined ? `{${stageId}.${output}}` : this.resolve(stageId, account, value);
      this.outputs.set(key, v);
    }
    return v;
  }
}
