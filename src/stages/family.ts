/**
 * A family: one template, one StackSet, for many units that hold different
 * resources (each repository, source role, forwarding rule, each source
 * account's forwarder and access roles, each pipeline), so that the StackSet
 * count grows with what a template can hold, not with the source accounts or
 * pipelines of the org. Each unit's resources carry a condition naming the
 * accounts they exist in (src/cfn/account-switch.ts); units are packed into
 * parts, each within CloudFormation's limits of one template: 500 resources,
 * 200 outputs, 1 MB from S3 (a margin below it is kept for the conditions).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 *
 * Parts keep their units. A unit moved to another part is a resource leaving
 * one StackSet and entering another, which a retained repository cannot do at
 * all (src/deploy/moves.ts), so where the org's layout (layout.ts) places a
 * unit it stays, and only a unit its part can no longer hold moves. A new unit
 * goes into a part that already targets its accounts, else the first part with
 * room, filled to 90 % of each limit so that kept units can grow in place,
 * else a new part. Without a layout (a first compile) units are packed in the
 * org file's order, each part as full as the limits allow, as xstack did
 * before it kept layouts, so that an org it deployed keeps its parts.
 */
import { AccountSwitch } from '../cfn/account-switch';
import { CompileError } from '../errors';
import { byKey, holdsRenderedResources, idRecord, newRecord, plain, rememberWrittenDefinition, renderedConditions, renderedResources, renderOutput, renderResource, renderTemplate, underCondition, type CfnResource, type CfnTemplate, type OutputSpec, type Renaming, type TemplateDefinition } from '../cfn/template';
import { LIMITS } from '../limits';
import type { Account } from '../org/model';
import type { FamilyLayout } from './layout';
import { toYamlWithResources, yamlBytes } from '../yaml';
import type { AccountValue, Stage, Use } from './model';

export interface Unit {
  /** Who it is in the layout, stable while it exists: `account 111111111111`, `repository web-app`, `pipeline web-app`. */
  readonly key: string;
  /**
   * Units packed as one where no layout places them (consecutive units with the same group): the unit xstack made
   * of them before it kept layouts (up to 200 repositories, 249 source roles or 300 rules of a source account), so
   * that a first compile packs as it did.
   */
  readonly packGroup?: string;
  /** What it is, for notes: `source account shared-services`, `pipeline web-app`. */
  readonly label: string;
  /** Where the org file writes it (`parameters/org.yaml:40:3: pipelines.web`), for a problem found here; read on demand. */
  readonly locate?: () => string;
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

/** The sections a part's template holds an entry of for each of its units (merge): their bytes add up across units. */
const UNIT_SECTIONS: ReadonlySet<string> = new Set(['Resources', 'Outputs', 'Conditions']);

/**
 * What packing reads of a unit: its resources and outputs, and the bytes of
 * its YAML, counted (yamlBytes) only when a packing decision first reads them,
 * in two: its entries of the sections a merged part holds for each unit
 * (`content`), and the rest (`header`: the format version, the description,
 * each section's first line); `header + content` is its YAML's bytes. A pack
 * group is measured as one template, a header and its units' contents, as
 * the unit it was before layouts was. Counting late counts the same: a unit's
 * rendering is not changed once rendered (merging copies its resources under
 * their condition). The header and the conditions' entries (`conditions`, part
 * of the content) are counted apart from the resources and outputs: they are
 * small, and what the bound of a written part (withinByWritten) reads.
 */
class Size {
  private counted: { header?: number; conditions?: number; content?: number } = {};
  constructor(
    readonly resources: number,
    readonly outputs: number,
    private readonly template: CfnTemplate,
  ) {}

  get header(): number {
    return (this.counted.header ??= this.countHeader());
  }

  /** The bytes of its Conditions' entries, part of `content`. */
  get conditions(): number {
    const conditions = this.template.Conditions;
    return (this.counted.conditions ??= conditions && Object.keys(conditions).length > 0 ? sectionContent('Conditions', conditions) : 0);
  }

  get content(): number {
    return (this.counted.content ??= this.countContent());
  }

  get bytes(): number {
    return this.header + this.content;
  }

