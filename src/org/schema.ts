/**
 * A small validator over the org file's nodes (./source). Each check reads
 * one node, records a Problem for every fault it finds (it never stops at the
 * first), located when the reader knew positions, and returns the value, or
 * undefined when the node is unusable.
 */
import type { Problem } from '../errors';
import type { MapNode, ScalarNode, SourceNode } from './source';
import { codePoint, spaceName } from './spaces';

export interface Position {
  line: number;
  column: number;
}

export class Context {
  readonly problems: Problem[] = [];
  /** Position of every visited field, for checks that run after parsing. */
  readonly positions = new Map<string, Position>();

  /** `lines`: offset to line and column, when the reader knew offsets. */
  constructor(
    readonly file: string,
    private readonly lines?: { linePos(offset: number): { line: number; col: number } },
  ) {}

  position(node: SourceNode | undefined): Position | undefined {
    const offset = node?.offset;
    if (offset === undefined || !this.lines) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  visit(path: string, node: SourceNode | undefined): void {
    if (!this.lines) return;
    const pos = this.position(node);
    if (pos) this.positions.set(path, pos);
  }

  report(path: string, message: string, expected?: string, node?: SourceNode): void {
    const pos = node ? this.position(node) : this.positions.get(path);
    this.problems.push({ file: this.file, line: pos?.line, column: pos?.column, field: path, message, expected });
  }
}

/**
 * A check, and the JSON Schema of what it accepts (./json-schema.ts): one
 * source for the validator and for the schema editors read. The schema is
 * the structural part: rules a schema cannot say (a refine, rules across
 * fields) stay with the validator.
 */
export type Check<T> = ((node: SourceNode | undefined, path: string, ctx: Context) => T | undefined) & { readonly schema: JsonSchema };

/** The subset of JSON Schema (draft 2020-12) the checks produce. */
export interface JsonSchema {
  type?: 'string' | 'boolean' | 'integer' | 'array' | 'object';
  description?: string;
  const?: boolean;
  pattern?: string;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  minProperties?: number;
}

const withSchema = <T>(check: (node: SourceNode | undefined, path: string, ctx: Context) => T | undefined, schema: JsonSchema): Check<T> =>
  Object.assign(check, { schema });

/**
 * The check, its schema saying only what compile accepts where the validator reads a value to refuse it with its
 * reason in a rule across fields (partition aws-cn, requireMfa: true, maxSessionHours above 1): an editor does not
 * offer what compile refuses, and the description says why. test/org-schema holds each to the validator.
 */
export const acceptsOnly = <T>(check: Check<T>, narrower: JsonSchema & { description: string }): Check<T> =>
  withSchema((node, path, ctx) => check(node, path, ctx), { ...check.schema, ...narrower });

const describe = (node: SourceNode | undefined): string => {
  if (node === undefined) return 'nothing';
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'scalar') {
    const v = node.value;
    if (typeof v === 'string') return `'${v}'`;
    if (v === null) return 'null';
    return `the ${typeof v} ${String(v)}`;
  }
  return 'an unsupported YAML node';
};

export interface StringRule {
  /** What a valid value looks like, in words: goes into the message. */
  expected: string;
  pattern?: RegExp;
  oneOf?: readonly string[];
  /** Further rule returning a message when the value is wrong. */
  refine?: (value: string) => string | undefined;
}

/** What is wrong with a text value under `rule`, in the words the check reports; undefined when it is accepted. */
function stringProblem(rule: StringRule, value: string): string | undefined {
  if (rule.oneOf && !rule.oneOf.includes(value)) return `'${value}' is not accepted${aside(value, closest(value, rule.oneOf))}`;
  if (rule.pattern && !rule.pattern.test(value)) return rule.refine?.(value) ?? `'${value}' is not valid${aside(value)}`;
  return rule.refine?.(value);
}

