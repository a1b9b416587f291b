/**
 * The org file as the validator reads it: mappings, lists and scalars, each
 * with where it starts in the file when that is known. Two readers produce
 * it. The positioned one (the `yaml` library's document model) knows every
 * node's offset; it is what error messages are made from. The quick one
 * (js-yaml) knows no positions and is six times faster cold; `parseOrg` uses
 * it first and re-reads a file positioned as soon as anything is wrong with
 * it, so a file is only ever accepted on the quick reader's word when both
 * would accept it alike. The block YAML org files are written in, the quick
 * reader reads without js-yaml, as js-yaml reads it (./block-yaml.ts).
 * test/org-readers.test.ts holds the readers to that.
 *
 * Both readers are bounded: anchors and aliases (`&name`, `*name`) are
 * refused, since an org file needs none and a few lines of nested aliases
 * expand to gigabytes (the "billion laughs"); the quick reader stops at the
 * first anchor, the positioned one reports each without resolving any.
 */
import type * as JsYaml from 'js-yaml';
import type { LineCounter, Node as YamlNode } from 'yaml';
import { codePoint, oddSpaces } from './spaces';
import { syntaxProblems, VALID_YAML, type SyntaxProblem } from './syntax-errors';
import { readBlockYaml } from './block-yaml';
import { CORE_SCALAR_TYPES, MAX_DEPTH, UNORDERED_KEY } from './yaml-core';

export type SourceNode = ScalarNode | MapNode | SeqNode | OtherNode;
export interface ScalarNode {
  kind: 'scalar';
  value: string | number | boolean | null;
  /** The scalar as written, where the reader keeps it (`0123`, `1e3`). */
  source?: string;
  /** YAML's own tag written on it (`!!int`), which decides its type even in quotes: only the positioned reader reads a tag. */
  tag?: string;
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

export const ALIAS_MESSAGE = 'anchors and aliases (&name, *name) are not accepted in an organization file; write the settings out in full';

/**
 * Characters YAML does not allow raw in a file (its printable set leaves out the C0 controls but tab and line breaks,
 * DEL and the C1 controls but NEL: https://yaml.org/spec/1.2.2/#51-character-set), and no org value has a use for
 * written as an escape either: invisible in a description, a name or an id.
 */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]/;
const controlMessage = (c: string) => `a control character (${codePoint(c)}) is not accepted in an organization file`;
/**
 * What a file holds that only the positioned reader reports: a tag (a `!` where a node can start, not one inside a
 * word or a sentence), a directive, a merge key, and what may be a key that is a list or mapping, which js-yaml reads
 * as its text (`? [prod]`, `[prod]: main`, `{[prod]: main}`): an explicit key, a flow collection followed by a colon.
 */
const ONLY_POSITIONED = /(?:^|[\s,[{:])!|^%|<<\s*:|^[ \t-]*\?(?:\s|$)|[\]}][ \t]*:/m;

export interface PositionedRead {
  root: SourceNode | undefined;
  /** YAML syntax errors, each at the offset of the mistake. */
  errors: SyntaxProblem[];
  lines: LineCounter;
}