  /** The sections a merged part holds an entry of for each unit, with entries. */
  private isUnitSection(key: string, value: unknown): boolean {
    return UNIT_SECTIONS.has(key) && typeof value === 'object' && value !== null && Object.keys(value).length > 0;
  }

  private countHeader(): number {
    const rest: Record<string, unknown> = {};
    let header = 0;
    for (const [key, value] of Object.entries(this.template)) {
      // `Key:` and its line break are the header's; each entry (two spaces, its key, its value) the content's.
      if (this.isUnitSection(key, value)) header += key.length + 2;
      else rest[key] = value;
    }
    return header + yamlBytes(rest);
  }

  private countContent(): number {
    let content = this.conditions;
    for (const [key, value] of Object.entries(this.template)) if (key !== 'Conditions' && this.isUnitSection(key, value)) content += sectionContent(key, value);
    return content;
  }
}

/** The bytes of a section's entries: its YAML but for `Key:` and its line break. */
const sectionContent = (key: string, value: unknown): number => yamlBytes({ [key]: value }) - (key.length + 2);

/** A unit as plain template data, with logical ids unique in the family: measured for packing, then merged. */
interface RenderedUnit {
  readonly template: CfnTemplate;
  readonly outputs: Readonly<Record<string, OutputSpec>>;
}

function renderUnit(unit: Unit): RenderedUnit {
  refuseRendered(unit);
  if (!unit.renameIds) return { template: renderTemplate(unit.definition), outputs: unit.definition.outputs };
  return renderRenamed(unit.definition, unit.renameIds);
}

/**
 * A unit's rendering is its own copy, renamed in place: never a family's merged resources, which renderTemplate hands
 * out as they are (renderedResources), every other resource copied. So a unit is refused where its definition holds
 * such a record, once a unit, not by comparing each resource of its rendering.
 */
function refuseRendered(unit: Unit): void {
  const resources = unit.definition.resources;
  if (!holdsRenderedResources(unit.definition)) return;
  throw new Error(`internal: unit ${unit.label} holds an already rendered resource ${Object.keys(resources).sort(compareIds)[0]}`);
}

/** Code-unit order, as renderTemplate sorts a template's ids. */
const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const sizeOf = (u: RenderedUnit): Size => new Size(Object.keys(u.template.Resources).length, Object.keys(u.outputs).length, u.template);

export interface Family {
  readonly id: string;
  readonly module: string;
  readonly description: string;
}

/** A unit rendered and measured: what packing and merging read, without its definition. */
interface PlacedUnit extends Omit<Unit, 'definition' | 'renameIds'> {
  readonly rendered: RenderedUnit;
  readonly size: Size;
  /** Its place among the family's units (the org file's order). */
  readonly position: number;
}

function place(unit: Unit, position: number): PlacedUnit {
  const rendered = renderUnit(unit);
  const { key, packGroup, label, locate, conditionLabel, accounts, uses, accountValues, notes } = unit;
  return { key, packGroup, label, locate, conditionLabel, accounts, uses, accountValues, notes, rendered, size: sizeOf(rendered), position };
}

/**
 * Units into as few parts as the limits allow, each part one stage; where
 * `layout` (the family's parts as the org's layout records them) places a
 * unit, in that part. Each unit is rendered once, as it is read: measured
 * for packing where a decision needs its bytes (a part is bounded by its
 * written template first: one the layout keeps, packKept, or one the counts
 * of resources and outputs cut without a layout, packInOrderWritten), then
 * merged. Units made
 * as they are read (plan.ts) are rendered before the next is made, and only
 * their rendering is kept, so a definition is garbage while it is young (V8
 * copies what outlives its first collections).
 */
export function familyStages(family: Family, units: Iterable<Unit>, layout?: FamilyLayout): Stage[] {
  const placed: PlacedUnit[] = [];
  const keys = new Set<string>();
  for (const unit of units) {
    if (keys.has(unit.key)) throw new Error(`internal: unit key ${unit.key} twice in family ${family.id}`);
    keys.add(unit.key);
    placed.push(place(unit, placed.length));
  }
  refuseSharedNames(family, placed);
  const mergePart = (part: readonly PlacedUnit[]): MergedPart => {
    const targets = inFileOrder(part.flatMap((u) => u.accounts));
    return { targets, definition: merge(family.description, part, targets) };
  };
  const parts = layout ? packKept(placed, layout, mergePart) : packInOrderWritten(placed, mergePart);
  const split = parts.length > 1 || parts[0]?.[0] !== 1;
  return parts.map(([number, part, merged]) => {
    const id = number === 1 ? family.id : `${family.id}-${number}`;
    const { targets, definition } = merged ?? mergePart(part);
    return {
      id,
      module: family.module,
      definition,
      targets,
      accountValues: part.flatMap((u) => u.accountValues),
      uses: dedupeUses(part.flatMap((u) => u.uses)),
      notes: [
        ...part.flatMap((u) => u.notes),
        ...(split
          ? [
              parts.length > 1
                ? `part ${number} (the family has ${parts.length}): ${part.length} of ${placed.length} units, ${partRange(part)} (split by CloudFormation's limits of a template: 500 resources, 200 outputs, 1 MB; each unit stays in the part the org's layout file records)`
                : // One part of another number than 1: the layout file's, not a split (review s50-input m6).
                  `part ${number}, the family's only one: its ${placed.length} units are where the org's layout file records them, in the StackSet of part ${number} (a first compile names the only part 1)`,
            ]
          : []),
      ],
      placement: { family: family.id, part: number, units: part.map((u) => u.key) },
      ...(split ? { part: { family: family.id, count: parts.length } } : {}),
    };
  });
}

/** A part's units merged into one template (merge), and the accounts it targets. */
interface MergedPart {
  readonly targets: Account[];
  readonly definition: TemplateDefinition;
}

/** What a part holds, against limits: resources and outputs summed as units join, bytes counted only when a decision reads them. */
class Load {
  resources = 0;
  outputs = 0;
  private bytes = 0;
  private counted = 0;
  /** The accounts its units exist in: a part that already targets an account gains no stack instance by another unit there. */
  readonly accounts = new Set<string>();
  constructor(readonly units: PlacedUnit[] = []) {
    for (const u of units) this.count(u);
  }

