/**
 * Resources of a template that are alike but for the account they are made for: a family's unit repeated for each
 * pipeline account (`SourceRole<id>In<source>` and its managed policy, a thousand of each at 1,000 accounts), the same
 * JSON but for that member account's 12-digit id. A check of such a resource can be made once per class of alike
 * resources and its answer carried to the others, where the answer provably is the same: see `alikeResources` for
 * what makes two resources alike, and `AlikeResources` for what a check must be to use it.
 */
import type { CfnResource, CfnTemplate } from '../cfn/template';
import type { WrittenTemplate } from '../yaml';
import { POLICY_PROPERTIES } from './documents';

/**
 * The sample account id service-authorization.ts writes for every account id of a value (and its ARN formats' samples
 * hold): a member whose id it is would be told from the others by it, so such a resource is never in a class.
 */
const SAMPLE_ACCOUNT = '123456789012';
/** Intrinsics whose answer is the same for every member when they name nothing by the member's id (`sameReferences`). */
const REFERENCES = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::If', 'Condition']);

/**
 * A template's classes of alike resources. A check may take a member's answer from its class's first resource (in
 * template order) when what it reads of each is alike in the same way:
 * - it reads of a resource its type, Condition, metadata and policies (documents.ts `POLICY_PROPERTIES`), and through
 *   the template's resolver the values of its policies' expressions in the accounts the resource exists in; nothing
 *   else of the resource (not its names, its description, the roles a policy is attached to), not even its logical
 *   id but as the name its finding reads;
 * - it treats one 12-digit account id as any other: matched by pattern (`\d{12}`), compared with text of the same
 *   resource, or measured (every id has 12 digits, JSON escapes none), never compared with an account id or a
 *   constant from elsewhere, nor read digit by digit.
 * The members' policies then resolve alike in each account: they name the same parameters, conditions and
 * other resources (none by the member's id, `sameReferences`), and their texts differ only in the id.
 * Their names that grants.ts reads (`NAME_PROPERTIES`) are compared too, as texts only: their references are not
 * asked to be the same (a policy's `Roles` names its member's own role, by the id).
 */
export class AlikeResources {
  /** A class's member (not its first) → its class's first resource. */
  private readonly firstOf: ReadonlyMap<string, string>;
  /** The first resource of each class. */
  private readonly firsts: ReadonlySet<string>;

  constructor(firstOf: ReadonlyMap<string, string>) {
    this.firstOf = firstOf;
    this.firsts = new Set(firstOf.values());
  }

  /** How many resources take their class's answer (none when every resource stands alone). */
  get members(): number {
    return this.firstOf.size;
  }

  /** The first resource of a resource's class: itself when it is the first, or alone. */
  first(logicalId: string): string {
    return this.firstOf.get(logicalId) ?? logicalId;
  }

  /**
   * For a check that finds problems resource by resource, in template order: `passed(id)` says that a resource need
   * not be checked, since it is a member of a class whose first resource was checked and found nothing;
   * `record(id, found)` records what the check found in a resource (call it for each of a resource's documents). A
   * class whose first resource has a finding is checked member by member, so that every finding reads as it would
   * alone, for its own resource, in the order it always had.
   */
  passes(): { passed(logicalId: string): boolean; record(logicalId: string, found: boolean): void } {
    /** A class's first resource → whether it was found clean so far. */
    const clean = new Map<string, boolean>();
    return {
      passed: (logicalId) => {
        const first = this.firstOf.get(logicalId);
        return first !== undefined && clean.get(first) === true;
      },
      record: (logicalId, found) => {
        if (this.firsts.has(logicalId)) clean.set(logicalId, clean.get(logicalId) !== false && !found);
      },
    };
  }
}

/** What a template without alike resources (or a check without classes) uses: every resource stands alone. */
export const NO_CLASSES = new AlikeResources(new Map());

/**
 * The template's classes: resources whose type, Condition, metadata, policies and names (what the checks read,
 * `readText`) are the same, as JSON, once the member's id is written as a placeholder; the member's id is the first 12-digit
 * number of the logical id (digits on neither side), replaced wherever the text holds it with no digit beside it. Two
 * resources of one class then have texts that are the class's text with the placeholder written as each one's id, and
 * neither id occurs anywhere else in them (JSON writes every digit as itself; a `\u` escape's digits may join the
 * digits after it into a 12-digit run that is no id of the value, `\u0010` before eight digits, so a resource whose
 * text holds one stands alone). A resource is in no class when its id is the sample id, or when its class's
 * first resource's policies name something by the id or use an intrinsic other than Ref, Fn::GetAtt, Fn::Sub (a
 * text), Fn::If and Condition (`sameReferences`).
 * Only resources whose logical ids are the same but for the id (one name shape, `withPlaceholder`; none holding the
 * placeholder character) are compared, each with the latest few classes made
 * of them, and none more once their first few are each a class of its own (a resource not compared, or compared
 * with the wrong class, stands alone, never in a wrong class).
 * `written`, the template's text as the compile writes it: each resource's text there is compared instead of its
 * JSON, without making one (`writtenTexts`).
 */
