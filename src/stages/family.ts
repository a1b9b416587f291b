/**
 * A family: one template, one StackSet, for many units that hold different
 * resources (each source account's repositories and roles, each pipeline),
 * so that the StackSet count grows with what a template can hold, not with
 * the source accounts or pipelines of the org. Each unit's resources carry a
 * condition naming the accounts they exist in (src/cfn/account-switch.ts);
 * units are packed into parts in the org file's order, a new part only where
 * a CloudFormation limit of one template forces it: 500 resources, 200
 * outputs, 1 MB from S3 (a margin below it is kept for the conditions).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 *
 * A unit moved to another part (a unit inserted before it in the file, or
 * one before it that grew) is a resource leaving one StackSet and entering
 * another: the part it leaves is updated in the same wave, and a rollout that
 * meets the resource still there is finished by the next run; a retained one
 * cannot move at all (src/deploy/moves.ts). The README's "Not yet" says why
 * parts that keep their units are the fix.
 */
import { AccountSwitch } from '../cfn/account-switch';
import { byKey, idRecord, plain, renderedResources, renderTemplate, underCondition, type CfnResource, type CfnTemplate, type OutputSpec, type Renaming, type TemplateDefinition } from '../cfn/template';
import { LIMITS } from '../limits';
import type { Account } from '../org/model';
import { yamlBytes } from '../yaml';
import type { AccountValue, Stage, Use } from './model';

export interface Unit {
  /** What it is, for notes: `source account shared-services`, `pipeline web-app`. */
  readonly label: string;
  /** Names the condition on the accounts it exists in (PascalCased). */
  readonly conditionLabel: string;
  /** The accounts its resources exist in. */
  readonly accounts: readonly Account[];
  /** Its resources, outputs and conditions. */
  readonly definition: TemplateDefinition;
  /** Makes its logical ids unique in the family (a role every source account holds); without it, its ids are already unique. */
  readonly renameIds?: (id: string) => string;
  readonly uses: readonly Use[];
  readonly accountValues: readonly AccountValue[];
  /** Choices made for it (compact forms), in words. */
  readonly notes: readonly string[];
}

/** Bytes a part may take before the conditions and the section headers: room below the 1 MB of a template from S3. */
const PART_BYTES = Math.floor(LIMITS.templateUrlBytes * 0.85);

/**
 * What packing reads of a unit: its resources and outputs, and the bytes of
 * its YAML, counted (yamlBytes) only when a packing decision first reads them.
 * Counting late counts the same: a unit's rendering is not changed once
 * rendered (merging copies its resources under their condition).
 */
class Size {
  private counted: number | undefined;
  constructor(
    readonly resources: number,
    readonly outputs: number,
    private readonly template: CfnTemplate,
  ) {}

  get bytes(): number {
    return (this.counted ??= yamlBytes(this.template));
  }
}

/** A unit as plain template data, with logical ids unique in the family: measured for packing, then merged. */
interface RenderedUnit {
  readonly template: CfnTemplate;
  readonly outputs: Readonly<Record<string, OutputSpec>>;
}

function renderUnit(unit: Unit): RenderedUnit {
  if (!unit.renameIds) return { template: ownRendering(unit, renderTemplate(unit.definition)), outputs: unit.definition.outputs };
  const references = referenceRenaming(Object.keys(unit.definition.resources), unit.renameIds);
  const template = ownRendering(unit, renderTemplate(unit.definition, references));
  return renameIds(template, unit.definition.outputs, unit.renameIds, references);
}

/** The rendering, checked to be the unit's own copy: renamed in place, never a family's merged resources (renderTemplate hands those out as they are). */
function ownRendering(unit: Unit, template: CfnTemplate): CfnTemplate {
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource === (unit.definition.resources as Record<string, unknown>)[id]) throw new Error(`internal: unit ${unit.label} holds an already rendered resource ${id}`);
  }
  return template;
}

const sizeOf = (u: RenderedUnit): Size => new Size(Object.keys(u.template.Resources).length, Object.keys(u.outputs).length, u.template);

/** A unit rendered and measured: what packing and merging read, without its definition. */
interface PlacedUnit extends Omit<Unit, 'definition' | 'renameIds'> {
  readonly rendered: RenderedUnit;
  readonly size: Size;
}

