/**
 * The contract every template module fulfils: the parameters it takes, the
 * outputs it gives, its resources. The stage graph reads the contract; the
 * emitter turns it into a plain CloudFormation object.
 */
import { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import type Resource from 'cloudform-types/types/resource';
import type { Value } from './intrinsics';
import { rememberWritten, type WrittenTemplate } from '../yaml';

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
const RESOURCE_ATTRIBUTES: ReadonlySet<string> = new Set(RESOURCE_KEY_ORDER);

/** Entries sorted by key in code-unit order, in place. */
export const byKey = <T>(entries: Array<[string, T]>): Array<[string, T]> => entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A record's entries by key, in code-unit order. */
export const sortedEntries = <T>(record: Readonly<Record<string, T>>): Array<[string, T]> => byKey(Object.entries(record));

/**
 * A fresh copy of `value` as plain data, exactly what a JSON round trip would
 * give, in one walk: cloudform-types' intrinsic objects serialise through
 * toJSON only, undefined properties are dropped, undefined list items and
 * non-finite numbers become null.
 */
export function plain<T>(value: unknown, renaming?: Renaming): T {
  return toPlain(value, renaming) as T;
}

/**
 * References renamed as they are copied (a family's unit, src/stages/family.ts),
 * instead of in a second walk over the copy: an object that holds one of
 * `keys` is copied as it is, then handed to `rename`, which may change it in
 * place and walks its items itself; the copy of an object that holds none
 * is walked on. So the result is `rename` applied top-down to the plain copy,
 * from every object holding none of `keys` to its items, exactly.
 */
export interface Renaming {
  readonly keys: ReadonlySet<string>;
  readonly rename: (copy: Record<string, unknown>) => void;
}

const intrinsicToJson = IntrinsicFunction.prototype.toJSON;

/** undefined where JSON leaves the value out (undefined, a function, a symbol). */
function toPlain(value: unknown, renaming: Renaming | undefined): unknown {
  if (value instanceof IntrinsicFunction && value.toJSON === intrinsicToJson) {
    // cloudform-types' own fields, read as its toJSON reads them.
    const { name, payload } = value as unknown as { name: unknown; payload: unknown };
    if (typeof name === 'string') return plainIntrinsic(name, payload, renaming);
  }
  // JSON.stringify asks an object (never a primitive) for toJSON once, then writes what it returns as it is.
  const hasToJson = typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
  return plainOf(hasToJson ? (value as { toJSON: () => unknown }).toJSON() : value, renaming);
}

/**
 * What plainOf makes of an intrinsic's toJSON(), `{ [name]: payload }`,
 * without making that object first: templates hold one for every Ref,
 * Fn::Sub or Fn::GetAtt.
 */
function plainIntrinsic(key: string, payload: unknown, renaming: Renaming | undefined): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  const renamedHere = renaming !== undefined && renaming.keys.has(key);
  const item = toPlain(payload, renamedHere ? undefined : renaming);
  if (item !== undefined) setOwn(copy, key, item);
  if (renamedHere) renaming.rename(copy);
  return copy;
}

function holdsAny(keys: readonly string[], wanted: ReadonlySet<string>): boolean {
  for (const key of keys) if (wanted.has(key)) return true;
  return false;
}

function plainOf(value: unknown, renaming: Renaming | undefined): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON writes -0 as 0, and non-finite numbers as null.
      return Number.isFinite(value) ? value || 0 : null;
    case 'object':
      break;
    case 'bigint':
      throw new TypeError('a BigInt has no JSON form');
    default:
      return undefined;
  }
  if (value === null) return null;
  if (Array.isArray(value)) {
    // Sized up front: a list grown by push keeps room for more items, and rendered templates live as long as the compile.
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = toPlain(value[i], renaming) ?? null;
    return items;
  }
  // Boxed primitives are written as their value.
  if (value instanceof String || value instanceof Number || value instanceof Boolean) return plainOf(value.valueOf(), undefined);
  const keys = Object.keys(value);
  // A key the copy drops (its value undefined) still sends the object to `rename`, which then finds the copy without it, as a walk over the copy would.
  if (renaming && holdsAny(keys, renaming.keys)) {
    const copy = plainOf(value, undefined) as Record<string, unknown>;
    renaming.rename(copy);
    return copy;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const item = toPlain((value as Record<string, unknown>)[key], renaming);
    if (item !== undefined) setOwn(out, key, item);
  }
  return out;
}

