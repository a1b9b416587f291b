/**
 * A small validator over the `yaml` AST. Each check reads one node, records a
 * located Problem for every fault it finds (it never stops at the first) and
 * returns the value, or undefined when the node is unusable.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type Pair, type Scalar } from 'yaml';
import type { Problem } from '../errors';

export interface Position {
  line: number;
  column: number;
}

export class Context {
  readonly problems: Problem[] = [];
  /** Position of every visited field, for checks that run after parsing. */
  readonly positions = new Map<string, Position>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  position(node: Node | null | undefined): Position | undefined {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  visit(path: string, node: Node | null | undefined): void {
    const pos = this.position(node);
    if (pos) this.positions.set(path, pos);
  }

  report(path: string, message: string, expected?: string, node?: Node | null): void {
    const pos = node ? this.position(node) : this.positions.get(path);
    this.problems.push({ file: this.file, line: pos?.line, column: pos?.column, field: path, message, expected });
  }
}

export type Check<T> = (node: Node | null | undefined, path: string, ctx: Context) => T | undefined;

const describe = (node: Node | null | undefined): string => {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
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

export function str(rule: StringRule): Check<string> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isScalar(node) || typeof node.value !== 'string') {
      const hint =
        isScalar(node) && typeof node.value === 'number'
          ? ` (YAML reads an unquoted ${String((node as Scalar).source ?? node.value)} as a number; put it in quotes)`
          : '';
      ctx.report(path, `is ${describe(node)}, not a string${hint}`, rule.expected, node);
      return undefined;
    }
    const value = node.value;
    if (rule.oneOf && !rule.oneOf.includes(value)) {
      const suggestion = closest(value, rule.oneOf);
      ctx.report(path, `'${value}' is not accepted${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`, rule.expected, node);
      return undefined;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      ctx.report(path, `'${value}' is not valid`, rule.expected, node);
      return undefined;
    }
    const refined = rule.refine?.(value);
    if (refined) {
      ctx.report(path, refined, rule.expected, node);
      return undefined;
    }
    return value;
  };
}

export function bool(): Check<boolean> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isScalar(node) || typeof node.value !== 'boolean') {
      ctx.report(path, `is ${describe(node)}`, 'true or false', node);
      return undefined;
    }
    return node.value;
  };
}

export function int(rule: { min: number; max: number }): Check<number> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
      ctx.report(path, `is ${describe(node)}`, `a whole number from ${rule.min} to ${rule.max}`, node);
      return undefined;
    }
    if (node.value < rule.min || node.value > rule.max) {
      ctx.report(path, `${node.value} is out of range`, `a whole number from ${rule.min} to ${rule.max}`, node);
      return undefined;
    }
    return node.value;
  };
}

export function list<T>(item: Check<T>, rule: { min?: number } = {}): Check<T[]> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isSeq(node)) {
      ctx.report(path, `is ${describe(node)}, not a list`, 'a YAML list', node);
      return undefined;
    }
    if (node.items.length < (rule.min ?? 0)) {
      ctx.report(path, `has ${node.items.length} items`, `at least ${rule.min}`, node);
    }
    const out: T[] = [];
    node.items.forEach((child, i) => {
      const v = item(child as Node, `${path}[${i}]`, ctx);
      if (v !== undefined) out.push(v);
    });
    return out;
  };
}

const keyOf = (pair: Pair): { key: string; node: Node | null } => {
  const k = pair.key as Node | null;
  return { key: isScalar(k) ? String(k.value) : '', node: k };
};

/** Reports duplicate keys itself, naming both lines, instead of the parser's first-error-only message. */
function pairs(node: Node, path: string, ctx: Context): Array<{ key: string; keyNode: Node | null; value: Node | null }> {
  const seen = new Map<string, Node | null>();
  const out: Array<{ key: string; keyNode: Node | null; value: Node | null }> = [];
  if (!isMap(node)) return out;
  for (const pair of node.items) {
    const { key, node: keyNode } = keyOf(pair);
    const first = seen.get(key);
    if (first !== undefined) {
      const firstLine = ctx.position(first)?.line;
      ctx.report(`${path}.${key}`, `'${key}' appears twice (first on line ${firstLine})`, 'each key once', keyNode);
      continue;
    }
    seen.set(key, keyNode);
    out.push({ key, keyNode, value: pair.value as Node | null });
  }
  return out;
}

export interface MapRule {
  /** What a valid key looks like, in words. */
  keyExpected: string;
  keyPattern: RegExp;
  min?: number;
}

/** A mapping from user-chosen names to values of one shape, order kept. */
export function mapOf<T>(value: Check<T>, rule: MapRule): Check<Array<[string, T]>> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isMap(node)) {
      ctx.report(path, `is ${describe(node)}, not a mapping`, `a mapping of ${rule.keyExpected} to settings`, node);
      return undefined;
    }
    if (node.items.length < (rule.min ?? 0)) ctx.report(path, 'is empty', `at least ${rule.min} entry`, node);
    const out: Array<[string, T]> = [];
    for (const { key, keyNode, value: child } of pairs(node, path, ctx)) {
      const childPath = `${path}.${key}`;
      ctx.visit(childPath, keyNode);
      if (!rule.keyPattern.test(key)) {
        ctx.report(childPath, `'${key}' is not a valid name`, rule.keyExpected, keyNode);
        continue;
      }
      const v = value(child, childPath, ctx);
      // Later checks about the entry as a whole point at its name.
      ctx.visit(childPath, keyNode);
      if (v !== undefined) out.push([key, v]);
    }
    return out;
  };
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
  return (node, path, ctx) => {
    const result = check(node, path, ctx);
    return result?.complete ? (result.value as Shape<F>) : undefined;
  };
}

/**
 * Like `obj`, but gives the fields that are valid even when others are not,
 * so that checks across fields can still run and every problem of a file is
 * reported in one pass.
 */
export function partialObj<F extends Fields>(fields: F, what: string): Check<{ value: Partial<Shape<F>>; complete: boolean }> {
  return (node, path, ctx) => {
    ctx.visit(path, node);
    if (!isMap(node)) {
      ctx.report(path || '(top level)', `is ${describe(node)}, not a mapping`, what, node);
      return undefined;
    }
    const known = Object.keys(fields);
    const out: Record<string, unknown> = {};
    let complete = true;
    const present = new Set<string>();
    for (const { key, keyNode, value } of pairs(node, path, ctx)) {
      const childPath = path ? `${path}.${key}` : key;
      const field = fields[key];
      if (!field) {
        const suggestion = closest(key, known);
        ctx.report(
          childPath,
          `unknown key '${key}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
          `one of: ${known.join(', ')}`,
          keyNode,
        );
        continue;
      }
      present.add(key);
      const v = field.check(value, childPath, ctx);
      if (v === undefined) complete = false;
      else out[key] = v;
    }
    for (const [key, field] of Object.entries(fields)) {
      if (field.required && !present.has(key)) {
        ctx.report(path ? `${path}.${key}` : key, 'is missing', `${what} to have '${key}'`, node);
        complete = false;
      }
    }
    return { value: out as Partial<Shape<F>>, complete };
  };
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

function editDistance(a: string, b: string): number {
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