  private count(u: PlacedUnit): void {
    this.resources += u.size.resources;
    this.outputs += u.size.outputs;
    for (const a of u.accounts) this.accounts.add(a.id);
  }

  add(u: PlacedUnit): void {
    this.units.push(u);
    this.count(u);
  }

  /** The bytes of its units, each counted once, when first read: their contents, and a header for each unit or pack group (Size). */
  usedBytes(): number {
    for (; this.counted < this.units.length; this.counted++) this.bytes += joining(this.heads, this.heads, this.units[this.counted]);
    return this.bytes;
  }

  /** Each pack group's first unit here (by position), whose header counts for the group. */
  private readonly heads = new Map<string, PlacedUnit>();

  /** Whether `more` (units not in it) join it within `limits`; resources and outputs compared first. */
  fits(more: readonly PlacedUnit[], limits: Limits): boolean {
    let resources = this.resources;
    let outputs = this.outputs;
    for (const u of more) {
      resources += u.size.resources;
      outputs += u.size.outputs;
    }
    if (resources > limits.resources || outputs > limits.outputs) return false;
    if (limits.bytes === Infinity) return true;
    let bytes = this.usedBytes();
    // The heads `more` would add, apart: a copy of the part's own would copy every pack group in it for each question.
    const joined = new Map<string, PlacedUnit>();
    for (const u of more) if ((bytes += joining(this.heads, joined, u)) > limits.bytes) return false;
    return bytes <= limits.bytes;
  }