/** The `yaml` library's reading, every node with its offset. Loaded on first use: a valid file never needs it. */
export function readPositioned(text: string): PositionedRead {
  const yaml = require('yaml') as typeof import('yaml');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  // The mistakes behind the parser's errors, at their lines (./syntax-errors.ts).
  const found: PositionedRead['errors'] = syntaxProblems(text, doc, doc.errors);
  const control = CONTROL.exec(text);
  if (control) found.push({ offset: control.index, message: controlMessage(control[0]), expected: 'printable text (remove the character)' });
  // What the library only warns about changes what the file means: a tag it cannot resolve (CloudFormation's !Ref or
  // !Sub written by habit) is dropped, the text kept; a YAML version it does not know is read as 1.2.
  for (const warning of doc.warnings) found.push(warned(text, warning));
  // YAML 1.1 reads no, on and 0100 as false, true and 64, 1.2 as the text and 100; the quick reader knows 1.2 only.
  if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== '1.2') {
    found.push({
      offset: Math.max(0, text.indexOf('%YAML')),
      message: `%YAML ${doc.directives.yaml.version}: organization files are read as YAML 1.2 (where no, on and 0100 are the text 'no', the text 'on' and the number 100)`,
      expected: 'no %YAML line (or %YAML 1.2)',
    });
  }
  if (found.length === 0) {
    // Found without resolving a single alias: the walk sees each node once.
    yaml.visit(doc, {
      Alias: (_, node) => void found.push({ offset: node.range?.[0] ?? 0, message: `*${node.source}: ${ALIAS_MESSAGE}`, expected: VALID_YAML }),
      Pair: (_, pair) => {
        // `? [prod]`: a key that is a list or mapping would be read as its text ('prod', '[object Object]').
        if (yaml.isCollection(pair.key)) {
          found.push({ offset: pair.key.range?.[0] ?? 0, message: 'a key that is a list or a mapping: keys of an organization file are plain names', expected: 'the name itself as the key, as in  prod: main' });
        }
        if (yaml.isScalar(pair.key) && pair.key.value === '<<' && pair.key.type === 'PLAIN') {
          found.push({ offset: pair.key.range?.[0] ?? 0, message: "<<: merge keys are not accepted in an organization file (some YAML readers merge the mapping in, others read a key '<<')", expected: 'the settings written out in full' });
        }
      },
      Node: (_, node) => {
        if (yaml.isScalar(node) && typeof node.value === 'string') {
          const c = CONTROL.exec(node.value);
          if (c) found.push({ offset: node.range?.[0] ?? 0, message: `${controlMessage(c[0])} (here written as an escape in a quoted value)`, expected: 'printable text (remove the escape)' });
        }
        if ((yaml.isScalar(node) || yaml.isCollection(node)) && node.anchor) {
          // The node starts after its anchor, possibly lines later: point at the `&name` itself.
          const at = text.lastIndexOf(`&${node.anchor}`, node.range?.[0] ?? 0);
          found.push({ offset: at >= 0 ? at : (node.range?.[0] ?? 0), message: `&${node.anchor}: ${ALIAS_MESSAGE}`, expected: VALID_YAML });
        }
      },
    });
  }
  const errorLines = new Set<number>();
  // One error per line: what follows on the same line is mostly its echo.
  const errors = found
    .sort((a, b) => a.offset - b.offset)
    .filter((e) => {
      const line = lines.linePos(e.offset).line;
      return errorLines.has(line) ? false : Boolean(errorLines.add(line));
    });
  const convert = (node: unknown, depth: number): SourceNode | undefined => {
    if (node === null || node === undefined) return undefined;
    const offset = (node as YamlNode).range?.[0];
    if (depth > MAX_DEPTH) return { kind: 'other', offset };
    if (yaml.isScalar(node)) {
      const v = node.value;
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null
        ? { kind: 'scalar', value: v, source: node.source === undefined ? undefined : String(node.source), ...(node.tag?.startsWith(YAML_TAG) ? { tag: `!!${node.tag.slice(YAML_TAG.length)}` } : {}), offset }
        : { kind: 'other', offset };
    }
    if (yaml.isMap(node)) {
      const entries = node.items.map((p): MapEntry => {
        const key = p.key;
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

/** The prefix of YAML's own tags, which a file writes `!!int` (https://yaml.org/spec/1.2.2/#691-node-tags). */
const YAML_TAG = 'tag:yaml.org,2002:';

/** A warning of the `yaml` library as a problem of the file, at the tag or directive it is about. */
function warned(text: string, warning: { code: string; message: string; pos: [number, number] }): SyntaxProblem {
  const offset = warning.pos[0];
  if (warning.code === 'TAG_RESOLVE_FAILED') {
    const written = text.slice(offset).match(/^!\S*/)?.[0] ?? warning.message.replace(/^Unresolved tag: /, '');
    // YAML's own tags (!!str, !!int, ...) are read where they fit their value; one that does not is said as such.
    if (written.startsWith('!!')) return { offset, message: `${written}: the value is not what this YAML tag says it is`, expected: 'the plain value, without the tag' };
    return {
      offset,
      message: `${written}: tags of its own are not accepted in an organization file (CloudFormation's !Ref, !Sub and !GetAtt do not apply in it; the value would be read as the text after the tag)`,
      expected: 'the plain value',
    };
  }
  if (warning.code === 'BAD_DIRECTIVE') return { offset, message: `${warning.message.split('\n')[0]}: organization files are YAML 1.2`, expected: 'no %YAML line (or %YAML 1.2)' };
  return { offset, message: warning.message.split('\n')[0], expected: VALID_YAML };
}

/** The core schema as js-yaml's: made with js-yaml, on its first use. */
let jsYamlCoreSchema: JsYaml.Schema | undefined;
const coreSchemaOf = (jsYaml: typeof JsYaml): JsYaml.Schema =>
  (jsYamlCoreSchema ??= jsYaml.FAILSAFE_SCHEMA.extend({
    implicit: CORE_SCALAR_TYPES.map(
      ({ tag, resolve, construct }) => new jsYaml.Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: (s: string | null) => resolve(s ?? ''), construct: (s: string | null) => construct(s ?? '') }),
    ),
  }));

/**
 * js-yaml's reading without positions, or undefined where it cannot stand in
 * for the positioned reader: a syntax error, a duplicate key, an unknown tag,
 * more than one document, an anchor, or a key whose order a plain object would lose; and a file that holds what
 * only the positioned reader reports (a tag, a directive, a merge key, a control character, a no-break space where
 * YAML expects a space). The block YAML org files are written in is read as js-yaml reads it, without js-yaml
 * (./block-yaml.ts), and js-yaml is not loaded (bench/RESULTS.md, forty-seventh session).
 */
export function readQuick(text: string): { root: SourceNode | undefined } | undefined {
  // A control character in a comment too: js-yaml reads only scalars for them, and the positioned reader refuses it.
  // A no-break space or the like where YAML expects a space: the positioned reader says where (./spaces.ts).
  if (ONLY_POSITIONED.test(text) || CONTROL.test(text) || oddSpaces(text).length > 0) return undefined;
  // What the block reader declines, js-yaml reads, but for a value it cannot tell YAML would read alike (spansLines).
  return readBlockYaml(text) ?? (spansLines(text) ? undefined : readJsYaml(text));
}

/** A quoted scalar or a flow collection with a comment right after it. */
const TOKEN_THEN_COMMENT = /"[^"]*"#|'[^']*'#|[\]}]#/;
/**
 * A line longer than an implicit key may be: YAML counts the 1,024 characters from the key's start to its `:`, quotes
 * and spaces included, which a parsed key no longer shows (review s49-diff M1).
 */
const LONGER_THAN_A_KEY = /[^\n]{1025}/;

/**
 * Whether a flow collection or a quoted scalar may go on past its line: YAML 1.2 wants its next lines indented past its
 * key's (a flow node in a block mapping's value is ns-flow-node(n+1, …); yaml-test-suite 9C9N "Wrong indented flow
 * sequence", QB6E "Wrong indented multiline quoted scalar"), which js-yaml does not ask (review s50-input M4). Read
 * line by line, loosely (a bracket or quote inside a quoted value counts too): a text the block reader declines and that
 * has such a line is left to the positioned reader, which is right either way, only slower.
 */
function spansLines(text: string): boolean {
  for (const line of text.split('\n')) {
    if (!/["'[\]{}]/.test(line)) continue;
    let depth = 0;
    let doubles = 0;
    for (const c of line) {
      if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
      else if (c === '"') doubles++;
    }
    if (depth !== 0 || doubles % 2 === 1) return true;
    // A single-quoted scalar starts after a key's colon, an item's dash or a flow separator; an apostrophe in a plain
    // scalar (`Don't`) does not.
    if (/(^|[:,[{-])\s*'/.test(line) && (line.match(/'/g)?.length ?? 0) % 2 === 1) return true;
  }
  return false;
}

/** readQuick's reading by js-yaml, after its checks of the text (exported for the test that holds the readers alike). */
export function readJsYaml(text: string): { root: SourceNode | undefined } | undefined {
  // Loaded on first use: the block reader reads the files users write.
  // What js-yaml takes and YAML does not: a comment with no white space before it after a quoted scalar or a flow
  // collection ("Comments must be separated from other tokens by white space characters", YAML 1.2 6.6), and an
  // implicit key over 1,024 characters (YAML 1.2 7.4.2, read here as any line that long); the positioned reader says where.
  if (TOKEN_THEN_COMMENT.test(text) || LONGER_THAN_A_KEY.test(text)) return undefined;
  const jsYaml = require('js-yaml') as typeof JsYaml;
  let data: unknown;
  try {
    // Thrown at the first anchor: aliases are refused, and the positioned reader says where.
    const listener = (event: JsYaml.EventType, state: JsYaml.State) => {
      if (event === 'close' && (state as unknown as { anchor: string | null }).anchor !== null) throw new Error('anchor');
    };
    data = jsYaml.load(text, { schema: coreSchemaOf(jsYaml), listener });
  } catch {
    return undefined;
  }
  let faithful = true;
  const convert = (value: unknown, depth: number): SourceNode | undefined => {
    if (value === undefined) return undefined;
    if (depth > MAX_DEPTH) return { kind: 'other' };
    if (typeof value === 'string' && CONTROL.test(value)) faithful = false;
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
