/**
 * The org file's quickest reading: the block YAML org files are written in
 * (`key: value` lines, nested by indentation, `- ` lists, one-line `[a, b]`
 * lists, plain and quoted scalars, comments), read line by line, without
 * loading js-yaml (23 modules) and a little quicker cold than it reads (bench/RESULTS.md, forty-seventh session).
 * Anything else it declines (undefined), and the quick reader (js-yaml,
 * ./source.ts) reads the file as before: a block or multi-line scalar, a
 * flow mapping, an escape in quotes, a tab, an anchor or tag, a key that
 * reads as no string (`1e3:`, `true:`), a duplicate key, a line indented
 * other than its place says. So what it reads is read as js-yaml reads it,
 * and nothing it reads is a file js-yaml would refuse; test/org-readers.test.ts
 * holds it to both other readers.
 */
import type { MapNode, SeqNode, SourceNode } from './source';
import { MAX_DEPTH, plainScalarValue, UNORDERED_KEY } from './yaml-core';

/** A high surrogate not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Not sure how js-yaml reads it: the caller reads the file with js-yaml. */
class Declined extends Error {}
const decline = (): never => {
  throw new Declined();
};

/** A line with something on it: its indentation, and the text after it (a comment's line is left out). */
interface Line {
  indent: number;
  text: string;
}

/** A plain scalar starts with a letter, a digit or one of these (YAML's indicators, `-` followed by a space, are declined). */
const PLAIN_FIRST = /^(?:[A-Za-z0-9_./$~+=()^]|-(?! |$))/;
/** What a plain scalar of a block line may not hold: `: ` (a mapping), flow brackets (kept to js-yaml), a trailing `:`. */
const PLAIN_REFUSED = /: |[[\]{}]|:$/;
/** A plain key: what a mapping key of an org file is, letters to punctuation that means nothing to YAML. */
const PLAIN_KEY = /^[A-Za-z0-9_$/][A-Za-z0-9_$/.@+=()-]*(?::[A-Za-z0-9_$/.@+=()-]+)*$/;
/** YAML's spaces around a value are the space (tabs are declined): a no-break space is the value's own, as js-yaml reads it (String's trim would take it). */
const SPACE = 32;
/** Past 1,024 characters YAML reads no implicit key (https://yaml.org/spec/1.2.2/#rule-ns-s-implicit-yaml-key). */
const MAX_KEY = 1024;

/** The root mapping of `text`, or undefined where the block reader cannot be sure it reads it as js-yaml does. */
export function readBlockYaml(text: string): { root: MapNode } | undefined {
  // Tabs, carriage returns, escapes and a byte order mark are js-yaml's to read; so are the noncharacters U+FFFE and
  // U+FFFF and a surrogate standing alone, which YAML's printable set leaves out (js-yaml refuses them; review s47-diff n1).
  if (/[\t\r\\\ufeff\ufffe\uffff]/.test(text) || LONE_SURROGATE.test(text)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    let indent = 0;
    while (raw.charCodeAt(indent) === SPACE) indent++;
    if (indent === raw.length || raw[indent] === '#') continue;
    // Document markers and directives: one document of one mapping is an org file.
    if (indent === 0 && (raw.startsWith('---') || raw.startsWith('...') || raw.startsWith('%'))) return undefined;
    lines.push({ indent, text: raw.slice(indent) });
  }
  if (lines.length === 0 || lines[0].indent !== 0) return undefined;
  try {
    const reader = new BlockReader(lines);
    const root = reader.mapping(0, 0);
    return reader.done() ? { root } : undefined;
  } catch (error) {
    if (error instanceof Declined) return undefined;
    throw error;
  }
}