function place(unit: Unit): PlacedUnit {
  const rendered = renderUnit(unit);
  const { label, conditionLabel, accounts, uses, accountValues, notes } = unit;
  return { label, conditionLabel, accounts, uses, accountValues, notes, rendered, size: sizeOf(rendered) };
}

/**
 * Units in file order, into as few parts as the limits allow; each part is
 * one stage. Each unit is rendered once, as it is read: measured for packing,
 * then merged. Units made as they are read (plan.ts) are rendered before the
 * next is made, and only their rendering is kept, so a definition is garbage
 * while it is young (V8 copies what outlives its first collections).
 */
export function familyStages(family: { id: string; module: string; description: string }, units: Iterable<Unit>): Stage[] {
  const placed: PlacedUnit[] = [];
  for (const unit of units) placed.push(place(unit));
  const parts = pack(placed);
  const id = (i: number) => (i === 0 ? family.id : `${family.id}-${i + 1}`);
  return parts.map((part, i) => {
    const targets = inFileOrder(part.flatMap((u) => u.accounts));
    return {
      id: id(i),
      module: family.module,
      definition: merge(family.description, part, targets),
      targets,
      accountValues: part.flatMap((u) => u.accountValues),
      uses: dedupeUses(part.flatMap((u) => u.uses)),
      notes: [
        ...part.flatMap((u) => u.notes),
        ...(parts.length > 1
          ? [`part ${i + 1} of ${parts.length}: ${partRange(part)} (${part.length} of ${placed.length} units, in the org file's order; split by CloudFormation's limits of a template: 500 resources, 200 outputs, 1 MB)`]
          : []),
      ],
      ...(parts.length > 1 ? { part: { family: family.id, count: parts.length } } : {}),
    };
  });
}

/**
 * Units into parts in their order, a new part where the next unit would take
 * its part past a limit. Bytes are compared last: a unit that starts a part,
 * or whose resources or outputs already do not fit, is never written to be
 * counted unless a later decision reads it (a family of one unit, or of units
 * of 500 resources each, is not counted at all).
 */
