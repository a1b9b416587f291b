/**
 * The contract every template module fulfils: the parameters it takes, the
 * outputs it gives, its resources. The stage graph reads the contract; the
 * emitter turns it into a plain CloudFormation object.
 */
import type Resource from 'cloudform-types/types/resource';
import type { Value } from './intrinsics';

export interface ParameterSpec {
  readonly type: 'String' | 'CommaDelimitedList';
  readonly description: string;
  readonly allowedPattern?: string;
}

export interface OutputSpec {
  readonly description: string;
  readonly value: Value<string>;
  /** Exported under this name, for stacks of the same account and region (Fn::ImportValue). */
  readonly export?: string;
  /** Only in the accounts where this condition holds (a family's unit). */
  readonly condition?: string;
}

export interface TemplateDefinition {
  readonly description: string;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  /** Conditions on the account a stack runs in (src/cfn/account-switch.ts), by name. */
  readonly conditions?: Readonly<Record<string, unknown>>;
  readonly resources: Readonly<Record<string, Resource>>;
  readonly outputs: Readonly<Record<string, OutputSpec>>;
}

/** A CloudFormation template as plain JSON data, intrinsics resolved to their objects. */
export type CfnTemplate = {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, Record<string, unknown>>;
};

export type CfnResource = {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
  Properties?: Record<string, unknown>;
};

const RESOURCE_KEY_ORDER = ['Type', 'Condition', 'DependsOn', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata', 'Properties'];

const sortedEntries = <T>(record: Readonly<Record<string, T>>): Array<[string, T]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * cloudform-types' intrinsic objects serialise through toJSON only; a JSON round
 * trip turns the whole tree into plain data (and drops undefined properties).
 */
const plain = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;

export function renderTemplate(def: TemplateDefinition): CfnTemplate {
  // Sections in CloudFormation's usual order; object keys keep insertion order.
  const out = { AWSTemplateFormatVersion: '2010-09-09', Description: def.description } as CfnTemplate;
  const parameters = sortedEntries(def.parameters);
  if (parameters.length > 0) {
    out.Parameters = Object.fromEntries(
      parameters.map(([id, p]) => [
        id,
        { Type: p.type, Description: p.description, ...(p.allowedPattern ? { AllowedPattern: p.allowedPattern } : {}) },
      ]),
    );
  }
  if (def.conditions && Object.keys(def.conditions).length > 0) out.Conditions = plain(def.conditions);
  out.Resources = {};
  for (const [id, resource] of sortedEntries(def.resources)) {
    const data = plain<Record<string, unknown>>(resource);
    const ordered: Record<string, unknown> = {};
    for (const key of RESOURCE_KEY_ORDER) if (data[key] !== undefined) ordered[key] = data[key];
    for (const key of Object.keys(data)) {
      if (!RESOURCE_KEY_ORDER.includes(key)) throw new Error(`internal: resource ${id} has unexpected attribute ${key}`);
    }
    out.Resources[id] = ordered as CfnResource;
  }
  const outputs = sortedEntries(def.outputs);
  if (outputs.length > 0) {
    out.Outputs = Object.fromEntries(
      outputs.map(([id, o]) => [id, { ...(o.condition ? { Condition: o.condition } : {}), Description: o.description, Value: plain(o.value), ...(o.export ? { Export: { Name: o.export } } : {}) }]),
    );
  }
  return out;
}
