/**
 * Spaces YAML does not take as spaces, where a plain space was meant. Text
 * pasted from a rendered page, a wiki or a chat often carries a no-break
 * space (U+00A0) or an invisible one (U+200B, U+FEFF) for a space. YAML's
 * white space is the space and the tab only, and it indents with spaces only
 * ("s-white ::= s-space | s-tab", "s-indent(n) ::= s-space × n":
 * https://yaml.org/spec/1.2.2/#55-white-space-characters,
 * https://yaml.org/spec/1.2.2/#61-indentation-spaces), so such a character in
 * the indentation, around a key's ':' or in a key makes the parser read
 * another structure than the one on screen: a key of the top level, a line
 * without its ':', a key 'role ' beside 'role'. Each is said at the
 * character, named; before a '#' too (a comment starts only after a space or
 * a tab, so the '#' and what follows would join the value). Comments and
 * quoted values keep whatever they hold, and so do the middle and the end of
 * an unquoted value: a description keeps its text, and a name's own check
 * names the character (./schema.ts nonAscii).
 */
import type { SyntaxProblem } from './syntax-errors';

/** Unicode's space separators but the space (category Zs), and the zero-width ones a copy-paste brings. */
const NAMES: Record<string, string> = {
  '\u00a0': 'a no-break space',
  '\u1680': 'an ogham space mark',
  '\u2000': 'an en quad',
  '\u2001': 'an em quad',
  '\u2002': 'an en space',
  '\u2003': 'an em space',
  '\u2004': 'a three-per-em space',
  '\u2005': 'a four-per-em space',
  '\u2006': 'a six-per-em space',
  '\u2007': 'a figure space',
  '\u2008': 'a punctuation space',
  '\u2009': 'a thin space',
  '\u200a': 'a hair space',
  '\u200b': 'a zero-width space',
  '\u202f': 'a narrow no-break space',
  '\u205f': 'a medium mathematical space',
  '\u3000': 'an ideographic space',
  '\ufeff': 'a zero-width no-break space (byte order mark)',
};
const ZERO_WIDTH = new Set(['\u200b', '\ufeff']);
const ODD_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]/;

/** A character as Unicode writes it: `U+00A0`. */
export const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The character named, for a message: `a no-break space (U+00A0)`; undefined for any other character. */
export function spaceName(c: string): string | undefined {
  const name = NAMES[c];
  return name && `${name} (${codePoint(c)})`;
}

/** Whether the text holds any such space at all: most files hold none, and are not scanned further. */
export const hasOddSpace = (text: string): boolean => ODD_SPACE.test(text);

const isWhite = (c: string | undefined) => c === ' ' || c === '\t' || (c !== undefined && ODD_SPACE.test(c));
/** Where a quote or a '[' opens a node: at the start of one (after a key's ':', a '- ', and in a '[' or '{' after it or a ','), not inside a word (`it's`). */
const OPENS_NODE = new Set([undefined, ':', '-', '?']);
const OPENS_FLOW_NODE = new Set(['[', '{', ',']);
const FLOW = new Set(['[', ']', '{', '}', ',']);
/** `|`, `>`, with their indicators: a block scalar, whose lines below are its text. */
const BLOCK_SCALAR = /^[|>][-+0-9]*$/;

/** One problem per line holding such a space where YAML expects white space, a key or the start or end of a value. */
export function oddSpaces(file: string): SyntaxProblem[] {
  // A byte order mark may start the stream (https://yaml.org/spec/1.2.2/#52-character-encodings): read as the space it is not, for the offsets' sake.
  const text = file.startsWith('\ufeff') ? ` ${file.slice(1)}` : file;
  if (!hasOddSpace(text)) return [];
  const problems: SyntaxProblem[] = [];
  let quote: string | undefined;
  /** The indentation of the key whose block scalar the lines below belong to. */
  let blockOf: number | undefined;
  let start = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineStart = start;
    start += raw.length + 1;
    const indent = line.length - line.replace(/^ +/, '').length;
    if (blockOf !== undefined) {
      if (line.trim() === '' || indent > blockOf) continue;
      blockOf = undefined;
    }
    const found = scanLine(line, quote);
    quote = found.quote;
    if (found.blockScalar) blockOf = indent;
    if (found.at !== undefined) {
      const c = line[found.at];
      problems.push({
        offset: lineStart + found.at,
        message: `${spaceName(c)} ${found.where}, which YAML ${found.where.startsWith('in the key') ? 'reads as part of the key' : 'does not take as a space'}`,
        expected: found.expected ?? (found.spaced && !ZERO_WIDTH.has(c) ? 'a plain space' : 'nothing there (delete it)'),
      });
    }
  }
  return problems;
}

