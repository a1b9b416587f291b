/**
 * YAML syntax errors in the terms of someone editing an org file: the line
 * of the mistake, what is wrong there and what would be right.
 *
 * The `yaml` library says where its reading went wrong, which is not always
 * where the mistake is: a key indented one space too far makes the keys
 * after it "not start at the same column"; an unclosed '[' is found on the
 * next line; a key without its ':' is found again on the line below. And
 * after an error it reads on out of step, reporting lines that are fine. So
 * each error is diagnosed from the lines around it, and only the first is
 * said, with the later ones a line shows by itself (a tab, a key without
 * ':'), which are mistakes wherever the parser stood.
 *
 * A misindented key is found two ways: off the file's grid (one key at 5
 * spaces where every block indents by 2), the key that is off; on it, the
 * key whose column most of its siblings do not share. test/org-validation
 * moves every key of the example one space either way and drops each ':'.
 *
 * Error codes: https://eemeli.org/yaml/#errors
 */
import type { Document, YAMLError } from 'yaml';
import { oddSpaces } from './spaces';

export interface SyntaxProblem {
  offset: number;
  message: string;
  expected: string;
}

interface Diagnosis extends SyntaxProblem {
  /** Shown by its own line, whatever came before it: said on every line that has it. */
  local: boolean;
}

export const VALID_YAML = 'valid YAML';

/** The mistakes behind the parser's errors: the first, and the later ones their own lines show. */
export function syntaxProblems(text: string, doc: Document, errors: readonly YAMLError[]): SyntaxProblem[] {
  const lines = new SourceLines(text);
  // A no-break space or the like where YAML expects a space (./spaces.ts) is said at its line, named, and is a first
  // mistake like any other: the parser's errors on its line, or after it and not shown by their own line, are its echo.
  const spaces = oddSpaces(text);
  const spaced = new Set(spaces.map((s) => lines.at(s.offset)));
  const firstSpaced = spaces.length > 0 ? lines.at(spaces[0].offset) : Infinity;
  const [first, ...rest] = errors.map((error) => diagnose(error, lines, doc));
  const diagnosed = first ? [first, ...rest.filter((d) => d.local)] : [];
  const kept = diagnosed.filter((d) => !spaced.has(lines.at(d.offset)) && (d.local || lines.at(d.offset) < firstSpaced));
  return [...spaces, ...kept].sort((a, b) => a.offset - b.offset).map(({ offset, message, expected }) => ({ offset, message, expected }));
}

function diagnose(error: YAMLError, lines: SourceLines, doc: Document): Diagnosis {
  const offset = error.pos[0];
  const message = error.message.split('\n')[0];
  const line = lines.at(offset);
  const said = (text: string, expected = VALID_YAML): Diagnosis => ({ offset, message: text, expected, local: false });
  switch (error.code) {
    case 'MULTIPLE_DOCS':
      return said("a second YAML document starts here (a '---' line); an organization file is one document: remove the '---' and what follows, or put the second organization in a file of its own");
    case 'TAB_AS_INDENT':
      return { offset, message: 'indented with a tab; YAML indents with spaces only', expected: 'spaces in place of the tab', local: true };
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return slipInValue(line, lines) ?? keyWithoutColon(line, lines) ?? misindentedBelow(line, lines) ?? soleOffGridKey(lines) ?? said(`${message} (is a ':' or '-' misplaced, or the indentation off?)`);
    case 'BAD_INDENT':
      if (/flow (sequence|collection|map)/i.test(message)) return unclosed(doc, lines, offset, FLOW) ?? said("a '[' or '{' is not closed before this line");
      return keyWithoutColonAbove(line, lines) ?? misindented(line, lines) ?? soleOffGridKey(lines) ?? said('the indentation does not line up: keys of one mapping start in the same column, nested keys further right');
    case 'MISSING_CHAR':
      if (/quote/i.test(message)) return unclosed(doc, lines, offset, QUOTES) ?? said('a quoted value is not closed');
      if (/flow (sequence|collection|map)/i.test(message)) return unclosed(doc, lines, offset, FLOW) ?? said("a '[' or '{' is not closed");
      if (/followed by map values/i.test(message)) return keyWithoutColon(line, lines) ?? said("this line is not 'key: value' (is the ':' after the key missing?)");
      if (/without - indicator/i.test(message)) return misindented(line, lines) ?? said(`${message} (is a '-' missing, or the indentation off?)`);
      return said(`a closing character is missing (${message})`);
    case 'BAD_SCALAR_START':
      return said(`${message.replace(/^Plain value/, 'an unquoted value')}; put the value in quotes`);
    case 'RESOURCE_EXHAUSTION':
      // The library's own words are the engine's (`Maximum call stack size exceeded`).
      return said('nested too deeply: an organization file is a few levels of mappings and lists', 'the nesting of parameters/example.yaml');
    case 'UNEXPECTED_TOKEN':
      return slipInValue(line, lines) ?? soleOffGridKey(lines) ?? said(`${message} (is a ':' or '-' misplaced, or the indentation off?)`);
    default:
      return said(message);
  }
}