/**
 * Why a scalar YAML read as a number or a boolean is not text, and what would be right (review s50-input N1, N2): a
 * tag such as `!!int` made it so even in quotes; else it is unquoted, and quotes are the fix only where the text
 * itself is accepted.
 */
function notTextHint(rule: StringRule, node: ScalarNode): string {
  if (typeof node.value !== 'number') return '';
  const written = node.source ?? String(node.value);
  if (node.tag !== undefined) return ` (its tag ${node.tag} makes YAML read it as a number; write it without the tag)`;
  const quoted = stringProblem(rule, written);
  return quoted === undefined ? ` (YAML reads an unquoted ${written} as a number; put it in quotes)` : ` (YAML reads an unquoted ${written} as a number; in quotes it would still be refused: ${quoted})`;
}

export function str(rule: StringRule): Check<string> {
  const schema: JsonSchema = { type: 'string', description: rule.expected, ...(rule.oneOf ? { enum: rule.oneOf } : {}), ...(rule.pattern ? { pattern: rule.pattern.source } : {}) };
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'scalar' || typeof node.value !== 'string') {
      ctx.report(path, `is ${describe(node)}, not a string${node?.kind === 'scalar' ? notTextHint(rule, node) : ''}`, rule.expected, node);
      return undefined;
    }
    const problem = stringProblem(rule, node.value);
    if (problem !== undefined) {
      ctx.report(path, problem, rule.expected, node);
      return undefined;
    }
    return node.value;
  }, schema);
}

/** A boolean or a number written in quotes, so read as text: said so (review s50-input m3: "is 'false'; expected true or false"). */
const quoted = (node: SourceNode | undefined, looks: RegExp): string | undefined =>
  node?.kind === 'scalar' && typeof node.value === 'string' && looks.test(node.value) ? `is the text '${node.value}', in quotes; write it without them` : undefined;

export function bool(): Check<boolean> {
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'scalar' || typeof node.value !== 'boolean') {
      ctx.report(path, quoted(node, /^(true|false)$/) ?? `is ${describe(node)}`, 'true or false', node);
      return undefined;
    }
    return node.value;
  }, { type: 'boolean' });
}

/** `expected`: what is right where a rule across fields narrows the range (a value in min..max it would refuse must not be offered as right). */
export function int(rule: { min: number; max?: number; expected?: string }): Check<number> {
  const expected = rule.expected ?? (rule.max === undefined ? `a whole number of at least ${rule.min}` : `a whole number from ${rule.min} to ${rule.max}`);
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'scalar' || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
      ctx.report(path, quoted(node, /^-?\d+$/) ?? `is ${describe(node)}`, expected, node);
      return undefined;
    }
    if (node.value < rule.min || (rule.max !== undefined && node.value > rule.max)) {
      ctx.report(path, `${node.value} is out of range`, expected, node);
      return undefined;
    }
    return node.value;
  }, { type: 'integer', minimum: rule.min, ...(rule.max === undefined ? {} : { maximum: rule.max }) });
}

export function list<T>(item: Check<T>, rule: { min?: number; max?: number } = {}): Check<T[]> {
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'seq') {
      ctx.report(path, `is ${describe(node)}, not a list`, 'a YAML list', node);
      return undefined;
    }
    if (node.items.length < (rule.min ?? 0)) {
      ctx.report(path, `has ${node.items.length} items`, `at least ${rule.min}`, node);
    }
    if (rule.max !== undefined && node.items.length > rule.max) {
      ctx.report(path, `has ${node.items.length} items`, `at most ${rule.max}`, node);
    }
    const out: T[] = [];
    node.items.forEach((child, i) => {
      const v = item(child, `${path}[${i}]`, ctx);
      if (v !== undefined) out.push(v);
    });
    return out;
  }, { type: 'array', items: item.schema, ...(rule.min ? { minItems: rule.min } : {}), ...(rule.max !== undefined ? { maxItems: rule.max } : {}) });
}