  /** Whether it is within `limits` as it is. */
  within(limits: Limits): boolean {
    return this.resources <= limits.resources && this.outputs <= limits.outputs && this.usedBytes() <= limits.bytes;
  }
}

interface Limits {
  readonly resources: number;
  readonly outputs: number;
  readonly bytes: number;
}

/**
 * The bytes `u` adds to a part whose pack groups' first units are `heads`, with those of units joining with it in
 * `joined` (read first; `u` is recorded there when it heads its group): its content, and its header unless its group
 * has one there already (the first unit's, by position). `joined` is `heads` itself for a unit that joins the part.
 */
function joining(heads: ReadonlyMap<string, PlacedUnit>, joined: Map<string, PlacedUnit>, u: PlacedUnit): number {
  if (u.packGroup === undefined) return u.size.bytes;
  const head = joined.get(u.packGroup) ?? heads.get(u.packGroup);
  if (head && head.position < u.position) return u.size.content;
  joined.set(u.packGroup, u);
  return u.size.bytes - (head ? head.size.header : 0);
}

/** What a part may hold. */
const FULL: Limits = { resources: LIMITS.resources, outputs: LIMITS.outputs, bytes: PART_BYTES };
/** What a part is filled to with new units once a layout exists: a tenth of each limit stays free, so that the units kept in it can grow there. */
const FILL: Limits = { resources: Math.floor(LIMITS.resources * 0.9), outputs: Math.floor(LIMITS.outputs * 0.9), bytes: Math.floor(PART_BYTES * 0.9) };

/**
 * Without a layout: units in their order, a new part where the next unit (or
 * the next run of units of one pack group) would take its part past a limit,
 * parts numbered from 1, exactly as xstack packed before it kept layouts, so
 * that an org it deployed keeps every resource where it is. A unit over a
 * limit on its own gets a part of its own. The parts within `limits` (FULL:
 * the limits themselves) of the units from `from` on, each made when read, in
 * order: a part ends where a run begins. packInOrderWritten numbers them.
 */
function* partsInOrder(units: readonly PlacedUnit[], limits: Limits, from = 0): Generator<PlacedUnit[]> {
  let current = new Load();
  for (let i = from; i < units.length; ) {
    let end = i + 1;
    const group = units[i].packGroup;
    if (group !== undefined) while (end < units.length && units[end].packGroup === group) end++;
    const run = units.slice(i, end);
    if (current.units.length > 0 && !current.fits(run, limits)) {
      yield current.units;
      current = new Load();
    }
    for (const u of run) current.add(u);
    i = end;
  }
  if (current.units.length > 0) yield current.units;
}

/** FULL's resources and outputs, and no bound on bytes: parts cut by the counts alone. */
const FULL_COUNTS: Limits = { ...FULL, bytes: Infinity };

/**
 * Without a layout: partsInOrder's parts within FULL, numbered from 1, found
 * without measuring each unit where the counts of resources and outputs cut
 * them. Units are packed by those counts alone (FULL_COUNTS), each part then
 * merged (`mergePart`) and written, and its bytes bounded by that text
 * (withinByWritten), as packKept bounds a kept part. A part within the bytes
 * by that bound is the next part within FULL too: wherever partsInOrder asks
 * whether a run joins it, the part with the run is a start of this one (the
 * same counts cut both, from the same unit), whose bytes (usedBytes, which a
 * unit joining never lowers: units join in their order) are at most this
 * part's, so the bytes cut it nowhere either; it is given with its merged
 * template, whose text the compile takes as written. From the first part
 * past the bytes by the bound on (a family whose parts the bytes cut), units
 * are packed by their measured bytes: partsInOrder from that part's first
 * unit, where it starts a part within FULL as well; the first so packed, if
 * it holds the same units after all, is given with the template merged.
 */
function packInOrderWritten(units: readonly PlacedUnit[], mergePart: (part: readonly PlacedUnit[]) => MergedPart): Array<[number, PlacedUnit[], MergedPart?]> {
  const parts: Array<[number, PlacedUnit[], MergedPart?]> = [];
  let packed = 0;
  for (const part of partsInOrder(units, FULL_COUNTS)) {
    const merged = mergePart(part);
    const rendering = renderTemplate(merged.definition);
    const written = toYamlWithResources(rendering);
    if (!withinByWritten(part, written.text.length, FULL.bytes)) {
      let first = true;
      for (const measured of partsInOrder(units, FULL, packed)) {
        // The first starts at the unit `part` starts at, and both take units in order: as long, it holds the same.
        const same = first && measured.length === part.length;
        if (same) rememberWrittenDefinition(merged.definition, written, rendering);
        parts.push(same ? [parts.length + 1, measured, merged] : [parts.length + 1, measured]);
        first = false;
      }
      return parts;
    }
    rememberWrittenDefinition(merged.definition, written, rendering);
    parts.push([parts.length + 1, part, merged]);
    packed += part.length;
  }
  return parts;
}

/**
 * With a layout: each unit it places stays in its part, in the order of the
 * units; a part its units no longer fit (they grew) gives up its last units
 * until they do. Those and the units it does not place go, in order, each
 * run of one pack group together (a new source account's repositories), into
 * a part filled to FILL: first one that already targets their accounts (no
 * new stack instance, no more StackSets an account is in), else the first
 * with room, else a new part of their own, numbered with the lowest number no
 * part holds. Parts left empty are gone.
 *
 * A part's kept units are merged (`mergePart`) and written before its bytes
 * are asked: most parts are within the limits by a bound read from that text
 * (withinByWritten), and then none of their units is measured; the text is the
 * one the compile writes of the part's template (rememberWrittenDefinition),
 * and the part is given with its merged template unless units joined it.
 */
function packKept(units: readonly PlacedUnit[], layout: FamilyLayout, mergePart: (part: readonly PlacedUnit[]) => MergedPart): Array<[number, PlacedUnit[], MergedPart?]> {
  const partOf = new Map<string, number>();
  for (const [n, keys] of layout) for (const key of keys) partOf.set(key, n);
  const parts = new Map<number, PlacedUnit[]>([...layout.keys()].sort((a, b) => a - b).map((n) => [n, []]));
  const unplaced: PlacedUnit[] = [];
  for (const u of units) {
    const n = partOf.get(u.key);
    if (n === undefined) unplaced.push(u);
    else parts.get(n)!.push(u);
  }
  const loads = new Map([...parts].map(([n, part]) => [n, new Load(part)]));
  /** The kept parts merged, with the units they were merged of: a part that changed after is merged anew. */
  const merged = new Map<number, { load: Load; count: number; part: MergedPart }>();
  for (const [n, load] of loads) {
    if (load.units.length === 0) continue;
    const part = mergePart(load.units);
    const rendering = renderTemplate(part.definition);
    const written = toYamlWithResources(rendering);
    rememberWrittenDefinition(part.definition, written, rendering);
    merged.set(n, { load, count: load.units.length, part });
    if (load.resources <= FULL.resources && load.outputs <= FULL.outputs && withinByWritten(load.units, written.text.length, FULL.bytes)) continue;
    let kept = load;
    while (kept.units.length > 1 && !kept.within(FULL)) {
      unplaced.push(kept.units[kept.units.length - 1]);
      kept = new Load(kept.units.slice(0, -1));
    }
    loads.set(n, kept);
  }
  unplaced.sort((a, b) => a.position - b.position);
  /** A new part: the lowest number no part holds, so that a family whose units were all replaced keeps its StackSet's name. */
  const newPart = (run: readonly PlacedUnit[]) => {
    let n = 1;
    while ((loads.get(n)?.units.length ?? 0) > 0) n++;
    loads.set(n, new Load([...run]));
  };
  const placeRun = (run: readonly PlacedUnit[]): boolean => {
    const open = [...loads.values()].filter((load) => load.units.length > 0);
    const shares = (load: Load) => run.some((u) => u.accounts.some((a) => load.accounts.has(a.id)));
    const room = open.find((load) => shares(load) && load.fits(run, FILL)) ?? open.find((load) => load.fits(run, FILL));
    if (room) for (const u of run) room.add(u);
    // A part of its own takes a run up to the limits themselves: a pack group fits one, as the unit it was did.
    else if (run.length === 1 || new Load().fits(run, FULL)) newPart(run);
    else return false;
    return true;
  };
  for (let i = 0; i < unplaced.length; ) {
    let end = i + 1;
    const group = unplaced[i].packGroup;
    if (group !== undefined) while (end < unplaced.length && unplaced[end].packGroup === group) end++;
    const run = unplaced.slice(i, end);
    // A run no part can hold whole is placed unit by unit.
    if (!placeRun(run)) for (const u of run) placeRun([u]);
    i = end;
  }
  // Each part's units in their order, whichever came first: the compile that reads the layout it wrote makes the same templates.
  const inOrder = (part: PlacedUnit[]) => part.sort((a, b) => a.position - b.position);
  // A part's merged template stands where its units are those it was merged of (units only join a Load).
  const mergedOf = (n: number, load: Load) => {
    const m = merged.get(n);
    return m && m.load === load && m.count === load.units.length ? m.part : undefined;
  };
  return [...loads]
    .filter(([, load]) => load.units.length > 0)
    .sort(([a], [b]) => a - b)
    .map(([n, load]): [number, PlacedUnit[], MergedPart?] => [n, inOrder(load.units), mergedOf(n, load)]);
}

/**
 * Whether what Load.usedBytes counts of `units` is within `limit` by an
 * upper bound read from the length of their merged template's text
 * (`written`; ASCII throughout, so its length is its bytes). Each unit's
 * resources and outputs are there, each entry as the unit's own template
 * writes it with at most a line more (its Condition: merge gives one to no
 * resource or output that has one); so is each of its conditions, the same
 * entry of the same section (merge admits one expression a name), but once
 * for all the units that hold it; and a header counts for each unit, or for
 * each pack group its first unit's, as usedBytes counts them (joining). The
 * conditions count apart: first every unit's whole (measured once a unit),
 * and where that is past the limit, each entry once for each holder past the
 * first (the same units' pipelines name many accounts' conditions alike).
 */
function withinByWritten(units: readonly PlacedUnit[], written: number, limit: number): boolean {
  let bytes = written;
  const heads = new Map<string, PlacedUnit>();
  for (const u of units) {
    if (u.packGroup === undefined) bytes += u.size.header;
    else if ((heads.get(u.packGroup)?.position ?? Infinity) > u.position) heads.set(u.packGroup, u);
  }
  for (const head of heads.values()) bytes += head.size.header;
  let conditions = 0;
  for (const u of units) conditions += u.size.conditions;
  return bytes + conditions <= limit || bytes + sharedConditions(units) <= limit;
}

/** The bytes of the conditions `units` hold more than once: each entry once for each holder past its first. */
function sharedConditions(units: readonly PlacedUnit[]): number {
  const held = new Map<string, { expression: unknown; holders: number }>();
  for (const u of units) {
    const conditions = u.rendered.template.Conditions;
    if (conditions === undefined) continue;
    for (const name of Object.keys(conditions)) {
      const condition = held.get(name);
      if (condition) condition.holders++;
      else held.set(name, { expression: conditions[name], holders: 1 });
    }
  }
  let bytes = 0;
  for (const [name, { expression, holders }] of held) if (holders > 1) bytes += (holders - 1) * sectionContent('Conditions', { [name]: expression });
  return bytes;
}

/** A part's units by their first and last in the org file's order, so that a note stays one line at any org size. */
const partRange = (part: readonly PlacedUnit[]) => (part.length === 1 ? part[0].label : `the first ${part[0].label}, the last ${part[part.length - 1].label}`);

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

/**
 * Two units of a family that would give a template one logical id, output or condition name for two things (a
 * pipeline's ids are its name in PascalCase and a suffix, its conditions its name and a branch: `web` and
 * `web-trigger-role-start` both make WebTriggerRoleStartPipeline), refused whichever parts they are packed in, naming
 * both (review s38-names 2).
 */
function refuseSharedNames(family: Family, units: readonly PlacedUnit[]): void {
  // A map for each kind of name, keyed by the name itself: no key text made for each of a family's ids.
  const owners = { resource: new Map<string, Owner>(), output: new Map<string, Owner>(), condition: new Map<string, Owner>() };
  const problems: string[] = [];
  // A condition's expression is written as JSON only where a second unit names it: most names are claimed once.
  const claim = (what: keyof typeof owners, name: string, unit: PlacedUnit, expression?: unknown) => {
    const named = owners[what];
    const owner = named.get(name);
    if (!owner) named.set(name, { unit, expression });
    else if (owner.unit !== unit && (expression === undefined || JSON.stringify(owner.expression) !== JSON.stringify(expression))) {
      const [first, second] = [owner.unit, unit];
      const where = second.locate ? `${second.locate()}: ` : '';
      const other = first.locate ? `${first.label} (${first.locate()})` : first.label;
      problems.push(`${where}${other} and ${second.label} would both name a ${what} ${name} in the ${family.id} template (its names are made of theirs, letters and digits only); rename one of them`);
    }
  };
  for (const unit of units) {
    for (const id of Object.keys(unit.rendered.template.Resources)) claim('resource', id, unit);
    for (const id of Object.keys(unit.rendered.outputs)) claim('output', id, unit);
    // A condition on accounts alone (`AccountDev`) is the same in every unit that has it: only a different one is a clash.
    for (const [name, expression] of Object.entries(unit.rendered.template.Conditions ?? {})) claim('condition', name, unit, expression);
  }
  if (problems.length > 0) throw new CompileError('ORG_INVALID', problems);
}

/** The first unit to give a name (refuseSharedNames), with a condition's expression. */
interface Owner {
  readonly unit: PlacedUnit;
  readonly expression?: unknown;
}

/** The units' resources and outputs in one template, each under the condition of its unit's accounts. */
function merge(description: string, units: readonly PlacedUnit[], targets: readonly Account[]): TemplateDefinition {
  // The family's own conditions (where each unit runs) are named around the units' (a pipeline's branch conditions).
  const sw = new AccountSwitch(targets, new Map(units.flatMap((u) => Object.entries(u.rendered.template.Conditions ?? {}))));
  const resources = newRecord<CfnResource>();
  const outputs = newRecord<OutputSpec>();
  const conditions = newRecord<unknown>();
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
      if (output.condition) throw new Error(`internal: output ${id} already has a condition`);
      outputs[id] = condition ? { ...output, condition } : output;
    }
  }
  addConditions(sw.section());
  // The units' conditions are their renderings', the switch's plain data: both rendered.
  return { description, parameters: {}, conditions: renderedConditions(conditions), resources: renderedResources(resources), outputs };
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
 * A unit's rendering with its logical ids renamed by `rename`, every reference to them (referenceRenaming) and its
 * DependsOn too: what renderTemplate(def, references) gives with each resource and output then renamed, made in one
 * pass, each resource copied once into the record of the new ids (renderTemplate's record of the old ids, and the
 * entries made to rename it, were garbage at once), each output's value once for the rendering and its
 * specification (which are read, never changed: merging copies neither). Resources and outputs sorted by their new
 * ids, as renderTemplate sorts; the outputs' specifications renamed likewise, in the definition's order.
 */