/**
 * Three slips in a value that the parser reports in its own terms (review s59-cli m4), told from the line's text:
 * - an unquoted value holding ': ' ("Nested mappings are not allowed in compact mappings"), read as a key of its own;
 * - an apostrophe inside a single-quoted value ("Unexpected scalar at node end"), which ends it;
 * - a value starting with '- ' on its key's line ("Unexpected block-seq-ind on same line with key").
 */
function slipInValue(i: number, lines: SourceLines): Diagnosis | undefined {
  const line = lines.all[i];
  const pair = /^(- )?([^\s:#'"][^:#]*?): (.+)$/.exec(line.content);
  if (!pair) return undefined;
  const [, item, key, value] = pair;
  const at = line.start + line.width + (item?.length ?? 0) + key.length + 2;
  const slip = (message: string, expected: string): Diagnosis => ({ offset: at, message, expected, local: false });
  if (value.startsWith("'") && /^'[^']*'[^']/.test(value)) {
    return slip(`the value of '${key}' is in single quotes and holds an apostrophe, which ends it`, `the apostrophe written twice (${key}: '${value.slice(1).replace(/'$/, '').replace(/'/g, "''")}'), or the value in double quotes`);
  }
  if (value.startsWith('- ')) return slip(`the value of '${key}' starts with '- ', which YAML reads as a list, and a list cannot start on its key's line`, `'${value}' on the next line, indented under '${key}', or the value in quotes if it is text`);
  if (!/^["'[{|>]/.test(value) && /: /.test(value)) return slip(`the value of '${key}' holds ': ', which YAML reads as a key of its own`, `the value in quotes: ${key}: "${value.replace(/"/g, '\\"')}"`);
  return undefined;
}

/** One line of the file, as far as indentation and keys go. */
interface Line {
  start: number;
  /** Spaces before the content. */
  width: number;
  /** The content without a trailing comment; empty on a blank or comment-only line. */
  content: string;
}

class SourceLines {
  readonly all: Line[] = [];

  constructor(readonly text: string) {
    let start = 0;
    for (const raw of text.split('\n')) {
      const width = raw.length - raw.replace(/^ +/, '').length;
      const content = raw.slice(width).replace(/(^|\s)#.*$/, '').trimEnd();
      this.all.push({ start, width, content });
      start += raw.length + 1;
    }
  }

  /** How far the file indents a nested key, as most of its blocks do (2 when it cannot tell). */
  get step(): number {
    if (this.knownStep === undefined) {
      const counts = new Map<number, number>();
      this.all.forEach((line, i) => {
        const below = this.next(i);
        const indent = below === undefined ? 0 : this.all[below].width - line.width;
        if (/:$/.test(line.content) && indent > 0) counts.set(indent, (counts.get(indent) ?? 0) + 1);
      });
      this.knownStep = [...counts].reduce((best, entry) => (entry[1] > best[1] ? entry : best), [2, 0])[0];
    }
    return this.knownStep;
  }

  private knownStep: number | undefined;

  /** The index of the line holding `offset`. */
  at(offset: number): number {
    let low = 0;
    let high = this.all.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (this.all[mid].start <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** A key (not a list item) whose indentation is off the grid the file's blocks indent by. */
  offGrid(i: number): boolean {
    const line = this.all[i];
    return this.step > 1 && line.content !== '' && !isItem(line) && line.width % this.step !== 0;
  }

  /** The keys at `column` in the stretch around line `i` that no line left of `column` interrupts, line `i` aside. */
  around(i: number, column: number): number[] {
    const found: number[] = [];
    for (const direction of [-1, 1]) {
      for (let j = i + direction; j >= 0 && j < this.all.length; j += direction) {
        const line = this.all[j];
        if (!line.content) continue;
        // A list item's first key, after its '- ', starts the mapping the others are in (above; one below starts the next).
        const itemKey = direction < 0 && isItem(line) && line.content.includes(':') && keyColumn(line) === column;
        if ((line.width === column && !isItem(line)) || itemKey) found.push(j);
        if (line.width < column) break;
      }
    }
    return found.sort((a, b) => a - b);
  }

  /** The previous line with content before line `i`, if any. */
  previous(i: number): number | undefined {
    for (let j = i - 1; j >= 0; j--) if (this.all[j].content) return j;
    return undefined;
  }

  /** The next line with content after line `i`, if any. */
  next(i: number): number | undefined {
    for (let j = i + 1; j < this.all.length; j++) if (this.all[j].content) return j;
    return undefined;
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const isItem = (line: Line) => /^-( |$)/.test(line.content);
const keyOf = (line: Line) => line.content.replace(/^- /, '').split(/:(\s|$)/)[0];
const opensBlock = (line: Line) => /:$/.test(line.content);
/** Where a line's key starts: after the '- ' of a list item. */
const keyColumn = (line: Line) => line.width + (isItem(line) ? 2 : 0);

/** A line that is words only, where a key was expected: its ':' is missing. */
function keyWithoutColon(i: number, lines: SourceLines): Diagnosis | undefined {
  const line = lines.all[i];
  // A list item's first key is after its '- '.
  const body = line.content.replace(/^- /, '');
  if (!body || body.includes(':') || /^[-[{"'&*!|>%@`]/.test(body)) return undefined;
  const [key, ...value] = body.split(/\s+/);
  const below = lines.next(i);
  const hasKeysBelow = below !== undefined && lines.all[below].width > line.width && !isItem(line);
  const expected =
    value.length > 0 ? `'${key}: ${value.join(' ')}'` : hasKeysBelow ? `'${key}:', its keys on the lines below` : `'${key}: <value>'`;
  return { offset: line.start + keyColumn(line), message: `the ':' after '${key}' is missing`, expected, local: true };
}

/**
 * A key that lost its ':' with comment or blank lines below it: the parser takes it for a plain value and meets the
 * next key of its mapping as misindented (BAD_INDENT there, where without the comment it is MULTILINE_IMPLICIT_KEY at
 * the key itself). Said at the key.
 */
function keyWithoutColonAbove(i: number, lines: SourceLines): Diagnosis | undefined {
  const above = lines.previous(i);
  if (above === undefined || above === i - 1 || lines.all[above].width !== lines.all[i].width) return undefined;
  return keyWithoutColon(above, lines);
}

/** The line after a `key: value` is further right, as if it were nested under a value: it is misindented. */
function misindentedBelow(i: number, lines: SourceLines): Diagnosis | undefined {
  const line = lines.all[i];
  const below = lines.next(i);
  if (!line.content.includes(':') || opensBlock(line) || below === undefined || lines.all[below].width <= line.width) return undefined;
  return misindented(below, lines);
}

/** A key of a mapping, or an item of a list, and the column it starts in (a list item's key: after its '- '). */
interface Member {
  line: number;
  column: number;
}

/**
 * The mapping or list around line `i`: its parent (the nearest line above,
 * left of every line between, that opens a block, or is the list item whose
 * mapping holds the line), and its members, the lines below the parent that
 * are not nested under one another. A list item's first key is on the item's
 * own line, after the '- '.
 */
function blockAround(i: number, lines: SourceLines): { parent: number | undefined; members: Member[] } {
  const inList = isItem(lines.all[i]);
  const opens = (line: Line) => opensBlock(line) || (!inList && isItem(line));
  let parent: number | undefined;
  let left = lines.all[i].width;
  for (let j = i - 1; j >= 0 && parent === undefined; j--) {
    const line = lines.all[j];
    if (!line.content || line.width >= left) continue;
    if (opens(line)) parent = j;
    else left = line.width;
  }
  const parentLine = parent === undefined ? undefined : lines.all[parent];
  const members: Member[] = parentLine && !inList && isItem(parentLine) ? [{ line: parent!, column: parentLine.width + 2 }] : [];
  for (let j = parent === undefined ? 0 : parent + 1; j < lines.all.length; j++) {
    const line = lines.all[j];
    if (!line.content) continue;
    if (line.width <= (parentLine?.width ?? -1)) break;
    const last = members.length > 0 ? members[members.length - 1] : undefined;
    const lastLine = last && lines.all[last.line];
    if (last && lastLine && (opensBlock(lastLine) || (inList && isItem(lastLine))) && line.width > last.column) continue;
    members.push({ line: j, column: line.width });
  }
  return { parent, members };
}

/**
 * The column most members start in. A tie (two keys, one of them off) goes to
 * the column the file's indentation step puts them in below their parent.
 */
function siblingColumn(members: readonly Member[], preferred: number): number {
  const counts = new Map<number, number>();
  for (const m of members) counts.set(m.column, (counts.get(m.column) ?? 0) + 1);
  const most = Math.max(...counts.values());
  const tied = [...counts].filter(([, count]) => count === most).map(([column]) => column);
  return tied.includes(preferred) ? preferred : tied[tied.length - 1];
}

/** Where the keys below line `parent` start when the file is indented consistently. */
function stepBelow(parent: number | undefined, members: readonly Member[], lines: SourceLines): number {
  if (parent === undefined) return 0;
  const line = lines.all[parent];
  return members[0]?.line === parent ? members[0].column : line.width + lines.step;
}

/**
 * The key (or list item) around line `i` whose indentation does not match
 * its siblings'. A key left of its siblings whose own keys sit where its
 * siblings do was meant as a sibling of the parent (`  dev:` one space off
 * among accounts): it is measured against the parent's siblings.
 */
function misindented(i: number, lines: SourceLines): Diagnosis | undefined {
  const { parent, members } = blockAround(i, lines);
  const offGrid = [...new Set([parent, i, ...members.map((m) => m.line)])].filter((j) => j !== undefined && lines.offGrid(j));
  if (offGrid.length === 1) return offGridKey(offGrid[0]!, lines);
  if (members.length < 2) return undefined;
  const column = siblingColumn(members, stepBelow(parent, members, lines));
  const odd = members.find((m) => m.column !== column);
  if (odd === undefined) return undefined;
  const line = lines.all[odd.line];
  const below = lines.next(odd.line);
  const ownKeys = below !== undefined && lines.all[below].width > line.width ? lines.all[below].width : undefined;
  if (parent !== undefined && opensBlock(line) && odd.column < column && ownKeys !== undefined && ownKeys <= column) {
    const around = blockAround(parent, lines);
    const outer = around.members.filter((m) => m.line !== odd.line);
    return misindentedAmong(odd, outer, siblingColumn(outer, stepBelow(around.parent, outer, lines)), lines);
  }
  return misindentedAmong(odd, members, column, lines);
}

/**
 * A key off the file's indentation grid (5 spaces where every block indents
 * by 2) among keys on it is the one that is off. Its column is the grid's
 * next one down or up: right of the block it opens below (it is that block's
 * key), left of the keys it holds, and, of what remains, the column of the
 * key next to it.
 */
/** The one key of the file off its indentation grid, if there is exactly one: where the parser's error gives no better lead. */
function soleOffGridKey(lines: SourceLines): Diagnosis | undefined {
  const offGrid = lines.all.flatMap((_, j) => (lines.offGrid(j) ? [j] : []));
  return offGrid.length === 1 ? offGridKey(offGrid[0], lines) : undefined;
}

function offGridKey(x: number, lines: SourceLines): Diagnosis | undefined {
  const line = lines.all[x];
  const down = line.width - (line.width % lines.step);
  let columns = [down, down + lines.step];
  const above = lines.previous(x);
  const opener = above !== undefined && opensBlock(lines.all[above]) ? lines.all[above] : undefined;
  if (opener) columns = columns.filter((c) => c > opener.width);
  const below = lines.next(x);
  const ownKeys = below !== undefined && opensBlock(line) ? lines.all[below].width : undefined;
  if (ownKeys !== undefined) columns = columns.filter((c) => c < ownKeys);
  const neighbours = [opener ? undefined : above, ownKeys === undefined ? below : undefined].flatMap((j) => (j === undefined ? [] : [keyColumn(lines.all[j])]));
  const column = neighbours.find((c) => columns.includes(c)) ?? columns[0];
  if (column === undefined) return undefined;
  const siblings = lines.around(x, column).map((j) => ({ line: j, column }));
  return misindentedAmong({ line: x, column: line.width }, siblings, column, lines);
}

function misindentedAmong(odd: Member, members: readonly Member[], column: number, lines: SourceLines): Diagnosis {
  const line = lines.all[odd.line];
  // A list item is named with its '- '; a key after one counts the '- ' in its indentation, as YAML does.
  const name = (m: Member) => (lines.all[m.line].width === m.column && isItem(lines.all[m.line]) ? `'- ${keyOf(lines.all[m.line])}'` : `'${keyOf(lines.all[m.line])}'`);
  const counting = odd.column !== line.width ? " (counting its '- ')" : '';
  const siblings = members.filter((m) => m.column === column).map(name);
  const named = siblings.length > 3 ? `${siblings.slice(0, 3).join(', ')}, …` : siblings.join(', ');
  return {
    offset: line.start + line.width,
    message: `${name(odd)} is indented ${plural(odd.column, 'space')}${counting}, which does not match its siblings (${named}) at ${plural(column, 'space')}`,
    expected: counting
      ? `'- ${keyOf(line)}' indented ${plural(column - 2, 'space')}, so that '${keyOf(line)}' starts where its siblings do`
      : `${plural(column, 'space')} before ${name(odd)}, as its siblings: keys of one mapping start in the same column`,
    local: false,
  };
}

interface Opener {
  /** The node that opens with one of these and should close with its pair. */
  pairs: Record<string, string>;
  what: (open: string) => string;
  closing: (open: string, close: string) => string;
}

const FLOW: Opener = {
  pairs: { '[': ']', '{': '}' },
  what: (open) => `a '${open}'`,
  closing: (open, close) => `a '${close}' after the ${open === '[' ? "list's last item" : "mapping's last entry"}`,
};
const QUOTES: Opener = {
  pairs: { '"': '"', "'": "'" },
  what: () => 'a quoted value',
  closing: (open) => `a closing ${open} at the end of the value`,
};

/** The last node opening before `offset` with one of `opener`'s characters that its own text does not close. */
function unclosed(doc: Document, lines: SourceLines, offset: number, opener: Opener): Diagnosis | undefined {
  // Required, not imported, as in source.ts readPositioned: a valid org file never loads the `yaml` library.
  const yaml = require('yaml') as typeof import('yaml');
  let found: { start: number; open: string; close: string } | undefined;
  yaml.visit(doc, {
    Node: (_, node) => {
      const range = node.range;
      if (!range || range[0] > offset || (found && range[0] <= found.start)) return;
      const source = lines.text.slice(range[0], range[1]).trimEnd();
      const open = source[0];
      const close = opener.pairs[open];
      if (close !== undefined && !(source.length > 1 && source.endsWith(close))) found = { start: range[0], open, close };
    },
  });
  if (!found) return undefined;
  return {
    offset: found.start,
    message: `${opener.what(found.open)} is not closed (it opens here)`,
    expected: opener.closing(found.open, found.close),
    local: false,
  };
}
