/**
 * Plain CloudFormation YAML, block style, no anchors, aliases or line
 * folding. CloudFormation and cfn-lint read YAML 1.1, where `yes`, `on`,
 * `0123`, `1e3` or `2001-12-14` are not strings, so a string is written plain
 * only when it is plainly a string under YAML 1.1 and 1.2 alike: it starts
 * with a letter, `$` or `/`, is not one of 1.1's boolean or null words, and
 * holds no character that means something to YAML there; every other string
 * is double-quoted with JSON's escapes, which YAML shares. Templates are
 * plain data (maps, lists, strings, numbers, booleans), so this is all the
 * emitter needs; a general library took a third of a 1,000-account compile.
 * That every template reads back to exactly the object it was made from,
 * under the `yaml` library in 1.1 mode and under js-yaml, is checked by
 * test/output.test.ts over every emitted file.
 */

const RESERVED_WORDS = new Set(['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~']);
const LONGEST_RESERVED_WORD = Math.max(...[...RESERVED_WORDS].map((w) => w.length));
/**
 * A plain string: starts with a letter, `$` or `/`; holds only the characters
 * of the class (never `#`, so never ` #`, a comment); has no `: ` (a map's
 * value would start there); ends in neither ` ` nor `:`. One regular
 * expression, not several tests: it runs on every key and string written.
 */