class BlockReader {
  private next = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.next === this.lines.length;
  }

  /** The entries of a mapping whose keys are indented `indent`, from the next line on. */
  mapping(indent: number, depth: number): MapNode {
    if (tooDeep(depth)) decline();
    const entries: MapNode['entries'] = [];
    const keys = new Set<string>();
    while (this.next < this.lines.length) {
      const line = this.lines[this.next];
      if (line.indent < indent) break;
      if (line.indent > indent || isItem(line.text)) decline();
      this.next++;
      const colon = keyEnd(line.text);
      const key = line.text.slice(0, colon);
      // A key that reads as a number, a boolean or null, or whose place an object would not keep: js-yaml's.
      if (key.length > MAX_KEY || !PLAIN_KEY.test(key) || typeof plainScalarValue(key) !== 'string' || UNORDERED_KEY.test(key) || keys.has(key)) decline();
      keys.add(key);
      entries.push({ key, value: this.valueAfter(line, colon + 1, depth) });
    }
    return { kind: 'map', entries };
  }

  /** The items of a list whose `- ` are indented `indent`, from the next line on. */
  private sequence(indent: number, depth: number): SeqNode {
    if (tooDeep(depth)) decline();
    const items: SeqNode['items'] = [];
    while (this.next < this.lines.length) {
      const line = this.lines[this.next];
      if (line.indent < indent || (line.indent === indent && !isItem(line.text))) break;
      if (line.indent > indent) decline();
      let at = 1;
      while (line.text[at] === ' ') at++;
      const rest = line.text.slice(at);
      // `-` alone, a list in a list, a comment after the dash: js-yaml's.
      if (rest === '' || isItem(rest) || rest[0] === '#') decline();
      if (keyEnd(rest, false) >= 0) {
        // `- key: value`: a mapping whose keys are indented as this key is; read from this line as if it were one.
        this.lines[this.next] = { indent: indent + at, text: rest };
        items.push(this.mapping(indent + at, depth + 1));
      } else {
        this.next++;
        items.push(this.scalarLine(rest));
      }
    }
    return { kind: 'seq', items };
  }

  /** What follows a key's `:` on `line`, at `from`: a value on the line, or the block of the lines after it. */
  private valueAfter(line: Line, from: number, depth: number): SourceNode | undefined {
    let start = from;
    while (line.text.charCodeAt(start) === SPACE) start++;
    const rest = line.text.slice(start);
    if (rest !== '' && rest[0] !== '#') return this.scalarLine(rest);
    const following = this.lines[this.next];
    if (following && following.indent > line.indent) return isItem(following.text) ? this.sequence(following.indent, depth + 1) : this.mapping(following.indent, depth + 1);
    // A list may start at its key's indentation: YAML takes the dash as indentation there.
    if (following && following.indent === line.indent && isItem(following.text)) return this.sequence(line.indent, depth + 1);
    return { kind: 'scalar', value: null };
  }

  /**
   * The value written on a line: a scalar, or a one-line `[a, b]` list. A line indented past it would continue it
   * (a multi-line scalar) or be a mistake: the mapping or list it is in declines that line.
   */
  private scalarLine(text: string): SourceNode {
    if (text[0] === '[') return flowList(text);
    const [value, end] = scalar(text, 0, false);
    if (!endsLine(text, end)) decline();
    return { kind: 'scalar', value };
  }
}

/** Its values (a flow list's items too) past MAX_DEPTH, where the quick reader reads nothing more ('other'): declined. */
const tooDeep = (depth: number) => depth + 2 > MAX_DEPTH;

/** A list item's line: `-` followed by a space or nothing. */
const isItem = (text: string) => text[0] === '-' && (text.length === 1 || text[1] === ' ');

/** Where a line's key ends (its `:` followed by a space or the end), or -1 where `required` is false and it has none. */
function keyEnd(text: string, required = true): number {
  if (text[0] === '"' || text[0] === "'" || text[0] === '[' || text[0] === '{') return required ? decline() : -1;
  const spaced = text.indexOf(': ');
  const at = spaced >= 0 ? spaced : text.endsWith(':') ? text.length - 1 : -1;
  if (at < 0 && required) decline();
  return at;
}

/** Only spaces and a comment from `at` to the end of the line. */
function endsLine(text: string, at: number): boolean {
  while (text[at] === ' ') at++;
  return at === text.length || (text[at] === '#' && text[at - 1] === ' ');
}

/** A scalar from `at`: its value and where it ends. In a flow list (`inList`), a plain scalar ends at `,` or `]`. */
function scalar(text: string, at: number, inList: boolean): [string | number | boolean | null, number] {
  const quote = text[at];
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, at + 1);
    // `''` inside single quotes (a quote) is js-yaml's to read.
    if (close < 0 || (quote === "'" && text[close + 1] === "'")) decline();
    return [text.slice(at + 1, close), close + 1];
  }
  let end = text.length;
  const comment = text.indexOf(' #', at);
  if (comment >= 0) end = comment;
  if (inList) {
    const stop = text.slice(at, end).search(/[,\]]/);
    if (stop >= 0) end = at + stop;
  }
  while (end > at && text.charCodeAt(end - 1) === SPACE) end--;
  const written = text.slice(at, end);
  if (!PLAIN_FIRST.test(written) || PLAIN_REFUSED.test(written)) decline();
  return [plainScalarValue(written), at + written.length];
}

/** A one-line flow list of scalars, `[]`, `[a, "b", 3]`, and nothing but a comment after it. */
function flowList(text: string): SeqNode {
  const items: SeqNode['items'] = [];
  let at = 1;
  const spaces = () => {
    while (text[at] === ' ') at++;
  };
  spaces();
  if (text[at] === ']') at++;
  else {
    for (;;) {
      spaces();
      if (text[at] === '[' || text[at] === '{' || text[at] === ',' || text[at] === ']' || at >= text.length) decline();
      const [value, end] = scalar(text, at, true);
      items.push({ kind: 'scalar', value });
      at = end;
      spaces();
      if (text[at] === ']') {
        at++;
        break;
      }
      if (text[at] !== ',') decline();
      at++;
    }
  }
  if (!endsLine(text, at)) decline();
  return { kind: 'seq', items };
}