export function alikeResources(template: CfnTemplate, written?: WrittenTemplate): AlikeResources {
  const resources = template.Resources;
  const textOf = writtenTexts(written) ?? ((logicalId: string): string | undefined => jsonTextWithoutEscapes(resources[logicalId]));
  // Logical id with its id replaced → the resources of that name shape, with their ids.
  const byName = new Map<string, Array<{ logicalId: string; id: string }>>();
  for (const logicalId of Object.keys(resources)) {
    const id = memberId(logicalId);
    // A logical id holding the placeholder character would not be its name shape with its id in the placeholder's places.
    if (id === undefined || id === SAMPLE_ACCOUNT || logicalId.includes(PLACEHOLDER)) continue;
    const shape = withPlaceholder(logicalId, id);
    const named = byName.get(shape);
    if (named) named.push({ logicalId, id });
    else byName.set(shape, [{ logicalId, id }]);
  }
  const firstOf = new Map<string, string>();
  for (const named of byName.values()) {
    if (named.length < 2) continue;
    // The classes of these resources, the last made last; `sound`, asked when a second resource joins: false when the
    // first names something by its id.
    const classes: Array<{ first: string; id: string; text: ClassText; sound?: boolean }> = [];
    let joined = false;
    for (const { logicalId, id } of named) {
      // Resources of one name shape that differ in more than their id (a team's, an environment's) are let be.
      if (!joined && classes.length === CLASSES_TRIED) break;
      const text = textOf(logicalId);
      if (text === undefined) continue;
      let c: (typeof classes)[number] | undefined;
      for (let k = classes.length - 1; k >= 0 && k >= classes.length - CLASSES_TRIED && !c; k--) if (classes[k].text.isWith(text, id)) c = classes[k];
      if (!c) classes.push({ first: logicalId, id, text: new ClassText(text, id) });
      else if ((c.sound ??= sameReferences(resources[c.first], c.id))) {
        firstOf.set(logicalId, c.first);
        joined = true;
      }
    }
  }
  return firstOf.size === 0 ? NO_CLASSES : new AlikeResources(firstOf);
}

/**
 * A class's text, made of its first resource's (`readText`): the pieces between the places that hold its id with no
 * digit on either side (where the class's placeholder stands).
 */
class ClassText {
  private readonly pieces: string[] = [];

  constructor(
    private readonly text: string,
    id: string,
  ) {
    let from = 0;
    for (const at of placesOf(text, id)) {
      this.pieces.push(text.slice(from, at));
      from = at + id.length;
    }
    this.pieces.push(text.slice(from));
  }

  /**
   * Whether `text` is the class's text with `id` (12 digits, as the first's) in the placeholder's places: the same
   * pieces, with `id` between them. The pieces do not hold `id` (its first's text does not), and the characters beside
   * those places are no digits (they were not beside the first's id), so `text` holds `id` with no digit beside it in
   * those places only: written with its id as the placeholder, it is the class's text.
   */
  isWith(text: string, id: string): boolean {
    if (text.length !== this.text.length || this.text.includes(id)) return false;
    let at = 0;
    for (let i = 0; i < this.pieces.length; i++) {
      if (i > 0) {
        if (!text.startsWith(id, at)) return false;
        at += id.length;
      }
      if (!text.startsWith(this.pieces[i], at)) return false;
      at += this.pieces[i].length;
    }
    return true;
  }
}

/**
 * How many of the latest classes of a name shape a resource is compared with (a family writes its units in turn), and
 * how many classes without a member the first resources of a name shape may make before the rest are let be.
 */
const CLASSES_TRIED = 4;

/** Whether a text holds an escape of the writer's that holds hex digits (yaml.ts `escaped`): `\u` and four, or `\U` and eight (two scans for a text, faster than a pattern's over a whole template). */
const holdsHexEscape = (text: string): boolean => text.includes('\\u') || text.includes('\\U');

/**
 * Each resource's text as the compile wrote it, a slice of the template's (no text is made), in place of `readText`,
 * where the template's text holds no `\u` or `\U` escape. It holds all that `readText` writes of the resource, and more: two
 * resources whose written texts are the same but for the member's id (standing where the first's did, no digit
 * beside it, and the second's id nowhere in the first's) have `readText`s the same in that way. The writer (yaml.ts)
 * writes each key and text as it is or in JSON's quotes and escapes, and a number as JSON does, and the characters
 * between values (quotes, `:`, spaces, line breaks, `-`) are no digits; without `\u` and `\U` escapes (a control or
 * non-ASCII character; `\U` and eight hex digits past U+FFFF), no escape holds a digit, in the written text or in
 * JSON. So every run of digits in the text is one in a value, the same run in its JSON, with the same characters or
 * none beside it: the two texts hold each id at the same places of the same values, and their values differ there
 * only. Undefined where the text holds such an escape (holdsHexEscape): the JSON is read then.
 */