/**
 * An empty record for keys few other objects have (a template's logical ids, output and condition names), with
 * Object.prototype as any object of a template: a dictionary from the start (V8 keeps an object it gives a new
 * prototype in dictionary mode). An object made as `{}` takes a hidden class for its first key from the plain
 * object's, which keeps a bounded number of them (1,536 in V8): past it, each object made from `{}` whose first key
 * has none there yet gets a hidden class of its own, never shared. A compile records thousands of logical ids, and
 * the units rendered after them, the pipelines last, had a hidden class for each `Fn::If`, tag or import (15,000 at
 * 250 teams), missed by every inline cache that reads them after.
 */
export function newRecord<T>(): Record<string, T> {
  return Object.setPrototypeOf(Object.create(null), Object.prototype) as Record<string, T>;
}

/** `record[key] = item` as JSON.parse makes it: `__proto__` an own property, not the prototype. */
function setOwn(record: Record<string, unknown>, key: string, item: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value: item, enumerable: true, writable: true, configurable: true });
  else record[key] = item;
}

/** A resource's attributes in CloudFormation's usual order; `condition`, if given, as its Condition. */
function inResourceOrder(id: string, data: Readonly<Record<string, unknown>>, condition?: string): CfnResource {
  const ordered: Record<string, unknown> = {};
  for (const key of RESOURCE_KEY_ORDER) {
    const value = key === 'Condition' && condition !== undefined ? condition : data[key];
    if (value !== undefined) ordered[key] = value;
  }
  for (const key of Object.keys(data)) {
    if (!RESOURCE_ATTRIBUTES.has(key)) throw new Error(`internal: resource ${id} has unexpected attribute ${key}`);
  }
  return ordered as CfnResource;
}

/** An output as renderTemplate renders it, its value `value` (the specification's, rendered). */
export const renderOutput = (o: OutputSpec, value: unknown): Record<string, unknown> => ({ ...(o.condition ? { Condition: o.condition } : {}), Description: o.description, Value: value, ...(o.export ? { Export: { Name: o.export } } : {}) });

/** A definition's resource as renderTemplate renders it: plain data, renamed by `renaming` if given, its attributes in CloudFormation's usual order. */
export const renderResource = (id: string, resource: Resource, renaming?: Renaming): CfnResource => inResourceOrder(id, plain(resource, renaming));

/**
 * A definition's resources (or conditions) already rendered, as a family's template holds its
 * units' (src/stages/family.ts): a rendering takes them as they are, not
 * copied again. The definition and its renderings share them; rendered
 * templates are read, never changed. Marked by the record that holds them:
 * one weak-set entry for a family's part, not one for each of its resources.
 */
const renderedRecords = new WeakSet<object>();

/** Whether renderTemplate would hand out some of `def`'s resources as they are, not copied: a record of renderedResources with entries. */
export const holdsRenderedResources = (def: TemplateDefinition): boolean => renderedRecords.has(def.resources) && Object.keys(def.resources).length > 0;

/** A rendered resource (plain data, as renderTemplate gives it) under `condition`, if given, for a record of renderedResources. */
export const underCondition = (id: string, resource: CfnResource, condition?: string): CfnResource => inResourceOrder(id, resource, condition);

/** `resources`, every one rendered (underCondition), for a definition to hold as they are; the record is not changed after. */
export function renderedResources(resources: Record<string, CfnResource>): TemplateDefinition['resources'] {
  renderedRecords.add(resources);
  return resources as unknown as TemplateDefinition['resources'];
}

/**
 * `conditions`, every expression plain data (as renderTemplate renders one), for a definition to hold as they are, as
 * a family's template holds its units' and its own (src/stages/family.ts): a rendering takes each expression as it
 * is, not copied again. Marked in renderedRecords, as rendered resources are; the record is not changed after.
 */
export function renderedConditions(conditions: Record<string, unknown>): Record<string, unknown> {
  renderedRecords.add(conditions);
  return conditions;
}

/**
 * A record kept inside the planner (a family's unit, src/stages/family.ts)
 * whose keys no other object has: logical ids that hold an account's or a
 * pipeline's name. Made without a prototype, which V8 keeps as a dictionary
 * from the start; an ordinary object makes V8 a new hidden class for each of
 * its first keys, and keys shared with no other object reuse none. Never
 * handed to code that reads templates, which may expect Object.prototype.
 */