function renderRenamed(def: TemplateDefinition, rename: (id: string) => string): RenderedUnit {
  const references = referenceRenaming(Object.keys(def.resources), rename);
  const { to } = references;
  // The other sections as renderTemplate renders them; Resources keeps its place when set, Outputs (the last section) is added after it.
  const template = renderTemplate({ ...def, resources: {}, outputs: {} });
  // Sorted by the old ids first, as renderTemplate sorts them: a sort keeps the order of ids renamed alike.
  const resources = byKey(Object.keys(def.resources).sort(compareIds).map((id): [string, string] => [to(id), id]));
  const rendered = new Array<[string, CfnResource]>(resources.length);
  for (let i = 0; i < resources.length; i++) {
    const [renamed, id] = resources[i];
    const resource = renderResource(id, def.resources[id], references);
    if (resource.DependsOn !== undefined) resource.DependsOn = Array.isArray(resource.DependsOn) ? resource.DependsOn.map(to) : to(resource.DependsOn);
    rendered[i] = [renamed, resource];
  }
  // Renamed ids hold the unit's account or pipeline: records of them are made once each, as idRecords (the unit's rendering is the planner's own).
  template.Resources = idRecord(rendered);
  const specs: Array<[string, OutputSpec]> = [];
  const outputs: Array<[string, Record<string, unknown>]> = [];
  for (const [id, output] of Object.entries(def.outputs)) {
    const value = plain<OutputSpec['value']>(output.value, references);
    const renamed = rename(id);
    specs.push([renamed, { ...output, value }]);
    outputs.push([renamed, renderOutput(output, value)]);
  }
  if (outputs.length > 0) template.Outputs = idRecord(byKey(outputs));
  return { template, outputs: idRecord(specs) };
}