/** Reports duplicate keys itself, naming both lines, instead of the parser's first-error-only message. */
function pairs(node: MapNode, path: string, ctx: Context): Array<{ key: string; keyNode: SourceNode; value: SourceNode | undefined }> {
  const seen = new Map<string, SourceNode>();
  const out: Array<{ key: string; keyNode: SourceNode; value: SourceNode | undefined }> = [];
  for (const { key, keyOffset, value } of node.entries) {
    const keyNode: SourceNode = { kind: 'scalar', value: key, offset: keyOffset };
    const first = seen.get(key);
    if (first) {
      ctx.report(path === '' ? key : `${path}.${key}`, `'${key}' appears twice (first on line ${ctx.position(first)?.line})`, 'each key once', keyNode);
      continue;
    }
    seen.set(key, keyNode);
    out.push({ key, keyNode, value });
  }
  return out;
}

export interface MapRule {
  /** What a valid key looks like, in words. */
  keyExpected: string;
  keyPattern: RegExp;
  /** Further rule on a key, returning a message when it is wrong: the same rule as where the name is referenced. */
  keyRefine?: (key: string) => string | undefined;
  min?: number;
  /** What each name maps to, in words: `its settings` unless given (`its branch`, `the tag's value`). */
  valueExpected?: string;
}

const mapping = (rule: MapRule) => `a mapping of ${rule.keyExpected} to ${rule.valueExpected ?? 'its settings'}`;

/** A mapping from user-chosen names to values of one shape, order kept. */
export function mapOf<T>(value: Check<T>, rule: MapRule): Check<Array<[string, T]>> {
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'map') {
      ctx.report(path, `is ${describe(node)}, not a mapping`, mapping(rule), node);
      return undefined;
    }
    if (node.entries.length < (rule.min ?? 0)) ctx.report(path, 'is empty', `at least ${rule.min} ${rule.min === 1 ? 'entry' : 'entries'}`, node);
    const out: Array<[string, T]> = [];
    for (const { key, keyNode, value: child } of pairs(node, path, ctx)) {
      const childPath = `${path}.${key}`;
      ctx.visit(childPath, keyNode);
      const keyProblem = rule.keyPattern.test(key) ? rule.keyRefine?.(key) : `'${key}' is not a valid name${aside(key)}`;
      if (keyProblem) {
        ctx.report(childPath, keyProblem, rule.keyExpected, keyNode);
        continue;
      }
      const v = value(child, childPath, ctx);
      // Later checks about the entry as a whole point at its name.
      ctx.visit(childPath, keyNode);
      if (v !== undefined) out.push([key, v]);
    }
    return out;
  }, {
    type: 'object',
    description: mapping(rule),
    propertyNames: { pattern: rule.keyPattern.source },
    additionalProperties: value.schema,
    ...(rule.min ? { minProperties: rule.min } : {}),
  });
}

type Fields = Record<string, { check: Check<unknown>; required: boolean }>;
type Shape<F extends Fields> = { [K in keyof F as F[K]['required'] extends true ? K : never]: NonNullable<ReturnType<F[K]['check']>> } & {
  [K in keyof F as F[K]['required'] extends true ? never : K]?: NonNullable<ReturnType<F[K]['check']>>;
};

export const required = <T>(check: Check<T>) => ({ check, required: true as const });
export const optional = <T>(check: Check<T>) => ({ check, required: false as const });

/** A mapping with known fields; unknown ones are reported with a "did you mean". Undefined unless every field is valid. */
export function obj<F extends Fields>(fields: F, what: string): Check<Shape<F>> {
  const check = partialObj(fields, what);
  return withSchema((node, path, ctx) => {
    const result = check(node, path, ctx);
    return result?.complete ? (result.value as Shape<F>) : undefined;
  }, check.schema);
}

/**
 * Like `obj`, but gives the fields that are valid even when others are not,
 * so that checks across fields can still run and every problem of a file is
 * reported in one pass.
 */