interface LineScan {
  /** Index of the first such space where it is not text, and where it is. */
  at?: number;
  where: string;
  /** A plain space is what belongs there (in the indentation, after the ':'), rather than nothing (in a key). */
  spaced?: boolean;
  /** What belongs there, when neither a plain space nor nothing says it. */
  expected?: string;
  /** The quote still open at the end of the line. */
  quote?: string;
  /** The line's value is `|` or `>`: the lines below, further right, are its text. */
  blockScalar: boolean;
}

/** One line, `quote` being the quote a line above left open. */
function scanLine(line: string, openQuote: string | undefined): LineScan {
  let quote = openQuote;
  let i = 0;
  /** The last character that is not white space, outside a quote (undefined at the start of the line or after a '- '). */
  let previous: string | undefined;
  /** Where the key's ':' is, once found, and where the line's first key or value starts. */
  let separator: number | undefined;
  let content: number | undefined;
  let found: { at: number; where: string; spaced: boolean; expected?: string } | undefined;
  /** How many '[' and '{' are open on the line: a ',' separates a list's items only there (in a block value it is text). */
  let flow = 0;
  const startsNode = () => OPENS_NODE.has(previous) || (flow > 0 && OPENS_FLOW_NODE.has(previous!));
  const seen = (at: number, where: string, spaced = false, expected?: string) => void (found ??= { at, where, spaced, expected });
  while (i < line.length) {
    const c = line[i];
    if (quote) {
      if (c === quote && quote === "'" && line[i + 1] === "'") i += 2;
      else if (c === '\\' && quote === '"') i += 2;
      else {
        if (c === quote) {
          quote = undefined;
          previous = c;
        }
        i += 1;
      }
      continue;
    }
    if (isWhite(c)) {
      const runStart = i;
      while (i < line.length && isWhite(line[i])) i += 1;
      const odd = line.slice(runStart, i).search(ODD_SPACE);
      if (odd < 0) continue;
      const next = line[i];
      const at = runStart + odd;
      // Straight after the ':' YAML sees no separator; after a plain space it starts the value, which the value's check names.
      if (previous === ':' && separator === runStart - 1) {
        if (odd === 0) seen(at, "after the ':'", true);
      } else if (next === undefined) {
        // After a value it is the value's last character: a name's check names it, a description keeps it.
        if (content === undefined) seen(at, 'on an otherwise blank line');
      } else if (next === '#') {
        // Only an odd space right before the '#' keeps the comment from starting; after a plain space it has.
        if (ODD_SPACE.test(line[i - 1])) seen(at, "before the '#' (a comment starts only after a plain space or a tab, so the '#' and what follows join the value)", true, 'a plain space, or quotes around the value if the # is its text');
      } else if (previous === undefined) {
        // A line that is neither a key, a list item nor a flow collection continues a plain value above: its text.
        if (keySeparator(line, i) !== undefined || '-[{'.includes(next)) seen(at, runStart === 0 ? 'in the indentation' : "after the '-'", true);
      }
      else if (next === ':' && separator === undefined) seen(at, "before the ':'");
      else if (flow > 0 && (FLOW.has(previous) || FLOW.has(next))) seen(at, `next to the '${FLOW.has(previous) ? previous : next}'`, true);
      else if (separator === undefined && content !== undefined) {
        const end = keySeparator(line, i);
        if (end !== undefined) seen(at, `in the key '${line.slice(content, end)}'`);
      }
      // Else the middle of a value: text.
      continue;
    }
    if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
    if ((c === '"' || c === "'") && startsNode()) {
      quote = c;
      content ??= i;
      i += 1;
      continue;
    }
    if (c === '-' && previous === undefined && (i + 1 === line.length || isWhite(line[i + 1]))) {
      // A list item: what follows starts a node, as at the start of the line.
      i += 1;
      continue;
    }
    if ((c === '[' || c === '{') && startsNode()) flow += 1;
    else if ((c === ']' || c === '}') && flow > 0) flow -= 1;
    if (c === ':' && separator === undefined && (i + 1 === line.length || isWhite(line[i + 1]))) separator = i;
    content ??= i;
    previous = c;
    i += 1;
  }
  const value = separator === undefined ? undefined : line.slice(separator + 1).replace(/\s#.*$/, '').trim();
  return { ...(found ?? { where: '' }), quote, blockScalar: value !== undefined && BLOCK_SCALAR.test(value) };
}

/** Where the key's ':' is on a line, searching from `from` (a ':' followed by white space or the line's end), if any. */
function keySeparator(line: string, from: number): number | undefined {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '#' && isWhite(line[i - 1])) return undefined;
    if (line[i] === ':' && (i + 1 === line.length || isWhite(line[i + 1]))) return i;
  }
  return undefined;
}