const PLAIN = /^[A-Za-z$/](?:[A-Za-z0-9 _./${}@()+=,;*<>|'"!%?&~^-]|:(?! ))*(?<![ :])$/;
/**
 * Every character past ASCII, escaped in a double-quoted scalar: YAML 1.1 treats some of them as line breaks, and
 * CloudFormation hands a template back (GetTemplate, DescribeStacks) with each non-ASCII character replaced by `?`
 * (aws-cloudformation/cloudformation-coverage-roadmap#814, open), so a deployed template holding one would never read
 * back as the one compiled, and every deploy, plan and verify would see a change (review s22-names N1). Escaped, a
 * template is ASCII throughout and CloudFormation reads the same characters from it.
 */
const UNSAFE_IN_QUOTES = /[^\x00-\x7e]/gu;
const escaped = (c: string): string => {
  const code = c.codePointAt(0)!;
  return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

const isReservedWord = (s: string) => s.length <= LONGEST_RESERVED_WORD && RESERVED_WORDS.has(s.toLowerCase());
const isPlain = (s: string) => PLAIN.test(s) && !isReservedWord(s);

/**
 * Where the writer puts a template's text: appended to a short text, which
 * is flattened into a piece of the text every CHUNK_CHARS characters, the
 * pieces joined once written. V8 keeps a text made by appending as a tree of
 * what was appended, about ten times its size, until its characters are
 * read: a family's part is written while it is packed (src/stages/family.ts),
 * and a whole template's tree then lived through collections, where a
 * chunk's dies young.
 */
class Text {
  private readonly pieces: string[] = [];
  private piecesLength = 0;
  private chunk = '';
  /** Text known to be ASCII: indentation, punctuation, plain strings, numbers. */
  ascii(text: string): void {
    this.chunk += text;
    if (this.chunk.length >= CHUNK_CHARS) this.flush();
  }
  /** A string written double-quoted (`quoted`): ASCII too (UNSAFE_IN_QUOTES). */
  quoted(value: string): void {
    this.ascii(quoted(value));
  }
  /** The characters written so far. */
  get length(): number {
    return this.piecesLength + this.chunk.length;
  }
  /** What was written, as one text. */
  finish(): string {
    this.flush();
    return this.pieces.join('');
  }
  private flush(): void {
    if (this.chunk.length === 0) return;
    // Reading a character flattens the chunk's tree into one text.
    this.chunk.charCodeAt(0);
    this.pieces.push(this.chunk);
    this.piecesLength += this.chunk.length;
    this.chunk = '';
  }
}
const CHUNK_CHARS = 8192;

/** The characters `quoted` writes other than as themselves: those JSON escapes, and every one past `~` (UNSAFE_IN_QUOTES). */
const ESCAPED_IN_QUOTES = /["\\\x00-\x1f\x7f-\uffff]/;
/** `s` double-quoted, JSON's escapes and then UNSAFE_IN_QUOTES's; a string with none of ESCAPED_IN_QUOTES (an account id, a date, `*`) is itself in quotes, without the two passes. */
const quoted = (s: string) => (ESCAPED_IN_QUOTES.test(s) ? JSON.stringify(s).replace(UNSAFE_IN_QUOTES, escaped) : `"${s}"`);
/** The bytes of `quoted(s)`, ASCII throughout, without writing it where it is `s` in quotes: most strings a template quotes (`*`, dates, text with `: `). */
const quotedLength = (s: string): number => (ESCAPED_IN_QUOTES.test(s) ? quoted(s).length : s.length + 2);

function writeScalar(out: Text, value: unknown): void {
  if (typeof value === 'string') {
    // isPlain admits ASCII characters only.
    if (isPlain(value)) out.ascii(value);
    else out.quoted(value);
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to a template`);
    out.ascii(String(value));
  } else if (typeof value === 'boolean') out.ascii(String(value));
  else if (value === null) out.ascii('null');
  else throw new Error(`cannot write a ${typeof value} to a template`);
}

const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null;

/**
 * A map's key as `write` writes it, with its colon (writeScalar's text of it, then `:`). A few hundred keys (Type,
 * Properties, Effect, Fn::Sub, …) are most of the 270,000 a compile writes at 250 teams: each is told plain or
 * quoted once here, not by the pattern each time it is written, and is one piece appended, not two. Emptied past
 * KEY_TEXTS_HELD entries (names each written once, a family's conditions and outputs, pass through), so it stays small
 * however many templates a process writes.
 */
const keyTexts = new Map<string, string>();
const KEY_TEXTS_HELD = 4096;
function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    // isPlain admits ASCII characters only; quoted writes ASCII too.
    text = `${isPlain(key) ? key : quoted(key)}:`;
    if (keyTexts.size >= KEY_TEXTS_HELD) keyTexts.clear();
    keyTexts.set(key, text);
  }
  return text;
}

/** How many key texts keyText holds now (at most KEY_TEXTS_HELD): for the test that it stays bounded. */
export const keyTextsHeld = (): number => keyTexts.size;

/**
 * How a line starts at a depth: a key's indentation, a list item's, each
 * also as the first line under `key:`. Made once, not for every key and
 * item written.
 */
interface LineStarts {
  key: string;
  firstKey: string;
  item: string;
  firstItem: string;
}
const lineStartsByDepth: LineStarts[] = [];
function lineStarts(depth: number): LineStarts {
  while (lineStartsByDepth.length <= depth) {
    const indent = '  '.repeat(lineStartsByDepth.length);
    lineStartsByDepth.push({ key: indent, firstKey: `\n${indent}`, item: `${indent}-`, firstItem: `\n${indent}-` });
  }
  return lineStartsByDepth[depth];
}

/** `value`, which follows `key:` or `- ` on the current line; nested lines start at `depth` (two spaces each). */
function write(out: Text, value: unknown, depth: number, inSequence: boolean): void {
  if (!isCollection(value)) {
    out.ascii(' ');
    writeScalar(out, value);
    out.ascii('\n');
    return;
  }
  const starts = lineStarts(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.ascii(' []\n');
      return;
    }
    // A list under `key:` starts on the next line, indented; a list inside a list continues this line.
    for (let i = 0; i < value.length; i++) {
      out.ascii(i > 0 ? starts.item : inSequence ? ' -' : starts.firstItem);
      write(out, value[i] === undefined ? null : value[i], depth + 1, true);
    }
    return;
  }
  let first = true;
  // Own keys in Object.keys's order without making its list for every map written: for-in walks them first, then any inherited ones, left out.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out.ascii(!first ? starts.key : inSequence ? ' ' : starts.firstKey);
    out.ascii(keyText(key));
    write(out, v, depth + 1, false);
    first = false;
  }
  if (first) out.ascii(' {}\n');
}

function writeTemplate(data: unknown, out: Text, resources?: Map<string, ResourceSpan>): Text {
  if (!isCollection(data) || Array.isArray(data)) throw new Error('a template is a map');
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    writeScalar(out, key);
    out.ascii(':');
    if (resources && key === 'Resources' && isCollection(value) && !Array.isArray(value)) writeResources(out, value, resources);
    else write(out, value, 1, false);
  }
  return out;
}

/** Where a resource's value is in its template's text: from `start` to `end`. */
export type ResourceSpan = readonly [start: number, end: number];

/** The Resources section as `write` writes it at depth 1, with where each resource's value is written. */
function writeResources(out: Text, section: object, spans: Map<string, ResourceSpan>): void {
  const starts = lineStarts(1);
  let first = true;
  for (const key in section) {
    if (!Object.hasOwn(section, key)) continue;
    const v = (section as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out.ascii(first ? starts.firstKey : starts.key);
    writeScalar(out, key);
    out.ascii(':');
    const start = out.length;
    write(out, v, 2, false);
    spans.set(key, [start, out.length]);
    first = false;
  }
  if (first) out.ascii(' {}\n');
}

export const toYaml = (data: unknown): string => writeTemplate(data, new Text()).finish();

/** A template's text with where each resource is written in it (toYamlWithResources). */
export interface WrittenTemplate {
  readonly text: string;
  readonly resources: ReadonlyMap<string, ResourceSpan>;
}

/** Templates written already, as toYamlWithResources would write them (rememberWritten). */
const writtenTemplates = new WeakMap<object, WrittenTemplate>();

/**
 * Records `written` as toYamlWithResources(template): a family's part, written when it was packed (src/stages/family.ts),
 * is not written again when the compile writes its stages. The caller vouches that `template` is equal to the
 * template `written` was written from, and is not changed after (rendered templates are read, never changed).
 */
export function rememberWritten(template: object, written: WrittenTemplate): void {
  writtenTemplates.set(template, written);
}

/** A template's text (toYaml) with where each resource is written in it: a resource's text is a slice of it. */
export function toYamlWithResources(data: unknown): WrittenTemplate {
  const known = isCollection(data) ? writtenTemplates.get(data) : undefined;
  if (known) return known;
  const resources = new Map<string, ResourceSpan>();
  return { text: writeTemplate(data, new Text(), resources).finish(), resources };
}

/**
 * Buffer.byteLength(toYaml(data)), without building the text: the writer's
 * walk, adding up the length of each piece `write` and `writeScalar` would
 * write. A family measures every unit it packs, as much data as the stages'
 * templates hold: a walk of its own makes a call for each node, where the
 * writer writing to a counter made one for each piece (three or four for a
 * key and its value). test/yaml.test.ts holds the two to the same bytes,
 * over every template of the example orgs too.
 */
export function yamlBytes(data: unknown): number {
  if (!isCollection(data) || Array.isArray(data)) throw new Error('a template is a map');
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) {
    // `key:` and its value.
    if (value !== undefined) bytes += scalarBytes(key) + 1 + bytesOf(value, 1, false);
  }
  return bytes;
}

/** What writeScalar writes of `value` (every character it writes is ASCII). */
function scalarBytes(value: unknown): number {
  if (typeof value === 'string') return isPlain(value) ? value.length : quotedLength(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to a template`);
    return String(value).length;
  }
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (value === null) return 4;
  throw new Error(`cannot write a ${typeof value} to a template`);
}

/** What `write(out, value, depth, inSequence)` writes; each line start as lineStarts(depth) has it (`indent` spaces). */
function bytesOf(value: unknown, depth: number, inSequence: boolean): number {
  // ` <scalar>\n`
  if (!isCollection(value)) return scalarBytes(value) + 2;
  const indent = 2 * depth;
  if (Array.isArray(value)) {
    // ` []\n`
    if (value.length === 0) return 4;
    // The first item ` -` or `\n<indent>-`, the others `<indent>-`, each followed by its value.
    let bytes = inSequence ? 2 : indent + 2;
    for (let i = 0; i < value.length; i++) bytes += (i > 0 ? indent + 1 : 0) + bytesOf(value[i] === undefined ? null : value[i], depth + 1, true);
    return bytes;
  }
  let bytes = 0;
  let first = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    // The first key ` ` or `\n<indent>`, the others `<indent>`; then `key:` and its value.
    bytes += (!first ? indent : inSequence ? 1 : indent + 1) + keyText(key).length + bytesOf(v, depth + 1, false);
    first = false;
  }
  // ` {}\n`
  return first ? 4 : bytes;
}

/** Templates read back as CloudFormation reads them (YAML 1.1). The library is loaded here, not at start: compiling never reads YAML back. */
export function fromYaml(text: string): unknown {
  const { parse } = require('yaml') as typeof import('yaml');
  return parse(text, { version: '1.1' });
}