function pack(units: readonly PlacedUnit[]): PlacedUnit[][] {
  const parts: PlacedUnit[][] = [];
  let current: PlacedUnit[] = [];
  let resources = 0;
  let outputs = 0;
  // The bytes of current[0 .. counted), each unit counted once, when a decision first reads them.
  let bytes = 0;
  let counted = 0;
  const usedBytes = () => {
    for (; counted < current.length; counted++) bytes += current[counted].size.bytes;
    return bytes;
  };
  const fits = (size: Size) => resources + size.resources <= LIMITS.resources && outputs + size.outputs <= LIMITS.outputs && usedBytes() + size.bytes <= PART_BYTES;
  for (const unit of units) {
    const { size } = unit;
    if (current.length > 0 && !fits(size)) {
      parts.push(current);
      current = [];
      resources = outputs = bytes = counted = 0;
    }
    current.push(unit);
    resources += size.resources;
    outputs += size.outputs;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** A part's units by its first and last (parts hold consecutive units of the org file), so that a note stays one line at any org size. */
const partRange = (part: readonly PlacedUnit[]) => (part.length === 1 ? part[0].label : `${part[0].label} to ${part[part.length - 1].label}`);

/** Accounts once each, in the order first met (units are in the org file's order). */
function inFileOrder(accounts: readonly Account[]): Account[] {
  const seen = new Map<string, Account>();
  for (const a of accounts) if (!seen.has(a.id)) seen.set(a.id, a);
  return [...seen.values()];
}

function dedupeUses(uses: readonly Use[]): Use[] {
  const seen = new Map<string, Use>();
  for (const u of uses) if (!seen.has(`${u.stage}\u0000${u.what}`)) seen.set(`${u.stage}\u0000${u.what}`, u);
  return [...seen.values()];
}

/** The units' resources and outputs in one template, each under the condition of its unit's accounts. */
function merge(description: string, units: readonly PlacedUnit[], targets: readonly Account[]): TemplateDefinition {
  const sw = new AccountSwitch(targets);
  const resources: Record<string, CfnResource> = {};
  const outputs: Record<string, OutputSpec> = {};
  const conditions: Record<string, unknown> = {};
  const addConditions = (from: Readonly<Record<string, unknown>>) => {
    for (const [name, expression] of Object.entries(from)) {
      if (name in conditions && JSON.stringify(conditions[name]) !== JSON.stringify(expression)) throw new Error(`internal: condition ${name} means two things in one family`);
      conditions[name] = expression;
    }
  };
  for (const unit of units) {
    const condition = sw.when(unit.conditionLabel, unit.accounts.map((a) => a.id));
    const { rendered } = unit;
    addConditions(rendered.template.Conditions ?? {});
    for (const [id, resource] of Object.entries(rendered.template.Resources)) {
      if (id in resources) throw new Error(`internal: logical id ${id} twice in one family`);
      if (resource.Condition) throw new Error(`internal: ${id} already has a condition`);
      resources[id] = underCondition(id, resource, condition);
    }
    for (const [id, output] of Object.entries(rendered.outputs)) {
      if (id in outputs) throw new Error(`internal: output ${id} twice in one family`);
      outputs[id] = condition ? { ...output, condition } : output;
    }
  }
  addConditions(sw.section());
  return { description, parameters: {}, conditions, resources: renderedResources(resources), outputs };
}

/** The keys of the objects that name a logical id: `Ref`, `Fn::GetAtt` and `Fn::Sub`. */
const REFERENCE_KEYS: ReadonlySet<string> = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub']);

/**
 * Renames every reference to a unit's logical ids (Ref, Fn::GetAtt, Fn::Sub)
 * in the objects renderTemplate copies: an object that holds a reference key
 * is renamed here, and its items walked on when it is no reference after
 * all; renderTemplate walks on into every other object itself.
 */
function referenceRenaming(ids: readonly string[], rename: (id: string) => string): Renaming & { readonly to: (id: string) => string } {
  const renamed = new Map(ids.map((id) => [id, rename(id)]));
  const to = (id: string) => renamed.get(id) ?? id;
  const renameReferences = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(renameReferences);
    const o = node as Record<string, unknown>;
    if (typeof o.Ref === 'string' && Object.keys(o).length === 1) o.Ref = to(o.Ref);
    else if (Array.isArray(o['Fn::GetAtt'])) o['Fn::GetAtt'][0] = to(o['Fn::GetAtt'][0] as string);
    else if (typeof o['Fn::Sub'] === 'string') {
      o['Fn::Sub'] = o['Fn::Sub'].replace(/\$\{([A-Za-z0-9]+)(\.[A-Za-z.]+)?\}/g, (m, id: string, attribute = '') => (renamed.has(id) ? `\${${to(id)}${attribute}}` : m));
    } else for (const key in o) renameReferences(o[key]);
  };
  return { keys: REFERENCE_KEYS, rename: renameReferences, to };
}

/**
 * A unit's rendering, its references already renamed (referenceRenaming),
 * with its logical ids renamed by `rename`, and its DependsOn, in place: the
 * rendering is the unit's own copy. Resources and outputs stay sorted by
 * logical id, as rendered; the outputs' specifications are renamed likewise.
 */
function renameIds(template: CfnTemplate, outputs: Readonly<Record<string, OutputSpec>>, rename: (id: string) => string, references: ReturnType<typeof referenceRenaming>): RenderedUnit {
  const { to } = references;
  const resources = Object.entries(template.Resources);
  for (const entry of resources) {
    const resource = entry[1];
    if (resource.DependsOn !== undefined) resource.DependsOn = Array.isArray(resource.DependsOn) ? resource.DependsOn.map(to) : to(resource.DependsOn);
    entry[0] = to(entry[0]);
  }
  // Renamed ids hold the unit's account or pipeline: records of them are made once each, as idRecords (the unit's rendering is the planner's own).
  template.Resources = idRecord(byKey(resources));
  if (template.Outputs) {
    const renamedOutputs = Object.entries(template.Outputs);
    for (const entry of renamedOutputs) entry[0] = rename(entry[0]);
    template.Outputs = idRecord(byKey(renamedOutputs));
  }
  const renamedSpecs = Object.entries(outputs).map(([id, output]): [string, OutputSpec] => [rename(id), { ...output, value: plain<OutputSpec['value']>(output.value, references) }]);
  return { template, outputs: idRecord(renamedSpecs) };
}