export function partialObj<F extends Fields>(fields: F, what: string): Check<{ value: Partial<Shape<F>>; complete: boolean }> {
  const schema: JsonSchema = {
    type: 'object',
    description: what,
    properties: Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.check.schema])),
    required: Object.entries(fields).filter(([, field]) => field.required).map(([key]) => key),
    additionalProperties: false,
  };
  return withSchema((node, path, ctx) => {
    ctx.visit(path, node);
    if (node?.kind !== 'map') {
      ctx.report(path || '(top level)', `is ${describe(node)}, not a mapping`, what, node);
      return undefined;
    }
    const known = Object.keys(fields);
    const out: Record<string, unknown> = {};
    let complete = true;
    const present = new Set<string>();
    // Keys an unknown key was taken for (`pipeline:` for `pipelines`): that one error says it, not a second "is missing".
    const suggested = new Set<string>();
    const written = new Set(node.entries.map((e) => e.key));
    const read = (key: string, value: SourceNode | undefined) => {
      present.add(key);
      const v = fields[key].check(value, path ? `${path}.${key}` : key, ctx);
      if (v === undefined) complete = false;
      else out[key] = v;
    };
    for (const { key, keyNode, value } of pairs(node, path, ctx)) {
      if (fields[key]) {
        read(key, value);
        continue;
      }
      const suggestion = closest(key, known);
      // A key of a field's own mapping written a level too high (a top-level `region:`): where it belongs (review s50-input N6).
      const owner = suggestion === undefined ? known.find((k) => Object.hasOwn(fields[k].check.schema.properties ?? {}, key)) : undefined;
      const at = owner === undefined ? '' : ` (it belongs under '${owner}': ${path ? `${path}.` : ''}${owner}.${key})`;
      ctx.report(
        path ? `${path}.${key}` : key,
        `unknown key '${key}'${aside(key, suggestion)}${at}`,
        `one of: ${known.join(', ')}`,
        keyNode,
      );
      if (suggestion === undefined) continue;
      suggested.add(suggestion);
      // Read as the did-you-mean says, unless the key it names is there too: the checks across fields then judge the
      // file as it will be once the key is spelt right, and none reports what the did-you-mean explains (an
      // 'enviroment: staging' is no pipeline account without an environment, nor an environment no account runs).
      if (!written.has(suggestion) && !present.has(suggestion)) read(suggestion, value);
    }
    for (const [key, field] of Object.entries(fields)) {
      if (field.required && !present.has(key)) {
        if (!suggested.has(key)) ctx.report(path ? `${path}.${key}` : key, 'is missing', what, node);
        complete = false;
      }
    }
    return { value: out as Partial<Shape<F>>, complete };
  }, schema);
}

/** The candidate within edit distance 2 (or sharing a 4-letter prefix), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  if (bestDistance <= 2) return best;
  const lower = word.toLowerCase();
  return candidates.find((c) => lower.length >= 4 && c.toLowerCase().startsWith(lower.slice(0, 4)));
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/**
 * Where a value or a key holds a character outside ASCII, which no name or key of the org file takes: a letter that
 * looks like a Latin one (a Cyrillic о in `regiоn`) or a no-break space reads as valid to the eye, so the message
 * names it, and a did-you-mean that would show the very spelling on screen says which character differs.
 */
export function nonAscii(value: string): string | undefined {
  const characters = [...value];
  const at = characters.findIndex((c) => c.codePointAt(0)! > 0x7e);
  if (at < 0) return undefined;
  const c = characters[at];
  return `character ${at + 1} is ${spaceName(c) ?? codePoint(c)}, not an ASCII character`;
}

/** The parenthesis after a refused value or key: the character outside ASCII it holds, and the did-you-mean. */
function aside(value: string, suggestion?: string): string {
  const said = [nonAscii(value), suggestion === undefined ? undefined : `did you mean '${suggestion}'?`].filter((s) => s !== undefined);
  return said.length > 0 ? ` (${said.join('; ')})` : '';
}