export function idRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const record = Object.create(null) as Record<string, T>;
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/** Definitions whose rendering was written already (a family's parts, src/stages/family.ts), and its text. */
const writtenDefinitions = new WeakMap<TemplateDefinition, WrittenTemplate>();

/**
 * Renderings of a definition made to be written (a family's part, packed), each handed once by takeRendering (the
 * compile's, which renders every stage right after planning) instead of a second one made alike.
 */
const renderingsToHand = new WeakMap<TemplateDefinition, CfnTemplate>();

/**
 * renderTemplate(def), for a caller that renders a plan's stages before anything could change their definitions (the
 * compile, right after planning): a family part's rendering made when it was written (rememberWrittenDefinition),
 * handed once and kept no more, so as fresh as a copy to its taker; any other, or a second call, a rendering made now.
 * renderTemplate itself always makes one: code that changes a stage's definition after planning (a test taking a
 * condition out) renders what it changed.
 */
export function takeRendering(def: TemplateDefinition): CfnTemplate {
  const handed = renderingsToHand.get(def);
  if (!handed) return renderTemplate(def);
  renderingsToHand.delete(def);
  return handed;
}

/**
 * Records `written` as the text of `def`'s rendering (toYamlWithResources(renderTemplate(def))): each rendering of
 * `def` after is known to yaml.ts as written (rememberWritten), which writes it once, not for each rendering. For a
 * definition whose resources are rendered (renderedResources), which is not changed after. `rendering`, if given, is
 * the rendering `written` was written from, which its maker keeps no more: takeRendering(def) hands it out once.
 */
export function rememberWrittenDefinition(def: TemplateDefinition, written: WrittenTemplate, rendering?: CfnTemplate): void {
  writtenDefinitions.set(def, written);
  if (rendering) {
    rememberWritten(rendering, written);
    renderingsToHand.set(def, rendering);
  }
}

const renderedOnce = new WeakMap<TemplateDefinition, CfnTemplate>();
/**
 * `def` rendered once, for code that only reads it (plan's and deploy's checks of each StackSet, the reader policy of
 * each account): the same object on every call, so nothing may change it.
 */
export function renderedTemplate(def: TemplateDefinition): CfnTemplate {
  let template = renderedOnce.get(def);
  if (!template) renderedOnce.set(def, (template = renderTemplate(def)));
  return template;
}

/** `def` as plain template data; with `renaming`, its resources and its outputs' values renamed as they are copied (its conditions are not). */
export function renderTemplate(def: TemplateDefinition, renaming?: Renaming): CfnTemplate {
  // Sections in CloudFormation's usual order; object keys keep insertion order.
  const out = { AWSTemplateFormatVersion: '2010-09-09', Description: def.description } as CfnTemplate;
  const parameters = sortedEntries(def.parameters);
  // The sections' records are newRecords: their keys are the template's own (newRecord says why).
  if (parameters.length > 0) {
    out.Parameters = newRecord();
    for (const [id, p] of parameters) setOwn(out.Parameters, id, { Type: p.type, Description: p.description, ...(p.allowedPattern ? { AllowedPattern: p.allowedPattern } : {}) });
  }
  if (def.conditions && Object.keys(def.conditions).length > 0) {
    // plain(def.conditions), into a newRecord; rendered expressions as they are (renderedConditions).
    out.Conditions = newRecord();
    const rendered = renderedRecords.has(def.conditions);
    for (const [name, expression] of Object.entries(def.conditions)) {
      const item = rendered ? expression : plain(expression);
      if (item !== undefined) setOwn(out.Conditions, name, item);
    }
  }
  out.Resources = newRecord();
  const rendered = renderedRecords.has(def.resources);
  for (const [id, resource] of sortedEntries(def.resources)) {
    out.Resources[id] = rendered ? (resource as CfnResource) : renderResource(id, resource, renaming);
  }
  const outputs = sortedEntries(def.outputs);
  if (outputs.length > 0) {
    out.Outputs = newRecord();
    for (const [id, o] of outputs) {
      setOwn(out.Outputs, id, renderOutput(o, plain(o.value, renaming)));
    }
  }
  const written = renaming ? undefined : writtenDefinitions.get(def);
  if (written) rememberWritten(out, written);
  return out;
}