function writtenTexts(written: WrittenTemplate | undefined): ((logicalId: string) => string) | undefined {
  if (!written || holdsHexEscape(written.text)) return undefined;
  return (logicalId) => {
    const [start, end] = written.resources.get(logicalId)!;
    return written.text.slice(start, end);
  };
}

/** `readText`, undefined where it holds a `\u` escape (whose digits may make a 12-digit run: see alikeResources). */
function jsonTextWithoutEscapes(resource: CfnResource): string | undefined {
  const text = readText(resource);
  return text.includes('\\u') ? undefined : text;
}

/**
 * The names grants.ts reads of a member whose statements it takes from its class's first and second (grants.ts
 * `rolesNamedAlike`): a role's name (in its ARN) and the roles a policy is attached to.
 */
const NAME_PROPERTIES: readonly string[] = ['RoleName', 'Roles'];

/**
 * What the checks read of a resource, as JSON: its type, Condition and metadata, the properties that hold its
 * policies, and its names grants.ts reads. An absent one is left out (JSON writes no undefined member), so it is told
 * from a null one.
 */
function readText(resource: CfnResource): string {
  const p = resource.Properties ?? {};
  const read: Record<string, unknown> = { Type: resource.Type, Condition: resource.Condition, Metadata: resource.Metadata };
  for (const name of POLICY_PROPERTIES) read[name] = p[name];
  for (const name of NAME_PROPERTIES) read[name] = p[name];
  return JSON.stringify(read);
}

/** A 12-digit number with no digit on either side. */
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/;

/** The first 12-digit number of a logical id with no digit on either side, if any: a class member's id (grants.ts reads it too). */
export const memberId = (logicalId: string): string | undefined => ACCOUNT_ID.exec(logicalId)?.[0];

/** Where a logical id's member id stood, in the name shape resources are first sorted by. */
const PLACEHOLDER = '\u0000';

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Where `text` holds `id` with no digit on either side, in order. */
function placesOf(text: string, id: string): number[] {
  const places: number[] = [];
  for (let at = text.indexOf(id); at >= 0; at = text.indexOf(id, at + 1)) {
    const end = at + id.length;
    if ((at > 0 && isDigit(text.charCodeAt(at - 1))) || (end < text.length && isDigit(text.charCodeAt(end)))) continue;
    places.push(at);
  }
  return places;
}

/** `text` with `id` written as the placeholder wherever it stands with no digit on either side. */
function withPlaceholder(text: string, id: string): string {
  let out = '';
  let from = 0;
  for (const at of placesOf(text, id)) {
    out += text.slice(from, at) + PLACEHOLDER;
    from = at + id.length;
  }
  return out + text.slice(from);
}

/**
 * Whether a resource's policies read the same of the rest of its template as another of its class's do: their
 * intrinsics are references only (Ref, Fn::GetAtt, a Fn::Sub text, Fn::If, Condition; nothing that compares, splits or
 * looks up a value, whose answer could depend on the id's digits), and no name they refer by (those, a Sub's `${…}`),
 * nor the resource's Condition (the accounts it exists in), holds the id. Its members' references are then the very
 * same names.
 */
function sameReferences(resource: CfnResource, id: string): boolean {
  if (resource.Condition !== undefined && !namesWithout(resource.Condition, id)) return false;
  const walk = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.every(walk);
    if (v === null || typeof v !== 'object') return true;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    // The resolver reads an object holding Ref or an Fn:: key beside others as that intrinsic: only one alone is let be.
    const intrinsic = keys.some((k) => k === 'Ref' || k.startsWith('Fn::')) || (keys.length === 1 && keys[0] === 'Condition');
    if (intrinsic) {
      const [name] = keys;
      const value = o[name];
      if (keys.length > 1 || !REFERENCES.has(name)) return false;
      if (name === 'Ref' || name === 'Condition' || name === 'Fn::GetAtt') return namesWithout(value, id);
      if (name === 'Fn::Sub') return typeof value === 'string' && [...value.matchAll(/\$\{([^}]*)\}/g)].every(([, reference]) => !reference.includes(id));
      // Fn::If [condition, then, else]: the condition by name, the branches as any value.
      return Array.isArray(value) && namesWithout(value[0], id) && value.slice(1).every(walk);
    }
    return keys.every((k) => walk(o[k]));
  };
  const properties = resource.Properties ?? {};
  return POLICY_PROPERTIES.every((p) => walk(properties[p]));
}

/** Whether a name, or each of a list of names, is a text without the id. */
const namesWithout = (names: unknown, id: string): boolean => (Array.isArray(names) ? names : [names]).every((n) => typeof n === 'string' && !n.includes(id));
