/**
 * The org file as the validator reads it: mappings, lists and scalars, each
 * with where it starts in the file when that is known. Two readers produce
 * it. The positioned one (the `yaml` library's document model) knows every
 * node's offset; it is what error messages are made from. The quick one
 * (js-yaml) knows no positions and is six times faster cold; `parseOrg` uses
 * it first and re-reads a file positioned as soon as anything is wrong with
 * it, so a file is only ever accepted on the quick reader's word when both
 * would accept it alike. test/org-readers.test.ts holds the two to that.
 */
import jsYaml from 'js-yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';

export type SourceNode = ScalarNode | MapNode | SeqNode | OtherNode;
export interface ScalarNode {
  kind: 'scalar';
  value: string | number | boolean | null;
  /** The scalar as written, where the reader keeps it (`0123`, `1e3`). */
  source?: string;
  offset?: number;
}
export interface MapNode {
  kind: 'map';
  /** In file order, duplicates kept: the validator reports them. */
  entries: MapEntry[];
  offset?: number;
}
export interface MapEntry {
  /** The key as JavaScript names it, as js-yaml does: `1e3` is `1000`, a list `[a, b]` is `a,b`. */
  key: string;
  keyOffset?: number;
  value: SourceNode | undefined;
}
export interface SeqNode {
  kind: 'seq';
  items: Array<SourceNode | undefined>;
  offset?: number;
}
/** What an org file has no use for (a tag the reader keeps as an object, a nesting too deep to be an org file). */
export interface OtherNode {
  kind: 'other';
  offset?: number;
}

/** Deeper than any org file goes; also where a recursive alias is cut off. */
const MAX_DEPTH = 32;

export interface PositionedRead {
  root: SourceNode | undefined;
  /** YAML syntax errors, with their offsets. */
  errors: Array<{ offset: number; message: string }>;
  lines: LineCounter;
}

/** The `yaml` library's reading, every node with its offset. Loaded on first use: a valid file never needs it. */
export function readPositioned(text: string): PositionedRead {
  const yaml = require('yaml') as typeof import('yaml');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const errors = doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] }));
  const convert = (node: unknown, depth: number): SourceNode | undefined => {
    if (node === null || node === undefined) return undefined;
    // An alias reads as what it names, as it does for js-yaml.
    if (yaml.isAlias(node)) return convert(node.resolve(doc as Document), depth);
    const offset = (node as YamlNode).range?.[0];
    if (depth > MAX_DEPTH) return { kind: 'other', offset };
    if (yaml.isScalar(node)) {
      const v = node.value;
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null
        ? { kind: 'scalar', value: v, source: node.source === undefined ? undefined : String(node.source), offset }
        : { kind: 'other', offset };
    }
    if (yaml.isMap(node)) {
      const entries = node.items.map((p): MapEntry => {
        const key = yaml.isAlias(p.key) ? p.key.resolve(doc as Document) : p.key;
        const name = yaml.isScalar(key) ? key.value : yaml.isNode(key) ? key.toJSON() : key;
        return { key: String(name), keyOffset: (key as YamlNode | null)?.range?.[0], value: convert(p.value, depth + 1) };
      });
      return { kind: 'map', entries, offset };
    }
    if (yaml.isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(item, depth + 1)), offset };
    return { kind: 'other', offset };
  };
  const root = errors.length > 0 ? undefined : convert(doc.contents, 0);
  return { root: root?.kind === 'scalar' && root.value === null ? undefined : root, errors, lines };
}

/**
 * YAML 1.2's core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
 * as the `yaml` library applies it by default, where a float has a `.` or an
 * exponent (`!!float 1` stays a string there). js-yaml's own core schema
 * reads more forms as numbers (`0b1`, `1_000`); the two readers must type
 * every scalar alike.
 */
const coreSchema = (() => {
  const scalar = (tag: string, resolve: (s: string) => boolean, construct: (s: string) => unknown) =>
    new jsYaml.Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: (s: string | null) => resolve(s ?? ''), construct: (s: string | null) => construct(s ?? '') });
  const NULL = /^(?:~|null|Null|NULL)?$/;
  const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
  const INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
  const FLOAT = /^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
  const int = (s: string) => (s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10));
  const float = (s: string) => (/\.nan$/i.test(s) ? NaN : /inf$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : parseFloat(s));
  return jsYaml.FAILSAFE_SCHEMA.extend({
    implicit: [
      scalar('null', (s) => NULL.test(s), () => null),
      scalar('bool', (s) => BOOL.test(s), (s) => s[0] === 't' || s[0] === 'T'),
      scalar('int', (s) => INT.test(s), int),
      scalar('float', (s) => FLOAT.test(s), float),
    ],
  });
})();

/** Keys a JavaScript object would not keep in file order (`2`, `10`), or would treat specially. */
const UNORDERED_KEY = /^(?:0|[1-9][0-9]{0,9})$|^__proto__$/;

/**
 * js-yaml's reading without positions, or undefined where it cannot stand in
 * for the positioned reader: a syntax error, a duplicate key, an unknown tag,
 * more than one document, or a key whose order a plain object would lose.
 */
export function readQuick(text: string): { root: SourceNode | undefined } | undefined {
  let data: unknown;
  try {
    data = jsYaml.load(text, { schema: coreSchema });
  } catch {
    return undefined;
  }
  let faithful = true;
  const convert = (value: unknown, depth: number): SourceNode | undefined => {
    if (value === undefined) return undefined;
    if (depth > MAX_DEPTH) return { kind: 'other' };
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { kind: 'scalar', value };
    if (Array.isArray(value)) return { kind: 'seq', items: value.map((item) => convert(item, depth + 1)) };
    if (Object.getPrototypeOf(value) !== Object.prototype) return { kind: 'other' };
    const entries: MapNode['entries'] = [];
    for (const key of Object.keys(value)) {
      if (UNORDERED_KEY.test(key)) faithful = false;
      entries.push({ key, value: convert((value as Record<string, unknown>)[key], depth + 1) });
    }
    return { kind: 'map', entries };
  };
  const root = data === null ? undefined : convert(data, 0);
  return faithful ? { root } : undefined;
}
